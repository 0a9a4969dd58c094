//! Queries on households, members and the demo's recorded flaws.

use std::collections::HashSet;
use std::sync::Arc;

use duckdb::Connection;
use duckdb::arrow::array::{Array, Float64Array, Int64Array, StringArray};
use duckdb::types::Value;

use super::{QueryContext, StoreError};

/// Which raw table an admin export dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HouseholdExport {
    /// One row per household, with the head's full ID number.
    Households,
    /// One row per member.
    Members,
    /// The deliberate flaws of the demo data.
    Flaws,
    /// One row per person with their household's fields and place names, as the
    /// national systems export them (`paicha export persons` lays them out).
    Persons,
}

impl HouseholdExport {
    fn sql(self) -> &'static str {
        match self {
            HouseholdExport::Households => {
                "SELECT h.household_no, h.village_code, h.township_code, h.head_name,
                        m.id_number AS head_id_number, h.category, h.risk_type, h.risk_state,
                        h.income_per_capita, h.house_grade, h.house_occupied, h.water_safe,
                        h.water_piped, h.food_secure, h.clothing_secure, h.member_count,
                        h.gps_lon, h.gps_lat, h.gps_crs, h.lon, h.lat,
                        round(i.position_lon, 7) AS position_lon,
                        round(i.position_lat, 7) AS position_lat, i.position_verdict,
                        h.other_risks, h.risk_elimination, h.identified_month,
                        h.eliminated_month, h.sanitary_toilet, h.relief, h.aid_measures
                 FROM households h
                 LEFT JOIN members m ON m.household_no = h.household_no AND m.seq = 1
                 LEFT JOIN household_indicators i ON i.household_no = h.household_no
                 ORDER BY h.household_no"
            }
            HouseholdExport::Members => "SELECT * FROM members ORDER BY household_no, seq",
            HouseholdExport::Flaws => "SELECT * FROM demo_flaws ORDER BY household_no, flaw",
            HouseholdExport::Persons => {
                "SELECT c.name AS county, t.name AS township, v.name AS village, h.village_code,
                        h.household_no, m.name, m.sex, m.id_number, m.age, m.relation,
                        h.member_count, h.category, h.risk_type, h.risk_state,
                        h.income_per_capita, h.house_grade, h.house_occupied, h.water_safe,
                        h.water_piped, h.food_secure, h.clothing_secure, m.schooling,
                        m.medical_insured, m.disability_grade, h.gps_lon, h.gps_lat, h.gps_crs,
                        h.other_risks, h.risk_elimination, h.identified_month,
                        h.eliminated_month, h.sanitary_toilet, h.relief, h.aid_measures,
                        m.disability_kind, m.education, m.health, m.labour_skill,
                        m.work_months, m.serious_illness_insured, m.subsistence,
                        m.extreme_poverty
                 FROM members m
                 JOIN households h ON h.household_no = m.household_no
                 LEFT JOIN areas v ON v.code = h.village_code
                 LEFT JOIN areas t ON t.code = v.parent_code
                 LEFT JOIN areas c ON c.code = t.parent_code
                 ORDER BY h.household_no, m.seq"
            }
        }
    }
}

/// The number of households stored.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn count(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("SELECT count(*) FROM households", [], |r| r.get(0))
        .context("count households")
}

/// Streams a raw table to `on_record`: first the column names, then every row as text
/// (`""` for NULL), in a stable order. Returns the number of rows.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, or the error `on_row` returns.
pub fn export<E>(
    conn: &Connection,
    which: HouseholdExport,
    mut on_record: impl FnMut(&[String]) -> Result<(), E>,
) -> Result<u64, ExportError<E>> {
    let sql = if which == HouseholdExport::Households && !super::indicators::is_current(conn)? {
        // Positions come from the derived table of this data version; without it the
        // columns are there, empty, rather than another version's.
        which.sql().replace(
            "LEFT JOIN household_indicators i ON i.household_no = h.household_no",
            "LEFT JOIN (SELECT NULL::VARCHAR AS household_no, NULL::DOUBLE AS position_lon,
                               NULL::DOUBLE AS position_lat, NULL::VARCHAR AS position_verdict) i
                    ON i.household_no = h.household_no",
        )
    } else {
        which.sql().to_owned()
    };
    let mut stmt = conn.prepare(&sql).context("prepare export")?;
    let mut rows = stmt.query([]).context("run export")?;
    let mut n = 0;
    let mut values = Vec::new();
    while let Some(row) = rows.next().context("read export row")? {
        let stmt = row.as_ref();
        if n == 0 {
            on_record(&stmt.column_names()).map_err(ExportError::Sink)?;
        }
        values.clear();
        for i in 0..stmt.column_count() {
            let v: Value = row.get(i).context("read export value")?;
            values.push(value_text(v));
        }
        on_record(&values).map_err(ExportError::Sink)?;
        n += 1;
    }
    if n == 0 {
        drop(rows);
        on_record(&stmt.column_names()).map_err(ExportError::Sink)?;
    }
    Ok(n)
}

/// An export failed in the database or in the consumer of its rows.
#[derive(Debug, thiserror::Error)]
pub enum ExportError<E> {
    /// The database side failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The consumer of the rows failed (e.g. writing the file).
    #[error("cannot write the export")]
    Sink(#[source] E),
}

fn value_text(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(i) => i.to_string(),
        Value::SmallInt(i) => i.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(i) => i.to_string(),
        Value::UTinyInt(i) => i.to_string(),
        Value::USmallInt(i) => i.to_string(),
        Value::UInt(i) => i.to_string(),
        Value::UBigInt(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Text(s) => s,
        other => format!("{other:?}"),
    }
}

/// A household's registered place and recorded position, for the spatial layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdLocation {
    /// Registered village, shared by the village's households: a copy each would
    /// cost 10 million households some 800 MB of the snapshot.
    pub village_code: Arc<str>,
    /// Registered township, shared likewise.
    pub township_code: Arc<str>,
    /// Recorded position, in its declared system.
    pub gps: Option<crate::domain::GpsPoint>,
}

/// Every household's location, in storage (Hilbert) order: `each(household number,
/// location)`, the number borrowed (10 million short-lived strings would leave the
/// allocator's memory fragmented for the life of the server).
///
/// # Errors
/// [`StoreError::Query`] if the query fails; [`StoreError::Invalid`] if the rows did
/// not come in storage order.
pub fn for_each_location(
    conn: &Connection,
    mut each: impl FnMut(&str, HouseholdLocation),
) -> Result<(), StoreError> {
    // No ORDER BY rowid: a scan comes in rowid order already, DuckDB keeping insertion
    // order (`preserve_insertion_order`, set in `offline_config`), and sorting 10
    // million rows again took 1.2 s of a 7-second start. The rowids are read to check
    // it, since every household's facts are matched to it by row.
    let mut stmt = conn
        .prepare(
            "SELECT household_no, village_code, township_code, gps_lon, gps_lat, gps_crs, rowid
             FROM households",
        )
        .context("prepare household locations")?;
    let mut last_rowid = i64::MIN;
    let mut codes: HashSet<Arc<str>> = HashSet::new();
    let mut code = |text: &str| -> Arc<str> {
        if let Some(code) = codes.get(text) {
            return code.clone();
        }
        let code: Arc<str> = Arc::from(text);
        codes.insert(code.clone());
        code
    };
    // Column by column, as Arrow arrays: 10 million rows read cell by cell through
    // `Row::get` took 5.7 s, column by column 4.3 s (the rest is DuckDB's own).
    for batch in stmt.query_arrow([]).context("read household locations")? {
        let text = |i| super::column::<StringArray>(&batch, i, "household locations", "text");
        let float = |i| super::column::<Float64Array>(&batch, i, "household locations", "a double");
        let (numbers, villages, townships) = (text(0)?, text(1)?, text(2)?);
        let (lons, lats, systems) = (float(3)?, float(4)?, text(5)?);
        let rowids = super::column::<Int64Array>(&batch, 6, "household locations", "a BIGINT")?;
        for row in 0..batch.num_rows() {
            let rowid = rowids.value(row);
            if rowid <= last_rowid {
                return Err(StoreError::Invalid(
                    "households were read out of storage order (DuckDB's insertion order)".into(),
                ));
            }
            last_rowid = rowid;
            let crs = systems
                .is_valid(row)
                .then(|| crate::domain::Crs::from_code(systems.value(row)))
                .flatten();
            let gps = match crs {
                Some(crs) if lons.is_valid(row) && lats.is_valid(row) => {
                    Some(crate::domain::GpsPoint {
                        lon: lons.value(row),
                        lat: lats.value(row),
                        crs,
                    })
                }
                _ => None,
            };
            let location = HouseholdLocation {
                village_code: code(villages.value(row)),
                township_code: code(townships.value(row)),
                gps,
            };
            each(numbers.value(row), location);
        }
    }
    Ok(())
}

/// Each registered village's household positions (WGS-84 as converted from the declared
/// system, before any offset correction), for checking new boundaries against them.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn positions_by_village(
    conn: &Connection,
) -> Result<std::collections::HashMap<String, Vec<(f64, f64)>>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT village_code, lon, lat FROM households
             WHERE lon IS NOT NULL AND lat IS NOT NULL",
        )
        .context("prepare household positions")?;
    let mut out: std::collections::HashMap<String, Vec<(f64, f64)>> =
        std::collections::HashMap::new();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))
        .context("read household positions")?;
    for row in rows {
        let (village, lon, lat) = row.context("read household position")?;
        out.entry(village).or_default().push((lon, lat));
    }
    Ok(out)
}

/// The head's name and ID number of each listed household (sensitive: callers mask them).
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn heads(
    conn: &Connection,
    household_nos: &[&str],
) -> Result<std::collections::HashMap<String, (String, String)>, StoreError> {
    if household_nos.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT household_no, name, id_number FROM members
             WHERE seq = 1 AND household_no IN (SELECT unnest(string_split(?, ',')))",
        )
        .context("prepare household heads")?;
    let rows = stmt
        .query_map([household_nos.join(",")], |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
        })
        .context("read household heads")?;
    rows.collect::<Result<_, _>>()
        .context("read household head rows")
}

/// Every household number, and each head's ID number with its household's number: what
/// a GPS table is matched by (sensitive: the IDs never leave the importer).
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn registered(
    conn: &Connection,
) -> Result<
    (
        std::collections::HashSet<String>,
        std::collections::HashMap<String, String>,
    ),
    StoreError,
> {
    let mut stmt = conn
        .prepare(
            "SELECT h.household_no, m.id_number FROM households h
             LEFT JOIN members m ON m.household_no = h.household_no AND m.seq = 1",
        )
        .context("prepare registered households")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .context("read registered households")?;
    let mut households = std::collections::HashSet::new();
    let mut heads = std::collections::HashMap::new();
    for row in rows {
        let (no, id) = row.context("read a registered household")?;
        if let Some(id) = id {
            heads.insert(id, no.clone());
        }
        households.insert(no);
    }
    Ok((households, heads))
}
