//! The township briefing pack (乡镇简报, issue 18): one printable document per township
//! for the leading group's weekly meeting, as HTML and as an A4 PDF with the Chinese
//! font embedded (subset) so that its text can be read, searched and copied.
//!
//! The figures come in as a [`Briefing`] (gathered by the service state from the
//! store, the ledger and the plans); [`document`] turns them into one sequence of
//! [`Block`]s in Simplified Chinese, which [`html`] and [`pdf`] both write, so that
//! the two files always say the same. The briefing is an aggregate document: villages
//! and counts, never a person's name, ID number or home position.

mod html;
mod pdf;

pub use html::html;
pub use pdf::pdf;

use super::ChoroplethSpec;

/// The sections' headings, in order (tests read them back from the PDF).
pub const HEADINGS: [&str; 6] = [
    "一、主要指标分布",
    "二、主要指标与全县对比",
    "三、台账问题：未整改与逾期",
    "四、上周走访与发现",
    "五、下周走访计划",
    "六、帮扶措施覆盖（分部门）",
];

/// Ledger items listed at most; the rest are counted in a line below the table.
pub const MAX_LEDGER_ROWS: usize = 80;

/// Everything a township's briefing shows.
#[derive(Debug, Clone, Default)]
pub struct Briefing {
    /// The county's name, e.g. 新宾满族自治县.
    pub county: String,
    /// The township's code (9 digits).
    pub township_code: String,
    /// The township's name.
    pub township: String,
    /// The day the briefing is made, `YYYY-MM-DD`.
    pub made_on: String,
    /// The registry's data date.
    pub data_date: String,
    /// Whether the data is the synthetic demo.
    pub demo: bool,
    /// Households registered in the township and in the county.
    pub households: (i64, i64),
    /// Villages (and communities) of the township.
    pub villages: usize,
    /// The campaign and the weeks reported, when a campaign covers the township.
    pub campaign: Option<CampaignWeek>,
    /// Choropleths of the main indicators over the township's villages.
    pub maps: Vec<ChoroplethSpec>,
    /// The main indicators, township beside county.
    pub indicators: Vec<IndicatorFigure>,
    /// The open ledger items (none without a campaign).
    pub ledger: Option<LedgerSection>,
    /// The reported week's visits (none without a campaign).
    pub visits: Option<VisitSection>,
    /// The next week's planned stops (none without a campaign).
    pub plan: Vec<PlanDay>,
    /// Assistance-measure coverage by department (none without measures).
    pub coverage: Option<CoverageSection>,
}

/// The campaign and the weeks a briefing reports.
#[derive(Debug, Clone, Default)]
pub struct CampaignWeek {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its first and last day.
    pub span: (String, String),
    /// The week reported (上周), `YYYY-Www`, with its Monday and Sunday.
    pub week: (String, String, String),
    /// The week after it (下周), planned.
    pub next: (String, String, String),
}

/// One main indicator in the township and in the county.
#[derive(Debug, Clone, Default)]
pub struct IndicatorFigure {
    /// The indicator's id.
    pub id: String,
    /// Its Chinese name.
    pub name: String,
    /// Households (or persons) failing it in the township.
    pub count: i64,
    /// What its rate divides by, in the township.
    pub denominator: i64,
    /// The township's rate.
    pub rate: Option<f64>,
    /// The county's count.
    pub county_count: i64,
    /// The county's rate.
    pub county_rate: Option<f64>,
}

/// The township's open ledger items.
#[derive(Debug, Clone, Default)]
pub struct LedgerSection {
    /// The day overdue is judged on, `YYYY-MM-DD`.
    pub as_of: String,
    /// Open items (有问题 and 整改中).
    pub open: usize,
    /// Of them, past their deadline.
    pub overdue: usize,
    /// The items, overdue first, then by village and item.
    pub items: Vec<LedgerItem>,
}

/// One open ledger item.
#[derive(Debug, Clone, Default)]
pub struct LedgerItem {
    /// The village's short name.
    pub village: String,
    /// The checklist item's number.
    pub position: u32,
    /// The checklist item's content, shortened.
    pub item: String,
    /// The problem as written.
    pub problem: String,
    /// 有问题 or 整改中.
    pub status: String,
    /// 整改期限, or empty.
    pub deadline: String,
    /// Past its deadline.
    pub overdue: bool,
}

/// A week's visit figures of a village or the township.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VisitFigures {
    /// Stops planned.
    pub planned: usize,
    /// Planned stops visited (已走访).
    pub visited: usize,
    /// Planned stops where nobody was met (未遇).
    pub not_found: usize,
    /// Planned stops refused (拒访).
    pub refused: usize,
    /// Unplanned visits (计划外).
    pub unplanned: usize,
    /// Findings recorded.
    pub findings: usize,
    /// Ledger entries opened.
    pub opened: usize,
}

/// The reported week's visits.
#[derive(Debug, Clone, Default)]
pub struct VisitSection {
    /// The township's figures.
    pub total: VisitFigures,
    /// Per village with any planned stop or visit: its short name and figures.
    pub villages: Vec<(String, VisitFigures)>,
    /// What was found: the indicator's or checklist item's name, and how often.
    pub findings: Vec<(String, usize)>,
}

/// One group's planned day in the township.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanDay {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The group's name.
    pub group: String,
    /// Households to visit.
    pub households: usize,
    /// Village checks (村级核查).
    pub village_checks: usize,
    /// The villages visited, short names in route order.
    pub villages: Vec<String>,
}

/// Assistance-measure coverage (帮扶措施覆盖) of the township by department.
#[derive(Debug, Clone, Default)]
pub struct CoverageSection {
    /// The year.
    pub year: i32,
    /// Households the policy reaches, in the township and in the county.
    pub policy_households: (i64, i64),
    /// Of them, households with any measure, in the township and in the county.
    pub with_measures: (i64, i64),
    /// Per department.
    pub departments: Vec<DepartmentCoverage>,
}

/// One department's measures in the township, beside the county.
#[derive(Debug, Clone, Default)]
pub struct DepartmentCoverage {
    /// The department.
    pub department: String,
    /// Households reached in the township.
    pub households: i64,
    /// Measures recorded in the township.
    pub measures: i64,
    /// Households reached over the township's policy households.
    pub rate: Option<f64>,
    /// The same in the county.
    pub county_rate: Option<f64>,
}

/// A part of the document, written alike to HTML and PDF.
#[derive(Debug, Clone)]
pub enum Block {
    /// The document's title.
    Title(String),
    /// Lines under the title (area, week, campaign, dates).
    Meta(Vec<String>),
    /// A section heading.
    Heading(String),
    /// A paragraph.
    Text(String),
    /// Maps side by side, two to a row.
    Maps(Vec<ChoroplethSpec>),
    /// A table.
    Table(Table),
}

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column headings, with each column's share of the width and whether it holds
    /// numbers (right-aligned).
    pub columns: Vec<(String, f32, bool)>,
    /// The rows' cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&str, f32, bool)]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|(t, w, n)| ((*t).to_owned(), *w, *n))
                .collect(),
            rows: Vec::new(),
        }
    }
}

/// A rate as a percentage with two decimals, `—` for none.
#[must_use]
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.2}%", r * 100.0))
}

/// The difference of two rates in percentage points, signed.
fn points(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:+.2}", (a - b) * 100.0),
        _ => "—".to_owned(),
    }
}

/// The document's title.
#[must_use]
pub fn title(b: &Briefing) -> String {
    format!("{}脱贫攻坚排查简报", b.township)
}

/// The briefing as blocks, in reading order.
#[must_use]
pub fn document(b: &Briefing) -> Vec<Block> {
    let mut out = vec![Block::Title(title(b)), Block::Meta(meta(b))];
    out.push(Block::Heading(HEADINGS[0].to_owned()));
    if b.maps.is_empty() {
        out.push(Block::Text("没有可绘制的指标。".to_owned()));
    } else {
        out.push(Block::Maps(b.maps.clone()));
    }
    out.push(Block::Heading(HEADINGS[1].to_owned()));
    out.extend(indicator_blocks(b));
    out.push(Block::Heading(HEADINGS[2].to_owned()));
    out.extend(ledger_blocks(b));
    out.push(Block::Heading(week_heading(HEADINGS[3], b, |c| &c.week)));
    out.extend(visit_blocks(b));
    out.push(Block::Heading(week_heading(HEADINGS[4], b, |c| &c.next)));
    out.extend(plan_blocks(b));
    out.push(Block::Heading(HEADINGS[5].to_owned()));
    out.extend(coverage_blocks(b));
    out.push(Block::Text(format!(
        "说明：本简报为汇总材料，不含农户姓名、身份证号和住址坐标。{}",
        if b.demo {
            "数据来源：paicha 演示数据（合成数据，非真实农户）。"
        } else {
            "数据来源：paicha 排查数据。"
        }
    )));
    out
}

fn week_heading(
    heading: &str,
    b: &Briefing,
    which: impl Fn(&CampaignWeek) -> &(String, String, String),
) -> String {
    match &b.campaign {
        Some(c) => {
            let (week, from, to) = which(c);
            format!("{heading}（{week}，{from}至{to}）")
        }
        None => heading.to_owned(),
    }
}

fn meta(b: &Briefing) -> Vec<String> {
    let mut lines = vec![format!(
        "{} {}（{}）　编制日期：{}　数据日期：{}",
        b.county, b.township, b.township_code, b.made_on, b.data_date
    )];
    match &b.campaign {
        Some(c) => {
            lines.push(format!(
                "排查活动：{}（{}，{}至{}）",
                c.name, c.id, c.span.0, c.span.1
            ));
            lines.push(format!(
                "报告周：{}（{}至{}）　下周：{}（{}至{}）",
                c.week.0, c.week.1, c.week.2, c.next.0, c.next.1, c.next.2
            ));
        }
        None => lines.push("排查活动：暂无覆盖本乡镇的排查活动".to_owned()),
    }
    lines.push(format!(
        "本乡镇 {} 个村（社区），登记农户 {} 户；全县登记农户 {} 户",
        b.villages, b.households.0, b.households.1
    ));
    lines
}

fn indicator_blocks(b: &Briefing) -> Vec<Block> {
    let mut t = Table::new(&[
        ("指标", 3.0, false),
        ("本乡镇数量", 1.5, true),
        ("分母", 1.3, true),
        ("本乡镇比例", 1.4, true),
        ("全县数量", 1.4, true),
        ("全县比例", 1.3, true),
        ("差（百分点）", 1.4, true),
    ]);
    for i in &b.indicators {
        t.rows.push(vec![
            i.name.clone(),
            i.count.to_string(),
            i.denominator.to_string(),
            percent(i.rate),
            i.county_count.to_string(),
            percent(i.county_rate),
            points(i.rate, i.county_rate),
        ]);
    }
    if t.rows.is_empty() {
        return vec![Block::Text("没有可显示的指标。".to_owned())];
    }
    vec![Block::Table(t)]
}

fn ledger_blocks(b: &Briefing) -> Vec<Block> {
    let Some(l) = &b.ledger else {
        return vec![Block::Text("暂无排查活动，没有台账。".to_owned())];
    };
    let mut out = vec![Block::Text(format!(
        "截至{}，未整改问题 {} 项，其中逾期 {} 项。",
        l.as_of, l.open, l.overdue
    ))];
    if l.items.is_empty() {
        return out;
    }
    let mut t = Table::new(&[
        ("村", 1.6, false),
        ("序号", 0.8, true),
        ("清单事项", 3.2, false),
        ("问题", 3.2, false),
        ("状态", 1.0, false),
        ("整改期限", 1.5, false),
        ("逾期", 0.8, false),
    ]);
    for i in l.items.iter().take(MAX_LEDGER_ROWS) {
        t.rows.push(vec![
            i.village.clone(),
            i.position.to_string(),
            i.item.clone(),
            i.problem.clone(),
            i.status.clone(),
            i.deadline.clone(),
            if i.overdue { "逾期" } else { "" }.to_owned(),
        ]);
    }
    out.push(Block::Table(t));
    if l.items.len() > MAX_LEDGER_ROWS {
        out.push(Block::Text(format!(
            "另有 {} 项未列出，见台账。",
            l.items.len() - MAX_LEDGER_ROWS
        )));
    }
    out
}

fn visit_row(name: &str, f: &VisitFigures) -> Vec<String> {
    let share = (f.planned > 0).then(|| f.visited as f64 / f.planned as f64);
    vec![
        name.to_owned(),
        f.planned.to_string(),
        f.visited.to_string(),
        f.not_found.to_string(),
        f.refused.to_string(),
        f.unplanned.to_string(),
        f.findings.to_string(),
        f.opened.to_string(),
        share.map_or_else(|| "—".to_owned(), |s| format!("{:.1}%", s * 100.0)),
    ]
}

fn visit_blocks(b: &Briefing) -> Vec<Block> {
    let Some(v) = &b.visits else {
        return vec![Block::Text("暂无排查活动，没有走访记录。".to_owned())];
    };
    let f = &v.total;
    let mut out = vec![Block::Text(format!(
        "计划走访 {} 户（村），已走访 {}，未遇 {}，拒访 {}，计划外走访 {}；发现问题 {} 个，新增台账问题 {} 项。",
        f.planned, f.visited, f.not_found, f.refused, f.unplanned, f.findings, f.opened
    ))];
    if !v.villages.is_empty() {
        let mut t = Table::new(&[
            ("村", 2.0, false),
            ("计划走访", 1.0, true),
            ("已走访", 1.0, true),
            ("未遇", 0.8, true),
            ("拒访", 0.8, true),
            ("计划外", 0.9, true),
            ("发现问题", 1.0, true),
            ("新增台账", 1.0, true),
            ("完成率", 1.0, true),
        ]);
        for (name, figures) in &v.villages {
            t.rows.push(visit_row(name, figures));
        }
        t.rows.push(visit_row("合计", f));
        out.push(Block::Table(t));
    }
    if !v.findings.is_empty() {
        let mut t = Table::new(&[
            ("发现的问题（指标或清单事项）", 4.0, false),
            ("次数", 1.0, true),
        ]);
        for (name, n) in &v.findings {
            t.rows.push(vec![name.clone(), n.to_string()]);
        }
        out.push(Block::Table(t));
    }
    out
}

fn plan_blocks(b: &Briefing) -> Vec<Block> {
    if b.campaign.is_none() {
        return vec![Block::Text("暂无排查活动，没有走访计划。".to_owned())];
    }
    if b.plan.is_empty() {
        return vec![Block::Text("下周暂无走访计划。".to_owned())];
    }
    let households: usize = b.plan.iter().map(|d| d.households).sum();
    let checks: usize = b.plan.iter().map(|d| d.village_checks).sum();
    let mut t = Table::new(&[
        ("日期", 1.4, false),
        ("督查组", 2.2, false),
        ("走访农户", 1.0, true),
        ("村级核查", 1.0, true),
        ("途经村", 4.4, false),
    ]);
    for d in &b.plan {
        t.rows.push(vec![
            d.date.clone(),
            d.group.clone(),
            d.households.to_string(),
            d.village_checks.to_string(),
            d.villages.join("、"),
        ]);
    }
    vec![
        Block::Text(format!(
            "下周计划 {} 个组日，走访农户 {households} 户，村级核查 {checks} 次。",
            b.plan.len()
        )),
        Block::Table(t),
    ]
}

fn coverage_blocks(b: &Briefing) -> Vec<Block> {
    let Some(c) = &b.coverage else {
        return vec![Block::Text("暂无帮扶措施记录。".to_owned())];
    };
    let share = |n: i64, d: i64| (d > 0).then(|| n as f64 / d as f64);
    let mut out = vec![Block::Text(format!(
        "{}年，本乡镇政策覆盖户 {} 户，其中享受帮扶措施 {} 户（{}）；全县 {}。",
        c.year,
        c.policy_households.0,
        c.with_measures.0,
        percent(share(c.with_measures.0, c.policy_households.0)),
        percent(share(c.with_measures.1, c.policy_households.1)),
    ))];
    let mut t = Table::new(&[
        ("责任部门", 2.0, false),
        ("覆盖户数", 1.2, true),
        ("措施数", 1.2, true),
        ("本乡镇覆盖率", 1.4, true),
        ("全县覆盖率", 1.4, true),
    ]);
    for d in &c.departments {
        t.rows.push(vec![
            d.department.clone(),
            d.households.to_string(),
            d.measures.to_string(),
            percent(d.rate),
            percent(d.county_rate),
        ]);
    }
    if !t.rows.is_empty() {
        out.push(Block::Table(t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Briefing {
        Briefing {
            county: "新宾满族自治县".into(),
            township_code: "210422101".into(),
            township: "新宾镇".into(),
            made_on: "2019-07-15".into(),
            data_date: "2019-06-30".into(),
            indicators: vec![IndicatorFigure {
                id: "any_problem".into(),
                name: "存在问题".into(),
                count: 12,
                denominator: 400,
                rate: Some(0.03),
                county_count: 300,
                county_rate: Some(0.05),
            }],
            ..Briefing::default()
        }
    }

    #[test]
    fn a_township_without_campaign_says_so_in_every_campaign_section() {
        let blocks = document(&sample());
        let texts: Vec<&str> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(texts.iter().any(|t| t.contains("没有台账")), "{texts:?}");
        assert!(texts.iter().any(|t| t.contains("没有走访记录")));
        assert!(texts.iter().any(|t| t.contains("没有走访计划")));
    }

    #[test]
    fn every_heading_is_in_the_document_in_order() {
        let headings: Vec<String> = document(&sample())
            .into_iter()
            .filter_map(|b| match b {
                Block::Heading(h) => Some(h),
                _ => None,
            })
            .collect();
        assert_eq!(headings, HEADINGS.map(str::to_owned));
    }

    #[test]
    fn rates_are_percent_with_two_decimals_and_differences_in_points() {
        assert_eq!(percent(Some(0.03)), "3.00%");
        assert_eq!(percent(None), "—");
        assert_eq!(points(Some(0.03), Some(0.05)), "-2.00");
        assert_eq!(points(Some(0.05), None), "—");
    }
}
