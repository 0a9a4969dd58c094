//! Fetches the web app's packages (MapLibre GL JS, the PMTiles reader, and Playwright's
//! client for the browser tests) with `npm ci`, so that `cargo run` and `cargo test` stay
//! the only set-up commands. The packages come from `web/package-lock.json`, never from a
//! CDN at run time: deployments are offline intranets and copy `web/` whole.

use std::path::Path;
use std::process::Command;

fn main() {
    let web = Path::new("web");
    let lock = web.join("package-lock.json");
    // npm writes this file last, so its presence means a complete install.
    let installed = web.join("node_modules/.package-lock.json");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed={}", installed.display());
    if std::env::var_os("PAICHA_SKIP_NPM").is_some() {
        return;
    }
    let fresh = match (modified(&lock), modified(&installed)) {
        (Some(lock), Some(installed)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(web)
        .status();
    match status {
        Ok(s) if s.success() => {}
        // `cargo::error` fails the build with the message and no backtrace.
        Ok(s) => println!(
            "cargo::error=`npm ci` in web/ failed ({s}): the web app needs MapLibre GL JS from \
             web/package-lock.json; check that the npm registry (or a mirror in ~/.npmrc) \
             is reachable, or set PAICHA_SKIP_NPM=1 to build without the web app"
        ),
        Err(e) => println!(
            "cargo::error=could not run npm ({e}): install Node.js and npm (Debian: apt install \
             npm) to fetch the web app's packages, or set PAICHA_SKIP_NPM=1 to build without them"
        ),
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
