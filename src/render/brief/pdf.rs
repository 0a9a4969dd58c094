//! The briefing as an A4 PDF (krilla): the blocks laid out top to bottom on pages of
//! 595 × 842 pt, tables split between pages with their header repeated, the maps as
//! images, a footer with the page number.
//!
//! The Chinese font found by [`crate::render::fonts`] is embedded as a subset of the
//! glyphs used, with a `ToUnicode` map, so that `pdftotext` and a reader's search find
//! the words. Layout happens first, into a list of drawing operations per page, so
//! that the footer can say how many pages there are before anything is written.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use super::{Block, Briefing, Table, document, title};
use crate::render::{ChoroplethSpec, CjkFont, RenderError, choropleth_png};

/// A4 in points.
const PAGE: (f32, f32) = (595.28, 841.89);
/// Page margin.
const MARGIN: f32 = 40.0;
/// Room kept at the bottom for the footer.
const FOOTER: f32 = 18.0;
/// Body text size.
const BODY: f32 = 9.5;
/// Table text size.
const CELL: f32 = 8.5;
/// Line height over font size.
const LEADING: f32 = 1.45;
/// Padding inside a table cell.
const PAD: f32 = 3.0;
/// The table header's background.
const HEADER_FILL: (u8, u8, u8) = (0xdd, 0xeb, 0xf7);

/// One drawing operation; `y` grows downwards from the page's top.
enum Op {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    /// A filled rectangle.
    Fill {
        rect: (f32, f32, f32, f32),
        color: (u8, u8, u8),
    },
    /// A thin outlined rectangle, or a line when its height is 0.
    Frame { rect: (f32, f32, f32, f32) },
    /// A PNG image.
    Image {
        rect: (f32, f32, f32, f32),
        png: Vec<u8>,
    },
}

/// Advance widths of the embedded face, to wrap and align text as it will be drawn.
struct Metrics<'a> {
    face: Option<ttf_parser::Face<'a>>,
    units_per_em: f32,
}

impl<'a> Metrics<'a> {
    fn new(data: &'a [u8]) -> Self {
        let face = ttf_parser::Face::parse(data, 0).ok();
        let units_per_em = face
            .as_ref()
            .map_or(1000.0, |f| f32::from(f.units_per_em()));
        Self { face, units_per_em }
    }

    /// Width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size / self.units_per_em
    }

    fn advance(&self, c: char) -> f32 {
        self.face
            .as_ref()
            .and_then(|f| f.glyph_hor_advance(f.glyph_index(c)?))
            .map_or(self.units_per_em * 0.6, f32::from)
    }

    /// `text` broken into lines no wider than `width` (at any character: Chinese has
    /// no spaces to break at).
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut used = 0.0;
            for c in paragraph.chars() {
                let w = self.advance(c) * size / self.units_per_em;
                if used + w > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    used = 0.0;
                }
                line.push(c);
                used += w;
            }
            lines.push(line);
        }
        lines
    }
}

/// The pages being laid out.
struct Layout<'a> {
    metrics: Metrics<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout<'_> {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` fits below the current position.
    fn ensure(&mut self, height: f32) {
        if self.y + height > PAGE.1 - MARGIN - FOOTER && self.y > MARGIN {
            self.new_page();
        }
    }

    fn width() -> f32 {
        PAGE.0 - 2.0 * MARGIN
    }

    /// Writes `text` wrapped to the page's width, centred or from the left margin.
    fn paragraph(&mut self, text: &str, size: f32, centred: bool) {
        let lines = self.metrics.wrap(text, size, Self::width());
        let step = size * LEADING;
        for line in lines {
            self.ensure(step);
            let x = if centred {
                MARGIN + (Self::width() - self.metrics.width(&line, size)) / 2.0
            } else {
                MARGIN
            };
            let y = self.y + size;
            self.ops().push(Op::Text {
                x,
                y,
                size,
                text: line,
            });
            self.y += step;
        }
    }

    fn heading(&mut self, text: &str) {
        let size = 12.0;
        // A heading never ends a page: keep room for a few lines after it.
        self.ensure(size * LEADING + 60.0);
        self.y += 6.0;
        self.paragraph(text, size, false);
        let y = self.y;
        self.ops().push(Op::Frame {
            rect: (MARGIN, y, Self::width(), 0.0),
        });
        self.y += 5.0;
    }

    fn maps(&mut self, maps: &[ChoroplethSpec], font: &CjkFont) -> Result<(), RenderError> {
        let gap = 8.0;
        let w = (Self::width() - gap) / 2.0;
        for pair in maps.chunks(2) {
            let h = pair
                .iter()
                .map(|s| w * s.height as f32 / s.width.max(1) as f32)
                .fold(0.0, f32::max);
            self.ensure(h + gap);
            for (i, spec) in pair.iter().enumerate() {
                let png = choropleth_png(spec, font)?;
                let x = MARGIN + i as f32 * (w + gap);
                let y = self.y;
                let own = w * spec.height as f32 / spec.width.max(1) as f32;
                self.ops().push(Op::Image {
                    rect: (x, y, w, own),
                    png,
                });
            }
            self.y += h + gap;
        }
        Ok(())
    }

    /// The x of each column's left edge and its width.
    fn columns(t: &Table) -> Vec<(f32, f32)> {
        let total: f32 = t.columns.iter().map(|c| c.1).sum::<f32>().max(f32::EPSILON);
        let mut x = MARGIN;
        t.columns
            .iter()
            .map(|c| {
                let w = Self::width() * c.1 / total;
                let at = x;
                x += w;
                (at, w)
            })
            .collect()
    }

    /// One row of cells, each wrapped in its column; `header` rows are shaded and
    /// centred.
    fn row(&mut self, t: &Table, cells: &[String], header: bool) {
        let cols = Self::columns(t);
        let step = CELL * LEADING;
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&cols)
            .map(|(c, (_, w))| self.metrics.wrap(c, CELL, w - 2.0 * PAD))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let height = lines as f32 * step + 2.0 * PAD;
        let y = self.y;
        for ((cell, (x, w)), (_, _, numeric)) in wrapped.into_iter().zip(cols).zip(&t.columns) {
            if header {
                self.ops().push(Op::Fill {
                    rect: (x, y, w, height),
                    color: HEADER_FILL,
                });
            }
            self.ops().push(Op::Frame {
                rect: (x, y, w, height),
            });
            for (n, line) in cell.into_iter().enumerate() {
                let lw = self.metrics.width(&line, CELL);
                let tx = if header {
                    x + (w - lw) / 2.0
                } else if *numeric {
                    x + w - PAD - lw
                } else {
                    x + PAD
                };
                self.ops().push(Op::Text {
                    x: tx,
                    y: y + PAD + n as f32 * step + CELL,
                    size: CELL,
                    text: line,
                });
            }
        }
        self.y += height;
    }

    fn row_height(&self, t: &Table, cells: &[String]) -> f32 {
        let lines = cells
            .iter()
            .zip(Self::columns(t))
            .map(|(c, (_, w))| self.metrics.wrap(c, CELL, w - 2.0 * PAD).len())
            .max()
            .unwrap_or(1);
        lines as f32 * CELL * LEADING + 2.0 * PAD
    }

    /// A table, its header repeated on every page it runs onto.
    fn table(&mut self, t: &Table) {
        let header: Vec<String> = t.columns.iter().map(|c| c.0.clone()).collect();
        let head = self.row_height(t, &header);
        let first = t.rows.first().map_or(0.0, |r| self.row_height(t, r));
        self.ensure(head + first);
        self.row(t, &header, true);
        for cells in &t.rows {
            let h = self.row_height(t, cells);
            if self.y + h > PAGE.1 - MARGIN - FOOTER {
                self.new_page();
                self.row(t, &header, true);
            }
            self.row(t, cells, false);
        }
        self.y += 6.0;
    }

    /// The page number at each page's foot.
    fn footers(&mut self, title: &str) {
        let count = self.pages.len();
        for (i, ops) in self.pages.iter_mut().enumerate() {
            let text = format!("{title}　第 {} 页 / 共 {count} 页", i + 1);
            let x = (PAGE.0 - self.metrics.width(&text, 8.0)) / 2.0;
            ops.push(Op::Text {
                x,
                y: PAGE.1 - MARGIN + 6.0,
                size: 8.0,
                text,
            });
        }
    }
}

/// The briefing as an A4 PDF with the font embedded (subset).
///
/// # Errors
/// [`RenderError`] when a map cannot be drawn, the font cannot be embedded or the
/// PDF cannot be written.
pub fn pdf(b: &Briefing, font: &CjkFont) -> Result<Vec<u8>, RenderError> {
    let mut layout = Layout {
        metrics: Metrics::new(font.data()),
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    for block in document(b) {
        match block {
            Block::Title(t) => {
                layout.paragraph(&t, 18.0, true);
                layout.y += 4.0;
            }
            Block::Meta(lines) => {
                for l in lines {
                    layout.paragraph(&l, BODY, true);
                }
                layout.y += 4.0;
            }
            Block::Heading(h) => layout.heading(&h),
            Block::Text(t) => {
                layout.paragraph(&t, BODY, false);
                layout.y += 3.0;
            }
            Block::Maps(maps) => layout.maps(&maps, font)?,
            Block::Table(t) => layout.table(&t),
        }
    }
    let name = title(b);
    layout.footers(&name);
    write(layout.pages, font, &name)
}

fn invalid(what: &str) -> RenderError {
    RenderError::InvalidSpec(format!("briefing page: {what}"))
}

/// Writes the laid-out pages.
fn write(pages: Vec<Vec<Op>>, cjk: &CjkFont, name: &str) -> Result<Vec<u8>, RenderError> {
    let font = Font::new(krilla::Data::from(cjk.data()), 0).ok_or_else(|| {
        RenderError::Drawing(format!("the font {} cannot be embedded", cjk.family))
    })?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(name.to_owned())
            .language("zh-CN".to_owned())
            .creator("paicha".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE.0, PAGE.1).ok_or_else(|| invalid("A4"))?;
    for ops in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, text } => surface.draw_text(
                    Point::from_xy(x, y),
                    font.clone(),
                    size,
                    &text,
                    false,
                    TextDirection::Auto,
                ),
                Op::Fill { rect, color } => {
                    let path = rect_path(rect).ok_or_else(|| invalid("a shaded cell"))?;
                    surface.set_fill(Some(Fill {
                        paint: rgb::Color::new(color.0, color.1, color.2).into(),
                        ..Fill::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_fill(Some(Fill::default()));
                }
                Op::Frame { rect } => {
                    let path = frame_path(rect).ok_or_else(|| invalid("a cell's frame"))?;
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        width: 0.5,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                }
                Op::Image { rect, png } => {
                    let image = Image::from_png(krilla::Data::from(png), true)
                        .map_err(RenderError::Encoding)?;
                    let size = Size::from_wh(rect.2, rect.3).ok_or_else(|| invalid("a map"))?;
                    surface.push_transform(&Transform::from_translate(rect.0, rect.1));
                    surface.draw_image(image, size);
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| RenderError::Encoding(format!("the PDF cannot be written: {e:?}")))
}

fn rect_path((x, y, w, h): (f32, f32, f32, f32)) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

/// A rectangle's outline, or a horizontal line when it has no height.
fn frame_path((x, y, w, h): (f32, f32, f32, f32)) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.move_to(x, y);
    pb.line_to(x + w, y);
    if h > 0.0 {
        pb.line_to(x + w, y + h);
        pb.line_to(x, y + h);
        pb.close();
    }
    pb.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_chinese_at_any_character_and_keeps_every_character() {
        let m = Metrics {
            face: None,
            units_per_em: 1000.0,
        };
        // Without a face every character is 0.6 em: 10 pt text, 30 pt wide → 5 a line.
        let lines = m.wrap("一二三四五六七八九十十一", 10.0, 30.0);
        assert_eq!(lines.concat(), "一二三四五六七八九十十一");
        assert!(lines.iter().all(|l| l.chars().count() <= 5), "{lines:?}");
        assert_eq!(m.wrap("", 10.0, 30.0), vec![String::new()]);
    }

    #[test]
    fn a_cell_narrower_than_one_character_still_gets_it() {
        let m = Metrics {
            face: None,
            units_per_em: 1000.0,
        };
        assert_eq!(m.wrap("甲乙", 10.0, 1.0), vec!["甲", "乙"]);
    }
}
