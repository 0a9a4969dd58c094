//! A village's ledger from an XLSX file (bulk import): the first sheet, a header row
//! naming the columns in Chinese, one row per checklist item.
//!
//! Columns: 条目 (the item's position in the template, required), 状态 (required: a
//! status code or its Chinese label), and any of 问题描述, 整改措施, 整改期限
//! (`YYYY-MM-DD` text or an Excel date), 责任人, 整改结果, 备注. Every error names the
//! row (as Excel numbers it) and the column; a file with any error imports nothing.

use calamine::Data;

use crate::domain::FieldViolation;
use crate::domain::calendar::{civil_date, is_date};
use crate::domain::ledger::{ChecklistItem, Status, Template};
use crate::formats::sheet::{self, Limits};

/// One imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The item's position in the template.
    pub position: u32,
    /// Its status.
    pub status: Status,
    /// 问题描述.
    pub problem: Option<String>,
    /// 整改措施.
    pub measure: Option<String>,
    /// 整改期限, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// 责任人.
    pub responsible: Option<String>,
    /// 整改结果.
    pub result: Option<String>,
    /// 备注.
    pub notes: Option<String>,
}

const COLUMNS: [&str; 8] = [
    "条目",
    "状态",
    "问题描述",
    "整改措施",
    "整改期限",
    "责任人",
    "整改结果",
    "备注",
];

/// A cell as text: numbers without a trailing `.0`, Excel dates as `YYYY-MM-DD`.
fn text(cell: &Data) -> Option<String> {
    let s = match cell {
        Data::Empty => return None,
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        // Excel serial days count from 1899-12-30; 25569 of them reach 1970-01-01.
        Data::DateTime(d) => civil_date(d.as_f64().floor() as i64 - 25_569),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.chars().take(10).collect(),
        Data::Error(e) => format!("{e:?}"),
    };
    (!s.is_empty()).then_some(s)
}

/// Reads a village's ledger rows from XLSX bytes, checked against the template.
///
/// # Errors
/// Every problem found, each with its row and column.
pub fn village_xlsx(
    bytes: &[u8],
    template: &Template,
) -> Result<Vec<ImportRow>, Vec<FieldViolation>> {
    let whole = |reason: String| vec![FieldViolation::at_cell(0, "", reason)];
    let sheet =
        sheet::first_xlsx_sheet(bytes, &Limits::UPLOAD).map_err(|e| whole(e.to_string()))?;
    let rows: Vec<&[Data]> = sheet.rows.iter().map(Vec::as_slice).collect();
    // Rows are laid out from the file's first row: Excel's row number is the index + 1.
    let start = 0;
    let header_at = rows
        .iter()
        .position(|r| r.iter().any(|c| text(c).as_deref() == Some("条目")))
        .ok_or_else(|| whole("no header row with a 条目 column".into()))?;
    let header: Vec<Option<String>> = rows[header_at].iter().map(text).collect();
    let col = |name: &str| header.iter().position(|h| h.as_deref() == Some(name));
    let mut errors = Vec::new();
    if col("状态").is_none() {
        errors.push(FieldViolation::at_cell(
            start + header_at + 1,
            "状态",
            "missing required column",
        ));
    }
    for (i, h) in header.iter().enumerate() {
        if let Some(h) = h
            && !COLUMNS.contains(&h.as_str())
        {
            errors.push(FieldViolation::at_cell(
                start + header_at + 1,
                h,
                format!(
                    "unknown column (column {}); expected {}",
                    i + 1,
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out: Vec<ImportRow> = Vec::new();
    for (k, r) in rows.iter().enumerate().skip(header_at + 1) {
        if r.iter().all(|c| text(c).is_none()) {
            continue;
        }
        let get = |name: &str| col(name).and_then(|c| r.get(c)).and_then(text);
        if let Some(row) = parse_row(&get, start + k + 1, template, &out, &mut errors) {
            out.push(row);
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldViolation::at_cell(
            start + header_at + 2,
            "",
            "no rows under the header",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One data row (`get` reads a column by header), or `None` with its errors pushed.
fn parse_row(
    get: &dyn Fn(&str) -> Option<String>,
    row: usize,
    template: &Template,
    before: &[ImportRow],
    errors: &mut Vec<FieldViolation>,
) -> Option<ImportRow> {
    let mut bad = |column: &str, reason: String| {
        errors.push(FieldViolation::at_cell(row, column, reason));
    };
    let position = match get("条目").map(|p| (p.parse::<u32>(), p)) {
        Some((Ok(p), _)) if template.items.iter().any(|i| i.position == p) => Some(p),
        Some((_, p)) => {
            bad(
                "条目",
                format!(
                    "{p:?} is not an item of {} (1 to {})",
                    template.id,
                    template.items.len()
                ),
            );
            None
        }
        None => {
            bad("条目", "empty".into());
            None
        }
    };
    if let Some(p) = position
        && before.iter().any(|o| o.position == p)
    {
        bad("条目", format!("item {p} appears twice"));
    }
    let status = get("状态").and_then(|s| Status::parse(&s));
    if status.is_none() {
        bad(
            "状态",
            format!(
                "{:?} is not a status (未排查, 无问题, 有问题, 整改中, 已整改, 已销号)",
                get("状态").unwrap_or_default()
            ),
        );
    }
    let deadline = get("整改期限");
    if let Some(d) = &deadline
        && !is_date(d)
    {
        bad("整改期限", format!("{d:?} is not a date YYYY-MM-DD"));
    }
    Some(ImportRow {
        position: position?,
        status: status?,
        problem: get("问题描述"),
        measure: get("整改措施"),
        deadline,
        responsible: get("责任人"),
        result: get("整改结果"),
        notes: get("备注"),
    })
}

/// The items of a checklist from a CSV or XLSX file (told apart by the ZIP signature
/// of XLSX), with the columns of `data/checklists`; an XLSX's first sheet is read as
/// the CSV would be.
///
/// # Errors
/// What is wrong and where (row and column), as one message.
pub fn template_items(id: &str, bytes: &[u8]) -> Result<Vec<ChecklistItem>, String> {
    if !sheet::is_zip(bytes) {
        let text = sheet::decode_text(bytes).map_err(|e| format!("{id}: {e}"))?;
        return super::checklist::parse_csv(id, text.as_bytes()).map_err(|e| e.to_string());
    }
    let sheet =
        sheet::first_xlsx_sheet(bytes, &Limits::UPLOAD).map_err(|e| format!("{id}: {e}"))?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    for row in &sheet.rows {
        let cells: Vec<String> = row.iter().map(|c| text(c).unwrap_or_default()).collect();
        csv.write_record(&cells).map_err(|e| format!("{id}: {e}"))?;
    }
    let data = csv.into_inner().map_err(|e| format!("{id}: {e}"))?;
    super::checklist::parse_csv(id, data.as_slice()).map_err(|e| e.to_string())
}
