//! GeoJSON of areas (RFC 7946): an area's boundary as a Feature with its code, name
//! and figures as properties, or the point where a map writes its name.

use geo::MapCoords;

use super::round7;
use crate::domain::AreaRecord;

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

/// The same Feature with a Point where the area's name belongs: the interior point
/// of its largest part, which a map labels once instead of once per tile.
#[must_use]
pub fn area_label_feature(record: &AreaRecord) -> geojson::Feature {
    use geo::{Area, InteriorPoint};
    let mut feature = area_feature(record);
    let largest = record
        .geometry
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()));
    feature.geometry = largest.and_then(InteriorPoint::interior_point).map(|p| {
        geojson::Geometry::new(geojson::GeometryValue::new_point([
            round7(p.x()),
            round7(p.y()),
        ]))
    });
    feature
}
