//! What the test suite needs from the machine, checked first: the library's unit tests
//! run before every other test binary, so a missing tool is named with the command that
//! installs it before any test that uses it fails (or is left unrun behind it).

use std::path::{Path, PathBuf};

/// The one command that installs everything below on Debian or Ubuntu.
const SETUP: &str = "sudo bash .ci/setup";

/// Programs the tests run, and where each comes from.
const PROGRAMS: &[(&str, &str)] = &[
    (
        "soffice",
        "apt: libreoffice-calc-nogui (writes the XLSX files importers read)",
    ),
    (
        "gdal_translate",
        "apt: gdal-bin (writes the MBTiles basemap)",
    ),
    ("gdal_create", "apt: gdal-bin"),
    (
        "pdftotext",
        "apt: poppler-utils (reads the township briefings' PDF text back)",
    ),
    (
        "node",
        "apt: nodejs (drives Chromium for the web map tests)",
    ),
    (
        "npm",
        "apt: npm (build.rs fetches MapLibre and Playwright's client)",
    ),
    (
        "pmtiles-convert",
        "PyPI: pmtiles (converts the PMTiles basemap)",
    ),
    (
        "schemathesis",
        "PyPI: schemathesis (checks answers against the OpenAPI document)",
    ),
];

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[test]
fn the_machine_has_every_tool_the_tests_use() {
    let mut missing: Vec<String> = PROGRAMS
        .iter()
        .filter(|(program, _)| on_path(program).is_none())
        .map(|(program, from)| format!("`{program}` ({from})"))
        .collect();
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.is_file() {
        missing.push(format!(
            "Chromium at {} (apt: chromium; or set CHROMIUM=) for the browser tests",
            chromium.display()
        ));
    }
    let playwright = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/playwright-core");
    if !playwright.is_dir() {
        missing.push("web/node_modules/playwright-core (build.rs runs `npm ci` in web/)".into());
    }
    if let Err(e) = crate::render::fonts::discover() {
        missing.push(format!("a Chinese font (apt: fonts-noto-cjk): {e}"));
    }
    assert!(
        missing.is_empty(),
        "the tests need tools this machine lacks; `{SETUP}` installs them all:\n  - {}",
        missing.join("\n  - ")
    );
}
