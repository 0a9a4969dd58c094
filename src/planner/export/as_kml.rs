//! KML 2.2 for Google Earth and Ovital (奥维): a folder per group and day, a style per day.

use super::*;

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
            out.push_str(&kml_day(plan, group, day));
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
fn kml_day(plan: &Plan, group: &Group, day: &Day) -> String {
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
                hhmm(plan, stop.arrive_minutes),
                hhmm(plan, stop.depart_minutes)
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
