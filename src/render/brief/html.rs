//! The briefing as a printable HTML page: A4 portrait, the maps inline as SVG (text
//! stays text), no script, its styles in its own `<style>` element (a printable
//! document's policy allows inline styles and nothing else).

use std::fmt::Write as _;

use super::{Block, Briefing, Table, document, title};
use crate::formats::escape_markup as escape;
use crate::render::{CjkFont, RenderError, choropleth_svg};

/// Print-first styling, as the ledger's and the weekly report's pages.
const STYLE: &str = r"<style>
@page { size: A4; margin: 14mm 14mm 16mm; }
body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif; font-size: 10pt; color: #000; margin: 16px auto; max-width: 190mm; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 6px; }
.meta { text-align: center; margin: 0 0 10px; color: #222; }
.meta span { display: block; }
h2 { font-size: 13pt; margin: 14px 0 6px; border-bottom: 1px solid #000; padding-bottom: 2px; }
.maps { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.maps figure { margin: 0; }
.maps svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; table-layout: fixed; }
th, td { border: 1px solid #000; padding: 2px 4px; vertical-align: top; overflow-wrap: anywhere; }
th { background: #ddebf7; text-align: center; font-weight: normal; }
td.n { text-align: right; }
@media print { body { margin: 0; max-width: none; font-size: 9pt; } thead { display: table-header-group; } tr { break-inside: avoid; } .maps { break-inside: avoid; } }
</style>
";

/// The briefing as a printable HTML page.
///
/// # Errors
/// [`RenderError`] when a map cannot be drawn (no Chinese font, a glyph missing).
pub fn html(b: &Briefing, font: &CjkFont) -> Result<String, RenderError> {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head><body>\n",
        escape(&title(b))
    );
    for block in document(b) {
        match block {
            Block::Title(t) => {
                let _ = writeln!(out, "<h1>{}</h1>", escape(&t));
            }
            Block::Meta(lines) => {
                out.push_str("<p class=\"meta\">");
                for l in lines {
                    let _ = write!(out, "<span>{}</span>", escape(&l));
                }
                out.push_str("</p>\n");
            }
            Block::Heading(h) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape(&h));
            }
            Block::Text(t) => {
                let _ = writeln!(out, "<p>{}</p>", escape(&t));
            }
            Block::Maps(maps) => {
                out.push_str("<div class=\"maps\">\n");
                for spec in &maps {
                    let svg = choropleth_svg(spec, font)?;
                    let _ = writeln!(out, "<figure>{}</figure>", strip_prolog(&svg));
                }
                out.push_str("</div>\n");
            }
            Block::Table(t) => table(&mut out, &t),
        }
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

/// The `<svg>` element of an SVG document (an XML declaration has no place inside
/// HTML).
fn strip_prolog(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |at| &svg[at..])
}

fn table(out: &mut String, t: &Table) {
    // The same shares of the width as the PDF's columns, so both read alike.
    let total: f32 = t.columns.iter().map(|c| c.1).sum::<f32>().max(f32::EPSILON);
    out.push_str("<table><colgroup>");
    for (_, share, _) in &t.columns {
        let _ = write!(out, "<col style=\"width:{:.1}%\">", share / total * 100.0);
    }
    out.push_str("</colgroup><thead><tr>");
    for (name, _, _) in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (cell, (_, _, numeric)) in row.iter().zip(&t.columns) {
            let class = if *numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_documents_prolog_is_left_out() {
        assert_eq!(strip_prolog("<?xml version=\"1.0\"?>\n<svg a>"), "<svg a>");
        assert_eq!(strip_prolog("<svg/>"), "<svg/>");
    }

    #[test]
    fn cells_are_escaped_and_numbers_aligned_right() {
        let mut out = String::new();
        let t = Table {
            columns: vec![("村".into(), 1.0, false), ("户".into(), 1.0, true)],
            rows: vec![vec!["<甲>".into(), "3".into()]],
        };
        table(&mut out, &t);
        assert!(
            out.contains("<td>&lt;甲&gt;</td><td class=\"n\">3</td>"),
            "{out}"
        );
    }
}
