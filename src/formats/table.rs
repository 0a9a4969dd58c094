//! A table of rows as a download for Excel and WPS: XLSX whose identifiers are text
//! cells (an 18-digit household number written as a number, or read from CSV, becomes
//! `2.10422100201E+17` and loses its last digits), and CSV with a byte-order mark whose
//! text cannot run as a formula.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::csv_writer;

/// A value of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text, identifiers included: written as a text cell.
    Text(String),
    /// A quantity: a number cell that Excel sums.
    Number(f64),
    /// Nothing.
    Empty,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// The cell as CSV text, a leading `= + - @` (or tab or carriage return) of text
    /// defused with an apostrophe.
    fn csv(&self) -> String {
        match self {
            Self::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
            Self::Text(s) => s.clone(),
            Self::Number(x) if x.is_finite() => x.to_string(),
            Self::Number(_) | Self::Empty => String::new(),
        }
    }
}

/// The table as XLSX: an optional bold title row, bold headers, then the rows; panes
/// frozen under the headers and columns fitted.
///
/// # Errors
/// The writer's error (a sheet name over 31 characters or with `[]:*?/\`).
pub fn xlsx(
    sheet_name: &str,
    title: Option<&str>,
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    add_sheet(&mut book, sheet_name, title, headers, rows)?;
    book.save_to_buffer()
}

/// Adds the table as a sheet of `book`, laid out as [`xlsx`] lays it out.
///
/// # Errors
/// The writer's error (a sheet name over 31 characters or with `[]:*?/\`).
pub fn add_sheet(
    book: &mut Workbook,
    sheet_name: &str,
    title: Option<&str>,
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), XlsxError> {
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = Format::new().set_bold();
    let mut r: u32 = 0;
    if let Some(title) = title {
        sheet.write_string_with_format(r, 0, title, &bold)?;
        r += 1;
    }
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(r, c as u16, *h, &bold)?;
    }
    sheet.set_freeze_panes(r + 1, 0)?;
    for row in rows {
        r += 1;
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, c as u16, s)?;
                }
                Cell::Number(x) if x.is_finite() => {
                    sheet.write_number(r, c as u16, *x)?;
                }
                Cell::Number(_) | Cell::Empty => {}
            }
        }
    }
    sheet.autofit();
    Ok(())
}

/// The table as CSV for Excel and WPS: UTF-8 with a byte-order mark, the headers, the
/// rows. A spreadsheet that opens it still reads a long number as a number: offer
/// [`xlsx`] beside it.
#[must_use]
pub fn csv(headers: &[&str], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a `Vec` fails only on records of unequal length, which the caller's
    // rows of the headers' width rule out; a failure leaves what was written.
    if let Ok(mut w) = csv_writer(&mut out) {
        let written = w.write_record(headers).and_then(|()| {
            rows.iter()
                .try_for_each(|row| w.write_record(row.iter().map(Cell::csv)))
        });
        debug_assert!(written.is_ok(), "writing CSV to memory failed");
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

    use super::*;

    fn rows() -> Vec<Vec<Cell>> {
        vec![
            vec![
                Cell::text("210422100201000017"),
                Cell::text("=SUM(A1)"),
                Cell::Number(3.5),
            ],
            vec![
                Cell::text("210422100201000018"),
                Cell::Empty,
                Cell::Number(f64::NAN),
            ],
        ]
    }

    #[test]
    fn xlsx_keeps_long_numbers_as_text_and_quantities_as_numbers() {
        let bytes = xlsx("农户", Some("标题"), &["户编号", "说明", "人口"], &rows()).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("农户").unwrap();
        assert_eq!(sheet.get((0, 0)), Some(&Data::String("标题".into())));
        assert_eq!(sheet.get((1, 2)), Some(&Data::String("人口".into())));
        assert_eq!(
            sheet.get((2, 0)),
            Some(&Data::String("210422100201000017".into()))
        );
        assert_eq!(sheet.get((2, 1)), Some(&Data::String("=SUM(A1)".into())));
        assert_eq!(sheet.get((2, 2)), Some(&Data::Float(3.5)));
        assert_eq!(sheet.get_size(), (4, 3));
        assert!(matches!(sheet.get((3, 2)), None | Some(Data::Empty)));
    }

    #[test]
    fn csv_has_a_bom_and_defuses_formulas() {
        let bytes = csv(&["户编号", "说明", "人口"], &rows());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\u{feff}户编号,说明,人口\n210422100201000017,'=SUM(A1),3.5\n210422100201000018,,\n"
        );
    }
}
