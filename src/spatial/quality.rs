//! Location quality (账实相符): does each household's recorded position fit its
//! register? Seed document 000, item 7, requires an app GPS position for every
//! household; this module says which positions are missing, misplaced, copied, swapped,
//! too coarse or systematically offset, with the evidence for each, and counts them by
//! village and by township.
//!
//! Positions come in the coordinate system the app *declared*. The most damaging error
//! is an app that records GCJ-02 (or BD-09) while declaring WGS-84: every position of a
//! township moves some 500 m, and hundreds of households seem to live in the wrong
//! village. That is detected per village and per township from the share of households
//! inside their registered village under each reading (see [`OffsetRule`]), and
//! households of an offset group are judged after the correction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo::{Coord, LineString, MultiPolygon};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::LonLat;
use super::crs::convert;
use super::index::{AreaIndex, PreparedPolygon};
use crate::domain::{Crs, GpsPoint};

/// One household's registered place and recorded position: the input of
/// [`assess_locations`].
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedHousehold {
    /// The 12-digit code of the village it is registered in (shared by its
    /// households: the snapshot holds one per household).
    pub village_code: Arc<str>,
    /// The 9-digit code of the township it is registered in (shared likewise).
    pub township_code: Arc<str>,
    /// The recorded position, in the system the app declared.
    pub gps: Option<GpsPoint>,
}

/// The kinds of location flag, with their stable codes and Chinese labels.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// 无定位: no position, or one with a NaN or infinite coordinate.
    NoGps,
    /// 县域外: outside the county outline.
    OutsideCounty,
    /// 不在登记村: in the county but not in the village the household is registered in.
    OutsideVillage,
    /// 坐标重复: exactly the same coordinates as at least one other household.
    Duplicate,
    /// 经纬度颠倒: outside the county, but inside it with longitude and latitude exchanged.
    Swapped,
    /// 精度不足: both coordinates have at most 3 decimals (about 100 m or worse).
    Coarse,
    /// 坐标系偏移: the household's village or township recorded in another system than
    /// it declared.
    Offset,
}

impl FlagKind {
    /// Every kind, in declaration order.
    pub const ALL: [FlagKind; 7] = [
        FlagKind::NoGps,
        FlagKind::OutsideCounty,
        FlagKind::OutsideVillage,
        FlagKind::Duplicate,
        FlagKind::Swapped,
        FlagKind::Coarse,
        FlagKind::Offset,
    ];

    /// The stable code used in the store, the API and exports.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::NoGps => "no_gps",
            FlagKind::OutsideCounty => "outside_county",
            FlagKind::OutsideVillage => "outside_village",
            FlagKind::Duplicate => "duplicate",
            FlagKind::Swapped => "swapped",
            FlagKind::Coarse => "coarse",
            FlagKind::Offset => "offset",
        }
    }

    /// The Simplified Chinese label shown to users.
    #[must_use]
    pub fn label_zh(self) -> &'static str {
        match self {
            FlagKind::NoGps => "无定位",
            FlagKind::OutsideCounty => "县域外",
            FlagKind::OutsideVillage => "不在登记村",
            FlagKind::Duplicate => "坐标重复",
            FlagKind::Swapped => "经纬度颠倒",
            FlagKind::Coarse => "精度不足",
            FlagKind::Offset => "坐标系偏移",
        }
    }

    /// Parses a stable code; `None` for anything else.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl std::fmt::Display for FlagKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether a verdict was reached over a village or over a township.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupLevel {
    /// A village (12-digit code).
    Village,
    /// A township (9-digit code).
    Township,
}

/// A flag on one household, with its evidence. Serialized with the flag's code in
/// `code`. Positions are `[lon, lat]` in WGS-84 degrees, distances in metres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LocationFlag {
    /// No usable position.
    NoGps,
    /// Outside the county outline.
    OutsideCounty {
        /// Code of the village whose boundary is nearest (`None` without villages).
        nearest_village: Option<String>,
        /// Distance to that village, metres.
        distance_m: Option<f64>,
    },
    /// In the county, but not in the registered village.
    OutsideVillage {
        /// Code of the village the position lies in, if any.
        found_village: Option<String>,
        /// Code of that village's township.
        found_township: Option<String>,
        /// Distance from the position to the registered village, metres.
        distance_m: Option<f64>,
    },
    /// Shares its exact coordinates with other households.
    Duplicate {
        /// How many households (this one included) have these coordinates.
        group_size: u32,
    },
    /// Longitude and latitude exchanged.
    Swapped {
        /// The position with the two exchanged back, WGS-84.
        swapped: [f64; 2],
        /// The village that position lies in, if any.
        found_village: Option<String>,
    },
    /// At most 3 decimals in both coordinates.
    Coarse {
        /// The larger of the two coordinates' decimal counts (0 to 3).
        decimals: u8,
    },
    /// Recorded in another system than declared, by the verdict of its group.
    Offset {
        /// The system the positions were really recorded in.
        crs: Crs,
        /// Whether the village's own verdict or its township's applied.
        level: GroupLevel,
        /// The corrected position, WGS-84; the other flags judge this position.
        corrected: [f64; 2],
    },
}

impl LocationFlag {
    /// The flag's kind (its code and label).
    #[must_use]
    pub fn kind(&self) -> FlagKind {
        match self {
            LocationFlag::NoGps => FlagKind::NoGps,
            LocationFlag::OutsideCounty { .. } => FlagKind::OutsideCounty,
            LocationFlag::OutsideVillage { .. } => FlagKind::OutsideVillage,
            LocationFlag::Duplicate { .. } => FlagKind::Duplicate,
            LocationFlag::Swapped { .. } => FlagKind::Swapped,
            LocationFlag::Coarse { .. } => FlagKind::Coarse,
            LocationFlag::Offset { .. } => FlagKind::Offset,
        }
    }
}

/// The flags of one household that has at least one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HouseholdFlags {
    /// The household's position in the input slice.
    pub row: u32,
    /// Its flags, in [`FlagKind::ALL`] order.
    pub flags: Vec<LocationFlag>,
}

/// How many households carry each flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlagCounts {
    /// 无定位
    pub no_gps: u64,
    /// 县域外
    pub outside_county: u64,
    /// 不在登记村
    pub outside_village: u64,
    /// 坐标重复
    pub duplicate: u64,
    /// 经纬度颠倒
    pub swapped: u64,
    /// 精度不足
    pub coarse: u64,
    /// 坐标系偏移
    pub offset: u64,
}

impl FlagCounts {
    /// Adds another group's counts to these.
    pub fn merge(&mut self, other: &FlagCounts) {
        self.no_gps += other.no_gps;
        self.outside_county += other.outside_county;
        self.outside_village += other.outside_village;
        self.duplicate += other.duplicate;
        self.swapped += other.swapped;
        self.coarse += other.coarse;
        self.offset += other.offset;
    }

    /// The count of one kind.
    #[must_use]
    pub fn get(&self, kind: FlagKind) -> u64 {
        match kind {
            FlagKind::NoGps => self.no_gps,
            FlagKind::OutsideCounty => self.outside_county,
            FlagKind::OutsideVillage => self.outside_village,
            FlagKind::Duplicate => self.duplicate,
            FlagKind::Swapped => self.swapped,
            FlagKind::Coarse => self.coarse,
            FlagKind::Offset => self.offset,
        }
    }

    /// Adds one household to a kind's count.
    pub fn add(&mut self, kind: FlagKind) {
        let slot = match kind {
            FlagKind::NoGps => &mut self.no_gps,
            FlagKind::OutsideCounty => &mut self.outside_county,
            FlagKind::OutsideVillage => &mut self.outside_village,
            FlagKind::Duplicate => &mut self.duplicate,
            FlagKind::Swapped => &mut self.swapped,
            FlagKind::Coarse => &mut self.coarse,
            FlagKind::Offset => &mut self.offset,
        };
        *slot += 1;
    }
}

/// Location quality of one village or township.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupQuality {
    /// The village's or township's code.
    pub code: String,
    /// Village or township.
    pub level: GroupLevel,
    /// Households registered in it.
    pub households: u64,
    /// Of which with a usable position.
    pub located: u64,
    /// Of which registered in a village the index has a boundary for: the base of the
    /// shares below.
    pub judged: u64,
    /// Of the judged, how many lie in their registered village as declared.
    pub inside_declared: u64,
    /// … and if their raw coordinates were really GCJ-02.
    pub inside_as_gcj02: u64,
    /// … and if their raw coordinates were really BD-09.
    pub inside_as_bd09: u64,
    /// `inside_declared / judged`; `None` when nothing was judged.
    pub share_declared: Option<f64>,
    /// `inside_as_gcj02 / judged`.
    pub share_as_gcj02: Option<f64>,
    /// `inside_as_bd09 / judged`.
    pub share_as_bd09: Option<f64>,
    /// The group's own systematic-offset verdict under the [`OffsetRule`].
    pub offset: Option<Crs>,
    /// For a village under an offset verdict of its township: whether its own
    /// households contradict it, so that it is not applied here.
    pub vetoed: bool,
    /// Households per flag.
    pub flags: FlagCounts,
}

/// The whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Households assessed.
    pub households: u64,
    /// Of which with a usable position.
    pub located: u64,
    /// Households per flag, county-wide.
    pub flags: FlagCounts,
    /// Every household with at least one flag, by ascending row; the others are clean.
    pub flagged: Vec<HouseholdFlags>,
    /// Per registered village code, ascending.
    pub villages: Vec<GroupQuality>,
    /// Per registered township code, ascending.
    pub townships: Vec<GroupQuality>,
}

/// When a group's positions are judged systematically offset.
///
/// A group (village or township) gets the verdict "really X" (X = GCJ-02 or BD-09) when
/// reading its raw coordinates as X instead of as declared
/// 1. is judged on at least `min_located` households,
/// 2. puts at least `min_net` more households inside their registered village than
///    the declared reading does (so that one or two strays cannot decide),
/// 3. at least halves the households outside it (`max_remaining`), and
/// 4. leaves at least `min_share` of them inside.
///
/// If both readings qualify, the one with more households inside wins (GCJ-02 on a
/// tie). A township's verdict applies to each of its villages unless that village is
/// judged on at least `min_located` households and the reading puts at least `min_net`
/// *fewer* of them inside: then the village's own data contradict it (a *veto*).
///
/// # Why these numbers
/// A clean group has about 99 % of households inside. Reading it as GCJ-02 moves every
/// point some 500 m (BD-09 about 1 km), which can only push households out, so no clean
/// group gains. An offset group gains the households within the offset of its far
/// border: in villages several kilometres across with houses clustered in hamlets that
/// is 5–40 %, often well below the 20 points an absolute-gain rule would ask, so the
/// test is relative (halving) with a small absolute floor (`min_net`) instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OffsetRule {
    /// Fewest judged households for a verdict or a veto.
    pub min_located: u64,
    /// Fewest more households inside under the other reading.
    pub min_net: u64,
    /// Largest ratio of households outside after / before the conversion.
    pub max_remaining: f64,
    /// Smallest share inside after the conversion.
    pub min_share: f64,
}

impl OffsetRule {
    /// Default [`OffsetRule::min_located`].
    pub const DEFAULT_MIN_LOCATED: u64 = 10;
    /// Default [`OffsetRule::min_net`].
    pub const DEFAULT_MIN_NET: u64 = 3;
    /// Default [`OffsetRule::max_remaining`].
    pub const DEFAULT_MAX_REMAINING: f64 = 0.5;
    /// Default [`OffsetRule::min_share`].
    pub const DEFAULT_MIN_SHARE: f64 = 0.8;

    /// The verdict for a group judged on `judged` households, of which `inside` lie in
    /// their registered village as declared, `inside_gcj02` as GCJ-02, `inside_bd09`
    /// as BD-09.
    #[must_use]
    pub fn verdict(
        &self,
        judged: u64,
        inside: u64,
        inside_gcj02: u64,
        inside_bd09: u64,
    ) -> Option<Crs> {
        if judged < self.min_located || judged == 0 {
            return None;
        }
        let qualifies = |converted: u64| {
            converted >= inside + self.min_net
                && (judged - converted) as f64 <= self.max_remaining * (judged - inside) as f64
                && converted as f64 >= self.min_share * judged as f64
        };
        match (qualifies(inside_gcj02), qualifies(inside_bd09)) {
            (true, true) if inside_bd09 > inside_gcj02 => Some(Crs::Bd09),
            (true, _) => Some(Crs::Gcj02),
            (false, true) => Some(Crs::Bd09),
            (false, false) => None,
        }
    }

    /// Whether a village's own counts contradict reading it as `crs`.
    #[must_use]
    pub fn vetoes(&self, judged: u64, inside: u64, inside_as_crs: u64) -> bool {
        judged >= self.min_located && inside >= inside_as_crs + self.min_net
    }
}

impl Default for OffsetRule {
    fn default() -> Self {
        Self {
            min_located: Self::DEFAULT_MIN_LOCATED,
            min_net: Self::DEFAULT_MIN_NET,
            max_remaining: Self::DEFAULT_MAX_REMAINING,
            min_share: Self::DEFAULT_MIN_SHARE,
        }
    }
}

/// Per-household facts from the first pass, packed in a byte.
const LOCATED: u8 = 1;
const JUDGED: u8 = 2;
const IN_DECLARED: u8 = 4;
const IN_GCJ02: u8 = 8;
const IN_BD09: u8 = 16;

/// Counts of one group from the first pass.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    households: u64,
    located: u64,
    judged: u64,
    inside: u64,
    inside_gcj02: u64,
    inside_bd09: u64,
}

impl Tally {
    fn add(&mut self, bits: u8) {
        self.households += 1;
        self.located += u64::from(bits & LOCATED != 0);
        self.judged += u64::from(bits & JUDGED != 0);
        self.inside += u64::from(bits & IN_DECLARED != 0);
        self.inside_gcj02 += u64::from(bits & IN_GCJ02 != 0);
        self.inside_bd09 += u64::from(bits & IN_BD09 != 0);
    }

    fn merge(&mut self, other: &Tally) {
        self.households += other.households;
        self.located += other.located;
        self.judged += other.judged;
        self.inside += other.inside;
        self.inside_gcj02 += other.inside_gcj02;
        self.inside_bd09 += other.inside_bd09;
    }

    fn inside_as(&self, crs: Crs) -> u64 {
        match crs {
            Crs::Wgs84 => self.inside,
            Crs::Gcj02 => self.inside_gcj02,
            Crs::Bd09 => self.inside_bd09,
        }
    }
}

/// Distinct codes, sorted, and each household's index among them.
struct Groups<'a> {
    codes: Vec<&'a str>,
    of: Vec<u32>,
}

impl<'a> Groups<'a> {
    /// Households of a village usually come together, so each chunk hashes a code only
    /// when it differs from the previous household's.
    fn new(households: &'a [LocatedHousehold], key: fn(&LocatedHousehold) -> &str) -> Self {
        const CHUNK: usize = 1 << 14;
        let distinct = households
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut set = HashSet::new();
                let mut last = None;
                for h in chunk {
                    let k = key(h);
                    if last != Some(k) {
                        set.insert(k);
                        last = Some(k);
                    }
                }
                set
            })
            .reduce(HashSet::new, |mut a, b| {
                a.extend(b);
                a
            });
        let mut codes: Vec<&str> = distinct.into_iter().collect();
        codes.sort_unstable();
        let id: HashMap<&str, u32> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, i as u32))
            .collect();
        let mut of = vec![0; households.len()];
        of.par_chunks_mut(CHUNK)
            .zip(households.par_chunks(CHUNK))
            .for_each(|(out, chunk)| {
                let mut last: Option<(&str, u32)> = None;
                for (o, h) in out.iter_mut().zip(chunk) {
                    let k = key(h);
                    *o = match last {
                        Some((lk, lid)) if lk == k => lid,
                        _ => {
                            // Every code was collected above, so the lookup cannot miss.
                            let found = id.get(k).copied().unwrap_or(0);
                            last = Some((k, found));
                            found
                        }
                    };
                }
            });
        Self { codes, of }
    }
}

/// A boundary as it appears in each coordinate system: testing raw coordinates against
/// the boundary's image in system X answers "inside if the raw numbers were X" without
/// converting every household's position.
///
/// The images are the boundary's vertices converted from WGS-84, after densifying
/// edges to at most [`MAX_IMAGE_EDGE_DEG`]: the conversions bend straight edges, by
/// under 3 mm at that length (the GCJ-02 offset's curvature is below 5·10³ m per
/// square degree), so an image decides like an exact conversion except within
/// millimetres of a border.
#[derive(Debug)]
struct Images {
    wgs84: PreparedPolygon,
    gcj02: PreparedPolygon,
    bd09: PreparedPolygon,
}

/// Longest boundary edge, in degrees, before the boundary is converted (about 200 m).
const MAX_IMAGE_EDGE_DEG: f64 = 0.002;

impl Images {
    fn new(geometry: &MultiPolygon<f64>) -> Self {
        let image = |to: Crs| {
            let mut converted = geometry.clone();
            for polygon in &mut converted.0 {
                polygon.exterior_mut(|ring| *ring = image_ring(ring, to));
                polygon.interiors_mut(|rings| {
                    for ring in rings {
                        *ring = image_ring(ring, to);
                    }
                });
            }
            PreparedPolygon::new(&converted)
        };
        Self {
            wgs84: PreparedPolygon::new(geometry),
            gcj02: image(Crs::Gcj02),
            bd09: image(Crs::Bd09),
        }
    }

    /// Whether raw coordinates, read as `crs`, lie in the boundary (closed).
    fn contains(&self, raw: LonLat, crs: Crs) -> bool {
        match crs {
            Crs::Wgs84 => self.wgs84.contains(raw),
            Crs::Gcj02 => self.gcj02.contains(raw),
            Crs::Bd09 => self.bd09.contains(raw),
        }
    }
}

/// A ring densified to [`MAX_IMAGE_EDGE_DEG`] and converted from WGS-84 to `to`.
fn image_ring(ring: &LineString<f64>, to: Crs) -> LineString<f64> {
    let mut out = Vec::with_capacity(ring.0.len());
    for w in ring.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        let steps = ((b.x - a.x).hypot(b.y - a.y) / MAX_IMAGE_EDGE_DEG)
            .ceil()
            .clamp(1.0, 1e4) as usize;
        for k in 0..steps {
            let t = k as f64 / steps as f64;
            out.push(LonLat::new(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)));
        }
    }
    out.extend(ring.0.last().map(|c| LonLat::new(c.x, c.y)));
    out.into_iter()
        .map(|p| {
            let q = convert(p, Crs::Wgs84, to);
            Coord { x: q.lon, y: q.lat }
        })
        .collect()
}

/// A usable position: present and finite.
fn usable(gps: Option<&GpsPoint>) -> Option<&GpsPoint> {
    gps.filter(|g| g.lon.is_finite() && g.lat.is_finite())
}

/// The raw coordinates read as `crs`, in WGS-84.
fn read_as(g: &GpsPoint, crs: Crs) -> LonLat {
    convert(LonLat::new(g.lon, g.lat), crs, Crs::Wgs84)
}

/// How many decimals a coordinate has, if at most 3.
///
/// A value typed with d decimals is stored as the nearest double, so `x · 10^d` lies
/// within about 3·10⁻¹¹ of an integer (for |x| ≤ 180 and d ≤ 3). The slack allowed is
/// 10⁻⁹ degrees (0.1 mm) scaled alike: far above that rounding, far below the 10⁻⁷
/// degrees that a seventh decimal leaves.
fn decimals_up_to_3(x: f64) -> Option<u8> {
    (0..=3_u8).find(|&d| {
        let scale = 10_f64.powi(i32::from(d));
        let scaled = x * scale;
        (scaled - scaled.round()).abs() <= 1e-9 * scale
    })
}

/// Rows that share their exact coordinates with another row, with the group size,
/// sorted by row.
///
/// # Algorithm
/// Sort (hash of the coordinate bits, row) pairs in parallel, then split each run of
/// equal hashes by the exact bits, so that a hash collision cannot merge two positions.
/// O(n log n) time, 16 bytes a located household.
fn duplicates(households: &[LocatedHousehold]) -> Vec<(u32, u32)> {
    let bits = |g: &GpsPoint| {
        // -0.0 and 0.0 are the same coordinate.
        ((g.lon + 0.0).to_bits(), (g.lat + 0.0).to_bits())
    };
    let mut keys: Vec<(u64, u32)> = households
        .par_iter()
        .enumerate()
        .filter_map(|(row, h)| {
            usable(h.gps.as_ref()).map(|g| {
                let (x, y) = bits(g);
                let hash = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ y.rotate_left(29))
                    .wrapping_mul(0xD6E8_FEB8_6659_FD93);
                (hash, row as u32)
            })
        })
        .collect();
    keys.par_sort_unstable();
    let coords = |row: u32| households[row as usize].gps.as_ref().map_or((0, 0), bits);
    let mut out = Vec::new();
    let mut start = 0;
    while start < keys.len() {
        let mut end = start + 1;
        while end < keys.len() && keys[end].0 == keys[start].0 {
            end += 1;
        }
        if end - start > 1 {
            let mut run: Vec<((u64, u64), u32)> = keys[start..end]
                .iter()
                .map(|&(_, r)| (coords(r), r))
                .collect();
            run.sort_unstable();
            for same in run.chunk_by(|a, b| a.0 == b.0).filter(|s| s.len() > 1) {
                out.extend(same.iter().map(|&(_, r)| (r, same.len() as u32)));
            }
        }
        start = end;
    }
    out.par_sort_unstable();
    out
}

/// Assesses every household's position with the default [`OffsetRule`]; see
/// [`assess_locations_with`].
///
/// # Units
/// Positions in degrees, in each household's declared system; the county outline in
/// WGS-84 degrees.
///
/// # Examples
/// ```
/// use geo::{MultiPolygon, Rect, coord};
/// use paicha::domain::{Crs, GpsPoint};
/// use paicha::spatial::{AreaIndex, FlagKind, IndexedArea, LocatedHousehold, assess_locations};
///
/// let square = Rect::new(coord! { x: 125.0, y: 41.5 }, coord! { x: 125.1, y: 41.6 }).to_polygon();
/// let county = MultiPolygon::new(vec![square.clone()]);
/// let index = AreaIndex::new(vec![IndexedArea {
///     code: "210422100201".into(),
///     township_code: "210422100".into(),
///     geometry: county.clone(),
/// }]);
/// let at = |lon, lat| LocatedHousehold {
///     village_code: "210422100201".into(),
///     township_code: "210422100".into(),
///     gps: Some(GpsPoint { lon, lat, crs: Crs::Wgs84 }),
/// };
/// let report = assess_locations(&[at(125.051_234_5, 41.551_234_5), at(41.551_234_5, 125.051_234_5)], &index, &county);
/// assert_eq!(report.flagged.len(), 1);
/// assert_eq!(report.flagged[0].row, 1);
/// assert_eq!(report.flagged[0].flags[0].kind(), FlagKind::Swapped);
/// ```
#[must_use]
pub fn assess_locations(
    households: &[LocatedHousehold],
    index: &AreaIndex,
    county: &MultiPolygon<f64>,
) -> QualityReport {
    assess_locations_with(households, index, county, &OffsetRule::default())
}

/// Assesses every household's position (see the module docs).
///
/// # Units
/// Positions in degrees, in each household's declared system; the county outline in
/// WGS-84 degrees; distances in the report in metres.
///
/// # Algorithm
/// 1. Group households by registered village and township code.
/// 2. Convert each registered village's boundary, and the county's, to GCJ-02 and
///    BD-09 (see `Images`).
/// 3. First pass (parallel): for each located household registered in an indexed
///    village, whether its raw coordinates lie in that village read as declared, as
///    GCJ-02 and as BD-09, by testing them against the images: no per-household
///    conversion. Tallied per village and per township.
/// 4. Verdicts per group under `rule`; a household takes its village's verdict, else
///    its township's unless its village vetoes it.
/// 5. Duplicates by sorting hashed coordinate bits (see `duplicates`).
/// 6. Second pass (parallel): each household's flags, judging its position read in the
///    corrected system when its group has a verdict. Outside the county, the swapped
///    reading is tried (in the corrected, then the declared system) before calling it
///    outside. Positions are converted exactly only where evidence reports them.
/// 7. Counts per flag per village, per township and in all.
///
/// O(n log n) for the duplicates, O(n) otherwise: a few point-in-polygon tests per
/// household, so 10 million households take a few seconds on 2 cores. Memory beyond
/// the input: about 30 bytes a household, plus the flagged households' evidence.
///
/// # Notes
/// Households whose registered village has no boundary in the index are never flagged
/// `outside_village` and do not count towards shares. Up to `u32::MAX` rows.
#[must_use]
pub fn assess_locations_with(
    households: &[LocatedHousehold],
    index: &AreaIndex,
    county: &MultiPolygon<f64>,
    rule: &OffsetRule,
) -> QualityReport {
    let villages = Groups::new(households, |h| h.village_code.as_ref());
    let townships = Groups::new(households, |h| h.township_code.as_ref());
    let village_area: Vec<Option<u32>> = villages.codes.iter().map(|c| index.position(c)).collect();
    let village_images: Vec<Option<Images>> = village_area
        .par_iter()
        .map(|a| {
            a.and_then(|a| index.area(a))
                .map(|area| Images::new(&area.geometry))
        })
        .collect();
    let facts = first_pass(households, &villages.of, &village_images);
    let (village_tally, township_tally) = tally(&facts, &villages, &townships);
    let verdict = |t: &Tally| rule.verdict(t.judged, t.inside, t.inside_gcj02, t.inside_bd09);
    let assessor = Assessor {
        households,
        index,
        rule,
        village_of: &villages.of,
        township_of: &townships.of,
        village_area,
        county: Images::new(county),
        village_verdict: village_tally.iter().map(verdict).collect(),
        township_verdict: township_tally.iter().map(verdict).collect(),
        village_tally,
        facts,
        duplicates: duplicates(households),
    };
    let flagged: Vec<HouseholdFlags> = (0..households.len())
        .into_par_iter()
        .with_min_len(PASS_CHUNK)
        .filter_map(|row| assessor.flags(row))
        .collect();
    assessor.report(flagged, &villages, &townships, &township_tally)
}

/// Households per rayon task in the passes over all households.
const PASS_CHUNK: usize = 1 << 12;

/// First pass: what each household's raw coordinates say under each reading.
fn first_pass(
    households: &[LocatedHousehold],
    village_of: &[u32],
    images: &[Option<Images>],
) -> Vec<u8> {
    households
        .par_iter()
        .zip(village_of.par_iter())
        .with_min_len(PASS_CHUNK)
        .map(|(h, &v)| {
            let Some(g) = usable(h.gps.as_ref()) else {
                return 0;
            };
            let Some(images) = &images[v as usize] else {
                return LOCATED;
            };
            let raw = LonLat::new(g.lon, g.lat);
            let bit = |crs: Crs, flag: u8| if images.contains(raw, crs) { flag } else { 0 };
            let as_gcj02 = bit(Crs::Gcj02, IN_GCJ02);
            let as_bd09 = bit(Crs::Bd09, IN_BD09);
            let declared = match g.crs {
                Crs::Wgs84 => bit(Crs::Wgs84, IN_DECLARED),
                Crs::Gcj02 if as_gcj02 != 0 => IN_DECLARED,
                Crs::Bd09 if as_bd09 != 0 => IN_DECLARED,
                Crs::Gcj02 | Crs::Bd09 => 0,
            };
            LOCATED | JUDGED | declared | as_gcj02 | as_bd09
        })
        .collect()
}

/// Tallies the first pass per village and per township.
fn tally(facts: &[u8], villages: &Groups<'_>, townships: &Groups<'_>) -> (Vec<Tally>, Vec<Tally>) {
    let empty = || {
        (
            vec![Tally::default(); villages.codes.len()],
            vec![Tally::default(); townships.codes.len()],
        )
    };
    facts
        .par_chunks(PASS_CHUNK)
        .enumerate()
        .fold(empty, |(mut vt, mut tt), (chunk, bits)| {
            let first = chunk * PASS_CHUNK;
            for (k, &b) in bits.iter().enumerate() {
                vt[villages.of[first + k] as usize].add(b);
                tt[townships.of[first + k] as usize].add(b);
            }
            (vt, tt)
        })
        .reduce(empty, |(mut va, mut ta), (vb, tb)| {
            va.iter_mut().zip(&vb).for_each(|(a, b)| a.merge(b));
            ta.iter_mut().zip(&tb).for_each(|(a, b)| a.merge(b));
            (va, ta)
        })
}

/// Everything the second pass needs.
struct Assessor<'a> {
    households: &'a [LocatedHousehold],
    index: &'a AreaIndex,
    rule: &'a OffsetRule,
    village_of: &'a [u32],
    township_of: &'a [u32],
    village_area: Vec<Option<u32>>,
    county: Images,
    village_tally: Vec<Tally>,
    village_verdict: Vec<Option<Crs>>,
    township_verdict: Vec<Option<Crs>>,
    facts: Vec<u8>,
    duplicates: Vec<(u32, u32)>,
}

impl Assessor<'_> {
    /// Whether village `v`'s own households contradict reading them as `crs`.
    fn vetoes(&self, v: usize, crs: Crs) -> bool {
        let t = &self.village_tally[v];
        self.rule.vetoes(t.judged, t.inside, t.inside_as(crs))
    }

    fn code_of(&self, i: u32) -> Option<String> {
        self.index.area(i).map(|a| a.code.clone())
    }

    /// One household's flags, if it has any.
    fn flags(&self, row: usize) -> Option<HouseholdFlags> {
        let Some(g) = usable(self.households[row].gps.as_ref()) else {
            return Some(HouseholdFlags {
                row: row as u32,
                flags: vec![LocationFlag::NoGps],
            });
        };
        let (v, t) = (
            self.village_of[row] as usize,
            self.township_of[row] as usize,
        );
        let correction = match self.village_verdict[v] {
            Some(crs) => Some((crs, GroupLevel::Village)),
            None => self.township_verdict[t]
                .filter(|&crs| !self.vetoes(v, crs))
                .map(|crs| (crs, GroupLevel::Township)),
        };
        let raw = LonLat::new(g.lon, g.lat);
        let reading = correction.map_or(g.crs, |(crs, _)| crs);
        // Exact conversion only where evidence reports the position.
        let position = || read_as(g, reading);
        let mut flags = Vec::new();
        if self.county.contains(raw, reading) {
            let facts = self.facts[row];
            let in_village = facts & JUDGED == 0
                || facts
                    & match reading {
                        Crs::Wgs84 => IN_DECLARED,
                        Crs::Gcj02 => IN_GCJ02,
                        Crs::Bd09 => IN_BD09,
                    }
                    != 0;
            if !in_village {
                let position = position();
                let found = self.index.locate(position);
                flags.push(LocationFlag::OutsideVillage {
                    found_village: found.and_then(|i| self.code_of(i)),
                    found_township: found
                        .and_then(|i| self.index.area(i))
                        .map(|a| a.township_code.clone()),
                    distance_m: self.village_area[v]
                        .and_then(|a| self.index.distance_m(a, position)),
                });
            }
        } else {
            let exchanged = LonLat::new(g.lat, g.lon);
            if let Some(crs) = [reading, g.crs]
                .into_iter()
                .find(|&crs| self.county.contains(exchanged, crs))
            {
                let p = convert(exchanged, crs, Crs::Wgs84);
                flags.push(LocationFlag::Swapped {
                    swapped: [p.lon, p.lat],
                    found_village: self.index.locate(p).and_then(|i| self.code_of(i)),
                });
            } else {
                let nearest = self.index.nearest_village(position());
                flags.push(LocationFlag::OutsideCounty {
                    nearest_village: nearest.map(|(a, _)| a.code.clone()),
                    distance_m: nearest.map(|(_, d)| d),
                });
            }
        }
        if let Ok(k) = self
            .duplicates
            .binary_search_by_key(&(row as u32), |&(r, _)| r)
        {
            flags.push(LocationFlag::Duplicate {
                group_size: self.duplicates[k].1,
            });
        }
        if let (Some(a), Some(b)) = (decimals_up_to_3(g.lon), decimals_up_to_3(g.lat)) {
            flags.push(LocationFlag::Coarse { decimals: a.max(b) });
        }
        if let Some((crs, level)) = correction {
            let p = position();
            flags.push(LocationFlag::Offset {
                crs,
                level,
                corrected: [p.lon, p.lat],
            });
        }
        if flags.is_empty() {
            return None;
        }
        flags.sort_by_key(LocationFlag::kind);
        Some(HouseholdFlags {
            row: row as u32,
            flags,
        })
    }

    /// Counts the flags per group and assembles the report.
    fn report(
        &self,
        flagged: Vec<HouseholdFlags>,
        villages: &Groups<'_>,
        townships: &Groups<'_>,
        township_tally: &[Tally],
    ) -> QualityReport {
        let mut village_flags = vec![FlagCounts::default(); villages.codes.len()];
        let mut township_flags = vec![FlagCounts::default(); townships.codes.len()];
        let mut totals = FlagCounts::default();
        for f in &flagged {
            let row = f.row as usize;
            for flag in &f.flags {
                village_flags[self.village_of[row] as usize].add(flag.kind());
                township_flags[self.township_of[row] as usize].add(flag.kind());
                totals.add(flag.kind());
            }
        }
        // A village's veto is reported against the township its households are
        // registered in (the last one seen, should the input mix several).
        let mut township_of_village = vec![0_u32; villages.codes.len()];
        for (&v, &t) in self.village_of.iter().zip(self.township_of) {
            township_of_village[v as usize] = t;
        }
        let village_report = villages
            .codes
            .iter()
            .enumerate()
            .map(|(v, code)| {
                let vetoed = self.village_verdict[v].is_none()
                    && self.township_verdict[township_of_village[v] as usize]
                        .is_some_and(|crs| self.vetoes(v, crs));
                group_quality(
                    code,
                    GroupLevel::Village,
                    &self.village_tally[v],
                    self.village_verdict[v],
                    vetoed,
                    village_flags[v],
                )
            })
            .collect();
        let township_report = townships
            .codes
            .iter()
            .enumerate()
            .map(|(t, code)| {
                group_quality(
                    code,
                    GroupLevel::Township,
                    &township_tally[t],
                    self.township_verdict[t],
                    false,
                    township_flags[t],
                )
            })
            .collect();
        QualityReport {
            households: self.households.len() as u64,
            located: self.facts.iter().filter(|&&b| b & LOCATED != 0).count() as u64,
            flags: totals,
            flagged,
            villages: village_report,
            townships: township_report,
        }
    }
}

fn group_quality(
    code: &str,
    level: GroupLevel,
    t: &Tally,
    offset: Option<Crs>,
    vetoed: bool,
    flags: FlagCounts,
) -> GroupQuality {
    let share = |n: u64| (t.judged > 0).then(|| n as f64 / t.judged as f64);
    GroupQuality {
        code: code.to_owned(),
        level,
        households: t.households,
        located: t.located,
        judged: t.judged,
        inside_declared: t.inside,
        inside_as_gcj02: t.inside_gcj02,
        inside_as_bd09: t.inside_bd09,
        share_declared: share(t.inside),
        share_as_gcj02: share(t.inside_gcj02),
        share_as_bd09: share(t.inside_bd09),
        offset,
        vetoed,
        flags,
    }
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "tests compare positions that must come back bit for bit"
)]
mod tests {
    use super::*;
    use crate::spatial::crs::wgs84_to_gcj02;
    use crate::spatial::index::tests::county_index;
    use crate::spatial::{IndexedArea, LonLat};
    use geo::{Distance, Euclidean, Point, Rect, coord};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn household(village: &str, gps: Option<(f64, f64, Crs)>) -> LocatedHousehold {
        LocatedHousehold {
            village_code: village.into(),
            township_code: village[..9].into(),
            gps: gps.map(|(lon, lat, crs)| GpsPoint { lon, lat, crs }),
        }
    }

    fn kinds(report: &QualityReport, row: u32) -> Vec<FlagKind> {
        report
            .flagged
            .iter()
            .find(|f| f.row == row)
            .map(|f| f.flags.iter().map(LocationFlag::kind).collect())
            .unwrap_or_default()
    }

    /// Two 0.1° squares side by side, and a county that is their union.
    fn two_villages() -> (AreaIndex, MultiPolygon<f64>) {
        let square = |code: &str, x0: f64| IndexedArea {
            code: code.into(),
            township_code: code[..9].into(),
            geometry: MultiPolygon::new(vec![
                Rect::new(coord! { x: x0, y: 41.5 }, coord! { x: x0 + 0.1, y: 41.6 }).to_polygon(),
            ]),
        };
        let county =
            Rect::new(coord! { x: 125.0, y: 41.5 }, coord! { x: 125.2, y: 41.6 }).to_polygon();
        (
            AreaIndex::new(vec![
                square("210422100201", 125.0),
                square("210422100202", 125.1),
            ]),
            MultiPolygon::new(vec![county]),
        )
    }

    // Edge cases first.

    #[test]
    fn no_households_give_an_empty_report() {
        let (index, county) = two_villages();
        let report = assess_locations(&[], &index, &county);
        assert_eq!(report.households, 0);
        assert!(
            report.flagged.is_empty() && report.villages.is_empty() && report.townships.is_empty()
        );
        assert_eq!(report.flags, FlagCounts::default());
    }

    #[test]
    fn without_villages_or_outline_everything_is_outside_the_county() {
        let index = AreaIndex::new(vec![]);
        let households = [household(
            "210422100201",
            Some((125.05123, 41.55123, Crs::Wgs84)),
        )];
        let report = assess_locations(&households, &index, &MultiPolygon::new(vec![]));
        assert_eq!(
            report.flagged[0].flags,
            vec![LocationFlag::OutsideCounty {
                nearest_village: None,
                distance_m: None
            }]
        );
        assert_eq!(report.villages[0].judged, 0);
        assert_eq!(report.villages[0].share_declared, None);
    }

    #[test]
    fn missing_and_non_finite_positions_are_no_gps() {
        let (index, county) = two_villages();
        let households = [
            household("210422100201", None),
            household("210422100201", Some((f64::NAN, 41.55, Crs::Wgs84))),
            household(
                "210422100201",
                Some((125.051_234_5, 41.551_234_5, Crs::Wgs84)),
            ),
        ];
        let report = assess_locations(&households, &index, &county);
        assert_eq!(kinds(&report, 0), vec![FlagKind::NoGps]);
        assert_eq!(kinds(&report, 1), vec![FlagKind::NoGps]);
        assert!(kinds(&report, 2).is_empty());
        assert_eq!(
            (report.households, report.located, report.flags.no_gps),
            (3, 1, 2)
        );
    }

    #[test]
    fn a_position_on_the_village_border_fits_both_villages() {
        let (index, county) = two_villages();
        let households = [
            household("210422100201", Some((125.1, 41.551_234_5, Crs::Wgs84))),
            household("210422100202", Some((125.1, 41.551_234_6, Crs::Wgs84))),
            // On the county's outer boundary: inside.
            // (the squares' east edge is at 125.1 + 0.1, one ulp short of 125.2).
            household(
                "210422100202",
                Some((125.1 + 0.1, 41.551_234_7, Crs::Wgs84)),
            ),
        ];
        let report = assess_locations(&households, &index, &county);
        assert!(report.flagged.is_empty(), "{:?}", report.flagged);
    }

    #[test]
    fn a_misplaced_household_reports_where_it_is_and_how_far() {
        let (index, county) = two_villages();
        let households = [household(
            "210422100201",
            Some((125.15, 41.551_234_5, Crs::Wgs84)),
        )];
        let report = assess_locations(&households, &index, &county);
        let LocationFlag::OutsideVillage {
            found_village,
            found_township,
            distance_m,
        } = &report.flagged[0].flags[0]
        else {
            panic!("{:?}", report.flagged);
        };
        assert_eq!(found_village.as_deref(), Some("210422100202"));
        assert_eq!(found_township.as_deref(), Some("210422100"));
        let expected = 0.05 * crate::spatial::METRES_PER_DEGREE * 41.55_f64.to_radians().cos();
        approx::assert_relative_eq!(distance_m.unwrap(), expected, max_relative = 1e-3);
        assert_eq!(report.villages[0].flags.outside_village, 1);
        assert_eq!(report.townships[0].flags.outside_village, 1);
    }

    #[test]
    fn swapped_and_outside_positions_are_told_apart() {
        let (index, county) = two_villages();
        let households = [
            household(
                "210422100201",
                Some((41.551_234_5, 125.051_234_5, Crs::Wgs84)),
            ),
            household("210422100201", Some((123.9, 41.851_234_5, Crs::Wgs84))),
        ];
        let report = assess_locations(&households, &index, &county);
        let LocationFlag::Swapped {
            swapped,
            found_village,
        } = &report.flagged[0].flags[0]
        else {
            panic!("{:?}", report.flagged);
        };
        assert_eq!(*swapped, [125.051_234_5, 41.551_234_5]);
        assert_eq!(found_village.as_deref(), Some("210422100201"));
        let LocationFlag::OutsideCounty {
            nearest_village,
            distance_m,
        } = &report.flagged[1].flags[0]
        else {
            panic!("{:?}", report.flagged);
        };
        assert_eq!(nearest_village.as_deref(), Some("210422100201"));
        assert!(
            (90_000.0..100_000.0).contains(&distance_m.unwrap()),
            "{distance_m:?}"
        );
    }

    #[test]
    fn decimals_are_counted_up_to_three() {
        assert_eq!(decimals_up_to_3(125.0), Some(0));
        assert_eq!(decimals_up_to_3(-0.0), Some(0));
        assert_eq!(decimals_up_to_3(125.1), Some(1));
        assert_eq!(decimals_up_to_3(41.12), Some(2));
        assert_eq!(decimals_up_to_3(41.123), Some(3));
        assert_eq!(decimals_up_to_3(124.999), Some(3));
        assert_eq!(decimals_up_to_3(41.1234), None);
        assert_eq!(decimals_up_to_3(124.123_456_7), None);
        assert_eq!(decimals_up_to_3(124.000_000_1), None);
    }

    #[test]
    fn coarse_needs_both_coordinates_coarse() {
        let (index, county) = two_villages();
        let households = [
            household("210422100201", Some((125.05, 41.551, Crs::Wgs84))),
            household("210422100201", Some((125.05, 41.551_234_5, Crs::Wgs84))),
        ];
        let report = assess_locations(&households, &index, &county);
        assert_eq!(
            report.flagged[0].flags,
            vec![LocationFlag::Coarse { decimals: 3 }]
        );
        assert!(kinds(&report, 1).is_empty());
    }

    #[test]
    fn duplicates_need_exactly_the_same_numbers() {
        let p = (125.051_234_5, 41.551_234_5);
        let households = [
            household("210422100201", Some((p.0, p.1, Crs::Wgs84))),
            household("210422100201", Some((p.0 + 1e-7, p.1, Crs::Wgs84))),
            household("210422100201", Some((p.0, p.1, Crs::Wgs84))),
            // Same numbers in another declared system: still a copied position.
            household("210422100202", Some((p.0, p.1, Crs::Gcj02))),
            household("210422100201", Some((0.0, 0.0, Crs::Wgs84))),
            household("210422100201", Some((-0.0, 0.0, Crs::Wgs84))),
        ];
        let dups = duplicates(&households);
        assert_eq!(dups, vec![(0, 3), (2, 3), (3, 3), (4, 2), (5, 2)]);
    }

    #[test]
    fn the_offset_rule_fires_only_on_clear_evidence() {
        let rule = OffsetRule::default();
        // (judged, inside, as GCJ-02, as BD-09) → verdict
        let cases = [
            ((100, 99, 90, 10), None),             // clean: the conversion only loses
            ((100, 88, 99, 10), Some(Crs::Gcj02)), // a 500 m shift pushed 11 % out
            ((100, 60, 98, 99), Some(Crs::Bd09)),  // both qualify: more inside wins
            ((100, 60, 98, 98), Some(Crs::Gcj02)), // tie: GCJ-02
            ((9, 5, 9, 0), None),                  // too few households
            ((10, 5, 9, 0), Some(Crs::Gcj02)),     // just enough
            ((100, 98, 100, 0), None),             // +2 only: strays, not a system
            ((100, 97, 100, 0), Some(Crs::Gcj02)), // +3 and none left outside
            ((100, 90, 94, 0), None),              // does not halve the misfits (10 → 6)
            ((100, 90, 95, 0), Some(Crs::Gcj02)),  // halves them (10 → 5)
            ((100, 40, 79, 0), None),              // halves them but leaves < 80 % inside
            ((0, 0, 0, 0), None),
        ];
        for ((n, d, g, b), expected) in cases {
            assert_eq!(rule.verdict(n, d, g, b), expected, "{n} {d} {g} {b}");
        }
        assert!(rule.vetoes(100, 99, 90));
        assert!(!rule.vetoes(100, 95, 93));
        assert!(!rule.vetoes(9, 9, 0));
    }

    #[test]
    fn flags_serialize_with_their_codes() {
        let flag = LocationFlag::Duplicate { group_size: 2 };
        assert_eq!(
            serde_json::to_string(&flag).unwrap(),
            r#"{"code":"duplicate","group_size":2}"#
        );
        assert_eq!(
            serde_json::to_string(&FlagKind::OutsideVillage).unwrap(),
            r#""outside_village""#
        );
        for kind in FlagKind::ALL {
            assert_eq!(FlagKind::from_code(kind.code()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json.trim_matches('"'), kind.code());
        }
        assert_eq!(FlagKind::Offset.label_zh(), "坐标系偏移");
        assert_eq!(FlagKind::from_code("offset_crs"), None);
    }

    #[test]
    fn a_clean_village_vetoes_its_townships_offset_verdict() {
        // Four 0.05° villages in a row; the first three recorded GCJ-02 while declaring
        // WGS-84, the fourth is right.
        let square = |k: u32| IndexedArea {
            code: format!("2104221002{k:02}"),
            township_code: "210422100".into(),
            geometry: MultiPolygon::new(vec![
                Rect::new(
                    coord! { x: 125.0 + 0.05 * f64::from(k), y: 41.5 },
                    coord! { x: 125.0 + 0.05 * f64::from(k + 1), y: 41.55 },
                )
                .to_polygon(),
            ]),
        };
        let index = AreaIndex::new((0..4).map(square).collect());
        let county = MultiPolygon::new(vec![
            Rect::new(coord! { x: 124.9, y: 41.4 }, coord! { x: 125.3, y: 41.65 }).to_polygon(),
        ]);
        let mut households = Vec::new();
        for k in 0..4_u32 {
            for i in 0..10 {
                for j in 0..10 {
                    let home = LonLat::new(
                        125.0
                            + 0.05 * f64::from(k)
                            + 0.0025
                            + 0.005 * f64::from(i)
                            + 1e-7 * f64::from(j),
                        41.5025 + 0.005 * f64::from(j),
                    );
                    let p = if k < 3 { wgs84_to_gcj02(home) } else { home };
                    households.push(LocatedHousehold {
                        village_code: format!("2104221002{k:02}").into(),
                        township_code: "210422100".into(),
                        gps: Some(GpsPoint {
                            lon: p.lon,
                            lat: p.lat,
                            crs: Crs::Wgs84,
                        }),
                    });
                }
            }
        }
        let report = assess_locations(&households, &index, &county);
        assert_eq!(
            report.townships[0].offset,
            Some(Crs::Gcj02),
            "{:?}",
            report.townships[0]
        );
        let clean = &report.villages[3];
        assert!(clean.vetoed && clean.offset.is_none(), "{clean:?}");
        assert_eq!(clean.flags, FlagCounts::default());
        for f in &report.flagged {
            assert!(
                f.row < 300,
                "a household of the clean village was flagged: {f:?}"
            );
            assert_eq!(
                f.flags.iter().map(LocationFlag::kind).collect::<Vec<_>>(),
                vec![FlagKind::Offset]
            );
        }
        assert_eq!(report.flags.offset, 300);
    }

    #[test]
    fn boundary_images_decide_as_exact_conversions() {
        let (_, index) = county_index();
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0009);
        for v in (0..index.len() as u32).step_by(17) {
            let area = &index.areas()[v as usize];
            let images = Images::new(&area.geometry);
            let bbox = geo::BoundingRect::bounding_rect(&area.geometry).unwrap();
            for _ in 0..300 {
                let raw = LonLat::new(
                    rng.random_range(bbox.min().x - 0.02..bbox.max().x + 0.02),
                    rng.random_range(bbox.min().y - 0.02..bbox.max().y + 0.02),
                );
                for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
                    let exact = convert(raw, crs, Crs::Wgs84);
                    if images.contains(raw, crs) != index.contains(v, exact) {
                        // Only a hair from the border may the two disagree.
                        let d = area
                            .geometry
                            .0
                            .iter()
                            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                            .map(|ring| Euclidean.distance(&Point::new(exact.lon, exact.lat), ring))
                            .fold(f64::INFINITY, f64::min);
                        assert!(d < 1e-6, "{crs:?} at {raw:?}: {d}° from the border");
                    }
                }
            }
        }
    }

    // The synthetic county: ~20 000 households with every kind of flaw planted.

    /// What a generated household was given.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Plant {
        Clean,
        NoGps,
        WrongVillage(u32),
        Duplicate,
        Swapped,
        Coarse,
        OutsideCounty,
    }

    /// Metres east and north → degrees, near enough for placing test houses.
    fn offset(p: LonLat, east_m: f64, north_m: f64) -> LonLat {
        LonLat::new(
            p.lon + east_m / (111_320.0 * p.lat.to_radians().cos()),
            p.lat + north_m / 110_574.0,
        )
    }

    /// Inside village `v` and at least ~10 m from its border, so that a GCJ-02 round
    /// trip or 7-decimal rounding cannot carry a correct position across it.
    fn well_inside(index: &AreaIndex, v: u32, p: LonLat) -> bool {
        let point = Point::new(p.lon, p.lat);
        index.contains(v, p)
            && index.areas()[v as usize]
                .geometry
                .0
                .iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
                .all(|ring| Euclidean.distance(&point, ring) >= 1e-4)
    }

    /// A house of village `v`: hamlets near random points of the village, houses strung
    /// around them, as the demo generator places them.
    ///
    /// Never the hamlet centre itself: two houses there would be an unplanted duplicate.
    fn house(index: &AreaIndex, v: u32, hamlets: &[LonLat], rng: &mut ChaCha8Rng) -> LonLat {
        let centre = hamlets[rng.random_range(0..hamlets.len())];
        let mut spread = 1.0;
        loop {
            let p = offset(
                centre,
                spread * rng.random_range(-400.0..400.0),
                spread * rng.random_range(-250.0..250.0),
            );
            if well_inside(index, v, p) {
                return p;
            }
            spread *= 0.9;
        }
    }

    fn hamlets(index: &AreaIndex, v: u32, rng: &mut ChaCha8Rng) -> Vec<LonLat> {
        let bbox = geo::BoundingRect::bounding_rect(&index.areas()[v as usize].geometry).unwrap();
        let mut out = Vec::new();
        while out.len() < 3 {
            let p = LonLat::new(
                rng.random_range(bbox.min().x..bbox.max().x),
                rng.random_range(bbox.min().y..bbox.max().y),
            );
            if well_inside(index, v, p) {
                out.push(p);
            }
        }
        out
    }

    fn round7(p: LonLat) -> LonLat {
        LonLat::new((p.lon * 1e7).round() / 1e7, (p.lat * 1e7).round() / 1e7)
    }

    /// Townships: index 3 records GCJ-02 but declares WGS-84; index 5 records and
    /// declares GCJ-02 (correct); the rest record and declare WGS-84.
    #[expect(clippy::too_many_lines, reason = "one generator, read top to bottom")]
    fn scenario() -> (Vec<LocatedHousehold>, Vec<Plant>, String, String) {
        let (_, index) = county_index();
        let townships: Vec<&str> = {
            let mut t: Vec<&str> = index
                .areas()
                .iter()
                .map(|a| a.township_code.as_str())
                .collect();
            t.dedup();
            t
        };
        let (offset_township, declared_township) =
            (townships[3].to_owned(), townships[5].to_owned());
        let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_0007);
        let mut households = Vec::new();
        let mut plants = Vec::new();
        for v in 0..index.len() as u32 {
            let area = &index.areas()[v as usize];
            let hamlets = hamlets(index, v, &mut rng);
            let same_township: Vec<u32> = (0..index.len() as u32)
                .filter(|&o| {
                    o != v && index.areas()[o as usize].township_code == area.township_code
                })
                .collect();
            for _ in 0..104 {
                let home = house(index, v, &hamlets, &mut rng);
                let u: f64 = rng.random();
                let (mut plant, mut recorded) = (Plant::Clean, Some(home));
                let previous = households.last().and_then(|h: &LocatedHousehold| {
                    h.gps.filter(|_| {
                        *h.village_code == *area.code && plants.last() == Some(&Plant::Clean)
                    })
                });
                if u < 0.003 {
                    (plant, recorded) = (Plant::NoGps, None);
                } else if u < 0.006 && !same_township.is_empty() {
                    let other = same_township[rng.random_range(0..same_township.len())];
                    let there = hamlets_of(index, other, &mut rng);
                    (plant, recorded) = (
                        Plant::WrongVillage(other),
                        Some(house(index, other, &there, &mut rng)),
                    );
                } else if u < 0.008 {
                    if let Some(g) = previous {
                        households.push(LocatedHousehold {
                            village_code: area.code.as_str().into(),
                            township_code: area.township_code.as_str().into(),
                            gps: Some(g),
                        });
                        // The household copied from is now a duplicate too.
                        if let Some(last) = plants.last_mut() {
                            *last = Plant::Duplicate;
                        }
                        plants.push(Plant::Duplicate);
                        continue;
                    }
                } else if u < 0.009 {
                    plant = Plant::Swapped;
                } else if u < 0.011
                    && area.township_code != offset_township
                    && area.township_code != declared_township
                {
                    (plant, recorded) = (
                        Plant::Coarse,
                        Some(LonLat::new(
                            (home.lon * 1e3).round() / 1e3,
                            (home.lat * 1e3).round() / 1e3,
                        )),
                    );
                } else if u < 0.012 {
                    plant = Plant::OutsideCounty;
                    recorded = Some(LonLat::new(
                        rng.random_range(123.85..124.0),
                        rng.random_range(41.82..41.9),
                    ));
                }
                let gps = recorded.map(|p| {
                    let skip_offset =
                        matches!(plant, Plant::Swapped | Plant::OutsideCounty | Plant::Coarse);
                    let (p, crs) = if area.township_code == offset_township && !skip_offset {
                        (wgs84_to_gcj02(p), Crs::Wgs84)
                    } else if area.township_code == declared_township && !skip_offset {
                        (wgs84_to_gcj02(p), Crs::Gcj02)
                    } else {
                        (p, Crs::Wgs84)
                    };
                    let p = if plant == Plant::Coarse { p } else { round7(p) };
                    let p = if plant == Plant::Swapped {
                        LonLat::new(p.lat, p.lon)
                    } else {
                        p
                    };
                    GpsPoint {
                        lon: p.lon,
                        lat: p.lat,
                        crs,
                    }
                });
                households.push(LocatedHousehold {
                    village_code: area.code.as_str().into(),
                    township_code: area.township_code.as_str().into(),
                    gps,
                });
                plants.push(plant);
            }
        }
        (households, plants, offset_township, declared_township)
    }

    fn hamlets_of(index: &AreaIndex, v: u32, rng: &mut ChaCha8Rng) -> Vec<LonLat> {
        hamlets(index, v, rng)
    }

    #[test]
    #[expect(clippy::too_many_lines, reason = "one scenario, checked top to bottom")]
    fn every_planted_flaw_is_found_and_no_clean_household_is_flagged() {
        let (county, index) = county_index();
        let (households, plants, offset_township, declared_township) = scenario();
        assert!(households.len() > 19_000);
        let report = assess_locations(&households, index, county);

        // Verdicts: the offset township, some of its villages, nothing else.
        for t in &report.townships {
            let expected = (t.code == offset_township).then_some(Crs::Gcj02);
            assert_eq!(t.offset, expected, "township {t:?}");
        }
        let offset_villages: Vec<&GroupQuality> = report
            .villages
            .iter()
            .filter(|v| v.offset.is_some())
            .collect();
        assert!(
            offset_villages.len() >= 3,
            "village verdicts: {}",
            offset_villages.len()
        );
        for v in &offset_villages {
            assert!(
                v.code.starts_with(&offset_township) && v.offset == Some(Crs::Gcj02),
                "{v:?}"
            );
        }
        assert!(report.villages.iter().all(|v| !v.vetoed));
        let t = report
            .townships
            .iter()
            .find(|t| t.code == offset_township)
            .unwrap();
        assert!(
            t.share_as_gcj02.unwrap() > t.share_declared.unwrap() + 0.02,
            "{t:?}"
        );
        let d = report
            .townships
            .iter()
            .find(|t| t.code == declared_township)
            .unwrap();
        assert!(d.share_declared.unwrap() > 0.98, "{d:?}");

        let mut seen = std::collections::BTreeMap::new();
        for (row, plant) in plants.iter().enumerate() {
            let found = kinds(&report, row as u32);
            let in_offset = *households[row].township_code == *offset_township;
            let mut allowed: Vec<FlagKind> = Vec::new();
            let expected = match plant {
                Plant::Clean => None,
                Plant::NoGps => Some(FlagKind::NoGps),
                Plant::WrongVillage(_) => Some(FlagKind::OutsideVillage),
                Plant::Duplicate => Some(FlagKind::Duplicate),
                Plant::Swapped => Some(FlagKind::Swapped),
                Plant::Coarse => {
                    // Rounding by up to 55 m may cross a border.
                    allowed.push(FlagKind::OutsideVillage);
                    Some(FlagKind::Coarse)
                }
                Plant::OutsideCounty => Some(FlagKind::OutsideCounty),
            };
            if in_offset && *plant != Plant::NoGps {
                assert!(
                    found.contains(&FlagKind::Offset),
                    "row {row} {plant:?}: {found:?}"
                );
                allowed.push(FlagKind::Offset);
            }
            if let Some(kind) = expected {
                assert!(found.contains(&kind), "row {row} {plant:?}: {found:?}");
                allowed.push(kind);
                *seen.entry(kind).or_insert(0) += 1;
            }
            for kind in &found {
                assert!(
                    allowed.contains(kind),
                    "row {row} {plant:?} also got {kind:?}: {found:?}"
                );
            }
            if let Plant::WrongVillage(other) = plant {
                let Some(LocationFlag::OutsideVillage { found_village, .. }) = report
                    .flagged
                    .iter()
                    .find(|f| f.row == row as u32)
                    .and_then(|f| f.flags.first())
                else {
                    panic!("row {row}");
                };
                assert_eq!(
                    found_village.as_deref(),
                    Some(index.areas()[*other as usize].code.as_str())
                );
            }
        }
        // Every kind was planted a fair number of times.
        for kind in [
            FlagKind::NoGps,
            FlagKind::OutsideVillage,
            FlagKind::Duplicate,
            FlagKind::Swapped,
            FlagKind::Coarse,
            FlagKind::OutsideCounty,
        ] {
            assert!(
                seen.get(&kind).copied().unwrap_or(0) >= 10,
                "{kind:?} planted {seen:?}"
            );
        }
        // Counts add up.
        let by_village: u64 = report.villages.iter().map(|v| v.flags.offset).sum();
        assert_eq!(by_village, report.flags.offset);
        assert_eq!(
            report.townships.iter().map(|t| t.households).sum::<u64>(),
            households.len() as u64
        );
    }
}
