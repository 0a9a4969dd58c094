//! A plan as CSV for Excel and WPS (UTF-8 with a BOM), one row per stop or dropped target.

use super::{
    Plan, Target, UTF8_BOM, amap_uri, baidu_uri, deg7, hhmm, km, located, planned_days, reasons,
};

/// The headers of [`csv`] and of the XLSX's sheets, in order.
pub(super) const CSV_HEADERS: [&str; 18] = [
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

/// The target columns of a row, 类型 to 核查内容; `cell` guards the free text.
fn csv_target(t: &Target, cell: fn(&str) -> String) -> [String; 7] {
    [
        t.kind.label().to_owned(),
        cell(&t.village_name),
        cell(&t.township_name),
        cell(&t.id),
        cell(&t.label),
        t.selection.label().to_owned(),
        cell(&reasons(t)),
    ]
}

/// The position columns of a CSV row: longitude, latitude (empty without a position)
/// and the Amap and Baidu links.
fn csv_position(t: &Target) -> [String; 4] {
    if located(t) {
        [deg7(t.lon), deg7(t.lat), amap_uri(t), baidu_uri(t)]
    } else {
        Default::default()
    }
}

/// The rows of [`csv`] and of the XLSX: each stop, and each dropped target. `cell`
/// guards free text (the CSV's apostrophe; nothing in an XLSX, whose text cells Excel
/// never evaluates).
pub(super) fn plan_rows(
    plan: &Plan,
    cell: fn(&str) -> String,
) -> (Vec<[String; 18]>, Vec<[String; 18]>) {
    let mut rows = Vec::new();
    for (group, day) in planned_days(plan) {
        for stop in &day.stops {
            let [kind, village, township, id, label, selection, why] =
                csv_target(&stop.target, cell);
            let [lon, lat, amap, baidu] = csv_position(&stop.target);
            rows.push([
                cell(&group.name),
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
                hhmm(plan, stop.arrive_minutes),
                hhmm(plan, stop.depart_minutes),
                km(stop.travel_metres),
                lon,
                lat,
                amap,
                baidu,
                String::new(),
            ]);
        }
    }
    let mut dropped = Vec::new();
    for d in &plan.dropped {
        let [kind, village, township, id, label, selection, why] = csv_target(&d.target, cell);
        let [lon, lat, amap, baidu] = csv_position(&d.target);
        dropped.push([
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
            baidu,
            cell(&d.reason),
        ]);
    }
    (rows, dropped)
}

/// The plan as CSV for Excel and WPS: UTF-8 with a byte-order mark, Chinese headers.
///
/// Columns: 组, 日期/第几天 (the date, or 第N天 without one), 顺序, 类型 (入户/村级), 村,
/// 乡镇, 户编号/村代码, 户主（脱敏）/名称, 选取方式, 核查内容 (reasons joined by `；`),
/// 到达时间 and 离开时间 (clock times `HH:MM`), 路程（公里） (from the previous
/// point), 经度 and 纬度 (WGS-84, 7 decimals), 高德导航, 百度地图, 未安排原因. One row per stop in
/// plan order, then one per dropped target, with empty group, day, order, times and
/// distance and its reason in the last column. Text that Excel would take for a formula
/// is prefixed with an apostrophe.
#[must_use]
pub fn csv(plan: &Plan) -> Vec<u8> {
    let mut out = UTF8_BOM.to_vec();
    let mut w = csv::Writer::from_writer(&mut out);
    // A `csv::Writer` fails only on I/O errors, which a `Vec` has none of, and on
    // records of unequal length, which the fixed-size rows rule out.
    let (rows, dropped) = plan_rows(plan, text_cell);
    let written = std::iter::once(CSV_HEADERS.map(str::to_owned))
        .chain(rows)
        .chain(dropped)
        .try_for_each(|row| w.write_record(&row))
        .and_then(|()| w.flush().map_err(csv::Error::from));
    debug_assert!(written.is_ok(), "writing CSV to memory failed");
    drop(w);
    out
}
