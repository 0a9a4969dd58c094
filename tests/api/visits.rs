//! Field visits (issue 18): visits recorded through the API change plan versus done,
//! the week's progress and the weekly report by exactly the recorded events; a
//! checklist finding opens the village's ledger entry with history; a household
//! finding shows in the household's view; every route answers in the person's areas
//! only.

use serde_json::{Value, json};

use crate::helpers::{TestApp, problem_fields};

/// This week (ISO), its Monday, and the Monday before: a test's campaign runs from the
/// week before to two weeks after, so that the ledger changes its visits make (stamped
/// now, as they are made) fall in its weeks.
fn this_week() -> (String, String, String) {
    use paicha::domain::calendar::{civil_date, days_from_civil, iso_week, today, week_days};
    let week = iso_week(&today()).unwrap();
    let monday = week_days(&week).unwrap().0;
    let before = civil_date(days_from_civil(&monday).unwrap() - 7);
    (week, monday, before)
}

/// A campaign of its own for each test (other tests edit the demo's), over a township
/// the other tests leave alone, with a plan made for it from this week's Monday;
/// returns the township and the plan.
async fn campaign_with_plan(app: &TestApp, id: &str, township_index: usize) -> (String, Value) {
    let (_, monday, before) = this_week();
    let ends = paicha::domain::calendar::add_days(&monday, 20).unwrap();
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let code = townships.as_array().unwrap()[township_index]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .client
        .post(format!("{}/api/v1/campaigns", app.address))
        .json(
            &json!({ "id": id, "name": "走访测试排查", "template_id": "lianyungang-2019",
            "area_code": code, "starts": before, "ends": ends,
            "cycle": "weekly", "due_day": 5, "by": "测试" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = app
        .client
        .post(format!("{}/api/v1/plans", app.address))
        .json(
            &json!({ "townships": [code], "days": 2, "start_date": monday,
            "sample_per_village": 1, "seed": 3, "campaign": id }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let plan: Value = r.json().await.unwrap();
    (code, plan)
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: &Value) -> (u16, Value) {
    let r = client
        .post(format!("{}{path}", app.address))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The row of plan versus done of a group's day.
fn day_row<'a>(pvd: &'a Value, group: &str, date: &str) -> &'a Value {
    let found = pvd["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == group && r["date"] == date);
    assert!(found.is_some(), "no row for {group} {date}: {pvd}");
    found.unwrap()
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one story: record, then read every view"
)]
async fn recorded_visits_change_plan_vs_done_progress_and_the_report_by_exactly_themselves() {
    let app = TestApp::spawn().await;
    let (week, monday, before_monday) = this_week();
    let last_week = paicha::domain::calendar::iso_week(&before_monday).unwrap();
    let id = "visits-story";
    let (township, plan) = campaign_with_plan(&app, id, 3).await;
    let group = &plan["groups"][0];
    let group_name = group["name"].as_str().unwrap();
    let stops = group["days"][0]["stops"].as_array().unwrap();
    assert!(stops.len() >= 3, "{} stops", stops.len());
    let household = stops
        .iter()
        .find(|s| s["target"]["kind"] == "household")
        .expect("a household stop");
    let other = stops
        .iter()
        .find(|s| s["order"] != household["order"])
        .unwrap();
    let base = format!("/api/v1/campaigns/{id}");
    let before = app.get_json(&format!("{base}/plan-vs-done")).await;
    let row = day_row(&before, group_name, &monday);
    let planned = row["planned"].as_u64().unwrap();
    assert_eq!(planned, stops.len() as u64);
    assert_eq!(row["pending"], planned);
    assert_eq!(row["visits"], 0);
    let progress_before = app.get_json(&format!("{base}/progress?week={week}")).await;
    assert_eq!(progress_before["total"]["week"]["visits"], 0);
    assert_eq!(progress_before["total"]["week"]["opened"], 0);

    // A household visited with two findings: an indicator and a checklist item.
    let hh_no = household["target"]["id"].as_str().unwrap();
    let village = household["target"]["village_code"].as_str().unwrap();
    let (status, visit) = post(
        &app,
        &app.client,
        &format!("{base}/visits"),
        &json!({ "plan_id": plan["id"], "group": 1, "day": 1, "stop": household["order"],
            "date": monday, "outcome": "visited",
            "findings": [
                {"kind": "indicator", "item": "unsafe_housing", "note": "房屋墙体开裂"},
                {"kind": "checklist", "item": "5", "note": "帮扶措施未落实到户"}
            ],
            "note": "户主在家", "position": {"lon": 124.95, "lat": 41.75, "crs": "gcj02"} }),
    )
    .await;
    assert_eq!(status, 201, "{visit}");
    assert_eq!(visit["ledger_opened"], 1);
    assert_eq!(
        visit["findings"][0]["name"].as_str().map(str::is_empty),
        Some(false)
    );
    // The raw position and its system are kept, and the WGS-84 conversion differs.
    assert_eq!(visit["position"]["raw"]["crs"], "gcj02");
    let lon = visit["position"]["lon"].as_f64().unwrap();
    assert!(
        (lon - 124.95).abs() > 1e-4 && (lon - 124.95).abs() < 0.01,
        "{lon}"
    );
    let visit_id = visit["id"].as_str().unwrap();
    // Another stop: nobody at home.
    let (status, _) = post(
        &app,
        &app.client,
        &format!("{base}/visits"),
        &json!({ "plan_id": plan["id"], "group": 1, "day": 1, "stop": other["order"],
            "date": monday, "outcome": "not_found" }),
    )
    .await;
    assert_eq!(status, 201);
    // An unplanned visit to a village of the township, refused.
    let (status, unplanned) = post(
        &app,
        &app.client,
        &format!("{base}/visits"),
        &json!({ "plan_id": plan["id"], "group": 1, "date": monday, "outcome": "refused",
            "target": {"kind": "village", "id": village} }),
    )
    .await;
    assert_eq!(status, 201, "{unplanned}");
    assert_eq!(unplanned["stop"], Value::Null);

    let after = app
        .get_json(&format!("{base}/plan-vs-done?day={monday}"))
        .await;
    let row = day_row(&after, group_name, &monday);
    assert_eq!(row["planned"], planned);
    assert_eq!(row["visited"], 1);
    assert_eq!(row["not_found"], 1);
    assert_eq!(row["refused"], 0);
    assert_eq!(row["pending"], planned - 2);
    assert_eq!(row["unplanned"], 1);
    assert_eq!(row["visits"], 3);
    assert_eq!(row["findings"], 2);

    let progress = app.get_json(&format!("{base}/progress?week={week}")).await;
    let total = &progress["total"];
    assert_eq!(total["week"]["visits"], 3);
    assert_eq!(total["week"]["visited"], 1);
    assert_eq!(total["week"]["unplanned"], 1);
    assert_eq!(total["week"]["findings"], 2);
    assert_eq!(total["week"]["opened"], 1);
    assert_eq!(total["cumulative"]["visits"], 3);
    let row = progress["townships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == township.as_str())
        .unwrap();
    assert_eq!(row["week"]["visits"], 3);
    assert_eq!(row["week"]["opened"], 1);
    let g = progress["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == group_name)
        .unwrap();
    assert_eq!(g["week"]["findings"], 2);
    assert_eq!(g["week"]["rectified"], Value::Null);
    // The series: one point per campaign week, the visits in week 28 only.
    let series = progress["series"].as_array().unwrap();
    let weeks: Vec<&str> = series.iter().map(|p| p["week"].as_str().unwrap()).collect();
    assert_eq!(weeks, [last_week.as_str(), week.as_str()]);
    assert_eq!(series[0]["figures"]["visits"], 0);
    assert_eq!(series[1]["figures"]["visits"], 3);
    // The week before holds none of it.
    let earlier = app
        .get_json(&format!("{base}/progress?week={last_week}"))
        .await;
    assert_eq!(earlier["total"]["cumulative"]["visits"], 0);
    assert_eq!(earlier["total"]["cumulative"]["opened"], 0);

    // The checklist finding opened the village's entry, with history naming the visit.
    let entry = app.get_json(&format!("{base}/entries/{village}/5")).await;
    assert_eq!(entry["status"], "problem");
    assert!(
        entry["problem"]
            .as_str()
            .unwrap()
            .contains("帮扶措施未落实到户")
    );
    let history = entry["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["field"] == "status"
        && h["new_value"] == "problem"
        && h["changed_by"] == "测试员"));
    assert!(history.iter().any(|h| {
        h["new_value"]
            .as_str()
            .unwrap_or_default()
            .contains(visit_id)
    }));

    // The household's view shows the visit and its findings.
    let hh = app.get_json(&format!("/api/v1/households/{hh_no}")).await;
    let visits = hh["visits"].as_array().unwrap();
    assert!(
        visits
            .iter()
            .any(|v| v["id"] == visit_id && v["findings"].as_array().unwrap().len() == 2)
    );

    // One visit, and the list by day and group.
    let one = app.get_json(&format!("{base}/visits/{visit_id}")).await;
    assert_eq!(one["note"], "户主在家");
    let list = app
        .get_json(&format!(
            "{base}/visits?day={monday}&group={}",
            urlencode(group_name)
        ))
        .await;
    assert_eq!(list["total"], 3);

    // A photo: PNG by its bytes; anything else refused.
    let png = b"\x89PNG\r\n\x1a\n0000IHDR-not-really-but-enough".to_vec();
    let put = |bytes: Vec<u8>| {
        app.client
            .put(format!("{}{base}/visits/{visit_id}/photo", app.address))
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
    };
    assert_eq!(put(png.clone()).await.unwrap().status(), 200);
    let r = put(b"GIF89a....".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = app.get(&format!("{base}/visits/{visit_id}/photo")).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    // The weekly report: the township's row with its figures and the week's change,
    // and the signature block.
    let r = app
        .get(&format!("{base}/weekly-report?week={week}&format=xlsx"))
        .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let rows = sheet_rows(&bytes, "乡镇进度");
    let name = app.snapshot().name(&township).unwrap().to_owned();
    let row = rows.iter().find(|r| r[1] == name).unwrap();
    // Columns: 序号, 乡镇, then (累计, 本周) for 计划走访, 已走访, 未遇, 拒访, 计划外走访,
    // 发现问题, 新增台账问题 …
    // Both days of the plan lie in this week.
    let planned_week: usize = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["days"].as_array().unwrap())
        .map(|d| d["stops"].as_array().unwrap().len())
        .sum();
    assert_eq!(row[2], planned_week.to_string());
    assert_eq!(row[3], planned_week.to_string());
    assert_eq!(&row[4..6], ["1", "1"]);
    assert_eq!(&row[6..8], ["1", "1"]);
    assert_eq!(&row[10..12], ["1", "1"]);
    assert_eq!(&row[12..14], ["2", "2"]);
    assert_eq!(&row[14..16], ["1", "1"]);
    let all: String = rows.iter().flatten().cloned().collect();
    assert!(all.contains("党政分管负责同志签字"), "{all}");
    assert!(all.contains("填报单位") && all.contains("填报时间"));
    let html = app
        .get(&format!("{base}/weekly-report?week={week}&format=html"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("党政分管负责同志签字") && html.contains(&name));
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A sheet's rows as text (numbers without a fraction written as integers).
fn sheet_rows(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
                    Data::Int(i) => i.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// After a campaign's end its progress opens on the week of the last visit (the demo's
/// third week), not on an empty final week.
#[tokio::test]
async fn an_ended_campaigns_progress_opens_on_its_last_visited_week() {
    let app = TestApp::spawn().await;
    let base = "/api/v1/campaigns/xinbin-2019-q3";
    let last_week = |page: &Value| {
        paicha::domain::calendar::iso_week(page["items"][0]["date"].as_str().unwrap()).unwrap()
    };
    // Other tests may record a visit meanwhile: the week is that of the newest visit
    // before or after the progress was read.
    let before = last_week(&app.get_json(&format!("{base}/visits?limit=1")).await);
    let progress = app.get_json(&format!("{base}/progress")).await;
    let after = last_week(&app.get_json(&format!("{base}/visits?limit=1")).await);
    let week = progress["week"].as_str().unwrap();
    assert!(
        week == before || week == after,
        "{week} vs {before}/{after}"
    );
    assert_ne!(week, "2019-W40", "the campaign's last week, with no visit");
    assert!(
        progress["total"]["week"]["visits"].as_u64().unwrap() > 0,
        "{progress}"
    );
}

#[tokio::test]
async fn bad_visits_are_refused_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (_, monday, _) = this_week();
    let id = "visits-bad";
    let (_, plan) = campaign_with_plan(&app, id, 4).await;
    let path = format!("/api/v1/campaigns/{id}/visits");
    let cases = [
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 1, "outcome": "gone"}),
            "outcome",
        ),
        (
            json!({"plan_id": plan["id"], "group": 9, "day": 1, "stop": 1, "outcome": "visited"}),
            "group",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 999, "outcome": "visited"}),
            "stop",
        ),
        (
            json!({"plan_id": "p-nope", "group": 1, "day": 1, "stop": 1, "outcome": "visited"}),
            "plan_id",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "outcome": "visited"}),
            "target",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 1, "outcome": "not_found", "date": monday,
            "findings": [{"kind": "checklist", "item": "5"}]}),
            "findings",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 1, "outcome": "visited", "date": monday,
            "findings": [{"kind": "checklist", "item": "999"}]}),
            "findings[0].item",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 1, "outcome": "visited", "date": "2019-09-01"}),
            "date",
        ),
        (
            json!({"plan_id": plan["id"], "group": 1, "day": 1, "stop": 1, "outcome": "visited", "date": monday,
            "position": {"lon": 500, "lat": 41.7}}),
            "position.lon",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = post(&app, &app.client, &path, &body).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(
            problem_fields(&problem).iter().any(|f| f == field),
            "{body}: {problem}"
        );
    }
    let list = app.get_json(&format!("{path}?limit=10")).await;
    assert_eq!(list["total"], 0);
    app.get_problem(
        &format!("/api/v1/campaigns/{id}/progress?week=2019-W99"),
        400,
    )
    .await;
    app.get_problem("/api/v1/campaigns/nope/plan-vs-done", 404)
        .await;
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one person after another, top to bottom"
)]
async fn a_group_records_in_its_townships_only_and_others_see_by_their_roles() {
    let app = TestApp::spawn().await;
    let group = app.client_as("group").await;
    let users = app.get_json("/api/v1/users").await;
    let areas: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "group")
        .unwrap()["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["area"].as_str().unwrap().to_owned())
        .collect();
    let home = &areas[0];
    let snapshot = app.snapshot();
    let mut villages: Vec<&str> = snapshot
        .locations
        .iter()
        .map(|l| &*l.village_code)
        .collect();
    villages.sort_unstable();
    villages.dedup();
    let away = villages
        .iter()
        .find(|v| !areas.iter().any(|a| v.starts_with(a.as_str())))
        .unwrap();
    let mine = villages
        .iter()
        .find(|v| v.starts_with(home.as_str()))
        .unwrap();
    // The group makes its own plan for the demo campaign, and records.
    let r = group
        .post(format!("{}/api/v1/plans", app.address))
        .json(
            &json!({ "townships": [home], "days": 1, "start_date": "2019-09-02",
            "sample_per_village": 1, "campaign": "xinbin-2019-q3" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let plan: Value = r.json().await.unwrap();
    let base = "/api/v1/campaigns/xinbin-2019-q3/visits";
    let (status, visit) = post(
        &app,
        &group,
        base,
        &json!({"plan_id": plan["id"], "group": 1, "outcome": "visited", "date": "2019-09-02",
            "target": {"kind": "village", "id": mine}}),
    )
    .await;
    assert_eq!(status, 201, "{visit}");
    // Outside its townships: refused as if the village did not exist.
    let (status, problem) = post(
        &app,
        &group,
        base,
        &json!({"plan_id": plan["id"], "group": 1, "outcome": "visited", "date": "2019-09-02",
            "target": {"kind": "village", "id": away}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(problem_fields(&problem).contains(&"target".to_owned()));
    // The township's user of another township does not find it; the leader may not
    // list visits but sees the figures.
    let vid = visit["id"].as_str().unwrap();
    let outsider = app
        .token_for("visits-outsider", "township", &away[..9])
        .await;
    let outsider = crate::helpers::client_with_token(&outsider);
    let r = outsider
        .get(format!("{}{base}/{vid}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let insider = app
        .token_for("visits-insider", "township", &mine[..9])
        .await;
    let insider = crate::helpers::client_with_token(&insider);
    let r = insider
        .get(format!("{}{base}/{vid}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let leader = app.client_as("leader").await;
    let r = leader
        .get(format!("{}{base}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = leader
        .get(format!(
            "{}/api/v1/campaigns/xinbin-2019-q3/plan-vs-done?day=2019-09-02",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The outsider's figures leave the group's township out.
    let pvd: Value = outsider
        .get(format!(
            "{}/api/v1/campaigns/xinbin-2019-q3/plan-vs-done?day=2019-09-02",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = plan["groups"][0]["name"].as_str().unwrap();
    assert!(
        !pvd["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["group"] == name),
        "{pvd}"
    );
}
