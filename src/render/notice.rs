//! An image that says why there is nothing to draw (an area outside the person's
//! areas): the title, the reason in the middle, and the footer, laid out as a map is.

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::style::text_anchor::HPos;

use super::canvas::{
    Footer, INK_LIGHT, PAPER, Painter, Scale, draw_title, drawing_error, require_size, title_bottom,
};
use super::{NoticeSpec, RenderError};

/// Checks the size.
pub(super) fn check(spec: &NoticeSpec) -> Result<(), RenderError> {
    require_size(spec.width, spec.height)
}

/// Draws the notice.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &NoticeSpec,
    painter: &Painter,
) -> Result<(), RenderError> {
    root.fill(&PAPER).map_err(drawing_error)?;
    let s = Scale::new(spec.width, spec.height);
    draw_title(root, painter, &spec.title, spec.width, s)?;
    let lines = (spec.data_date.as_str(), spec.source.as_str());
    let footer = Footer::measure(painter, lines, spec.width, s);
    footer.draw(root, painter, lines, (spec.width, spec.height), s)?;
    let middle = f64::midpoint(title_bottom(s), footer.top(spec.height, s));
    let mut em = 22.0 * s.u;
    let line_room = f64::from(spec.width) - 2.0 * s.pad;
    let natural = painter.width(&spec.note, em);
    if natural > line_room {
        em *= line_room / natural;
    }
    painter.text(
        root,
        &spec.note,
        (f64::from(spec.width) / 2.0, middle),
        em,
        HPos::Center,
        INK_LIGHT,
    )
}
