//! Map tiles: vector-tile encoding ([`mvt`]), the vector layers ([`layers`]),
//! heat-map rasters ([`heat`]), offline basemaps ([`basemap`]), and the cache that keeps
//! finished tiles per data version. Tile addresses and Web Mercator are
//! [`crate::spatial::mercator`]'s, shared with the read model.
//!
//! A finished tile is kept in memory (and heat maps also on disk under
//! `tiles/cache/{data_version}/`) with its gzip form and an ETag made from the data
//! version and the request, so a data change never serves a stale tile: a reload
//! clears the memory cache and the disk cache of older versions.

pub mod basemap;
pub mod clip;
pub mod heat;
pub mod layers;
pub mod mvt;
pub mod points;
pub mod polygons;
pub mod topology;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::domain::MeasureId;
use crate::indicators::table::Table;
use crate::model::Snapshot;
use crate::spatial::LonLat;
use crate::spatial::mercator::{TileId, world_size_px};
use layers::{Layer, TileShapes};
use topology::{Simplified, Topology};

/// The highest zoom paicha serves tiles at: 2^18 tiles across the world make about
/// 0.6 m per pixel at the county's latitude, finer than any household position.
pub const MAX_SERVED_ZOOM: u8 = 18;

/// How tiles are made and kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TileSettings {
    /// The heat-map disk cache (`tiles/cache`); `None`: memory only.
    pub cache_dir: Option<PathBuf>,
    /// Rate heat maps hide pixels with fewer households than this around them
    /// (kernel-weighted), for privacy and against noise.
    pub heat_min_households: f64,
    /// The folder of offline basemap packages (`tiles/`); `None`: no basemaps.
    pub basemaps_dir: Option<PathBuf>,
    /// A 天地图 key: with one, the web app offers 天地图's online basemaps. Without, the
    /// map never asks the internet for anything.
    pub tianditu_key: Option<String>,
    /// The address clients reach the service at (`https://paicha.example.gov.cn`, no
    /// trailing `/`), for the absolute tile URLs of TileJSON that GIS clients need;
    /// `None`: paths from the server's root, which the web app resolves.
    pub public_url: Option<String>,
}

impl Default for TileSettings {
    fn default() -> Self {
        Self {
            cache_dir: None,
            heat_min_households: DEFAULT_HEAT_MIN_HOUSEHOLDS,
            basemaps_dir: None,
            tianditu_key: None,
            public_url: None,
        }
    }
}

/// The default privacy threshold of rate heat maps, in households.
pub const DEFAULT_HEAT_MIN_HOUSEHOLDS: f64 = 5.0;

/// Tiles kept in memory at most.
pub const MEMORY_TILES: usize = 20_000;

/// Indicator tables kept in memory at most: the few views every user opens are
/// answered from memory, and no request can make the cache grow without bound.
pub const MEMORY_TABLES: usize = 256;

/// Bytes of boundary-tile geometry (tile coordinates apart from properties) kept in
/// memory at most: enough for every village tile of a city down to zoom 12 or so,
/// without letting a crawl of deep zooms take the memory.
pub const MEMORY_SHAPE_BYTES: u64 = 256 << 20;

/// Tile units that boundaries are simplified by at each zoom: about one is invisible.
pub const SIMPLIFY_UNITS: f64 = 1.0;

/// Bytes of heat maps written to the disk cache per data version at most; past it
/// tiles are still made and kept in memory, but not written.
pub const MAX_DISK_BYTES: u64 = 1 << 30;

/// A finished tile, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// The tile as produced (MVT protobuf or PNG); shared, so that a response from
    /// the cache copies no byte.
    pub bytes: bytes::Bytes,
    /// Its gzip form, for MVT (PNG is compressed already): made for the first request
    /// that accepts it, so that a client that does not (a GIS tool, a tile seeder)
    /// does not pay for it.
    gzip: OnceLock<Option<bytes::Bytes>>,
    /// `application/vnd.mapbox-vector-tile` or `image/png`.
    pub content_type: &'static str,
    /// Quoted, from the data version and the request.
    pub etag: String,
    /// Whether households were aggregated into cells (zoom or caps).
    pub aggregated: bool,
}

impl Tile {
    /// A vector tile; its gzip form is made by [`Tile::gzip`] when first asked for.
    #[must_use]
    pub fn vector(bytes: Vec<u8>, key: &str, aggregated: bool) -> Self {
        Self {
            bytes: bytes.into(),
            gzip: OnceLock::new(),
            content_type: "application/vnd.mapbox-vector-tile",
            etag: etag(key),
            aggregated,
        }
    }

    /// The tile's gzip form, compressed at the first call and kept: `None` for a PNG
    /// (compressed already).
    pub fn gzip(&self) -> Option<&bytes::Bytes> {
        self.gzip
            .get_or_init(|| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&self.bytes)
                    .and_then(|()| gz.finish())
                    .ok()
                    .map(bytes::Bytes::from)
            })
            .as_ref()
    }

    /// A PNG tile.
    #[must_use]
    pub fn png(bytes: Vec<u8>, key: &str) -> Self {
        Self {
            bytes: bytes.into(),
            gzip: OnceLock::from(None),
            content_type: "image/png",
            etag: etag(key),
            aggregated: false,
        }
    }
}

/// A quoted ETag for a cache key (which starts with the data version).
fn etag(key: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!(
        "\"{}-{:016x}\"",
        key.split('/').next().unwrap_or("0"),
        h.finish()
    )
}

/// The tile cache: finished tiles in memory, heat maps also on disk, the tables that
/// boundary tiles colour by, and each heat map's colour scale.
#[derive(Debug)]
pub struct TileCache {
    memory: quick_cache::sync::Cache<String, Arc<Tile>>,
    disk: Option<PathBuf>,
    /// Bytes written to `disk` for the current data version.
    disk_bytes: std::sync::atomic::AtomicU64,
    /// Indicator tables (what boundary tiles colour by, what `/api/v1/stats` answers),
    /// by request and data version: at most [`MEMORY_TABLES`].
    tables: quick_cache::sync::Cache<String, Arc<Table>>,
    maxima: Mutex<HashMap<String, f32>>,
    /// Each boundary layer cut into arcs, per data version.
    topologies: OnceMap<(i64, Layer), Topology>,
    /// Each boundary layer simplified for a zoom, per data version.
    simplified: OnceMap<(i64, Layer, u8), Simplified>,
    /// Boundary tiles' geometry apart from their properties, per data version, layer
    /// and tile: at most [`MEMORY_SHAPE_BYTES`].
    shapes: quick_cache::sync::Cache<(i64, Layer, TileId), Arc<TileShapes>, ShapeWeight>,
}

/// Values made at most once each, by key, shared.
type OnceMap<K, V> = Mutex<HashMap<K, Arc<OnceLock<Arc<V>>>>>;

/// Weighs cached tile geometry by its bytes.
#[derive(Debug, Clone, Copy, Default)]
struct ShapeWeight;

impl quick_cache::Weighter<(i64, Layer, TileId), Arc<TileShapes>> for ShapeWeight {
    fn weight(&self, _: &(i64, Layer, TileId), shapes: &Arc<TileShapes>) -> u64 {
        shapes.weight()
    }
}

/// The value of `key` in a map of lazily made values, made by `make` at most once
/// even when two requests ask at the same time (the second waits for the first).
fn once<K: std::hash::Hash + Eq, V>(
    map: &OnceMap<K, V>,
    key: K,
    make: impl FnOnce() -> V,
) -> Arc<V> {
    let cell = Arc::clone(
        map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default(),
    );
    Arc::clone(cell.get_or_init(|| Arc::new(make())))
}

impl TileCache {
    /// A cache; `disk` is the folder of the on-disk heat-map cache (`tiles/cache`), or
    /// `None` to keep heat maps in memory only.
    #[must_use]
    pub fn new(disk: Option<PathBuf>) -> Self {
        Self {
            memory: quick_cache::sync::Cache::new(MEMORY_TILES),
            disk,
            disk_bytes: std::sync::atomic::AtomicU64::new(0),
            tables: quick_cache::sync::Cache::new(MEMORY_TABLES),
            maxima: Mutex::new(HashMap::new()),
            topologies: Mutex::new(HashMap::new()),
            simplified: Mutex::new(HashMap::new()),
            shapes: quick_cache::sync::Cache::with_weighter(
                16_384,
                MEMORY_SHAPE_BYTES,
                ShapeWeight,
            ),
        }
    }

    /// A boundary layer simplified for zoom `z`: made once per data version (the
    /// layer's arcs too, at its first zoom) and kept until the data change.
    pub fn simplified(&self, snapshot: &Snapshot, layer: Layer, z: u8) -> Arc<Simplified> {
        let version = snapshot.data_version;
        once(&self.simplified, (version, layer, z), || {
            let topology = once(&self.topologies, (version, layer), || {
                Topology::new(
                    layers::boundary_areas(snapshot, layer)
                        .into_iter()
                        .map(|(_, g)| g),
                )
            });
            topology.simplified(z, SIMPLIFY_UNITS)
        })
    }

    /// A boundary tile's geometry from memory, or made from the zoom's simplified
    /// boundaries and kept.
    pub fn shapes(&self, snapshot: &Snapshot, layer: Layer, tile: TileId) -> Arc<TileShapes> {
        let key = (snapshot.data_version, layer, tile);
        if let Some(shapes) = self.shapes.get(&key) {
            return shapes;
        }
        let shapes = Arc::new(layers::boundary_shapes(
            &self.simplified(snapshot, layer, tile.z),
            tile,
        ));
        self.shapes.insert(key, Arc::clone(&shapes));
        shapes
    }

    /// Cuts the geometry of every tile of zoom `z` that an area of the layer meets, as
    /// each tile's first request would, and keeps it (within the cache's bound): what
    /// `serve` does at start for the zooms the map shows boundaries at, so that no
    /// first view of a tile pays for the cut. Returns the tiles cut; stops at `most`.
    pub fn seed_shapes(&self, snapshot: &Snapshot, layer: Layer, z: u8, most: usize) -> usize {
        let simplified = self.simplified(snapshot, layer, z);
        let side = 2_f64.powi(i32::try_from(topology::GRID_BITS).unwrap_or(40) - i32::from(z));
        let last = (1_u32 << z) - 1;
        let mut tiles = std::collections::BTreeSet::new();
        'areas: for b in &simplified.boxes {
            if b.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let cell = |v: f64| ((v / side).floor().max(0.0) as u32).min(last);
            for x in cell(b[0])..=cell(b[2]) {
                for y in cell(b[1])..=cell(b[3]) {
                    tiles.insert((x, y));
                    if tiles.len() >= most {
                        break 'areas;
                    }
                }
            }
        }
        let mut cut = 0;
        for (x, y) in tiles {
            if let Ok(tile) = TileId::new(z, x, y) {
                self.shapes(snapshot, layer, tile);
                cut += 1;
            }
        }
        cut
    }

    /// A boundary tile's geometry, if it is in memory already: then the tile only needs
    /// its properties written.
    #[must_use]
    pub fn cached_shapes(
        &self,
        snapshot: &Snapshot,
        layer: Layer,
        tile: TileId,
    ) -> Option<Arc<TileShapes>> {
        self.shapes.get(&(snapshot.data_version, layer, tile))
    }

    /// A tile from memory.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Arc<Tile>> {
        self.memory.get(key)
    }

    /// Keeps a tile in memory.
    pub fn put(&self, key: String, tile: Arc<Tile>) {
        self.memory.insert(key, tile);
    }

    /// The on-disk path of a heat-map key, if there is a disk cache.
    #[must_use]
    pub fn disk_path(&self, key: &str) -> Option<PathBuf> {
        // Keys are made of codes, numbers and '/', '?', '=': safe as path parts once
        // the query separators are replaced.
        let safe: String = key
            .chars()
            .map(|c| if matches!(c, '?' | '=' | '&') { '_' } else { c })
            .collect();
        self.disk.as_ref().map(|d| d.join(format!("{safe}.png")))
    }

    /// A heat-map PNG from disk.
    #[must_use]
    pub fn read_disk(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.disk_path(key)?).ok()
    }

    /// Writes a heat-map PNG to disk (atomically: a temporary file renamed), ignoring
    /// failures: the disk cache only saves work. Nothing is written once
    /// [`MAX_DISK_BYTES`] have been for this data version.
    pub fn write_disk(&self, key: &str, bytes: &[u8]) {
        let Some(path) = self.disk_path(key) else {
            return;
        };
        let written = self
            .disk_bytes
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if written + bytes.len() as u64 > MAX_DISK_BYTES {
            return;
        }
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::warn!(error = %e, "cannot write the heat-map cache");
        }
    }

    /// An indicator table from memory, if kept.
    #[must_use]
    pub fn cached_table(&self, key: &str) -> Option<Arc<Table>> {
        self.tables.get(key)
    }

    /// Keeps an indicator table made elsewhere (see [`Self::table`] for the key).
    pub fn keep_table(&self, key: String, table: Arc<Table>) {
        self.tables.insert(key, table);
    }

    /// An indicator table from memory, or made by `make` and kept. `key` must name the
    /// data version, the ledger edits and the whole request.
    ///
    /// # Errors
    /// The error of `make`.
    pub fn table<E>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Table, E>,
    ) -> Result<Arc<Table>, E> {
        if let Some(t) = self.tables.get(key) {
            return Ok(t);
        }
        let table = Arc::new(make()?);
        self.tables.insert(key.to_owned(), Arc::clone(&table));
        Ok(table)
    }

    /// A heat map's colour scale from memory, or computed by `make` and kept.
    pub fn maximum(&self, key: &str, make: impl FnOnce() -> f32) -> f32 {
        if let Some(m) = self
            .maxima
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return *m;
        }
        let m = make();
        self.maxima
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), m);
        m
    }

    /// Forgets the indicator tables (after a ledger edit: they hold ledger figures;
    /// tiles themselves are keyed by the edit count).
    pub fn forget_tables(&self) {
        self.tables.clear();
    }

    /// Forgets everything but `data_version`'s disk tiles: after a data change.
    pub fn invalidate(&self, data_version: i64) {
        self.memory.clear();
        self.disk_bytes
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.tables.clear();
        self.maxima
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.topologies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.simplified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.shapes.clear();
        if let Some(dir) = &self.disk {
            remove_other_versions(dir, data_version);
        }
    }
}

/// Deletes the disk cache of every data version but `keep`.
fn remove_other_versions(dir: &Path, keep: i64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy() != keep.to_string()
            && entry.path().is_dir()
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(error = %e, "cannot remove an old heat-map cache");
        }
    }
}

/// A boundary tile (cities, counties, townships or villages): its geometry from the
/// cache (simplified per zoom, clipped and snapped once per data version and tile),
/// its properties from `table`, the areas outside `scope` left out.
#[must_use]
pub fn boundary_tile(
    cache: &TileCache,
    snapshot: &Snapshot,
    layer: Layer,
    tile: TileId,
    table: &Table,
    scope: &crate::domain::access::AreaScope,
) -> Vec<u8> {
    let shapes = cache.shapes(snapshot, layer, tile);
    layers::boundaries(snapshot, layer, table, scope, &shapes)
}

/// The heat-map radius at zoom `z`, in pixels: [`heat::DEFAULT_RADIUS_M`] at the
/// county's centre latitude, the same for every tile of the zoom.
fn radius_at(snapshot: &Snapshot, z: u8) -> f64 {
    let b = snapshot.county_bounds;
    heat::radius_px_for(z, heat::DEFAULT_RADIUS_M, f64::midpoint(b[1], b[3]))
}

/// The colour scale of count heat maps of `measure` at zoom `z`: the highest
/// density anywhere on the map, computed once per data version.
pub fn colour_scale(cache: &TileCache, snapshot: &Snapshot, measure: MeasureId, z: u8) -> f32 {
    let key = format!("{}/{}/{z}", snapshot.data_version, measure.index());
    cache.maximum(&key, || {
        let size = world_size_px(z);
        let everywhere: Vec<[f64; 2]> = snapshot
            .mercator
            .iter()
            .enumerate()
            .filter(|(r, m)| !m[0].is_nan() && snapshot.facts.fails(*r, measure))
            .map(|(_, m)| [f64::from(m[0]) * size, f64::from(m[1]) * size])
            .collect();
        heat::global_max(&everywhere, radius_at(snapshot, z))
    })
}

/// Rows whose position lies in `[west, south, east, north]`, in no particular
/// order. Up to zoom 11 a tile covers much of a county, and one pass over the
/// positions beats collecting and sorting millions of rows from the point index.
#[must_use]
pub fn rows_in(snapshot: &Snapshot, z: u8, b: [f64; 4]) -> Vec<u32> {
    if z <= 11 {
        snapshot
            .positions
            .iter()
            .enumerate()
            .filter_map(|(r, p)| {
                p.filter(|p| p.lon >= b[0] && p.lon <= b[2] && p.lat >= b[1] && p.lat <= b[3])
                    .map(|_| r as u32)
            })
            .collect()
    } else {
        snapshot
            .points
            .in_bbox(LonLat::new(b[0], b[1]), LonLat::new(b[2], b[3]))
    }
}

/// A heat-map tile of the households failing `measure`: their kernel density (`rate`: divided by
/// the density of all households, hidden below the settings' threshold), on one
/// colour scale per zoom for the whole map, as a transparent PNG.
///
/// The radius is [`heat::DEFAULT_RADIUS_M`] at the county's centre latitude,
/// converted to pixels once per zoom, so that every tile of a zoom uses the same
/// kernel and tiles join without seams; points within the radius outside the tile
/// count too. Only households of villages inside `scope` are counted.
///
/// # Errors
/// [`heat::HeatError`] if the PNG cannot be encoded.
#[expect(
    clippy::too_many_arguments,
    reason = "what a heat tile depends on, each from a different source"
)]
pub fn heat_png(
    cache: &TileCache,
    snapshot: &Snapshot,
    settings: &TileSettings,
    measure: MeasureId,
    rate: bool,
    max_rate: f32,
    tile: TileId,
    scope: &crate::domain::access::AreaScope,
) -> Result<Vec<u8>, heat::HeatError> {
    let radius = radius_at(snapshot, tile.z);
    let failing = |row: usize| snapshot.facts.fails(row, measure);
    let size = world_size_px(tile.z);
    let world = |rows: &mut dyn Iterator<Item = usize>| -> Vec<[f64; 2]> {
        rows.map(|r| snapshot.mercator[r])
            .filter(|m| !m[0].is_nan())
            .map(|m| [f64::from(m[0]) * size, f64::from(m[1]) * size])
            .collect()
    };
    let b = tile.bounds_px(radius + 1.0);
    let mut rows = rows_in(snapshot, tile.z, [b.west, b.south, b.east, b.north]);
    if !scope.is_all() {
        rows.retain(|&r| scope.contains(&snapshot.locations[r as usize].village_code));
    }
    let fail_pts = world(&mut rows.iter().map(|&r| r as usize).filter(|&r| failing(r)));
    if fail_pts.is_empty() {
        return Ok(heat::transparent_png().to_vec());
    }
    let fail = heat::density(&fail_pts, tile, radius);
    let rgba = if rate {
        let all_pts = world(&mut rows.iter().map(|&r| r as usize));
        let all = heat::density(&all_pts, tile, radius);
        let params = heat::HeatParams {
            radius_px: radius,
            min_households: settings.heat_min_households,
            ..heat::HeatParams::default()
        };
        heat::colorize_rate(&fail, &all, &params, max_rate)
    } else {
        let top = colour_scale(cache, snapshot, measure, tile.z);
        heat::colorize_count(&fail, top, &heat::Ramp::Heat)
    };
    heat::encode_png(&rgba, crate::spatial::mercator::TILE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_cache_keeps_only_the_current_versions_heat_maps() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TileCache::new(Some(dir.path().to_path_buf()));
        cache.write_disk("7/heat/dropout/count/11/1/2", b"png7");
        cache.write_disk("8/heat/dropout/count/11/1/2", b"png8");
        assert_eq!(
            cache.read_disk("7/heat/dropout/count/11/1/2").unwrap(),
            b"png7"
        );
        assert!(dir.path().join("8/heat/dropout/count/11/1/2.png").is_file());
        cache.put("8/x".into(), Arc::new(Tile::png(vec![1], "8/x")));
        cache.invalidate(8);
        assert!(cache.read_disk("7/heat/dropout/count/11/1/2").is_none());
        assert_eq!(
            cache.read_disk("8/heat/dropout/count/11/1/2").unwrap(),
            b"png8"
        );
        assert!(
            cache.get("8/x").is_none(),
            "memory is cleared on a data change"
        );
    }

    #[test]
    fn etags_follow_the_data_version_and_the_request() {
        assert!(etag("12/villages/9/1/2?").starts_with("\"12-"));
        assert_ne!(etag("12/villages/9/1/2?"), etag("12/villages/9/1/3?"));
        assert_ne!(etag("12/villages/9/1/2?"), etag("13/villages/9/1/2?"));
    }
}
