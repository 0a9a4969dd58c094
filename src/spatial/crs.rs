//! Coordinate systems: those that field apps record in (WGS-84, GCJ-02 and BD-09), and
//! those that boundary files come in (CGCS2000 lon/lat and its Gauss–Krüger zones).
//!
//! Phones mostly report GCJ-02 (Amap, Tencent) or BD-09 (Baidu), which are WGS-84
//! shifted by a non-linear offset of a few hundred metres inside China. The store keeps
//! WGS-84 only, so every source declares its system and is converted here. CGCS2000
//! differs from WGS-84 by centimetres and is treated as WGS-84. The forward GCJ-02
//! transform is the published one; its inverse has no closed form and is found by
//! fixed-point iteration.
//!
//! Village boundaries of the Third National Land Survey come as CGCS2000 lon/lat or in
//! CGCS2000 Gauss–Krüger metres. [`Crs`] (not to be confused with [`domain::Crs`], the
//! system of a GPS reading) recognises which from an EPSG code, a name, a `.prj` or
//! `GeoPackage` WKT, or the coordinates themselves, and [`Crs::to_wgs84`] reprojects with
//! `proj4rs`. Xian 1980 and Beijing 1954 are refused: converting them needs datum
//! parameters a file does not carry.

use std::f64::consts::PI;

use geo::{Coord, MapCoords, MultiPolygon};
use proj4rs::Proj;
use thiserror::Error;

use crate::domain;

/// A longitude/latitude pair in degrees; which system it is in is up to the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    /// Longitude, degrees east.
    pub lon: f64,
    /// Latitude, degrees north.
    pub lat: f64,
}

impl LonLat {
    /// Makes a pair from longitude and latitude in degrees.
    #[must_use]
    pub const fn new(lon: f64, lat: f64) -> Self {
        Self { lon, lat }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid that GCJ-02 is defined on, in metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's angular constant for BD-09.
const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether a point lies outside the rough box where GCJ-02 applies its offset.
///
/// Outside that box the transform is the identity, as the published algorithm defines.
///
/// # Units
/// Degrees.
#[must_use]
pub fn outside_china(p: LonLat) -> bool {
    !(72.004..=137.8347).contains(&p.lon) || !(0.8293..=55.8271).contains(&p.lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// Converts a WGS-84 position to GCJ-02.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn wgs84_to_gcj02(p: LonLat) -> LonLat {
    if outside_china(p) {
        return p;
    }
    let d_lat = offset_lat(p.lon - 105.0, p.lat - 35.0);
    let d_lon = offset_lon(p.lon - 105.0, p.lat - 35.0);
    let rad_lat = p.lat.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat =
        (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LonLat::new(p.lon + d_lon, p.lat + d_lat)
}

/// Converts a GCJ-02 position back to WGS-84.
///
/// # Algorithm
/// Fixed-point iteration on the forward transform: start at the GCJ-02 point, and move
/// by the residual of the forward transform until it is below 1e-10 degrees (about
/// 0.01 mm). The offset field is smooth, so this converges in a handful of steps; the
/// loop is capped so that a pathological input cannot spin.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn gcj02_to_wgs84(p: LonLat) -> LonLat {
    if outside_china(p) {
        return p;
    }
    let mut w = p;
    for _ in 0..30 {
        let g = wgs84_to_gcj02(w);
        let (d_lon, d_lat) = (g.lon - p.lon, g.lat - p.lat);
        w = LonLat::new(w.lon - d_lon, w.lat - d_lat);
        if d_lon.abs() < 1e-10 && d_lat.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// Converts a GCJ-02 position to BD-09.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn gcj02_to_bd09(p: LonLat) -> LonLat {
    let (x, y) = (p.lon, p.lat);
    let z = x.hypot(y) + 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * BD_X_PI).cos();
    LonLat::new(z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// Converts a BD-09 position to GCJ-02.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn bd09_to_gcj02(p: LonLat) -> LonLat {
    let (x, y) = (p.lon - 0.0065, p.lat - 0.006);
    let z = x.hypot(y) - 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * BD_X_PI).cos();
    LonLat::new(z * theta.cos(), z * theta.sin())
}

/// Converts a position between any two of the supported systems.
///
/// # Units
/// Degrees in, degrees out.
#[must_use]
pub fn convert(p: LonLat, from: domain::Crs, to: domain::Crs) -> LonLat {
    if from == to {
        return p;
    }
    let wgs = match from {
        domain::Crs::Wgs84 => p,
        domain::Crs::Gcj02 => gcj02_to_wgs84(p),
        domain::Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(p)),
    };
    match to {
        domain::Crs::Wgs84 => wgs,
        domain::Crs::Gcj02 => wgs84_to_gcj02(wgs),
        domain::Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(wgs)),
    }
}

/// The EPSG codes [`Crs::from_epsg`] knows, for error messages.
const SUPPORTED_EPSG: &str = "EPSG:4326 (WGS 84 lon/lat), EPSG:4490 (CGCS2000 lon/lat), \
     EPSG:4491-4501 and 4502-4512 (CGCS2000 6-degree Gauss-Kruger zones 13-23, with and \
     without the zone number in the easting), EPSG:4513-4533 and 4534-4554 (CGCS2000 \
     3-degree Gauss-Kruger zones 25-45, with and without the zone number in the easting)";

/// The false easting of every Gauss–Krüger zone, which keeps eastings positive.
///
/// # Units
/// Metres.
const ZONE_FALSE_EASTING_M: f64 = 500_000.0;

/// What one unit of zone number adds to the false easting of a zone with a prefix.
///
/// # Units
/// Metres.
const ZONE_PREFIX_M: f64 = 1_000_000.0;

/// How far from its central meridian a point may lie. Reading an easting with a zone
/// prefix as one without (or the other way round) puts a point at least 12,500 km off,
/// while China is at most about 5,000 km wide and the transverse Mercator series that
/// proj4rs uses stays exact to about 3,900 km; between those, 3,000 km catches the
/// mistake without refusing any real boundary.
///
/// # Units
/// Metres.
const MAX_OFFSET_FROM_MERIDIAN_M: f64 = 3_000_000.0;

/// The northings of China's territory (3°N to 54°N, with room), used to tell
/// Gauss–Krüger coordinates from anything else.
///
/// # Units
/// Metres.
const CHINA_NORTHINGS_M: std::ops::RangeInclusive<f64> = 0.0..=6_200_000.0;

/// lon/lat on the GRS80 ellipsoid of CGCS2000, with no datum, so that proj4rs applies
/// no datum shift: CGCS2000 is taken as WGS-84 on purpose.
const LONLAT_GRS80: &str = "+proj=longlat +ellps=GRS80 +no_defs";

/// The coordinate system a boundary file is in: what it must be reprojected from to
/// reach the WGS-84 lon/lat that paicha stores.
///
/// # Examples
/// ```
/// use paicha::spatial::crs::Crs;
///
/// let crs = Crs::infer(&[41_658_157.05], &[4_620_060.57]).unwrap();
/// assert_eq!(crs.epsg(), 4529);
/// let (lon, lat) = crs.point_to_wgs84(41_658_157.05, 4_620_060.57).unwrap();
/// assert!((lon - 124.9).abs() < 1e-6 && (lat - 41.7).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Crs {
    /// Longitude/latitude degrees: CGCS2000 (4490) or WGS-84 (4326), taken as equal.
    Geographic {
        /// 4490 or 4326.
        epsg: u32,
    },
    /// CGCS2000 Gauss–Krüger (transverse Mercator, scale 1, false northing 0).
    GaussKruger {
        /// Longitude of the zone's central meridian, degrees east.
        central_meridian: f64,
        /// Width of the zone system, 3 or 6 degrees.
        zone_width: u8,
        /// Whether eastings carry the zone number in front: a false easting of
        /// zone × 1,000,000 + 500,000 m rather than 500,000 m.
        zone_prefix: bool,
        /// The EPSG code, 4491–4554.
        epsg: u32,
    },
}

/// A coordinate system that could not be understood or a coordinate that could not
/// be reprojected. Each message names what was not understood; the remedy is to
/// reproject the file to CGCS2000 (EPSG:4490 or a CGCS2000 Gauss–Krüger zone) or to
/// declare its EPSG code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CrsError {
    /// An EPSG code outside those supported.
    #[error("EPSG:{code} is not supported; supported are {SUPPORTED_EPSG}")]
    UnsupportedEpsg {
        /// The code asked for.
        code: u32,
    },
    /// Text that names no known coordinate system.
    #[error(
        "{text:?} names no known coordinate system: give an EPSG code such as EPSG:4530, \
         or CGCS2000 or WGS84"
    )]
    UnrecognisedName {
        /// The text as given, trimmed.
        text: String,
    },
    /// WKT that does not parse.
    #[error("the WKT is malformed at character {position}: {reason}")]
    WktSyntax {
        /// Byte offset into the WKT where reading stopped.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// WKT of something other than a geographic or projected coordinate system.
    #[error("the WKT describes a {keyword}, not a geographic or projected coordinate system")]
    UnsupportedWktKind {
        /// The WKT's outermost keyword.
        keyword: String,
    },
    /// Xian 1980 or Beijing 1954: they differ from CGCS2000 by tens of metres, and
    /// converting them needs transformation parameters a file does not carry.
    #[error(
        "the datum {datum:?} is not supported: Xian 1980 and Beijing 1954 differ from \
         CGCS2000 by tens of metres and need datum transformation parameters to convert; \
         reproject the file to CGCS2000 first"
    )]
    DatumNeedsParameters {
        /// The datum's name as the file gives it.
        datum: String,
    },
    /// A datum other than CGCS2000, WGS-84, Xian 1980 and Beijing 1954.
    #[error("the datum {datum:?} is not supported: only CGCS2000 and WGS 84 are")]
    UnknownDatum {
        /// The datum's name as the file gives it.
        datum: String,
    },
    /// A projection other than Gauss–Krüger (transverse Mercator).
    #[error("the projection {name:?} is not supported: only Gauss-Kruger (transverse Mercator) is")]
    UnsupportedProjection {
        /// The projection's name as the file gives it.
        name: String,
    },
    /// A projected WKT without a parameter the zone depends on.
    #[error("the WKT lacks the {parameter} of its projection")]
    MissingParameter {
        /// Which parameter.
        parameter: &'static str,
    },
    /// A parameter with a value no CGCS2000 Gauss–Krüger zone has.
    #[error(
        "the {parameter} {value} is not supported: CGCS2000 Gauss-Kruger zones have {expected}"
    )]
    UnsupportedParameter {
        /// Which parameter.
        parameter: &'static str,
        /// Its value as the file gives it.
        value: String,
        /// What every supported zone has instead.
        expected: &'static str,
    },
    /// A central meridian and false easting that match no CGCS2000 zone.
    #[error(
        "no CGCS2000 Gauss-Kruger zone has central meridian {central_meridian} and false \
         easting {false_easting}; supported are {SUPPORTED_EPSG}"
    )]
    NoSuchZone {
        /// Degrees east, as the file gives it.
        central_meridian: String,
        /// Metres, as the file gives it.
        false_easting: String,
    },
    /// proj4rs refused a projection definition; a bug here rather than in the data.
    #[error("proj4rs cannot set up {definition:?}: {reason}")]
    Setup {
        /// The PROJ string.
        definition: String,
        /// proj4rs's message.
        reason: String,
    },
    /// A coordinate that cannot be reprojected.
    #[error("cannot reproject ({x}, {y}) from EPSG:{epsg} to WGS-84: {reason}")]
    Reprojection {
        /// The system the coordinate was declared in.
        epsg: u32,
        /// Its x (easting or longitude) as given.
        x: String,
        /// Its y (northing or latitude) as given.
        y: String,
        /// Why not.
        reason: String,
    },
}

impl Crs {
    /// The coordinate system of an EPSG code: 4326, 4490, or a CGCS2000 Gauss–Krüger
    /// zone 4491–4554 (4491–4501 6-degree with zone prefix, 4502–4512 6-degree without,
    /// 4513–4533 3-degree with, 4534–4554 3-degree without).
    ///
    /// # Errors
    /// [`CrsError::UnsupportedEpsg`] for any other code.
    pub fn from_epsg(code: u32) -> Result<Crs, CrsError> {
        // (first code, zone width, first zone, zone prefix) of each run of 11 or 21 codes.
        let (first, zone_width, first_zone, zone_prefix) = match code {
            4326 | 4490 => return Ok(Crs::Geographic { epsg: code }),
            4491..=4501 => (4491, 6, 13, true),
            4502..=4512 => (4502, 6, 13, false),
            4513..=4533 => (4513, 3, 25, true),
            4534..=4554 => (4534, 3, 25, false),
            _ => return Err(CrsError::UnsupportedEpsg { code }),
        };
        let zone = first_zone + (code - first);
        let central_meridian = if zone_width == 6 {
            f64::from(zone * 6 - 3)
        } else {
            f64::from(zone * 3)
        };
        Ok(Crs::GaussKruger {
            central_meridian,
            zone_width,
            zone_prefix,
            epsg: code,
        })
    }

    /// The coordinate system a user names: `EPSG:4530`, `epsg:4530`, `4530`, `CGCS2000`,
    /// `WGS84` (spaces, hyphens and underscores ignored), or WKT.
    ///
    /// # Errors
    /// [`CrsError::UnrecognisedName`] for other text, and the errors of
    /// [`Crs::from_epsg`] and [`Crs::from_wkt`].
    pub fn from_user(text: &str) -> Result<Crs, CrsError> {
        let text = text.trim();
        if text.contains('[') {
            return Crs::from_wkt(text);
        }
        let unrecognised = || CrsError::UnrecognisedName {
            text: text.to_owned(),
        };
        let code = match text.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("EPSG:") => text[5..].trim(),
            _ => text,
        };
        if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
            return code
                .parse()
                .map_err(|_| unrecognised())
                .and_then(Crs::from_epsg);
        }
        let key: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "cgcs2000" | "china2000" | "国家2000" | "2000国家大地坐标系" => {
                Crs::from_epsg(4490)
            }
            "wgs84" | "wgs1984" => Crs::from_epsg(4326),
            _ => Err(unrecognised()),
        }
    }

    /// The coordinate system a `.prj` file or a `GeoPackage` declares, as WKT.
    ///
    /// # Algorithm
    /// 1. Parse the WKT (OGC WKT1, Esri WKT, and WKT2's keywords).
    /// 2. A supported EPSG code on the outermost element (`AUTHORITY["EPSG","4530"]`,
    ///    `ID["EPSG",4530]`) decides.
    /// 3. Otherwise, as Esri WKT carries no code: the datum must be CGCS2000 or WGS 84 (by
    ///    the names of the geographic system, datum and spheroid); a geographic system is
    ///    then EPSG:4490 or 4326, and a projected one must be Gauss–Krüger or transverse
    ///    Mercator with scale 1, false northing 0, latitude of origin 0 and metres, whose
    ///    central meridian and false easting pick the zone.
    ///
    /// Axis order declarations are ignored: files store the easting first whatever the
    /// EPSG definition says (GDAL's "traditional GIS order").
    ///
    /// # Errors
    /// [`CrsError::WktSyntax`] for malformed text, [`CrsError::DatumNeedsParameters`] for
    /// Xian 1980 and Beijing 1954, and the other [`CrsError`] variants naming the datum,
    /// projection or parameter that does not fit.
    pub fn from_wkt(wkt: &str) -> Result<Crs, CrsError> {
        let root = WktNode::parse(wkt.trim_start_matches('\u{feff}').trim())?;
        let geographic = matches!(
            root.keyword.as_str(),
            "GEOGCS" | "GEOGCRS" | "GEODCRS" | "GEOGRAPHICCRS" | "GEODETICCRS"
        );
        let projected = matches!(root.keyword.as_str(), "PROJCS" | "PROJCRS" | "PROJECTEDCRS");
        if !geographic && !projected {
            return Err(CrsError::UnsupportedWktKind {
                keyword: root.keyword,
            });
        }
        if let Some(code) = root.epsg_code()
            && let Ok(crs) = Crs::from_epsg(code)
        {
            return Ok(crs);
        }
        let datum = datum_of(&root)?;
        if geographic {
            return Ok(Crs::Geographic {
                epsg: datum.geographic_epsg(),
            });
        }
        gauss_kruger_from_wkt(&root)
    }

    /// Guesses the coordinate system of a file that declares none, from a sample of its
    /// coordinates (pairs beyond the shorter slice and non-finite values are ignored).
    ///
    /// # Returns
    /// - [`Crs::Geographic`] 4490 when every pair looks like lon/lat (|x| ≤ 180, |y| ≤ 90);
    /// - the Gauss–Krüger zone with prefix when every easting carries the same zone number
    ///   in its millions (13–23: 6-degree, 25–45: 3-degree), the rest lies within 400 km
    ///   of the central meridian and northings lie in China's range: 41\_512\_345.6 is
    ///   3-degree zone 41, EPSG:4529;
    /// - `None` otherwise, for example for eastings without a zone prefix (512\_345),
    ///   whose zone cannot be known, or samples from several zones.
    ///
    /// # Units
    /// Degrees or metres, as stored in the file.
    #[must_use]
    pub fn infer(sample_x: &[f64], sample_y: &[f64]) -> Option<Crs> {
        let pairs: Vec<(f64, f64)> = sample_x
            .iter()
            .zip(sample_y)
            .map(|(&x, &y)| (x, y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let (&(first_x, _), _) = pairs.split_first()?;
        if pairs
            .iter()
            .all(|(x, y)| x.abs() <= 180.0 && y.abs() <= 90.0)
        {
            return Some(Crs::Geographic { epsg: 4490 });
        }
        let zone = zone_of_prefixed_easting(first_x)?;
        let same_zone = pairs.iter().all(|&(x, y)| {
            zone_of_prefixed_easting(x) == Some(zone) && CHINA_NORTHINGS_M.contains(&y)
        });
        if !same_zone {
            return None;
        }
        match zone {
            13..=23 => Crs::from_epsg(4491 + zone - 13).ok(),
            25..=45 => Crs::from_epsg(4513 + zone - 25).ok(),
            _ => None,
        }
    }

    /// The EPSG code.
    #[must_use]
    pub fn epsg(&self) -> u32 {
        match self {
            Crs::Geographic { epsg } | Crs::GaussKruger { epsg, .. } => *epsg,
        }
    }

    /// The zone number of a Gauss–Krüger system (3-degree: central meridian / 3;
    /// 6-degree: (central meridian + 3) / 6), `None` for lon/lat.
    #[must_use]
    pub fn zone(&self) -> Option<u32> {
        match self {
            Crs::Geographic { .. } => None,
            Crs::GaussKruger {
                central_meridian,
                zone_width: 6,
                ..
            } => Some(((central_meridian + 3.0) / 6.0).round() as u32),
            Crs::GaussKruger {
                central_meridian, ..
            } => Some((central_meridian / 3.0).round() as u32),
        }
    }

    /// The false easting: 500,000 m, plus the zone number × 1,000,000 m with a zone
    /// prefix; 0 for lon/lat.
    ///
    /// # Units
    /// Metres.
    #[must_use]
    pub fn false_easting(&self) -> f64 {
        match (self, self.zone()) {
            (
                Crs::GaussKruger {
                    zone_prefix: true, ..
                },
                Some(zone),
            ) => f64::from(zone) * ZONE_PREFIX_M + ZONE_FALSE_EASTING_M,
            (Crs::GaussKruger { .. }, _) => ZONE_FALSE_EASTING_M,
            (Crs::Geographic { .. }, _) => 0.0,
        }
    }

    /// The PROJ.4 definition, as `gdalsrsinfo -o proj4 EPSG:N` prints it.
    #[must_use]
    pub fn proj4(&self) -> String {
        match self {
            Crs::Geographic { epsg: 4326 } => "+proj=longlat +datum=WGS84 +no_defs".to_owned(),
            Crs::Geographic { .. } => LONLAT_GRS80.to_owned(),
            Crs::GaussKruger {
                central_meridian, ..
            } => format!(
                "+proj=tmerc +lat_0=0 +lon_0={central_meridian} +k=1 +x_0={} +y_0=0 \
                 +ellps=GRS80 +units=m +no_defs",
                self.false_easting()
            ),
        }
    }

    /// A description for users, e.g. "CGCS2000 3度带高斯-克吕格投影 第41带（中央经线123°E，
    /// 带号前缀）EPSG:4529" or "CGCS2000 地理坐标 EPSG:4490".
    #[must_use]
    pub fn describe_zh(&self) -> String {
        match self {
            Crs::Geographic { epsg: 4326 } => "WGS-84 地理坐标 EPSG:4326".to_owned(),
            Crs::Geographic { epsg } => format!("CGCS2000 地理坐标 EPSG:{epsg}"),
            Crs::GaussKruger {
                central_meridian,
                zone_width,
                zone_prefix,
                epsg,
            } => format!(
                "CGCS2000 {zone_width}度带高斯-克吕格投影 第{}带（中央经线{central_meridian}°E，{}）EPSG:{epsg}",
                self.zone().unwrap_or_default(),
                if *zone_prefix {
                    "带号前缀"
                } else {
                    "无带号前缀"
                },
            ),
        }
    }

    /// Sets up the conversion to WGS-84 once, for converting many coordinates.
    ///
    /// # Errors
    /// [`CrsError::Setup`] if proj4rs refuses the definition, which would be a bug.
    pub fn reprojector(&self) -> Result<Reprojector, CrsError> {
        let projections = match self {
            Crs::Geographic { .. } => None,
            Crs::GaussKruger { .. } => Some((proj(&self.proj4())?, proj(LONLAT_GRS80)?)),
        };
        Ok(Reprojector {
            epsg: self.epsg(),
            false_easting: self.false_easting(),
            projections,
        })
    }

    /// Reprojects a shape in place to WGS-84 lon/lat; lon/lat systems leave it unchanged.
    /// The projection is set up once for the whole shape.
    ///
    /// # Units
    /// The file's units (metres or degrees) in, degrees out.
    ///
    /// # Errors
    /// [`CrsError::Reprojection`] naming the first coordinate that fails; the shape is
    /// then left as it was.
    pub fn to_wgs84(&self, mp: &mut MultiPolygon<f64>) -> Result<(), CrsError> {
        if matches!(self, Crs::Geographic { .. }) {
            return Ok(());
        }
        let reprojector = self.reprojector()?;
        // Into a copy, so that a failure halfway leaves no half-converted shape behind.
        *mp = mp.try_map_coords(|c| {
            reprojector
                .point_to_wgs84(c.x, c.y)
                .map(|(x, y)| Coord { x, y })
        })?;
        Ok(())
    }

    /// Reprojects one coordinate to WGS-84 lon/lat. For many, use [`Crs::reprojector`].
    ///
    /// # Units
    /// The file's units (metres or degrees) in, degrees out.
    ///
    /// # Errors
    /// [`CrsError::Reprojection`] naming the coordinate.
    pub fn point_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        self.reprojector()?.point_to_wgs84(x, y)
    }
}

/// A [`Crs`] made ready to convert coordinates to WGS-84: the proj4rs projections are
/// set up once here rather than for every vertex.
#[derive(Debug, Clone)]
pub struct Reprojector {
    epsg: u32,
    false_easting: f64,
    /// From the Gauss–Krüger zone to GRS80 lon/lat; `None` for lon/lat systems.
    projections: Option<(Proj, Proj)>,
}

impl Reprojector {
    /// Reprojects one coordinate to WGS-84 lon/lat; lon/lat systems return it unchanged.
    ///
    /// # Units
    /// The file's units (metres or degrees) in, degrees out.
    ///
    /// # Errors
    /// [`CrsError::Reprojection`] naming the coordinate: not finite, more than
    /// 3,000 km from the central meridian (the sign of a zone prefix missing or added),
    /// or refused by proj4rs.
    pub fn point_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let Some((from, to)) = &self.projections else {
            return Ok((x, y));
        };
        let fail = |reason: String| CrsError::Reprojection {
            epsg: self.epsg,
            x: x.to_string(),
            y: y.to_string(),
            reason,
        };
        if !x.is_finite() || !y.is_finite() {
            return Err(fail("it is not a finite number".to_owned()));
        }
        let offset = x - self.false_easting;
        if offset.abs() > MAX_OFFSET_FROM_MERIDIAN_M {
            return Err(fail(format!(
                "the easting lies {:.0} km from the zone's central meridian (false easting \
                 {}): is the zone number missing from the eastings, or the wrong zone declared?",
                offset.abs() / 1000.0,
                self.false_easting
            )));
        }
        let mut point = (x, y, 0.0);
        proj4rs::transform::transform(from, to, &mut point).map_err(|e| fail(e.to_string()))?;
        // proj4rs works in radians.
        let (lon, lat) = (point.0.to_degrees(), point.1.to_degrees());
        if !lon.is_finite() || !lat.is_finite() || lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(fail(format!(
                "the result ({lon}, {lat}) is not a longitude/latitude"
            )));
        }
        Ok((lon, lat))
    }
}

/// Sets up a proj4rs projection.
fn proj(definition: &str) -> Result<Proj, CrsError> {
    Proj::from_proj_string(definition).map_err(|e| CrsError::Setup {
        definition: definition.to_owned(),
        reason: e.to_string(),
    })
}

/// The zone number carried in the millions of an easting with a zone prefix, if the
/// remainder lies within 400 km of the false easting (a 6-degree zone is at most about
/// 334 km wide on either side of its meridian).
fn zone_of_prefixed_easting(x: f64) -> Option<u32> {
    let zone = (x / ZONE_PREFIX_M).floor();
    let rest = x - zone * ZONE_PREFIX_M;
    ((1.0..=99.0).contains(&zone) && (rest - ZONE_FALSE_EASTING_M).abs() <= 400_000.0)
        .then_some(zone as u32)
}

/// The datums a boundary file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datum {
    Cgcs2000,
    Wgs84,
}

impl Datum {
    fn geographic_epsg(self) -> u32 {
        match self {
            Datum::Cgcs2000 => 4490,
            Datum::Wgs84 => 4326,
        }
    }
}

/// Lower-case ASCII letters and digits only, so that `GCS_China_Geodetic_Coordinate_System_2000`,
/// `China Geodetic Coordinate System 2000` and `Xi'an 1980` compare by their words.
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The datum of a WKT coordinate system, judged by the names of the system, its
/// geographic base, datum and spheroid, since Esri WKT carries no codes.
fn datum_of(root: &WktNode) -> Result<Datum, CrsError> {
    let datum = root.find(&["DATUM", "GEODETICDATUM", "ENSEMBLE", "TRF"]);
    let names: Vec<&str> = [
        Some(root),
        root.find(&["GEOGCS", "BASEGEOGCRS", "BASEGEODCRS"]),
        datum,
        root.find(&["SPHEROID", "ELLIPSOID"]),
    ]
    .into_iter()
    .flatten()
    .map(WktNode::name)
    .collect();
    let keys: Vec<String> = names.iter().map(|n| squash(n)).collect();
    let any = |words: &[&str]| keys.iter().any(|k| words.iter().any(|w| k.contains(w)));
    let shown = datum.map_or_else(|| root.name(), WktNode::name).to_owned();
    // The refusals come first: a system named after CGCS2000 on a Xian 1980 datum must
    // not pass.
    if any(&["xian", "iag1975", "beijing", "krasovsky", "krassowsky"]) {
        return Err(CrsError::DatumNeedsParameters { datum: shown });
    }
    if any(&["cgcs2000", "china2000", "chinageodeticcoordinatesystem2000"]) {
        Ok(Datum::Cgcs2000)
    } else if any(&["wgs84", "wgs1984", "worldgeodeticsystem1984"]) {
        Ok(Datum::Wgs84)
    } else {
        Err(CrsError::UnknownDatum { datum: shown })
    }
}

/// The Gauss–Krüger zone of a projected WKT without a usable EPSG code.
fn gauss_kruger_from_wkt(root: &WktNode) -> Result<Crs, CrsError> {
    let method = root
        .find(&["PROJECTION", "METHOD"])
        .ok_or(CrsError::MissingParameter {
            parameter: "PROJECTION",
        })?
        .name();
    if !matches!(
        squash(method).as_str(),
        "gausskruger" | "transversemercator"
    ) {
        return Err(CrsError::UnsupportedProjection {
            name: method.to_owned(),
        });
    }
    let mut parameters = Vec::new();
    root.find_all("PARAMETER", &mut parameters);
    let parameter = |aliases: &[&str]| {
        parameters
            .iter()
            .find(|p| aliases.contains(&squash(p.name()).as_str()))
            .and_then(|p| p.first_number())
    };
    let checks: [(&'static str, &[&str], f64, &'static str); 3] = [
        (
            "scale factor",
            &["scalefactor", "scalefactoratnaturalorigin"],
            1.0,
            "scale factor 1",
        ),
        (
            "false northing",
            &["falsenorthing"],
            0.0,
            "false northing 0",
        ),
        (
            "latitude of origin",
            &["latitudeoforigin", "latitudeofnaturalorigin"],
            0.0,
            "latitude of origin 0",
        ),
    ];
    for (name, aliases, expected_value, expected) in checks {
        if let Some(value) = parameter(aliases)
            && (value - expected_value).abs() > 1e-9
        {
            return Err(CrsError::UnsupportedParameter {
                parameter: name,
                value: value.to_string(),
                expected,
            });
        }
    }
    let mut units = Vec::new();
    root.find_all("LENGTHUNIT", &mut units);
    units.extend(root.child("UNIT"));
    if let Some(factor) = units
        .iter()
        .filter_map(|u| u.first_number())
        .find(|f| (f - 1.0).abs() > 1e-9)
    {
        return Err(CrsError::UnsupportedParameter {
            parameter: "linear unit",
            value: format!("{factor} m"),
            expected: "metres",
        });
    }
    let central_meridian = parameter(&[
        "centralmeridian",
        "longitudeofnaturalorigin",
        "longitudeoforigin",
    ])
    .ok_or(CrsError::MissingParameter {
        parameter: "central meridian",
    })?;
    let false_easting = parameter(&["falseeasting"]).ok_or(CrsError::MissingParameter {
        parameter: "false easting",
    })?;
    zone_of(central_meridian, false_easting, root.name())
}

/// The CGCS2000 zone with this central meridian and false easting. Without a zone
/// prefix a meridian such as 117°E is both a 3-degree and a 6-degree zone, which
/// project identically and differ only in their EPSG code, so the name decides
/// (`3_Degree` or `3-degree` in it: 3-degree; another Gauss–Krüger name: 6-degree),
/// and 3-degree, the survey's usual system, when the name says neither.
fn zone_of(central_meridian: f64, false_easting: f64, name: &str) -> Result<Crs, CrsError> {
    let mut candidates: Vec<Crs> = (4491..=4554)
        .filter_map(|code| Crs::from_epsg(code).ok())
        .filter(|c| match c {
            Crs::GaussKruger {
                central_meridian: m,
                ..
            } => {
                (m - central_meridian).abs() < 1e-9
                    && (c.false_easting() - false_easting).abs() < 1e-3
            }
            Crs::Geographic { .. } => false,
        })
        .collect();
    if candidates.len() > 1 {
        let key = squash(name);
        let six = key.contains("6degree")
            || (!key.contains("3degree") && (key.contains("gk") || key.contains("gauss")));
        let width = if six { 6 } else { 3 };
        candidates
            .retain(|c| matches!(c, Crs::GaussKruger { zone_width, .. } if *zone_width == width));
    }
    candidates
        .into_iter()
        .next()
        .ok_or_else(|| CrsError::NoSuchZone {
            central_meridian: central_meridian.to_string(),
            false_easting: false_easting.to_string(),
        })
}

/// How deep WKT may nest. Real definitions stay under 8 levels; the cap keeps a hostile
/// file from exhausting the stack.
const MAX_WKT_DEPTH: usize = 32;

/// One WKT element, `KEYWORD[child, …]` (or with round brackets), or a bare word such as
/// `NORTH`.
#[derive(Debug)]
struct WktNode {
    /// Upper case.
    keyword: String,
    children: Vec<WktItem>,
}

/// A child of a WKT element.
#[derive(Debug)]
enum WktItem {
    Node(WktNode),
    Text(String),
    Number(f64),
}

impl WktNode {
    /// Parses a whole WKT text.
    fn parse(text: &str) -> Result<WktNode, CrsError> {
        let mut parser = WktParser { text, pos: 0 };
        let node = parser.node(0)?;
        parser.skip_whitespace();
        if parser.pos == text.len() {
            Ok(node)
        } else {
            Err(parser.error("unexpected text after the end"))
        }
    }

    /// The first quoted string, which WKT uses as the element's name; "" if none.
    fn name(&self) -> &str {
        self.children
            .iter()
            .find_map(|c| match c {
                WktItem::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    fn first_number(&self) -> Option<f64> {
        self.children.iter().find_map(|c| match c {
            WktItem::Number(n) => Some(*n),
            _ => None,
        })
    }

    fn nodes(&self) -> impl Iterator<Item = &WktNode> {
        self.children.iter().filter_map(|c| match c {
            WktItem::Node(n) => Some(n),
            _ => None,
        })
    }

    /// The first direct child with this keyword.
    fn child(&self, keyword: &str) -> Option<&WktNode> {
        self.nodes().find(|n| n.keyword == keyword)
    }

    /// The first element, depth first, with one of these keywords.
    fn find(&self, keywords: &[&str]) -> Option<&WktNode> {
        self.nodes().find_map(|n| {
            if keywords.contains(&n.keyword.as_str()) {
                Some(n)
            } else {
                n.find(keywords)
            }
        })
    }

    /// Every element, depth first, with this keyword.
    fn find_all<'a>(&'a self, keyword: &str, out: &mut Vec<&'a WktNode>) {
        for n in self.nodes() {
            if n.keyword == keyword {
                out.push(n);
            } else {
                n.find_all(keyword, out);
            }
        }
    }

    /// The EPSG code on this element itself (`AUTHORITY["EPSG","4530"]` in WKT1,
    /// `ID["EPSG",4530]` in WKT2), not on the elements inside it.
    fn epsg_code(&self) -> Option<u32> {
        let id = self.nodes().find(|n| {
            matches!(n.keyword.as_str(), "AUTHORITY" | "ID")
                && n.name().eq_ignore_ascii_case("EPSG")
        })?;
        match id.children.get(1)? {
            WktItem::Text(code) => code.trim().parse().ok(),
            WktItem::Number(code) if code.fract() == 0.0 && *code > 0.0 => Some(*code as u32),
            _ => None,
        }
    }
}

/// A recursive-descent reader of WKT's bracket syntax.
struct WktParser<'a> {
    text: &'a str,
    /// Byte offset; it only ever stops on ASCII characters, so slicing is safe.
    pos: usize,
}

impl WktParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn error(&self, reason: &'static str) -> CrsError {
        CrsError::WktSyntax {
            position: self.pos,
            reason,
        }
    }

    fn node(&mut self, depth: usize) -> Result<WktNode, CrsError> {
        if depth > MAX_WKT_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.skip_whitespace();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a keyword"));
        }
        let keyword = self.text[start..self.pos].to_ascii_uppercase();
        self.skip_whitespace();
        let close = match self.peek() {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => {
                return Ok(WktNode {
                    keyword,
                    children: Vec::new(),
                });
            }
        };
        self.pos += 1;
        let mut children = Vec::new();
        loop {
            children.push(self.item(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(WktNode { keyword, children });
                }
                _ => return Err(self.error("expected a comma or the closing bracket")),
            }
        }
    }

    fn item(&mut self, depth: usize) -> Result<WktItem, CrsError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(c) if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.') => self.number(),
            Some(_) => self.node(depth + 1).map(WktItem::Node),
            None => Err(self.error("unexpected end of text")),
        }
    }

    fn quoted(&mut self) -> Result<WktItem, CrsError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(end) = rest.find('"') else {
                return Err(self.error("unterminated string"));
            };
            out.push_str(&rest[..end]);
            self.pos += end + 1;
            // WKT writes a quote inside a string as two.
            if self.peek() == Some(b'"') {
                out.push('"');
                self.pos += 1;
            } else {
                return Ok(WktItem::Text(out));
            }
        }
    }

    fn number(&mut self) -> Result<WktItem, CrsError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.pos += 1;
        }
        self.text[start..self.pos]
            .parse()
            .map(WktItem::Number)
            .map_err(|_| CrsError::WktSyntax {
                position: start,
                reason: "malformed number",
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// Metres per degree of latitude, near enough for error bounds.
    const M_PER_DEG: f64 = 111_000.0;

    #[test]
    fn points_outside_china_are_unchanged() {
        let paris = LonLat::new(2.35, 48.85);
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn the_offset_in_xinbin_is_a_few_hundred_metres() {
        // The shift is the point of GCJ-02: in Liaoning it is a few hundred metres,
        // mostly eastward and northward.
        let w = LonLat::new(125.04, 41.73);
        let g = wgs84_to_gcj02(w);
        let d_east = (g.lon - w.lon) * M_PER_DEG * w.lat.to_radians().cos();
        let d_north = (g.lat - w.lat) * M_PER_DEG;
        assert!((300.0..900.0).contains(&d_east), "east {d_east}");
        assert!((-100.0..400.0).contains(&d_north), "north {d_north}");
    }

    #[test]
    fn gcj02_inverse_is_within_half_a_millimetre_across_the_county() {
        for i in 0..=20 {
            for j in 0..=20 {
                let w = LonLat::new(124.3 + f64::from(i) * 0.06, 41.2 + f64::from(j) * 0.04);
                let back = gcj02_to_wgs84(wgs84_to_gcj02(w));
                assert_abs_diff_eq!(back.lon, w.lon, epsilon = 5e-4 / M_PER_DEG);
                assert_abs_diff_eq!(back.lat, w.lat, epsilon = 5e-4 / M_PER_DEG);
            }
        }
    }

    #[test]
    fn bd09_round_trips_through_every_system() {
        let w = LonLat::new(124.8, 41.7);
        let b = convert(w, domain::Crs::Wgs84, domain::Crs::Bd09);
        assert!((b.lon - w.lon).abs() > 0.005, "BD-09 adds a visible shift");
        let back = convert(b, domain::Crs::Bd09, domain::Crs::Wgs84);
        // bd09_to_gcj02 is itself an approximation of about 1e-6 degrees.
        assert_abs_diff_eq!(back.lon, w.lon, epsilon = 2e-6);
        assert_abs_diff_eq!(back.lat, w.lat, epsilon = 2e-6);
    }

    // Boundary-file coordinate systems, checked against GDAL run at test time: its
    // `gdalsrsinfo`, `gdaltransform` and `ogr2ogr` are an implementation independent of
    // proj4rs and of the tables above.

    use geo::{Distance, Geodesic, Point, coord};

    /// Places in Liaoning, Henan and Jiangsu, WGS-84 lon/lat.
    const PROBES: [(f64, f64); 3] = [(124.9, 41.7), (113.8, 34.0), (119.2, 34.6)];

    /// The codes round-tripped through `gdaltransform`.
    const ROUND_TRIPPED: [u32; 11] = [
        4490, 4326, 4526, 4527, 4528, 4529, 4530, 4549, 4551, 4499, 4509,
    ];

    /// Runs a GDAL program with `input` on its standard input and returns its output.
    fn gdal(program: &str, args: &[&str], input: &str) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} must be installed (apt: gdal-bin): {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// WGS-84 lon/lat projected by `gdaltransform` into EPSG:`epsg`, easting first.
    fn gdal_project(epsg: u32, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let lines: Vec<String> = points.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
        let input = lines.concat();
        let target = format!("EPSG:{epsg}");
        let args = ["-s_srs", "EPSG:4326", "-t_srs", &target, "-output_xy"];
        let out = gdal("gdaltransform", &args, &input);
        let projected: Vec<(f64, f64)> = out
            .lines()
            .map(|line| {
                let v: Vec<f64> = line
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect();
                (v[0], v[1])
            })
            .collect();
        assert_eq!(projected.len(), points.len(), "{out}");
        projected
    }

    /// `gdalsrsinfo -o <format> <srs>`.
    fn gdalsrsinfo(format: &str, srs: &str) -> String {
        gdal("gdalsrsinfo", &["-o", format, srs], "")
            .trim()
            .to_owned()
    }

    fn metres_between(a: (f64, f64), b: (f64, f64)) -> f64 {
        Geodesic.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
    }

    #[test]
    fn codes_outside_the_supported_ranges_are_refused_by_number() {
        for code in [0, 3857, 4489, 4555, 2383, 32651] {
            let err = Crs::from_epsg(code).unwrap_err();
            assert_eq!(err, CrsError::UnsupportedEpsg { code });
            let message = err.to_string();
            assert!(message.contains(&format!("EPSG:{code} ")), "{message}");
            assert!(message.contains("4534-4554"), "{message}");
        }
    }

    #[test]
    fn every_supported_code_has_the_definition_gdal_gives_it() {
        for code in [4326, 4490].into_iter().chain(4491..=4554) {
            let crs = Crs::from_epsg(code).unwrap();
            assert_eq!(crs.epsg(), code);
            assert_eq!(
                crs.proj4(),
                gdalsrsinfo("proj4", &format!("EPSG:{code}")),
                "EPSG:{code}"
            );
        }
    }

    #[test]
    fn points_projected_by_gdal_come_back_within_half_a_metre() {
        for code in ROUND_TRIPPED {
            let crs = Crs::from_epsg(code).unwrap();
            for (probe, (x, y)) in PROBES.iter().zip(gdal_project(code, &PROBES)) {
                let back = crs.point_to_wgs84(x, y).unwrap();
                let error = metres_between(back, *probe);
                assert!(
                    error < 0.5,
                    "EPSG:{code} ({x}, {y}) came back to {back:?}, {error} m from {probe:?}"
                );
            }
        }
    }

    #[test]
    fn a_shape_is_reprojected_vertex_by_vertex() {
        let projected = gdal_project(4529, &PROBES);
        let ring: Vec<_> = projected
            .iter()
            .chain(projected.first())
            .map(|&(x, y)| coord! { x: x, y: y })
            .collect();
        let mut shape = MultiPolygon::new(vec![geo::Polygon::new(ring.into(), vec![])]);
        Crs::from_epsg(4529).unwrap().to_wgs84(&mut shape).unwrap();
        let vertices: Vec<_> = shape.0[0].exterior().points().map(Point::x_y).collect();
        assert_eq!(vertices.len(), PROBES.len() + 1);
        for (v, probe) in vertices.iter().zip(PROBES.iter().chain(PROBES.first())) {
            assert!(metres_between(*v, *probe) < 0.5, "{v:?} vs {probe:?}");
        }
        // Lon/lat is left exactly as it is.
        let before = shape.clone();
        Crs::from_epsg(4490).unwrap().to_wgs84(&mut shape).unwrap();
        assert_eq!(shape, before);
    }

    #[test]
    fn a_failed_reprojection_names_the_coordinate_and_leaves_the_shape_alone() {
        let crs = Crs::from_epsg(4529).unwrap();
        // An easting without its zone prefix, declared as a zone with one.
        let ring = vec![
            coord! { x: 41_658_157.0, y: 4_620_060.0 },
            coord! { x: 41_658_257.0, y: 4_620_060.0 },
            coord! { x: 658_257.0, y: 4_620_160.0 },
            coord! { x: 41_658_157.0, y: 4_620_060.0 },
        ];
        let mut shape = MultiPolygon::new(vec![geo::Polygon::new(ring.into(), vec![])]);
        let before = shape.clone();
        let err = crs.to_wgs84(&mut shape).unwrap_err();
        assert!(
            matches!(&err, CrsError::Reprojection { epsg: 4529, x, y, .. } if x == "658257" && y == "4620160"),
            "{err:?}"
        );
        assert!(err.to_string().contains("(658257, 4620160)"), "{err}");
        assert_eq!(shape, before);
        assert!(crs.point_to_wgs84(f64::NAN, 4_620_060.0).is_err());
    }

    #[test]
    fn prj_files_written_by_ogr2ogr_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("village.geojson");
        std::fs::write(
            &source,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},
               "geometry":{"type":"Point","coordinates":[124.9,41.7]}}]}"#,
        )
        .unwrap();
        // 4509 and 4548 share a meridian (117°E) and false easting: only the name tells
        // the 6-degree zone from the 3-degree one.
        for code in [4530, 4551, 4490, 4326, 4529, 4499, 4509, 4548] {
            let shp = dir.path().join(format!("v{code}.shp"));
            let target = format!("EPSG:{code}");
            let args = [
                "-f",
                "ESRI Shapefile",
                "-t_srs",
                &target,
                shp.to_str().unwrap(),
                source.to_str().unwrap(),
            ];
            gdal("ogr2ogr", &args, "");
            let prj = std::fs::read_to_string(shp.with_extension("prj")).unwrap();
            assert!(!prj.contains("AUTHORITY"), "expected Esri WKT: {prj}");
            let crs = Crs::from_wkt(&prj).unwrap_or_else(|e| panic!("{prj}: {e}"));
            assert_eq!(crs.epsg(), code, "{prj}");
        }
    }

    #[test]
    fn ogc_wkt_is_recognised_by_its_authority_or_its_parameters() {
        for code in [4530, 4490, 4509] {
            let srs = format!("EPSG:{code}");
            for format in ["wkt1", "wkt2"] {
                let wkt = gdalsrsinfo(format, &srs);
                assert_eq!(Crs::from_wkt(&wkt).unwrap().epsg(), code, "{wkt}");
            }
            // Without the codes, the parameters and names still decide.
            let mut bare = gdal("gdalsrsinfo", &["--single-line", "-o", "wkt1", &srs], "");
            while let Some(start) = bare.find(",AUTHORITY[") {
                let end = start + bare[start..].find(']').unwrap();
                bare.replace_range(start..=end, "");
            }
            assert!(!bare.contains("AUTHORITY"));
            assert_eq!(
                Crs::from_wkt(&bare)
                    .unwrap_or_else(|e| panic!("{bare}: {e}"))
                    .epsg(),
                code,
                "{bare}"
            );
        }
    }

    #[test]
    fn xian_1980_and_beijing_1954_are_refused_not_taken_for_cgcs2000() {
        for (code, datum) in [
            (2383, "Xian"),
            (4610, "Xian"),
            (2435, "Beijing"),
            (4214, "Beijing"),
        ] {
            let srs = format!("EPSG:{code}");
            for format in ["wkt_esri", "wkt1"] {
                let wkt = gdalsrsinfo(format, &srs);
                let err = Crs::from_wkt(&wkt).unwrap_err();
                assert!(
                    matches!(&err, CrsError::DatumNeedsParameters { datum: d } if d.contains(datum)),
                    "{srs} {format}: {err:?}"
                );
                assert!(err.to_string().contains("not supported"), "{err}");
            }
        }
    }

    #[test]
    fn other_projections_are_refused_naming_what_does_not_fit() {
        let utm = Crs::from_wkt(&gdalsrsinfo("wkt_esri", "EPSG:32651")).unwrap_err();
        assert!(
            matches!(&utm, CrsError::UnsupportedParameter { parameter: "scale factor", value, .. } if value == "0.9996"),
            "{utm:?}"
        );
        let mercator = Crs::from_wkt(&gdalsrsinfo("wkt_esri", "EPSG:3857")).unwrap_err();
        assert!(
            matches!(&mercator, CrsError::UnsupportedProjection { name } if name.contains("Mercator")),
            "{mercator:?}"
        );
        let feet = Crs::from_wkt(&gdalsrsinfo("wkt_esri", "EPSG:2232")).unwrap_err();
        assert!(matches!(feet, CrsError::UnknownDatum { .. }), "{feet:?}");
    }

    #[test]
    fn a_meridian_between_zones_is_no_zone() {
        let wkt = r#"PROJCS["CGCS2000_3_Degree_GK_Zone_42",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",42500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",126.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        assert_eq!(Crs::from_wkt(wkt).unwrap().epsg(), 4530);
        let err = Crs::from_wkt(&wkt.replace("126.0", "124.5")).unwrap_err();
        assert_eq!(
            err,
            CrsError::NoSuchZone {
                central_meridian: "124.5".to_owned(),
                false_easting: "42500000".to_owned()
            }
        );
        let feet = Crs::from_wkt(&wkt.replace(r#"UNIT["Meter",1.0]]"#, r#"UNIT["Foot",0.3048]]"#));
        assert!(
            matches!(
                feet,
                Err(CrsError::UnsupportedParameter {
                    parameter: "linear unit",
                    ..
                })
            ),
            "{feet:?}"
        );
    }

    #[test]
    fn malformed_wkt_is_an_error_not_a_panic() {
        for bad in [
            "",
            "PROJCS[",
            r#"PROJCS["x","#,
            r#"GEOGCS["unterminated]"#,
            r#"GEOGCS["x"] trailing"#,
            "GEOGCS[1.2.3]",
            "[]",
        ] {
            assert!(
                matches!(Crs::from_wkt(bad), Err(CrsError::WktSyntax { .. })),
                "{bad:?}: {:?}",
                Crs::from_wkt(bad)
            );
        }
        let deep = "A[".repeat(10_000);
        assert!(matches!(
            Crs::from_wkt(&deep),
            Err(CrsError::WktSyntax { .. })
        ));
        assert_eq!(
            Crs::from_wkt(r#"VERT_CS["height",VERT_DATUM["x",2005]]"#),
            Err(CrsError::UnsupportedWktKind {
                keyword: "VERT_CS".to_owned()
            })
        );
    }

    #[test]
    fn users_may_name_a_system_by_code_or_name() {
        for (text, code) in [
            ("EPSG:4530", 4530),
            ("epsg:4530", 4530),
            (" EPSG: 4530 ", 4530),
            ("4530", 4530),
            ("CGCS2000", 4490),
            ("cgcs 2000", 4490),
            ("2000国家大地坐标系", 4490),
            ("WGS84", 4326),
            ("WGS-84", 4326),
            ("wgs_1984", 4326),
        ] {
            assert_eq!(Crs::from_user(text).unwrap().epsg(), code, "{text:?}");
        }
        assert_eq!(
            Crs::from_user("EPSG:2383"),
            Err(CrsError::UnsupportedEpsg { code: 2383 })
        );
        assert_eq!(
            Crs::from_user(" Xian 1980 "),
            Err(CrsError::UnrecognisedName {
                text: "Xian 1980".to_owned()
            })
        );
        assert!(Crs::from_user("").is_err());
        assert!(Crs::from_user("EPSG:").is_err());
        assert!(Crs::from_user("99999999999").is_err());
    }

    #[test]
    fn coordinates_reveal_a_zone_prefix_or_lon_lat() {
        assert_eq!(Crs::infer(&[], &[]), None);
        assert_eq!(Crs::infer(&[f64::NAN], &[f64::NAN]), None);
        assert_eq!(
            Crs::infer(&[41_512_345.6], &[4_620_060.5]).map(|c| c.epsg()),
            Some(4529)
        );
        assert_eq!(Crs::infer(&[124.9], &[41.7]).map(|c| c.epsg()), Some(4490));
        assert_eq!(Crs::infer(&[512_345.0], &[4_620_060.5]), None);
        // 6-degree zone 21 (CM 123°E).
        assert_eq!(
            Crs::infer(&[21_512_345.0], &[4_620_060.5]).map(|c| c.epsg()),
            Some(4499)
        );
        // Zone 24 is neither system's; samples from two zones are no one zone.
        assert_eq!(Crs::infer(&[24_512_345.0], &[4_620_060.5]), None);
        assert_eq!(
            Crs::infer(&[41_512_345.0, 42_412_345.0], &[4_620_060.5, 4_620_060.5]),
            None
        );
        // Northings outside China, and x/y swapped, are not guessed at.
        assert_eq!(Crs::infer(&[41_512_345.0], &[9_620_060.5]), None);
        assert_eq!(Crs::infer(&[4_620_060.5], &[41_512_345.0]), None);
        // Points projected by GDAL into each 3-degree zone with a prefix, near its
        // meridian, are recognised.
        for code in 4526..=4530 {
            let meridian = f64::from(3 * (code - 4513 + 25));
            let near = [(meridian + 0.7, 34.0), (meridian - 1.2, 41.0)];
            let (x, y): (Vec<f64>, Vec<f64>) = gdal_project(code, &near).into_iter().unzip();
            assert_eq!(Crs::infer(&x, &y).map(|c| c.epsg()), Some(code));
        }
    }

    #[test]
    fn descriptions_name_the_zone_and_its_meridian() {
        let describe = |code| Crs::from_epsg(code).unwrap().describe_zh();
        assert_eq!(
            describe(4529),
            "CGCS2000 3度带高斯-克吕格投影 第41带（中央经线123°E，带号前缀）EPSG:4529"
        );
        assert_eq!(
            describe(4549),
            "CGCS2000 3度带高斯-克吕格投影 第40带（中央经线120°E，无带号前缀）EPSG:4549"
        );
        assert_eq!(
            describe(4499),
            "CGCS2000 6度带高斯-克吕格投影 第21带（中央经线123°E，带号前缀）EPSG:4499"
        );
        assert_eq!(describe(4490), "CGCS2000 地理坐标 EPSG:4490");
        assert_eq!(describe(4326), "WGS-84 地理坐标 EPSG:4326");
    }
}
