//! The vector-tile layers: boundaries with indicator values, households (aggregated
//! into cells below a zoom, one point each from it upward) and problem households.
//!
//! Everything comes from one [`Snapshot`] (positions, per-household indicator
//! contributions, boundaries), so a tile always matches the data version in its ETag.

use std::collections::HashMap;

use super::mvt::{LayerBuilder, PropValue, encode};
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

/// A boundary tile: each area of the level in the tile, simplified to about one tile
/// unit, with code, name, level, households and the table's values
/// (`{id}_count`, `{id}_denominator`, `{id}_rate`, `{id}_class`).
#[must_use]
pub fn boundaries(
    snapshot: &Snapshot,
    layer: Layer,
    tile: TileId,
    table: &Table,
    scope: &AreaScope,
) -> Vec<u8> {
    let mut builder = LayerBuilder::new(layer.name(), tile)
        .with_extent(EXTENT)
        .with_buffer(BUFFER);
    let rows: HashMap<&str, &crate::indicators::table::TableRow> = table
        .rows
        .iter()
        .map(|r| (r.area.code.as_str(), r))
        .collect();
    // Only areas whose box meets the tile and its buffer are projected and given their
    // properties: the others would be clipped away whole, after costing as much.
    let reach = tile.bounds_buffered(BUFFER, EXTENT);
    let reach = [reach.west, reach.south, reach.east, reach.north];
    let meets = |i: usize, g: &geo::MultiPolygon<f64>| -> bool {
        if layer == Layer::Villages {
            return snapshot.villages.box_meets(i, reach);
        }
        geo::BoundingRect::bounding_rect(g).is_some_and(|r| {
            r.min().x <= reach[2]
                && r.max().x >= reach[0]
                && r.min().y <= reach[3]
                && r.max().y >= reach[1]
        })
    };
    let areas: Vec<(&String, &geo::MultiPolygon<f64>)> = match layer {
        Layer::Cities => snapshot.cities.iter().map(|(c, g)| (c, g)).collect(),
        Layer::Counties => snapshot.counties.iter().map(|(c, g)| (c, g)).collect(),
        Layer::Townships => snapshot.townships.iter().map(|(c, g)| (c, g)).collect(),
        _ => snapshot
            .villages
            .areas()
            .iter()
            .map(|a| (&a.code, &a.geometry))
            .collect(),
    };
    for (i, (code, geometry)) in areas.into_iter().enumerate() {
        if !scope.contains(code) || !meets(i, geometry) {
            continue;
        }
        let mut props: Vec<(String, PropValue)> = vec![
            ("code".into(), PropValue::Str(code.to_owned())),
            (
                "name".into(),
                PropValue::Str(snapshot.name(code).unwrap_or_default().to_owned()),
            ),
        ];
        if let Some(row) = rows.get(code.as_str()) {
            props.push(("households".into(), PropValue::Int(row.households)));
            for (ind, cell) in table.indicators.iter().zip(&row.cells) {
                props.push((
                    format!("{}_count", ind.id),
                    PropValue::Int(cell.value.count),
                ));
                props.push((
                    format!("{}_denominator", ind.id),
                    PropValue::Int(cell.value.denominator),
                ));
                if let Some(rate) = cell.value.rate {
                    props.push((format!("{}_rate", ind.id), PropValue::Float(rate)));
                }
                if let Some(class) = cell.class {
                    props.push((format!("{}_class", ind.id), PropValue::Int(class as i64)));
                }
            }
        }
        let refs: Vec<(&str, PropValue)> =
            props.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        builder.add_polygon(Some(i as u64), geometry, 1.0, &refs);
    }
    encode(vec![builder])
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
    /// Households in the tile's bounds that pass the filter.
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

/// A household (or problem) tile: one point per household from [`POINT_MIN_ZOOM`]
/// on, with its number, registered village, category and failed indicators (no name,
/// no ID number); below it, or when the points would exceed the caps (by default
/// [`MAX_FEATURES`] and [`MAX_BYTES`]), one point per occupied cell at the cell's
/// centre with the counts: never a silently truncated tile. Only households of
/// villages inside `scope` are drawn; without `exact`, only as cells (for people
/// who may see figures but not where each household lives).
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
    let b = tile.bounds();
    let mut rows = super::rows_in(snapshot, tile.z, [b.west, b.south, b.east, b.north]);
    // Features in row order, whichever way the rows were found.
    rows.sort_unstable();
    let rows: Vec<u32> = rows
        .into_iter()
        .filter(|&r| passes(&snapshot.facts, r as usize, filter))
        .filter(|&r| scope.contains(&snapshot.locations[r as usize].village_code))
        .collect();
    if exact && tile.z >= POINT_MIN_ZOOM && rows.len() <= caps.features {
        let mut builder = LayerBuilder::new(layer.name(), tile)
            .with_extent(EXTENT)
            .with_buffer(BUFFER);
        for &row in &rows {
            let r = row as usize;
            let Some(p) = snapshot.positions[r] else {
                continue;
            };
            let failed: Vec<&str> = snapshot.facts.failed(r).map(MeasureId::code).collect();
            let failed = failed.join(",");
            let location = &snapshot.locations[r];
            builder.add_point(
                Some(u64::from(row)),
                p.lon,
                p.lat,
                &[
                    (
                        "household_no",
                        PropValue::Str(snapshot.household_nos[r].clone()),
                    ),
                    (
                        "village_code",
                        PropValue::Str(location.village_code.clone()),
                    ),
                    (
                        "category",
                        PropValue::Str(snapshot.facts.category(r).code().to_owned()),
                    ),
                    ("failed", PropValue::Str(failed)),
                ],
            );
            if builder.approx_bytes() > caps.bytes {
                break;
            }
        }
        if builder.approx_bytes() <= caps.bytes {
            return PointTile {
                bytes: encode(vec![builder]),
                households: rows.len(),
                aggregated: false,
            };
        }
    }
    PointTile {
        bytes: cells(snapshot, layer, tile, &rows),
        households: rows.len(),
        aggregated: true,
    }
}

/// One point per occupied cell, at the cell's centre (never a household's own
/// position), with `households` and the count of every measure (`{id}`).
fn cells(snapshot: &Snapshot, layer: Layer, tile: TileId, rows: &[u32]) -> Vec<u8> {
    let side = CELLS_PER_SIDE;
    let mut sums: HashMap<(u32, u32), (i64, Vec<i64>)> = HashMap::new();
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
    encode(vec![builder])
}
