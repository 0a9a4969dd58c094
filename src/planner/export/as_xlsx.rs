//! A plan as an Excel workbook: the visits (走访安排) and the targets not planned
//! (未安排) on two sheets, every value a text cell, so that an 18-digit household number
//! stays itself instead of becoming `2.1042210522E+17`, as it does when Excel opens a CSV.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::Plan;
use super::as_csv::{CSV_HEADERS, plan_rows};

/// The plan as XLSX: sheet 走访安排 with one row per stop, sheet 未安排 with one row per
/// target not planned, the columns of the CSV, text throughout.
///
/// # Errors
/// The writer's error (none is expected for data held in memory).
pub fn xlsx(plan: &Plan) -> Result<Vec<u8>, XlsxError> {
    let (rows, dropped) = plan_rows(plan, str::to_owned);
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for (name, rows) in [("走访安排", rows), ("未安排", dropped)] {
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        for (c, h) in CSV_HEADERS.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if !value.is_empty() {
                    sheet.write_string(r as u32 + 1, c as u16, value)?;
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
    }
    book.save_to_buffer()
}
