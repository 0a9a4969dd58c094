//! Committed imports: each one writes a new data version in one transaction, keeps what
//! it replaced, and can be undone (the replaced rows come back as a newer version).

use std::collections::HashMap;

use duckdb::{Connection, OptionalExt, params};
use geo::{BoundingRect, InteriorPoint, MultiPolygon, unary_union};
use serde::Serialize;

use super::{QueryContext, StoreError, in_transaction};
use crate::domain::{AreaLevel, BoundarySource};
use crate::spatial;

/// A committed import as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    /// Its id, e.g. `i-20261202-171502-boundaries`.
    pub id: String,
    /// What it imported: `boundaries` or `divisions`.
    pub kind: String,
    /// The file it came from (its name only).
    pub source: String,
    /// When it was committed, UTC `YYYY-MM-DDTHH:MM:SSZ`.
    pub committed_at: String,
    /// The data version it wrote.
    pub data_version: i64,
    /// The data version it replaced.
    pub previous_version: i64,
    /// When it was undone, if it was.
    pub undone_at: Option<String>,
}

/// A new boundary for an existing area, WGS-84 lon/lat degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBoundary {
    /// The area's code.
    pub code: String,
    /// Its boundary.
    pub geometry: MultiPolygon<f64>,
}

/// A feature an import applied, with every attribute as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptFeature {
    /// The area it was matched to.
    pub code: String,
    /// The file (inside a zip: `a.zip!/dir/x.shp`).
    pub file: String,
    /// The feature's number in the file, from 1.
    pub row: usize,
    /// Its attributes: field and value as text, in the file's order.
    pub attributes: Vec<(String, Option<String>)>,
}

/// A data version later than `previous` and than any before: milliseconds since 1970,
/// as the demo build writes, or one more than `previous` if the clock is behind.
fn next_version(previous: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    now.max(previous + 1)
}

fn set_version(conn: &Connection, version: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO meta VALUES ('data_version', ?)",
        [version.to_string()],
    )
    .context("record the data version")?;
    Ok(())
}

/// Replaces the boundaries of existing areas in one transaction, keeping each area's
/// previous row under `id`, and records the import with its report. Returns the new
/// data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an unknown area, an empty geometry or an id already
/// used (nothing is written then); [`StoreError::Query`] when the store fails.
pub fn commit_boundaries(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    (rows, kept): (&[NewBoundary], &[KeptFeature]),
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = begin(c, id)?;
        for row in rows {
            if !keep_boundary(c, id, &row.code)? {
                return Err(StoreError::Invalid(format!("no area {}", row.code)));
            }
            write_boundary(c, &row.code, Some(&row.geometry), BoundarySource::File)?;
        }
        derive_outlines(c, id)?;
        finish(
            c,
            (id, "boundaries", source, committed_at),
            report_json,
            previous,
            kept,
        )
    })
}

/// Refuses an id already used; returns the data version in force.
pub(super) fn begin(c: &Connection, id: &str) -> Result<i64, StoreError> {
    let taken: i64 = c
        .query_row("SELECT count(*) FROM imports WHERE id = ?", [id], |r| {
            r.get(0)
        })
        .context("look for the import")?;
    if taken > 0 {
        return Err(StoreError::Invalid(format!(
            "an import with id {id:?} exists"
        )));
    }
    super::data_version(c)
}

/// Keeps an area's boundary as it is under the import `id`; `false` for no such area.
fn keep_boundary(c: &Connection, id: &str, code: &str) -> Result<bool, StoreError> {
    let saved = c
        .execute(
            "INSERT INTO area_boundary_history
             SELECT ?, code, geom, min_lon, min_lat, max_lon, max_lat, area_km2,
                    label_lon, label_lat, boundary_source
             FROM areas WHERE code = ?",
            params![id, code],
        )
        .context("keep the previous boundary")?;
    Ok(saved > 0)
}

/// Keeps the features' attributes, records the import and writes its data version.
pub(super) fn finish(
    c: &Connection,
    (id, kind, source, committed_at): (&str, &str, &str, &str),
    report_json: &str,
    previous: i64,
    kept: &[KeptFeature],
) -> Result<i64, StoreError> {
    {
        let mut appender = c
            .appender("import_feature_attributes")
            .context("open the attributes appender")?;
        for f in kept {
            appender
                .append_row(params![
                    id,
                    f.code,
                    f.file,
                    u32::try_from(f.row).unwrap_or(u32::MAX),
                    // Pairs rather than an object, so that the fields keep the file's order.
                    serde_json::to_string(&f.attributes).unwrap_or_default()
                ])
                .context("keep a feature's attributes")?;
        }
        appender.flush().context("keep the features' attributes")?;
    }
    let version = next_version(previous);
    c.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        params![
            id,
            kind,
            source,
            committed_at,
            version,
            previous,
            report_json
        ],
    )
    .context("record the import")?;
    set_version(c, version)?;
    Ok(version)
}

/// A division as a divisions import writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDivision {
    /// Its code (2, 4, 6, 9 or 12 digits).
    pub code: String,
    /// Its official name.
    pub name: String,
    /// Its level.
    pub level: AreaLevel,
    /// Its parent's code.
    pub parent_code: Option<String>,
}

/// Adds new divisions (without a boundary) and renames or re-levels existing ones in
/// one transaction, keeping each one's previous row under `id`; then redraws the
/// outlines that are the union of their children's. Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used (nothing is written then);
/// [`StoreError::Query`] when the store fails.
pub fn commit_divisions(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    (rows, kept): (&[NewDivision], &[KeptFeature]),
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = begin(c, id)?;
        for row in rows {
            let before: Option<(String, String, Option<String>)> = c
                .query_row(
                    "SELECT name, level, parent_code FROM areas WHERE code = ?",
                    [&row.code],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .context("read the division")?;
            let (name, level, parent) = match &before {
                Some((name, level, parent)) => (Some(name), Some(level), parent.as_ref()),
                None => (None, None, None),
            };
            c.execute(
                "INSERT INTO area_division_history VALUES (?, ?, ?, ?, ?, ?)",
                params![id, row.code, before.is_some(), name, level, parent],
            )
            .context("keep the previous division")?;
            let sql = if before.is_some() {
                "UPDATE areas SET name = ?2, level = ?3, parent_code = ?4 WHERE code = ?1"
            } else {
                "INSERT INTO areas (code, name, level, parent_code, poverty_village)
                 VALUES (?1, ?2, ?3, ?4, false)"
            };
            c.execute(
                sql,
                params![row.code, row.name, row.level.code(), row.parent_code],
            )
            .context("write the division")?;
        }
        derive_outlines(c, id)?;
        finish(
            c,
            (id, "divisions", source, committed_at),
            report_json,
            previous,
            kept,
        )
    })
}

/// Redraws every outline that is not drawn from a file (a township, county, city or
/// province imported without a boundary) as the union of its children's, bottom up,
/// keeping the previous ones under the import `id`. Unchanged outlines are not
/// rewritten. Returns how many changed.
fn derive_outlines(c: &Connection, id: &str) -> Result<usize, StoreError> {
    let records = super::areas::records(c, &super::areas::AreaFilter::default())?;
    let mut outlines: HashMap<String, MultiPolygon<f64>> = records
        .iter()
        .map(|r| (r.summary.code.clone(), r.geometry.clone()))
        .collect();
    let mut changed = 0;
    for level in [
        AreaLevel::Township,
        AreaLevel::County,
        AreaLevel::City,
        AreaLevel::Province,
    ] {
        for area in records.iter().filter(|r| {
            r.summary.level == level && r.summary.boundary != Some(BoundarySource::File)
        }) {
            let code = &area.summary.code;
            let union = unary_union(
                records
                    .iter()
                    .filter(|child| child.summary.parent_code.as_ref() == Some(code))
                    .filter_map(|child| outlines.get(&child.summary.code))
                    .flat_map(|m| m.0.iter()),
            );
            let same = area.summary.boundary.is_some() != union.0.is_empty()
                && spatial::to_wkb(&area.geometry) == spatial::to_wkb(&union);
            if !same {
                keep_boundary(c, id, code)?;
                let drawn = (!union.0.is_empty()).then_some(&union);
                write_boundary(c, code, drawn, BoundarySource::Union)?;
                changed += 1;
            }
            outlines.insert(code.clone(), union);
        }
    }
    Ok(changed)
}

/// Writes an area's boundary (`None`: it has none) with its box, area and label point.
fn write_boundary(
    conn: &Connection,
    code: &str,
    geometry: Option<&MultiPolygon<f64>>,
    source: BoundarySource,
) -> Result<(), StoreError> {
    let Some(geometry) = geometry else {
        conn.execute(
            "UPDATE areas SET geom = NULL, min_lon = NULL, min_lat = NULL, max_lon = NULL,
                              max_lat = NULL, area_km2 = NULL, label_lon = NULL,
                              label_lat = NULL, boundary_source = NULL
             WHERE code = ?",
            [code],
        )
        .context("clear the boundary")?;
        return Ok(());
    };
    let bbox = geometry
        .bounding_rect()
        .ok_or_else(|| StoreError::Invalid(format!("area {code} would have an empty boundary")))?;
    let label = geometry
        .interior_point()
        .unwrap_or_else(|| bbox.center().into());
    conn.execute(
        "UPDATE areas SET geom = ?, min_lon = ?, min_lat = ?, max_lon = ?, max_lat = ?,
                          area_km2 = ?, label_lon = ?, label_lat = ?, boundary_source = ?
         WHERE code = ?",
        params![
            spatial::to_wkb(geometry),
            bbox.min().x,
            bbox.min().y,
            bbox.max().x,
            bbox.max().y,
            spatial::area_km2(geometry),
            label.x(),
            label.y(),
            source.code(),
            code
        ],
    )
    .context("write the boundary")?;
    Ok(())
}

/// The meta keys a household import sets, and an undo puts back.
const HOUSEHOLD_META: [&str; 3] = ["data_date", "source", "income_year"];

/// Replaces every household and member in one transaction with `households`, keeping
/// the previous rows (and the meta values it changes: `data_date`, `source`,
/// `income_year`) under `id`, and records the import with its report and the rows'
/// kept columns. Households are stored in Hilbert order of their position (or their
/// village's label point). The export's measures (`measures`: their year and rows)
/// replace the export's measures of that year ([`super::measures::replace_export`]).
/// Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used, an unknown village or a household
/// without members (nothing is written then); [`StoreError::Query`] when the store
/// fails.
pub fn commit_households(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    (households, kept): (&[crate::domain::Household], &[KeptFeature]),
    meta: &[(&str, String)],
    measures: (i32, &[super::measures::MeasureRow]),
) -> Result<i64, StoreError> {
    let villages = village_points(conn)?;
    in_transaction(conn, |c| {
        let previous = begin(c, id)?;
        keep_households(c, id)?;
        for key in HOUSEHOLD_META {
            c.execute(
                "INSERT INTO import_meta_history
                 SELECT ?, ?, (SELECT value FROM meta WHERE key = ?)",
                params![id, key, key],
            )
            .context("keep the previous meta values")?;
        }
        c.execute_batch(
            "DELETE FROM households; DELETE FROM members;
             CREATE TEMP TABLE households_stage AS SELECT * FROM households LIMIT 0;",
        )
        .context("clear the households")?;
        {
            let mut sink =
                super::builder::HouseholdSink::open(c, "households_stage", "members", &villages)?;
            for h in households {
                sink.push(h)?;
            }
            sink.flush()?;
        }
        c.execute_batch(
            "INSERT INTO households SELECT * FROM households_stage ORDER BY hilbert, household_no;
             DROP TABLE households_stage;",
        )
        .context("sort households into Hilbert order")?;
        super::measures::replace_export(c, id, measures.0, measures.1)?;
        for (key, value) in meta {
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                params![key, value],
            )
            .context("record the data date")?;
        }
        finish(
            c,
            (id, "households", source, committed_at),
            report_json,
            previous,
            kept,
        )
    })
}

/// Writes a department's measures file (issue 17) in one transaction: each row replaces
/// the stored measures of its household, year and kind, which are kept under `id`,
/// and the import is recorded with its report. Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used; [`StoreError::Query`] when the
/// store fails. Nothing is written then.
pub fn commit_measures(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    rows: &[super::measures::MeasureRow],
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = begin(c, id)?;
        let replaced = super::measures::replace_keys(c, id, rows)?;
        tracing::info!(
            import = id,
            written = rows.len(),
            replaced,
            "measures written"
        );
        finish(
            c,
            (id, "measures", source, committed_at),
            report_json,
            previous,
            &[],
        )
    })
}

/// Keeps every household and member as they are under the import `id`.
fn keep_households(c: &Connection, id: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO households_history SELECT ?, * FROM households",
        [id],
    )
    .context("keep the previous households")?;
    c.execute("INSERT INTO members_history SELECT ?, * FROM members", [id])
        .context("keep the previous members")?;
    Ok(())
}

/// Sets the recorded position of the listed households in one transaction (the
/// position as recorded, in its declared system, and converted to WGS-84), keeping
/// every household as it was under `id` so that an undo puts the old positions back,
/// and stores the households again in Hilbert order. Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used; [`StoreError::Query`] when the store
/// fails. Nothing is written then.
pub fn commit_gps(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    positions: &[(String, crate::domain::GpsPoint)],
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = begin(c, id)?;
        keep_households(c, id)?;
        c.execute_batch(
            "CREATE TEMP TABLE gps_stage (household_no VARCHAR, gps_lon DOUBLE, gps_lat DOUBLE,
                 gps_crs VARCHAR, lon DOUBLE, lat DOUBLE, hilbert UBIGINT)",
        )
        .context("stage the positions")?;
        {
            let mut app = c.appender("gps_stage").context("stage the positions")?;
            for (household_no, gps) in positions {
                let wgs84 = spatial::crs::convert(
                    spatial::LonLat::new(gps.lon, gps.lat),
                    gps.crs,
                    crate::domain::Crs::Wgs84,
                );
                app.append_row(params![
                    household_no,
                    gps.lon,
                    gps.lat,
                    gps.crs.code(),
                    spatial::round7(wgs84.lon),
                    spatial::round7(wgs84.lat),
                    spatial::hilbert_key(wgs84),
                ])
                .context("stage a position")?;
            }
            app.flush().context("stage the positions")?;
        }
        c.execute_batch(
            "UPDATE households SET gps_lon = s.gps_lon, gps_lat = s.gps_lat, gps_crs = s.gps_crs,
                    lon = s.lon, lat = s.lat, hilbert = s.hilbert
             FROM gps_stage s WHERE households.household_no = s.household_no;
             CREATE TEMP TABLE households_sorted AS
                 SELECT * FROM households ORDER BY hilbert, household_no;
             DELETE FROM households;
             INSERT INTO households SELECT * FROM households_sorted;
             DROP TABLE households_sorted;
             DROP TABLE gps_stage;",
        )
        .context("write the positions")?;
        finish(
            c,
            (id, "gps", source, committed_at),
            report_json,
            previous,
            &[],
        )
    })
}

/// Each village's township and the point that orders households without a position:
/// its label point, or (0, 0) for a village without a boundary yet.
fn village_points(
    conn: &Connection,
) -> Result<HashMap<String, (String, spatial::LonLat)>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT code, coalesce(parent_code, ''), coalesce(label_lon, 0), coalesce(label_lat, 0)
             FROM areas WHERE level IN ('village', 'community')",
        )
        .context("read the villages")?;
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get::<_, String>(1)?,
                    spatial::LonLat::new(r.get(2)?, r.get(3)?),
                ),
            ))
        })
        .context("read the villages")?;
    rows.collect::<Result<HashMap<_, _>, _>>()
        .context("read the villages")
}

/// Puts back the households, members and meta values a household import replaced.
fn restore_households(c: &Connection, id: &str) -> Result<usize, StoreError> {
    c.execute_batch("DELETE FROM households; DELETE FROM members;")
        .context("remove the imported households")?;
    let restored = c
        .execute(
            "INSERT INTO households SELECT * EXCLUDE (import_id) FROM households_history
             WHERE import_id = ? ORDER BY hilbert, household_no",
            [id],
        )
        .context("restore the previous households")?;
    c.execute(
        "INSERT INTO members SELECT * EXCLUDE (import_id) FROM members_history WHERE import_id = ?",
        [id],
    )
    .context("restore the previous members")?;
    c.execute(
        "DELETE FROM meta WHERE key IN (SELECT key FROM import_meta_history WHERE import_id = ?)",
        [id],
    )
    .context("restore the previous meta values")?;
    c.execute(
        "INSERT INTO meta SELECT key, value FROM import_meta_history
         WHERE import_id = ? AND value IS NOT NULL",
        [id],
    )
    .context("restore the previous meta values")?;
    Ok(restored)
}

/// Every committed import, newest first (by the data version it wrote: two commits in
/// one second keep their order).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn list(conn: &Connection) -> Result<Vec<ImportRecord>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT id, kind, source, committed_at, data_version, previous_version, undone_at
             FROM imports ORDER BY data_version DESC",
        )
        .context("list imports")?;
    let rows = statement
        .query_map([], |r| {
            Ok(ImportRecord {
                id: r.get(0)?,
                kind: r.get(1)?,
                source: r.get(2)?,
                committed_at: r.get(3)?,
                data_version: r.get(4)?,
                previous_version: r.get(5)?,
                undone_at: r.get(6)?,
            })
        })
        .context("list imports")?;
    rows.collect::<Result<Vec<_>, _>>().context("read imports")
}

/// An import's report as stored (JSON), or `None` for an unknown id.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn report(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    conn.query_row("SELECT report FROM imports WHERE id = ?", [id], |r| {
        r.get(0)
    })
    .optional()
    .context("read the import's report")
}

/// Puts back the boundaries an import replaced, as a new data version, and marks it
/// undone. Only the latest import not yet undone can be undone, so that an undo never
/// brings back boundaries a later import has replaced. Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an unknown id, one already undone, or one with a later
/// import after it; [`StoreError::Query`] when the store fails.
pub fn undo(conn: &Connection, id: &str, undone_at: &str) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let latest = list(c)?.into_iter().find(|i| i.undone_at.is_none());
        let Some(latest) = latest else {
            return Err(StoreError::Invalid(format!(
                "import {id:?} is not one that can be undone: no import is in force"
            )));
        };
        if latest.id != id {
            return Err(StoreError::Invalid(format!(
                "import {id:?} cannot be undone: {:?} came after it (undo that first) or it is not in force",
                latest.id
            )));
        }
        if latest.kind == "roll" {
            let restored = super::rolls::restore_roll(c, id)?;
            tracing::info!(import = id, restored, "roll import undone");
        }
        if latest.kind == "village_form" {
            let restored = super::exits::restore_form(c, id)?;
            tracing::info!(import = id, restored, "village form import undone");
        }
        if matches!(latest.kind.as_str(), "households" | "gps") {
            let restored = restore_households(c, id)?;
            tracing::info!(import = id, restored, "household import undone");
        }
        if matches!(latest.kind.as_str(), "households" | "measures") {
            let restored = super::measures::restore(c, id)?;
            tracing::info!(import = id, restored, "measures put back");
        }
        let restored = c
            .execute(
                "UPDATE areas SET geom = h.geom, min_lon = h.min_lon, min_lat = h.min_lat,
                        max_lon = h.max_lon, max_lat = h.max_lat, area_km2 = h.area_km2,
                        label_lon = h.label_lon, label_lat = h.label_lat,
                        boundary_source = h.boundary_source
                 FROM area_boundary_history h
                 WHERE h.import_id = ? AND areas.code = h.code",
                [id],
            )
            .context("restore the previous boundaries")?;
        let renamed = c
            .execute(
                "UPDATE areas SET name = h.name, level = h.level, parent_code = h.parent_code
                 FROM area_division_history h
                 WHERE h.import_id = ? AND h.existed AND areas.code = h.code",
                [id],
            )
            .context("restore the previous divisions")?;
        let removed = c
            .execute(
                "DELETE FROM areas WHERE code IN (
                     SELECT code FROM area_division_history WHERE import_id = ? AND NOT existed)",
                [id],
            )
            .context("remove the divisions the import added")?;
        tracing::info!(import = id, restored, renamed, removed, "import undone");
        c.execute(
            "UPDATE imports SET undone_at = ? WHERE id = ?",
            params![undone_at, id],
        )
        .context("mark the import undone")?;
        let version = next_version(super::data_version(c)?);
        set_version(c, version)?;
        Ok(version)
    })
}

/// The features an import applied, with their attributes as they came, in file and row
/// order; `None` for an unknown import.
///
/// # Errors
/// [`StoreError::Query`] when the store fails, [`StoreError::Invalid`] when a stored
/// row is not the list of pairs this module writes.
pub fn kept_features(conn: &Connection, id: &str) -> Result<Option<Vec<KeptFeature>>, StoreError> {
    if report(conn, id)?.is_none() {
        return Ok(None);
    }
    let mut statement = conn
        .prepare(
            "SELECT code, file, row, attributes FROM import_feature_attributes
             WHERE import_id = ? ORDER BY file, row",
        )
        .context("read the kept attributes")?;
    let rows = statement
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .context("read the kept attributes")?;
    let mut out = Vec::new();
    for row in rows {
        let (code, file, number, json) = row.context("read a kept feature")?;
        let attributes: Vec<(String, Option<String>)> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Invalid(format!("import {id}: stored attributes: {e}")))?;
        out.push(KeptFeature {
            code,
            file,
            row: number as usize,
            attributes,
        });
    }
    Ok(Some(out))
}
