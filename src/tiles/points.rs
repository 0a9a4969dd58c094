//! A vector-tile layer of household points, planned before it is written.
//!
//! A household tile at zoom 12 can hold thousands of points with four properties
//! each. [`PointPlan::add`], called once per household of the tile, plans: each point's
//! grid position (kept when it lies in the tile or its buffer), and each property as
//! an index into the layer's value table, deduplicated as it goes (village codes and
//! categories by text, the failed indicators by the bit set a household fails, so
//! the list is joined once per distinct set and tile, not once per household). From
//! that, the tile's exact size is known before a byte is written, so the size cap is
//! decided first ([`PointPlan::bytes`]); [`PointPlan::write`] then writes the tile in
//! one pass into a buffer of that size. The message is the one the [`mvt`] crate
//! would write: spec 2.1, keys `household_no`, `village_code`, `category`, `failed`,
//! every value a `string_value`.
//!
//! [`mvt`]: super::mvt

use std::collections::HashMap;

use super::polygons::{Fast, command, put_bytes, put_varint, varint_len, zigzag};
use crate::domain::MeasureId;
use crate::spatial::mercator::{TileId, lonlat_to_tile_coords};

/// The keys of a point feature, in key-table order.
const KEYS: [&str; 4] = ["household_no", "village_code", "category", "failed"];

/// One planned point feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    /// The household's row: the feature id.
    row: u32,
    /// Its grid position in tile units (0..extent, y down), buffer included.
    at: [i32; 2],
    /// Per key of [`KEYS`], the index of its value.
    values: [u32; 4],
}

/// A value of the table: borrowed from the snapshot, or a failed list made here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text<'s> {
    Borrowed(&'s str),
    Failed(usize),
}

/// The features of a household tile and their value table, with the exact size of
/// the tile they make: see the module's docs.
#[derive(Debug, Clone)]
pub struct PointPlan<'s> {
    name: &'s str,
    tile: TileId,
    extent: u32,
    buffer: u32,
    features: Vec<Planned>,
    values: Vec<Text<'s>>,
    /// Village codes and categories met, by text: their value index.
    texts: HashMap<&'s str, u32, Fast>,
    /// Failed sets met, by bit set: their value index.
    failed_sets: HashMap<u32, u32, Fast>,
    /// Each distinct failed list, joined.
    failed: Vec<String>,
    /// The encoded size of each feature message (tag and length included), summed.
    feature_bytes: usize,
    /// Households whose position lies in the tile itself (not its buffer).
    inside: usize,
}

/// One household as a point tile draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Household<'s> {
    /// Its row: the feature's id.
    pub row: u32,
    /// Its position, WGS-84 degrees.
    pub lon: f64,
    /// Its position, WGS-84 degrees.
    pub lat: f64,
    /// `household_no`.
    pub number: &'s str,
    /// `village_code`: the village it is registered in.
    pub village: &'s str,
    /// `category`'s code.
    pub category: &'s str,
    /// The measures it fails, as [`crate::model::Facts::failed_bits`] gives them:
    /// `failed` lists their codes in catalog order.
    pub failed: u32,
}

impl<'s> PointPlan<'s> {
    /// An empty plan of a layer called `name` for `tile`, on a grid of `extent` units
    /// with `buffer` units around it.
    #[must_use]
    pub fn new(name: &'s str, tile: TileId, extent: u32, buffer: u32) -> Self {
        Self {
            name,
            tile,
            extent,
            buffer,
            features: Vec::new(),
            values: Vec::new(),
            texts: HashMap::default(),
            failed_sets: HashMap::default(),
            failed: Vec::new(),
            feature_bytes: 0,
            inside: 0,
        }
    }

    /// Plans household `h` as a point if it lies in the tile or within the buffer
    /// around it, snapped to the nearest grid position, as the [`mvt`](super::mvt)
    /// crate's `add_point` and PostGIS's `ST_AsMVTGeom(…, extent, buffer, true)` keep
    /// points: returns whether it was kept. Features keep the order they are added.
    ///
    /// # Units
    /// `h`'s position in WGS-84 degrees.
    ///
    /// # Algorithm
    /// O(1): a projection, and a hash lookup for the village code, the category and
    /// the failed set each.
    pub fn add(&mut self, h: &Household<'s>) -> bool {
        let [fx, fy] = lonlat_to_tile_coords(h.lon, h.lat, self.tile, self.extent);
        let proper = 0.0..f64::from(self.extent);
        if proper.contains(&fx) && proper.contains(&fy) {
            self.inside += 1;
        }
        let (x, y) = (fx.round(), fy.round());
        let reach = -f64::from(self.buffer)..=f64::from(self.extent + self.buffer);
        // NaN fails `contains`, so bad input is left out here too.
        if !reach.contains(&x) || !reach.contains(&y) {
            return false;
        }
        // The household number is one per household: no lookup.
        let number = self.push(Text::Borrowed(h.number));
        let village = self.text(h.village);
        let category = self.text(h.category);
        let failed = if let Some(&i) = self.failed_sets.get(&h.failed) {
            i
        } else {
            self.failed.push(failed_list(h.failed));
            let i = self.push(Text::Failed(self.failed.len() - 1));
            self.failed_sets.insert(h.failed, i);
            i
        };
        let feature = Planned {
            row: h.row,
            at: [x as i32, y as i32],
            values: [number, village, category, failed],
        };
        self.feature_bytes += field_len(feature_len(&feature));
        self.features.push(feature);
        true
    }

    /// Appends a value to the table: its index.
    fn push(&mut self, text: Text<'s>) -> u32 {
        self.values.push(text);
        (self.values.len() - 1) as u32
    }

    /// The index of a text value, appended when first met.
    fn text(&mut self, s: &'s str) -> u32 {
        if let Some(&i) = self.texts.get(s) {
            return i;
        }
        let i = self.push(Text::Borrowed(s));
        self.texts.insert(s, i);
        i
    }

    fn value_str(&self, text: Text<'s>) -> &str {
        match text {
            Text::Borrowed(s) => s,
            Text::Failed(i) => &self.failed[i],
        }
    }

    /// Point features planned (households in the tile or its buffer).
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no point is planned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Households whose position lies in the tile itself, the buffer left out: what
    /// the tile counts, so that neighbouring tiles count each household once.
    #[must_use]
    pub fn inside(&self) -> usize {
        self.inside
    }

    /// The exact size of the tile [`PointPlan::write`] makes, in bytes: 0 without a
    /// feature (an empty tile).
    #[must_use]
    pub fn bytes(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        field_len(self.layer_len())
    }

    /// The length of the layer message's payload.
    fn layer_len(&self) -> usize {
        let keys: usize = KEYS.iter().map(|k| field_len(k.len())).sum();
        let values: usize = self
            .values
            .iter()
            .map(|&t| field_len(field_len(self.value_str(t).len())))
            .sum();
        2 + field_len(self.name.len())
            + self.feature_bytes
            + keys
            + values
            + 1
            + varint_len(u64::from(self.extent))
    }

    /// The tile: this layer alone, features in plan order; empty without a feature.
    #[must_use]
    pub fn write(&self) -> Vec<u8> {
        if self.is_empty() {
            return Vec::new();
        }
        let layer_len = self.layer_len();
        let mut out = Vec::with_capacity(field_len(layer_len));
        out.push(0x1a);
        put_varint(&mut out, layer_len as u64);
        out.extend_from_slice(&[0x78, 2]);
        put_bytes(&mut out, 0x0a, self.name.as_bytes());
        for f in &self.features {
            out.push(0x12);
            put_varint(&mut out, feature_len(f) as u64);
            out.push(0x08);
            put_varint(&mut out, u64::from(f.row));
            out.push(0x12);
            put_varint(&mut out, tags_len(f) as u64);
            for (key, &value) in f.values.iter().enumerate() {
                out.push(key as u8);
                put_varint(&mut out, u64::from(value));
            }
            // type = POINT
            out.extend_from_slice(&[0x18, 1]);
            let [x, y] = f.at.map(zigzag);
            out.push(0x22);
            put_varint(&mut out, (1 + varint_len(x) + varint_len(y)) as u64);
            put_varint(&mut out, command(1, 1));
            put_varint(&mut out, x);
            put_varint(&mut out, y);
        }
        for key in KEYS {
            put_bytes(&mut out, 0x1a, key.as_bytes());
        }
        for &text in &self.values {
            let s = self.value_str(text).as_bytes();
            out.push(0x22);
            put_varint(&mut out, field_len(s.len()) as u64);
            put_bytes(&mut out, 0x0a, s);
        }
        out.push(0x28);
        put_varint(&mut out, u64::from(self.extent));
        debug_assert_eq!(out.len(), self.bytes(), "the plan's size is exact");
        out
    }
}

/// The codes of the measures in `bits`, in catalog order, joined by commas.
fn failed_list(bits: u32) -> String {
    let mut s = String::new();
    for m in MeasureId::ALL.iter().filter(|m| bits >> m.index() & 1 == 1) {
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(m.code());
    }
    s
}

/// A length-delimited field with a one-byte tag and `payload` bytes: its size.
fn field_len(payload: usize) -> usize {
    1 + varint_len(payload as u64) + payload
}

/// The packed tags' length: a one-byte key index and a value index per key.
fn tags_len(f: &Planned) -> usize {
    f.values.iter().map(|&v| 1 + varint_len(u64::from(v))).sum()
}

/// A point feature's payload length: id, tags, type and geometry.
fn feature_len(f: &Planned) -> usize {
    let [x, y] = f.at.map(zigzag);
    1 + varint_len(u64::from(f.row))
        + field_len(tags_len(f))
        + 2
        + field_len(1 + varint_len(x) + varint_len(y))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::tiles::mvt::{LayerBuilder, PropValue, encode};
    use mvt_reader::Reader;

    const TILE: TileId = TileId {
        z: 14,
        x: 13_400,
        y: 6_900,
    };

    /// A household at tile units `[x, y]` of [`TILE`] (4096 across).
    fn at(row: u32, [x, y]: [f64; 2], failed: u32) -> Household<'static> {
        let [lon, lat] = TILE.lonlat_at([x / 4096.0, y / 4096.0]);
        Household {
            row,
            lon,
            lat,
            number: ["H001", "H002", "H003", "H004", "H005", "H006"][row as usize % 6],
            village: ["530102001001", "530102001002"][row as usize % 2],
            category: "lifted",
            failed,
        }
    }

    fn plan(households: &[Household<'static>]) -> PointPlan<'static> {
        let mut plan = PointPlan::new("households", TILE, 4096, 64);
        for h in households {
            plan.add(h);
        }
        plan
    }

    /// A feature's id, point and properties, as an independent reader sees them.
    type Seen = (Option<u64>, String, Vec<(String, String)>);

    fn decode(bytes: Vec<u8>) -> Vec<Seen> {
        let r = Reader::new(bytes).unwrap();
        r.get_features_as::<i32>(0)
            .unwrap()
            .into_iter()
            .map(|f| {
                let mut props: Vec<(String, String)> = f
                    .properties
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, format!("{v:?}")))
                    .collect();
                props.sort();
                (f.id, format!("{:?}", f.geometry), props)
            })
            .collect()
    }

    #[test]
    fn an_empty_plan_is_an_empty_tile() {
        let plan = plan(&[]);
        assert!(plan.is_empty());
        assert_eq!(plan.bytes(), 0);
        assert!(plan.write().is_empty());
    }

    #[test]
    fn points_in_the_buffer_are_drawn_and_those_beyond_are_not() {
        let households = [
            at(0, [-10.0, 2000.0], 0),  // west, in the buffer
            at(1, [-70.0, 2000.0], 0),  // west, beyond it
            at(2, [2000.0, 4159.8], 0), // south, snaps to the buffer's edge (4160)
            at(3, [2000.0, 4160.6], 0), // south, snaps beyond it (4161)
            at(4, [4150.0, -63.6], 0),  // north-east corner, in the buffer
            at(5, [100.0, 100.0], 0),   // inside
        ];
        let p = plan(&households);
        let drawn: Vec<u32> = p.features.iter().map(|f| f.row).collect();
        assert_eq!(drawn, [0, 2, 4, 5]);
        assert_eq!(p.features[1].at, [2000, 4160]);
        assert_eq!(p.inside(), 1, "only the tile's own household is counted");
    }

    #[test]
    fn a_position_that_is_not_finite_is_left_out() {
        let mut h = at(0, [100.0, 100.0], 0);
        h.lon = f64::NAN;
        let mut p = plan(&[]);
        assert!(!p.add(&h));
        assert!(p.is_empty());
    }

    #[test]
    fn the_planned_size_is_the_written_size_and_the_tile_decodes_as_the_crate_built_one() {
        let failed = [0, 0b101, 0b101, 1 << 20, 0, 0b11];
        let households: Vec<Household<'static>> = (0..300)
            .map(|i| {
                let x = f64::from(i * 37 % 4300) - 100.0;
                let y = f64::from(i * 91 % 4250) - 80.0;
                at(i, [x, y], failed[i as usize % failed.len()])
            })
            .collect();
        let p = plan(&households);
        assert!(p.len() > 250 && p.len() < 300, "{}", p.len());
        let ours = p.write();
        assert_eq!(ours.len(), p.bytes());
        let mut crate_built = LayerBuilder::new("households", TILE)
            .with_extent(4096)
            .with_buffer(64);
        for h in &households {
            let list = failed_list(h.failed);
            crate_built.add_point(
                Some(u64::from(h.row)),
                h.lon,
                h.lat,
                &[
                    ("household_no", PropValue::Str(h.number.to_owned())),
                    ("village_code", PropValue::Str(h.village.to_owned())),
                    ("category", PropValue::Str(h.category.to_owned())),
                    ("failed", PropValue::Str(list)),
                ],
            );
        }
        assert_eq!(crate_built.len(), p.len());
        assert_eq!(decode(ours), decode(encode(vec![crate_built])));
    }

    #[test]
    fn failed_lists_follow_the_catalog_order() {
        let bits = (1 << MeasureId::Dropout.index()) | (1 << MeasureId::AnyProblem.index());
        assert_eq!(
            failed_list(bits),
            format!(
                "{},{}",
                MeasureId::AnyProblem.code(),
                MeasureId::Dropout.code()
            )
        );
        assert_eq!(failed_list(0), "");
    }
}
