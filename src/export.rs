//! File formats shared by the API and the CLI: GeoJSON features of areas and CSV
//! that Excel and WPS open correctly (UTF-8 with a byte-order mark).

use std::io::Write;

use geo::MapCoords;

use crate::store::AreaRecord;

/// The UTF-8 byte-order mark: without it Excel reads Chinese CSV as GBK and garbles it.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// RFC 7946 allows any precision; 7 decimals is about 1 cm, more is noise and bytes.
///
/// # Units
/// Degrees.
#[must_use]
pub fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// An area as a GeoJSON Feature: `id` is the code, properties are code, name, level
/// (and its Chinese name), parent code, poverty-village flag, households and km².
#[must_use]
pub fn area_feature(record: &AreaRecord) -> geojson::Feature {
    let s = &record.summary;
    let geometry = record
        .geometry
        .map_coords(|c| geo::coord! { x: round7(c.x), y: round7(c.y) });
    let mut properties = geojson::JsonObject::new();
    properties.insert("code".into(), s.code.clone().into());
    properties.insert("name".into(), s.name.clone().into());
    properties.insert("level".into(), s.level.code().into());
    properties.insert("level_name".into(), s.level.label_zh().into());
    properties.insert("parent_code".into(), s.parent_code.clone().into());
    properties.insert("poverty_village".into(), s.poverty_village.into());
    properties.insert("households".into(), s.households.into());
    properties.insert(
        "area_km2".into(),
        ((s.area_km2 * 1000.0).round() / 1000.0).into(),
    );
    geojson::Feature {
        bbox: None,
        geometry: Some(geojson::Geometry::new(geojson::GeometryValue::from(
            &geometry,
        ))),
        id: Some(geojson::feature::Id::String(s.code.clone())),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// A CSV writer that has already written the byte-order mark.
///
/// # Errors
/// The I/O error of writing the mark.
pub fn csv_writer<W: Write>(mut out: W) -> std::io::Result<csv::Writer<W>> {
    out.write_all(UTF8_BOM)?;
    Ok(csv::Writer::from_writer(out))
}
