//! The vector-tile layers: boundaries with indicator values, households (aggregated
//! into cells below a zoom, one point each from it upward) and problem households.
//!
//! Everything comes from one [`Snapshot`] (positions, per-household indicator
//! contributions, boundaries), so a tile always matches the data version in its ETag.

use std::collections::HashMap;

use geo::{Coord, MapCoords, MultiPolygon};

use super::mvt::{LayerBuilder, PropValue, clip_tile_units, encode};
use super::points::{Household, PointPlan};
use super::polygons::{EncodedGeometry, PolygonLayer, TagValue};
use super::topology::{GRID_BITS, Simplified};
use crate::domain::MeasureId;
use crate::domain::access::AreaScope;
use crate::indicators::table::Table;
use crate::model::{Facts, Snapshot};
use crate::spatial::mercator::{TileId, lonlat_to_tile_coords};

/// From this zoom on, households are single points; below it, cells with counts.
pub const POINT_MIN_ZOOM: u8 = 12;
/// Most features one tile's layer may hold before it is aggregated instead (as
/// tippecanoe keeps).
pub const MAX_FEATURES: usize = 200_000;
/// Most bytes one tile may take before it is aggregated instead.
pub const MAX_BYTES: usize = 500_000;
/// Cells per tile side when households are aggregated (16 px cells on a 256 px tile).
pub const CELLS_PER_SIDE: u32 = 16;
/// Tile units per tile side.
pub const EXTENT: u32 = 4096;
/// Tile units around the tile that features may reach into, against clipping seams.
pub const BUFFER: u32 = 64;

/// The layers served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// City outlines with indicator values: a province's cities, side by side.
    Cities,
    /// County boundaries with indicator values: a city's counties, side by side.
    Counties,
    /// Township boundaries with indicator values.
    Townships,
    /// Village boundaries with indicator values.
    Villages,
    /// Every household: cells below [`POINT_MIN_ZOOM`], points from it on.
    Households,
    /// Households failing an indicator (default `any_problem`).
    Problems,
}

impl Layer {
    /// Every layer.
    pub const ALL: [Layer; 6] = [
        Layer::Cities,
        Layer::Counties,
        Layer::Townships,
        Layer::Villages,
        Layer::Households,
        Layer::Problems,
    ];

    /// The layer's name in URLs and inside the tile.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Layer::Cities => "cities",
            Layer::Counties => "counties",
            Layer::Townships => "townships",
            Layer::Villages => "villages",
            Layer::Households => "households",
            Layer::Problems => "problems",
        }
    }

    /// Whether the layer holds areas with indicator values (else households).
    #[must_use]
    pub fn is_boundary(self) -> bool {
        matches!(
            self,
            Layer::Cities | Layer::Counties | Layer::Townships | Layer::Villages
        )
    }

    /// The level of the areas a boundary layer holds.
    #[must_use]
    pub fn level(self) -> Option<crate::domain::AreaLevel> {
        use crate::domain::AreaLevel;
        match self {
            Layer::Cities => Some(AreaLevel::City),
            Layer::Counties => Some(AreaLevel::County),
            Layer::Townships => Some(AreaLevel::Township),
            Layer::Villages => Some(AreaLevel::Village),
            Layer::Households | Layer::Problems => None,
        }
    }

    /// The names of every layer, for messages.
    #[must_use]
    pub fn names() -> String {
        Self::ALL.map(Layer::name).join(", ")
    }

    /// Parses a layer name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// The areas of a boundary layer, in the order of their feature ids: a layer's
/// [`super::topology::Topology`] and every tile index them alike.
#[must_use]
pub fn boundary_areas(snapshot: &Snapshot, layer: Layer) -> Vec<(&str, &MultiPolygon<f64>)> {
    fn pairs(v: &[(String, MultiPolygon<f64>)]) -> Vec<(&str, &MultiPolygon<f64>)> {
        v.iter().map(|(c, g)| (c.as_str(), g)).collect()
    }
    match layer {
        Layer::Cities => pairs(&snapshot.cities),
        Layer::Counties => pairs(&snapshot.counties),
        Layer::Townships => pairs(&snapshot.townships),
        Layer::Villages | Layer::Households | Layer::Problems => snapshot
            .villages
            .areas()
            .iter()
            .map(|a| (a.code.as_str(), &a.geometry))
            .collect(),
    }
}

/// The code of a boundary layer's area `i` (as [`boundary_areas`] counts them).
fn area_code(snapshot: &Snapshot, layer: Layer, i: usize) -> Option<&str> {
    let code = match layer {
        Layer::Cities => &snapshot.cities.get(i)?.0,
        Layer::Counties => &snapshot.counties.get(i)?.0,
        Layer::Townships => &snapshot.townships.get(i)?.0,
        Layer::Villages | Layer::Households | Layer::Problems => {
            &snapshot.villages.areas().get(i)?.code
        }
    };
    Some(code)
}

/// The geometry of a boundary tile apart from its properties: each area of the layer
/// that meets the tile, in tile units, from the zoom's simplified boundaries (so that
/// neighbours keep their shared edges), clipped to the tile and its buffer. Every area
/// is kept whatever the person's scope; [`boundaries`] filters.
#[must_use]
pub fn boundary_shapes(simplified: &Simplified, tile: TileId) -> TileShapes {
    // Grid units are world fractions times 2^GRID_BITS; a tile unit at zoom z is
    // 2^(GRID_BITS - z) / EXTENT of them: a power of two, so scaling is exact.
    let shift = i32::try_from(GRID_BITS).unwrap_or(40) - i32::from(tile.z);
    let grid_per_unit = 2_f64.powi(shift) / f64::from(EXTENT);
    let unit_per_grid = grid_per_unit.recip();
    let (x0, y0) = (
        f64::from(tile.x) * f64::from(EXTENT),
        f64::from(tile.y) * f64::from(EXTENT),
    );
    let reach = [
        (x0 - f64::from(BUFFER)) * grid_per_unit,
        (y0 - f64::from(BUFFER)) * grid_per_unit,
        (x0 + f64::from(EXTENT + BUFFER)) * grid_per_unit,
        (y0 + f64::from(EXTENT + BUFFER)) * grid_per_unit,
    ];
    let mut areas = Vec::new();
    for (i, (area, b)) in simplified.areas.iter().zip(&simplified.boxes).enumerate() {
        // NaN boxes (empty areas) fail every comparison and are skipped.
        if !(b[0] <= reach[2] && b[2] >= reach[0] && b[1] <= reach[3] && b[3] >= reach[1]) {
            continue;
        }
        let projected = area.map_coords(|c| Coord {
            x: c.x * unit_per_grid - x0,
            y: c.y * unit_per_grid - y0,
        });
        let polygon = clip_tile_units(&projected, EXTENT, BUFFER, 0.0);
        if !polygon.is_empty() {
            areas.push((i as u32, EncodedGeometry::new(&polygon)));
        }
    }
    TileShapes { areas }
}

/// The geometry of one boundary tile, made once per data version and tile and
/// written under whatever properties each request asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileShapes {
    /// Each area in the tile: its index (as [`boundary_areas`] counts) and its
    /// polygon, encoded as the tile's commands.
    pub areas: Vec<(u32, EncodedGeometry)>,
}

impl TileShapes {
    /// About how many bytes of memory the shapes take, for the cache's bound.
    #[must_use]
    pub fn weight(&self) -> u64 {
        let bytes: usize = self.areas.iter().map(|(_, g)| g.len()).sum();
        (64 + self.areas.len() * 40 + bytes) as u64
    }
}

/// A boundary tile: each area of the level in the tile (`shapes`, from
/// [`boundary_shapes`]) inside `scope`, with code, name, level, households and the
/// table's values (`{id}_count`, `{id}_denominator`, `{id}_rate`, `{id}_class`).
#[must_use]
pub fn boundaries(
    snapshot: &Snapshot,
    layer: Layer,
    table: &Table,
    scope: &AreaScope,
    shapes: &TileShapes,
) -> Vec<u8> {
    // A plain table's rows are in code order; a ranked one's are searched through.
    let ranked = table.rows.first().is_some_and(|r| r.rank.is_some());
    let row_of = |code: &str| {
        if ranked {
            table.rows.iter().find(|r| r.area.code == code)
        } else {
            table
                .rows
                .binary_search_by(|r| r.area.code.as_str().cmp(code))
                .ok()
                .map(|i| &table.rows[i])
        }
    };
    // Key slots: code, name, households, then four per indicator. Made once per tile,
    // not once per feature.
    let names: Vec<String> = table
        .indicators
        .iter()
        .flat_map(|ind| {
            ["_count", "_denominator", "_rate", "_class"].map(|suffix| {
                let mut name = String::with_capacity(ind.id.len() + suffix.len());
                name.push_str(&ind.id);
                name.push_str(suffix);
                name
            })
        })
        .collect();
    let keys: Vec<&str> = ["code", "name", "households"]
        .into_iter()
        .chain(names.iter().map(String::as_str))
        .collect();
    let mut out = PolygonLayer::new(layer.name(), EXTENT, &keys);
    let mut tags: Vec<(usize, TagValue)> = Vec::with_capacity(keys.len());
    for (i, geometry) in &shapes.areas {
        let Some(code) = area_code(snapshot, layer, *i as usize) else {
            continue;
        };
        if !scope.contains(code) {
            continue;
        }
        tags.clear();
        tags.push((0, TagValue::Str(code)));
        tags.push((1, TagValue::Str(snapshot.name(code).unwrap_or_default())));
        if let Some(row) = row_of(code) {
            tags.push((2, TagValue::Int(row.households)));
            for (j, cell) in row.cells.iter().enumerate().take(table.indicators.len()) {
                let slot = 3 + 4 * j;
                tags.push((slot, TagValue::Int(cell.value.count)));
                tags.push((slot + 1, TagValue::Int(cell.value.denominator)));
                if let Some(r) = cell.value.rate {
                    tags.push((slot + 2, TagValue::Float(r)));
                }
                if let Some(c) = cell.class {
                    tags.push((slot + 3, TagValue::Int(c as i64)));
                }
            }
        }
        out.add(u64::from(*i), geometry, &tags);
    }
    out.finish()
}

/// Which households a point layer shows: all, or those failing a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every household.
    All,
    /// Those whose count of this measure is above zero.
    Failing(MeasureId),
}

/// Whether household `row` passes the filter.
fn passes(facts: &Facts, row: usize, filter: Filter) -> bool {
    match filter {
        Filter::All => true,
        Filter::Failing(m) => facts.fails(row, m),
    }
}

/// A household or problem tile, and whether it was aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointTile {
    /// The encoded tile.
    pub bytes: Vec<u8>,
    /// Households that pass the filter whose position lies in the tile itself
    /// (`[0, EXTENT)` on both axes): a point tile also draws those in its buffer, which
    /// belong to a neighbour, and this counts each household in one tile only, as
    /// cells do, so that counts of neighbouring tiles add up.
    pub households: usize,
    /// Cells instead of points: below [`POINT_MIN_ZOOM`], or over the caps.
    pub aggregated: bool,
}

/// How much one tile may hold before its households are aggregated into cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most point features.
    pub features: usize,
    /// Most bytes.
    pub bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            features: MAX_FEATURES,
            bytes: MAX_BYTES,
        }
    }
}

/// How a household tile is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One point per household, in the tile and its buffer.
    Points,
    /// One point per occupied cell of the tile, with counts.
    Cells,
}

/// How a household tile is drawn, decided before any point is written: points from
/// [`POINT_MIN_ZOOM`] on for people who may see where households live (`exact`),
/// when the tile's `features` and its exact size in `bytes` (from
/// [`PointPlan::bytes`]) are within the caps; else cells. Never a truncated tile.
#[must_use]
pub fn form(z: u8, exact: bool, features: usize, bytes: usize, caps: Caps) -> Form {
    if exact && z >= POINT_MIN_ZOOM && features <= caps.features && bytes <= caps.bytes {
        Form::Points
    } else {
        Form::Cells
    }
}

/// A household (or problem) tile: one point per household from [`POINT_MIN_ZOOM`]
/// on, with its number, registered village, category and failed indicators (no name,
/// no ID number); below it, or when the points would exceed the caps (by default
/// [`MAX_FEATURES`] and [`MAX_BYTES`]), one point per occupied cell at the cell's
/// centre with the counts: never a silently truncated tile. Only households of
/// villages inside `scope` are drawn; without `exact`, only as cells (for people
/// who may see figures but not where each household lives).
///
/// # Algorithm
/// 1. The rows in the tile grown by [`BUFFER`] units and one more (the index's box
///    is in degrees; the exact test is on the snapped grid position) that pass the
///    filter and the scope, in row order.
/// 2. If more rows than the feature cap, cells. Else a [`PointPlan`]: each point's
///    grid position, kept if in the tile or its buffer as PostGIS's
///    `ST_AsMVTGeom(…, 4096, 64, true)` keeps it, and its values, deduplicated; this
///    gives the tile's exact size.
/// 3. [`form`] decides from the plan's features and size; points are written from
///    the plan, or cells are made from the rows in the tile itself (each household in
///    one tile only).
#[must_use]
pub fn households(
    snapshot: &Snapshot,
    layer: Layer,
    tile: TileId,
    filter: Filter,
    caps: Caps,
    scope: &AreaScope,
    exact: bool,
) -> PointTile {
    let b = tile.bounds_buffered(BUFFER + 1, EXTENT);
    let mut rows = super::rows_in(snapshot, tile.z, [b.west, b.south, b.east, b.north]);
    // Features in row order, whichever way the rows were found.
    rows.sort_unstable();
    rows.retain(|&r| {
        passes(&snapshot.facts, r as usize, filter)
            && (scope.is_all() || scope.contains(&snapshot.locations[r as usize].village_code))
    });
    if form(tile.z, exact, rows.len(), 0, caps) == Form::Points {
        let mut plan = PointPlan::new(layer.name(), tile, EXTENT, BUFFER);
        for &row in &rows {
            let r = row as usize;
            if let Some(p) = snapshot.positions[r] {
                plan.add(&Household {
                    row,
                    lon: p.lon,
                    lat: p.lat,
                    number: &snapshot.household_nos[r],
                    village: &snapshot.locations[r].village_code,
                    category: snapshot.facts.category(r).code(),
                    failed: snapshot.facts.failed_bits(r),
                });
            }
        }
        if form(tile.z, exact, plan.len(), plan.bytes(), caps) == Form::Points {
            return PointTile {
                bytes: plan.write(),
                households: plan.inside(),
                aggregated: false,
            };
        }
    }
    let (bytes, households) = cells(snapshot, layer, tile, &rows);
    PointTile {
        bytes,
        households,
        aggregated: true,
    }
}

/// One point per occupied cell, at the cell's centre (never a household's own
/// position), with `households` and the count of every measure (`{id}`); and the
/// households counted. Rows outside the tile itself (in its buffer) are left out.
fn cells(snapshot: &Snapshot, layer: Layer, tile: TileId, rows: &[u32]) -> (Vec<u8>, usize) {
    let side = CELLS_PER_SIDE;
    let mut sums: HashMap<(u32, u32), (i64, Vec<i64>)> = HashMap::new();
    let mut inside = 0;
    for &row in rows {
        let r = row as usize;
        let Some(p) = snapshot.positions[r] else {
            continue;
        };
        let [x, y] = lonlat_to_tile_coords(p.lon, p.lat, tile, side);
        if !(0.0..f64::from(side)).contains(&x) || !(0.0..f64::from(side)).contains(&y) {
            continue;
        }
        let cell = sums
            .entry((x as u32, y as u32))
            .or_insert_with(|| (0, vec![0; MeasureId::ALL.len()]));
        cell.0 += 1;
        snapshot.facts.add_counts(r, &mut cell.1);
        inside += 1;
    }
    let mut builder = LayerBuilder::new(layer.name(), tile)
        .with_extent(EXTENT)
        .with_buffer(BUFFER);
    let mut keys: Vec<_> = sums.keys().copied().collect();
    keys.sort_unstable();
    for (cx, cy) in keys {
        let (households, counts) = &sums[&(cx, cy)];
        let [lon, lat] = tile.lonlat_at([
            (f64::from(cx) + 0.5) / f64::from(side),
            (f64::from(cy) + 0.5) / f64::from(side),
        ]);
        let mut props: Vec<(&str, PropValue)> = vec![
            ("households", PropValue::Int(*households)),
            ("cell", PropValue::Bool(true)),
        ];
        for (m, c) in MeasureId::ALL
            .iter()
            .zip(counts)
            .filter(|(m, _)| !m.is_ledger())
        {
            props.push((m.code(), PropValue::Int(*c)));
        }
        builder.add_point(Some(u64::from(cy * side + cx)), lon, lat, &props);
    }
    (encode(vec![builder]), inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: Caps = Caps {
        features: 1_000,
        bytes: 50_000,
    };

    #[test]
    fn below_the_point_zoom_or_without_exact_positions_a_tile_is_cells() {
        assert_eq!(form(POINT_MIN_ZOOM - 1, true, 10, 500, CAPS), Form::Cells);
        assert_eq!(form(POINT_MIN_ZOOM, false, 10, 500, CAPS), Form::Cells);
        assert_eq!(form(POINT_MIN_ZOOM, true, 10, 500, CAPS), Form::Points);
        assert_eq!(form(18, true, 0, 0, CAPS), Form::Points, "an empty tile");
    }

    #[test]
    fn a_tile_over_either_cap_is_cells_before_a_point_is_written() {
        assert_eq!(
            form(14, true, 1_000, 50_000, CAPS),
            Form::Points,
            "at the caps"
        );
        assert_eq!(
            form(14, true, 1_001, 0, CAPS),
            Form::Cells,
            "the row count alone"
        );
        assert_eq!(
            form(14, true, 900, 50_001, CAPS),
            Form::Cells,
            "the planned size"
        );
    }

    #[test]
    fn the_plans_size_decides_and_is_the_written_size() {
        // A plan's exact size, with the cap just below and just at it.
        let tile = TileId::new(14, 13_400, 6_900).unwrap();
        let mut plan = PointPlan::new("households", tile, EXTENT, BUFFER);
        for row in 0..100_u32 {
            let [lon, lat] = tile.lonlat_at([f64::from(row) / 100.0, 0.5]);
            plan.add(&Household {
                row,
                lon,
                lat,
                number: "530102001001000001",
                village: "530102001001",
                category: "lifted",
                failed: row % 3,
            });
        }
        let bytes = plan.bytes();
        let at = Caps {
            features: 100,
            bytes,
        };
        let below = Caps {
            bytes: bytes - 1,
            ..at
        };
        assert_eq!(form(14, true, plan.len(), bytes, at), Form::Points);
        assert_eq!(form(14, true, plan.len(), bytes, below), Form::Cells);
        assert_eq!(plan.write().len(), bytes);
    }
}
