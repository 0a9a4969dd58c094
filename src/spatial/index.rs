//! The village index: which village-level area holds a point, and which one is nearest
//! when none does.
//!
//! The index is built once from the boundaries (milliseconds for a county) and then
//! shared read-only. Point location goes through a uniform grid laid over the areas:
//! most grid cells lie wholly inside one village, or wholly outside all of them, and
//! answer at once; only cells that a border crosses fall back to an exact
//! point-in-polygon test on polygons prepared with y-sorted edge strips. Nearest-village
//! queries scan a grid of the outer boundary segments ring by ring, and an R-tree of
//! them for points far from every village.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use geo::kernels::RobustKernel;
use geo::{Coord, Distance, Haversine, Kernel, MultiPolygon, Orientation, Point};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Line};
use rstar::{PointDistance, RTree};
use serde::Serialize;

use super::LonLat;

/// Metres per degree along a great circle, on the mean-radius sphere
/// ([`super::MEAN_EARTH_RADIUS_M`]) that geo's `Haversine` also uses.
pub const METRES_PER_DEGREE: f64 = super::MEAN_EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

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

/// Where one point was placed by [`AreaIndex::assign`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignment {
    /// Inside (or on the border of) a village.
    Inside {
        /// The village, as an index into [`AreaIndex::areas`].
        village: u32,
    },
    /// Outside every village.
    Outside {
        /// The village whose boundary is nearest, as an index into [`AreaIndex::areas`].
        nearest: u32,
        /// Distance to that boundary, in metres.
        distance_m: f64,
    },
    /// No position, or one with a NaN or infinite coordinate.
    NoPoint,
    /// A usable position, but the index holds no area to place it in or near.
    NoArea,
}

/// Where a point lies relative to a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Strictly outside (in a hole counts as outside).
    Outside,
    /// Exactly on a ring, holes' rings included.
    Boundary,
    /// Strictly inside.
    Inside,
}

/// A boundary edge with its lower end first (`lo.y <= hi.y`).
#[derive(Debug, Clone, Copy)]
struct Edge {
    lo: Coord<f64>,
    hi: Coord<f64>,
}

impl Edge {
    fn new(a: Coord<f64>, b: Coord<f64>) -> Self {
        if a.y <= b.y {
            Self { lo: a, hi: b }
        } else {
            Self { lo: b, hi: a }
        }
    }
}

/// Shewchuk's error bound for the floating-point orientation determinant: beyond it
/// the sign of the fast determinant is certain.
const CCW_ERR_BOUND_A: f64 = (3.0 + 16.0 * (f64::EPSILON / 2.0)) * (f64::EPSILON / 2.0);

/// The orientation of `c` relative to the directed line `a`→`b`, exactly.
///
/// The plain determinant decides almost every case; only near-collinear triples go to
/// the robust adaptive predicate, which makes on-border decisions exact (a point on a
/// shared border must be seen on it from both sides).
#[inline]
fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> Orientation {
    let det_left = (a.x - c.x) * (b.y - c.y);
    let det_right = (a.y - c.y) * (b.x - c.x);
    let det = det_left - det_right;
    let bound = CCW_ERR_BOUND_A * (det_left.abs() + det_right.abs());
    if det > bound {
        Orientation::CounterClockwise
    } else if det < -bound {
        Orientation::Clockwise
    } else {
        RobustKernel::orient2d(a, b, c)
    }
}

/// A polygon prepared for fast, exact point location.
///
/// # Algorithm
/// Every ring's edges (exterior and holes of every part) are put into horizontal strips
/// of equal height, an edge into every strip its y-range touches. A point looks only at
/// the few edges of its strip and counts, by the even-odd rule, the edges its rightward
/// ray crosses (half-open in y, so a vertex is counted once); an edge the point lies on
/// decides "boundary" at once. Orientation tests are exact (see `orient`), so the answer
/// equals geo's `coordinate_position` for valid (OGC) polygons.
///
/// About as many strips as edges keeps 2–4 edges per strip on village boundaries:
/// building is O(E), a query O(1) on average.
///
/// # Examples
/// ```
/// use geo::{MultiPolygon, Rect, coord};
/// use paicha::spatial::{LonLat, PreparedPolygon, Location};
///
/// let square = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 1.0, y: 1.0 }).to_polygon();
/// let prepared = PreparedPolygon::new(&MultiPolygon::new(vec![square]));
/// assert_eq!(prepared.locate(LonLat::new(0.5, 0.5)), Location::Inside);
/// assert_eq!(prepared.locate(LonLat::new(1.0, 0.5)), Location::Boundary);
/// assert!(!prepared.contains(LonLat::new(1.5, 0.5)));
/// ```
#[derive(Debug, Clone)]
pub struct PreparedPolygon {
    /// Bounding box; `+inf`/`-inf` when there are no edges, so that nothing is inside.
    min: Coord<f64>,
    max: Coord<f64>,
    inv_strip_height: f64,
    strip_start: Vec<u32>,
    /// Each strip's edges, by the position of their first vertex in `vertices` (4 bytes
    /// an entry instead of a copy of the edge: an edge sits in two or three strips).
    strip_edges: Vec<u32>,
    /// The rings' vertices one after another, each ring closed (its first vertex
    /// repeated at its end), so that edge `k` runs from `vertices[k]` to
    /// `vertices[k + 1]`: 16 bytes a vertex, where a copy of each edge took 32.
    vertices: Vec<Coord<f64>>,
    /// Where each ring starts in `vertices`, and whether it is a polygon's exterior.
    rings: Vec<(u32, bool)>,
}

impl PreparedPolygon {
    /// Most strips a polygon gets, to bound memory on pathological inputs.
    const MAX_STRIPS: usize = 1 << 16;

    /// Prepares a multipolygon. A geometry with a NaN or infinite coordinate is
    /// prepared as empty: it contains nothing and has no boundary.
    ///
    /// # Units
    /// Degrees (or any planar units: the test is planar).
    #[must_use]
    pub fn new(geometry: &MultiPolygon<f64>) -> Self {
        let rings = || {
            geometry.iter().flat_map(|polygon| {
                std::iter::once((polygon.exterior(), true))
                    .chain(polygon.interiors().iter().map(|r| (r, false)))
            })
        };
        // Sized once: the vertices of a dense layer are most of the index's memory.
        let capacity: usize = rings().map(|(r, _)| r.0.len() + 1).sum();
        let mut vertices = Vec::with_capacity(capacity);
        let mut starts = Vec::new();
        for (ring, exterior) in rings() {
            let start = vertices.len();
            push_ring(&mut vertices, &ring.0);
            if vertices.len() > start {
                starts.push((start as u32, exterior));
            }
        }
        let finite = vertices.iter().all(|c| c.x.is_finite() && c.y.is_finite());
        if vertices.is_empty() || !finite || u32::try_from(vertices.len()).is_err() {
            return Self::empty();
        }
        let mut min = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut max = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for c in &vertices {
            min.x = min.x.min(c.x);
            max.x = max.x.max(c.x);
            min.y = min.y.min(c.y);
            max.y = max.y.max(c.y);
        }
        let edge_count = vertices.len() - starts.len();
        let strips = edge_count.clamp(1, Self::MAX_STRIPS);
        let height = max.y - min.y;
        let inv_strip_height = if height > 0.0 {
            strips as f64 / height
        } else {
            0.0
        };
        let mut prepared = Self {
            min,
            max,
            inv_strip_height,
            strip_start: vec![0; strips + 1],
            strip_edges: Vec::new(),
            vertices,
            rings: starts,
        };
        // Counting sort into strips: count, prefix-sum, fill. `strip` is `strip_of`'s
        // expression, while `strip_start` is being filled.
        let strip = |y: f64| (((y - min.y) * inv_strip_height) as usize).min(strips - 1);
        let mut strip_start = std::mem::take(&mut prepared.strip_start);
        prepared.for_each_edge(|_, e| {
            for s in strip(e.lo.y)..=strip(e.hi.y) {
                strip_start[s + 1] += 1;
            }
        });
        for s in 0..strips {
            strip_start[s + 1] += strip_start[s];
        }
        let total = strip_start[strips] as usize;
        let mut fill: Vec<u32> = strip_start[..strips].to_vec();
        let mut strip_edges = vec![0_u32; total];
        prepared.strip_start = strip_start;
        prepared.for_each_edge(|k, e| {
            for s in strip(e.lo.y)..=strip(e.hi.y) {
                strip_edges[fill[s] as usize] = k;
                fill[s] += 1;
            }
        });
        prepared.strip_edges = strip_edges;
        prepared
    }

    /// Calls `f` with each edge and the position of its first vertex, ring by ring.
    #[inline]
    fn for_each_edge(&self, mut f: impl FnMut(u32, Edge)) {
        for r in 0..self.rings.len() {
            let ring = self.ring(r);
            for (k, w) in ring.windows(2).enumerate() {
                f(self.rings[r].0 + k as u32, Edge::new(w[0], w[1]));
            }
        }
    }

    /// The vertices of ring `r`, closed.
    fn ring(&self, r: usize) -> &[Coord<f64>] {
        let end = self
            .rings
            .get(r + 1)
            .map_or(self.vertices.len(), |&(next, _)| next as usize);
        &self.vertices[self.rings[r].0 as usize..end]
    }

    /// The edge from vertex `k` to vertex `k + 1`.
    #[inline]
    fn edge(&self, k: usize) -> Edge {
        Edge::new(self.vertices[k], self.vertices[k + 1])
    }

    /// How many edges the polygon has.
    fn edge_count(&self) -> usize {
        self.vertices.len() - self.rings.len()
    }

    fn empty() -> Self {
        Self {
            min: Coord {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            max: Coord {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
            inv_strip_height: 0.0,
            strip_start: vec![0, 0],
            strip_edges: Vec::new(),
            vertices: Vec::new(),
            rings: Vec::new(),
        }
    }

    /// Whether the polygon has no boundary at all (empty or non-finite input).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.vertices.is_empty()
    }

    /// The strip of a y inside the bounding box. The same monotone float expression is
    /// used to file edges and to look points up, so a point's strip always holds every
    /// edge whose y-range contains it.
    #[inline]
    fn strip_of(&self, y: f64) -> usize {
        // `as usize` saturates: negative and NaN become 0.
        (((y - self.min.y) * self.inv_strip_height) as usize).min(self.strip_start.len() - 2)
    }

    #[inline]
    fn bbox_contains(&self, p: Coord<f64>) -> bool {
        p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y
    }

    /// Where a point lies: inside, on the boundary or outside.
    ///
    /// # Units
    /// Degrees, as the geometry.
    #[must_use]
    pub fn locate(&self, p: LonLat) -> Location {
        self.locate_coord(Coord { x: p.lon, y: p.lat })
    }

    /// Whether the point is inside or on the boundary (the closed polygon, as geo's
    /// `Intersects`).
    ///
    /// # Units
    /// Degrees, as the geometry.
    #[must_use]
    pub fn contains(&self, p: LonLat) -> bool {
        self.locate(p) != Location::Outside
    }

    #[inline]
    #[expect(clippy::float_cmp, reason = "a horizontal edge is exactly horizontal")]
    fn locate_coord(&self, p: Coord<f64>) -> Location {
        // Also rejects NaN, and everything when the polygon is empty.
        if !self.bbox_contains(p) {
            return Location::Outside;
        }
        let s = self.strip_of(p.y);
        let (from, to) = (
            self.strip_start[s] as usize,
            self.strip_start[s + 1] as usize,
        );
        let mut inside = false;
        for e in self.strip_edges[from..to]
            .iter()
            .map(|&k| self.edge(k as usize))
        {
            if p.y < e.lo.y || p.y > e.hi.y {
                continue;
            }
            let (x_min, x_max) = if e.lo.x <= e.hi.x {
                (e.lo.x, e.hi.x)
            } else {
                (e.hi.x, e.lo.x)
            };
            if p.x > x_max {
                continue;
            }
            if e.lo.y == e.hi.y {
                // A horizontal edge never counts as a crossing, but can hold the point.
                if p.x >= x_min {
                    return Location::Boundary;
                }
                continue;
            }
            // The ray crosses edges whose y-range is [lo, hi): a vertex on the ray is
            // then counted once where the ring passes through, and 0 or 2 times where it
            // only touches.
            let crosses = p.y < e.hi.y;
            if p.x < x_min {
                inside ^= crosses;
                continue;
            }
            match orient(e.lo, e.hi, p) {
                Orientation::Collinear => return Location::Boundary,
                Orientation::CounterClockwise => inside ^= crosses,
                Orientation::Clockwise => {}
            }
        }
        if inside {
            Location::Inside
        } else {
            Location::Outside
        }
    }

    /// The point of the boundary nearest to `p` in the local plane where a degree of
    /// longitude is `kx` degrees of latitude, with its squared plane distance.
    fn nearest_boundary_point(&self, p: Coord<f64>, kx: f64) -> Option<(Coord<f64>, f64)> {
        let mut best: Option<(Coord<f64>, f64)> = None;
        self.for_each_edge(|_, e| {
            let (q, d2) = closest_on_segment(p, e.lo, e.hi, kx);
            if best.is_none_or(|(_, b)| d2 < b) {
                best = Some((q, d2));
            }
        });
        best
    }
}

/// Appends a ring's vertices, closing it if the last point is not the first.
fn push_ring(vertices: &mut Vec<Coord<f64>>, points: &[Coord<f64>]) {
    match points {
        [] => {}
        // A one-point ring is a degenerate edge: the point itself is its boundary.
        [p] => vertices.extend([*p, *p]),
        [first, .., last] => {
            vertices.extend_from_slice(points);
            if first != last {
                vertices.push(*first);
            }
        }
    }
}

/// The point of segment `a`–`b` nearest to `p`, and its squared distance, in the plane
/// where x is scaled by `kx`.
#[inline]
#[expect(
    clippy::many_single_char_names,
    reason = "p, a, b, t, q as in the textbook formula"
)]
fn closest_on_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>, kx: f64) -> (Coord<f64>, f64) {
    let (ax, bx, px) = (a.x * kx, b.x * kx, p.x * kx);
    let (dx, dy) = (bx - ax, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (ax + t * dx, a.y + t * dy);
    let d2 = (px - qx) * (px - qx) + (p.y - qy) * (p.y - qy);
    // The ends exactly, so that callers can recognise a vertex.
    let q = if t <= 0.0 {
        a
    } else if t >= 1.0 {
        b
    } else {
        Coord {
            x: a.x + t * (b.x - a.x),
            y: qy,
        }
    };
    (q, d2)
}

/// Great-circle distance between two positions.
///
/// # Units
/// Degrees in, metres out (haversine on the GRS80 mean-radius sphere).
fn haversine_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    Haversine.distance(Point::from(a), Point::from(b))
}

/// The bounding box of the non-empty prepared polygons, as (min, max); `+inf`/`-inf`
/// when there are none.
fn bounds(prepared: &[PreparedPolygon]) -> (Coord<f64>, Coord<f64>) {
    let mut min = Coord {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut max = Coord {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    for p in prepared.iter().filter(|p| !p.is_empty()) {
        min.x = min.x.min(p.min.x);
        min.y = min.y.min(p.min.y);
        max.x = max.x.max(p.max.x);
        max.y = max.y.max(p.max.y);
    }
    (min, max)
}

/// Spreads the bits of `v` over the even bits of the result: a coordinate's half of a
/// Morton (Z-order) code.
fn spread_bits(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Tag of a grid cell that a border crosses; the low bits index its candidate list.
const BOUNDARY_CELL: u32 = 1 << 31;

/// What a grid cell says about a point in it.
enum CellAnswer<'a> {
    /// No area holds the point.
    Nothing,
    /// This area holds the point (the cell is wholly inside it).
    Area(u32),
    /// A border crosses the cell: test these areas, in ascending order.
    Candidates(&'a [u32]),
}

/// A uniform grid over the areas' bounding box; each cell either knows its answer or
/// lists the areas to test.
#[derive(Debug, Clone)]
struct CellGrid {
    min: Coord<f64>,
    max: Coord<f64>,
    inv_cell: Coord<f64>,
    nx: usize,
    ny: usize,
    /// 0: no area; `i + 1`: wholly inside area `i`; `BOUNDARY_CELL | k`: test list `k`.
    /// In tiles (see [`CellGrid::cell_index`]), the last ones padded with 0.
    cells: Vec<u32>,
    list_start: Vec<u32>,
    lists: Vec<u32>,
}

impl CellGrid {
    /// Grid cells per boundary edge: enough that cells are small next to villages, so
    /// that few points land in a border cell, yet at most a million cells (4 MB).
    const CELLS_PER_EDGE: usize = 32;
    const MAX_CELLS: usize = 1 << 20;
    const MAX_SIDE: usize = 4096;
    /// Side of the square tiles that `cells` is stored in (256 bytes a tile): the
    /// points of one of [`CellGrid::bucket_order`]'s buckets then read a tile or two,
    /// where in rows of the whole grid each of a bucket's rows was on a page of its own.
    const TILE: usize = 8;

    fn empty() -> Self {
        Self {
            min: Coord {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            max: Coord {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
            inv_cell: Coord::zero(),
            nx: 0,
            ny: 0,
            cells: Vec::new(),
            list_start: vec![0],
            lists: Vec::new(),
        }
    }

    /// # Algorithm
    /// 1. Size the grid to about [`Self::CELLS_PER_EDGE`] cells per edge, square in
    ///    metres.
    /// 2. Mark every cell that an edge touches (area by area, in parallel), each cell
    ///    grown by a millionth of its size so that rounding can never hide an edge from
    ///    a cell.
    /// 3. Row by row (in parallel): a marked cell lists the areas whose bounding box
    ///    meets it; an unmarked cell has no border in it, so one test at its centre
    ///    answers for all of it, and the next unmarked cell of the same run shares that
    ///    answer (their union holds no border either).
    fn build(prepared: &[PreparedPolygon]) -> Self {
        let (min, max) = bounds(prepared);
        let total_edges: usize = prepared.iter().map(PreparedPolygon::edge_count).sum();
        if total_edges == 0 {
            return Self::empty();
        }
        let kx = f64::midpoint(min.y, max.y).to_radians().cos().max(0.01);
        let target = (total_edges * Self::CELLS_PER_EDGE).clamp(64, Self::MAX_CELLS) as f64;
        let (width, height) = ((max.x - min.x) * kx, max.y - min.y);
        let side = (width * height / target).sqrt();
        let count = |extent: f64| -> usize {
            if side > 0.0 {
                ((extent / side).ceil() as usize).clamp(1, Self::MAX_SIDE)
            } else if extent > 0.0 {
                // A degenerate (flat) extent of areas: cut the long side only.
                Self::MAX_SIDE.min(target as usize)
            } else {
                1
            }
        };
        let (nx, ny) = (count(width), count(height));
        let cell = Coord {
            x: (max.x - min.x) / nx as f64,
            y: (max.y - min.y) / ny as f64,
        };
        let inv = |c: f64| if c > 0.0 { 1.0 / c } else { 0.0 };
        let mut grid = Self {
            min,
            max,
            inv_cell: Coord {
                x: inv(cell.x),
                y: inv(cell.y),
            },
            nx,
            ny,
            cells: Vec::new(),
            list_start: vec![0],
            lists: Vec::new(),
        };
        let slack = Coord {
            x: cell.x * 1e-6 + 1e-12,
            y: cell.y * 1e-6 + 1e-12,
        };
        // Marked by every area in parallel: a relaxed store of `true` is all a mark
        // is, and the rows below read the marks after the join.
        let marked: Vec<AtomicBool> = (0..nx * ny).map(|_| AtomicBool::new(false)).collect();
        prepared
            .par_iter()
            .for_each(|p| p.for_each_edge(|_, e| grid.mark_edge(&e, cell, slack, &marked)));
        let rows: Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> = (0..ny)
            .into_par_iter()
            .map(|r| grid.build_row(r, cell, slack, &marked, prepared))
            .collect();
        let mut cells =
            vec![0_u32; nx.next_multiple_of(Self::TILE) * ny.next_multiple_of(Self::TILE)];
        for (r, (values, lens, lists)) in rows.into_iter().enumerate() {
            let offset = grid.list_start.len() as u32 - 1;
            for (c, v) in values.into_iter().enumerate() {
                cells[grid.cell_index(r, c)] = if v & BOUNDARY_CELL != 0 {
                    v + offset
                } else {
                    v
                };
            }
            for len in lens {
                let last = grid.list_start.last().copied().unwrap_or(0);
                grid.list_start.push(last + len);
            }
            grid.lists.extend(lists);
        }
        grid.cells = cells;
        grid
    }

    /// Where the cell of row `r` and column `c` is in `cells`: tile by tile of
    /// [`Self::TILE`] × [`Self::TILE`] cells, tiles row by row.
    #[inline]
    fn cell_index(&self, r: usize, c: usize) -> usize {
        let tiles_x = self.nx.div_ceil(Self::TILE);
        ((r / Self::TILE) * tiles_x + c / Self::TILE) * Self::TILE * Self::TILE
            + (r % Self::TILE) * Self::TILE
            + c % Self::TILE
    }

    #[inline]
    fn col(&self, x: f64) -> usize {
        (((x - self.min.x) * self.inv_cell.x).max(0.0) as usize).min(self.nx - 1)
    }

    #[inline]
    fn row(&self, y: f64) -> usize {
        (((y - self.min.y) * self.inv_cell.y).max(0.0) as usize).min(self.ny - 1)
    }

    /// Marks the cells an edge passes through, column by column.
    #[expect(
        clippy::float_cmp,
        reason = "only an exactly vertical edge has no slope"
    )]
    fn mark_edge(&self, e: &Edge, cell: Coord<f64>, slack: Coord<f64>, marked: &[AtomicBool]) {
        let (x_lo, x_hi) = if e.lo.x <= e.hi.x {
            (e.lo.x, e.hi.x)
        } else {
            (e.hi.x, e.lo.x)
        };
        for c in self.col(x_lo - 2.0 * slack.x)..=self.col(x_hi + 2.0 * slack.x) {
            let col_lo = self.min.x + c as f64 * cell.x - 2.0 * slack.x;
            let col_hi = self.min.x + (c + 1) as f64 * cell.x + 2.0 * slack.x;
            let (xa, xb) = (x_lo.max(col_lo), x_hi.min(col_hi));
            if xa > xb {
                continue;
            }
            // The edge's y-range within this column.
            let (ya, yb) = if e.hi.x == e.lo.x {
                (e.lo.y, e.hi.y)
            } else {
                let slope = (e.hi.y - e.lo.y) / (e.hi.x - e.lo.x);
                (
                    e.lo.y + (xa - e.lo.x) * slope,
                    e.lo.y + (xb - e.lo.x) * slope,
                )
            };
            let (y_lo, y_hi) = (ya.min(yb).max(e.lo.y), ya.max(yb).min(e.hi.y));
            for r in self.row(y_lo - 2.0 * slack.y)..=self.row(y_hi + 2.0 * slack.y) {
                marked[r * self.nx + c].store(true, Ordering::Relaxed);
            }
        }
    }

    /// One row's cell values, candidate-list lengths and candidate lists.
    fn build_row(
        &self,
        r: usize,
        cell: Coord<f64>,
        slack: Coord<f64>,
        marked: &[AtomicBool],
        prepared: &[PreparedPolygon],
    ) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let y_lo = self.min.y + r as f64 * cell.y - slack.y;
        let y_hi = self.min.y + (r + 1) as f64 * cell.y + slack.y;
        let row_areas: Vec<u32> = (0..prepared.len())
            .filter(|&a| prepared[a].max.y >= y_lo && prepared[a].min.y <= y_hi)
            .map(|a| a as u32)
            .collect();
        let mut values = Vec::with_capacity(self.nx);
        let mut lens = Vec::new();
        let mut lists = Vec::new();
        let mut run: Option<u32> = None;
        for c in 0..self.nx {
            if marked[r * self.nx + c].load(Ordering::Relaxed) {
                let x_lo = self.min.x + c as f64 * cell.x - slack.x;
                let x_hi = self.min.x + (c + 1) as f64 * cell.x + slack.x;
                let before = lists.len();
                lists.extend(row_areas.iter().filter(|&&a| {
                    prepared[a as usize].max.x >= x_lo && prepared[a as usize].min.x <= x_hi
                }));
                values.push(BOUNDARY_CELL | lens.len() as u32);
                lens.push((lists.len() - before) as u32);
                run = None;
            } else {
                let value = *run.get_or_insert_with(|| {
                    let centre = Coord {
                        x: self.min.x + (c as f64 + 0.5) * cell.x,
                        y: self.min.y + (r as f64 + 0.5) * cell.y,
                    };
                    row_areas
                        .iter()
                        .find(|&&a| prepared[a as usize].locate_coord(centre) != Location::Outside)
                        .map_or(0, |&a| a + 1)
                });
                values.push(value);
            }
        }
        (values, lens, lists)
    }

    /// Side of the bucket grid of [`CellGrid::bucket_order`]: 64 × 64 buckets, a part
    /// of a village each on a dense city. As fast as 256 × 256 there, and a bucket
    /// number and "off the grid" both fit in a `u16`.
    const BUCKET_SIDE: usize = 64;

    /// The points of `points` that lie on the grid, with their positions in `points`,
    /// in bucket order: buckets of the grid's box along a Z curve, input order within a
    /// bucket; and the positions of the others (off the grid, or without a position).
    /// A counting sort: one pass to count, one to place.
    fn bucket_order(&self, points: &[Option<LonLat>]) -> (Vec<(f64, f64, u32)>, Vec<u32>) {
        let side = Self::BUCKET_SIDE;
        let off_grid = side * side;
        // Buckets a degree: a multiplication a point instead of two divisions.
        let scale = Coord {
            x: self.inv_cell.x * side as f64 / self.nx as f64,
            y: self.inv_cell.y * side as f64 / self.ny as f64,
        };
        let bucket_of = |p: &Option<LonLat>| -> usize {
            let Some(p) = p else {
                return off_grid;
            };
            if !(p.lon >= self.min.x
                && p.lon <= self.max.x
                && p.lat >= self.min.y
                && p.lat <= self.max.y)
            {
                return off_grid;
            }
            // `as usize` saturates: negative and NaN become 0.
            let bx = (((p.lon - self.min.x) * scale.x) as u32).min(side as u32 - 1);
            let by = (((p.lat - self.min.y) * scale.y) as u32).min(side as u32 - 1);
            (spread_bits(bx) | (spread_bits(by) << 1)) as usize
        };
        let mut start = vec![0_u32; off_grid + 2];
        let buckets: Vec<u16> = points
            .iter()
            .map(|p| {
                let b = bucket_of(p);
                start[b + 1] += 1;
                b as u16
            })
            .collect();
        for b in 0..=off_grid {
            start[b + 1] += start[b];
        }
        let mut sorted = vec![(0.0, 0.0, 0_u32); start[off_grid] as usize];
        let mut off = Vec::with_capacity(points.len() - sorted.len());
        for (i, (&b, p)) in buckets.iter().zip(points).enumerate() {
            match p {
                Some(p) if usize::from(b) < off_grid => {
                    sorted[start[usize::from(b)] as usize] = (p.lon, p.lat, i as u32);
                    start[usize::from(b)] += 1;
                }
                _ => off.push(i as u32),
            }
        }
        (sorted, off)
    }

    #[inline]
    fn lookup(&self, p: Coord<f64>) -> CellAnswer<'_> {
        // Also rejects NaN, and everything when the grid is empty.
        if !(p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y) {
            return CellAnswer::Nothing;
        }
        let v = self.cells[self.cell_index(self.row(p.y), self.col(p.x))];
        if v & BOUNDARY_CELL != 0 {
            let k = (v & !BOUNDARY_CELL) as usize;
            CellAnswer::Candidates(
                &self.lists[self.list_start[k] as usize..self.list_start[k + 1] as usize],
            )
        } else if v == 0 {
            CellAnswer::Nothing
        } else {
            CellAnswer::Area(v - 1)
        }
    }
}

/// R-tree node sizes for the segment tree: a little wider than rstar's default (3–6),
/// which measured about 5 % faster for nearest-segment queries on county outlines.
#[derive(Debug, Clone, Copy)]
struct SegmentTreeParams;

impl rstar::RTreeParams for SegmentTreeParams {
    const MIN_SIZE: usize = 5;
    const MAX_SIZE: usize = 12;
    const REINSERTION_COUNT: usize = 2;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// A boundary segment that has an area on one side only.
#[derive(Debug, Clone, Copy)]
struct OuterSegment {
    a: Coord<f64>,
    b: Coord<f64>,
    area: u32,
}

/// The outer segments of all areas in a grid (and, for far points, an R-tree), for
/// nearest-village searches.
///
/// # Algorithm
/// Every ring is walked with the area on its left (exterior rings counter-clockwise,
/// holes clockwise, whatever the input's winding). A segment that also appears reversed
/// (the same two vertices, bit for bit) has an area on both sides: it is a shared
/// border, and the nearest boundary point of a point outside every area is never on it
/// (the straight path to such a point would enter an area first). Dropping those leaves
/// the outline of the union: about a sixth of the segments for a tiled county, a
/// tenth for a city of dense villages, which makes the search structures that much
/// smaller and faster to build and to search.
#[derive(Debug)]
struct OuterBoundary {
    segments: Vec<OuterSegment>,
    /// The same segments in the plane, for distance tests.
    planes: Vec<PlaneSegment>,
    /// The grid searched first (see `SegmentGrid`).
    grid: SegmentGrid,
    /// The tree for points the grid cannot settle (far from the areas), built on first
    /// need: it is never needed for points near the areas.
    tree: std::sync::OnceLock<SegmentTree>,
    /// The plane's x scale.
    kx: f64,
    /// Vertices where outer segments of two or more areas meet, with the smallest of
    /// those areas: the tie-break when such a vertex is the nearest point.
    junctions: HashMap<(u64, u64), u32>,
}

/// The R-tree of outer segments, by position in `OuterBoundary::segments`.
type SegmentTree = RTree<GeomWithData<Line<[f64; 2]>, u32>, SegmentTreeParams>;

/// A segment in the plane, ready for distance tests.
#[derive(Debug, Clone, Copy)]
struct PlaneSegment {
    a: [f64; 2],
    d: [f64; 2],
    /// 1 / |d|², or 0 for a zero-length segment.
    inv_len2: f64,
    area: u32,
}

impl PlaneSegment {
    fn new(s: &OuterSegment, kx: f64) -> Self {
        let a = [s.a.x * kx, s.a.y];
        let d = [s.b.x * kx - a[0], s.b.y - a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        Self {
            a,
            d,
            inv_len2: if len2 > 0.0 { 1.0 / len2 } else { 0.0 },
            area: s.area,
        }
    }

    /// Squared plane distance to a plane point.
    #[inline]
    fn distance_2(&self, q: [f64; 2]) -> f64 {
        let (wx, wy) = (q[0] - self.a[0], q[1] - self.a[1]);
        let t = ((wx * self.d[0] + wy * self.d[1]) * self.inv_len2).clamp(0.0, 1.0);
        let (ex, ey) = (wx - t * self.d[0], wy - t * self.d[1]);
        ex * ex + ey * ey
    }
}

/// A uniform grid over the outer segments, in the plane: each cell lists the segments
/// whose bounding box meets it (offsets and one flat array).
///
/// # Algorithm
/// A nearest search scans the cells ring by ring around the point's cell, keeping the
/// nearest segment seen (exact ties to the smaller area). After each ring, every
/// segment not yet seen lies wholly in cells outside the scanned square, so at least
/// as far as the square's nearest open side: once the best distance is below that, it
/// is the answer. Points far from every segment would need many rings; after
/// [`SegmentGrid::MAX_RINGS`] the search gives up and the caller asks the R-tree.
/// Building is two passes over the segments (count, fill): O(S) for S segments.
#[derive(Debug, Default)]
struct SegmentGrid {
    min: [f64; 2],
    side: f64,
    inv_side: f64,
    nx: usize,
    ny: usize,
    /// `start[c]..start[c + 1]` in `items`.
    start: Vec<u32>,
    /// Positions of segments, cell by cell.
    items: Vec<u32>,
}

impl SegmentGrid {
    /// About four cells per segment: a handful of segments in a cell along the outline.
    const CELLS_PER_SEGMENT: usize = 4;
    const MAX_CELLS: usize = 1 << 22;
    /// Rings scanned before the R-tree takes over.
    const MAX_RINGS: usize = 24;

    fn build(planes: &[PlaneSegment]) -> Self {
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for s in planes {
            for c in [s.a, [s.a[0] + s.d[0], s.a[1] + s.d[1]]] {
                min = [min[0].min(c[0]), min[1].min(c[1])];
                max = [max[0].max(c[0]), max[1].max(c[1])];
            }
        }
        let (width, height) = (max[0] - min[0], max[1] - min[1]);
        if planes.is_empty() || !(width.is_finite() && height.is_finite()) {
            return Self::default();
        }
        let target = (planes.len() * Self::CELLS_PER_SEGMENT).clamp(16, Self::MAX_CELLS);
        let side = if width > 0.0 && height > 0.0 {
            (width * height / target as f64).sqrt()
        } else if width.max(height) > 0.0 {
            width.max(height) / target as f64
        } else {
            1.0
        };
        let mut grid = Self {
            min,
            side,
            inv_side: 1.0 / side,
            nx: ((width / side) as usize + 1).min(target),
            ny: ((height / side) as usize + 1).min(target),
            start: Vec::new(),
            items: Vec::new(),
        };
        let mut start = vec![0_u32; grid.nx * grid.ny + 1];
        for s in planes {
            grid.for_each_cell(s, |c| start[c + 1] += 1);
        }
        for c in 0..grid.nx * grid.ny {
            start[c + 1] += start[c];
        }
        let mut fill = start.clone();
        let mut items = vec![0_u32; start[grid.nx * grid.ny] as usize];
        for (k, s) in planes.iter().enumerate() {
            grid.for_each_cell(s, |c| {
                items[fill[c] as usize] = k as u32;
                fill[c] += 1;
            });
        }
        grid.start = start;
        grid.items = items;
        grid
    }

    #[inline]
    fn col(&self, x: f64) -> usize {
        // `as usize` saturates: negative and NaN become 0.
        (((x - self.min[0]) * self.inv_side) as usize).min(self.nx - 1)
    }

    #[inline]
    fn row(&self, y: f64) -> usize {
        (((y - self.min[1]) * self.inv_side) as usize).min(self.ny - 1)
    }

    /// Calls `f` with every cell that the segment's bounding box meets.
    fn for_each_cell(&self, s: &PlaneSegment, mut f: impl FnMut(usize)) {
        let b = [s.a[0] + s.d[0], s.a[1] + s.d[1]];
        let (c0, c1) = (self.col(s.a[0].min(b[0])), self.col(s.a[0].max(b[0])));
        let (r0, r1) = (self.row(s.a[1].min(b[1])), self.row(s.a[1].max(b[1])));
        for r in r0..=r1 {
            for c in c0..=c1 {
                f(r * self.nx + c);
            }
        }
    }

    /// The position of the segment nearest to `q` (exact ties to the smaller area), or
    /// `None` when the grid is empty or the search gives up (see the type's docs).
    #[expect(clippy::float_cmp, reason = "only exact ties go to the smaller area")]
    fn nearest(&self, q: [f64; 2], planes: &[PlaneSegment]) -> Option<usize> {
        if self.nx == 0 || !(q[0].is_finite() && q[1].is_finite()) {
            return None;
        }
        let (cx, cy) = (self.col(q[0]), self.row(q[1]));
        let mut best: Option<(usize, f64)> = None;
        let scan = |cell: usize, best: &mut Option<(usize, f64)>| {
            for &k in &self.items[self.start[cell] as usize..self.start[cell + 1] as usize] {
                let s = &planes[k as usize];
                let d2 = s.distance_2(q);
                if best.is_none_or(|(b, bd2)| d2 < bd2 || (d2 == bd2 && s.area < planes[b].area)) {
                    *best = Some((k as usize, d2));
                }
            }
        };
        for r in 0..=Self::MAX_RINGS {
            let (x0, x1) = (cx.saturating_sub(r), (cx + r).min(self.nx - 1));
            let (y0, y1) = (cy.saturating_sub(r), (cy + r).min(self.ny - 1));
            for y in y0..=y1 {
                if y + r == cy || y == cy + r {
                    for x in x0..=x1 {
                        scan(y * self.nx + x, &mut best);
                    }
                } else {
                    if x0 + r == cx {
                        scan(y * self.nx + x0, &mut best);
                    }
                    if x1 == cx + r && x1 != x0 {
                        scan(y * self.nx + x1, &mut best);
                    }
                }
            }
            // The nearest open side of the scanned square: unscanned cells lie beyond.
            let mut bound = f64::INFINITY;
            if x0 > 0 {
                bound = bound.min(q[0] - (self.min[0] + x0 as f64 * self.side));
            }
            if x1 + 1 < self.nx {
                bound = bound.min(self.min[0] + (x1 + 1) as f64 * self.side - q[0]);
            }
            if y0 > 0 {
                bound = bound.min(q[1] - (self.min[1] + y0 as f64 * self.side));
            }
            if y1 + 1 < self.ny {
                bound = bound.min(self.min[1] + (y1 + 1) as f64 * self.side - q[1]);
            }
            if bound == f64::INFINITY {
                return best.map(|(k, _)| k);
            }
            // Less a little, against rounding in the cell of a point on a cell's side.
            let bound = (bound - self.side * 1e-9).max(0.0);
            if let Some((k, d2)) = best
                && d2 < bound * bound
            {
                return Some(k);
            }
        }
        None
    }
}

/// The bits of a coordinate, for exact matching (-0.0 is folded into 0.0).
fn coord_bits(c: Coord<f64>) -> (u64, u64) {
    ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits())
}

/// A directed segment of an area's rings, for finding the shared ones: a key that
/// does not depend on the order of its ends, with its direction in the lowest bit (see
/// [`SegmentKeys`]), and where it is: the position of its first vertex, in ring order,
/// in the area's prepared vertices. 16 bytes, where the segment's ends took 32.
#[derive(Debug, Clone, Copy)]
struct SegmentEntry {
    key: u64,
    area: u32,
    at: u32,
}

/// The segment `a`→`b` by the bits of its ends, lower end first, and whether it runs
/// from the higher end to the lower.
fn canonical(a: Coord<f64>, b: Coord<f64>) -> ((u64, u64), (u64, u64), bool) {
    let (a, b) = (coord_bits(a), coord_bits(b));
    if a <= b { (a, b, false) } else { (b, a, true) }
}

/// Keys of directed segments in space order: the Morton code of a segment's midpoint
/// on a grid of 2^31 × 2^31 cells over the areas' box, its lowest bit the direction.
/// A segment and its reverse have the same midpoint bit for bit (the sum of two
/// halves does not depend on their order), so their keys differ in that bit alone;
/// segments that merely share a cell (under a tenth of a millimetre on a city) are told
/// apart by their coordinates. Sorted by these keys, entries next to each other are
/// neighbours in space, so checking a pair's vertices reads memory that the pair
/// before it just read: with a hash for a key, every check was a miss in a random
/// place of the vertices.
struct SegmentKeys {
    min: Coord<f64>,
    scale: Coord<f64>,
}

impl SegmentKeys {
    /// Cells a side, less one.
    const SIDE: f64 = 2_147_483_647.0;

    fn new(prepared: &[PreparedPolygon]) -> Self {
        let (min, max) = bounds(prepared);
        let scale = |lo: f64, hi: f64| if hi > lo { Self::SIDE / (hi - lo) } else { 0.0 };
        Self {
            min,
            scale: Coord {
                x: scale(min.x, max.x),
                y: scale(min.y, max.y),
            },
        }
    }

    /// The key of the directed segment `a`→`b`.
    fn key(&self, a: Coord<f64>, b: Coord<f64>) -> u64 {
        // `as u32` saturates; rounding may reach one past the last cell.
        let cell = |lo: f64, hi: f64, min: f64, scale: f64| {
            ((((lo * 0.5 + hi * 0.5) - min) * scale) as u32).min(0x7FFF_FFFF)
        };
        let (_, _, reversed) = canonical(a, b);
        let code = spread_bits(cell(a.x, b.x, self.min.x, self.scale.x))
            | (spread_bits(cell(a.y, b.y, self.min.y, self.scale.y)) << 1);
        (code << 1) | u64::from(reversed)
    }
}

/// A segment's ends by their bits, lower end first.
type SegmentEnds = ((u64, u64), (u64, u64));

/// The `area` of a [`SegmentEntry`] found shared, or of no length: not an outer
/// segment.
const SHARED: u32 = u32::MAX;

/// Marks the members of a run of equal keys (the direction aside) that are shared (see
/// [`SHARED`]): a segment whose reverse, the same two vertices bit for bit, is also in
/// the run. A run is nearly always one segment or a segment and its twin. Entries
/// already marked (segments of no length) are left out.
fn mark_run(run: &mut [SegmentEntry], prepared: &[PreparedPolygon]) {
    let ends = |e: &SegmentEntry| {
        let v = &prepared[e.area as usize].vertices;
        let (lo, hi, _) = canonical(v[e.at as usize], v[e.at as usize + 1]);
        (lo, hi)
    };
    if let [x, y] = run {
        if (x.key ^ y.key) == 1 && x.area != SHARED && y.area != SHARED && ends(x) == ends(y) {
            (x.area, y.area) = (SHARED, SHARED);
        }
        return;
    }
    // Longer runs (overlapping copies of a border, or segments in one key's cell): by
    // ends, then a group of equal ends holding both directions is shared whole.
    let mut order: Vec<(SegmentEnds, u64, usize)> = run
        .iter()
        .enumerate()
        .filter(|(_, e)| e.area != SHARED)
        .map(|(i, e)| (ends(e), e.key & 1, i))
        .collect();
    order.sort_unstable();
    for group in order.chunk_by(|x, y| x.0 == y.0) {
        if group.first().map(|g| g.1) != group.last().map(|g| g.1) {
            for g in group {
                run[g.2].area = SHARED;
            }
        }
    }
}

/// Every boundary segment of the prepared areas, directed with the area on its left
/// (exterior rings counter-clockwise, holes clockwise, whatever the input's winding),
/// an area's segments in ring order. A segment of no length is filed as [`SHARED`]: it
/// is nobody's outer boundary.
///
/// One vector, sized once and cut into one part per area, each filled in parallel:
/// collecting a parallel iterator of unknown length grew and copied it (12 MB for a
/// dense city) several times over.
fn directed_entries(prepared: &[PreparedPolygon]) -> Vec<SegmentEntry> {
    let keys = SegmentKeys::new(prepared);
    let none = SegmentEntry {
        key: 0,
        area: SHARED,
        at: 0,
    };
    let mut entries = vec![none; prepared.iter().map(PreparedPolygon::edge_count).sum()];
    let mut parts = Vec::with_capacity(prepared.len());
    let mut rest = entries.as_mut_slice();
    for p in prepared {
        let (part, tail) = rest.split_at_mut(p.edge_count());
        parts.push(part);
        rest = tail;
    }
    parts
        .into_par_iter()
        .zip(prepared)
        .enumerate()
        .for_each(|(area, (part, p))| {
            let mut out = part.iter_mut();
            for (r, &(start, exterior)) in p.rings.iter().enumerate() {
                let ring = p.ring(r);
                // Shoelace: positive for counter-clockwise (the ring is closed).
                let twice_area: f64 = ring
                    .windows(2)
                    .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                    .sum();
                let reverse = (twice_area < 0.0) == exterior;
                for ((k, w), entry) in ring.windows(2).enumerate().zip(&mut out) {
                    let (a, b) = if reverse { (w[1], w[0]) } else { (w[0], w[1]) };
                    if a != b {
                        *entry = SegmentEntry {
                            key: keys.key(a, b),
                            area: area as u32,
                            at: start + k as u32,
                        };
                    }
                }
            }
        });
    entries
}

impl OuterBoundary {
    /// # Algorithm
    /// 1. Every area's directed segments with their keys (in parallel; see
    ///    [`SegmentEntry`]), sorted by key (in parallel): a segment and its reverse
    ///    end up side by side.
    /// 2. In each run of equal keys, a segment whose reverse is there, the same
    ///    vertices bit for bit, is shared.
    /// 3. File the rest in the grid (see `SegmentGrid`), area by area in ring order;
    ///    note the vertices where outer segments of several areas meet. The R-tree
    ///    waits for a far point.
    ///
    /// O(S log S) for S segments, in 16-byte entries.
    fn build(prepared: &[PreparedPolygon], kx: f64) -> Self {
        let mut entries = directed_entries(prepared);
        entries.par_sort_unstable_by_key(|e| e.key);
        entries
            .par_chunk_by_mut(|x, y| x.key >> 1 == y.key >> 1)
            .filter(|run| run.len() > 1)
            .for_each(|run| mark_run(run, prepared));
        let mut outer: Vec<SegmentEntry> = entries
            .into_par_iter()
            .filter(|e| e.area != SHARED)
            .collect();
        outer.par_sort_unstable_by_key(|e| (e.area, e.at));
        let segments: Vec<OuterSegment> = outer
            .iter()
            .map(|e| {
                let v = &prepared[e.area as usize].vertices;
                let (a, b) = (v[e.at as usize], v[e.at as usize + 1]);
                // The direction the key was made with, from its lowest bit.
                let (lo, hi) = if coord_bits(a) <= coord_bits(b) {
                    (a, b)
                } else {
                    (b, a)
                };
                let (a, b) = if e.key & 1 == 1 { (hi, lo) } else { (lo, hi) };
                OuterSegment { a, b, area: e.area }
            })
            .collect();
        let mut ends: Vec<((u64, u64), u32)> = Vec::with_capacity(2 * segments.len());
        ends.extend(
            segments
                .iter()
                .flat_map(|s| [(coord_bits(s.a), s.area), (coord_bits(s.b), s.area)]),
        );
        ends.par_sort_unstable();
        ends.dedup();
        let junctions = ends
            .chunk_by(|x, y| x.0 == y.0)
            .filter(|g| g.len() > 1)
            .map(|g| (g[0].0, g[0].1))
            .collect();
        let planes: Vec<PlaneSegment> = segments.iter().map(|s| PlaneSegment::new(s, kx)).collect();
        let grid = SegmentGrid::build(&planes);
        Self {
            segments,
            planes,
            grid,
            tree: std::sync::OnceLock::new(),
            kx,
            junctions,
        }
    }

    /// The R-tree of the segments, built on first call. rstar builds without rayon, so
    /// a caller on the rayon pool cannot re-enter this while it waits.
    fn tree(&self) -> &SegmentTree {
        self.tree.get_or_init(|| {
            let entries = self
                .segments
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    GeomWithData::new(
                        Line::new([s.a.x * self.kx, s.a.y], [s.b.x * self.kx, s.b.y]),
                        k as u32,
                    )
                })
                .collect();
            RTree::bulk_load_with_params(entries)
        })
    }

    /// The area nearest to `p` and the haversine metres to it.
    fn nearest(&self, p: Coord<f64>, kx: f64) -> Option<(u32, f64)> {
        let plane = [p.x * kx, p.y];
        let s = if let Some(k) = self.grid.nearest(plane, &self.planes) {
            self.segments.get(k)?
        } else {
            let tree = self.tree();
            let first = tree.nearest_neighbor(&plane)?;
            // Every segment at the least distance (a second, tiny search): exact ties
            // go to the smaller area.
            tree.locate_within_distance(plane, first.distance_2(&plane))
                .chain(std::iter::once(first))
                .filter_map(|found| self.segments.get(found.data as usize))
                .min_by_key(|s| s.area)?
        };
        let (q, _) = closest_on_segment(p, s.a, s.b, kx);
        // A tie is only possible at a vertex: then the smallest area meeting there wins.
        let area = if q == s.a || q == s.b {
            self.junctions
                .get(&coord_bits(q))
                .map_or(s.area, |&j| j.min(s.area))
        } else {
            s.area
        };
        Some((area, haversine_m(p, q)))
    }
}

/// The smallest area holding `c`, through the grid.
#[inline]
fn locate_in(grid: &CellGrid, prepared: &[PreparedPolygon], c: Coord<f64>) -> Option<u32> {
    match grid.lookup(c) {
        CellAnswer::Nothing => None,
        CellAnswer::Area(a) => Some(a),
        // Lists are ascending, so the first hit is the smallest code.
        CellAnswer::Candidates(list) => list
            .iter()
            .copied()
            .find(|&a| prepared[a as usize].locate_coord(c) != Location::Outside),
    }
}

/// The index of village boundaries: which village holds a point, and which is nearest
/// to a point outside them all.
///
/// Areas are kept sorted by code; the `u32` indices that [`AreaIndex::locate`] and
/// [`AreaIndex::assign`] return point into [`AreaIndex::areas`]. Areas with an empty or
/// non-finite boundary are kept (so that codes and indices stay stable) but hold no
/// point and are never nearest.
///
/// # Algorithm
/// Point location: a uniform grid (`CellGrid`) answers at once in cells without a
/// border, and tests the few candidate areas of a border cell exactly with their
/// [`PreparedPolygon`]s. Nearest village: a grid of the outer boundary segments,
/// searched ring by ring, and an R-tree of them for far points (`OuterBoundary`).
///
/// # Examples
/// ```
/// use geo::{MultiPolygon, Rect, coord};
/// use paicha::spatial::{AreaIndex, Assignment, IndexedArea, LonLat};
///
/// let square = |code: &str, x0: f64| IndexedArea {
///     code: code.into(),
///     township_code: code[..9].into(),
///     geometry: MultiPolygon::new(vec![
///         Rect::new(coord! { x: x0, y: 41.0 }, coord! { x: x0 + 0.1, y: 41.1 }).to_polygon(),
///     ]),
/// };
/// let index = AreaIndex::new(vec![square("210422100202", 125.1), square("210422100201", 125.0)]);
/// assert_eq!(index.village_at(LonLat::new(125.05, 41.05)).unwrap().code, "210422100201");
/// // On the shared border: the smaller code wins.
/// assert_eq!(index.village_at(LonLat::new(125.1, 41.05)).unwrap().code, "210422100201");
/// let placed = index.assign(&[Some(LonLat::new(125.3, 41.05)), None]);
/// assert!(matches!(placed[0], Assignment::Outside { nearest: 1, .. }));
/// assert_eq!(placed[1], Assignment::NoPoint);
/// ```
#[derive(Debug)]
pub struct AreaIndex {
    areas: Vec<IndexedArea>,
    prepared: Vec<PreparedPolygon>,
    grid: CellGrid,
    outer: OuterBoundary,
    /// cos(latitude) at the centre of the areas: the local plane's x scale.
    kx: f64,
    /// Whether [`AreaIndex::assign`] sorts large batches into buckets first: only
    /// when the index is larger than the caches.
    in_buckets: bool,
}

impl AreaIndex {
    /// Points per rayon task in [`AreaIndex::assign`]: large enough that scheduling costs
    /// nothing next to the work, small enough to balance two to a few dozen cores.
    const ASSIGN_CHUNK: usize = 4096;

    /// Batches larger than this are placed in Z order (see [`AreaIndex::assign`]):
    /// sorting pays for itself once the index outgrows the caches, and costs little
    /// when it does not.
    pub const SORT_ABOVE: usize = 65_536;

    /// An index above this many bytes is larger than a CPU's caches (a county's is
    /// about 1 MB, a city of dense villages' some 60 MB).
    const CACHE_BYTES: usize = 8 << 20;

    /// Builds the index. Areas are sorted by code, which fixes the border rule of
    /// [`AreaIndex::village_at`].
    ///
    /// # Algorithm
    /// 1. Sort the areas by code and prepare each polygon (in parallel).
    /// 2. Build the location grid (see `CellGrid`).
    /// 3. Find the outer boundary segments and file them in a grid (see
    ///    `OuterBoundary`), side by side with step 2.
    ///
    /// O(E log E) for E boundary edges, the grids in parallel; about 15 ms on 2 cores
    /// for a county of 200 villages of 160 vertices.
    #[must_use]
    pub fn new(mut areas: Vec<IndexedArea>) -> Self {
        let start = std::time::Instant::now();
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        let prepared: Vec<PreparedPolygon> = areas
            .par_iter()
            .map(|a| PreparedPolygon::new(&a.geometry))
            .collect();
        let (min, max) = bounds(&prepared);
        let kx = if min.y <= max.y {
            f64::midpoint(min.y, max.y).to_radians().cos().max(0.01)
        } else {
            1.0
        };
        let prepared_s = start.elapsed().as_secs_f64();
        // The two are independent, and each has sequential steps: side by side, one
        // fills the other's gaps on the pool.
        let (grid, outer) = rayon::join(
            || CellGrid::build(&prepared),
            || OuterBoundary::build(&prepared, kx),
        );
        let mut index = Self {
            areas,
            prepared,
            grid,
            outer,
            kx,
            in_buckets: false,
        };
        index.in_buckets = index.heap_bytes() > Self::CACHE_BYTES;
        tracing::debug!(
            prepared_s,
            built_s = start.elapsed().as_secs_f64(),
            cells = index.grid.cells.len(),
            outer_segments = index.outer.segments.len(),
            bytes = index.heap_bytes(),
            "village index built"
        );
        index
    }

    /// Bytes the index holds on the heap beyond the areas it was given (their codes
    /// and boundaries): the prepared polygons, the grids and the nearest-village
    /// structures, from their capacities.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        let prepared: usize = self
            .prepared
            .iter()
            .map(|p| vec(&p.strip_start) + vec(&p.strip_edges) + vec(&p.vertices) + vec(&p.rings))
            .sum::<usize>()
            + vec(&self.prepared);
        let grid = vec(&self.grid.cells) + vec(&self.grid.list_start) + vec(&self.grid.lists);
        let o = &self.outer;
        // rstar keeps its leaves and about one node per MAX_SIZE / 2 of them.
        let tree = o.tree.get().map_or(0, |t| {
            t.size() * (std::mem::size_of::<GeomWithData<Line<[f64; 2]>, u32>>() + 16) * 7 / 6
        });
        let junctions = o.junctions.capacity() * (std::mem::size_of::<((u64, u64), u32)>() + 8);
        let outer = vec(&o.planes) + vec(&o.grid.start) + vec(&o.grid.items);
        prepared + grid + vec(&o.segments) + outer + tree + junctions
    }

    /// Whether area `i`'s bounding box meets the box `west, south, east, north`
    /// (degrees): what a tile asks before it projects an area's vertices.
    #[must_use]
    pub fn box_meets(&self, i: usize, [west, south, east, north]: [f64; 4]) -> bool {
        self.prepared.get(i).is_some_and(|p| {
            p.min.x <= east && p.max.x >= west && p.min.y <= north && p.max.y >= south
        })
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

    /// The areas, sorted by code; [`Assignment`] indices point into this slice.
    #[must_use]
    pub fn areas(&self) -> &[IndexedArea] {
        &self.areas
    }

    /// The area at an index returned by this index; `None` past the end.
    #[must_use]
    pub fn area(&self, i: u32) -> Option<&IndexedArea> {
        self.areas.get(i as usize)
    }

    /// The index of the area with this code, by binary search.
    #[must_use]
    pub fn position(&self, code: &str) -> Option<u32> {
        self.areas
            .binary_search_by(|a| a.code.as_str().cmp(code))
            .ok()
            .map(|i| i as u32)
    }

    /// The index of the village containing the point, under the border rule of
    /// [`AreaIndex::village_at`].
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    #[inline]
    pub fn locate(&self, p: LonLat) -> Option<u32> {
        locate_in(&self.grid, &self.prepared, Coord { x: p.lon, y: p.lat })
    }

    /// The village-level area containing the point.
    ///
    /// A point exactly on a border shared by several villages belongs to the one with
    /// the smallest code, so every point maps to at most one village. Points on the
    /// outer boundary belong to the village.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn village_at(&self, p: LonLat) -> Option<&IndexedArea> {
        self.locate(p).map(|i| &self.areas[i as usize])
    }

    /// The township code of the village containing the point (same border rule).
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn township_at(&self, p: LonLat) -> Option<&str> {
        self.village_at(p).map(|a| a.township_code.as_str())
    }

    /// Whether area `i` contains the point, its border included. `false` for an index
    /// past the end.
    ///
    /// # Units
    /// Degrees (WGS-84).
    #[must_use]
    pub fn contains(&self, i: u32, p: LonLat) -> bool {
        self.prepared.get(i as usize).is_some_and(|a| a.contains(p))
    }

    /// Distance from the point to area `i`: 0 inside or on its border, else to the
    /// nearest point of its boundary. `None` for an index past the end, an empty area
    /// or a non-finite point.
    ///
    /// # Units
    /// Degrees (WGS-84) in, metres out; see [`AreaIndex::nearest_village`] for the
    /// accuracy. O(edges of the area).
    #[must_use]
    pub fn distance_m(&self, i: u32, p: LonLat) -> Option<f64> {
        let area = self.prepared.get(i as usize)?;
        let c = Coord { x: p.lon, y: p.lat };
        if !c.x.is_finite() || !c.y.is_finite() {
            return None;
        }
        if area.locate_coord(c) != Location::Outside {
            return Some(0.0);
        }
        let (q, _) = area.nearest_boundary_point(c, self.kx)?;
        Some(haversine_m(c, q))
    }

    /// The village containing the point (distance 0), or else the village whose
    /// boundary is nearest, with the distance to it. `None` for a non-finite point or
    /// an index without areas.
    ///
    /// # Units
    /// Degrees (WGS-84) in; metres out.
    ///
    /// # Algorithm
    /// The nearest boundary segment is searched in a local equirectangular plane
    /// (x = longitude × cos φ₀, φ₀ the latitude at the centre of the areas): in a
    /// uniform grid of segments, ring by ring around the point's cell until the best
    /// distance is below the distance to the unscanned cells (see `SegmentGrid`); for a
    /// point too far for the grid, in an R-tree built on first need, whose
    /// branch-and-bound search stops once a node's box is farther than the best
    /// segment. Either way the exact distance costs O(1) per segment instead of
    /// O(edges) per village. Both hold
    /// only the outer segments, those with an area on one side only: a border shared by
    /// two villages has village on both sides, so it can never hold the boundary point
    /// nearest to a point outside them all (see `OuterBoundary`). Exact ties go to the
    /// smallest code: every segment at the least distance is compared, and a vertex
    /// where several villages' outer segments meet (nearest to a whole wedge of points)
    /// goes to the smallest of them. The metres reported are the haversine distance to
    /// the nearest point.
    ///
    /// # Notes
    /// Accuracy: haversine on a sphere is within 0.5 % of the WGS-84 ellipsoid. The
    /// plane only chooses the segment; across a county (±0.4° of latitude around 41.6°)
    /// it misjudges east–west distances by at most about 0.7 %, so a different village
    /// can win only when two boundaries are within that margin of each other. Far
    /// outside the areas (hundreds of kilometres) the choice is approximate.
    #[must_use]
    pub fn nearest_village(&self, p: LonLat) -> Option<(&IndexedArea, f64)> {
        if let Some(i) = self.locate(p) {
            return Some((&self.areas[i as usize], 0.0));
        }
        let (i, d) = self.nearest_outside(p)?;
        Some((&self.areas[i as usize], d))
    }

    /// Nearest boundary for a point known to be outside every area.
    fn nearest_outside(&self, p: LonLat) -> Option<(u32, f64)> {
        let c = Coord { x: p.lon, y: p.lat };
        if !c.x.is_finite() || !c.y.is_finite() {
            return None;
        }
        self.outer.nearest(c, self.kx)
    }

    /// Places one point: see [`AreaIndex::assign`].
    ///
    /// # Units
    /// Degrees (WGS-84); distances in metres.
    #[must_use]
    pub fn assign_one(&self, p: Option<LonLat>) -> Assignment {
        let Some(p) = p.filter(|p| p.lon.is_finite() && p.lat.is_finite()) else {
            return Assignment::NoPoint;
        };
        if let Some(village) = self.locate(p) {
            return Assignment::Inside { village };
        }
        match self.nearest_outside(p) {
            Some((nearest, distance_m)) => Assignment::Outside {
                nearest,
                distance_m,
            },
            None => Assignment::NoArea,
        }
    }

    /// Places every point: the village holding it, else the nearest village and the
    /// distance to it (see [`AreaIndex::nearest_village`]), in input order.
    ///
    /// # Units
    /// Degrees (WGS-84); distances in metres.
    ///
    /// # Algorithm
    /// Runs on the rayon pool in chunks of 4096 points. A point costs a grid lookup, and
    /// a few exact edge tests when its grid cell holds a border; a point outside every
    /// village also costs a nearest-segment search, O(log E). Above
    /// [`Self::SORT_ABOVE`] points, and when the index is larger than the caches
    /// (8 MB), they are cut into one piece a thread, and each piece is put in buckets
    /// along a Z curve over the grid (a counting sort, O(n)) and placed bucket by
    /// bucket, each answer written straight to its point's place: the points of a
    /// bucket read the same cells, strips and segments, which stay in the CPU's caches,
    /// instead of each point missing them in an index far larger than the caches.
    #[must_use]
    pub fn assign(&self, points: &[Option<LonLat>]) -> Vec<Assignment> {
        if !self.in_buckets || points.len() <= Self::SORT_ABOVE {
            return points
                .par_iter()
                .with_min_len(Self::ASSIGN_CHUNK)
                .map(|p| self.assign_one(*p))
                .collect();
        }
        self.assign_in_buckets(points)
    }

    /// [`AreaIndex::assign`] bucket by bucket (see there); the same answers. Each
    /// piece is sorted and placed by one task, into its own part of the answer, so
    /// that no step runs on one thread alone (a single sort and the putting back in
    /// input order each took a sixth of the time on one thread).
    fn assign_in_buckets(&self, points: &[Option<LonLat>]) -> Vec<Assignment> {
        if u32::try_from(points.len()).is_err() {
            return points.iter().map(|p| self.assign_one(*p)).collect();
        }
        let pieces = rayon::current_num_threads().clamp(1, points.len().div_ceil(Self::SORT_ABOVE));
        let len = points.len().div_ceil(pieces);
        let mut out = vec![Assignment::NoPoint; points.len()];
        out.par_chunks_mut(len)
            .zip(points.par_chunks(len))
            .for_each(|(out, points)| {
                let (sorted, off) = self.grid.bucket_order(points);
                for (lon, lat, i) in sorted {
                    out[i as usize] = self.assign_one(Some(LonLat::new(lon, lat)));
                }
                for i in off {
                    out[i as usize] = self.assign_one(points[i as usize]);
                }
            });
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::spatial::fixture;
    use geo::{Intersects, LineString, Polygon, Rect, coord};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::sync::OnceLock;

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

    /// The fixture county: outline and about 194 generated villages, built once.
    pub(crate) fn county_index() -> &'static (MultiPolygon<f64>, AreaIndex) {
        static INDEX: OnceLock<(MultiPolygon<f64>, AreaIndex)> = OnceLock::new();
        INDEX.get_or_init(|| {
            let county = fixture::county_outline();
            let areas = fixture::villages(&county, 7)
                .into_iter()
                .map(|(code, township_code, geometry)| IndexedArea {
                    code,
                    township_code,
                    geometry,
                })
                .collect();
            (county, AreaIndex::new(areas))
        })
    }

    /// The border rule by brute force: every area, geo's `Intersects`, smallest index.
    fn brute_village(index: &AreaIndex, p: LonLat) -> Option<u32> {
        let point = Point::new(p.lon, p.lat);
        (0..index.len() as u32).find(|&i| index.areas[i as usize].geometry.intersects(&point))
    }

    /// The nearest boundary by brute force over every edge of every area.
    fn brute_nearest(index: &AreaIndex, p: LonLat) -> Vec<(u32, f64)> {
        let c = Coord { x: p.lon, y: p.lat };
        index
            .prepared
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                a.nearest_boundary_point(c, index.kx)
                    .map(|(_, d2)| (i as u32, d2.sqrt()))
            })
            .collect()
    }

    /// The areas nearest `p` by brute force: every one within rounding of the best
    /// distance, smallest index first (each is a fair answer; the first is expected),
    /// and that distance (in the local plane's degrees).
    fn brute_winners(index: &AreaIndex, p: LonLat) -> (Vec<u32>, f64) {
        let all = brute_nearest(index, p);
        let best = all.iter().map(|&(_, d)| d).fold(f64::INFINITY, f64::min);
        let winners = all
            .iter()
            .filter(|&&(_, d)| d <= best * (1.0 + 1e-9))
            .map(|&(i, _)| i)
            .collect();
        (winners, best)
    }

    // Edge cases first.

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = AreaIndex::new(vec![]);
        assert!(index.is_empty());
        assert!(index.village_at(LonLat::new(125.0, 41.7)).is_none());
        assert!(index.nearest_village(LonLat::new(125.0, 41.7)).is_none());
        assert_eq!(
            index.assign(&[Some(LonLat::new(125.0, 41.7)), None]),
            vec![Assignment::NoArea, Assignment::NoPoint]
        );
        assert!(index.area(0).is_none());
    }

    #[test]
    fn assigning_no_points_gives_no_assignments() {
        let index = AreaIndex::new(vec![square("210422100201", 0.0, 0.0, 1.0)]);
        assert!(index.assign(&[]).is_empty());
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
        // The shared corner too.
        assert_eq!(index.locate(LonLat::new(1.0, 1.0)), Some(0));
    }

    #[test]
    fn a_point_on_a_shared_diagonal_border_goes_to_the_smaller_code() {
        // Two triangles split a square along a diagonal whose points are not exactly
        // representable: the exact predicate must still see (1/3, 1/3) on both.
        let tri = |code: &str, pts: [(f64, f64); 3]| IndexedArea {
            code: code.into(),
            township_code: code[..9].into(),
            geometry: MultiPolygon::new(vec![Polygon::new(LineString::from(pts.to_vec()), vec![])]),
        };
        let index = AreaIndex::new(vec![
            tri("210422100202", [(0.0, 0.0), (3.0, 3.0), (0.0, 3.0)]),
            tri("210422100201", [(0.0, 0.0), (3.0, 0.0), (3.0, 3.0)]),
        ]);
        assert_eq!(index.locate(LonLat::new(1.0, 1.0)), Some(0));
        assert_eq!(index.locate(LonLat::new(1.0, 1.5)), Some(1));
        assert_eq!(index.locate(LonLat::new(1.5, 1.0)), Some(0));
    }

    #[test]
    fn a_point_on_the_outer_boundary_is_inside() {
        let index = AreaIndex::new(vec![square("210422100201", 0.0, 0.0, 1.0)]);
        assert_eq!(index.locate(LonLat::new(0.0, 0.5)), Some(0));
        assert_eq!(index.locate(LonLat::new(0.5, 0.0)), Some(0));
        assert_eq!(index.locate(LonLat::new(1.0, 1.0)), Some(0));
        assert_eq!(index.locate(LonLat::new(1.0 + 1e-12, 1.0)), None);
    }

    #[test]
    fn a_hole_is_outside_but_its_rim_is_inside() {
        let outer = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 4.0, y: 4.0 }).to_polygon();
        let hole = Rect::new(coord! { x: 1.0, y: 1.0 }, coord! { x: 3.0, y: 3.0 }).to_polygon();
        let ring = Polygon::new(outer.exterior().clone(), vec![hole.exterior().clone()]);
        let inner = square("210422100202", 1.0, 1.0, 2.0);
        let index = AreaIndex::new(vec![
            IndexedArea {
                code: "210422100201".into(),
                township_code: "210422100".into(),
                geometry: MultiPolygon::new(vec![ring]),
            },
            inner,
        ]);
        assert_eq!(index.locate(LonLat::new(0.5, 0.5)), Some(0));
        assert_eq!(
            index.locate(LonLat::new(2.0, 2.0)),
            Some(1),
            "the hole holds the other village"
        );
        assert_eq!(
            index.locate(LonLat::new(1.0, 2.0)),
            Some(0),
            "the rim is shared: smaller code"
        );
        let alone = AreaIndex::new(vec![index.areas[0].clone()]);
        assert_eq!(alone.locate(LonLat::new(2.0, 2.0)), None);
        let (_, d) = alone.nearest_village(LonLat::new(2.0, 2.0)).unwrap();
        assert!(d > 0.0);
        assert!(
            (d - 1.0 * METRES_PER_DEGREE).abs() < 0.01 * METRES_PER_DEGREE,
            "{d}"
        );
    }

    #[test]
    fn non_finite_points_and_areas_are_handled() {
        let index = AreaIndex::new(vec![
            square("210422100201", 0.0, 0.0, 1.0),
            square("210422100202", f64::NAN, 0.0, 1.0),
        ]);
        assert_eq!(index.locate(LonLat::new(f64::NAN, 0.5)), None);
        assert_eq!(
            index.assign_one(Some(LonLat::new(0.5, f64::INFINITY))),
            Assignment::NoPoint
        );
        assert_eq!(index.locate(LonLat::new(0.5, 0.5)), Some(0));
        assert!(matches!(
            index.assign_one(Some(LonLat::new(3.0, 0.5))),
            Assignment::Outside { nearest: 0, .. }
        ));
    }

    #[test]
    fn an_outside_point_is_measured_to_the_nearest_boundary() {
        let index = AreaIndex::new(vec![
            square("210422100201", 125.0, 41.0, 0.1),
            square("210422100202", 125.2, 41.0, 0.1),
        ]);
        // 0.01° of latitude north of the first square.
        let p = LonLat::new(125.05, 41.11);
        let Assignment::Outside {
            nearest,
            distance_m,
        } = index.assign_one(Some(p))
        else {
            panic!("expected outside");
        };
        assert_eq!(nearest, 0);
        approx::assert_relative_eq!(distance_m, 0.01 * METRES_PER_DEGREE, max_relative = 1e-6);
        // Halfway between two squares, exactly (all values representable, and centred on
        // the equator so that the plane's x scale is exactly 1): a tie, which goes to
        // the smaller code.
        let apart = AreaIndex::new(vec![
            square("210422100202", 2.0, -0.5, 1.0),
            square("210422100201", 0.0, -0.5, 1.0),
        ]);
        let Assignment::Outside { nearest, .. } = apart.assign_one(Some(LonLat::new(1.5, 0.25)))
        else {
            panic!("expected outside");
        };
        assert_eq!(nearest, 0);
        // And at a vertex both touch: the corner shared by two squares.
        let corner = AreaIndex::new(vec![
            square("210422100202", 1.0, 0.0, 1.0),
            square("210422100201", 0.0, 0.0, 1.0),
        ]);
        let Assignment::Outside {
            nearest,
            distance_m,
        } = corner.assign_one(Some(LonLat::new(1.0, 1.5)))
        else {
            panic!("expected outside");
        };
        assert_eq!(nearest, 0);
        approx::assert_relative_eq!(distance_m, 0.5 * METRES_PER_DEGREE, max_relative = 1e-6);
        assert_eq!(index.distance_m(0, LonLat::new(125.05, 41.05)), Some(0.0));
        let d = index.distance_m(1, LonLat::new(125.15, 41.05)).unwrap();
        approx::assert_relative_eq!(
            d,
            0.05 * METRES_PER_DEGREE * 41.05_f64.to_radians().cos(),
            max_relative = 1e-3
        );
    }

    #[test]
    fn township_and_area_lookups_agree() {
        let index = AreaIndex::new(vec![
            square("210422101201", 1.0, 0.0, 1.0),
            square("210422100201", 0.0, 0.0, 1.0),
        ]);
        assert_eq!(index.township_at(LonLat::new(1.5, 0.5)), Some("210422101"));
        assert_eq!(index.position("210422101201"), Some(1));
        assert_eq!(index.position("210422999999"), None);
        assert_eq!(index.area(1).map(|a| a.code.as_str()), Some("210422101201"));
        assert!(index.contains(0, LonLat::new(1.0, 0.0)));
        assert!(!index.contains(7, LonLat::new(1.0, 0.0)));
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "the squares' corners are exact")]
    fn shared_borders_are_left_out_of_the_nearest_search() {
        // A 2 × 2 tiling of unit squares: 16 edges, of which 8 make the outline.
        let index = AreaIndex::new(
            (0..4_i32)
                .map(|k| {
                    square(
                        &format!("21042210020{k}"),
                        f64::from(k % 2),
                        f64::from(k / 2),
                        1.0,
                    )
                })
                .collect(),
        );
        assert_eq!(index.outer.segments.len(), 8);
        assert!(index.outer.segments.iter().all(|s| {
            [s.a, s.b]
                .iter()
                .any(|c| c.x == 0.0 || c.x == 2.0 || c.y == 0.0 || c.y == 2.0)
                && (s.a.x == s.b.x && (s.a.x == 0.0 || s.a.x == 2.0)
                    || s.a.y == s.b.y && (s.a.y == 0.0 || s.a.y == 2.0))
        }));
    }

    /// Whether no outer segment runs along the vertical line at `x`.
    #[expect(clippy::float_cmp, reason = "the squares' corners are exact")]
    fn no_outer_segment_along_x(index: &AreaIndex, x: f64) -> bool {
        index
            .outer
            .segments
            .iter()
            .all(|s| !(s.a.x == x && s.b.x == x))
    }

    #[test]
    fn copies_of_a_border_are_shared_only_with_a_reverse_among_them() {
        // Two copies of one square (an overlap: their edges run the same way, so
        // neither copy's edges are shared with the other) and a square to their right:
        // the border with it is there three times, twice one way and once the other,
        // and all three are shared. The outline is the copies' three other edges each
        // and the right square's three.
        let index = AreaIndex::new(vec![
            square("210422100201", 0.0, 0.0, 1.0),
            square("210422100202", 0.0, 0.0, 1.0),
            square("210422100203", 1.0, 0.0, 1.0),
        ]);
        assert_eq!(index.outer.segments.len(), 9);
        assert!(no_outer_segment_along_x(&index, 1.0));
        // West of the copies: the smaller code, 1 km to the west of the border.
        let Assignment::Outside {
            nearest,
            distance_m,
        } = index.assign_one(Some(LonLat::new(-0.01, 0.5)))
        else {
            panic!("a point west of the squares is outside them");
        };
        assert_eq!(index.areas()[nearest as usize].code, "210422100201");
        assert!(
            (distance_m - 0.01 * METRES_PER_DEGREE).abs() < 2.0,
            "{distance_m}"
        );
    }

    #[test]
    fn repeated_vertices_are_in_no_outline() {
        // Two unit squares side by side, each with its corners repeated (segments of
        // no length, at the shared corners among them): the outline is the six outer
        // edges, with no segment of no length and nothing of the shared border.
        let doubled = |code: &str, x0: f64| {
            let ring: Vec<Coord<f64>> = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
                .iter()
                .flat_map(|&(x, y)| [coord! { x: x0 + x, y: y }, coord! { x: x0 + x, y: y }])
                .chain(std::iter::once(coord! { x: x0, y: 0.0 }))
                .collect();
            IndexedArea {
                code: code.into(),
                township_code: code[..9].into(),
                geometry: MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])]),
            }
        };
        let index = AreaIndex::new(vec![
            doubled("210422100201", 0.0),
            doubled("210422100202", 1.0),
        ]);
        assert_eq!(index.outer.segments.len(), 6);
        assert!(index.outer.segments.iter().all(|s| s.a != s.b));
        assert!(no_outer_segment_along_x(&index, 1.0));
        assert_eq!(
            index.assign_one(Some(LonLat::new(1.0, 0.5))),
            Assignment::Inside { village: 0 }
        );
    }

    #[test]
    fn the_index_takes_under_half_a_kilobyte_a_vertex() {
        let (_, index) = county_index();
        let vertices: usize = index.prepared.iter().map(PreparedPolygon::edge_count).sum();
        let bytes = index.heap_bytes();
        assert!(
            bytes > 0 && bytes < 512 * vertices,
            "{bytes} bytes for {vertices} vertices"
        );
    }

    #[test]
    fn far_points_are_measured_by_the_tree_as_by_brute_force() {
        // Far beyond the segment grid's rings: the R-tree answers, built on first need.
        let (county, index) = county_index();
        let c = geo::Centroid::centroid(county).unwrap();
        for (dx, dy) in [
            (3.0, 0.0),
            (-2.5, 1.0),
            (0.5, -4.0),
            (0.0, 2.0),
            (-1.5, -1.5),
        ] {
            let p = LonLat::new(c.x() + dx, c.y() + dy);
            let Assignment::Outside {
                nearest,
                distance_m,
            } = index.assign_one(Some(p))
            else {
                panic!("{p:?} is far outside");
            };
            let (winners, _) = brute_winners(index, p);
            assert_eq!(Some(&nearest), winners.first(), "{p:?}: {winners:?}");
            approx::assert_relative_eq!(
                index.distance_m(nearest, p).unwrap(),
                distance_m,
                max_relative = 1e-9
            );
        }
        assert!(index.outer.tree.get().is_some());
    }

    #[test]
    fn assigning_in_buckets_gives_the_same_answers() {
        let (county, index) = county_index();
        let bbox = geo::BoundingRect::bounding_rect(county).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0004);
        let mut points: Vec<Option<LonLat>> = (0..AreaIndex::SORT_ABOVE + 5000)
            .map(|_| {
                Some(LonLat::new(
                    rng.random_range(bbox.min().x - 0.3..bbox.max().x + 0.3),
                    rng.random_range(bbox.min().y - 0.3..bbox.max().y + 0.3),
                ))
            })
            .collect();
        points[7] = None;
        points[11] = Some(LonLat::new(f64::NAN, 41.0));
        points[13] = Some(LonLat::new(0.0, 0.0));
        // The last bucket (the grid's corner) and just beyond it.
        points[17] = Some(LonLat::new(index.grid.max.x, index.grid.max.y));
        points[19] = Some(LonLat::new(index.grid.max.x + 1e-9, index.grid.max.y));
        let expected: Vec<Assignment> = points.iter().map(|p| index.assign_one(*p)).collect();
        assert_eq!(index.assign_in_buckets(&points), expected);
    }

    // Oracles against brute force on the fixture county.

    #[test]
    fn village_at_matches_brute_force_on_the_county() {
        let (county, index) = county_index();
        let bbox = geo::BoundingRect::bounding_rect(county).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0001);
        for _ in 0..4000 {
            let p = LonLat::new(
                rng.random_range(bbox.min().x - 0.05..bbox.max().x + 0.05),
                rng.random_range(bbox.min().y - 0.05..bbox.max().y + 0.05),
            );
            assert_eq!(index.locate(p), brute_village(index, p), "at {p:?}");
        }
    }

    #[test]
    fn border_vertices_go_to_the_smallest_code_that_touches_them() {
        let (_, index) = county_index();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0002);
        for _ in 0..400 {
            let area = &index.areas[rng.random_range(0..index.len())];
            let outline = &area.geometry.0[0].exterior().0;
            let v = outline[rng.random_range(0..outline.len())];
            let p = LonLat::new(v.x, v.y);
            assert_eq!(index.locate(p), brute_village(index, p), "at vertex {p:?}");
            // Midpoints of edges are on the border up to rounding: compare anyway.
            let w = outline[(outline.iter().position(|c| *c == v).unwrap() + 1) % outline.len()];
            let m = LonLat::new(f64::midpoint(v.x, w.x), f64::midpoint(v.y, w.y));
            assert_eq!(
                index.locate(m),
                brute_village(index, m),
                "at midpoint {m:?}"
            );
        }
    }

    #[test]
    fn assign_finds_the_nearest_village_as_brute_force_does() {
        let (county, index) = county_index();
        let bbox = geo::BoundingRect::bounding_rect(county).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0003);
        let points: Vec<Option<LonLat>> = (0..3000)
            .map(|_| {
                Some(LonLat::new(
                    rng.random_range(bbox.min().x - 0.3..bbox.max().x + 0.3),
                    rng.random_range(bbox.min().y - 0.3..bbox.max().y + 0.3),
                ))
            })
            .collect();
        let placed = index.assign(&points);
        let mut outside = 0;
        for (p, a) in points.iter().zip(&placed) {
            let p = p.unwrap();
            match *a {
                Assignment::Inside { village } => {
                    assert_eq!(Some(village), brute_village(index, p));
                }
                Assignment::Outside {
                    nearest,
                    distance_m,
                } => {
                    outside += 1;
                    assert_eq!(brute_village(index, p), None);
                    let (winners, best) = brute_winners(index, p);
                    assert_eq!(Some(&nearest), winners.first(), "{p:?}: {winners:?}");
                    // The reported metres are haversine: within 1 % of the plane's.
                    approx::assert_relative_eq!(
                        distance_m,
                        best * METRES_PER_DEGREE,
                        max_relative = 0.01
                    );
                    approx::assert_relative_eq!(
                        index.distance_m(nearest, p).unwrap(),
                        distance_m,
                        max_relative = 1e-9
                    );
                }
                Assignment::NoPoint | Assignment::NoArea => panic!("{p:?} got {a:?}"),
            }
        }
        assert!(
            outside > 500,
            "the sample must exercise the nearest search: {outside}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        /// Random polygons with holes: the prepared test equals geo's, point by point.
        #[test]
        fn prepared_polygons_locate_as_geo_does(seed in any::<u64>()) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let star = |rng: &mut ChaCha8Rng, cx: f64, cy: f64, r: f64, n: usize| -> LineString<f64> {
                // A star-shaped ring, snapped to a coarse lattice so that vertices and
                // edges are often hit exactly by the sampled points.
                (0..n).map(|k| {
                    let t = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * rng.random_range(0.3..1.0);
                    coord! { x: ((cx + rr * t.cos()) * 8.0).round() / 8.0, y: ((cy + rr * t.sin()) * 8.0).round() / 8.0 }
                }).collect()
            };
            let vertices = rng.random_range(3..40);
            let outer = star(&mut rng, 0.0, 0.0, 10.0, vertices);
            let hole = star(&mut rng, 0.0, 0.0, 2.0, 6);
            let polygon = MultiPolygon::new(vec![Polygon::new(outer, vec![hole])]);
            let prepared = PreparedPolygon::new(&polygon);
            for _ in 0..300 {
                let p = if rng.random_bool(0.5) {
                    coord! { x: f64::from(rng.random_range(-88..88_i32)) / 8.0, y: f64::from(rng.random_range(-88..88_i32)) / 8.0 }
                } else {
                    coord! { x: rng.random_range(-11.0..11.0), y: rng.random_range(-11.0..11.0) }
                };
                let expected = geo::coordinate_position::CoordinatePosition::coordinate_position(&polygon, &p);
                let expected = match expected {
                    geo::coordinate_position::CoordPos::Inside => Location::Inside,
                    geo::coordinate_position::CoordPos::OnBoundary => Location::Boundary,
                    geo::coordinate_position::CoordPos::Outside => Location::Outside,
                };
                prop_assert_eq!(prepared.locate_coord(p), expected, "at {:?}", p);
            }
        }

        /// Random tilings of squares: the index equals the brute-force border rule,
        /// including on lattice points that are vertices and borders.
        #[test]
        fn village_at_equals_brute_force_on_square_tilings(seed in any::<u64>(), n in 1_usize..6) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // Codes in random order, so that the smallest code is anywhere.
            let mut codes: Vec<usize> = (0..n * n).collect();
            rand::seq::SliceRandom::shuffle(codes.as_mut_slice(), &mut rng);
            let mut areas = Vec::new();
            for i in 0..n {
                for j in 0..n {
                    if rng.random_bool(0.8) {
                        areas.push(square(&format!("210422100{:03}", codes[i * n + j]), i as f64, j as f64, 1.0));
                    }
                }
            }
            let index = AreaIndex::new(areas);
            for _ in 0..200 {
                let p = LonLat::new(
                    f64::from(rng.random_range(-2..=(4 * n as i32 + 2))) / 4.0,
                    f64::from(rng.random_range(-2..=(4 * n as i32 + 2))) / 4.0,
                );
                prop_assert_eq!(index.locate(p), brute_village(&index, p), "at {:?}", p);
            }
        }
    }
}
