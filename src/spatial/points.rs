//! The index of household points: an R-tree of WGS-84 positions, each carrying the row
//! id of its household, answering "which households lie in this box, this drawn shape,
//! this radius".
//!
//! Built in one go with rstar's bulk loading (O(n log n)); queries return row ids sorted
//! ascending, so that callers can merge them with other row-ordered data.

use geo::{BoundingRect, Coord, Distance, Haversine, MultiPolygon, Point};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

use super::LonLat;
use super::index::{METRES_PER_DEGREE, PreparedPolygon};

/// How far great-circle distances on the mean sphere may stray from ellipsoidal ones,
/// relatively, with room to spare (the largest gap on WGS-84 is under 0.6 %).
const SPHERE_SLACK: f64 = 0.01;

/// An R-tree over household positions (WGS-84 degrees), each tagged with a row id.
///
/// # Examples
/// ```
/// use paicha::spatial::{LonLat, PointIndex};
///
/// let index = PointIndex::new(vec![
///     (7, LonLat::new(125.00, 41.70)),
///     (3, LonLat::new(125.01, 41.70)),
///     (9, LonLat::new(125.30, 41.70)),
/// ]);
/// assert_eq!(index.in_bbox(LonLat::new(124.9, 41.6), LonLat::new(125.1, 41.8)), vec![3, 7]);
/// assert_eq!(index.within_radius(LonLat::new(125.0, 41.7), 1_000.0), vec![3, 7]);
/// ```
#[derive(Debug, Clone)]
pub struct PointIndex {
    tree: RTree<GeomWithData<[f64; 2], u32>>,
}

impl PointIndex {
    /// Builds the index from `(row id, position)` pairs. Positions with a NaN or
    /// infinite coordinate are left out: no query could ever return them.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn new(points: Vec<(u32, LonLat)>) -> Self {
        let entries = points
            .into_iter()
            .filter(|(_, p)| p.lon.is_finite() && p.lat.is_finite())
            .map(|(row, p)| GeomWithData::new([p.lon, p.lat], row))
            .collect();
        Self {
            tree: RTree::bulk_load(entries),
        }
    }

    /// Builds the index from positions in row order: the row id is the position in the
    /// slice, and rows without a position are left out.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn from_rows(points: &[Option<LonLat>]) -> Self {
        Self::new(
            points
                .iter()
                .enumerate()
                .filter_map(|(row, p)| p.map(|p| (row as u32, p)))
                .collect(),
        )
    }

    /// Number of points indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether the index holds no point.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Rows whose position lies in the box, edges included. A box with `min` above or
    /// east of `max` is empty.
    ///
    /// # Units
    /// Degrees (WGS-84). The box does not wrap across the antimeridian.
    #[must_use]
    pub fn in_bbox(&self, min: LonLat, max: LonLat) -> Vec<u32> {
        if !(min.lon <= max.lon && min.lat <= max.lat) {
            return Vec::new();
        }
        let envelope = AABB::from_corners([min.lon, min.lat], [max.lon, max.lat]);
        sorted(self.tree.locate_in_envelope(&envelope).map(|e| e.data))
    }

    /// Rows whose position lies in the (multi)polygon: inside or on a ring; a point in a
    /// hole is outside, one on a hole's ring inside, as geo's `Intersects` has it.
    ///
    /// # Units
    /// Degrees (WGS-84), as the polygon.
    ///
    /// # Algorithm
    /// The polygon is prepared (see [`PreparedPolygon`]), the tree yields the points in
    /// its bounding box, and each is tested exactly: O(E + k log n) for E edges and k
    /// points in the box.
    #[must_use]
    pub fn in_polygon(&self, area: &MultiPolygon<f64>) -> Vec<u32> {
        let Some(bbox) = area.bounding_rect() else {
            return Vec::new();
        };
        let prepared = PreparedPolygon::new(area);
        let envelope =
            AABB::from_corners([bbox.min().x, bbox.min().y], [bbox.max().x, bbox.max().y]);
        sorted(
            self.tree
                .locate_in_envelope(&envelope)
                .filter(|e| prepared.contains(LonLat::new(e.geom()[0], e.geom()[1])))
                .map(|e| e.data),
        )
    }

    /// Rows whose position lies within `metres` of `centre` along the WGS-84 ellipsoid
    /// ([`super::geodesic_m`]), the circle included. A negative or NaN radius gives
    /// nothing.
    ///
    /// # Units
    /// Degrees (WGS-84) for the centre, metres for the radius. The circle does not wrap
    /// across the antimeridian; one that reaches a pole takes every longitude.
    ///
    /// # Algorithm
    /// Great-circle distances on the mean sphere differ from ellipsoidal ones by less
    /// than 0.6 %. The tree yields the points in the bounding box, on the sphere, of a
    /// circle [`SPHERE_SLACK`] larger (latitude ± r/R; longitude ± asin(sin(r/R) /
    /// cos φ)); a point clearly inside or outside by its haversine distance is decided
    /// by it, and only those in the thin ring between are measured on the ellipsoid
    /// (about 1 µs each).
    #[must_use]
    #[expect(
        clippy::neg_cmp_op_on_partial_ord,
        reason = "a NaN radius must give nothing"
    )]
    pub fn within_radius(&self, centre: LonLat, metres: f64) -> Vec<u32> {
        if !(metres >= 0.0) || !centre.lon.is_finite() || !centre.lat.is_finite() {
            return Vec::new();
        }
        let (sure_in, search) = (metres * (1.0 - SPHERE_SLACK), metres * (1.0 + SPHERE_SLACK));
        let metres_on_ellipsoid = metres;
        let metres = search;
        let d_lat = metres / METRES_PER_DEGREE * (1.0 + 1e-9) + 1e-12;
        let (lat_lo, lat_hi) = (centre.lat - d_lat, centre.lat + d_lat);
        let d_lon = if lat_lo <= -90.0 || lat_hi >= 90.0 {
            f64::INFINITY
        } else {
            let angle = (metres / METRES_PER_DEGREE).to_radians();
            let ratio = angle.sin() / centre.lat.to_radians().cos();
            if angle >= std::f64::consts::FRAC_PI_2 || ratio >= 1.0 {
                f64::INFINITY
            } else {
                ratio.asin().to_degrees() * (1.0 + 1e-9) + 1e-12
            }
        };
        let envelope = AABB::from_corners(
            [(centre.lon - d_lon).max(-f64::MAX), lat_lo],
            [(centre.lon + d_lon).min(f64::MAX), lat_hi],
        );
        let origin = Point::from(Coord {
            x: centre.lon,
            y: centre.lat,
        });
        sorted(
            self.tree
                .locate_in_envelope(&envelope)
                .filter(|e| {
                    let point = Point::new(e.geom()[0], e.geom()[1]);
                    let sphere = Haversine.distance(origin, point);
                    sphere <= sure_in
                        || (sphere <= search
                            && super::geodesic_m(centre, LonLat::new(point.x(), point.y()))
                                <= metres_on_ellipsoid)
                })
                .map(|e| e.data),
        )
    }
}

fn sorted(rows: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut rows: Vec<u32> = rows.collect();
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Intersects, LineString, Polygon, Rect, coord};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_points(seed: u64, n: usize) -> Vec<(u32, LonLat)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                // Row ids are not positions, and some repeat a position: both must work.
                let p = LonLat::new(rng.random_range(124.3..125.5), rng.random_range(41.2..42.0));
                ((i as u32).wrapping_mul(2_654_435_761) >> 8, p)
            })
            .collect()
    }

    fn brute(points: &[(u32, LonLat)], keep: impl Fn(LonLat) -> bool) -> Vec<u32> {
        let mut rows: Vec<u32> = points
            .iter()
            .filter(|(_, p)| keep(*p))
            .map(|(r, _)| *r)
            .collect();
        rows.sort_unstable();
        rows
    }

    // Edge cases first.

    #[test]
    fn an_empty_index_returns_nothing() {
        let index = PointIndex::new(vec![]);
        assert!(index.is_empty());
        assert!(
            index
                .in_bbox(LonLat::new(-180.0, -90.0), LonLat::new(180.0, 90.0))
                .is_empty()
        );
        assert!(
            index
                .within_radius(LonLat::new(125.0, 41.7), 1e7)
                .is_empty()
        );
        let square = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 1.0, y: 1.0 }).to_polygon();
        assert!(
            index
                .in_polygon(&MultiPolygon::new(vec![square]))
                .is_empty()
        );
    }

    #[test]
    fn degenerate_queries_return_nothing() {
        let index = PointIndex::from_rows(&[
            Some(LonLat::new(125.0, 41.7)),
            None,
            Some(LonLat::new(f64::NAN, 41.7)),
        ]);
        assert_eq!(index.len(), 1);
        assert!(
            index
                .in_bbox(LonLat::new(126.0, 41.0), LonLat::new(125.0, 42.0))
                .is_empty()
        );
        assert!(
            index
                .within_radius(LonLat::new(125.0, 41.7), -1.0)
                .is_empty()
        );
        assert!(
            index
                .within_radius(LonLat::new(125.0, 41.7), f64::NAN)
                .is_empty()
        );
        assert!(index.in_polygon(&MultiPolygon::new(vec![])).is_empty());
        // A zero radius finds the point itself, and a point box too.
        assert_eq!(index.within_radius(LonLat::new(125.0, 41.7), 0.0), vec![0]);
        assert_eq!(
            index.in_bbox(LonLat::new(125.0, 41.7), LonLat::new(125.0, 41.7)),
            vec![0]
        );
    }

    #[test]
    fn points_on_a_polygon_edge_are_in_and_points_in_a_hole_are_out() {
        let outer = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 4.0, y: 4.0 }).to_polygon();
        let hole = Rect::new(coord! { x: 1.0, y: 1.0 }, coord! { x: 3.0, y: 3.0 }).to_polygon();
        let area = MultiPolygon::new(vec![Polygon::new(
            outer.exterior().clone(),
            vec![hole.exterior().clone()],
        )]);
        let index = PointIndex::new(vec![
            (0, LonLat::new(0.5, 0.5)),
            (1, LonLat::new(2.0, 2.0)),
            (2, LonLat::new(4.0, 2.0)),
            (3, LonLat::new(1.0, 2.0)),
            (4, LonLat::new(5.0, 2.0)),
        ]);
        assert_eq!(index.in_polygon(&area), vec![0, 2, 3]);
    }

    #[test]
    fn a_radius_is_measured_on_the_ellipsoid() {
        // Due north, 0.01° of latitude is 1,109.6 m on WGS-84 and 1,111.9 m on the sphere:
        // a radius between the two tells the models apart.
        let index = PointIndex::new(vec![(0, LonLat::new(125.0, 41.71))]);
        let centre = LonLat::new(125.0, 41.7);
        let along = crate::spatial::geodesic_m(centre, LonLat::new(125.0, 41.71));
        assert!((1_100.0..1_111.0).contains(&along), "{along}");
        assert_eq!(index.within_radius(centre, along + 1e-6), vec![0]);
        assert!(index.within_radius(centre, along - 1e-6).is_empty());
    }

    #[test]
    fn a_degree_of_longitude_is_shorter_than_one_of_latitude() {
        // 0.01° of latitude is 1112 m; 0.01° of longitude at 41.7° is only 830 m.
        let index = PointIndex::new(vec![
            (0, LonLat::new(125.0, 41.71)),
            (1, LonLat::new(125.01, 41.7)),
        ]);
        let centre = LonLat::new(125.0, 41.7);
        assert_eq!(index.within_radius(centre, 900.0), vec![1]);
        assert_eq!(index.within_radius(centre, 1_200.0), vec![0, 1]);
    }

    #[test]
    fn a_circle_over_the_pole_takes_every_longitude() {
        let index = PointIndex::new(vec![
            (0, LonLat::new(0.0, 89.9)),
            (1, LonLat::new(180.0, 89.9)),
        ]);
        assert_eq!(
            index.within_radius(LonLat::new(90.0, 89.95), 30_000.0),
            vec![0, 1]
        );
    }

    // Oracles against brute force, fixed seeds.

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        #[test]
        fn bbox_queries_equal_brute_force(seed in any::<u64>(), a in (124.2..125.6_f64, 41.1..42.1_f64), b in (124.2..125.6_f64, 41.1..42.1_f64)) {
            let points = random_points(seed, 2000);
            let index = PointIndex::new(points.clone());
            let (min, max) = (LonLat::new(a.0.min(b.0), a.1.min(b.1)), LonLat::new(a.0.max(b.0), a.1.max(b.1)));
            let expected = brute(&points, |p| p.lon >= min.lon && p.lon <= max.lon && p.lat >= min.lat && p.lat <= max.lat);
            prop_assert_eq!(index.in_bbox(min, max), expected);
        }

        #[test]
        fn radius_queries_equal_brute_force(seed in any::<u64>(), c in (124.2..125.6_f64, 41.1..42.1_f64), metres in 0.0..80_000.0_f64) {
            let points = random_points(seed, 2000);
            let index = PointIndex::new(points.clone());
            let centre = LonLat::new(c.0, c.1);
            let expected = brute(&points, |p| crate::spatial::geodesic_m(centre, p) <= metres);
            prop_assert_eq!(index.within_radius(centre, metres), expected);
        }

        #[test]
        fn polygon_queries_equal_brute_force(seed in any::<u64>(), n in 3_usize..30) {
            let points = random_points(seed, 2000);
            let index = PointIndex::new(points.clone());
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA5A5);
            let star = |rng: &mut ChaCha8Rng, r: f64, n: usize| -> LineString<f64> {
                (0..n).map(|k| {
                    let t = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * rng.random_range(0.3..1.0);
                    coord! { x: 124.9 + rr * t.cos(), y: 41.6 + rr * t.sin() }
                }).collect()
            };
            let outer = star(&mut rng, 0.5, n);
            let hole = star(&mut rng, 0.1, 5);
            let area = MultiPolygon::new(vec![Polygon::new(outer, vec![hole])]);
            let expected = brute(&points, |p| area.intersects(&Point::new(p.lon, p.lat)));
            prop_assert_eq!(index.in_polygon(&area), expected);
        }
    }
}
