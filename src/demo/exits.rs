//! The demo's poverty-village exit data and its persons outside the registry (issue
//! 18): a village information form (贫困村信息采集表) for every poverty village that
//! meets the exit standard, except a few villages planted to fail one item each (and
//! one left without an item's value), recorded in `demo_exit_flaws`; and persons on
//! the civil-affairs, disability and housing rolls and the general rural households'
//! file (一般农户) whom nobody registered, some of whom the 应纳未纳 screening must find
//! and some not, recorded in `demo_inclusion_plants`.
//!
//! Both draw from random streams of their own after the rolls, so that every other
//! figure of the demo stays as it was.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DemoError;
use super::people::IdNumbers;
use crate::domain::Sex;
use crate::store::DatabaseBuilder;
use crate::store::exits::FormRow;
use crate::store::rolls::{NewRollRow, RollOf};

/// Mixed into the seed of the exits' stream.
const EXITS_KEY: u64 = 0x6578_6974_735f_7631;

/// The items planted to fail, one village each, with the failing value.
const FAILING: &[(&str, f64)] = &[
    ("collective_income", 32_000.0),
    ("hardened_road", 0.0),
    ("safe_water_coverage", 0.86),
    ("power", 0.0),
    ("broadband", 0.0),
    ("clinic", 0.0),
    ("village_doctor", 0.0),
    ("culture_center", 0.0),
];

/// A village: code, name, township name, poverty village.
type Village = crate::store::exits::VillageRow;

/// Writes the form of every county's poverty villages and the screening's persons.
///
/// # Errors
/// [`DemoError::Store`] if a row cannot be written; [`DemoError::Ids`] if synthetic ID
/// numbers run out.
pub fn write(
    builder: &mut DatabaseBuilder,
    seed: u64,
    ids: &mut IdNumbers,
) -> Result<(), DemoError> {
    let mut counties: BTreeMap<String, Vec<Village>> = BTreeMap::new();
    for v in builder.villages()? {
        counties.entry(v.0[..6].to_owned()).or_default().push(v);
    }
    let mut form = Vec::new();
    let mut failing = Vec::new();
    let mut plants = Vec::new();
    let mut unregistered = Vec::new();
    for (c, (county, villages)) in counties.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ EXITS_KEY);
        rng.set_stream(c as u64 + 1);
        let poverty: Vec<&Village> = villages.iter().filter(|v| v.3).collect();
        form_of(&mut rng, &poverty, &mut form, &mut failing);
        let rolls = persons(&mut rng, villages, ids, &mut plants)?;
        for (kind, rows) in rolls {
            for r in &rows {
                if kind != "general" {
                    unregistered.push((
                        "roll_unregistered".to_owned(),
                        r.id_number.clone().unwrap_or_default(),
                    ));
                }
            }
            builder.write_roll(
                RollOf {
                    kind: &kind,
                    county,
                },
                &rows,
            )?;
        }
    }
    failing.sort();
    builder.write_village_form(&form, &failing)?;
    unregistered.sort();
    unregistered.dedup();
    builder.write_planted(&unregistered)?;
    builder.write_inclusion_plants(&plants)?;
    Ok(())
}

/// The form rows of one county's poverty villages, with failures planted.
fn form_of(
    rng: &mut ChaCha8Rng,
    poverty: &[&Village],
    form: &mut Vec<FormRow>,
    failing: &mut Vec<(String, String)>,
) {
    let mut order: Vec<usize> = (0..poverty.len()).collect();
    order.shuffle(rng);
    // The first villages of the shuffle fail one item each; the next one leaves its
    // broadband empty.
    let mut planted: BTreeMap<usize, Option<(&str, f64)>> = BTreeMap::new();
    for (k, &i) in order.iter().enumerate().take(FAILING.len() + 1) {
        planted.insert(i, FAILING.get(k).copied());
    }
    for (i, v) in poverty.iter().enumerate() {
        let income = f64::from(rng.random_range(600..2_000_u32)) * 100.0;
        let water = f64::from(rng.random_range(96..=100_u32)) / 100.0;
        let mut values: Vec<(String, f64)> = vec![
            ("collective_income".into(), income),
            ("hardened_road".into(), 1.0),
            ("safe_water_coverage".into(), water),
            ("power".into(), 1.0),
            ("broadband".into(), 1.0),
            ("clinic".into(), 1.0),
            ("village_doctor".into(), 1.0),
            ("culture_center".into(), 1.0),
        ];
        match planted.get(&i) {
            Some(Some((item, bad))) => {
                for (f, value) in &mut values {
                    if f == item {
                        *value = *bad;
                    }
                }
                failing.push((v.0.clone(), (*item).to_owned()));
            }
            Some(None) => {
                values.retain(|(f, _)| f != "broadband");
                failing.push((v.0.clone(), "missing:broadband".to_owned()));
            }
            None => {}
        }
        form.push(FormRow {
            village_code: v.0.clone(),
            file: "demo-贫困村信息采集表.xlsx".into(),
            row: u32::try_from(i).unwrap_or(u32::MAX) + 3,
            values,
        });
    }
}

/// One planted person: which rolls name them and how.
struct Person<'a> {
    /// The roll kinds and their fields (besides the village).
    rows: Vec<(&'static str, Vec<(&'static str, String)>)>,
    /// The village as the rolls write it: code, or name and township; `None`: a name
    /// no stored village has.
    village: Option<&'a Village>,
    by_name: bool,
    /// Whether the screening must find them.
    candidate: bool,
}

fn general(
    income: u32,
    extra: &[(&'static str, &str)],
) -> (&'static str, Vec<(&'static str, String)>) {
    let mut values = vec![
        ("members", "3".to_owned()),
        ("income", income.to_string()),
        ("food", "yes".to_owned()),
        ("clothing", "yes".to_owned()),
        ("dropout", "no".to_owned()),
        ("insured", "yes".to_owned()),
        ("house_grade", "B".to_owned()),
        ("water_safe", "yes".to_owned()),
        ("illness", "no".to_owned()),
    ];
    for (field, value) in extra {
        for (f, v) in &mut values {
            if f == field {
                (*value).clone_into(v);
            }
        }
    }
    ("general", values)
}

fn civil(relief: &str) -> (&'static str, Vec<(&'static str, String)>) {
    (
        "civil",
        vec![
            ("relief", relief.to_owned()),
            ("start", "2019-01-01".to_owned()),
            ("amount", "395".to_owned()),
        ],
    )
}

fn housing(grade: &str, accepted: &str) -> (&'static str, Vec<(&'static str, String)>) {
    (
        "housing",
        vec![
            ("grade", grade.to_owned()),
            ("year", "2019".to_owned()),
            ("accepted", accepted.to_owned()),
        ],
    )
}

fn disability() -> (&'static str, Vec<(&'static str, String)>) {
    (
        "disability",
        vec![("kind", "physical".to_owned()), ("grade", "2".to_owned())],
    )
}

/// The persons outside the registry of one county, by roll kind.
fn persons(
    rng: &mut ChaCha8Rng,
    villages: &[Village],
    ids: &mut IdNumbers,
    plants: &mut Vec<(String, bool, Option<String>)>,
) -> Result<BTreeMap<String, Vec<NewRollRow>>, DemoError> {
    let mut pick = || villages.get(rng.random_range(0..villages.len().max(1)));
    let people = [
        // 低保, no income known: a candidate, placed by village and township name.
        Person {
            rows: vec![civil("subsistence")],
            village: pick(),
            by_name: true,
            candidate: true,
        },
        // 特困 and under the line.
        Person {
            rows: vec![civil("extreme"), general(3_100, &[])],
            village: pick(),
            by_name: false,
            candidate: true,
        },
        // Disabled, over the line, a child out of school.
        Person {
            rows: vec![disability(), general(9_000, &[("dropout", "yes")])],
            village: pick(),
            by_name: false,
            candidate: true,
        },
        // Disabled, over the line, no problem: not a candidate.
        Person {
            rows: vec![disability(), general(12_000, &[])],
            village: pick(),
            by_name: false,
            candidate: false,
        },
        // A D house not yet accepted: a candidate.
        Person {
            rows: vec![housing("D", "no")],
            village: pick(),
            by_name: false,
            candidate: true,
        },
        // A C house renovated and accepted: not a candidate.
        Person {
            rows: vec![housing("C", "yes")],
            village: pick(),
            by_name: false,
            candidate: false,
        },
        // A serious illness and under the line.
        Person {
            rows: vec![general(2_000, &[("illness", "yes")])],
            village: pick(),
            by_name: false,
            candidate: true,
        },
        // Under the line, nothing else: not a candidate.
        Person {
            rows: vec![general(2_500, &[])],
            village: pick(),
            by_name: false,
            candidate: false,
        },
        // 低保 in a village no division has: a candidate at the county.
        Person {
            rows: vec![civil("subsistence")],
            village: None,
            by_name: true,
            candidate: true,
        },
    ];
    let mut out: BTreeMap<String, Vec<NewRollRow>> = BTreeMap::new();
    for (k, p) in people.into_iter().enumerate() {
        let birth = 1960_0101 + u32::try_from(k).unwrap_or(0) * 10_000;
        let id = ids.issue(birth, if k % 2 == 0 { Sex::Male } else { Sex::Female })?;
        let place: Vec<(&'static str, String)> = match (p.village, p.by_name) {
            (Some(v), true) => {
                let mut place = vec![("village", v.1.clone())];
                if let Some(t) = &v.2 {
                    place.push(("township", t.clone()));
                }
                place
            }
            (Some(v), false) => vec![("village", v.0.clone())],
            (None, _) => vec![("village", "无此村".to_owned())],
        };
        for (kind, values) in p.rows {
            let rows = out.entry(kind.to_owned()).or_default();
            let row = u32::try_from(rows.len()).unwrap_or(0) + 10_001;
            rows.push(NewRollRow {
                file: format!("demo-{kind}-补充.xlsx"),
                row,
                id_number: Some(id.clone()),
                household_no: None,
                name: Some(format!("{}某某", ["王", "李", "张", "刘", "陈"][k % 5])),
                values: values
                    .into_iter()
                    .chain(place.iter().cloned())
                    .map(|(f, v)| (f.to_owned(), v))
                    .collect(),
            });
        }
        plants.push((id, p.candidate, p.village.map(|v| v.0.clone())));
    }
    Ok(out)
}
