//! Polygon layers read from the files a county sends: Shapefile (with the .shx, .dbf,
//! .prj and .cpg beside it), GeoJSON, `GeoPackage`, and zips holding any of them in any
//! folder. Each feature comes back with its attributes as text and its polygons in the
//! file's own coordinates: reprojection and validation belong to the importer. The
//! text of a .dbf is decoded as UTF-8 or GBK, as Chinese offices save it.
//!
//! # Steps
//! 1. Every file is read into memory once its size is checked against
//!    [`VectorLimits::bytes`]. A zip is checked twice: by the sizes its central
//!    directory declares, so that a zip bomb is refused before anything is unpacked,
//!    and by the bytes actually unpacked, since those sizes may lie.
//! 2. Counts declared in headers (the records of a .shx or .dbf, a table's
//!    `count(*)`) are checked against [`VectorLimits::features`] before anything is
//!    allocated for them, and the points each shape declares against its record's
//!    length and [`VectorLimits::vertices`] before the shape is parsed.
//! 3. A feature whose geometry is missing or not a polygon keeps its attributes and
//!    carries the reason instead of a geometry: nothing is dropped. Layers whose
//!    declared type is not polygonal (a Shapefile of points, a `GeoPackage` table of
//!    lines) are left out, and a file with no polygon layer is refused.
//!
//! Errors name the file (inside a zip, the member), never an attribute's contents.

mod archive;
mod dbf;
mod gpkg;
mod json;
mod shp;
#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests;

use std::io::Read;
use std::path::Path;

/// What a reader may allocate for one file (checked before allocating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorLimits {
    /// Bytes of input in all: the file, and for a zip what its members unpack to.
    pub bytes: u64,
    /// Features in all the file's layers.
    pub features: usize,
    /// Vertices (points of all rings) in all the file's layers.
    pub vertices: usize,
    /// Attribute fields of one layer.
    pub fields: usize,
}

impl VectorLimits {
    /// For a county's village boundaries: a few thousand villages of a few thousand
    /// vertices each fit with room to spare.
    pub const IMPORT: VectorLimits = VectorLimits {
        bytes: 512 << 20,
        features: 200_000,
        vertices: 20_000_000,
        fields: 500,
    };
}

/// The coordinate system a file declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrsHint {
    /// The file declares none (a Shapefile without .prj, GeoJSON with `"crs": null`,
    /// a `GeoPackage` table in an undefined system).
    None,
    /// An EPSG code: from a GeoJSON `crs` name (`EPSG:4490`,
    /// `urn:ogc:def:crs:EPSG::4490`; GeoJSON without `crs` is RFC 7946, 4326) or a
    /// `GeoPackage` system of organization EPSG.
    Epsg(u32),
    /// The declaration as text: a .prj's WKT, a `GeoPackage` system's definition, or a
    /// GeoJSON `crs` that names no EPSG code, as given.
    Wkt(String),
}

/// One layer of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorLayer {
    /// Where it came from: `村界.shp`, `bounds.zip!/data/村界.shp`, `x.gpkg!layer`.
    pub source: String,
    /// The coordinate system the file declares for it.
    pub crs: CrsHint,
    /// How text attributes were decoded and why: `UTF-8`, `GBK (.cpg)`,
    /// `GBK (not UTF-8)`, `UTF-8 (valid UTF-8)`.
    pub encoding: String,
    /// Attribute names in file order (for GeoJSON, in order of first appearance).
    pub fields: Vec<String>,
    /// The features, in file order.
    pub features: Vec<VectorFeature>,
}

/// One feature of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorFeature {
    /// The feature's number in the file or layer, from 1 (a Shapefile's record number,
    /// so deleted records leave gaps).
    pub row: usize,
    /// Aligned with [`VectorLayer::fields`]; `None` for null or empty. Numbers as text:
    /// integers exactly as written, without `.0` or exponent; others as Rust formats
    /// an `f64`. Booleans `true`/`false`; GeoJSON objects and arrays as JSON text.
    pub values: Vec<Option<String>>,
    /// Polygon and `MultiPolygon` as a `MultiPolygon` with holes kept and rings as in
    /// the file; otherwise why not, in English (`no geometry`, `empty geometry`,
    /// `a LineString, not a polygon`).
    ///
    /// # Units
    /// The file's own coordinates (see [`VectorLayer::crs`]).
    pub geometry: Result<geo::MultiPolygon<f64>, String>,
}

/// Why a file was refused. Messages name the file (inside a zip, the member) and the
/// limit, never an attribute's contents.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a kind this module reads, by its extension.
    #[error(
        "{file}: not a Shapefile (.shp), GeoJSON (.geojson, .json), GeoPackage (.gpkg) or .zip"
    )]
    Unsupported {
        /// The file.
        file: String,
    },
    /// A part of a Shapefile sent alone.
    #[error(
        "{file}: a Shapefile cannot be sent as one file; zip the .shp, .shx, .dbf, .prj and .cpg together and send the .zip"
    )]
    LoneShapefile {
        /// The file.
        file: String,
    },
    /// A Shapefile without its .dbf.
    #[error("{file} cannot be read without {missing} beside it")]
    Missing {
        /// The .shp.
        file: String,
        /// The file that should be beside it.
        missing: String,
    },
    /// More bytes to read than the limit.
    #[error("{file}: more than {limit} bytes to read (counting what a zip unpacks to), the limit")]
    Bytes {
        /// The file (or member) that went over.
        file: String,
        /// The limit.
        limit: u64,
    },
    /// More features than the limit.
    #[error("{file}: more than {limit} features, the limit")]
    Features {
        /// The file (or layer).
        file: String,
        /// The limit.
        limit: usize,
    },
    /// More vertices than the limit.
    #[error("{file}: more than {limit} vertices, the limit")]
    Vertices {
        /// The file (or layer).
        file: String,
        /// The limit.
        limit: usize,
    },
    /// More attribute fields than the limit.
    #[error("{file}: more than {limit} attribute fields, the limit")]
    Fields {
        /// The file (or layer).
        file: String,
        /// The limit.
        limit: usize,
    },
    /// Not a zip, or a member that cannot be unpacked (encrypted, unknown method).
    #[error("{file}: cannot unpack the zip: {reason}")]
    Zip {
        /// The zip or its member.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// The bytes do not follow the format.
    #[error("{file} is malformed: {reason}")]
    Malformed {
        /// The file (or member).
        file: String,
        /// What is wrong, and where.
        reason: String,
    },
    /// A .shp and its .dbf disagree on the number of features, so attributes cannot
    /// be paired with shapes.
    #[error("{file}: {shapes} shapes in the .shp but {records} records in the .dbf")]
    Mismatch {
        /// The .shp.
        file: String,
        /// Shapes in the .shp (or .shx).
        shapes: usize,
        /// Records in the .dbf.
        records: usize,
    },
    /// `SQLite` refused the `GeoPackage` or a query on it.
    #[error("{file}: cannot read the GeoPackage: {reason}")]
    GeoPackage {
        /// The file (or layer).
        file: String,
        /// `SQLite`'s message.
        reason: String,
    },
    /// A zip or `GeoPackage` with no layer at all.
    #[error("{file} holds no Shapefile, GeoJSON or GeoPackage layer")]
    NoLayer {
        /// The file.
        file: String,
    },
    /// Layers, but none of polygons.
    #[error("{file} holds no polygon layer, only {found}")]
    NoPolygonLayer {
        /// The file.
        file: String,
        /// The layers found and their kinds.
        found: String,
    },
}

impl VectorError {
    /// The reason in Chinese, for the clerk (the 数据导入 page); a library's own words
    /// stay in brackets for whoever helps them.
    #[must_use]
    pub fn zh(&self) -> String {
        match self {
            Self::Io { file, source } => format!("无法读取 {file}（{source}）"),
            Self::Unsupported { file } => format!(
                "{file}：不是 Shapefile（.shp）、GeoJSON（.geojson、.json）、GeoPackage（.gpkg）或 .zip"
            ),
            Self::LoneShapefile { file } => format!(
                "{file}：Shapefile 不能单独上传一个文件；请把 .shp、.shx、.dbf、.prj、.cpg 一起选中，或打包成 .zip"
            ),
            Self::Missing { file, missing } => format!("{file} 旁边缺少 {missing}，无法读取"),
            Self::Bytes { file, limit } => {
                format!("{file}：要读取的内容（含 zip 解压后）超过 {limit} 字节的上限")
            }
            Self::Features { file, limit } => format!("{file}：要素超过 {limit} 个的上限"),
            Self::Vertices { file, limit } => format!("{file}：顶点超过 {limit} 个的上限"),
            Self::Fields { file, limit } => format!("{file}：属性字段超过 {limit} 个的上限"),
            Self::Zip { file, reason } => format!("{file}：无法解压（{reason}）"),
            Self::Malformed { file, reason } => format!("{file} 格式有误（{reason}）"),
            Self::Mismatch {
                file,
                shapes,
                records,
            } => format!(
                "{file}：.shp 中有 {shapes} 个图形，.dbf 中却有 {records} 条记录，无法对应属性"
            ),
            Self::GeoPackage { file, reason } => {
                format!("{file}：无法读取 GeoPackage（{reason}）")
            }
            Self::NoLayer { file } => {
                format!("{file} 中没有 Shapefile、GeoJSON 或 GeoPackage 图层")
            }
            Self::NoPolygonLayer { file, found } => {
                format!("{file} 中没有面图层，只有 {found}")
            }
        }
    }
}

/// Reads every polygon layer of `path`: .shp (with .shx/.dbf/.prj/.cpg beside it),
/// .geojson/.json, .gpkg, or .zip holding any of these (in folders too).
///
/// # Errors
/// A [`VectorError`] for a file that cannot be read, is malformed, goes over a limit,
/// or holds no polygon layer.
///
/// # Examples
/// ```
/// use paicha::formats::vector::{read_path, VectorLimits};
/// let dir = std::env::temp_dir().join(format!("vector-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("村界.geojson");
/// std::fs::write(&path, r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
///     "properties": {"ZLDWMC": "五副甲村"},
///     "geometry": {"type": "Polygon", "coordinates": [[[124, 42], [125, 42], [125, 43], [124, 42]]]}}]}"#)?;
/// let layers = read_path(&path, &VectorLimits::IMPORT)?;
/// assert_eq!(layers[0].source, "村界.geojson");
/// assert_eq!(layers[0].features[0].values, [Some("五副甲村".to_owned())]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_path(path: &Path, limits: &VectorLimits) -> Result<Vec<VectorLayer>, VectorError> {
    let name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |name| name.to_string_lossy())
        .into_owned();
    let mut budget = Budget::new(limits);
    let outcomes = match Kind::of(&name) {
        Some(Kind::Shapefile) => vec![shp::read_path(path, &name, &mut budget)?],
        Some(kind @ (Kind::GeoJson | Kind::GeoPackage | Kind::Zip)) => {
            let bytes = read_file(path, &name, &mut budget)?;
            read_kind(kind, &name, &bytes, &mut budget)?
        }
        Some(Kind::ShapefilePart) | None => {
            return Err(VectorError::Unsupported { file: name });
        }
    };
    polygon_layers(&name, outcomes)
}

/// The same as [`read_path`] from bytes (an upload): `name` gives the kind by its
/// extension (.zip, .geojson/.json, .gpkg) and names the file in layers and errors. A
/// .shp cannot come alone, so its parts are refused with a message saying to zip them.
///
/// # Errors
/// As [`read_path`], and [`VectorError::LoneShapefile`] for a part of a Shapefile.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    limits: &VectorLimits,
) -> Result<Vec<VectorLayer>, VectorError> {
    let mut budget = Budget::new(limits);
    let outcomes = match Kind::of(name) {
        Some(kind @ (Kind::GeoJson | Kind::GeoPackage | Kind::Zip)) => {
            budget.take_bytes(name, bytes.len() as u64)?;
            read_kind(kind, name, bytes, &mut budget)?
        }
        Some(Kind::Shapefile | Kind::ShapefilePart) => {
            return Err(VectorError::LoneShapefile {
                file: name.to_owned(),
            });
        }
        None => {
            return Err(VectorError::Unsupported {
                file: name.to_owned(),
            });
        }
    };
    polygon_layers(name, outcomes)
}

/// The kinds of file, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shapefile,
    ShapefilePart,
    GeoJson,
    GeoPackage,
    Zip,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "shp" => Some(Kind::Shapefile),
            "shx" | "dbf" | "prj" | "cpg" => Some(Kind::ShapefilePart),
            "geojson" | "json" => Some(Kind::GeoJson),
            "gpkg" => Some(Kind::GeoPackage),
            "zip" => Some(Kind::Zip),
            _ => None,
        }
    }
}

/// Reads a file held whole in memory (a Shapefile cannot be: it is several files).
fn read_kind(
    kind: Kind,
    name: &str,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Vec<Outcome>, VectorError> {
    match kind {
        Kind::GeoJson => Ok(vec![json::read(name, bytes, budget)?]),
        Kind::GeoPackage => gpkg::read(name, bytes, budget),
        Kind::Zip => archive::read(name, bytes, budget),
        Kind::Shapefile | Kind::ShapefilePart => Err(VectorError::LoneShapefile {
            file: name.to_owned(),
        }),
    }
}

/// A layer read, or one left out for its declared geometry type.
#[derive(Debug)]
enum Outcome {
    Layer(VectorLayer),
    NotPolygon {
        /// The layer, as [`VectorLayer::source`].
        source: String,
        /// Its declared type, as the file names it.
        kind: String,
    },
}

/// Keeps the polygon layers, and refuses a file without any.
fn polygon_layers(file: &str, outcomes: Vec<Outcome>) -> Result<Vec<VectorLayer>, VectorError> {
    let mut layers = Vec::new();
    let mut others = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Layer(layer) => layers.push(layer),
            Outcome::NotPolygon { source, kind } => others.push(format!("{source} ({kind})")),
        }
    }
    if !layers.is_empty() {
        Ok(layers)
    } else if others.is_empty() {
        Err(VectorError::NoLayer {
            file: file.to_owned(),
        })
    } else {
        Err(VectorError::NoPolygonLayer {
            file: file.to_owned(),
            found: others.join(", "),
        })
    }
}

/// What one file has used of its limits so far.
#[derive(Debug)]
struct Budget {
    limits: VectorLimits,
    bytes: u64,
    features: usize,
    vertices: usize,
}

impl Budget {
    fn new(limits: &VectorLimits) -> Budget {
        Budget {
            limits: *limits,
            bytes: 0,
            features: 0,
            vertices: 0,
        }
    }

    fn bytes_left(&self) -> u64 {
        self.limits.bytes.saturating_sub(self.bytes)
    }

    fn take_bytes(&mut self, file: &str, bytes: u64) -> Result<(), VectorError> {
        if bytes > self.bytes_left() {
            return Err(VectorError::Bytes {
                file: file.to_owned(),
                limit: self.limits.bytes,
            });
        }
        self.bytes += bytes;
        Ok(())
    }

    fn features_left(&self) -> usize {
        self.limits.features.saturating_sub(self.features)
    }

    /// Checks that `count` more features fit, without taking them.
    fn check_features(&self, file: &str, count: usize) -> Result<(), VectorError> {
        if count > self.features_left() {
            return Err(VectorError::Features {
                file: file.to_owned(),
                limit: self.limits.features,
            });
        }
        Ok(())
    }

    fn take_features(&mut self, file: &str, count: usize) -> Result<(), VectorError> {
        self.check_features(file, count)?;
        self.features += count;
        Ok(())
    }

    fn take_vertices(&mut self, file: &str, count: usize) -> Result<(), VectorError> {
        if count > self.limits.vertices.saturating_sub(self.vertices) {
            return Err(VectorError::Vertices {
                file: file.to_owned(),
                limit: self.limits.vertices,
            });
        }
        self.vertices += count;
        Ok(())
    }

    fn check_fields(&self, file: &str, count: usize) -> Result<(), VectorError> {
        if count > self.limits.fields {
            return Err(VectorError::Fields {
                file: file.to_owned(),
                limit: self.limits.fields,
            });
        }
        Ok(())
    }
}

/// Reads a whole file, taking its bytes from the budget first: the size is checked
/// again while reading, since a file may grow after its metadata was read.
fn read_file(path: &Path, name: &str, budget: &mut Budget) -> Result<Vec<u8>, VectorError> {
    let io = |source| VectorError::Io {
        file: name.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let declared = file.metadata().map_err(io)?.len();
    let left = budget.bytes_left();
    if declared > left {
        return Err(VectorError::Bytes {
            file: name.to_owned(),
            limit: budget.limits.bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    file.take(left.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    budget.take_bytes(name, bytes.len() as u64)?;
    Ok(bytes)
}

/// `name` with its extension (after the last dot) replaced: the name of a sibling
/// file, for messages.
fn with_extension(name: &str, extension: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    format!("{stem}.{extension}")
}

/// A number as attribute text: Rust's `Display` for `f64` writes no exponent and no
/// `.0` for whole numbers (`3`, `1.5`, `210422100201`).
fn float_text(value: f64) -> String {
    format!("{value}")
}
