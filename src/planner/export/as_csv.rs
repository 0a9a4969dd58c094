//! A plan as CSV for Excel and WPS (UTF-8 with a BOM), one row per stop or dropped target.

use super::{Plan, Target, UTF8_BOM, amap_uri, deg7, hhmm, km, located, planned_days, reasons};

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
