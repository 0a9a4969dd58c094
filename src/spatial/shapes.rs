//! Shapes that users draw (polygons, boxes, circles): checked once for every route
//! that takes one (drawn-area queries and plans), with their area, the households
//! inside and which villages they touch and how much of each they cover.
//!
//! One geodesic model for all of it, the WGS-84 ellipsoid: a circle holds the
//! households within its radius along the ellipsoid ([`super::geodesic_m`]); its
//! outline, for shares of villages and for its area, is the polygon of
//! [`CIRCLE_VERTICES`] points at that distance (whose area is within 0.002 % of the
//! circle's); every area is [`super::area_m2`].

use geo::{
    BooleanOps, BoundingRect, Destination, Geodesic, Intersects, MultiPolygon, Point, Polygon,
};

use super::{AreaIndex, LonLat, PointIndex, area_km2, area_m2};
use crate::domain::FieldViolation;

/// Vertices of a circle's outline: at a radius of [`MAX_RADIUS_M`] its chords stray at
/// most 0.5 m inside the circle.
pub const CIRCLE_VERTICES: usize = 720;

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
    unclosed_ring(&value)?;
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

/// Refuses a ring that RFC 7946 would: fewer than four positions, or a last position
/// that is not the first (a GeoJSON reader may close it silently, but then the shape
/// counted is not the one drawn).
fn unclosed_ring(value: &serde_json::Value) -> Result<(), String> {
    let rings: Vec<&serde_json::Value> = match (
        value.get("type").and_then(|t| t.as_str()),
        value.get("coordinates").and_then(|c| c.as_array()),
    ) {
        (Some("Polygon"), Some(rings)) => rings.iter().collect(),
        (Some("MultiPolygon"), Some(polygons)) => polygons
            .iter()
            .filter_map(|p| p.as_array())
            .flatten()
            .collect(),
        // Anything else is refused by the parser with its own message.
        _ => return Ok(()),
    };
    for (i, ring) in rings.iter().enumerate() {
        let Some(positions) = ring.as_array() else {
            continue;
        };
        if positions.len() < 4 {
            return Err(format!(
                "ring {} has {} positions; a closed ring needs at least 4",
                i + 1,
                positions.len()
            ));
        }
        if positions.first() != positions.last() {
            return Err(format!(
                "ring {} is not closed: its last position must repeat its first",
                i + 1
            ));
        }
    }
    Ok(())
}

/// A circle's outline: [`CIRCLE_VERTICES`] points at `radius_m` from the centre along
/// the WGS-84 ellipsoid, clockwise from north.
///
/// # Units
/// Degrees (WGS-84) and metres.
#[must_use]
pub fn circle(centre: LonLat, radius_m: f64) -> Polygon<f64> {
    let c = Point::new(centre.lon, centre.lat);
    let ring: Vec<geo::Coord<f64>> = (0..CIRCLE_VERTICES)
        .map(|i| {
            let bearing = 360.0 * i as f64 / CIRCLE_VERTICES as f64;
            Geodesic.destination(c, bearing, radius_m).0
        })
        .collect();
    Polygon::new(geo::LineString::from(ring), vec![])
}

/// A shape a user drew, checked: inside the limits and on the globe.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A polygon or multipolygon, valid and closed.
    Polygon(MultiPolygon<f64>),
    /// A box, `[west, south, east, north]`.
    Bbox([f64; 4]),
    /// A circle.
    Circle {
        /// Its centre.
        centre: LonLat,
        /// Its radius along the ellipsoid, metres.
        radius_m: f64,
    },
}

impl Shape {
    /// A drawn GeoJSON polygon (or a Feature holding one), checked as
    /// [`drawn_polygon`] does and against [`MAX_AREA_KM2`]; errors name `field`.
    ///
    /// # Errors
    /// What is wrong with it, naming `field`.
    pub fn polygon(field: &str, value: serde_json::Value) -> Result<Self, FieldViolation> {
        let polygon =
            drawn_polygon(value, MAX_VERTICES).map_err(|r| FieldViolation::new(field, r))?;
        check_area(field, area_km2(&polygon))?;
        Ok(Shape::Polygon(polygon))
    }

    /// A box `[west, south, east, north]`, checked.
    ///
    /// # Errors
    /// A corner off the globe, west not below east or south not below north, or over
    /// [`MAX_AREA_KM2`]; naming `field`.
    pub fn bbox(field: &str, [x0, y0, x1, y1]: [f64; 4]) -> Result<Self, FieldViolation> {
        check_lonlat(field, x0, y0)?;
        check_lonlat(field, x1, y1)?;
        if x0 >= x1 || y0 >= y1 {
            return Err(FieldViolation::new(
                field,
                "must be [min_lon, min_lat, max_lon, max_lat] with min < max",
            ));
        }
        if x1 - x0 >= 180.0 {
            // Its edges along parallels would no longer bound one side of the globe.
            return Err(FieldViolation::new(field, "spans half the globe or more"));
        }
        let shape = Shape::Bbox([x0, y0, x1, y1]);
        check_area(field, shape.area_km2())?;
        Ok(shape)
    }

    /// A circle, checked: a centre on the globe (named `{field}.center`) and a radius
    /// above 0 and at most [`MAX_RADIUS_M`] (`{field}.radius_m`).
    ///
    /// # Errors
    /// The centre or radius out of range.
    pub fn circle(field: &str, centre: [f64; 2], radius_m: f64) -> Result<Self, FieldViolation> {
        check_lonlat(&format!("{field}.center"), centre[0], centre[1])?;
        if !(radius_m.is_finite() && radius_m > 0.0 && radius_m <= MAX_RADIUS_M) {
            return Err(FieldViolation::new(
                format!("{field}.radius_m"),
                format!("must be above 0 and at most {MAX_RADIUS_M} m"),
            ));
        }
        Ok(Shape::Circle {
            centre: LonLat::new(centre[0], centre[1]),
            radius_m,
        })
    }

    /// `polygon`, `bbox` or `circle`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Shape::Polygon(_) => "polygon",
            Shape::Bbox(_) => "bbox",
            Shape::Circle { .. } => "circle",
        }
    }

    /// The outline, for shares of villages and for drawing (a circle's is
    /// [`circle`]'s polygon).
    #[must_use]
    pub fn outline(&self) -> MultiPolygon<f64> {
        match self {
            Shape::Polygon(p) => p.clone(),
            Shape::Bbox([x0, y0, x1, y1]) => MultiPolygon::new(vec![
                geo::Rect::new(
                    geo::coord! { x: *x0, y: *y0 },
                    geo::coord! { x: *x1, y: *y1 },
                )
                .to_polygon(),
            ]),
            Shape::Circle { centre, radius_m } => {
                MultiPolygon::new(vec![circle(*centre, *radius_m)])
            }
        }
    }

    /// Vertices of the outline (a box: 4).
    #[must_use]
    pub fn vertices(&self) -> usize {
        match self {
            Shape::Polygon(p) => vertex_count(p),
            Shape::Bbox(_) => 4,
            Shape::Circle { .. } => CIRCLE_VERTICES,
        }
    }

    /// The outline's area on the WGS-84 ellipsoid.
    ///
    /// # Units
    /// km².
    #[must_use]
    pub fn area_km2(&self) -> f64 {
        area_km2(&self.outline())
    }

    /// The rows of the households inside, ascending: a box and a polygon by their
    /// outline (edges included), a circle by the distance along the ellipsoid.
    #[must_use]
    pub fn rows(&self, points: &PointIndex) -> Vec<u32> {
        match self {
            Shape::Polygon(p) => points.in_polygon(p),
            Shape::Bbox([x0, y0, x1, y1]) => {
                points.in_bbox(LonLat::new(*x0, *y0), LonLat::new(*x1, *y1))
            }
            Shape::Circle { centre, radius_m } => points.within_radius(*centre, *radius_m),
        }
    }
}

/// Checks that a position is a WGS-84 longitude and latitude.
fn check_lonlat(field: &str, lon: f64, lat: f64) -> Result<(), FieldViolation> {
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        Ok(())
    } else {
        Err(FieldViolation::new(
            field,
            format!("[{lon}, {lat}] is not a WGS-84 longitude and latitude"),
        ))
    }
}

/// Refuses a shape over [`MAX_AREA_KM2`].
fn check_area(field: &str, km2: f64) -> Result<(), FieldViolation> {
    if km2 > MAX_AREA_KM2 {
        Err(FieldViolation::new(
            field,
            format!("covers {km2:.0} km²; the limit is {MAX_AREA_KM2:.0} km²"),
        ))
    } else {
        Ok(())
    }
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
            let whole = area_m2(&a.geometry);
            let inside = area_m2(&a.geometry.intersection(shape));
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
        let circle = Shape::circle("circle", [125.0, 41.7], 1000.0).unwrap();
        let km2 = circle.area_km2();
        // A small geodesic circle is a plane circle to well below its 720-gon's error.
        assert!((km2 / std::f64::consts::PI - 1.0).abs() < 2e-5, "{km2}");
        assert_eq!(circle.vertices(), CIRCLE_VERTICES);
    }

    #[test]
    fn a_circles_outline_lies_at_its_radius_along_the_ellipsoid() {
        let centre = LonLat::new(124.9, 41.7);
        for c in circle(centre, 50_000.0)
            .exterior()
            .0
            .iter()
            .take(CIRCLE_VERTICES)
        {
            let d = crate::spatial::geodesic_m(centre, LonLat::new(c.x, c.y));
            assert!((d - 50_000.0).abs() < 1e-6, "{d}");
        }
    }

    #[test]
    fn shapes_out_of_range_are_refused_naming_the_field() {
        assert_eq!(
            Shape::circle("circle", [125.0, 41.7], 0.0)
                .unwrap_err()
                .field,
            "circle.radius_m"
        );
        assert_eq!(
            Shape::circle("circle", [200.0, 41.7], 10.0)
                .unwrap_err()
                .field,
            "circle.center"
        );
        assert!(Shape::bbox("bbox", [125.0, 41.0, 124.0, 42.0]).is_err());
        let china = Shape::bbox("bbox", [100.0, 20.0, 130.0, 50.0]).unwrap_err();
        assert!(
            china.reason.contains("the limit is 10000 km²"),
            "{}",
            china.reason
        );
        assert!(Shape::bbox("bbox", [-180.0, -80.0, 180.0, 80.0]).is_err());
        let unclosed = serde_json::json!({"type": "Polygon",
            "coordinates": [[[125.0, 41.0], [125.1, 41.0], [125.1, 41.1], [125.0, 41.1]]]});
        let err = Shape::polygon("area", unclosed).unwrap_err();
        assert_eq!(err.field, "area");
        assert!(err.reason.contains("not closed"), "{}", err.reason);
    }
}
