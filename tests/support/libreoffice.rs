//! Spreadsheets written by `LibreOffice`, an independent tool, for the importers' tests.

/// An XLSX file written by `LibreOffice` (an independent tool) from CSV text.
pub fn libreoffice_xlsx(name: &str, csv: &str) -> Vec<u8> {
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
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
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
    std::fs::read(dir.path().join(format!("{name}.xlsx"))).unwrap()
}
