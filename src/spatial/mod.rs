//! Geometry for the rest of the service: coordinate systems, WKB, Hilbert keys and the
//! R-tree index of village boundaries.
//!
//! Everything here works in WGS-84 longitude/latitude degrees unless a name says
//! otherwise. The index is built once from the store and shared read-only; when data
//! changes a new index is built and swapped in whole.

pub mod crs;

use geo::{BoundingRect, Intersects, MultiPolygon, Point};
use geo_traits::to_geo::ToGeoGeometry;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

pub use crs::LonLat;

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

/// Order of the Hilbert curve: 2^32 cells a side of the whole globe, about 1 cm.
const HILBERT_ORDER: u8 = 32;

/// The position's index along a Hilbert curve over the globe. Sorting rows by it
/// keeps nearby points in nearby rows, which lets DuckDB's zone maps skip row groups
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

/// A village-level area in the index.
#[derive(Debug, Clone)]
pub struct IndexedArea {
    /// The 12-digit code.
    pub code: String,
    /// The township's 9-digit code.
    pub township_code: String,
    /// The boundary.
    pub geometry: MultiPolygon<f64>,
}

/// An R-tree over the village boundaries, answering which village holds a point.
#[derive(Debug)]
pub struct AreaIndex {
    areas: Vec<IndexedArea>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl AreaIndex {
    /// Builds the index. Areas are sorted by code, which fixes the border rule below.
    #[must_use]
    pub fn new(mut areas: Vec<IndexedArea>) -> Self {
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        let entries = areas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let r = a.geometry.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        Self {
            areas,
            tree: RTree::bulk_load(entries),
        }
    }

    /// Number of areas indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether the index holds no area.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The village-level area containing the point.
    ///
    /// A point exactly on a border shared by several villages belongs to the one with
    /// the smallest code, so every point maps to at most one village.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn village_at(&self, p: LonLat) -> Option<&IndexedArea> {
        let point = Point::new(p.lon, p.lat);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([p.lon, p.lat]))
            .map(|e| e.data)
            .filter(|&i| self.areas[i].geometry.intersects(&point))
            .min()
            .map(|i| &self.areas[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};

    fn square(code: &str, x0: f64, y0: f64, side: f64) -> IndexedArea {
        let rect = Rect::new(
            coord! { x: x0, y: y0 },
            coord! { x: x0 + side, y: y0 + side },
        );
        IndexedArea {
            code: code.into(),
            township_code: code[..9].into(),
            geometry: MultiPolygon::new(vec![rect.to_polygon()]),
        }
    }

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = AreaIndex::new(vec![]);
        assert!(index.is_empty());
        assert!(index.village_at(LonLat::new(125.0, 41.7)).is_none());
    }

    #[test]
    fn a_point_on_a_shared_border_goes_to_the_smaller_code() {
        let index = AreaIndex::new(vec![
            square("210422100202", 1.0, 0.0, 1.0),
            square("210422100201", 0.0, 0.0, 1.0),
        ]);
        let on_border = index.village_at(LonLat::new(1.0, 0.5)).unwrap();
        assert_eq!(on_border.code, "210422100201");
        let inside_right = index.village_at(LonLat::new(1.5, 0.5)).unwrap();
        assert_eq!(inside_right.code, "210422100202");
        assert!(index.village_at(LonLat::new(2.5, 0.5)).is_none());
    }

    #[test]
    fn wkb_round_trips_a_multipolygon() {
        let area = square("210422100201", 124.5, 41.5, 0.01);
        let back = from_wkb(&to_wkb(&area.geometry)).unwrap();
        assert_eq!(back, area.geometry);
        assert!(from_wkb(&[1, 2, 3]).is_err());
    }

    #[test]
    fn nearby_points_have_nearby_hilbert_keys() {
        let a = hilbert_key(LonLat::new(125.0, 41.7));
        let b = hilbert_key(LonLat::new(125.000_01, 41.700_01));
        let far = hilbert_key(LonLat::new(124.4, 41.3));
        assert!(a.abs_diff(b) < a.abs_diff(far));
    }
}
