//! Plain data types shared by every module: areas, households and their members,
//! the measures ([`measure`]), the calendar ([`calendar`]), the ledger's campaigns and
//! entries ([`ledger`]), plans ([`plan`]) and field violations ([`violation`]). Types
//! that two layers share live here, at the bottom, so that no layer imports one above
//! it to name them.
//!
//! Nothing here does I/O. Enumerations carry a stable English code (what the store
//! and the API use) and the Chinese label that users read (`label_zh`), so that the
//! two never drift apart.

pub mod access;
pub mod aid;
pub mod calendar;
pub mod exits;
pub mod ledger;
pub mod measure;
pub mod plan;
pub mod rolls;
pub mod violation;
pub mod visit;

use serde::{Deserialize, Serialize};

pub use measure::MeasureId;
pub use violation::{FieldViolation, Violations};

/// Declares a code-backed enum with its stable code and its Chinese label.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $zh:literal) ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        // Written out, not derived: utoipa's derive does not see the serde renames a
        // macro writes, and the OpenAPI document then listed `County` for `county`.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let labels: Vec<String> = vec![$(format!("{} ({})", $code, $zh)),+];
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .description(Some(format!("One of: {}", labels.join(", "))))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code used in the store, the API and exports.
            #[must_use]
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Simplified Chinese label shown to users.
            #[must_use]
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// Parses a stable code; `None` for anything else.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

/// The macro, for other modules' closed code lists (e.g. the ledger's statuses).
pub(crate) use coded_enum;

coded_enum! {
    /// The level of an administrative division (行政区划级别).
    pub enum AreaLevel {
        /// 省 (2-digit code), above the counties of a city paicha serves.
        Province => ("province", "省"),
        /// 地级市 (4-digit code): a city's notice goes to its counties (seed 003).
        City => ("city", "市"),
        /// 县 (6-digit code).
        County => ("county", "县"),
        /// 乡镇 (9-digit code).
        Township => ("township", "乡镇"),
        /// 村民委员会 (12-digit code).
        Village => ("village", "村"),
        /// 社区居委会 (12-digit code), an urban neighbourhood.
        Community => ("community", "社区"),
    }
}

impl AreaLevel {
    /// The digits of this level's division code: 2, 4, 6, 9 or 12.
    #[must_use]
    pub fn code_len(self) -> usize {
        match self {
            AreaLevel::Province => 2,
            AreaLevel::City => 4,
            AreaLevel::County => 6,
            AreaLevel::Township => 9,
            AreaLevel::Village | AreaLevel::Community => 12,
        }
    }

    /// The level a code's length names (12 digits: a village; whether it is a
    /// community the code alone does not say), or `None` for another length.
    #[must_use]
    pub fn of_code(code: &str) -> Option<Self> {
        match code.len() {
            2 => Some(AreaLevel::Province),
            4 => Some(AreaLevel::City),
            6 => Some(AreaLevel::County),
            9 => Some(AreaLevel::Township),
            12 => Some(AreaLevel::Village),
            _ => None,
        }
    }

    /// The level of the divisions directly below, or `None` under a village.
    #[must_use]
    pub fn child(self) -> Option<Self> {
        match self {
            AreaLevel::Province => Some(AreaLevel::City),
            AreaLevel::City => Some(AreaLevel::County),
            AreaLevel::County => Some(AreaLevel::Township),
            AreaLevel::Township => Some(AreaLevel::Village),
            AreaLevel::Village | AreaLevel::Community => None,
        }
    }

    /// The level a map inside an area of level `within` draws: `asked`, or the level
    /// below; `None` when that is not below `within` (a map needs several areas).
    #[must_use]
    pub fn map_level(asked: Option<Self>, within: Self) -> Option<Self> {
        let level = asked.or_else(|| within.child())?;
        (level.code_len() > within.code_len()).then_some(level)
    }

    /// Whether the level is above the township: its households are those whose
    /// village code starts with its code.
    #[must_use]
    pub fn is_above_township(self) -> bool {
        matches!(
            self,
            AreaLevel::Province | AreaLevel::City | AreaLevel::County
        )
    }

    /// Villages and communities: the 12-digit units households are registered in.
    #[must_use]
    pub fn is_village_like(self) -> bool {
        matches!(self, AreaLevel::Village | AreaLevel::Community)
    }
}

coded_enum! {
    /// Where an area's boundary comes from (边界来源).
    pub enum BoundarySource {
        /// Drawn from a file: the land survey's, or the demo's.
        File => ("file", "文件"),
        /// The union of its children's, redrawn by every import.
        Union => ("union", "由下级合并"),
    }
}

/// The code of a division's parent by the code system: a village's township (12 → 9
/// digits), a township's county (9 → 6), a county's city (6 → 4), a city's province
/// (4 → 2); `None` for a province or a code of another length.
#[must_use]
pub fn parent_code(code: &str) -> Option<&str> {
    let len = match code.len() {
        12 => 9,
        9 => 6,
        6 => 4,
        4 => 2,
        _ => return None,
    };
    code.get(..len)
}

/// The name officials use for a village or community (五副甲村, 前进社区) from its
/// registered one (五副甲村民委员会, 五副甲村村民委员会, 前进社区居民委员会, 前进社区居委会).
/// Documents that need the registered name (reports, exports) keep it.
#[must_use]
pub fn short_name(name: &str) -> String {
    let name = name.trim();
    if let Some(stem) = name.strip_suffix("村民委员会") {
        return format!("{}村", stem.strip_suffix('村').unwrap_or(stem));
    }
    for suffix in ["居民委员会", "居委会"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return format!("{}社区", stem.strip_suffix("社区").unwrap_or(stem));
        }
    }
    name.to_owned()
}

coded_enum! {
    /// What an indicator's count counts (计量单位).
    pub enum Unit {
        /// 户: households.
        Households => ("households", "户"),
        /// 人: persons (members).
        Persons => ("persons", "人"),
        /// 项: checklist items of a village's ledger.
        Items => ("items", "项"),
    }
}

coded_enum! {
    /// The household's category in the registration system (户类型).
    pub enum Category {
        /// 脱贫户: registered as poor (建档立卡) and lifted out.
        Lifted => ("lifted", "脱贫户"),
        /// 脱贫不稳定户: a monitored household at risk of falling back.
        MonitoredUnstable => ("monitored_unstable", "脱贫不稳定户"),
        /// 边缘易致贫户: a monitored household at the edge of poverty.
        MonitoredMarginal => ("monitored_marginal", "边缘易致贫户"),
        /// 突发严重困难户: a monitored household hit by a sudden hardship.
        MonitoredSudden => ("monitored_sudden", "突发严重困难户"),
        /// 稳定脱贫不享受政策: stably out of poverty, no longer receiving policy.
        StableNoPolicy => ("stable_no_policy", "稳定脱贫不享受政策"),
        /// 一般农户: an ordinary farm household.
        Ordinary => ("ordinary", "一般农户"),
        /// 未脱贫户: registered as poor (建档立卡) and not yet lifted out, as the
        /// 2014–2020 system's exports (and the campaigns of seed 000) have them.
        Poor => ("poor", "未脱贫户"),
    }
}

impl Category {
    /// Whether the household is a monitored object (监测对象).
    #[must_use]
    pub fn is_monitored(self) -> bool {
        matches!(
            self,
            Category::MonitoredUnstable | Category::MonitoredMarginal | Category::MonitoredSudden
        )
    }
}

coded_enum! {
    /// The main risk of a monitored household (主要风险类型).
    pub enum RiskType {
        /// 因病
        Illness => ("illness", "因病"),
        /// 因学
        Schooling => ("schooling", "因学"),
        /// 因残
        Disability => ("disability", "因残"),
        /// 因灾
        Disaster => ("disaster", "因灾"),
        /// 因意外
        Accident => ("accident", "因意外"),
        /// 缺劳力
        LackOfLabour => ("lack_of_labour", "缺劳力"),
        /// 其他
        Other => ("other", "其他"),
        /// 因安全住房 (the monitoring system's housing-safety risk, 2021 on)
        HousingSafety => ("housing_safety", "因安全住房"),
        /// 因安全饮水 (the monitoring system's drinking-water risk, 2021 on)
        WaterSafety => ("water_safety", "因安全饮水"),
    }
}

coded_enum! {
    /// Whether a monitored household's risk has been removed (风险状态).
    pub enum RiskState {
        /// 风险未消除
        Unresolved => ("unresolved", "风险未消除"),
        /// 风险已消除
        Resolved => ("resolved", "风险已消除"),
    }
}

coded_enum! {
    /// How a monitored household's risk was removed (风险消除方式): the two ways the
    /// monitoring rules name, after assistance or by the risk going away by itself.
    pub enum RiskElimination {
        /// 帮扶消除: removed by the assistance the household received.
        Assisted => ("assisted", "帮扶消除"),
        /// 自然消除: the risk went away by itself (风险自然消失).
        Natural => ("natural", "自然消除"),
    }
}

coded_enum! {
    /// The household's minimum-livelihood support (享受低保/特困供养政策情况), as the
    /// 防返贫 system records it for the household. Persons carry their own flags
    /// ([`Member::subsistence`], [`Member::extreme_poverty`]); see [`Relief::of_members`].
    pub enum Relief {
        /// 低保: minimum living allowance (最低生活保障).
        Subsistence => ("subsistence", "低保"),
        /// 特困供养: support for persons in extreme poverty.
        ExtremePoverty => ("extreme_poverty", "特困供养"),
        /// Both: one member in 低保, another in 特困供养.
        Both => ("both", "低保和特困供养"),
        /// 无: neither.
        Neither => ("neither", "无"),
    }
}

impl Relief {
    /// The household's support as its members' flags say it: `None` unless some member
    /// receives one, or every member's flags are known and none does. Never a guess:
    /// an unknown flag leaves "neither" unsaid.
    #[must_use]
    pub fn of_members(members: &[Member]) -> Option<Self> {
        let any = |f: fn(&Member) -> Option<bool>| members.iter().any(|m| f(m) == Some(true));
        let (low, extreme) = (any(|m| m.subsistence), any(|m| m.extreme_poverty));
        let all_known = members
            .iter()
            .all(|m| m.subsistence.is_some() && m.extreme_poverty.is_some());
        match (low, extreme) {
            (true, true) => Some(Relief::Both),
            (true, false) => Some(Relief::Subsistence),
            (false, true) => Some(Relief::ExtremePoverty),
            (false, false) if all_known && !members.is_empty() => Some(Relief::Neither),
            (false, false) => None,
        }
    }
}

coded_enum! {
    /// An assistance measure a household received (帮扶措施), as the systems name them.
    pub enum AidMeasure {
        /// 产业帮扶
        Industry => ("industry", "产业帮扶"),
        /// 就业帮扶
        Employment => ("employment", "就业帮扶"),
        /// 健康帮扶
        Health => ("health", "健康帮扶"),
        /// 教育帮扶
        Education => ("education", "教育帮扶"),
        /// 危房改造
        Housing => ("housing", "危房改造"),
        /// 小额信贷
        MicroCredit => ("micro_credit", "小额信贷"),
        /// 综合保障 (兜底保障)
        SocialSecurity => ("social_security", "综合保障"),
        /// 生活条件改善
        LivingConditions => ("living_conditions", "生活条件改善"),
        /// 公益岗位帮扶
        PublicJob => ("public_job", "公益岗位帮扶"),
        /// 饮水保障 (安全饮水工程, 水务局)
        Water => ("water", "饮水保障"),
    }
}

/// A month (`YYYY-MM`), as the monitoring system dates identification and elimination
/// (识别监测时间, 消除监测时间, written `YYYYMM` in its exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    /// The year, 1900 to 2100.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
}

impl YearMonth {
    /// A month, if the year is within 1900–2100 and the month within 1–12.
    #[must_use]
    pub fn new(year: u16, month: u8) -> Option<Self> {
        ((1900..=2100).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// Parses `YYYY-MM`, the stored form.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        let (y, m) = code.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// `YYYYMM`, as the monitoring system's exports write it.
    #[must_use]
    pub fn compact(self) -> String {
        format!("{:04}{:02}", self.year, self.month)
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl From<YearMonth> for String {
    fn from(m: YearMonth) -> Self {
        m.to_string()
    }
}

impl TryFrom<String> for YearMonth {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_code(&text).ok_or_else(|| format!("{text:?} is not a YYYY-MM month"))
    }
}

coded_enum! {
    /// The appraisal grade of the house (房屋安全鉴定等级); C and D are dangerous (危房).
    pub enum HouseGrade {
        /// A 级
        A => ("A", "A级"),
        /// B 级
        B => ("B", "B级"),
        /// C 级 (局部危房)
        C => ("C", "C级"),
        /// D 级 (整体危房)
        D => ("D", "D级"),
        /// 未鉴定
        Unappraised => ("unappraised", "未鉴定"),
    }
}

coded_enum! {
    /// The coordinate system a GPS position was recorded in (坐标系).
    pub enum Crs {
        /// WGS-84 (CGCS2000 is treated as the same, within centimetres).
        Wgs84 => ("wgs84", "WGS-84"),
        /// GCJ-02, the "Mars" system of Amap and Tencent maps (国测局坐标).
        Gcj02 => ("gcj02", "GCJ-02"),
        /// BD-09, Baidu's system (百度坐标).
        Bd09 => ("bd09", "BD-09"),
    }
}

impl Crs {
    /// A coordinate system as people write it: `WGS84`, `WGS-84`, `CGCS2000`, `EPSG:4490`,
    /// `GCJ02`, `BD09`, or by its maps' Chinese names (百度, 高德, 腾讯, 火星, 国家2000);
    /// CGCS2000 is WGS-84 within centimetres. `None` for anything else, among them the
    /// systems paicha cannot convert (西安80, 北京54).
    #[must_use]
    pub fn from_name(text: &str) -> Option<Self> {
        let t = text.trim();
        if t.contains("百度") {
            return Some(Crs::Bd09);
        }
        if ["高德", "火星", "国测局", "腾讯"]
            .iter()
            .any(|k| t.contains(k))
        {
            return Some(Crs::Gcj02);
        }
        if ["国家2000", "大地2000"].iter().any(|k| t.contains(k)) {
            return Some(Crs::Wgs84);
        }
        let ascii: String = t
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase();
        match ascii.as_str() {
            "wgs84" | "cgcs2000" | "epsg4326" | "epsg4490" | "4326" | "4490" => Some(Crs::Wgs84),
            "gcj02" | "gcj" => Some(Crs::Gcj02),
            "bd09" | "bd09ll" | "baidu" => Some(Crs::Bd09),
            _ => None,
        }
    }
}

coded_enum! {
    /// A person's sex (性别).
    pub enum Sex {
        /// 男
        Male => ("male", "男"),
        /// 女
        Female => ("female", "女"),
    }
}

coded_enum! {
    /// A member's relation to the head of household (与户主关系).
    pub enum Relation {
        /// 户主
        Head => ("head", "户主"),
        /// 配偶
        Spouse => ("spouse", "配偶"),
        /// 子女
        Child => ("child", "子女"),
        /// 父母
        Parent => ("parent", "父母"),
        /// 孙子女
        Grandchild => ("grandchild", "孙子女"),
        /// 其他
        Other => ("other", "其他"),
    }
}

coded_enum! {
    /// The schooling state of a member of compulsory-school age, 6 to 15 (在校情况).
    pub enum Schooling {
        /// 在校生
        InSchool => ("in_school", "在校"),
        /// 送教上门: taught at home for physical reasons, which counts as schooled.
        TaughtAtHome => ("taught_at_home", "送教上门"),
        /// 失学辍学
        OutOfSchool => ("out_of_school", "失学辍学"),
    }
}

coded_enum! {
    /// The kind of a disability (残疾类别), besides its grade.
    pub enum DisabilityKind {
        /// 视力残疾
        Visual => ("visual", "视力"),
        /// 听力残疾
        Hearing => ("hearing", "听力"),
        /// 言语残疾
        Speech => ("speech", "言语"),
        /// 肢体残疾
        Physical => ("physical", "肢体"),
        /// 智力残疾
        Intellectual => ("intellectual", "智力"),
        /// 精神残疾
        Mental => ("mental", "精神"),
        /// 多重残疾
        Multiple => ("multiple", "多重"),
    }
}

coded_enum! {
    /// A person's education (文化程度), in the 建档立卡 system's steps.
    pub enum Education {
        /// 学龄前儿童: not yet of school age.
        Preschool => ("preschool", "学龄前儿童"),
        /// 文盲或半文盲
        Illiterate => ("illiterate", "文盲或半文盲"),
        /// 小学
        Primary => ("primary", "小学"),
        /// 初中
        JuniorHigh => ("junior_high", "初中"),
        /// 高中 (中专, 职高 and 技校 alike)
        SeniorHigh => ("senior_high", "高中"),
        /// 大专及以上
        College => ("college", "大专及以上"),
    }
}

coded_enum! {
    /// A person's health (健康状况), in the 建档立卡 system's words.
    pub enum Health {
        /// 健康
        Healthy => ("healthy", "健康"),
        /// 长期慢性病
        Chronic => ("chronic", "长期慢性病"),
        /// 患有大病
        SeriousIllness => ("serious_illness", "患有大病"),
        /// 残疾
        Disabled => ("disabled", "残疾"),
    }
}

coded_enum! {
    /// A person's capacity to work (劳动技能).
    pub enum LabourSkill {
        /// 普通劳动力
        Ordinary => ("ordinary", "普通劳动力"),
        /// 技能劳动力
        Skilled => ("skilled", "技能劳动力"),
        /// 弱劳动力或半劳动力
        Weak => ("weak", "弱劳动力或半劳动力"),
        /// 丧失劳动力: of working age, unable to work.
        Lost => ("lost", "丧失劳动力"),
        /// 无劳动力: children, students and the old.
        NoLabour => ("no_labour", "无劳动力"),
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number
/// (GB 11643-1999); `None` if they are not 17 ASCII digits.
#[must_use]
pub fn id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(ID_CHECK_CHARS[(sum % 11) as usize])
}

/// The youngest age of compulsory schooling (义务教育) that the standard checks.
pub const SCHOOL_AGE_MIN: u8 = 6;
/// The oldest age of compulsory schooling that the standard checks.
pub const SCHOOL_AGE_MAX: u8 = 15;

/// An administrative division, without its geometry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// Statistical division code: 6 digits (county), 9 (township) or 12 (village).
    pub code: String,
    /// The official name, in Chinese.
    pub name: String,
    /// County, township, village or community.
    pub level: AreaLevel,
    /// The code of the parent division (`None` only above the county).
    pub parent_code: Option<String>,
}

/// An area with its household count, without geometry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AreaSummary {
    /// Division code.
    pub code: String,
    /// Official name.
    pub name: String,
    /// County, township, village or community.
    pub level: AreaLevel,
    /// Parent division code.
    pub parent_code: Option<String>,
    /// One of the county's poverty villages (贫困村).
    pub poverty_village: bool,
    /// Households registered in the area.
    pub households: i64,
    /// Area in square kilometres (0 without a boundary).
    pub area_km2: f64,
    /// Where its boundary comes from; `None`: it has none yet.
    pub boundary: Option<BoundarySource>,
}

impl AreaSummary {
    /// A division as the code tables list it: no households, no boundary yet.
    #[must_use]
    pub fn division(code: &str, name: &str, level: AreaLevel, parent_code: Option<&str>) -> Self {
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
            level,
            parent_code: parent_code.map(str::to_owned),
            poverty_village: false,
            households: 0,
            area_km2: 0.0,
            boundary: None,
        }
    }
}

/// An area with its boundary.
#[derive(Debug, Clone)]
pub struct AreaRecord {
    /// Everything but the geometry.
    pub summary: AreaSummary,
    /// Boundary, WGS-84 lon/lat degrees.
    pub geometry: geo::MultiPolygon<f64>,
}

/// A GPS position as recorded in the field, in the system it was recorded in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GpsPoint {
    /// Longitude in degrees, in `crs`.
    pub lon: f64,
    /// Latitude in degrees, in `crs`.
    pub lat: f64,
    /// The coordinate system the app declared for this position.
    pub crs: Crs,
}

/// One member of a household (家庭成员).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// 1 for the head, then 2, 3, … in the order of the register.
    pub seq: u8,
    /// Full name (sensitive).
    pub name: String,
    /// 18-character ID number (证件号码, highly sensitive).
    pub id_number: String,
    /// Sex.
    pub sex: Sex,
    /// Age in whole years at the data date.
    pub age: u8,
    /// Relation to the head of household.
    pub relation: Relation,
    /// Schooling state; `Some` exactly for ages 6 to 15.
    pub schooling: Option<Schooling>,
    /// Enrolled in basic medical insurance (城乡居民基本医疗保险).
    pub medical_insured: bool,
    /// Disability grade 1 (most severe) to 4, if disabled (残疾等级).
    pub disability_grade: Option<u8>,
    /// The kind of disability (残疾类别), when known.
    pub disability_kind: Option<DisabilityKind>,
    /// Education (文化程度), when known.
    pub education: Option<Education>,
    /// Health (健康状况), when known.
    pub health: Option<Health>,
    /// Capacity to work (劳动技能), when known.
    pub labour_skill: Option<LabourSkill>,
    /// Months worked away from the farm last year, 0 to 12 (务工时间（月）), when known.
    pub work_months: Option<u8>,
    /// Enrolled in critical-illness insurance (是否参加大病保险), when known.
    pub serious_illness_insured: Option<bool>,
    /// Receives the minimum living allowance (是否享受低保), when known.
    pub subsistence: Option<bool>,
    /// Supported as a person in extreme poverty (是否特困供养人员), when known.
    pub extreme_poverty: Option<bool>,
}

/// A rural household and the facts that the household standard checks.
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one yes/no fact of the household standard, as the questionnaire records it"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    /// Household number (户编号), unique in the county.
    pub household_no: String,
    /// The 12-digit code of the village the household is registered in.
    pub village_code: String,
    /// Category in the registration system.
    pub category: Category,
    /// Risk type, for monitored households.
    pub risk_type: Option<RiskType>,
    /// Risk state, for monitored households.
    pub risk_state: Option<RiskState>,
    /// Further risks besides `risk_type` (致贫/返贫风险2–5), in the file's order.
    pub other_risks: Vec<RiskType>,
    /// How the risk was removed (风险消除方式), when it was and the file says.
    pub risk_elimination: Option<RiskElimination>,
    /// The month monitoring began (识别监测时间).
    pub identified_month: Option<YearMonth>,
    /// The month the risk was marked removed (消除监测时间).
    pub eliminated_month: Option<YearMonth>,
    /// Per-capita net income of the last year, in yuan (人均纯收入).
    pub income_per_capita: f64,
    /// House appraisal grade.
    pub house_grade: HouseGrade,
    /// Whether the household lives in that house.
    pub house_occupied: bool,
    /// Drinking water meets the rural safety standard (饮水安全).
    pub water_safe: bool,
    /// Piped water reaches the house (自来水入户).
    pub water_piped: bool,
    /// Staple food secured (不愁吃).
    pub food_secure: bool,
    /// Seasonal clothing and bedding secured (不愁穿).
    pub clothing_secure: bool,
    /// Has a sanitary toilet (是否有卫生厕所), when known.
    pub sanitary_toilet: Option<bool>,
    /// Minimum-livelihood support as recorded for the household (享受低保/特困供养政策情况).
    /// Modelled beside the members' own flags rather than derived from them: the 防返贫
    /// system records it per household and the 建档立卡 system per person, and a file
    /// of either kind must come back as it was. An import with the persons' flags only
    /// fills it from them ([`Relief::of_members`]).
    pub relief: Option<Relief>,
    /// Assistance measures received (帮扶措施), in [`AidMeasure::ALL`] order, each once;
    /// empty when none is recorded.
    pub aid_measures: Vec<AidMeasure>,
    /// Position of the house as recorded by the app, if any.
    pub gps: Option<GpsPoint>,
    /// Members, head first.
    pub members: Vec<Member>,
}

impl Household {
    /// The head of household's name (户主姓名).
    #[must_use]
    pub fn head_name(&self) -> &str {
        self.members.first().map_or("", |m| m.name.as_str())
    }
}

/// A poverty line in force for a year and a region (贫困线 / 监测线).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PovertyLine {
    /// The year the line applies to.
    pub year: i32,
    /// Division code of the region (e.g. `210000` for Liaoning).
    pub region_code: String,
    /// The region's name.
    pub region_name: String,
    /// Per-capita net income per year, in yuan.
    pub yuan_per_capita: f64,
    /// What kind of line it is, in Chinese (e.g. 脱贫收入标准, 防返贫监测线).
    pub kind: String,
    /// Where the figure comes from.
    pub source: String,
}

impl PovertyLine {
    /// The line in force for incomes of `year` in the division `code`: the entry of
    /// that year, or else the latest earlier one, among those whose region code
    /// (without its trailing zeros) is the longest prefix of `code`.
    #[must_use]
    pub fn in_force<'a>(
        lines: &'a [PovertyLine],
        year: i32,
        code: &str,
    ) -> Option<&'a PovertyLine> {
        lines
            .iter()
            .filter(|l| l.year <= year && code.starts_with(l.region_code.trim_end_matches('0')))
            .max_by_key(|l| (l.region_code.trim_end_matches('0').len(), l.year))
    }
}

/// A name as shown to users who are not cleared for personal data: the surname and
/// one `*` per other character (张三丰 → 张**).
#[must_use]
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |first| {
        std::iter::once(first).chain(chars.map(|_| '*')).collect()
    })
}

/// An ID number as shown by default: the 6-digit region and the last 4 characters,
/// the birth date and sequence hidden (`210499********1234`). Anything that is not
/// 18 characters long is hidden whole.
#[must_use]
pub fn mask_id_number(id: &str) -> String {
    if id.len() == 18 && id.is_ascii() {
        format!("{}********{}", &id[..6], &id[14..])
    } else {
        "*".repeat(id.chars().count())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn coordinate_systems_by_the_names_people_use() {
        use super::Crs;
        for (name, crs) in [
            ("WGS84", Crs::Wgs84),
            ("wgs-84", Crs::Wgs84),
            ("CGCS2000", Crs::Wgs84),
            ("EPSG:4490", Crs::Wgs84),
            ("国家2000", Crs::Wgs84),
            ("GCJ-02", Crs::Gcj02),
            ("高德坐标", Crs::Gcj02),
            ("bd09", Crs::Bd09),
            ("百度", Crs::Bd09),
        ] {
            assert_eq!(Crs::from_name(name), Some(crs), "{name}");
        }
        for unknown in ["西安80", "北京54", "", "utm"] {
            assert_eq!(Crs::from_name(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn short_names_are_what_officials_say() {
        for (registered, short) in [
            ("五副甲村民委员会", "五副甲村"),
            ("大四平村村民委员会", "大四平村"),
            ("前进社区居民委员会", "前进社区"),
            ("民主社区居委会", "民主社区"),
            ("新宾镇", "新宾镇"),
            ("", ""),
        ] {
            assert_eq!(super::short_name(registered), short, "{registered}");
        }
    }

    use super::*;

    #[test]
    fn masks_hide_everything_but_the_surname_region_and_tail() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("王"), "王");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_id_number("21049919650301123X"), "210499********123X");
        assert_eq!(mask_id_number("12345"), "*****");
    }

    #[test]
    fn codes_round_trip_for_every_variant() {
        for c in Category::ALL {
            assert_eq!(Category::from_code(c.code()), Some(*c));
        }
        for g in HouseGrade::ALL {
            assert_eq!(HouseGrade::from_code(g.code()), Some(*g));
        }
        assert_eq!(Crs::from_code("wgs-84"), None);
    }

    /// See issue 19, item 6: the document said `County` where the service sends `county`.
    #[test]
    fn the_openapi_schema_lists_the_codes_the_service_sends() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(AreaLevel::schema()).unwrap();
        assert_eq!(
            schema["enum"],
            serde_json::json!([
                "province",
                "city",
                "county",
                "township",
                "village",
                "community"
            ])
        );
        let sent = serde_json::to_value(AreaLevel::County).unwrap();
        assert_eq!(sent, "county");
    }

    #[test]
    fn serde_uses_the_stable_codes() {
        let json = serde_json::to_string(&Category::MonitoredSudden).unwrap();
        assert_eq!(json, "\"monitored_sudden\"");
        assert_eq!(Category::MonitoredSudden.label_zh(), "突发严重困难户");
    }

    fn member(subsistence: Option<bool>, extreme_poverty: Option<bool>) -> Member {
        Member {
            seq: 1,
            name: String::new(),
            id_number: String::new(),
            sex: Sex::Male,
            age: 70,
            relation: Relation::Head,
            schooling: None,
            medical_insured: true,
            disability_grade: None,
            disability_kind: None,
            education: None,
            health: None,
            labour_skill: None,
            work_months: None,
            serious_illness_insured: None,
            subsistence,
            extreme_poverty,
        }
    }

    #[test]
    fn a_households_support_is_its_members_and_never_a_guess() {
        let of = |flags: &[(Option<bool>, Option<bool>)]| {
            let members: Vec<Member> = flags.iter().map(|&(s, e)| member(s, e)).collect();
            Relief::of_members(&members)
        };
        assert_eq!(of(&[]), None);
        assert_eq!(
            of(&[(Some(true), Some(false)), (None, None)]),
            Some(Relief::Subsistence)
        );
        assert_eq!(
            of(&[(Some(false), Some(true))]),
            Some(Relief::ExtremePoverty)
        );
        assert_eq!(
            of(&[(Some(true), Some(false)), (Some(false), Some(true))]),
            Some(Relief::Both)
        );
        assert_eq!(
            of(&[(Some(false), Some(false)), (Some(false), Some(false))]),
            Some(Relief::Neither)
        );
        assert_eq!(
            of(&[(Some(false), Some(false)), (Some(false), None)]),
            None,
            "one unknown flag leaves 无 unsaid"
        );
    }

    #[test]
    fn months_are_stored_as_yyyy_mm_and_exported_as_yyyymm() {
        let m = YearMonth::new(2021, 3).unwrap();
        assert_eq!(m.to_string(), "2021-03");
        assert_eq!(m.compact(), "202103");
        assert_eq!(YearMonth::from_code("2021-03"), Some(m));
        assert_eq!(YearMonth::from_code("2021-3"), None);
        assert_eq!(YearMonth::from_code("202103"), None);
        assert_eq!(YearMonth::new(2021, 13), None);
        assert_eq!(YearMonth::new(1899, 12), None);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"2021-03\"");
        assert_eq!(serde_json::from_str::<YearMonth>("\"2021-03\"").unwrap(), m);
    }

    #[test]
    fn only_the_three_monitored_kinds_are_monitored() {
        let monitored: Vec<_> = Category::ALL.iter().filter(|c| c.is_monitored()).collect();
        assert_eq!(monitored.len(), 3);
    }
}
