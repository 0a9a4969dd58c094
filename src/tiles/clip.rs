//! Clipping a polygon to a tile's square by Sutherland–Hodgman, where that is exact.
//!
//! A general boolean intersection (geo's `BooleanOps`) costs tens of thousands of
//! instructions per polygon, most of a boundary tile's first build. Against a rectangle,
//! Sutherland–Hodgman costs a few per vertex and is exact whenever what is left of a
//! ring is one piece; when a ring enters the rectangle more than once it would join the
//! pieces by zero-width bridges along the edge, so [`clip_to_rect`] declines those
//! (and holes that the rectangle cuts) and the caller falls back to the general
//! intersection.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};

/// `polygons` clipped to `rect`, or `None` when Sutherland–Hodgman would not be exact:
/// a ring enters the rectangle more than once, or a hole's box straddles its edge.
#[must_use]
pub fn clip_to_rect(polygons: &MultiPolygon<f64>, rect: &Rect<f64>) -> Option<MultiPolygon<f64>> {
    let mut out = Vec::with_capacity(polygons.0.len());
    for polygon in &polygons.0 {
        if entries(polygon.exterior(), rect)? > 1 {
            return None;
        }
        let mut holes = Vec::new();
        for hole in polygon.interiors() {
            match placement(hole, rect) {
                Placement::Inside => holes.push(hole.clone()),
                Placement::Outside => {}
                Placement::Straddles => return None,
            }
        }
        let exterior = clip_ring(&polygon.exterior().0, rect);
        if exterior.len() >= 4 {
            out.push(Polygon::new(LineString(exterior), holes));
        }
    }
    Some(MultiPolygon(out))
}

enum Placement {
    Inside,
    Outside,
    Straddles,
}

/// Where a ring's box lies against the rectangle.
fn placement(ring: &LineString<f64>, rect: &Rect<f64>) -> Placement {
    let Some(b) = ring.bounding_rect() else {
        return Placement::Outside;
    };
    let (lo, hi) = (rect.min(), rect.max());
    if b.min().x >= lo.x && b.min().y >= lo.y && b.max().x <= hi.x && b.max().y <= hi.y {
        Placement::Inside
    } else if b.max().x < lo.x || b.max().y < lo.y || b.min().x > hi.x || b.min().y > hi.y {
        Placement::Outside
    } else {
        Placement::Straddles
    }
}

/// How many times the closed ring goes from outside the (closed) rectangle to inside
/// it, an edge passing through it with both ends outside counting as one; `None` for a
/// ring with fewer than two corners.
fn entries(ring: &LineString<f64>, rect: &Rect<f64>) -> Option<usize> {
    let points = &ring.0;
    let last = points.last()?;
    let within = |c: &Coord<f64>| {
        c.x >= rect.min().x && c.x <= rect.max().x && c.y >= rect.min().y && c.y <= rect.max().y
    };
    let mut previous = (*last, within(last));
    let mut count = 0;
    for c in points {
        let now = within(c);
        if !previous.1 && (now || passes_through(previous.0, *c, rect)) {
            count += 1;
        }
        previous = (*c, now);
    }
    Some(count)
}

/// Whether the segment meets the rectangle (Liang–Barsky on the closed rectangle).
fn passes_through(a: Coord<f64>, b: Coord<f64>, rect: &Rect<f64>) -> bool {
    let (lo, hi) = (rect.min(), rect.max());
    if a.x.max(b.x) < lo.x || a.x.min(b.x) > hi.x || a.y.max(b.y) < lo.y || a.y.min(b.y) > hi.y {
        return false;
    }
    let d = Coord {
        x: b.x - a.x,
        y: b.y - a.y,
    };
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-d.x, a.x - lo.x),
        (d.x, hi.x - a.x),
        (-d.y, a.y - lo.y),
        (d.y, hi.y - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t0 <= t1
}

/// One closed ring (first corner repeated last) clipped to the rectangle: the four
/// half-planes in turn. Returns the closed result, or fewer than four corners when
/// nothing is left.
fn clip_ring(ring: &[Coord<f64>], rect: &Rect<f64>) -> Vec<Coord<f64>> {
    let (lo, hi) = (rect.min(), rect.max());
    let open = match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    };
    let mut current: Vec<Coord<f64>> = open.to_vec();
    let mut next = Vec::with_capacity(current.len() + 8);
    // Each edge: across x (or y), at which value, and whether the side above is kept.
    let edges = [
        (true, lo.x, true),
        (true, hi.x, false),
        (false, lo.y, true),
        (false, hi.y, false),
    ];
    for (across_x, value, keep_above) in edges {
        next.clear();
        let offset = |c: Coord<f64>, v: f64| if across_x { c.x - v } else { c.y - v };
        let kept = |c: Coord<f64>| {
            let o = offset(c, value);
            if keep_above { o >= 0.0 } else { o <= 0.0 }
        };
        let Some(&last) = current.last() else {
            return Vec::new();
        };
        let mut previous = last;
        for &c in &current {
            let (was, is) = (kept(previous), kept(c));
            if is != was {
                let (a, b) = (offset(previous, value), offset(c, value));
                let t = a / (a - b);
                next.push(Coord {
                    x: previous.x + t * (c.x - previous.x),
                    y: previous.y + t * (c.y - previous.y),
                });
            }
            if is {
                next.push(c);
            }
            previous = c;
        }
        std::mem::swap(&mut current, &mut next);
    }
    if let Some(&first) = current.first() {
        current.push(first);
    }
    current
}

#[cfg(test)]
mod tests {
    use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon, Rect, polygon};
    use proptest::prelude::*;

    use super::clip_to_rect;

    fn square() -> Rect<f64> {
        Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 10.0, y: 10.0 })
    }

    #[test]
    fn a_polygon_over_one_edge_is_cut_there() {
        let p = polygon![(x: -5.0, y: 2.0), (x: 5.0, y: 2.0), (x: 5.0, y: 8.0), (x: -5.0, y: 8.0)];
        let clipped = clip_to_rect(&MultiPolygon(vec![p]), &square()).unwrap();
        assert!((clipped.unsigned_area() - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_polygon_round_the_square_becomes_the_square() {
        let p = polygon![(x: -5.0, y: -5.0), (x: 15.0, y: -5.0), (x: 15.0, y: 15.0), (x: -5.0, y: 15.0)];
        let clipped = clip_to_rect(&MultiPolygon(vec![p]), &square()).unwrap();
        assert!((clipped.unsigned_area() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_ring_entering_twice_or_a_cut_hole_is_declined() {
        // A U whose two arms reach into the square from below.
        let u = polygon![
            (x: 2.0, y: 5.0), (x: 2.0, y: -5.0), (x: 8.0, y: -5.0), (x: 8.0, y: 5.0),
            (x: 6.0, y: 5.0), (x: 6.0, y: -2.0), (x: 4.0, y: -2.0), (x: 4.0, y: 5.0)
        ];
        assert!(clip_to_rect(&MultiPolygon(vec![u]), &square()).is_none());
        // An edge crossing the square with both ends outside counts as an entry.
        let across = polygon![(x: -5.0, y: 5.0), (x: 15.0, y: 5.0), (x: 5.0, y: -20.0)];
        let wedge =
            polygon![(x: -5.0, y: 5.0), (x: 15.0, y: 5.0), (x: 5.0, y: 7.0), (x: -5.0, y: 20.0)];
        assert!(clip_to_rect(&MultiPolygon(vec![across]), &square()).is_some());
        assert!(clip_to_rect(&MultiPolygon(vec![wedge]), &square()).is_none());
        let holed = Polygon::new(
            LineString::from(vec![(-5.0, -5.0), (15.0, -5.0), (15.0, 15.0), (-5.0, 15.0)]),
            vec![LineString::from(vec![
                (8.0, 4.0),
                (12.0, 4.0),
                (12.0, 6.0),
                (8.0, 6.0),
            ])],
        );
        assert!(clip_to_rect(&MultiPolygon(vec![holed]), &square()).is_none());
    }

    proptest! {
        /// Whenever the clip is taken, its area is the general intersection's.
        #[test]
        fn a_taken_clip_has_the_intersections_area(
            corners in proptest::collection::vec((-20.0..30.0_f64, -20.0..30.0_f64), 3..12),
        ) {
            // A star-shaped ring round its centroid: simple, as boundaries are.
            let n = corners.len() as f64;
            let (cx, cy) = corners.iter().fold((0.0, 0.0), |s, c| (s.0 + c.0 / n, s.1 + c.1 / n));
            let mut sorted = corners.clone();
            sorted.sort_by(|a, b| {
                (a.1 - cy).atan2(a.0 - cx).total_cmp(&(b.1 - cy).atan2(b.0 - cx))
            });
            let p = MultiPolygon(vec![Polygon::new(LineString::from(sorted), vec![])]);
            if let Some(fast) = clip_to_rect(&p, &square()) {
                let exact = p.intersection(&square().to_polygon()).unsigned_area();
                prop_assert!((fast.unsigned_area() - exact).abs() < 1e-6 * (1.0 + exact));
            }
        }
    }
}
