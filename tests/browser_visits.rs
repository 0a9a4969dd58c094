//! The phone visit sheet (`web/public/visit.html`) and the progress page
//! (`progress.html`) in a real browser at a phone's 360×740 viewport: Debian's Chromium
//! driven by Playwright (`web/tests/visits.mjs`) against the real server. The script
//! records a visit with a checklist finding on the first stop and reads the progress
//! page; this test holds what it saw against the API's own answers.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM=`) and `node`; `.ci/run` installs both.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

#[allow(dead_code, reason = "shared with the API tests, which use all of it")]
#[path = "api/helpers.rs"]
mod helpers;

#[path = "support/browser.rs"]
mod support;

use helpers::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn a_visit_recorded_on_a_phone_changes_plan_vs_done_and_progress() {
    use paicha::domain::calendar::{add_days, iso_week, today, week_days};
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = townships[5]["code"].as_str().unwrap().to_owned();
    // The campaign runs this week, so that the page's day and week are today's.
    let monday = week_days(&iso_week(&today()).unwrap()).unwrap().0;
    let id = "phone-visits";
    let r = app
        .client
        .post(format!("{}/api/v1/campaigns", app.address))
        .json(
            &json!({ "id": id, "name": "手机走访测试", "template_id": "lianyungang-2019",
            "area_code": township, "starts": monday, "ends": add_days(&monday, 13).unwrap(),
            "cycle": "weekly", "due_day": 5, "by": "测试" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let plan: Value = app
        .client
        .post(format!("{}/api/v1/plans", app.address))
        .json(
            &json!({ "townships": [township], "days": 1, "start_date": today(),
            "sample_per_village": 1, "campaign": id }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &plan["groups"][0]["days"][0]["stops"][0]["target"];
    let seen = support::drive(
        "visits.mjs",
        &app,
        "record-visit",
        &json!({ "campaign": id, "plan": plan["id"], "item": 5, "note": "公示栏未更新",
            "township": township }),
    )
    .await;
    // A phone-sized page: nothing wider than the screen, fingers-sized buttons.
    assert!(seen["scrollWidth"].as_f64().unwrap() <= 360.0, "{seen}");
    assert!(
        seen["progressScrollWidth"].as_f64().unwrap() <= 360.0,
        "{seen}"
    );
    assert!(seen["buttonHeight"].as_f64().unwrap() >= 44.0, "{seen}");
    assert_eq!(seen["before"]["已走访"], 0);
    assert_eq!(seen["after"]["已走访"], 1);
    assert_eq!(seen["after"]["发现问题"], 1);
    assert_eq!(
        seen["after"]["计划"].as_u64().unwrap(),
        seen["stops"].as_u64().unwrap()
    );
    // The API holds the same visit, with the phone's position in WGS-84.
    let list = app
        .get_json(&format!("/api/v1/campaigns/{id}/visits"))
        .await;
    assert_eq!(list["total"], 1);
    let visit = &list["items"][0];
    assert_eq!(visit["target_id"], first["id"]);
    assert_eq!(visit["findings"][0]["item"], "5");
    assert_eq!(visit["position"]["raw"]["crs"], "wgs84");
    assert!((visit["position"]["lon"].as_f64().unwrap() - 124.95).abs() < 1e-6);
    // The checklist finding opened the village's entry.
    let village = first["village_code"].as_str().unwrap();
    let entry = app
        .get_json(&format!("/api/v1/campaigns/{id}/entries/{village}/5"))
        .await;
    assert_eq!(entry["status"], "problem");
    // The progress page: the township's row shows the visit of this week.
    let progress = app
        .get_json(&format!("/api/v1/campaigns/{id}/progress"))
        .await;
    let row = progress["townships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == township.as_str())
        .unwrap();
    assert_eq!(row["week"]["visits"], 1);
    let cells = seen["progress"]["cells"].as_array().unwrap();
    assert_eq!(cells[1], support::percent(&row["share"]).as_str());
    assert_eq!(cells[2], "1");
    assert_eq!(cells[5], "1");
    assert_eq!(seen["chart"], 3);
    // The map: the campaign's township drawn, named and filled in its row's class.
    let map = seen["map"].as_array().unwrap();
    assert_eq!(map.len(), 1, "{seen}");
    assert_eq!(map[0]["code"], township.as_str());
    assert_eq!(map[0]["class"], seen["progress"]["class"]);
    assert!(
        map[0]["title"].as_str().unwrap().contains("本周走访 1"),
        "{seen}"
    );
    assert_eq!(seen["mapLabels"].as_array().unwrap().len(), 1);
}
