//! The index of household points: WGS-84 positions bucketed in a uniform grid, each
//! carrying the row id of its household, answering "which households lie in this box,
//! this drawn shape, this radius".
//!
//! The points are fixed for a data version and a county's households lie in a small
//! box, so a grid sorted once by cell (a counting sort, O(n)) holds each point in 20
//! bytes where an R-tree's nodes took over 60; at 10 million households that is most
//! of the service's memory budget (BENCHMARKS.md). Queries return row ids sorted
//! ascending, so that callers can merge them with other row-ordered data.

use geo::{BoundingRect, Coord, Distance, Haversine, MultiPolygon, Point};

use super::LonLat;
use super::index::{METRES_PER_DEGREE, PreparedPolygon};

/// How far great-circle distances on the mean sphere may stray from ellipsoidal ones,
/// relatively, with room to spare (the largest gap on WGS-84 is under 0.6 %).
const SPHERE_SLACK: f64 = 0.01;

/// Points a grid cell holds on average.
const PER_CELL: usize = 16;

/// The share of points, at each end of each axis, left out of the grid's extent: a
/// few positions far away (swapped, typed wrong) would otherwise stretch the grid until
/// the county's households shared a handful of cells. They land in the edge cells.
const EXTENT_TRIM: f64 = 0.001;

/// Household positions (WGS-84 degrees), each tagged with a row id, bucketed in a
/// uniform grid over where most of them lie.
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
    /// West and south edges of the grid, and the size of a cell, in degrees.
    origin: [f64; 2],
    cell: [f64; 2],
    /// Columns and rows of cells.
    cols: usize,
    rows: usize,
    /// Where each cell's points start in `xy` and `ids` (row-major cells, one more
    /// entry than cells).
    starts: Vec<u32>,
    /// Positions and row ids, grouped by cell.
    xy: Vec<[f64; 2]>,
    ids: Vec<u32>,
}

impl PointIndex {
    /// Builds the index from `(row id, position)` pairs. Positions with a NaN or
    /// infinite coordinate are left out: no query could ever return them.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn new(mut points: Vec<(u32, LonLat)>) -> Self {
        points.retain(|(_, p)| p.lon.is_finite() && p.lat.is_finite());
        let n = points.len();
        let (west, east) = trimmed_range(points.iter().map(|(_, p)| p.lon).collect());
        let (south, north) = trimmed_range(points.iter().map(|(_, p)| p.lat).collect());
        let (width, height) = ((east - west).max(1e-9), (north - south).max(1e-9));
        // Cells about square in degrees, about PER_CELL points each on average.
        let cells = (n / PER_CELL).max(1) as f64;
        let cols = ((cells * width / height).sqrt().round() as usize).clamp(1, 1 << 15);
        let rows = ((cells / cols as f64).round() as usize).clamp(1, 1 << 15);
        let mut index = Self {
            origin: [west, south],
            cell: [width / cols as f64, height / rows as f64],
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            xy: Vec::new(),
            ids: Vec::new(),
        };
        let cell_of: Vec<u32> = points
            .iter()
            .map(|(_, p)| {
                let (c, r) = index.cell_of(p.lon, p.lat);
                (r * cols + c) as u32
            })
            .collect();
        for &c in &cell_of {
            index.starts[c as usize + 1] += 1;
        }
        for i in 1..index.starts.len() {
            index.starts[i] += index.starts[i - 1];
        }
        let mut next = index.starts.clone();
        index.xy = vec![[0.0; 2]; n];
        index.ids = vec![0; n];
        for ((row, p), c) in points.into_iter().zip(cell_of) {
            let at = next[c as usize] as usize;
            next[c as usize] += 1;
            index.xy[at] = [p.lon, p.lat];
            index.ids[at] = row;
        }
        index
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
        self.ids.len()
    }

    /// Whether the index holds no point.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes the index holds on the heap.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.starts.capacity() * 4 + self.xy.capacity() * 16 + self.ids.capacity() * 4
    }

    /// The cell (column, row) a position falls in; positions outside the grid fall in
    /// its edge cells.
    fn cell_of(&self, lon: f64, lat: f64) -> (usize, usize) {
        let at = |v: f64, origin: f64, size: f64, count: usize| -> usize {
            // `as` saturates: NaN and below the grid give 0.
            (((v - origin) / size) as usize).min(count - 1)
        };
        (
            at(lon, self.origin[0], self.cell[0], self.cols),
            at(lat, self.origin[1], self.cell[1], self.rows),
        )
    }

    /// Every indexed point of the cells the box `[west, south, east, north]` touches
    /// (a superset of those in it), as (position, row id).
    fn candidates(&self, b: [f64; 4]) -> impl Iterator<Item = ([f64; 2], u32)> + '_ {
        let (c0, r0) = self.cell_of(b[0], b[1]);
        let (c1, r1) = self.cell_of(b[2], b[3]);
        (r0..=r1).flat_map(move |r| {
            // A band of cells in one grid row is one run of the arrays.
            let from = self.starts[r * self.cols + c0] as usize;
            let to = self.starts[r * self.cols + c1 + 1] as usize;
            self.xy[from..to]
                .iter()
                .copied()
                .zip(self.ids[from..to].iter().copied())
        })
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
        sorted(
            self.candidates([min.lon, min.lat, max.lon, max.lat])
                .filter(|(p, _)| {
                    p[0] >= min.lon && p[0] <= max.lon && p[1] >= min.lat && p[1] <= max.lat
                })
                .map(|(_, row)| row),
        )
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
        sorted(
            self.candidates([bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y])
                .filter(|(p, _)| prepared.contains(LonLat::new(p[0], p[1])))
                .map(|(_, row)| row),
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
        let (lon_lo, lon_hi) = (centre.lon - d_lon, centre.lon + d_lon);
        let origin = Point::from(Coord {
            x: centre.lon,
            y: centre.lat,
        });
        sorted(
            self.candidates([lon_lo, lat_lo, lon_hi, lat_hi])
                .filter(|(p, _)| {
                    p[0] >= lon_lo && p[0] <= lon_hi && p[1] >= lat_lo && p[1] <= lat_hi
                })
                .filter(|(p, _)| {
                    let point = Point::new(p[0], p[1]);
                    let sphere = Haversine.distance(origin, point);
                    sphere <= sure_in
                        || (sphere <= search
                            && super::geodesic_m(centre, LonLat::new(point.x(), point.y()))
                                <= metres_on_ellipsoid)
                })
                .map(|(_, row)| row),
        )
    }
}

/// The range of `values` without the [`EXTENT_TRIM`] share at each end; (0, 0) for none.
fn trimmed_range(mut values: Vec<f64>) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let last = values.len() - 1;
    let k = ((values.len() as f64 * EXTENT_TRIM) as usize).min(last);
    let low = *values.select_nth_unstable_by(k, f64::total_cmp).1;
    let high = *values.select_nth_unstable_by(last - k, f64::total_cmp).1;
    (low, high)
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
