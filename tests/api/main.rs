//! API integration tests: one binary, a real server on a loopback port, a real DuckDB
//! file built by the demo generator.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

mod access;
mod basemaps;
mod briefings;
mod city;
mod crosschecks;
mod exits;
mod helpers;
mod ledger;
#[path = "../support/libreoffice.rs"]
mod libreoffice;
mod measures;
mod plans;
mod province;
mod recount;
mod robustness;
pub mod tiles;
mod visits;

use helpers::{TEST_HOUSEHOLDS, TestApp};
use serde_json::{Value, json};

#[tokio::test]
async fn health_reports_the_data_version_and_household_count() {
    let app = TestApp::spawn().await;
    let body = app.get_json("/health").await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["households"], TEST_HOUSEHOLDS);
    assert!(body["data_version"].as_i64().unwrap() > 0);
}

/// The catalog says which columns of the national systems' exports each household
/// indicator is computed from, each a header the household import reads; ledger items
/// name none.
#[tokio::test]
async fn every_household_indicator_names_the_columns_it_is_computed_from() {
    let app = TestApp::spawn().await;
    let catalog = app.get_json("/api/v1/indicators").await;
    let vocabulary = paicha::import::households::columns::Vocabulary::builtin();
    for ind in catalog["indicators"].as_array().unwrap() {
        let columns: Vec<&str> = ind["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        if ind["unit"] == "items" {
            assert!(columns.is_empty(), "{ind}");
            continue;
        }
        assert!(!columns.is_empty(), "{ind}");
        for c in columns {
            assert!(vocabulary.field_of(c).is_some(), "{}: {c}", ind["id"]);
        }
    }
    let dropout = catalog["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "dropout")
        .unwrap();
    assert_eq!(
        dropout["columns"],
        json!(["在校生状况", "出生日期", "证件号码"])
    );
}

#[tokio::test]
async fn the_15_townships_are_listed_with_household_counts_that_add_up() {
    let app = TestApp::spawn().await;
    let body = app.get_json("/api/v1/areas?level=township").await;
    let townships = body.as_array().unwrap();
    assert_eq!(townships.len(), 15);
    assert_eq!(townships[0]["code"], "210422100");
    assert_eq!(townships[0]["name"], "新宾镇");
    assert_eq!(townships[0]["level"], "township");
    assert_eq!(townships[0]["level_name"], "乡镇");
    assert_eq!(townships[0]["parent_code"], "210422");
    let total: i64 = townships
        .iter()
        .map(|t| t["households"].as_i64().unwrap())
        .sum();
    assert_eq!(total, TEST_HOUSEHOLDS as i64);

    let county = app.get_json("/api/v1/areas?level=county").await;
    assert_eq!(county[0]["code"], "210422");
    assert_eq!(county[0]["households"], TEST_HOUSEHOLDS);
}

#[tokio::test]
async fn villages_of_a_township_sum_to_the_township() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    for t in townships.as_array().unwrap() {
        let code = t["code"].as_str().unwrap();
        let villages = app.get_json(&format!("/api/v1/areas?parent={code}")).await;
        let villages = villages.as_array().unwrap();
        assert!(!villages.is_empty(), "{code}");
        let sum: i64 = villages
            .iter()
            .map(|v| v["households"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, t["households"].as_i64().unwrap(), "{code}");
    }
    let all = app.get_json("/api/v1/areas?level=village").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        194,
        "villages and communities"
    );
    let communities = app.get_json("/api/v1/areas?level=community").await;
    assert_eq!(communities.as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn an_area_is_a_geojson_feature_with_rounded_coordinates() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/areas/210422100201").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let f: Value = response.json().await.unwrap();
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], "210422100201");
    assert_eq!(f["properties"]["name"], "五副甲村民委员会");
    assert_eq!(f["properties"]["level"], "village");
    assert_eq!(f["properties"]["parent_code"], "210422100");
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    let ring = f["geometry"]["coordinates"][0][0].as_array().unwrap();
    assert!(ring.len() >= 4);
    assert_eq!(ring.first(), ring.last(), "rings are closed");
    for p in ring {
        let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!((124.3..125.5).contains(&lon) && (41.2..42.0).contains(&lat));
        for v in [lon, lat] {
            let decimals = v.to_string().split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 7, "{v} has more than 7 decimals");
        }
    }
}

#[tokio::test]
async fn the_collection_of_a_township_holds_its_villages() {
    let app = TestApp::spawn().await;
    let fc = app
        .get_json("/api/v1/areas.geojson?level=village&parent=210422102")
        .await;
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().unwrap();
    assert_eq!(
        features.len(),
        28,
        "永陵镇 has 25 villages and 3 communities"
    );
    assert!(
        features
            .iter()
            .all(|f| f["properties"]["parent_code"] == "210422102")
    );
}

#[tokio::test]
async fn an_unknown_area_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let body = app.get_problem("/api/v1/areas/210422999999", 404).await;
    assert_eq!(body["title"], "Not found");
    assert_eq!(body["detail"], "no area with code 210422999999");
}

#[tokio::test]
async fn a_malformed_code_is_a_400_problem_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let body = app.get_problem("/api/v1/areas/21042x", 400).await;
    assert_eq!(body["errors"][0]["field"], "code");
}

#[tokio::test]
async fn bad_list_parameters_are_each_named() {
    let app = TestApp::spawn().await;
    let body = app
        .get_problem("/api/v1/areas?level=hamlet&parent=123", 400)
        .await;
    let fields = helpers::problem_fields(&body);
    assert_eq!(fields, ["level", "parent"]);
    assert_eq!(body["detail"], "invalid value for: level, parent");

    let typo = app.get_problem("/api/v1/areas?levle=township", 400).await;
    assert_eq!(typo["errors"][0]["field"], "levle");
}

#[tokio::test]
async fn unknown_api_paths_are_404_problems_and_the_web_page_is_served() {
    let app = TestApp::spawn().await;
    let body = app.get_problem("/api/v1/nothing-here", 404).await;
    assert_eq!(body["detail"], "no API endpoint at /api/v1/nothing-here");

    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("脱贫质量排查一张图"),
        "the page says what it is"
    );
    // Third-party code comes from our own server, never from a CDN.
    for needle in [
        "vendor/maplibre-gl/maplibre-gl.js",
        "vendor/pmtiles/pmtiles.js",
    ] {
        assert!(html.contains(needle), "{needle}");
        let script = app.get(&format!("/{needle}")).await;
        assert_eq!(script.status(), 200, "{needle}");
        assert_eq!(script.headers()["content-type"], "text/javascript");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    // The packages' other files stay private.
    assert_eq!(
        app.get("/node_modules/maplibre-gl/package.json")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn responses_are_gzip_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!(
            "{}/api/v1/areas.geojson?level=township",
            app.address
        ))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn crs_conversion_round_trips_and_names_bad_parameters() {
    let app = TestApp::spawn().await;
    let g = app
        .get_json("/api/v1/crs/convert?from=wgs84&to=gcj02&lon=125.04&lat=41.73")
        .await;
    let (glon, glat) = (g["lon"].as_f64().unwrap(), g["lat"].as_f64().unwrap());
    assert!((glon - 125.04).abs() > 0.003, "GCJ-02 shifts the point");
    let w = app
        .get_json(&format!(
            "/api/v1/crs/convert?from=gcj02&to=wgs84&lon={glon}&lat={glat}"
        ))
        .await;
    assert!((w["lon"].as_f64().unwrap() - 125.04).abs() < 1e-6);
    assert!((w["lat"].as_f64().unwrap() - 41.73).abs() < 1e-6);

    let body = app
        .get_problem("/api/v1/crs/convert?from=utm&to=wgs84&lon=200&lat=41", 400)
        .await;
    let fields = helpers::problem_fields(&body);
    assert_eq!(fields, ["from", "lon"]);
    let missing = app
        .get_problem("/api/v1/crs/convert?from=wgs84&to=gcj02&lon=1", 400)
        .await;
    assert_eq!(missing["errors"][0]["field"], "lat");
}

#[tokio::test]
async fn locate_names_the_village_and_township_or_says_outside() {
    let app = TestApp::spawn().await;
    let fc = app
        .get_json("/api/v1/areas.geojson?level=village&parent=210422205")
        .await;
    // A vertex average of a Voronoi cell lies inside it (the cells are convex or
    // nearly so); use the first village of 北四平乡.
    let f = &fc["features"][0];
    let ring = f["geometry"]["coordinates"][0][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let lon: f64 = ring[..ring.len() - 1]
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .sum::<f64>()
        / n;
    let lat: f64 = ring[..ring.len() - 1]
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .sum::<f64>()
        / n;
    let body = app
        .get_json(&format!("/api/v1/locate?lon={lon}&lat={lat}"))
        .await;
    assert_eq!(body["inside"], true);
    assert_eq!(body["village"]["code"], f["properties"]["code"]);
    assert_eq!(body["township"]["code"], "210422205");
    assert_eq!(body["township"]["name"], "北四平乡");

    // The same place given in GCJ-02 is the same village.
    let g = app
        .get_json(&format!(
            "/api/v1/crs/convert?from=wgs84&to=gcj02&lon={lon}&lat={lat}"
        ))
        .await;
    let body = app
        .get_json(&format!(
            "/api/v1/locate?lon={}&lat={}&crs=gcj02",
            g["lon"], g["lat"]
        ))
        .await;
    assert_eq!(body["village"]["code"], f["properties"]["code"]);

    let outside = app.get_json("/api/v1/locate?lon=123.9&lat=41.85").await;
    assert_eq!(outside["inside"], false);
    assert!(outside["distance_m"].as_f64().unwrap() > 10_000.0);
    assert!(
        outside["message"]
            .as_str()
            .unwrap()
            .starts_with("不在本县范围内")
    );
}

#[tokio::test]
async fn quality_counts_add_up_across_levels() {
    let app = TestApp::spawn().await;
    let county = app.get_json("/api/v1/quality").await;
    assert_eq!(county["code"], "210422");
    assert_eq!(county["households"], TEST_HOUSEHOLDS);
    let count = |v: &Value, code: &str| -> i64 {
        v["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    let townships = county["townships"].as_array().unwrap();
    assert_eq!(townships.len(), 15);
    let no_gps: i64 = townships
        .iter()
        .map(|t| t["flags"]["no_gps"].as_i64().unwrap())
        .sum();
    assert_eq!(no_gps, count(&county, "no_gps"));
    assert!(no_gps > 0);
    assert_eq!(county["offsets"][0]["level"], "township");
    assert_eq!(county["offsets"][0]["offset"], "gcj02");

    let code = townships[0]["code"].as_str().unwrap();
    let one = app
        .get_json(&format!("/api/v1/quality?within={code}"))
        .await;
    assert_eq!(one["households"], townships[0]["households"]);
    assert!(
        one["villages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["code"].as_str().unwrap().starts_with(code))
    );
    app.get_problem("/api/v1/quality?within=210422999", 404)
        .await;
}

#[tokio::test]
async fn flagged_households_are_paged_with_personal_data_masked() {
    let app = TestApp::spawn().await;
    let page = app
        .get_json("/api/v1/quality/households?flag=no_gps&limit=5")
        .await;
    let county = app.get_json("/api/v1/quality").await;
    let no_gps = county["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "no_gps")
        .unwrap()["count"]
        .clone();
    assert_eq!(page["total"], no_gps);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for h in items {
        assert_eq!(h["flags"][0]["code"], "no_gps");
        assert_eq!(h["flags"][0]["label"], "无定位");
        let id = h["head_id_number"].as_str().unwrap();
        assert_eq!(id.len(), 18);
        assert_eq!(&id[6..14], "********", "birth date and sequence hidden");
        let name = h["head_name"].as_str().unwrap();
        assert!(name.chars().skip(1).all(|c| c == '*'), "{name}");
        assert!(name.chars().count() >= 2);
    }
    let next = app
        .get_json("/api/v1/quality/households?flag=no_gps&limit=5&offset=5")
        .await;
    assert_ne!(next["items"][0]["household_no"], items[0]["household_no"]);

    let bad = app
        .get_problem("/api/v1/quality/households?flag=nope&limit=0", 400)
        .await;
    assert_eq!(bad["errors"][0]["field"], "flag");
    let bad = app
        .get_problem("/api/v1/quality/households?limit=5000", 400)
        .await;
    assert_eq!(bad["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn the_indicator_catalog_lists_every_indicator_and_the_line_in_force() {
    let app = TestApp::spawn().await;
    let body = app.get_json("/api/v1/indicators").await;
    let ids: Vec<&str> = body["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for id in [
        "income_below_line",
        "food_clothing_insecure",
        "dropout",
        "uninsured",
        "unsafe_housing",
        "housing_unappraised",
        "water_unsafe",
        "water_not_piped",
        "monitored",
        "risk_unresolved",
        "gps_missing",
        "gps_mismatch",
        "any_problem",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    assert_eq!(body["income_line"]["yuan_per_capita"], 3442.0);
    assert_eq!(body["income_line"]["year"], 2018);
    assert_eq!(body["data_date"], "2019-07-01");
    let dropout = &body["indicators"][ids.iter().position(|i| *i == "dropout").unwrap()];
    assert_eq!(dropout["unit"], "persons");
    assert_eq!(dropout["name_zh"], "义务教育阶段失学辍学");
    assert_eq!(
        dropout["breaks"].as_array().unwrap().len() + 1,
        body["palette"].as_array().unwrap().len()
    );
}

/// The first township's code, name and household count.
async fn first_township(app: &TestApp) -> (String, i64) {
    let t = app.get_json("/api/v1/areas?level=township").await;
    (
        t[0]["code"].as_str().unwrap().to_owned(),
        t[0]["households"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn stats_by_village_cover_the_township_and_add_up() {
    let app = TestApp::spawn().await;
    let (township, households) = first_township(&app).await;
    let body = app
        .get_json(&format!(
            "/api/v1/stats?within={township}&indicators=any_problem,dropout,gps_mismatch"
        ))
        .await;
    assert_eq!(body["level"], "village");
    assert_eq!(body["within"]["code"], township);
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), villages.as_array().unwrap().len());
    for (row, village) in rows.iter().zip(villages.as_array().unwrap()) {
        assert_eq!(row["code"], village["code"]);
        assert_eq!(row["households"], village["households"]);
        let any = &row["values"]["any_problem"];
        assert_eq!(any["denominator"], row["households"]);
        let (c, d) = (
            any["count"].as_f64().unwrap(),
            any["denominator"].as_f64().unwrap(),
        );
        if d > 0.0 {
            // Exactly count / denominator, bit for bit.
            assert_eq!(any["rate"].as_f64().unwrap().to_bits(), (c / d).to_bits());
        }
    }
    assert_eq!(body["total"]["households"], households);
    for id in ["any_problem", "dropout", "gps_mismatch"] {
        let sum: i64 = rows
            .iter()
            .map(|r| r["values"][id]["count"].as_i64().unwrap())
            .sum();
        assert_eq!(body["total"]["values"][id]["count"], sum, "{id}");
    }
    // The township row at township level is the same total.
    let own = app
        .get_json(&format!("/api/v1/stats?within={township}&level=township&indicators=any_problem,dropout,gps_mismatch"))
        .await;
    assert_eq!(own["rows"].as_array().unwrap().len(), 1);
    assert_eq!(own["rows"][0]["values"], body["total"]["values"]);
}

#[tokio::test]
async fn a_ranking_sorts_by_rate_and_keeps_the_top_rows() {
    let app = TestApp::spawn().await;
    let body = app
        .get_json("/api/v1/stats?level=village&indicators=any_problem,unsafe_housing&sort=unsafe_housing&limit=10")
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let rates: Vec<f64> = rows
        .iter()
        .map(|r| {
            r["values"]["unsafe_housing"]["rate"]
                .as_f64()
                .unwrap_or(-1.0)
        })
        .collect();
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");
    assert_eq!(rows[0]["rank"], 1);
    assert_eq!(rows[9]["rank"], 10);
    // The total is still the whole county.
    assert_eq!(body["total"]["households"], TEST_HOUSEHOLDS);
    let by_count = app
        .get_json("/api/v1/stats?level=township&indicators=dropout&sort=dropout.count&order=asc")
        .await;
    let counts: Vec<i64> = by_count["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["dropout"]["count"].as_i64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
}

#[tokio::test]
async fn a_category_filter_and_counting_by_location_change_the_figures() {
    let app = TestApp::spawn().await;
    let all = app
        .get_json("/api/v1/stats?level=county&indicators=monitored")
        .await;
    let monitored = app
        .get_json("/api/v1/stats?level=county&indicators=monitored&category=monitored")
        .await;
    let m = all["total"]["values"]["monitored"]["count"]
        .as_i64()
        .unwrap();
    assert!(m > 0);
    // Among monitored households only, all of them are monitored.
    assert_eq!(monitored["total"]["households"], m);
    assert_eq!(monitored["total"]["values"]["monitored"]["count"], m);
    assert_eq!(monitored["categories"].as_array().unwrap().len(), 3);

    let located = app
        .get_json("/api/v1/stats?level=township&indicators=gps_missing&by=location")
        .await;
    assert_eq!(located["by"], "location");
    let unlocated = located["unlocated"].as_i64().unwrap();
    assert!(unlocated > 0, "households with no position are nowhere");
    assert_eq!(
        located["total"]["households"].as_i64().unwrap() + unlocated,
        TEST_HOUSEHOLDS as i64
    );
    // Located households have a position by definition.
    assert_eq!(located["total"]["values"]["gps_missing"]["count"], 0);
}

#[tokio::test]
async fn stats_export_as_csv_xlsx_and_geojson_with_the_same_numbers() {
    use calamine::{DataType, Reader};
    let app = TestApp::spawn().await;
    let (township, _) = first_township(&app).await;
    let q = format!("/api/v1/stats?within={township}&indicators=any_problem,dropout");
    let json = app.get_json(&q).await;
    let rows = json["rows"].as_array().unwrap();

    let csv = app.get(&format!("{q}&format=csv")).await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    let bytes = csv.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "代码");
    assert_eq!(&headers[4], "存在问题户（户）");
    assert_eq!(&headers[7], "义务教育阶段失学辍学（人）");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows.len() + 1, "rows and the total");
    for (rec, row) in records.iter().zip(rows) {
        assert_eq!(&rec[0], row["code"].as_str().unwrap());
        assert_eq!(
            rec[3].parse::<i64>().unwrap(),
            row["households"].as_i64().unwrap()
        );
        assert_eq!(
            rec[4].parse::<i64>().unwrap(),
            row["values"]["any_problem"]["count"].as_i64().unwrap()
        );
        assert_eq!(
            rec[7].parse::<i64>().unwrap(),
            row["values"]["dropout"]["count"].as_i64().unwrap()
        );
    }
    assert!(records.last().unwrap()[1].ends_with("（合计）"));

    let xlsx = app.get(&format!("{q}&format=xlsx")).await;
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = xlsx.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("指标统计").unwrap();
    assert!(
        sheet
            .get_value((0, 0))
            .unwrap()
            .to_string()
            .contains("数据日期：2019-07-01")
    );
    assert_eq!(sheet.get_value((1, 0)).unwrap().to_string(), "代码");
    for (i, row) in rows.iter().enumerate() {
        let r = (i + 2) as u32;
        assert_eq!(
            sheet.get_value((r, 0)).unwrap().to_string(),
            row["code"].as_str().unwrap()
        );
        let count = sheet.get_value((r, 4)).unwrap().as_f64().unwrap();
        assert_eq!(
            count as i64,
            row["values"]["any_problem"]["count"].as_i64().unwrap()
        );
        if let Some(rate) = row["values"]["any_problem"]["rate"].as_f64() {
            assert_eq!(
                sheet.get_value((r, 6)).unwrap().as_f64().unwrap().to_bits(),
                rate.to_bits()
            );
        }
    }

    let geo = app.get_json(&format!("{q}&format=geojson")).await;
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), rows.len());
    assert_eq!(features[0]["geometry"]["type"], "MultiPolygon");
    let p = &features[0]["properties"];
    assert_eq!(p["code"], rows[0]["code"]);
    assert_eq!(
        p["any_problem_count"],
        rows[0]["values"]["any_problem"]["count"]
    );
    assert_eq!(p["dropout_rate"], rows[0]["values"]["dropout"]["rate"]);
}

#[tokio::test]
async fn bad_stats_parameters_are_each_named() {
    let app = TestApp::spawn().await;
    let body = app
        .get_problem(
            "/api/v1/stats?indicators=dropout,nope&level=hamlet&format=pdf&by=gps&order=up&sort=x",
            400,
        )
        .await;
    assert_eq!(
        helpers::problem_fields(&body),
        ["indicators", "by", "format", "order", "sort", "level"]
    );
    let body = app.get_problem("/api/v1/stats?colour=red", 400).await;
    assert_eq!(helpers::problem_fields(&body), ["colour"]);
    let body = app
        .get_problem("/api/v1/stats?within=210422100201&level=township", 400)
        .await;
    assert_eq!(helpers::problem_fields(&body), ["level"]);
    app.get_problem("/api/v1/stats?within=210422999", 404).await;
}

async fn post_query(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/query", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_drawn_village_boundary_gives_the_villages_figures_by_location() {
    let app = TestApp::spawn().await;
    let (township, _) = first_township(&app).await;
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await;
    let code = villages[1]["code"].as_str().unwrap();
    let feature = app.get_json(&format!("/api/v1/areas/{code}")).await;
    let ids = ["any_problem", "dropout", "water_unsafe", "gps_mismatch"];
    let response = post_query(
        &app,
        &serde_json::json!({ "geometry": feature["geometry"], "indicators": ids }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let stats = app
        .get_json(&format!(
            "/api/v1/stats?within={code}&by=location&indicators={}",
            ids.join(",")
        ))
        .await;
    let row = &stats["rows"][0];
    assert_eq!(answer["households"], row["households"]);
    for id in ids {
        assert_eq!(answer["totals"][id], row["values"][id], "{id}");
    }
    let own = answer["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == code)
        .unwrap();
    assert!(own["share"].as_f64().unwrap() > 0.999);
    assert_eq!(own["households"], row["households"]);
    assert_eq!(answer["shape"]["kind"], "polygon");
    // Neighbours touch along the shared border but hold none of the households.
    for v in answer["villages"].as_array().unwrap() {
        if v["code"] != code {
            assert!(v["share"].as_f64().unwrap() < 0.01, "{v}");
        }
    }
}

#[tokio::test]
async fn boxes_and_circles_are_queried_and_their_limits_named() {
    let app = TestApp::spawn().await;
    let located = app.get_json("/api/v1/locate?lon=125.04&lat=41.73").await;
    let bbox = post_query(
        &app,
        &serde_json::json!({ "bbox": [124.9, 41.6, 125.2, 41.85], "indicators": ["any_problem"] }),
    )
    .await;
    assert_eq!(bbox.status(), 200);
    let bbox: Value = bbox.json().await.unwrap();
    assert!(bbox["households"].as_i64().unwrap() > 0);
    let circle: Value = post_query(
        &app,
        &serde_json::json!({ "circle": { "center": [125.04, 41.73], "radius_m": 2000.0 } }),
    )
    .await
    .json()
    .await
    .unwrap();
    if located["inside"] == true {
        let village = &located["village"]["code"];
        assert!(
            circle["villages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["code"] == *village)
        );
    }
    assert!(circle["households"].as_i64().unwrap() <= bbox["households"].as_i64().unwrap());

    // Limits and bad shapes: 400 naming the field, 413 for the body.
    let many: Vec<[f64; 2]> = (0..=25_000)
        .map(|i| {
            let a = f64::from(i) / 25_000.0 * std::f64::consts::TAU;
            [125.0 + 0.1 * a.cos(), 41.7 + 0.1 * a.sin()]
        })
        .collect();
    let mut ring = many.clone();
    ring.push(many[0]);
    let r = post_query(
        &app,
        &serde_json::json!({ "geometry": { "type": "Polygon", "coordinates": [ring] } }),
    )
    .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(helpers::problem_fields(&p), ["geometry"]);
    assert!(
        p["errors"][0]["reason"].as_str().unwrap().contains("20000"),
        "{p}"
    );

    let bowtie = serde_json::json!({ "geometry": { "type": "Polygon",
        "coordinates": [[[125.0, 41.7], [125.1, 41.8], [125.1, 41.7], [125.0, 41.8], [125.0, 41.7]]] } });
    let p: Value = post_query(&app, &bowtie).await.json().await.unwrap();
    assert_eq!(helpers::problem_fields(&p), ["geometry"]);

    let huge = serde_json::json!({ "bbox": [120.0, 38.0, 130.0, 45.0] });
    let p: Value = post_query(&app, &huge).await.json().await.unwrap();
    assert!(
        p["errors"][0]["reason"].as_str().unwrap().contains("km²"),
        "{p}"
    );

    let two = serde_json::json!({ "bbox": [125.0, 41.7, 125.1, 41.8], "circle": { "center": [125.0, 41.7], "radius_m": 10.0 } });
    assert_eq!(post_query(&app, &two).await.status(), 400);
    let bad = serde_json::json!({ "circle": { "center": [125.0, 41.7], "radius_m": "far" } });
    let p: Value = post_query(&app, &bad).await.json().await.unwrap();
    assert_eq!(helpers::problem_fields(&p), ["circle.radius_m"]);

    let padding = "x".repeat(2 << 20);
    let r = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"bbox\": [125.0, 41.7, 125.1, 41.8], \"pad\": \"{padding}\"}}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("1048576"), "{p}");
}

#[tokio::test]
async fn the_households_behind_a_count_are_listed_masked_with_their_reasons() {
    let app = TestApp::spawn().await;
    let stats = app
        .get_json("/api/v1/stats?level=village&indicators=unsafe_housing&sort=unsafe_housing.count&limit=1")
        .await;
    let village = stats["rows"][0]["code"].as_str().unwrap();
    let count = stats["rows"][0]["values"]["unsafe_housing"]["count"]
        .as_i64()
        .unwrap();
    assert!(count > 0);
    let page = app
        .get_json(&format!(
            "/api/v1/households?within={village}&indicator=unsafe_housing&limit=1000"
        ))
        .await;
    assert_eq!(page["total"], count);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, count);
    for item in items {
        assert_eq!(item["village_code"], village);
        assert!(item["head_name"].as_str().unwrap().contains('*'), "{item}");
        let failed = item["failed"].as_array().unwrap();
        let unsafe_house = failed.iter().find(|f| f["id"] == "unsafe_housing").unwrap();
        let reason = unsafe_house["reasons"][0].as_str().unwrap();
        assert!(reason.contains("C级") || reason.contains("D级"), "{reason}");
        assert!(failed.iter().any(|f| f["id"] == "any_problem"));
    }
    // No ID number anywhere: the demo's all start 21049 (household numbers start
    // with the village code, 210422…).
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains("\"21049"), "an ID number in {text}");
    let any = items[0]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "any_problem")
        .unwrap();
    assert!(
        any["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "居住危房"),
        "{any}"
    );

    let dropouts = app
        .get_json("/api/v1/households?indicator=dropout&limit=5")
        .await;
    let reason = dropouts["items"][0]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "dropout")
        .unwrap()["reasons"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("失学辍学") && reason.contains('*'),
        "{reason}"
    );
    let body = app
        .get_problem("/api/v1/households?indicator=nope&limit=0", 400)
        .await;
    assert_eq!(helpers::problem_fields(&body), ["indicator", "limit"]);
}

/// Every household as a file: XLSX keeps the 18-digit numbers whole when `LibreOffice`
/// (an independent reader) opens it; CSV holds them too, but a spreadsheet that
/// detects numbers shows them rounded, as the README says.
#[tokio::test]
async fn the_households_file_keeps_every_digit_of_the_numbers() {
    let app = TestApp::spawn().await;
    let township = app.get_json("/api/v1/areas?level=township").await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut expected = Vec::new();
    for offset in (0..).step_by(1000) {
        let page = app
            .get_json(&format!(
                "/api/v1/households?within={township}&limit=1000&offset={offset}"
            ))
            .await;
        for item in page["items"].as_array().unwrap() {
            expected.push(item.clone());
        }
        if offset + 1000 >= page["total"].as_i64().unwrap() {
            break;
        }
    }
    assert!(expected.len() > 10);

    let response = app
        .get(&format!("/api/v1/households?within={township}&format=xlsx"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let xlsx = response.bytes().await.unwrap();
    // As LibreOffice shows the cells, converted to CSV.
    let shown = helpers::libreoffice_to_csv(&xlsx, "xlsx");
    let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(shown.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert!(rows[0][0].contains("存在问题户的农户"), "{:?}", rows[0]);
    assert_eq!(rows[1][..3], ["户编号", "乡镇", "村"]);
    assert_eq!(rows.len(), 2 + expected.len());
    for (row, item) in rows[2..].iter().zip(&expected) {
        assert_eq!(
            row[0],
            item["household_no"].as_str().unwrap(),
            "all 18 digits"
        );
        assert_eq!(row[0].len(), 18);
        assert_eq!(row[3], item["head_name"].as_str().unwrap());
        assert_eq!(row[5], item["members"].to_string());
        let names: Vec<&str> = item["failed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] != "any_problem")
            .map(|f| f["name_zh"].as_str().unwrap())
            .collect();
        assert_eq!(row[7], names.join("；"));
        assert!(!row[8].is_empty());
    }

    // The CSV holds the same numbers as text; no ID number in either file.
    let csv_bytes = app
        .get(&format!("/api/v1/households?within={township}&format=csv"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&csv_bytes[3..]).unwrap();
    let first: Vec<&str> = text.lines().skip(1).map(|l| &l[..18]).collect();
    let numbers: Vec<&str> = expected
        .iter()
        .map(|i| i["household_no"].as_str().unwrap())
        .collect();
    assert_eq!(first, numbers);
    assert!(!text.contains("21049") && !shown.contains("21049"));

    let body = app.get_problem("/api/v1/households?format=pdf", 400).await;
    assert_eq!(helpers::problem_fields(&body), ["format"]);
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/health",
        "/api/v1/areas",
        "/api/v1/areas.geojson",
        "/api/v1/areas/{code}",
        "/api/v1/crs/convert",
        "/api/v1/locate",
        "/api/v1/quality",
        "/api/v1/quality/households",
        "/api/v1/indicators",
        "/api/v1/stats",
        "/api/v1/query",
        "/api/v1/households",
        "/tiles/{file}",
        "/tiles/{layer}/{z}/{x}/{y}",
        "/tiles/heat/{indicator}/{z}/{x}/{y}",
        "/api/v1/maps/{file}",
        "/api/v1/charts/{file}",
        "/api/v1/checklists",
        "/api/v1/checklists/{id}",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}",
        "/api/v1/campaigns/{id}/entries",
        "/api/v1/campaigns/{id}/entries/{village}/{position}",
        "/api/v1/campaigns/{id}/matrix",
        "/api/v1/campaigns/{id}/report",
        "/api/v1/households/{household_no}",
        "/api/v1/basemaps",
        "/tiles/basemaps/{id}/{z}/{x}/{y}",
        "/tiles/basemaps/{file}",
        "/fonts/{stack}/{range}",
        "/api/v1/plans",
        "/api/v1/plans/{file}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/stats"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        [
            "indicators",
            "level",
            "within",
            "category",
            "by",
            "sort",
            "order",
            "limit",
            "format"
        ]
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

/// Issue 15: a household's view says what it receives and when it was monitored, in
/// the national systems' words, as the admin export stores it.
#[tokio::test]
async fn a_households_view_carries_its_support_and_monitoring_record() {
    use paicha::domain::{AidMeasure, Relief, RiskType};
    let app = TestApp::spawn().await;
    let (households, _) = app.raw_rows();
    let words = |codes: &str, word: &dyn Fn(&str) -> Option<&'static str>| -> Vec<String> {
        codes
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| word(c).unwrap().to_owned())
            .collect()
    };
    // A monitored household with a second risk, support and measures, and one without.
    let full = households
        .iter()
        .find(|h| {
            !h["other_risks"].is_empty()
                && !h["aid_measures"].is_empty()
                && !h["identified_month"].is_empty()
                && h["relief"] == "subsistence"
        })
        .expect("the demo has a monitored household on 低保 with measures and two risks");
    let bare = households
        .iter()
        .find(|h| h["aid_measures"].is_empty() && h["risk_type"].is_empty())
        .unwrap();
    for h in [full, bare] {
        let no = &h["household_no"];
        let view = app.get_json(&format!("/api/v1/households/{no}")).await;
        let support = &view["support"];
        let mut risks = words(&h["risk_type"], &|c| {
            RiskType::from_code(c).map(RiskType::label_zh)
        });
        risks.extend(words(&h["other_risks"], &|c| {
            RiskType::from_code(c).map(RiskType::label_zh)
        }));
        assert_eq!(support["risks"], json!(risks), "{no}");
        let measures = words(&h["aid_measures"], &|c| {
            AidMeasure::from_code(c).map(AidMeasure::label_zh)
        });
        assert_eq!(support["aid_measures"], json!(measures), "{no}");
        let toilet = match h["sanitary_toilet"].as_str() {
            "true" => json!(true),
            "false" => json!(false),
            _ => Value::Null,
        };
        assert_eq!(support["sanitary_toilet"], toilet, "{no}");
        let month = |k: &str| {
            if h[k].is_empty() {
                Value::Null
            } else {
                json!(h[k])
            }
        };
        assert_eq!(support["identified_month"], month("identified_month"));
        assert_eq!(support["eliminated_month"], month("eliminated_month"));
        let relief = Relief::from_code(&h["relief"]).map(Relief::label_zh);
        assert_eq!(support["relief"], json!(relief), "{no}");
    }
    assert_eq!(
        app.get_json(&format!("/api/v1/households/{}", full["household_no"]))
            .await["support"]["relief"],
        "低保"
    );
}
