//! Figures for a set of households found by position (a drawn shape): the totals and
//! the breakdown by the village each household's position lies in, summed from the
//! per-household contributions that the store's rules computed ([`Facts`]).

use std::collections::BTreeMap;

use super::Value;
use crate::domain::{Category, MeasureId};
use crate::model::{Facts, Snapshot};
use crate::spatial::shapes::{self, Shape};

/// Figures of one group of households.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sums {
    /// Households.
    pub households: i64,
    /// Per measure asked: (count, denominator).
    pub values: Vec<(i64, i64)>,
}

impl Sums {
    fn new(n: usize) -> Self {
        Self {
            households: 0,
            values: vec![(0, 0); n],
        }
    }

    /// The values with their rates.
    #[must_use]
    pub fn values(&self) -> Vec<Value> {
        self.values.iter().map(|&(c, d)| Value::new(c, d)).collect()
    }
}

/// Totals and per-village sums (keyed by the village's index in the area index;
/// `None` for households whose position lies in no village).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// All the households.
    pub total: Sums,
    /// By located village.
    pub by_village: BTreeMap<Option<u32>, Sums>,
}

/// Sums the measures over the households `rows`, keeping those of `categories`
/// (empty: all).
#[must_use]
pub fn summarise(
    rows: &[u32],
    facts: &Facts,
    located: &[Option<u32>],
    measures: &[MeasureId],
    categories: &[Category],
) -> Summary {
    let mut summary = Summary {
        total: Sums::new(measures.len()),
        by_village: BTreeMap::new(),
    };
    for &row in rows {
        let r = row as usize;
        if !categories.is_empty() && !categories.contains(&facts.category(r)) {
            continue;
        }
        let group = summary
            .by_village
            .entry(located[r])
            .or_insert_with(|| Sums::new(measures.len()));
        group.households += 1;
        summary.total.households += 1;
        for (k, &m) in measures.iter().enumerate() {
            let (c, d) = facts.contribution(r, m);
            group.values[k].0 += i64::from(c);
            group.values[k].1 += i64::from(d);
            summary.total.values[k].0 += i64::from(c);
            summary.total.values[k].1 += i64::from(d);
        }
    }
    summary
}

/// The ids of the measures household `row` fails (count above zero), in catalog order.
#[must_use]
pub fn failed(facts: &Facts, row: usize) -> Vec<&'static str> {
    facts.failed(row).map(MeasureId::code).collect()
}

/// A village a drawn shape touches or holds households of.
#[derive(Debug, Clone, PartialEq)]
pub struct TouchedVillage {
    /// Its index in the snapshot's village index.
    pub village: u32,
    /// The share of its area inside the shape (0 to 1): 0 for a village that only
    /// holds a household on the shape's edge.
    pub share: f64,
    /// The households inside the shape whose position lies in it.
    pub sums: Sums,
}

/// The figures of a drawn shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Every household inside.
    pub total: Sums,
    /// The villages it touches or holds households of, in index order.
    pub villages: Vec<TouchedVillage>,
    /// Households inside whose position lies in no village.
    pub outside_villages: i64,
}

/// The households inside `shape` (by position, offsets corrected), summed over
/// `measures` for those of `categories` (empty: all), with the villages it touches
/// and the share of each it covers. With `scope` (area codes) only the households
/// registered in those areas, and only their villages, are counted; empty: all.
#[must_use]
pub fn figures(
    snapshot: &Snapshot,
    shape: &Shape,
    measures: &[MeasureId],
    categories: &[Category],
    scope: &[String],
) -> Figures {
    let in_scope =
        |code: &str| scope.is_empty() || scope.iter().any(|a| code.starts_with(a.as_str()));
    let mut rows = shape.rows(&snapshot.points);
    if !scope.is_empty() {
        rows.retain(|&r| in_scope(&snapshot.locations[r as usize].village_code));
    }
    let mut summary = summarise(
        &rows,
        &snapshot.facts,
        &snapshot.located,
        measures,
        categories,
    );
    let mut touched = shapes::touched(&snapshot.villages, &shape.outline());
    touched.retain(|t| {
        snapshot
            .villages
            .area(t.village)
            .is_some_and(|a| in_scope(&a.code))
    });
    let mut codes: Vec<u32> = touched.iter().map(|t| t.village).collect();
    codes.extend(summary.by_village.keys().flatten());
    codes.sort_unstable();
    codes.dedup();
    let villages = codes
        .into_iter()
        .map(|village| TouchedVillage {
            village,
            share: touched
                .iter()
                .find(|t| t.village == village)
                .map_or(0.0, |t| t.share),
            sums: summary
                .by_village
                .remove(&Some(village))
                .unwrap_or_else(|| Sums::new(measures.len())),
        })
        .collect();
    Figures {
        outside_villages: summary.by_village.get(&None).map_or(0, |s| s.households),
        total: summary.total,
        villages,
    }
}
