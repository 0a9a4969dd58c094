//! Assistance measures (issue 17) as a county office meets them: the demo's measures by
//! year agree with the household record, the two indicators over them equal counts
//! made here independently from the stored tables, and a department's measures file
//! written by independent tools (`LibreOffice` to XLSX keyed by 户编号, `iconv` to a GBK
//! CSV keyed by the head's 证件号码) changes each indicator by exactly the households
//! it supplies, after a dry run that changes nothing; undo puts the figures back.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

#[path = "support/command.rs"]
mod command;
#[path = "support/libreoffice.rs"]
mod libreoffice;
use command::{paicha, run_ok};
use libreoffice::libreoffice_xlsx_text;
use paicha::domain::MeasureId;
use paicha::store::Store;
use paicha::store::indicators::{GroupBy, HouseholdFilter, stats};

const DEVELOPMENT: [&str; 4] = ["industry", "employment", "micro_credit", "public_job"];
/// Each risk some measure answers, with that measure (`data/aid_measures.toml`).
const ANSWERS: [(&str, &str); 4] = [
    ("illness", "health"),
    ("schooling", "education"),
    ("housing_safety", "housing"),
    ("water_safety", "water"),
];
const MONITORED: [&str; 3] = [
    "monitored_unstable",
    "monitored_marginal",
    "monitored_sudden",
];

/// A household as the oracle reads it from the raw tables.
struct Raw {
    category: String,
    risks: Vec<String>,
    head_id: String,
    /// Measure codes of 2018.
    measures: BTreeSet<String>,
    /// The household record's 帮扶措施 column.
    record: BTreeSet<String>,
}

fn raw(db: &Path) -> BTreeMap<String, Raw> {
    let store = Store::open(db).unwrap();
    let conn = store.conn().unwrap();
    let mut out = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT h.household_no, h.category, h.risk_type, h.other_risks, m.id_number,
                    h.aid_measures
             FROM households h JOIN members m ON m.household_no = h.household_no AND m.seq = 1",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .unwrap();
    let split = |s: Option<String>| -> Vec<String> {
        s.map(|s| s.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    for row in rows {
        let (no, category, risk, others, head_id, record) = row.unwrap();
        let mut risks: Vec<String> = risk.into_iter().collect();
        risks.extend(split(others));
        out.insert(
            no,
            Raw {
                category,
                risks,
                head_id,
                measures: BTreeSet::new(),
                record: split(record).into_iter().collect(),
            },
        );
    }
    let mut stmt = conn
        .prepare("SELECT household_no, measure FROM household_measures WHERE year = 2018")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (no, measure) = row.unwrap();
        if let Some(h) = out.get_mut(&no) {
            h.measures.insert(measure);
        }
    }
    out
}

/// The oracle: the households failing each indicator, by the rules' words.
fn failing(households: &BTreeMap<String, Raw>) -> (BTreeSet<String>, BTreeSet<String>) {
    let no_development = households
        .iter()
        .filter(|(_, h)| MONITORED.contains(&h.category.as_str()))
        .filter(|(_, h)| !DEVELOPMENT.iter().any(|d| h.measures.contains(*d)))
        .map(|(no, _)| no.clone())
        .collect();
    let unmet = households
        .iter()
        .filter(|(_, h)| unmet_risks(h).next().is_some())
        .map(|(no, _)| no.clone())
        .collect();
    (no_development, unmet)
}

fn unmet_risks(h: &Raw) -> impl Iterator<Item = &'static str> + '_ {
    ANSWERS
        .iter()
        .filter(|(risk, by)| h.risks.iter().any(|r| r == risk) && !h.measures.contains(*by))
        .map(|(risk, _)| *risk)
}

/// The indicators' counts as paicha computes them (the snapshot's derivation).
fn figures(db: &Path) -> (i64, i64) {
    let store = Store::open(db).unwrap();
    let conn = store.conn().unwrap();
    let catalog = paicha::indicators::Catalog::builtin().unwrap();
    paicha::app::load_snapshot(&conn, &catalog).unwrap();
    let rows = stats(
        &conn,
        &[
            MeasureId::NoDevelopmentMeasure,
            MeasureId::RiskWithoutMeasure,
        ],
        GroupBy::All,
        &HouseholdFilter::default(),
    )
    .unwrap();
    (rows[0].values[0].0, rows[0].values[1].0)
}

fn import(db: &Path, file: &Path, commit: bool) -> String {
    let mut cmd = paicha();
    cmd.args(["import", "--db"])
        .arg(db)
        .arg("measures")
        .arg(file);
    if commit {
        cmd.arg("--commit");
    }
    run_ok(&mut cmd)
}

#[test]
fn measures_files_from_libreoffice_and_iconv_change_the_indicators_by_what_they_supply() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "6000", "--db"])
            .arg(&db),
    );

    // The demo's 2018 measures are the household record's, and the indicators are the
    // oracle's counts, with households deliberately left without measures.
    let before = raw(&db);
    for (no, h) in &before {
        assert_eq!(h.measures, h.record, "{no}");
    }
    let (no_development, unmet) = failing(&before);
    let monitored = before
        .values()
        .filter(|h| MONITORED.contains(&h.category.as_str()))
        .count();
    assert!(no_development.len() >= 10, "{}", no_development.len());
    assert!(no_development.len() < monitored);
    assert!(unmet.len() >= 3, "{}", unmet.len());
    assert_eq!(
        figures(&db),
        (no_development.len() as i64, unmet.len() as i64)
    );

    // An industry department's XLSX by 户编号: two households lacking a development
    // measure get one; a third row names a household the registry does not have.
    let supplied: Vec<&String> = no_development.iter().take(2).collect();
    let csv = format!(
        "新宾县2018年产业帮扶到户清单,,,,\n户编号,年度,帮扶措施,责任部门,金额\n\
         {},2018,产业帮扶,农业农村局,3000\n{},2018年,产业帮扶,农业农村局,2500\n\
         210422999999999999,2018,产业帮扶,农业农村局,100\n",
        supplied[0], supplied[1]
    );
    let xlsx = dir.path().join("产业帮扶.xlsx");
    std::fs::write(&xlsx, libreoffice_xlsx_text("产业", &csv, 1)).unwrap();
    let dry = import(&db, &xlsx, false);
    assert!(dry.contains("导入的措施"), "{dry}");
    assert_eq!(
        figures(&db),
        (no_development.len() as i64, unmet.len() as i64),
        "a dry run writes nothing"
    );
    let committed = import(&db, &xlsx, true);
    assert!(committed.contains("committed"), "{committed}");
    assert_eq!(
        figures(&db),
        (no_development.len() as i64 - 2, unmet.len() as i64)
    );
    let after = raw(&db);
    assert_eq!(failing(&after).0.len(), no_development.len() - 2);

    // A health bureau's GBK CSV by the head's ID number: a household whose only unmet
    // risk is illness gets 健康帮扶, and leaves 风险无对应措施.
    let (no, ill) = after
        .iter()
        .find(|(_, h)| unmet_risks(h).collect::<Vec<_>>() == ["illness"])
        .expect("a household whose only unmet risk is illness");
    let csv = format!(
        "2018年健康扶贫措施落实台账\n户主证件号码,帮扶措施,责任部门,金额\n{},健康帮扶,医保局,1200\n\
         110105194912310039,健康帮扶,医保局,800\n",
        ill.head_id
    );
    let utf8 = dir.path().join("utf8.csv");
    std::fs::write(&utf8, csv).unwrap();
    let out = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", "GBK"])
        .arg(&utf8)
        .output()
        .unwrap();
    assert!(out.status.success());
    let gbk = dir.path().join("健康帮扶.csv");
    std::fs::write(&gbk, out.stdout).unwrap();
    let dry = import(&db, &gbk, false);
    // The report masks the ID number it cannot match, and never prints a full one.
    assert!(dry.contains("110105********0039"), "{dry}");
    assert!(!dry.contains("110105194912310039"), "{dry}");
    assert!(!dry.contains(&ill.head_id), "{dry}");
    // The command line names an import by the second it is committed in (left as it
    // is here): two commits in one second would clash.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let committed = import(&db, &gbk, true);
    let id = committed
        .lines()
        .find_map(|l| l.strip_prefix("committed "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        figures(&db),
        (no_development.len() as i64 - 2, unmet.len() as i64 - 1)
    );
    let stored = raw(&db);
    assert!(stored[no].measures.contains("health"));

    // Undo, newest first: the figures come back step by step.
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .args(["undo", &id]),
    );
    assert_eq!(
        figures(&db),
        (no_development.len() as i64 - 2, unmet.len() as i64)
    );
}
