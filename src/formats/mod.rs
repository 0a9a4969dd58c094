//! The office file formats, in and out, for every layer: reading a spreadsheet a user
//! uploads with every allocation bounded ([`sheet`]), the byte-order mark that makes
//! Excel and WPS read UTF-8 CSV, a CSV writer that starts with it, tables written as
//! XLSX with text cells and as CSV ([`table`]), and escaping for
//! HTML, GPX and KML and for URIs. A leaf: it imports nothing of paicha, so any module
//! can use it without an arrow up the layers.

pub mod sheet;
pub mod table;
pub mod vector;

use std::fmt::Write as _;
use std::io::Write;

/// The UTF-8 byte-order mark: without it Excel reads Chinese CSV as GBK and garbles it.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Escapes text for XML and HTML content and quoted attribute values, and drops the
/// control characters XML 1.0 forbids: for the HTML reports and sheets, GPX and KML.
#[must_use]
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A CSV writer that has already written the byte-order mark.
///
/// # Errors
/// The I/O error of writing the mark.
pub fn csv_writer<W: Write>(mut out: W) -> std::io::Result<csv::Writer<W>> {
    out.write_all(UTF8_BOM)?;
    Ok(csv::Writer::from_writer(out))
}

/// Percent-encodes a URI component or an RFC 5987 file name: unreserved ASCII is
/// kept, every other byte of the UTF-8 is written `%XX`.
#[must_use]
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_uri_components_are_escaped() {
        assert_eq!(percent_encode("张* a-b_c.d~"), "%E5%BC%A0%2A%20a-b_c.d~");
        assert_eq!(
            escape_markup("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
