//! `paicha import households` as a county office runs it: the demo county's persons
//! exported in the 防返贫 layout, then converted by independent tools (`LibreOffice` to
//! XLSX and to legacy XLS with the ID columns as text, `iconv` to a GBK CSV), imported back with a dry run
//! and a commit, and every stored household and member compared with the original (so
//! every figure derived from them is the same); the same file with the IDs left to
//! Excel's number format is refused row by row, and nothing is written; an undo puts
//! the previous households back. The 建档立卡 layout comes back with every person field
//! and the household fields it carries.

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
use libreoffice::{libreoffice_xls_text, libreoffice_xlsx, libreoffice_xlsx_text};

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

/// The text as a GBK CSV written by `iconv`, as Chinese Excel saves it.
fn gbk(dir: &Path, text: &str) -> std::path::PathBuf {
    let utf8 = dir.join("utf8.csv");
    std::fs::write(&utf8, text).unwrap();
    let out = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .arg(&utf8)
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = dir.join("gbk.csv");
    std::fs::write(&path, out.stdout).unwrap();
    path
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
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
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
    // The comparisons below hold the fields beyond the household standard too: they
    // are in the tables, and the demo fills them.
    assert_filled(&before.0, HOUSEHOLD_FIELDS);
    assert_filled(&before.1, MEMBER_FIELDS);
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
    let gbk_path = gbk(dir.path(), csv);
    let report = stdout(&import(&db, &gbk_path, false));
    assert!(
        report.contains("户数: 3000") && !report.contains("[错误]"),
        "{report}"
    );

    // The same list as a legacy XLS (Excel 97–2003), committed: the same households.
    let xls = dir.path().join("户籍.xls");
    std::fs::write(&xls, libreoffice_xls_text("户籍", csv, 10)).unwrap();
    let committed = import(&db, &xls, true);
    let report = stdout(&committed);
    assert!(committed.status.success(), "{committed:?}");
    assert!(
        report.contains("户数: 3000") && !report.contains("[错误]"),
        "{report}"
    );
    assert_eq!(tables(&db, dir.path(), "xls"), after);

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

    // The command line's exports and commits of personal data are on record.
    let audit = run_ok(paicha().args(["audit", "--db"]).arg(&db));
    let line = |command: &str| {
        audit
            .lines()
            .find(|l| l.contains("cli:") && l.contains(command))
    };
    let export = line("paicha export persons").unwrap_or_else(|| panic!("{audit}"));
    assert!(export.contains(&persons_count.to_string()), "{export}");
    assert!(line("paicha import households").is_some(), "{audit}");

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

/// The household columns added with the national systems' other fields (issue 15).
const HOUSEHOLD_FIELDS: &[&str] = &[
    "other_risks",
    "risk_elimination",
    "identified_month",
    "eliminated_month",
    "sanitary_toilet",
    "relief",
    "aid_measures",
];

/// The member columns added with them.
const MEMBER_FIELDS: &[&str] = &[
    "disability_kind",
    "education",
    "health",
    "labour_skill",
    "work_months",
    "serious_illness_insured",
    "subsistence",
    "extreme_poverty",
];

/// Every one of `fields` is a column of the exported table and has a value in some
/// row, so that comparing tables compares them.
fn assert_filled(csv: &str, fields: &[&str]) {
    let rows = by_name(csv);
    for field in fields {
        assert!(
            rows.iter()
                .any(|r| r.get(*field).is_some_and(|v| !v.is_empty())),
            "no value of {field} in the export"
        );
    }
}

/// The named columns of an exported table, row by row, as text.
fn columns_of(csv: &str, fields: &[&str]) -> Vec<Vec<String>> {
    by_name(csv)
        .iter()
        .map(|r| fields.iter().map(|f| r[*f].clone()).collect())
        .collect()
}

/// The 建档立卡 layout has no monitoring, risks 2–5, toilet or positions, and knows only
/// whether a house is dangerous; every person field it has and the household fields it
/// carries (the support, from the persons' flags; the measures, one yes/no column
/// each; the disability in one cell) come back exactly.
#[test]
fn a_jdlk_export_converted_by_libreoffice_imports_back_to_the_same_persons() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&db)
            .args(["--households", "2000"]),
    );
    let before = tables(&db, dir.path(), "before");
    let persons = dir.path().join("persons.csv");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["persons", "--layout", "jdlk", "--out"])
            .arg(&persons),
    );
    let csv = std::fs::read_to_string(&persons).unwrap();
    let csv = csv.trim_start_matches('\u{feff}');
    let header = csv.lines().nth(1).unwrap();
    for column in [
        "残疾类别/残疾等级",
        "产业帮扶",
        "公益岗位帮扶",
        "是否享受低保",
        "文化程度",
    ] {
        assert!(header.split(',').any(|h| h == column), "{header}");
    }
    assert!(csv.contains("肢体"), "a combined disability cell");

    // LibreOffice's XLSX, the place, number and ID columns typed as text.
    let xlsx = dir.path().join("建档立卡.xlsx");
    std::fs::write(&xlsx, libreoffice_xlsx_text("建档立卡", csv, 9)).unwrap();
    let committed = import(&db, &xlsx, true);
    let report = stdout(&committed);
    assert!(committed.status.success(), "{committed:?}");
    assert!(
        report.contains("户数: 2000") && !report.contains("[错误]"),
        "{report}"
    );
    let after = tables(&db, dir.path(), "after");
    assert_eq!(after.1, before.1, "every member comes back as it was");
    let carried = [
        "household_no",
        "village_code",
        "head_name",
        "risk_type",
        "income_per_capita",
        "water_safe",
        "member_count",
        "relief",
        "aid_measures",
    ];
    assert_filled(&before.0, &carried);
    assert_eq!(
        columns_of(&after.0, &carried),
        columns_of(&before.0, &carried),
        "the household fields the layout carries come back as they were"
    );
}

/// A household's columns in `paicha export households` by name (read as CSV: lists
/// of codes are quoted, since they hold commas).
fn by_name(csv: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn the_positioning_apps_table_moves_the_households_it_names_and_undo_moves_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&db)
            .args(["--households", "1000"]),
    );
    let (households, _) = tables(&db, dir.path(), "before");
    let before = by_name(&households);
    let with_gps: Vec<_> = before
        .iter()
        .filter(|h| !h["gps_lon"].is_empty())
        .take(3)
        .collect();
    let (a, b, c) = (with_gps[0], with_gps[1], with_gps[2]);
    let table = format!(
        "入户定位导出（数据时间：2019年7月）\n户编号,户主身份证号,经度,纬度,坐标系\n\
         {},,125.0101,41.7101,WGS84\n\
         ,{},41.7202,125.0202,CGCS2000\n\
         {},,125°1′12″,41°43′12″,GCJ02\n\
         999999999999999999,,125.1,41.7,WGS84\n",
        a["household_no"], b["head_id_number"], c["household_no"]
    );
    let file = dir.path().join("定位.csv");
    std::fs::write(&file, table).unwrap();
    let dry = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("gps")
            .arg(&file),
    );
    assert!(dry.contains("有位置的户: 3"), "{dry}");
    assert!(
        dry.contains("[提示] 定位.csv, 第 6 行, 户编号, 999999999999999999: 户籍中没有这个户编号"),
        "{dry}"
    );
    assert!(dry.contains("1 行经纬度颠倒"), "{dry}");
    assert_eq!(
        tables(&db, dir.path(), "dry").0,
        households,
        "a dry run writes nothing"
    );

    let said = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("gps")
            .arg(&file)
            .arg("--commit"),
    );
    assert!(said.contains("3 households' positions written"), "{said}");
    let after = by_name(&tables(&db, dir.path(), "after").0);
    let find = |no: &str| after.iter().find(|h| h["household_no"] == no).unwrap();
    let gps = |h: &std::collections::HashMap<String, String>| {
        (
            h["gps_lon"].clone(),
            h["gps_lat"].clone(),
            h["gps_crs"].clone(),
        )
    };
    assert_eq!(
        gps(find(&a["household_no"])),
        ("125.0101".into(), "41.7101".into(), "wgs84".into())
    );
    assert_eq!(
        gps(find(&b["household_no"])),
        ("125.0202".into(), "41.7202".into(), "wgs84".into())
    );
    let moved = find(&c["household_no"]);
    assert_eq!(moved["gps_crs"], "gcj02");
    assert!((moved["gps_lon"].parse::<f64>().unwrap() - 125.02).abs() < 1e-9);
    assert!((moved["gps_lat"].parse::<f64>().unwrap() - 41.72).abs() < 1e-9);
    for h in &before {
        if ![&a["household_no"], &b["household_no"], &c["household_no"]]
            .contains(&&h["household_no"])
        {
            let now = find(&h["household_no"]);
            assert_eq!(
                gps(now),
                gps(h),
                "household {} was not in the table",
                h["household_no"]
            );
        }
    }

    let list = run_ok(paicha().args(["import", "--db"]).arg(&db).arg("list"));
    let id = list.split_whitespace().next().unwrap().to_owned();
    assert!(id.ends_with("-gps"), "{list}");
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["undo", &id]),
    );
    assert_eq!(tables(&db, dir.path(), "undone").0, households);
}

/// The households stored, as `paicha export households` counts them.
fn household_count(db: &Path, dir: &Path) -> usize {
    tables(db, dir, "count").0.lines().count() - 1
}

#[test]
fn a_commit_killed_at_any_moment_leaves_the_previous_households_or_the_new_ones_whole() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&base)
            .args(["--households", "20000"]),
    );
    let persons = dir.path().join("persons.csv");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&base)
            .args(["persons", "--out"])
            .arg(&persons),
    );
    // The next month's list: the households of every other village, so that the new
    // version differs from the old in every village.
    let csv = std::fs::read_to_string(&persons).unwrap();
    let mut lines = csv.lines();
    let mut next = format!("{}\n{}\n", lines.next().unwrap(), lines.next().unwrap());
    for line in lines.filter(|l| {
        l.split(',')
            .nth(3)
            .is_some_and(|code| code.ends_with(['0', '2', '4', '6', '8']))
    }) {
        next.push_str(line);
        next.push('\n');
    }
    let file = dir.path().join("next.csv");
    std::fs::write(&file, next).unwrap();
    let old = household_count(&base, dir.path());
    let db = dir.path().join("county.duckdb");
    let mut kills = 0;
    for round in 0..40 {
        std::fs::copy(&base, &db).unwrap();
        let _ = std::fs::remove_file(dir.path().join("county.duckdb.wal"));
        let mut child = paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("households")
            .arg(&file)
            .arg("--commit")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40 * round));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        let status = child.wait().unwrap();
        let count = household_count(&db, dir.path());
        let imports = run_ok(paicha().args(["import", "--db"]).arg(&db).arg("list"));
        if imports.contains("-households") {
            assert!(
                count < old && count > old / 3,
                "round {round}: {count} households with the import recorded"
            );
        } else {
            assert_eq!(
                count, old,
                "round {round}: no import recorded, the old households must all be there"
            );
        }
        if finished {
            assert!(status.success());
            assert!(
                imports.contains("-households"),
                "a finished commit is recorded"
            );
            break;
        }
    }
    assert!(
        kills >= 3,
        "the commit finished before it could be killed mid-way ({kills} kills)"
    );
}
