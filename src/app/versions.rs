//! The figures of the registry's versions, kept once computed: a kept version never
//! changes (its rows are history), and the current one is keyed by its data version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::StoreError;
use crate::store::versions::{Diff, VillageFigures};

/// Versions whose figures are kept: a month's comparison and a trend over a year or two.
const KEPT: usize = 32;

/// Every village's figures of one version.
pub type Figures = Arc<HashMap<String, VillageFigures>>;

/// Pairs of versions whose [`Diff`] is kept: the one being looked at, and a few more.
const DIFFS_KEPT: usize = 4;

/// The figures of the versions asked last (newest use last), and the differences of
/// the pairs compared last.
#[derive(Debug, Default)]
pub struct VersionFigures {
    kept: Mutex<Vec<(String, Figures)>>,
    diffs: Mutex<Vec<(String, Arc<Diff>)>>,
}

impl VersionFigures {
    /// The difference of a pair under `key`, computed by `build` the first time.
    ///
    /// # Errors
    /// What `build` returns.
    pub fn diff(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Diff, StoreError>,
    ) -> Result<Arc<Diff>, StoreError> {
        let lock = || {
            self.diffs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((_, found)) = lock().iter().find(|(k, _)| k == key) {
            return Ok(Arc::clone(found));
        }
        let diff = Arc::new(build()?);
        let mut diffs = lock();
        diffs.retain(|(k, _)| k != key);
        if diffs.len() >= DIFFS_KEPT {
            diffs.remove(0);
        }
        diffs.push((key.to_owned(), Arc::clone(&diff)));
        Ok(diff)
    }

    /// The figures under `key`, computed by `build` the first time (outside the lock:
    /// two requests for a new version may both compute it, and one copy is kept).
    ///
    /// # Errors
    /// What `build` returns.
    pub fn get(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<HashMap<String, VillageFigures>, StoreError>,
    ) -> Result<Figures, StoreError> {
        if let Some(found) = self.take(key) {
            return Ok(found);
        }
        let figures = Arc::new(build()?);
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.retain(|(k, _)| k != key);
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push((key.to_owned(), Arc::clone(&figures)));
        Ok(figures)
    }

    fn take(&self, key: &str) -> Option<Figures> {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = kept.iter().position(|(k, _)| k == key)?;
        let entry = kept.remove(at);
        let figures = Arc::clone(&entry.1);
        kept.push(entry);
        Some(figures)
    }
}
