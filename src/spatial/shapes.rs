//! Shapes that users draw (polygons, boxes, circles): their area, and which villages
//! they touch and how much of each they cover.

use geo::{
    BooleanOps, BoundingRect, ChamberlainDuquetteArea, Destination, Haversine, Intersects,
    MultiPolygon, Point, Polygon,
};

use super::{AreaIndex, LonLat};

/// Most vertices a drawn shape may have.
pub const MAX_VERTICES: usize = 20_000;
/// Largest drawn shape, km² (Xinbin is about 4,300 km²).
pub const MAX_AREA_KM2: f64 = 10_000.0;
/// Largest circle radius, metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;

/// A polygon's vertices, holes included.
#[must_use]
pub fn vertex_count(polygon: &MultiPolygon<f64>) -> usize {
    polygon
        .0
        .iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

/// A drawn GeoJSON polygon, checked: its type, the vertex limit, WGS-84 coordinates,
/// validity (no self-intersection).
///
/// # Errors
/// What is wrong with it, in words for the field that held it.
pub fn drawn_polygon(
    value: serde_json::Value,
    max_vertices: usize,
) -> Result<MultiPolygon<f64>, String> {
    // A whole Feature is accepted too: clients often send what they drew as one.
    let value = match value.get("type").and_then(|t| t.as_str()) {
        Some("Feature") => value.get("geometry").cloned().unwrap_or_default(),
        _ => value,
    };
    let geometry: geojson::Geometry =
        serde_json::from_value(value).map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    let polygon: MultiPolygon<f64> = match geometry.value {
        geojson::GeometryValue::Polygon { .. } => geo::Polygon::try_from(geometry.value)
            .map(|p| MultiPolygon::new(vec![p]))
            .map_err(|e| e.to_string())?,
        geojson::GeometryValue::MultiPolygon { .. } => {
            MultiPolygon::try_from(geometry.value).map_err(|e| e.to_string())?
        }
        _ => {
            return Err("must be a Polygon or MultiPolygon".to_owned());
        }
    };
    let vertices = vertex_count(&polygon);
    if vertices > max_vertices {
        return Err(format!(
            "has {vertices} vertices; the limit is {max_vertices}"
        ));
    }
    for c in polygon.0.iter().flat_map(|p| {
        p.exterior()
            .0
            .iter()
            .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
    }) {
        let wgs84 = c.x.is_finite()
            && c.y.is_finite()
            && (-180.0..=180.0).contains(&c.x)
            && (-90.0..=90.0).contains(&c.y);
        if !wgs84 {
            return Err(format!(
                "[{}, {}] is not a WGS-84 longitude and latitude",
                c.x, c.y
            ));
        }
    }
    if let Err(e) = geo::Validation::check_validation(&polygon) {
        return Err(format!("is not a valid polygon: {e}"));
    }
    Ok(polygon)
}

/// The area of a shape on the sphere.
///
/// # Units
/// Degrees in, km² out.
#[must_use]
pub fn area_km2(shape: &MultiPolygon<f64>) -> f64 {
    shape.chamberlain_duquette_unsigned_area() / 1e6
}

/// A circle as a polygon of `segments` vertices on the sphere.
///
/// # Units
/// Degrees (WGS-84) and metres.
#[must_use]
pub fn circle(centre: LonLat, radius_m: f64, segments: usize) -> Polygon<f64> {
    let c = Point::new(centre.lon, centre.lat);
    let ring: Vec<geo::Coord<f64>> = (0..segments)
        .map(|i| {
            let bearing = 360.0 * i as f64 / segments as f64;
            Haversine.destination(c, bearing, radius_m).0
        })
        .collect();
    Polygon::new(geo::LineString::from(ring), vec![])
}

/// A village the shape touches: its index in the [`AreaIndex`] and the share of its
/// area inside the shape (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Touched {
    /// Index of the village in the [`AreaIndex`].
    pub village: u32,
    /// Share of the village's area inside the shape.
    pub share: f64,
}

/// The villages whose boundary the shape intersects, in index order, with the share
/// of each inside the shape.
///
/// # Algorithm
/// A bounding-box test, then an exact intersection test and a polygon clip for the
/// villages that pass: O(V + Σ E log E) over the candidate villages' edges.
#[must_use]
pub fn touched(villages: &AreaIndex, shape: &MultiPolygon<f64>) -> Vec<Touched> {
    let Some(bounds) = shape.bounding_rect() else {
        return Vec::new();
    };
    villages
        .areas()
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.geometry
                .bounding_rect()
                .is_some_and(|b| b.intersects(&bounds))
                && a.geometry.intersects(shape)
        })
        .map(|(i, a)| {
            let whole = a.geometry.chamberlain_duquette_unsigned_area();
            let inside = a
                .geometry
                .intersection(shape)
                .chamberlain_duquette_unsigned_area();
            Touched {
                village: i as u32,
                share: if whole > 0.0 {
                    (inside / whole).clamp(0.0, 1.0)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::IndexedArea;
    use geo::{Rect, coord};

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![
            Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 }).to_polygon(),
        ])
    }

    #[test]
    fn a_box_over_half_a_village_touches_it_with_half_its_area() {
        let index = AreaIndex::new(vec![
            IndexedArea {
                code: "210422100201".into(),
                township_code: "210422100".into(),
                geometry: square(125.0, 41.5, 125.1, 41.6),
            },
            IndexedArea {
                code: "210422100202".into(),
                township_code: "210422100".into(),
                geometry: square(125.1, 41.5, 125.2, 41.6),
            },
            IndexedArea {
                code: "210422100203".into(),
                township_code: "210422100".into(),
                geometry: square(126.0, 41.5, 126.1, 41.6),
            },
        ]);
        let t = touched(&index, &square(125.05, 41.4, 125.1, 41.7));
        // The box's east edge runs along the second village's west edge: touching.
        assert_eq!(t.len(), 2);
        assert_eq!(index.area(t[0].village).unwrap().code, "210422100201");
        assert!((t[0].share - 0.5).abs() < 1e-3, "{}", t[0].share);
        assert!(t[1].share < 1e-9);
    }

    #[test]
    fn a_circle_has_the_area_of_a_circle() {
        let c = circle(LonLat::new(125.0, 41.7), 1000.0, 128);
        let km2 = area_km2(&MultiPolygon::new(vec![c]));
        assert!((km2 - std::f64::consts::PI).abs() < 0.01, "{km2}");
    }
}
