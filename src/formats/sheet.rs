//! Spreadsheets users upload (XLSX, legacy XLS in [`xls`], CSV), read with every allocation bounded before
//! it is made: a 1.6 KB XLSX holding cells at A1 and XFD1048576 must not make the
//! reader allocate a range of 17 billion cells, and a zip bomb must not unpack to
//! gigabytes. See issue 19.
//!
//! # Steps (XLSX)
//! 1. The zip is opened and every part unpacked into nothing, counting its bytes,
//!    so that no part is trusted for its declared size: over [`Limits::unzipped_bytes`]
//!    in all, or over [`Limits::parts`] parts, the file is refused.
//! 2. The first sheet's cells are streamed (calamine's cell reader, which allocates
//!    no range), each checked against [`Limits::rows`] and [`Limits::columns`], and
//!    their number against [`Limits::cells`].
//! 3. The cells are laid out in rows, as wide as the widest row actually used.
//!
//! CSV is decoded from UTF-8 (with or without a byte-order mark) or, when the bytes
//! are not UTF-8, from GB18030 (which includes GBK), as Chinese offices save it.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

pub mod xls;

/// What a reader may allocate for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes all the parts of an XLSX may unpack to.
    pub unzipped_bytes: u64,
    /// Parts an XLSX may hold.
    pub parts: usize,
    /// Rows a sheet may reach (the last used row, counted from 1).
    pub rows: u32,
    /// Columns a sheet may reach (the last used column, counted from 1).
    pub columns: u32,
    /// Cells a sheet may hold, counted as its rows times its widest row.
    pub cells: u64,
}

impl Limits {
    /// For an upload of a few megabytes: a village's ledger, a checklist.
    pub const UPLOAD: Limits = Limits {
        unzipped_bytes: 64 << 20,
        parts: 1_000,
        rows: 100_000,
        columns: 256,
        cells: 2_000_000,
    };
}

/// Why a spreadsheet was refused. Messages name the place (a cell as Excel shows it)
/// and the limit, never a cell's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not a zip, or not a workbook inside.
    #[error("not an XLSX file: {0}")]
    NotXlsx(String),
    /// An OLE file that is not an Excel 97–2003 workbook, or a broken one.
    #[error("not a readable XLS (Excel 97–2003) file: {0}")]
    NotXls(String),
    /// The parts unpack to more than the limit.
    #[error("the file unpacks to more than {limit} bytes, the limit")]
    Unzipped {
        /// The limit, bytes.
        limit: u64,
    },
    /// Too many parts in the zip.
    #[error("the file holds more than {limit} parts, the limit")]
    Parts {
        /// The limit.
        limit: usize,
    },
    /// A cell beyond the rows or columns allowed.
    #[error("cell {cell} lies beyond the limit of {rows} rows and {columns} columns")]
    Beyond {
        /// The cell, as Excel names it (`XFD1048576`).
        cell: String,
        /// The row limit.
        rows: u32,
        /// The column limit.
        columns: u32,
    },
    /// Too many cells.
    #[error("the sheet holds more than {limit} cells, the limit")]
    Cells {
        /// The limit.
        limit: u64,
    },
    /// The workbook has no sheet.
    #[error("the file has no sheet")]
    NoSheet,
    /// The sheet could not be read.
    #[error("cannot read sheet {sheet}: {reason}")]
    Read {
        /// The sheet's name.
        sheet: String,
        /// What went wrong.
        reason: String,
    },
    /// A CSV that is neither UTF-8 nor GB18030, or malformed.
    #[error("cannot read the CSV: {0}")]
    Csv(String),
}

impl SheetError {
    /// The reason in Chinese, for the clerk (the 数据导入 page); a library's own words
    /// stay in brackets for whoever helps them.
    #[must_use]
    pub fn zh(&self) -> String {
        match self {
            Self::NotXlsx(why) => format!("不是可读的 XLSX 文件（{why}）"),
            Self::NotXls(why) => format!("不是可读的 XLS（Excel 97–2003）文件（{why}）"),
            Self::Unzipped { limit } => format!("文件解压后超过 {limit} 字节的上限"),
            Self::Parts { limit } => format!("文件包含的部件超过 {limit} 个的上限"),
            Self::Beyond {
                cell,
                rows,
                columns,
            } => format!("单元格 {cell} 超出 {rows} 行、{columns} 列的上限"),
            Self::Cells { limit } => format!("工作表的单元格超过 {limit} 个的上限"),
            Self::NoSheet => "文件中没有工作表".to_owned(),
            Self::Read { sheet, reason } => format!("无法读取工作表 {sheet}（{reason}）"),
            Self::Csv(why) => {
                format!("无法读取 CSV：不是 UTF-8 或 GBK/GB18030 编码，或格式有误（{why}）")
            }
        }
    }
}

/// One sheet, as rows of cells; rows are as long as the longest, missing cells
/// [`Data::Empty`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The sheet's name (`CSV` for a CSV file).
    pub name: String,
    /// The cells, row by row from the first row of the file.
    pub rows: Vec<Vec<Data>>,
}

/// Whether the bytes are a zip (an XLSX), by its signature.
#[must_use]
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// An Excel column name: 0 → `A`, 25 → `Z`, 26 → `AA`.
#[must_use]
pub fn column_name(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A cell as text, trimmed; `None` when empty. Whole numbers as Excel shows them (codes
/// typed as numbers), up to 15 digits: beyond, a number cell has lost digits already.
#[must_use]
pub fn cell_text(cell: &Data) -> Option<String> {
    let text = match cell {
        Data::Empty => return None,
        Data::String(s) => s.trim().to_owned(),
        #[expect(clippy::float_cmp, reason = "a whole number is exactly its truncation")]
        Data::Float(f) if f.trunc() == *f && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Int(i) => i.to_string(),
        other => other.to_string().trim().to_owned(),
    };
    (!text.is_empty()).then_some(text)
}

/// A header as compared: no whitespace, full-width brackets and slash as ASCII, lower
/// case (`人均纯收入（元）` and `人均纯收入 (元)` are one header).
#[must_use]
pub fn header_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A cell beyond the rows or columns allowed, refused before it is stored.
fn check_cell(row: u32, col: u32, limits: &Limits) -> Result<(), SheetError> {
    if row >= limits.rows || col >= limits.columns {
        return Err(SheetError::Beyond {
            cell: format!("{}{}", column_name(col), u64::from(row) + 1),
            rows: limits.rows,
            columns: limits.columns,
        });
    }
    Ok(())
}

/// Unpacks every part of a zip into nothing, counting bytes, so that a part's
/// declared size cannot hide what it unpacks to.
fn check_unzipped(bytes: &[u8], limits: &Limits) -> Result<(), SheetError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::NotXlsx(e.to_string()))?;
    if zip.len() > limits.parts {
        return Err(SheetError::Parts {
            limit: limits.parts,
        });
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let part = zip
            .by_index(i)
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        let room = limits.unzipped_bytes - total;
        // One byte more than the room tells "at the limit" from "over it".
        let read = std::io::copy(&mut part.take(room + 1), &mut std::io::sink())
            .map_err(|e| SheetError::NotXlsx(e.to_string()))?;
        if read > room {
            return Err(SheetError::Unzipped {
                limit: limits.unzipped_bytes,
            });
        }
        total += read;
    }
    Ok(())
}

/// Lays sparse cells out in rows, checking the rectangle they span.
fn lay_out(
    name: String,
    cells: Vec<(u32, u32, Data)>,
    limits: &Limits,
) -> Result<Sheet, SheetError> {
    let height = cells.iter().map(|c| c.0 + 1).max().unwrap_or(0);
    let width = cells.iter().map(|c| c.1 + 1).max().unwrap_or(0);
    if u64::from(height) * u64::from(width) > limits.cells {
        return Err(SheetError::Cells {
            limit: limits.cells,
        });
    }
    let mut rows = vec![vec![Data::Empty; width as usize]; height as usize];
    for (r, c, value) in cells {
        rows[r as usize][c as usize] = value;
    }
    Ok(Sheet { name, rows })
}

/// A workbook read from bytes in memory.
type Book<'a> = Xlsx<Cursor<&'a [u8]>>;

/// An XLSX workbook and its sheets' names, once its parts are known to unpack within
/// `limits` (step 1 of the module's steps).
fn open_xlsx<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(Book<'a>, Vec<String>), SheetError> {
    check_unzipped(bytes, limits)?;
    let book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| SheetError::NotXlsx(e.to_string()))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(SheetError::NoSheet);
    }
    Ok((book, names))
}

/// The first sheet of an XLSX file, bounded by `limits` (see the module's steps).
///
/// # Errors
/// [`SheetError`] naming the limit broken or what is wrong with the file.
pub fn first_xlsx_sheet(bytes: &[u8], limits: &Limits) -> Result<Sheet, SheetError> {
    let (mut book, names) = open_xlsx(bytes, limits)?;
    let name = names.into_iter().next().ok_or(SheetError::NoSheet)?;
    stream_sheet(&mut book, name, limits, limits.cells)
}

/// Every sheet of an XLSX file in the workbook's order (an office splits a list by
/// county or township), bounded by `limits`: the cell limit is for all the sheets
/// together.
///
/// # Errors
/// [`SheetError`] naming the limit broken or what is wrong with the file.
pub fn xlsx_sheets(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, SheetError> {
    let (mut book, names) = open_xlsx(bytes, limits)?;
    let mut room = limits.cells;
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let sheet = stream_sheet(&mut book, name, limits, room)?;
        let used = sheet.rows.len() as u64 * sheet.rows.first().map_or(0, Vec::len) as u64;
        room = room.saturating_sub(used);
        sheets.push(sheet);
    }
    Ok(sheets)
}

/// Every sheet of an .xls (Excel 97–2003) workbook, laid out as [`xlsx_sheets`] lays
/// them out, after [`xls::check`].
///
/// # Errors
/// [`SheetError`] naming the limit broken or what is wrong with the file.
pub fn xls_sheets(bytes: &[u8], limits: &Limits) -> Result<Vec<Sheet>, SheetError> {
    let mut count = cell_counter(limits);
    let mut sheets: Vec<Sheet> = Vec::new();
    xls::stream_rows(bytes, limits, &mut count, |row| {
        if sheets.last().is_none_or(|s| s.name != row.sheet) {
            sheets.push(Sheet {
                name: row.sheet.to_owned(),
                rows: Vec::new(),
            });
        }
        if let Some(sheet) = sheets.last_mut() {
            sheet.rows.resize(row.index as usize, Vec::new());
            sheet.rows.push(row.cells.to_vec());
        }
    })?;
    for sheet in &mut sheets {
        let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
        for row in &mut sheet.rows {
            row.resize(width, Data::Empty);
        }
    }
    Ok(sheets)
}

/// One sheet's cells streamed and laid out, with at most `room` cells.
fn stream_sheet<R: std::io::Read + std::io::Seek>(
    book: &mut Xlsx<R>,
    name: String,
    limits: &Limits,
    room: u64,
) -> Result<Sheet, SheetError> {
    let read_error = |e: calamine::XlsxError| SheetError::Read {
        sheet: name.clone(),
        reason: e.to_string(),
    };
    // The message names the file's limit, not what the sheets before left of it.
    let over = SheetError::Cells {
        limit: limits.cells,
    };
    let limits = Limits {
        cells: room,
        ..*limits
    };
    let mut reader = book.worksheet_cells_reader(&name).map_err(read_error)?;
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(read_error)? {
        let (row, col) = cell.get_position();
        check_cell(row, col, &limits)?;
        let value: Data = cell.get_value().clone().into();
        if value != Data::Empty {
            if cells.len() as u64 >= limits.cells {
                return Err(over);
            }
            cells.push((row, col, value));
        }
    }
    drop(reader);
    lay_out(name, cells, &limits).map_err(|e| match e {
        SheetError::Cells { .. } => over,
        other => other,
    })
}

/// A row as [`stream_rows`] hands it over.
#[derive(Debug, Clone, Copy)]
pub struct StreamedRow<'a> {
    /// The sheet's name (`CSV` for a CSV file).
    pub sheet: &'a str,
    /// The row's index from 0 (Excel shows `index + 1`).
    pub index: u32,
    /// Its cells from column A, missing ones [`Data::Empty`]; trailing empty cells are
    /// not there.
    pub cells: &'a [Data],
}

/// Every non-empty row of every sheet of an XLSX file, or of a CSV, handed to `on_row`
/// one at a time in the file's order, so that a million-row workbook is read in the
/// memory of one row (and the XLSX's shared strings). Bounded like the whole-sheet
/// readers: unpacked bytes and parts first, then every cell's row and column, and the
/// non-empty cells of all the sheets together against [`Limits::cells`].
///
/// # Errors
/// [`SheetError`] naming the limit broken or what is wrong with the file.
pub fn stream_rows(
    bytes: &[u8],
    limits: &Limits,
    mut on_row: impl FnMut(StreamedRow<'_>),
) -> Result<(), SheetError> {
    let mut count = cell_counter(limits);
    if xls::is_xls(bytes) {
        return xls::stream_rows(bytes, limits, &mut count, on_row);
    }
    if !is_zip(bytes) {
        return stream_csv(bytes, limits, &mut count, on_row);
    }
    let (mut book, names) = open_xlsx(bytes, limits)?;
    for name in names {
        let read_error = |e: calamine::XlsxError| SheetError::Read {
            sheet: name.clone(),
            reason: e.to_string(),
        };
        let mut reader = book.worksheet_cells_reader(&name).map_err(read_error)?;
        let mut row: Vec<Data> = Vec::new();
        let mut at: Option<u32> = None;
        let mut flush = |at: Option<u32>, row: &mut Vec<Data>| {
            if let Some(index) = at.filter(|_| !row.is_empty()) {
                on_row(StreamedRow {
                    sheet: &name,
                    index,
                    cells: row,
                });
            }
            row.clear();
        };
        while let Some(cell) = reader.next_cell().map_err(read_error)? {
            let (r, c) = cell.get_position();
            check_cell(r, c, limits)?;
            let value: Data = cell.get_value().clone().into();
            if value == Data::Empty {
                continue;
            }
            if at != Some(r) {
                flush(at, &mut row);
                at = Some(r);
            }
            count(1)?;
            if row.len() <= c as usize {
                row.resize(c as usize + 1, Data::Empty);
            }
            row[c as usize] = value;
        }
        flush(at, &mut row);
    }
    Ok(())
}

/// A cell counter that fails once the cells of all the sheets pass the limit.
fn cell_counter(limits: &Limits) -> impl FnMut(usize) -> Result<(), SheetError> {
    let limit = limits.cells;
    let mut seen: u64 = 0;
    move |n| {
        seen += n as u64;
        if seen > limit {
            Err(SheetError::Cells { limit })
        } else {
            Ok(())
        }
    }
}

/// [`stream_rows`] for a CSV: decoded whole (its bytes are bounded by the caller),
/// streamed by record.
fn stream_csv(
    bytes: &[u8],
    limits: &Limits,
    count: &mut impl FnMut(usize) -> Result<(), SheetError>,
    mut on_row: impl FnMut(StreamedRow<'_>),
) -> Result<(), SheetError> {
    let text = decode_text(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut row: Vec<Data> = Vec::new();
    // The row as Excel numbers it: one per record, and one per blank line, which
    // Excel shows as an empty row and the csv crate passes over (a quoted field may
    // span lines within one row, so lines are not rows).
    let mut record = csv::StringRecord::new();
    let decoded = text.as_bytes();
    let (mut previous_end, mut next_index) = (0_usize, 0_usize);
    while reader
        .read_record(&mut record)
        .map_err(|e| SheetError::Csv(e.to_string()))?
    {
        let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        let index = next_index + blank_lines(decoded, previous_end, end);
        next_index = index + 1;
        previous_end = end;
        let width = (0..record.len())
            .rev()
            .find(|&i| record.get(i).is_some_and(|f| !f.trim().is_empty()))
            .map_or(0, |i| i + 1);
        if index as u64 >= u64::from(limits.rows) || width as u64 > u64::from(limits.columns) {
            return Err(SheetError::Beyond {
                cell: format!(
                    "{}{}",
                    column_name(width.saturating_sub(1) as u32),
                    index + 1
                ),
                rows: limits.rows,
                columns: limits.columns,
            });
        }
        if width == 0 {
            continue;
        }
        count(width)?;
        row.clear();
        row.extend(record.iter().take(width).map(|f| {
            if f.is_empty() {
                Data::Empty
            } else {
                Data::String(f.to_owned())
            }
        }));
        on_row(StreamedRow {
            sheet: "CSV",
            index: index as u32,
            cells: &row,
        });
    }
    Ok(())
}

/// The blank lines before the record that ends at `end`, which began reading at
/// `start`: the line breaks before its first character, less the one that ends the
/// record before it when that record's `\r\n` was read only up to the `\r`.
fn blank_lines(text: &[u8], start: usize, end: usize) -> usize {
    let Some(slice) = text.get(start..end.min(text.len())) else {
        return 0;
    };
    let lead = slice
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(slice.len());
    let lead = &slice[..lead];
    let mut breaks = lead.split(|&b| b == b'\n').count() - 1
        + lead
            .windows(2)
            .filter(|w| w[0] == b'\r' && w[1] != b'\n')
            .count()
        + usize::from(lead.last() == Some(&b'\r'));
    let split_crlf = start > 0 && text[start - 1] == b'\r' && lead.first() == Some(&b'\n');
    if split_crlf {
        breaks -= 1;
    }
    breaks
}

/// A CSV file's cells, all text, bounded by `limits`: UTF-8 (a byte-order mark is
/// dropped), or GB18030 when the bytes are not UTF-8.
///
/// # Errors
/// [`SheetError::Csv`] for bytes that decode in neither or a malformed CSV, or the
/// row, column or cell limit.
pub fn csv(bytes: &[u8], limits: &Limits) -> Result<Sheet, SheetError> {
    let mut cells = Vec::new();
    // Rows keep the numbers Excel shows (blank lines included): reports name them.
    stream_csv(bytes, limits, &mut cell_counter(limits), |row| {
        for (col, value) in row.cells.iter().enumerate() {
            if *value != Data::Empty {
                cells.push((row.index, col as u32, value.clone()));
            }
        }
    })?;
    lay_out("CSV".to_owned(), cells, limits)
}

/// Text from UTF-8 (byte-order mark dropped) or else GB18030, the superset of GBK
/// that Chinese Excel and WPS save CSV in.
///
/// # Errors
/// [`SheetError::Csv`] when the bytes are neither.
pub fn decode_text(bytes: &[u8]) -> Result<String, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(SheetError::Csv(
            "the text is neither UTF-8 nor GBK/GB18030".to_owned(),
        ));
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::io::Write;

    /// An XLSX with cells at the given references, written by hand as Excel lays the
    /// parts out; `inline` strings keep it to one sheet part.
    fn xlsx(cells: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        let mut put = |name: &str, text: &str| {
            zip.start_file(name, options).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        };
        put(
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        );
        put(
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        );
        put(
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        );
        put(
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        );
        let mut sheet = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, v) in cells {
            let row: String = r.chars().filter(char::is_ascii_digit).collect();
            let _ = write!(
                sheet,
                r#"<row r="{row}"><c r="{r}" t="inlineStr"><is><t>{v}</t></is></c></row>"#
            );
        }
        sheet.push_str("</sheetData></worksheet>");
        put("xl/worksheets/sheet1.xml", &sheet);
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn column_names_run_as_excel_names_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16_383), "XFD");
    }

    #[test]
    fn a_small_sheet_is_laid_out_in_rows() {
        let sheet =
            first_xlsx_sheet(&xlsx(&[("A1", "条目"), ("C2", "x")]), &Limits::UPLOAD).unwrap();
        assert_eq!(sheet.name, "台账");
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0][0], Data::String("条目".into()));
        assert_eq!(sheet.rows[1][2], Data::String("x".into()));
        assert_eq!(sheet.rows[0][2], Data::Empty);
    }

    /// See issue 19: cells at A1 and XFD1048576 made the reader allocate 550 GB.
    #[test]
    fn a_far_cell_is_refused_before_anything_is_allocated() {
        let far = xlsx(&[("A1", "a"), ("XFD1048576", "b")]);
        assert!(far.len() < 4000);
        let err = first_xlsx_sheet(&far, &Limits::UPLOAD).unwrap_err();
        assert_eq!(
            err,
            SheetError::Beyond {
                cell: "XFD1048576".into(),
                rows: Limits::UPLOAD.rows,
                columns: Limits::UPLOAD.columns,
            }
        );
        // Within the columns but wide and tall: the rectangle is counted.
        let limits = Limits {
            cells: 1_000,
            ..Limits::UPLOAD
        };
        let err = first_xlsx_sheet(&xlsx(&[("A1", "a"), ("IV99999", "b")]), &limits).unwrap_err();
        assert_eq!(err, SheetError::Cells { limit: 1_000 });
    }

    /// 80 MB of zeros in a zip of under 200 KB.
    fn zip_bomb() -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", options).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..80 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// See issue 19: a 1 MB zip bomb took the resident memory to 3.2 GB.
    #[test]
    fn a_zip_bomb_is_refused_by_what_it_unpacks_to() {
        let bomb = zip_bomb();
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        assert_eq!(
            first_xlsx_sheet(&bomb, &Limits::UPLOAD).unwrap_err(),
            SheetError::Unzipped {
                limit: Limits::UPLOAD.unzipped_bytes
            }
        );
    }

    #[test]
    fn csv_is_read_from_utf8_with_or_without_a_bom_and_from_gbk() {
        let text = "条目,状态\n1,有问题\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        for bytes in [
            text.as_bytes().to_vec(),
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            gbk.into_owned(),
        ] {
            let sheet = csv(&bytes, &Limits::UPLOAD).unwrap();
            assert_eq!(sheet.rows[1][1], Data::String("有问题".into()));
        }
        assert!(matches!(
            csv(&[0xFF, 0xFF, 0xFF], &Limits::UPLOAD),
            Err(SheetError::Csv(_))
        ));
        let gapped = csv("条目\n\n2\n".as_bytes(), &Limits::UPLOAD).unwrap();
        assert_eq!(
            gapped.rows[2][0],
            Data::String("2".into()),
            "a blank line is a row"
        );
        let wide = "a,".repeat(300);
        assert!(matches!(
            csv(wide.as_bytes(), &Limits::UPLOAD),
            Err(SheetError::Beyond { .. })
        ));
    }

    #[test]
    fn the_cell_limit_holds_for_all_the_sheets_together() {
        let mut book = rust_xlsxwriter::Workbook::new();
        for name in ["甲", "乙"] {
            let sheet = book.add_worksheet().set_name(name).unwrap();
            for row in 0..3 {
                sheet.write_string(row, 0, "x").unwrap();
            }
        }
        let bytes = book.save_to_buffer().unwrap();
        let roomy = Limits {
            cells: 6,
            ..Limits::UPLOAD
        };
        let sheets = xlsx_sheets(&bytes, &roomy).unwrap();
        let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["甲", "乙"]);
        assert_eq!(sheets[1].rows.len(), 3);
        let tight = Limits {
            cells: 5,
            ..Limits::UPLOAD
        };
        assert_eq!(
            xlsx_sheets(&bytes, &tight).unwrap_err(),
            SheetError::Cells { limit: 5 }
        );
    }

    /// Rows as `stream_rows` hands them over: (sheet, Excel row, texts).
    fn streamed(
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Vec<(String, u32, Vec<String>)>, SheetError> {
        let mut out = Vec::new();
        stream_rows(bytes, limits, |row| {
            let texts = row
                .cells
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect();
            out.push((row.sheet.to_owned(), row.index + 1, texts));
        })?;
        Ok(out)
    }

    #[test]
    fn rows_stream_from_every_sheet_and_from_csv() {
        let rows = streamed(&xlsx(&[("A1", "户编号"), ("C3", "x")]), &Limits::UPLOAD).unwrap();
        assert_eq!(
            rows,
            vec![
                ("台账".to_owned(), 1, vec!["户编号".to_owned()]),
                (
                    "台账".to_owned(),
                    3,
                    vec![String::new(), String::new(), "x".to_owned()]
                ),
            ]
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("户编号,姓名\r\n\r\n1,,\r\n\"两\n行\",x\n\nlast");
        let rows = streamed(&gbk, &Limits::UPLOAD).unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    "CSV".to_owned(),
                    1,
                    vec!["户编号".to_owned(), "姓名".to_owned()]
                ),
                ("CSV".to_owned(), 3, vec!["1".to_owned()]),
                (
                    "CSV".to_owned(),
                    4,
                    vec!["两\n行".to_owned(), "x".to_owned()]
                ),
                ("CSV".to_owned(), 6, vec!["last".to_owned()]),
            ]
        );
    }

    #[test]
    fn streamed_rows_are_bounded_like_whole_sheets() {
        let far = xlsx(&[("A1", "a"), ("XFD1048576", "b")]);
        assert!(matches!(
            streamed(&far, &Limits::UPLOAD),
            Err(SheetError::Beyond { .. })
        ));
        let wide = "a,".repeat(300);
        assert!(matches!(
            streamed(wide.as_bytes(), &Limits::UPLOAD),
            Err(SheetError::Beyond { .. })
        ));
        let tight = Limits {
            cells: 3,
            ..Limits::UPLOAD
        };
        assert_eq!(
            streamed(b"a,b\nc,d\n", &tight).unwrap_err(),
            SheetError::Cells { limit: 3 }
        );
        let bomb = zip_bomb();
        assert_eq!(
            streamed(&bomb, &Limits::UPLOAD).unwrap_err(),
            SheetError::Unzipped {
                limit: Limits::UPLOAD.unzipped_bytes
            }
        );
    }
}
