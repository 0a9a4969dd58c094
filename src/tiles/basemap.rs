//! Offline basemaps: MBTiles and PMTiles packages a user drops into the tiles folder.
//!
//! Deployments run on intranets without internet, so the web map draws our own
//! boundaries over a plain background unless a basemap package is there. MBTiles (SQLite,
//! tiles in TMS row order) are read here and served tile by tile; PMTiles are served as
//! files with HTTP range requests, which the web app's PMTiles reader asks for. Only the
//! headers and metadata are read when listing, so listing is cheap enough to do per
//! request and a package dropped in while the server runs shows up at once.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

/// The file formats of a basemap package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Package {
    /// SQLite with `metadata` and `tiles` tables.
    Mbtiles,
    /// One file, a header and directories, read by range requests.
    Pmtiles,
}

/// What the tiles hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PNG images.
    Png,
    /// JPEG images.
    Jpg,
    /// WebP images.
    Webp,
    /// Mapbox vector tiles.
    Pbf,
}

impl Format {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Some(Self::Png),
            "jpg" | "jpeg" => Some(Self::Jpg),
            "webp" => Some(Self::Webp),
            "pbf" | "mvt" => Some(Self::Pbf),
            _ => None,
        }
    }

    /// The HTTP content type of one tile.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Pbf => "application/vnd.mapbox-vector-tile",
        }
    }

    /// The file extension of one tile.
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpg => "jpg",
            Self::Webp => "webp",
            Self::Pbf => "mvt",
        }
    }

    /// Whether the tiles are vector tiles.
    #[must_use]
    pub const fn is_vector(self) -> bool {
        matches!(self, Self::Pbf)
    }
}

/// A basemap package found in the tiles folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Basemap {
    /// The file name without its extension: the id in URLs.
    pub id: String,
    /// Its name from the metadata, else the id.
    pub name: String,
    /// MBTiles or PMTiles.
    pub package: Package,
    /// What its tiles hold.
    pub format: Format,
    /// Lowest zoom with tiles.
    pub minzoom: u8,
    /// Highest zoom with tiles.
    pub maxzoom: u8,
    /// West, south, east, north, when the package says.
    pub bounds: Option<[f64; 4]>,
    /// Attribution to show on the map, when the package says.
    pub attribution: Option<String>,
    /// For vector tiles, the layers (TileJSON `vector_layers`), when the package says.
    pub vector_layers: Option<serde_json::Value>,
    /// The file.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A package that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The file name.
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The packages in `dir` (not its subfolders), sorted by id, and the files with a
/// package extension that could not be read. A missing folder holds none.
#[must_use]
pub fn discover(dir: &Path) -> (Vec<Basemap>, Vec<Unreadable>) {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (found, bad);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        let read = match ext.to_ascii_lowercase().as_str() {
            "mbtiles" => read_mbtiles(&path),
            "pmtiles" => read_pmtiles(&path),
            _ => continue,
        };
        match read {
            Ok(b) => found.push(b),
            Err(reason) => bad.push(Unreadable {
                file: entry.file_name().to_string_lossy().into_owned(),
                reason,
            }),
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    bad.sort_by(|a, b| a.file.cmp(&b.file));
    (found, bad)
}

/// The package with this id in `dir`, if there is a readable one.
#[must_use]
pub fn find(dir: &Path, id: &str) -> Option<Basemap> {
    // Ids are file stems; refusing separators keeps requests inside the folder.
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return None;
    }
    discover(dir).0.into_iter().find(|b| b.id == id)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn open(path: &Path) -> Result<Connection, String> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("not an SQLite file: {e}"))
}

fn read_mbtiles(path: &Path) -> Result<Basemap, String> {
    let conn = open(path)?;
    let meta = |key: &str| -> Result<Option<String>, String> {
        conn.query_row("SELECT value FROM metadata WHERE name = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .map_err(|e| format!("no readable metadata table: {e}"))
    };
    let format_text = meta("format")?.ok_or("metadata has no format (png, jpg, webp or pbf)")?;
    let format = Format::parse(&format_text).ok_or_else(|| {
        format!("unsupported tile format {format_text:?}; expected png, jpg, webp or pbf")
    })?;
    let (min, max): (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT min(zoom_level), max(zoom_level) FROM tiles",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| format!("no readable tiles table: {e}"))?;
    let (Some(min), Some(max)) = (min, max) else {
        return Err("the tiles table is empty".to_owned());
    };
    let zoom = |z: i64| u8::try_from(z.clamp(0, 30)).unwrap_or(0);
    let bounds = meta("bounds")?.and_then(|b| parse_bounds(&b));
    let vector_layers = meta("json")?
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .and_then(|j| j.get("vector_layers").cloned());
    Ok(Basemap {
        id: stem(path),
        name: meta("name")?.unwrap_or_else(|| stem(path)),
        package: Package::Mbtiles,
        format,
        minzoom: zoom(min),
        maxzoom: zoom(max),
        bounds,
        attribution: meta("attribution")?,
        vector_layers,
        path: path.to_path_buf(),
    })
}

fn parse_bounds(text: &str) -> Option<[f64; 4]> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    let b: [f64; 4] = v.try_into().ok()?;
    (b.iter().all(|x| x.is_finite()) && b[0] < b[2] && b[1] < b[3]).then_some(b)
}

/// One tile of an MBTiles package, `None` where it has none. MBTiles rows count from
/// the south (TMS), XYZ rows from the north.
///
/// # Errors
///
/// The package cannot be read.
pub fn mbtiles_tile(path: &Path, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
    let conn = open(path)?;
    let Some(rows) = 1u32.checked_shl(u32::from(z)) else {
        return Ok(None);
    };
    if x >= rows || y >= rows {
        return Ok(None);
    }
    let tms_row = rows - 1 - y;
    conn.query_row(
        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
        [u32::from(z), x, tms_row],
        |r| r.get::<_, Vec<u8>>(0),
    )
    .optional()
    .map_err(|e| format!("reading a tile: {e}"))
}

/// The fixed header of a PMTiles version 3 file.
const PMTILES_HEADER: usize = 127;

fn read_pmtiles(path: &Path) -> Result<Basemap, String> {
    use std::io::Read;
    let mut header = [0u8; PMTILES_HEADER];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| format!("cannot read the PMTiles header: {e}"))?;
    if &header[..7] != b"PMTiles" {
        return Err("not a PMTiles file (no PMTiles magic)".to_owned());
    }
    if header[7] != 3 {
        return Err(format!(
            "PMTiles version {} is not supported; expected version 3",
            header[7]
        ));
    }
    let format = match header[99] {
        1 => Format::Pbf,
        2 => Format::Png,
        3 => Format::Jpg,
        4 => Format::Webp,
        t => return Err(format!("unsupported PMTiles tile type {t}")),
    };
    let e7 = |at: usize| {
        let b: [u8; 4] = header[at..at + 4].try_into().unwrap_or_default();
        f64::from(i32::from_le_bytes(b)) / 1e7
    };
    let bounds = [e7(102), e7(106), e7(110), e7(114)];
    Ok(Basemap {
        id: stem(path),
        name: stem(path),
        package: Package::Pmtiles,
        format,
        minzoom: header[100],
        maxzoom: header[101],
        bounds: (bounds[0] < bounds[2] && bounds[1] < bounds[3]).then_some(bounds),
        attribution: None,
        vector_layers: None,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mbtiles(dir: &Path, name: &str, format: &str) -> PathBuf {
        let path = dir.join(name);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO metadata VALUES ('format', ?1), ('name', '底图'), ('bounds', '124.3,41.2,125.5,42.0')",
            [format],
        )
        .unwrap();
        // z1 x1 y0 (XYZ) is TMS row 1.
        conn.execute("INSERT INTO tiles VALUES (1, 1, 1, x'0102')", [])
            .unwrap();
        path
    }

    #[test]
    fn mbtiles_are_listed_and_read_in_xyz_rows() {
        let dir = tempfile::tempdir().unwrap();
        mbtiles(dir.path(), "sat.mbtiles", "png");
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let (found, bad) = discover(dir.path());
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(found.len(), 1);
        let b = &found[0];
        assert_eq!((b.id.as_str(), b.name.as_str()), ("sat", "底图"));
        assert_eq!((b.format, b.minzoom, b.maxzoom), (Format::Png, 1, 1));
        assert_eq!(b.bounds, Some([124.3, 41.2, 125.5, 42.0]));
        assert_eq!(mbtiles_tile(&b.path, 1, 1, 0).unwrap(), Some(vec![1, 2]));
        assert_eq!(mbtiles_tile(&b.path, 1, 1, 1).unwrap(), None);
        assert_eq!(mbtiles_tile(&b.path, 1, 2, 0).unwrap(), None);
        assert!(find(dir.path(), "sat").is_some());
        assert!(find(dir.path(), "../sat").is_none());
    }

    #[test]
    fn unreadable_packages_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        mbtiles(dir.path(), "odd.mbtiles", "tiff");
        std::fs::write(dir.path().join("junk.pmtiles"), b"hello").unwrap();
        let (found, bad) = discover(dir.path());
        assert!(found.is_empty());
        assert_eq!(bad[0].file, "junk.pmtiles");
        assert!(bad[0].reason.contains("header"), "{}", bad[0].reason);
        assert_eq!(bad[1].file, "odd.mbtiles");
        assert!(bad[1].reason.contains("\"tiff\""), "{}", bad[1].reason);
    }

    #[test]
    fn pmtiles_headers_give_the_format_zooms_and_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let mut header = vec![0u8; PMTILES_HEADER];
        header[..7].copy_from_slice(b"PMTiles");
        header[7] = 3;
        header[99] = 1;
        header[100] = 5;
        header[101] = 14;
        for (at, v) in [(102, 124.3), (106, 41.2), (110, 125.5), (114, 42.0)] {
            #[expect(clippy::cast_possible_truncation, reason = "test degrees fit")]
            let e7 = (f64::round(v * 1e7)) as i32;
            header[at..at + 4].copy_from_slice(&e7.to_le_bytes());
        }
        std::fs::write(dir.path().join("roads.pmtiles"), &header).unwrap();
        let (found, bad) = discover(dir.path());
        assert!(bad.is_empty(), "{bad:?}");
        let b = &found[0];
        assert_eq!((b.package, b.format), (Package::Pmtiles, Format::Pbf));
        assert_eq!((b.minzoom, b.maxzoom), (5, 14));
        let bounds = b.bounds.unwrap();
        assert!((bounds[0] - 124.3).abs() < 1e-7 && (bounds[3] - 42.0).abs() < 1e-7);
    }
}
