//! Assistance measures (帮扶措施) per household and year: which measure, from which
//! department, with the amount where one is given (`household_measures`, issue 17).
//!
//! Rows come from three places: the national export's measure columns (a household
//! import writes them for its income year, `source = 'export'`), a department's measures
//! file (a measures import, `source` the file's name) and the demo. An import replaces
//! the stored rows of the same household, year and measure, keeping them under its id
//! (`household_measures_history.replaced_by`) so that an undo puts them back.

use duckdb::{Connection, params};
use serde::Serialize;

use super::{QueryContext, StoreError};
use crate::domain::AidMeasure;

/// One measure a household received in a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureRow {
    /// The household (户编号).
    pub household_no: String,
    /// The year the measure was given in.
    pub year: i32,
    /// The measure.
    pub measure: AidMeasure,
    /// The responsible department (责任部门), as the file wrote it or the kind's default.
    pub department: String,
    /// The amount in yuan, where given.
    pub amount: Option<f64>,
    /// `export`, `demo`, or the department file's name.
    pub source: String,
}

/// Appends rows to `table` (`household_measures` or a stage of its shape), written by
/// the import `import_id` (`None`: the demo).
///
/// # Errors
/// [`StoreError::Query`] if DuckDB refuses a row or the flush.
pub(crate) fn append(
    c: &Connection,
    table: &str,
    rows: &[MeasureRow],
    import_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut app = c.appender(table).context("open the measures appender")?;
    for r in rows {
        app.append_row(params![
            r.household_no,
            i16::try_from(r.year).unwrap_or(i16::MAX),
            r.measure.code(),
            r.department,
            r.amount,
            r.source,
            import_id,
        ])
        .context("append a measure")?;
    }
    app.flush().context("flush the measures")
}

/// Stages rows in the temporary table `measures_stage`.
fn stage(c: &Connection, id: &str, rows: &[MeasureRow]) -> Result<(), StoreError> {
    c.execute_batch(
        "CREATE OR REPLACE TEMP TABLE measures_stage AS SELECT * FROM household_measures LIMIT 0",
    )
    .context("stage the measures")?;
    append(c, "measures_stage", rows, Some(id))
}

/// Writes a department file's rows under the import `id`: each replaces the stored rows
/// of its household, year and measure (kept under `id`). Returns the rows replaced.
/// Call inside the import's transaction.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(crate) fn replace_keys(
    c: &Connection,
    id: &str,
    rows: &[MeasureRow],
) -> Result<usize, StoreError> {
    stage(c, id, rows)?;
    let same_key = "EXISTS (SELECT 1 FROM measures_stage s
                     WHERE s.household_no = m.household_no AND s.year = m.year
                       AND s.measure = m.measure)";
    let kept = c
        .execute(
            &format!(
                "INSERT INTO household_measures_history
                 SELECT ?, m.* FROM household_measures m WHERE {same_key}"
            ),
            [id],
        )
        .context("keep the replaced measures")?;
    c.execute_batch(&format!(
        "DELETE FROM household_measures m WHERE {same_key};
         INSERT INTO household_measures SELECT * FROM measures_stage;
         DROP TABLE measures_stage;"
    ))
    .context("write the measures")?;
    Ok(kept)
}

/// Writes the measures of a household import's export for `year` under the import
/// `id`: the export's rows of that year are replaced (kept under `id`); a measure a
/// department file already records for the household and year is not written twice.
/// Call inside the import's transaction.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(crate) fn replace_export(
    c: &Connection,
    id: &str,
    year: i32,
    rows: &[MeasureRow],
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO household_measures_history
         SELECT ?, * FROM household_measures WHERE source = 'export' AND year = ?",
        params![id, year],
    )
    .context("keep the export's measures")?;
    c.execute(
        "DELETE FROM household_measures WHERE source = 'export' AND year = ?",
        [year],
    )
    .context("replace the export's measures")?;
    stage(c, id, rows)?;
    c.execute_batch(
        "INSERT INTO household_measures SELECT s.* FROM measures_stage s
         WHERE NOT EXISTS (SELECT 1 FROM household_measures m
                           WHERE m.household_no = s.household_no AND m.year = s.year
                             AND m.measure = s.measure);
         DROP TABLE measures_stage;",
    )
    .context("write the export's measures")?;
    Ok(())
}

/// Takes back what the import `id` wrote and puts back what it replaced. Call inside
/// the undo's transaction.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(crate) fn restore(c: &Connection, id: &str) -> Result<usize, StoreError> {
    c.execute("DELETE FROM household_measures WHERE import_id = ?", [id])
        .context("remove the imported measures")?;
    c.execute(
        "INSERT INTO household_measures
         SELECT * EXCLUDE (replaced_by) FROM household_measures_history WHERE replaced_by = ?",
        [id],
    )
    .context("restore the replaced measures")
}

/// The year the measure indicators judge: the stored income year (the year a
/// household export's incomes and measures are of), else the latest year any measure
/// is recorded for; `None` when neither is known.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn current_year(conn: &Connection) -> Result<Option<i32>, StoreError> {
    if let Some(year) = super::meta(conn, "income_year")?.and_then(|y| y.parse().ok()) {
        return Ok(Some(year));
    }
    conn.query_row(
        "SELECT max(year)::INTEGER FROM household_measures",
        [],
        |r| r.get(0),
    )
    .context("read the latest measure year")
}

/// The listed households' measures, each household's latest year first and each
/// year's in [`AidMeasure::ALL`] order; households without any are not in the map.
///
/// # Errors
/// [`StoreError::Query`] when the store fails, [`StoreError::Invalid`] for a stored
/// measure code paicha does not know.
pub fn of_households(
    conn: &Connection,
    household_nos: &[&str],
) -> Result<std::collections::HashMap<String, Vec<MeasureRow>>, StoreError> {
    let mut out: std::collections::HashMap<String, Vec<MeasureRow>> =
        std::collections::HashMap::new();
    if household_nos.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT household_no, year, measure, department, amount, source
             FROM household_measures
             WHERE household_no IN (SELECT unnest(string_split(?, ',')))",
        )
        .context("prepare the households' measures")?;
    let rows = stmt
        .query_map([household_nos.join(",")], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .context("read the household's measures")?;
    for row in rows {
        let (household_no, year, code, department, amount, source) =
            row.context("read a measure")?;
        let measure = AidMeasure::from_code(&code)
            .ok_or_else(|| StoreError::Invalid(format!("unknown measure code {code:?}")))?;
        out.entry(household_no.clone())
            .or_default()
            .push(MeasureRow {
                household_no,
                year,
                measure,
                department,
                amount,
                source,
            });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| {
            b.year
                .cmp(&a.year)
                .then(a.measure.cmp(&b.measure))
                .then(a.department.cmp(&b.department))
        });
    }
    Ok(out)
}

/// How [`coverage`] groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageBy {
    /// One row per township (by the households' registered township).
    Township,
    /// One row per village.
    Village,
}

/// One area's households, for the denominators of the coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaHouseholds {
    /// The township or village code.
    pub code: String,
    /// Households registered in it.
    pub households: i64,
    /// Of them, those the policy reaches: 脱贫户, 未脱贫户 and 监测对象.
    pub policy_households: i64,
    /// Of them, those with any measure in the year.
    pub with_measures: i64,
}

/// One area's measures from one department in the year.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentCoverage {
    /// The township or village code.
    pub code: String,
    /// The department.
    pub department: String,
    /// Households with at least one measure from it.
    pub households: i64,
    /// Measures recorded (one per household and kind).
    pub measures: i64,
    /// The amounts given, in yuan; `None` when no row gives one.
    pub amount: Option<f64>,
}

/// Measure coverage by area and department in `year`, over the households registered
/// within `within` (a county, township or village code): every area's households, and
/// per area and department the households reached, the measures and their amounts.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn coverage(
    conn: &Connection,
    within: &str,
    year: i32,
    by: CoverageBy,
) -> Result<(Vec<AreaHouseholds>, Vec<DepartmentCoverage>), StoreError> {
    let key = match by {
        CoverageBy::Township => "h.township_code",
        CoverageBy::Village => "h.village_code",
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {key}, count(*)::BIGINT,
                    count_if(h.category IN ('lifted', 'poor', 'monitored_unstable',
                                            'monitored_marginal', 'monitored_sudden'))::BIGINT,
                    count_if(y.household_no IS NOT NULL)::BIGINT
             FROM households h
             LEFT JOIN (SELECT DISTINCT household_no FROM household_measures WHERE year = ?) y
                    ON y.household_no = h.household_no
             WHERE starts_with(h.village_code, ?)
             GROUP BY 1 ORDER BY 1"
        ))
        .context("prepare the coverage's households")?;
    let areas = stmt
        .query_map(params![year, within], |r| {
            Ok(AreaHouseholds {
                code: r.get(0)?,
                households: r.get(1)?,
                policy_households: r.get(2)?,
                with_measures: r.get(3)?,
            })
        })
        .context("count the coverage's households")?
        .collect::<Result<Vec<_>, _>>()
        .context("read the coverage's households")?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {key}, m.department, count(DISTINCT m.household_no)::BIGINT,
                    count(*)::BIGINT, sum(m.amount)
             FROM household_measures m JOIN households h ON h.household_no = m.household_no
             WHERE m.year = ? AND starts_with(h.village_code, ?)
             GROUP BY 1, 2 ORDER BY 1, 2"
        ))
        .context("prepare the coverage")?;
    let rows = stmt
        .query_map(params![year, within], |r| {
            Ok(DepartmentCoverage {
                code: r.get(0)?,
                department: r.get(1)?,
                households: r.get(2)?,
                measures: r.get(3)?,
                amount: r.get(4)?,
            })
        })
        .context("run the coverage")?
        .collect::<Result<Vec<_>, _>>()
        .context("read the coverage")?;
    Ok((areas, rows))
}

/// The years for which any measure is recorded, latest first.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn years(conn: &Connection) -> Result<Vec<i32>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT year::INTEGER FROM household_measures ORDER BY 1 DESC")
        .context("prepare the measure years")?;
    stmt.query_map([], |r| r.get(0))
        .context("read the measure years")?
        .collect::<Result<Vec<_>, _>>()
        .context("read the measure years")
}
