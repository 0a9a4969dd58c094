//! The web map's fixes of issue 21, each in a real browser: Debian's Chromium driven by
//! Playwright (`web/tests/map_fixes.mjs`) against the real server on a loopback port.
//! The driver acts and reports what the page shows; these tests compare it with the
//! API's own answers and read the map's pixels from screenshots.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM=`) and `node`; `.ci/run` installs both.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

#[allow(dead_code, reason = "shared with the API tests, which use all of it")]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::{HashMap, HashSet};

#[path = "support/browser.rs"]
mod support;

use helpers::TestApp;

use serde_json::{Value, json};
use support::{blended, close, grouped, hex_rgb, pixel, short_name};

/// Runs one scenario of `web/tests/map_fixes.mjs` and returns what it saw.
async fn drive(app: &TestApp, scenario: &str, args: &Value) -> Value {
    support::drive("map_fixes.mjs", app, scenario, args).await
}

/// The app's accent: household points failing the indicator.
const RED: &str = "#b3261e";
/// Household points passing it.
const GREY: &str = "#7d8a96";

/// `(code, lon, lat)` of the point where the map writes each area's name.
async fn label_points(app: &TestApp, level: &str) -> HashMap<String, (f64, f64)> {
    let labels = app
        .get_json(&format!(
            "/api/v1/areas.geojson?geometry=label&level={level}"
        ))
        .await;
    labels["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["properties"]["code"].as_str().unwrap().to_owned(),
                (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
            )
        })
        .collect()
}

/// Area code → name, for a level.
async fn names(app: &TestApp, level: &str) -> HashMap<String, String> {
    let areas = app.get_json(&format!("/api/v1/areas?level={level}")).await;
    areas
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["code"].as_str().unwrap().to_owned(),
                a["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn codes(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Rows of the snapshot with a position and nobody else within about 30 m, so that a
/// screenshot pixel at the point can only be that household's.
fn isolated_rows(app: &TestApp) -> Vec<usize> {
    let snapshot = app.snapshot();
    let positions = &snapshot.positions;
    (0..positions.len())
        .filter(|&row| {
            let Some(p) = positions[row] else {
                return false;
            };
            positions.iter().enumerate().all(|(other, q)| {
                other == row
                    || q.is_none_or(|q| {
                        (q.lon - p.lon).abs() > 0.0004 || (q.lat - p.lat).abs() > 0.0003
                    })
            })
        })
        .collect()
}

/// Checks the colours of household points on one screenshot: every point clear of the
/// boxes must be red if it is in `red`, grey otherwise. Returns how many of each.
fn check_points(seen: &Value, red: &HashSet<String>, what: &str) -> (usize, usize) {
    let shot = seen["shot"].as_str().unwrap();
    let (mut reds, mut greys) = (0, 0);
    for (p, rendered) in seen["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(seen["rendered"].as_array().unwrap())
    {
        if p["clear"] != true {
            continue;
        }
        let no = p["no"].as_str().unwrap();
        // The point under the pixel is this household's.
        assert!(
            rendered.as_array().unwrap().iter().any(|f| f["no"] == no),
            "{what}: {no} not drawn at {p}: {rendered}"
        );
        let got = pixel(shot, p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        let failing = red.contains(no);
        let want = hex_rgb(if failing { RED } else { GREY });
        assert!(
            close(got, want),
            "{what}: household {no} (failing: {failing}) drawn {got:?}, want {want:?}; tile says {rendered}"
        );
        if failing {
            reds += 1;
        } else {
            greys += 1;
        }
    }
    (reds, greys)
}

/// Issue 21.1: a household point is red when it fails the chosen indicator (the
/// `failed` list of the tiles), grey otherwise, for any indicator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn household_points_are_red_when_they_fail_the_indicator() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let isolated = isolated_rows(&app);
    // The village with the most isolated households: a dense one, with points to read.
    let mut by_village: HashMap<&str, Vec<usize>> = HashMap::new();
    for &row in &isolated {
        by_village
            .entry(snapshot.locations[row].village_code.as_ref())
            .or_default()
            .push(row);
    }
    // Of the ten villages with the most isolated households, the one where the
    // indicator most often failed after any_problem fails on the most isolated points.
    let mut dense: Vec<(&str, Vec<usize>)> = by_village.into_iter().collect();
    dense.sort_by_key(|(code, rows)| (std::cmp::Reverse(rows.len()), *code));
    let mut best: Option<(usize, &str, Vec<usize>, String)> = None;
    for (village, rows) in dense.into_iter().take(10) {
        let isolated_nos: HashSet<&str> =
            rows.iter().map(|&r| &snapshot.household_nos[r]).collect();
        let failing = app
            .get_json(&format!(
                "/api/v1/households?within={village}&indicator=any_problem&limit=1000"
            ))
            .await;
        let mut tally: HashMap<String, usize> = HashMap::new();
        for h in failing["items"].as_array().unwrap() {
            if !isolated_nos.contains(h["household_no"].as_str().unwrap()) {
                continue;
            }
            for f in h["failed"].as_array().unwrap() {
                if f["id"] != "any_problem" {
                    *tally
                        .entry(f["id"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                }
            }
        }
        if let Some((id, n)) = tally
            .into_iter()
            .max_by_key(|(id, n)| (*n, std::cmp::Reverse(id.clone())))
            && best.as_ref().is_none_or(|b| n > b.0)
        {
            best = Some((n, village, rows, id));
        }
    }
    let (_, village, rows, specific) = best.unwrap();
    let rows = &rows;
    let mut lons: Vec<f64> = rows
        .iter()
        .map(|&r| snapshot.positions[r].unwrap().lon)
        .collect();
    let mut lats: Vec<f64> = rows
        .iter()
        .map(|&r| snapshot.positions[r].unwrap().lat)
        .collect();
    lons.sort_by(f64::total_cmp);
    lats.sort_by(f64::total_cmp);
    let (lon, lat) = (lons[lons.len() / 2], lats[lats.len() / 2]);
    let points: Vec<Value> = rows
        .iter()
        .map(|&r| {
            let p = snapshot.positions[r].unwrap();
            json!({"no": snapshot.household_nos[r], "lon": p.lon, "lat": p.lat})
        })
        .collect();
    for indicator in ["any_problem", specific.as_str()] {
        let answer = app
            .get_json(&format!(
                "/api/v1/households?within={village}&indicator={indicator}&limit=1000"
            ))
            .await;
        let red: HashSet<String> = answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["household_no"].as_str().unwrap().to_owned())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let seen = drive(
            &app,
            "points",
            &json!({"hash": format!("#ind={indicator}&lbl=0&ch=0&map=15.00/{lat}/{lon}"),
                    "points": points, "dir": dir.path()}),
        )
        .await;
        let (reds, greys) = check_points(&seen, &red, indicator);
        assert!(
            reds >= 2 && greys >= 2,
            "{indicator} in {village}: only {reds} red and {greys} grey points checked"
        );
    }
}

/// Issue 21.1, the 定位质量 view: points flagged with the chosen flag are red.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flagged_points_are_red_in_the_quality_view() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let flag = "outside_village";
    let flagged = app
        .get_json(&format!(
            "/api/v1/quality/households?flag={flag}&limit=1000"
        ))
        .await;
    let red: HashSet<String> = flagged["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["household_no"].as_str().unwrap().to_owned())
        .collect();
    let isolated = isolated_rows(&app);
    // A flagged household with as many isolated neighbours in view as possible.
    let centre = isolated
        .iter()
        .copied()
        .filter(|&r| red.contains(&snapshot.household_nos[r]))
        .max_by_key(|&r| {
            let p = snapshot.positions[r].unwrap();
            isolated
                .iter()
                .filter(|&&o| {
                    let q = snapshot.positions[o].unwrap();
                    (q.lon - p.lon).abs() < 0.015 && (q.lat - p.lat).abs() < 0.01
                })
                .count()
        })
        .expect("an isolated household flagged outside its village");
    let c = snapshot.positions[centre].unwrap();
    let points: Vec<Value> = isolated
        .iter()
        .filter_map(|&r| {
            let p = snapshot.positions[r].unwrap();
            ((p.lon - c.lon).abs() < 0.015 && (p.lat - c.lat).abs() < 0.01)
                .then(|| json!({"no": snapshot.household_nos[r], "lon": p.lon, "lat": p.lat}))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let seen = drive(
        &app,
        "points",
        &json!({"hash": format!("#view=quality&flag={flag}&lbl=0&ch=0&map=15.00/{}/{}", c.lat, c.lon),
                "flag": flag, "points": points, "dir": dir.path()}),
    )
    .await;
    let (reds, greys) = check_points(&seen, &red, flag);
    assert!(reds >= 1 && greys >= 2, "{reds} red and {greys} grey");
}

/// Issue 21.2: the heat map has a legend (户数密度 low → high; 占比 up to the top of the
/// rate ramp), and switching the choropleth off hides its legend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heat_map_has_a_legend_and_the_choropleth_legend_follows_its_layer() {
    let app = TestApp::spawn().await;
    let seen = drive(&app, "heat-legend", &json!({})).await;
    let catalog = app.get_json("/api/v1/indicators").await;
    let ind = catalog["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "any_problem")
        .unwrap();
    let name = ind["name_zh"].as_str().unwrap();
    // The server colours rates up to 1.5 × the top class break (at most 100%).
    let top = (ind["breaks"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_f64()
        .unwrap()
        * 1.5)
        .min(1.0);

    let count = &seen["count"];
    assert_eq!(count["heatLayer"], true);
    assert_eq!(count["heat"], true, "{count}");
    assert_eq!(count["classes"], true, "{count}");
    let title = count["heatTitle"].as_str().unwrap();
    assert!(
        title.contains("户数密度") && title.contains(name),
        "{title}"
    );
    assert_eq!(count["heatLow"], "低");
    assert_eq!(count["heatHigh"], "高");

    let rate = &seen["rate"];
    assert_eq!(rate["heat"], true, "{rate}");
    let title = rate["heatTitle"].as_str().unwrap();
    assert!(title.contains("占比") && title.contains(name), "{title}");
    assert_eq!(rate["heatLow"], "0%");
    assert_eq!(rate["heatHigh"], format!("≥ {:.1}%", top * 100.0));

    let off = &seen["noChoropleth"];
    assert_eq!(off["classes"], false, "the choropleth legend stays: {off}");
    assert_eq!(off["heat"], true, "{off}");
    assert_eq!(off["box"], true, "{off}");

    let nothing = &seen["nothing"];
    assert_eq!(nothing["heatLayer"], false);
    assert_eq!(
        nothing["box"], false,
        "an empty legend box stays: {nothing}"
    );

    let back = &seen["choroplethOnly"];
    assert_eq!(back["classes"], true, "{back}");
    assert_eq!(back["heat"], false, "{back}");
}

/// Issue 21.3: a link pasted into a tab that already shows the map applies its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_pasted_into_an_open_tab_applies_its_state() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = &townships[3];
    let code = township["code"].as_str().unwrap();
    let name = township["name"].as_str().unwrap();
    let quality = app.get_json("/api/v1/quality").await;
    let village = quality["villages"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|v| v["flags"]["outside_village"].as_i64().unwrap())
        .unwrap();
    let village_code = village["code"].as_str().unwrap();
    let seen = drive(
        &app,
        "hashchange",
        &json!({"hash": format!("#ind=dropout&area={code}&heat=rate&lvl=township&lbl=0&map=11.00/41.70000/125.00000"),
                "name": name, "indicator": "dropout",
                "hash2": format!("#view=quality&area={village_code}&flag=outside_village")}),
    )
    .await;
    let stats = app.get_json(&format!("/api/v1/stats?within={code}")).await;
    assert_eq!(seen["indicator"], "dropout");
    assert_eq!(seen["heatChecked"], true);
    assert_eq!(seen["heatVisible"], true);
    assert_eq!(seen["level"], "township");
    assert_eq!(seen["labels"], false);
    assert_eq!(seen["areaName"], name);
    assert_eq!(
        seen["count"],
        grouped(
            stats["total"]["values"]["dropout"]["count"]
                .as_i64()
                .unwrap()
        )
    );
    assert!((seen["zoom"].as_f64().unwrap() - 11.0).abs() < 1e-6);
    let center = &seen["center"];
    assert!((center[0].as_f64().unwrap() - 125.0).abs() < 1e-4);
    assert!((center[1].as_f64().unwrap() - 41.7).abs() < 1e-4);
    assert!(seen["crumbs"].as_str().unwrap().ends_with(name));

    let flagged = app
        .get_json(&format!(
            "/api/v1/quality/households?within={village_code}&flag=outside_village&limit=200"
        ))
        .await;
    assert_eq!(seen["view"], "quality");
    assert_eq!(seen["flag"], "outside_village");
    assert_eq!(
        seen["qualityRows"],
        flagged["items"].as_array().unwrap().len()
    );
    let crumbs = seen["crumbs2"].as_str().unwrap();
    assert!(
        crumbs.ends_with(&short_name(village["name"].as_str().unwrap())),
        "{crumbs}"
    );
}

/// The codes (代码) of a downloaded CSV's rows, in order.
async fn csv_codes(app: &TestApp, href: &str) -> Vec<String> {
    let response = app.get(&format!("/{href}")).await;
    assert_eq!(response.status(), 200, "{href}");
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "代码")
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[at].to_owned())
        .filter(|c| c.len() == 9 || c.len() == 12)
        .collect()
}

/// The area codes of a downloaded workbook's first sheet, in order.
async fn xlsx_codes(app: &TestApp, href: &str) -> Vec<String> {
    use calamine::Reader;
    let response = app.get(&format!("/{href}")).await;
    assert_eq!(response.status(), 200, "{href}");
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    range
        .rows()
        .filter_map(|row| {
            row.iter().map(ToString::to_string).find(|c| {
                (c.len() == 9 || c.len() == 12) && c.chars().all(|ch| ch.is_ascii_digit())
            })
        })
        .collect()
}

/// Checks that a ranking's exports (CSV then Excel) list the areas in the order shown.
async fn exports_follow(app: &TestApp, hrefs: &Value, shown: &[String], what: &str) {
    let hrefs: Vec<&str> = hrefs
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let csv = hrefs.iter().find(|h| h.contains("format=csv")).unwrap();
    let xlsx = hrefs.iter().find(|h| h.contains("format=xlsx")).unwrap();
    // The rows, not the total row (the area itself) at the end.
    let len = shown[0].len();
    let rows = |codes: Vec<String>| -> Vec<String> {
        codes.into_iter().filter(|c| c.len() == len).collect()
    };
    assert_eq!(rows(csv_codes(app, csv).await), shown, "{what}: CSV {csv}");
    assert_eq!(
        rows(xlsx_codes(app, xlsx).await),
        shown,
        "{what}: Excel {xlsx}"
    );
}

/// Issue 21.4: at the county the ranking offers all villages ranked by the indicator,
/// and every ranking's CSV and Excel exports are in the order the user sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_offer_every_village_and_exports_follow_the_ranking() {
    let app = TestApp::spawn().await;
    let ranked = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        async move {
            codes(
                &app.get_json(&format!(
                    "/api/v1/stats?indicators=any_problem&sort=any_problem&order=desc{q}"
                ))
                .await["rows"],
            )
        }
    };
    let townships = ranked("").await;
    let villages = ranked("&level=village").await;
    let top = villages[0].clone();
    let township = top[..9].to_owned();
    let township_names = names(&app, "township").await;
    let seen = drive(
        &app,
        "ranking",
        &json!({"village": top, "townshipName": township_names[&township]}),
    )
    .await;
    let shown = |key: &str| -> Vec<String> {
        seen[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(shown("townships"), townships);
    exports_follow(&app, &seen["townshipExports"], &townships, "townships").await;
    assert_eq!(shown("villages"), villages);
    assert_eq!(villages.len(), names(&app, "village").await.len());
    let parents: Vec<String> = villages.iter().map(|c| c[..9].to_owned()).collect();
    assert_eq!(shown("villageTownships"), parents);
    exports_follow(&app, &seen["villageExports"], &villages, "county villages").await;
    assert!(seen["hash"].as_str().unwrap().contains("rk=village"));
    let in_township = ranked(&format!("&within={township}")).await;
    assert_eq!(shown("inTownship"), in_township);
    exports_follow(&app, &seen["inTownshipExports"], &in_township, "township").await;
}

/// Issue 21.5: at the county view on a 1400 × 860 window, no box over the map hides a
/// township: its name's point is on the map, and next to nothing of it is covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_township_is_hidden_at_the_county_view() {
    let app = TestApp::spawn().await;
    let seen = drive(&app, "layout", &json!({})).await;
    let townships = names(&app, "township").await;
    let shown = seen["townships"].as_array().unwrap();
    assert_eq!(shown.len(), townships.len());
    for t in shown {
        let code = t["code"].as_str().unwrap();
        assert!(townships.contains_key(code));
        let clear = t["clear"].as_f64().unwrap();
        let hidden = t["covered"].as_f64().unwrap() + t["offscreen"].as_f64().unwrap();
        assert_eq!(t["label"], "clear", "{t}");
        assert!(
            hidden <= 0.01 * (clear + hidden),
            "{} partly hidden: {t}",
            townships[code]
        );
    }
}

/// Issue 21.6: with townships coloured, drilling into one colours its villages, which
/// the panel ranks.
/// A township: the size of its two villages and their (code, class).
type Candidate = (f64, String, Vec<(String, u64)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drilling_into_a_township_colours_its_villages() {
    let app = TestApp::spawn().await;
    let catalog = app.get_json("/api/v1/indicators").await;
    let palette: Vec<&str> = catalog["palette"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let areas = app.get_json("/api/v1/areas?level=village").await;
    let km2: HashMap<&str, f64> = areas
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["code"].as_str().unwrap(), a["area_km2"].as_f64().unwrap()))
        .collect();
    let village_points = label_points(&app, "village").await;
    let township_points = label_points(&app, "township").await;
    let township_names = names(&app, "township").await;
    let stats = app
        .get_json("/api/v1/stats?indicators=any_problem&level=village&limit=100000")
        .await;
    // The township whose two largest villages of different classes are largest.
    let mut best: Option<Candidate> = None;
    for t in township_names.keys() {
        let mut vs: Vec<(&Value, f64)> = stats["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["code"].as_str().unwrap().starts_with(t.as_str()))
            .filter(|r| r["values"]["any_problem"]["class"].is_u64())
            .map(|r| (r, km2[r["code"].as_str().unwrap()]))
            .collect();
        vs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let Some(first) = vs.first() else { continue };
        let class = |r: &Value| r["values"]["any_problem"]["class"].as_u64().unwrap();
        let Some(other) = vs.iter().find(|v| class(v.0) != class(first.0)) else {
            continue;
        };
        let size = other.1;
        if best.as_ref().is_none_or(|b| size > b.0) {
            let pick = [first, other]
                .iter()
                .map(|v| (v.0["code"].as_str().unwrap().to_owned(), class(v.0)))
                .collect();
            best = Some((size, t.clone(), pick));
        }
    }
    let (_, township, villages) = best.unwrap();
    let (lon, lat) = township_points[&township];
    let dir = tempfile::tempdir().unwrap();
    let seen = drive(
        &app,
        "drill",
        &json!({"hash": "#lvl=township&lbl=0&hh=0", "lon": lon, "lat": lat,
                "name": township_names[&township], "dir": dir.path(),
                "villages": villages.iter().map(|(code, _)| {
                    let (lon, lat) = village_points[code];
                    json!({"code": code, "lon": lon, "lat": lat})
                }).collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(seen["level"], "village");
    assert!(!seen["hash"].as_str().unwrap().contains("lvl=township"));
    assert_eq!(seen["villageFill"], "visible");
    assert_eq!(seen["townshipFill"], "none");
    assert!(seen["legendUnit"].as_str().unwrap().ends_with("个村"));
    let ranked = app
        .get_json(&format!(
            "/api/v1/stats?within={township}&indicators=any_problem&sort=any_problem&order=desc"
        ))
        .await;
    assert_eq!(
        seen["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        codes(&ranked["rows"])
    );
    let shot = seen["shot"].as_str().unwrap();
    for (p, (code, class)) in seen["points"].as_array().unwrap().iter().zip(&villages) {
        assert_eq!(p["clear"], true, "{code} under a box: {p}");
        let got = pixel(shot, p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        let want = blended(palette[usize::try_from(*class).unwrap()]);
        assert!(
            close(got, want),
            "village {code} drawn {got:?}, its class {class} is {want:?}"
        );
    }
}

/// Issue 21.7: the 定位质量 view shows a township's own figures, and each flagged
/// household's evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quality_view_shows_the_areas_figures_and_the_evidence() {
    let app = TestApp::spawn().await;
    let flag = "outside_village";
    let county = app.get_json("/api/v1/quality").await;
    let total = |g: &Value| -> i64 {
        g["flags"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum()
    };
    let township = county["townships"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|t| (total(t), t["code"].as_str().unwrap().to_owned()))
        .unwrap();
    let village = county["villages"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|v| v["flags"][flag].as_i64().unwrap())
        .unwrap();
    let code = township["code"].as_str().unwrap();
    let village_code = village["code"].as_str().unwrap();
    let seen = drive(
        &app,
        "quality-area",
        &json!({"township": code, "townshipName": township["name"], "village": village_code,
                "flag": flag}),
    )
    .await;
    let own = app
        .get_json(&format!("/api/v1/quality?within={code}"))
        .await;
    assert_ne!(own["households"], county["households"]);
    assert_eq!(
        seen["households"],
        grouped(own["households"].as_i64().unwrap())
    );
    assert_eq!(seen["located"], grouped(own["located"].as_i64().unwrap()));
    let want: Vec<Value> = own["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({"flag": f["code"], "count": grouped(f["count"].as_i64().unwrap())}))
        .collect();
    assert_eq!(seen["flags"], json!(want));

    let villages = names(&app, "village").await;
    let flagged = app
        .get_json(&format!(
            "/api/v1/quality/households?within={village_code}&flag={flag}&limit=200"
        ))
        .await;
    let items = flagged["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        seen["header"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == "依据")
    );
    let rows = seen["rows"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(items) {
        assert_eq!(row["no"], item["household_no"]);
        let evidence = row["evidence"].as_str().unwrap();
        let f = item["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == flag)
            .unwrap();
        let found = short_name(&villages[f["found_village"].as_str().unwrap()]);
        let metres = grouped(f["distance_m"].as_f64().unwrap().round() as i64);
        assert!(evidence.contains(&found), "{evidence} lacks {found}");
        assert!(
            evidence.contains(&format!("{metres} 米")),
            "{evidence} lacks {metres} 米"
        );
    }
}

/// Issue 21.8: the drawn-shape CSV writes rates as the server's CSV does: percentages
/// with 4 decimals under …比例(%).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drawn_shape_csv_writes_percentages_like_the_server() {
    let app = TestApp::spawn().await;
    let b = app.snapshot().county_bounds;
    let (cx, cy) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let seen = drive(
        &app,
        "drawn-csv",
        &json!({"from": [cx - 0.08, cy + 0.05], "to": [cx + 0.06, cy - 0.04]}),
    )
    .await;
    let answer: Value = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .json(&seen["body"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csv_text = seen["csv"].as_str().unwrap();
    assert!(csv_text.starts_with('\u{feff}'));
    let mut reader = csv::Reader::from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // The server's own CSV names a rate column 名称·比例(%).
    let server = app
        .get("/api/v1/stats?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let server_header: HashSet<&str> = server
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .split(',')
        .collect();
    let catalog = app.get_json("/api/v1/indicators").await;
    let pct = |rate: &Value| {
        rate.as_f64()
            .map_or_else(String::new, |r| format!("{:.4}", r * 100.0))
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let mut checked = 0;
    for ind in catalog["indicators"].as_array().unwrap() {
        let id = ind["id"].as_str().unwrap();
        if answer["totals"][id].is_null() {
            continue;
        }
        let heading = format!("{}·比例(%)", ind["name_zh"].as_str().unwrap());
        assert!(
            server_header.contains(heading.as_str()),
            "{heading} is not the server's"
        );
        let at = column(&heading);
        let total = rows.iter().find(|r| &r[0] == "圈选合计").unwrap();
        assert_eq!(&total[at], pct(&answer["totals"][id]["rate"]), "{heading}");
        for v in answer["villages"].as_array().unwrap() {
            let row = rows
                .iter()
                .find(|r| &r[1] == v["code"].as_str().unwrap())
                .unwrap();
            assert_eq!(
                &row[at],
                pct(&v["values"][id]["rate"]),
                "{heading} of {}",
                v["code"]
            );
        }
        checked += 1;
    }
    assert!(checked > 5);
    let share = column("面积占比(%)");
    for v in answer["villages"].as_array().unwrap() {
        let row = rows
            .iter()
            .find(|r| &r[1] == v["code"].as_str().unwrap())
            .unwrap();
        assert_eq!(&row[share], pct(&v["share"]));
    }
}

/// Issue 21.9: the screen says 五副甲村, not 五副甲村民委员会: panel, ranking, tooltip,
/// map labels and the quality ranking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_shows_the_short_names_officials_use() {
    let app = TestApp::spawn().await;
    let townships = names(&app, "township").await;
    let villages = names(&app, "village").await;
    let county = app.get_json("/api/v1/areas?level=county").await;
    let areas = app.get_json("/api/v1/areas?level=village").await;
    let township = "210422100";
    // The township's largest village: the mouse hovers over its name's point.
    let largest = areas
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["parent_code"] == township)
        .max_by(|a, b| {
            a["area_km2"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["area_km2"].as_f64().unwrap())
        })
        .unwrap();
    let village = largest["code"].as_str().unwrap();
    let (lon, lat) = label_points(&app, "village").await[village];
    let (tlon, tlat) = label_points(&app, "township").await[township];
    let seen = drive(
        &app,
        "names",
        &json!({"township": township, "map": format!("11.00/{tlat}/{tlon}"),
                "hover": [lon, lat], "village": village}),
    )
    .await;
    assert_eq!(seen["areaName"], townships[township]);
    let ranking = seen["ranking"].as_array().unwrap();
    assert!(!ranking.is_empty());
    for r in ranking {
        assert_eq!(
            r["name"],
            short_name(&villages[r["code"].as_str().unwrap()]),
            "{r}"
        );
    }
    let labels = seen["labels"].as_array().unwrap();
    assert!(labels.len() > 3, "{labels:?}");
    for l in labels {
        assert_eq!(
            l["name"],
            short_name(&villages[l["code"].as_str().unwrap()]),
            "{l}"
        );
    }
    assert_eq!(seen["tooltip"], short_name(&villages[village]));
    assert_eq!(seen["villageName"], short_name(&villages[village]));
    assert_eq!(
        seen["crumbs"],
        json!([
            county[0]["name"],
            townships[township],
            short_name(&villages[village])
        ])
    );
    let body = seen["bodyText"].as_str().unwrap();
    assert!(
        !body.contains("委员会") && !body.contains("居委会"),
        "{body}"
    );
    for r in seen["quality"].as_array().unwrap() {
        assert_eq!(
            r["name"],
            short_name(&villages[r["code"].as_str().unwrap()]),
            "{r}"
        );
    }
    // The names really are shortened: most villages are 村民委员会.
    assert!(
        villages
            .values()
            .filter(|n| n.ends_with("村民委员会"))
            .count()
            > 100
    );
}

/// Issue 14: a city's several counties. The page opens on the city (抚顺市) and ranks its
/// counties as the API does; 按县 colours the counties; clicking a county shows its
/// townships as the API ranks them, with the crumbs from the city; the city's crumb goes
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_opens_on_its_counties_and_drills_into_one() {
    let app = TestApp::spawn_city().await;
    let ranked = |q: String| {
        let app = &app;
        async move {
            codes(
                &app.get_json(&format!(
                    "/api/v1/stats?indicators=any_problem&sort=any_problem&order=desc{q}"
                ))
                .await["rows"],
            )
        }
    };
    let counties = ranked(String::new()).await;
    assert_eq!(counties.len(), 3);
    let county = counties[0].clone();
    let county_names = names(&app, "county").await;
    let seen = drive(
        &app,
        "city",
        &json!({"county": county, "countyName": short_name(&county_names[&county])}),
    )
    .await;
    let shown = |key: &str| -> Vec<String> {
        seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {seen}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(seen["title"], "抚顺市 · 脱贫质量排查一张图");
    assert_eq!(seen["area"], "抚顺市");
    assert_eq!(seen["crumbs"], "抚顺市");
    assert_eq!(shown("counties"), counties);
    assert_eq!(seen["heading"], "各县（市、区）排名：存在问题户");
    assert_eq!(shown("levels"), ["village", "township", "county"]);
    assert_eq!(seen["countyFill"], "visible");
    assert!(seen["legendUnit"].as_str().unwrap().ends_with("个县"));
    let townships = ranked(format!("&within={county}")).await;
    assert!(
        townships
            .iter()
            .all(|t| t.starts_with(county.as_str()) && t.len() == 9)
    );
    assert_eq!(shown("inCounty"), townships);
    assert_eq!(
        seen["inCountyCrumbs"],
        format!("抚顺市›{}", short_name(&county_names[&county]))
    );
    assert_eq!(seen["inCountyLevel"], "township");
    assert_eq!(shown("back"), counties);
    assert_eq!(seen["errors"], json!([]), "{seen}");
}

/// Issue 14: a province's two cities. The page opens on the province (辽宁省) and ranks
/// its cities as the API does; 按市 colours each city in its class's colour; clicking
/// a city colours and ranks its counties, a county its townships, with the crumbs from
/// the province; the province's crumb goes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_opens_on_its_cities_and_drills_into_a_county() {
    let app = TestApp::spawn_province().await;
    let ranked = |q: String| {
        let app = &app;
        async move {
            app.get_json(&format!(
                "/api/v1/stats?indicators=any_problem&sort=any_problem&order=desc{q}"
            ))
            .await
        }
    };
    let top = ranked(String::new()).await;
    let cities = codes(&top["rows"]);
    assert_eq!(cities.len(), 2);
    let city = cities[1].clone();
    let inside = ranked(format!("&within={city}")).await;
    let counties = codes(&inside["rows"]);
    let county = counties[0].clone();
    let city_names = names(&app, "city").await;
    let points = label_points(&app, "city").await;
    let palette_answer = app.get_json("/api/v1/indicators").await;
    let palette: Vec<&str> = palette_answer["palette"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let seen = drive(
        &app,
        "province",
        &json!({"city": city, "cityName": short_name(&city_names[&city]), "county": county,
                "shot": dir.path().join("province.png"),
                "points": cities.iter().map(|c| {
                    let (lon, lat) = points[c];
                    json!({"code": c, "lon": lon, "lat": lat})
                }).collect::<Vec<_>>()}),
    )
    .await;
    let shown = |key: &str| -> Vec<String> {
        seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {seen}"))
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(seen["title"], "辽宁省 · 脱贫质量排查一张图");
    assert_eq!(shown("cities"), cities);
    assert_eq!(seen["heading"], "各市排名：存在问题户");
    assert_eq!(shown("levels"), ["village", "township", "county", "city"]);
    assert_eq!(seen["cityFill"], "visible");
    assert!(seen["legendUnit"].as_str().unwrap().ends_with("个市"));
    let shot = seen["shot"].as_str().unwrap();
    for (p, row) in seen["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(top["rows"].as_array().unwrap())
    {
        assert_eq!(p["code"], row["code"]);
        assert_eq!(p["clear"], true, "{p} under a box");
        let class = row["values"]["any_problem"]["class"].as_u64().unwrap();
        let got = pixel(shot, p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
        let want = blended(palette[usize::try_from(class).unwrap()]);
        assert!(
            close(got, want),
            "{p}: drawn {got:?}, class {class} is {want:?}"
        );
    }
    assert_eq!(shown("inCity"), counties);
    assert_eq!(
        seen["inCityCrumbs"],
        format!("辽宁省›{}", short_name(&city_names[&city]))
    );
    assert_eq!(seen["inCityLevel"], "county");
    let townships = codes(&ranked(format!("&within={county}")).await["rows"]);
    assert_eq!(shown("inCounty"), townships);
    let county_names = names(&app, "county").await;
    assert_eq!(
        seen["inCountyCrumbs"],
        format!(
            "辽宁省›{}›{}",
            short_name(&city_names[&city]),
            short_name(&county_names[&county])
        )
    );
    assert_eq!(seen["inCountyLevel"], "township");
    assert_eq!(shown("back"), cities);
    assert_eq!(seen["errors"], json!([]), "{seen}");
}
