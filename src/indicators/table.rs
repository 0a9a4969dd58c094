//! Indicator tables by area: the store's GROUP BY figures, placed on the areas of a
//! level (with zeros where no household is), totalled, ranked and classed.

use std::collections::HashMap;

use duckdb::Connection;
use serde::Serialize;

use super::{Catalog, Indicator, Value, measure_of};
use crate::domain::{AreaLevel, Category};
use crate::store::StoreError;
use crate::store::indicators::{GroupBy, HouseholdFilter, stats};

/// An area as named in a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AreaRef {
    /// Division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: AreaLevel,
}

/// What a table ranks by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// An indicator's rate (`by_count`: its count).
    Indicator {
        /// Position in the table's indicators.
        position: usize,
        /// Rank by the count instead of the rate.
        by_count: bool,
    },
    /// Households.
    Households,
}

/// A request for a table.
#[derive(Debug, Clone)]
pub struct TableRequest {
    /// The indicators, in column order.
    pub indicators: Vec<Indicator>,
    /// The area the table covers.
    pub within: AreaRef,
    /// One row per area of this level inside `within` (county: one row).
    pub level: AreaLevel,
    /// Count households where their position puts them, not where registered.
    pub by_location: bool,
    /// Only these categories; empty: all.
    pub categories: Vec<Category>,
    /// Rank rows by this key (highest first unless `ascending`); `None`: code order.
    pub sort: Option<SortKey>,
    /// Rank lowest first.
    pub ascending: bool,
    /// Keep only the first rows.
    pub limit: Option<usize>,
}

impl TableRequest {
    /// Every household counted where registered, in code order: the table maps and
    /// tiles colour by.
    #[must_use]
    pub fn plain(indicators: Vec<Indicator>, within: AreaRef, level: AreaLevel) -> Self {
        Self {
            indicators,
            within,
            level,
            by_location: false,
            categories: vec![],
            sort: None,
            ascending: false,
            limit: None,
        }
    }
}

/// One value in a table, with its colour class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cell {
    /// Count, denominator, rate.
    #[serde(flatten)]
    pub value: Value,
    /// The colour class of the rate (0 = lowest), `null` for no data.
    pub class: Option<usize>,
}

/// One area's row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TableRow {
    /// 1-based rank when the table is sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// The area.
    #[serde(flatten)]
    pub area: AreaRef,
    /// The parent's code.
    pub parent_code: Option<String>,
    /// Households counted in the area.
    pub households: i64,
    /// Per indicator id, its cell (in the order asked).
    #[schema(value_type = std::collections::BTreeMap<String, Cell>)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The cells in the table's indicator order, for writers.
    #[serde(skip)]
    pub cells: Vec<Cell>,
}

/// A finished table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// The area covered.
    pub within: AreaRef,
    /// The level of the rows.
    pub level: AreaLevel,
    /// Counted by location (`true`) or by registration.
    pub by_location: bool,
    /// The categories counted (empty: all).
    pub categories: Vec<Category>,
    /// The indicators, in column order.
    pub indicators: Vec<Indicator>,
    /// The rows.
    pub rows: Vec<TableRow>,
    /// The whole area covered, summed over all its rows (before `limit`).
    pub total: TableRow,
    /// Under `by_location`, households registered in the area covered whose position
    /// lies in no village (no usable position, or outside every village): counted in
    /// no row and in no total, at every level alike.
    pub unlocated: Option<i64>,
}

fn cells(
    indicators: &[Indicator],
    values: &[(i64, i64)],
) -> (Vec<Cell>, serde_json::Map<String, serde_json::Value>) {
    let cells: Vec<Cell> = indicators
        .iter()
        .zip(values)
        .map(|(ind, &(c, d))| {
            let value = Value::new(c, d);
            Cell {
                value,
                class: Catalog::class_of(ind, value.rate),
            }
        })
        .collect();
    let map = indicators
        .iter()
        .zip(&cells)
        .map(|(ind, cell)| {
            (
                ind.id.clone(),
                serde_json::to_value(cell).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    (cells, map)
}

impl Table {
    /// The answer for an area the person may not see: no rows, zeros in the total.
    #[must_use]
    pub fn empty(request: TableRequest) -> Self {
        let (cells, values) = cells(&request.indicators, &vec![(0, 0); request.indicators.len()]);
        Self {
            total: TableRow {
                rank: None,
                area: request.within.clone(),
                parent_code: None,
                households: 0,
                values,
                cells,
            },
            within: request.within,
            level: request.level,
            by_location: request.by_location,
            categories: request.categories,
            indicators: request.indicators,
            rows: Vec::new(),
            unlocated: None,
        }
    }
}

impl Table {
    /// The same table with only `indicators`, in their order: what a build for them
    /// alone would give, since each indicator is counted on its own. `None` when one
    /// of them is not in the table (by id and definition).
    #[must_use]
    pub fn select(&self, indicators: &[Indicator]) -> Option<Self> {
        let columns: Vec<usize> = indicators
            .iter()
            .map(|want| self.indicators.iter().position(|have| have == want))
            .collect::<Option<_>>()?;
        let pick = |row: &TableRow| TableRow {
            rank: row.rank,
            area: row.area.clone(),
            parent_code: row.parent_code.clone(),
            households: row.households,
            values: indicators
                .iter()
                .filter_map(|i| Some((i.id.clone(), row.values.get(&i.id)?.clone())))
                .collect(),
            cells: columns.iter().map(|&c| row.cells[c]).collect(),
        };
        Some(Self {
            within: self.within.clone(),
            level: self.level,
            by_location: self.by_location,
            categories: self.categories.clone(),
            indicators: indicators.to_vec(),
            rows: self.rows.iter().map(pick).collect(),
            total: pick(&self.total),
            unlocated: self.unlocated,
        })
    }
}

/// Households and (count, denominator) per measure, of one group.
type Figures = (i64, Vec<(i64, i64)>);

/// Builds the table: one GROUP BY in the store, then the areas of the level inside
/// `within` from `names` (code → name, level), each with its figures or zeros.
///
/// # Errors
/// [`StoreError`] if the query fails.
pub fn build<H: std::hash::BuildHasher>(
    conn: &Connection,
    names: &HashMap<String, (String, AreaLevel), H>,
    request: &TableRequest,
) -> Result<Table, StoreError> {
    let measures: Vec<_> = request.indicators.iter().map(measure_of).collect();
    let group = if request.level == request.within.level {
        GroupBy::All
    } else {
        match request.level {
            AreaLevel::Township => GroupBy::Township,
            AreaLevel::Village | AreaLevel::Community => GroupBy::Village,
            above => GroupBy::Prefix(above.code_len()),
        }
    };
    let scope = HouseholdFilter {
        within: Some(request.within.code.clone()),
        by_location: request.by_location,
        categories: request.categories.clone(),
    };
    let figures = stats(conn, &measures, group, &scope)?;
    let mut by_code: HashMap<Option<String>, Figures> = figures
        .into_iter()
        .map(|r| (r.code, (r.households, r.values)))
        .collect();
    let zeros = vec![(0, 0); measures.len()];

    let mut areas: Vec<(&String, &(String, AreaLevel))> = if group == GroupBy::All {
        names
            .get_key_value(&request.within.code)
            .into_iter()
            .collect()
    } else {
        names
            .iter()
            .filter(|(code, (_, level))| {
                code.starts_with(&request.within.code)
                    && (*level == request.level
                        || (request.level.is_village_like() && level.is_village_like()))
            })
            .collect()
    };
    areas.sort_by(|a, b| a.0.cmp(b.0));
    let mut rows: Vec<TableRow> = areas
        .into_iter()
        .map(|(code, (name, level))| {
            let key = if group == GroupBy::All {
                None
            } else {
                Some(code.clone())
            };
            let (households, values) = by_code.remove(&key).unwrap_or((0, zeros.clone()));
            let (cells, values) = cells(&request.indicators, &values);
            TableRow {
                rank: None,
                area: AreaRef {
                    code: code.clone(),
                    name: name.clone(),
                    level: *level,
                },
                parent_code: crate::domain::parent_code(code).map(str::to_owned),
                households,
                values,
                cells,
            }
        })
        .collect();
    let unlocated = if request.by_location {
        Some(crate::store::indicators::unlocated(conn, &scope)?)
    } else {
        None
    };

    let mut total_values = zeros.clone();
    let mut total_households = 0;
    for r in &rows {
        total_households += r.households;
        for (t, c) in total_values.iter_mut().zip(&r.cells) {
            t.0 += c.value.count;
            t.1 += c.value.denominator;
        }
    }
    let (total_cells, total_map) = cells(&request.indicators, &total_values);
    let total = TableRow {
        rank: None,
        area: request.within.clone(),
        parent_code: crate::domain::parent_code(&request.within.code).map(str::to_owned),
        households: total_households,
        values: total_map,
        cells: total_cells,
    };

    if let Some(key) = &request.sort {
        rank(&mut rows, key, request.ascending);
    }
    if let Some(limit) = request.limit {
        rows.truncate(limit);
    }
    Ok(Table {
        within: request.within.clone(),
        level: request.level,
        by_location: request.by_location,
        categories: request.categories.clone(),
        indicators: request.indicators.clone(),
        rows,
        total,
        unlocated,
    })
}

/// Sorts rows by a key, highest first unless `ascending`, no data last, ties in
/// code order, and numbers them.
fn rank(rows: &mut [TableRow], key: &SortKey, ascending: bool) {
    let value = |r: &TableRow| -> Option<f64> {
        match key {
            SortKey::Households => Some(r.households as f64),
            SortKey::Indicator { position, by_count } => {
                let v = r.cells[*position].value;
                if *by_count {
                    Some(v.count as f64)
                } else {
                    v.rate
                }
            }
        }
    };
    rows.sort_by(|a, b| {
        let ord = match (value(a), value(b)) {
            // No data ranks last either way.
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if ascending => x.total_cmp(&y),
            (Some(x), Some(y)) => y.total_cmp(&x),
        };
        ord.then_with(|| a.area.code.cmp(&b.area.code))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = Some(i + 1);
    }
}
