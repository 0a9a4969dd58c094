//! Choosing what to visit: households failing the chosen indicators, villages with open
//! checklist items, a stratified random sample of the other households of each village,
//! and the must-visit households, each with the reasons to go.

use std::collections::{BTreeMap, HashMap, HashSet};

use geo::{Contains, InteriorPoint, MultiPolygon, Point};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::domain::plan::{Selection, Target, TargetKind};
use crate::indicators::Catalog;
use crate::indicators::drawn;
use crate::model::Snapshot;
use crate::store::ledger::OpenItem;

/// Where to plan and what to choose, validated (see [`super::validate`]).
#[derive(Debug, Clone)]
pub struct Choice {
    /// Township codes in scope, in the order groups follow.
    pub townships: Vec<String>,
    /// A drawn area in scope instead of townships.
    pub area: Option<MultiPolygon<f64>>,
    /// Indicator ids whose failing households are targets.
    pub indicators: Vec<String>,
    /// Whether villages with open checklist items are targets.
    pub ledger: bool,
    /// Sample size per village.
    pub sample_per_village: usize,
    /// The sample's seed.
    pub seed: u64,
    /// Minutes per household.
    pub household_minutes: f64,
    /// Minutes per village.
    pub village_minutes: f64,
    /// Priorities by reason (see [`crate::domain::plan::Request::priorities`]).
    pub priorities: std::collections::BTreeMap<String, u8>,
}

impl Choice {
    /// The priority of a reason: as asked, else its default.
    fn priority(&self, reason: &str, default: u8) -> u8 {
        self.priorities.get(reason).copied().unwrap_or(default)
    }
}

/// The targets chosen, in the order they were chosen.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    /// Everything to visit; those without a position have NaN coordinates.
    pub targets: Vec<Target>,
}

/// FNV-1a: a hash that stays the same across Rust versions, for per-village seeds.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The point where a village is checked: inside its boundary (the committee office is
/// not in the data).
#[must_use]
pub fn village_point(snapshot: &Snapshot, code: &str) -> Option<(f64, f64)> {
    let area = snapshot.villages.areas().iter().find(|a| a.code == code)?;
    let largest = area
        .geometry
        .0
        .iter()
        .max_by(|a, b| geo::Area::unsigned_area(*a).total_cmp(&geo::Area::unsigned_area(*b)))?;
    largest.interior_point().map(|p| (p.x(), p.y()))
}

/// The households of the scope, in row order.
fn in_scope(snapshot: &Snapshot, choice: &Choice) -> Vec<usize> {
    let townships: HashSet<&str> = choice.townships.iter().map(String::as_str).collect();
    (0..snapshot.locations.len())
        .filter(|&row| match &choice.area {
            Some(area) => {
                snapshot.positions[row].is_some_and(|p| area.contains(&Point::new(p.lon, p.lat)))
            }
            None => townships.contains(snapshot.locations[row].township_code.as_ref()),
        })
        .collect()
}

fn household_target(
    snapshot: &Snapshot,
    row: usize,
    selection: Selection,
    reasons: Vec<String>,
    priority: u8,
    minutes: f64,
) -> Target {
    let loc = &snapshot.locations[row];
    let (lon, lat) = snapshot.positions[row].map_or((f64::NAN, f64::NAN), |p| (p.lon, p.lat));
    Target {
        kind: TargetKind::Household,
        id: snapshot.household_nos[row].to_owned(),
        village_code: loc.village_code.to_string(),
        village_name: snapshot
            .name(&loc.village_code)
            .unwrap_or_default()
            .to_owned(),
        township_name: snapshot
            .name(&loc.township_code)
            .unwrap_or_default()
            .to_owned(),
        // Replaced by the head's masked name once the store has been asked.
        label: String::new(),
        lon,
        lat,
        selection,
        reasons,
        priority,
        must_visit: selection == Selection::MustVisit,
        service_minutes: minutes,
    }
}

/// The Chinese names of the indicators a household fails, standard ones and chosen ones.
fn failed_names(catalog: &Catalog, failed: &[&str], chosen: &HashSet<&str>) -> Vec<String> {
    failed
        .iter()
        .filter(|id| **id != "any_problem")
        .filter_map(|id| {
            catalog
                .get(id)
                .filter(|i| i.standard || chosen.contains(*id))
        })
        .map(|i| i.name_zh.clone())
        .collect()
}

/// Chooses the targets; `must_rows` are the must-visit households' rows ([`rows_of`]).
#[must_use]
pub fn choose(
    snapshot: &Snapshot,
    catalog: &Catalog,
    choice: &Choice,
    open: &[OpenItem],
    must_rows: &[usize],
) -> Chosen {
    let mut chosen = Chosen::default();
    let chosen_ids: HashSet<&str> = choice.indicators.iter().map(String::as_str).collect();
    let scope = in_scope(snapshot, choice);
    let mut taken: HashSet<usize> = HashSet::new();
    for &row in must_rows {
        if taken.insert(row) {
            let failed = drawn::failed(&snapshot.facts, row);
            let mut reasons = vec!["必访户".to_owned()];
            reasons.extend(failed_names(catalog, &failed, &chosen_ids));
            let t = household_target(
                snapshot,
                row,
                Selection::MustVisit,
                reasons,
                3,
                choice.household_minutes,
            );
            chosen.targets.push(t);
        }
    }
    // Villages first in the list: a village check tells the group where to look.
    if choice.ledger {
        ledger_targets(snapshot, choice, open, &mut chosen);
    }
    if !chosen_ids.is_empty() {
        for &row in &scope {
            if taken.contains(&row) {
                continue;
            }
            let failed = drawn::failed(&snapshot.facts, row);
            if !failed.iter().any(|id| chosen_ids.contains(id)) {
                continue;
            }
            taken.insert(row);
            let monitored = snapshot.facts.category(row).is_monitored();
            let mut reasons = failed_names(catalog, &failed, &chosen_ids);
            if monitored {
                reasons.insert(
                    0,
                    format!("监测对象（{}）", snapshot.facts.category(row).label_zh()),
                );
            }
            let t = household_target(
                snapshot,
                row,
                Selection::Failing,
                reasons,
                failed
                    .iter()
                    .filter(|id| chosen_ids.contains(*id))
                    .map(|id| choice.priority(id, 2))
                    .chain(monitored.then(|| choice.priority("monitored", 3)))
                    .max()
                    .unwrap_or(2),
                choice.household_minutes,
            );
            chosen.targets.push(t);
        }
    }
    if choice.sample_per_village > 0 {
        sample_targets(snapshot, choice, &scope, &taken, &mut chosen);
    }
    chosen
}

/// Villages of the scope with open checklist items, with the items as reasons.
fn ledger_targets(snapshot: &Snapshot, choice: &Choice, open: &[OpenItem], chosen: &mut Chosen) {
    let in_scope_village = |code: &str| match &choice.area {
        Some(area) => {
            village_point(snapshot, code).is_some_and(|(x, y)| area.contains(&Point::new(x, y)))
        }
        None => choice
            .townships
            .iter()
            .any(|t| code.starts_with(t.as_str())),
    };
    let mut by_village: BTreeMap<&str, Vec<&OpenItem>> = BTreeMap::new();
    for item in open {
        if in_scope_village(&item.village_code) {
            by_village
                .entry(item.village_code.as_str())
                .or_default()
                .push(item);
        }
    }
    for (code, items) in by_village {
        let overdue = items.iter().filter(|i| i.overdue).count();
        let (lon, lat) = village_point(snapshot, code).unwrap_or((f64::NAN, f64::NAN));
        let reasons = items
            .iter()
            .map(|i| {
                let text = i.problem.as_deref().unwrap_or("问题未填写");
                let late = if i.overdue { "（已逾期）" } else { "" };
                format!("清单第{}项：{text}{late}", i.position)
            })
            .collect();
        let name = snapshot.name(code).unwrap_or_default().to_owned();
        chosen.targets.push(Target {
            kind: TargetKind::Village,
            id: code.to_owned(),
            village_code: code.to_owned(),
            village_name: name.clone(),
            township_name: snapshot.name(&code[..9]).unwrap_or_default().to_owned(),
            label: name,
            lon,
            lat,
            selection: Selection::Ledger,
            reasons,
            priority: if overdue > 0 {
                choice.priority("overdue", 3)
            } else {
                choice.priority("ledger", 2)
            },
            must_visit: false,
            service_minutes: choice.village_minutes,
        });
    }
}

/// The stratified sample: in each village, `sample_per_village` of the households not
/// already chosen, drawn with a seed made from the plan's seed and the village code,
/// so that one village's draw does not depend on the others.
fn sample_targets(
    snapshot: &Snapshot,
    choice: &Choice,
    scope: &[usize],
    taken: &HashSet<usize>,
    chosen: &mut Chosen,
) {
    let mut by_village: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &row in scope {
        if !taken.contains(&row) {
            by_village
                .entry(snapshot.locations[row].village_code.as_ref())
                .or_default()
                .push(row);
        }
    }
    for (code, mut rows) in by_village {
        rows.sort_by(|a, b| snapshot.household_nos[*a].cmp(&snapshot.household_nos[*b]));
        let mut rng = ChaCha8Rng::seed_from_u64(choice.seed ^ stable_hash(code));
        let k = choice.sample_per_village.min(rows.len());
        let mut picked: Vec<usize> = rand::seq::index::sample(&mut rng, rows.len(), k)
            .into_iter()
            .map(|i| rows[i])
            .collect();
        picked.sort_unstable();
        for row in picked {
            let t = household_target(
                snapshot,
                row,
                Selection::Sample,
                vec!["随机抽查：核实两不愁三保障及饮水安全".to_owned()],
                choice.priority("sample", 1),
                choice.household_minutes,
            );
            chosen.targets.push(t);
        }
    }
}

/// The rows of these household numbers, `None` for a number not registered: one pass
/// over the households, with no map of all of them (10 million at the largest).
#[must_use]
pub fn rows_of(snapshot: &Snapshot, numbers: &[String]) -> Vec<Option<usize>> {
    let wanted: HashMap<&str, usize> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut rows = vec![None; numbers.len()];
    if wanted.is_empty() {
        return rows;
    }
    for (row, no) in snapshot.household_nos.iter().enumerate() {
        if let Some(&i) = wanted.get(no) {
            rows[i] = Some(row);
        }
    }
    // A number asked twice: every mention gets the row.
    for (i, n) in numbers.iter().enumerate() {
        if rows[i].is_none() {
            rows[i] = wanted.get(n.as_str()).and_then(|&j| rows[j]);
        }
    }
    rows
}
