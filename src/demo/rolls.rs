//! The demo's department rolls (行业部门数据): for each county, the six departments'
//! rolls drawn from its registry so that they agree with it, then mismatches planted
//! on purpose (a child left off the school roll, an insured member missing from the
//! insurance roll, a flipped water test …), each recorded in `demo_roll_flaws` so that
//! a test can hold that the cross-checks find every one and nothing else.
//!
//! The rolls draw from a random stream of their own, after every household is
//! written, so that every figure of the demo stays as it was without them.

use std::collections::{BTreeMap, HashSet};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DemoError;
use super::people::IdNumbers;
use crate::domain::Sex;
use crate::store::DatabaseBuilder;
use crate::store::rolls::{NewRollRow, RegistryPerson, RollOf};

/// Mixed into the seed of the rolls' stream.
const ROLLS_KEY: u64 = 0x726f_6c6c_735f_7631;

/// One county's rolls being drawn, by kind, and the mismatches planted in them.
struct Rolls {
    kinds: BTreeMap<String, Vec<NewRollRow>>,
    planted: Vec<(String, String)>,
}

/// A roll row of a person (keyed by ID number).
fn person_row(p: &RegistryPerson, kind: &str, values: &[(&str, String)]) -> NewRollRow {
    NewRollRow {
        file: format!("demo-{kind}.xlsx"),
        row: 0,
        id_number: Some(p.id_number.clone()),
        household_no: None,
        name: Some(p.name.clone()),
        values: values
            .iter()
            .map(|(f, v)| ((*f).to_owned(), v.clone()))
            .collect(),
    }
}

fn school_status(p: &RegistryPerson) -> &'static str {
    match p.schooling.as_deref() {
        Some("out_of_school") => "dropout",
        Some("taught_at_home") => "home_taught",
        _ => "in_school",
    }
}

fn school_values(p: &RegistryPerson, status: &str) -> Vec<(&'static str, String)> {
    let (stage, school) = if p.age <= 11 {
        ("primary", "中心小学")
    } else {
        ("junior", "第一初级中学")
    };
    vec![
        ("status", status.to_owned()),
        ("stage", stage.to_owned()),
        ("school", school.to_owned()),
    ]
}

fn insured_values(rng: &mut impl Rng) -> Vec<(&'static str, String)> {
    let funding = ["全额资助", "定额资助", "个人缴费"]
        .choose(rng)
        .copied()
        .unwrap_or("个人缴费");
    vec![
        ("status", "insured".to_owned()),
        ("class", "城乡居民基本医疗保险".to_owned()),
        ("funding", funding.to_owned()),
    ]
}

fn housing_values(rng: &mut impl Rng, grade: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grade", grade.to_owned()),
        ("year", rng.random_range(2015..=2019).to_string()),
        (
            "method",
            if rng.random_bool(0.5) {
                "维修加固"
            } else {
                "原址翻建"
            }
            .to_owned(),
        ),
        (
            "accepted",
            if rng.random_bool(0.9) { "yes" } else { "no" }.to_owned(),
        ),
    ]
}

fn relief_values(rng: &mut impl Rng, relief: &str) -> Vec<(&'static str, String)> {
    vec![
        ("relief", relief.to_owned()),
        ("start", format!("{}-01-01", rng.random_range(2015..=2019))),
        (
            "amount",
            if relief == "extreme" { "640" } else { "395" }.to_owned(),
        ),
    ]
}

fn disability_values(p: &RegistryPerson, grade: u8) -> Vec<(&'static str, String)> {
    let kind = p
        .disability_kind
        .clone()
        .unwrap_or_else(|| "physical".to_owned());
    vec![
        ("kind", kind),
        ("grade", grade.to_string()),
        (
            "card",
            format!("残{:05}", p.household_no.len() * 1000 + usize::from(p.seq)),
        ),
    ]
}

/// The rolls of one county that agree with its registry.
fn agreeing(persons: &[&RegistryPerson], rng: &mut ChaCha8Rng) -> Rolls {
    let mut kinds: BTreeMap<String, Vec<NewRollRow>> = BTreeMap::new();
    let mut last_household = "";
    for p in persons {
        if (6..=15).contains(&p.age) {
            let values = school_values(p, school_status(p));
            kinds
                .entry("edu".to_owned())
                .or_default()
                .push(person_row(p, "edu", &values));
        }
        if p.medical_insured {
            let values = insured_values(rng);
            kinds
                .entry("insurance".to_owned())
                .or_default()
                .push(person_row(p, "insurance", &values));
        }
        let relief = if p.extreme_poverty {
            Some("extreme")
        } else if p.subsistence {
            Some("subsistence")
        } else {
            None
        };
        if let Some(relief) = relief {
            let values = relief_values(rng, relief);
            kinds
                .entry("civil".to_owned())
                .or_default()
                .push(person_row(p, "civil", &values));
        }
        if let Some(grade) = p.disability_grade {
            let values = disability_values(p, grade);
            kinds
                .entry("disability".to_owned())
                .or_default()
                .push(person_row(p, "disability", &values));
        }
        if p.household_no != last_household {
            // The household's first member: its head, by whom renovation is recorded.
            last_household = &p.household_no;
            let renovated = match p.house_grade.as_str() {
                "C" | "D" => Some(p.house_grade.clone()),
                // Some B houses are B because they were renovated.
                "B" if rng.random_bool(0.2) => Some("C".to_owned()),
                _ => None,
            };
            if let Some(grade) = renovated {
                let values = housing_values(rng, &grade);
                kinds
                    .entry("housing".to_owned())
                    .or_default()
                    .push(person_row(p, "housing", &values));
            }
            let supply = if p.water_piped {
                "piped"
            } else if rng.random_bool(0.5) {
                "central"
            } else {
                "scattered"
            };
            kinds
                .entry("water".to_owned())
                .or_default()
                .push(NewRollRow {
                    file: "demo-water.xlsx".to_owned(),
                    row: 0,
                    id_number: None,
                    household_no: Some(p.household_no.clone()),
                    name: Some(p.name.clone()),
                    values: vec![
                        ("supply".to_owned(), supply.to_owned()),
                        (
                            "quality".to_owned(),
                            if p.water_safe { "yes" } else { "no" }.to_owned(),
                        ),
                    ],
                });
        }
    }
    Rolls {
        kinds,
        planted: Vec::new(),
    }
}

impl Rolls {
    /// Takes out up to `n` rows of `kind` that `pick` chooses, planting `rule` for
    /// each by its key; returns the keys.
    fn remove(
        &mut self,
        rng: &mut ChaCha8Rng,
        (kind, rule): (&str, &str),
        n: usize,
        pick: impl Fn(&NewRollRow) -> bool,
        taken: &mut HashSet<String>,
    ) {
        let rows = self.kinds.entry(kind.to_owned()).or_default();
        let candidates: Vec<usize> = (0..rows.len())
            .filter(|&i| pick(&rows[i]) && !taken.contains(&key_of(&rows[i])))
            .collect();
        let mut chosen: Vec<usize> = candidates.choose_multiple(rng, n).copied().collect();
        chosen.sort_unstable_by(|a, b| b.cmp(a));
        for i in chosen {
            let row = rows.remove(i);
            taken.insert(key_of(&row));
            self.planted.push((rule.to_owned(), key_of(&row)));
        }
    }
}

fn key_of(row: &NewRollRow) -> String {
    row.id_number
        .clone()
        .or_else(|| row.household_no.clone())
        .unwrap_or_default()
}

/// The most households a demo draws rolls for. The registry and the rolls are drawn in
/// memory, about 0.6 KB a person: a 10-million-household county (27 million persons)
/// took over 20 GB and was killed. Larger demos have no rolls (benchmarks of the
/// cross-checks draw their own, `paicha bench rolls`).
pub const MAX_HOUSEHOLDS: u64 = 2_000_000;

/// Draws every county's rolls from the registry written so far, plants mismatches and
/// writes both.
///
/// # Errors
/// [`DemoError::Store`] if the registry cannot be read or a roll written;
/// [`DemoError::Ids`] if synthetic ID numbers run out.
pub fn write(
    builder: &mut DatabaseBuilder,
    seed: u64,
    ids: &mut IdNumbers,
) -> Result<(), DemoError> {
    let registry = builder.registry()?;
    let mut counties: BTreeMap<&str, Vec<&RegistryPerson>> = BTreeMap::new();
    for p in &registry {
        counties.entry(&p.village_code[..6]).or_default().push(p);
    }
    let first_county: Vec<&RegistryPerson> = counties.values().next().cloned().unwrap_or_default();
    let mut planted = Vec::new();
    for (c, (county, persons)) in counties.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ROLLS_KEY);
        rng.set_stream(c as u64 + 1);
        let mut rolls = agreeing(persons, &mut rng);
        let households = persons
            .windows(2)
            .filter(|w| w[0].household_no != w[1].household_no)
            .count()
            + 1;
        let n = (households / 1500).clamp(2, 30);
        plant(&mut rolls, &mut rng, persons, n, ids)?;
        if c > 0 {
            // Persons of the first county on this county's insurance roll.
            let taken: HashSet<String> = planted
                .iter()
                .chain(&rolls.planted)
                .map(|(_, k): &(String, String)| k.clone())
                .collect();
            let insured: Vec<&&RegistryPerson> = first_county
                .iter()
                .filter(|p| p.medical_insured && !taken.contains(&p.id_number))
                .collect();
            for p in insured.choose_multiple(&mut rng, n) {
                let values = insured_values(&mut rng);
                rolls
                    .kinds
                    .entry("insurance".to_owned())
                    .or_default()
                    .push(person_row(p, "insurance", &values));
                rolls
                    .planted
                    .push(("roll_other_county".to_owned(), p.id_number.clone()));
            }
        }
        for (kind, mut rows) in rolls.kinds {
            for (i, row) in rows.iter_mut().enumerate() {
                // Rows as a spreadsheet numbers them, under a title and a header.
                row.row = u32::try_from(i).unwrap_or(u32::MAX) + 3;
            }
            builder.write_roll(
                RollOf {
                    kind: &kind,
                    county,
                },
                &rows,
            )?;
        }
        planted.extend(rolls.planted);
    }
    planted.sort();
    planted.dedup();
    builder.write_planted(&planted)?;
    Ok(())
}

/// Plants `n` mismatches of each rule (fewer where the county has fewer candidates).
fn plant(
    rolls: &mut Rolls,
    rng: &mut ChaCha8Rng,
    persons: &[&RegistryPerson],
    n: usize,
    ids: &mut IdNumbers,
) -> Result<(), DemoError> {
    let by_id: std::collections::HashMap<&str, &RegistryPerson> =
        persons.iter().map(|p| (p.id_number.as_str(), *p)).collect();
    let mut taken = HashSet::new();
    // Left off a roll.
    rolls.remove(rng, ("edu", "edu_missing"), n, |_| true, &mut taken);
    rolls.remove(
        rng,
        ("insurance", "insured_not_on_roll"),
        n,
        |_| true,
        &mut taken,
    );
    rolls.remove(
        rng,
        ("housing", "house_unrenovated"),
        n,
        |r| {
            r.values
                .iter()
                .any(|(f, v)| f == "grade" && (v == "C" || v == "D"))
                && r.id_number
                    .as_deref()
                    .and_then(|id| by_id.get(id))
                    .is_some_and(|p| matches!(p.house_grade.as_str(), "C" | "D"))
        },
        &mut taken,
    );
    rolls.remove(
        rng,
        ("civil", "relief_differs"),
        n.div_ceil(2),
        |_| true,
        &mut taken,
    );
    rolls.remove(
        rng,
        ("disability", "disability_differs"),
        n.div_ceil(2),
        |_| true,
        &mut taken,
    );
    // The planted household mismatches are known by the household, not the head.
    for (rule, key) in &mut rolls.planted {
        if rule == "house_unrenovated"
            && let Some(p) = by_id.get(key.as_str())
        {
            key.clone_from(&p.household_no);
        }
    }
    change(rolls, rng, n, &taken);
    add(rolls, rng, persons, n, ids)
}

/// Plants mismatches by changing rows: a pupil turned 辍学, a water test flipped.
fn change(rolls: &mut Rolls, rng: &mut ChaCha8Rng, n: usize, taken: &HashSet<String>) {
    let edu = rolls.kinds.entry("edu".to_owned()).or_default();
    let in_school: Vec<usize> = (0..edu.len())
        .filter(|&i| {
            edu[i]
                .values
                .iter()
                .any(|(f, v)| f == "status" && v == "in_school")
                && !taken.contains(&key_of(&edu[i]))
        })
        .collect();
    for &i in in_school.choose_multiple(rng, n) {
        for (f, v) in &mut edu[i].values {
            if f == "status" {
                "dropout".clone_into(v);
            }
        }
        rolls
            .planted
            .push(("edu_dropout".to_owned(), key_of(&edu[i])));
    }
    let water = rolls.kinds.entry("water".to_owned()).or_default();
    for i in rand::seq::index::sample(rng, water.len(), n.min(water.len())) {
        for (f, v) in &mut water[i].values {
            if f == "quality" {
                let flipped = if v == "yes" { "no" } else { "yes" };
                flipped.clone_into(v);
            }
        }
        rolls
            .planted
            .push(("water_differs".to_owned(), key_of(&water[i])));
    }
}

/// Plants mismatches by adding rows: a renovation for an A house, the uninsured as
/// insured, 低保 and disability for those without, and persons nobody registered.
fn add(
    rolls: &mut Rolls,
    rng: &mut ChaCha8Rng,
    persons: &[&RegistryPerson],
    n: usize,
    ids: &mut IdNumbers,
) -> Result<(), DemoError> {
    let heads: Vec<&&RegistryPerson> = persons
        .iter()
        .enumerate()
        .filter(|(i, p)| *i == 0 || persons[i - 1].household_no != p.household_no)
        .map(|(_, p)| p)
        .collect();
    for p in heads
        .iter()
        .filter(|p| p.house_grade == "A")
        .collect::<Vec<_>>()
        .choose_multiple(rng, n)
    {
        let values = housing_values(rng, "C");
        rolls
            .kinds
            .entry("housing".to_owned())
            .or_default()
            .push(person_row(p, "housing", &values));
        rolls
            .planted
            .push(("renovated_grade_a".to_owned(), p.household_no.clone()));
    }
    let uninsured: Vec<&&RegistryPerson> = persons.iter().filter(|p| !p.medical_insured).collect();
    for p in uninsured.choose_multiple(rng, n) {
        let values = insured_values(rng);
        rolls
            .kinds
            .entry("insurance".to_owned())
            .or_default()
            .push(person_row(p, "insurance", &values));
        rolls
            .planted
            .push(("insured_only_on_roll".to_owned(), p.id_number.clone()));
    }
    let no_relief: Vec<&&RegistryPerson> = persons
        .iter()
        .filter(|p| !p.subsistence && !p.extreme_poverty && p.age >= 18)
        .collect();
    for p in no_relief.choose_multiple(rng, n / 2) {
        let values = relief_values(rng, "subsistence");
        rolls
            .kinds
            .entry("civil".to_owned())
            .or_default()
            .push(person_row(p, "civil", &values));
        rolls
            .planted
            .push(("relief_differs".to_owned(), p.id_number.clone()));
    }
    let able: Vec<&&RegistryPerson> = persons
        .iter()
        .filter(|p| p.disability_grade.is_none() && p.age >= 18)
        .collect();
    for p in able.choose_multiple(rng, n / 2) {
        let values = disability_values(p, 2);
        rolls
            .kinds
            .entry("disability".to_owned())
            .or_default()
            .push(person_row(p, "disability", &values));
        rolls
            .planted
            .push(("disability_differs".to_owned(), p.id_number.clone()));
    }
    // Persons nobody registered, on the school roll.
    for k in 0..n {
        let birth = 2008_0101 + u32::try_from(k % 28).unwrap_or(0);
        let id = ids.issue(birth, if k % 2 == 0 { Sex::Male } else { Sex::Female })?;
        let row = NewRollRow {
            file: "demo-edu.xlsx".to_owned(),
            row: 0,
            id_number: Some(id.clone()),
            household_no: None,
            name: Some("外来学生".to_owned()),
            values: vec![("status".to_owned(), "in_school".to_owned())],
        };
        rolls.kinds.entry("edu".to_owned()).or_default().push(row);
        rolls.planted.push(("roll_unregistered".to_owned(), id));
    }
    Ok(())
}
