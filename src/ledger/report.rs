//! Reports of the rectification ledger (问题整改台账): the table a template's document
//! prescribes, as an Excel workbook to file with the township or county office and as a
//! printable page to sign (签字背书).
//!
//! Both formats are rendered from the same rows, so that the page that is signed says what
//! the filed workbook says. Column headers are the documents' own words: seed 002's monthly
//! table (序号 … 责任单位) and seed 003's checklist (类别 … 整改结果). Item numbers (序号)
//! are the sources' own, gaps and unnumbered rows included: readers compare the report with
//! the paper checklist line by line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};

use crate::domain::ledger::{
    Campaign, ChecklistItem, Cycle, Entry, ReportLayout, Signoff, Status, Template,
};
use crate::formats::escape_markup as escape;

/// Name of the ledger sheet.
pub const LEDGER_SHEET: &str = "台账";

/// Name of the summary sheet.
pub const SUMMARY_SHEET: &str = "汇总";

/// Seed 002's monthly table (开发区脱贫攻坚工作问题大排查任务分解月报表), its header row.
pub const LIANYUNGANG_HEADERS: [&str; 7] = [
    "序号",
    "排查项目",
    "排查内容",
    "排查情况",
    "整改措施",
    "整改进度",
    "责任单位",
];

/// Seed 003's checklist (“大排查大起底”排查清单), its header row.
pub const XUCHANG_HEADERS: [&str; 8] = [
    "类别",
    "序号",
    "排查项目",
    "自查问题描述",
    "整改措施",
    "整改期限",
    "责任人",
    "整改结果",
];

/// The village column, first when a report covers several villages.
pub const VILLAGE_HEADER: &str = "村";

/// The sign-off columns that follow the document's own, one per signer of [`Entry`].
pub const SIGNATURE_HEADERS: [&str; 3] = ["村党支部书记签字", "驻村第一书记签字", "督查组组长签字"];

/// Column widths (Excel character units) matching [`LIANYUNGANG_HEADERS`].
const LIANYUNGANG_WIDTHS: [f64; 7] = [6.0, 12.0, 44.0, 30.0, 30.0, 26.0, 16.0];

/// Column widths matching [`XUCHANG_HEADERS`]; 排查项目 carries the item's text, hence wide.
const XUCHANG_WIDTHS: [f64; 8] = [12.0, 6.0, 44.0, 30.0, 30.0, 12.0, 10.0, 26.0];

/// The period a report covers and the day it is made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// How the period is named in the title, e.g. `2019年7月` or `2019年第28周`.
    pub label: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// The day the report is made (填报时间), `YYYY-MM-DD`; deadlines before it are overdue.
    pub today: String,
}

/// What a report covers: one village, a township or the county.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportArea {
    /// Division code of the area.
    pub code: String,
    /// Its name, printed as the reporting unit (填报单位).
    pub name: String,
    /// The villages of the scope, name by code. A village listed here without entries is
    /// reported as not checked (未排查); an entry's village missing here is shown by code.
    pub village_names: BTreeMap<String, String>,
}

/// What can go wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The workbook writer failed.
    #[error("cannot write the ledger workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Item counts by status, with the overdue ones counted again under `overdue`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// 未排查, including village × item pairs without an entry.
    pub not_checked: usize,
    /// 无问题.
    pub no_problem: usize,
    /// 有问题.
    pub problem: usize,
    /// 整改中.
    pub rectifying: usize,
    /// 已整改.
    pub rectified: usize,
    /// 已销号.
    pub closed: usize,
    /// 逾期: 有问题 or 整改中 with a deadline before the report's day (part of those two).
    pub overdue: usize,
    /// All village × item pairs counted.
    pub total: usize,
}

impl Counts {
    /// The count of one status.
    #[must_use]
    pub fn get(&self, status: Status) -> usize {
        match status {
            Status::NotChecked => self.not_checked,
            Status::NoProblem => self.no_problem,
            Status::Problem => self.problem,
            Status::Rectifying => self.rectifying,
            Status::Rectified => self.rectified,
            Status::Closed => self.closed,
        }
    }

    fn add(&mut self, status: Status, overdue: bool) {
        let slot = match status {
            Status::NotChecked => &mut self.not_checked,
            Status::NoProblem => &mut self.no_problem,
            Status::Problem => &mut self.problem,
            Status::Rectifying => &mut self.rectifying,
            Status::Rectified => &mut self.rectified,
            Status::Closed => &mut self.closed,
        };
        *slot += 1;
        self.overdue += usize::from(overdue);
        self.total += 1;
    }
}

/// The counts of one category of the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryCounts {
    /// The category as the template names it.
    pub category: String,
    /// Its counts over all villages.
    pub counts: Counts,
}

/// The counts of one village.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VillageCounts {
    /// The village code.
    pub village_code: String,
    /// Its counts over all items.
    pub counts: Counts,
}

/// Counts of a ledger by status, category and village (汇总).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    /// The day overdue is judged against, `YYYY-MM-DD`.
    pub today: String,
    /// All villages × items.
    pub total: Counts,
    /// By template category, in template order (every category, counted or not).
    pub by_category: Vec<CategoryCounts>,
    /// By village, in code order.
    pub by_village: Vec<VillageCounts>,
}

/// Counts the ledger of the villages that have entries: every template item of each such
/// village is counted once, as 未排查 where it has no entry. Entries for items the template
/// does not have are ignored; of two entries for the same village × item the higher
/// version counts.
#[must_use]
pub fn summary(template: &Template, entries: &[Entry], today: &str) -> Summary {
    let villages: BTreeSet<&str> = entries.iter().map(|e| e.village_code.as_str()).collect();
    let villages: Vec<&str> = villages.into_iter().collect();
    tally(template, &index(entries), &villages, today)
}

/// The ledger as an `.xlsx` workbook: sheet 台账 in the layout the template's document
/// prescribes, with a village column when the scope has several villages, and sheet 汇总
/// with the counts. Every item of every village of the scope is listed.
///
/// # Errors
/// [`ReportError::Xlsx`] if the workbook cannot be written.
pub fn xlsx(
    campaign: &Campaign,
    template: &Template,
    entries: &[Entry],
    scope: &ReportArea,
    period: &Period,
) -> Result<Vec<u8>, ReportError> {
    let report = Report::new(campaign, template, entries, scope, period);
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    write_ledger(workbook.add_worksheet(), &formats, &report)?;
    write_summary(workbook.add_worksheet(), &formats, &report)?;
    Ok(workbook.save_to_buffer()?)
}

/// The ledger as a standalone printable page (A4 landscape): the same table and summary as
/// [`xlsx`], then blank lines for the signatures on paper.
#[must_use]
pub fn html(
    campaign: &Campaign,
    template: &Template,
    entries: &[Entry],
    scope: &ReportArea,
    period: &Period,
) -> String {
    let report = Report::new(campaign, template, entries, scope, period);
    let mut out = String::with_capacity(4096 + report.rows.len() * 512);
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&report.title));
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&report.title));
    let _ = writeln!(
        out,
        "<p class=\"meta\"><span>{}</span><span>{}</span><span>{}</span></p>",
        escape(&report.unit),
        escape(&report.date),
        escape(&report.span)
    );
    html_ledger(&mut out, &report);
    html_summary(&mut out, &report);
    out.push_str(SIGNATURE_LINES);
    out.push_str("</body>\n</html>\n");
    out
}

/// One column of the ledger table.
struct Column {
    header: &'static str,
    width: f64,
    /// Short codes (序号, dates) read better centred; text wraps at the left.
    centred: bool,
}

/// Everything both formats print, computed once.
struct Report {
    title: String,
    summary_title: String,
    unit: String,
    date: String,
    span: String,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
    /// Village code and name, in code order.
    villages: Vec<(String, String)>,
    summary: Summary,
}

impl Report {
    fn new(
        campaign: &Campaign,
        template: &Template,
        entries: &[Entry],
        scope: &ReportArea,
        period: &Period,
    ) -> Self {
        let index = index(entries);
        let villages = villages(scope, entries);
        let codes: Vec<&str> = villages.iter().map(|(code, _)| code.as_str()).collect();
        let summary = tally(template, &index, &codes, &period.today);
        let (columns, rows) = ledger(template, &index, &villages, &period.today);
        let title = match template.report_layout {
            ReportLayout::Lianyungang => {
                let kind = match campaign.cycle {
                    Cycle::Weekly => "周报表",
                    Cycle::Monthly => "月报表",
                };
                format!("{} 问题排查整改{kind}（{}）", campaign.name, period.label)
            }
            ReportLayout::Xuchang => format!("{} 问题整改台账（{}）", campaign.name, period.label),
        };
        Self {
            title,
            summary_title: format!("{} 排查整改情况汇总（{}）", campaign.name, period.label),
            // 填报单位 and 填报时间 are the words of seed 002's table head.
            unit: format!("填报单位：{}", scope.name),
            date: format!("填报时间：{}", date_zh(&period.today)),
            span: format!("报告期：{} 至 {}", period.from, period.to),
            columns,
            rows,
            villages,
            summary,
        }
    }

    fn several_villages(&self) -> bool {
        self.villages.len() > 1
    }
}

/// `2019-07-31` as the seeds write dates on forms, `2019年7月31日`; anything else as is.
fn date_zh(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    if let [y, m, d] = parts.as_slice()
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>())
    {
        return format!("{y}年{m}月{d}日");
    }
    date.to_owned()
}

/// Entries by village and item; of two for the same pair the higher version wins, as it
/// would in the store.
fn index(entries: &[Entry]) -> HashMap<(&str, u32), &Entry> {
    let mut map: HashMap<(&str, u32), &Entry> = HashMap::with_capacity(entries.len());
    for entry in entries {
        map.entry((entry.village_code.as_str(), entry.position))
            .and_modify(|kept| {
                if entry.version > kept.version {
                    *kept = entry;
                }
            })
            .or_insert(entry);
    }
    map
}

/// The scope's villages and those of the entries, in code order. A scope that knows no
/// village stands for itself, so that a report made before anything was entered is the
/// blank form with every item 未排查.
fn villages(scope: &ReportArea, entries: &[Entry]) -> Vec<(String, String)> {
    let mut map: BTreeMap<&str, &str> = scope
        .village_names
        .iter()
        .map(|(code, name)| (code.as_str(), name.as_str()))
        .collect();
    for entry in entries {
        map.entry(entry.village_code.as_str())
            .or_insert(entry.village_code.as_str());
    }
    if map.is_empty() {
        return vec![(scope.code.clone(), scope.name.clone())];
    }
    map.into_iter()
        .map(|(code, name)| (code.to_owned(), name.to_owned()))
        .collect()
}

fn tally(
    template: &Template,
    index: &HashMap<(&str, u32), &Entry>,
    villages: &[&str],
    today: &str,
) -> Summary {
    let mut total = Counts::default();
    let mut by_category: Vec<CategoryCounts> = template
        .categories()
        .into_iter()
        .map(|(category, _)| CategoryCounts {
            category,
            counts: Counts::default(),
        })
        .collect();
    let mut by_village = Vec::with_capacity(villages.len());
    for &village in villages {
        let mut counts = Counts::default();
        for item in &template.items {
            let entry = index.get(&(village, item.position)).copied();
            let status = entry.map_or(Status::NotChecked, |e| e.status);
            let overdue = entry.is_some_and(|e| e.is_overdue(today));
            counts.add(status, overdue);
            total.add(status, overdue);
            if let Some(c) = by_category.iter_mut().find(|c| c.category == item.category) {
                c.counts.add(status, overdue);
            }
        }
        by_village.push(VillageCounts {
            village_code: village.to_owned(),
            counts,
        });
    }
    Summary {
        today: today.to_owned(),
        total,
        by_category,
        by_village,
    }
}

/// The columns and rows of the ledger: villages in code order, each with every item in
/// template order.
fn ledger(
    template: &Template,
    index: &HashMap<(&str, u32), &Entry>,
    villages: &[(String, String)],
    today: &str,
) -> (Vec<Column>, Vec<Vec<String>>) {
    let several = villages.len() > 1;
    let mut columns = Vec::new();
    if several {
        columns.push(Column {
            header: VILLAGE_HEADER,
            width: 12.0,
            centred: false,
        });
    }
    let own: Vec<(&'static str, f64)> = match template.report_layout {
        ReportLayout::Lianyungang => LIANYUNGANG_HEADERS
            .into_iter()
            .zip(LIANYUNGANG_WIDTHS)
            .collect(),
        ReportLayout::Xuchang => XUCHANG_HEADERS.into_iter().zip(XUCHANG_WIDTHS).collect(),
    };
    columns.extend(own.into_iter().map(|(header, width)| Column {
        header,
        width,
        centred: matches!(header, "序号" | "整改期限"),
    }));
    columns.extend(SIGNATURE_HEADERS.into_iter().map(|header| Column {
        header,
        width: 14.0,
        centred: false,
    }));
    let mut rows = Vec::with_capacity(villages.len() * template.items.len());
    for (code, name) in villages {
        for item in &template.items {
            let entry = index.get(&(code.as_str(), item.position)).copied();
            let mut row = Vec::with_capacity(columns.len());
            if several {
                row.push(name.clone());
            }
            match template.report_layout {
                ReportLayout::Lianyungang => row.extend(lianyungang_row(item, entry, today)),
                ReportLayout::Xuchang => row.extend(xuchang_row(item, entry, today)),
            }
            row.extend(entry.map_or_else(
                || [String::new(), String::new(), String::new()],
                |e| {
                    [&e.secretary, &e.first_secretary, &e.group_leader]
                        .map(|s| s.as_ref().map_or_else(String::new, signature))
                },
            ));
            rows.push(row);
        }
    }
    (columns, rows)
}

fn signature(signoff: &Signoff) -> String {
    format!("{} {}", signoff.who, signoff.at)
}

/// A text field, empty when absent or blank.
fn text(field: Option<&String>) -> String {
    field.map_or_else(String::new, |s| s.trim().to_owned())
}

/// What the check found: the status, then the problem described.
fn finding(entry: Option<&Entry>) -> String {
    let Some(entry) = entry else {
        return Status::NotChecked.label_zh().to_owned();
    };
    let problem = text(entry.problem.as_ref());
    if problem.is_empty() {
        entry.status.label_zh().to_owned()
    } else {
        format!("{}：{problem}", entry.status.label_zh())
    }
}

/// Where the rectification stands: status, deadline (when the layout has no column for
/// it), whether overdue, and the result written so far.
fn progress(entry: Option<&Entry>, today: &str, with_deadline: bool) -> String {
    let Some(entry) = entry else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if !matches!(entry.status, Status::NotChecked | Status::NoProblem) {
        parts.push(entry.status.label_zh().to_owned());
    }
    let deadline = text(entry.deadline.as_ref());
    if with_deadline && !deadline.is_empty() {
        parts.push(format!("整改期限：{deadline}"));
    }
    if entry.is_overdue(today) {
        parts.push("已逾期".to_owned());
    }
    let result = text(entry.result.as_ref());
    if !result.is_empty() {
        parts.push(result);
    }
    parts.join("；")
}

fn lianyungang_row(item: &ChecklistItem, entry: Option<&Entry>, today: &str) -> [String; 7] {
    [
        text(item.number.as_ref()),
        text(item.item.as_ref()),
        item.content.clone(),
        finding(entry),
        text(entry.and_then(|e| e.measure.as_ref())),
        progress(entry, today, true),
        text(item.responsible_unit.as_ref()),
    ]
}

fn xuchang_row(item: &ChecklistItem, entry: Option<&Entry>, today: &str) -> [String; 8] {
    let category = match &item.category_no {
        Some(no) => format!("{no} {}", item.category),
        None => item.category.clone(),
    };
    // Seed 003's 自查问题描述 column holds the check itself on the blank list; in the
    // ledger it holds what was found, so the check goes under its heading in 排查项目.
    let checked = match &item.item {
        Some(heading) => format!("{heading}\n{}", item.content),
        None => item.content.clone(),
    };
    [
        category,
        text(item.number.as_ref()),
        checked,
        finding(entry),
        text(entry.and_then(|e| e.measure.as_ref())),
        text(entry.and_then(|e| e.deadline.as_ref())),
        text(entry.and_then(|e| e.responsible.as_ref())),
        progress(entry, today, false),
    ]
}

/// The cell formats of both sheets.
struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    text: Format,
    centred: Format,
    number: Format,
    total_label: Format,
    total_number: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter)
            .set_text_wrap();
        Self {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            subtitle: Format::new().set_align(FormatAlign::VerticalCenter),
            header: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(0x00DD_EBF7)),
            text: cell.clone().set_align(FormatAlign::Left),
            centred: cell.clone().set_align(FormatAlign::Center),
            number: cell.clone().set_align(FormatAlign::Right),
            total_label: cell.clone().set_bold().set_align(FormatAlign::Center),
            total_number: cell.set_bold().set_align(FormatAlign::Right),
        }
    }
}

/// The row of the ledger's header; title and sub-title are above it.
const LEDGER_HEADER_ROW: u32 = 2;

fn write_ledger(sheet: &mut Worksheet, f: &Formats, report: &Report) -> Result<(), XlsxError> {
    sheet.set_name(LEDGER_SHEET)?;
    let last = (report.columns.len() - 1) as u16;
    sheet.merge_range(0, 0, 0, last, &report.title, &f.title)?;
    sheet.set_row_height(0, 32)?;
    let subtitle = format!("{}　　{}　　{}", report.unit, report.date, report.span);
    sheet.merge_range(1, 0, 1, last, &subtitle, &f.subtitle)?;
    sheet.set_row_height(1, 20)?;
    for (col, column) in report.columns.iter().enumerate() {
        let col = col as u16;
        sheet.set_column_width(col, column.width)?;
        sheet.write_string_with_format(LEDGER_HEADER_ROW, col, column.header, &f.header)?;
    }
    for (index, row) in report.rows.iter().enumerate() {
        let row_no = LEDGER_HEADER_ROW + 1 + index as u32;
        for (col, (cell, column)) in row.iter().zip(&report.columns).enumerate() {
            let format = if column.centred { &f.centred } else { &f.text };
            if cell.is_empty() {
                sheet.write_blank(row_no, col as u16, format)?;
            } else {
                sheet.write_string_with_format(row_no, col as u16, cell, format)?;
            }
        }
    }
    sheet.set_freeze_panes(LEDGER_HEADER_ROW + 1, 0)?;
    print_setup(sheet, LEDGER_HEADER_ROW)
}

fn print_setup(sheet: &mut Worksheet, header_row: u32) -> Result<(), XlsxError> {
    // Paper size 9 is A4; forms are filed on A4 landscape, one page wide.
    sheet
        .set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, header_row)?;
    Ok(())
}

/// The summary's header row: the group, the six statuses, 逾期, 合计.
fn count_headers(group: &str) -> Vec<&str> {
    let mut headers = vec![group];
    headers.extend(Status::ALL.iter().map(|s| s.label_zh()));
    headers.extend(["逾期", "合计"]);
    headers
}

/// The summary's first table header row.
const SUMMARY_HEADER_ROW: u32 = 3;

fn write_summary(sheet: &mut Worksheet, f: &Formats, report: &Report) -> Result<(), XlsxError> {
    sheet.set_name(SUMMARY_SHEET)?;
    let last = count_headers("").len() as u16 - 1;
    sheet.merge_range(0, 0, 0, last, &report.summary_title, &f.title)?;
    sheet.set_row_height(0, 32)?;
    let note = format!(
        "{}　　{}　　逾期：有问题或整改中且整改期限早于填报时间",
        report.unit, report.date
    );
    sheet.merge_range(1, 0, 1, last, &note, &f.subtitle)?;
    sheet.set_column_width(0, 24)?;
    for col in 1..=last {
        sheet.set_column_width(col, 9)?;
    }
    let summary = &report.summary;
    let categories: Vec<(&str, &Counts)> = summary
        .by_category
        .iter()
        .map(|c| (c.category.as_str(), &c.counts))
        .collect();
    let mut row = write_counts(
        sheet,
        f,
        SUMMARY_HEADER_ROW,
        "类别",
        &categories,
        &summary.total,
    )?;
    if report.several_villages() {
        let villages: Vec<(&str, &Counts)> = report
            .villages
            .iter()
            .zip(&summary.by_village)
            .map(|((_, name), v)| (name.as_str(), &v.counts))
            .collect();
        row += 1;
        write_counts(sheet, f, row, VILLAGE_HEADER, &villages, &summary.total)?;
    }
    sheet.set_freeze_panes(SUMMARY_HEADER_ROW + 1, 0)?;
    print_setup(sheet, SUMMARY_HEADER_ROW)
}

/// Writes one counts table from `first_row` with a totals row; returns the next free row.
fn write_counts(
    sheet: &mut Worksheet,
    f: &Formats,
    first_row: u32,
    group: &str,
    groups: &[(&str, &Counts)],
    total: &Counts,
) -> Result<u32, XlsxError> {
    for (col, header) in count_headers(group).into_iter().enumerate() {
        sheet.write_string_with_format(first_row, col as u16, header, &f.header)?;
    }
    let mut row = first_row + 1;
    for (name, counts) in groups {
        sheet.write_string_with_format(row, 0, *name, &f.text)?;
        for (col, value) in count_values(counts).into_iter().enumerate() {
            sheet.write_number_with_format(row, col as u16 + 1, value as f64, &f.number)?;
        }
        row += 1;
    }
    sheet.write_string_with_format(row, 0, "合计", &f.total_label)?;
    for (col, value) in count_values(total).into_iter().enumerate() {
        sheet.write_number_with_format(row, col as u16 + 1, value as f64, &f.total_number)?;
    }
    Ok(row + 1)
}

/// The numbers of a counts row, in [`count_headers`] order.
fn count_values(counts: &Counts) -> Vec<usize> {
    let mut values: Vec<usize> = Status::ALL.iter().map(|&s| counts.get(s)).collect();
    values.extend([counts.overdue, counts.total]);
    values
}

/// Print-first styling: A4 landscape, the header repeated on every page, no colour that
/// a black-and-white printer would lose.
const STYLE: &str = r#"<style>
@page { size: A4 landscape; margin: 10mm; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 10pt; color: #000; margin: 16px; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 8px; }
h2 { font-size: 13pt; text-align: center; margin: 20px 0 8px; }
.meta { display: flex; justify-content: space-between; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
table.ledger { table-layout: fixed; }
th, td { border: 1px solid #000; padding: 2px 4px; vertical-align: middle; overflow-wrap: anywhere; }
th { background: #ddebf7; text-align: center; }
td.c { text-align: center; }
td.n { text-align: right; }
tr.total td { font-weight: bold; }
.signatures { display: flex; justify-content: space-between; margin-top: 28px; font-size: 11pt; }
.signatures .line { display: inline-block; width: 9em; border-bottom: 1px solid #000; }
@media print {
  body { margin: 0; font-size: 9pt; }
  th { background: none; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .summary { break-before: page; }
  .signatures { break-inside: avoid; }
}
</style>
"#;

/// The lines signed by hand on the printed ledger.
const SIGNATURE_LINES: &str = "<p class=\"signatures\">\
<span>村党支部书记：<span class=\"line\"></span></span>\
<span>驻村第一书记：<span class=\"line\"></span></span>\
<span>督查组组长：<span class=\"line\"></span></span>\
<span>日期：<span class=\"line\"></span></span>\
</p>\n";

fn html_ledger(out: &mut String, report: &Report) {
    let total: f64 = report.columns.iter().map(|c| c.width).sum();
    out.push_str("<table class=\"ledger\">\n<colgroup>");
    for column in &report.columns {
        let _ = write!(
            out,
            "<col style=\"width:{:.1}%\">",
            column.width * 100.0 / total
        );
    }
    out.push_str("</colgroup>\n<thead><tr>");
    for column in &report.columns {
        let _ = write!(out, "<th>{}</th>", escape(column.header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &report.rows {
        out.push_str("<tr>");
        for (cell, column) in row.iter().zip(&report.columns) {
            let class = if column.centred { " class=\"c\"" } else { "" };
            let _ = write!(
                out,
                "<td{class}>{}</td>",
                escape(cell).replace('\n', "<br>")
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn html_summary(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "<section class=\"summary\">\n<h2>{}</h2>\n<p>{}　逾期：有问题或整改中且整改期限早于填报时间</p>",
        escape(&report.summary_title),
        escape(&report.date)
    );
    let summary = &report.summary;
    let categories: Vec<(&str, &Counts)> = summary
        .by_category
        .iter()
        .map(|c| (c.category.as_str(), &c.counts))
        .collect();
    html_counts(out, "类别", &categories, &summary.total);
    if report.several_villages() {
        let villages: Vec<(&str, &Counts)> = report
            .villages
            .iter()
            .zip(&summary.by_village)
            .map(|((_, name), v)| (name.as_str(), &v.counts))
            .collect();
        html_counts(out, VILLAGE_HEADER, &villages, &summary.total);
    }
    out.push_str("</section>\n");
}

fn html_counts(out: &mut String, group: &str, groups: &[(&str, &Counts)], total: &Counts) {
    out.push_str("<table class=\"counts\">\n<thead><tr>");
    for header in count_headers(group) {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let rows = groups.iter().map(|(name, counts)| ("", *name, *counts));
    for (class, name, counts) in rows.chain([(" class=\"total\"", "合计", total)]) {
        let _ = write!(out, "<tr{class}><td>{}</td>", escape(name));
        for value in count_values(counts) {
            let _ = write!(out, "<td class=\"n\">{value}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};

    use super::super::checklist::builtin;
    use super::*;

    const V1: &str = "210422100201";
    const V2: &str = "210422100202";

    fn template(id: &str) -> Template {
        builtin().unwrap().into_iter().find(|t| t.id == id).unwrap()
    }

    fn campaign(cycle: Cycle) -> Campaign {
        Campaign {
            id: "xinbin-2019-07".into(),
            name: "新宾县2019年脱贫攻坚问题大排查".into(),
            template_id: "lianyungang-2019".into(),
            area_code: "210422100000".into(),
            starts: "2019-07-01".into(),
            ends: "2019-07-31".into(),
            cycle,
            due_day: 4,
        }
    }

    fn period() -> Period {
        Period {
            label: "2019年7月".into(),
            from: "2019-07-01".into(),
            to: "2019-07-31".into(),
            today: "2019-07-31".into(),
        }
    }

    fn scope(villages: &[(&str, &str)]) -> ReportArea {
        ReportArea {
            code: "210422100000".into(),
            name: "永陵镇".into(),
            village_names: villages
                .iter()
                .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
                .collect(),
        }
    }

    fn entry(village: &str, position: u32, status: Status) -> Entry {
        Entry {
            status,
            ..Entry::unchecked(
                "xinbin-2019-07",
                village,
                position,
                "tester",
                "2019-07-20T08:00:00+08:00",
            )
        }
    }

    fn sign(who: &str) -> Signoff {
        Signoff {
            who: who.into(),
            at: "2019-07-30".into(),
        }
    }

    /// Six counted entries over two villages (two overdue), a superseded version, and an
    /// entry for an item the template does not have.
    fn entries() -> Vec<Entry> {
        let mut problem = entry(V1, 1, Status::Problem);
        problem.problem = Some("宣传册未发放到位".into());
        problem.measure = Some("本周内补发并入户讲解".into());
        problem.deadline = Some("2019-07-20".into());
        let mut rectifying = entry(V1, 2, Status::Rectifying);
        rectifying.deadline = Some("2019-08-15".into());
        rectifying.result = Some("已走访12户".into());
        let mut stale = entry(V1, 3, Status::Problem);
        stale.deadline = Some("2019-07-01".into());
        let mut checked = entry(V1, 3, Status::NoProblem);
        checked.version = 2;
        let mut closed = entry(V1, 22, Status::Closed);
        closed.secretary = Some(sign("李春生"));
        closed.first_secretary = Some(sign("赵志远"));
        closed.group_leader = Some(sign("孙立军"));
        let mut script = entry(V2, 5, Status::Rectifying);
        script.problem = Some("<script>alert(1)</script>".into());
        script.deadline = Some("2019-07-30".into());
        vec![
            script,
            entry(V2, 37, Status::Rectified),
            closed,
            checked,
            stale,
            rectifying,
            problem,
            entry(V2, 99, Status::Problem),
        ]
    }

    fn two_villages() -> ReportArea {
        scope(&[(V2, "腰站村"), (V1, "上营村")])
    }

    fn read(bytes: Vec<u8>) -> (Vec<String>, Range<Data>, Range<Data>) {
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let names = book.sheet_names();
        let ledger = book.worksheet_range(LEDGER_SHEET).unwrap();
        let summary = book.worksheet_range(SUMMARY_SHEET).unwrap();
        (names, ledger, summary)
    }

    fn cell(range: &Range<Data>, row: u32, col: u32) -> String {
        match range.get_value((row, col)) {
            None | Some(Data::Empty) => String::new(),
            Some(Data::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    fn row(range: &Range<Data>, row: u32) -> Vec<String> {
        (0..=range.end().unwrap().1)
            .map(|col| cell(range, row, col))
            .collect()
    }

    fn number(range: &Range<Data>, row: u32, col: u32) -> f64 {
        match range.get_value((row, col)) {
            Some(Data::Float(n)) => *n,
            other => panic!("no number at ({row}, {col}): {other:?}"),
        }
    }

    /// The row of the sheet whose first cell is `label`, from `from` on.
    fn find_row(range: &Range<Data>, label: &str, from: u32) -> u32 {
        (from..=range.end().unwrap().0)
            .find(|&r| cell(range, r, 0) == label)
            .unwrap()
    }

    fn counts_row(range: &Range<Data>, row: u32) -> Vec<f64> {
        (1..=8).map(|col| number(range, row, col)).collect()
    }

    fn lianyungang_xlsx(scope: &ReportArea) -> Vec<u8> {
        let t = template("lianyungang-2019");
        xlsx(&campaign(Cycle::Monthly), &t, &entries(), scope, &period()).unwrap()
    }

    #[test]
    fn lianyungang_two_villages_has_seed_002_columns_and_a_village_column() {
        let (names, ledger, _) = read(lianyungang_xlsx(&two_villages()));
        assert_eq!(names, [LEDGER_SHEET, SUMMARY_SHEET]);
        assert_eq!(
            cell(&ledger, 0, 0),
            "新宾县2019年脱贫攻坚问题大排查 问题排查整改月报表（2019年7月）"
        );
        let subtitle = cell(&ledger, 1, 0);
        assert!(subtitle.contains("填报单位：永陵镇"), "{subtitle}");
        assert!(subtitle.contains("填报时间：2019年7月31日"), "{subtitle}");
        assert_eq!(
            row(&ledger, 2),
            [
                "村",
                "序号",
                "排查项目",
                "排查内容",
                "排查情况",
                "整改措施",
                "整改进度",
                "责任单位",
                "村党支部书记签字",
                "驻村第一书记签字",
                "督查组组长签字",
            ]
        );
        // 37 items for each village, villages in code order.
        assert_eq!(ledger.end().unwrap().0, 2 + 74);
        assert_eq!(cell(&ledger, 3, 0), "上营村");
        assert_eq!(cell(&ledger, 3 + 36, 0), "上营村");
        assert_eq!(cell(&ledger, 3 + 37, 0), "腰站村");
        for i in 0..37 {
            assert_eq!(cell(&ledger, 3 + i, 1), (i + 1).to_string());
            assert_eq!(cell(&ledger, 40 + i, 1), (i + 1).to_string());
        }
        let first = row(&ledger, 3);
        assert_eq!(first[2], "责任落实");
        assert!(first[3].starts_with("各街道是否做好进度安排"));
        assert_eq!(first[4], "有问题：宣传册未发放到位");
        assert_eq!(first[5], "本周内补发并入户讲解");
        assert_eq!(first[6], "有问题；整改期限：2019-07-20；已逾期");
        assert_eq!(first[7], "各街道");
        assert_eq!(
            cell(&ledger, 4, 6),
            "整改中；整改期限：2019-08-15；已走访12户"
        );
        // The later version of item 3 counts.
        assert_eq!(cell(&ledger, 5, 4), "无问题");
        assert_eq!(cell(&ledger, 6, 4), "未排查");
        let closed = row(&ledger, 3 + 21);
        assert_eq!(
            closed[8..],
            [
                "李春生 2019-07-30",
                "赵志远 2019-07-30",
                "孙立军 2019-07-30"
            ]
        );
        assert_eq!(
            cell(&ledger, 40 + 4, 4),
            "整改中：<script>alert(1)</script>"
        );
    }

    #[test]
    fn one_village_has_no_village_column() {
        let t = template("lianyungang-2019");
        let mine: Vec<Entry> = entries()
            .into_iter()
            .filter(|e| e.village_code == V1)
            .collect();
        let one = scope(&[(V1, "上营村")]);
        let bytes = xlsx(&campaign(Cycle::Weekly), &t, &mine, &one, &period()).unwrap();
        let (_, ledger, sheet) = read(bytes);
        assert!(cell(&ledger, 0, 0).ends_with("问题排查整改周报表（2019年7月）"));
        assert_eq!(row(&ledger, 2)[..2], ["序号", "排查项目"]);
        assert_eq!(row(&ledger, 2).len(), 7 + 3);
        assert_eq!(ledger.end().unwrap().0, 2 + 37);
        assert_eq!(cell(&ledger, 3, 0), "1");
        assert_eq!(cell(&ledger, 3, 3), "有问题：宣传册未发放到位");
        // No per-village table either.
        let total = find_row(&sheet, "合计", SUMMARY_HEADER_ROW);
        assert_eq!(total, sheet.end().unwrap().0);

        // Entries of a village the scope does not name still show, under its code.
        let (_, ledger, sheet) = read(lianyungang_xlsx(&one));
        assert_eq!(cell(&ledger, 2, 0), "村");
        assert_eq!(cell(&ledger, 3 + 37, 0), V2);
        assert!(find_row(&sheet, "村", SUMMARY_HEADER_ROW) > total);
    }

    #[test]
    fn xuchang_keeps_source_numbers_gaps_and_unnumbered_rows() {
        let t = template("xuchang-2022");
        let mut water = entry(V1, 38, Status::Problem);
        water.problem = Some("2户饮用水检测未达标".into());
        water.measure = Some("更换净水设备".into());
        water.deadline = Some("2022-04-15".into());
        water.responsible = Some("王建国".into());
        let mut green = entry(V1, 54, Status::Rectified);
        green.result = Some("已植树200株".into());
        let mut period = period();
        period.label = "2022年第14周".into();
        period.today = "2022-04-08".into();
        let bytes = xlsx(
            &campaign(Cycle::Weekly),
            &t,
            &[water, green],
            &scope(&[(V1, "上营村")]),
            &period,
        )
        .unwrap();
        let (_, ledger, _) = read(bytes);
        assert_eq!(
            cell(&ledger, 0, 0),
            "新宾县2019年脱贫攻坚问题大排查 问题整改台账（2022年第14周）"
        );
        assert_eq!(
            row(&ledger, 2),
            [
                "类别",
                "序号",
                "排查项目",
                "自查问题描述",
                "整改措施",
                "整改期限",
                "责任人",
                "整改结果",
                "村党支部书记签字",
                "驻村第一书记签字",
                "督查组组长签字",
            ]
        );
        assert_eq!(ledger.end().unwrap().0, 2 + 60);
        let numbers: Vec<String> = (0..60).map(|i| cell(&ledger, 3 + i, 1)).collect();
        let expected: Vec<String> = t
            .items
            .iter()
            .map(|i| i.number.clone().unwrap_or_default())
            .collect();
        assert_eq!(numbers, expected);
        // Position 37 is 37, then the source jumps to 44; position 54 has no number.
        assert_eq!((numbers[36].as_str(), numbers[37].as_str()), ("37", "44"));
        assert_eq!(numbers[53], "");
        let water = row(&ledger, 3 + 37);
        assert_eq!(water[0], "四 “三保”方面");
        assert_eq!(water[2], "脱贫人口和监测对象家庭饮用水是否达标。");
        assert_eq!(
            water[3..8],
            [
                "有问题：2户饮用水检测未达标",
                "更换净水设备",
                "2022-04-15",
                "王建国",
                "有问题"
            ]
        );
        let green = row(&ledger, 3 + 53);
        assert!(
            green[2].starts_with("“增绿”\n是否开展植树增绿"),
            "{}",
            green[2]
        );
        assert_eq!(green[7], "已整改；已植树200株");
        assert_eq!(cell(&ledger, 3, 3), "未排查");
    }

    #[test]
    fn summary_counts_statuses_categories_villages_and_overdue() {
        let t = template("lianyungang-2019");
        let s = summary(&t, &entries(), "2019-07-31");
        let expected_total = Counts {
            not_checked: 68,
            no_problem: 1,
            problem: 1,
            rectifying: 2,
            rectified: 1,
            closed: 1,
            overdue: 2,
            total: 74,
        };
        assert_eq!(s.total, expected_total);
        let categories: Vec<(&str, usize, usize, usize)> = s
            .by_category
            .iter()
            .map(|c| {
                (
                    c.category.as_str(),
                    c.counts.total,
                    c.counts.not_checked,
                    c.counts.overdue,
                )
            })
            .collect();
        assert_eq!(
            categories,
            [
                ("三落实", 24, 20, 2),
                ("三精准", 18, 18, 0),
                ("三保障", 30, 29, 0),
                ("其他方面", 2, 1, 0)
            ]
        );
        let villages: Vec<(&str, usize, usize)> = s
            .by_village
            .iter()
            .map(|v| {
                (
                    v.village_code.as_str(),
                    v.counts.not_checked,
                    v.counts.overdue,
                )
            })
            .collect();
        assert_eq!(villages, [(V1, 33, 1), (V2, 35, 1)]);
        // A day before the first deadline, nothing is overdue.
        assert_eq!(summary(&t, &entries(), "2019-07-20").total.overdue, 0);
    }

    #[test]
    fn summary_sheet_has_the_same_counts() {
        let (_, _, sheet) = read(lianyungang_xlsx(&two_villages()));
        assert_eq!(
            row(&sheet, SUMMARY_HEADER_ROW)[..9],
            [
                "类别",
                "未排查",
                "无问题",
                "有问题",
                "整改中",
                "已整改",
                "已销号",
                "逾期",
                "合计"
            ]
        );
        let first = SUMMARY_HEADER_ROW + 1;
        assert_eq!(cell(&sheet, first, 0), "三落实");
        assert_eq!(
            counts_row(&sheet, first),
            [20.0, 1.0, 1.0, 2.0, 0.0, 0.0, 2.0, 24.0]
        );
        let total = find_row(&sheet, "合计", first);
        assert_eq!(total, first + 4);
        assert_eq!(
            counts_row(&sheet, total),
            [68.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 74.0]
        );
        let villages = find_row(&sheet, "村", total);
        assert_eq!(cell(&sheet, villages + 1, 0), "上营村");
        assert_eq!(
            counts_row(&sheet, villages + 1),
            [33.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 37.0]
        );
        assert_eq!(cell(&sheet, villages + 2, 0), "腰站村");
        assert_eq!(
            counts_row(&sheet, villages + 2),
            [35.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 37.0]
        );
        assert_eq!(counts_row(&sheet, villages + 3), counts_row(&sheet, total));
    }

    #[test]
    fn a_scope_without_villages_is_the_blank_form() {
        let t = template("xuchang-2022");
        let s = ReportArea {
            code: V1.into(),
            name: "上营村".into(),
            village_names: BTreeMap::new(),
        };
        let (_, ledger, sheet) =
            read(xlsx(&campaign(Cycle::Weekly), &t, &[], &s, &period()).unwrap());
        assert_eq!(ledger.end().unwrap().0, 2 + 60);
        assert_eq!(cell(&ledger, 2, 0), "类别");
        let total = find_row(&sheet, "合计", SUMMARY_HEADER_ROW);
        assert_eq!(
            counts_row(&sheet, total),
            [60.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 60.0]
        );
    }

    #[test]
    fn html_is_a_standalone_escaped_printable_page() {
        let t = template("lianyungang-2019");
        let page = html(
            &campaign(Cycle::Monthly),
            &t,
            &entries(),
            &two_villages(),
            &period(),
        );
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(
            page.contains(
                "<h1>新宾县2019年脱贫攻坚问题大排查 问题排查整改月报表（2019年7月）</h1>"
            )
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script"));
        assert!(page.contains("@media print"));
        assert!(page.contains("size: A4 landscape"));
        for name in ["上营村", "腰站村"] {
            assert!(page.contains(&format!("<td>{name}</td>")), "{name}");
        }
        for header in LIANYUNGANG_HEADERS.iter().chain(&SIGNATURE_HEADERS) {
            assert!(page.contains(&format!("<th>{header}</th>")), "{header}");
        }
        for label in ["村党支部书记：", "驻村第一书记：", "督查组组长：", "日期："]
        {
            assert!(
                page.contains(&format!("<span>{label}<span class=\"line\"></span></span>")),
                "{label}"
            );
        }
        assert!(page.contains("<td class=\"n\">74</td>"));
        assert!(!page.contains("http"), "no external resources");
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("村民“两不愁”"), "村民“两不愁”");
    }

    #[test]
    fn dates_read_as_on_forms() {
        assert_eq!(date_zh("2019-07-04"), "2019年7月4日");
        assert_eq!(date_zh("2019年7月"), "2019年7月");
    }
}
