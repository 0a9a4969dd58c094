//! GeoJSON (RFC 7946) of a plan, for the web map and GIS: stops, routes and dropped targets.

use super::{
    Plan, Selection, Target, TargetKind, amap_uri, baidu_uri, hhmm, located, planned_days, reasons,
    round7, route_points, stop_code, whole,
};

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
    p.insert("baidu".into(), baidu_uri(t).into());
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
///   point, whole metres), `amap` and `baidu` (navigation and marker links) and `dropped: false`;
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
            p.insert("arrive".into(), hhmm(plan, stop.arrive_minutes).into());
            p.insert("depart".into(), hhmm(plan, stop.depart_minutes).into());
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
