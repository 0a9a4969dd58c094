//! `paicha import divisions` as a new office runs it: Xinbin's real division codes in
//! the statistics bureau's layout (title rows, 12-digit codes, 城乡分类代码 on village
//! rows), written by `iconv` as GBK CSV and by `LibreOffice` as XLSX (codes become number
//! cells there); a new database made by the commit, next year's table renaming and
//! adding, undone; then village boundaries imported onto the divisions, whose townships
//! and county get the union of their villages as outline.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

#[path = "support/command.rs"]
mod command;
#[path = "support/libreoffice.rs"]
mod libreoffice;
use command::{paicha, run, run_ok};
use libreoffice::{libreoffice_xls_text, libreoffice_xlsx};

use paicha::domain::{AreaLevel, AreaSummary, BoundarySource};
use paicha::store::{Store, areas::AreaFilter};

/// Xinbin's divisions as `data/xinbin/divisions.csv` holds them: code → (name, level).
fn xinbin() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/xinbin/divisions.csv"),
    )
    .unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                cells[0].to_owned(),
                (cells[1].to_owned(), cells[2].to_owned()),
            )
        })
        .collect()
}

/// The divisions in the bureau's published layout: two title rows, the header, codes
/// padded to 12 digits, the urban-rural class on village and community rows.
fn bureau_table(divisions: &BTreeMap<String, (String, String)>) -> String {
    let mut out = String::from(
        "2023年统计用区划代码和城乡划分代码,,\n\
         辽宁省抚顺市新宾满族自治县,,\n\
         统计用区划代码,城乡分类代码,名称\n",
    );
    for (code, (name, level)) in divisions {
        let class = match level.as_str() {
            "village" => "220",
            "community" => "111",
            _ => "",
        };
        writeln!(out, "{code:0<12},{class},{name}").unwrap();
    }
    out
}

fn iconv_to_gbk(utf8: &Path, out: &Path) {
    let result = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .arg(utf8)
        .output()
        .expect("iconv (glibc's, in libc-bin) must be installed");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::write(out, result.stdout).unwrap();
}

fn stored(db: &Path) -> BTreeMap<String, AreaSummary> {
    let store = Store::open(db).unwrap();
    paicha::store::areas::list(&store.conn().unwrap(), &AreaFilter::default())
        .unwrap()
        .into_iter()
        .map(|a| (a.code.clone(), a))
        .collect()
}

fn import_id(stdout: &str) -> String {
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "committed")
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned()
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one office's story, from an empty disk to outlines, told in order"
)]
fn the_bureaus_table_makes_a_new_database_is_renamed_next_year_and_undone() {
    let dir = tempfile::tempdir().unwrap();
    let divisions = xinbin();
    assert_eq!(divisions.len(), 210);
    let utf8 = dir.path().join("divisions-utf8.csv");
    std::fs::write(&utf8, bureau_table(&divisions)).unwrap();
    let gbk = dir.path().join("新宾区划代码.csv");
    iconv_to_gbk(&utf8, &gbk);
    assert!(std::str::from_utf8(&std::fs::read(&gbk).unwrap()).is_err());
    let db = dir.path().join("office.duckdb");

    // A dry run on no database reads, reports and writes nothing at all.
    let report_path = dir.path().join("report.xlsx");
    let dry = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("divisions")
            .arg(&gbk)
            .arg("--report")
            .arg(&report_path),
    );
    for line in [
        "文件中的数据行: 210",
        "其中县: 1",
        "其中乡镇: 15",
        "其中村: 181",
        "其中社区: 13",
        "新增: 210",
    ] {
        assert!(dry.contains(line), "{line} in\n{dry}");
    }
    assert!(dry.contains("上级 2104 不在文件中"), "{dry}");
    assert!(!db.exists(), "a dry run created the database");
    let report = calamine_sheet(&report_path, "概况");
    assert_eq!(report[2], ["文件中的数据行", "210"], "{report:?}");

    // The commit makes the database, with every code, name and level exact.
    let committed = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("divisions")
            .arg(&gbk)
            .arg("--commit"),
    );
    assert!(committed.contains("created a new database"), "{committed}");
    let first = import_id(&committed);
    let areas = stored(&db);
    assert_eq!(areas.len(), 210);
    for (code, (name, level)) in &divisions {
        let area = &areas[code];
        assert_eq!(
            (&area.name, area.level.code()),
            (name, level.as_str()),
            "{code}"
        );
        assert_eq!(area.boundary, None);
    }
    assert_eq!(
        areas["210422100201"].parent_code.as_deref(),
        Some("210422100")
    );
    assert_eq!(areas["210422"].parent_code.as_deref(), Some("2104"));

    // Next year's table, saved from LibreOffice: one village renamed, one added, and the
    // city above the county; the codes are number cells in the XLSX.
    let mut next = divisions.clone();
    next.get_mut("210422100201").unwrap().0 = "五副甲新村村民委员会".to_owned();
    next.insert(
        "210422100299".to_owned(),
        ("新合村村民委员会".to_owned(), "village".to_owned()),
    );
    next.insert("2104".to_owned(), ("抚顺市".to_owned(), "city".to_owned()));
    let xlsx = dir.path().join("区划2024.xlsx");
    std::fs::write(&xlsx, libreoffice_xlsx("区划2024", &bureau_table(&next))).unwrap();
    let second = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("divisions")
            .arg(&xlsx)
            .arg("--commit"),
    );
    for line in ["新增: 2", "更名或改级: 1", "不变: 209"] {
        assert!(second.contains(line), "{line} in\n{second}");
    }
    assert!(
        second.contains("库中为“五副甲村民委员会”（村，上级 210422100），将改为“五副甲新村村民委员会”（村，上级 210422100）"),
        "{second}"
    );
    let areas = stored(&db);
    assert_eq!(areas.len(), 212);
    assert_eq!(areas["210422100201"].name, "五副甲新村村民委员会");
    assert_eq!(areas["2104"].level, AreaLevel::City);
    let second_id = import_id(&second);

    // The bureau's table as a legacy XLS (Excel 97–2003): read alike (all stored now).
    let xls = dir.path().join("区划2024.xls");
    std::fs::write(
        &xls,
        libreoffice_xls_text("区划2024", &bureau_table(&next), 1),
    )
    .unwrap();
    let dry = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("divisions")
            .arg(&xls),
    );
    assert!(dry.contains("不变: 212"), "{dry}");

    // Undo puts the name back and removes what the import added.
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["undo", &second_id]),
    );
    let areas = stored(&db);
    assert_eq!(areas.len(), 210);
    assert_eq!(areas["210422100201"].name, "五副甲村民委员会");
    assert!(!areas.contains_key("210422100299"));

    // The first import is now the one in force; the cells of every row are kept.
    let kept = dir.path().join("kept.csv");
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["attributes", &first, "--out"])
            .arg(&kept),
    );
    let kept = std::fs::read_to_string(&kept).unwrap();
    assert!(kept.starts_with("\u{feff}区划代码,文件,要素/行,统计用区划代码,城乡分类代码,名称\n"));
    let row = kept
        .lines()
        .find(|l| l.starts_with("210422100201,"))
        .unwrap();
    assert!(
        row.ends_with(",210422100201,220,五副甲村民委员会") && row.contains("新宾区划代码.csv"),
        "{row}"
    );

    // Village boundaries onto the divisions: townships and the county get their
    // villages' union as outline.
    let demo = dir.path().join("demo.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "500", "--db"])
            .arg(&demo),
    );
    let villages = dir.path().join("villages.geojson");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&demo)
            .args(["areas", "--level", "village", "--out"])
            .arg(&villages),
    );
    let out = run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["boundaries", "--level", "village", "--commit"])
            .arg(&villages),
    );
    assert!(
        !out.contains("之外"),
        "no township has a drawn outline to be outside of:\n{out}"
    );
    let areas = stored(&db);
    let demo_areas = stored(&demo);
    let village_km2: f64 = areas
        .values()
        .filter(|a| a.level.is_village_like())
        .map(|a| a.area_km2)
        .sum();
    let county = &areas["210422"];
    assert_eq!(county.boundary, Some(BoundarySource::Union));
    assert!(
        (county.area_km2 - village_km2).abs() / village_km2 < 1e-3,
        "county {} km², villages {village_km2} km²",
        county.area_km2
    );
    for (code, area) in areas.iter().filter(|(_, a)| a.level == AreaLevel::Township) {
        assert_eq!(area.boundary, Some(BoundarySource::Union), "{code}");
        let sum: f64 = areas
            .values()
            .filter(|v| v.parent_code.as_deref() == Some(code))
            .map(|v| v.area_km2)
            .sum();
        assert!(
            (area.area_km2 - sum).abs() / sum < 1e-3,
            "{code}: {} against {sum}",
            area.area_km2
        );
        // The demo's townships are drawn as their villages' union too.
        assert!(
            (area.area_km2 - demo_areas[code].area_km2).abs() / sum < 1e-3,
            "{code}"
        );
    }
}

#[test]
fn a_broken_table_is_refused_with_row_column_and_value_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "代码,名称,级别\n210422,新宾满族自治县,县\n210422100,新宾镇,村\n2104221002,五副甲村,\n",
    )
    .unwrap();
    let db = dir.path().join("x.duckdb");
    let report = dir.path().join("r.json");
    let out = run(paicha()
        .args(["import", "--db"])
        .arg(&db)
        .arg("divisions")
        .arg(&csv)
        .args(["--commit", "--report"])
        .arg(&report));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 error(s) in the report: nothing was written"),
        "{stderr}"
    );
    assert!(!db.exists());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let problems = json["problems"].as_array().unwrap();
    let errors: Vec<(u64, &str, &str)> = problems
        .iter()
        .filter(|p| p["severity"] == "error")
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap(),
                p["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(errors, [(3, "级别", "村"), (4, "代码", "2104221002")]);
}

/// A sheet of an XLSX as text rows, through calamine (the reader Excel users' files
/// are checked with).
fn calamine_sheet(path: &Path, name: &str) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = book.worksheet_range(name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect()
}
