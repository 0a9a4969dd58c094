//! A visit plan as the inspection groups carry it: per group and day, the ordered stops
//! with arrival times and the reasons to go, and every target that could not be planned
//! with the reason why. This is what the API stores and returns and what the exports
//! (GPX, KML, GeoJSON, CSV, the printable visit sheet) are written from.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a stop is: a household visit (入户核查) or a village check (村级督查).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A household, visited at home.
    Household,
    /// A village, checked at its committee office against the checklist.
    Village,
}

impl TargetKind {
    /// The Chinese label used on visit sheets and map popups.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Household => "入户",
            Self::Village => "村级",
        }
    }
}

/// Why a target was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The household fails one of the chosen indicators.
    Failing,
    /// The village has unmet or overdue checklist items.
    Ledger,
    /// Drawn in the stratified random sample of other households.
    Sample,
    /// Named by the user as must-visit.
    MustVisit,
}

impl Selection {
    /// The Chinese label used on visit sheets.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Failing => "指标未达标",
            Self::Ledger => "清单问题",
            Self::Sample => "随机抽样",
            Self::MustVisit => "必访",
        }
    }
}

/// Something to visit: a household or a village, with where it is and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// Household or village.
    pub kind: TargetKind,
    /// Household number (户编号) or village code.
    pub id: String,
    /// The 12-digit code of the village it belongs to.
    pub village_code: String,
    /// The village's name.
    pub village_name: String,
    /// The township's name.
    pub township_name: String,
    /// For a household, the head's masked name (张*); for a village, its name.
    pub label: String,
    /// Longitude, WGS-84; `null` (NaN in Rust) when the household has no position.
    #[serde(with = "nan_as_null")]
    #[schema(value_type = Option<f64>)]
    pub lon: f64,
    /// Latitude, WGS-84; `null` (NaN in Rust) when the household has no position.
    #[serde(with = "nan_as_null")]
    #[schema(value_type = Option<f64>)]
    pub lat: f64,
    /// How it was chosen.
    pub selection: Selection,
    /// What to check there, in Chinese: failed indicators with their reasons, open
    /// checklist items.
    pub reasons: Vec<String>,
    /// Higher is more urgent; decides what is dropped first when time runs out.
    pub priority: u8,
    /// Must-visit targets are planned before any other and dropped only if they cannot
    /// fit at all.
    pub must_visit: bool,
    /// Minutes spent at the stop.
    pub service_minutes: f64,
}

/// JSON has no NaN: a target without a position is written with `null` coordinates.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    #[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f64(*value)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// A place a group starts or ends its day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Place {
    /// What to call it on the sheet: the township seat's name, or "起点".
    pub name: String,
    /// Longitude, WGS-84.
    pub lon: f64,
    /// Latitude, WGS-84.
    pub lat: f64,
}

/// One stop of a day's route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stop {
    /// 1-based position in the day.
    pub order: usize,
    /// What is visited.
    pub target: Target,
    /// Minutes after the day's start when the group arrives.
    pub arrive_minutes: f64,
    /// Minutes after the day's start when the group leaves.
    pub depart_minutes: f64,
    /// The clock time the group arrives, `HH:MM` (from the request's `day_start`).
    #[serde(default)]
    pub arrive: String,
    /// The clock time the group leaves, `HH:MM`.
    #[serde(default)]
    pub depart: String,
    /// Road metres (straight line × detour factor) from the previous stop or the start.
    pub travel_metres: f64,
    /// Minutes of travel from the previous stop or the start.
    pub travel_minutes: f64,
}

/// One group's day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Day {
    /// 1-based day number.
    pub day: usize,
    /// The calendar date, `YYYY-MM-DD`, when the plan has a start date.
    pub date: Option<String>,
    /// Where the day starts.
    pub start: Place,
    /// Where the day ends.
    pub end: Place,
    /// The stops in visiting order.
    pub stops: Vec<Stop>,
    /// Total travel, metres, including the way back to the end.
    pub travel_metres: f64,
    /// Total travel, minutes.
    pub travel_minutes: f64,
    /// Total time at stops, minutes.
    pub service_minutes: f64,
    /// Travel plus service: never over the day's working minutes.
    pub total_minutes: f64,
}

/// One inspection group's plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    /// 1-based group number.
    pub group: usize,
    /// Its name on the sheets: 第1组 plus the township(s) it covers.
    pub name: String,
    /// Its days, `days` of them, some possibly empty.
    pub days: Vec<Day>,
}

/// A target that is not in the plan, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dropped {
    /// The target.
    pub target: Target,
    /// Why, in Chinese: e.g. 工时不足, 无定位, 单程超出一天工时.
    pub reason: String,
}

/// What a plan is asked for: the area, the groups and their days, and the targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Township codes (9 digits) to plan for; empty with `area` set means the drawn area.
    #[serde(default)]
    pub townships: Vec<String>,
    /// A drawn GeoJSON polygon or multipolygon to plan inside instead of townships.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    /// Number of inspection groups (督查组). Default: one per township.
    #[serde(default)]
    pub groups: Option<usize>,
    /// Working days.
    #[serde(default = "defaults::days")]
    pub days: usize,
    /// First day, `YYYY-MM-DD`; days are consecutive calendar days.
    #[serde(default)]
    pub start_date: Option<String>,
    /// When the groups set out each day, `HH:MM` (China time): every time of a plan is
    /// a clock time from it.
    #[serde(default = "defaults::day_start")]
    pub day_start: String,
    /// Working minutes per day, travel included.
    #[serde(default = "defaults::day_minutes")]
    pub day_minutes: f64,
    /// Minutes per household visit.
    #[serde(default = "defaults::household_minutes")]
    pub household_minutes: f64,
    /// Minutes per village check.
    #[serde(default = "defaults::village_minutes")]
    pub village_minutes: f64,
    /// Travel speed, km/h.
    #[serde(default = "defaults::speed_kmh")]
    pub speed_kmh: f64,
    /// Road distance over straight-line distance.
    #[serde(default = "defaults::detour")]
    pub detour: f64,
    /// Where each group starts its days; default: its township's seat.
    #[serde(default)]
    pub starts: Vec<Place>,
    /// Where each group ends its days; default: where it starts.
    #[serde(default)]
    pub ends: Vec<Place>,
    /// Priorities, 0 to 9, by why a target was chosen: an indicator id (households
    /// failing it), `monitored` (监测对象), `ledger` (villages with open items),
    /// `overdue` (villages with overdue items) or `sample`. Higher is planned first and
    /// dropped last. Defaults: overdue and monitored 3, failing and ledger 2, sample 1.
    #[serde(default)]
    pub priorities: std::collections::BTreeMap<String, u8>,
    /// Indicators whose failing households are targets.
    #[serde(default = "defaults::indicators")]
    pub indicators: Vec<String>,
    /// Whether villages with unmet or overdue checklist items are targets.
    #[serde(default = "defaults::yes")]
    pub ledger: bool,
    /// Other households drawn at random per village (stratified by village).
    #[serde(default)]
    pub sample_per_village: usize,
    /// Seed of the sample and of the route search: same seed, same plan.
    #[serde(default)]
    pub seed: u64,
    /// Household numbers that must be visited.
    #[serde(default)]
    pub must_visit: Vec<String>,
    /// The campaign the plan is made for: its stops are then the campaign's planned
    /// visits, counted against the visits recorded (plan versus done). Needs
    /// `start_date`, since visits are counted by calendar day.
    #[serde(default)]
    pub campaign: Option<String>,
}

/// The defaults of [`Request`], from seed 000's month-long campaign.
pub mod defaults {
    /// Five working days.
    #[must_use]
    pub const fn days() -> usize {
        5
    }
    /// Half past eight.
    #[must_use]
    pub fn day_start() -> String {
        "08:30".to_owned()
    }
    /// Eight working hours.
    #[must_use]
    pub const fn day_minutes() -> f64 {
        480.0
    }
    /// Half an hour per household.
    #[must_use]
    pub const fn household_minutes() -> f64 {
        30.0
    }
    /// An hour per village check.
    #[must_use]
    pub const fn village_minutes() -> f64 {
        60.0
    }
    /// Rural roads.
    #[must_use]
    pub const fn speed_kmh() -> f64 {
        30.0
    }
    /// Mountain roads wind.
    #[must_use]
    pub const fn detour() -> f64 {
        1.4
    }
    /// Households with any problem.
    #[must_use]
    pub fn indicators() -> Vec<String> {
        vec!["any_problem".to_owned()]
    }
    /// Yes.
    #[must_use]
    pub const fn yes() -> bool {
        true
    }
}

/// A whole plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    /// Its id, e.g. `p-20261123-1`.
    pub id: String,
    /// Its title, e.g. 新宾镇督查走访计划.
    pub title: String,
    /// When it was made, `YYYY-MM-DD`.
    pub created: String,
    /// What was asked.
    pub request: Request,
    /// The groups and their days.
    pub groups: Vec<Group>,
    /// Targets not planned, with reasons: every target is in a day or here.
    pub dropped: Vec<Dropped>,
}

/// Minutes from midnight of a clock time `HH:MM`, if it is one (00:00 to 23:59).
#[must_use]
pub fn clock_minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The clock time `minutes` after a day's start `HH:MM`, rounded to the minute
/// (08:30 and 95.4 minutes make 10:05); a start that is not a clock time counts as
/// 08:30, the default, so that a plan stored before starts were asked still reads.
#[must_use]
pub fn clock(day_start: &str, minutes: f64) -> String {
    let start = clock_minutes(day_start).unwrap_or(8 * 60 + 30);
    let at = (f64::from(start) + minutes.max(0.0)).round() as u64 % (24 * 60);
    format!("{:02}:{:02}", at / 60, at % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_clock_times_from_the_days_start() {
        assert_eq!(clock("08:30", 95.4), "10:05");
        assert_eq!(clock("07:00", 0.0), "07:00");
        assert_eq!(clock("23:30", 45.0), "00:15");
        assert_eq!(clock("bad", 30.0), "09:00");
        assert_eq!(clock("08:30", f64::NAN), "08:30");
        assert_eq!(clock_minutes("08:30"), Some(510));
        assert_eq!(clock_minutes("24:00"), None);
        assert_eq!(clock_minutes("8:30"), None);
    }
}
