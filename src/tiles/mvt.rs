//! Mapbox Vector Tile (spec 2.1) encoding of the layers served at
//! `/tiles/{layer}/{z}/{x}/{y}.mvt`.
//!
//! The protobuf side (feature and layer messages, the per-layer key and value tables
//! with their deduplication, the MoveTo/LineTo/ClosePath command stream with its
//! delta and zigzag coding) is the [`mvt`] crate's. This module turns WGS-84 geometry
//! into what that crate must be given: integer tile coordinates, clipped, valid rings.
//!
//! A polygon goes through these steps, all in tile units (`0..extent`, y down):
//! 1. **Project** every vertex with [`lonlat_to_tile_coords`].
//! 2. **Reject or clip.** A polygon whose bounding box misses the tile grown by the
//!    buffer is dropped; one whose box lies inside it is kept whole; anything else is
//!    intersected with that buffered square by `geo`'s `BooleanOps`, which cuts
//!    multipolygons and holes into valid polygons (Sutherland–Hodgman on each ring
//!    would leave zero-width bridges along the buffer's edge). The buffer lets a
//!    renderer draw strokes and labels across tile seams without gaps.
//! 3. **Simplify** each ring by Ramer–Douglas–Peucker with the caller's tolerance
//!    (about one unit is invisible on screen). Simplifying after clipping keeps the cut
//!    edges exact and spends no work on the parts outside the tile.
//! 4. **Snap** vertices to the integer grid, then drop repeated points and any vertex
//!    in line with its neighbours, including the tips of zero-width spikes that
//!    snapping folds up. A ring left with fewer than three corners or no area is
//!    dropped, and so are the holes of a dropped exterior.
//! 5. **Orient** rings as the spec's surveyor's formula wants them: exterior rings
//!    with positive area (clockwise on screen, since y points down), holes negative,
//!    each exterior followed by its holes.
//!
//! Snapping can still, rarely, make two rings touch or a ring cross itself by a
//! fraction of a unit; renderers and GDAL tolerate that, and a full make-valid pass
//! would cost far more than it shows.
//!
//! Each layer is encoded as a tile message of its own and the messages are
//! concatenated: protobuf merges repeated fields of concatenated messages, so the
//! result is one tile whose layers may even differ in extent, which the crate's
//! single-extent `Tile` would not allow.
//!
//! Two habits of the `mvt` crate (0.15) matter here. It leaves out the `MoveTo` of a
//! ring that starts where the previous ring ended, which corrupts the geometry, so such
//! a ring is started one vertex later. And in debug builds `Feature::set_id` compares
//! each id with every earlier one in the layer, which makes a layer of many features
//! with ids quadratic to build in debug builds (20,000 points take a second);
//! `[profile.dev.package.mvt] debug-assertions = false` in `Cargo.toml` turns that off.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use geo::{
    BooleanOps, BoundingRect, Coord, CoordsIter, LineString, MapCoords, MultiPolygon, Rect,
    Simplify,
};
use mvt::{GeomData, GeomEncoder, GeomType};
use thiserror::Error;

use crate::spatial::mercator::{TileId, lonlat_to_tile_coords};

/// Tile-local units across a tile unless [`LayerBuilder::with_extent`] says otherwise.
pub const DEFAULT_EXTENT: u32 = 4096;

/// Tile-local units kept beyond each tile edge unless [`LayerBuilder::with_buffer`]
/// says otherwise.
pub const DEFAULT_BUFFER: u32 = 64;

/// Largest extent and buffer a layer accepts; larger values are clamped to it.
pub const MAX_EXTENT: u32 = 1 << 16;

/// A feature property value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// Text.
    Str(String),
    /// An integer; written as `uint_value` when non-negative and `sint_value` when
    /// negative, the two compact encodings the spec offers.
    Int(i64),
    /// A floating-point number, written as `double_value` so nothing is rounded.
    Float(f64),
    /// A flag.
    Bool(bool),
}

impl From<&str> for PropValue {
    fn from(value: &str) -> Self {
        Self::Str(value.to_owned())
    }
}

impl From<String> for PropValue {
    fn from(value: String) -> Self {
        Self::Str(value)
    }
}

impl From<i64> for PropValue {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<f64> for PropValue {
    fn from(value: f64) -> Self {
        Self::Float(value)
    }
}

impl From<bool> for PropValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// Why layers could not be encoded into a tile.
#[derive(Debug, Error)]
pub enum MvtError {
    /// Two layers share a name, which the spec forbids within one tile.
    #[error("two layers are named {0:?}; layer names must be unique within a tile")]
    DuplicateLayer(String),
    /// The `mvt` crate refused the layer.
    #[error("layer {layer:?} could not be encoded")]
    Encode {
        /// The layer's name.
        layer: String,
        /// What the crate reported.
        #[source]
        source: mvt::Error,
    },
}

/// Collects the features of one layer of one tile.
///
/// Geometry comes in as WGS-84 longitude/latitude and is projected, clipped to the tile
/// grown by the buffer and snapped to the layer's integer grid as it is added, so the
/// builder holds only what will be written. See the module documentation for the steps.
pub struct LayerBuilder {
    name: String,
    tile: TileId,
    extent: u32,
    buffer: u32,
    /// Made at the first feature, so that the extent can still change until then.
    layer: Option<mvt::Layer>,
    features: usize,
    size: SizeEstimate,
}

impl fmt::Debug for LayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerBuilder")
            .field("name", &self.name)
            .field("tile", &self.tile)
            .field("extent", &self.extent)
            .field("buffer", &self.buffer)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

impl LayerBuilder {
    /// Starts an empty layer called `name` for `tile`, with [`DEFAULT_EXTENT`] and
    /// [`DEFAULT_BUFFER`].
    #[must_use]
    pub fn new(name: &str, tile: TileId) -> Self {
        Self {
            name: name.to_owned(),
            tile,
            extent: DEFAULT_EXTENT,
            buffer: DEFAULT_BUFFER,
            layer: None,
            features: 0,
            size: SizeEstimate::default(),
        }
    }

    /// Sets how many units span the tile, clamped to `1..=MAX_EXTENT`.
    ///
    /// Call it before adding features: once the layer holds one, its coordinates are
    /// already on the old grid and the extent is left as it is.
    #[must_use]
    pub fn with_extent(mut self, extent: u32) -> Self {
        if self.layer.is_none() {
            self.extent = extent.clamp(1, MAX_EXTENT);
        }
        self
    }

    /// Sets how many units beyond each tile edge geometry is kept, at most
    /// [`MAX_EXTENT`].
    ///
    /// Call it before adding features: once the layer holds one, the buffer is left as
    /// it is, so that all features are clipped alike.
    #[must_use]
    pub fn with_buffer(mut self, buffer: u32) -> Self {
        if self.layer.is_none() {
            self.buffer = buffer.min(MAX_EXTENT);
        }
        self
    }

    /// The layer's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tile the layer is for.
    #[must_use]
    pub fn tile(&self) -> TileId {
        self.tile
    }

    /// Units across the tile.
    #[must_use]
    pub fn extent(&self) -> u32 {
        self.extent
    }

    /// Units kept beyond each tile edge.
    #[must_use]
    pub fn buffer(&self) -> u32 {
        self.buffer
    }

    /// Adds a (multi)polygon given in WGS-84 longitude/latitude.
    ///
    /// Clips it to the tile grown by the buffer, simplifies it with
    /// `simplify_tolerance` tile units (about 1.0 is invisible; 0 or less keeps every
    /// vertex), snaps it to the integer grid, and orients its rings as the spec
    /// requires. Returns whether a feature was added: nothing is added when the
    /// polygon misses the buffered tile, has a non-finite coordinate, or collapses to
    /// nothing at this zoom.
    ///
    /// `props` are written in order; give each key once.
    pub fn add_polygon(
        &mut self,
        id: Option<u64>,
        geometry: &MultiPolygon<f64>,
        simplify_tolerance: f64,
        props: &[(&str, PropValue)],
    ) -> bool {
        let polygon = self.tile_polygon(geometry, simplify_tolerance);
        self.add_tile_polygon(id, &polygon, props)
    }

    /// Adds a polygon already in this layer's tile units (from [`Self::tile_polygon`] or
    /// [`clip_tile_units`] for the same tile, extent and buffer), so that geometry made
    /// once can be written under other properties. Returns false, adding nothing, for
    /// an empty polygon.
    ///
    /// `props` are written in order; give each key once.
    pub fn add_tile_polygon(
        &mut self,
        id: Option<u64>,
        polygon: &TilePolygon,
        props: &[(&str, PropValue)],
    ) -> bool {
        if polygon.is_empty() {
            return false;
        }
        match encode_rings(polygon.rings()) {
            Ok((geometry, bytes)) => {
                self.push_feature(id, geometry, bytes, props);
                true
            }
            Err(_) => false,
        }
    }

    /// Adds a point given in WGS-84 longitude/latitude, snapped to the nearest grid
    /// position. Returns false, adding nothing, when that position lies outside the
    /// tile grown by the buffer or a coordinate is not finite.
    ///
    /// `props` are written in order; give each key once.
    pub fn add_point(
        &mut self,
        id: Option<u64>,
        lon: f64,
        lat: f64,
        props: &[(&str, PropValue)],
    ) -> bool {
        let [x, y] = lonlat_to_tile_coords(lon, lat, self.tile, self.extent);
        let (x, y) = (x.round(), y.round());
        let reach = -f64::from(self.buffer)..=f64::from(self.extent + self.buffer);
        // NaN fails `contains`, so bad input is rejected here too.
        if !reach.contains(&x) || !reach.contains(&y) {
            return false;
        }
        let (x, y) = (x as i32, y as i32);
        match GeomEncoder::new(GeomType::Point)
            .point(x, y)
            .and_then(GeomEncoder::encode)
        {
            Ok(geometry) => {
                let bytes = 1 + varint_len(zigzag(x)) + varint_len(zigzag(y));
                self.push_feature(id, geometry, bytes, props);
                true
            }
            Err(_) => false,
        }
    }

    /// How many features the layer holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features
    }

    /// Whether the layer holds no feature (and so will be left out of the tile).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features == 0
    }

    /// How many bytes the layer will take in the encoded tile, before compression, so
    /// that a handler can stop adding features before a tile grows too large.
    ///
    /// Exact unless two different keys or values share a 64-bit hash, which only
    /// makes the figure a little low.
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        let body = self.size.body
            + field_len(self.name.len())
            + 2
            + 1
            + varint_len(u64::from(self.extent));
        field_len(body)
    }

    fn push_feature(
        &mut self,
        id: Option<u64>,
        geometry: GeomData,
        geometry_bytes: usize,
        props: &[(&str, PropValue)],
    ) {
        let layer = self
            .layer
            .take()
            .unwrap_or_else(|| mvt::Tile::new(self.extent).create_layer(&self.name));
        let mut feature = layer.into_feature(geometry);
        let mut size = 2 + field_len(geometry_bytes);
        if let Some(id) = id {
            feature.set_id(id);
            size += 1 + varint_len(id);
        }
        let mut tag_bytes = 0;
        for (key, value) in props {
            tag_bytes += self.size.key(key) + self.size.value(value);
            match value {
                PropValue::Str(s) => feature.add_tag_string(key, s),
                PropValue::Int(i) => match u64::try_from(*i) {
                    Ok(u) => feature.add_tag_uint(key, u),
                    Err(_) => feature.add_tag_sint(key, *i),
                },
                PropValue::Float(f) => feature.add_tag_double(key, *f),
                PropValue::Bool(b) => feature.add_tag_bool(key, *b),
            }
        }
        if tag_bytes > 0 {
            size += field_len(tag_bytes);
        }
        self.size.body += field_len(size);
        self.layer = Some(feature.into_layer());
        self.features += 1;
    }

    /// Steps 1–5 of the module documentation for a (multi)polygon in WGS-84
    /// longitude/latitude: its rings in tile units, each exterior followed by its holes,
    /// or an empty polygon. See [`Self::add_polygon`] for the tolerance.
    #[must_use]
    pub fn tile_polygon(&self, geometry: &MultiPolygon<f64>, tolerance: f64) -> TilePolygon {
        let (tile, extent) = (self.tile, self.extent);
        let projected = geometry.map_coords(|c| {
            let [x, y] = lonlat_to_tile_coords(c.x, c.y, tile, extent);
            Coord { x, y }
        });
        clip_tile_units(&projected, extent, self.buffer, tolerance)
    }
}

/// A polygon in a tile's units: clipped to the tile grown by the buffer, snapped to
/// the integer grid, rings oriented, each exterior followed by its holes. Made once,
/// it can be written into any number of tiles of the same address whose properties
/// differ ([`LayerBuilder::add_tile_polygon`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TilePolygon {
    points: Vec<[i32; 2]>,
    /// Where each ring ends in `points`.
    ends: Vec<u32>,
}

impl TilePolygon {
    fn from_rings(rings: Vec<Vec<[i32; 2]>>) -> Self {
        let mut out = Self {
            points: Vec::with_capacity(rings.iter().map(Vec::len).sum()),
            ends: Vec::with_capacity(rings.len()),
        };
        for ring in rings {
            out.points.extend(ring);
            out.ends.push(out.points.len() as u32);
        }
        out
    }

    /// Whether nothing is left of the polygon in the tile.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Corners kept, over all rings.
    #[must_use]
    pub fn vertices(&self) -> usize {
        self.points.len()
    }

    /// The rings: corners without the closing repeat.
    pub fn rings(&self) -> impl Iterator<Item = &[[i32; 2]]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let ring = &self.points[start..end as usize];
            start = end as usize;
            ring
        })
    }
}

/// Steps 2–5 of the module documentation for a (multi)polygon already projected to
/// tile units (`0..extent`, y down): clipped to the tile grown by `buffer`, simplified
/// with `tolerance` units (0 or less keeps every vertex), snapped and oriented.
#[must_use]
pub fn clip_tile_units(
    projected: &MultiPolygon<f64>,
    extent: u32,
    buffer: u32,
    tolerance: f64,
) -> TilePolygon {
    if !projected
        .coords_iter()
        .all(|c| c.x.is_finite() && c.y.is_finite())
    {
        return TilePolygon::default();
    }
    let Some(bbox) = projected.bounding_rect() else {
        return TilePolygon::default();
    };
    let reach = Rect::new(
        Coord {
            x: -f64::from(buffer),
            y: -f64::from(buffer),
        },
        Coord {
            x: f64::from(extent + buffer),
            y: f64::from(extent + buffer),
        },
    );
    let clipped = if !overlaps(&bbox, &reach) {
        return TilePolygon::default();
    } else if inside(&bbox, &reach) {
        std::borrow::Cow::Borrowed(projected)
    } else {
        std::borrow::Cow::Owned(
            super::clip::clip_to_rect(projected, &reach)
                .unwrap_or_else(|| projected.intersection(&reach.to_polygon())),
        )
    };
    let simplified = if tolerance.is_finite() && tolerance > 0.0 {
        std::borrow::Cow::Owned(clipped.simplify(tolerance))
    } else {
        clipped
    };
    let mut rings = Vec::new();
    for polygon in simplified.iter() {
        let Some(exterior) = snap_ring(polygon.exterior(), true) else {
            continue;
        };
        rings.push(exterior);
        rings.extend(
            polygon
                .interiors()
                .iter()
                .filter_map(|hole| snap_ring(hole, false)),
        );
    }
    TilePolygon::from_rings(rings)
}

/// Encodes the layers into one tile, in the order given, leaving out empty ones.
///
/// The result is the uncompressed protobuf; compress it (gzip) on the way out if the
/// client accepts that. A layer named like an earlier non-empty one is left out, since
/// the spec forbids two layers of one name in a tile; [`try_encode`] reports that
/// instead.
#[must_use]
pub fn encode(layers: Vec<LayerBuilder>) -> Vec<u8> {
    let mut seen = HashSet::with_capacity(layers.len());
    let unique = layers
        .into_iter()
        .filter(|l| !l.is_empty() && seen.insert(l.name.clone()))
        .collect();
    // With the names unique nothing is left that could fail (see `try_encode`).
    try_encode(unique).unwrap_or_default()
}

/// As [`encode`], but a repeated layer name is an error rather than a dropped layer.
///
/// # Errors
/// [`MvtError::DuplicateLayer`] when two layers, empty or not, share a name;
/// [`MvtError::Encode`] if the `mvt` crate refuses a layer, which it has no reason to:
/// each layer goes into a tile of its own extent, and writing to memory cannot fail.
pub fn try_encode(layers: Vec<LayerBuilder>) -> Result<Vec<u8>, MvtError> {
    let mut names = HashSet::with_capacity(layers.len());
    if let Some(twice) = layers.iter().find(|l| !names.insert(l.name.as_str())) {
        return Err(MvtError::DuplicateLayer(twice.name.clone()));
    }
    let mut out = Vec::with_capacity(layers.iter().map(LayerBuilder::approx_bytes).sum());
    for builder in layers {
        let Some(layer) = builder.layer else {
            continue;
        };
        let fail = |source| MvtError::Encode {
            layer: builder.name.clone(),
            source,
        };
        let mut tile = mvt::Tile::new(builder.extent);
        tile.add_layer(layer).map_err(fail)?;
        tile.write_to(&mut out).map_err(fail)?;
    }
    Ok(out)
}

/// Feeds the rings to the crate's encoder, returning the geometry and its size in bytes.
fn encode_rings<'a>(
    rings: impl IntoIterator<Item = &'a [[i32; 2]]>,
) -> Result<(GeomData, usize), mvt::Error> {
    let mut encoder = GeomEncoder::new(GeomType::Polygon);
    let mut cursor = [0, 0];
    let mut bytes = 0;
    let mut previous_end: Option<[i32; 2]> = None;
    for ring in rings {
        // The crate drops a ring's MoveTo when the ring starts where the previous one
        // ended, which corrupts the geometry; starting it one vertex later avoids that
        // (neighbouring vertices always differ after `snap_ring`).
        let start = usize::from(previous_end.is_some_and(|end| ring.first() == Some(&end)));
        for point in ring[start..].iter().chain(&ring[..start]) {
            encoder.add_point(point[0], point[1])?;
            bytes +=
                varint_len(zigzag(point[0] - cursor[0])) + varint_len(zigzag(point[1] - cursor[1]));
            cursor = *point;
        }
        encoder.complete_geom()?;
        previous_end = Some(cursor);
        bytes += 2 + varint_len(((ring.len() as u64 - 1) << 3) | 2);
    }
    Ok((encoder.encode()?, bytes))
}

/// Snaps a closed ring to the integer grid and orients it: `exterior` rings get positive
/// area by the spec's formula, holes negative. Returns the distinct corners without the
/// closing repeat, or `None` when fewer than three corners or no area remain.
fn snap_ring(ring: &LineString<f64>, exterior: bool) -> Option<Vec<[i32; 2]>> {
    let mut out: Vec<[i32; 2]> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let p = [c.x.round() as i32, c.y.round() as i32];
        if out.last() == Some(&p) {
            continue;
        }
        // A vertex in line with its neighbours changes nothing but the byte count, and
        // one whose neighbours coincide is the tip of a spike that snapping flattened.
        while let [.., a, b] = out[..] {
            if cross(a, b, p) != 0 {
                break;
            }
            out.pop();
        }
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    // The loop above cannot see across the ring's seam, so tidy the ends until both
    // junctions turn.
    let mut start = 0;
    loop {
        let n = out.len();
        if n - start < 3 {
            return None;
        }
        let (first, second) = (out[start], out[start + 1]);
        let (before_last, last) = (out[n - 2], out[n - 1]);
        if first == last || cross(before_last, last, first) == 0 {
            out.pop();
        } else if cross(last, first, second) == 0 {
            start += 1;
        } else {
            break;
        }
    }
    let mut out = out.split_off(start);
    let area = twice_area(&out);
    if area == 0 {
        return None;
    }
    if (area > 0) != exterior {
        out.reverse();
    }
    Some(out)
}

/// The z component of `(b - a) × (c - b)`: zero when the three points are in line.
fn cross(a: [i32; 2], b: [i32; 2], c: [i32; 2]) -> i64 {
    let (abx, aby) = (i64::from(b[0] - a[0]), i64::from(b[1] - a[1]));
    let (bcx, bcy) = (i64::from(c[0] - b[0]), i64::from(c[1] - b[1]));
    abx * bcy - aby * bcx
}

/// Twice the ring's signed area by the spec's surveyor's formula, which is positive for
/// rings that run clockwise on screen (y down).
fn twice_area(ring: &[[i32; 2]]) -> i64 {
    let mut sum = 0;
    let mut prev = ring[ring.len() - 1];
    for &p in ring {
        sum += i64::from(prev[0]) * i64::from(p[1]) - i64::from(p[0]) * i64::from(prev[1]);
        prev = p;
    }
    sum
}

fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && a.max().x >= b.min().x
        && a.min().y <= b.max().y
        && a.max().y >= b.min().y
}

fn inside(inner: &Rect<f64>, outer: &Rect<f64>) -> bool {
    inner.min().x >= outer.min().x
        && inner.min().y >= outer.min().y
        && inner.max().x <= outer.max().x
        && inner.max().y <= outer.max().y
}

fn zigzag(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

/// Bytes a protobuf varint of `v` takes.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes a length-delimited field with a one-byte tag and `len` bytes of payload takes.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Running count of a layer's encoded bytes, following the crate's deduplication of
/// keys and values (by hash, which is plenty for an estimate) to know the indices.
#[derive(Default)]
struct SizeEstimate {
    /// Bytes of features and of the key and value tables, framing included.
    body: usize,
    keys: HashMap<u64, usize>,
    values: HashMap<u64, usize>,
}

impl SizeEstimate {
    /// Bytes the key's index takes in a feature's tags, adding the key to the table
    /// when it is new.
    fn key(&mut self, key: &str) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let next = self.keys.len();
        let index = *self.keys.entry(h.finish()).or_insert_with(|| {
            self.body += field_len(key.len());
            next
        });
        varint_len(index as u64)
    }

    /// As [`Self::key`], for a value.
    fn value(&mut self, value: &PropValue) -> usize {
        let mut h = DefaultHasher::new();
        let payload = match value {
            PropValue::Str(s) => {
                (0_u8, s).hash(&mut h);
                field_len(s.len())
            }
            PropValue::Int(i) => {
                (1_u8, i).hash(&mut h);
                // A negative value goes out zigzagged as `sint_value`.
                1 + varint_len(u64::try_from(*i).unwrap_or(((*i << 1) ^ (*i >> 63)) as u64))
            }
            PropValue::Float(f) => {
                // The crate files 0.0 and -0.0 as one value.
                (2_u8, if *f == 0.0 { 0 } else { f.to_bits() }).hash(&mut h);
                9
            }
            PropValue::Bool(b) => {
                (3_u8, b).hash(&mut h);
                2
            }
        };
        let next = self.values.len();
        let index = *self.values.entry(h.finish()).or_insert_with(|| {
            self.body += field_len(payload);
            next
        });
        varint_len(index as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::f64::consts::PI;

    use geo::{LineString, MultiPolygon, Polygon};
    use mvt_reader::Reader;
    use mvt_reader::feature::Value;

    use super::*;

    /// A zoom-12 tile over Mengla county, Yunnan.
    fn tile() -> TileId {
        TileId::containing(101.564, 21.467, 12).unwrap()
    }

    const EARTH_RADIUS: f64 = 6_378_137.0;

    /// Tile-local position computed from EPSG:3857 metres, independently of `grid`.
    fn expected_xy(lon: f64, lat: f64, tile: TileId, extent: u32) -> [i32; 2] {
        let half = PI * EARTH_RADIUS;
        let mx = lon.to_radians() * EARTH_RADIUS;
        let my = (PI / 4.0 + lat.to_radians() / 2.0).tan().ln() * EARTH_RADIUS;
        let tile_size = 2.0 * half / f64::from(1_u32 << tile.z);
        let e = f64::from(extent);
        let px = ((mx + half) / tile_size - f64::from(tile.x)) * e;
        let py = ((half - my) / tile_size - f64::from(tile.y)) * e;
        [px.round() as i32, py.round() as i32]
    }

    /// Longitude/latitude of a tile-local position, the inverse of `expected_xy`.
    fn lonlat(px: f64, py: f64) -> (f64, f64) {
        let t = tile();
        let half = PI * EARTH_RADIUS;
        let tile_size = 2.0 * half / f64::from(1_u32 << t.z);
        let mx = (f64::from(t.x) + px / 4096.0) * tile_size - half;
        let my = half - (f64::from(t.y) + py / 4096.0) * tile_size;
        let lat = (2.0 * (my / EARTH_RADIUS).exp().atan() - PI / 2.0).to_degrees();
        ((mx / EARTH_RADIUS).to_degrees(), lat)
    }

    fn ring(points: &[(f64, f64)]) -> LineString<f64> {
        points
            .iter()
            .map(|&(x, y)| lonlat(x, y))
            .collect::<Vec<_>>()
            .into()
    }

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
        ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    }

    fn multi(polygons: Vec<Polygon<f64>>) -> MultiPolygon<f64> {
        MultiPolygon::new(polygons)
    }

    /// Spec formula, doubled: positive for exterior rings.
    fn area2(ring: &LineString<i32>) -> i64 {
        ring.lines()
            .map(|l| {
                i64::from(l.start.x) * i64::from(l.end.y)
                    - i64::from(l.end.x) * i64::from(l.start.y)
            })
            .sum()
    }

    fn polygons(feature: &mvt_reader::feature::Feature<i32>) -> Vec<Polygon<i32>> {
        match &feature.geometry {
            geo::Geometry::Polygon(p) => vec![p.clone()],
            geo::Geometry::MultiPolygon(mp) => mp.0.clone(),
            other => unreachable!("not a polygon: {other:?}"),
        }
    }

    /// Corners of a closed ring as a set, so rings can be compared whatever their start.
    fn corners(ring: &LineString<i32>) -> Vec<(i32, i32)> {
        let mut v: Vec<(i32, i32)> = ring.0[..ring.0.len() - 1]
            .iter()
            .map(|c| (c.x, c.y))
            .collect();
        v.sort_unstable();
        v
    }

    fn decode_one(
        bytes: &[u8],
    ) -> (
        mvt_reader::layer::Layer,
        Vec<mvt_reader::feature::Feature<i32>>,
    ) {
        let reader = Reader::new(bytes.to_vec()).unwrap();
        let mut layers = reader.get_layer_metadata().unwrap();
        assert_eq!(layers.len(), 1);
        let layer = layers.remove(0);
        let features = reader.get_features_as::<i32>(layer.layer_index).unwrap();
        (layer, features)
    }

    /// Checks what every polygon ring must satisfy and returns all rings.
    fn check_rings(
        feature: &mvt_reader::feature::Feature<i32>,
        lo: i32,
        hi: i32,
    ) -> Vec<LineString<i32>> {
        let mut all = Vec::new();
        for p in polygons(feature) {
            assert!(area2(p.exterior()) > 0, "exterior must have positive area");
            for hole in p.interiors() {
                assert!(area2(hole) < 0, "holes must have negative area");
            }
            for r in std::iter::once(p.exterior()).chain(p.interiors()) {
                assert!(r.0.len() >= 4, "{r:?}");
                assert_eq!(r.0.first(), r.0.last(), "closed");
                for w in r.0.windows(2) {
                    assert_ne!(w[0], w[1], "repeated point in {r:?}");
                }
                for c in &r.0 {
                    assert!(
                        (lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y),
                        "{c:?}"
                    );
                }
                all.push(r.clone());
            }
        }
        all
    }

    /// A minimal protobuf reader, independent of both crates, for what `mvt-reader`
    /// resolves away: the key and value tables and the raw command stream.
    mod wire {
        pub enum Field<'a> {
            Varint,
            Bytes(&'a [u8]),
        }

        fn varint(buf: &[u8], pos: &mut usize) -> u64 {
            let mut v = 0;
            let mut shift = 0;
            loop {
                let b = buf[*pos];
                *pos += 1;
                v |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }

        pub fn fields(buf: &[u8]) -> Vec<(u64, Field<'_>)> {
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < buf.len() {
                let key = varint(buf, &mut pos);
                let field = match key & 7 {
                    0 => {
                        varint(buf, &mut pos);
                        Field::Varint
                    }
                    2 => {
                        let len = varint(buf, &mut pos) as usize;
                        pos += len;
                        Field::Bytes(&buf[pos - len..pos])
                    }
                    w => unreachable!("wire type {w} not used by MVT encoders here"),
                };
                out.push((key >> 3, field));
            }
            out
        }

        pub fn packed(buf: &[u8]) -> Vec<u32> {
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < buf.len() {
                out.push(varint(buf, &mut pos) as u32);
            }
            out
        }

        pub struct Layer {
            pub name: String,
            pub keys: usize,
            pub values: usize,
            pub geometries: Vec<Vec<u32>>,
        }

        pub fn layers(tile: &[u8]) -> Vec<Layer> {
            let mut out = Vec::new();
            for (n, f) in fields(tile) {
                let (3, Field::Bytes(layer)) = (n, f) else {
                    unreachable!("tile field {n}")
                };
                let mut l = Layer {
                    name: String::new(),
                    keys: 0,
                    values: 0,
                    geometries: Vec::new(),
                };
                for (n, f) in fields(layer) {
                    match (n, f) {
                        (1, Field::Bytes(b)) => l.name = String::from_utf8(b.to_vec()).unwrap(),
                        (2, Field::Bytes(feature)) => {
                            for (n, f) in fields(feature) {
                                if let (4, Field::Bytes(g)) = (n, f) {
                                    l.geometries.push(packed(g));
                                }
                            }
                        }
                        (3, _) => l.keys += 1,
                        (4, _) => l.values += 1,
                        _ => {}
                    }
                }
                out.push(l);
            }
            out
        }

        /// Checks the spec's polygon grammar and returns each ring's vertex count.
        pub fn polygon_rings(geometry: &[u32]) -> Vec<usize> {
            let mut rings = Vec::new();
            let mut i = 0;
            while i < geometry.len() {
                assert_eq!(
                    geometry[i], 9,
                    "ring must start with MoveTo(1) at {i}: {geometry:?}"
                );
                i += 3;
                assert_eq!(geometry[i] & 7, 2, "LineTo expected at {i}");
                let n = (geometry[i] >> 3) as usize;
                assert!(n >= 2, "a ring needs LineTo of at least 2");
                i += 1 + 2 * n;
                assert_eq!(geometry[i], 15, "ClosePath(1) expected at {i}");
                i += 1;
                rings.push(n + 1);
            }
            rings
        }
    }

    #[test]
    fn points_decode_to_exact_positions_and_properties() {
        let here = tile();
        let edges = here.bounds();
        let mut layer = LayerBuilder::new("households", here);
        let spots = [
            (
                edges.west + 0.3 * (edges.east - edges.west),
                edges.south + 0.6 * (edges.north - edges.south),
            ),
            (
                edges.west + 0.71 * (edges.east - edges.west),
                edges.south + 0.05 * (edges.north - edges.south),
            ),
            (edges.west, edges.north),
            (edges.east, edges.south),
        ];
        for (i, &(lon, lat)) in spots.iter().enumerate() {
            let props = [
                ("name", PropValue::from(format!("户{i}"))),
                ("village", "曼腊村".into()),
                ("members", PropValue::Int(i as i64 - 1)),
                ("income", PropValue::Float(1234.5 * i as f64)),
                ("poor", PropValue::Bool(i % 2 == 0)),
            ];
            assert!(layer.add_point(Some(100 + i as u64), lon, lat, &props));
        }
        assert_eq!(layer.len(), 4);
        let bytes = encode(vec![layer]);
        let (meta, features) = decode_one(&bytes);
        assert_eq!(meta.name, "households");
        assert_eq!(meta.extent, 4096);
        assert_eq!(meta.version, 2);
        assert_eq!(meta.feature_count, 4);
        for (i, (f, &(lon, lat))) in features.iter().zip(&spots).enumerate() {
            let geo::Geometry::MultiPoint(mp) = &f.geometry else {
                unreachable!()
            };
            let [x, y] = expected_xy(lon, lat, here, 4096);
            assert_eq!(mp.0.len(), 1);
            assert_eq!((mp.0[0].x(), mp.0[0].y()), (x, y), "point {i}");
            assert_eq!(f.id, Some(100 + i as u64));
            let got = f.properties.as_ref().unwrap();
            assert_eq!(got["name"], Value::String(format!("户{i}")));
            assert_eq!(got["village"], Value::String("曼腊村".into()));
            let members = i as i64 - 1;
            let expected = u64::try_from(members).map_or(Value::SInt(members), Value::UInt);
            assert_eq!(got["members"], expected);
            assert_eq!(got["income"], Value::Double(1234.5 * i as f64));
            assert_eq!(got["poor"], Value::Bool(i % 2 == 0));
        }
        // The corners land exactly on the tile's corners.
        assert_eq!(expected_xy(spots[2].0, spots[2].1, here, 4096), [0, 0]);
        assert_eq!(
            expected_xy(spots[3].0, spots[3].1, here, 4096),
            [4096, 4096]
        );
        // Names and the shared village are stored once per layer.
        let raw = wire::layers(&bytes);
        assert_eq!(raw[0].keys, 5);
        assert_eq!(raw[0].values, 4 + 1 + 4 + 4 + 2);
    }

    #[test]
    fn points_beyond_the_buffer_are_refused() {
        let mut layer = LayerBuilder::new("p", tile());
        let (lon, lat) = lonlat(-63.6, 4160.4);
        assert!(layer.add_point(None, lon, lat, &[]));
        let (lon, lat) = lonlat(-64.6, 100.0);
        assert!(!layer.add_point(None, lon, lat, &[]));
        let (lon, lat) = lonlat(100.0, 4160.6);
        assert!(!layer.add_point(None, lon, lat, &[]));
        assert!(!layer.add_point(None, f64::NAN, 21.0, &[]));
        assert!(!layer.add_point(None, 101.5, f64::INFINITY, &[]));
        assert_eq!(layer.len(), 1);
        let (_, features) = decode_one(&encode(vec![layer]));
        let geo::Geometry::MultiPoint(mp) = &features[0].geometry else {
            unreachable!()
        };
        assert_eq!((mp.0[0].x(), mp.0[0].y()), (-64, 4160));
    }

    #[test]
    fn polygon_larger_than_the_tile_becomes_the_buffered_square() {
        let mut layer = LayerBuilder::new("township", tile());
        let big = Polygon::new(square(-9000.0, -5000.0, 12000.0, 20000.0), vec![]);
        assert!(layer.add_polygon(
            Some(7),
            &multi(vec![big]),
            1.0,
            &[("name", "勐腊镇".into())]
        ));
        let bytes = encode(vec![layer]);
        let (_, features) = decode_one(&bytes);
        assert_eq!(features.len(), 1);
        let rings = check_rings(&features[0], -64, 4160);
        assert_eq!(rings.len(), 1);
        assert_eq!(
            corners(&rings[0]),
            vec![(-64, -64), (-64, 4160), (4160, -64), (4160, 4160)]
        );
        assert_eq!(features[0].id, Some(7));
        assert_eq!(
            wire::polygon_rings(&wire::layers(&bytes)[0].geometries[0]),
            vec![4]
        );
    }

    #[test]
    fn polygon_outside_the_tile_adds_nothing() {
        let mut layer = LayerBuilder::new("village", tile());
        let far = Polygon::new(square(4300.0, 100.0, 5000.0, 900.0), vec![]);
        assert!(!layer.add_polygon(None, &multi(vec![far]), 1.0, &[]));
        // Its bounding box overlaps the tile, the polygon itself does not.
        let corner = Polygon::new(
            ring(&[
                (4150.0, -500.0),
                (5000.0, -500.0),
                (5000.0, 600.0),
                (4150.0, -500.0),
            ]),
            vec![],
        );
        assert!(!layer.add_polygon(None, &multi(vec![corner]), 1.0, &[]));
        assert!(!layer.add_polygon(None, &MultiPolygon::new(vec![]), 1.0, &[]));
        assert!(layer.is_empty());
        assert_eq!(layer.approx_bytes(), 0);
        assert!(encode(vec![layer]).is_empty());
    }

    #[test]
    fn polygon_with_a_hole_keeps_it_and_both_windings_are_fixed() {
        // Exterior given counter-clockwise on screen, hole clockwise: both wrong.
        let outer = ring(&[
            (1000.0, 1000.0),
            (1000.0, 3000.0),
            (3000.0, 3000.0),
            (3000.0, 1000.0),
            (1000.0, 1000.0),
        ]);
        let hole = square(1500.0, 1500.0, 2500.0, 2500.0);
        let mut layer = LayerBuilder::new("village", tile());
        assert!(layer.add_polygon(
            None,
            &multi(vec![Polygon::new(outer, vec![hole])]),
            1.0,
            &[]
        ));
        let bytes = encode(vec![layer]);
        let (_, features) = decode_one(&bytes);
        let ps = polygons(&features[0]);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].interiors().len(), 1);
        check_rings(&features[0], 0, 4096);
        assert_eq!(
            corners(ps[0].exterior()),
            vec![(1000, 1000), (1000, 3000), (3000, 1000), (3000, 3000)]
        );
        assert_eq!(
            corners(&ps[0].interiors()[0]),
            vec![(1500, 1500), (1500, 2500), (2500, 1500), (2500, 2500)]
        );
        assert_eq!(
            wire::polygon_rings(&wire::layers(&bytes)[0].geometries[0]),
            vec![4, 4]
        );
    }

    #[test]
    fn clipped_multipolygon_with_holes_stays_in_the_buffer() {
        // Part one straddles the west edge with a hole cut by it; part two is a
        // concave U over the south edge whose arms come back into the tile separately.
        let one = Polygon::new(
            square(-800.0, 500.0, 900.0, 1500.0),
            vec![square(-300.0, 800.0, 300.0, 1200.0)],
        );
        let u = ring(&[
            (2000.0, 3000.0),
            (2400.0, 3000.0),
            (2400.0, 4500.0),
            (3000.0, 4500.0),
            (3000.0, 3000.0),
            (3400.0, 3000.0),
            (3400.0, 5000.0),
            (2000.0, 5000.0),
            (2000.0, 3000.0),
        ]);
        let inside = Polygon::new(
            square(1800.0, 1800.0, 2200.0, 2200.0),
            vec![square(1900.0, 1900.0, 2100.0, 2100.0)],
        );
        let mut layer = LayerBuilder::new("areas", tile());
        assert!(layer.add_polygon(
            Some(1),
            &multi(vec![one, Polygon::new(u, vec![]), inside]),
            1.0,
            &[]
        ));
        let bytes = encode(vec![layer]);
        let (_, features) = decode_one(&bytes);
        let rings = check_rings(&features[0], -64, 4160);
        let ps = polygons(&features[0]);
        // The west hole sticks out of the buffer, so it cuts a notch: one exterior.
        // The U's base is below the buffer, so its two arms become two polygons.
        assert_eq!(ps.len(), 4, "{ps:?}");
        assert_eq!(ps.iter().map(|p| p.interiors().len()).sum::<usize>(), 1);
        let xs: Vec<i32> = rings.iter().flat_map(|r| r.0.iter().map(|c| c.x)).collect();
        assert!(xs.contains(&-64));
        let ys: Vec<i32> = rings.iter().flat_map(|r| r.0.iter().map(|c| c.y)).collect();
        assert!(ys.contains(&4160));
        let raw = wire::layers(&bytes);
        assert_eq!(
            wire::polygon_rings(&raw[0].geometries[0]).len(),
            rings.len()
        );
    }

    #[test]
    fn simplification_follows_the_tolerance_and_tiny_polygons_vanish() {
        let circle: Vec<(f64, f64)> = (0..=2000)
            .map(|i| {
                let a = f64::from(i) / 2000.0 * 2.0 * PI;
                (2048.0 + 1500.0 * a.cos(), 2048.0 + 1500.0 * a.sin())
            })
            .collect();
        let disc = multi(vec![Polygon::new(ring(&circle), vec![])]);
        let count = |tolerance: f64| {
            let mut layer = LayerBuilder::new("c", tile());
            assert!(layer.add_polygon(None, &disc, tolerance, &[]));
            let (_, f) = decode_one(&encode(vec![layer]));
            check_rings(&f[0], 0, 4096);
            polygons(&f[0])[0].exterior().0.len()
        };
        let (exact, fine, coarse) = (count(0.0), count(1.0), count(20.0));
        assert!(exact > 1000, "{exact}");
        assert!(
            fine < exact / 4 && coarse < fine / 2,
            "{exact} {fine} {coarse}"
        );

        let mut layer = LayerBuilder::new("c", tile());
        let speck = multi(vec![Polygon::new(
            square(100.1, 100.1, 100.4, 100.3),
            vec![],
        )]);
        assert!(!layer.add_polygon(None, &speck, 1.0, &[]));
        let sliver = multi(vec![Polygon::new(
            square(100.0, 100.0, 900.0, 100.2),
            vec![],
        )]);
        assert!(!layer.add_polygon(None, &sliver, 0.0, &[]));
        let nan = multi(vec![Polygon::new(
            ring(&[(0.0, 0.0), (10.0, 0.0), (10.0, f64::NAN), (0.0, 0.0)]),
            vec![],
        )]);
        assert!(!layer.add_polygon(None, &nan, 0.0, &[]));
        assert!(layer.is_empty());
    }

    #[test]
    fn degenerate_input_is_dropped_without_panicking() {
        let mut layer = LayerBuilder::new("junk", tile());
        let cases = [
            Polygon::new(LineString::new(vec![]), vec![]),
            Polygon::new(ring(&[(-500.0, 10.0), (500.0, 10.0)]), vec![]),
            Polygon::new(
                ring(&[(-500.0, 10.0), (500.0, 10.0), (-500.0, 10.0)]),
                vec![],
            ),
            Polygon::new(
                ring(&[(-500.0, 10.0), (500.0, 10.0), (1500.0, 10.0)]),
                vec![],
            ),
        ];
        for case in cases {
            assert!(!layer.add_polygon(None, &multi(vec![case]), 1.0, &[]));
        }
        // A self-crossing bow tie over the edge still yields valid rings.
        let bow = Polygon::new(
            ring(&[
                (-500.0, 0.0),
                (500.0, 1000.0),
                (500.0, 0.0),
                (-500.0, 1000.0),
            ]),
            vec![],
        );
        assert!(layer.add_polygon(None, &multi(vec![bow]), 1.0, &[]));
        let (_, features) = decode_one(&encode(vec![layer]));
        check_rings(&features[0], -64, 4160);
    }

    #[test]
    fn snapping_removes_repeats_spikes_and_straight_runs() {
        let ls = |pts: &[(f64, f64)]| -> LineString<f64> { pts.to_vec().into() };
        // A square with a repeated corner, a midpoint on one side and a spike.
        let r = ls(&[
            (0.0, 0.0),
            (5.0, 0.0),
            (10.0, 0.0),
            (10.0, 0.2),
            (10.0, 10.0),
            (10.0, 10.0),
            (14.0, 14.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]);
        let s = snap_ring(&r, true).unwrap();
        let mut sorted = s.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![[0, 0], [0, 10], [10, 0], [10, 10]]);
        assert!(twice_area(&s) > 0);
        assert!(twice_area(&snap_ring(&r, false).unwrap()) < 0);
        // Straight runs across the ring's seam go too.
        let seam = ls(&[
            (5.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
            (5.0, 0.0),
        ]);
        assert_eq!(snap_ring(&seam, true).unwrap().len(), 4);
        assert_eq!(
            snap_ring(&ls(&[(0.0, 0.0), (5.0, 0.0), (9.0, 0.0), (0.0, 0.0)]), true),
            None
        );
        assert_eq!(
            snap_ring(&ls(&[(0.0, 0.0), (0.4, 0.0), (0.2, 0.3), (0.0, 0.0)]), true),
            None
        );
    }

    #[test]
    fn ring_starting_where_the_previous_one_ended_keeps_its_move_to() {
        let a = [[0, 0], [100, 0], [100, 100], [0, 100]];
        let b = [[0, 100], [100, 200], [-100, 200]];
        let c = [[-100, 200], [-200, 300], [-300, 200]];
        let (geometry, bytes) = encode_rings([&a[..], &b[..], &c[..]]).unwrap();
        let mut layer = LayerBuilder::new("l", tile());
        layer.push_feature(None, geometry, bytes, &[]);
        let encoded = encode(vec![layer]);
        let raw = wire::layers(&encoded);
        assert_eq!(wire::polygon_rings(&raw[0].geometries[0]), vec![4, 3, 3]);
        let (_, features) = decode_one(&encoded);
        let ps = polygons(&features[0]);
        assert_eq!(ps.len(), 3);
        let mut want: Vec<(i32, i32)> = a.iter().map(|p| (p[0], p[1])).collect();
        want.sort_unstable();
        assert_eq!(corners(ps[0].exterior()), want);
        assert_eq!(
            corners(ps[1].exterior()),
            vec![(-100, 200), (0, 100), (100, 200)]
        );
    }

    #[test]
    fn layers_keep_their_own_extent_and_names_must_differ() {
        let here = tile();
        let (lon, lat) = lonlat(1024.0, 2048.0);
        let mut first = LayerBuilder::new("a", here);
        assert!(first.add_point(None, lon, lat, &[]));
        let empty = LayerBuilder::new("empty", here);
        let mut second = LayerBuilder::new("b", here).with_extent(512).with_buffer(8);
        assert!(second.add_point(None, lon, lat, &[]));
        // Too late: the layer's grid is fixed by its first feature.
        let second = second.with_extent(256).with_buffer(0);
        assert_eq!((second.extent(), second.buffer()), (512, 8));
        let bytes = encode(vec![first, empty, second]);
        let reader = Reader::new(bytes).unwrap();
        let meta = reader.get_layer_metadata().unwrap();
        let summary: Vec<(&str, u32)> = meta.iter().map(|l| (l.name.as_str(), l.extent)).collect();
        assert_eq!(summary, vec![("a", 4096), ("b", 512)]);
        let decoded = reader.get_features_as::<i32>(1).unwrap();
        let geo::Geometry::MultiPoint(mp) = &decoded[0].geometry else {
            unreachable!()
        };
        assert_eq!((mp.0[0].x(), mp.0[0].y()), (128, 256));

        let twice = || {
            let mut first_x = LayerBuilder::new("x", here);
            assert!(first_x.add_point(None, lon, lat, &[]));
            let mut second_x = LayerBuilder::new("x", here).with_extent(512);
            assert!(second_x.add_point(None, lon, lat, &[]));
            vec![first_x, second_x]
        };
        assert!(matches!(try_encode(twice()), Err(MvtError::DuplicateLayer(n)) if n == "x"));
        let kept = Reader::new(encode(twice()))
            .unwrap()
            .get_layer_metadata()
            .unwrap();
        assert_eq!((kept.len(), kept[0].extent), (1, 4096));
        let mut after_empty = vec![LayerBuilder::new("x", here)];
        after_empty.extend(twice().into_iter().skip(1));
        let kept = Reader::new(encode(after_empty))
            .unwrap()
            .get_layer_metadata()
            .unwrap();
        assert_eq!((kept.len(), kept[0].extent), (1, 512));
        assert!(encode(Vec::new()).is_empty());
    }

    #[test]
    fn approx_bytes_matches_the_encoded_layer() {
        let mut layer = LayerBuilder::new("mixed", tile());
        for i in 0..300_u32 {
            let (lon, lat) = lonlat(f64::from(i * 13 % 4200) - 50.0, f64::from(i * 7 % 4100));
            let props = [
                ("kind", PropValue::from(if i % 3 == 0 { "a" } else { "b" })),
                ("n", PropValue::Int(i64::from(i) - 150)),
                ("x", PropValue::Float(f64::from(i % 5) * 0.5)),
            ];
            layer.add_point(Some(u64::from(i) * 1000), lon, lat, &props);
        }
        let disc = Polygon::new(
            square(-500.0, 300.0, 2500.0, 2800.0),
            vec![square(100.0, 900.0, 400.0, 1000.0)],
        );
        layer.add_polygon(
            Some(1),
            &multi(vec![disc]),
            1.0,
            &[("kind", "a".into()), ("flag", true.into())],
        );
        let estimate = layer.approx_bytes();
        let bytes = encode(vec![layer]);
        assert_eq!(estimate, bytes.len());
    }
}
