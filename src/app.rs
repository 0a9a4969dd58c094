//! The running service's shared state: the store and the spatial index built from it.
//!
//! The index and the figures derived from the data sit in one immutable [`Snapshot`]
//! behind an `ArcSwap`: a data change builds a new snapshot and swaps it in whole, so
//! a request never sees half of an update, and `data_version` (which goes into cache
//! keys and ETags) always matches the index it is served with.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::domain::AreaLevel;
use crate::spatial::{AreaIndex, IndexedArea};
use crate::store::{self, AreaFilter, Store, StoreError};

/// Everything derived from one version of the data.
#[derive(Debug)]
pub struct Snapshot {
    /// The data version the snapshot was built from.
    pub data_version: i64,
    /// Households stored.
    pub households: i64,
    /// Village boundaries, indexed.
    pub villages: AreaIndex,
}

impl Snapshot {
    /// Builds a snapshot from the store: reads the village boundaries and indexes them.
    ///
    /// # Errors
    /// The [`StoreError`] of the first query that fails.
    pub fn load(conn: &duckdb::Connection) -> Result<Self, StoreError> {
        let filter = AreaFilter {
            level: Some(AreaLevel::Village),
            parent: None,
        };
        let villages = store::areas::records(conn, &filter)?
            .into_iter()
            .map(|r| IndexedArea {
                township_code: r.summary.parent_code.unwrap_or_default(),
                code: r.summary.code,
                geometry: r.geometry,
            })
            .collect();
        Ok(Self {
            data_version: store::data_version(conn)?,
            households: store::households::count(conn)?,
            villages: AreaIndex::new(villages),
        })
    }
}

/// The application: what every request handler can reach.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub store: Store,
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
    pub fn new(store: Store) -> Result<Self, StoreError> {
        let conn = store.conn()?;
        let snapshot = Snapshot::load(&conn)?;
        drop(conn);
        Ok(Self(Arc::new(App {
            store,
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

    /// Rebuilds the snapshot after a data change and swaps it in.
    ///
    /// # Errors
    /// The [`StoreError`] that stopped the rebuild; the old snapshot stays in place.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let snapshot = self.store.run(Snapshot::load).await?;
        self.snapshot.store(Arc::new(snapshot));
        Ok(())
    }
}
