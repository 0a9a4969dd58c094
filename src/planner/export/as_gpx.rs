//! GPX 1.1 for phone navigation apps: a waypoint per stop and a route per group and day.

use super::*;

/// The plan as GPX 1.1, for navigation apps (奥维, 两步路, `OsmAnd`, Garmin).
///
/// One waypoint per stop, named `1-2-03 张*` (group-day-order and label), with the
/// township, village, selection and arrival in `<cmt>`, the reasons joined by `；` in
/// `<desc>`, the Amap link and 入户/村级 as `<type>`; then one route per day with stops,
/// named `第1组 第2天 2019-09-02`, through start, stops and end. The start and end
/// places are route points only, not waypoints. Coordinates are WGS-84 with 7 decimals.
#[must_use]
pub fn gpx(plan: &Plan) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(
        "<gpx xmlns=\"http://www.topografix.com/GPX/1/1\" version=\"1.1\" creator=\"paicha\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd\">\n",
    );
    let _ = write!(
        out,
        "  <metadata>\n    <name>{}</name>\n    <desc>{}</desc>\n  </metadata>\n",
        escape(&plan.title),
        escape(&format!("计划编号 {}，编制日期 {}", plan.id, plan.created)),
    );
    for (group, day) in planned_days(plan) {
        for stop in day.stops.iter().filter(|s| located(&s.target)) {
            out.push_str(&gpx_waypoint(plan, group, day, stop));
        }
    }
    for (group, day) in planned_days(plan) {
        out.push_str("  <rte>\n");
        let _ = write!(
            out,
            "    <name>{}</name>\n    <desc>{}</desc>\n",
            escape(&route_name(group, day)),
            escape(&format!(
                "{}：{} 个点位，路程 {} 公里，预计 {} 分钟",
                group.name,
                day.stops.len(),
                km(day.travel_metres),
                whole(day.total_minutes)
            )),
        );
        for p in route_points(group, day) {
            let _ = write!(
                out,
                "    <rtept lat=\"{}\" lon=\"{}\">\n      <name>{}</name>\n      <type>{}</type>\n    </rtept>\n",
                deg7(p.lat),
                deg7(p.lon),
                escape(&p.name),
                p.kind
            );
        }
        out.push_str("  </rte>\n");
    }
    out.push_str("</gpx>\n");
    out
}

/// One `<wpt>` of [`gpx`], its children in the order of the GPX 1.1 schema.
fn gpx_waypoint(plan: &Plan, group: &Group, day: &Day, stop: &Stop) -> String {
    let t = &stop.target;
    let comment = format!(
        "{} {} · {} · 出发后 {} 到达",
        t.township_name,
        t.village_name,
        t.selection.label(),
        hhmm(plan, stop.arrive_minutes)
    );
    format!(
        "  <wpt lat=\"{}\" lon=\"{}\">\n    <name>{}</name>\n    <cmt>{}</cmt>\n    <desc>{}</desc>\n    \
         <link href=\"{}\">\n      <text>高德导航</text>\n    </link>\n    <type>{}</type>\n  </wpt>\n",
        deg7(t.lat),
        deg7(t.lon),
        escape(&stop_name(group, day, stop)),
        escape(&comment),
        escape(&reasons(t)),
        escape(&amap_uri(t)),
        t.kind.label()
    )
}
