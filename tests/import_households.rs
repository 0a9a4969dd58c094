//! `paicha import households` as a county office runs it: the demo county's persons
//! exported in the 防返贫 layout, then converted by independent tools (`LibreOffice` to
//! XLSX with the ID columns as text, `iconv` to a GBK CSV), imported back with a dry run
//! and a commit, and every stored household and member compared with the original (so
//! every figure derived from them is the same); the same file with the IDs left to
//! Excel's number format is refused row by row, and nothing is written; an undo puts
//! the previous households back.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::path::Path;
use std::process::Command;

#[path = "support/command.rs"]
mod command;
#[path = "support/libreoffice.rs"]
mod libreoffice;
use command::{paicha, run, run_ok};
use libreoffice::{libreoffice_xlsx, libreoffice_xlsx_text};

/// The raw households and members tables as `paicha export` writes them.
fn tables(db: &Path, dir: &Path, tag: &str) -> (String, String) {
    let read = |what: &str| {
        let out = dir.join(format!("{what}-{tag}.csv"));
        run_ok(
            paicha()
                .args(["export", "--db"])
                .arg(db)
                .args([what, "--out"])
                .arg(&out),
        );
        std::fs::read_to_string(out).unwrap()
    };
    (read("households"), read("members"))
}

fn import(db: &Path, file: &Path, commit: bool) -> std::process::Output {
    let mut cmd = paicha();
    cmd.args(["import", "--db"])
        .arg(db)
        .arg("households")
        .arg(file);
    if commit {
        cmd.arg("--commit");
    }
    run(&mut cmd)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_export_converted_by_libreoffice_and_iconv_imports_back_to_the_same_households() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&db)
            .args(["--households", "3000"]),
    );
    let before = tables(&db, dir.path(), "before");
    let persons = dir.path().join("persons.csv");
    let said = run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["persons", "--out"])
            .arg(&persons),
    );
    let persons_count: usize = before.1.lines().count() - 1;
    assert!(
        said.contains(&format!("wrote {persons_count} persons")),
        "{said}"
    );
    let csv = std::fs::read_to_string(&persons).unwrap();
    let csv = csv.trim_start_matches('\u{feff}');
    assert!(
        csv.starts_with("防返贫监测对象及脱贫人口信息表（数据时间：2019-07-01）"),
        "{}",
        &csv[..200]
    );

    // LibreOffice's XLSX, the code and ID columns typed as text as a clerk would.
    let xlsx = dir.path().join("户籍.xlsx");
    std::fs::write(&xlsx, libreoffice_xlsx_text("户籍", csv, 10)).unwrap();
    let dry = import(&db, &xlsx, false);
    assert!(dry.status.success(), "{dry:?}");
    let report = stdout(&dry);
    assert!(report.contains("户数: 3000"), "{report}");
    assert!(
        report.contains(&format!("人数: {persons_count}")),
        "{report}"
    );
    assert!(!report.contains("[错误]"), "{report}");
    assert!(report.contains("dry run"), "{report}");
    assert_eq!(
        tables(&db, dir.path(), "dry"),
        before,
        "a dry run writes nothing"
    );

    let committed = import(&db, &xlsx, true);
    assert!(committed.status.success(), "{committed:?}");
    assert!(
        stdout(&committed).contains("data date 2019-07-01"),
        "{}",
        stdout(&committed)
    );
    let after = tables(&db, dir.path(), "after");
    assert_eq!(after.1, before.1, "every member comes back as it was");
    assert_eq!(after.0, before.0, "every household comes back as it was");

    // The same list as a GBK CSV, as Chinese Excel saves it.
    let utf8 = dir.path().join("utf8.csv");
    std::fs::write(&utf8, csv).unwrap();
    let gbk = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .arg(&utf8)
        .output()
        .unwrap();
    assert!(gbk.status.success());
    let gbk_path = dir.path().join("gbk.csv");
    std::fs::write(&gbk_path, gbk.stdout).unwrap();
    let report = stdout(&import(&db, &gbk_path, false));
    assert!(
        report.contains("户数: 3000") && !report.contains("[错误]"),
        "{report}"
    );

    // Left to LibreOffice's number format, the IDs lose their last digits: refused.
    let ruined = dir.path().join("ruined.xlsx");
    std::fs::write(&ruined, libreoffice_xlsx("ruined", csv)).unwrap();
    let out = import(&db, &ruined, true);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(
        report.contains("[错误] ruined.xlsx!ruined, 第 3 行, 户编号"),
        "{report}"
    );
    assert!(report.contains("被 Excel 存成了数字"), "{report}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was written"));
    assert_eq!(tables(&db, dir.path(), "refused"), after);

    // Undo: the demo's households are back under a newer data version.
    let list = run_ok(paicha().args(["import", "--db"]).arg(&db).arg("list"));
    let id = list.split_whitespace().next().unwrap().to_owned();
    assert!(id.ends_with("-households"), "{list}");
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["undo", &id]),
    );
    assert_eq!(tables(&db, dir.path(), "undone"), before);
}
