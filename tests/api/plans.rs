//! Field-visit plans: targets, budgets, determinism, and the downloads read back with
//! independent parsers (the `gpx` and `kml` crates, the `csv` crate, GeoJSON).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::helpers::{TestApp, problem_fields};

async fn post(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/plans", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn plan(app: &TestApp, body: &Value) -> Value {
    let response = post(app, body).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/v1/plans/{}", plan["id"].as_str().unwrap()).as_str())
    );
    plan
}

async fn township(app: &TestApp, i: usize) -> String {
    let townships = app.get_json("/api/v1/areas?level=township").await;
    townships[i]["code"].as_str().unwrap().to_owned()
}

/// Every stop of a plan, in group, day and visiting order.
fn stops(plan: &Value) -> Vec<&Value> {
    plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["days"].as_array().unwrap())
        .flat_map(|d| d["stops"].as_array().unwrap())
        .collect()
}

/// Every household failing an indicator in an area, from the households API.
async fn failing(app: &TestApp, within: &str, indicator: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = app
            .get_json(&format!(
                "/api/v1/households?within={within}&indicator={indicator}&limit=1000&offset={offset}"
            ))
            .await;
        for h in page["items"].as_array().unwrap() {
            out.insert(h["household_no"].as_str().unwrap().to_owned());
        }
        offset += 1000;
        if offset >= usize::try_from(page["total"].as_i64().unwrap()).unwrap() {
            return out;
        }
    }
}

/// Each day within its minutes, with times that add up: each arrival is the previous
/// departure plus the travel, each stay the target's service minutes.
fn check_days(group: &Value, day_minutes: f64, dates: [&str; 2]) {
    for (d, day) in group["days"].as_array().unwrap().iter().enumerate() {
        assert_eq!(day["date"], dates[d]);
        let total = day["total_minutes"].as_f64().unwrap();
        assert!(total <= day_minutes + 1e-6, "day {d}: {total} minutes");
        // Times add up: each arrival is the previous departure plus the travel.
        let mut clock: f64 = 0.0;
        let mut travel = 0.0;
        let mut service = 0.0;
        for stop in day["stops"].as_array().unwrap() {
            let arrive = stop["arrive_minutes"].as_f64().unwrap();
            assert!((arrive - clock - stop["travel_minutes"].as_f64().unwrap()).abs() < 1e-6);
            clock = stop["depart_minutes"].as_f64().unwrap();
            let at = clock - arrive;
            assert!((at - stop["target"]["service_minutes"].as_f64().unwrap()).abs() < 1e-6);
            travel += stop["travel_minutes"].as_f64().unwrap();
            service += at;
        }
        assert!((day["service_minutes"].as_f64().unwrap() - service).abs() < 1e-6);
        assert!(day["travel_minutes"].as_f64().unwrap() >= travel - 1e-6);
        assert!(
            (total
                - day["service_minutes"].as_f64().unwrap()
                - day["travel_minutes"].as_f64().unwrap())
            .abs()
                < 1e-6
        );
    }
}

/// A target dropped for lack of time fits in no day even with every stop of lower
/// priority taken out.
fn check_drops(plan: &Value, day_minutes: f64) {
    // Dropped for lack of time only if it fits in no day even with every stop of lower
    // priority taken out (checked here with our own travel times: haversine × 1.4 at
    // 30 km/h, the request's defaults).
    let minutes = |a: (f64, f64), b: (f64, f64)| {
        let r = |d: f64| d.to_radians();
        let h = (r(b.1 - a.1) / 2.0).sin().powi(2)
            + r(a.1).cos() * r(b.1).cos() * (r(b.0 - a.0) / 2.0).sin().powi(2);
        2.0 * 6_371_008.8 * h.sqrt().asin() * 1.4 / (30_000.0 / 60.0)
    };
    let at = |t: &Value| (t["lon"].as_f64().unwrap(), t["lat"].as_f64().unwrap());
    for d in plan["dropped"].as_array().unwrap() {
        if d["reason"] == "无可用定位，需先补录GPS" {
            continue;
        }
        let t = &d["target"];
        let priority = t["priority"].as_u64().unwrap();
        for day in plan["groups"][0]["days"].as_array().unwrap() {
            let base = (
                day["start"]["lon"].as_f64().unwrap(),
                day["start"]["lat"].as_f64().unwrap(),
            );
            let kept: Vec<&Value> = day["stops"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| &s["target"])
                .filter(|k| k["priority"].as_u64().unwrap() >= priority)
                .collect();
            let service: f64 = kept
                .iter()
                .map(|k| k["service_minutes"].as_f64().unwrap())
                .sum::<f64>()
                + t["service_minutes"].as_f64().unwrap();
            let best = (0..=kept.len())
                .map(|gap| {
                    let mut path = vec![base];
                    path.extend(kept[..gap].iter().map(|k| at(k)));
                    path.push(at(t));
                    path.extend(kept[gap..].iter().map(|k| at(k)));
                    path.push(base);
                    path.windows(2).map(|w| minutes(w[0], w[1])).sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                best + service > day_minutes - 1e-6,
                "{} was dropped but fits day {} without lower priorities",
                t["id"],
                day["day"]
            );
        }
    }
}

/// Every placemark of a KML document, folders opened.
fn walk<'a>(k: &'a kml::Kml, out: &mut Vec<&'a kml::types::Placemark>) {
    match k {
        kml::Kml::KmlDocument(d) => {
            for e in &d.elements {
                walk(e, out);
            }
        }
        kml::Kml::Document { elements, .. }
        | kml::Kml::Folder(kml::types::Folder { elements, .. }) => {
            for e in elements {
                walk(e, out);
            }
        }
        kml::Kml::Placemark(p) => out.push(p),
        _ => {}
    }
}

#[tokio::test]
async fn every_target_is_planned_within_the_day_or_dropped_with_a_reason() {
    let app = TestApp::spawn().await;
    let code = township(&app, 5).await;
    let day_minutes = 300.0;
    let body = json!({
        "townships": [code], "days": 2, "day_minutes": day_minutes, "sample_per_village": 2,
        "seed": 11, "start_date": "2019-09-02", "indicators": ["dropout", "uninsured"],
    });
    let plan = plan(&app, &body).await;
    assert!(plan["title"].as_str().unwrap().ends_with("督查走访计划"));
    let groups = plan["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "one group per township by default");
    assert_eq!(groups[0]["days"].as_array().unwrap().len(), 2);
    check_days(&groups[0], day_minutes, ["2019-09-02", "2019-09-03"]);
    // Accounting: every target once, in a day or dropped with a reason.
    let planned: Vec<&Value> = stops(&plan).into_iter().map(|s| &s["target"]).collect();
    let dropped: Vec<&Value> = plan["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert!(!d["reason"].as_str().unwrap().is_empty());
            &d["target"]
        })
        .collect();
    let mut seen = BTreeSet::new();
    for t in planned.iter().chain(&dropped) {
        let key = (t["kind"].as_str().unwrap(), t["id"].as_str().unwrap());
        assert!(seen.insert(key), "{key:?} appears twice");
        if t["kind"] == "household" {
            let label = t["label"].as_str().unwrap();
            assert!(label.contains('*'), "names are masked: {label}");
        }
    }
    // The failing households are exactly those the households API lists.
    let mut want = failing(&app, &code, "dropout").await;
    want.extend(failing(&app, &code, "uninsured").await);
    let got: BTreeSet<String> = planned
        .iter()
        .chain(&dropped)
        .filter(|t| t["selection"] == "failing")
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    // Villages with open checklist items in the demo campaign are targets.
    let entries = app
        .get_json(&format!(
            "/api/v1/campaigns/xinbin-2019-q3/entries?within={code}&status=problem,rectifying&limit=1000"
        ))
        .await;
    let open: BTreeSet<&str> = entries["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["village_code"].as_str().unwrap())
        .collect();
    let villages: BTreeSet<&str> = planned
        .iter()
        .chain(&dropped)
        .filter(|t| t["kind"] == "village")
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(villages, open);
    // The sample: at most two other households per village, none of them failing.
    let mut sampled: BTreeMap<&str, usize> = BTreeMap::new();
    for t in planned
        .iter()
        .chain(&dropped)
        .filter(|t| t["selection"] == "sample")
    {
        assert!(!want.contains(t["id"].as_str().unwrap()));
        *sampled
            .entry(t["village_code"].as_str().unwrap())
            .or_default() += 1;
    }
    assert!(!sampled.is_empty());
    assert!(sampled.values().all(|&n| n <= 2), "{sampled:?}");
    check_drops(&plan, day_minutes);
    // Stored: the same plan comes back.
    let again = app
        .get_json(&format!("/api/v1/plans/{}", plan["id"].as_str().unwrap()))
        .await;
    assert_eq!(again.to_string(), plan.to_string());
    let list = app.get_json("/api/v1/plans").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == plan["id"])
    );
}

#[tokio::test]
async fn the_same_request_and_seed_give_the_same_plan() {
    let app = TestApp::spawn().await;
    let code = township(&app, 7).await;
    let body =
        json!({"townships": [code], "groups": 2, "days": 3, "sample_per_village": 3, "seed": 5});
    let a = plan(&app, &body).await;
    let b = plan(&app, &body).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["groups"], b["groups"]);
    assert_eq!(a["dropped"], b["dropped"]);
    assert_eq!(a["groups"].as_array().unwrap().len(), 2);
    let other = plan(
        &app,
        &json!({"townships": [code], "groups": 2, "days": 3, "sample_per_village": 3, "seed": 6}),
    )
    .await;
    let sample = |p: &Value| -> BTreeSet<String> {
        stops(p)
            .iter()
            .map(|s| &s["target"])
            .chain(
                p["dropped"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| &d["target"]),
            )
            .filter(|t| t["selection"] == "sample")
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_ne!(
        sample(&a),
        sample(&other),
        "another seed draws another sample"
    );
}

#[tokio::test]
async fn must_visit_households_come_first() {
    let app = TestApp::spawn().await;
    let code = township(&app, 8).await;
    let page = app
        .get_json(&format!(
            "/api/v1/quality/households?within={code}&limit=1000"
        ))
        .await;
    let flagged: BTreeSet<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["household_no"].as_str().unwrap())
        .collect();
    // Two located households of the township that fail nothing.
    let snapshot = app.snapshot();
    let healthy: Vec<String> = (0..snapshot.household_nos.len())
        .filter(|&r| {
            snapshot.household_nos[r].starts_with(&code)
                && snapshot.positions[r].is_some()
                && !flagged.contains(&snapshot.household_nos[r])
                && paicha::indicators::drawn::failed(&snapshot.facts, r).is_empty()
        })
        .map(|r| snapshot.household_nos[r].to_owned())
        .take(2)
        .collect();
    assert_eq!(healthy.len(), 2);
    let plan = plan(
        &app,
        &json!({"townships": [code], "days": 1, "day_minutes": 240, "must_visit": [&healthy[0], &healthy[1], &healthy[0]]}),
    )
    .await;
    let planned: BTreeSet<&str> = stops(&plan)
        .iter()
        .filter(|s| s["target"]["must_visit"] == true)
        .map(|s| s["target"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(planned, healthy.iter().map(String::as_str).collect());
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "every download, checked top to bottom"
)]
async fn the_downloads_parse_with_independent_readers() {
    use calamine::Reader as _;
    let app = TestApp::spawn().await;
    let code = township(&app, 9).await;
    let plan = plan(
        &app,
        &json!({"townships": [code], "days": 2, "sample_per_village": 1, "day_start": "07:40"}),
    )
    .await;
    let id = plan["id"].as_str().unwrap();
    let all = stops(&plan);
    assert!(!all.is_empty());
    // Times are clock times from the day's start.
    for s in &all {
        let minutes = s["arrive_minutes"].as_f64().unwrap().round() as u64 + 7 * 60 + 40;
        let clock = format!("{:02}:{:02}", minutes / 60, minutes % 60);
        assert_eq!(s["arrive"], clock.as_str());
    }
    let busy_days = plan["groups"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["stops"].as_array().unwrap().is_empty())
        .count();

    let gpx_text = app
        .get(&format!("/api/v1/plans/{id}.gpx"))
        .await
        .text()
        .await
        .unwrap();
    let gpx = gpx::read(gpx_text.as_bytes()).unwrap();
    assert_eq!(gpx.waypoints.len(), all.len());
    assert_eq!(gpx.routes.len(), busy_days);
    let first = &gpx.waypoints[0];
    let t = &all[0]["target"];
    assert!((first.point().x() - t["lon"].as_f64().unwrap()).abs() < 1e-7);
    assert!((first.point().y() - t["lat"].as_f64().unwrap()).abs() < 1e-7);
    let points: usize = gpx.routes.iter().map(|r| r.points.len()).sum();
    assert_eq!(
        points,
        all.len() + 2 * busy_days,
        "each route runs start → stops → end"
    );

    let kml_text = app
        .get(&format!("/api/v1/plans/{id}.kml"))
        .await
        .text()
        .await
        .unwrap();
    let kml: kml::Kml = kml_text.parse().unwrap();
    let mut placemarks = Vec::new();
    walk(&kml, &mut placemarks);
    let points = placemarks
        .iter()
        .filter(|p| matches!(p.geometry, Some(kml::types::Geometry::Point(_))))
        .count();
    let lines = placemarks
        .iter()
        .filter(|p| matches!(p.geometry, Some(kml::types::Geometry::LineString(_))))
        .count();
    let dropped_located = plan["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"]["lon"].is_f64())
        .count();
    assert_eq!(points, all.len() + dropped_located);
    assert_eq!(lines, busy_days);

    let geo: Value = app.get_json(&format!("/api/v1/plans/{id}.geojson")).await;
    let features = geo["features"].as_array().unwrap();
    let of = |layer: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["layer"] == layer)
            .count()
    };
    assert_eq!(of("stop"), all.len());
    assert_eq!(of("route"), busy_days);
    assert_eq!(of("dropped"), plan["dropped"].as_array().unwrap().len());

    let csv_bytes = app
        .get(&format!("/api/v1/plans/{id}.csv"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "组");
    assert_eq!(
        reader.records().count(),
        all.len() + plan["dropped"].as_array().unwrap().len()
    );

    let sheet = app
        .get(&format!("/api/v1/plans/{id}.html?group=1&day=1"))
        .await;
    assert_eq!(sheet.status(), 200);
    // A printable document: its own styles, no script may run.
    let csp = sheet.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = sheet.text().await.unwrap();
    assert!(html.contains("督查组组长签字"));
    let day1 = plan["groups"][0]["days"][0]["stops"].as_array().unwrap();
    for s in day1 {
        assert!(html.contains(s["target"]["label"].as_str().unwrap()));
    }
    assert!(!html.contains("<script"));
    assert!(html.contains(all[0]["arrive"].as_str().unwrap()));
    assert!(html.contains("当日 07:40 出发"));
    assert!(!html.contains("未安排"), "the visit sheet is the visits");

    let dropped = plan["dropped"].as_array().unwrap();
    let unplanned = app
        .get(&format!("/api/v1/plans/{id}.html?list=unplanned"))
        .await
        .text()
        .await
        .unwrap();
    assert!(unplanned.contains(&format!("未安排的对象（{} 个）", dropped.len())));
    for d in dropped {
        assert!(unplanned.contains(d["target"]["id"].as_str().unwrap()));
    }
    app.get_problem(
        &format!("/api/v1/plans/{id}.html?list=unplanned&day=1"),
        400,
    )
    .await;
    app.get_problem(&format!("/api/v1/plans/{id}.csv?list=unplanned"), 400)
        .await;

    let xlsx = app
        .get(&format!("/api/v1/plans/{id}.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["走访安排", "未安排"]);
    let visits = book.worksheet_range("走访安排").unwrap();
    assert_eq!(visits.height(), 1 + all.len());
    for (row, s) in all.iter().enumerate() {
        assert_eq!(
            visits.get((row + 1, 6)),
            Some(&calamine::Data::String(
                s["target"]["id"].as_str().unwrap().to_owned()
            )),
            "household numbers are text cells"
        );
        assert_eq!(
            visits.get((row + 1, 10)),
            Some(&calamine::Data::String(
                s["arrive"].as_str().unwrap().to_owned()
            ))
        );
    }
    let unplanned = book.worksheet_range("未安排").unwrap();
    assert_eq!(unplanned.height(), 1 + dropped.len());
    // No full names or ID numbers anywhere.
    assert!(!gpx_text.contains("身份证"));
}

#[tokio::test]
async fn bad_plan_requests_name_every_field() {
    let app = TestApp::spawn().await;
    let response = post(
        &app,
        &json!({"townships": ["999999999"], "days": 0, "day_minutes": -5,
                "indicators": ["checklist_unmet", "nope"], "must_visit": ["123"],
                "start_date": "2019-13-40", "day_start": "8:30"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let fields = problem_fields(&body);
    for field in [
        "townships[0]",
        "indicators[0]",
        "indicators[1]",
        "days",
        "start_date",
        "must_visit[0]",
        "day_minutes",
        "day_start",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    let late = post(
        &app,
        &json!({"townships": [township(&app, 0).await], "day_start": "20:00", "day_minutes": 480}),
    )
    .await;
    assert_eq!(late.status(), 400);
    let body: Value = late.json().await.unwrap();
    assert_eq!(problem_fields(&body), ["day_start"]);
    let response = post(&app, &json!({"days": 2})).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(problem_fields(&body), ["townships"]);
    let response = post(&app, &json!({"townships": [], "dayz": 2})).await;
    assert_eq!(response.status(), 400, "unknown fields are refused");
    app.get_problem("/api/v1/plans/p-nope", 404).await;
    app.get_problem("/api/v1/plans/p-nope.pdf", 400).await;
}

#[tokio::test]
async fn starts_ends_and_priorities_are_the_users() {
    let app = TestApp::spawn().await;
    let code = township(&app, 10).await;
    let snapshot = app.snapshot();
    let b = snapshot.county_bounds;
    let start =
        json!({"name": "县委", "lon": f64::midpoint(b[0], b[2]), "lat": f64::midpoint(b[1], b[3])});
    let end = json!({"name": "宾馆", "lon": f64::midpoint(b[0], b[2]) + 0.05, "lat": f64::midpoint(b[1], b[3])});
    let plan = plan(
        &app,
        &json!({"townships": [code], "days": 2, "day_minutes": 360, "sample_per_village": 2,
                "starts": [start], "ends": [end], "priorities": {"sample": 9, "ledger": 0, "overdue": 1}}),
    )
    .await;
    let day_minutes = 360.0;
    check_drops(&plan, day_minutes);
    for day in plan["groups"][0]["days"].as_array().unwrap() {
        assert_eq!(day["start"], start);
        assert_eq!(day["end"], end);
        assert!(day["total_minutes"].as_f64().unwrap() <= day_minutes + 1e-6);
    }
    let all: Vec<&Value> = stops(&plan)
        .into_iter()
        .map(|s| &s["target"])
        .chain(
            plan["dropped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["target"]),
        )
        .collect();
    assert!(all.iter().any(|t| t["selection"] == "ledger"));
    for t in &all {
        let want = match t["selection"].as_str().unwrap() {
            "sample" => 9,
            "ledger" => {
                let overdue = t["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r.as_str().unwrap().contains("逾期"));
                u64::from(overdue)
            }
            _ => continue,
        };
        assert_eq!(t["priority"], want, "{t}");
    }
    // Samples come first now: none waits while a lower-priority stop is planned.
    let dropped_samples = plan["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"]["selection"] == "sample" && d["target"]["lon"].is_f64())
        .count();
    let planned_samples = stops(&plan)
        .iter()
        .filter(|s| s["target"]["selection"] == "sample")
        .count();
    assert!(planned_samples > 0);
    assert!(
        dropped_samples == 0 || stops(&plan).iter().all(|s| s["target"]["priority"] == 9),
        "{dropped_samples} samples dropped"
    );
    let response = post(
        &app,
        &json!({"townships": [code], "priorities": {"nope": 1, "sample": 12},
                "ends": [end, end]}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let fields = problem_fields(&body);
    for field in ["priorities.nope", "priorities.sample", "ends"] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
}

#[tokio::test]
async fn a_drawn_area_is_planned_with_what_lies_inside_it() {
    let app = TestApp::spawn().await;
    let bounds = app.snapshot().county_bounds;
    let cx = f64::midpoint(bounds[0], bounds[2]);
    let cy = f64::midpoint(bounds[1], bounds[3]);
    let (west, south, east, north) = (cx - 0.1, cy - 0.06, cx + 0.1, cy + 0.06);
    let area = json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]});
    let plan = plan(&app, &json!({"area": area, "days": 1, "ledger": false})).await;
    assert_eq!(plan["title"], "圈选区域督查走访计划");
    assert_eq!(plan["groups"].as_array().unwrap().len(), 1);
    let targets: Vec<&Value> = stops(&plan)
        .into_iter()
        .map(|s| &s["target"])
        .chain(
            plan["dropped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| &d["target"]),
        )
        .collect();
    assert!(!targets.is_empty());
    for t in targets {
        let (lon, lat) = (t["lon"].as_f64().unwrap(), t["lat"].as_f64().unwrap());
        assert!(
            lon > west && lon < east && lat > south && lat < north,
            "{t}"
        );
    }
    let response = post(
        &app,
        &json!({"area": {"type": "Point", "coordinates": [cx, cy]}}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(problem_fields(&body), ["area"]);
}
