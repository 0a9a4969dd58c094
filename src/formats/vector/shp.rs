//! A Shapefile: its shapes (.shp, located through the .shx when there is one), its
//! attributes (.dbf), its coordinate system (.prj) and its code page (.cpg).
//!
//! The `shapefile` crate parses each shape, but only after the record has been
//! checked here: that it lies inside the file, and that the parts and points it
//! declares fit in its length. The crate reserves memory for the declared counts
//! before reading them, so an unchecked record claiming two billion points could
//! make it ask for 32 GB.

use std::io::Cursor;
use std::path::Path;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use shapefile::record::traits::HasXY;
use shapefile::{PolygonRing, ReadableShape, Shape};

use super::{Budget, CrsHint, Outcome, VectorError, VectorFeature, VectorLayer, dbf};

/// The length of the .shp and .shx headers.
const HEADER: usize = 100;

/// The files of one Shapefile, in memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct Files<'a> {
    pub shp: &'a [u8],
    pub shx: Option<&'a [u8]>,
    pub dbf: &'a [u8],
    pub prj: Option<&'a [u8]>,
    pub cpg: Option<&'a [u8]>,
}

/// Reads the Shapefile at `path`, with the files beside it.
pub(super) fn read_path(
    path: &Path,
    name: &str,
    budget: &mut Budget,
) -> Result<Outcome, VectorError> {
    let shp = super::read_file(path, name, budget)?;
    let mut sibling = |extension: &str| -> Result<Option<Vec<u8>>, VectorError> {
        // Windows tools write either case; a mixed one (`.Dbf`) is not looked for.
        for candidate in [extension.to_owned(), extension.to_ascii_uppercase()] {
            let sibling = path.with_extension(&candidate);
            if sibling.is_file() {
                let name = super::with_extension(name, &candidate);
                return super::read_file(&sibling, &name, budget).map(Some);
            }
        }
        Ok(None)
    };
    let shx = sibling("shx")?;
    let Some(dbf) = sibling("dbf")? else {
        return Err(VectorError::Missing {
            file: name.to_owned(),
            missing: super::with_extension(name, "dbf"),
        });
    };
    let prj = sibling("prj")?;
    let cpg = sibling("cpg")?;
    let files = Files {
        shp: &shp,
        shx: shx.as_deref(),
        dbf: &dbf,
        prj: prj.as_deref(),
        cpg: cpg.as_deref(),
    };
    read(name, files, budget)
}

/// Reads a Shapefile; `source` is its .shp's name, for the layer and for errors.
pub(super) fn read(
    source: &str,
    files: Files<'_>,
    budget: &mut Budget,
) -> Result<Outcome, VectorError> {
    let malformed = |reason: String| VectorError::Malformed {
        file: source.to_owned(),
        reason,
    };
    let length = check_header(files.shp).map_err(malformed)?;
    let shape_type = le_i32(files.shp, 32).unwrap_or(0);
    if !matches!(shape_type, 0 | 5 | 15 | 25) {
        return Ok(Outcome::NotPolygon {
            source: source.to_owned(),
            kind: shape_kind(shape_type).to_owned(),
        });
    }
    // The offsets only check the feature limit; the .dbf's records take from it.
    let offsets = match files.shx {
        Some(shx) => index_offsets(&super::with_extension(source, "shx"), shx, budget)?,
        None => walk_offsets(source, &files.shp[..length], budget)?,
    };
    let table = dbf::read(
        &super::with_extension(source, "dbf"),
        files.dbf,
        files.cpg,
        budget,
    )?;
    if offsets.len() != table.records.len() {
        return Err(VectorError::Mismatch {
            file: source.to_owned(),
            shapes: offsets.len(),
            records: table.records.len(),
        });
    }
    let mut features = Vec::with_capacity(offsets.len());
    for (index, (offset, record)) in offsets.into_iter().zip(table.records).enumerate() {
        let Some(values) = record else {
            continue;
        };
        let content = record_content(files.shp, offset, index + 1).map_err(malformed)?;
        let geometry = geometry(content, source, budget)?;
        features.push(VectorFeature {
            row: index + 1,
            values,
            geometry,
        });
    }
    let crs = files
        .prj
        .map(|prj| String::from_utf8_lossy(prj).trim().to_owned())
        .filter(|wkt| !wkt.is_empty())
        .map_or(CrsHint::None, CrsHint::Wkt);
    Ok(Outcome::Layer(VectorLayer {
        source: source.to_owned(),
        crs,
        encoding: table.encoding,
        fields: table.fields,
        features,
    }))
}

/// Checks the file code and that the file is as long as its header says; returns
/// that length, in bytes.
fn check_header(shp: &[u8]) -> Result<usize, String> {
    if shp.len() < HEADER {
        return Err(format!("shorter than its {HEADER}-byte header"));
    }
    if be_i32(shp, 0) != Some(9994) {
        return Err("not a Shapefile (wrong file code)".to_owned());
    }
    let declared = be_i32(shp, 24)
        .and_then(|words| usize::try_from(words).ok())
        .map_or(0, |words| words.saturating_mul(2));
    if declared < HEADER {
        return Err(format!("its header gives a length of {declared} bytes"));
    }
    if declared > shp.len() {
        return Err(format!(
            "truncated: the header says {declared} bytes, the file has {}",
            shp.len()
        ));
    }
    Ok(declared)
}

/// The records' offsets from the .shx: 8 bytes a record after its header.
fn index_offsets(file: &str, shx: &[u8], budget: &Budget) -> Result<Vec<usize>, VectorError> {
    let Some(entries) = shx.get(HEADER..) else {
        return Err(VectorError::Malformed {
            file: file.to_owned(),
            reason: format!("shorter than its {HEADER}-byte header"),
        });
    };
    budget.check_features(file, entries.len() / 8)?;
    entries
        .chunks_exact(8)
        .enumerate()
        .map(|(index, entry)| {
            be_i32(entry, 0)
                .and_then(|words| usize::try_from(words).ok())
                .map(|words| words * 2)
                .ok_or_else(|| VectorError::Malformed {
                    file: file.to_owned(),
                    reason: format!("record {} has a negative offset", index + 1),
                })
        })
        .collect()
}

/// The records' offsets without a .shx: each record's header gives its length, so the
/// records are walked one after the other.
fn walk_offsets(source: &str, shp: &[u8], budget: &Budget) -> Result<Vec<usize>, VectorError> {
    let mut offsets = Vec::new();
    let mut offset = HEADER;
    while offset + 8 <= shp.len() {
        budget.check_features(source, offsets.len() + 1)?;
        let content = record_content(shp, offset, offsets.len() + 1).map_err(|reason| {
            VectorError::Malformed {
                file: source.to_owned(),
                reason,
            }
        })?;
        offsets.push(offset);
        offset += 8 + content.len();
    }
    Ok(offsets)
}

/// The content of the record at `offset` (after its 8-byte header), checked to lie
/// inside the file.
fn record_content(shp: &[u8], offset: usize, number: usize) -> Result<&[u8], String> {
    let words = be_i32(shp, offset.saturating_add(4))
        .ok_or_else(|| format!("record {number} starts past the end of the file"))?;
    let length = usize::try_from(words)
        .map_err(|_| format!("record {number} has a negative length"))?
        .saturating_mul(2);
    let start = offset + 8;
    shp.get(start..start.saturating_add(length))
        .ok_or_else(|| format!("truncated: record {number} runs past the end of the file"))
}

/// The geometry of one record: a polygon, or why not. Only the vertex limit fails
/// the whole file; a bad record fails its own feature.
fn geometry(
    content: &[u8],
    source: &str,
    budget: &mut Budget,
) -> Result<Result<MultiPolygon<f64>, String>, VectorError> {
    let vertices = match declared_vertices(content) {
        Ok(vertices) => vertices,
        Err(reason) => return Ok(Err(reason)),
    };
    budget.take_vertices(source, vertices)?;
    let Ok(length) = i32::try_from(content.len()) else {
        return Ok(Err("a record longer than 2 GB".to_owned()));
    };
    Ok(match Shape::read_from(&mut Cursor::new(content), length) {
        Ok(shape) => shape_polygons(shape),
        Err(error) => Err(format!("an unreadable shape: {error}")),
    })
}

/// The points a record declares, checked against its length, as are its parts'
/// starts, so that parsing it allocates no more than the record holds.
fn declared_vertices(content: &[u8]) -> Result<usize, String> {
    let count = |at: usize| -> Result<usize, String> {
        let value = le_i32(content, at).ok_or("a record too short for its shape type")?;
        usize::try_from(value).map_err(|_| "a negative count of parts or points".to_owned())
    };
    let fits = |needed: usize| -> Result<(), String> {
        if needed > content.len() {
            return Err(format!(
                "a shape that needs {needed} bytes in a record of {}",
                content.len()
            ));
        }
        Ok(())
    };
    let shape_type = le_i32(content, 0).ok_or("an empty record")?;
    match shape_type {
        0 => Ok(0),
        1 | 11 | 21 => Ok(1),
        8 | 18 | 28 => {
            let points = count(36)?;
            fits(points.saturating_mul(16).saturating_add(40))?;
            Ok(points)
        }
        3 | 5 | 13 | 15 | 23 | 25 | 31 => {
            let parts = count(36)?;
            let points = count(40)?;
            // A multipatch stores a type for each part after the parts' starts.
            let per_part = if shape_type == 31 { 8 } else { 4 };
            fits(
                parts
                    .saturating_mul(per_part)
                    .saturating_add(points.saturating_mul(16))
                    .saturating_add(44),
            )?;
            let mut previous = 0;
            for part in 0..parts {
                let start = count(44 + 4 * part)?;
                if start < previous || start > points {
                    return Err(format!("part {} starts at point {start}", part + 1));
                }
                previous = start;
            }
            Ok(points)
        }
        other => Err(format!("an unknown shape type {other}")),
    }
}

/// A shape as polygons, or why not.
fn shape_polygons(shape: Shape) -> Result<MultiPolygon<f64>, String> {
    match shape {
        Shape::NullShape => Err("no geometry".to_owned()),
        Shape::Polygon(polygon) => rings_to_polygons(polygon.rings()),
        Shape::PolygonM(polygon) => rings_to_polygons(polygon.rings()),
        Shape::PolygonZ(polygon) => rings_to_polygons(polygon.rings()),
        other => Err(format!(
            "a {}, not a polygon",
            shape_kind(other.shapetype() as i32)
        )),
    }
}

/// Groups a Shapefile polygon's rings: each outer (clockwise) ring starts a polygon,
/// and each inner ring is a hole of the outer ring before it, the order ESRI and
/// GDAL write. An inner ring before any outer ring stands as a polygon of its own
/// rather than being lost.
fn rings_to_polygons<P: HasXY>(rings: &[PolygonRing<P>]) -> Result<MultiPolygon<f64>, String> {
    let mut polygons: Vec<Polygon<f64>> = Vec::new();
    for ring in rings {
        let line: LineString<f64> = ring
            .points()
            .iter()
            .map(|point| Coord {
                x: point.x(),
                y: point.y(),
            })
            .collect();
        match (ring, polygons.last_mut()) {
            (PolygonRing::Inner(_), Some(outer)) => outer.interiors_push(line),
            _ => polygons.push(Polygon::new(line, Vec::new())),
        }
    }
    if polygons.is_empty() {
        return Err("empty geometry".to_owned());
    }
    Ok(MultiPolygon::new(polygons))
}

/// A Shapefile shape type as a word, for messages.
fn shape_kind(shape_type: i32) -> &'static str {
    match shape_type {
        0 => "null shape",
        1 | 11 | 21 => "point",
        3 | 13 | 23 => "polyline",
        5 | 15 | 25 => "polygon",
        8 | 18 | 28 => "multipoint",
        31 => "multipatch",
        _ => "unknown shape type",
    }
}

fn be_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes(word.try_into().ok()?))
}

fn le_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(word.try_into().ok()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A polygon record's content: type 5, a zero box, then the counts and the parts.
    fn polygon_record(parts: i32, points: i32, starts: &[i32], coordinates: usize) -> Vec<u8> {
        let mut content = 5i32.to_le_bytes().to_vec();
        content.extend_from_slice(&[0u8; 32]);
        content.extend_from_slice(&parts.to_le_bytes());
        content.extend_from_slice(&points.to_le_bytes());
        for start in starts {
            content.extend_from_slice(&start.to_le_bytes());
        }
        content.extend(std::iter::repeat_n(0u8, coordinates * 16));
        content
    }

    #[test]
    fn a_record_claiming_more_points_than_it_holds_is_refused_before_parsing() {
        let content = polygon_record(1, i32::MAX, &[0], 4);
        assert!(declared_vertices(&content).unwrap_err().contains("needs"));
        let content = polygon_record(i32::MAX, 4, &[0], 4);
        assert!(declared_vertices(&content).is_err());
        let content = polygon_record(1, -1, &[0], 4);
        assert!(
            declared_vertices(&content)
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn parts_must_start_in_order_inside_the_points() {
        let content = polygon_record(2, 8, &[0, 9], 8);
        assert_eq!(
            declared_vertices(&content).unwrap_err(),
            "part 2 starts at point 9"
        );
        let content = polygon_record(2, 8, &[4, 0], 8);
        assert!(declared_vertices(&content).is_err());
        let content = polygon_record(2, 8, &[0, 4], 8);
        assert_eq!(declared_vertices(&content), Ok(8));
    }

    #[test]
    fn a_null_shape_and_a_point_are_not_polygons() {
        assert_eq!(shape_polygons(Shape::NullShape).unwrap_err(), "no geometry");
        let point = Shape::Point(shapefile::Point::new(1.0, 2.0));
        assert_eq!(shape_polygons(point).unwrap_err(), "a point, not a polygon");
    }

    #[test]
    fn records_outside_the_file_are_reported_not_read() {
        let mut shp = vec![0u8; 108];
        shp[104..108].copy_from_slice(&100i32.to_be_bytes());
        assert!(
            record_content(&shp, 100, 1)
                .unwrap_err()
                .contains("truncated")
        );
        assert!(record_content(&shp, usize::MAX - 2, 1).is_err());
    }
}
