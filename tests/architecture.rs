//! The layers of `../shared/DESIGN.md`, held: every `crate::…` (and `super::…` that
//! leaves its module) path in `src/` is checked against the modules its module may
//! import, and a forbidden one fails the test naming the file and line.
//!
//! Layers, bottom up; a module may import those listed for it and nothing else, so
//! that nothing points up and no two modules of a layer lean on each other in a cycle:
//!
//! ```text
//! domain, formats                      plain types; leaf helpers
//! spatial                              geometry
//! store                                DuckDB
//! model                                the read model of one data version
//! indicators, ledger, accounts, import the catalog and figures; the ledger's rules; sign-in;
//!                                      an office's files read and judged
//! tiles, render, planner, demo         maps, static maps, plans, the demo county
//! app                                  the service state
//! api                                  HTTP
//! settings, bench                      what the binary runs
//! ```

#![allow(
    clippy::unwrap_used,
    reason = "a test: a file it cannot read is a failure"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each module and the modules it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("formats", &[]),
    ("spatial", &["domain"]),
    ("store", &["domain", "formats", "spatial"]),
    ("model", &["domain", "spatial", "store"]),
    (
        "indicators",
        &["domain", "formats", "model", "spatial", "store"],
    ),
    ("ledger", &["domain", "formats", "store"]),
    ("accounts", &["domain", "formats", "store"]),
    ("import", &["domain", "formats", "spatial", "store"]),
    (
        "tiles",
        &[
            "domain",
            "formats",
            "indicators",
            "model",
            "spatial",
            "store",
        ],
    ),
    (
        "render",
        &[
            "domain",
            "formats",
            "indicators",
            "model",
            "spatial",
            "store",
        ],
    ),
    (
        "planner",
        &[
            "domain",
            "formats",
            "indicators",
            "ledger",
            "model",
            "spatial",
            "store",
        ],
    ),
    (
        "demo",
        &[
            "accounts",
            "domain",
            "formats",
            "indicators",
            "ledger",
            "spatial",
            "store",
        ],
    ),
    (
        "app",
        &[
            "accounts",
            "domain",
            "formats",
            "import",
            "indicators",
            "ledger",
            "model",
            "planner",
            "render",
            "spatial",
            "store",
            "tiles",
        ],
    ),
    (
        "api",
        &[
            "accounts",
            "app",
            "domain",
            "formats",
            "import",
            "indicators",
            "ledger",
            "model",
            "planner",
            "render",
            "spatial",
            "store",
            "tiles",
        ],
    ),
    (
        "settings",
        &[
            "api",
            "app",
            "domain",
            "indicators",
            "spatial",
            "store",
            "tiles",
        ],
    ),
    (
        "bench",
        &[
            "api",
            "app",
            "demo",
            "domain",
            "formats",
            "indicators",
            "model",
            "planner",
            "spatial",
            "store",
            "tiles",
        ],
    ),
    // Test-only: checks the machine for the tools the tests use (and a CJK font).
    ("prerequisites", &["render"]),
];

/// One import that crosses modules: the file and line it is on, and the two modules.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A file's module path below the crate root: `src/store/ledger.rs` → `[store, ledger]`,
/// `src/store/mod.rs` → `[store]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The first identifiers of the paths `text` names from `crate::` (and from the
/// crate root reached by `super::`), with each one's module path depth resolved:
/// `crate::{a, b::c}` gives `a` and `b`.
fn crate_roots(text: &str, module: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let at_word_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if at_word_start && rest.starts_with("crate::") {
            out.extend(after_root(&rest["crate::".len()..]));
            i += "crate::".len();
        } else if at_word_start && rest.starts_with("super::") {
            // `super::` chains from this file's module; once they climb past the top
            // module they name the crate root.
            let mut ups = 0;
            let mut j = 0;
            while rest[j..].starts_with("super::") {
                ups += 1;
                j += "super::".len();
            }
            if ups >= module.len() {
                out.extend(after_root(&rest[j..]));
            }
            i += j;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The top-level modules named right after a root: `store::x` or `{store, app::y}`.
fn after_root(rest: &str) -> Vec<String> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut end = group.len();
        for (k, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = k;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let mut names = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        let inner = &group[..end];
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    names.push(first_ident(&inner[start..k]));
                    start = k + 1;
                }
                _ => {}
            }
        }
        names.push(first_ident(&inner[start..]));
        names.into_iter().flatten().collect()
    } else {
        first_ident(rest).into_iter().collect()
    }
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let ident = &s[..end];
    (!ident.is_empty() && ident != "self").then(|| ident.to_owned())
}

/// Every import in `src/` from one top-level module to another, comments skipped
/// (a doc link is not a dependency). `use` lists spanning lines are joined first.
fn imports(src: &Path) -> Vec<Import> {
    let mut out = Vec::new();
    for file in rust_files(src) {
        let module = module_path(src, &file);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs
        };
        if from == "main" || from == "cli" || from == "lib" {
            continue; // the binary and the crate root may use everything
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Inline modules (`mod tests {`) sit at the end of a file: from one on, its
        // lines are a level deeper for `super::`.
        let mut module = module;
        let mut pending = String::new();
        let mut pending_line = 0;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let inline = code.strip_prefix("pub ").unwrap_or(code);
            if inline.starts_with("mod ") && code.ends_with('{') {
                module.push(
                    inline["mod ".len()..]
                        .trim_end_matches('{')
                        .trim()
                        .to_owned(),
                );
                continue;
            }
            if pending.is_empty() {
                pending_line = n + 1;
            }
            pending.push_str(code);
            pending.push(' ');
            // A `use` statement is read whole, up to its `;`.
            let statement = pending.trim_start();
            let is_use = ["use ", "pub use ", "pub(crate) use "]
                .iter()
                .any(|p| statement.starts_with(p));
            if is_use && !code.contains(';') {
                continue;
            }
            for to in crate_roots(&pending, &module) {
                if to != from {
                    out.push(Import {
                        file: file.clone(),
                        line: pending_line,
                        from: from.clone(),
                        to,
                    });
                }
            }
            pending.clear();
        }
    }
    out
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_a_module_above_it() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut broken = Vec::new();
    for i in imports(&src()) {
        let ok = allowed
            .get(i.from.as_str())
            .is_some_and(|list| list.contains(&i.to.as_str()));
        if !ok {
            broken.push(format!(
                "{}:{}: {} may not import {} (tests/architecture.rs lists what each module may import)",
                i.file
                    .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&i.file)
                    .display(),
                i.line,
                i.from,
                i.to
            ));
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

#[test]
fn every_module_has_its_place_in_the_layers() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !["lib", "main", "cli"].contains(&name.as_str()) && !allowed.contains_key(name.as_str())
        {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "modules with no place in tests/architecture.rs: {missing:?}"
    );
}

#[test]
fn the_allowed_imports_have_no_cycle() {
    // Depth-first search over the allowed graph: an edge back to a module on the
    // current path is a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) {
        if done.contains(&m) {
            return;
        }
        assert!(!path.contains(&m), "cycle: {path:?} -> {m}");
        path.push(m);
        for &next in graph.get(m).copied().unwrap_or_default() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.push(m);
    }
    let graph: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut done = Vec::new();
    for &m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_checker_finds_imports_in_every_form() {
    let module = vec!["store".to_owned(), "ledger".to_owned()];
    assert_eq!(crate_roots("use crate::app::AppState;", &module), ["app"]);
    assert_eq!(
        crate_roots("use crate::{api, domain::{Area, x}, self};", &module),
        ["api", "domain"]
    );
    assert_eq!(
        crate_roots(
            "let x = crate::tiles::heat::f(crate::model::Snapshot);",
            &module
        ),
        ["tiles", "model"]
    );
    // super::super from store/ledger.rs is the crate root; super:: alone is store.
    assert_eq!(crate_roots("use super::super::app::X;", &module), ["app"]);
    assert!(crate_roots("use super::QueryContext;", &module).is_empty());
    assert!(crate_roots("let notcrate::x = 1;", &module).is_empty());
}
