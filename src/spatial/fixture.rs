//! Realistic village boundaries made in code, for tests and benchmarks.
//!
//! The county outline is the committed `data/xinbin/county.geojson`; the villages are a
//! jittered grid over its bounding box whose shared borders meander like ridges and
//! streams (about 50 vertices a side, so about 200 a village), clipped to the outline
//! with geo's boolean operations. Neighbours share the very same border vertices, so
//! the tiling has no gaps or overlaps, as surveyed village boundaries are meant to.
//! Everything is seeded: the same seed gives the same villages.
//!
//! This file depends on nothing in the crate, so that a benchmark can include it with
//! `#[path]`. Being test support, it may panic on a broken fixture file.
#![allow(
    clippy::many_single_char_names,
    clippy::similar_names,
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: geometry names and loud failures"
)]

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The county outline, parsed from the committed `GeoJSON`.
///
/// # Units
/// Degrees (WGS-84).
pub fn county_outline() -> MultiPolygon<f64> {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/xinbin/county.geojson"
    ));
    let json: serde_json::Value = serde_json::from_str(text).expect("county.geojson is JSON");
    let geometry = &json["features"][0]["geometry"];
    let ring = |r: &serde_json::Value| -> LineString<f64> {
        r.as_array()
            .expect("a ring is an array")
            .iter()
            .map(|c| Coord {
                x: c[0].as_f64().expect("lon"),
                y: c[1].as_f64().expect("lat"),
            })
            .collect()
    };
    let polygon = |p: &serde_json::Value| -> Polygon<f64> {
        let rings = p.as_array().expect("a polygon is an array of rings");
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    match geometry["type"].as_str() {
        Some("Polygon") => MultiPolygon::new(vec![polygon(&geometry["coordinates"])]),
        Some("MultiPolygon") => MultiPolygon::new(
            geometry["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(polygon)
                .collect(),
        ),
        other => panic!("unexpected county geometry {other:?}"),
    }
}

/// One generated village: its 12-digit code, its township's 9-digit code, its boundary.
pub type FixtureVillage = (String, String, MultiPolygon<f64>);

/// Columns and rows of the jittered grid; with the Xinbin outline and seed 7 this
/// leaves 192 villages, near the county's real 194 (181 villages and 13 communities).
pub const GRID: (usize, usize) = (18, 15);

/// Number of townships the villages are grouped into, as in Xinbin.
pub const TOWNSHIPS: usize = 15;

/// Tiles the county into villages (see the module docs).
///
/// # Units
/// Degrees (WGS-84).
pub fn villages(county: &MultiPolygon<f64>, seed: u64) -> Vec<FixtureVillage> {
    tiling(county, seed, GRID)
}

/// Tiles the county with a grid of `nx` by `ny` cells (see the module docs).
///
/// # Units
/// Degrees (WGS-84).
pub fn tiling(
    county: &MultiPolygon<f64>,
    seed: u64,
    (nx, ny): (usize, usize),
) -> Vec<FixtureVillage> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let bbox = county.bounding_rect().expect("the county has a bbox");
    let dx = bbox.width() / nx as f64;
    let dy = bbox.height() / ny as f64;
    let node = {
        let mut nodes = vec![Coord { x: 0.0, y: 0.0 }; (nx + 1) * (ny + 1)];
        for j in 0..=ny {
            for i in 0..=nx {
                let mut c = Coord {
                    x: bbox.min().x + i as f64 * dx,
                    y: bbox.min().y + j as f64 * dy,
                };
                // Outer nodes stay on the box, so that clipping sees one bbox for all.
                if i > 0 && i < nx && j > 0 && j < ny {
                    c.x += rng.random_range(-0.3..0.3) * dx;
                    c.y += rng.random_range(-0.3..0.3) * dy;
                }
                nodes[j * (nx + 1) + i] = c;
            }
        }
        move |i: usize, j: usize| nodes[j * (nx + 1) + i]
    };
    // horizontal[j][i]: node (i, j) to (i + 1, j); vertical[i][j]: node (i, j) to (i, j + 1).
    let horizontal: Vec<Vec<Vec<Coord<f64>>>> = (0..=ny)
        .map(|j| {
            (0..nx)
                .map(|i| border(&mut rng, node(i, j), node(i + 1, j), j == 0 || j == ny))
                .collect()
        })
        .collect();
    let vertical: Vec<Vec<Vec<Coord<f64>>>> = (0..=nx)
        .map(|i| {
            (0..ny)
                .map(|j| border(&mut rng, node(i, j), node(i, j + 1), i == 0 || i == nx))
                .collect()
        })
        .collect();
    let mut cells = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let mut ring: Vec<Coord<f64>> = Vec::with_capacity(210);
            ring.extend(&horizontal[j][i]);
            ring.extend(vertical[i + 1][j].iter().skip(1));
            ring.extend(horizontal[j + 1][i].iter().rev().skip(1));
            ring.extend(vertical[i][j].iter().rev().skip(1));
            let cell = Polygon::new(LineString::new(ring), vec![]);
            let clipped = cell.intersection(county);
            if clipped.unsigned_area() > 0.0 {
                let h = fast_hilbert::xy2h(i as u32, j as u32, 5);
                cells.push((h, clipped));
            }
        }
    }
    cells.sort_by_key(|(h, _)| *h);
    let per_township = cells.len().div_ceil(TOWNSHIPS);
    cells
        .into_iter()
        .enumerate()
        .map(|(k, (_, geometry))| {
            let township = format!("210422{:03}", 100 + k / per_township);
            let village = format!("{township}{:03}", 200 + k % per_township);
            (village, township, geometry)
        })
        .collect()
}

/// A border from `a` to `b`: straight on the outer box, else a meander of 50 segments
/// whose amplitude fades to zero at both ends so that borders meet cleanly at nodes.
fn border(rng: &mut impl Rng, a: Coord<f64>, b: Coord<f64>, straight: bool) -> Vec<Coord<f64>> {
    const SEGMENTS: usize = 50;
    if straight {
        return vec![a, b];
    }
    let d = b - a;
    let normal = Coord { x: -d.y, y: d.x };
    let amplitude = 0.12;
    let k1 = f64::from(rng.random_range(1..=3_u8));
    let k2 = f64::from(rng.random_range(4..=9_u8));
    let tau = std::f64::consts::TAU;
    let (p1, p2): (f64, f64) = (rng.random_range(0.0..tau), rng.random_range(0.0..tau));
    (0..=SEGMENTS)
        .map(|s| {
            let t = s as f64 / SEGMENTS as f64;
            let pi_t = std::f64::consts::PI * t;
            let w = amplitude
                * pi_t.sin()
                * (0.7 * (k1 * pi_t + p1).sin() + 0.3 * (k2 * pi_t + p2).sin());
            if s == 0 {
                a
            } else if s == SEGMENTS {
                b
            } else {
                a + d * t + normal * w
            }
        })
        .collect()
}
