//! What the map and the charts share: colours, number formats, text that is
//! placed the same way in PNG and SVG, the title and footer bands, PNG encoding.

use ab_glyph::{Font, FontRef, OutlinedGlyph, PxScale, ScaleFont, point};
use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::Text;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, register_font};

use super::fonts::CjkFont;
use super::{RenderError, ValueFormat};

/// Near-black for text: softer than pure black on white.
pub(super) const INK: RGBColor = RGBColor(0x25, 0x25, 0x25);
/// Secondary text (footer, counts).
pub(super) const INK_LIGHT: RGBColor = RGBColor(0x59, 0x59, 0x59);
/// The page and polygon holes.
pub(super) const PAPER: RGBColor = RGBColor(0xff, 0xff, 0xff);

/// The largest image side accepted, against requests that would exhaust memory.
const MAX_SIDE: u32 = 8_192;
/// The smallest image side accepted: below it, text cannot fit.
const MIN_SIDE: u32 = 120;

/// Which backend text is drawn to; the two place text differently (see
/// [`Painter::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Plotters' bitmap backend, text rasterised with `ab_glyph`.
    Png,
    /// Plotters' SVG backend, text left as `<text>` for the viewer to draw.
    Svg,
}

/// Parses `#rrggbb` or `#rgb` (the `#` optional).
pub(super) fn parse_color(hex: &str) -> Option<RGBColor> {
    let digits = hex.trim().trim_start_matches('#');
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |s: &str| u8::from_str_radix(s, 16).ok();
    match digits.len() {
        6 => Some(RGBColor(
            channel(&digits[0..2])?,
            channel(&digits[2..4])?,
            channel(&digits[4..6])?,
        )),
        3 => {
            let short = |i: usize| channel(&digits[i..=i]).map(|v| v * 17);
            Some(RGBColor(short(0)?, short(1)?, short(2)?))
        }
        _ => None,
    }
}

/// `#rrggbb`, lower case.
pub(super) fn to_hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Checks a colour of the request, naming the field when it is not one.
pub(super) fn require_color(hex: &str, field: &str) -> Result<RGBColor, RenderError> {
    parse_color(hex).ok_or_else(|| {
        RenderError::InvalidSpec(format!("{field}: {hex:?} is not a colour like \"#fdd0a2\""))
    })
}

/// Checks the requested image size.
pub(super) fn require_size(width: u32, height: u32) -> Result<(), RenderError> {
    let ok = |v: u32| (MIN_SIDE..=MAX_SIDE).contains(&v);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(RenderError::InvalidSpec(format!(
            "image size {width}×{height}: each side must be {MIN_SIDE} to {MAX_SIDE} pixels"
        )))
    }
}

/// `n` colours spread evenly over `palette` (lowest first), interpolated in RGB
/// when the counts differ.
pub(super) fn spread(palette: &[RGBColor], n: usize) -> Vec<RGBColor> {
    if palette.len() == n || palette.is_empty() {
        return palette.iter().copied().take(n).collect();
    }
    let last = (palette.len() - 1) as f64;
    (0..n)
        .map(|class| {
            let position = if n == 1 {
                0.5
            } else {
                class as f64 / (n - 1) as f64
            } * last;
            let below = position.floor() as usize;
            let above = (below + 1).min(palette.len() - 1);
            let weight = position - below as f64;
            let mix = |from: u8, to: u8| {
                (f64::from(from) + (f64::from(to) - f64::from(from)) * weight).round() as u8
            };
            let (from, to) = (palette[below], palette[above]);
            RGBColor(mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
        })
        .collect()
}

/// Formats values of one kind with the fewest decimals (up to 4) that still
/// tell all of `distinct` apart, so that a legend never shows two equal bounds.
pub(super) struct NumberFormat {
    format: ValueFormat,
    decimals: usize,
}

impl NumberFormat {
    /// One decimal for percentages; none for counts when all are whole, else one.
    pub(super) fn plain(format: ValueFormat, values: &[f64]) -> Self {
        let decimals = match format {
            ValueFormat::Percent => 1,
            ValueFormat::Count => usize::from(
                !values
                    .iter()
                    .filter(|v| v.is_finite())
                    .all(|v| (v - v.round()).abs() < 1e-9),
            ),
        };
        Self { format, decimals }
    }

    /// Chooses the precision for `values`: as [`NumberFormat::plain`], with more
    /// decimals when that would write two different values alike.
    pub(super) fn for_values(format: ValueFormat, values: &[f64]) -> Self {
        let base = Self::plain(format, values).decimals;
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let decimals = (base..=4)
            .find(|&d| {
                let f = Self {
                    format,
                    decimals: d,
                };
                sorted.windows(2).all(|w| f.format(w[0]) != f.format(w[1]))
            })
            .unwrap_or(4);
        Self { format, decimals }
    }

    /// One value: a fraction as a percentage (`0.05` → `5.0%`), or a count.
    pub(super) fn format(&self, value: f64) -> String {
        // Adding 0.0 turns -0.0 into 0.0, so that no "-0.0%" appears.
        match self.format {
            ValueFormat::Percent => format!("{:.*}%", self.decimals, value * 100.0 + 0.0),
            ValueFormat::Count => format!("{:.*}", self.decimals, value + 0.0),
        }
    }
}

/// Draws text in the Chinese font so that it sits where it is asked to, the
/// same in PNG and SVG: sizes are in em (pixels per em square), and text is
/// centred vertically on the middle of an ideograph.
///
/// The font is also registered with plotters under its CSS family list, so
/// that any text plotters draws itself (and the SVG `font-family`) uses it.
pub(super) struct Painter {
    font: FontRef<'static>,
    font_name: String,
    family: String,
    target: Target,
    /// Ascent minus descent, in em.
    height_em: f64,
    /// Middle of an ideograph below the baseline, in em (negative: above).
    middle_em: f64,
}

impl Painter {
    /// Registers `font` with plotters under its CSS family list (which is what
    /// SVG output names) and measures it.
    pub(super) fn new(font: &CjkFont, target: Target) -> Result<Self, RenderError> {
        let family = font.css_family();
        register_font(&family, FontStyle::Normal, font.data()).map_err(|_| {
            RenderError::Drawing(format!("{} could not be registered", font.path.display()))
        })?;
        let parsed = FontRef::try_from_slice(font.data()).map_err(|_| {
            RenderError::Drawing(format!("{} could not be parsed", font.path.display()))
        })?;
        let upem = f64::from(parsed.units_per_em().unwrap_or(1000.0));
        let height_em = f64::from(parsed.height_unscaled()) / upem;
        let middle_em = ideograph_middle(&parsed, height_em).unwrap_or(-0.38);
        Ok(Self {
            font: parsed,
            font_name: font.family.clone(),
            family,
            target,
            height_em,
            middle_em,
        })
    }

    /// The advance width of `text` at `em` pixels.
    pub(super) fn width(&self, text: &str, em: f64) -> f64 {
        let scaled = self
            .font
            .as_scaled(PxScale::from((em * self.height_em) as f32));
        let mut width = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                width += scaled.kern(p, id);
            }
            width += scaled.h_advance(id);
            prev = Some(id);
        }
        f64::from(width)
    }

    /// Fails when the font lacks a glyph of `text`, rather than drawing boxes.
    pub(super) fn check(&self, text: &str) -> Result<(), RenderError> {
        let mut missing: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control() && self.font.glyph_id(*c).0 == 0)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        Err(RenderError::MissingGlyphs {
            family: self.font_name.clone(),
            chars: missing.into_iter().collect(),
            text: text.to_owned(),
        })
    }

    /// Draws `text` at `em` pixels with its vertical middle at `middle_y`,
    /// starting at, centred on, or ending at `x` as `h` says.
    pub(super) fn text<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        at: (f64, f64),
        em: f64,
        h: HPos,
        color: RGBColor,
    ) -> Result<(), RenderError> {
        self.draw(area, text, at, em, h, color, false)
    }

    /// [`Painter::text`] with a white outline, legible over any fill colour.
    pub(super) fn text_with_halo<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        at: (f64, f64),
        em: f64,
        h: HPos,
        color: RGBColor,
    ) -> Result<(), RenderError> {
        self.draw(area, text, at, em, h, color, true)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "private; the two wrappers name the flag"
    )]
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        at: (f64, f64),
        em: f64,
        h: HPos,
        color: RGBColor,
        halo: bool,
    ) -> Result<(), RenderError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        self.check(text)?;
        match self.target {
            Target::Png => self.raster(area, text, at, em, h, color, halo),
            Target::Svg => {
                if halo {
                    for (dx, dy) in HALO_OFFSETS {
                        self.svg_text(area, text, (at.0 + dx, at.1 + dy), em, h, PAPER)?;
                    }
                }
                self.svg_text(area, text, at, em, h, color)
            }
        }
    }

    /// SVG: a `<text>` element, its size and drop converted from plotters'
    /// conventions so that the font's em and the ideograph middle land where
    /// [`Painter::raster`] puts them.
    fn svg_text<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        (x, middle_y): (f64, f64),
        em: f64,
        h: HPos,
        color: RGBColor,
    ) -> Result<(), RenderError> {
        // Plotters writes font-size = size / 1.24 and dy = 0.76em for top-anchored text.
        let size = em * 1.24;
        let baseline = middle_y - self.middle_em * em;
        let top = baseline - 0.76 * em;
        let style = FontDesc::new(FontFamily::Name(&self.family), size, FontStyle::Normal)
            .color(&color)
            .pos(Pos::new(h, VPos::Top));
        area.draw(&Text::new(
            text.to_owned(),
            (x.round() as i32, top.round() as i32),
            style,
        ))
        .map_err(drawing_error)
    }

    /// PNG: glyphs laid out and rasterised here with `ab_glyph`, then blended
    /// pixel by pixel. Plotters 0.3.7 draws each glyph's ink at the pen position,
    /// dropping its side bearing, which spaces Chinese unevenly ("自 治县").
    #[allow(clippy::too_many_arguments, reason = "private, called from one place")]
    fn raster<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        text: &str,
        (x, middle_y): (f64, f64),
        em: f64,
        h: HPos,
        color: RGBColor,
        halo: bool,
    ) -> Result<(), RenderError> {
        let scale = PxScale::from((em * self.height_em) as f32);
        let scaled = self.font.as_scaled(scale);
        let width = self.width(text, em);
        let left = match h {
            HPos::Left => x,
            HPos::Center => x - width / 2.0,
            HPos::Right => x - width,
        };
        let baseline = (middle_y - self.middle_em * em) as f32;
        let mut pen = left as f32;
        let mut prev = None;
        let mut outlines = Vec::new();
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(pen, baseline));
            outlines.extend(self.font.outline_glyph(glyph));
            pen += scaled.h_advance(id);
            prev = Some(id);
        }
        let Some(bounds) = outlines
            .iter()
            .map(OutlinedGlyph::px_bounds)
            .reduce(|a, b| ab_glyph::Rect {
                min: point(a.min.x.min(b.min.x), a.min.y.min(b.min.y)),
                max: point(a.max.x.max(b.max.x), a.max.y.max(b.max.y)),
            })
        else {
            return Ok(());
        };
        // One pixel of room on each side for the halo.
        let (x0, y0) = (bounds.min.x as i32 - 1, bounds.min.y as i32 - 1);
        let (w, h) = (
            (bounds.max.x - bounds.min.x) as usize + 3,
            (bounds.max.y - bounds.min.y) as usize + 3,
        );
        let mut coverage = vec![0f32; w * h];
        for outline in &outlines {
            let b = outline.px_bounds();
            let (ox, oy) = (b.min.x as i32 - x0, b.min.y as i32 - y0);
            outline.draw(|gx, gy, c| {
                let (px, py) = (ox + gx as i32, oy + gy as i32);
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    let cell = &mut coverage[py as usize * w + px as usize];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        let at = |i: i32, j: i32| {
            if i < 0 || j < 0 || i as usize >= w || j as usize >= h {
                0.0
            } else {
                coverage[j as usize * w + i as usize]
            }
        };
        let blend = |cover: &dyn Fn(i32, i32) -> f32, color: RGBColor| {
            for j in 0..h as i32 {
                for i in 0..w as i32 {
                    let c = cover(i, j);
                    if c > 1.0 / 255.0 {
                        area.draw_pixel((x0 + i, y0 + j), &color.mix(f64::from(c)))
                            .map_err(drawing_error)?;
                    }
                }
            }
            Ok::<(), RenderError>(())
        };
        if halo {
            let spread = |i: i32, j: i32| {
                HALO_OFFSETS
                    .iter()
                    .map(|(dx, dy)| at(i + *dx as i32, j + *dy as i32))
                    .fold(at(i, j), f32::max)
            };
            blend(&spread, PAPER)?;
        }
        blend(&at, color)
    }
}

/// The eight neighbours a halo spreads to.
const HALO_OFFSETS: [(f64, f64); 8] = [
    (-1.0, -1.0),
    (0.0, -1.0),
    (1.0, -1.0),
    (-1.0, 0.0),
    (1.0, 0.0),
    (-1.0, 1.0),
    (0.0, 1.0),
    (1.0, 1.0),
];

/// Where an ideograph's outline is centred vertically, in em below the baseline.
fn ideograph_middle(font: &FontRef<'_>, height_em: f64) -> Option<f64> {
    let scale = 100.0f32;
    let scaled = font.as_scaled(PxScale::from(scale));
    let glyph = scaled.scaled_glyph('县');
    let bounds = font.outline_glyph(glyph)?.px_bounds();
    let em_px = f64::from(scale) / height_em;
    Some(f64::from(bounds.min.y + bounds.max.y) / 2.0 / em_px)
}

/// A plotters error as ours.
pub(super) fn drawing_error<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> RenderError {
    use plotters::drawing::DrawingAreaErrorKind;
    RenderError::Drawing(match e {
        DrawingAreaErrorKind::BackendError(inner) => inner.to_string(),
        other => other.to_string(),
    })
}

/// Sizes of the page furniture, scaled with the image: 1.0 at 1200×900.
///
/// They grow with the square root of the image size, so that text stays
/// readable on small images and does not become huge on large ones.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    /// Pixels per design pixel.
    pub(super) u: f64,
    /// Outer margin.
    pub(super) pad: f64,
}

impl Scale {
    pub(super) fn new(width: u32, height: u32) -> Self {
        let ratio = (f64::from(width) / 1200.0).min(f64::from(height) / 900.0);
        let u = ratio.sqrt().clamp(0.5, 3.0);
        Self { u, pad: 20.0 * u }
    }
}

/// Where content may start below the title.
pub(super) fn title_bottom(s: Scale) -> f64 {
    s.pad + 44.0 * s.u
}

/// Draws the title centred on top, shrunk to fit the width if it is long.
pub(super) fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    painter: &Painter,
    title: &str,
    width: u32,
    s: Scale,
) -> Result<(), RenderError> {
    let mut em = 30.0 * s.u;
    let room = f64::from(width) - 2.0 * s.pad;
    let natural = painter.width(title, em);
    if natural > room {
        em *= room / natural;
    }
    let middle = s.pad + 18.0 * s.u;
    painter.text(
        area,
        title,
        (f64::from(width) / 2.0, middle),
        em,
        HPos::Center,
        INK,
    )
}

/// The footer: the data date and the source at the bottom, side by side when
/// they fit and one above the other when not.
pub(super) struct Footer {
    em: f64,
    line: f64,
    side_by_side: bool,
}

impl Footer {
    pub(super) fn measure(
        painter: &Painter,
        (date, source): (&str, &str),
        width: u32,
        s: Scale,
    ) -> Self {
        let em = 14.0 * s.u;
        let room = f64::from(width) - 2.0 * s.pad;
        let side_by_side = painter.width(date, em) + 40.0 * s.u + painter.width(source, em) <= room;
        Self {
            em,
            line: 22.0 * s.u,
            side_by_side,
        }
    }

    /// Where content must end above the footer.
    pub(super) fn top(&self, height: u32, s: Scale) -> f64 {
        let lines = if self.side_by_side { 1.0 } else { 2.0 };
        f64::from(height) - s.pad - lines * self.line
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        painter: &Painter,
        (date, source): (&str, &str),
        (width, height): (u32, u32),
        s: Scale,
    ) -> Result<(), RenderError> {
        let (w, h) = (f64::from(width), f64::from(height));
        let last = h - s.pad - self.line / 2.0;
        if self.side_by_side {
            painter.text(area, date, (s.pad, last), self.em, HPos::Left, INK_LIGHT)?;
            painter.text(
                area,
                source,
                (w - s.pad, last),
                self.em,
                HPos::Right,
                INK_LIGHT,
            )
        } else {
            painter.text(
                area,
                date,
                (s.pad, last - self.line),
                self.em,
                HPos::Left,
                INK_LIGHT,
            )?;
            painter.text(area, source, (s.pad, last), self.em, HPos::Left, INK_LIGHT)
        }
    }
}

/// Encodes an RGB buffer as PNG.
pub(super) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let encoding = |e: png::EncodingError| RenderError::Encoding(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(encoding)?;
    writer.write_image_data(rgb).map_err(encoding)?;
    writer.finish().map_err(encoding)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#fdd0a2"), Some(RGBColor(0xfd, 0xd0, 0xa2)));
        assert_eq!(parse_color("FDD0A2"), Some(RGBColor(0xfd, 0xd0, 0xa2)));
        assert_eq!(parse_color("#fff"), Some(RGBColor(255, 255, 255)));
        assert_eq!(parse_color("#ggg"), None);
        assert_eq!(parse_color("#12345"), None);
        assert_eq!(parse_color("红"), None);
        assert_eq!(to_hex(RGBColor(0xd9, 0xd9, 0xd9)), "#d9d9d9");
    }

    #[test]
    fn palettes_spread_over_any_number_of_classes() {
        let p = [RGBColor(0, 0, 0), RGBColor(200, 100, 50)];
        assert_eq!(spread(&p, 2), p.to_vec());
        assert_eq!(
            spread(&p, 3),
            vec![
                RGBColor(0, 0, 0),
                RGBColor(100, 50, 25),
                RGBColor(200, 100, 50)
            ]
        );
        assert_eq!(spread(&p, 1), vec![RGBColor(100, 50, 25)]);
        let five: Vec<RGBColor> = (0..5).map(|i| RGBColor(i * 10, 0, 0)).collect();
        assert_eq!(
            spread(&five, 3),
            vec![RGBColor(0, 0, 0), RGBColor(20, 0, 0), RGBColor(40, 0, 0)]
        );
    }

    #[test]
    fn numbers_format_with_enough_decimals() {
        let f = NumberFormat::for_values(ValueFormat::Percent, &[0.05, 0.1, 0.2]);
        assert_eq!(f.format(0.05), "5.0%");
        assert_eq!(f.format(-0.0), "0.0%");
        let f = NumberFormat::for_values(ValueFormat::Percent, &[0.0501, 0.0504]);
        assert_eq!(f.format(0.0501), "5.01%");
        let f = NumberFormat::for_values(ValueFormat::Count, &[12.0, 30.0]);
        assert_eq!(f.format(12.0), "12");
        let f = NumberFormat::for_values(ValueFormat::Count, &[12.5, 30.0]);
        assert_eq!(f.format(30.0), "30.0");
    }
}
