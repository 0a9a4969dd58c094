//! The versions of the household registry (动态管理): each committed household or GPS
//! import wrote one, and the rows it replaced are kept under its id
//! (`households_history`, `members_history`), so every version but the current one is
//! read from the history of the import that followed it. Two versions compare by
//! households and persons added and removed, category changes, and every indicator's
//! figures per village, computed by the same rule as the live figures.

use std::collections::HashMap;

use duckdb::{Connection, params};
use serde::Serialize;

use super::indicators::{FactsFrom, MEASURES, facts_sql, sums_sql};
use super::{QueryContext, StoreError};
use crate::domain::MeasureId;

/// Where a version's households are read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// The live tables: the current version.
    Current,
    /// The rows the named import replaced: the version before it.
    Kept(String),
}

/// One version of the household registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// Its number: the data version the import that wrote it wrote (the first one, before
    /// any household import, has the data version that import replaced).
    pub version: i64,
    /// The import that wrote it (`None` for the first: the demo or the data before any
    /// household import).
    pub import_id: Option<String>,
    /// `households` or `gps`.
    pub kind: Option<String>,
    /// The files it came from.
    pub source: Option<String>,
    /// When it was committed, UTC.
    pub committed_at: Option<String>,
    /// The date its data describes (数据时间), when recorded.
    pub data_date: Option<String>,
    /// Whether it is the one being served.
    pub current: bool,
    /// Where its rows are read from.
    #[serde(skip)]
    pub state: Source,
}

/// A household import as `versions` reads it: id, kind, source, committed at, the
/// data version it wrote and the one it replaced, the data date it replaced.
type ImportRow = (String, String, String, String, i64, i64, Option<String>);

/// The chain of versions, oldest first; the last is the current one. Undone imports
/// are not in it (their rows were put back, and only the newest can be undone, so the
/// chain stays a line).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn versions(conn: &Connection) -> Result<Vec<Version>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT id, kind, source, committed_at, data_version, previous_version,
                    (SELECT value FROM import_meta_history h
                      WHERE h.import_id = i.id AND h.key = 'data_date')
             FROM imports i
             WHERE kind IN ('households', 'gps') AND undone_at IS NULL
             ORDER BY data_version",
        )
        .context("read the household versions")?;
    let imports: Vec<ImportRow> = statement
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .context("read the household versions")?
        .collect::<Result<_, _>>()
        .context("read the household versions")?;
    let current_date = super::meta(conn, "data_date")?;
    let first_version = match imports.first() {
        Some(first) => first.5,
        None => super::data_version(conn)?,
    };
    // A version's data date is the one the next household import replaced (a GPS
    // import keeps the date), or the current one.
    let date_after = |k: usize| -> Option<String> {
        imports[k..]
            .iter()
            .find(|i| i.1 == "households")
            .map_or_else(|| current_date.clone(), |i| i.6.clone())
    };
    let state_after = |k: usize| {
        imports
            .get(k)
            .map_or(Source::Current, |i| Source::Kept(i.0.clone()))
    };
    let mut out = vec![Version {
        version: first_version,
        import_id: None,
        kind: None,
        source: None,
        committed_at: None,
        data_date: date_after(0),
        current: imports.is_empty(),
        state: state_after(0),
    }];
    for (k, (id, kind, source, committed_at, version, ..)) in imports.iter().enumerate() {
        out.push(Version {
            version: *version,
            import_id: Some(id.clone()),
            kind: Some(kind.clone()),
            source: Some(source.clone()),
            committed_at: Some(committed_at.clone()),
            data_date: date_after(k + 1),
            current: k + 1 == imports.len(),
            state: state_after(k + 1),
        });
    }
    Ok(out)
}

/// The measures two versions compare by: every household and person measure but the
/// two that need the spatial layer's judgement of positions, the cross-checks of the
/// rolls and the two over the assistance measures (which a kept version does not have:
/// rolls and measures are not kept per household version).
#[must_use]
pub fn comparable() -> Vec<MeasureId> {
    MEASURES
        .iter()
        .filter(|m| !m.is_ledger() && !m.id.is_crosscheck())
        .map(|m| m.id)
        .filter(|id| {
            !matches!(
                id,
                MeasureId::GpsMissing
                    | MeasureId::GpsMismatch
                    | MeasureId::NoDevelopmentMeasure
                    | MeasureId::RiskWithoutMeasure
            )
        })
        .collect()
}

/// One village's figures in one version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VillageFigures {
    /// Households registered in it.
    pub households: i64,
    /// Persons of those households.
    pub persons: i64,
    /// Per measure of [`comparable`], in its order: (count, denominator).
    pub values: Vec<(i64, i64)>,
}

/// Every village's figures in one version, by its registered village, judged by the
/// poverty line `line` (the one in force now, for every version, so that a change is
/// a change of the households and not of the rule).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn figures(
    conn: &Connection,
    source: &Source,
    line: Option<f64>,
) -> Result<HashMap<String, VillageFigures>, StoreError> {
    let measures = comparable();
    let line_sql = line
        .filter(|l| l.is_finite())
        .map_or_else(|| "NULL::DOUBLE".to_owned(), |l| format!("{l:?}::DOUBLE"));
    let from = match source {
        Source::Current => FactsFrom::Live,
        Source::Kept(_) => FactsFrom::Kept,
    };
    let sql = format!(
        "SELECT village_code, count(*)::BIGINT, sum(persons)::BIGINT{}
         FROM ({}) GROUP BY village_code",
        sums_sql(&measures),
        facts_sql(&from, &line_sql)
    );
    let mut statement = conn.prepare(&sql).context("prepare version figures")?;
    let row = |r: &duckdb::Row<'_>| -> duckdb::Result<(String, VillageFigures)> {
        let mut values = Vec::with_capacity(measures.len());
        for j in 0..measures.len() {
            values.push((r.get(3 + 2 * j)?, r.get(4 + 2 * j)?));
        }
        Ok((
            r.get(0)?,
            VillageFigures {
                households: r.get(1)?,
                persons: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                values,
            },
        ))
    };
    let rows = match source {
        Source::Current => statement.query_map([], row),
        Source::Kept(id) => statement.query_map(params![id, id], row),
    }
    .context("read version figures")?;
    rows.collect::<Result<_, _>>()
        .context("read version figures")
}

/// How a household differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdChangeKind {
    /// In the later version only (新增).
    Added,
    /// In the earlier version only (减少).
    Removed,
    /// In both, of another category (类别变化).
    Category,
    /// In both, of the same category, with its risk state changed (风险消除 or back).
    Risk,
    /// In both, with members added or removed (人口变化).
    Members,
}

/// One household that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdChange {
    /// The household number (户编号).
    pub household_no: String,
    /// Its village (the later version's, or the earlier one's if removed).
    pub village_code: String,
    /// The head's name as stored; masked before it leaves the API.
    #[serde(skip)]
    pub head_name: String,
    /// What changed.
    pub change: HouseholdChangeKind,
    /// Its category in the earlier version.
    pub category_before: Option<String>,
    /// Its category in the later version.
    pub category_after: Option<String>,
    /// Its risk state (风险未消除/已消除) in the earlier version.
    pub risk_state_before: Option<String>,
    /// Its risk state in the later version.
    pub risk_state_after: Option<String>,
    /// Its members in the earlier version.
    pub members_before: Option<i64>,
    /// Its members in the later version.
    pub members_after: Option<i64>,
}

/// The households and members of a version, as a FROM item and its parameters.
fn rows_of(source: &Source, table: &str) -> (String, Option<String>) {
    match source {
        Source::Current => (table.to_owned(), None),
        Source::Kept(id) => (
            format!("(SELECT * EXCLUDE (import_id) FROM {table}_history WHERE import_id = ?)"),
            Some(id.clone()),
        ),
    }
}

/// Every household that differs between `from` and `to`, in village and
/// household-number order.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn household_changes(
    conn: &Connection,
    (from, to): (&Source, &Source),
) -> Result<Vec<HouseholdChange>, StoreError> {
    let (a, a_param) = rows_of(from, "households");
    let (b, b_param) = rows_of(to, "households");
    let (earlier_members, earlier_members_param) = rows_of(from, "members");
    let (later_members, later_members_param) = rows_of(to, "members");
    let sql = format!(
        "WITH ma AS (SELECT household_no, list_sort(list(id_number)) AS ids FROM {earlier_members}
                     GROUP BY household_no),
              mb AS (SELECT household_no, list_sort(list(id_number)) AS ids FROM {later_members}
                     GROUP BY household_no),
              a AS (SELECT h.household_no, village_code, head_name, category, risk_state,
                           len(ma.ids) AS members, ma.ids
                    FROM {a} h LEFT JOIN ma USING (household_no)),
              b AS (SELECT h.household_no, village_code, head_name, category, risk_state,
                           len(mb.ids) AS members, mb.ids
                    FROM {b} h LEFT JOIN mb USING (household_no))
         SELECT coalesce(b.household_no, a.household_no) AS no,
                coalesce(b.village_code, a.village_code) AS village,
                coalesce(b.head_name, a.head_name),
                CASE WHEN a.household_no IS NULL THEN 'added'
                     WHEN b.household_no IS NULL THEN 'removed'
                     WHEN a.category <> b.category THEN 'category'
                     WHEN a.risk_state IS DISTINCT FROM b.risk_state THEN 'risk'
                     ELSE 'members' END,
                a.category, b.category, a.risk_state, b.risk_state, a.members, b.members
         FROM a FULL OUTER JOIN b ON a.household_no = b.household_no
         WHERE (a.household_no IS NULL OR b.household_no IS NULL
                OR a.category <> b.category
                OR a.risk_state IS DISTINCT FROM b.risk_state
                OR a.ids IS DISTINCT FROM b.ids)
         ORDER BY village, no"
    );
    // Parameters in the order they appear: ma, mb, a, b.
    let bound: Vec<String> = [earlier_members_param, later_members_param, a_param, b_param]
        .into_iter()
        .flatten()
        .collect();
    let mut statement = conn.prepare(&sql).context("prepare household changes")?;
    let rows = statement
        .query_map(duckdb::params_from_iter(bound.iter()), |r| {
            let change = match r.get::<_, String>(3)?.as_str() {
                "added" => HouseholdChangeKind::Added,
                "removed" => HouseholdChangeKind::Removed,
                "category" => HouseholdChangeKind::Category,
                "risk" => HouseholdChangeKind::Risk,
                _ => HouseholdChangeKind::Members,
            };
            Ok(HouseholdChange {
                household_no: r.get(0)?,
                village_code: r.get(1)?,
                head_name: r.get(2)?,
                change,
                category_before: r.get(4)?,
                category_after: r.get(5)?,
                risk_state_before: r.get(6)?,
                risk_state_after: r.get(7)?,
                members_before: r.get(8)?,
                members_after: r.get(9)?,
            })
        })
        .context("read household changes")?;
    rows.collect::<Result<_, _>>()
        .context("read household changes")
}

/// Persons added to and removed from the registry between two versions (自然增加,
/// 自然减少), by ID number, counted in the village of their household (the later
/// version's for those added, the earlier one's for those removed): a person who moved
/// from one household to another is neither.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn person_changes(
    conn: &Connection,
    (from, to): (&Source, &Source),
) -> Result<HashMap<String, (i64, i64)>, StoreError> {
    let (a, a_param) = rows_of(from, "households");
    let (b, b_param) = rows_of(to, "households");
    let (earlier_members, earlier_members_param) = rows_of(from, "members");
    let (later_members, later_members_param) = rows_of(to, "members");
    let sql = format!(
        "WITH pa AS (SELECT m.id_number, h.village_code FROM {earlier_members} m
                     JOIN {a} h USING (household_no)),
              pb AS (SELECT m.id_number, h.village_code FROM {later_members} m
                     JOIN {b} h USING (household_no))
         SELECT village_code, sum(added)::BIGINT, sum(removed)::BIGINT FROM (
             SELECT village_code, 1 AS added, 0 AS removed FROM pb
              WHERE id_number NOT IN (SELECT id_number FROM pa)
             UNION ALL
             SELECT village_code, 0, 1 FROM pa
              WHERE id_number NOT IN (SELECT id_number FROM pb))
         GROUP BY village_code"
    );
    let bound: Vec<String> = [earlier_members_param, a_param, later_members_param, b_param]
        .into_iter()
        .flatten()
        .collect();
    let mut statement = conn.prepare(&sql).context("prepare person changes")?;
    let rows = statement
        .query_map(duckdb::params_from_iter(bound.iter()), |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
        })
        .context("count person changes")?;
    rows.collect::<Result<_, _>>()
        .context("count person changes")
}

/// What changed between two versions in the whole registry, computed once per pair and
/// read for any area: the households that changed, and per village the persons added
/// and removed.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// In village and household-number order.
    pub households: Vec<HouseholdChange>,
    /// Per village: persons added, removed.
    pub persons: HashMap<String, (i64, i64)>,
}

impl Diff {
    /// The households that changed in the villages whose code begins with `within`.
    pub fn households_in<'a>(
        &'a self,
        within: &'a str,
    ) -> impl Iterator<Item = &'a HouseholdChange> {
        self.households
            .iter()
            .filter(move |h| h.village_code.starts_with(within))
    }

    /// Persons added and removed in the villages whose code begins with `within`.
    #[must_use]
    pub fn persons_in(&self, within: &str) -> (i64, i64) {
        self.persons
            .iter()
            .filter(|(v, _)| v.starts_with(within))
            .fold((0, 0), |(a, r), (_, (x, y))| (a + x, r + y))
    }
}

/// The [`Diff`] of two versions.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn diff(conn: &Connection, states: (&Source, &Source)) -> Result<Diff, StoreError> {
    Ok(Diff {
        households: household_changes(conn, states)?,
        persons: person_changes(conn, states)?,
    })
}
