//! A province of two cities (`paicha demo --province`: 抚顺市's three counties and
//! 本溪市's two under 辽宁省), served over loopback: a provincial analyst ranks the
//! cities, drills to a city, a county, a township; every level's figures are the sums
//! of the level below; the city tile layer, the static map, quality, the households
//! behind a count and a plan work in the second city; a city's analyst sees only theirs.

use std::collections::BTreeMap;

use paicha::spatial::mercator::TileId;
use serde_json::{Value, json};

use crate::helpers::{TEST_HOUSEHOLDS as HOUSEHOLDS, TestApp};

/// code → (households, count of `any_problem`) of a stats answer's rows.
fn figures(stats: &Value) -> BTreeMap<String, (i64, i64)> {
    stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                (
                    r["households"].as_i64().unwrap(),
                    r["values"]["any_problem"]["count"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The sums of households and counts over a table's rows.
fn sums(rows: &BTreeMap<String, (i64, i64)>) -> (i64, i64) {
    rows.values()
        .fold((0, 0), |(h, c), (rh, rc)| (h + rh, c + rc))
}

async fn stats(app: &TestApp, within: &str) -> Value {
    app.get_json(&format!(
        "/api/v1/stats?indicators=any_problem&limit=100000{within}"
    ))
    .await
}

#[tokio::test]
async fn a_province_analyst_ranks_cities_and_drills_down_to_a_township() {
    let app = TestApp::spawn_province().await;
    let provinces = app.get_json("/api/v1/areas?level=province").await;
    assert_eq!(provinces.as_array().unwrap().len(), 1);
    assert_eq!(provinces[0]["code"], "21");
    assert_eq!(provinces[0]["name"], "辽宁省");
    assert_eq!(provinces[0]["households"], HOUSEHOLDS);
    let cities = app.get_json("/api/v1/areas?level=city").await;
    let names: Vec<(&str, &str)> = cities
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("2104", "抚顺市"), ("2105", "本溪市")]);

    // With no area asked, the province's cities are ranked.
    let top = stats(&app, "").await;
    assert_eq!(top["within"]["code"], "21");
    assert_eq!(top["within"]["level"], "province");
    assert_eq!(top["level"], "city");
    let by_city = figures(&top);
    assert_eq!(by_city.keys().collect::<Vec<_>>(), ["2104", "2105"]);
    let (households, problems) = sums(&by_city);
    assert_eq!(households, i64::try_from(HOUSEHOLDS).unwrap());
    assert_eq!(top["total"]["households"], households);
    assert_eq!(top["total"]["values"]["any_problem"]["count"], problems);

    // Each city: its counties, adding up to its row; each county: its townships.
    let mut counties_seen = Vec::new();
    for (city, (n, count)) in &by_city {
        assert!(*n > 0, "{city} has no household");
        let answer = stats(&app, &format!("&within={city}")).await;
        assert_eq!(answer["level"], "county");
        let counties = figures(&answer);
        assert!(
            counties
                .keys()
                .all(|c| c.len() == 6 && c.starts_with(city.as_str()))
        );
        assert_eq!(sums(&counties), (*n, *count), "{city}'s counties");
        for (county, (cn, cc)) in &counties {
            let townships = figures(&stats(&app, &format!("&within={county}")).await);
            assert!(townships.keys().all(|t| t.starts_with(county.as_str())));
            assert_eq!(sums(&townships), (*cn, *cc), "{county}'s townships");
            counties_seen.push(county.clone());
        }
    }
    assert_eq!(
        counties_seen,
        ["210421", "210422", "210423", "210521", "210522"]
    );
    // The province's counties side by side, and the same from the county level's list.
    let all = figures(&stats(&app, "&level=county").await);
    assert_eq!(all.keys().cloned().collect::<Vec<_>>(), counties_seen);
    assert_eq!(sums(&all), (households, problems));

    // Into Benxi's first township: its villages.
    let benxi = figures(&stats(&app, "&within=210521").await);
    let township = benxi.keys().next().unwrap().clone();
    let villages = figures(&stats(&app, &format!("&within={township}")).await);
    assert!(
        villages
            .keys()
            .all(|v| v.len() == 12 && v.starts_with(&township))
    );
    assert_eq!(sums(&villages), benxi[&township]);

    // A level above the area asked is refused, naming the parameter.
    let bad = app.get("/api/v1/stats?within=2105&level=city").await;
    assert_eq!(bad.status(), 200, "the city's own level is its one row");
    let bad = app.get("/api/v1/stats?within=210521&level=city").await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "level");
}

#[tokio::test]
async fn the_city_layer_static_map_quality_households_and_plans_work_in_a_province() {
    let app = TestApp::spawn_province().await;
    let by_city = figures(&stats(&app, "").await);

    // The city tile layer: both cities, each with its figures, in one zoom-6 tile.
    let tilejson = app.get_json("/tiles/cities.json").await;
    assert_eq!(tilejson["vector_layers"][0]["id"], "cities");
    let b: Vec<f64> = tilejson["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let TileId { x, y, .. } =
        TileId::containing(f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]), 6).unwrap();
    let tile = app
        .get(&format!(
            "/tiles/cities/6/{x}/{y}.mvt?indicators=any_problem"
        ))
        .await;
    assert_eq!(tile.status(), 200);
    let reader = mvt_reader::Reader::new(tile.bytes().await.unwrap().to_vec()).unwrap();
    let mut in_tile = BTreeMap::new();
    for f in reader.get_features_as::<f64>(0).unwrap() {
        let props = f.properties.unwrap();
        let text = |k: &str| match &props[k] {
            mvt_reader::feature::Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        };
        let int = |k: &str| match &props[k] {
            mvt_reader::feature::Value::Int(v) | mvt_reader::feature::Value::SInt(v) => *v,
            mvt_reader::feature::Value::UInt(v) => i64::try_from(*v).unwrap(),
            other => panic!("{k}: {other:?}"),
        };
        in_tile.insert(text("code"), (int("households"), int("any_problem_count")));
    }
    assert_eq!(in_tile, by_city, "the tile's figures are the table's");

    // The province's static map draws its two cities, titled as such.
    let map = app.get("/api/v1/maps/any_problem.svg").await;
    assert_eq!(map.status(), 200);
    let svg = map.text().await.unwrap();
    assert!(svg.contains("辽宁省各市存在问题户比例"), "title");
    assert!(svg.contains("抚顺市") && svg.contains("本溪市"));
    let benxi = app
        .get("/api/v1/maps/any_problem.svg?within=2105&level=county")
        .await;
    let svg = benxi.text().await.unwrap();
    assert!(svg.contains("本溪市各县（市、区）存在问题户比例"));
    assert!(svg.contains("桓仁满族自治县") && !svg.contains("清原满族自治县"));

    // Quality: the whole province's households; Benxi's as its own.
    let whole = app.get_json("/api/v1/quality").await;
    assert_eq!(whole["code"], "21");
    assert_eq!(whole["households"], HOUSEHOLDS);
    let quality = app.get_json("/api/v1/quality?within=2105").await;
    assert_eq!(quality["households"], by_city["2105"].0);

    // The households behind Benxi's count.
    let page = app
        .get_json("/api/v1/households?within=2105&indicator=any_problem&limit=1")
        .await;
    assert_eq!(page["total"], by_city["2105"].1);

    // A plan for one of Benxi's townships visits only its villages.
    let township = figures(&stats(&app, "&within=210522").await)
        .into_keys()
        .next()
        .unwrap();
    let response = app
        .client
        .post(format!("{}/api/v1/plans", app.address))
        .json(&json!({"townships": [township], "days": 1, "sample_per_village": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let plan: Value = response.json().await.unwrap();
    let stops: Vec<&Value> = plan["groups"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["stops"].as_array().unwrap())
        .collect();
    assert!(!stops.is_empty());
    assert!(stops.iter().all(|s| {
        s["target"]["village_code"]
            .as_str()
            .unwrap()
            .starts_with(&township)
    }));
}

#[tokio::test]
async fn a_city_analyst_of_the_province_sees_their_city_only() {
    let app = TestApp::spawn_province().await;
    let token = app.token_for("benxi-analyst", "analyst", "2105").await;
    let client = crate::helpers::client_with_token(&token);
    let get = |path: &str| {
        let client = client.clone();
        let url = format!("{}{path}", app.address);
        async move { client.get(url).send().await.unwrap() }
    };
    let own: Value = get("/api/v1/stats?indicators=any_problem")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["within"]["code"], "2105");
    assert_eq!(own["level"], "county");
    let cities: Value = get("/api/v1/areas?level=city").await.json().await.unwrap();
    assert_eq!(cities.as_array().unwrap().len(), 1);
    assert_eq!(cities[0]["code"], "2105");
    // The province above answers for their part of it: their city.
    let above: Value = get("/api/v1/stats?indicators=any_problem&within=21")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(above["within"]["code"], "2105");
    assert_eq!(above["total"], own["total"]);
    // Fushun and its counties answer empty and say so.
    for within in ["2104", "210422"] {
        let r = get(&format!(
            "/api/v1/stats?indicators=any_problem&within={within}"
        ))
        .await;
        assert_eq!(r.status(), 200, "{within}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["outside"], true, "{within}: {body}");
        assert_eq!(body["rows"], json!([]), "{within}");
    }
    let tile = get("/tiles/cities.json").await;
    assert_eq!(tile.status(), 200);
}
