//! Validated settings, built from the raw command-line flags and `PAICHA_*` variables.
//!
//! The CLI (`src/cli.rs`) only collects raw values; this module turns them into ready
//! paths and addresses and says clearly what is wrong with a bad one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::app::AppSettings;
use crate::tiles::TileSettings;

/// Where the database lives unless `--db` / `PAICHA_DB` says otherwise.
pub const DEFAULT_DB: &str = "data/paicha.duckdb";
/// Where the server listens unless `--addr` / `PAICHA_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The web app's folder, relative to the working directory.
pub const DEFAULT_WEB_DIR: &str = "web";
/// The tiles folder (offline basemaps, the heat-map cache), relative to the working
/// directory.
pub const DEFAULT_TILES_DIR: &str = "tiles";

/// Settings of `paicha serve`.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The database (built from the demo county when missing) and how tiles are made.
    pub app: AppSettings,
    /// The listening address.
    pub addr: SocketAddr,
    /// The folder of static web files served at `/`.
    pub web_dir: PathBuf,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The web folder is missing.
    #[error("web folder {0} does not exist (set --web-dir or PAICHA_WEB_DIR)")]
    WebDir(PathBuf),
    /// The web folder lacks its npm packages.
    #[error(
        "web folder {0} has no node_modules/maplibre-gl: run `npm ci` in it (cargo build does this)"
    )]
    WebPackages(PathBuf),
    /// The heat-map threshold is not a usable number.
    #[error("--heat-min-households must be a number of 0 or more, got {0}")]
    HeatThreshold(f64),
    /// The public address is not an http(s) URL.
    #[error("--public-url must be an http:// or https:// address, got {0:?}")]
    PublicUrl(String),
}

impl ServeSettings {
    /// Validates the raw values.
    ///
    /// # Errors
    /// [`SettingsError::WebDir`] when neither the given folder nor the source tree's
    /// `web/` exists; [`SettingsError::HeatThreshold`] for a negative or NaN threshold.
    pub fn new(
        db: PathBuf,
        addr: SocketAddr,
        web_dir: Option<PathBuf>,
        tiles_dir: &Path,
        heat_min_households: f64,
        tianditu_key: Option<String>,
        public_url: Option<String>,
    ) -> Result<Self, SettingsError> {
        if !(heat_min_households.is_finite() && heat_min_households >= 0.0) {
            return Err(SettingsError::HeatThreshold(heat_min_households));
        }
        let public_url = public_url
            .map(|u| u.trim().trim_end_matches('/').to_owned())
            .filter(|u| !u.is_empty());
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(SettingsError::PublicUrl(u.clone()));
        }
        Ok(Self {
            app: AppSettings {
                db,
                tiles: TileSettings {
                    cache_dir: Some(tiles_dir.join("cache")),
                    heat_min_households,
                    basemaps_dir: Some(tiles_dir.to_path_buf()),
                    tianditu_key: tianditu_key.filter(|k| !k.trim().is_empty()),
                    public_url,
                },
            },
            addr,
            web_dir: with_packages(resolve_web_dir(web_dir)?)?,
        })
    }
}

/// The web folder, if its npm packages are installed.
fn with_packages(dir: PathBuf) -> Result<PathBuf, SettingsError> {
    if dir.join(crate::api::MAPLIBRE_DIST).is_dir() {
        Ok(dir)
    } else {
        Err(SettingsError::WebPackages(dir))
    }
}

/// The given web folder, else `./web`, else the source tree's `web/` (so that the
/// binary also works when started from another directory of a checkout).
fn resolve_web_dir(given: Option<PathBuf>) -> Result<PathBuf, SettingsError> {
    if let Some(dir) = given {
        return if dir.is_dir() {
            Ok(dir)
        } else {
            Err(SettingsError::WebDir(dir))
        };
    }
    let local = Path::new(DEFAULT_WEB_DIR);
    if local.is_dir() {
        return Ok(local.to_path_buf());
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_WEB_DIR);
    if source.is_dir() {
        Ok(source)
    } else {
        Err(SettingsError::WebDir(local.to_path_buf()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_web_folder_is_named() {
        let err = resolve_web_dir(Some("/nonexistent/web".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "web folder /nonexistent/web does not exist (set --web-dir or PAICHA_WEB_DIR)"
        );
    }

    #[test]
    fn the_source_tree_web_folder_is_the_fallback() {
        assert!(
            resolve_web_dir(None)
                .unwrap()
                .join("public/index.html")
                .is_file()
        );
    }
}
