//! Heat-map tiles: kernel density of household points on XYZ Web Mercator tiles.
//!
//! # Algorithm
//!
//! Points arrive in *world pixels* at the tile's zoom
//! ([`crate::spatial::mercator::lonlat_to_world_px`]): the
//! global pixel grid of 256-px tiles, y down. Each point is first binned to the pixel
//! that contains it, so the density only ever sees integer pixel offsets. The density at
//! a pixel is the kernel-weighted count of the binned points around it,
//!
//! `D(q) = Σ_b count(b) · g(qx − bx) · g(qy − by)`,
//!
//! with the 1-D kernel `g(d) = (exp(−d²/2σ²) − exp(−2)) / (1 − exp(−2))`, σ = r/2: a
//! Gaussian lowered by its value at the radius r and rescaled, so that it is 1 at the
//! centre (one household right here counts as 1) and falls continuously to 0 at the
//! radius. A plain Gaussian cut at 2σ would leave a 13 % step there, which shows as a
//! square halo around isolated households. The kernel is a product of two 1-D kernels, so
//! its support is the square |dx|, |dy| < r; where its weight is above a few percent it
//! is within a few percent of round.
//!
//! A tile is computed on a grid of (256 + 2R)² bins, R = ⌈r⌉ − 1 being the farthest offset
//! with a non-zero weight, so every point that can reach the tile does; then two 1-D
//! passes: a horizontal one that scatters every non-empty bin into the 256 output columns
//! (busy rows gather instead, which gives the same sums), and a vertical gather of the
//! 2R + 1 rows around each output row. Both passes add
//! contributions in world order (left to right, top to bottom), so a pixel gets the same
//! value, bit for bit, whichever tile or window computes it: adjacent tiles join without
//! seams. Cost: O(n) to bin n points plus O((256 + 2R)² · R) for the passes, with empty
//! rows and bins skipped: about 1 ms for 100 000 points and 6 ms for a million, on one
//! core (a server draws tiles in parallel, so one tile uses one thread).
//!
//! # Colour scale
//!
//! Every tile of a zoom is coloured against the same maximum, [`global_max`]: the exact
//! maximum of the density over the whole map, found by branch and bound on 64-px blocks.
//! The points' pixels are sorted (in parallel) and counted, grouped by block. For every
//! block with points within the radius, an upper bound of the density on it comes from
//! coarse cells of about r/4 px: each cell's count is weighted by the kernel at the
//! *smallest* pixel distance between the two cells, a separable convolution of a small
//! grid. Blocks are then visited by decreasing bound, each rasterised exactly as a tile
//! is, until the next bound is no higher than the best value found. Cost: O(n log n) for
//! the sort, O(occupied pixels) for the bounds, plus one 64-px raster per visited block.
//! Clustered data (villages) visits a handful of blocks: 1 to 137 for 10 million simulated
//! households from zoom 8 to 16, in 0.2 to 1.6 s. Only a density almost flat over a large
//! area would visit most blocks, which degrades towards a raster of the occupied area.
//!
//! The radius must be the same for every tile of a zoom and for its [`global_max`]:
//! derive it once per zoom with [`radius_px_for`] at one reference latitude (the county's
//! centre), never per tile.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;
use thiserror::Error;

use crate::spatial::mercator::{TILE_SIZE, TileId, metres_per_px};

const TILE_PX: usize = TILE_SIZE as usize;

/// Default kernel radius in pixels, for callers that do not scale by metres.
pub const DEFAULT_RADIUS_PX: f64 = 20.0;

/// A sensible radius in metres for [`radius_px_for`]: about half a village across, so a
/// village reads as one blob and separate hamlets stay apart.
pub const DEFAULT_RADIUS_M: f64 = 250.0;

/// Smallest radius [`radius_px_for`] returns. Below about 8 px a household is a dot
/// that disappears on a county-wide map, so low zooms keep this size in pixels (the
/// blobs then stand for more metres than asked).
pub const MIN_RADIUS_PX: f64 = 8.0;

/// Largest radius [`radius_px_for`] returns. At street zooms a radius in metres would
/// cover several tiles, hide the individual households the map is zoomed in to see and
/// cost time linear in the radius; 48 px keeps the kernel under a fifth of a tile.
pub const MAX_RADIUS_PX: f64 = 48.0;

/// Hard limit on the kernel radius in the raster functions, which clamp to
/// `[1, MAX_KERNEL_RADIUS_PX]` so that a bad parameter cannot cost unbounded time.
pub const MAX_KERNEL_RADIUS_PX: f64 = 128.0;

/// World pixels at or beyond this are outside the map at every zoom up to 24; the
/// sparse binning of [`global_max`] ignores them.
const WORLD_LIMIT_PX: u64 = 1 << 32;

/// Side of the blocks [`global_max`] bounds and rasterises.
const BLOCK_SHIFT: u32 = 6;
const BLOCK: usize = 1 << BLOCK_SHIFT;
/// Bits of a block coordinate: 32-bit world pixels over 64-px blocks.
const BLOCK_COORD_BITS: u32 = 32 - BLOCK_SHIFT;
const BLOCK_COORD_MASK: u64 = (1 << BLOCK_COORD_BITS) - 1;

/// Relative slack on the block bounds, far above the f32 rounding of the sums, so that
/// rounding never prunes the block that holds the maximum.
const BOUND_SLACK: f32 = 1e-4;

/// Rate mode draws every shown pixel with at least this alpha, so that "enough
/// households, few failing" stays visible and differs from "hidden: too few households".
const RATE_MIN_ALPHA: u8 = 64;

/// Failures of the heat-map pipeline.
#[derive(Debug, Error)]
pub enum HeatError {
    /// The RGBA buffer does not hold `size × size` pixels.
    #[error("RGBA buffer holds {actual} bytes, a {size}×{size} image needs {expected}")]
    BufferSize {
        /// Side of the image asked for.
        size: u32,
        /// Bytes a `size × size` RGBA image needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// A kernel radius of `radius_m` metres in pixels at zoom `z` and latitude `lat`, clamped
/// to [[`MIN_RADIUS_PX`], [`MAX_RADIUS_PX`]] (see those for why). A NaN gives the minimum.
///
/// Call it once per zoom with one latitude for the whole map (the county's centre): a
/// radius that changed from tile to tile would break the seams between them.
#[must_use]
pub fn radius_px_for(z: u8, radius_m: f64, lat: f64) -> f64 {
    clamp_or_low(
        radius_m / metres_per_px(lat, z),
        MIN_RADIUS_PX,
        MAX_RADIUS_PX,
    )
}

/// `value.clamp(low, high)`, with NaN mapped to `low` instead of passed through.
fn clamp_or_low(value: f64, low: f64, high: f64) -> f64 {
    if value.is_nan() {
        low
    } else {
        value.clamp(low, high)
    }
}

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

/// Colour ramps for heat tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ramp {
    /// Transparent → yellow → orange → red → dark red (`ColorBrewer` `YlOrRd`), alpha
    /// rising with the value so that low values let the base map show through.
    #[default]
    Heat,
}

/// `(t, [r, g, b, a])` stops of [`Ramp::Heat`].
const HEAT_STOPS: [(f32, [f32; 4]); 6] = [
    (0.0, [255.0, 255.0, 178.0, 0.0]),
    (0.15, [254.0, 217.0, 118.0, 110.0]),
    (0.35, [253.0, 141.0, 60.0, 170.0]),
    (0.6, [240.0, 59.0, 32.0, 210.0]),
    (0.8, [189.0, 0.0, 38.0, 230.0]),
    (1.0, [128.0, 0.0, 38.0, 240.0]),
];

impl Ramp {
    /// Straight (not premultiplied) RGBA for `t` in `[0, 1]`; values outside are clamped
    /// and NaN counts as 0.
    #[must_use]
    pub fn color(&self, t: f32) -> [u8; 4] {
        let stops: &[(f32, [f32; 4])] = match self {
            Self::Heat => &HEAT_STOPS,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let mut color = stops.last().map_or([0.0; 4], |s| s.1);
        for pair in stops.windows(2) {
            if let [(t0, c0), (t1, c1)] = pair
                && t <= *t1
            {
                let f = (t - t0) / (t1 - t0);
                color = std::array::from_fn(|i| c0[i] + (c1[i] - c0[i]) * f);
                break;
            }
        }
        color.map(|v| v.round() as u8)
    }

    /// [`Ramp::color`] sampled at `RAMP_STEPS` points, built once: per pixel the ramp's
    /// segment search and rounding (libm calls) cost more than the rest of colouring.
    fn table(self) -> &'static [[u8; 4]; RAMP_STEPS] {
        static HEAT: OnceLock<Box<[[u8; 4]; RAMP_STEPS]>> = OnceLock::new();
        match self {
            Self::Heat => HEAT.get_or_init(|| {
                Box::new(std::array::from_fn(|i| {
                    self.color(i as f32 / (RAMP_STEPS - 1) as f32)
                }))
            }),
        }
    }

    /// [`Ramp::color`] from the table: `t` quantised to 1/1023, below what 8-bit
    /// channels resolve. NaN and negative values give the colour at 0.
    fn lookup(self, t: f32) -> [u8; 4] {
        // `as usize` saturates: NaN and negatives give 0.
        let i = (t * (RAMP_STEPS - 1) as f32 + 0.5) as usize;
        self.table()[i.min(RAMP_STEPS - 1)]
    }
}

/// Samples in a ramp's table.
const RAMP_STEPS: usize = 1024;

/// How a heat layer is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatParams {
    /// Kernel radius in pixels at the zoom drawn: the same for every tile of that zoom
    /// and for its [`global_max`].
    pub radius_px: f64,
    /// Rate mode hides pixels whose density of all households is below this. The density
    /// is a kernel-weighted count (one household at the pixel counts 1), so this reads as
    /// "about this many households nearby": it keeps a single household's status from
    /// being read off the map and keeps noisy 1-of-1 rates from glowing red.
    pub min_households: f64,
    /// Colour ramp.
    pub ramp: Ramp,
}

impl Default for HeatParams {
    fn default() -> Self {
        Self {
            radius_px: DEFAULT_RADIUS_PX,
            min_households: 5.0,
            ramp: Ramp::Heat,
        }
    }
}

// ---------------------------------------------------------------------------
// Kernel density
// ---------------------------------------------------------------------------

/// A symmetric 1-D kernel over integer offsets `-reach..=reach`.
#[derive(Debug, Clone)]
struct Kernel {
    reach: usize,
    weights: Vec<f32>,
}

impl Kernel {
    /// The lowered Gaussian of the module doc for `radius_px`, clamped to
    /// `[1, MAX_KERNEL_RADIUS_PX]`.
    fn new(radius_px: f64) -> Self {
        let radius = clamp_or_low(radius_px, 1.0, MAX_KERNEL_RADIUS_PX);
        // Offsets at or beyond the radius weigh exactly 0; leaving them out keeps the
        // grid margin, and so the work, as small as possible.
        let reach = radius.ceil() as usize - 1;
        let two_sigma_sq = 2.0 * (radius / 2.0).powi(2);
        let tail = (-radius * radius / two_sigma_sq).exp();
        let weights = (0..=2 * reach)
            .map(|i| {
                let d = i as f64 - reach as f64;
                let g = ((-d * d / two_sigma_sq).exp() - tail) / (1.0 - tail);
                g.max(0.0) as f32
            })
            .collect();
        Self { reach, weights }
    }
}

/// Kernel density of a `width × height` window of world pixels whose top-left pixel is
/// `origin_px`, row-major, y down: what [`density`] computes for a tile, for any window.
/// Windows that overlap agree on the shared pixels bit for bit, so this also serves
/// metatiles and reference rasters. Empty for a zero width or height.
#[must_use]
pub fn density_window(
    points_world_px: &[[f64; 2]],
    origin_px: [i64; 2],
    width: usize,
    height: usize,
    radius_px: f64,
) -> Vec<f32> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let kernel = Kernel::new(radius_px);
    let margin = kernel.reach;
    let grid_origin = origin_px.map(|o| o.saturating_sub(margin as i64));
    let grid = bin_points(
        points_world_px,
        grid_origin,
        width + 2 * margin,
        height + 2 * margin,
    );
    convolve(&kernel, &grid, width, height)
}

/// Kernel density of tile `(z, x, y)`: 256 × 256 values, row-major, y down, each the
/// kernel-weighted count of the points around that pixel (see the module doc).
///
/// `points_world_px` are world pixels at zoom `z` (the zoom only names the tile here);
/// they should cover the tile grown by the radius ([`TileId::bounds_px`]), and points
/// farther out are ignored. `radius_px` is clamped to `[1, MAX_KERNEL_RADIUS_PX]`.
#[must_use]
pub fn density(points_world_px: &[[f64; 2]], tile: TileId, radius_px: f64) -> Vec<f32> {
    let size = i64::from(TILE_SIZE);
    density_window(
        points_world_px,
        [i64::from(tile.x) * size, i64::from(tile.y) * size],
        TILE_PX,
        TILE_PX,
        radius_px,
    )
}

/// `v.floor()` as an integer, or `None` for NaN and values beyond ±2^53.
fn floor_px(v: f64) -> Option<i64> {
    if v.is_nan() || v.abs() >= 9.0e15 {
        return None;
    }
    // By hand: `f64::floor` is a libm call on baseline x86-64.
    let truncated = v as i64;
    Some(truncated - i64::from((truncated as f64) > v))
}

/// Counts the points per pixel of a `width × height` grid whose top-left pixel is world
/// pixel `origin`. Points off the grid are dropped.
fn bin_points(points: &[[f64; 2]], origin: [i64; 2], width: usize, height: usize) -> Vec<f32> {
    let mut grid = vec![0.0; width * height];
    if origin[0] >= width as i64 && origin[1] >= height as i64 {
        // Here `p − origin` is exact for every point that can land on the grid (Sterbenz:
        // origin ≤ p < origin + width ≤ 2·origin) and cannot round onto it from outside,
        // so truncating it is the same as flooring p first, at a quarter of the cost.
        // Only grids touching the world's top-left tiles take the general path below.
        let (x0, y0) = (origin[0] as f64, origin[1] as f64);
        let (w, h) = (width as f64, height as f64);
        for p in points {
            let (gx, gy) = (p[0] - x0, p[1] - y0);
            // Also rejects NaN.
            if gx >= 0.0 && gx < w && gy >= 0.0 && gy < h {
                grid[gy as usize * width + gx as usize] += 1.0;
            }
        }
        return grid;
    }
    for p in points {
        let (Some(x), Some(y)) = (floor_px(p[0]), floor_px(p[1])) else {
            continue;
        };
        if let (Ok(gx), Ok(gy)) = (
            usize::try_from(x - origin[0]),
            usize::try_from(y - origin[1]),
        ) && gx < width
            && gy < height
        {
            grid[gy * width + gx] += 1.0;
        }
    }
    grid
}

/// Convolves a grid of `(width + 2R) × (height + 2R)` binned weights with the kernel in
/// both directions, giving the `width × height` interior.
///
/// Every output value is summed in world order (bins left to right, then rows top to
/// bottom) whatever the window, which is what makes tiles seamless. Skipped bins and rows
/// are exactly zero there, and adding zero changes nothing.
fn convolve(kernel: &Kernel, grid: &[f32], width: usize, height: usize) -> Vec<f32> {
    let reach = kernel.reach;
    let k = &kernel.weights;
    let grid_width = width + 2 * reach;
    let grid_height = height + 2 * reach;

    let mut rows = vec![0.0_f32; grid_height * width];
    let mut row_used = vec![false; grid_height];
    for ((src, dst), used) in grid
        .chunks_exact(grid_width)
        .zip(rows.chunks_exact_mut(width))
        .zip(&mut row_used)
    {
        let occupied = src.iter().filter(|&&v| v > 0.0).count();
        *used = occupied > 0;
        if occupied * 8 > grid_width {
            // A busy row: gather, one long vectorisable pass per kernel weight. Output
            // column o sums the bins o, o + 1, … in order, as the scatter below does, and
            // the empty bins add exact zeros, so both forms give the same bits.
            for (d, &w) in k.iter().enumerate() {
                for (o, &v) in dst.iter_mut().zip(&src[d..]) {
                    *o += w * v;
                }
            }
        } else if occupied > 0 {
            // A sparse row: scatter each bin over the output columns it reaches.
            for (c, &v) in src.iter().enumerate() {
                if v > 0.0 {
                    // The bin in grid column c lands on output columns c − 2R ..= c.
                    let lo = c.saturating_sub(2 * reach);
                    let hi = c.min(width - 1);
                    for (o, &w) in dst[lo..=hi].iter_mut().zip(&k[lo + 2 * reach - c..]) {
                        *o += w * v;
                    }
                }
            }
        }
    }

    let mut out = vec![0.0_f32; width * height];
    for (y, dst) in out.chunks_exact_mut(width).enumerate() {
        for (d, &w) in k.iter().enumerate() {
            let r = y + d;
            if row_used[r] {
                for (o, s) in dst.iter_mut().zip(&rows[r * width..(r + 1) * width]) {
                    *o += w * s;
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Global maximum
// ---------------------------------------------------------------------------

/// Hasher for the packed block keys: splitmix64's finaliser, so that the row part in the
/// high bits also reaches the low bits the table indexes with.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;
type KeySet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// Occupied pixels with their point counts, grouped by 64-px block.
struct SparseBins {
    /// `(key, count)` sorted by key; a key packs block row, block column, then the row
    /// and column inside the block, so each block's pixels are contiguous.
    bins: Vec<(u64, f32)>,
    /// Block key (`key >> 2·BLOCK_SHIFT`) → its range in `bins`.
    blocks: KeyMap<Range<usize>>,
}

fn block_key(bx: u64, by: u64) -> u64 {
    (by << BLOCK_COORD_BITS) | bx
}

impl SparseBins {
    fn new(points: &[[f64; 2]]) -> Self {
        let mut keys: Vec<u64> = points
            .par_iter()
            .filter_map(|p| {
                let x = u64::try_from(floor_px(p[0])?).ok()?;
                let y = u64::try_from(floor_px(p[1])?).ok()?;
                if x >= WORLD_LIMIT_PX || y >= WORLD_LIMIT_PX {
                    return None;
                }
                let local = ((y & (BLOCK as u64 - 1)) << BLOCK_SHIFT) | (x & (BLOCK as u64 - 1));
                let block = block_key(x >> BLOCK_SHIFT, y >> BLOCK_SHIFT);
                Some((block << (2 * BLOCK_SHIFT)) | local)
            })
            .collect();
        keys.par_sort_unstable();

        let mut bins: Vec<(u64, f32)> = Vec::new();
        for key in keys {
            match bins.last_mut() {
                Some((k, count)) if *k == key => *count += 1.0,
                _ => bins.push((key, 1.0)),
            }
        }
        let mut blocks = KeyMap::default();
        let mut start = 0;
        let block_of = |key: u64| key >> (2 * BLOCK_SHIFT);
        for run in bins.chunk_by(|a, b| block_of(a.0) == block_of(b.0)) {
            blocks.insert(block_of(run[0].0), start..start + run.len());
            start += run.len();
        }
        Self { bins, blocks }
    }

    /// Calls `f(px, py, count)` for every occupied pixel with `x0 <= px < x1` and
    /// `y0 <= py < y1` (world pixels).
    fn for_each_in(
        &self,
        [x0, y0]: [i64; 2],
        [x1, y1]: [i64; 2],
        mut f: impl FnMut(i64, i64, f32),
    ) {
        let limit = BLOCK_COORD_MASK as i64;
        let bx0 = (x0 >> BLOCK_SHIFT).max(0);
        let by0 = (y0 >> BLOCK_SHIFT).max(0);
        let bx1 = ((x1 - 1) >> BLOCK_SHIFT).min(limit);
        let by1 = ((y1 - 1) >> BLOCK_SHIFT).min(limit);
        for by in by0..=by1 {
            for bx in bx0..=bx1 {
                let Some(range) = self.blocks.get(&block_key(bx as u64, by as u64)) else {
                    continue;
                };
                let (ox, oy) = (bx << BLOCK_SHIFT, by << BLOCK_SHIFT);
                for &(key, count) in &self.bins[range.clone()] {
                    let px = ox + (key & (BLOCK as u64 - 1)) as i64;
                    let py = oy + ((key >> BLOCK_SHIFT) & (BLOCK as u64 - 1)) as i64;
                    if px >= x0 && px < x1 && py >= y0 && py < y1 {
                        f(px, py, count);
                    }
                }
            }
        }
    }
}

/// Side of the bound cells for a kernel reach: a power of two near R/4 (dividing the
/// block), which keeps the bound within a few percent of the density where it matters
/// while making it ~16× cheaper than the exact raster.
fn bound_cell_size(reach: usize) -> usize {
    let target = (reach / 4).clamp(1, BLOCK);
    1 << target.ilog2()
}

/// The kernel over cell offsets: the weight at the smallest pixel distance between two
/// cells `Δ` apart, `(|Δ| − 1)·s + 1` for `Δ ≠ 0`, which bounds every pixel pair.
fn bound_kernel(kernel: &Kernel, cell: usize) -> Kernel {
    let reach = if kernel.reach == 0 {
        0
    } else {
        1 + (kernel.reach - 1) / cell
    };
    let weight = |delta: usize| {
        if delta == 0 {
            kernel.weights[kernel.reach]
        } else {
            kernel.weights[kernel.reach + (delta - 1) * cell + 1]
        }
    };
    let weights = (0..=2 * reach).map(|i| weight(i.abs_diff(reach))).collect();
    Kernel { reach, weights }
}

/// An upper bound of the density over block `(bx, by)`, slack included.
fn block_bound(bins: &SparseBins, bound: &Kernel, cell: usize, [bx, by]: [i64; 2]) -> f32 {
    let cells = BLOCK / cell;
    let side = cells + 2 * bound.reach;
    let cell = cell as i64;
    let origin = [
        bx * (cells as i64) - bound.reach as i64,
        by * (cells as i64) - bound.reach as i64,
    ];
    let mut grid = vec![0.0_f32; side * side];
    let span = side as i64 * cell;
    bins.for_each_in(
        [origin[0] * cell, origin[1] * cell],
        [origin[0] * cell + span, origin[1] * cell + span],
        |px, py, count| {
            let gx = (px.div_euclid(cell) - origin[0]) as usize;
            let gy = (py.div_euclid(cell) - origin[1]) as usize;
            grid[gy * side + gx] += count;
        },
    );
    let upper = convolve(bound, &grid, cells, cells);
    upper.iter().fold(0.0_f32, |m, &v| m.max(v)) * (1.0 + BOUND_SLACK)
}

/// The exact maximum of the density over block `(bx, by)`, computed as a tile would.
fn block_max(bins: &SparseBins, kernel: &Kernel, [bx, by]: [i64; 2]) -> f32 {
    let margin = kernel.reach as i64;
    let side = BLOCK + 2 * kernel.reach;
    let x0 = (bx << BLOCK_SHIFT) - margin;
    let y0 = (by << BLOCK_SHIFT) - margin;
    let mut grid = vec![0.0_f32; side * side];
    bins.for_each_in(
        [x0, y0],
        [x0 + side as i64, y0 + side as i64],
        |px, py, count| grid[(py - y0) as usize * side + (px - x0) as usize] += count,
    );
    convolve(kernel, &grid, BLOCK, BLOCK)
        .iter()
        .fold(0.0_f32, |m, &v| m.max(v))
}

/// The maximum of [`density`] over every pixel of the map at one zoom, for a colour scale
/// shared by all its tiles, without rasterising the map (see the module doc).
///
/// Exact: the blocks it visits are rasterised as tiles are, bit for bit, so the result is
/// the largest value any tile computes; the bounds that prune the other blocks carry a
/// slack (1e-4 relative) far above their own f32 rounding, so that rounding cannot prune
/// the block holding the maximum.
///
/// `points_world_px` are all the points, in world pixels at that zoom; `radius_px` must be
/// the radius its tiles use. Points outside `[0, 2³²)` world pixels (off the map at every
/// zoom up to 24) are ignored. 0 when there are no points.
#[must_use]
pub fn global_max(points_world_px: &[[f64; 2]], radius_px: f64) -> f32 {
    let kernel = Kernel::new(radius_px);
    let bins = SparseBins::new(points_world_px);
    let cell = bound_cell_size(kernel.reach);
    let bound = bound_kernel(&kernel, cell);

    // The maximum may lie in an empty block next to occupied ones.
    let block_reach = kernel.reach.div_ceil(BLOCK) as i64;
    let limit = BLOCK_COORD_MASK as i64;
    let mut candidates = KeySet::default();
    for &key in bins.blocks.keys() {
        let (bx, by) = (
            (key & BLOCK_COORD_MASK) as i64,
            (key >> BLOCK_COORD_BITS) as i64,
        );
        for y in (by - block_reach).max(0)..=(by + block_reach).min(limit) {
            for x in (bx - block_reach).max(0)..=(bx + block_reach).min(limit) {
                candidates.insert(block_key(x as u64, y as u64));
            }
        }
    }
    let mut bounded: Vec<(f32, [i64; 2])> = candidates
        .into_par_iter()
        .map(|key| {
            let at = [
                (key & BLOCK_COORD_MASK) as i64,
                (key >> BLOCK_COORD_BITS) as i64,
            ];
            (block_bound(&bins, &bound, cell, at), at)
        })
        .collect();
    bounded.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));

    let mut best = 0.0_f32;
    for (upper, at) in bounded {
        if upper <= best {
            break;
        }
        best = best.max(block_max(&bins, &kernel, at));
    }
    best
}

// ---------------------------------------------------------------------------
// Colour and PNG
// ---------------------------------------------------------------------------

/// RGBA pixels for a count density: `t = √(density / max)` through the ramp. The square
/// root spreads the low end, where isolated households sit: with a linear scale a single
/// household next to a 500-household village would be invisible. Zero (or negative, or
/// NaN) density is fully transparent, values above `max` saturate, and a `max` that is
/// not positive makes the whole tile transparent.
#[must_use]
pub fn colorize_count(density: &[f32], max: f32, ramp: &Ramp) -> Vec<u8> {
    let mut out = vec![0; density.len() * 4];
    if max > 0.0 {
        for (px, &d) in out.chunks_exact_mut(4).zip(density) {
            if d > 0.0 {
                px.copy_from_slice(&ramp.lookup((d / max).sqrt()));
            }
        }
    }
    out
}

/// RGBA pixels for a failing rate: `rate = failing / all` per pixel, `t = rate / max_rate`
/// through `params.ramp` (linear: a rate is already on a bounded scale). Pixels whose
/// `all` density is below `params.min_households` (or zero) are fully transparent;
/// shown pixels keep a minimum alpha so that a low rate differs from a hidden pixel.
/// A `max_rate` that is not positive and finite counts as 1. The output covers the
/// shorter of the two inputs.
#[must_use]
pub fn colorize_rate(failing: &[f32], all: &[f32], params: &HeatParams, max_rate: f32) -> Vec<u8> {
    let scale = if max_rate > 0.0 && max_rate.is_finite() {
        max_rate
    } else {
        1.0
    };
    let min_all = (params.min_households as f32).max(f32::MIN_POSITIVE);
    let mut out = vec![0; failing.len().min(all.len()) * 4];
    for (px, (&f, &a)) in out.chunks_exact_mut(4).zip(failing.iter().zip(all)) {
        if a >= min_all {
            let mut rgba = params.ramp.lookup(f / a / scale);
            rgba[3] = rgba[3].max(RATE_MIN_ALPHA);
            px.copy_from_slice(&rgba);
        }
    }
    out
}

/// Encodes `size × size` RGBA pixels (8 bits a channel, straight alpha) as PNG, with the
/// encoder's fast settings: tiles are made on request and the gain of stronger
/// compression on smooth heat maps is small.
///
/// # Errors
/// [`HeatError::BufferSize`] if `rgba` is not `size² · 4` bytes, [`HeatError::Png`] if
/// the encoder fails (for a zero size).
pub fn encode_png(rgba: &[u8], size: u32) -> Result<Vec<u8>, HeatError> {
    let edge = size as usize;
    let expected = edge.saturating_mul(edge).saturating_mul(4);
    if rgba.len() != expected {
        return Err(HeatError::BufferSize {
            size,
            expected,
            actual: rgba.len(),
        });
    }
    let mut out = Vec::with_capacity(expected / 8 + 1024);
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(out)
}

/// A fully transparent 256 × 256 PNG for tiles with nothing to show, encoded once.
#[must_use]
pub fn transparent_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| {
        // Cannot fail: the buffer has the right size and writing into a Vec cannot fail.
        encode_png(&vec![0; TILE_PX * TILE_PX * 4], TILE_SIZE).unwrap_or_default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[allow(
    clippy::float_cmp,
    reason = "bit-exact results are what several tests check"
)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic points without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next_f64(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1_u64 << 53) as f64
        }

        fn in_box(&mut self, min: [f64; 2], max: [f64; 2]) -> [f64; 2] {
            [
                min[0] + (max[0] - min[0]) * self.next_f64(),
                min[1] + (max[1] - min[1]) * self.next_f64(),
            ]
        }

        /// `n` points around `centre`, roughly normal with spread `spread` px.
        fn cluster(&mut self, centre: [f64; 2], spread: f64, n: usize) -> Vec<[f64; 2]> {
            (0..n)
                .map(|_| {
                    let s = |r: &mut Self| (0..4).map(|_| r.next_f64() - 0.5).sum::<f64>();
                    [centre[0] + spread * s(self), centre[1] + spread * s(self)]
                })
                .collect()
        }
    }

    fn at(d: &[f32], x: usize, y: usize) -> f32 {
        d[y * TILE_PX + x]
    }

    fn close(a: f32, b: f32, rel: f32) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-6)
    }

    #[test]
    fn radius_is_clamped_per_zoom() {
        // 250 m at 26.6° N: ~1.9 px at z 10 (clamped up), ~31 px at z 14, clamped down at 16.
        assert_eq!(radius_px_for(10, 250.0, 26.6), MIN_RADIUS_PX);
        let r14 = radius_px_for(14, 250.0, 26.6);
        assert!((r14 - 250.0 / metres_per_px(26.6, 14)).abs() < 1e-9 && r14 > 25.0);
        assert_eq!(radius_px_for(16, 250.0, 26.6), MAX_RADIUS_PX);
        assert_eq!(radius_px_for(14, f64::NAN, 26.6), MIN_RADIUS_PX);
    }

    #[test]
    fn kernel_is_one_at_centre_and_zero_at_radius() {
        let k = Kernel::new(20.0);
        assert_eq!(k.reach, 19);
        assert_eq!(k.weights[k.reach], 1.0);
        assert!(k.weights.iter().all(|&w| w > 0.0));
        assert!(k.weights.windows(2).take(k.reach).all(|w| w[0] < w[1]));
        // The last weight is small: the kernel reaches 0 continuously at the radius.
        assert!(k.weights[0] < 0.05);
        let k = Kernel::new(f64::NAN);
        assert_eq!((k.reach, k.weights.as_slice()), (0, &[1.0_f32][..]));
        assert_eq!(Kernel::new(1e9).reach, MAX_KERNEL_RADIUS_PX as usize - 1);
    }

    #[test]
    fn both_binning_paths_floor_exactly() {
        let floor_bins = |points: &[[f64; 2]], origin: [i64; 2], w: usize, h: usize| {
            let mut grid = vec![0.0_f32; w * h];
            for p in points {
                let gx = p[0].floor() - origin[0] as f64;
                let gy = p[1].floor() - origin[1] as f64;
                if (0.0..w as f64).contains(&gx) && (0.0..h as f64).contains(&gy) {
                    grid[gy as usize * w + gx as usize] += 1.0;
                }
            }
            grid
        };
        let mut rng = Rng(5);
        // Fast path far from the world's corner, general path at and around it.
        for origin in [
            [1_000_000, 2_000_000],
            [300, 300],
            [-20, 236],
            [-40, -40],
            [5, 700],
        ] {
            let (w, h) = (296, 100);
            let mut points = vec![[f64::NAN, 1.0], [f64::INFINITY, 5.0], [1e300, -1e300]];
            for _ in 0..5_000 {
                let [x, y] = rng.in_box([-30.0, -30.0], [w as f64 + 30.0, h as f64 + 30.0]);
                let (x, y) = (x + origin[0] as f64, y + origin[1] as f64);
                points.push([x, y]);
                // Just below and at pixel edges, where rounding could move a point over.
                let (fx, fy) = (x.floor(), y.floor());
                points.push([fx, fy]);
                points.push([fx.next_down(), fy.next_down()]);
                points.push([fx.next_up(), (fy - 1e-12).max(fy.next_down())]);
            }
            assert_eq!(
                bin_points(&points, origin, w, h),
                floor_bins(&points, origin, w, h),
                "origin {origin:?}"
            );
        }
    }

    #[test]
    fn adjacent_tiles_join_the_reference_raster() {
        let (z, x, y) = (14_u8, 13_400_u32, 7_020_u32);
        let edge = f64::from(x + 1) * 256.0;
        let top = f64::from(y) * 256.0;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut points: Vec<[f64; 2]> = (0..3_000)
            .map(|_| rng.in_box([edge - 40.0, top - 30.0], [edge + 40.0, top + 290.0]))
            .collect();
        points.extend(rng.cluster([edge - 1.0, top + 128.0], 6.0, 500));
        for radius in [DEFAULT_RADIUS_PX, 7.3, MAX_RADIUS_PX] {
            let left = density(&points, TileId { z, x, y }, radius);
            let right = density(&points, TileId { z, x: x + 1, y }, radius);
            let wide = density_window(
                &points,
                [i64::from(x) * 256, i64::from(y) * 256],
                512,
                256,
                radius,
            );
            let narrow = density_window(
                &points,
                [i64::from(x + 1) * 256 - 1, i64::from(y) * 256],
                2,
                256,
                radius,
            );
            for row in 0..TILE_PX {
                for col in 0..TILE_PX {
                    let (on_left, on_right) = (at(&left, col, row), at(&right, col, row));
                    assert!(
                        close(on_left, wide[row * 512 + col], 1e-3),
                        "left {col},{row}"
                    );
                    assert!(
                        close(on_right, wide[row * 512 + 256 + col], 1e-3),
                        "right {col},{row}"
                    );
                }
                // Along the seam the two tiles continue each other, with real values there.
                assert!(at(&left, 255, row) > 0.0 && at(&right, 0, row) > 0.0);
                // In fact bit for bit: every window sums in the same order, whether its
                // rows are busy (gather) or sparse (scatter) as in this 2-px-wide one.
                assert_eq!(at(&left, 255, row), wide[row * 512 + 255]);
                assert_eq!(at(&right, 0, row), wide[row * 512 + 256]);
                assert_eq!(at(&left, 255, row), narrow[row * 2]);
                assert_eq!(at(&right, 0, row), narrow[row * 2 + 1]);
            }
        }
    }

    #[test]
    fn single_point_peaks_at_its_pixel_and_is_symmetric() {
        let (x, y) = (52_u32, 27_u32);
        let point = [f64::from(x) * 256.0 + 100.3, f64::from(y) * 256.0 + 120.7];
        let d = density(&[point], TileId { z: 8, x, y }, 12.0);
        let peak = at(&d, 100, 120);
        assert_eq!(peak, 1.0);
        assert!(d.iter().all(|&v| v <= peak));
        for k in 1..=12 {
            let e = at(&d, 100 + k, 120);
            assert_eq!(e, at(&d, 100 - k, 120));
            assert_eq!(e, at(&d, 100, 120 + k));
            assert_eq!(e, at(&d, 100, 120 - k));
            assert_eq!(at(&d, 100 + k, 120 + k), at(&d, 100 - k, 120 - k));
            if k < 12 {
                assert!(e > 0.0 && e < at(&d, 100 + k - 1, 120));
            } else {
                assert_eq!(e, 0.0, "nothing at the radius");
            }
        }
        let sum: f32 = d.iter().sum();
        assert!(sum > 50.0, "the kernel spreads: {sum}");
    }

    #[test]
    fn points_beyond_the_radius_contribute_nothing() {
        let tile = TileId {
            z: 12,
            x: 1000,
            y: 700,
        };
        let (left, top) = (f64::from(tile.x) * 256.0, f64::from(tile.y) * 256.0);
        let radius = 15.5;
        let out = radius + 1.0;
        let mut points = Vec::new();
        for i in 0..=64 {
            let along = -40.0 + f64::from(i) * 5.3;
            // More than radius + 1 px outside the tile's edges.
            points.push([left - out - 0.01, top + along]);
            points.push([left + 256.0 + out + 0.01, top + along]);
            points.push([left + along, top - out - 0.01]);
            points.push([left + along, top + 256.0 + out + 0.01]);
            // Right and bottom, in the first pixel out of reach: its centre is 16 px from
            // the centre of the tile's last pixel, although the point is only 15.5 px out.
            points.push([left + 256.0 + radius, top + along]);
            points.push([left + along, top + 256.0 + radius]);
        }
        assert!(density(&points, tile, radius).iter().all(|&v| v == 0.0));
        // Just inside the radius a point does reach the edge pixels.
        let near = density(&[[left - radius + 0.5, top + 100.0]], tile, radius);
        assert!(at(&near, 0, 100) > 0.0);
        assert_eq!(at(&near, 1, 100), 0.0);
        assert!(density(&[], tile, radius).iter().all(|&v| v == 0.0));
        assert!(density_window(&points, [0, 0], 0, 10, radius).is_empty());
    }

    /// The maximum of a full raster over every pixel any point can reach.
    fn brute_force_max(points: &[[f64; 2]], radius: f64) -> f32 {
        let margin = radius.ceil() as i64 + 1;
        let min = points
            .iter()
            .fold([f64::MAX; 2], |m, p| [m[0].min(p[0]), m[1].min(p[1])]);
        let max = points
            .iter()
            .fold([f64::MIN; 2], |m, p| [m[0].max(p[0]), m[1].max(p[1])]);
        let origin = [
            min[0].floor() as i64 - margin,
            min[1].floor() as i64 - margin,
        ];
        let w = (max[0].floor() as i64 + margin - origin[0] + 1) as usize;
        let h = (max[1].floor() as i64 + margin - origin[1] + 1) as usize;
        density_window(points, origin, w, h, radius)
            .into_iter()
            .fold(0.0, f32::max)
    }

    #[test]
    fn global_max_equals_brute_force() {
        let mut rng = Rng(42);
        let base = [256.0 * 3_300.0 + 17.0, 256.0 * 1_700.0 + 5.0];
        for case in 0..6 {
            let mut points: Vec<[f64; 2]> = (0..400 * (case + 1))
                .map(|_| rng.in_box(base, [base[0] + 420.0, base[1] + 300.0]))
                .collect();
            for c in 0..case {
                let centre = rng.in_box(base, [base[0] + 420.0, base[1] + 300.0]);
                points.extend(rng.cluster(centre, 3.0 + 10.0 * f64::from(c), 50 * c as usize));
            }
            // Two equal clusters with the peak between them, in pixels no point occupies.
            points.extend(rng.cluster([base[0] + 64.0 * 4.0, base[1] + 64.0 * 3.0], 0.1, 30));
            points.extend(rng.cluster([base[0] + 64.0 * 4.0 + 9.0, base[1] + 64.0 * 3.0], 0.1, 30));
            // A radius above a block (64 px) only once: its rasters are the slow part.
            let huge: &[f64] = if case == 5 { &[90.0] } else { &[] };
            for &radius in [1.0, 3.5, 11.0, DEFAULT_RADIUS_PX, MAX_RADIUS_PX]
                .iter()
                .chain(huge)
            {
                let fast = global_max(&points, radius);
                let brute = brute_force_max(&points, radius);
                assert!(
                    close(fast, brute, 1e-6),
                    "case {case} r {radius}: {fast} vs {brute}"
                );
            }
        }
        assert_eq!(global_max(&[], DEFAULT_RADIUS_PX), 0.0);
        assert_eq!(global_max(&[[f64::NAN, 1.0], [-5.0, 3.0]], 10.0), 0.0);
        assert_eq!(global_max(&[[10.5, 20.5]], 10.0), 1.0);
    }

    #[test]
    fn block_bounds_are_upper_bounds() {
        let mut rng = Rng(99);
        let base = [256.0 * 50.0, 256.0 * 60.0];
        let mut points: Vec<[f64; 2]> = (0..3_000)
            .map(|_| rng.in_box(base, [base[0] + 300.0, base[1] + 300.0]))
            .collect();
        points.extend(rng.cluster([base[0] + 150.0, base[1] + 64.0], 5.0, 300));
        let bins = SparseBins::new(&points);
        for radius in [2.0, 9.0, 20.0, 33.3, 70.0] {
            let kernel = Kernel::new(radius);
            let cell = bound_cell_size(kernel.reach);
            let bound = bound_kernel(&kernel, cell);
            let (mut top_upper, mut top_exact) = (0.0_f32, 0.0_f32);
            for by in 239..=246 {
                for bx in 199..=206 {
                    let upper = block_bound(&bins, &bound, cell, [bx, by]);
                    let exact = block_max(&bins, &kernel, [bx, by]);
                    assert!(
                        upper >= exact,
                        "r {radius} block {bx},{by}: {upper} < {exact}"
                    );
                    top_upper = top_upper.max(upper);
                    top_exact = top_exact.max(exact);
                }
            }
            // Tight enough near the peak to prune: the highest bound is close to the maximum.
            assert!(
                top_upper <= 1.5 * top_exact,
                "r {radius}: {top_upper} vs {top_exact}"
            );
        }
    }

    #[test]
    fn global_max_bounds_every_tile() {
        let mut rng = Rng(7);
        let origin = [256.0 * 800.0, 256.0 * 420.0];
        let mut points = rng.cluster([origin[0] + 250.0, origin[1] + 260.0], 40.0, 5_000);
        points.extend(rng.cluster([origin[0] + 500.0, origin[1] + 100.0], 8.0, 800));
        let radius = 16.0;
        let max = global_max(&points, radius);
        let mut tile_max = 0.0_f32;
        for x in 799..=802 {
            for y in 419..=422 {
                tile_max = tile_max.max(
                    density(&points, TileId { z: 10, x, y }, radius)
                        .into_iter()
                        .fold(0.0, f32::max),
                );
            }
        }
        assert_eq!(max, tile_max);
    }

    #[test]
    fn count_colours_rise_with_density_and_zero_is_transparent() {
        let out = colorize_count(
            &[0.0, 0.01, 0.25, 1.0, 3.0, f32::NAN, -1.0],
            1.0,
            &Ramp::Heat,
        );
        let px: Vec<&[u8]> = out.chunks_exact(4).collect();
        assert_eq!(px[0], [0, 0, 0, 0]);
        assert!(px[1][3] > 0 && px[1][3] < px[2][3] && px[2][3] < px[3][3]);
        assert_eq!(px[3], px[4], "saturates above the max");
        assert_eq!(px[5], [0, 0, 0, 0]);
        assert_eq!(px[6], [0, 0, 0, 0]);
        // Dark red at the top, yellowish low down.
        assert!(px[3][0] > px[3][1] && px[3][1] < 10);
        assert!(px[1][1] > 200);
        assert!(
            colorize_count(&[5.0], 0.0, &Ramp::Heat)
                .iter()
                .all(|&b| b == 0)
        );
    }

    #[test]
    fn rate_mode_hides_pixels_with_few_households() {
        let (x, y) = (3_000_u32, 1_500_u32);
        let (l, t) = (f64::from(x) * 256.0, f64::from(y) * 256.0);
        let mut rng = Rng(3);
        let village = rng.cluster([l + 80.0, t + 80.0], 8.0, 200);
        let lone = [l + 200.5, t + 200.5];
        let mut all_points = village.clone();
        all_points.push(lone);
        // Every other village household fails, and so does the lone one.
        let mut failing: Vec<[f64; 2]> = village.iter().step_by(2).copied().collect();
        failing.push(lone);

        let tile = TileId { z: 14, x, y };
        let params = HeatParams::default();
        let all = density(&all_points, tile, params.radius_px);
        let fail = density(&failing, tile, params.radius_px);
        let rgba = colorize_rate(&fail, &all, &params, 1.0);
        assert_eq!(rgba.len(), TILE_PX * TILE_PX * 4);
        let alpha = |x: usize, y: usize| rgba[(y * TILE_PX + x) * 4 + 3];

        assert!(
            at(&all, 200, 200) < 5.0,
            "a lone household is below the threshold"
        );
        assert_eq!(alpha(200, 200), 0, "its 100 % rate is hidden");
        assert_eq!(alpha(0, 255), 0, "no households at all");
        assert!(at(&all, 80, 80) > 5.0);
        assert!(alpha(80, 80) >= RATE_MIN_ALPHA);
        let rate = at(&fail, 80, 80) / at(&all, 80, 80);
        assert!((0.3..0.7).contains(&rate), "{rate}");

        // With the threshold at zero the lone household shows, at full rate.
        let open = HeatParams {
            min_households: 0.0,
            ..params
        };
        let rgba = colorize_rate(&fail, &all, &open, 1.0);
        assert_eq!(
            &rgba[(200 * TILE_PX + 200) * 4..][..4],
            Ramp::Heat.color(1.0)
        );
        assert_eq!(rgba[(255 * TILE_PX) * 4 + 3], 0);
    }

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn png_decodes_to_a_transparent_cornered_tile() {
        let (x, y) = (6_500_u32, 3_400_u32);
        let centre = [f64::from(x) * 256.0 + 128.0, f64::from(y) * 256.0 + 128.0];
        let points = Rng(11).cluster(centre, 20.0, 2_000);
        let d = density(&points, TileId { z: 13, x, y }, DEFAULT_RADIUS_PX);
        let max = global_max(&points, DEFAULT_RADIUS_PX);
        let rgba = colorize_count(&d, max, &Ramp::Heat);
        let bytes = encode_png(&rgba, TILE_SIZE).unwrap();
        let (info, pixels) = decode(&bytes);
        assert_eq!((info.width, info.height), (256, 256));
        assert_eq!(info.color_type, png::ColorType::Rgba);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        assert_eq!(pixels, rgba);
        for (cx, cy) in [(0, 0), (255, 0), (0, 255), (255, 255)] {
            assert_eq!(&pixels[(cy * TILE_PX + cx) * 4..][..4], [0, 0, 0, 0]);
        }
        assert!(pixels[(128 * TILE_PX + 128) * 4 + 3] > 200);

        let (info, pixels) = decode(transparent_png());
        assert_eq!(
            (info.width, info.height, info.color_type),
            (256, 256, png::ColorType::Rgba)
        );
        assert!(pixels.iter().all(|&b| b == 0));
        assert!(
            std::ptr::eq(transparent_png(), transparent_png()),
            "encoded once"
        );
    }

    #[test]
    fn encode_png_rejects_a_wrong_buffer() {
        assert!(matches!(
            encode_png(&[0; 12], 2),
            Err(HeatError::BufferSize {
                expected: 16,
                actual: 12,
                ..
            })
        ));
        assert!(matches!(encode_png(&[], 0), Err(HeatError::Png(_))));
    }
}
