//! Checklists and the rectification ledger (排查清单与问题整改台账): the checklist
//! templates of seeds 002 and 003 ([`checklist`]), campaigns that check every village
//! of an area item by item, and one ledger entry per village × item that is tracked
//! until the problem is rectified and closed (销号).

pub mod checklist;
pub mod import;
pub mod report;

use serde::{Deserialize, Serialize};

crate::domain::coded_enum! {
    /// Where a ledger entry stands (排查整改状态).
    pub enum Status {
        /// 未排查: not yet checked.
        NotChecked => ("not_checked", "未排查"),
        /// 无问题: checked, no problem.
        NoProblem => ("no_problem", "无问题"),
        /// 有问题: a problem found, no measure under way yet.
        Problem => ("problem", "有问题"),
        /// 整改中: being rectified.
        Rectifying => ("rectifying", "整改中"),
        /// 已整改: rectified, awaiting sign-off.
        Rectified => ("rectified", "已整改"),
        /// 已销号: closed after sign-off.
        Closed => ("closed", "已销号"),
    }
}

crate::domain::coded_enum! {
    /// How often a campaign reports (报送周期).
    pub enum Cycle {
        /// 周报: weekly; the due day is the weekday (1 = Monday … 7 = Sunday).
        Weekly => ("weekly", "周报"),
        /// 月报: monthly; the due day is the day of the month (1–28).
        Monthly => ("monthly", "月报"),
    }
}

/// Parses a code or a Chinese label.
fn parse_either<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    zh: impl Fn(T) -> &'static str,
    text: &str,
) -> Option<T> {
    all.iter()
        .copied()
        .find(|s| code(*s) == text || zh(*s) == text)
}

impl Cycle {
    /// Parses a code (`weekly`) or its Chinese label (周报).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        parse_either(Self::ALL, Self::code, Self::label_zh, text)
    }
}

impl Status {
    /// Parses a code (`rectifying`) or its Chinese label (整改中).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        parse_either(Self::ALL, Self::code, Self::label_zh, text)
    }

    /// A problem was found and is not yet rectified: it counts as unmet.
    #[must_use]
    pub fn is_open_problem(self) -> bool {
        matches!(self, Status::Problem | Status::Rectifying)
    }
}

/// A campaign (e.g. 2022 大排查大起底): a template applied to every village of an area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Campaign {
    /// Stable id, e.g. `xinbin-2019-07`.
    pub id: String,
    /// Name, e.g. 新宾县2019年脱贫攻坚问题大排查.
    pub name: String,
    /// The checklist template.
    pub template_id: String,
    /// The area covered (county or township code).
    pub area_code: String,
    /// First day, `YYYY-MM-DD`.
    pub starts: String,
    /// Last day, `YYYY-MM-DD`.
    pub ends: String,
    /// Reporting cycle.
    pub cycle: Cycle,
    /// Due day of each report (weekday 1–7 or day of month 1–28).
    pub due_day: u8,
}

/// A signature on an entry (签字背书): who signed, and when (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signoff {
    /// Name of the signer.
    pub who: String,
    /// Date signed, `YYYY-MM-DD`.
    pub at: String,
}

/// One ledger entry: one item of the checklist in one village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// The campaign.
    pub campaign_id: String,
    /// The village (12 digits).
    pub village_code: String,
    /// The checklist item (its `position` in the template).
    pub position: u32,
    /// Where it stands.
    pub status: Status,
    /// The problem found (自查问题描述 / 排查情况).
    pub problem: Option<String>,
    /// The measure (整改措施).
    pub measure: Option<String>,
    /// The deadline (整改期限), `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// The person responsible (责任人).
    pub responsible: Option<String>,
    /// The result (整改结果 / 整改进度).
    pub result: Option<String>,
    /// The village Party secretary's signature (村党支部书记).
    pub secretary: Option<Signoff>,
    /// The first secretary's signature (驻村第一书记).
    pub first_secretary: Option<Signoff>,
    /// The inspection group leader's signature (督查组组长).
    pub group_leader: Option<Signoff>,
    /// Free notes.
    pub notes: Option<String>,
    /// Incremented on every change; an update must name the version it was based on.
    pub version: i64,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
}

impl Entry {
    /// Past its deadline and not rectified, on `today` (`YYYY-MM-DD`).
    #[must_use]
    pub fn is_overdue(&self, today: &str) -> bool {
        self.status.is_open_problem() && self.deadline.as_deref().is_some_and(|d| d < today)
    }
}

/// Whether `text` is a calendar date `YYYY-MM-DD`.
#[must_use]
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days).contains(&d)
        }
        _ => false,
    }
}

/// Today's date in China (UTC+8), `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs + 8 * 3600) / 86_400;
    civil_date(days as i64)
}

/// The date `days` after 1970-01-01, `YYYY-MM-DD` (Howard Hinnant's days-to-civil
/// algorithm).
#[must_use]
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_computed() {
        assert!(is_date("2019-07-01") && is_date("2020-02-29"));
        assert!(!is_date("2019-02-29") && !is_date("2019-13-01") && !is_date("2019-7-1"));
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(18_078), "2019-07-01");
        assert!(is_date(&today()));
    }

    #[test]
    fn open_problems_past_their_deadline_are_overdue() {
        let e = Entry {
            campaign_id: "c".into(),
            village_code: "210422100201".into(),
            position: 1,
            status: Status::Rectifying,
            problem: Some("p".into()),
            measure: None,
            deadline: Some("2019-08-01".into()),
            responsible: None,
            result: None,
            secretary: None,
            first_secretary: None,
            group_leader: None,
            notes: None,
            version: 1,
            updated_at: String::new(),
            updated_by: String::new(),
        };
        assert!(e.is_overdue("2019-08-02"));
        assert!(!e.is_overdue("2019-08-01"));
        let done = Entry {
            status: Status::Rectified,
            ..e
        };
        assert!(!done.is_overdue("2020-01-01"));
        assert_eq!(Status::parse("整改中"), Some(Status::Rectifying));
        assert_eq!(Status::parse("closed"), Some(Status::Closed));
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportInputError {
    /// No such campaign.
    #[error("no campaign {0:?}")]
    NoCampaign(String),
    /// The campaign's template is not known.
    #[error("campaign {campaign:?} uses an unknown checklist template {template:?}")]
    NoTemplate {
        /// The campaign.
        campaign: String,
        /// Its template id.
        template: String,
    },
    /// The area is not inside the campaign's area, or unknown.
    #[error("{0}")]
    Area(String),
    /// The day is not a date.
    #[error("as_of {0:?} is not a date YYYY-MM-DD")]
    Date(String),
    /// The templates or the store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The embedded templates are broken.
    #[error(transparent)]
    Checklist(#[from] checklist::ChecklistError),
}

/// Everything a report of a campaign over an area needs: the campaign, its template,
/// the entries of the area, the area with its villages' names, and the period (from
/// the start of `as_of`'s month or week, or the campaign's start, to `as_of`, by
/// default today or the campaign's end if earlier).
///
/// # Errors
/// [`ReportInputError`] naming what is missing or wrong.
pub fn report_input<H: std::hash::BuildHasher>(
    conn: &duckdb::Connection,
    names: &std::collections::HashMap<String, (String, crate::domain::AreaLevel), H>,
    campaign_id: &str,
    within: Option<&str>,
    as_of: Option<&str>,
) -> Result<
    (
        Campaign,
        checklist::Template,
        Vec<Entry>,
        report::Scope,
        report::Period,
    ),
    ReportInputError,
> {
    use crate::store::ledger as store;
    let campaign = store::campaign(conn, campaign_id)?
        .ok_or_else(|| ReportInputError::NoCampaign(campaign_id.to_owned()))?;
    let template = store::all_templates(conn)?
        .into_iter()
        .find(|t| t.id == campaign.template_id)
        .ok_or_else(|| ReportInputError::NoTemplate {
            campaign: campaign.id.clone(),
            template: campaign.template_id.clone(),
        })?;
    let code = within.unwrap_or(&campaign.area_code).to_owned();
    if !code.starts_with(&campaign.area_code) {
        return Err(ReportInputError::Area(format!(
            "{code} is not inside the campaign's area {}",
            campaign.area_code
        )));
    }
    let name = names
        .get(&code)
        .map(|(n, _)| n.clone())
        .ok_or_else(|| ReportInputError::Area(format!("no area with code {code}")))?;
    let today = today();
    let as_of = as_of.map_or_else(
        || {
            if campaign.ends < today {
                campaign.ends.clone()
            } else {
                today
            }
        },
        str::to_owned,
    );
    if !is_date(&as_of) {
        return Err(ReportInputError::Date(as_of));
    }
    let filter = store::EntryFilter {
        within: Some(code.clone()),
        ..store::EntryFilter::default()
    };
    let (_, entries) = store::entries(conn, &campaign.id, &filter, usize::MAX >> 1, 0)?;
    let village_names = names
        .iter()
        .filter(|(c, (_, level))| c.starts_with(&code) && level.is_village_like())
        .map(|(c, (n, _))| (c.clone(), n.clone()))
        .collect();
    let (year, month) = (&as_of[..4], as_of[5..7].trim_start_matches('0'));
    let (label, from) = match campaign.cycle {
        Cycle::Monthly => (format!("{year}年{month}月"), format!("{}-01", &as_of[..7])),
        Cycle::Weekly => (format!("截至{as_of}的一周"), as_of.clone()),
    };
    let from = if from < campaign.starts {
        campaign.starts.clone()
    } else {
        from
    };
    let period = report::Period {
        label,
        from,
        to: as_of.clone(),
        today: as_of,
    };
    let scope = report::Scope {
        code,
        name,
        village_names,
    };
    Ok((campaign, template, entries, scope, period))
}
