//! The horizontal bar chart: names on the left, bars from zero, values at the
//! bar ends.

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{PathElement, Rectangle};
use plotters::style::text_anchor::HPos;
use plotters::style::{Color, RGBColor};

use super::canvas::{
    Footer, INK, INK_LIGHT, NumberFormat, PAPER, Painter, Scale, draw_title, drawing_error,
    require_color, require_size, title_bottom,
};
use super::{BarSpec, RenderError};

/// The zero line.
const AXIS: RGBColor = RGBColor(0x96, 0x96, 0x96);
/// Written for a bar whose value is not a number.
const NO_DATA: &str = "无数据";

/// Checks the request; returns the bar colour.
pub(super) fn check(spec: &BarSpec) -> Result<RGBColor, RenderError> {
    require_size(spec.width, spec.height)?;
    if spec.bars.is_empty() {
        return Err(RenderError::NoAreas);
    }
    require_color(&spec.color, "color")
}

/// Draws the whole chart.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &BarSpec,
    color: RGBColor,
    painter: &Painter,
) -> Result<(), RenderError> {
    root.fill(&PAPER).map_err(drawing_error)?;
    let s = Scale::new(spec.width, spec.height);
    let w = f64::from(spec.width);
    draw_title(root, painter, &spec.title, spec.width, s)?;
    let lines = (spec.data_date.as_str(), spec.source.as_str());
    let footer = Footer::measure(painter, lines, spec.width, s);
    footer.draw(root, painter, lines, (spec.width, spec.height), s)?;
    let top = title_bottom(s) + 10.0 * s.u;
    let bottom = footer.top(spec.height, s) - 10.0 * s.u;
    let slot = (bottom - top) / spec.bars.len() as f64;
    let em = (slot * 0.6).clamp(6.0, 15.0 * s.u);
    let bar_h = (slot * 0.7).min(36.0 * s.u);

    let finite: Vec<f64> = spec
        .bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .collect();
    let format = NumberFormat::plain(spec.value_format, &finite);
    let labels: Vec<String> = spec
        .bars
        .iter()
        .map(|b| {
            if b.1.is_finite() {
                format.format(b.1)
            } else {
                NO_DATA.to_owned()
            }
        })
        .collect();
    let widest = |texts: &mut dyn Iterator<Item = &str>| {
        texts.map(|t| painter.width(t, em)).fold(0.0, f64::max)
    };
    let names_w = widest(&mut spec.bars.iter().map(|b| b.0.as_str()));
    let values_w = widest(&mut labels.iter().map(String::as_str));
    let gap = 8.0 * s.u;

    let lo = finite.iter().copied().fold(0.0, f64::min);
    let mut hi = finite.iter().copied().fold(0.0, f64::max);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let names_right = s.pad + names_w;
    let mut plot_left = names_right + 2.0 * gap;
    if lo < 0.0 {
        // Values of bars that go left are written left of them.
        plot_left += values_w + gap;
    }
    let plot_right = w - s.pad - values_w - gap;
    if plot_right - plot_left < 20.0 {
        return Err(RenderError::InvalidSpec(format!(
            "image width {}: too narrow for these names and values",
            spec.width
        )));
    }
    let x_of = |v: f64| plot_left + (v - lo) / (hi - lo) * (plot_right - plot_left);
    let zero = x_of(0.0);

    for (i, ((name, value), label)) in spec.bars.iter().zip(&labels).enumerate() {
        let middle = top + slot * (i as f64 + 0.5);
        painter.text(root, name, (names_right, middle), em, HPos::Right, INK)?;
        if !value.is_finite() {
            painter.text(root, label, (zero + gap, middle), em, HPos::Left, INK_LIGHT)?;
            continue;
        }
        let end = x_of(*value);
        let (x0, x1) = (zero.min(end), zero.max(end));
        if x1 - x0 >= 0.5 {
            let corners = [
                (x0.round() as i32, (middle - bar_h / 2.0).round() as i32),
                (x1.round() as i32, (middle + bar_h / 2.0).round() as i32),
            ];
            root.draw(&Rectangle::new(corners, color.filled()))
                .map_err(drawing_error)?;
        }
        if *value >= 0.0 {
            painter.text(root, label, (end + gap, middle), em, HPos::Left, INK)?;
        } else {
            painter.text(root, label, (end - gap, middle), em, HPos::Right, INK)?;
        }
    }
    let z = zero.round() as i32;
    root.draw(&PathElement::new(
        vec![(z, top.round() as i32), (z, bottom.round() as i32)],
        AXIS.stroke_width(1),
    ))
    .map_err(drawing_error)?;
    Ok(())
}
