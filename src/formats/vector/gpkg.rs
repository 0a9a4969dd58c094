//! A `GeoPackage`: an `SQLite` database whose `gpkg_contents` lists the feature tables
//! and `gpkg_geometry_columns` their geometry column, each geometry a short
//! `GeoPackage` header followed by WKB. The database is opened from memory
//! (`sqlite3_deserialize`), read-only, so an upload never touches the disk.
//!
//! Only tables are read. A feature "table" that is a view is left out, since a view
//! from an untrusted file can run any query (a recursive one never ends); and of a
//! table's columns only the stored ones are (`pragma_table_info` lists no generated
//! column), so that reading a row computes nothing.

use std::fmt::Write as _;

use geo::MultiPolygon;
use geo_traits::to_geo::ToGeoGeometry;
use geo_traits::{GeometryTrait, GeometryType, LineStringTrait, MultiPolygonTrait, PolygonTrait};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use super::{Budget, CrsHint, Outcome, VectorError, VectorFeature, VectorLayer};

/// The first bytes of every `SQLite` database.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Reads every feature table of a `GeoPackage`; `source` names the file.
pub(super) fn read(
    source: &str,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Vec<Outcome>, VectorError> {
    let connection = open(source, bytes)?;
    let sqlite = |error: rusqlite::Error| VectorError::GeoPackage {
        file: source.to_owned(),
        reason: error.to_string(),
    };
    let tables = feature_tables(&connection).map_err(sqlite)?;
    let mut outcomes = Vec::with_capacity(tables.len());
    for table in &tables {
        outcomes.push(read_table(&connection, source, table, budget)?);
    }
    Ok(outcomes)
}

/// Opens the bytes as a read-only in-memory database.
fn open(source: &str, bytes: &[u8]) -> Result<Connection, VectorError> {
    let sqlite = |error: rusqlite::Error| VectorError::GeoPackage {
        file: source.to_owned(),
        reason: error.to_string(),
    };
    if bytes.len() < 100 || !bytes.starts_with(SQLITE_MAGIC) {
        return Err(VectorError::Malformed {
            file: source.to_owned(),
            reason: "not an SQLite database".to_owned(),
        });
    }
    // `sqlite3_deserialize` takes its size as a C int.
    if i32::try_from(bytes.len()).is_err() {
        return Err(VectorError::Bytes {
            file: source.to_owned(),
            limit: i32::MAX as u64,
        });
    }
    // Bytes 18 and 19 are 2 in a database saved in WAL mode, which a deserialized
    // database cannot use: SQLite would read it as empty. 1 is the rollback journal.
    let mut header = [0u8; 100];
    header.copy_from_slice(&bytes[..100]);
    for version in &mut header[18..20] {
        if *version == 2 {
            *version = 1;
        }
    }
    let mut connection = Connection::open_in_memory().map_err(sqlite)?;
    connection
        .deserialize_read_exact(
            rusqlite::MAIN_DB,
            std::io::Read::chain(&header[..], &bytes[100..]),
            bytes.len(),
            true,
        )
        .map_err(sqlite)?;
    Ok(connection)
}

/// A feature table and its geometry column.
#[derive(Debug)]
struct FeatureTable {
    name: String,
    column: String,
    /// The declared geometry type (`POLYGON`, `MULTIPOLYGON`, `GEOMETRY`, `POINT` …).
    kind: String,
    srs_id: i64,
    /// What `sqlite_master` says it is: `table`, `view`, or nothing if it is missing.
    object: Option<String>,
}

fn feature_tables(connection: &Connection) -> rusqlite::Result<Vec<FeatureTable>> {
    let mut statement = connection.prepare(
        "SELECT c.table_name, g.column_name, g.geometry_type_name, g.srs_id, m.type
         FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
         LEFT JOIN sqlite_master m ON m.name = c.table_name
         WHERE c.data_type = 'features' ORDER BY c.rowid",
    )?;
    statement
        .query_map([], |row| {
            Ok(FeatureTable {
                name: row.get(0)?,
                column: row.get(1)?,
                kind: row.get(2)?,
                srs_id: row.get(3)?,
                object: row.get(4)?,
            })
        })?
        .collect()
}

/// Whether a declared geometry type may hold polygons.
fn is_polygonal(kind: &str) -> bool {
    matches!(
        kind.to_ascii_uppercase().as_str(),
        "POLYGON"
            | "MULTIPOLYGON"
            | "CURVEPOLYGON"
            | "MULTISURFACE"
            | "SURFACE"
            | "GEOMETRY"
            | "GEOMETRYCOLLECTION"
    )
}

/// The columns of a table besides its geometry and its integer primary key (the
/// feature id, which GDAL does not show as a field either); and that key, to order by.
fn attribute_columns(
    connection: &Connection,
    table: &FeatureTable,
) -> rusqlite::Result<(Vec<String>, Option<String>)> {
    let mut statement =
        connection.prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = statement
        .query_map([&table.name], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let keys = columns.iter().filter(|(_, _, pk)| *pk > 0).count();
    let mut fields = Vec::new();
    let mut feature_id = None;
    for (name, kind, pk) in columns {
        if name.eq_ignore_ascii_case(&table.column) {
            continue;
        }
        if keys == 1 && pk > 0 && kind.eq_ignore_ascii_case("INTEGER") {
            feature_id = Some(name);
        } else {
            fields.push(name);
        }
    }
    Ok((fields, feature_id))
}

/// The coordinate system of an `srs_id`.
fn crs_hint(connection: &Connection, srs_id: i64) -> rusqlite::Result<CrsHint> {
    let row = connection
        .query_row(
            "SELECT organization, organization_coordsys_id, definition
             FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((organization, code, definition)) = row else {
        return Ok(CrsHint::None);
    };
    let epsg = organization
        .filter(|organization| organization.eq_ignore_ascii_case("EPSG"))
        .and(code)
        .and_then(|code| u32::try_from(code).ok())
        .filter(|&code| code > 0);
    Ok(match (epsg, definition) {
        (Some(code), _) => CrsHint::Epsg(code),
        (None, Some(definition))
            if !definition.trim().is_empty() && definition.trim() != "undefined" =>
        {
            CrsHint::Wkt(definition)
        }
        (None, _) => CrsHint::None,
    })
}

/// An identifier quoted for SQL: table and column names come from the file.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Reads one feature table, or says why it is left out.
fn read_table(
    connection: &Connection,
    gpkg: &str,
    table: &FeatureTable,
    budget: &mut Budget,
) -> Result<Outcome, VectorError> {
    let source = format!("{gpkg}!{}", table.name);
    if !is_polygonal(&table.kind) {
        return Ok(Outcome::NotPolygon {
            source,
            kind: table.kind.clone(),
        });
    }
    if table.object.as_deref() != Some("table") {
        return Ok(Outcome::NotPolygon {
            source,
            kind: format!(
                "{}, not a table",
                table.object.as_deref().unwrap_or("missing")
            ),
        });
    }
    let sqlite = |error: rusqlite::Error| VectorError::GeoPackage {
        file: source.clone(),
        reason: error.to_string(),
    };
    let crs = crs_hint(connection, table.srs_id).map_err(sqlite)?;
    let (fields, feature_id) = attribute_columns(connection, table).map_err(sqlite)?;
    budget.check_fields(&source, fields.len())?;
    let count: i64 = connection
        .query_row(
            &format!("SELECT count(*) FROM {}", quote(&table.name)),
            [],
            |row| row.get(0),
        )
        .map_err(sqlite)?;
    let count = usize::try_from(count).unwrap_or(0);
    budget.take_features(&source, count)?;
    let columns: Vec<String> = std::iter::once(&table.column)
        .chain(&fields)
        .map(|column| quote(column))
        .collect();
    let order = feature_id.map_or_else(String::new, |id| format!(" ORDER BY {}", quote(&id)));
    // A corrupt database may yield more rows than it counted: the LIMIT keeps them to
    // the features taken from the budget.
    let sql = format!(
        "SELECT {} FROM {}{order} LIMIT {count}",
        columns.join(", "),
        quote(&table.name)
    );
    let mut statement = connection.prepare(&sql).map_err(sqlite)?;
    let mut rows = statement.query([]).map_err(sqlite)?;
    let mut features = Vec::with_capacity(count);
    while let Some(row) = rows.next().map_err(sqlite)? {
        let geometry = match row.get_ref(0).map_err(sqlite)? {
            ValueRef::Null => Err("no geometry".to_owned()),
            ValueRef::Blob(blob) => geometry(blob, &source, budget)?,
            _ => Err("not a GeoPackage geometry".to_owned()),
        };
        let values = (1..=fields.len())
            .map(|index| row.get_ref(index).map(value_text))
            .collect::<rusqlite::Result<_>>()
            .map_err(sqlite)?;
        features.push(VectorFeature {
            row: features.len() + 1,
            values,
            geometry,
        });
    }
    Ok(Outcome::Layer(VectorLayer {
        source,
        crs,
        encoding: "UTF-8".to_owned(),
        fields,
        features,
    }))
}

/// A column's value as text; a blob as hexadecimal.
fn value_text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(integer) => Some(integer.to_string()),
        ValueRef::Real(real) => Some(super::float_text(real)),
        ValueRef::Text(text) => Some(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(blob) => Some(blob.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })),
    }
}

/// A geometry blob as polygons, or why not; only the vertex limit fails the file.
fn geometry(
    blob: &[u8],
    source: &str,
    budget: &mut Budget,
) -> Result<Result<MultiPolygon<f64>, String>, VectorError> {
    let wkb = match wkb_of(blob).and_then(|wkb| polygonal_wkb(wkb).map(|()| wkb)) {
        Ok(wkb) => wkb,
        Err(reason) => return Ok(Err(reason)),
    };
    let parsed = match wkb::reader::read_wkb(wkb) {
        Ok(parsed) => parsed,
        Err(error) => return Ok(Err(format!("unreadable WKB: {error}"))),
    };
    budget.take_vertices(source, vertex_count(&parsed))?;
    let polygons = match parsed.to_geometry() {
        geo::Geometry::Polygon(polygon) => MultiPolygon::new(vec![polygon]),
        geo::Geometry::MultiPolygon(polygons) => polygons,
        _ => return Ok(Err("not a polygon".to_owned())),
    };
    if polygons
        .0
        .iter()
        .all(|polygon| polygon.exterior().0.is_empty())
    {
        return Ok(Err("empty geometry".to_owned()));
    }
    Ok(Ok(polygons))
}

/// The WKB after a `GeoPackage` geometry header: `GP`, a version, flags (bit 0 the
/// byte order, bits 1–3 the envelope's kind, bit 4 empty, bit 5 extended), an
/// `srs_id` and the envelope (`GeoPackage` 1.3 §2.1.3).
pub(super) fn wkb_of(blob: &[u8]) -> Result<&[u8], String> {
    if blob.len() < 8 || !blob.starts_with(b"GP") {
        return Err("not a GeoPackage geometry".to_owned());
    }
    let flags = blob[3];
    if flags & 0x20 != 0 {
        return Err("an extended GeoPackage geometry".to_owned());
    }
    let envelope = match (flags >> 1) & 0x07 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        other => return Err(format!("an invalid envelope kind {other}")),
    };
    if flags & 0x10 != 0 {
        return Err("empty geometry".to_owned());
    }
    blob.get(8 + envelope..)
        .filter(|wkb| !wkb.is_empty())
        .ok_or_else(|| "a truncated geometry".to_owned())
}

/// Checks from its first bytes that WKB holds a polygon or multipolygon, before it is
/// parsed: other types are refused by name, and a deeply nested collection is never
/// parsed (its recursion could overflow the stack).
pub(super) fn polygonal_wkb(wkb: &[u8]) -> Result<(), String> {
    let code = match (wkb.first(), wkb.get(1..5)) {
        (Some(0), Some(word)) => u32::from_be_bytes([word[0], word[1], word[2], word[3]]),
        (Some(1), Some(word)) => u32::from_le_bytes([word[0], word[1], word[2], word[3]]),
        _ => return Err("unreadable WKB".to_owned()),
    };
    // ISO WKB adds 1000, 2000, 3000 for Z, M, ZM; EWKB sets the top bits instead.
    let name = match (code & 0x0FFF_FFFF) % 1000 {
        3 | 6 => return Ok(()),
        1 => "Point",
        2 => "LineString",
        4 => "MultiPoint",
        5 => "MultiLineString",
        7 => "GeometryCollection",
        8 => "CircularString",
        9 => "CompoundCurve",
        10 => "CurvePolygon",
        11 => "MultiCurve",
        12 => "MultiSurface",
        15 => "PolyhedralSurface",
        16 => "TIN",
        17 => "Triangle",
        _ => return Err(format!("an unknown WKB geometry type {code}")),
    };
    Err(format!("a {name}, not a polygon"))
}

/// The vertices of a parsed polygon or multipolygon, counted without copying them.
fn vertex_count(geometry: &impl GeometryTrait<T = f64>) -> usize {
    fn rings(polygon: &impl PolygonTrait<T = f64>) -> usize {
        polygon.exterior().map_or(0, |ring| ring.num_coords())
            + polygon
                .interiors()
                .map(|ring| ring.num_coords())
                .sum::<usize>()
    }
    match geometry.as_type() {
        GeometryType::Polygon(polygon) => rings(polygon),
        GeometryType::MultiPolygon(polygons) => {
            polygons.polygons().map(|polygon| rings(&polygon)).sum()
        }
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// WKB of a little-endian polygon with one ring of `points` points.
    fn polygon_wkb(points: u32, coordinates: usize) -> Vec<u8> {
        let mut wkb = vec![1];
        wkb.extend_from_slice(&3u32.to_le_bytes());
        wkb.extend_from_slice(&1u32.to_le_bytes());
        wkb.extend_from_slice(&points.to_le_bytes());
        wkb.extend(std::iter::repeat_n(0u8, coordinates * 16));
        wkb
    }

    fn blob(flags: u8, envelope: usize, wkb: &[u8]) -> Vec<u8> {
        let mut blob = vec![b'G', b'P', 0, flags];
        blob.extend_from_slice(&4326i32.to_le_bytes());
        blob.extend(std::iter::repeat_n(0u8, envelope));
        blob.extend_from_slice(wkb);
        blob
    }

    #[test]
    fn the_header_gives_the_wkb_after_the_envelope() {
        let wkb = polygon_wkb(4, 4);
        for (flags, envelope) in [(0x01, 0), (0x03, 32), (0x05, 48), (0x07, 48), (0x09, 64)] {
            assert_eq!(wkb_of(&blob(flags, envelope, &wkb)).unwrap(), &wkb[..]);
        }
        assert_eq!(wkb_of(&blob(0x11, 0, &wkb)).unwrap_err(), "empty geometry");
        assert!(wkb_of(&blob(0x0B, 0, &wkb)).is_err());
        assert!(wkb_of(&blob(0x09, 10, &[])).is_err());
        assert!(wkb_of(b"GP").is_err());
        assert!(wkb_of(&wkb).is_err());
    }

    #[test]
    fn only_polygons_are_parsed() {
        assert_eq!(polygonal_wkb(&polygon_wkb(4, 4)), Ok(()));
        let mut multi_z = vec![0];
        multi_z.extend_from_slice(&1006u32.to_be_bytes());
        assert_eq!(polygonal_wkb(&multi_z), Ok(()));
        let mut line = vec![1];
        line.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            polygonal_wkb(&line).unwrap_err(),
            "a LineString, not a polygon"
        );
        assert!(polygonal_wkb(&[7]).is_err());
    }

    #[test]
    fn a_ring_claiming_more_points_than_the_blob_holds_is_an_error_not_an_allocation() {
        let mut budget = Budget::new(&super::super::VectorLimits::IMPORT);
        let hostile = blob(0x01, 0, &polygon_wkb(u32::MAX, 2));
        let result = geometry(&hostile, "x.gpkg!t", &mut budget).unwrap();
        assert!(result.unwrap_err().contains("WKB"));
        let square = blob(0x01, 0, &polygon_wkb(4, 4));
        assert!(geometry(&square, "x.gpkg!t", &mut budget).unwrap().is_ok());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("村界"), "\"村界\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
