//! Queries on administrative areas and their boundaries.

use duckdb::{Connection, OptionalExt, Row, params};

use super::{QueryContext, StoreError};
use crate::domain::{AreaLevel, AreaRecord, AreaSummary, BoundarySource};
use crate::spatial;

/// Which areas a list asks for. `Village` matches both villages and communities, the
/// two kinds of 12-digit unit that households are registered in.
#[derive(Debug, Clone, Default)]
pub struct AreaFilter {
    /// Only areas of this level.
    pub level: Option<AreaLevel>,
    /// Only the children of this area.
    pub parent: Option<String>,
}

// Counties, cities and provinces hold the households whose village code begins with
// theirs.
const AREA_SELECT: &str = "
    WITH counts AS (
        SELECT village_code AS code, count(*) AS n FROM households GROUP BY village_code
        UNION ALL
        SELECT township_code, count(*) FROM households GROUP BY township_code
        UNION ALL
        SELECT substr(village_code, 1, 6), count(*) FROM households GROUP BY 1
        UNION ALL
        SELECT substr(village_code, 1, 4), count(*) FROM households GROUP BY 1
        UNION ALL
        SELECT substr(village_code, 1, 2), count(*) FROM households GROUP BY 1
    )
    SELECT a.code, a.name, a.level, a.parent_code, a.poverty_village, coalesce(c.n, 0),
           coalesce(a.area_km2, 0), a.boundary_source, a.geom
    FROM areas a LEFT JOIN counts c ON c.code = a.code";

/// An area and its boundary's WKB, if it has one.
type AreaRow = (AreaSummary, Option<Vec<u8>>);

fn summary(row: &Row<'_>) -> duckdb::Result<AreaRow> {
    let level: String = row.get(2)?;
    let boundary: Option<String> = row.get(7)?;
    Ok((
        AreaSummary {
            code: row.get(0)?,
            name: row.get(1)?,
            // The schema only ever stores codes written from AreaLevel.
            level: AreaLevel::from_code(&level).unwrap_or(AreaLevel::Village),
            parent_code: row.get(3)?,
            poverty_village: row.get(4)?,
            households: row.get(5)?,
            area_km2: row.get(6)?,
            boundary: boundary.as_deref().and_then(BoundarySource::from_code),
        },
        row.get(8)?,
    ))
}

fn filtered(conn: &Connection, filter: &AreaFilter) -> Result<Vec<AreaRow>, StoreError> {
    let sql = format!(
        "{AREA_SELECT}
         WHERE ($1 IS NULL OR a.level = $1 OR ($1 = 'village' AND a.level = 'community'))
           AND ($2 IS NULL OR a.parent_code = $2)
         ORDER BY a.code"
    );
    let mut stmt = conn.prepare_cached(&sql).context("prepare area list")?;
    let rows = stmt
        .query_map(
            params![filter.level.map(AreaLevel::code), filter.parent],
            summary,
        )
        .context("list areas")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("read area rows")
}

/// Areas matching the filter, in code order, with household counts.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn list(conn: &Connection, filter: &AreaFilter) -> Result<Vec<AreaSummary>, StoreError> {
    Ok(filtered(conn, filter)?
        .into_iter()
        .map(|(s, _)| s)
        .collect())
}

/// Areas matching the filter with their boundaries.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Geometry`] for a bad WKB.
pub fn records(conn: &Connection, filter: &AreaFilter) -> Result<Vec<AreaRecord>, StoreError> {
    filtered(conn, filter)?
        .into_iter()
        .map(|(s, wkb)| decode(s, wkb.as_deref()))
        .collect()
}

/// One area with its boundary, or `None` for an unknown code.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Geometry`] for a bad WKB.
pub fn record(conn: &Connection, code: &str) -> Result<Option<AreaRecord>, StoreError> {
    let sql = format!("{AREA_SELECT} WHERE a.code = $1");
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row([code], summary).optional())
        .context("read area")?;
    row.map(|(s, wkb)| decode(s, wkb.as_deref())).transpose()
}

/// An area without a boundary (a division imported before its boundary) has an empty
/// one: it draws nothing and contains nothing.
fn decode(summary: AreaSummary, wkb: Option<&[u8]>) -> Result<AreaRecord, StoreError> {
    let Some(wkb) = wkb else {
        return Ok(AreaRecord {
            summary,
            geometry: geo::MultiPolygon::new(vec![]),
        });
    };
    let geometry = spatial::from_wkb(wkb).map_err(|reason| StoreError::Geometry {
        code: summary.code.clone(),
        reason,
    })?;
    Ok(AreaRecord { summary, geometry })
}
