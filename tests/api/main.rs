//! API integration tests: one binary, a real server on a loopback port, a real DuckDB
//! file built by the demo generator.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

mod helpers;

use helpers::{TEST_HOUSEHOLDS, TestApp};
use serde_json::Value;

#[tokio::test]
async fn health_reports_the_data_version_and_household_count() {
    let app = TestApp::spawn().await;
    let body = app.get_json("/health").await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["households"], TEST_HOUSEHOLDS);
    assert!(body["data_version"].as_i64().unwrap() > 0);
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
        .get_problem("/api/v1/areas?level=province&parent=12", 400)
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
        html.contains("新宾满族自治县"),
        "the start page says what it is"
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
