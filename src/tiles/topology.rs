//! Boundaries simplified once per zoom without tearing neighbours apart.
//!
//! Simplifying each area on its own moves the two copies of a shared edge differently,
//! so slivers and gaps open between neighbours. Here the rings of every area of a layer
//! are first put on one fine integer grid in Web Mercator (so that a vertex two areas
//! share is one point), then cut into arcs at the vertices where the set of neighbours
//! changes (three areas meet, or a shared edge ends). Each arc is simplified with
//! Ramer–Douglas–Peucker in one canonical direction, so both copies of a shared arc
//! come out vertex for vertex the same, and the rings are put back together.
//!
//! Coordinates are grid units: a Web Mercator world fraction times 2^[`GRID_BITS`]
//! (x east, y south), which a tile turns into its own units with one multiplication.

use std::collections::HashMap;

use geo::{Coord, LineString, MultiPolygon, Polygon, Simplify};

use crate::spatial::mercator::{lat_to_fraction, lon_to_fraction};

/// Grid units across the world are 2^`GRID_BITS`: about 36 µm at the equator, a
/// thousandth of a tile unit at zoom 18 with an extent of 4096.
pub const GRID_BITS: u32 = 40;

/// Tile units per tile side that simplification is measured in (2^12 = 4096).
const EXTENT_BITS: u32 = 12;

/// One point of the grid.
type GridPoint = [i64; 2];

/// A ring's points on the grid and each point's id (the same for the same point
/// in every ring).
type KeyedRing = (Vec<GridPoint>, Vec<u32>);

/// A ring on the grid, closed implicitly (no repeated last point), with the indices
/// of its vertices where arcs start.
#[derive(Debug, Clone)]
struct Ring {
    points: Vec<GridPoint>,
    /// Ascending; empty when the ring meets no other ring (an island, or a ring that
    /// one enclave shares whole).
    cuts: Vec<usize>,
}

/// The rings of every area of a layer, cut into arcs: what the zooms' simplified
/// forms are made from, once per data version.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Per area, per polygon, the exterior ring then the holes.
    areas: Vec<Vec<Vec<Ring>>>,
}

/// A layer's areas simplified for one zoom, in grid units.
#[derive(Debug, Clone, Default)]
pub struct Simplified {
    /// Per area, in the order given to [`Topology::new`]; empty when it had no ring.
    pub areas: Vec<MultiPolygon<f64>>,
    /// Per area, its bounding box in grid units: `[min x, min y, max x, max y]` (y
    /// south), or NaN for an empty area.
    pub boxes: Vec<[f64; 4]>,
}

/// Up to two distinct neighbours of a vertex, and whether it has more (a junction).
#[derive(Debug, Clone, Copy, Default)]
struct Neighbours {
    seen: [u32; 2],
    count: u8,
    junction: bool,
}

impl Neighbours {
    fn see(&mut self, other: u32) {
        if self.junction || self.seen[..usize::from(self.count)].contains(&other) {
            return;
        }
        if self.count < 2 {
            self.seen[usize::from(self.count)] = other;
            self.count += 1;
        } else {
            self.junction = true;
        }
    }
}

/// A WGS-84 position on the grid.
fn to_grid(c: Coord<f64>) -> GridPoint {
    let scale = (1_u64 << GRID_BITS) as f64;
    [
        (lon_to_fraction(c.x) * scale).round() as i64,
        (lat_to_fraction(c.y) * scale).round() as i64,
    ]
}

/// A ring's distinct vertices on the grid, without the closing repeat.
fn grid_ring(ring: &LineString<f64>) -> Vec<GridPoint> {
    let mut out: Vec<GridPoint> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Vec::new();
        }
        let p = to_grid(*c);
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

impl Topology {
    /// Puts the areas (WGS-84 longitude/latitude) on the grid and finds where their
    /// rings' arcs start.
    ///
    /// # Algorithm
    /// Each distinct grid point collects the distinct points next to it in every ring;
    /// a point with more than two is a junction. Linear in the vertices (one hash map).
    #[must_use]
    pub fn new<'a>(areas: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> Self {
        let mut ids: HashMap<GridPoint, u32> = HashMap::new();
        // Per area, per polygon, per ring: its points and their ids.
        let mut grid: Vec<Vec<Vec<KeyedRing>>> = Vec::new();
        for area in areas {
            let mut polygons = Vec::with_capacity(area.0.len());
            for polygon in &area.0 {
                let mut rings = Vec::new();
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    let points = grid_ring(ring);
                    if points.len() < 3 {
                        continue;
                    }
                    let keys = points
                        .iter()
                        .map(|&q| {
                            let next = ids.len() as u32;
                            *ids.entry(q).or_insert(next)
                        })
                        .collect();
                    rings.push((points, keys));
                }
                polygons.push(rings);
            }
            grid.push(polygons);
        }
        let mut nodes = vec![Neighbours::default(); ids.len()];
        for (_, keys) in grid.iter().flatten().flatten() {
            let n = keys.len();
            for i in 0..n {
                let here = keys[i] as usize;
                nodes[here].see(keys[(i + n - 1) % n]);
                nodes[here].see(keys[(i + 1) % n]);
            }
        }
        let ring = |(points, keys): KeyedRing| Ring {
            points,
            cuts: keys
                .iter()
                .enumerate()
                .filter(|(_, k)| nodes[**k as usize].junction)
                .map(|(i, _)| i)
                .collect(),
        };
        let areas = grid
            .into_iter()
            .map(|polygons| {
                polygons
                    .into_iter()
                    .map(|rings| rings.into_iter().map(&ring).collect())
                    .collect()
            })
            .collect();
        Self { areas }
    }

    /// Areas held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether no area is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Every area simplified for zoom `z`, shared arcs alike in all areas that have
    /// them.
    ///
    /// # Units
    /// `tolerance_units` is in tile units at zoom `z` with an extent of 4096 (about one
    /// is invisible on screen). The result is in grid units.
    ///
    /// # Notes
    /// A ring left with fewer than three distinct corners is dropped, and a polygon
    /// whose exterior is dropped goes with its holes. An area that would lose every
    /// polygon keeps its unsimplified rings instead, so that nothing visible vanishes
    /// from a map because it is narrow. Simplification can still make two arcs cross
    /// where they run closer than the tolerance; tiles tolerate that (see [`super::mvt`]).
    #[must_use]
    pub fn simplified(&self, z: u8, tolerance_units: f64) -> Simplified {
        let shift = GRID_BITS.saturating_sub(EXTENT_BITS + u32::from(z));
        let tolerance = tolerance_units * (1_u64 << shift) as f64;
        let areas: Vec<MultiPolygon<f64>> = self
            .areas
            .iter()
            .map(|polygons| {
                let simplified = assemble(polygons, |r| simplify_ring(r, tolerance));
                if simplified.0.is_empty() {
                    assemble(polygons, |r| {
                        Some(r.points.iter().map(|&p| coord(p)).collect())
                    })
                } else {
                    simplified
                }
            })
            .collect();
        let boxes = areas.iter().map(grid_box).collect();
        Simplified { areas, boxes }
    }
}

/// The polygons of an area, each ring made by `ring`; a polygon without an exterior
/// is left out.
fn assemble(
    polygons: &[Vec<Ring>],
    ring: impl Fn(&Ring) -> Option<Vec<Coord<f64>>>,
) -> MultiPolygon<f64> {
    let closed = |mut r: Vec<Coord<f64>>| {
        r.push(r[0]);
        LineString(r)
    };
    MultiPolygon(
        polygons
            .iter()
            .filter_map(|rings| {
                let (exterior, holes) = rings.split_first()?;
                let exterior = ring(exterior)?;
                let holes = holes.iter().filter_map(&ring).map(closed).collect();
                Some(Polygon::new(closed(exterior), holes))
            })
            .collect(),
    )
}

fn coord(p: GridPoint) -> Coord<f64> {
    Coord {
        x: p[0] as f64,
        y: p[1] as f64,
    }
}

/// The bounding box of an area in grid units, NaN when empty.
fn grid_box(area: &MultiPolygon<f64>) -> [f64; 4] {
    geo::BoundingRect::bounding_rect(area).map_or([f64::NAN; 4], |r| {
        [r.min().x, r.min().y, r.max().x, r.max().y]
    })
}

/// One ring simplified arc by arc, without its closing repeat; `None` when fewer
/// than three distinct corners remain.
fn simplify_ring(ring: &Ring, tolerance: f64) -> Option<Vec<Coord<f64>>> {
    let n = ring.points.len();
    let mut out: Vec<GridPoint> = Vec::with_capacity(n);
    if ring.cuts.is_empty() {
        // A loop that meets nothing, or that one other ring shares whole: started at its
        // least point and run in one direction whichever ring it comes from, then cut in
        // two at the point farthest from the start.
        let start = (0..n).min_by_key(|&i| ring.points[i]).unwrap_or(0);
        let mut canonical: Vec<GridPoint> = (0..n).map(|i| ring.points[(start + i) % n]).collect();
        if canonical[1] > canonical[n - 1] {
            canonical[1..].reverse();
        }
        let far = farthest(&canonical);
        canonical.push(canonical[0]);
        out.extend(simplify_arc(&canonical[..=far], tolerance));
        out.pop();
        out.extend(simplify_arc(&canonical[far..], tolerance));
    } else {
        let cuts = &ring.cuts;
        for (k, &from) in cuts.iter().enumerate() {
            let to = cuts.get(k + 1).copied().unwrap_or(cuts[0] + n);
            let arc: Vec<GridPoint> = (from..=to).map(|i| ring.points[i % n]).collect();
            out.pop();
            out.extend(simplify_arc(&arc, tolerance));
        }
    }
    // The last point closes the ring onto the first.
    out.pop();
    out.dedup();
    let mut distinct = out.clone();
    distinct.sort_unstable();
    distinct.dedup();
    (distinct.len() >= 3).then(|| out.into_iter().map(coord).collect())
}

/// The index of the point farthest from the first (squared distances; the first of
/// equals).
fn farthest(points: &[GridPoint]) -> usize {
    let d2 = |p: &GridPoint| {
        let (dx, dy) = ((p[0] - points[0][0]) as f64, (p[1] - points[0][1]) as f64);
        dx * dx + dy * dy
    };
    let mut best = (0, -1.0);
    for (i, p) in points.iter().enumerate() {
        let d = d2(p);
        if d > best.1 {
            best = (i, d);
        }
    }
    best.0
}

/// An arc simplified in its canonical direction (from the lesser end, or for an arc
/// that starts and ends at one point, towards the lesser second point), returned in
/// the direction given: both rings that share an arc get the same points.
fn simplify_arc(arc: &[GridPoint], tolerance: f64) -> Vec<GridPoint> {
    let n = arc.len();
    let reversed = if arc[0] == arc[n - 1] {
        n > 2 && arc[1] > arc[n - 2]
    } else {
        arc[0] > arc[n - 1]
    };
    let line: LineString<f64> = if reversed {
        arc.iter().rev().map(|&p| coord(p)).collect()
    } else {
        arc.iter().map(|&p| coord(p)).collect()
    };
    let mut kept: Vec<GridPoint> = line
        .simplify(tolerance)
        .0
        .into_iter()
        .map(|c| [c.x as i64, c.y as i64])
        .collect();
    if reversed {
        kept.reverse();
    }
    kept
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A polygon from lon/lat corners.
    fn poly(points: &[(f64, f64)]) -> MultiPolygon<f64> {
        let mut ring: Vec<Coord<f64>> = points.iter().map(|&(x, y)| Coord { x, y }).collect();
        ring.push(ring[0]);
        MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
    }

    /// Two villages side by side sharing a wiggly edge from (0, 0) to (0, 0.1) in
    /// degrees, each with its own outer side.
    fn neighbours(wiggle: &[f64]) -> (MultiPolygon<f64>, MultiPolygon<f64>) {
        let n = wiggle.len();
        let edge: Vec<(f64, f64)> = (0..=n + 1)
            .map(|i| {
                let t = i as f64 / (n + 1) as f64;
                let w = if i == 0 || i == n + 1 {
                    0.0
                } else {
                    wiggle[i - 1]
                };
                (100.0 + w, 25.0 + 0.1 * t)
            })
            .collect();
        let mut west: Vec<(f64, f64)> = edge.clone();
        west.extend([(99.9, 25.1), (99.9, 25.0)]);
        let mut east: Vec<(f64, f64)> = edge.into_iter().rev().collect();
        east.extend([(100.1, 25.0), (100.1, 25.1)]);
        (poly(&west), poly(&east))
    }

    /// The points of `a` that are also in `b`, in `a`'s order starting after a point
    /// that is not shared.
    fn shared_run(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> Vec<(i64, i64)> {
        let key = |c: &Coord<f64>| (c.x as i64, c.y as i64);
        let bs: std::collections::HashSet<(i64, i64)> =
            b.0[0].exterior().0.iter().map(key).collect();
        let ring: Vec<(i64, i64)> = a.0[0].exterior().0.iter().map(key).collect();
        let ring = &ring[..ring.len() - 1];
        let start = ring.iter().position(|p| !bs.contains(p)).unwrap();
        (0..ring.len())
            .map(|i| ring[(start + i) % ring.len()])
            .filter(|p| bs.contains(p))
            .collect()
    }

    #[test]
    fn no_area_gives_nothing() {
        let t = Topology::new(std::iter::empty());
        assert!(t.is_empty());
        assert!(t.simplified(8, 1.0).areas.is_empty());
    }

    #[test]
    fn a_lone_triangle_stays_a_triangle() {
        let t = Topology::new([&poly(&[(100.0, 25.0), (100.1, 25.0), (100.05, 25.1)])]);
        let s = t.simplified(10, 1.0);
        assert_eq!(s.areas[0].0[0].exterior().0.len(), 4);
        assert!(s.boxes[0].iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_speck_keeps_its_rings_rather_than_vanish() {
        let t = Topology::new([&poly(&[
            (100.0, 25.0),
            (100.000_001, 25.0),
            (100.0, 25.000_001),
        ])]);
        assert_eq!(t.simplified(5, 1.0).areas[0].0.len(), 1);
    }

    #[test]
    fn an_enclave_and_its_hole_stay_the_same_ring() {
        let hole: Vec<(f64, f64)> = (0..50)
            .map(|i| {
                let a = f64::from(i) / 50.0 * std::f64::consts::TAU;
                let r = 0.01 * (1.0 + 0.05 * (a * 7.0).sin());
                (100.05 + r * a.cos(), 25.05 + r * a.sin())
            })
            .collect();
        let mut ring: Vec<Coord<f64>> = hole.iter().map(|&(x, y)| Coord { x, y }).collect();
        ring.push(ring[0]);
        let outer = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (100.0, 25.0),
                (100.1, 25.0),
                (100.1, 25.1),
                (100.0, 25.1),
                (100.0, 25.0),
            ]),
            vec![LineString(ring.iter().rev().copied().collect())],
        )]);
        let inner = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
        let t = Topology::new([&outer, &inner]);
        for z in 6..=16 {
            let simplified = t.simplified(z, 1.0);
            let sorted = |ring: &LineString<f64>| {
                let mut points: Vec<(i64, i64)> =
                    ring.0.iter().map(|c| (c.x as i64, c.y as i64)).collect();
                points.pop();
                points.sort_unstable();
                points
            };
            assert_eq!(
                sorted(&simplified.areas[0].0[0].interiors()[0]),
                sorted(simplified.areas[1].0[0].exterior()),
                "zoom {z}"
            );
        }
    }

    #[test]
    fn three_areas_meeting_keep_the_junction() {
        let west = poly(&[
            (100.0, 25.0),
            (100.05, 25.0),
            (100.05, 25.05),
            (100.0, 25.1),
        ]);
        let east = poly(&[
            (100.05, 25.0),
            (100.1, 25.0),
            (100.1, 25.1),
            (100.05, 25.05),
        ]);
        let north = poly(&[(100.0, 25.1), (100.05, 25.05), (100.1, 25.1)]);
        let t = Topology::new([&west, &east, &north]);
        let s = t.simplified(4, 1.0);
        let j = to_grid(Coord {
            x: 100.05,
            y: 25.05,
        });
        for area in &s.areas {
            assert!(
                area.0[0]
                    .exterior()
                    .0
                    .iter()
                    .any(|c| [c.x as i64, c.y as i64] == j)
            );
        }
    }

    proptest! {
        /// Two neighbours' shared edge is the same points (in opposite order) after
        /// simplification at every zoom, however it wiggles.
        #[test]
        fn neighbours_keep_one_shared_edge_at_every_zoom(
            wiggle in proptest::collection::vec(-0.02_f64..0.02, 1..400)
        ) {
            let (west, east) = neighbours(&wiggle);
            let t = Topology::new([&west, &east]);
            for z in 0..=18 {
                let s = t.simplified(z, 1.0);
                let a = shared_run(&s.areas[0], &s.areas[1]);
                let mut b = shared_run(&s.areas[1], &s.areas[0]);
                b.reverse();
                prop_assert!(a.len() >= 2, "zoom {z}: {a:?}");
                prop_assert_eq!(&a, &b, "zoom {}", z);
            }
        }
    }
}
