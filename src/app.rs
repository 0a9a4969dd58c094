//! The running service's shared state: the store and the spatial index built from it.
//!
//! The index and the figures derived from the data sit in one immutable [`Snapshot`]
//! behind an `ArcSwap`: a data change builds a new snapshot and swaps it in whole, so
//! a request never sees half of an update, and `data_version` (which goes into cache
//! keys and ETags) always matches the index it is served with.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use geo::MultiPolygon;

use rayon::prelude::*;

use crate::domain::{AreaLevel, Crs, PovertyLine};
use crate::indicators::Catalog;
use crate::spatial::quality::{
    FlagKind, LocatedHousehold, LocationFlag, QualityReport, assess_locations,
};
use crate::spatial::{AreaIndex, IndexedArea, LonLat, PointIndex, crs};
use crate::store::indicators::{Facts, PlaceException};
use crate::store::{self, AreaFilter, Store, StoreError};
use crate::tiles::TileCache;

/// Everything derived from one version of the data.
#[derive(Debug)]
pub struct Snapshot {
    /// The data version the snapshot was built from.
    pub data_version: i64,
    /// Households stored.
    pub households: i64,
    /// Village boundaries, indexed.
    pub villages: AreaIndex,
    /// The county outline (the union of its townships).
    pub county: MultiPolygon<f64>,
    /// Code → name and level of every area.
    pub names: HashMap<String, (String, AreaLevel)>,
    /// Household numbers, in the row order of `locations` and the quality report.
    pub household_nos: Vec<String>,
    /// Every household's registered place and recorded position.
    pub locations: Vec<LocatedHousehold>,
    /// Household positions in WGS-84 (declared system converted, systematic offsets
    /// corrected), indexed by row.
    pub points: PointIndex,
    /// Location quality of every household, village and township.
    pub quality: QualityReport,
    /// Per household row, the village (its index in `villages`) its position lies in.
    pub located: Vec<Option<u32>>,
    /// Per household row, its best WGS-84 position (declared system converted,
    /// systematic offsets corrected), as indexed in `points`.
    pub positions: Vec<Option<LonLat>>,
    /// Per household row, its position in Web Mercator world coordinates at zoom 0
    /// scaled to 0–1 (NaN without a position): heat maps multiply instead of taking
    /// a tangent and a logarithm per household per tile.
    pub mercator: Vec<[f32; 2]>,
    /// Township boundaries, in code order.
    pub townships: Vec<(String, MultiPolygon<f64>)>,
    /// The county's bounding box: west, south, east, north.
    pub county_bounds: [f64; 4],
    /// Per household row, what it adds to each indicator.
    pub facts: Facts,
    /// The poverty line that `income_below_line` judges by, if one is in force.
    pub income_line: Option<PovertyLine>,
    /// The county's code.
    pub county_code: String,
    /// The date the data describes (`YYYY-MM-DD`), if recorded.
    pub data_date: Option<String>,
    /// Whether the data is the synthetic demo county (said on every map).
    pub demo: bool,
}

impl Snapshot {
    /// Builds a snapshot from the store: reads boundaries and household positions,
    /// indexes them, assesses location quality, brings the derived indicator table up
    /// to date with the positions found (once per data version) and reads back what
    /// each household adds to each indicator.
    ///
    /// # Errors
    /// The [`StoreError`] of the first query that fails.
    pub fn load(conn: &duckdb::Connection, catalog: &Catalog) -> Result<Self, StoreError> {
        let all = store::areas::records(conn, &AreaFilter::default())?;
        let names: HashMap<String, (String, AreaLevel)> = all
            .iter()
            .map(|r| {
                (
                    r.summary.code.clone(),
                    (r.summary.name.clone(), r.summary.level),
                )
            })
            .collect();
        let county = all
            .iter()
            .find(|r| r.summary.level == AreaLevel::County)
            .map_or_else(|| MultiPolygon::new(vec![]), |r| r.geometry.clone());
        let townships = all
            .iter()
            .filter(|r| r.summary.level == AreaLevel::Township)
            .map(|r| (r.summary.code.clone(), r.geometry.clone()))
            .collect();
        let villages = AreaIndex::new(
            all.into_iter()
                .filter(|r| r.summary.level.is_village_like())
                .map(|r| IndexedArea {
                    township_code: r.summary.parent_code.unwrap_or_default(),
                    code: r.summary.code,
                    geometry: r.geometry,
                })
                .collect(),
        );
        let (household_nos, locations): (Vec<String>, Vec<LocatedHousehold>) =
            store::households::locations(conn)?
                .into_iter()
                .map(|h| {
                    (
                        h.household_no,
                        LocatedHousehold {
                            village_code: h.village_code,
                            township_code: h.township_code,
                            gps: h.gps,
                        },
                    )
                })
                .unzip();
        let quality = assess_locations(&locations, &villages, &county);
        let best = positions(&locations, &quality);
        let points = PointIndex::from_rows(&best);
        let mercator = mercator(&best);
        let located: Vec<Option<u32>> = best
            .par_iter()
            .map(|p| p.and_then(|p| villages.locate(p)))
            .collect();
        let data_version = store::data_version(conn)?;
        let county_code = names
            .iter()
            .find(|(_, (_, level))| *level == AreaLevel::County)
            .map(|(c, _): (&String, _)| c.clone())
            .unwrap_or_default();
        let income_line = store::meta(conn, "income_year")?
            .and_then(|y| y.parse().ok())
            .and_then(|year| catalog.line_in_force(year, &county_code))
            .cloned();
        let line = income_line.as_ref().map(|l| l.yuan_per_capita);
        if !store::indicators::is_fresh(conn, data_version, line)? {
            let places = place_exceptions(&locations, &quality, &located, &villages);
            store::indicators::derive(conn, data_version, line, &places)?;
        }
        let facts = store::indicators::facts(conn)?;
        if facts.category.len() != locations.len() {
            return Err(StoreError::Invalid(format!(
                "derived indicators hold {} households, the store {}",
                facts.category.len(),
                locations.len()
            )));
        }
        let county_bounds = geo::BoundingRect::bounding_rect(&county)
            .map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        Ok(Self {
            data_version,
            located,
            positions: best,
            mercator,
            townships,
            county_bounds,
            facts,
            income_line,
            county_code,
            data_date: store::meta(conn, "data_date")?,
            demo: store::meta(conn, "source")?.as_deref() == Some("demo"),
            households: household_nos.len() as i64,
            villages,
            county,
            names,
            household_nos,
            locations,
            points,
            quality,
        })
    }

    /// The name of an area, if the code is known.
    #[must_use]
    pub fn name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(|(n, _)| n.as_str())
    }
}

/// Positions in Web Mercator world coordinates scaled to 0–1, NaN where none.
fn mercator(positions: &[Option<LonLat>]) -> Vec<[f32; 2]> {
    let size = crate::tiles::heat::world_size_px(0);
    positions
        .par_iter()
        .map(|p| {
            p.map_or([f32::NAN; 2], |p| {
                let [x, y] = crate::tiles::heat::lonlat_to_world_px(p.lon, p.lat, 0);
                [(x / size) as f32, (y / size) as f32]
            })
        })
        .collect()
}

/// The households whose located village differs from the registered one or whose
/// position has a problem, for the indicator rules (see [`PlaceException`]).
fn place_exceptions(
    locations: &[LocatedHousehold],
    quality: &QualityReport,
    located: &[Option<u32>],
    villages: &AreaIndex,
) -> Vec<PlaceException> {
    let mut flagged = vec![(false, false); locations.len()];
    for f in &quality.flagged {
        let kinds = || f.flags.iter().map(LocationFlag::kind);
        flagged[f.row as usize] = (
            kinds().any(|k| k == FlagKind::NoGps),
            kinds().any(|k| {
                matches!(
                    k,
                    FlagKind::OutsideVillage | FlagKind::OutsideCounty | FlagKind::Swapped
                )
            }),
        );
    }
    locations
        .iter()
        .zip(located)
        .zip(flagged)
        .enumerate()
        .filter_map(|(row, ((h, at), (no_gps, mismatch)))| {
            let area = at.filter(|_| !no_gps).and_then(|i| villages.area(i));
            let same = area.is_some_and(|a| a.code == h.village_code);
            (no_gps || mismatch || !same).then(|| PlaceException {
                row: row as u32,
                located_village: area.map(|a| a.code.clone()),
                located_township: area.map(|a| a.township_code.clone()),
                has_position: !no_gps,
                mismatch,
            })
        })
        .collect()
}

/// Each household's best WGS-84 position: its declared system converted, or the
/// offset-corrected position where its group recorded in another system.
fn positions(locations: &[LocatedHousehold], quality: &QualityReport) -> Vec<Option<LonLat>> {
    let mut out: Vec<Option<LonLat>> = locations
        .iter()
        .map(|h| {
            h.gps
                .map(|g| crs::convert(LonLat::new(g.lon, g.lat), g.crs, Crs::Wgs84))
        })
        .collect();
    for flagged in &quality.flagged {
        for flag in &flagged.flags {
            if let LocationFlag::Offset { corrected, .. } = flag {
                out[flagged.row as usize] = Some(LonLat::new(corrected[0], corrected[1]));
            }
        }
    }
    out
}

/// How tiles are made and kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TileSettings {
    /// The heat-map disk cache (`tiles/cache`); `None`: memory only.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Rate heat maps hide pixels with fewer households than this around them
    /// (kernel-weighted), for privacy and against noise.
    pub heat_min_households: f64,
    /// The folder of offline basemap packages (`tiles/`); `None`: no basemaps.
    pub basemaps_dir: Option<std::path::PathBuf>,
    /// A 天地图 key: with one, the web app offers 天地图's online basemaps. Without, the
    /// map never asks the internet for anything.
    pub tianditu_key: Option<String>,
}

impl Default for TileSettings {
    fn default() -> Self {
        Self {
            cache_dir: None,
            heat_min_households: DEFAULT_HEAT_MIN_HOUSEHOLDS,
            basemaps_dir: None,
            tianditu_key: None,
        }
    }
}

/// The default privacy threshold of rate heat maps, in households.
pub const DEFAULT_HEAT_MIN_HOUSEHOLDS: f64 = 5.0;

/// The application: what every request handler can reach.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub store: Store,
    /// The indicator catalog.
    pub catalog: Arc<Catalog>,
    /// Finished tiles of the current data version.
    pub tiles: TileCache,
    /// How tiles are made.
    pub tile_settings: TileSettings,
    /// Ledger edits since start: boundary tiles carry ledger indicators, so their
    /// cache keys, ETags and URLs change with it.
    ledger_edits: std::sync::atomic::AtomicU64,
    snapshot: ArcSwap<Snapshot>,
}

/// Cheap-to-clone handle to the [`App`], the state of every handler.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Opens the state over a store, building the first snapshot.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the snapshot.
    pub fn new(store: Store, catalog: Catalog) -> Result<Self, StoreError> {
        Self::with_tiles(store, catalog, TileSettings::default())
    }

    /// Opens the state with tile settings (the heat-map disk cache, the privacy
    /// threshold of rate maps).
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the snapshot.
    pub fn with_tiles(
        store: Store,
        catalog: Catalog,
        tile_settings: TileSettings,
    ) -> Result<Self, StoreError> {
        let conn = store.conn()?;
        let snapshot = Snapshot::load(&conn, &catalog)?;
        drop(conn);
        let tiles = TileCache::new(tile_settings.cache_dir.clone());
        tiles.invalidate(snapshot.data_version);
        Ok(Self(Arc::new(App {
            store,
            catalog: Arc::new(catalog),
            tiles,
            tile_settings,
            ledger_edits: std::sync::atomic::AtomicU64::new(0),
            snapshot: ArcSwap::from_pointee(snapshot),
        })))
    }
}

impl App {
    /// The current snapshot; hold it for the whole request so that all its answers
    /// come from one data version.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The number of ledger edits since start (see [`App::ledger_changed`]).
    #[must_use]
    pub fn ledger_edits(&self) -> u64 {
        self.ledger_edits.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records a ledger edit: the figures boundary tiles carry are recomputed and their
    /// URLs and ETags change, so no stale choropleth is served.
    pub fn ledger_changed(&self) {
        self.ledger_edits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.tiles.forget_tables();
    }

    /// Rebuilds the snapshot after a data change and swaps it in.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the rebuild; the old snapshot stays in place.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let catalog = Arc::clone(&self.catalog);
        let snapshot = self.store.run(move |c| Snapshot::load(c, &catalog)).await?;
        let version = snapshot.data_version;
        self.snapshot.store(Arc::new(snapshot));
        self.tiles.invalidate(version);
        Ok(())
    }
}
