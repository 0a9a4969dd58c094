//! A vector-tile layer of polygons written straight to protobuf, for boundary tiles.
//!
//! A village tile at a low zoom holds a couple of hundred villages with four values per
//! indicator each: tens of thousands of properties, which the [`mvt`] crate's
//! builder hashes twice each (its key and value tables) with `SipHash` and allocates as
//! it goes. Here the geometry comes already encoded ([`EncodedGeometry`], made once per
//! tile and data version and kept apart from the properties), keys are known in advance
//! by slot (no hashing), values are deduplicated with a multiplicative hash, and the
//! layer is written to bytes as features are added. The result is the same tile
//! message the crate writes: spec 2.1, values as `string_value`, `double_value`,
//! `uint_value` or (negative) `sint_value`.
//!
//! [`mvt`]: super::mvt

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::mvt::TilePolygon;

/// A polygon's geometry as the spec's command stream (`MoveTo`, `LineTo`, `ClosePath` with
/// zigzag deltas), in protobuf's packed form: ready to be copied into any feature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedGeometry {
    packed: Box<[u8]>,
}

impl EncodedGeometry {
    /// Encodes a polygon's rings (each exterior followed by its holes, as
    /// [`TilePolygon`] keeps them). The cursor starts at (0, 0), as it does for each
    /// feature.
    #[must_use]
    pub fn new(polygon: &TilePolygon) -> Self {
        let mut out = Vec::with_capacity(polygon.vertices() * 3 + 8);
        let mut cursor = [0_i32, 0];
        for ring in polygon.rings() {
            let Some((first, rest)) = ring.split_first() else {
                continue;
            };
            put_varint(&mut out, command(1, 1));
            put_point(&mut out, &mut cursor, *first);
            put_varint(&mut out, command(2, rest.len() as u32));
            for p in rest {
                put_point(&mut out, &mut cursor, *p);
            }
            put_varint(&mut out, command(7, 1));
        }
        Self {
            packed: out.into_boxed_slice(),
        }
    }

    /// Whether there is no geometry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// Bytes of the packed command stream.
    #[must_use]
    pub fn len(&self) -> usize {
        self.packed.len()
    }
}

/// A command integer: id in the low three bits, count above.
pub(super) fn command(id: u32, count: u32) -> u64 {
    u64::from((id & 7) | (count << 3))
}

fn put_point(out: &mut Vec<u8>, cursor: &mut [i32; 2], p: [i32; 2]) {
    put_varint(out, zigzag(p[0] - cursor[0]));
    put_varint(out, zigzag(p[1] - cursor[1]));
    *cursor = p;
}

pub(super) fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A length-delimited field: tag byte, length, payload.
pub(super) fn put_bytes(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// A property value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TagValue<'v> {
    /// Text.
    Str(&'v str),
    /// An integer: `uint_value` when non-negative, `sint_value` when negative.
    Int(i64),
    /// A floating-point number, as `double_value`.
    Float(f64),
}

/// Multiplicative hashing (as rustc's `FxHasher`): the values hashed are this
/// process's own numbers and area codes, so no flooding defence is needed, and
/// `SipHash` would cost more than the rest of writing a value.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct MulHasher(u64);

impl Hasher for MulHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0_u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type Fast = BuildHasherDefault<MulHasher>;

/// One layer of polygon features, written to protobuf as they are added.
#[derive(Debug)]
pub struct PolygonLayer<'k> {
    name: &'k str,
    extent: u32,
    /// Every key a feature may use, by slot.
    keys: &'k [&'k str],
    /// Each slot's index in the layer's key table, once used.
    key_index: Vec<Option<u32>>,
    /// The key table's order: slots.
    key_order: Vec<usize>,
    ints: HashMap<i64, u32, Fast>,
    floats: HashMap<u64, u32, Fast>,
    strings: HashMap<&'k str, u32, Fast>,
    /// The value table, written.
    values: Vec<u8>,
    value_count: u32,
    /// The features, written.
    features: Vec<u8>,
    count: usize,
    /// A feature's tags, reused.
    tags: Vec<u8>,
}

impl<'k> PolygonLayer<'k> {
    /// An empty layer called `name` on a grid of `extent`, whose features may use the
    /// keys `keys` (by index).
    #[must_use]
    pub fn new(name: &'k str, extent: u32, keys: &'k [&'k str]) -> Self {
        Self {
            name,
            extent,
            keys,
            key_index: vec![None; keys.len()],
            key_order: Vec::new(),
            ints: HashMap::default(),
            floats: HashMap::default(),
            strings: HashMap::default(),
            values: Vec::new(),
            value_count: 0,
            features: Vec::new(),
            count: 0,
            tags: Vec::new(),
        }
    }

    /// Features added.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no feature was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key(&mut self, slot: usize) -> u32 {
        if let Some(i) = self.key_index[slot] {
            return i;
        }
        let i = self.key_order.len() as u32;
        self.key_order.push(slot);
        self.key_index[slot] = Some(i);
        i
    }

    fn value(&mut self, value: TagValue<'k>) -> u32 {
        let next = self.value_count;
        let (index, new) = match value {
            TagValue::Str(s) => {
                let i = *self.strings.entry(s).or_insert(next);
                (i, i == next)
            }
            TagValue::Int(v) => {
                let i = *self.ints.entry(v).or_insert(next);
                (i, i == next)
            }
            TagValue::Float(f) => {
                // 0.0 and -0.0 are one value, as the crate files them.
                let bits = if f == 0.0 { 0 } else { f.to_bits() };
                let i = *self.floats.entry(bits).or_insert(next);
                (i, i == next)
            }
        };
        if new {
            self.value_count += 1;
            // The Value message written in place: its length is known beforehand.
            let out = &mut self.values;
            out.push(0x22);
            match value {
                TagValue::Str(s) => {
                    let n = s.len() as u64;
                    put_varint(out, 1 + varint_len(n) as u64 + n);
                    put_bytes(out, 0x0a, s.as_bytes());
                }
                TagValue::Int(v) => {
                    let (tag, n) = match u64::try_from(v) {
                        Ok(u) => (0x28, u),
                        Err(_) => (0x30, ((v << 1) ^ (v >> 63)) as u64),
                    };
                    put_varint(out, 1 + varint_len(n) as u64);
                    out.push(tag);
                    put_varint(out, n);
                }
                TagValue::Float(f) => {
                    out.extend_from_slice(&[9, 0x19]);
                    out.extend_from_slice(&f.to_le_bytes());
                }
            }
        }
        index
    }

    /// Adds a polygon feature with `tags` (key slot, value); each slot at most once.
    /// Nothing is added for an empty geometry.
    pub fn add(&mut self, id: u64, geometry: &EncodedGeometry, tags: &[(usize, TagValue<'k>)]) {
        if geometry.is_empty() {
            return;
        }
        let mut packed = std::mem::take(&mut self.tags);
        packed.clear();
        for &(slot, value) in tags {
            let k = self.key(slot);
            let v = self.value(value);
            put_varint(&mut packed, u64::from(k));
            put_varint(&mut packed, u64::from(v));
        }
        let geometry = &geometry.packed;
        let mut len = 1 + varint_len(id) + 2 + 1 + varint_len(geometry.len() as u64);
        len += geometry.len();
        if !packed.is_empty() {
            len += 1 + varint_len(packed.len() as u64) + packed.len();
        }
        self.features.push(0x12);
        put_varint(&mut self.features, len as u64);
        self.features.push(0x08);
        put_varint(&mut self.features, id);
        if !packed.is_empty() {
            put_bytes(&mut self.features, 0x12, &packed);
        }
        // type = POLYGON
        self.features.extend_from_slice(&[0x18, 3]);
        put_bytes(&mut self.features, 0x22, geometry);
        self.tags = packed;
        self.count += 1;
    }

    /// The tile holding this layer alone: empty when the layer has no feature.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut layer = Vec::with_capacity(self.features.len() + self.values.len() + 256);
        layer.extend_from_slice(&[0x78, 2]);
        put_bytes(&mut layer, 0x0a, self.name.as_bytes());
        layer.extend_from_slice(&self.features);
        for &slot in &self.key_order {
            put_bytes(&mut layer, 0x1a, self.keys[slot].as_bytes());
        }
        layer.extend_from_slice(&self.values);
        layer.push(0x28);
        put_varint(&mut layer, u64::from(self.extent));
        let mut tile = Vec::with_capacity(layer.len() + 6);
        put_bytes(&mut tile, 0x1a, &layer);
        tile
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::spatial::mercator::TileId;
    use crate::tiles::mvt::{LayerBuilder, PropValue, clip_tile_units, encode};
    use geo::{LineString, MultiPolygon, Polygon};
    use mvt_reader::Reader;

    fn polygon(corners: &[(f64, f64)], hole: Option<&[(f64, f64)]>) -> TilePolygon {
        let ring = |c: &[(f64, f64)]| {
            let mut v: Vec<(f64, f64)> = c.to_vec();
            v.push(c[0]);
            LineString::from(v)
        };
        let p = Polygon::new(ring(corners), hole.map(ring).into_iter().collect());
        clip_tile_units(&MultiPolygon(vec![p]), 4096, 64, 0.0)
    }

    #[test]
    fn an_empty_layer_is_no_tile() {
        let layer = PolygonLayer::new("villages", 4096, &[]);
        assert!(layer.finish().is_empty());
        let mut layer = PolygonLayer::new("villages", 4096, &["a"]);
        layer.add(1, &EncodedGeometry::default(), &[(0, TagValue::Int(1))]);
        assert!(layer.is_empty());
    }

    #[test]
    fn the_written_layer_decodes_as_the_crate_built_one() {
        let tile = TileId::new(10, 870, 380).unwrap();
        let shapes = [
            polygon(&[(100.0, 100.0), (900.0, 120.0), (500.0, 700.0)], None),
            polygon(
                &[
                    (-50.0, 1000.0),
                    (4150.0, 1000.0),
                    (4150.0, 4150.0),
                    (-50.0, 4150.0),
                ],
                Some(&[
                    (1000.0, 2000.0),
                    (1000.0, 3000.0),
                    (2000.0, 3000.0),
                    (2000.0, 2000.0),
                ]),
            ),
            polygon(&[(3000.0, 100.0), (3100.0, 100.0), (3100.0, 200.0)], None),
        ];
        let keys = ["code", "name", "n", "rate", "unused"];
        let values = |i: usize| {
            vec![
                (0, TagValue::Str(["a", "b", "a"][i])),
                (1, TagValue::Str("名")),
                (2, TagValue::Int([0, -3, 70_000][i])),
                (3, TagValue::Float([0.5, -0.0, 0.0][i])),
            ]
        };
        let mut fast = PolygonLayer::new("villages", 4096, &keys);
        let mut crate_built = LayerBuilder::new("villages", tile);
        for (i, shape) in shapes.iter().enumerate() {
            fast.add(i as u64 * 7, &EncodedGeometry::new(shape), &values(i));
            let props: Vec<(&str, PropValue)> = values(i)
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        TagValue::Str(s) => PropValue::Str(s.to_owned()),
                        TagValue::Int(n) => PropValue::Int(n),
                        TagValue::Float(f) => PropValue::Float(f),
                    };
                    (keys[k], v)
                })
                .collect();
            assert!(crate_built.add_tile_polygon(Some(i as u64 * 7), shape, &props));
        }
        assert_eq!(fast.len(), 3);
        let ours = fast.finish();
        let theirs = encode(vec![crate_built]);
        assert_eq!(ours.len(), theirs.len());
        let decode = |bytes: Vec<u8>| {
            let r = Reader::new(bytes).unwrap();
            let meta = r.get_layer_metadata().unwrap();
            assert_eq!((meta[0].name.as_str(), meta[0].extent), ("villages", 4096));
            r.get_features_as::<i32>(0)
                .unwrap()
                .into_iter()
                .map(|f| {
                    let props: std::collections::BTreeMap<String, String> = f
                        .properties
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, format!("{v:?}")))
                        .collect();
                    (f.id, format!("{:?}", f.geometry), props)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(decode(ours), decode(theirs));
    }
}
