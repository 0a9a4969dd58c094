//! Geometry for the rest of the service: coordinate systems, WKB, Hilbert keys, the
//! index of village boundaries, the index of household points and the assessment of
//! location quality.
//!
//! Everything here works in WGS-84 longitude/latitude degrees unless a name says
//! otherwise. The indexes are built once from the store and shared read-only; when
//! data changes new ones are built and swapped in whole.

pub mod crs;
#[cfg(test)]
pub(crate) mod fixture;
pub mod geojson;
pub mod index;
pub mod mercator;
pub mod points;
pub mod quality;
pub mod shapes;

use geo::MultiPolygon;
use geo_traits::to_geo::ToGeoGeometry;

pub use crs::LonLat;
pub use index::{AreaIndex, Assignment, IndexedArea, Location, METRES_PER_DEGREE, PreparedPolygon};
pub use points::PointIndex;
pub use quality::{
    FlagCounts, FlagKind, GroupLevel, GroupQuality, HouseholdFlags, LocatedHousehold, LocationFlag,
    OffsetRule, QualityReport, assess_locations, assess_locations_with,
};

/// The Earth's mean radius (IUGG, of the GRS80 ellipsoid), the sphere that
/// great-circle distances use here and in geo's `Haversine`. Web Mercator projects
/// a different sphere: [`mercator::WEB_MERCATOR_RADIUS_M`].
///
/// # Units
/// Metres.
pub const MEAN_EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The area of a shape on the WGS-84 ellipsoid (Karney's geodesic polygons, as a GIS
/// measures it), holes taken out whatever way their rings wind. The one measure of
/// area in paicha: stored boundaries, drawn shapes, circles and shares of villages.
///
/// # Units
/// Degrees (WGS-84) in, square metres out.
#[must_use]
pub fn area_m2(shape: &MultiPolygon<f64>) -> f64 {
    use geo::GeodesicArea;
    let ring = |r: &geo::LineString<f64>| {
        geo::Polygon::new(r.clone(), vec![])
            .geodesic_area_signed()
            .abs()
    };
    shape
        .0
        .iter()
        .map(|p| (ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>()).max(0.0))
        .sum()
}

/// [`area_m2`] in square kilometres.
///
/// # Units
/// Degrees (WGS-84) in, km² out.
#[must_use]
pub fn area_km2(shape: &MultiPolygon<f64>) -> f64 {
    area_m2(shape) / 1e6
}

/// The distance between two positions along the WGS-84 ellipsoid (Karney's geodesic),
/// the model of every circle drawn in paicha.
///
/// # Units
/// Degrees (WGS-84) in, metres out.
#[must_use]
pub fn geodesic_m(a: LonLat, b: LonLat) -> f64 {
    use geo::Distance;
    geo::Geodesic.distance(geo::Point::new(a.lon, a.lat), geo::Point::new(b.lon, b.lat))
}

/// Encodes a multipolygon as ISO WKB, little endian.
#[must_use]
pub fn to_wkb(geometry: &MultiPolygon<f64>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(wkb::writer::geometry_wkb_size(geometry));
    // Writing into a Vec cannot fail.
    let _ = wkb::writer::write_geometry(
        &mut buf,
        geometry,
        &wkb::writer::WriteOptions {
            endianness: wkb::Endianness::LittleEndian,
        },
    );
    buf
}

/// Decodes WKB holding a `Polygon` or `MultiPolygon`.
///
/// # Errors
/// A description of what is wrong, for bad bytes or another geometry type.
pub fn from_wkb(bytes: &[u8]) -> Result<MultiPolygon<f64>, String> {
    let wkb = wkb::reader::read_wkb(bytes).map_err(|e| e.to_string())?;
    match wkb.to_geometry() {
        geo::Geometry::MultiPolygon(mp) => Ok(mp),
        geo::Geometry::Polygon(p) => Ok(MultiPolygon::new(vec![p])),
        other => Err(format!("expected a polygon, found {other:?}")),
    }
}

/// A coordinate rounded to 7 decimals, as stored and sent: RFC 7946 allows any
/// precision, but 7 decimals is about 1 cm, and more is noise and bytes.
///
/// # Units
/// Degrees.
#[must_use]
pub fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Order of the Hilbert curve: 2^32 cells a side of the whole globe, about 1 cm.
const HILBERT_ORDER: u8 = 32;

/// The position's index along a Hilbert curve over the globe. Sorting rows by it
/// keeps nearby points in nearby rows, which lets `DuckDB`'s zone maps skip row groups
/// outside a queried box.
///
/// # Units
/// Degrees (WGS-84). Out-of-range values are clamped to the globe.
#[must_use]
pub fn hilbert_key(p: LonLat) -> u64 {
    let scale = f64::from(u32::MAX);
    let x = ((p.lon + 180.0) / 360.0).clamp(0.0, 1.0) * scale;
    let y = ((p.lat + 90.0) / 180.0).clamp(0.0, 1.0) * scale;
    fast_hilbert::xy2h(x as u32, y as u32, HILBERT_ORDER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};

    #[test]
    fn wkb_round_trips_a_multipolygon() {
        let rect = Rect::new(coord! { x: 124.5, y: 41.5 }, coord! { x: 124.51, y: 41.51 });
        let area = MultiPolygon::new(vec![rect.to_polygon()]);
        let back = from_wkb(&to_wkb(&area)).unwrap();
        assert_eq!(back, area);
        assert!(from_wkb(&[1, 2, 3]).is_err());
    }

    #[test]
    fn areas_are_measured_on_the_ellipsoid_with_holes_taken_out() {
        // One degree square at the equator: 12,308.8 km² on WGS-84 (GeographicLib).
        let square = |x0: f64, y0: f64, side: f64| {
            Rect::new(
                coord! { x: x0, y: y0 },
                coord! { x: x0 + side, y: y0 + side },
            )
            .to_polygon()
        };
        let one = MultiPolygon::new(vec![square(0.0, 0.0, 1.0)]);
        assert!(
            (area_km2(&one) - 12_308.778).abs() < 0.01,
            "{}",
            area_km2(&one)
        );
        // A hole of a quarter, wound either way, is taken out.
        let hole = square(0.25, 0.25, 0.5);
        for ring in [hole.exterior().clone(), {
            let mut r = hole.exterior().clone();
            r.0.reverse();
            r
        }] {
            let holed = MultiPolygon::new(vec![geo::Polygon::new(
                square(0.0, 0.0, 1.0).exterior().clone(),
                vec![ring],
            )]);
            let expected = area_km2(&one) - area_km2(&MultiPolygon::new(vec![hole.clone()]));
            assert!((area_km2(&holed) - expected).abs() < 1e-6);
        }
        // A ring wound clockwise measures the same.
        let mut cw = square(0.0, 0.0, 1.0);
        cw.exterior_mut(|r| r.0.reverse());
        assert!((area_km2(&MultiPolygon::new(vec![cw])) - area_km2(&one)).abs() < 1e-6);
    }

    #[test]
    fn a_degree_of_latitude_is_its_ellipsoidal_length() {
        // 0°→1° N along a meridian: 110,574.4 m on WGS-84; on the mean sphere 111,195 m.
        let d = geodesic_m(LonLat::new(0.0, 0.0), LonLat::new(0.0, 1.0));
        assert!((d - 110_574.389).abs() < 0.01, "{d}");
    }

    #[test]
    fn nearby_points_have_nearby_hilbert_keys() {
        let a = hilbert_key(LonLat::new(125.0, 41.7));
        let b = hilbert_key(LonLat::new(125.000_01, 41.700_01));
        let far = hilbert_key(LonLat::new(124.4, 41.3));
        assert!(a.abs_diff(b) < a.abs_diff(far));
    }
}
