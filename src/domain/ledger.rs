//! The checklist and its rectification ledger as data (排查清单与问题整改台账): the
//! templates, campaigns, entries and their statuses that the store keeps, the ledger
//! module judges and the API and reports show. The rules (what each status needs, how
//! an update applies) are in `crate::ledger`; this is only their vocabulary.

use serde::{Deserialize, Serialize};

super::coded_enum! {
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

super::coded_enum! {
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
    /// A new entry, not yet checked (未排查), at version 1: what a campaign starts
    /// every village × item with. `at` is an RFC 3339 timestamp, `by` who made it.
    #[must_use]
    pub fn unchecked(
        campaign_id: &str,
        village_code: &str,
        position: u32,
        by: &str,
        at: &str,
    ) -> Self {
        Self {
            campaign_id: campaign_id.to_owned(),
            village_code: village_code.to_owned(),
            position,
            status: Status::NotChecked,
            problem: None,
            measure: None,
            deadline: None,
            responsible: None,
            result: None,
            secretary: None,
            first_secretary: None,
            group_leader: None,
            notes: None,
            version: 1,
            updated_at: at.to_owned(),
            updated_by: by.to_owned(),
        }
    }

    /// Past its deadline and not rectified, on `today` (`YYYY-MM-DD`).
    #[must_use]
    pub fn is_overdue(&self, today: &str) -> bool {
        self.status.is_open_problem() && self.deadline.as_deref().is_some_and(|d| d < today)
    }
}

/// One item of a checklist: one row of its CSV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// Order of the row in the source, from 1: the stable key of the item.
    pub position: u32,
    /// Category (类别) as the source names it, e.g. `三保障`.
    pub category: String,
    /// The category's number as the source writes it (`一`, `二`, … or `1`, `2`, …), if any.
    pub category_no: Option<String>,
    /// The item's own number (序号) as written in the source; `None` where the source prints
    /// none. Text, not a number: sources skip and repeat numbers, and we never renumber.
    pub number: Option<String>,
    /// The short heading (排查项目) the source gives this row, if any.
    pub item: Option<String>,
    /// The check to perform (排查内容 / 自查问题描述), on one line.
    pub content: String,
    /// The unit responsible (责任单位), where the source assigns one.
    pub responsible_unit: Option<String>,
    /// A note on a gap or oddity of the source at this row (e.g. `源文件未编号`).
    pub source_note: Option<String>,
}

/// The layout of the problem ledger (问题整改台账) a template's document prescribes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportLayout {
    /// 类别, 序号, 排查项目, 自查问题描述, 整改措施, 整改期限, 责任人, 整改结果 (seed 003).
    Xuchang,
    /// 序号, 排查项目, 排查内容, 排查情况, 整改措施, 整改进度, 责任单位 (seed 002).
    Lianyungang,
}

/// A checklist template: a document's list of items and how its ledger is reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable code, e.g. `xuchang-2022`.
    pub id: String,
    /// The document's own title for the list.
    pub name: String,
    /// Where the document was issued, e.g. `河南省许昌市`.
    pub region: String,
    /// The year it was issued.
    pub year: i32,
    /// The document it was transcribed from (seed and document number).
    pub source: String,
    /// How many items the document says the list has. It may differ from `items.len()`
    /// when the source text lacks items; the rows' `source_note` tell where.
    pub expected_items: usize,
    /// The ledger layout the document prescribes.
    pub report_layout: ReportLayout,
    /// The items, in source order (by `position`).
    pub items: Vec<ChecklistItem>,
}

impl Template {
    /// Each category with its number of items, in order of first appearance.
    #[must_use]
    pub fn categories(&self) -> Vec<(String, usize)> {
        // A handful of categories per template: a linear search keeps the order without
        // an extra map.
        let mut out: Vec<(String, usize)> = Vec::new();
        for item in &self.items {
            match out.iter_mut().find(|(name, _)| *name == item.category) {
                Some((_, count)) => *count += 1,
                None => out.push((item.category.clone(), 1)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_problems_past_their_deadline_are_overdue() {
        let e = Entry {
            status: Status::Rectifying,
            problem: Some("p".into()),
            deadline: Some("2019-08-01".into()),
            ..Entry::unchecked("c", "210422100201", 1, "", "")
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
