//! The line chart: one indicator across data versions, left to right. The y
//! axis starts at zero (or lower, for negative values) so that a small change
//! does not look like a large one; a missing value breaks the line instead of
//! being bridged, since a bridge would claim a value nobody measured.

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{Circle, PathElement};
use plotters::style::text_anchor::HPos;
use plotters::style::{Color, RGBColor};

use super::canvas::{
    Footer, INK, INK_LIGHT, NumberFormat, PAPER, Painter, Scale, draw_title, drawing_error,
    require_color, require_size, title_bottom,
};
use super::{LineSpec, RenderError};

/// The axes and the zero line.
const AXIS: RGBColor = RGBColor(0x96, 0x96, 0x96);
/// Grid lines: light enough to read values by, without competing with the line.
const GRID: RGBColor = RGBColor(0xe3, 0xe3, 0xe3);
/// Written for a point whose value is not a number.
const NO_DATA: &str = "无数据";
/// Values are written above their points up to this many points; more would
/// crowd into each other.
const MAX_VALUE_LABELS: usize = 12;
/// Grid intervals wanted on the y axis (the count chosen stays in this range
/// when a round step allows it).
const INTERVALS: std::ops::RangeInclusive<usize> = 4..=6;
/// Slack for floating-point noise when rounding the axis ends to steps, so that
/// a value on a step (0.3 = 3 × 0.1) does not add a step.
const STEP_SLACK: f64 = 1e-9;

/// Checks the request; returns the line colour.
pub(super) fn check(spec: &LineSpec) -> Result<RGBColor, RenderError> {
    require_size(spec.width, spec.height)?;
    if spec.points.is_empty() {
        return Err(RenderError::NoAreas);
    }
    require_color(&spec.color, "color")
}

/// The y axis: whole steps from `first` × `step` to (`first` + `intervals`) × `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Axis {
    step: f64,
    first: i64,
    intervals: usize,
}

impl Axis {
    /// An axis from min(0, lowest) to a round value at or above the highest;
    /// `None` when no value is finite.
    pub(super) fn new(values: &[f64]) -> Option<Self> {
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let lo = finite().reduce(f64::min)?.min(0.0);
        let mut hi = finite().reduce(f64::max)?;
        if hi <= lo {
            // All values equal and not above zero: give the axis some height
            // so that the points sit on its bottom line, not on a point.
            hi = lo + lo.abs().max(1.0);
        }
        let magnitude = 10f64.powf(((hi - lo) / 5.0).log10().floor());
        let fit = |step: f64| {
            let first = (lo / step + STEP_SLACK).floor();
            let last = (hi / step - STEP_SLACK).ceil();
            Self {
                step,
                first: first as i64,
                intervals: (last - first).max(1.0) as usize,
            }
        };
        // Steps of 1, 2, 2.5 and 5 × a power of ten, smallest first, from a
        // tenth to fifty times a fifth of the range: the first that fits 4–6
        // intervals, else the first with at most 6.
        let axes: Vec<Self> = [0.1, 1.0, 10.0]
            .iter()
            .flat_map(|e| [1.0, 2.0, 2.5, 5.0].map(|m| fit(m * e * magnitude)))
            .collect();
        axes.iter()
            .find(|a| INTERVALS.contains(&a.intervals))
            .or_else(|| axes.iter().find(|a| a.intervals <= *INTERVALS.end()))
            .copied()
            .or_else(|| Some(fit(hi - lo)))
    }

    /// The value at the bottom.
    fn bottom(&self) -> f64 {
        self.tick(0)
    }

    /// The value at the top.
    fn top(&self) -> f64 {
        self.tick(self.intervals)
    }

    /// The value of grid line `i`, counted from the bottom. An integer times the
    /// step, so that zero is exactly zero and never written "-0.0%".
    fn tick(&self, i: usize) -> f64 {
        (self.first + i as i64) as f64 * self.step
    }

    fn ticks(&self) -> Vec<f64> {
        (0..=self.intervals).map(|i| self.tick(i)).collect()
    }
}

/// Where everything goes: the plot rectangle, one slot per point, text sizes.
pub(super) struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    /// The width given to each point; the point is in the middle of its slot.
    slot: f64,
    axis: Option<Axis>,
    tick_format: NumberFormat,
    value_format: NumberFormat,
    tick_em: f64,
    x_em: f64,
    value_em: f64,
    /// Write every `every`-th x label (and the last).
    every: usize,
    show_values: bool,
    radius: f64,
    stroke: u32,
    gap: f64,
}

impl Plot {
    /// Lays out the chart below the title and above the footer.
    pub(super) fn new(spec: &LineSpec, painter: &Painter) -> Result<Self, RenderError> {
        let s = Scale::new(spec.width, spec.height);
        let (w, n) = (f64::from(spec.width), spec.points.len());
        let gap = 8.0 * s.u;
        let values: Vec<f64> = spec.points.iter().map(|p| p.1).collect();
        let axis = Axis::new(&values);
        let ticks = axis.map(|a| a.ticks()).unwrap_or_default();
        let tick_format = NumberFormat::for_values(spec.value_format, &ticks);
        let value_format = NumberFormat::for_values(spec.value_format, &values);
        let tick_em = 13.0 * s.u;
        let widest = |texts: &mut dyn Iterator<Item = String>, em: f64| {
            texts.map(|t| painter.width(&t, em)).fold(0.0, f64::max)
        };
        let tick_w = widest(&mut ticks.iter().map(|t| tick_format.format(*t)), tick_em);

        // The first and last x labels are centred on their points; keep them
        // on the page by moving the plot's ends inwards when they are wider
        // than a slot.
        let mut x_em = 13.0 * s.u;
        let x_w = widest(&mut spec.points.iter().map(|p| p.0.clone()), x_em);
        let (mut left, mut right) = (s.pad + tick_w + gap, w - s.pad);
        let overhang = ((x_w - (right - left) / n as f64) / 2.0).max(0.0);
        left = left.max(s.pad + overhang);
        right -= overhang;
        let slot = (right - left) / n as f64;
        let span = (n - 1) as f64 * slot;
        if n > 1 && x_w + gap > span {
            // Even the first and last labels would touch: shrink them.
            x_em = (x_em * (span - gap) / x_w).max(6.0);
        }
        let x_w = x_w * x_em / (13.0 * s.u);
        let every = ((x_w + 2.0 * gap) / slot).ceil().max(1.0) as usize;

        let show_values = axis.is_some() && n <= MAX_VALUE_LABELS;
        let mut value_em = 13.0 * s.u;
        let value_w = widest(&mut value_labels(spec, &value_format).into_iter(), value_em);
        if value_w > slot - gap {
            value_em = (value_em * (slot - gap) / value_w).max(6.0);
        }
        let radius = 5.0 * s.u;
        let above = if show_values {
            radius + gap / 2.0 + value_em
        } else {
            radius
        };
        let top = title_bottom(s) + 10.0 * s.u + above.max(tick_em / 2.0);
        let lines = (spec.data_date.as_str(), spec.source.as_str());
        let footer = Footer::measure(painter, lines, spec.width, s);
        let bottom = footer.top(spec.height, s) - 10.0 * s.u - 1.8 * x_em;
        if bottom - top < 20.0 || slot < 1.0 {
            return Err(RenderError::InvalidSpec(format!(
                "image size {}×{}: too small for a line chart of {n} points",
                spec.width, spec.height
            )));
        }
        Ok(Self {
            left,
            right,
            top,
            bottom,
            slot,
            axis,
            tick_format,
            value_format,
            tick_em,
            x_em,
            value_em,
            every,
            show_values,
            radius,
            stroke: (2.5 * s.u).round().max(1.0) as u32,
            gap,
        })
    }

    /// The x of point `i`, in pixels.
    pub(super) fn x(&self, i: usize) -> f64 {
        self.left + self.slot * (i as f64 + 0.5)
    }

    /// The y of a value, in pixels (the middle of the plot without an axis).
    pub(super) fn y(&self, value: f64) -> f64 {
        match self.axis {
            Some(a) => {
                let share = (value - a.bottom()) / (a.top() - a.bottom());
                self.bottom - share * (self.bottom - self.top)
            }
            None => f64::midpoint(self.top, self.bottom),
        }
    }

    /// The labelled grid lines and the two axes.
    fn draw_axes<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        painter: &Painter,
    ) -> Result<(), RenderError> {
        let hline = |y: f64, color: RGBColor| {
            let y = y.round() as i32;
            let ends = vec![
                (self.left.round() as i32, y),
                (self.right.round() as i32, y),
            ];
            root.draw(&PathElement::new(ends, color.stroke_width(1)))
                .map_err(drawing_error)
        };
        if let Some(axis) = self.axis {
            for (i, value) in axis.ticks().into_iter().enumerate() {
                let y = self.y(value);
                // The bottom line is the x axis, drawn below; zero inside the
                // range (negative values) is drawn as dark as an axis.
                if i > 0 {
                    hline(y, if value == 0.0 { AXIS } else { GRID })?;
                }
                let label = self.tick_format.format(value);
                let at = (self.left - self.gap, y);
                painter.text(root, &label, at, self.tick_em, HPos::Right, INK_LIGHT)?;
            }
        }
        hline(self.bottom, AXIS)?;
        let x = self.left.round() as i32;
        let ends = vec![
            (x, self.top.round() as i32),
            (x, self.bottom.round() as i32),
        ];
        root.draw(&PathElement::new(ends, AXIS.stroke_width(1)))
            .map_err(drawing_error)
    }

    /// The x labels under their points: every `every`-th, always the first
    /// and the last.
    fn draw_x_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        spec: &LineSpec,
        painter: &Painter,
    ) -> Result<(), RenderError> {
        let last = spec.points.len() - 1;
        let mut shown: Vec<usize> = (0..=last).step_by(self.every).collect();
        if shown.last() != Some(&last) {
            // The last k-th label would run into the last one: drop it.
            if shown.len() > 1 && shown.last().is_some_and(|i| last - i < self.every) {
                shown.pop();
            }
            shown.push(last);
        }
        let middle = self.bottom + 1.1 * self.x_em;
        for i in shown {
            let label = &spec.points[i].0;
            painter.text(
                root,
                label,
                (self.x(i), middle),
                self.x_em,
                HPos::Center,
                INK,
            )?;
        }
        Ok(())
    }

    /// The line through consecutive finite points, and a marker on each.
    fn draw_line<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        spec: &LineSpec,
        color: RGBColor,
    ) -> Result<(), RenderError> {
        let at = |i: usize, v: f64| (self.x(i).round() as i32, self.y(v).round() as i32);
        // Segment by segment: plotters widens a many-point path with mitred
        // joins, which spike at sharp turns; the markers cover the joints.
        for (i, pair) in spec.points.windows(2).enumerate() {
            let (a, b) = (pair[0].1, pair[1].1);
            if a.is_finite() && b.is_finite() {
                let ends = vec![at(i, a), at(i + 1, b)];
                root.draw(&PathElement::new(ends, color.stroke_width(self.stroke)))
                    .map_err(drawing_error)?;
            }
        }
        let radius = self.radius.round().max(2.0) as u32;
        for (i, (_, v)) in spec.points.iter().enumerate() {
            if v.is_finite() {
                root.draw(&Circle::new(at(i, *v), radius, color.filled()))
                    .map_err(drawing_error)?;
            }
        }
        Ok(())
    }

    /// Each value above its point, and 无数据 where a value is missing.
    fn draw_values<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        spec: &LineSpec,
        painter: &Painter,
    ) -> Result<(), RenderError> {
        if !self.show_values {
            return Ok(());
        }
        let labels = value_labels(spec, &self.value_format);
        let lift = self.radius + self.gap / 2.0 + self.value_em / 2.0;
        for (i, ((_, v), label)) in spec.points.iter().zip(&labels).enumerate() {
            let (y, color) = if v.is_finite() {
                (self.y(*v) - lift, INK)
            } else {
                (f64::midpoint(self.top, self.bottom), INK_LIGHT)
            };
            painter.text_with_halo(
                root,
                label,
                (self.x(i), y),
                self.value_em,
                HPos::Center,
                color,
            )?;
        }
        Ok(())
    }
}

/// The text written for each point's value.
fn value_labels(spec: &LineSpec, format: &NumberFormat) -> Vec<String> {
    spec.points
        .iter()
        .map(|(_, v)| {
            if v.is_finite() {
                format.format(*v)
            } else {
                NO_DATA.to_owned()
            }
        })
        .collect()
}

/// Draws the whole chart.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &LineSpec,
    color: RGBColor,
    painter: &Painter,
) -> Result<(), RenderError> {
    root.fill(&PAPER).map_err(drawing_error)?;
    let s = Scale::new(spec.width, spec.height);
    draw_title(root, painter, &spec.title, spec.width, s)?;
    let lines = (spec.data_date.as_str(), spec.source.as_str());
    let footer = Footer::measure(painter, lines, spec.width, s);
    footer.draw(root, painter, lines, (spec.width, spec.height), s)?;
    let plot = Plot::new(spec, painter)?;
    plot.draw_axes(root, painter)?;
    plot.draw_x_labels(root, spec, painter)?;
    if plot.axis.is_none() {
        let middle = (
            f64::midpoint(plot.left, plot.right),
            f64::midpoint(plot.top, plot.bottom),
        );
        return painter.text(root, NO_DATA, middle, 22.0 * s.u, HPos::Center, INK_LIGHT);
    }
    plot.draw_line(root, spec, color)?;
    plot.draw_values(root, spec, painter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intervals_and_ends(values: &[f64]) -> (usize, f64, f64) {
        let a = Axis::new(values).unwrap();
        (a.intervals, a.bottom(), a.top())
    }

    #[test]
    fn an_axis_without_finite_values_is_none() {
        assert_eq!(Axis::new(&[]), None);
        assert_eq!(Axis::new(&[f64::NAN, f64::INFINITY]), None);
    }

    #[test]
    fn the_axis_starts_at_zero_and_ends_on_a_round_value_above_the_highest() {
        let (n, bottom, top) = intervals_and_ends(&[0.031, 0.047, 0.052]);
        assert!(INTERVALS.contains(&n), "{n}");
        assert!(bottom.abs() < 1e-12);
        assert!((0.052..=0.07).contains(&top), "{top}");
        let (n, bottom, top) = intervals_and_ends(&[12.0, 30.0, 7.0]);
        assert_eq!((n, bottom, top), (6, 0.0, 30.0));
    }

    #[test]
    fn the_axis_reaches_below_zero_for_negative_values() {
        let (n, bottom, top) = intervals_and_ends(&[-3.0, 8.0]);
        assert!(INTERVALS.contains(&n), "{n}");
        assert!(bottom <= -3.0 && top >= 8.0, "{bottom}..{top}");
    }

    #[test]
    fn equal_values_still_get_an_axis_with_height() {
        for v in [0.0, 0.05, -2.0, 1e6] {
            let (n, bottom, top) = intervals_and_ends(&[v, v, v]);
            assert!(n >= 1 && top > bottom, "{v}: {n} {bottom}..{top}");
            assert!((bottom..=top).contains(&v), "{v}: {bottom}..{top}");
        }
    }
}
