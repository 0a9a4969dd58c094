//! Spreadsheets written by `LibreOffice`, an independent tool, for the importers' tests.

/// An XLSX file written by `LibreOffice` (an independent tool) from CSV text.
#[allow(dead_code, reason = "each test binary uses part of it")]
pub fn libreoffice_xlsx(name: &str, csv: &str) -> Vec<u8> {
    convert(name, csv, "CSV:44,34,76,1", "xlsx")
}

/// An XLSX file written by `LibreOffice` from CSV text with the first `text_columns`
/// columns read as text, as a clerk sets ID columns to text before typing: their
/// digits stay as they are.
#[allow(dead_code, reason = "each test binary uses part of it")]
pub fn libreoffice_xlsx_text(name: &str, csv: &str, text_columns: usize) -> Vec<u8> {
    let formats: Vec<String> = (1..=text_columns).map(|c| format!("{c}/2")).collect();
    convert(
        name,
        csv,
        &format!("CSV:44,34,76,1,{}", formats.join("/")),
        "xlsx",
    )
}

/// A legacy XLS (Excel 97–2003) file written by `LibreOffice` from CSV text, the first
/// `text_columns` columns as text.
#[allow(dead_code, reason = "each test binary uses part of it")]
pub fn libreoffice_xls_text(name: &str, csv: &str, text_columns: usize) -> Vec<u8> {
    let formats: Vec<String> = (1..=text_columns).map(|c| format!("{c}/2")).collect();
    convert(
        name,
        csv,
        &format!("CSV:44,34,76,1,{}", formats.join("/")),
        "xls",
    )
}

fn convert(name: &str, csv: &str, filter: &str, to: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(format!("{name}.csv"));
    std::fs::write(&input, csv).unwrap();
    let out = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}/profile",
            dir.path().display()
        ))
        .args([
            "--headless",
            &format!("--infilter={filter}"),
            "--convert-to",
            to,
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&input)
        .output()
        .expect("LibreOffice (soffice) must be installed: `sudo bash .ci/setup`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.path().join(format!("{name}.{to}"))).unwrap()
}
