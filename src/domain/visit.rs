//! A field visit as the inspection group records it on its phone (走访记录): which
//! planned stop (or an unplanned target), the outcome (已走访 / 未遇 / 拒访), what was
//! found (failed indicators and checklist items, free text), where the phone was, and
//! who recorded it when. Plain data: the rules are in `crate::planner::visits`, the
//! weekly figures in `crate::ledger::progress`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Crs;
use super::plan::TargetKind;

super::coded_enum! {
    /// What came of a visit.
    pub enum Outcome {
        /// 已走访: the household or village was met and checked.
        Visited => ("visited", "已走访"),
        /// 未遇: nobody was found at home (or at the committee office).
        NotFound => ("not_found", "未遇"),
        /// 拒访: the household refused the visit.
        Refused => ("refused", "拒访"),
    }
}

super::coded_enum! {
    /// What a finding is about.
    pub enum FindingKind {
        /// A household indicator of the catalog (e.g. `housing_unsafe`) the household fails.
        Indicator => ("indicator", "指标"),
        /// An item of the campaign's checklist (its position) the village fails: it opens
        /// or updates the village's ledger entry.
        Checklist => ("checklist", "清单"),
    }
}

/// One thing found on a visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Indicator or checklist item.
    pub kind: FindingKind,
    /// The indicator's id, or the checklist item's position (as text, e.g. `"12"`).
    pub item: String,
    /// What was seen, in the group's words.
    #[serde(default)]
    pub note: Option<String>,
    /// The indicator's or item's Chinese name, filled in by the server (ignored when sent).
    #[serde(default)]
    pub name: Option<String>,
}

/// A position as the phone gave it, in the coordinate system it named.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPosition {
    /// Longitude, degrees, in `crs`.
    pub lon: f64,
    /// Latitude, degrees, in `crs`.
    pub lat: f64,
    /// `wgs84` (a browser's `navigator.geolocation`), `gcj02` (Amap, Tencent) or `bd09`
    /// (Baidu); default `wgs84`.
    #[serde(default = "wgs84")]
    pub crs: Crs,
    /// The accuracy the phone reported, metres.
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

const fn wgs84() -> Crs {
    Crs::Wgs84
}

/// A position as stored: the raw value and its system, and the WGS-84 conversion.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedPosition {
    /// As the phone gave it.
    pub raw: RawPosition,
    /// Longitude, WGS-84 degrees (converted from `raw`).
    pub lon: f64,
    /// Latitude, WGS-84 degrees.
    pub lat: f64,
}

/// A target named by the visit itself: what an unplanned visit went to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRef {
    /// Household or village.
    pub kind: TargetKind,
    /// The 18-digit household number (户编号) or the 12-digit village code.
    pub id: String,
}

/// A visit as the phone sends it (`POST /api/v1/campaigns/{id}/visits`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisit {
    /// The plan the group works from (made for this campaign).
    pub plan_id: String,
    /// The group's number in that plan (1-based).
    pub group: usize,
    /// The plan's day (1-based) of the stop; required with `stop`.
    #[serde(default)]
    pub day: Option<usize>,
    /// The stop's order in that day (1-based); leave it out for an unplanned visit.
    #[serde(default)]
    pub stop: Option<usize>,
    /// What was visited: required for an unplanned visit; for a planned one, if sent, it
    /// must be the stop's.
    #[serde(default)]
    pub target: Option<TargetRef>,
    /// The day of the visit, `YYYY-MM-DD` (China time); default today.
    #[serde(default)]
    pub date: Option<String>,
    /// 已走访, 未遇 or 拒访.
    pub outcome: Outcome,
    /// What was found; only a visit that met someone (`visited`) has findings.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
    /// Where the phone was, if the person allowed it.
    #[serde(default)]
    pub position: Option<RawPosition>,
}

/// A visit as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    /// Its id: `v-` and 16 random hex digits.
    pub id: String,
    /// The campaign.
    pub campaign_id: String,
    /// The plan it was recorded from.
    pub plan_id: String,
    /// The group's number in the plan.
    pub group: usize,
    /// The group's name in the plan, e.g. 第1组（新宾镇）: what figures are grouped by.
    pub group_name: String,
    /// The plan's day of the stop (planned visits).
    pub plan_day: Option<usize>,
    /// The stop's order (planned visits); `None` marks an unplanned visit (计划外).
    pub stop: Option<usize>,
    /// The day of the visit, `YYYY-MM-DD`.
    pub date: String,
    /// Household or village.
    pub target_kind: TargetKind,
    /// The household number or the village code.
    pub target_id: String,
    /// What the sheet calls the target (a household head's masked name, or the village).
    pub target_label: String,
    /// The village the target lies in (12 digits): what access is judged by.
    pub village_code: String,
    /// 已走访, 未遇 or 拒访.
    pub outcome: Outcome,
    /// What was found, with names.
    pub findings: Vec<Finding>,
    /// Free text.
    pub note: Option<String>,
    /// Where the phone was.
    pub position: Option<RecordedPosition>,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// Who recorded it (the signed-in person's name).
    pub recorded_by: String,
    /// Ledger entries its checklist findings opened (from no problem to 有问题).
    pub ledger_opened: usize,
    /// Whether a photo is attached.
    pub has_photo: bool,
}

impl Visit {
    /// Whether the visit was to a planned stop.
    #[must_use]
    pub fn planned(&self) -> bool {
        self.stop.is_some()
    }
}

/// The image types a visit's photo may be, told by their first bytes (magic numbers),
/// never by what the client says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoType {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
}

impl PhotoType {
    /// The type of an image from its first bytes; `None` for anything else.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }

    /// Its media type.
    #[must_use]
    pub const fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_told_by_their_magic_bytes() {
        assert_eq!(PhotoType::sniff(&[]), None);
        assert_eq!(PhotoType::sniff(&[0xFF, 0xD8]), None);
        assert_eq!(
            PhotoType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(PhotoType::Jpeg)
        );
        assert_eq!(
            PhotoType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(PhotoType::Png)
        );
        assert_eq!(PhotoType::sniff(b"GIF89a"), None);
        assert_eq!(PhotoType::sniff(b"<svg"), None);
    }

    #[test]
    fn a_position_defaults_to_wgs84_and_outcomes_read_their_codes() {
        let p: RawPosition = serde_json::from_str(r#"{"lon": 125.0, "lat": 41.7}"#).unwrap();
        assert_eq!(p.crs, Crs::Wgs84);
        let o: Outcome = serde_json::from_str(r#""not_found""#).unwrap();
        assert_eq!(o.label_zh(), "未遇");
    }
}
