//! The web app in a real browser: Debian's Chromium driven by Playwright
//! (`web/tests/browser.mjs`) against the real server on a loopback port. The script
//! acts and reports what the page shows; these tests compare it with the API's answers
//! and read the map's pixels from screenshots.
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
use support::{blended, close, grouped, hex_rgb, percent, pixel, short_name};

/// Held by the tests that sign in as the demo `group` account or change its grants: a
/// change of grants ends the account's sessions and changes what its map shows, and the
/// tests of this binary share one database and run at once.
static GROUP_ACCOUNT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs one scenario of `web/tests/browser.mjs` and returns what it saw.
async fn drive(app: &TestApp, scenario: &str, args: &Value) -> Value {
    support::drive("browser.mjs", app, scenario, args).await
}

/// Where each village's name goes: a point inside it.
async fn village_points(app: &TestApp) -> Vec<(String, String, f64, f64)> {
    let labels = app
        .get_json("/api/v1/areas.geojson?geometry=label&level=village")
        .await;
    labels["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["properties"]["code"].as_str().unwrap().to_owned(),
                f["properties"]["name"].as_str().unwrap().to_owned(),
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_view_shows_the_county_with_the_catalog_legend() {
    let app = TestApp::spawn().await;
    let seen = drive(&app, "first-view", &json!({})).await;
    let catalog = app.get_json("/api/v1/indicators").await;
    let stats = app
        .get_json("/api/v1/stats?indicators=any_problem&level=village&limit=100000")
        .await;
    let county = app.get_json("/api/v1/areas?level=county").await;
    assert_eq!(seen["indicator"], "any_problem");
    assert_eq!(seen["areaName"], county[0]["name"]);
    assert!(seen["title"].as_str().unwrap().contains("一张图"));
    let townships = app.get_json("/api/v1/areas?level=township").await;
    assert_eq!(seen["rankingRows"], townships.as_array().unwrap().len());
    // The legend: one row per class with the catalog's colours and the number of
    // villages in it, then 无数据.
    let palette = catalog["palette"].as_array().unwrap();
    let legend = seen["legend"].as_array().unwrap();
    assert_eq!(legend.len(), palette.len() + 1);
    let mut per_class = vec![0; palette.len()];
    let mut no_data = 0;
    for row in stats["rows"].as_array().unwrap() {
        match row["values"]["any_problem"]["class"].as_u64() {
            Some(c) => per_class[usize::try_from(c).unwrap()] += 1,
            None => no_data += 1,
        }
    }
    for (i, color) in palette.iter().enumerate() {
        let rgb = hex_rgb(color.as_str().unwrap()).map(|c| c.to_string());
        assert_eq!(
            legend[i]["color"],
            format!("rgb({}, {}, {})", rgb[0], rgb[1], rgb[2])
        );
        assert_eq!(legend[i]["count"], format!("{} 个村", per_class[i]));
    }
    assert_eq!(legend[palette.len()]["label"], "无数据");
    assert_eq!(legend[palette.len()]["count"], format!("{no_data} 个村"));
    assert_eq!(legend[0]["label"], "< 3.0%", "the catalog's first break");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_indicator_changes_the_legend_and_the_colours() {
    let app = TestApp::spawn().await;
    let catalog = app.get_json("/api/v1/indicators").await;
    let palette: Vec<&str> = catalog["palette"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let stats = app
        .get_json("/api/v1/stats?indicators=any_problem,water_unsafe&level=village&limit=100000")
        .await;
    // A village whose class differs between the two indicators, near the county's
    // centre so that no box over the map (layers, legend) covers it.
    let points = village_points(&app).await;
    let b = app.snapshot().county_bounds;
    let (cx, cy) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let (village, lon, lat) = stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let a = r["values"]["any_problem"]["class"].as_u64();
            let b = r["values"]["water_unsafe"]["class"].as_u64();
            a.is_some() && b.is_some() && a != b
        })
        .filter_map(|r| {
            let p = points.iter().find(|p| p.0 == r["code"].as_str().unwrap())?;
            Some((r, p.2, p.3))
        })
        .min_by(|a, b| {
            let d = |p: &(&Value, f64, f64)| (p.1 - cx).powi(2) + (p.2 - cy).powi(2);
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    let code = village["code"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seen = drive(
        &app,
        "switch",
        &json!({"hash": "#lbl=0", "lon": lon, "lat": lat, "indicator": "water_unsafe",
                "dir": dir.path()}),
    )
    .await;
    assert_eq!(seen["before"]["indicator"], "any_problem");
    assert_eq!(seen["after"]["indicator"], "water_unsafe");
    assert_ne!(seen["before"]["legend"], seen["after"]["legend"]);
    let water = catalog["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "water_unsafe")
        .unwrap();
    let first_break = water["breaks"][0].as_f64().unwrap();
    assert_eq!(
        seen["after"]["legend"][0]["label"],
        format!("< {:.1}%", first_break * 100.0)
    );
    assert!(seen["hash"].as_str().unwrap().contains("ind=water_unsafe"));
    let (x, y) = (
        seen["point"]["x"].as_f64().unwrap(),
        seen["point"]["y"].as_f64().unwrap(),
    );
    for (when, indicator) in [("before", "any_problem"), ("after", "water_unsafe")] {
        let class =
            usize::try_from(village["values"][indicator]["class"].as_u64().unwrap()).unwrap();
        let shot = seen[when]["shot"].as_str().unwrap();
        let got = pixel(shot, x, y);
        let want = blended(palette[class]);
        assert!(
            close(got, want),
            "{when}: village {code} drawn {got:?}, class {class} of {indicator} is {want:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_on_a_village_shows_the_figures_the_api_returns() {
    let app = TestApp::spawn().await;
    let villages = village_points(&app).await;
    let (code, name, lon, lat) = villages[villages.len() / 2].clone();
    let name = short_name(&name);
    let seen = drive(
        &app,
        "click",
        &json!({"hash": "#lbl=0", "lon": lon, "lat": lat, "code": code, "name": name}),
    )
    .await;
    let stats = app.get_json(&format!("/api/v1/stats?within={code}")).await;
    let v = &stats["total"]["values"]["any_problem"];
    assert_eq!(seen["name"], name);
    assert_eq!(seen["count"], grouped(v["count"].as_i64().unwrap()));
    assert_eq!(
        seen["denominator"],
        grouped(v["denominator"].as_i64().unwrap())
    );
    assert_eq!(seen["rate"], percent(&v["rate"]));
    let households = app
        .get_json(&format!(
            "/api/v1/households?within={code}&indicator=any_problem&limit=50"
        ))
        .await;
    let numbers: Vec<&Value> = households["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["household_no"])
        .collect();
    assert_eq!(seen["households"], json!(numbers));
    // The export links ask the server for every household of the list, not just the page.
    let base = format!("api/v1/households?within={code}&indicator=any_problem");
    assert_eq!(
        seen["householdsFiles"],
        json!([format!("{base}&format=xlsx"), format!("{base}&format=csv")])
    );
    let csv = app
        .get(&format!("/{base}&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    let total = households["total"].as_u64().unwrap();
    assert_eq!(csv.lines().count() as u64, total + 1, "{csv}");
    let xlsx = app.get(&format!("/{base}&format=xlsx")).await;
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        seen["hash"]
            .as_str()
            .unwrap()
            .contains(&format!("area={code}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawn_rectangle_shows_the_api_totals() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let b = snapshot.county_bounds;
    let (cx, cy) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let from = [cx - 0.08, cy + 0.05];
    let to = [cx + 0.06, cy - 0.04];
    let seen = drive(&app, "draw", &json!({"from": from, "to": to})).await;
    let bbox: Vec<f64> = seen["body"]["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // The rectangle drawn is the one asked for, to a pixel or so.
    for (got, want) in bbox.iter().zip([from[0], to[1], to[0], from[1]]) {
        assert!((got - want).abs() < 0.005, "{bbox:?}");
    }
    let response = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .json(&seen["body"])
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert!(answer["households"].as_i64().unwrap() > 0);
    assert_eq!(
        seen["households"],
        grouped(answer["households"].as_i64().unwrap())
    );
    assert_eq!(
        seen["count"],
        grouped(answer["totals"]["any_problem"]["count"].as_i64().unwrap())
    );
    let codes: Vec<&Value> = answer["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["code"])
        .collect();
    assert_eq!(seen["villages"], json!(codes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_of_the_view_comes_from_the_url() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = &townships[3];
    let code = township["code"].as_str().unwrap();
    let seen = drive(
        &app,
        "url",
        &json!({"hash": format!("#ind=dropout&area={code}&heat=rate&lvl=township&map=11.00/41.70000/125.00000")}),
    )
    .await;
    assert_eq!(seen["indicator"], "dropout");
    assert_eq!(seen["heatChecked"], true);
    assert_eq!(seen["heatVisible"], true);
    assert_eq!(seen["level"], "township");
    assert_eq!(seen["areaName"], township["name"]);
    assert!((seen["zoom"].as_f64().unwrap() - 11.0).abs() < 1e-6);
    let center = &seen["center"];
    assert!((center[0].as_f64().unwrap() - 125.0).abs() < 1e-4);
    assert!((center[1].as_f64().unwrap() - 41.7).abs() < 1e-4);
    let crumbs = seen["crumbs"].as_str().unwrap();
    assert!(
        crumbs.ends_with(township["name"].as_str().unwrap()),
        "{crumbs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quality_view_ranks_villages_by_the_chosen_flag() {
    let app = TestApp::spawn().await;
    let seen = drive(
        &app,
        "quality",
        &json!({"flag": "outside_village", "label": "不在登记村"}),
    )
    .await;
    let quality = app.get_json("/api/v1/quality").await;
    let mut villages: Vec<(i64, &str)> = quality["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["flags"]["outside_village"].as_i64().unwrap(),
                v["code"].as_str().unwrap(),
            )
        })
        .collect();
    villages.sort_by_key(|v| std::cmp::Reverse(v.0));
    let top = seen["top"].as_array().unwrap();
    assert_eq!(top[0]["count"], grouped(villages[0].0));
    let shown: Vec<i64> = top
        .iter()
        .map(|t| {
            t["count"]
                .as_str()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap()
        })
        .collect();
    let want: Vec<i64> = villages.iter().take(shown.len()).map(|v| v.0).collect();
    assert_eq!(shown, want);
    assert!(
        seen["legend"][0]["label"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_point_opens_a_masked_popup() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    // A household failing the standard with nobody else within about 60 m, so that
    // the click can only hit it.
    let positions = &snapshot.positions;
    let alone = (0..positions.len())
        .find(|&row| {
            let Some(p) = positions[row] else {
                return false;
            };
            let failing =
                paicha::indicators::drawn::failed(&snapshot.facts, row).contains(&"any_problem");
            failing
                && positions.iter().enumerate().all(|(other, q)| {
                    other == row
                        || q.is_none_or(|q| {
                            (q.lon - p.lon).abs() > 0.0008 || (q.lat - p.lat).abs() > 0.0006
                        })
                })
        })
        .unwrap();
    let p = positions[alone].unwrap();
    let no = &snapshot.household_nos[alone];
    let household = app.get_json(&format!("/api/v1/households/{no}")).await;
    let seen = drive(
        &app,
        "popup",
        &json!({"hash": format!("#lbl=0&ch=0&map=16.00/{}/{}", p.lat, p.lon), "lon": p.lon, "lat": p.lat}),
    )
    .await;
    let popup = seen["popup"].as_str().unwrap();
    let head = household["head_name"].as_str().unwrap();
    assert!(head.contains('*'), "{head}");
    assert!(popup.contains(head), "{popup}");
    assert!(
        popup.contains(&short_name(household["village_name"].as_str().unwrap())),
        "{popup}"
    );
    let reason = household["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] != "any_problem")
        .unwrap()["reasons"][0]
        .as_str()
        .unwrap();
    assert!(popup.contains(reason), "{popup}");
    // What the household receives, as its view says (every demo household's toilet
    // is recorded, so that line is always there).
    let support = &household["support"];
    let toilet = if support["sanitary_toilet"].as_bool().unwrap() {
        "卫生厕所：有"
    } else {
        "卫生厕所：无"
    };
    assert!(popup.contains(toilet), "{popup}");
    let measures: Vec<&str> = support["aid_measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    if !measures.is_empty() {
        assert!(
            popup.contains(&format!("帮扶措施：{}", measures.join("、"))),
            "{popup}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_made_drawn_and_offered_for_download() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let code = townships[6]["code"].as_str().unwrap();
    let seen = drive(
        &app,
        "plan",
        &json!({"townships": [code], "days": 2, "sample": 1, "dayStart": "07:15"}),
    )
    .await;
    let id = seen["id"].as_str().unwrap();
    let plan = app.get_json(&format!("/api/v1/plans/{id}")).await;
    let days: Vec<&Value> = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["days"].as_array().unwrap())
        .collect();
    let planned: usize = days
        .iter()
        .map(|d| d["stops"].as_array().unwrap().len())
        .sum();
    let dropped = plan["dropped"].as_array().unwrap().len();
    assert!(planned > 0);
    assert!(
        dropped > 0,
        "township 6 leaves targets unplanned in two days"
    );
    // The list shows clock times from the day's start the user chose.
    let first = &days[0]["stops"][0];
    let minutes = first["arrive_minutes"].as_f64().unwrap().round() as u64 + 7 * 60 + 15;
    assert_eq!(
        seen["firstArrival"],
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    );
    assert_eq!(
        seen["summary"],
        format!("1 个组 × 2 天，已安排 {planned} 站，未安排 {dropped} 个。")
    );
    let busy = days
        .iter()
        .filter(|d| !d["stops"].as_array().unwrap().is_empty())
        .count();
    assert!(seen["routes"].as_u64().unwrap() >= u64::try_from(busy).unwrap());
    let base = format!("api/v1/plans/{id}");
    assert_eq!(
        seen["downloads"],
        json!([
            format!("{base}.gpx"),
            format!("{base}.kml"),
            format!("{base}.geojson"),
            format!("{base}.xlsx"),
            format!("{base}.csv"),
            format!("{base}.html"),
            format!("{base}.html?list=unplanned")
        ])
    );
    assert!(
        seen["hash"]
            .as_str()
            .unwrap()
            .contains(&format!("plan={id}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_mbtiles_and_pmtiles_basemaps_are_drawn_under_the_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    helpers::gdal_mbtiles(dir.path(), "red");
    // The same square as PMTiles, converted by protomaps' own tool.
    let converted = std::process::Command::new("pmtiles-convert")
        .arg(dir.path().join("red.mbtiles"))
        .arg(dir.path().join("red-pm.pmtiles"))
        .output()
        .expect("pmtiles-convert must be installed (pip install pmtiles, see .ci/run)");
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let app = TestApp::spawn_with_tiles(paicha::tiles::TileSettings {
        basemaps_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    for (hash, id) in [
        ("#ch=0&lbl=0&map=10.00/41.70000/124.90000", "red"),
        (
            "#ch=0&lbl=0&base=red-pm&map=10.00/41.70000/124.90000",
            "red-pm",
        ),
    ] {
        let shots = tempfile::tempdir().unwrap();
        let seen = drive(
            &app,
            "basemap",
            &json!({"hash": hash, "lon": 124.9, "lat": 41.7, "dir": shots.path()}),
        )
        .await;
        assert_eq!(seen["options"], json!(["none", "red", "red-pm"]));
        // Without a choice in the URL the first package is the basemap.
        assert_eq!(seen["selected"], id);
        let got = pixel(
            seen["shot"].as_str().unwrap(),
            seen["point"]["x"].as_f64().unwrap(),
            seen["point"]["y"].as_f64().unwrap(),
        );
        assert!(close(got, [200.0, 30.0, 30.0]), "{id} drawn {got:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_can_cover_a_drawn_area() {
    let app = TestApp::spawn().await;
    let b = app.snapshot().county_bounds;
    let (cx, cy) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let seen = drive(
        &app,
        "plan",
        &json!({"from": [cx - 0.08, cy + 0.05], "to": [cx + 0.08, cy - 0.05], "days": 1, "sample": 0,
                "start": [cx, cy]}),
    )
    .await;
    let id = seen["id"].as_str().unwrap();
    let plan = app.get_json(&format!("/api/v1/plans/{id}")).await;
    assert_eq!(plan["title"], "圈选区域督查走访计划");
    let ring = plan["request"]["area"]["coordinates"][0]
        .as_array()
        .unwrap();
    let lons: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let west = lons.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((west - (cx - 0.08)).abs() < 0.005, "{ring:?}");
    assert!(
        seen["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 个组 × 1 天")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_edit_reaches_an_open_map_when_its_tab_is_shown_again() {
    let app = TestApp::spawn().await;
    let path = "/api/v1/campaigns/xinbin-2019-q3/entries/210422100202/6";
    let entry = app.get_json(path).await;
    let body = json!({"version": entry["version"], "by": "李督查", "status": "problem",
                      "problem": "公示栏未更新"});
    let seen = drive(
        &app,
        "refresh",
        &json!({"hash": "#ind=checklist_unmet", "path": path, "body": body}),
    )
    .await;
    assert_eq!(seen["status"], 200);
    let edits = |url: &Value| -> u64 {
        url.as_str()
            .unwrap()
            .split("&e=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(edits(&seen["after"]) > edits(&seen["before"]), "{seen}");
    let tilejson = app.get_json("/tiles/villages.json").await;
    // TileJSON gives a path from the server's root; the page asks its own origin for it.
    assert_eq!(
        seen["after"],
        format!("{}{}", app.address, tilejson["tiles"][0].as_str().unwrap())
    );
}

/// Issue 16: a newcomer opens the map, is sent to sign in, picks a demo account and
/// sees the views of that role in its areas only; 退出 signs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::too_many_lines,
    reason = "two roles' sessions, checked top to bottom"
)]
async fn each_role_signs_in_from_the_demo_list_and_sees_its_own_areas() {
    let app = TestApp::spawn().await;
    let users = app.get_json("/api/v1/users").await;
    let area_of = |user: &str| -> String {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user"] == user)
            .unwrap()["grants"][0]["area"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let township = area_of("township");
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township_name = townships
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == township.as_str())
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await;
    let village = villages[0]["code"].as_str().unwrap().to_owned();

    // The township user: its township is the map's top, its villages the ranking.
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "sign-in-as",
        &json!({"user": "township", "village": village}),
        "",
    )
    .await;
    assert!(
        seen["signInUrl"]
            .as_str()
            .unwrap()
            .starts_with("/login.html?next="),
        "{seen}"
    );
    assert_eq!(
        seen["demoAccounts"],
        json!([
            "admin",
            "analyst",
            "department",
            "evaluator",
            "group",
            "leader",
            "township",
            "village"
        ])
    );
    assert_eq!(seen["who"], "乡镇干部（演示）");
    assert!(
        seen["scope"]
            .as_str()
            .unwrap()
            .contains(&format!("乡镇·{township_name}"))
    );
    assert!(
        seen["title"].as_str().unwrap().contains(&township_name),
        "{seen}"
    );
    assert_eq!(seen["planHidden"], false, "a township makes plans");
    let ranked: Vec<&str> = seen["ranked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(ranked.len(), villages.as_array().unwrap().len());
    assert!(
        ranked.iter().all(|c| c.starts_with(&township)),
        "{ranked:?}"
    );
    assert_eq!(seen["villagePanel"]["personal"], true);
    assert_eq!(
        seen["cookieSession"], true,
        "the session cookie is HttpOnly"
    );
    assert_eq!(seen["signedOut"], "/login.html");

    // The leader: the whole county's townships, no plans, no household's data.
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "sign-in-as",
        &json!({"user": "leader", "village": village}),
        "",
    )
    .await;
    assert_eq!(seen["who"], "县领导（演示）");
    assert_eq!(seen["planHidden"], true, "a leader makes no plans");
    assert_eq!(
        seen["ranked"].as_array().unwrap().len(),
        townships.as_array().unwrap().len()
    );
    assert_eq!(seen["villagePanel"]["refused"], true);
    assert_eq!(seen["villagePanel"]["personal"], false);
}

/// Issue 16: every other demo role signs in, gets its map without an error, sees only
/// its areas ranked, and is offered plans only where its role makes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_role_gets_a_working_map_of_its_areas() {
    let _group = GROUP_ACCOUNT.lock().await;
    let app = TestApp::spawn().await;
    let users = app.get_json("/api/v1/users").await;
    for (user, display, plans) in [
        ("admin", "系统管理员（演示）", false),
        ("analyst", "扶贫办分析员（演示）", true),
        ("village", "村书记（演示）", false),
        ("group", "督查组组长（演示）", true),
        ("evaluator", "第三方评估员（演示）", false),
        ("department", "教育局（演示）", false),
    ] {
        let areas: Vec<String> = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user"] == user)
            .unwrap()["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["area"].as_str().unwrap().to_owned())
            .collect();
        let seen = support::drive_signed_in(
            "browser.mjs",
            &app,
            "sign-in-as",
            &json!({ "user": user }),
            "",
        )
        .await;
        assert_eq!(seen["who"], display, "{user}");
        assert_eq!(seen["planHidden"], !plans, "{user}: plans offered");
        // 范围 is offered to a person with several areas below the whole map.
        assert_eq!(
            seen["scopeHidden"],
            !matches!(user, "group" | "evaluator"),
            "{user}: 范围 offered over {areas:?}"
        );
        let ranked = seen["ranked"].as_array().unwrap();
        assert!(
            ranked.iter().all(|c| areas
                .iter()
                .any(|a| c.as_str().unwrap().starts_with(a.as_str()))),
            "{user} ranks {ranked:?} outside {areas:?}"
        );
        // A department chooses among its own indicators only (the demo's: education's
        // dropouts and its two cross-checks against the school roll).
        let indicators = seen["indicators"].as_array().unwrap();
        if user == "department" {
            assert_eq!(
                indicators,
                &[
                    json!("dropout"),
                    json!("crosscheck_edu_missing"),
                    json!("crosscheck_edu_dropout")
                ]
            );
            let scope = seen["scope"].as_str().unwrap();
            assert!(scope.starts_with("行业部门（教育）·"), "{scope}");
        } else {
            assert!(indicators.len() > 10, "{user}: {indicators:?}");
        }
        assert_eq!(seen["signedOut"], "/login.html", "{user}");
    }
}

/// The grants of a demo account, as `GET /api/v1/users` gives them to an admin: role,
/// area and last day of each.
async fn grants_of(admin: &reqwest::Client, app: &TestApp, user: &str) -> Vec<Value> {
    let users: Value = admin
        .get(format!("{}/api/v1/users", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == user)
        .unwrap()["grants"]
        .as_array()
        .unwrap()
        .clone()
}

/// Issue 16: cross-inspection (交叉互查) on the 账号与审计 page: the demo admin gives the
/// inspection group a 督查组 grant to a third township until a day, moves that day, and
/// takes the grant away again; each save is stored, and a refused save says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_gives_the_inspection_group_a_cross_inspection_grant_until_a_day() {
    let _group = GROUP_ACCOUNT.lock().await;
    let app = TestApp::spawn().await;
    let admin = app.client_as("admin").await;
    let original = grants_of(&admin, &app, "group").await;
    assert_eq!(original.len(), 2, "the demo group holds two townships");
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let third = townships
        .as_array()
        .unwrap()
        .iter()
        .find(|t| original.iter().all(|g| g["area"] != t["code"]))
        .unwrap();
    let code = third["code"].as_str().unwrap();
    let name = third["name"].as_str().unwrap();
    let today = paicha::domain::calendar::today();
    let until = paicha::domain::calendar::add_days(&today, 30).unwrap();
    let later = paicha::domain::calendar::add_days(&today, 60).unwrap();
    let grant = |until: &str| json!({"role": "group", "area": code, "until": until});

    // Added, after a save the API refused.
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "admin-grants",
        &json!({"user": "group", "steps": [
            {"outside": "110101", "add": {"role": "group", "area": code, "until": until}}
        ]}),
        "",
    )
    .await;
    let step = &seen["steps"][0];
    assert_eq!(step["editorKept"], true, "{seen}");
    let toast = step["toast"].as_str().unwrap();
    assert!(
        toast.starts_with("保存失败：grants[2].area：")
            && toast.contains("outside the areas you administer"),
        "{toast}"
    );
    assert!(
        seen["expected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["status"] == 400 && a["method"] == "PATCH"),
        "{seen}"
    );
    // The API lists grants by area: compare them as sets.
    let sorted = |mut grants: Vec<Value>| {
        grants.sort_by_key(|g| (g["area"].to_string(), g["role"].to_string()));
        grants
    };
    // The page's line of the new grant.
    let shown = |step: &Value| -> Value {
        let grants = step["grants"].as_array().unwrap();
        assert_eq!(grants.len(), 3, "{step}");
        grants.iter().find(|g| g["area"] == code).unwrap().clone()
    };
    let mut want = original.clone();
    want.push(grant(&until));
    assert_eq!(sorted(grants_of(&admin, &app, "group").await), sorted(want));
    assert_eq!(step["message"], "已保存 group 的授权，其登录会话已结束");
    let line = shown(step);
    assert_eq!(line["text"], format!("督查组·{name}（至{until}）"));
    assert_eq!(line["role"], "group");
    assert_eq!(line["until"], until.as_str());

    // Its last day moved.
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "admin-grants",
        &json!({"user": "group", "steps": [{"until": [{"area": code, "until": later}]}]}),
        "",
    )
    .await;
    let mut want = original.clone();
    want.push(grant(&later));
    assert_eq!(sorted(grants_of(&admin, &app, "group").await), sorted(want));
    assert_eq!(
        shown(&seen["steps"][0])["text"],
        format!("督查组·{name}（至{later}）")
    );

    // Taken away: the group holds its two townships again.
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "admin-grants",
        &json!({"user": "group", "steps": [{"remove": [{"area": code, "role": "group"}]}]}),
        "",
    )
    .await;
    assert_eq!(grants_of(&admin, &app, "group").await, original);
    assert_eq!(seen["steps"][0]["grants"].as_array().unwrap().len(), 2);
}

/// West, south, east, north of a GeoJSON geometry.
fn bbox_of(geometry: &Value) -> [f64; 4] {
    fn walk(c: &Value, b: &mut [f64; 4]) {
        let items = c.as_array().unwrap();
        if let Some(x) = items.first().and_then(Value::as_f64) {
            let y = items[1].as_f64().unwrap();
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        } else {
            for item in items {
                walk(item, b);
            }
        }
    }
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    walk(&geometry["coordinates"], &mut b);
    b
}

/// Issue 16: the inspection group holds two townships; 范围 lists both, and picking the
/// second puts it on top: the map fits it, the panel names it, the ranking and the
/// legend hold its villages, and the link keeps the choice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_picks_its_second_township_and_sees_its_villages() {
    let _group = GROUP_ACCOUNT.lock().await;
    let app = TestApp::spawn().await;
    let admin = app.client_as("admin").await;
    let mut mine: Vec<String> = grants_of(&admin, &app, "group")
        .await
        .iter()
        .map(|g| g["area"].as_str().unwrap().to_owned())
        .collect();
    mine.sort();
    assert_eq!(mine.len(), 2);
    let name_of = |code: &str, areas: &Value| -> String {
        areas
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let (first, second) = (&mine[0], &mine[1]);
    let second_name = short_name(&name_of(second, &townships));
    let mut villages: Vec<String> = app
        .get_json(&format!("/api/v1/areas?parent={second}"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect();
    villages.sort();

    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "pick-area",
        &json!({"user": "group", "pick": second}),
        "",
    )
    .await;
    assert_eq!(seen["scopeHidden"], false);
    assert_eq!(seen["scopeLabel"], "范围");
    assert_eq!(
        seen["scopeOptions"],
        json!([
            {"code": first, "name": short_name(&name_of(first, &townships))},
            {"code": second, "name": second_name},
        ])
    );
    // The first to start with.
    assert_eq!(seen["before"]["scope"], first.as_str());
    assert!(
        seen["before"]["ranked"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.as_str().unwrap().starts_with(first.as_str())),
        "{seen}"
    );
    for (when, panel) in [("picked", &seen["after"]), ("reloaded", &seen["reloaded"])] {
        assert_eq!(panel["scope"], second.as_str(), "{when}");
        assert_eq!(panel["areaName"], second_name, "{when}");
        assert!(
            panel["county"].as_str().unwrap().starts_with(&second_name),
            "{when}: {panel}"
        );
        assert!(
            panel["title"].as_str().unwrap().contains(&second_name),
            "{when}: {panel}"
        );
        let mut ranked: Vec<String> = panel["ranked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        ranked.sort();
        assert_eq!(ranked, villages, "{when}");
    }
    assert!(
        seen["after"]["hash"]
            .as_str()
            .unwrap()
            .contains(&format!("area={second}")),
        "{seen}"
    );
    assert_eq!(seen["legendVillages"], villages.len());
    // The map fits the township: its centre lies within the township's box.
    let feature = app.get_json(&format!("/api/v1/areas/{second}")).await;
    let b = bbox_of(&feature["geometry"]);
    let c = &seen["after"]["center"];
    let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    assert!(
        (b[0]..=b[2]).contains(&x) && (b[1]..=b[3]).contains(&y),
        "centre {c} outside {b:?}"
    );
}

/// Issue 16: the audit page shows the newest 200 lines of its filters, and 更早的记录
/// appends the next page with the same filters until none is left; lines of one
/// second (a burst of reads) are neither lost nor repeated between pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_page_loads_older_lines_a_page_at_a_time() {
    const READS: usize = 260;
    let app = TestApp::spawn().await;
    // A bad `before` is refused and named, as a bad `since` is.
    let problem = app
        .get_problem(
            "/api/v1/audit?since=yesterday&before=2026-12-01T08:00:00%2B08:00",
            400,
        )
        .await;
    assert_eq!(helpers::problem_fields(&problem), ["since", "before"]);

    // An account of its own, so that no other test adds lines to its filter.
    let county = app.get_json("/api/v1/areas?level=county").await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .client
        .post(format!("{}/api/v1/users", app.address))
        .json(
            &json!({"user": "audit-pager", "display": "审计翻页", "password": "audit-pager-pw",
                      "grants": [{"role": "analyst", "area": county, "until": null}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let reader = app.client_as("audit-pager").await;
    let households = app.snapshot().household_nos.clone();
    for no in households.iter().take(READS) {
        let r = reader
            .get(format!("{}/api/v1/households/{no}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "household {no}");
    }
    // The audit log is written in the background: wait for every line.
    let path = "/api/v1/audit?user=audit-pager&limit=10000";
    let started = std::time::Instant::now();
    let lines = loop {
        let lines = app.get_json(path).await;
        if lines.as_array().unwrap().len() >= READS {
            break lines;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{lines}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let want: Vec<(&str, &str)> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["at"].as_str().unwrap(), l["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(want.len(), READS);
    let stamps: std::collections::HashSet<&str> = want.iter().map(|w| w.0).collect();
    assert!(
        stamps.len() < READS,
        "the reads share seconds, as a map's do"
    );

    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "admin-audit",
        &json!({"user": "audit-pager"}),
        "",
    )
    .await;
    let shown = |page: &Value| -> Vec<(String, String)> {
        page["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert_eq!(l["user"], "audit-pager");
                (
                    l["at"].as_str().unwrap().to_owned(),
                    l["detail"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let owned = |lines: &[(&str, &str)]| -> Vec<(String, String)> {
        lines
            .iter()
            .map(|(a, d)| ((*a).to_owned(), (*d).to_owned()))
            .collect()
    };
    assert_eq!(shown(&seen["first"]), owned(&want[..200]));
    assert_eq!(seen["first"]["moreHidden"], false);
    assert_eq!(seen["first"]["count"], "已显示 200 条");
    let pages = seen["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1, "{seen}");
    assert_eq!(
        pages[0]["lines"].as_array().unwrap().len(),
        READS,
        "lines lost or repeated between the pages"
    );
    assert_eq!(shown(&pages[0]), owned(&want));
    assert_eq!(pages[0]["moreHidden"], true);
    assert_eq!(pages[0]["count"], format!("已显示 {READS} 条"));
}

#[tokio::test]
async fn an_admin_draws_an_evaluators_villages_and_names_a_department_on_the_page() {
    let app = TestApp::spawn().await;
    let admin = app.client_as("admin").await;
    let snapshot = app.snapshot();
    let county = snapshot.top_code.clone();
    let made = admin
        .post(format!("{}/api/v1/users", app.address))
        .json(&json!({
            "user": "pg-page", "display": "评估组（页面）", "password": "evaluator-pass",
            "grants": [{"role": "leader", "area": county}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let seen = support::drive_signed_in(
        "browser.mjs",
        &app,
        "admin-grants",
        &json!({"user": "pg-page", "steps": [
            {"sample": {"villages": 3, "within": county, "seed": 7}},
            {"add": {"role": "department", "area": county, "department": "医保"}}
        ]}),
        "",
    )
    .await;
    // The draw is the library's for that seed, and the page names its villages.
    let villages: Vec<&str> = snapshot
        .names
        .iter()
        .filter(|(_, (_, level))| *level == paicha::domain::AreaLevel::Village)
        .map(|(code, _)| code.as_str())
        .collect();
    let drawn = paicha::domain::access::draw_villages(&villages, 3, 7);
    let message = seen["steps"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("已为 pg-page 抽取 3 个村（种子 7）："),
        "{message}"
    );
    for code in &drawn {
        let name = snapshot.name(code).unwrap();
        assert!(message.contains(name), "{message} lacks {name}");
    }
    let grants = grants_of(&admin, &app, "pg-page").await;
    let mut evaluated: Vec<&str> = grants
        .iter()
        .filter(|g| g["role"] == "evaluator")
        .map(|g| g["area"].as_str().unwrap())
        .collect();
    evaluated.sort_unstable();
    assert_eq!(evaluated, drawn);
    assert!(grants.iter().any(|g| g["role"] == "leader"));
    // A department grant carries its department, and the table says which.
    assert!(
        grants
            .iter()
            .any(|g| g["role"] == "department" && g["department"] == "医保"),
        "{grants:?}"
    );
    let shown = seen["steps"][1]["grants"].as_array().unwrap();
    assert!(
        shown
            .iter()
            .any(|g| g["text"].as_str().unwrap().starts_with("行业部门（医保）·")),
        "{shown:?}"
    );
}

/// 账账比对: the view lists the county's rules as the API counts them, a rule chosen
/// colours the map by its indicator and lists its mismatches (masked), and a list with
/// 核实结果 filled in, uploaded from the page, is shown with who answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crosscheck_view_lists_a_rules_mismatches_and_takes_answers_back() {
    let app = TestApp::spawn().await;
    let county = app.get_json("/api/v1/crosschecks").await;
    let rules = county["rules"].as_array().unwrap();
    // A rule the view does not open with: its own indicator, with the two mismatches the
    // demo plants in each rule.
    let rule = rules
        .iter()
        .skip(1)
        .find(|r| r["indicator"].is_string() && r["mismatches"].as_i64().unwrap() >= 2)
        .unwrap();
    let id = rule["id"].as_str().unwrap();
    let page = app
        .get_json(&format!("/api/v1/crosschecks/{id}/mismatches?limit=100"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("核实结果.csv");
    let codes: Vec<&str> = page["rows"].as_array().unwrap()[..2]
        .iter()
        .map(|m| m["check_code"].as_str().unwrap())
        .collect();
    std::fs::write(
        &answers,
        format!(
            "核对码,核实结果\n{},已核实，名单漏录，已补录\n{},情况属实\n",
            codes[0], codes[1]
        ),
    )
    .unwrap();
    let seen = drive(
        &app,
        "crosschecks",
        &json!({"rule": id, "answers": answers}),
    )
    .await;

    let first = &seen["first"];
    assert_eq!(first["pressed"], "true");
    let shown: Vec<(String, String)> = first["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[3].as_str().unwrap().split(' ').next().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = rules
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                grouped(r["mismatches"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(shown, want);
    // The view opens on the first cross-check indicator of the catalog.
    assert!(
        first["indicator"]
            .as_str()
            .unwrap()
            .starts_with("crosscheck_"),
        "{first}"
    );

    let chosen = &seen["chosen"];
    assert_eq!(chosen["current"], id);
    assert_eq!(chosen["indicator"], rule["indicator"]);
    let total = page["total"].as_i64().unwrap();
    assert!(
        chosen["title"]
            .as_str()
            .unwrap()
            .contains(&format!("（{} 条", grouped(total))),
        "{chosen}"
    );
    let rows = chosen["mismatches"].as_array().unwrap();
    assert_eq!(rows.len(), page["rows"].as_array().unwrap().len());
    for (row, m) in rows.iter().zip(page["rows"].as_array().unwrap()) {
        assert_eq!(row[0], m["check_code"]);
        assert_eq!(row[2], m["id_number"]);
        assert!(row[2].as_str().unwrap().contains('*'), "{row}");
    }
    assert_eq!(
        chosen["xlsx"],
        format!(
            "api/v1/crosschecks/{id}/mismatches?within={}&format=xlsx",
            county["within"].as_str().unwrap()
        )
    );
    let legend = seen["legend"].as_array().unwrap();
    assert!(!legend.is_empty(), "{seen}");

    the_answers_are_shown(&seen, id, &codes);
}

/// The two answers uploaded from the page: stored, counted and shown beside their mismatches.
fn the_answers_are_shown(seen: &Value, id: &str, codes: &[&str]) {
    assert_eq!(seen["answer"]["stored"], 2);
    assert_eq!(seen["answer"]["unknown_rows"], json!([]));
    let answered = &seen["answered"];
    let row = answered["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == id)
        .unwrap();
    assert_eq!(row[5], "2");
    for (code, result) in codes.iter().zip(["已核实，名单漏录，已补录", "情况属实"])
    {
        let shown = answered["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == *code)
            .unwrap();
        let cell = shown[6].as_str().unwrap();
        assert!(cell.starts_with(result), "{cell}");
    }
}
