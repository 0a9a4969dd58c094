//! The exports of a visit plan: GPX and KML for navigation and map apps, GeoJSON for
//! the web map and GIS, CSV for Excel and WPS, a printable visit sheet (入户核查走访单)
//! in HTML, and Amap (高德) and Baidu navigation links for each target.
//!
//! Every export is written from the [`Plan`] alone. Coordinates are WGS-84 everywhere
//! except in the navigation links, which Amap and Baidu need in their own systems
//! (GCJ-02, BD-09). Times of a stop are offsets from the day's start, `HH:MM`: a plan
//! has no clock time for the start. Households appear by their masked label only (张*),
//! as the plan holds them. A target without a usable position (a dropped 无定位) keeps
//! its row in the tables and gets no geometry and no link.

use std::fmt::Write as _;

use crate::export::{UTF8_BOM, escape_markup as escape, round7};
use crate::planner::plan::{Day, Group, Place, Plan, Selection, Stop, Target, TargetKind};
use crate::spatial::crs::{LonLat, gcj02_to_bd09, wgs84_to_gcj02};

/// Separator of the reasons of a target in one line of text.
const REASON_SEPARATOR: &str = "；";

/// Line colours of the days in KML, cycled, as `0xRRGGBB`: red, green, blue, orange,
/// purple, cyan, magenta, brown — told apart on a satellite image.
const DAY_COLOURS: [u32; 8] = [
    0xE6_19_4B, 0x3C_B4_4B, 0x43_63_D8, 0xF5_82_31, 0x91_1E_B4, 0x42_D4_F4, 0xF0_32_E6, 0x9A_63_24,
];

/// The headers of [`csv`], in order.
const CSV_HEADERS: [&str; 17] = [
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
    "未安排原因",
];

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// Percent-encodes a URI component: unreserved ASCII is kept, every other byte of the
/// UTF-8 is written `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

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

/// Minutes after the day's start as `HH:MM`, rounded to the minute.
fn hhmm(minutes: f64) -> String {
    let m = minutes.max(0.0).round() as u64;
    format!("{:02}:{:02}", m / 60, m % 60)
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

// ---------------------------------------------------------------------------------------
// Navigation links
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// GPX
// ---------------------------------------------------------------------------------------

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
            out.push_str(&gpx_waypoint(group, day, stop));
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
fn gpx_waypoint(group: &Group, day: &Day, stop: &Stop) -> String {
    let t = &stop.target;
    let comment = format!(
        "{} {} · {} · 出发后 {} 到达",
        t.township_name,
        t.village_name,
        t.selection.label(),
        hhmm(stop.arrive_minutes)
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

// ---------------------------------------------------------------------------------------
// KML
// ---------------------------------------------------------------------------------------

/// A KML colour (`aabbggrr`, opaque) from `0xRRGGBB`.
fn kml_colour(rgb: u32) -> String {
    let (r, g, b) = ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
    format!("ff{b:02x}{g:02x}{r:02x}")
}

/// The id of the line style of a day number.
fn day_style(day: usize) -> String {
    format!("day-{day}")
}

/// The line colour of a day number (1-based), as `0xRRGGBB`.
fn day_colour(day: usize) -> u32 {
    DAY_COLOURS[day.saturating_sub(1) % DAY_COLOURS.len()]
}

/// Text as the HTML of a KML description, in CDATA: escaped, lines joined by `<br>`.
/// Escaping `>` also keeps `]]>` out of the CDATA.
fn kml_description(lines: &[String]) -> String {
    let html: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    format!(
        "<description><![CDATA[{}]]></description>",
        html.join("<br>")
    )
}

/// A Point placemark of a target.
fn kml_point(name: &str, style: &str, lines: &[String], t: &Target) -> String {
    format!(
        "        <Placemark>\n          <name>{}</name>\n          {}\n          <styleUrl>#{style}</styleUrl>\n          \
         <Point><coordinates>{},{},0</coordinates></Point>\n        </Placemark>\n",
        escape(name),
        kml_description(lines),
        deg7(t.lon),
        deg7(t.lat)
    )
}

/// The lines of a target's description: where, what, why.
fn target_lines(t: &Target) -> Vec<String> {
    let mut lines = vec![
        format!("{} {}", t.township_name, t.village_name),
        format!("{} · {} · {}", t.kind.label(), t.id, t.selection.label()),
    ];
    if !t.reasons.is_empty() {
        lines.push(format!("核查内容：{}", reasons(t)));
    }
    lines
}

/// The KML styles: households, villages, dropped targets, and a line style per day
/// number up to the last one with stops.
fn kml_styles(plan: &Plan) -> String {
    let icon = |id: &str, rgb: u32, scale: f64| {
        format!(
            "    <Style id=\"{id}\"><IconStyle><color>{}</color><scale>{scale:.1}</scale></IconStyle>\
             <LabelStyle><scale>0.8</scale></LabelStyle></Style>\n",
            kml_colour(rgb)
        )
    };
    let mut out = icon("household", 0xD7_30_1F, 1.0);
    out.push_str(&icon("village", 0x21_71_B5, 1.4));
    out.push_str(&icon("dropped", 0x96_96_96, 0.8));
    let last_day = planned_days(plan).map(|(_, d)| d.day).max().unwrap_or(0);
    for n in 1..=last_day {
        let _ = writeln!(
            out,
            "    <Style id=\"{}\"><LineStyle><color>{}</color><width>4</width></LineStyle></Style>",
            day_style(n),
            kml_colour(day_colour(n))
        );
    }
    out
}

/// The plan as KML 2.2, for Google Earth, 奥维 and other map apps.
///
/// A Document named with the title; a Folder per group and, inside it, a Folder per day
/// with stops (`第2天 2019-09-02`) holding a Placemark per stop (named `1-2-03 张*`, a
/// description with the village, the arrival and the reasons, a Point `lon,lat,0`) and
/// a Placemark with the day's route as a `LineString` from start through the stops to the
/// end. Households and villages have distinct icon styles, each day number its own line
/// colour. Dropped targets with a position follow in a Folder 未安排的对象. Coordinates
/// are WGS-84 with 7 decimals.
#[must_use]
pub fn kml(plan: &Plan) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n  <Document>\n",
    );
    let _ = write!(
        out,
        "    <name>{}</name>\n    {}\n",
        escape(&plan.title),
        kml_description(&[format!("计划编号 {}，编制日期 {}", plan.id, plan.created)])
    );
    out.push_str(&kml_styles(plan));
    for group in &plan.groups {
        let _ = write!(
            out,
            "    <Folder>\n      <name>{}</name>\n",
            escape(&group.name)
        );
        for day in group.days.iter().filter(|d| !d.stops.is_empty()) {
            out.push_str(&kml_day(group, day));
        }
        out.push_str("    </Folder>\n");
    }
    let dropped: Vec<_> = plan.dropped.iter().filter(|d| located(&d.target)).collect();
    if !dropped.is_empty() {
        out.push_str("    <Folder>\n      <name>未安排的对象</name>\n");
        for d in dropped {
            let mut lines = target_lines(&d.target);
            lines.push(format!("未安排原因：{}", d.reason));
            out.push_str(&kml_point(&d.target.label, "dropped", &lines, &d.target));
        }
        out.push_str("    </Folder>\n");
    }
    out.push_str("  </Document>\n</kml>\n");
    out
}

/// The day Folder of [`kml`].
fn kml_day(group: &Group, day: &Day) -> String {
    let mut out = format!(
        "      <Folder>\n        <name>{}</name>\n        {}\n",
        escape(&day_title(day)),
        kml_description(&[format!(
            "{} 个点位，路程 {} 公里，行车 {} 分钟，工作 {} 分钟",
            day.stops.len(),
            km(day.travel_metres),
            whole(day.travel_minutes),
            whole(day.total_minutes)
        )])
    );
    for stop in day.stops.iter().filter(|s| located(&s.target)) {
        let t = &stop.target;
        let mut lines = target_lines(t);
        lines.insert(
            1,
            format!(
                "预计到达：出发后 {}，离开 {}",
                hhmm(stop.arrive_minutes),
                hhmm(stop.depart_minutes)
            ),
        );
        let style = match t.kind {
            TargetKind::Household => "household",
            TargetKind::Village => "village",
        };
        out.push_str(&kml_point(&stop_name(group, day, stop), style, &lines, t));
    }
    let coordinates: Vec<String> = route_points(group, day)
        .iter()
        .map(|p| format!("{},{},0", deg7(p.lon), deg7(p.lat)))
        .collect();
    let _ = write!(
        out,
        "        <Placemark>\n          <name>路线 {}</name>\n          {}\n          <styleUrl>#{}</styleUrl>\n          \
         <LineString><tessellate>1</tessellate><coordinates>{}</coordinates></LineString>\n        </Placemark>\n",
        escape(&route_name(group, day)),
        kml_description(&[format!(
            "{} → {}，路程 {} 公里",
            day.start.name,
            day.end.name,
            km(day.travel_metres)
        )]),
        day_style(day.day),
        coordinates.join(" ")
    );
    out.push_str("      </Folder>\n");
    out
}

// ---------------------------------------------------------------------------------------
// GeoJSON
// ---------------------------------------------------------------------------------------

/// The properties every target feature has: what it is, where, why, and its Amap link
/// (empty without a position).
fn target_properties(t: &Target) -> geojson::JsonObject {
    let mut p = geojson::JsonObject::new();
    p.insert("kind".into(), kind_code(t).into());
    p.insert("kind_name".into(), t.kind.label().into());
    p.insert("id".into(), t.id.clone().into());
    p.insert("label".into(), t.label.clone().into());
    p.insert("village_code".into(), t.village_code.clone().into());
    p.insert("village_name".into(), t.village_name.clone().into());
    p.insert("township_name".into(), t.township_name.clone().into());
    p.insert("selection".into(), selection_code(t).into());
    p.insert("selection_name".into(), t.selection.label().into());
    p.insert("reasons".into(), reasons(t).into());
    p.insert("must_visit".into(), t.must_visit.into());
    p.insert("priority".into(), t.priority.into());
    p.insert("amap".into(), amap_uri(t).into());
    p
}

/// The stable code of a target's kind, as the API spells it.
fn kind_code(t: &Target) -> &'static str {
    match t.kind {
        TargetKind::Household => "household",
        TargetKind::Village => "village",
    }
}

/// The stable code of a target's selection, as the API spells it.
fn selection_code(t: &Target) -> &'static str {
    match t.selection {
        Selection::Failing => "failing",
        Selection::Ledger => "ledger",
        Selection::Sample => "sample",
        Selection::MustVisit => "must_visit",
    }
}

/// A feature from its geometry (or none), id and properties.
fn feature(
    geometry: Option<geojson::GeometryValue>,
    id: String,
    properties: geojson::JsonObject,
) -> geojson::Feature {
    geojson::Feature {
        bbox: None,
        geometry: geometry.map(geojson::Geometry::new),
        id: Some(geojson::feature::Id::String(id)),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// A target's Point, or none without a position.
fn target_point(t: &Target) -> Option<geojson::GeometryValue> {
    located(t).then(|| geojson::GeometryValue::new_point([round7(t.lon), round7(t.lat)]))
}

/// The plan as a GeoJSON `FeatureCollection` for the web map and GIS.
///
/// Three layers, told apart by the property `layer`:
/// - `stop`: a Point per stop, id `1-2-03`, with flat properties `group`, `group_name`,
///   `day`, `date`, `order`, `kind` (`household`/`village`) and `kind_name` (入户/村级),
///   `id`, `label`, `village_code`, `village_name`, `township_name`, `selection` and
///   `selection_name`, `reasons` (joined by `；`), `must_visit`, `priority`, `arrive`
///   and `depart` (`HH:MM` after the day's start), `travel_metres` (from the previous
///   point, whole metres), `amap` (navigation link) and `dropped: false`;
/// - `route`: a `LineString` per day with stops, id `1-2`, start → stops → end, with
///   `group`, `group_name`, `day`, `date`, `stops`, `start`, `end`, `travel_metres`,
///   `travel_minutes`, `service_minutes` and `total_minutes` (whole numbers);
/// - `dropped`: a Point per target not planned (null geometry without a position), id
///   `dropped-{id}`, with the target's properties, `dropped: true` and `reason`.
///
/// Coordinates are WGS-84 rounded to 7 decimals.
#[must_use]
pub fn geojson(plan: &Plan) -> String {
    let mut features = Vec::new();
    for (group, day) in planned_days(plan) {
        for stop in &day.stops {
            let mut p = target_properties(&stop.target);
            p.insert("layer".into(), "stop".into());
            p.insert("group".into(), group.group.into());
            p.insert("group_name".into(), group.name.clone().into());
            p.insert("day".into(), day.day.into());
            p.insert("date".into(), day.date.clone().into());
            p.insert("order".into(), stop.order.into());
            p.insert("arrive".into(), hhmm(stop.arrive_minutes).into());
            p.insert("depart".into(), hhmm(stop.depart_minutes).into());
            p.insert("travel_metres".into(), whole(stop.travel_metres).into());
            p.insert("dropped".into(), false.into());
            features.push(feature(
                target_point(&stop.target),
                stop_code(group, day, stop),
                p,
            ));
        }
    }
    for (group, day) in planned_days(plan) {
        let mut p = geojson::JsonObject::new();
        p.insert("layer".into(), "route".into());
        p.insert("group".into(), group.group.into());
        p.insert("group_name".into(), group.name.clone().into());
        p.insert("day".into(), day.day.into());
        p.insert("date".into(), day.date.clone().into());
        p.insert("stops".into(), day.stops.len().into());
        p.insert("start".into(), day.start.name.clone().into());
        p.insert("end".into(), day.end.name.clone().into());
        p.insert("travel_metres".into(), whole(day.travel_metres).into());
        p.insert("travel_minutes".into(), whole(day.travel_minutes).into());
        p.insert("service_minutes".into(), whole(day.service_minutes).into());
        p.insert("total_minutes".into(), whole(day.total_minutes).into());
        let line = route_points(group, day)
            .iter()
            .map(|q| [round7(q.lon), round7(q.lat)])
            .collect::<Vec<_>>();
        let geometry = (line.len() >= 2).then(|| geojson::GeometryValue::new_line_string(line));
        features.push(feature(geometry, format!("{}-{}", group.group, day.day), p));
    }
    for d in &plan.dropped {
        let mut p = target_properties(&d.target);
        p.insert("layer".into(), "dropped".into());
        p.insert("dropped".into(), true.into());
        p.insert("reason".into(), d.reason.clone().into());
        features.push(feature(
            target_point(&d.target),
            format!("dropped-{}", d.target.id),
            p,
        ));
    }
    geojson::FeatureCollection::new(features).to_string()
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// A text cell that Excel must not read as a formula: a leading `= + - @` (or tab or
/// carriage return) gets an apostrophe before it.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The target columns of a CSV row, 类型 to 核查内容.
fn csv_target(t: &Target) -> [String; 7] {
    [
        t.kind.label().to_owned(),
        text_cell(&t.village_name),
        text_cell(&t.township_name),
        text_cell(&t.id),
        text_cell(&t.label),
        t.selection.label().to_owned(),
        text_cell(&reasons(t)),
    ]
}

/// The position columns of a CSV row: longitude, latitude (empty without a position)
/// and the Amap link.
fn csv_position(t: &Target) -> [String; 3] {
    if located(t) {
        [deg7(t.lon), deg7(t.lat), amap_uri(t)]
    } else {
        [String::new(), String::new(), String::new()]
    }
}

/// The CSV rows of [`csv`]: each stop, then each dropped target.
fn csv_rows(plan: &Plan) -> Vec<[String; 17]> {
    let mut rows = Vec::new();
    for (group, day) in planned_days(plan) {
        for stop in &day.stops {
            let [kind, village, township, id, label, selection, why] = csv_target(&stop.target);
            let [lon, lat, amap] = csv_position(&stop.target);
            rows.push([
                text_cell(&group.name),
                day.date
                    .clone()
                    .unwrap_or_else(|| format!("第{}天", day.day)),
                stop.order.to_string(),
                kind,
                village,
                township,
                id,
                label,
                selection,
                why,
                hhmm(stop.arrive_minutes),
                hhmm(stop.depart_minutes),
                km(stop.travel_metres),
                lon,
                lat,
                amap,
                String::new(),
            ]);
        }
    }
    for d in &plan.dropped {
        let [kind, village, township, id, label, selection, why] = csv_target(&d.target);
        let [lon, lat, amap] = csv_position(&d.target);
        rows.push([
            String::new(),
            String::new(),
            String::new(),
            kind,
            village,
            township,
            id,
            label,
            selection,
            why,
            String::new(),
            String::new(),
            String::new(),
            lon,
            lat,
            amap,
            text_cell(&d.reason),
        ]);
    }
    rows
}

/// The plan as CSV for Excel and WPS: UTF-8 with a byte-order mark, Chinese headers.
///
/// Columns: 组, 日期/第几天 (the date, or 第N天 without one), 顺序, 类型 (入户/村级), 村,
/// 乡镇, 户编号/村代码, 户主（脱敏）/名称, 选取方式, 核查内容 (reasons joined by `；`),
/// 到达时间 and 离开时间 (`HH:MM` after the day's start), 路程（公里） (from the previous
/// point), 经度 and 纬度 (WGS-84, 7 decimals), 高德导航, 未安排原因. One row per stop in
/// plan order, then one per dropped target, with empty group, day, order, times and
/// distance and its reason in the last column. Text that Excel would take for a formula
/// is prefixed with an apostrophe.
#[must_use]
pub fn csv(plan: &Plan) -> Vec<u8> {
    let mut out = UTF8_BOM.to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    // A `csv::Writer` fails only on I/O errors, which a `Vec` has none of, and on
    // records of unequal length, which the fixed-size rows rule out.
    let written = std::iter::once(CSV_HEADERS.map(str::to_owned))
        .chain(csv_rows(plan))
        .try_for_each(|row| w.write_record(&row))
        .and_then(|()| w.flush().map_err(csv::Error::from));
    debug_assert!(written.is_ok(), "writing CSV to memory failed");
    drop(w);
    out
}

// ---------------------------------------------------------------------------------------
// HTML visit sheet
// ---------------------------------------------------------------------------------------

/// The style of the visit sheet: A4 landscape, one group-day per page, rows tall enough
/// to write findings and sign in.
const SHEET_CSS: &str = "\
@page { size: A4 landscape; margin: 10mm 12mm; }
body { font-family: \"Songti SC\", \"SimSun\", \"Noto Serif CJK SC\", \"Source Han Serif SC\", serif; font-size: 11pt; color: #000; margin: 0 auto; max-width: 277mm; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 2mm; }
h2 { font-size: 13pt; text-align: center; margin: 0 0 3mm; font-weight: normal; }
section { padding: 4mm 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
th { background: #eee; font-weight: bold; }
table.meta { margin-bottom: 3mm; }
table.meta th { width: 10%; }
table.stops tbody tr { height: 20mm; }
td.order { text-align: center; white-space: nowrap; }
td.nw, table.stops th { white-space: nowrap; }
td.reasons { min-width: 45mm; }
th.write, td.write { width: 24%; }
th.sign, td.sign { width: 8%; }
td ul { margin: 0; padding-left: 4mm; }
small { color: #333; font-weight: normal; }
p.note { font-size: 9pt; margin: 2mm 0; }
.signature { margin-top: 8mm; display: flex; justify-content: space-between; font-size: 12pt; }
.blank { display: inline-block; border-bottom: 1px solid #000; min-width: 50mm; }
.blank.short { min-width: 35mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { max-width: none; }
  section + section { break-before: page; page-break-before: always; }
  th { background: none; }
  .nav { display: none; }
  a { color: #000; text-decoration: none; }
}
";

/// The visit sheets in HTML, for printing (入户核查走访单), in Simplified Chinese.
///
/// One section per group-day with stops, each printed on its own page: the plan title,
/// the group, the day and date, start and end, the totals (stops, 路程 km, 行车 minutes,
/// 工作 minutes), a table of the stops (顺序, 预计到达 as time after the day's start, 村,
/// 类型 with the 选取方式, 户编号, 户主, 核查内容 as a list, an Amap 导航 link shown on screen and hidden on
/// paper, and blank 核查发现 and 签字 columns to write in), and a line for the group
/// leader's signature (督查组组长签字) and the date. `group` and `day` (1-based numbers)
/// keep only that group's or that day's sheets; without either, a last section lists
/// the targets not planned (未安排的对象) with the reasons.
///
/// The page is self-contained: inline CSS, no script, no image, font or style sheet to
/// load; the only links are the Amap navigation links.
#[must_use]
pub fn html(plan: &Plan, group: Option<usize>, day: Option<usize>) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · 入户核查走访单</title>\n<style>\n{SHEET_CSS}</style>\n</head>\n<body>\n",
        escape(&plan.title)
    );
    let mut sections = 0;
    for (g, d) in planned_days(plan)
        .filter(|(g, d)| group.is_none_or(|n| g.group == n) && day.is_none_or(|n| d.day == n))
    {
        out.push_str(&html_day(plan, g, d));
        sections += 1;
    }
    if sections == 0 {
        let _ = write!(
            out,
            "<section class=\"sheet\">\n<h1>{}</h1>\n<p>没有符合条件的走访安排。</p>\n</section>\n",
            escape(&plan.title)
        );
    }
    if group.is_none() && day.is_none() {
        out.push_str(&html_dropped(plan));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The reasons of a target as an HTML list, or nothing.
fn html_reasons(t: &Target) -> String {
    if t.reasons.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul>");
    for r in &t.reasons {
        let _ = write!(out, "<li>{}</li>", escape(r));
    }
    out.push_str("</ul>");
    out
}

/// One group-day's sheet of [`html`].
fn html_day(plan: &Plan, group: &Group, day: &Day) -> String {
    let households = day
        .stops
        .iter()
        .filter(|s| s.target.kind == TargetKind::Household)
        .count();
    let mut out = format!(
        "<section class=\"sheet\">\n<h1>{}</h1>\n<h2>入户核查走访单 · {} · {}</h2>\n\
         <table class=\"meta\">\n\
         <tr><th>起点</th><td>{}</td><th>终点</th><td>{}</td></tr>\n\
         <tr><th>点位</th><td>{} 个（入户 {}，村级 {}）</td><th>路程</th><td>{} 公里</td></tr>\n\
         <tr><th>行车</th><td>{} 分钟</td><th>工作</th><td>{} 分钟（含走访 {} 分钟）</td></tr>\n\
         </table>\n",
        escape(&plan.title),
        escape(&group.name),
        escape(&day_title(day)),
        escape(&day.start.name),
        escape(&day.end.name),
        day.stops.len(),
        households,
        day.stops.len() - households,
        km(day.travel_metres),
        whole(day.travel_minutes),
        whole(day.total_minutes),
        whole(day.service_minutes),
    );
    out.push_str(
        "<table class=\"stops\">\n<thead><tr><th>顺序</th><th>预计到达<br><small>出发后</small></th>\
         <th>村</th><th>类型</th><th>户编号</th><th>户主</th><th>核查内容</th>\
         <th class=\"nav\">导航</th><th class=\"write\">核查发现</th><th class=\"sign\">签字</th></tr></thead>\n<tbody>\n",
    );
    for stop in &day.stops {
        let t = &stop.target;
        let uri = amap_uri(t);
        let nav = if uri.is_empty() {
            String::new()
        } else {
            format!("<a href=\"{}\">高德导航</a>", escape(&uri))
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"order\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}<br><small>{}</small></td>\
             <td class=\"nw\">{}<br><small>{}</small></td><td class=\"nw\">{}</td><td class=\"nw\">{}</td>\
             <td class=\"reasons\">{}</td><td class=\"nav\">{nav}</td>\
             <td class=\"write\"></td><td class=\"sign\"></td></tr>",
            stop.order,
            hhmm(stop.arrive_minutes),
            escape(&t.village_name),
            escape(&t.township_name),
            t.kind.label(),
            t.selection.label(),
            escape(&t.id),
            escape(&t.label),
            html_reasons(t),
        );
    }
    out.push_str(
        "</tbody>\n</table>\n\
         <p class=\"note\">预计到达为自当日出发起算的时间（时:分）。户主姓名已脱敏，核查时以户编号为准。</p>\n\
         <div class=\"signature\"><span>督查组组长签字：<span class=\"blank\"></span></span>\
         <span>日期：<span class=\"blank short\"></span></span></div>\n</section>\n",
    );
    out
}

/// The last section of [`html`]: the targets not planned and why.
fn html_dropped(plan: &Plan) -> String {
    let mut out = format!(
        "<section class=\"dropped\">\n<h1>{}</h1>\n<h2>未安排的对象（{} 个）</h2>\n",
        escape(&plan.title),
        plan.dropped.len()
    );
    if plan.dropped.is_empty() {
        out.push_str("<p>全部对象均已安排。</p>\n</section>\n");
        return out;
    }
    out.push_str(
        "<table class=\"dropped\">\n<thead><tr><th>序号</th><th>乡镇</th><th>村</th><th>类型</th>\
         <th>户编号/村代码</th><th>户主/名称</th><th>选取方式</th><th>核查内容</th><th>未安排原因</th></tr></thead>\n<tbody>\n",
    );
    for (i, d) in plan.dropped.iter().enumerate() {
        let t = &d.target;
        let _ = writeln!(
            out,
            "<tr><td class=\"order\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            escape(&t.township_name),
            escape(&t.village_name),
            t.kind.label(),
            escape(&t.id),
            escape(&t.label),
            t.selection.label(),
            html_reasons(t),
            escape(&d.reason),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;
    use std::str::FromStr;

    use super::*;
    use crate::planner::plan::{Dropped, Request};

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
        assert_eq!(hhmm(95.0), "01:35");
        assert_eq!(hhmm(35.4), "00:35");
        assert_eq!(hhmm(600.0), "10:00");
        assert_eq!(hhmm(f64::NAN), "00:00");
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
            "arrive": "00:35",
            "depart": "01:05",
            "travel_metres": 8412,
            "amap": amap_uri(&plan.groups[0].days[0].stops[0].target),
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
                "未安排原因",
            ]
        );
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5 + 2);
        let amap = amap_uri(&plan.groups[0].days[0].stops[0].target);
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
                "00:35",
                "01:05",
                "8.4",
                "125.0123456",
                "41.7123456",
                amap.as_str(),
                "",
            ]
        );
        assert_eq!(&rows[3][4], QUOTED_VILLAGE);
        assert_eq!(&rows[4][9], "", "a stop without reasons");
        let dropped = &rows[5];
        assert_eq!(&dropped[0], "");
        assert_eq!(&dropped[2], "", "dropped targets have no order");
        assert_eq!(&dropped[7], "赵*");
        assert_eq!(&dropped[16], "工时不足");
        let unlocated = &rows[6];
        assert_eq!(&unlocated[16], "无定位");
        assert_eq!(
            (&unlocated[13], &unlocated[14], &unlocated[15]),
            ("", "", "")
        );
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_defused() {
        let mut plan = sample();
        plan.dropped[0].reason = "=HYPERLINK(\"x\")".to_owned();
        let bytes = csv(&plan);
        let mut reader = ::csv::Reader::from_reader(&bytes[UTF8_BOM.len()..]);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[5][16], "'=HYPERLINK(\"x\")");
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
        // The dropped section, with the reasons.
        assert!(page.contains("未安排的对象（2 个）"));
        assert!(page.contains("工时不足"));
        assert!(page.contains("无定位"));

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
