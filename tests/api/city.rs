//! Several counties under one city (`paicha demo --city`), served over loopback: a city
//! analyst ranks the counties, drills to a county and a township; the city's figures
//! are the sums of its counties'; the county tile layer, the city's static map and the
//! quality view work at the city and at one of its counties.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::{TEST_HOUSEHOLDS as HOUSEHOLDS, TestApp};

/// code → (households, count of the first indicator) of a stats answer's rows.
fn figures(stats: &Value) -> BTreeMap<String, (i64, i64)> {
    stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let first = r["values"].as_object().unwrap().values().next().unwrap();
            (
                r["code"].as_str().unwrap().to_owned(),
                (
                    r["households"].as_i64().unwrap(),
                    first["count"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_city_analyst_ranks_counties_and_drills_to_a_township() {
    let city = TestApp::spawn_city().await;
    let counties = city.get_json("/api/v1/areas?level=county").await;
    let codes: Vec<&str> = counties
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["210421", "210422", "210423"]);
    let cities = city.get_json("/api/v1/areas?level=city").await;
    assert_eq!(cities[0]["code"], "2104");
    assert_eq!(cities[0]["households"], HOUSEHOLDS);
    assert_eq!(cities[0]["boundary"], "file");

    // With no area asked, the views are the city's: its counties ranked.
    let stats = city.get_json("/api/v1/stats?indicators=any_problem").await;
    assert_eq!(stats["within"]["code"], "2104");
    assert_eq!(stats["within"]["level"], "city");
    assert_eq!(stats["level"], "county");
    let by_county = figures(&stats);
    assert_eq!(by_county.len(), 3);
    let households: i64 = by_county.values().map(|v| v.0).sum();
    let problems: i64 = by_county.values().map(|v| v.1).sum();
    assert_eq!(households, i64::try_from(HOUSEHOLDS).unwrap());
    assert_eq!(stats["total"]["households"], households);
    assert_eq!(stats["total"]["values"]["any_problem"]["count"], problems);
    for (code, (n, _)) in &by_county {
        assert!(*n > 0, "{code} has no household");
    }

    // Each county's figures, asked within it, are its row of the city's table, and
    // its townships' add up to it.
    for (code, (n, count)) in &by_county {
        let county = city
            .get_json(&format!(
                "/api/v1/stats?indicators=any_problem&within={code}"
            ))
            .await;
        assert_eq!(county["level"], "township");
        assert_eq!(county["total"]["households"], *n);
        assert_eq!(county["total"]["values"]["any_problem"]["count"], *count);
        let townships = figures(&county);
        assert!(townships.keys().all(|t| t.starts_with(code.as_str())));
        assert_eq!(townships.values().map(|v| v.0).sum::<i64>(), *n);
    }

    // A county's all-village ranking stays in the county.
    let villages = city
        .get_json("/api/v1/stats?indicators=any_problem&within=210421&level=village")
        .await;
    assert!(
        figures(&villages)
            .keys()
            .all(|v| v.starts_with("210421") && v.len() == 12)
    );
    // Villages of the whole city, for a city-wide ranking.
    let all = city
        .get_json("/api/v1/stats?indicators=any_problem&level=village&limit=100000")
        .await;
    let prefixes: std::collections::BTreeSet<&str> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["code"].as_str().unwrap()[..6])
        .collect();
    assert_eq!(prefixes.len(), 3);

    // A level above the area asked is refused, naming the parameter.
    let bad = city
        .get("/api/v1/stats?within=210421100&level=county")
        .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "level");
}

#[tokio::test]
async fn the_county_layer_static_map_and_quality_work_at_the_city() {
    let city = TestApp::spawn_city().await;
    // The county tile layer carries each county's figures.
    let tilejson = city.get_json("/tiles/counties.json").await;
    let bounds: Vec<f64> = tilejson["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // The zoom-7 tile holding the middle of the city.
    let zoom = 7_u8;
    let (lon, lat) = (
        f64::midpoint(bounds[0], bounds[2]),
        f64::midpoint(bounds[1], bounds[3]),
    );
    let side = f64::from(1_u32 << zoom);
    let column = ((lon + 180.0) / 360.0 * side) as u32;
    let row = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * side) as u32;
    let tile = city
        .get(&format!(
            "/tiles/counties/{zoom}/{column}/{row}.mvt?indicators=any_problem"
        ))
        .await;
    assert_eq!(tile.status(), 200);
    let bytes = tile.bytes().await.unwrap().to_vec();
    let reader = mvt_reader::Reader::new(bytes).unwrap();
    let features = reader.get_features_as::<f64>(0).unwrap();
    let mut codes: Vec<String> = features
        .iter()
        .filter_map(|f| {
            f.properties.as_ref()?.get("code").map(|v| match v {
                mvt_reader::feature::Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            })
        })
        .collect();
    codes.sort();
    codes.dedup();
    assert!(!codes.is_empty());
    assert!(
        codes.iter().all(|c| c.len() == 6 && c.starts_with("2104")),
        "{codes:?}"
    );

    // The city's static map draws its counties.
    let map = city.get("/api/v1/maps/any_problem.svg").await;
    assert_eq!(map.status(), 200);
    let svg = map.text().await.unwrap();
    assert!(svg.contains("抚顺市各县（市、区）存在问题户比例"), "title");
    for name in ["抚顺县", "新宾满族自治县", "清原满族自治县"] {
        assert!(svg.contains(name), "{name} labelled");
    }

    // Location quality: the city's households, and one county's as its townships' sum.
    let whole = city.get_json("/api/v1/quality").await;
    assert_eq!(whole["code"], "2104");
    assert_eq!(whole["households"], HOUSEHOLDS);
    let stats = city.get_json("/api/v1/stats?indicators=any_problem").await;
    let xinbin = figures(&stats)["210422"].0;
    let county = city.get_json("/api/v1/quality?within=210422").await;
    assert_eq!(county["households"], xinbin);
    assert!(county["located"].as_i64().unwrap() <= xinbin);
}
