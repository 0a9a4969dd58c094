//! The attribute table of a Shapefile, a dBase III .dbf, read by hand rather than with
//! the `dbase` crate for two reasons: numeric fields must come back as the digits the
//! file holds (a 19-digit code through an `f64` loses its last digits), and the text
//! encoding is decided from the raw bytes of every text field before any is decoded.

use encoding_rs::GBK;

use super::{Budget, VectorError};

/// The table: names and records decoded.
#[derive(Debug)]
pub(super) struct Table {
    /// Field names, in file order.
    pub fields: Vec<String>,
    /// One entry per record; `None` for a record marked deleted.
    pub records: Vec<Option<Vec<Option<String>>>>,
    /// How text was decoded and why, as [`super::VectorLayer::encoding`].
    pub encoding: String,
}

/// How a .dbf's text is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Utf8,
    /// GBK, decoded as GB18030 (its superset) so that no GBK text is lost.
    Gbk,
}

impl Text {
    fn name(self) -> &'static str {
        match self {
            Text::Utf8 => "UTF-8",
            Text::Gbk => "GBK",
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Text::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Text::Gbk => GBK.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }
}

/// One field descriptor.
#[derive(Debug)]
struct Field {
    /// The name's bytes, up to the first NUL.
    name: Vec<u8>,
    /// The dBase type letter: `C` text, `N`/`F` number, `L` logical, `D` date.
    kind: u8,
    /// Where the field starts in a record (after the deletion flag).
    offset: usize,
    length: usize,
}

impl Field {
    fn is_text(&self) -> bool {
        !matches!(self.kind, b'N' | b'F' | b'L' | b'D' | b'I')
    }
}

/// Reads a .dbf: `file` names it in errors, `cpg` is the .cpg beside it.
pub(super) fn read(
    file: &str,
    bytes: &[u8],
    cpg: Option<&[u8]>,
    budget: &mut Budget,
) -> Result<Table, VectorError> {
    let malformed = |reason: String| VectorError::Malformed {
        file: file.to_owned(),
        reason,
    };
    let Some(header) = bytes.get(..32) else {
        return Err(malformed("shorter than its 32-byte header".to_owned()));
    };
    let count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let header_length = usize::from(u16::from_le_bytes([header[8], header[9]]));
    let record_length = usize::from(u16::from_le_bytes([header[10], header[11]]));
    let language_driver = header[29];
    let fields = read_fields(file, bytes, header_length, budget)?;
    let width = fields.last().map_or(1, |field| field.offset + field.length);
    if width > record_length {
        return Err(malformed(format!(
            "its fields need {width} bytes a record but the header gives {record_length}"
        )));
    }
    budget.take_features(file, count)?;
    let end = (header_length as u64).saturating_add(count as u64 * record_length as u64);
    let Some(data) = usize::try_from(end)
        .ok()
        .and_then(|end| bytes.get(header_length..end))
    else {
        return Err(malformed(format!(
            "truncated: the header declares {count} records of {record_length} bytes"
        )));
    };
    let (text, encoding) = choose_text(cpg, language_driver, || {
        all_utf8(&fields, data, record_length)
    });
    let names = fields
        .iter()
        .map(|field| text.decode(&field.name).trim().to_owned())
        .collect();
    // A zero record length (no field) would make `chunks_exact` panic; `width` is at
    // least 1, the deletion flag, so `record_length` is too.
    let records = data
        .chunks_exact(record_length.max(1))
        .map(|record| {
            (record[0] != b'*').then(|| {
                fields
                    .iter()
                    .map(|field| value(field, &record[field.offset..][..field.length], text))
                    .collect()
            })
        })
        .collect();
    Ok(Table {
        fields: names,
        records,
        encoding,
    })
}

/// The field descriptors, 32 bytes each from byte 32 up to the 0x0D terminator.
fn read_fields(
    file: &str,
    bytes: &[u8],
    header_length: usize,
    budget: &Budget,
) -> Result<Vec<Field>, VectorError> {
    let mut fields: Vec<Field> = Vec::new();
    let mut offset = 1;
    let mut at = 32;
    while at < header_length {
        let Some(descriptor) = bytes.get(at..at + 32) else {
            break;
        };
        if descriptor[0] == 0x0D {
            break;
        }
        budget.check_fields(file, fields.len() + 1)?;
        let name_end = descriptor[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let kind = descriptor[11].to_ascii_uppercase();
        // Clipper and FoxPro store text fields longer than 255 bytes with the
        // decimal-count byte as the high byte of the length, as GDAL reads them.
        let length = if kind == b'C' {
            usize::from(u16::from_le_bytes([descriptor[16], descriptor[17]]))
        } else {
            usize::from(descriptor[16])
        };
        fields.push(Field {
            name: descriptor[..name_end].to_vec(),
            kind,
            offset,
            length,
        });
        offset += length;
        at += 32;
    }
    Ok(fields)
}

/// Decides the encoding: a .cpg that names one, then the language driver byte, then
/// whether every text field (and name) is valid UTF-8.
fn choose_text(
    cpg: Option<&[u8]>,
    language_driver: u8,
    all_utf8: impl FnOnce() -> bool,
) -> (Text, String) {
    if let Some(text) = cpg.and_then(cpg_text) {
        return (text, format!("{} (.cpg)", text.name()));
    }
    // 0x4D and 0x7A are the drivers for code page 936 (GBK) that ArcGIS and GDAL write.
    if matches!(language_driver, 0x4D | 0x7A) {
        return (Text::Gbk, "GBK (.dbf language driver)".to_owned());
    }
    if all_utf8() {
        (Text::Utf8, "UTF-8 (valid UTF-8)".to_owned())
    } else {
        (Text::Gbk, "GBK (not UTF-8)".to_owned())
    }
}

/// The encoding a .cpg names, if it names UTF-8 or a Chinese code page
/// (`UTF-8`, `65001`, `GBK`, `CP936`, `ANSI 936`, `GB2312`, `GB18030`).
fn cpg_text(cpg: &[u8]) -> Option<Text> {
    let name: String = String::from_utf8_lossy(cpg)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if name.contains("UTF8") || name == "65001" {
        Some(Text::Utf8)
    } else if ["GBK", "936", "GB2312", "GB18030"]
        .iter()
        .any(|code| name.contains(code))
    {
        Some(Text::Gbk)
    } else {
        None
    }
}

/// Whether every field name and every text value is valid UTF-8.
fn all_utf8(fields: &[Field], data: &[u8], record_length: usize) -> bool {
    let names = fields
        .iter()
        .all(|field| std::str::from_utf8(&field.name).is_ok());
    names
        && data.chunks_exact(record_length.max(1)).all(|record| {
            fields.iter().filter(|field| field.is_text()).all(|field| {
                std::str::from_utf8(trim(&record[field.offset..][..field.length])).is_ok()
            })
        })
}

/// The bytes without the spaces and NULs that pad them. Safe on GBK and UTF-8 alike:
/// neither uses 0x20 or 0x00 inside a multi-byte character.
fn trim(bytes: &[u8]) -> &[u8] {
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let start = bytes.iter().position(|b| !pad(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !pad(b))
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}

/// One value as text; `None` for an empty or null one (as GDAL reads them).
fn value(field: &Field, raw: &[u8], text: Text) -> Option<String> {
    let raw = trim(raw);
    match field.kind {
        b'N' | b'F' => number_text(&String::from_utf8_lossy(raw)),
        b'L' => match raw.first() {
            Some(b'T' | b't' | b'Y' | b'y') => Some("true".to_owned()),
            Some(b'F' | b'f' | b'N' | b'n') => Some("false".to_owned()),
            _ => None,
        },
        b'D' => date_text(raw),
        b'I' if field.length == 4 => {
            let bytes: [u8; 4] = raw.try_into().ok()?;
            Some(i32::from_le_bytes(bytes).to_string())
        }
        _ if raw.is_empty() => None,
        _ => Some(text.decode(raw)),
    }
}

/// A dBase number as text: whole numbers keep the file's digits (without sign `+`,
/// leading zeros or a zero fraction), others go through `f64`. Blank or `*`-filled
/// (overflow) is null. Text that is not a number is kept as it is.
pub(super) fn number_text(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() || text.starts_with('*') {
        return None;
    }
    let negative = text.starts_with('-');
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let is_whole = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b == b'0');
    if is_whole {
        let digits = whole.trim_start_matches('0');
        return Some(match (digits.is_empty(), negative) {
            (true, _) => "0".to_owned(),
            (false, true) => format!("-{digits}"),
            (false, false) => digits.to_owned(),
        });
    }
    Some(
        text.parse::<f64>()
            .map_or_else(|_| text.to_owned(), super::float_text),
    )
}

/// A dBase date (`YYYYMMDD`) as `YYYY-MM-DD`; blank or all zeros is null.
fn date_text(raw: &[u8]) -> Option<String> {
    if raw.is_empty() || raw.iter().all(|&b| b == b'0') {
        return None;
    }
    let text = String::from_utf8_lossy(raw);
    if raw.len() == 8 && raw.iter().all(u8::is_ascii_digit) {
        Some(format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]))
    } else {
        Some(text.into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn dbase_numbers_keep_their_digits() {
        assert_eq!(
            number_text("  210422100201").as_deref(),
            Some("210422100201")
        );
        assert_eq!(
            number_text("2104221002010000000.000").as_deref(),
            Some("2104221002010000000")
        );
        assert_eq!(number_text("1.500000000000000").as_deref(), Some("1.5"));
        assert_eq!(number_text("-3.250").as_deref(), Some("-3.25"));
        assert_eq!(number_text("+007").as_deref(), Some("7"));
        assert_eq!(number_text("-0.000").as_deref(), Some("0"));
        assert_eq!(number_text("1e3").as_deref(), Some("1000"));
        assert_eq!(number_text("   "), None);
        assert_eq!(number_text("******"), None);
        assert_eq!(number_text("12-3").as_deref(), Some("12-3"));
    }

    #[test]
    fn a_cpg_names_the_encoding() {
        assert_eq!(cpg_text(b"GBK\r\n"), Some(Text::Gbk));
        assert_eq!(cpg_text(b"cp936"), Some(Text::Gbk));
        assert_eq!(cpg_text(b"ANSI 936"), Some(Text::Gbk));
        assert_eq!(cpg_text(b"gb2312"), Some(Text::Gbk));
        assert_eq!(cpg_text(b"GB18030"), Some(Text::Gbk));
        assert_eq!(cpg_text(b"UTF-8"), Some(Text::Utf8));
        assert_eq!(cpg_text(b"utf8"), Some(Text::Utf8));
        assert_eq!(cpg_text(b"65001"), Some(Text::Utf8));
        assert_eq!(cpg_text(b"ANSI 1252"), None);
        assert_eq!(cpg_text(b""), None);
    }

    #[test]
    fn the_language_driver_and_then_the_bytes_decide_without_a_cpg() {
        assert_eq!(choose_text(None, 0x4D, || true).0, Text::Gbk);
        assert_eq!(choose_text(Some(b"UTF-8"), 0x4D, || false).0, Text::Utf8);
        assert_eq!(
            choose_text(Some(b"1252"), 0x57, || true),
            (Text::Utf8, "UTF-8 (valid UTF-8)".to_owned())
        );
        assert_eq!(
            choose_text(None, 0, || false),
            (Text::Gbk, "GBK (not UTF-8)".to_owned())
        );
    }

    #[test]
    fn dates_and_logicals_read_as_text() {
        assert_eq!(date_text(b"20240131").as_deref(), Some("2024-01-31"));
        assert_eq!(date_text(b"00000000"), None);
        let logical = Field {
            name: b"OK".to_vec(),
            kind: b'L',
            offset: 1,
            length: 1,
        };
        assert_eq!(value(&logical, b"T", Text::Utf8).as_deref(), Some("true"));
        assert_eq!(value(&logical, b"?", Text::Utf8), None);
    }

    /// A .dbf with one text field of 8 bytes holding `text`, with a header that
    /// declares `count` records.
    fn one_field_dbf(count: u32, text: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; 32];
        bytes[0] = 3;
        bytes[4..8].copy_from_slice(&count.to_le_bytes());
        bytes[8..10].copy_from_slice(&65u16.to_le_bytes());
        bytes[10..12].copy_from_slice(&9u16.to_le_bytes());
        let mut descriptor = [0u8; 32];
        descriptor[..4].copy_from_slice(b"NAME");
        descriptor[11] = b'C';
        descriptor[16] = 8;
        bytes.extend_from_slice(&descriptor);
        bytes.push(0x0D);
        bytes.push(b' ');
        let mut field = text.to_vec();
        field.resize(8, b' ');
        bytes.extend_from_slice(&field);
        bytes
    }

    #[test]
    fn gbk_bytes_without_a_cpg_are_read_as_gbk() {
        let gbk = GBK.encode("五副甲村").0;
        let mut budget = Budget::new(&super::super::VectorLimits::IMPORT);
        let table = read("x.dbf", &one_field_dbf(1, &gbk), None, &mut budget).unwrap();
        assert_eq!(table.encoding, "GBK (not UTF-8)");
        assert_eq!(table.fields, ["NAME"]);
        assert_eq!(table.records, [Some(vec![Some("五副甲村".to_owned())])]);
    }

    #[test]
    fn a_header_declaring_more_records_than_the_file_holds_is_refused() {
        let mut budget = Budget::new(&super::super::VectorLimits::IMPORT);
        let error = read("x.dbf", &one_field_dbf(3, b"a"), None, &mut budget).unwrap_err();
        assert!(
            matches!(&error, VectorError::Malformed { file, reason } if file == "x.dbf" && reason.contains("truncated")),
            "{error}"
        );
        let error = read("x.dbf", &one_field_dbf(u32::MAX, b"a"), None, &mut budget).unwrap_err();
        assert!(matches!(error, VectorError::Features { .. }), "{error}");
    }
}
