//! The choropleth: areas coloured by class, with title, legend, north arrow,
//! scale bar and footer.

use geo::{BoundingRect, InteriorPoint, LineString, Rect};
use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{PathElement, Polygon, Rectangle};
use plotters::style::text_anchor::HPos;
use plotters::style::{Color, RGBColor, ShapeStyle};

use super::canvas::{
    Footer, INK, INK_LIGHT, PAPER, Painter, Scale, draw_title, drawing_error, parse_color,
    require_color, require_size, title_bottom,
};
use super::{ChoroplethSpec, Legend, MapArea, RenderError, class_of, legend};

/// Borders between areas.
const BORDER: RGBColor = RGBColor(0x8c, 0x8c, 0x8c);
/// The legend's frame and swatch outlines.
const FRAME: RGBColor = RGBColor(0xbd, 0xbd, 0xbd);
/// Kilometres per degree of latitude (and, after scaling by the cosine, of
/// longitude): the IUGG mean Earth radius 6 371.0088 km × π / 180.
const KM_PER_DEGREE: f64 = 111.195;

/// A request that has passed its checks, with what the checks found.
pub(super) struct Checked {
    no_data: RGBColor,
    bounds: Rect<f64>,
}

impl Checked {
    /// Checks colours and size, and that there is something with an extent to draw.
    pub(super) fn new(spec: &ChoroplethSpec) -> Result<Self, RenderError> {
        require_size(spec.width, spec.height)?;
        if spec.palette.is_empty() {
            return Err(RenderError::InvalidSpec(
                "palette: at least one colour is needed".to_owned(),
            ));
        }
        for (i, c) in spec.palette.iter().enumerate() {
            require_color(c, &format!("palette[{i}]"))?;
        }
        let no_data = require_color(&spec.no_data_color, "no_data_color")?;
        let bounds = spec
            .areas
            .iter()
            .filter_map(|a| a.geometry.bounding_rect())
            .reduce(|a, b| {
                Rect::new(
                    (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                    (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
                )
            })
            .ok_or(RenderError::NoAreas)?;
        let finite = [
            bounds.min().x,
            bounds.min().y,
            bounds.max().x,
            bounds.max().y,
        ]
        .iter()
        .all(|v| v.is_finite());
        if !finite || (bounds.width() <= 0.0 && bounds.height() <= 0.0) {
            return Err(RenderError::InvalidSpec(
                "areas: the geometries have no extent to draw".to_owned(),
            ));
        }
        // Projected coordinates (metres) passed by mistake would draw as a speck.
        let lon_lat = bounds.min().x >= -180.0
            && bounds.max().x <= 180.0
            && bounds.min().y >= -85.0
            && bounds.max().y <= 85.0;
        if !lon_lat {
            return Err(RenderError::InvalidSpec(
                "areas: coordinates beyond ±180° longitude or ±85° latitude \
                 (geometries must be WGS-84 longitude/latitude)"
                    .to_owned(),
            ));
        }
        Ok(Self { no_data, bounds })
    }
}

/// A local equirectangular projection fitted into a pixel frame: x is
/// longitude scaled by the cosine of the middle latitude, so that a kilometre
/// is nearly as long east–west as north–south over a county.
pub(super) struct Projection {
    lon0: f64,
    lat0: f64,
    cos_lat: f64,
    px_per_degree: f64,
    x0: f64,
    y0: f64,
}

impl Projection {
    /// Centres `bounds` in the frame `(left, top, right, bottom)`, leaving a
    /// margin of 3 % on each side.
    fn fit(bounds: Rect<f64>, (left, top, right, bottom): (f64, f64, f64, f64)) -> Self {
        let lat0 = f64::midpoint(bounds.min().y, bounds.max().y);
        let lon0 = f64::midpoint(bounds.min().x, bounds.max().x);
        let cos_lat = lat0.to_radians().cos();
        let (fw, fh) = ((right - left) * 0.94, (bottom - top) * 0.94);
        let (dx, dy) = (bounds.width() * cos_lat, bounds.height());
        let sx = if dx > 0.0 { fw / dx } else { f64::INFINITY };
        let sy = if dy > 0.0 { fh / dy } else { f64::INFINITY };
        Self {
            lon0,
            lat0,
            cos_lat,
            px_per_degree: sx.min(sy),
            x0: f64::midpoint(left, right),
            y0: f64::midpoint(top, bottom),
        }
    }

    pub(super) fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            self.x0 + (lon - self.lon0) * self.cos_lat * self.px_per_degree,
            self.y0 - (lat - self.lat0) * self.px_per_degree,
        )
    }

    fn km_per_px(&self) -> f64 {
        KM_PER_DEGREE / self.px_per_degree
    }
}

/// A ring in pixels, with its colour and area, for painting.
struct Ring {
    points: Vec<(i32, i32)>,
    area: f64,
    hole: bool,
    color: RGBColor,
}

/// A ring's pixels: rounded, without repeats, not closed (plotters closes
/// polygons itself). Repeats are dropped because a village boundary has far
/// more vertices than pixels, and every one would be written into the SVG.
fn ring_pixels(ring: &LineString<f64>, p: &Projection) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        let (x, y) = p.xy(c.x, c.y);
        let px = (x.round() as i32, y.round() as i32);
        if out.last() != Some(&px) {
            out.push(px);
        }
    }
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

fn shoelace(points: &[(i32, i32)]) -> f64 {
    let n = points.len();
    let twice: i64 = (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum();
    (twice as f64 / 2.0).abs()
}

/// Where everything goes: computed before drawing so that the map can be
/// fitted beside the legend (and so that tests can find an area's pixels).
pub(super) struct Layout {
    s: Scale,
    footer: Footer,
    legend_box: LegendBox,
    /// Top left of the legend box.
    panel: (f64, f64),
    /// The map frame: left, top, right, bottom.
    frame: (f64, f64, f64, f64),
    pub(super) projection: Projection,
}

impl Layout {
    pub(super) fn new(
        spec: &ChoroplethSpec,
        checked: &Checked,
        legend: &Legend,
        painter: &Painter,
    ) -> Result<Self, RenderError> {
        let s = Scale::new(spec.width, spec.height);
        let footer = Footer::measure(painter, (&spec.data_date, &spec.source), spec.width, s);
        let legend_box = LegendBox::measure(painter, spec, legend, s);
        let top = title_bottom(s) + 10.0 * s.u;
        let panel_left = f64::from(spec.width) - s.pad - legend_box.width;
        let frame = (
            s.pad,
            top,
            panel_left - 16.0 * s.u,
            footer.top(spec.height, s) - 10.0 * s.u,
        );
        if frame.2 - frame.0 < 60.0 || frame.3 - frame.1 < 60.0 {
            return Err(RenderError::InvalidSpec(format!(
                "image size {}×{}: too small for the map beside its legend",
                spec.width, spec.height
            )));
        }
        Ok(Self {
            s,
            footer,
            legend_box,
            panel: (panel_left, top),
            frame,
            projection: Projection::fit(checked.bounds, frame),
        })
    }
}

/// Draws the whole map.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChoroplethSpec,
    checked: &Checked,
    painter: &Painter,
) -> Result<(), RenderError> {
    let legend = legend(spec);
    let layout = Layout::new(spec, checked, &legend, painter)?;
    let s = layout.s;
    root.fill(&PAPER).map_err(drawing_error)?;
    draw_areas(root, spec, checked, &legend, &layout.projection)?;
    if spec.label_areas {
        draw_labels(
            root,
            (spec, &legend, checked),
            &layout.projection,
            layout.frame,
            painter,
            s,
        )?;
    }
    draw_title(root, painter, &spec.title, spec.width, s)?;
    layout.footer.draw(
        root,
        painter,
        (&spec.data_date, &spec.source),
        (spec.width, spec.height),
        s,
    )?;
    let legend_bottom = layout
        .legend_box
        .draw(root, painter, spec, &legend, layout.panel)?;
    let middle = layout.panel.0 + layout.legend_box.width / 2.0;
    let arrow_top = legend_bottom + 24.0 * s.u;
    draw_north_arrow(root, painter, (middle, arrow_top), s)?;
    let bar_y = arrow_top + 80.0 * s.u;
    // Room at the right end for the unit, which is centred on it.
    let max_len = layout.legend_box.width - 28.0 * s.u - painter.width(" 公里", 12.0 * s.u);
    draw_scale_bar(
        root,
        painter,
        (middle, bar_y),
        max_len,
        layout.projection.km_per_px(),
        s,
    )?;
    Ok(())
}

/// The colour an area is filled with.
fn fill_of(area: &MapArea, legend: &Legend, checked: &Checked) -> RGBColor {
    area.value
        .filter(|v| v.is_finite())
        .and_then(|v| legend.colors.get(class_of(v, &legend.breaks)))
        .and_then(|c| parse_color(c))
        .unwrap_or(checked.no_data)
}

/// Dark enough that white text reads better on it than dark text.
fn is_dark(c: RGBColor) -> bool {
    0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2) < 120.0
}

/// Fills every area with its class colour, then draws the borders.
///
/// Plotters fills a polygon without its holes, so rings are painted largest
/// first, holes in the page colour: whatever lies in a hole (an enclave, an
/// island) is smaller than the hole and is painted after it.
fn draw_areas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChoroplethSpec,
    checked: &Checked,
    legend: &Legend,
    p: &Projection,
) -> Result<(), RenderError> {
    let mut rings = Vec::new();
    for area in &spec.areas {
        let color = fill_of(area, legend, checked);
        for polygon in &area.geometry.0 {
            let rings_of = std::iter::once((polygon.exterior(), false))
                .chain(polygon.interiors().iter().map(|r| (r, true)));
            for (ring, hole) in rings_of {
                let points = ring_pixels(ring, p);
                if points.len() < 2 {
                    continue;
                }
                let area = shoelace(&points);
                rings.push(Ring {
                    points,
                    area,
                    hole,
                    color: if hole { PAPER } else { color },
                });
            }
        }
    }
    // Larger first; at equal size a hole before what fills it exactly.
    rings.sort_by(|a, b| b.area.total_cmp(&a.area).then(b.hole.cmp(&a.hole)));
    for ring in &rings {
        root.draw(&Polygon::new(ring.points.clone(), ring.color.filled()))
            .map_err(drawing_error)?;
    }
    let border = ShapeStyle {
        color: BORDER.to_rgba(),
        filled: false,
        stroke_width: 1,
    };
    for ring in &rings {
        let mut closed = ring.points.clone();
        closed.push(ring.points[0]);
        root.draw(&PathElement::new(closed, border))
            .map_err(drawing_error)?;
    }
    Ok(())
}

/// Writes area names at a point inside each area, larger areas first; a name
/// that would overlap one already written, or leave the frame, is left out.
fn draw_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (spec, legend, checked): (&ChoroplethSpec, &Legend, &Checked),
    p: &Projection,
    frame: (f64, f64, f64, f64),
    painter: &Painter,
    s: Scale,
) -> Result<(), RenderError> {
    let em = (12.0 * s.u).max(9.0);
    let mut candidates: Vec<(f64, (f64, f64), &MapArea)> = spec
        .areas
        .iter()
        .filter(|a| !a.name.trim().is_empty())
        .filter_map(|a| {
            let at = a.geometry.interior_point()?;
            let size: f64 = a
                .geometry
                .0
                .iter()
                .map(|poly| shoelace(&ring_pixels(poly.exterior(), p)))
                .sum();
            Some((size, p.xy(at.x(), at.y()), a))
        })
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (_, (x, y), area) in candidates {
        let name = area.name.as_str();
        let half = painter.width(name, em) / 2.0 + 2.0;
        let r = (x - half, y - em * 0.6, x + half, y + em * 0.6);
        let inside = r.0 >= frame.0 && r.2 <= frame.2 && r.1 >= frame.1 && r.3 <= frame.3;
        let overlaps = placed
            .iter()
            .any(|q| r.0 < q.2 && q.0 < r.2 && r.1 < q.3 && q.1 < r.3);
        if !inside || overlaps {
            continue;
        }
        // White on dark fills; on light ones dark with a white halo, which also
        // keeps the name legible where it crosses a border.
        if is_dark(fill_of(area, legend, checked)) {
            painter.text(root, name, (x, y), em, HPos::Center, PAPER)?;
        } else {
            painter.text_with_halo(root, name, (x, y), em, HPos::Center, INK)?;
        }
        placed.push(r);
    }
    Ok(())
}

/// The legend's measurements, taken before anything is placed so that the map
/// can be fitted beside it.
struct LegendBox {
    width: f64,
    em: f64,
    title_em: f64,
    row: f64,
    inner: f64,
    gap: f64,
    swatch: (f64, f64),
}

impl LegendBox {
    fn measure(painter: &Painter, spec: &ChoroplethSpec, legend: &Legend, s: Scale) -> Self {
        let em = 15.0 * s.u;
        let title_em = 17.0 * s.u;
        let swatch = (28.0 * s.u, 18.0 * s.u);
        let gap = 10.0 * s.u;
        let inner = 14.0 * s.u;
        let widest = |texts: &mut dyn Iterator<Item = String>| {
            texts.map(|t| painter.width(&t, em)).fold(0.0, f64::max)
        };
        let ranges = widest(
            &mut legend
                .labels
                .iter()
                .cloned()
                .chain(std::iter::once(NO_DATA.to_owned())),
        );
        let counts = widest(
            &mut legend
                .counts
                .iter()
                .chain(std::iter::once(&legend.no_data))
                .map(|n| count_text(*n)),
        );
        let rows_width = swatch.0 + gap + ranges + 2.0 * gap + counts;
        let content = rows_width.max(painter.width(&spec.legend_title, title_em));
        Self {
            width: (content + 2.0 * inner).max(190.0 * s.u),
            em,
            title_em,
            row: 28.0 * s.u,
            inner,
            gap,
            swatch,
        }
    }

    /// Draws the box with its top left at `(x0, y0)`; returns its bottom.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        painter: &Painter,
        spec: &ChoroplethSpec,
        legend: &Legend,
        (x0, y0): (f64, f64),
    ) -> Result<f64, RenderError> {
        let rows = legend.labels.len() + 1;
        let title_h = self.title_em * 1.8;
        let height = self.inner * 2.0 + title_h + self.row * rows as f64;
        let x1 = x0 + self.width;
        rect(root, (x0, y0), (x1, y0 + height), PAPER, Some(FRAME))?;
        let left = x0 + self.inner;
        painter.text(
            root,
            &spec.legend_title,
            (left, y0 + self.inner + self.title_em * 0.6),
            self.title_em,
            HPos::Left,
            INK,
        )?;
        let no_data = parse_color(&spec.no_data_color).unwrap_or(PAPER);
        let entries = legend
            .labels
            .iter()
            .map(String::as_str)
            .zip(
                legend
                    .colors
                    .iter()
                    .map(|c| parse_color(c).unwrap_or(PAPER)),
            )
            .zip(legend.counts.iter().copied())
            .chain(std::iter::once(((NO_DATA, no_data), legend.no_data)));
        for (i, ((label, color), count)) in entries.enumerate() {
            let middle = y0 + self.inner + title_h + self.row * (i as f64 + 0.5);
            let (sw, sh) = self.swatch;
            rect(
                root,
                (left, middle - sh / 2.0),
                (left + sw, middle + sh / 2.0),
                color,
                Some(FRAME),
            )?;
            let text_x = left + sw + self.gap;
            painter.text(root, label, (text_x, middle), self.em, HPos::Left, INK)?;
            painter.text(
                root,
                &count_text(count),
                (x1 - self.inner, middle),
                self.em,
                HPos::Right,
                INK_LIGHT,
            )?;
        }
        Ok(y0 + height)
    }
}

/// The legend entry of areas without a value.
const NO_DATA: &str = "无数据";

fn count_text(n: usize) -> String {
    format!("{n} 个")
}

/// A filled rectangle with an optional one-pixel outline.
fn rect<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0): (f64, f64),
    (x1, y1): (f64, f64),
    fill: RGBColor,
    outline: Option<RGBColor>,
) -> Result<(), RenderError> {
    let corners = [
        (x0.round() as i32, y0.round() as i32),
        (x1.round() as i32, y1.round() as i32),
    ];
    root.draw(&Rectangle::new(corners, fill.filled()))
        .map_err(drawing_error)?;
    if let Some(line) = outline {
        root.draw(&Rectangle::new(corners, line.stroke_width(1)))
            .map_err(drawing_error)?;
    }
    Ok(())
}

/// An arrow pointing up with 北 above it, its top at `(x, top)`.
fn draw_north_arrow<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    painter: &Painter,
    (x, top): (f64, f64),
    s: Scale,
) -> Result<(), RenderError> {
    let u = s.u;
    painter.text(root, "北", (x, top + 9.0 * u), 18.0 * u, HPos::Center, INK)?;
    let px = |dx: f64, dy: f64| ((x + dx * u).round() as i32, (top + dy * u).round() as i32);
    let (apex, notch) = (px(0.0, 24.0), px(0.0, 50.0));
    root.draw(&Polygon::new(
        vec![apex, px(11.0, 60.0), notch],
        INK.filled(),
    ))
    .map_err(drawing_error)?;
    root.draw(&Polygon::new(
        vec![apex, notch, px(-11.0, 60.0)],
        PAPER.filled(),
    ))
    .map_err(drawing_error)?;
    root.draw(&PathElement::new(
        vec![apex, px(11.0, 60.0), notch, px(-11.0, 60.0), apex],
        INK.stroke_width(1),
    ))
    .map_err(drawing_error)?;
    Ok(())
}

/// The longest round distance (1, 2 or 5 times a power of ten kilometres) not
/// longer than `max_km`.
fn round_length(max_km: f64) -> f64 {
    let base = 10f64.powf(max_km.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * base)
        .find(|len| *len <= max_km * (1.0 + 1e-9))
        .unwrap_or(base)
}

/// "10 公里", or "500 米" below a kilometre.
fn distance_text(km: f64) -> String {
    if km >= 1.0 {
        format!("{} 公里", trim_number(km))
    } else {
        format!("{} 米", trim_number(km * 1000.0))
    }
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A scale bar of a round length no longer than `max_len` pixels, centred on
/// `x`, its bar at `y`, in two halves, with 0, the half and the whole length
/// written under it.
fn draw_scale_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    painter: &Painter,
    (x, y): (f64, f64),
    max_len: f64,
    km_per_px: f64,
    s: Scale,
) -> Result<(), RenderError> {
    let km = round_length(max_len * km_per_px);
    let len = km / km_per_px;
    let (x0, x1) = (x - len / 2.0, x + len / 2.0);
    let h = 6.0 * s.u;
    rect(root, (x0, y), (x, y + h), INK, Some(INK))?;
    rect(root, (x, y), (x1, y + h), PAPER, Some(INK))?;
    let em = 12.0 * s.u;
    let below = y + h + 11.0 * s.u;
    painter.text(root, "0", (x0, below), em, HPos::Center, INK)?;
    painter.text(
        root,
        &trim_number(unit_value(km / 2.0, km)),
        (x, below),
        em,
        HPos::Center,
        INK,
    )?;
    painter.text(root, &distance_text(km), (x1, below), em, HPos::Center, INK)?;
    Ok(())
}

/// `v` in the unit that [`distance_text`] uses for `whole`.
fn unit_value(v: f64, whole: f64) -> f64 {
    if whole >= 1.0 { v } else { v * 1000.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_lengths() {
        assert!((round_length(23.0) - 20.0).abs() < 1e-12);
        assert!((round_length(9.99) - 5.0).abs() < 1e-12);
        assert!((round_length(10.0) - 10.0).abs() < 1e-12);
        assert!((round_length(1.7) - 1.0).abs() < 1e-12);
        assert!((round_length(0.7) - 0.5).abs() < 1e-12);
        assert!((round_length(130.0) - 100.0).abs() < 1e-12);
        assert_eq!(distance_text(20.0), "20 公里");
        assert_eq!(distance_text(0.5), "500 米");
        assert_eq!(distance_text(0.2), "200 米");
    }

    #[test]
    fn projection_keeps_kilometres_square() {
        let bounds = Rect::new((124.0, 41.0), (126.0, 42.0));
        let p = Projection::fit(bounds, (0.0, 0.0, 1000.0, 1000.0));
        let (xa, ya) = p.xy(125.0, 41.5);
        let (xb, _) = p.xy(125.1, 41.5);
        let (_, yc) = p.xy(125.0, 41.6);
        // 0.1° of longitude at 41.5° N is cos(41.5°) as long as 0.1° of latitude.
        let ratio = (xb - xa) / (ya - yc);
        assert!((ratio - 41.5f64.to_radians().cos()).abs() < 1e-9);
        // 0.1° of latitude is 11.12 km.
        assert!(((ya - yc) * p.km_per_px() - 11.1195).abs() < 1e-3);
    }
}
