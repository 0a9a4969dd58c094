//! Dense village boundaries for benchmarks (`paicha demo --dense`): the land survey's
//! real boundaries have hundreds to thousands of vertices a village, the demo's drawn
//! ones about twenty. Every edge gets extra vertices with a little noise across it,
//! made from the edge alone (its two ends, in a fixed order), so that two neighbours'
//! shared edge gets the same vertices and their boundaries still meet exactly.

use geo::{Coord, LineString, MultiPolygon};

/// Fewest vertices a village has after [`densify`] (closing points not counted).
pub const DENSE_VERTICES: usize = 300;

/// Largest sideways offset of an added vertex, as a fraction of its edge's length: small
/// enough that an edge's new vertices never cross each other (they are a graph over the
/// edge) and, near its ends, where the offset shrinks to nothing, rarely a neighbour.
const NOISE: f64 = 0.02;

/// Vertices `villages` would have with one added every `spacing` degrees along each edge.
fn vertices_with(ring: &LineString<f64>, spacing: f64) -> usize {
    ring.lines()
        .map(|l| 1 + extra(l.start, l.end, spacing))
        .sum()
}

/// Vertices added inside the edge from `a` to `b`.
fn extra(a: Coord<f64>, b: Coord<f64>, spacing: f64) -> usize {
    ((b - a).x.hypot((b - a).y) / spacing).ceil() as usize
}

/// A village's vertices over all rings, with vertices added every `spacing` degrees.
fn area_vertices(area: &MultiPolygon<f64>, spacing: f64) -> usize {
    area.0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| vertices_with(r, spacing))
        .sum()
}

/// Adds vertices along every edge of every village, one spacing for all (so that a
/// shared edge is split alike on both sides), the spacing the largest that gives each
/// village at least `min_vertices`.
///
/// # Units
/// Degrees; the spacing is found by bisection over the villages' edge lengths.
pub fn densify(villages: &mut [MultiPolygon<f64>], min_vertices: usize) {
    let fewest = |spacing: f64| {
        villages
            .iter()
            .map(|v| area_vertices(v, spacing))
            .min()
            .unwrap_or(usize::MAX)
    };
    let (mut fine, mut coarse) = (1e-9_f64, 1.0_f64);
    for _ in 0..60 {
        let mid = (fine * coarse).sqrt();
        if fewest(mid) >= min_vertices {
            fine = mid;
        } else {
            coarse = mid;
        }
    }
    for village in villages.iter_mut() {
        for polygon in &mut village.0 {
            polygon.exterior_mut(|r| *r = dense_ring(r, fine));
            polygon.interiors_mut(|holes| {
                for h in holes {
                    *h = dense_ring(h, fine);
                }
            });
        }
    }
}

/// The ring with each edge split every `spacing` degrees.
fn dense_ring(ring: &LineString<f64>, spacing: f64) -> LineString<f64> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(vertices_with(ring, spacing) + 1);
    for line in ring.lines() {
        out.push(line.start);
        out.extend(edge_points(line.start, line.end, spacing));
    }
    if let Some(&first) = out.first() {
        out.push(first);
    }
    LineString(out)
}

/// The vertices added inside the edge from `a` to `b`, in that direction: made from
/// the edge's ends in their lesser-first order, so both rings that share the edge
/// get them alike.
fn edge_points(from: Coord<f64>, to: Coord<f64>, spacing: f64) -> Vec<Coord<f64>> {
    let key = |c: Coord<f64>| (c.x.to_bits(), c.y.to_bits());
    let forward = key(from) <= key(to);
    let (start, end) = if forward { (from, to) } else { (to, from) };
    let added = extra(start, end, spacing);
    let along = end - start;
    let across = Coord {
        x: -along.y,
        y: along.x,
    };
    let (s, e) = (key(start), key(end));
    let mut seed = mix(s.0 ^ mix(s.1 ^ mix(e.0 ^ mix(e.1))));
    let mut points: Vec<Coord<f64>> = (1..=added)
        .map(|k| {
            let t = k as f64 / (added + 1) as f64;
            seed = mix(seed);
            // A value in [-1, 1) from the hash's top 53 bits.
            let r = (seed >> 11) as f64 / (1_u64 << 52) as f64 - 1.0;
            let offset = NOISE * (std::f64::consts::PI * t).sin() * r;
            start + along * t + across * offset
        })
        .collect();
    if !forward {
        points.reverse();
    }
    points
}

/// The finaliser of `SplitMix64`: a well-spread hash of a 64-bit value.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use geo::Polygon;

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (x, y),
                (x + side, y),
                (x + side, y + side),
                (x, y + side),
                (x, y),
            ]),
            vec![],
        )])
    }

    #[test]
    fn no_village_is_nothing_to_do() {
        densify(&mut [], DENSE_VERTICES);
    }

    #[test]
    fn neighbours_share_their_densified_edge_and_each_has_enough_vertices() {
        // The small third square sets the spacing; the two others share an edge.
        let mut v = vec![
            square(124.0, 41.0, 0.05),
            square(124.05, 41.0, 0.05),
            square(125.0, 41.0, 0.01),
        ];
        densify(&mut v, DENSE_VERTICES);
        for area in &v {
            assert!(
                area.0[0].exterior().0.len() > DENSE_VERTICES,
                "{}",
                area.0[0].exterior().0.len()
            );
        }
        let on_edge = |area: &MultiPolygon<f64>| -> Vec<(u64, u64)> {
            let mut pts: Vec<(u64, u64)> = area.0[0]
                .exterior()
                .0
                .iter()
                .filter(|c| (c.x - 124.05).abs() < 0.002 && c.y > 41.003 && c.y < 41.047)
                .map(|c| (c.x.to_bits(), c.y.to_bits()))
                .collect();
            pts.sort_unstable();
            pts.dedup();
            pts
        };
        let (a, b) = (on_edge(&v[0]), on_edge(&v[1]));
        assert!(a.len() > 10);
        assert_eq!(a, b);
    }
}
