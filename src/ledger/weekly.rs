//! The weekly report to the leading group (周报, seed 003's 周报制度; seed 000's groups
//! report weekly): per township and per inspection group, each figure cumulative with
//! the week's change beside it, and the signature block seed 003 asks for
//! (党政分管负责同志签字, 填报单位, 填报时间). XLSX for filing, HTML for printing.

use std::fmt::Write as _;

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::progress::{Figures, Progress, ProgressRow};
use crate::domain::ledger::Campaign;
use crate::formats::escape_markup as escape;

/// The townships' sheet.
pub const TOWNSHIP_SHEET: &str = "乡镇进度";
/// The groups' sheet.
pub const GROUP_SHEET: &str = "督查组进度";

/// The figures of the report, in column order: each is written cumulative, then the
/// week's change.
pub const FIGURES: [&str; 9] = [
    "计划走访",
    "已走访",
    "未遇",
    "拒访",
    "计划外走访",
    "发现问题",
    "新增台账问题",
    "已整改",
    "已销号",
];

/// The value of figure `i` of [`FIGURES`].
fn figure(f: &Figures, i: usize) -> Option<usize> {
    match i {
        0 => Some(f.planned),
        1 => Some(f.visited),
        2 => Some(f.not_found),
        3 => Some(f.refused),
        4 => Some(f.unplanned),
        5 => Some(f.findings),
        6 => Some(f.opened),
        7 => f.rectified,
        _ => f.closed,
    }
}

/// Who reports and when: the unit's name and the day of the report.
#[derive(Debug, Clone)]
pub struct Header {
    /// 填报单位, e.g. 新宾满族自治县.
    pub unit: String,
    /// 填报时间, `YYYY-MM-DD`.
    pub date: String,
}

fn title(campaign: &Campaign) -> String {
    format!("{}工作进度周报", campaign.name)
}

fn span(p: &Progress) -> String {
    format!("统计周期：{}至{}（{}）", p.from, p.to, p.week)
}

/// The cell formats.
struct Formats {
    title: Format,
    plain: Format,
    header: Format,
    text: Format,
    number: Format,
    change: Format,
    percent: Format,
    bold_text: Format,
    bold_number: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        let number = cell.clone().set_align(FormatAlign::Right);
        Self {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            plain: Format::new(),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(0x00DD_EBF7)),
            text: cell.clone().set_align(FormatAlign::Left),
            change: number.clone().set_num_format("+0;-0;0"),
            percent: number.clone().set_num_format("0.0%"),
            bold_text: cell.set_bold(),
            bold_number: number.clone().set_bold(),
            number,
        }
    }
}

/// Columns: 序号, name, then two per figure, then 完成率, 逾期未整改 and its change.
fn last_column() -> u16 {
    2 + 2 * FIGURES.len() as u16 + 2
}

/// The report as an XLSX workbook: the townships' sheet (with the signature block)
/// and the groups' sheet.
///
/// # Errors
/// [`XlsxError`] if the workbook cannot be written.
pub fn xlsx(campaign: &Campaign, p: &Progress, h: &Header) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(TOWNSHIP_SHEET)?;
    let next = write_table(sheet, &f, campaign, p, h, "乡镇", &p.townships, true)?;
    let sign = next + 1;
    sheet.write_string_with_format(
        sign,
        1,
        "党政分管负责同志签字：＿＿＿＿＿＿（党委）　＿＿＿＿＿＿（政府）",
        &f.plain,
    )?;
    sheet.write_string_with_format(
        sign + 1,
        1,
        format!("填报单位（盖章）：{}", h.unit),
        &f.plain,
    )?;
    sheet.write_string_with_format(sign + 2, 1, format!("填报时间：{}", h.date), &f.plain)?;
    let sheet = book.add_worksheet();
    sheet.set_name(GROUP_SHEET)?;
    write_table(sheet, &f, campaign, p, h, "督查组", &p.groups, false)?;
    book.save_to_buffer()
}

/// Writes a title, the two header rows, `rows` and (for townships) the total;
/// returns the next free row.
#[expect(clippy::too_many_arguments, reason = "one table's parts, named")]
fn write_table(
    sheet: &mut Worksheet,
    f: &Formats,
    campaign: &Campaign,
    p: &Progress,
    h: &Header,
    what: &str,
    rows: &[ProgressRow],
    with_total: bool,
) -> Result<u32, XlsxError> {
    let last = last_column();
    sheet.merge_range(0, 0, 0, last, &title(campaign), &f.title)?;
    sheet.set_row_height(0, 30)?;
    let sub = format!(
        "填报单位：{}　　{}　　填报时间：{}",
        h.unit,
        span(p),
        h.date
    );
    sheet.merge_range(1, 0, 1, last, &sub, &f.plain)?;
    sheet.merge_range(2, 0, 3, 0, "序号", &f.header)?;
    sheet.merge_range(2, 1, 3, 1, what, &f.header)?;
    sheet.set_column_width(1, 22)?;
    for (i, name) in FIGURES.iter().enumerate() {
        let col = 2 + 2 * i as u16;
        sheet.merge_range(2, col, 2, col + 1, name, &f.header)?;
        sheet.write_string_with_format(3, col, "累计", &f.header)?;
        sheet.write_string_with_format(3, col + 1, "本周", &f.header)?;
    }
    let rate = 2 + 2 * FIGURES.len() as u16;
    sheet.merge_range(2, rate, 3, rate, "走访完成率", &f.header)?;
    sheet.merge_range(2, rate + 1, 2, rate + 2, "逾期未整改", &f.header)?;
    sheet.write_string_with_format(3, rate + 1, "现有", &f.header)?;
    sheet.write_string_with_format(3, rate + 2, "较上周", &f.header)?;
    let mut row = 4;
    for (n, r) in rows.iter().enumerate() {
        sheet.write_number_with_format(row, 0, (n + 1) as f64, &f.number)?;
        write_row(sheet, f, row, r, false)?;
        row += 1;
    }
    if with_total {
        sheet.write_blank(row, 0, &f.bold_text)?;
        write_row(sheet, f, row, &p.total, true)?;
        row += 1;
    }
    sheet.set_freeze_panes(4, 2)?;
    sheet
        .set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(2, 3)?;
    Ok(row)
}

fn write_row(
    sheet: &mut Worksheet,
    f: &Formats,
    row: u32,
    r: &ProgressRow,
    bold: bool,
) -> Result<(), XlsxError> {
    let (text, number) = if bold {
        (&f.bold_text, &f.bold_number)
    } else {
        (&f.text, &f.number)
    };
    let name = if bold { "合计" } else { r.name.as_str() };
    sheet.write_string_with_format(row, 1, name, text)?;
    for i in 0..FIGURES.len() {
        let col = 2 + 2 * i as u16;
        if let (Some(c), Some(w)) = (figure(&r.cumulative, i), figure(&r.week, i)) {
            sheet.write_number_with_format(row, col, c as f64, number)?;
            sheet.write_number_with_format(row, col + 1, w as f64, &f.change)?;
        } else {
            sheet.write_string_with_format(row, col, "—", text)?;
            sheet.write_string_with_format(row, col + 1, "—", text)?;
        }
    }
    let rate = 2 + 2 * FIGURES.len() as u16;
    match r.share {
        Some(s) => sheet.write_number_with_format(row, rate, s, &f.percent)?,
        None => sheet.write_string_with_format(row, rate, "—", text)?,
    };
    if let (Some(now), Some(before)) = (r.overdue, r.overdue_before) {
        sheet.write_number_with_format(row, rate + 1, now as f64, number)?;
        sheet.write_number_with_format(row, rate + 2, now as f64 - before as f64, &f.change)?;
    } else {
        sheet.write_string_with_format(row, rate + 1, "—", text)?;
        sheet.write_string_with_format(row, rate + 2, "—", text)?;
    }
    Ok(())
}

/// Print-first styling, as the ledger's report: A4 landscape, black on white.
const STYLE: &str = r"<style>
@page { size: A4 landscape; margin: 10mm; }
body { font-family: 'SimSun', 'Songti SC', 'Noto Serif CJK SC', serif; font-size: 10pt; color: #000; margin: 16px; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 8px; }
h2 { font-size: 13pt; margin: 16px 0 6px; }
.meta { display: flex; justify-content: space-between; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th, td { border: 1px solid #000; padding: 2px 4px; }
th { background: #ddebf7; text-align: center; }
td.n { text-align: right; white-space: nowrap; }
td.n small { color: #333; }
tr.total td { font-weight: bold; }
.signatures { display: flex; justify-content: space-between; margin-top: 28px; font-size: 11pt; }
.signatures .line { display: inline-block; width: 8em; border-bottom: 1px solid #000; }
@media print { body { margin: 0; font-size: 9pt; } th { background: none; } thead { display: table-header-group; } tr { break-inside: avoid; } .groups { break-before: page; } }
</style>
";

/// The signed lines of the printed report (seed 003: 党政分管负责同志均要签字背书).
fn signature_html(h: &Header) -> String {
    format!(
        "<p class=\"signatures\"><span>党政分管负责同志签字：<span class=\"line\"></span>（党委）<span class=\"line\"></span>（政府）</span>\
         <span>填报单位（盖章）：{}</span><span>填报时间：{}</span></p>\n",
        escape(&h.unit),
        escape(&h.date)
    )
}

/// The report as a printable HTML page.
#[must_use]
pub fn html(campaign: &Campaign, p: &Progress, h: &Header) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head><body>\n<h1>{}</h1>\n<p class=\"meta\"><span>填报单位：{}</span><span>{}</span><span>填报时间：{}</span></p>\n",
        escape(&title(campaign)),
        escape(&title(campaign)),
        escape(&h.unit),
        escape(&span(p)),
        escape(&h.date)
    );
    html_table(&mut out, "乡镇", &p.townships, Some(&p.total));
    out.push_str(&signature_html(h));
    out.push_str("<section class=\"groups\"><h2>督查组进度</h2>\n");
    html_table(&mut out, "督查组", &p.groups, None);
    out.push_str("</section>\n<p>说明：每格为累计数，括号内为本周新增；计划走访按计划日期计，走访结果以最近一次记录为准；逾期未整改按现有台账判断。</p>\n</body></html>\n");
    out
}

fn html_table(out: &mut String, what: &str, rows: &[ProgressRow], total: Option<&ProgressRow>) {
    let _ = write!(out, "<table><thead><tr><th>序号</th><th>{what}</th>");
    for name in FIGURES {
        let _ = write!(out, "<th>{name}</th>");
    }
    out.push_str("<th>走访完成率</th><th>逾期未整改</th></tr></thead><tbody>\n");
    for (n, r) in rows.iter().enumerate() {
        html_row(out, &(n + 1).to_string(), &r.name, r, "");
    }
    if let Some(t) = total {
        html_row(out, "", "合计", t, " class=\"total\"");
    }
    out.push_str("</tbody></table>\n");
}

fn html_row(out: &mut String, no: &str, name: &str, r: &ProgressRow, class: &str) {
    let _ = write!(out, "<tr{class}><td>{no}</td><td>{}</td>", escape(name));
    for i in 0..FIGURES.len() {
        match (figure(&r.cumulative, i), figure(&r.week, i)) {
            (Some(c), Some(w)) => {
                let _ = write!(out, "<td class=\"n\">{c} <small>(+{w})</small></td>");
            }
            _ => out.push_str("<td class=\"n\">—</td>"),
        }
    }
    match r.share {
        Some(s) => {
            let _ = write!(out, "<td class=\"n\">{:.1}%</td>", s * 100.0);
        }
        None => out.push_str("<td class=\"n\">—</td>"),
    }
    match (r.overdue, r.overdue_before) {
        (Some(now), Some(before)) => {
            let change = now as i64 - before as i64;
            let _ = write!(
                out,
                "<td class=\"n\">{now} <small>({change:+})</small></td>"
            );
        }
        _ => out.push_str("<td class=\"n\">—</td>"),
    }
    out.push_str("</tr>\n");
}
