//! The exports of a visit plan: GPX and KML for navigation and map apps, GeoJSON for
//! the web map and GIS, CSV and XLSX for Excel and WPS, a printable visit sheet
//! (入户核查走访单) and the list of targets not planned in HTML, and Amap (高德) and Baidu navigation links for each target.
//!
//! Every export is written from the [`Plan`] alone. Coordinates are WGS-84 everywhere
//! except in the navigation links, which Amap and Baidu need in their own systems
//! (GCJ-02, BD-09). Times of a stop are clock times `HH:MM`, from the request's day
//! start (08:30 unless set). Households appear by their masked label only (张*),
//! as the plan holds them. A target without a usable position (a dropped 无定位) keeps
//! its row in the tables and gets no geometry and no link.

mod as_csv;
mod as_geojson;
mod as_gpx;
mod as_kml;
mod as_xlsx;
mod visit_sheet;

pub use as_csv::csv;
pub use as_geojson::geojson;
pub use as_gpx::gpx;
pub use as_kml::kml;
pub use as_xlsx::xlsx;
pub use visit_sheet::{html, unplanned_html};

use std::fmt::Write as _;

use crate::domain::plan::{Day, Group, Place, Plan, Selection, Stop, Target, TargetKind};
use crate::formats::{UTF8_BOM, escape_markup as escape, percent_encode};
use crate::spatial::crs::{LonLat, gcj02_to_bd09, wgs84_to_gcj02};
use crate::spatial::round7;

/// Separator of the reasons of a target in one line of text.
const REASON_SEPARATOR: &str = "；";

/// Line colours of the days in KML, cycled, as `0xRRGGBB`: red, green, blue, orange,
/// purple, cyan, magenta, brown — told apart on a satellite image.
const DAY_COLOURS: [u32; 8] = [
    0xE6_19_4B, 0x3C_B4_4B, 0x43_63_D8, 0xF5_82_31, 0x91_1E_B4, 0x42_D4_F4, 0xF0_32_E6, 0x9A_63_24,
];

/// Whether a longitude/latitude pair is a real position (finite and on the globe).
fn valid_position(lon: f64, lat: f64) -> bool {
    lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && lat.abs() <= 90.0
}

/// Whether the target has a position that can be drawn or navigated to.
fn located(t: &Target) -> bool {
    valid_position(t.lon, t.lat)
}

/// Degrees with 7 decimals (about 1 cm), as GPX, KML and the CSV write them.
fn deg7(x: f64) -> String {
    format!("{x:.7}")
}

/// A time of the plan as a clock time `HH:MM`: `minutes` after its day's start.
fn hhmm(plan: &Plan, minutes: f64) -> String {
    crate::domain::plan::clock(&plan.request.day_start, minutes)
}

/// Kilometres with one decimal.
fn km(metres: f64) -> String {
    format!("{:.1}", metres.max(0.0) / 1000.0)
}

/// Whole minutes.
fn whole(minutes: f64) -> i64 {
    minutes.round() as i64
}

/// The reasons of a target on one line.
fn reasons(t: &Target) -> String {
    t.reasons.join(REASON_SEPARATOR)
}

/// `1-2-03`: group, day and order of a stop, sortable as text.
fn stop_code(group: &Group, day: &Day, stop: &Stop) -> String {
    format!("{}-{}-{:02}", group.group, day.day, stop.order)
}

/// `1-2-03 张*`: how a stop is named on maps and in navigation apps.
fn stop_name(group: &Group, day: &Day, stop: &Stop) -> String {
    format!("{} {}", stop_code(group, day, stop), stop.target.label)
}

/// `第2天 2019-09-02`, or `第2天` without a date.
fn day_title(day: &Day) -> String {
    match &day.date {
        Some(date) => format!("第{}天 {date}", day.day),
        None => format!("第{}天", day.day),
    }
}

/// `第1组 第2天 2019-09-02`.
fn route_name(group: &Group, day: &Day) -> String {
    format!("第{}组 {}", group.group, day_title(day))
}

/// The days that have stops, with their group, in plan order.
fn planned_days(plan: &Plan) -> impl Iterator<Item = (&Group, &Day)> {
    plan.groups
        .iter()
        .flat_map(|g| g.days.iter().map(move |d| (g, d)))
        .filter(|(_, d)| !d.stops.is_empty())
}

/// The name a navigation app shows for the target: village and masked head for a
/// household (大四平村 张*), the village's name for a village.
fn nav_name(t: &Target) -> String {
    match t.kind {
        TargetKind::Household => format!("{} {}", t.village_name, t.label),
        TargetKind::Village => t.label.clone(),
    }
}

/// A point of a day's route: the start, each stop, the end.
struct RoutePoint {
    name: String,
    kind: &'static str,
    lon: f64,
    lat: f64,
}

/// The day's route: start, stops in order, end; points without a position are left
/// out.
fn route_points(group: &Group, day: &Day) -> Vec<RoutePoint> {
    let place = |p: &Place, kind| RoutePoint {
        name: p.name.clone(),
        kind,
        lon: p.lon,
        lat: p.lat,
    };
    std::iter::once(place(&day.start, "起点"))
        .chain(day.stops.iter().map(|s| RoutePoint {
            name: stop_name(group, day, s),
            kind: s.target.kind.label(),
            lon: s.target.lon,
            lat: s.target.lat,
        }))
        .chain(std::iter::once(place(&day.end, "终点")))
        .filter(|p| valid_position(p.lon, p.lat))
        .collect()
}

/// The Amap (高德) navigation link to a target, by car, for phones and browsers.
///
/// Amap expects GCJ-02, so the target's WGS-84 position is converted with
/// [`wgs84_to_gcj02`] and written with 6 decimals (about 10 cm); the destination's name
/// (village and masked head, or the village's name) is percent-encoded UTF-8.
///
/// # Returns
/// `https://uri.amap.com/navigation?to={lon},{lat},{name}&mode=car&coordinate=gaode&callnative=1&src=paicha`,
/// or an empty string when the target has no usable position.
#[must_use]
pub fn amap_uri(target: &Target) -> String {
    if !located(target) {
        return String::new();
    }
    let g = wgs84_to_gcj02(LonLat::new(target.lon, target.lat));
    format!(
        "https://uri.amap.com/navigation?to={:.6},{:.6},{}&mode=car&coordinate=gaode&callnative=1&src=paicha",
        g.lon,
        g.lat,
        percent_encode(&nav_name(target))
    )
}

/// The Baidu map marker link to a target.
///
/// Baidu expects BD-09, so the WGS-84 position goes through GCJ-02 to BD-09 and is
/// written with 6 decimals; the title (as in [`amap_uri`]) and the content (the
/// village's name) are percent-encoded UTF-8.
///
/// # Returns
/// `https://api.map.baidu.com/marker?location={lat},{lon}&title={name}&content={village}&output=html&coord_type=bd09ll&src=paicha`,
/// or an empty string when the target has no usable position.
#[must_use]
pub fn baidu_uri(target: &Target) -> String {
    if !located(target) {
        return String::new();
    }
    let b = gcj02_to_bd09(wgs84_to_gcj02(LonLat::new(target.lon, target.lat)));
    format!(
        "https://api.map.baidu.com/marker?location={:.6},{:.6}&title={}&content={}&output=html&coord_type=bd09ll&src=paicha",
        b.lat,
        b.lon,
        percent_encode(&nav_name(target)),
        percent_encode(&target.village_name)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;
    use std::str::FromStr;

    use super::*;
    use crate::domain::plan::{Dropped, Request};

    /// Metres per degree of latitude, near enough for offsets.
    const M_PER_DEG: f64 = 111_000.0;

    const TITLE: &str = "新宾镇督查走访计划 & <复核>";
    const AMPERSAND_REASON: &str = "住房安全：C级危房 & 未改造";
    const LESS_THAN_REASON: &str = "人均纯收入<4000元";
    const QUOTED_VILLAGE: &str = "腰站村\"东\"&'西'";

    #[allow(clippy::too_many_arguments)]
    fn target(
        kind: TargetKind,
        id: &str,
        village: &str,
        township: &str,
        label: &str,
        (lon, lat): (f64, f64),
        selection: Selection,
        reasons: &[&str],
    ) -> Target {
        Target {
            kind,
            id: id.to_owned(),
            village_code: id.chars().take(12).collect(),
            village_name: village.to_owned(),
            township_name: township.to_owned(),
            label: label.to_owned(),
            lon,
            lat,
            selection,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            priority: 3,
            must_visit: selection == Selection::MustVisit,
            service_minutes: if kind == TargetKind::Household {
                30.0
            } else {
                60.0
            },
        }
    }

    fn stop(order: usize, target: Target, arrive: f64, metres: f64) -> Stop {
        Stop {
            order,
            arrive_minutes: arrive,
            depart_minutes: arrive + target.service_minutes,
            arrive: String::new(),
            depart: String::new(),
            target,
            travel_metres: metres,
            travel_minutes: metres / 500.0,
        }
    }

    fn place(name: &str, lon: f64, lat: f64) -> Place {
        Place {
            name: name.to_owned(),
            lon,
            lat,
        }
    }

    fn day(n: usize, start: &Place, stops: Vec<Stop>) -> Day {
        let travel: f64 = stops.iter().map(|s| s.travel_metres).sum::<f64>() + 5000.0;
        let service: f64 = stops.iter().map(|s| s.target.service_minutes).sum();
        Day {
            day: n,
            date: Some(format!("2019-09-{:02}", n + 1)),
            start: start.clone(),
            end: start.clone(),
            stops,
            travel_metres: travel,
            travel_minutes: travel / 500.0,
            service_minutes: service,
            total_minutes: travel / 500.0 + service,
        }
    }

    fn request() -> Request {
        serde_json::from_value(serde_json::json!({
            "townships": ["210422100", "210422101"],
            "groups": 2,
            "days": 2,
            "start_date": "2019-09-02"
        }))
        .unwrap()
    }

    /// Two groups of two days; group 2's second day is empty. Five stops, two dropped
    /// targets (one without a position).
    fn sample() -> Plan {
        Plan {
            id: "p-20190901-1".to_owned(),
            title: TITLE.to_owned(),
            created: "2019-09-01".to_owned(),
            request: request(),
            groups: vec![group_1(), group_2()],
            dropped: dropped(),
        }
    }

    /// 新宾镇: a household and a village on day 1, a must-visit household on day 2.
    fn group_1() -> Group {
        use Selection::{Failing, Ledger, MustVisit};
        use TargetKind::{Household, Village};
        let xinbin = place("新宾镇政府", 125.04, 41.73);
        Group {
            group: 1,
            name: "第1组（新宾镇）".to_owned(),
            days: vec![
                day(
                    1,
                    &xinbin,
                    vec![
                        stop(
                            1,
                            target(
                                Household,
                                "210422100201001",
                                "大四平村",
                                "新宾镇",
                                "张*",
                                (125.012_345_6, 41.712_345_6),
                                Failing,
                                &[AMPERSAND_REASON, LESS_THAN_REASON],
                            ),
                            35.4,
                            8_412.4,
                        ),
                        stop(
                            2,
                            target(
                                Village,
                                "210422100201",
                                "大四平村",
                                "新宾镇",
                                "大四平村",
                                (125.015, 41.715),
                                Ledger,
                                &["村级台账未更新"],
                            ),
                            80.0,
                            600.0,
                        ),
                    ],
                ),
                day(
                    2,
                    &xinbin,
                    vec![stop(
                        1,
                        target(
                            Household,
                            "210422100202007",
                            "下营子村",
                            "新宾镇",
                            "李*",
                            (125.1, 41.75),
                            MustVisit,
                            &["必访"],
                        ),
                        20.0,
                        9_000.0,
                    )],
                ),
            ],
        }
    }

    /// 旺清门镇: a village with quotes and an ampersand in its name and a sampled
    /// household without reasons on day 1; nothing on day 2.
    fn group_2() -> Group {
        use Selection::{Ledger, Sample};
        use TargetKind::{Household, Village};
        let wangqing = place("旺清门镇政府", 125.22, 41.48);
        Group {
            group: 2,
            name: "第2组（旺清门镇）".to_owned(),
            days: vec![
                day(
                    1,
                    &wangqing,
                    vec![
                        stop(
                            1,
                            target(
                                Village,
                                "210422101203",
                                QUOTED_VILLAGE,
                                "旺清门镇",
                                QUOTED_VILLAGE,
                                (125.25, 41.5),
                                Ledger,
                                &["档案缺失"],
                            ),
                            15.0,
                            4_000.0,
                        ),
                        stop(
                            2,
                            target(
                                Household,
                                "210422101203011",
                                QUOTED_VILLAGE,
                                "旺清门镇",
                                "王*",
                                (125.26, 41.51),
                                Sample,
                                &[],
                            ),
                            100.0,
                            1_500.0,
                        ),
                    ],
                ),
                day(2, &wangqing, Vec::new()),
            ],
        }
    }

    /// One target dropped for lack of time, one for lack of a position.
    fn dropped() -> Vec<Dropped> {
        use Selection::Failing;
        use TargetKind::Household;
        vec![
            Dropped {
                target: target(
                    Household,
                    "210422100201009",
                    "大四平村",
                    "新宾镇",
                    "赵*",
                    (125.02, 41.72),
                    Failing,
                    &["饮水安全未达标"],
                ),
                reason: "工时不足".to_owned(),
            },
            Dropped {
                target: target(
                    Household,
                    "210422100201010",
                    "大四平村",
                    "新宾镇",
                    "孙*",
                    (f64::NAN, f64::NAN),
                    Failing,
                    &["义务教育未保障"],
                ),
                reason: "无定位".to_owned(),
            },
        ]
    }

    /// Every stop with its group and day, in plan order.
    fn stops(plan: &Plan) -> Vec<(&Group, &Day, &Stop)> {
        planned_days(plan)
            .flat_map(|(g, d)| d.stops.iter().map(move |s| (g, d, s)))
            .collect()
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn query_param<'a>(uri: &'a str, key: &str) -> &'a str {
        let query = uri.split_once('?').unwrap().1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap()
    }

    #[test]
    fn helpers_format_times_codes_and_escapes() {
        let mut plan = sample();
        assert_eq!(hhmm(&plan, 95.0), "10:05");
        assert_eq!(hhmm(&plan, 35.4), "09:05");
        assert_eq!(hhmm(&plan, 600.0), "18:30");
        assert_eq!(hhmm(&plan, f64::NAN), "08:30");
        plan.request.day_start = "07:45".to_owned();
        assert_eq!(hhmm(&plan, 35.4), "08:20");
        assert_eq!(km(8_412.4), "8.4");
        assert_eq!(
            escape("a&b<c>d\"e'f\u{1}"),
            "a&amp;b&lt;c&gt;d&quot;e&#39;f"
        );
        assert_eq!(percent_encode("张* a-b_c.d~"), "%E5%BC%A0%2A%20a-b_c.d~");
        let plan = sample();
        let (g, d, s) = stops(&plan)[0];
        assert_eq!(stop_name(g, d, s), "1-1-01 张*");
        assert_eq!(route_name(g, d), "第1组 第1天 2019-09-02");
    }

    #[test]
    fn gpx_parses_with_the_gpx_crate_and_round_trips() {
        let plan = sample();
        let text = gpx(&plan);
        assert!(!text.contains(AMPERSAND_REASON), "raw & in the XML");
        assert!(text.contains("C级危房 &amp; 未改造"));
        let doc = ::gpx::read(text.as_bytes()).unwrap();
        assert_eq!(doc.version, ::gpx::GpxVersion::Gpx11);
        assert_eq!(doc.creator.as_deref(), Some("paicha"));
        assert_eq!(doc.metadata.unwrap().name.as_deref(), Some(TITLE));

        let all = stops(&plan);
        assert_eq!(all.len(), 5);
        assert_eq!(doc.waypoints.len(), all.len());
        for (w, (g, d, s)) in doc.waypoints.iter().zip(&all) {
            assert_eq!(w.name.as_deref(), Some(stop_name(g, d, s).as_str()));
            assert!((w.point().x() - s.target.lon).abs() <= 1e-7);
            assert!((w.point().y() - s.target.lat).abs() <= 1e-7);
            assert_eq!(w.description.as_deref(), Some(reasons(&s.target).as_str()));
            assert_eq!(w.type_.as_deref(), Some(s.target.kind.label()));
            assert_eq!(w.links[0].href, amap_uri(&s.target));
        }
        let first = &doc.waypoints[0];
        assert_eq!(
            first.description.as_deref(),
            Some(format!("{AMPERSAND_REASON}；{LESS_THAN_REASON}").as_str())
        );
        assert_eq!(
            doc.waypoints[3].name.as_deref(),
            Some(format!("2-1-01 {QUOTED_VILLAGE}").as_str())
        );

        let days: Vec<_> = planned_days(&plan).collect();
        assert_eq!(days.len(), 3, "group 2's empty day has no route");
        assert_eq!(doc.routes.len(), days.len());
        for (r, (g, d)) in doc.routes.iter().zip(&days) {
            assert_eq!(r.name.as_deref(), Some(route_name(g, d).as_str()));
            assert_eq!(r.points.len(), d.stops.len() + 2);
            let (first, last) = (&r.points[0], &r.points[r.points.len() - 1]);
            assert_eq!(first.name.as_deref(), Some(d.start.name.as_str()));
            assert_eq!(last.name.as_deref(), Some(d.end.name.as_str()));
            assert!((first.point().x() - d.start.lon).abs() <= 1e-7);
            assert!((first.point().y() - d.start.lat).abs() <= 1e-7);
            for (p, s) in r.points[1..=d.stops.len()].iter().zip(&d.stops) {
                assert_eq!(p.name.as_deref(), Some(stop_name(g, d, s).as_str()));
                assert!((p.point().x() - s.target.lon).abs() <= 1e-7);
                assert!((p.point().y() - s.target.lat).abs() <= 1e-7);
            }
        }
        assert_eq!(
            doc.routes[2].name.as_deref(),
            Some("第2组 第1天 2019-09-02")
        );
    }

    /// What the KML holds, gathered while walking it.
    #[derive(Default)]
    struct KmlContents {
        /// Folder names with their depth (1 = in the Document).
        folders: Vec<(usize, String)>,
        /// Point placemarks: name, description, style, lon, lat.
        points: Vec<(String, String, String, f64, f64)>,
        /// Route placemarks: name, style, coordinates.
        lines: Vec<(String, String, Vec<LonLat>)>,
        /// Line colours by style id.
        line_colours: HashMap<String, String>,
        /// Icon colours by style id.
        icon_colours: HashMap<String, String>,
    }

    fn walk(elements: &[::kml::Kml], depth: usize, out: &mut KmlContents) {
        for e in elements {
            match e {
                ::kml::Kml::KmlDocument(d) => walk(&d.elements, depth, out),
                ::kml::Kml::Document { elements, .. } => walk(elements, depth, out),
                ::kml::Kml::Folder(f) => {
                    out.folders
                        .push((depth + 1, f.name.clone().unwrap_or_default()));
                    walk(&f.elements, depth + 1, out);
                }
                ::kml::Kml::Style(s) => {
                    let id = s.id.clone().unwrap_or_default();
                    if let Some(line) = &s.line {
                        out.line_colours.insert(id.clone(), line.color.clone());
                    }
                    if let Some(icon) = &s.icon {
                        out.icon_colours.insert(id, icon.color.clone());
                    }
                }
                ::kml::Kml::Placemark(p) => {
                    let name = p.name.clone().unwrap_or_default();
                    let style = p.style_url.clone().unwrap_or_default();
                    match p.geometry.as_ref().unwrap() {
                        ::kml::types::Geometry::Point(pt) => out.points.push((
                            name,
                            p.description.clone().unwrap_or_default(),
                            style,
                            pt.coord.x,
                            pt.coord.y,
                        )),
                        ::kml::types::Geometry::LineString(l) => out.lines.push((
                            name,
                            style,
                            l.coords.iter().map(|c| LonLat::new(c.x, c.y)).collect(),
                        )),
                        other => panic!("unexpected geometry {other:?}"),
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn kml_parses_with_the_kml_crate_and_round_trips() {
        let plan = sample();
        let text = kml(&plan);
        assert!(text.contains("<kml xmlns=\"http://www.opengis.net/kml/2.2\">"));
        let doc = ::kml::Kml::<f64>::from_str(&text).unwrap();
        let mut got = KmlContents::default();
        walk(std::slice::from_ref(&doc), 0, &mut got);

        let groups: Vec<_> = got.folders.iter().filter(|(d, _)| *d == 1).collect();
        let days: Vec<_> = got.folders.iter().filter(|(d, _)| *d == 2).collect();
        assert_eq!(
            groups.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
            ["第1组（新宾镇）", "第2组（旺清门镇）", "未安排的对象"]
        );
        assert_eq!(
            days.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
            ["第1天 2019-09-02", "第2天 2019-09-03", "第1天 2019-09-02"]
        );

        let all = stops(&plan);
        // Five stops and the one dropped target that has a position.
        assert_eq!(got.points.len(), all.len() + 1);
        for ((name, description, style, lon, lat), (g, d, s)) in got.points.iter().zip(&all) {
            assert_eq!(name, &stop_name(g, d, s));
            assert!((lon - s.target.lon).abs() <= 1e-7, "{name}");
            assert!((lat - s.target.lat).abs() <= 1e-7, "{name}");
            let expected_style = match s.target.kind {
                TargetKind::Household => "#household",
                TargetKind::Village => "#village",
            };
            assert_eq!(style, expected_style);
            for r in &s.target.reasons {
                assert!(description.contains(&escape(r)), "{description}");
            }
        }
        // The description is HTML: the reason's markup characters stay escaped in it.
        assert!(got.points[0].1.contains("C级危房 &amp; 未改造"));
        assert!(got.points[0].1.contains("人均纯收入&lt;4000元"));
        assert_eq!(got.points[3].0, format!("2-1-01 {QUOTED_VILLAGE}"));
        let dropped = &got.points[all.len()];
        assert_eq!(dropped.0, "赵*");
        assert_eq!(dropped.2, "#dropped");
        assert!(dropped.1.contains("未安排原因：工时不足"));

        let planned: Vec<_> = planned_days(&plan).collect();
        assert_eq!(got.lines.len(), planned.len());
        for ((name, style, coords), (g, d)) in got.lines.iter().zip(&planned) {
            assert_eq!(name, &format!("路线 {}", route_name(g, d)));
            assert_eq!(style, &format!("#day-{}", d.day));
            assert_eq!(coords.len(), d.stops.len() + 2);
            assert!((coords[0].lon - d.start.lon).abs() <= 1e-7);
            assert!((coords[0].lat - d.start.lat).abs() <= 1e-7);
            for (c, s) in coords[1..=d.stops.len()].iter().zip(&d.stops) {
                assert!((c.lon - s.target.lon).abs() <= 1e-7);
                assert!((c.lat - s.target.lat).abs() <= 1e-7);
            }
        }

        // aabbggrr: day 1 is red 0xE6194B, day 2 green 0x3CB44B.
        assert_eq!(got.line_colours["day-1"], "ff4b19e6");
        assert_eq!(got.line_colours["day-2"], "ff4bb43c");
        assert_ne!(got.icon_colours["household"], got.icon_colours["village"]);
    }

    #[test]
    fn geojson_parses_with_the_geojson_crate() {
        let plan = sample();
        let fc = ::geojson::FeatureCollection::from_str(&geojson(&plan)).unwrap();
        let layer = |name: &str| -> Vec<&::geojson::Feature> {
            fc.features
                .iter()
                .filter(|f| f.property("layer").and_then(|v| v.as_str()) == Some(name))
                .collect()
        };
        let (stop_features, routes, dropped) = (layer("stop"), layer("route"), layer("dropped"));
        assert_eq!(stop_features.len(), 5);
        assert_eq!(routes.len(), 3);
        assert_eq!(dropped.len(), 2);
        assert_eq!(fc.features.len(), 10);

        for (f, (g, d, s)) in stop_features.iter().zip(stops(&plan)) {
            let Some(::geojson::GeometryValue::Point { coordinates }) =
                f.geometry.as_ref().map(|g| &g.value)
            else {
                panic!("a stop is a Point");
            };
            assert!((coordinates[0] - s.target.lon).abs() <= 1e-7);
            assert!((coordinates[1] - s.target.lat).abs() <= 1e-7);
            assert_eq!(f.property("group").unwrap(), g.group);
            assert_eq!(f.property("day").unwrap(), d.day);
            assert_eq!(f.property("order").unwrap(), s.order);
            assert_eq!(f.property("label").unwrap(), s.target.label.as_str());
            assert_eq!(f.property("dropped").unwrap(), false);
        }
        let first = stop_features[0];
        assert_eq!(
            first.id,
            Some(::geojson::feature::Id::String("1-1-01".to_owned()))
        );
        let expected = serde_json::json!({
            "layer": "stop",
            "group": 1,
            "group_name": "第1组（新宾镇）",
            "day": 1,
            "date": "2019-09-02",
            "order": 1,
            "kind": "household",
            "kind_name": "入户",
            "id": "210422100201001",
            "label": "张*",
            "village_code": "210422100201",
            "village_name": "大四平村",
            "township_name": "新宾镇",
            "selection": "failing",
            "selection_name": "指标未达标",
            "reasons": format!("{AMPERSAND_REASON}；{LESS_THAN_REASON}"),
            "must_visit": false,
            "priority": 3,
            "arrive": "09:05",
            "depart": "09:35",
            "travel_metres": 8412,
            "amap": amap_uri(&plan.groups[0].days[0].stops[0].target),
            "baidu": baidu_uri(&plan.groups[0].days[0].stops[0].target),
            "dropped": false,
        });
        assert_eq!(
            serde_json::Value::Object(first.properties.clone().unwrap()),
            expected
        );

        for (f, (_, d)) in routes.iter().zip(planned_days(&plan)) {
            let Some(::geojson::GeometryValue::LineString { coordinates }) =
                f.geometry.as_ref().map(|g| &g.value)
            else {
                panic!("a route is a LineString");
            };
            assert_eq!(coordinates.len(), d.stops.len() + 2);
            assert_eq!(
                f.property("travel_metres").unwrap(),
                d.travel_metres.round() as i64
            );
            assert_eq!(
                f.property("total_minutes").unwrap(),
                d.total_minutes.round() as i64
            );
        }

        assert!(
            dropped
                .iter()
                .all(|f| f.property("dropped").unwrap() == true)
        );
        assert_eq!(dropped[0].property("reason").unwrap(), "工时不足");
        assert!(dropped[0].geometry.is_some());
        assert_eq!(dropped[1].property("reason").unwrap(), "无定位");
        assert!(dropped[1].geometry.is_none(), "no position, no geometry");
        assert_eq!(dropped[1].property("amap").unwrap(), "");
        assert_eq!(dropped[1].property("baidu").unwrap(), "");
    }

    #[test]
    fn csv_has_a_bom_chinese_headers_and_a_row_per_target() {
        let plan = sample();
        let bytes = csv(&plan);
        assert!(bytes.starts_with(UTF8_BOM));
        let mut reader = ::csv::Reader::from_reader(&bytes[UTF8_BOM.len()..]);
        let headers: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            headers,
            [
                "组",
                "日期/第几天",
                "顺序",
                "类型",
                "村",
                "乡镇",
                "户编号/村代码",
                "户主（脱敏）/名称",
                "选取方式",
                "核查内容",
                "到达时间",
                "离开时间",
                "路程（公里）",
                "经度",
                "纬度",
                "高德导航",
                "百度地图",
                "未安排原因",
            ]
        );
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5 + 2);
        let amap = amap_uri(&plan.groups[0].days[0].stops[0].target);
        let baidu = baidu_uri(&plan.groups[0].days[0].stops[0].target);
        let reasons = format!("{AMPERSAND_REASON}；{LESS_THAN_REASON}");
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "第1组（新宾镇）",
                "2019-09-02",
                "1",
                "入户",
                "大四平村",
                "新宾镇",
                "210422100201001",
                "张*",
                "指标未达标",
                reasons.as_str(),
                "09:05",
                "09:35",
                "8.4",
                "125.0123456",
                "41.7123456",
                amap.as_str(),
                baidu.as_str(),
                "",
            ]
        );
        assert_eq!(&rows[3][4], QUOTED_VILLAGE);
        assert_eq!(&rows[4][9], "", "a stop without reasons");
        let dropped = &rows[5];
        assert_eq!(&dropped[0], "");
        assert_eq!(&dropped[2], "", "dropped targets have no order");
        assert_eq!(&dropped[7], "赵*");
        assert_eq!(&dropped[17], "工时不足");
        let unlocated = &rows[6];
        assert_eq!(&unlocated[17], "无定位");
        assert_eq!(
            (
                &unlocated[13],
                &unlocated[14],
                &unlocated[15],
                &unlocated[16]
            ),
            ("", "", "", "")
        );
    }

    #[test]
    fn xlsx_holds_visits_and_unplanned_as_text() {
        use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
        let plan = sample();
        let bytes = xlsx(&plan).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["走访安排", "未安排"]);
        let visits = book.worksheet_range("走访安排").unwrap();
        assert_eq!(visits.height(), 1 + 5);
        assert_eq!(
            visits.get((0, 6)),
            Some(&Data::String("户编号/村代码".into()))
        );
        // The number stays text: an Excel cell of this type shows every digit.
        assert_eq!(
            visits.get((1, 6)),
            Some(&Data::String("210422100201001".into()))
        );
        assert_eq!(visits.get((1, 10)), Some(&Data::String("09:05".into())));
        let unplanned = book.worksheet_range("未安排").unwrap();
        assert_eq!(unplanned.height(), 1 + 2);
        assert_eq!(unplanned.get((2, 17)), Some(&Data::String("无定位".into())));
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        let mut plan = sample();
        plan.dropped[0].reason = "=HYPERLINK(\"x\")".to_owned();
        let bytes = csv(&plan);
        let mut reader = ::csv::Reader::from_reader(&bytes[UTF8_BOM.len()..]);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[5][17], "'=HYPERLINK(\"x\")");
    }

    #[test]
    fn html_sheet_lists_every_stop_escaped_and_self_contained() {
        let plan = sample();
        let page = html(&plan, None, None);
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(page.contains("@media print"));
        assert!(page.contains("break-before: page"));
        assert_eq!(page.matches("<section class=\"sheet\">").count(), 3);
        for (g, d, s) in stops(&plan) {
            assert!(
                page.contains(&escape(&s.target.label)),
                "{}",
                s.target.label
            );
            assert!(page.contains(&escape(&s.target.village_name)));
            assert!(page.contains(&escape(&g.name)));
            assert!(page.contains(&escape(&day_title(d))));
        }
        for header in [
            "顺序",
            "预计到达",
            "村",
            "类型",
            "户编号",
            "户主",
            "核查内容",
            "导航",
            "核查发现",
            "签字",
        ] {
            assert!(page.contains(&format!(">{header}<")), "{header}");
        }
        assert_eq!(page.matches("督查组组长签字").count(), 3);
        assert!(page.contains("<li>住房安全：C级危房 &amp; 未改造</li>"));
        assert!(page.contains("<li>人均纯收入&lt;4000元</li>"));
        assert!(page.contains("腰站村&quot;东&quot;&amp;&#39;西&#39;"));
        assert!(page.contains("新宾镇督查走访计划 &amp; &lt;复核&gt;"));
        assert!(!page.contains(AMPERSAND_REASON));
        assert!(!page.contains(QUOTED_VILLAGE));
        // Totals of group 1's first day: 2 stops, 8412.4 + 600 + 5000 m.
        assert!(page.contains("2 个（入户 1，村级 1）"));
        assert!(page.contains("14.0 公里"));
        // Clock times from the day's start, 08:30: the first stop 35.4 minutes after.
        assert!(page.contains("<td class=\"nw\">09:05</td>"));
        assert!(page.contains("当日 08:30 出发"));
        // The targets not planned are not on the visit sheet, which is the visits.
        assert!(!page.contains("未安排"));
        assert!(!page.contains("赵*"));

        // Self-contained: no script, no resource to load; the only links are Amap's.
        // (`&src=paicha` inside the Amap links is a query parameter, not an attribute.)
        let lower = page.to_lowercase().replace(['\n', '\t'], " ");
        for banned in [
            "<script", " src=", "<link", "<img", "@import", "url(", "<iframe", "<object", "<embed",
        ] {
            assert!(!lower.contains(banned), "{banned}");
        }
        let hrefs: Vec<&str> = page.split("href=\"").skip(1).collect();
        assert_eq!(hrefs.len(), 5, "one navigation link per stop");
        assert!(
            hrefs
                .iter()
                .all(|h| h.starts_with("https://uri.amap.com/navigation?to="))
        );
        assert!(hrefs[0].starts_with(&escape(&amap_uri(&plan.groups[0].days[0].stops[0].target))));
    }

    #[test]
    fn unplanned_list_is_a_page_of_its_own() {
        let plan = sample();
        let page = unplanned_html(&plan);
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">"));
        assert!(page.contains("未安排的对象（2 个）"));
        assert_eq!(page.matches("<tr><td class=\"order\">").count(), 2);
        assert!(page.contains("赵*") && page.contains("工时不足"));
        assert!(page.contains("孙*") && page.contains("无定位"));
        assert!(!page.contains("张*"), "no visits here");

        let mut all = plan.clone();
        all.dropped.clear();
        assert!(unplanned_html(&all).contains("全部对象均已安排"));
    }

    #[test]
    fn html_sheet_filters_by_group_and_day() {
        let plan = sample();
        let sections = |g, d| {
            html(&plan, g, d)
                .matches("<section class=\"sheet\">")
                .count()
        };
        assert_eq!(sections(Some(1), None), 2);
        assert_eq!(sections(Some(2), None), 1);
        assert_eq!(sections(None, Some(1)), 2);
        assert_eq!(sections(None, Some(2)), 1);
        assert_eq!(sections(Some(1), Some(2)), 1);

        let one = html(&plan, Some(1), Some(2));
        assert!(one.contains("李*"));
        assert!(one.contains("第2天 2019-09-03"));
        assert!(!one.contains("张*"));
        assert!(!one.contains("王*"));
        assert!(
            !one.contains("未安排的对象"),
            "only the unfiltered sheet lists them"
        );

        let empty = html(&plan, Some(2), Some(2));
        assert!(empty.contains("没有符合条件的走访安排"));
        assert!(!empty.contains("<table class=\"stops\">"));
    }

    #[test]
    fn amap_uri_is_in_gcj02_and_percent_encoded() {
        let t = target(
            TargetKind::Household,
            "210422100201001",
            "大四平村",
            "新宾镇",
            "张*",
            (125.0, 41.7),
            Selection::Failing,
            &[],
        );
        let uri = amap_uri(&t);
        assert!(
            uri.starts_with("https://uri.amap.com/navigation?to="),
            "{uri}"
        );
        assert!(uri.ends_with("&mode=car&coordinate=gaode&callnative=1&src=paicha"));
        let to: Vec<&str> = query_param(&uri, "to").split(',').collect();
        assert_eq!(to.len(), 3);
        let (lon, lat): (f64, f64) = (to[0].parse().unwrap(), to[1].parse().unwrap());
        assert_eq!(to[0], format!("{lon:.6}"), "6 decimals");
        let g = wgs84_to_gcj02(LonLat::new(125.0, 41.7));
        assert!((lon - g.lon).abs() <= 5e-7 && (lat - g.lat).abs() <= 5e-7);
        let east = (lon - 125.0) * M_PER_DEG * 41.7_f64.to_radians().cos();
        let north = (lat - 41.7) * M_PER_DEG;
        let shift = east.hypot(north);
        assert!((100.0..1_000.0).contains(&shift), "GCJ-02 shift {shift} m");
        // 大四平村 张* in UTF-8, space and asterisk included.
        assert_eq!(to[2], "%E5%A4%A7%E5%9B%9B%E5%B9%B3%E6%9D%91%20%E5%BC%A0%2A");
        assert_eq!(percent_decode(to[2]), "大四平村 张*");

        let mut nowhere = t.clone();
        nowhere.lon = f64::NAN;
        assert_eq!(amap_uri(&nowhere), "");
        assert_eq!(baidu_uri(&nowhere), "");
    }

    #[test]
    fn baidu_uri_is_in_bd09() {
        let mut t = sample().groups[1].days[0].stops[0].target.clone();
        t.lon = 125.0;
        t.lat = 41.7;
        let uri = baidu_uri(&t);
        assert!(uri.starts_with("https://api.map.baidu.com/marker?location="));
        assert!(uri.ends_with("&output=html&coord_type=bd09ll&src=paicha"));
        let location: Vec<f64> = query_param(&uri, "location")
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect();
        let b = gcj02_to_bd09(wgs84_to_gcj02(LonLat::new(125.0, 41.7)));
        assert!((location[0] - b.lat).abs() <= 5e-7, "latitude first");
        assert!((location[1] - b.lon).abs() <= 5e-7);
        assert_eq!(percent_decode(query_param(&uri, "title")), QUOTED_VILLAGE);
        assert_eq!(percent_decode(query_param(&uri, "content")), QUOTED_VILLAGE);
    }
}
