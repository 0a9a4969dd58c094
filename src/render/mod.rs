//! Static maps and charts (静态专题图): choropleths of areas, horizontal bar
//! charts and line charts of an indicator over time, as PNG or SVG, with every
//! visible word in Chinese.
//!
//! Text is drawn with a font found by [`fonts::discover`] and checked to have
//! Chinese glyphs; a character the font cannot draw fails the render with
//! [`RenderError::MissingGlyphs`] instead of appearing as an empty box.

mod bars;
pub mod brief;
mod canvas;
pub mod classify;
pub mod fonts;
pub mod indicator;
mod line;
mod map;
mod notice;

use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::drawing::IntoDrawingArea;

pub use classify::{Classing, breaks, class_of};
pub use fonts::{CjkFont, discover};

use canvas::{NumberFormat, Painter, Target, parse_color, spread, to_hex};

/// Why a map or chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No font on this machine can draw Chinese.
    #[error("{}", fonts::no_font_message(.searched))]
    NoCjkFont {
        /// Each place looked at, and why it was not used.
        searched: Vec<String>,
    },
    /// Nothing to draw: no area with a geometry, a bar chart without bars, or
    /// a line chart without points.
    #[error("nothing to draw: the request has no areas with a geometry, no bars or no points")]
    NoAreas,
    /// The request itself is unusable (a colour that is not one, a size out of
    /// range, areas without extent); the message names the field.
    #[error("invalid drawing request: {0}")]
    InvalidSpec(String),
    /// The font has no glyph for some characters of a text to be drawn.
    #[error(
        "font {family} has no glyph for {chars:?} in {text:?}; the text would show \
         empty boxes (set PAICHA_CJK_FONT to a font that has them)"
    )]
    MissingGlyphs {
        /// The font's family.
        family: String,
        /// The characters it lacks.
        chars: String,
        /// The text they are in.
        text: String,
    },
    /// The drawing library failed.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// The image could not be encoded.
    #[error("image encoding failed: {0}")]
    Encoding(String),
}

/// One area of a choropleth.
#[derive(Debug, Clone, PartialEq)]
pub struct MapArea {
    /// The area's code (行政区划代码).
    pub code: String,
    /// The name written on the map when labels are on.
    pub name: String,
    /// The boundary, WGS-84 longitude/latitude.
    pub geometry: geo::MultiPolygon<f64>,
    /// The value coloured; `None` (or NaN) is no data.
    pub value: Option<f64>,
}

/// How values are written in legends and on bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// The value is a fraction, written as a percentage: `0.05` → `5.0%`.
    Percent,
    /// The value is a count, written without decimals when it is whole.
    Count,
}

/// A choropleth to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoroplethSpec {
    /// Title on top, e.g. "新宾满族自治县 各村 居住危房 比例".
    pub title: String,
    /// Heading of the legend, e.g. "居住危房比例".
    pub legend_title: String,
    /// The areas, drawn in this order.
    pub areas: Vec<MapArea>,
    /// How class breaks are chosen.
    pub classing: Classing,
    /// How many classes (ignored by [`Classing::Fixed`]).
    pub classes: usize,
    /// Hex colours, lowest class first; spread by interpolation when the map has
    /// a different number of classes.
    pub palette: Vec<String>,
    /// Hex colour of areas without a value, shown in the legend as 无数据.
    pub no_data_color: String,
    /// How values are written in the legend.
    pub value_format: ValueFormat,
    /// Bottom left, e.g. "数据日期：2019-07-01".
    pub data_date: String,
    /// Bottom right, e.g. "数据来源：新宾县脱贫攻坚质量大普查（paicha）".
    pub source: String,
    /// Write each area's name at a point inside it (names that would overlap a
    /// larger area's name are left out).
    pub label_areas: bool,
    /// Image width in pixels (1200 is the design size).
    pub width: u32,
    /// Image height in pixels (900 is the design size).
    pub height: u32,
}

/// A horizontal bar chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSpec {
    /// Title on top.
    pub title: String,
    /// Names and values, drawn top to bottom in this order; a NaN value is
    /// written as 无数据.
    pub bars: Vec<(String, f64)>,
    /// How values are written at the bar ends.
    pub value_format: ValueFormat,
    /// Hex colour of the bars.
    pub color: String,
    /// Bottom left, e.g. "数据日期：2019-07-01".
    pub data_date: String,
    /// Bottom right, the data source.
    pub source: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// A line chart of one series over time (an indicator across data versions).
#[derive(Debug, Clone, PartialEq)]
pub struct LineSpec {
    /// Title on top, e.g. "新宾满族自治县 辍学率 历次数据变化".
    pub title: String,
    /// The points, left to right in this order: the x label (a date such as
    /// "2024-03-31", or a version name) and the value; a NaN value is a gap in
    /// the line and is written 无数据.
    pub points: Vec<(String, f64)>,
    /// How values are written (as for bars: rates as percentages etc.).
    pub value_format: ValueFormat,
    /// Hex colour of the line and markers.
    pub color: String,
    /// Bottom left, e.g. "数据日期：2019-07-01".
    pub data_date: String,
    /// Bottom right, the data source.
    pub source: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// An image in place of a map or chart that has nothing to show, saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeSpec {
    /// Title on top.
    pub title: String,
    /// The reason, in the middle.
    pub note: String,
    /// Bottom left, e.g. "数据日期：2019-07-01".
    pub data_date: String,
    /// Bottom right, the data source.
    pub source: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// What a choropleth's legend shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Legend {
    /// Inner class breaks, ascending; a value equal to a break is in the class above.
    pub breaks: Vec<f64>,
    /// Hex colour of each class (`breaks.len() + 1` of them), lowest first.
    pub colors: Vec<String>,
    /// Number of areas in each class.
    pub counts: Vec<usize>,
    /// Number of areas without a value.
    pub no_data: usize,
    /// The range written for each class, e.g. "5.0%–10.0%", "< 5.0%" or "≥ 30.0%".
    pub labels: Vec<String>,
}

/// The palette used when a spec's palette has no valid colour (the renderers
/// refuse such a spec; [`legend`] cannot fail, so it falls back to this).
const DEFAULT_PALETTE: [&str; 5] = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

/// The legend of a choropleth: breaks, colours, counts and range labels, as
/// drawn by [`choropleth_png`] and [`choropleth_svg`].
#[must_use]
pub fn legend(spec: &ChoroplethSpec) -> Legend {
    let values: Vec<f64> = spec
        .areas
        .iter()
        .filter_map(|a| a.value)
        .filter(|v| v.is_finite())
        .collect();
    let breaks = breaks(&values, &spec.classing, spec.classes);
    let classes = breaks.len() + 1;
    let mut palette: Vec<_> = spec.palette.iter().filter_map(|c| parse_color(c)).collect();
    if palette.is_empty() {
        palette = DEFAULT_PALETTE
            .iter()
            .filter_map(|c| parse_color(c))
            .collect();
    }
    let colors = spread(&palette, classes).into_iter().map(to_hex).collect();
    let mut counts = vec![0; classes];
    for v in &values {
        counts[class_of(*v, &breaks)] += 1;
    }
    let no_data = spec.areas.len() - values.len();
    let labels = range_labels(&breaks, &values, spec.value_format);
    Legend {
        breaks,
        colors,
        counts,
        no_data,
        labels,
    }
}

/// The range of each class: bounded by the data's extremes at the ends when
/// the data reaches past the outer breaks, open ("< a", "≥ b") when not.
fn range_labels(breaks: &[f64], values: &[f64], format: ValueFormat) -> Vec<String> {
    let min = values.iter().copied().reduce(f64::min);
    let max = values.iter().copied().reduce(f64::max);
    let mut shown: Vec<f64> = breaks.to_vec();
    shown.extend(min);
    shown.extend(max);
    let f = NumberFormat::for_values(format, &shown);
    let classes = breaks.len() + 1;
    (0..classes)
        .map(|i| {
            let lower = if i == 0 {
                min.filter(|m| breaks.first().is_none_or(|b| m < b))
            } else {
                Some(breaks[i - 1])
            };
            let upper = if i + 1 == classes {
                max.filter(|m| breaks.last().is_none_or(|b| m >= b))
            } else {
                Some(breaks[i])
            };
            match (lower, upper) {
                (Some(a), Some(b)) if f.format(a) == f.format(b) => f.format(a),
                (Some(a), Some(b)) => format!("{}–{}", f.format(a), f.format(b)),
                (None, Some(b)) => format!("< {}", f.format(b)),
                (Some(a), None) => format!("≥ {}", f.format(a)),
                (None, None) => "—".to_owned(),
            }
        })
        .collect()
}

/// Draws a choropleth as PNG.
///
/// # Errors
/// [`RenderError::NoAreas`] when no area has a geometry,
/// [`RenderError::InvalidSpec`] for a bad colour or size,
/// [`RenderError::MissingGlyphs`] when the font cannot draw some text,
/// [`RenderError::Drawing`] or [`RenderError::Encoding`] when plotters or the
/// PNG encoder fail.
pub fn choropleth_png(spec: &ChoroplethSpec, font: &CjkFont) -> Result<Vec<u8>, RenderError> {
    let checked = map::Checked::new(spec)?;
    let painter = Painter::new(font, Target::Png)?;
    let mut rgb = vec![0u8; spec.width as usize * spec.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (spec.width, spec.height)).into_drawing_area();
        map::draw(&root, spec, &checked, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    canvas::encode_png(&rgb, spec.width, spec.height)
}

/// Draws a choropleth as SVG; text stays text, in the font's family.
///
/// # Errors
/// As [`choropleth_png`], without encoding errors.
pub fn choropleth_svg(spec: &ChoroplethSpec, font: &CjkFont) -> Result<String, RenderError> {
    let checked = map::Checked::new(spec)?;
    let painter = Painter::new(font, Target::Svg)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (spec.width, spec.height)).into_drawing_area();
        map::draw(&root, spec, &checked, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    Ok(svg)
}

/// Draws a horizontal bar chart as PNG: names on the left, values at the bar ends.
///
/// # Errors
/// [`RenderError::NoAreas`] without bars, [`RenderError::InvalidSpec`] for a
/// bad colour or size, [`RenderError::MissingGlyphs`],
/// [`RenderError::Drawing`] and [`RenderError::Encoding`] as for maps.
pub fn bar_chart_png(spec: &BarSpec, font: &CjkFont) -> Result<Vec<u8>, RenderError> {
    let color = bars::check(spec)?;
    let painter = Painter::new(font, Target::Png)?;
    let mut rgb = vec![0u8; spec.width as usize * spec.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (spec.width, spec.height)).into_drawing_area();
        bars::draw(&root, spec, color, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    canvas::encode_png(&rgb, spec.width, spec.height)
}

/// Draws a horizontal bar chart as SVG.
///
/// # Errors
/// As [`bar_chart_png`], without encoding errors.
pub fn bar_chart_svg(spec: &BarSpec, font: &CjkFont) -> Result<String, RenderError> {
    let color = bars::check(spec)?;
    let painter = Painter::new(font, Target::Svg)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (spec.width, spec.height)).into_drawing_area();
        bars::draw(&root, spec, color, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    Ok(svg)
}

/// Draws a line chart as PNG: x labels under evenly spaced points, a y axis
/// from zero with labelled grid lines, and the values above the points when
/// there are at most 12.
///
/// # Errors
/// [`RenderError::NoAreas`] without points, [`RenderError::InvalidSpec`] for a
/// bad colour or size, [`RenderError::MissingGlyphs`],
/// [`RenderError::Drawing`] and [`RenderError::Encoding`] as for maps.
pub fn line_chart_png(spec: &LineSpec, font: &CjkFont) -> Result<Vec<u8>, RenderError> {
    let color = line::check(spec)?;
    let painter = Painter::new(font, Target::Png)?;
    let mut rgb = vec![0u8; spec.width as usize * spec.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (spec.width, spec.height)).into_drawing_area();
        line::draw(&root, spec, color, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    canvas::encode_png(&rgb, spec.width, spec.height)
}

/// Draws a line chart as SVG.
///
/// # Errors
/// As [`line_chart_png`], without encoding errors.
pub fn line_chart_svg(spec: &LineSpec, font: &CjkFont) -> Result<String, RenderError> {
    let color = line::check(spec)?;
    let painter = Painter::new(font, Target::Svg)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (spec.width, spec.height)).into_drawing_area();
        line::draw(&root, spec, color, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    Ok(svg)
}

/// Draws a notice as PNG.
///
/// # Errors
/// [`RenderError::InvalidSpec`] for a bad size, [`RenderError::MissingGlyphs`],
/// [`RenderError::Drawing`] and [`RenderError::Encoding`] as for maps.
pub fn notice_png(spec: &NoticeSpec, font: &CjkFont) -> Result<Vec<u8>, RenderError> {
    notice::check(spec)?;
    let painter = Painter::new(font, Target::Png)?;
    let mut rgb = vec![0u8; spec.width as usize * spec.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (spec.width, spec.height)).into_drawing_area();
        notice::draw(&root, spec, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    canvas::encode_png(&rgb, spec.width, spec.height)
}

/// Draws a notice as SVG.
///
/// # Errors
/// As [`notice_png`], without encoding errors.
pub fn notice_svg(spec: &NoticeSpec, font: &CjkFont) -> Result<String, RenderError> {
    notice::check(spec)?;
    let painter = Painter::new(font, Target::Svg)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (spec.width, spec.height)).into_drawing_area();
        notice::draw(&root, spec, &painter)?;
        root.present().map_err(canvas::drawing_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::OnceLock;

    use geo::{LineString, MultiPolygon, Polygon};

    use super::*;

    /// The machine's Chinese font, found once for all tests. Without one the
    /// rendering tests fail with the error that says how to install one.
    fn font() -> &'static CjkFont {
        static FONT: OnceLock<CjkFont> = OnceLock::new();
        FONT.get_or_init(|| match discover() {
            Ok(font) => font,
            Err(e) => panic!("{e}"),
        })
    }

    fn ring(lon: f64, lat: f64, size: f64) -> LineString<f64> {
        LineString::from(vec![
            (lon, lat),
            (lon + size, lat),
            (lon + size, lat + size),
            (lon, lat + size),
            (lon, lat),
        ])
    }

    fn square(code: &str, name: &str, lon: f64, lat: f64, value: Option<f64>) -> MapArea {
        MapArea {
            code: code.to_owned(),
            name: name.to_owned(),
            geometry: MultiPolygon::new(vec![Polygon::new(ring(lon, lat, 0.1), vec![])]),
            value,
        }
    }

    const PALETTE: [&str; 3] = ["#fee6ce", "#fdae6b", "#e6550d"];

    fn three_squares() -> ChoroplethSpec {
        ChoroplethSpec {
            title: "新宾满族自治县 各村 居住危房 比例".to_owned(),
            legend_title: "居住危房比例".to_owned(),
            areas: vec![
                square("210422001001", "永陵村", 124.80, 41.70, Some(0.02)),
                square("210422001002", "赫图阿拉村", 124.95, 41.70, Some(0.15)),
                square("210422001003", "木奇村", 125.10, 41.70, None),
            ],
            classing: Classing::Fixed(vec![0.05, 0.10]),
            classes: 3,
            palette: PALETTE.iter().map(|c| (*c).to_owned()).collect(),
            no_data_color: "#d9d9d9".to_owned(),
            value_format: ValueFormat::Percent,
            data_date: "数据日期：2019-07-01".to_owned(),
            source: "数据来源：新宾县脱贫攻坚质量大普查（paicha）".to_owned(),
            label_areas: false,
            width: 1200,
            height: 900,
        }
    }

    /// Width, height and RGB pixels of a PNG.
    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn pixel(rgb: &[u8], width: u32, (x, y): (f64, f64)) -> String {
        let i = (y.round() as usize * width as usize + x.round() as usize) * 3;
        format!("#{:02x}{:02x}{:02x}", rgb[i], rgb[i + 1], rgb[i + 2])
    }

    /// Where the map puts a longitude/latitude.
    fn pixel_of(spec: &ChoroplethSpec, lon: f64, lat: f64) -> (f64, f64) {
        let checked = map::Checked::new(spec).unwrap();
        let painter = Painter::new(font(), Target::Png).unwrap();
        let layout = map::Layout::new(spec, &checked, &legend(spec), &painter).unwrap();
        layout.projection.xy(lon, lat)
    }

    /// Pixels darker than light grey in rows `y0..y1`.
    fn dark_pixels(rgb: &[u8], width: u32, (y0, y1): (u32, u32)) -> usize {
        let row = width as usize * 3;
        rgb[y0 as usize * row..y1 as usize * row]
            .chunks(3)
            .filter(|p| p.iter().map(|c| u32::from(*c)).sum::<u32>() < 3 * 110)
            .count()
    }

    #[test]
    fn choropleth_png_colours_each_area_by_its_class() {
        let spec = three_squares();
        let png_bytes = choropleth_png(&spec, font()).unwrap();
        let (w, h, rgb) = decode(&png_bytes);
        assert_eq!((w, h), (1200, 900));
        let centre = |lon: f64| pixel_of(&spec, lon + 0.05, 41.75);
        assert_eq!(pixel(&rgb, w, centre(124.80)), PALETTE[0]);
        assert_eq!(pixel(&rgb, w, centre(124.95)), PALETTE[2]);
        assert_eq!(pixel(&rgb, w, centre(125.10)), "#d9d9d9");
        // Between the squares is page.
        assert_eq!(pixel(&rgb, w, pixel_of(&spec, 124.925, 41.75)), "#ffffff");
    }

    #[test]
    fn choropleth_png_really_draws_the_chinese_title() {
        let spec = three_squares();
        let mut blank = spec.clone();
        blank.title = " ".repeat(spec.title.chars().count());
        let (w, _, with_title) = decode(&choropleth_png(&spec, font()).unwrap());
        let (_, _, without) = decode(&choropleth_png(&blank, font()).unwrap());
        let band = (0, 64);
        assert_eq!(dark_pixels(&without, w, band), 0);
        let dark = dark_pixels(&with_title, w, band);
        // 15 characters at 30 px leave well over a thousand dark pixels.
        assert!(dark > 1000, "only {dark} dark pixels in the title band");
    }

    #[test]
    fn text_the_font_cannot_draw_is_refused() {
        let mut spec = three_squares();
        spec.title = "新宾\u{10fffd}".to_owned();
        let err = choropleth_png(&spec, font()).unwrap_err();
        assert!(
            matches!(&err, RenderError::MissingGlyphs { chars, .. } if chars == "\u{10fffd}"),
            "{err}"
        );
    }

    #[test]
    fn holes_show_the_page_and_enclaves_their_own_colour() {
        let mut spec = three_squares();
        let outer = Polygon::new(ring(124.0, 41.0, 1.0), vec![ring(124.3, 41.3, 0.4)]);
        spec.areas = vec![
            MapArea {
                code: "1".to_owned(),
                name: "外村".to_owned(),
                geometry: MultiPolygon::new(vec![outer]),
                value: Some(0.02),
            },
            square("2", "内村", 124.45, 41.45, Some(0.15)),
        ];
        let (w, _, rgb) = decode(&choropleth_png(&spec, font()).unwrap());
        assert_eq!(pixel(&rgb, w, pixel_of(&spec, 124.1, 41.5)), PALETTE[0]);
        assert_eq!(pixel(&rgb, w, pixel_of(&spec, 124.35, 41.5)), "#ffffff");
        assert_eq!(pixel(&rgb, w, pixel_of(&spec, 124.5, 41.5)), PALETTE[2]);
    }

    #[test]
    fn labels_are_drawn_inside_the_areas() {
        let mut spec = three_squares();
        spec.label_areas = true;
        let (w, _, rgb) = decode(&choropleth_png(&spec, font()).unwrap());
        let (x, y) = pixel_of(&spec, 124.85, 41.75);
        let around: usize = (-20..=20)
            .flat_map(|dx| (-6..=6).map(move |dy| (x + f64::from(dx), y + f64::from(dy))))
            .filter(|p| {
                let c = pixel(&rgb, w, *p);
                c != PALETTE[0] && c != "#ffffff"
            })
            .count();
        assert!(around > 30, "no label pixels around the centre: {around}");
    }

    #[test]
    fn choropleth_svg_keeps_chinese_text() {
        let spec = three_squares();
        let svg = choropleth_svg(&spec, font()).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(&spec.title));
        assert!(svg.contains("<text"));
        assert!(svg.contains("无数据"));
        assert!(svg.contains("居住危房比例"));
        assert!(svg.contains("5.0%–10.0%"));
        assert!(svg.contains("北"));
        assert!(svg.contains("公里"));
        assert!(svg.contains(&format!("font-family=\"{}", font().family)));
        assert!(svg.contains("fill=\"#FDAE6B\"") || svg.contains("fill=\"#fdae6b\""));
    }

    #[test]
    fn legend_reports_what_the_map_shows() {
        let spec = three_squares();
        let l = legend(&spec);
        assert_eq!(l.breaks, vec![0.05, 0.10]);
        assert_eq!(l.colors, PALETTE.to_vec());
        assert_eq!(l.counts, vec![1, 0, 1]);
        assert_eq!(l.no_data, 1);
        assert_eq!(l.labels, vec!["2.0%–5.0%", "5.0%–10.0%", "10.0%–15.0%"]);

        let mut spec = three_squares();
        spec.areas = (0..10)
            .map(|i| {
                let v = match i {
                    8 => None,
                    9 => Some(f64::NAN),
                    _ => Some(f64::from(i)),
                };
                square(&i.to_string(), "村", 124.0 + f64::from(i) * 0.1, 41.0, v)
            })
            .collect();
        spec.classing = Classing::Quantile;
        spec.classes = 4;
        spec.value_format = ValueFormat::Count;
        spec.palette = vec!["#000000".to_owned(), "#ffffff".to_owned()];
        let l = legend(&spec);
        assert_eq!(l.breaks, vec![2.0, 4.0, 6.0]);
        assert_eq!(l.counts, vec![2, 2, 2, 2]);
        assert_eq!(l.no_data, 2);
        assert_eq!(l.colors, vec!["#000000", "#555555", "#aaaaaa", "#ffffff"]);
        assert_eq!(l.labels, vec!["0–2", "2–4", "4–6", "6–7"]);

        // Fixed breaks past the data leave the ends open.
        spec.classing = Classing::Fixed(vec![-1.0, 20.0]);
        assert_eq!(legend(&spec).labels, vec!["< -1", "-1–20", "≥ 20"]);
    }

    #[test]
    fn bad_requests_are_refused() {
        let mut spec = three_squares();
        spec.palette[1] = "orange".to_owned();
        assert!(matches!(
            choropleth_png(&spec, font()),
            Err(RenderError::InvalidSpec(m)) if m.contains("palette[1]")
        ));
        let mut spec = three_squares();
        spec.areas.clear();
        assert!(matches!(
            choropleth_svg(&spec, font()),
            Err(RenderError::NoAreas)
        ));
        let mut spec = three_squares();
        spec.width = 0;
        assert!(matches!(
            choropleth_png(&spec, font()),
            Err(RenderError::InvalidSpec(_))
        ));
    }

    #[test]
    fn a_notice_has_its_title_its_reason_in_the_middle_and_the_footer() {
        let spec = NoticeSpec {
            title: "（不在您的权限范围内）义务教育阶段失学辍学比例".to_owned(),
            note: "所选范围不在您的权限范围内，没有可显示的数据".to_owned(),
            data_date: "数据日期：2019-07-01".to_owned(),
            source: "数据来源：paicha 排查数据".to_owned(),
            width: 1200,
            height: 900,
        };
        let svg = notice_svg(&spec, font()).unwrap();
        for text in [&spec.title, &spec.note, &spec.data_date, &spec.source] {
            assert!(svg.contains(text.as_str()), "{text}");
        }
        let (w, h, rgb) = decode(&notice_png(&spec, font()).unwrap());
        assert_eq!((w, h), (1200, 900));
        // The reason is written across the middle, and nothing above or below it
        // but the title and the footer.
        assert!(dark_pixels(&rgb, w, (420, 480)) > 500);
        assert_eq!(dark_pixels(&rgb, w, (150, 400)), 0);
        assert_eq!(dark_pixels(&rgb, w, (500, 800)), 0);
    }

    fn bar_spec() -> BarSpec {
        BarSpec {
            title: "各乡镇 存在问题户 比例".to_owned(),
            bars: vec![
                ("永陵镇".to_owned(), 0.31),
                ("新宾镇".to_owned(), 0.12),
                ("旺清门镇".to_owned(), f64::NAN),
                ("红升乡".to_owned(), 0.0),
            ],
            value_format: ValueFormat::Percent,
            color: "#d94801".to_owned(),
            data_date: "数据日期：2019-07-01".to_owned(),
            source: "数据来源：新宾县脱贫攻坚质量大普查（paicha）".to_owned(),
            width: 800,
            height: 500,
        }
    }

    #[test]
    fn bar_chart_renders() {
        let spec = bar_spec();
        let (w, h, rgb) = decode(&bar_chart_png(&spec, font()).unwrap());
        assert_eq!((w, h), (800, 500));
        let bar_pixels = rgb.chunks(3).filter(|p| p == &[0xd9, 0x48, 0x01]).count();
        assert!(bar_pixels > 5000, "{bar_pixels}");

        let svg = bar_chart_svg(&spec, font()).unwrap();
        for text in [
            "永陵镇",
            "31.0%",
            "12.0%",
            "0.0%",
            "无数据",
            "各乡镇 存在问题户 比例",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }

        let mut empty = bar_spec();
        empty.bars.clear();
        assert!(matches!(
            bar_chart_png(&empty, font()),
            Err(RenderError::NoAreas)
        ));
    }

    /// The line colour of [`line_spec`].
    const LINE: [u8; 3] = [0x21, 0x71, 0xb5];

    fn line_spec() -> LineSpec {
        LineSpec {
            title: "新宾满族自治县 辍学率 历次数据变化".to_owned(),
            points: vec![
                ("2019-07-01".to_owned(), 0.012),
                ("2020-03-31".to_owned(), 0.018),
                ("2021-03-31".to_owned(), 0.025),
                ("2022-03-31".to_owned(), 0.031),
                ("2023-03-31".to_owned(), 0.040),
                ("2024-03-31".to_owned(), 0.052),
            ],
            value_format: ValueFormat::Percent,
            color: "#2171b5".to_owned(),
            data_date: "数据日期：2024-03-31".to_owned(),
            source: "数据来源：新宾县脱贫攻坚质量大普查（paicha）".to_owned(),
            width: 900,
            height: 600,
        }
    }

    /// The image width and where the line colour is, as (x, y) pixels.
    fn line_pixels(spec: &LineSpec) -> (u32, Vec<(u32, u32)>) {
        let (w, h, rgb) = decode(&line_chart_png(spec, font()).unwrap());
        assert_eq!((w, h), (spec.width, spec.height));
        let xy = rgb
            .chunks(3)
            .enumerate()
            .filter(|(_, p)| *p == LINE)
            .map(|(i, _)| ((i % w as usize) as u32, (i / w as usize) as u32))
            .collect();
        (w, xy)
    }

    fn mean(values: impl Iterator<Item = u32>) -> f64 {
        let (sum, n) = values.fold((0.0, 0.0), |(s, n), v| (s + f64::from(v), n + 1.0));
        sum / n
    }

    fn line_plot(spec: &LineSpec) -> line::Plot {
        line::Plot::new(spec, &Painter::new(font(), Target::Png).unwrap()).unwrap()
    }

    #[test]
    fn a_rising_series_draws_a_line_that_rises_left_to_right() {
        let (w, xy) = line_pixels(&line_spec());
        assert!(
            xy.len() > 1000,
            "only {} pixels of the line colour",
            xy.len()
        );
        let left = mean(xy.iter().filter(|p| p.0 < w / 3).map(|p| p.1));
        let right = mean(xy.iter().filter(|p| p.0 > 2 * w / 3).map(|p| p.1));
        // Image y grows downwards: the left third's line is lower, so larger.
        assert!(left > right + 50.0, "left {left}, right {right}");
    }

    #[test]
    fn a_nan_value_breaks_the_line() {
        let mut spec = line_spec();
        spec.points[2].1 = f64::NAN;
        let plot = line_plot(&spec);
        let (_, xy) = line_pixels(&spec);
        let in_columns = |from: f64, to: f64| {
            xy.iter()
                .filter(|p| f64::from(p.0) > from && f64::from(p.0) < to)
                .count()
        };
        // Clear of the markers of points 1 and 3, nothing; between points 0
        // and 1, and 3 and 4, the line.
        assert_eq!(in_columns(plot.x(1) + 12.0, plot.x(3) - 12.0), 0);
        assert!(in_columns(plot.x(0) + 12.0, plot.x(1) - 12.0) > 100);
        assert!(in_columns(plot.x(3) + 12.0, plot.x(4) - 12.0) > 100);
        let (_, unbroken) = line_pixels(&line_spec());
        let between = unbroken
            .iter()
            .filter(|p| f64::from(p.0) > plot.x(1) + 12.0 && f64::from(p.0) < plot.x(3) - 12.0)
            .count();
        assert!(between > 100, "{between}");

        assert!(line_chart_svg(&spec, font()).unwrap().contains("无数据"));
    }

    #[test]
    fn line_chart_svg_writes_the_title_labels_values_and_footer() {
        let spec = line_spec();
        let svg = line_chart_svg(&spec, font()).unwrap();
        assert!(svg.starts_with("<svg"));
        for text in [
            spec.title.as_str(),
            "2019-07-01",
            "2024-03-31",
            "1.2%",
            "5.2%",
            "0.0%",
            &spec.data_date,
            &spec.source,
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(!svg.contains("无数据"));
        assert!(svg.to_ascii_lowercase().contains("#2171b5"));
    }

    #[test]
    fn a_line_chart_without_any_value_says_no_data() {
        let mut spec = line_spec();
        for p in &mut spec.points {
            p.1 = f64::NAN;
        }
        let (w, xy) = line_pixels(&spec);
        assert!(xy.is_empty(), "{} pixels of the line colour", xy.len());
        let (_, _, rgb) = decode(&line_chart_png(&spec, font()).unwrap());
        let middle = spec.height / 2;
        assert!(dark_pixels(&rgb, w, (middle - 60, middle + 60)) > 50);
        let svg = line_chart_svg(&spec, font()).unwrap();
        assert_eq!(svg.matches("无数据").count(), 1);
        assert!(svg.contains("2019-07-01") && svg.contains("2024-03-31"));
    }

    #[test]
    fn a_single_point_is_drawn_in_the_middle() {
        let mut spec = line_spec();
        spec.points.truncate(1);
        let plot = line_plot(&spec);
        let (w, xy) = line_pixels(&spec);
        assert!(!xy.is_empty());
        let x = mean(xy.iter().map(|p| p.0));
        assert!((x - plot.x(0)).abs() < 1.5, "{x} vs {}", plot.x(0));
        // The plot is offset by the y labels on its left, not by more.
        assert!((x - f64::from(w) / 2.0).abs() < f64::from(w) / 10.0, "{x}");
        assert!(line_chart_svg(&spec, font()).unwrap().contains("1.2%"));
    }

    #[test]
    fn equal_values_draw_a_flat_line() {
        for value in [0.05, 0.0] {
            let mut spec = line_spec();
            for p in &mut spec.points {
                p.1 = value;
            }
            let plot = line_plot(&spec);
            let (_, xy) = line_pixels(&spec);
            assert!(xy.len() > 1000, "{value}: {}", xy.len());
            let (top, bottom) = xy
                .iter()
                .fold((u32::MAX, 0), |(t, b), p| (t.min(p.1), b.max(p.1)));
            assert!(bottom - top <= 12, "{value}: rows {top}..{bottom}");
            assert!((mean(xy.iter().map(|p| p.1)) - plot.y(value)).abs() < 1.5);
        }
    }

    #[test]
    fn many_points_write_fewer_x_labels_but_always_the_first_and_last() {
        let mut spec = line_spec();
        spec.points = (0..40)
            .map(|i| (format!("第{}次", i + 1), f64::from(i % 7) / 100.0))
            .collect();
        let svg = line_chart_svg(&spec, font()).unwrap();
        let written = (1..=40)
            .filter(|i| svg.contains(&format!("\n第{i}次\n")))
            .count();
        assert!(svg.contains("\n第1次\n") && svg.contains("\n第40次\n"));
        assert!(written < 40, "all {written} labels written");
        // Nor are 40 values written above the points.
        assert!(svg.matches("<text").count() < 40);
    }

    #[test]
    fn bad_line_chart_requests_are_refused() {
        let mut spec = line_spec();
        spec.points.clear();
        assert!(matches!(
            line_chart_png(&spec, font()),
            Err(RenderError::NoAreas)
        ));
        let mut spec = line_spec();
        spec.color = "蓝色".to_owned();
        assert!(matches!(
            line_chart_svg(&spec, font()),
            Err(RenderError::InvalidSpec(m)) if m.contains("color")
        ));
        let mut spec = line_spec();
        spec.height = 20;
        assert!(matches!(
            line_chart_png(&spec, font()),
            Err(RenderError::InvalidSpec(_))
        ));
    }
}
