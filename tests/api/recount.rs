//! Every figure of `/api/v1/stats`, at every level and in both modes, recounted from the
//! raw rows of the admin export by this test's own reading of the README's rules, and
//! compared exactly. See issue 19: an independent recount found the county's total by
//! location answered with registration figures, and `unlocated` at 0 for a township.
//!
//! The recount places each household by its exported best position
//! (`position_lon`, `position_lat`) in the village polygons of
//! `/api/v1/areas.geojson`, with geo's own point-in-polygon test (edges included).

use std::collections::HashMap;

use geo::{Intersects, MultiPolygon, Point};
use serde_json::Value;

use crate::helpers::{TEST_HOUSEHOLDS, TestApp};

type Row = HashMap<String, String>;

/// The household indicators, as the catalog lists them (ledger ones are per village).
const IDS: [&str; 16] = [
    "any_problem",
    "income_below_line",
    "food_clothing_insecure",
    "dropout",
    "uninsured",
    "unsafe_housing",
    "housing_unappraised",
    "water_unsafe",
    "water_not_piped",
    "monitored",
    "monitored_unstable",
    "monitored_marginal",
    "monitored_sudden",
    "risk_unresolved",
    "gps_missing",
    "gps_mismatch",
];

/// The village a position lies in, if any, by brute force over the polygons.
fn village_at(villages: &[(String, MultiPolygon<f64>)], lon: f64, lat: f64) -> Option<&str> {
    let p = Point::new(lon, lat);
    villages
        .iter()
        .find(|(_, g)| g.intersects(&p))
        .map(|(c, _)| c.as_str())
}

/// What a household adds to each indicator: (count, denominator), in [`IDS`] order.
fn contributions(h: &Row, members: &[Row], located: Option<&str>) -> Vec<(i64, i64)> {
    let yes = |k: &str| h[k] == "true";
    let school: Vec<&Row> = members
        .iter()
        .filter(|m| (6..=15).contains(&m["age"].parse::<u8>().unwrap()))
        .collect();
    let dropouts = school
        .iter()
        .filter(|m| m["schooling"] == "out_of_school")
        .count() as i64;
    // 3,442 yuan: Liaoning's line for 2018 incomes, in force for the demo's data.
    let income_low = h["income_per_capita"].parse::<f64>().unwrap() < 3442.0;
    let food = !(yes("food_secure") && yes("clothing_secure"));
    let uninsured = members.iter().any(|m| m["medical_insured"] == "false");
    let unsafe_house = yes("house_occupied") && matches!(h["house_grade"].as_str(), "C" | "D");
    let unappraised = h["house_grade"] == "unappraised";
    let water = !yes("water_safe");
    let piped = !yes("water_piped");
    let monitored = h["category"].starts_with("monitored_");
    let has_position = !h["position_lon"].is_empty();
    let mismatch = has_position && located != Some(h["village_code"].as_str());
    let any = income_low
        || food
        || dropouts > 0
        || uninsured
        || unsafe_house
        || unappraised
        || water
        || piped;
    IDS.iter()
        .map(|id| match *id {
            "any_problem" => (any.into(), 1),
            "income_below_line" => (income_low.into(), 1),
            "food_clothing_insecure" => (food.into(), 1),
            "dropout" => (dropouts, school.len() as i64),
            "uninsured" => (uninsured.into(), 1),
            "unsafe_housing" => (unsafe_house.into(), 1),
            "housing_unappraised" => (unappraised.into(), 1),
            "water_unsafe" => (water.into(), 1),
            "water_not_piped" => (piped.into(), 1),
            "monitored" => (monitored.into(), 1),
            "risk_unresolved" => (
                (monitored && h["risk_state"] == "unresolved").into(),
                monitored.into(),
            ),
            "gps_missing" => ((!has_position).into(), 1),
            "gps_mismatch" => (mismatch.into(), has_position.into()),
            category => ((h["category"] == category).into(), 1),
        })
        .collect()
}

/// Households and (count, denominator) per indicator, summed per area code.
#[derive(Default, Debug, Clone, PartialEq)]
struct Sums {
    households: i64,
    values: Vec<(i64, i64)>,
}

fn add(sums: &mut HashMap<String, Sums>, area: &str, c: &[(i64, i64)]) {
    let s = sums.entry(area.to_owned()).or_insert_with(|| Sums {
        households: 0,
        values: vec![(0, 0); IDS.len()],
    });
    s.households += 1;
    for (t, v) in s.values.iter_mut().zip(c) {
        t.0 += v.0;
        t.1 += v.1;
    }
}

/// The API's rows as `code → Sums` (the total row under the `within` code), and its
/// `unlocated`.
fn answer(body: &Value) -> (HashMap<String, Sums>, Option<i64>) {
    let sums = |r: &Value| Sums {
        households: r["households"].as_i64().unwrap(),
        values: IDS
            .iter()
            .map(|id| {
                let v = &r["values"][id];
                (
                    v["count"].as_i64().unwrap(),
                    v["denominator"].as_i64().unwrap(),
                )
            })
            .collect(),
    };
    let mut out: HashMap<String, Sums> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap().to_owned(), sums(r)))
        .collect();
    out.insert(
        format!("total:{}", body["total"]["code"].as_str().unwrap()),
        sums(&body["total"]),
    );
    (out, body["unlocated"].as_i64())
}

#[tokio::test]
async fn every_figure_agrees_with_a_recount_at_every_level_and_in_both_modes() {
    let app = TestApp::spawn().await;
    let (households, members) = app.raw_rows();
    assert_eq!(households.len() as u64, TEST_HOUSEHOLDS);
    let mut by_household: HashMap<&str, Vec<Row>> = HashMap::new();
    for m in &members {
        by_household
            .entry(households_key(m))
            .or_default()
            .push(m.clone());
    }
    let villages = village_polygons(&app).await;
    let county = "210422".to_owned();

    // Expected sums: by registration and by location, per village, township and county;
    // and per registered township and the county, the households that lie nowhere.
    let mut registered: HashMap<String, Sums> = HashMap::new();
    let mut located: HashMap<String, Sums> = HashMap::new();
    let mut nowhere: HashMap<String, i64> = HashMap::new();
    for h in &households {
        let no = h["household_no"].as_str();
        let place = if h["position_lon"].is_empty() {
            None
        } else {
            village_at(
                &villages,
                h["position_lon"].parse().unwrap(),
                h["position_lat"].parse().unwrap(),
            )
        };
        let c = contributions(h, &by_household[no], place);
        for area in [&h["village_code"], &h["township_code"], &county] {
            add(&mut registered, area, &c);
        }
        match place {
            Some(v) => {
                for area in [v, &v[..9], &county] {
                    add(&mut located, area, &c);
                }
            }
            None => {
                for area in [&h["township_code"], &county] {
                    *nowhere.entry(area.clone()).or_default() += 1;
                }
            }
        }
    }
    let ids = IDS.join(",");
    for (mode, expected) in [("registration", &registered), ("location", &located)] {
        // The county alone, its townships, its villages; and a township's villages.
        for (level, within) in [
            ("county", None),
            ("township", None),
            ("village", None),
            ("village", Some("210422108")),
        ] {
            let within_q = within.map(|w| format!("&within={w}")).unwrap_or_default();
            let body = app
                .get_json(&format!(
                    "/api/v1/stats?indicators={ids}&level={level}&by={mode}{within_q}"
                ))
                .await;
            let (got, unlocated) = answer(&body);
            let scope = within.unwrap_or("210422");
            for (code, sums) in &got {
                let (area, want) = match code.strip_prefix("total:") {
                    Some(total) => (total, expected.get(total)),
                    None => (code.as_str(), expected.get(code)),
                };
                let zero = Sums {
                    households: 0,
                    values: vec![(0, 0); IDS.len()],
                };
                assert_eq!(
                    sums,
                    want.unwrap_or(&zero),
                    "{mode} {level} within {scope}: {area}"
                );
            }
            if mode == "location" {
                assert_eq!(
                    unlocated,
                    Some(nowhere.get(scope).copied().unwrap_or_default()),
                    "unlocated, {level} within {scope}"
                );
            } else {
                assert_eq!(unlocated, None);
            }
        }
    }
    // By location the county's total and what lies nowhere make every household.
    assert_eq!(
        located[&county].households + nowhere[&county],
        TEST_HOUSEHOLDS as i64
    );
    assert!(
        nowhere["210422108"] > 0,
        "a township has households that lie nowhere"
    );
}

/// The villages' boundaries as the API gives them.
async fn village_polygons(app: &TestApp) -> Vec<(String, MultiPolygon<f64>)> {
    let areas = app.get_json("/api/v1/areas.geojson?level=village").await;
    areas["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
            let mp: MultiPolygon<f64> = match geo::Geometry::<f64>::try_from(g).unwrap() {
                geo::Geometry::MultiPolygon(mp) => mp,
                geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
                other => unreachable!("a village is a polygon, not {other:?}"),
            };
            (f["properties"]["code"].as_str().unwrap().to_owned(), mp)
        })
        .collect()
}

fn households_key(m: &Row) -> &str {
    m["household_no"].as_str()
}
