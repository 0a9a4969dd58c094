//! Department rolls and the cross-checks (issue 17): the demo's planted mismatches are
//! every mismatch found; rolls written by `LibreOffice` (XLSX) and iconv (GBK CSV) are
//! read, committed as a data version, found wanting where they differ from the
//! registry, and undone.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

#[path = "support/libreoffice.rs"]
#[allow(dead_code, reason = "this binary uses part of it")]
mod libreoffice;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use paicha::app::load_snapshot;
use paicha::demo::{self, DemoOptions};
use paicha::domain::rolls::RollCatalog;
use paicha::import::run::{self, Planned, Progress, Request};
use paicha::indicators::Catalog;
use paicha::store::{self, Store};

fn build(dir: &Path, city: bool, households: u64) -> Store {
    let path = dir.join(if city { "city.duckdb" } else { "county.duckdb" });
    let options = DemoOptions {
        households,
        seed: 7,
        ..DemoOptions::default()
    };
    if city {
        demo::build_city(&path, &options, || ()).unwrap();
    } else {
        demo::build(&path, &options, || ()).unwrap();
    }
    Store::open(&path).unwrap()
}

/// The household number each planted (rule, key) belongs to, for the household rules.
fn households_of(
    conn: &duckdb::Connection,
    planted: &[(String, String)],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_id = std::collections::HashMap::new();
    let mut stmt = conn
        .prepare("SELECT id_number, household_no FROM members")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (id, no) = row.unwrap();
        by_id.insert(id, no);
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rule, key) in planted {
        if rule.starts_with("roll_") {
            continue;
        }
        let household = by_id.get(key).cloned().unwrap_or_else(|| key.clone());
        out.entry(rule.clone()).or_default().insert(household);
    }
    out
}

#[test]
fn every_planted_mismatch_is_found_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    for city in [false, true] {
        let store = build(dir.path(), city, 4000);
        let conn = store.conn().unwrap();
        // Loading the snapshot derives the data version: the cross-checks included.
        let snapshot = load_snapshot(&conn, &Catalog::builtin().unwrap()).unwrap();
        let planted = store::rolls::planted(&conn).unwrap();
        let found = store::rolls::found(&conn).unwrap();
        let rules: BTreeSet<&str> = planted.iter().map(|(r, _)| r.as_str()).collect();
        let expected_rules = paicha::domain::rolls::CrosscheckId::ALL
            .iter()
            .map(|c| c.code())
            .filter(|c| city || *c != "roll_other_county")
            .collect::<BTreeSet<_>>();
        assert_eq!(rules, expected_rules, "every rule has a planted mismatch");
        let missed: Vec<_> = planted.iter().filter(|p| !found.contains(p)).collect();
        let extra: Vec<_> = found.iter().filter(|f| !planted.contains(f)).collect();
        assert!(missed.is_empty(), "planted and not found: {missed:?}");
        assert!(extra.is_empty(), "found and not planted: {extra:?}");

        // As indicators: the households failing each rule are the planted ones.
        let wanted = households_of(&conn, &planted);
        for (rule, households) in &wanted {
            let id = format!("crosscheck_{rule}");
            let measure = paicha::domain::MeasureId::from_code(&id).unwrap();
            let page = store::indicators::households_failing(
                &conn,
                Some(measure),
                &store::indicators::HouseholdFilter::default(),
                100_000,
                0,
            )
            .unwrap();
            let failing: BTreeSet<String> = page.rows.into_iter().map(|(_, no)| no).collect();
            assert_eq!(&failing, households, "{id}");
        }
        assert!(snapshot.household_nos.len() as u64 >= 3999);
    }
}

/// A small demo county to import rolls into, with its registry's people.
struct County {
    _dir: tempfile::TempDir,
    store: Store,
    /// (ID number, household number, age, insured) of every member.
    members: Vec<(String, String, u8, bool)>,
}

fn county() -> County {
    let dir = tempfile::tempdir().unwrap();
    let store = build(dir.path(), false, 600);
    let conn = store.conn().unwrap();
    let mut stmt = conn
        .prepare("SELECT id_number, household_no, age, medical_insured FROM members ORDER BY household_no, seq")
        .unwrap();
    let members = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    County {
        _dir: dir,
        store,
        members,
    }
}

fn roll_request(kind: &str) -> Request {
    let catalog = RollCatalog::builtin().unwrap();
    Request::Roll(Box::new(paicha::import::rolls::Options {
        kind: catalog.kind(kind).unwrap().clone(),
        keys: catalog.keys.clone(),
        county: None,
        sheet: None,
    }))
}

#[test]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
fn a_school_roll_from_libreoffice_is_imported_checked_and_undone() {
    let county = county();
    let conn = county.store.conn().unwrap();
    // The school roll: every child of 6–15 but the first, the second as 辍学, and one
    // stranger; under two title rows.
    let children: Vec<&(String, String, u8, bool)> = county
        .members
        .iter()
        .filter(|m| (6..=15).contains(&m.2))
        .collect();
    assert!(children.len() > 5);
    let mut csv = String::from(
        "新宾县2019年义务教育阶段学籍名单\n数据时间：2019年7月\n序号,学生姓名,学生身份证号,学籍状态,学段,学校\n",
    );
    for (i, c) in children.iter().enumerate().skip(1) {
        let status = if i == 1 { "辍学" } else { "在校" };
        let _ = writeln!(csv, "{i},学生{i},{},{status},小学,新宾县中心小学", c.0);
    }
    csv.push_str("99,外来生,110101200801010012,在校,小学,\n");
    // The ID column as text, as a clerk sets it before typing.
    let xlsx = libreoffice::libreoffice_xlsx_text("学籍", &csv, 3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("学籍名单.xlsx");
    std::fs::write(&file, xlsx).unwrap();

    let planned = run::plan(
        Some(&conn),
        &roll_request("edu"),
        std::slice::from_ref(&file),
        &Progress::default(),
    )
    .unwrap();
    let report = planned.report().clone();
    let count = |label: &str| {
        report
            .counts
            .iter()
            .find(|c| c.label == label)
            .unwrap()
            .value
    };
    assert_eq!(report.errors(), 0, "{:?}", report.problems);
    assert_eq!(count("读取的行") as usize, children.len());
    assert_eq!(count("与本县户籍匹配") as usize, children.len() - 1);
    assert_eq!(count("户籍中找不到") as usize, 1);
    let Planned::Roll(plan) = &planned else {
        panic!("a roll plan")
    };
    assert_eq!(plan.county, "210422");

    let before = store::data_version(&conn).unwrap();
    let committed =
        run::commit(&conn, &planned, "i-test-roll-edu", "2026-01-01T00:00:00Z").unwrap();
    assert!(committed.data_version > before);
    assert_eq!(committed.written, children.len());
    store::rolls::recheck(&conn).unwrap();
    let found = store::rolls::found(&conn).unwrap();
    let of = |rule: &str| -> BTreeSet<String> {
        found
            .iter()
            .filter(|(r, _)| r == rule)
            .map(|(_, k)| k.clone())
            .collect()
    };
    // The rolls the demo wrote for this county are replaced: only this one's findings.
    assert_eq!(of("edu_missing"), BTreeSet::from([children[0].0.clone()]));
    let dropout: BTreeSet<String> = if county
        .store
        .conn()
        .unwrap()
        .query_row(
            "SELECT schooling IS DISTINCT FROM 'out_of_school' FROM members WHERE id_number = ?",
            [&children[1].0],
            |r| r.get::<_, bool>(0),
        )
        .unwrap()
    {
        BTreeSet::from([children[1].0.clone()])
    } else {
        BTreeSet::new()
    };
    assert_eq!(of("edu_dropout"), dropout);
    assert!(of("roll_unregistered").contains("110101200801010012"));
    // Both sides' values, with the roll row's place.
    let page = store::rolls::mismatches(
        &conn,
        "edu_dropout",
        &store::rolls::MismatchFilter::default(),
        None,
        0,
    )
    .unwrap();
    if let Some(m) = page.rows.first() {
        assert!(m.registry.contains("在校生状况"), "{}", m.registry);
        assert!(
            m.roll
                .contains(&("status".to_owned(), "dropout".to_owned())),
            "{:?}",
            m.roll
        );
        assert_eq!(
            m.roll_at.as_ref().unwrap().1,
            4,
            "the row as Excel shows it"
        );
    }

    // Undo puts the demo's school roll back.
    store::imports::undo(&conn, "i-test-roll-edu", "2026-01-01T00:01:00Z").unwrap();
    store::rolls::recheck(&conn).unwrap();
    let again = store::rolls::found(&conn).unwrap();
    let recorded = store::rolls::planted(&conn).unwrap();
    assert_eq!(
        again, recorded,
        "the demo's rolls, and their findings, are back"
    );
}

#[test]
fn a_gbk_water_roll_from_iconv_is_read_and_bad_rows_are_named_by_row_and_column() {
    let county = county();
    let conn = county.store.conn().unwrap();
    let households: Vec<String> = {
        let mut v: Vec<String> = county.members.iter().map(|m| m.1.clone()).collect();
        v.dedup();
        v
    };
    let mut csv = String::from("农村饮水安全台账\n户编号,户主姓名,供水方式,水质达标\n");
    for h in households.iter().take(20) {
        let _ = writeln!(csv, "{h},户主,集中供水入户,是");
    }
    csv.push_str(",户主,集中供水入户,是\n");
    let _ = writeln!(csv, "{},户主,挑水,一般", households[20]);
    let dir = tempfile::tempdir().unwrap();
    let utf8 = dir.path().join("water-utf8.csv");
    std::fs::write(&utf8, &csv).unwrap();
    let gbk = dir.path().join("饮水台账.csv");
    let out = std::process::Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .arg(&utf8)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&gbk, &out.stdout).unwrap();

    let planned = run::plan(
        Some(&conn),
        &roll_request("water"),
        &[gbk],
        &Progress::default(),
    )
    .unwrap();
    let report = planned.report();
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.severity == paicha::import::Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", report.problems);
    assert_eq!(
        (
            errors[0].file.as_str(),
            errors[0].row,
            errors[0].column.as_deref()
        ),
        ("饮水台账.csv", Some(23), Some("户编号"))
    );
    let warned: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.row == Some(24))
        .map(|p| (p.column.clone().unwrap(), p.value.clone().unwrap()))
        .collect();
    assert!(
        warned.contains(&("供水方式".to_owned(), "挑水".to_owned())),
        "{warned:?}"
    );
    assert!(
        warned.contains(&("水质达标".to_owned(), "一般".to_owned())),
        "{warned:?}"
    );
    // An error stops the commit, and nothing is written.
    let before = store::data_version(&conn).unwrap();
    assert!(matches!(
        run::commit(&conn, &planned, "i-test-water", "2026-01-01T00:00:00Z"),
        Err(run::RunError::Errors(1))
    ));
    assert_eq!(store::data_version(&conn).unwrap(), before);
}
