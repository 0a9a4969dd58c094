//! The running service's shared state, assembled in one place for every command:
//! the store, the indicator catalog, the tile cache and the read model.
//!
//! The read model ([`Snapshot`]) sits behind an `ArcSwap`: a data change builds a new
//! snapshot and swaps it in whole ([`App::reload`]), so a request never sees half of
//! an update, and `data_version` (which goes into cache keys and ETags) always matches
//! the snapshot it is served with.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::accounts::{Accounts, AuditLog};
use crate::indicators::{Catalog, CatalogError};
use crate::model::{Facts, Places, Snapshot};
use crate::store::{Store, StoreError};
use crate::tiles::{TileCache, TileSettings};

pub use crate::model;

pub mod briefing;
pub mod imports;
pub mod versions;

/// What the service is opened over: the database and how tiles are made.
#[derive(Debug, Clone, Default)]
pub struct AppSettings {
    /// The database file.
    pub db: PathBuf,
    /// How tiles are made and where heat maps are cached.
    pub tiles: TileSettings,
}

/// Why the service could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedded indicator catalog is broken (a build defect that tests catch).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Plans routed at once: routing uses a core, and a 2-core server must keep one for
/// everything else.
pub const PLANS_AT_ONCE: usize = 1;
/// How long a plan request waits for its turn before it is answered 503.
pub const PLAN_WAIT: std::time::Duration = std::time::Duration::from_mins(1);

/// The queue of plans being routed: at most [`PLANS_AT_ONCE`] at a time, the others
/// waiting their turn for at most [`PLAN_WAIT`].
#[derive(Debug)]
pub struct PlanQueue {
    slots: tokio::sync::Semaphore,
    waiting: AtomicU64,
}

impl Default for PlanQueue {
    fn default() -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(PLANS_AT_ONCE),
            waiting: AtomicU64::new(0),
        }
    }
}

impl PlanQueue {
    /// Waits for a turn; `None` after [`PLAN_WAIT`].
    pub async fn turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = tokio::time::timeout(PLAN_WAIT, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.ok().and_then(Result::ok)
    }

    /// Plans being routed and plans waiting for a turn.
    #[must_use]
    pub fn load(&self) -> (usize, u64) {
        (
            PLANS_AT_ONCE - self.slots.available_permits(),
            self.waiting.load(Ordering::SeqCst),
        )
    }
}

/// The application: what every request handler and command can reach.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub store: Store,
    /// The indicator catalog.
    pub catalog: Arc<Catalog>,
    /// The department roll kinds and the cross-checks (`data/rolls.toml`, or a
    /// county's own file).
    pub rolls: Arc<crate::domain::rolls::RollCatalog>,
    /// The poverty-village exit standard and monitoring lines in force
    /// ([`exit_standard`]).
    pub exits: Arc<crate::domain::exits::ExitStandard>,
    /// Finished tiles of the current data version.
    pub tiles: TileCache,
    /// How tiles are made.
    pub tile_settings: TileSettings,
    /// Plans being routed and waiting.
    pub plans: PlanQueue,
    /// Sessions, tokens and the sign-in throttle.
    pub accounts: Accounts,
    /// The audit log's writer.
    pub audit: AuditLog,
    /// Whether the database is the synthetic demo (`meta.source = demo`): only then
    /// does the sign-in page offer the demo accounts.
    pub is_demo: bool,
    /// Whether the service is served over TLS (its cookies are then `Secure`).
    pub https: std::sync::atomic::AtomicBool,
    /// Imports uploaded to this server, checked and waiting to be committed.
    pub imports: imports::Imports,
    /// The figures of the registry's versions, for comparisons and trends.
    pub versions: versions::VersionFigures,
    /// Ledger edits since start: boundary tiles carry ledger indicators, so their
    /// cache keys, ETags and URLs change with it.
    ledger_edits: AtomicU64,
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

/// Builds the read model of the store's current data version: places first, then
/// the derived indicator table brought up to date from them (the store's step, a
/// no-op when it is fresh), then the snapshot.
///
/// # Errors
/// The [`StoreError`] of the first step that fails.
pub fn load_snapshot(conn: &duckdb::Connection, catalog: &Catalog) -> Result<Snapshot, StoreError> {
    crate::store::exits::install(conn, &exit_standard()?)?;
    // When the derived table is this data version's (every start but the first after
    // new data), its facts are read on a second connection beside the places, which
    // they do not depend on: at 10 million households that hid 2.4 s of an 11 s start.
    let second = if crate::store::indicators::is_current(conn)? {
        conn.try_clone().ok()
    } else {
        None
    };
    let (places, early) = std::thread::scope(|s| {
        let early = second.map(|c| s.spawn(move || Facts::read(&c)));
        let places = Places::read(conn, &catalog.poverty_lines);
        // A failed early read is read again, and its error reported, after the places.
        let early = early.and_then(|h| h.join().ok()).and_then(Result::ok);
        (places, early)
    });
    let places = places?;
    let start = std::time::Instant::now();
    places.refresh_derived(conn)?;
    tracing::debug!(
        seconds = start.elapsed().as_secs_f64(),
        "derived indicator table checked"
    );
    Snapshot::load_with(conn, places, early)
}

/// The environment variable naming a county's own exit standard file.
pub const EXIT_STANDARD_ENV: &str = "PAICHA_EXIT_STANDARD";

/// The exit standard in force: the file [`EXIT_STANDARD_ENV`] names (a county's own copy
/// of `data/exit_standard.toml`, read at each load, so that editing it needs no
/// rebuild), else the built-in one.
///
/// # Errors
/// [`StoreError::Invalid`] naming the file and what is wrong in it (the item, field or
/// line).
pub fn exit_standard() -> Result<crate::domain::exits::ExitStandard, StoreError> {
    use crate::domain::exits::ExitStandard;
    let invalid = |e: crate::domain::exits::ExitStandardError| StoreError::Invalid(e.to_string());
    match std::env::var_os(EXIT_STANDARD_ENV).filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                StoreError::Invalid(format!("exit standard {}: {e}", path.display()))
            })?;
            ExitStandard::parse(&text, &path.display().to_string()).map_err(invalid)
        }
        None => ExitStandard::builtin().map_err(invalid),
    }
}

impl AppState {
    /// Opens the service over a database file with the built-in catalog: what
    /// `serve`, `plan`, `render` and the benchmarks all start from.
    ///
    /// # Errors
    /// [`AppError`] naming the database or catalog problem.
    pub fn open(settings: &AppSettings) -> Result<Self, AppError> {
        let store = Store::open(&settings.db)?;
        let catalog = Catalog::builtin()?;
        Ok(Self::with_tiles(store, catalog, settings.tiles.clone())?)
    }

    /// Opens the state over a store already open, with default tile settings.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the snapshot.
    pub fn new(store: Store, catalog: Catalog) -> Result<Self, StoreError> {
        Self::with_tiles(store, catalog, TileSettings::default())
    }

    /// Opens the state over a store already open (tests share one between servers),
    /// with tile settings (the heat-map disk cache, the privacy threshold of rate
    /// maps, basemaps).
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the snapshot.
    pub fn with_tiles(
        store: Store,
        catalog: Catalog,
        tile_settings: TileSettings,
    ) -> Result<Self, StoreError> {
        let conn = store.conn()?;
        let snapshot = load_snapshot(&conn, &catalog)?;
        let accounts = Accounts::load(&conn)?;
        let is_demo = crate::store::meta(&conn, "source")?.as_deref() == Some("demo");
        drop(conn);
        let audit = AuditLog::start(store.clone());
        let tiles = TileCache::new(tile_settings.cache_dir.clone());
        tiles.invalidate(snapshot.data_version);
        let imports = imports::Imports::new(uploads_dir(store.path()));
        Ok(Self(Arc::new(App {
            store,
            catalog: Arc::new(catalog),
            rolls: Arc::new(
                crate::domain::rolls::RollCatalog::builtin()
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            ),
            exits: Arc::new(exit_standard()?),
            tiles,
            tile_settings,
            plans: PlanQueue::default(),
            accounts,
            audit,
            is_demo,
            https: std::sync::atomic::AtomicBool::new(false),
            imports,
            versions: versions::VersionFigures::default(),
            ledger_edits: AtomicU64::new(0),
            snapshot: ArcSwap::from_pointee(snapshot),
        })))
    }
}

/// Where uploads wait for their import: beside the database, `paicha.duckdb.uploads/`.
fn uploads_dir(db: &std::path::Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_owned();
    name.push(".uploads");
    db.with_file_name(name)
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
        self.ledger_edits.load(Ordering::SeqCst)
    }

    /// Records a ledger edit: the figures boundary tiles carry are recomputed and their
    /// URLs and ETags change, so no stale choropleth is served.
    pub fn ledger_changed(&self) {
        self.ledger_edits.fetch_add(1, Ordering::SeqCst);
        self.tiles.forget_tables();
    }

    /// Rebuilds the snapshot from the store's current data and swaps it in, after the
    /// running service changed the data (an import committed, a version restored).
    /// Requests under way finish on the old one.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the rebuild; the old snapshot stays in place.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let catalog = Arc::clone(&self.catalog);
        let snapshot = self.store.run(move |c| load_snapshot(c, &catalog)).await?;
        let version = snapshot.data_version;
        self.snapshot.store(Arc::new(snapshot));
        self.tiles.invalidate(version);
        Ok(())
    }

    /// Undoes a committed import (what it replaced is back, what it added is gone) and
    /// swaps the snapshot. Returns the new data version.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an unknown import or one already undone or undone
    /// out of order; [`StoreError::Query`] when the store fails. Nothing changes then.
    pub async fn undo_import(&self, id: &str) -> Result<i64, StoreError> {
        let id = id.to_owned();
        let version = self
            .store
            .run(move |c| {
                crate::store::imports::undo(c, &id, &crate::domain::calendar::utc_timestamp())
            })
            .await?;
        self.reload().await?;
        Ok(version)
    }
}
