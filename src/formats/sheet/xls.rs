//! Legacy Excel 97–2003 workbooks (.xls, BIFF8 in an OLE compound file), as older
//! national-system exports and statistics-bureau tables still come.
//!
//! calamine reads every sheet of an .xls whole when it opens it, each into a range as
//! large as the box around its cells, and positions in the file are 16-bit: two cells
//! at A1 and at row 65,536, column 65,536 of a tiny file would make it allocate four
//! billion cells. So the workbook stream is walked first ([`check`], with the `cfb`
//! crate, which refuses broken sector chains), every cell record's position checked
//! against the limits, and the boxes of all the sheets together against
//! [`GRID_CELLS`]; only then is calamine let open it.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xls};

use super::{Limits, SheetError, StreamedRow, check_cell};

/// The largest total of the sheets' boxes an .xls may make calamine allocate: one full
/// sheet of 65,536 rows by 256 columns (about half a gigabyte of cells).
pub const GRID_CELLS: u64 = 1 << 24;

/// Whether the bytes are an OLE compound file (an .xls), by its signature.
#[must_use]
pub fn is_xls(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

fn not_xls(reason: impl std::fmt::Display) -> SheetError {
    SheetError::NotXls(reason.to_string())
}

/// The box around a sheet's cells (rows and columns, first and last).
#[derive(Debug, Default)]
struct Bounds(Option<(u32, u32, u32, u32)>);

impl Bounds {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

/// Walks the workbook stream's records and refuses a file whose cells lie beyond the
/// limits or whose sheets' boxes would pass [`GRID_CELLS`] (or `limits.cells`).
///
/// # Errors
/// [`SheetError::NotXls`] for a file that is not an .xls workbook;
/// [`SheetError::Beyond`] or [`SheetError::Cells`] for one over the limits.
pub fn check(bytes: &[u8], limits: &Limits) -> Result<(), SheetError> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(not_xls)?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| file.is_stream(n))
        .ok_or_else(|| not_xls("no workbook stream inside"))?;
    let mut stream = Vec::new();
    file.open_stream(name)
        .map_err(not_xls)?
        // A stream's chain is checked by cfb; its length cannot pass the file's.
        .take(bytes.len() as u64)
        .read_to_end(&mut stream)
        .map_err(not_xls)?;
    let limit = GRID_CELLS.min(limits.cells);
    let over = SheetError::Cells { limit };
    let mut total = 0u64;
    let (mut cells, mut formulas) = (Bounds::default(), Bounds::default());
    let mut at = 0;
    while at + 4 <= stream.len() {
        let kind = u16::from_le_bytes([stream[at], stream[at + 1]]);
        let len = usize::from(u16::from_le_bytes([stream[at + 2], stream[at + 3]]));
        let body = &stream[at + 4..(at + 4 + len).min(stream.len())];
        at += 4 + len;
        let u16_at = |i: usize| {
            body.get(i..i + 2)
                .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let cell = |row: u32, col: u32, bounds: &mut Bounds| {
            check_cell(row, col, limits)?;
            bounds.add(row, col);
            Ok::<(), SheetError>(())
        };
        match kind {
            // BOF, EOF: a sheet's substream begins or ends.
            0x0809 | 0x000A => {
                total += cells.cells() + formulas.cells();
                cells = Bounds::default();
                formulas = Bounds::default();
            }
            // Number, Label, BoolErr, RK, LabelSst, Blank, RString.
            0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0201 | 0x00D6 => {
                if let (Some(row), Some(col)) = (u16_at(0), u16_at(2)) {
                    cell(row, col, &mut cells)?;
                }
            }
            // Formula: a value cell and a formula cell.
            0x0006 => {
                if let (Some(row), Some(col)) = (u16_at(0), u16_at(2)) {
                    cell(row, col, &mut cells)?;
                    cell(row, col, &mut formulas)?;
                }
            }
            // MulRk, MulBlank: a run of cells in a row, its last column at the end.
            0x00BD | 0x00BE => {
                if let (Some(row), Some(first), Some(last)) =
                    (u16_at(0), u16_at(2), u16_at(len.saturating_sub(2)))
                {
                    cell(row, first, &mut cells)?;
                    cell(row, last.max(first), &mut cells)?;
                }
            }
            _ => {}
        }
        if total + cells.cells() + formulas.cells() > limit {
            return Err(over);
        }
    }
    Ok(())
}

/// Every non-empty row of every sheet, as [`super::stream_rows`] hands them; each
/// sheet is read whole (an .xls holds at most 65,536 rows), after [`check`].
///
/// # Errors
/// As [`check`], and [`SheetError::Read`] naming a sheet calamine cannot read.
pub fn stream_rows(
    bytes: &[u8],
    limits: &Limits,
    count: &mut impl FnMut(usize) -> Result<(), SheetError>,
    mut on_row: impl FnMut(StreamedRow<'_>),
) -> Result<(), SheetError> {
    check(bytes, limits)?;
    let mut book: Xls<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(not_xls)?;
    let mut row: Vec<Data> = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(|e| SheetError::Read {
            sheet: name.clone(),
            reason: e.to_string(),
        })?;
        let Some((top, left)) = range.start() else {
            continue;
        };
        for (i, cells) in range.rows().enumerate() {
            let used = cells.iter().filter(|c| **c != Data::Empty).count();
            if used == 0 {
                continue;
            }
            count(used)?;
            row.clear();
            row.resize(left as usize, Data::Empty);
            row.extend_from_slice(cells);
            while row.last() == Some(&Data::Empty) {
                row.pop();
            }
            on_row(StreamedRow {
                sheet: &name,
                index: top + i as u32,
                cells: &row,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// An OLE file whose workbook stream holds these BIFF records.
    fn ole(records: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut stream = Vec::new();
        for (kind, body) in records {
            stream.extend_from_slice(&kind.to_le_bytes());
            stream.extend_from_slice(&(body.len() as u16).to_le_bytes());
            stream.extend_from_slice(body);
        }
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("/Workbook")
            .unwrap()
            .write_all(&stream)
            .unwrap();
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    /// A Number record at (row, col).
    fn number(row: u16, col: u16) -> (u16, Vec<u8>) {
        let mut body = Vec::new();
        body.extend_from_slice(&row.to_le_bytes());
        body.extend_from_slice(&col.to_le_bytes());
        body.extend_from_slice(&[0; 2]);
        body.extend_from_slice(&1.0f64.to_le_bytes());
        (0x0203, body)
    }

    const BOF: (u16, Vec<u8>) = (0x0809, Vec::new());
    const EOF: (u16, Vec<u8>) = (0x000A, Vec::new());

    #[test]
    fn two_cells_far_apart_in_a_small_file_are_refused_before_calamine_reads_it() {
        let limits = Limits {
            unzipped_bytes: 1 << 30,
            parts: 100,
            rows: 1_048_576,
            columns: 256,
            cells: 80_000_000,
        };
        // Column 65,535: beyond the columns allowed.
        let wide = ole(&[BOF, number(0, 0), number(0, 65_535), EOF]);
        assert!(wide.len() <= 32_768, "{}", wide.len());
        assert!(is_xls(&wide));
        assert!(
            matches!(check(&wide, &limits), Err(SheetError::Beyond { ref cell, .. }) if cell == "CRXP1"),
            "{:?}",
            check(&wide, &limits)
        );
        // Two sheets, each a full box of 65,536 × 256: twice the grid allowed.
        let tall = ole(&[
            BOF,
            number(0, 0),
            number(65_535, 255),
            EOF,
            BOF,
            number(0, 0),
            number(65_535, 255),
            EOF,
        ]);
        assert!(matches!(
            check(&tall, &limits),
            Err(SheetError::Cells { limit }) if limit == GRID_CELLS
        ));
        // One such sheet is within the grid, but not within a small upload's cells.
        let one = ole(&[BOF, number(0, 0), number(65_535, 255), EOF]);
        assert!(check(&one, &limits).is_ok());
        assert!(matches!(
            check(&one, &Limits::UPLOAD),
            Err(SheetError::Beyond { .. } | SheetError::Cells { .. })
        ));
        // Not a workbook inside, or not OLE at all.
        let empty = {
            let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
            file.flush().unwrap();
            file.into_inner().into_inner()
        };
        assert!(matches!(check(&empty, &limits), Err(SheetError::NotXls(_))));
        let mut garbage = wide.clone();
        garbage.truncate(600);
        assert!(matches!(
            check(&garbage, &limits),
            Err(SheetError::NotXls(_))
        ));
    }
}
