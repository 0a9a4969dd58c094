//! `/api/v1/measures/coverage` and the household view's measures (issue 17), through a
//! real server: figures per area and department that add up to the stored rows, scoped
//! to the person's areas (answered empty outside them), open to a role without personal
//! data, while a household's own measures stay behind the personal-data roles.

use serde_json::{Value, json};

use super::helpers::TestApp;

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn coverage_by_department_is_scoped_and_a_household_lists_its_measures_by_year() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let county = snapshot.top_code.clone();

    // The county by township: the income year by default, every department's cells
    // within the township's reached households.
    let all = app
        .get_json(&format!("/api/v1/measures/coverage?within={county}"))
        .await;
    assert_eq!(all["year"], 2018, "{all}");
    assert_eq!(all["years"], json!([2018, 2017, 2016]));
    assert_eq!(all["by"], "township");
    let rows = all["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    let households: i64 = rows.iter().map(|r| r["households"].as_i64().unwrap()).sum();
    assert_eq!(households, snapshot.households);
    for row in rows {
        assert!(row["code"].as_str().unwrap().starts_with(&county));
        let reached = row["households_with_measures"].as_i64().unwrap();
        assert!(
            reached <= row["policy_households"].as_i64().unwrap(),
            "{row}"
        );
        for cell in row["departments"].as_array().unwrap() {
            assert!(cell["households"].as_i64().unwrap() <= reached, "{cell}");
            assert!(cell["measures"].as_i64().unwrap() >= cell["households"].as_i64().unwrap());
        }
    }
    let departments: Vec<&str> = all["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(departments.contains(&"农业农村局"), "{departments:?}");
    assert!(departments.contains(&"医保局") && departments.contains(&"卫健局"));

    // A township user: their township by village, the county answered for their
    // township, another township empty under the outside label.
    let township = app.client_as("township").await;
    let get = |path: String| {
        let township = &township;
        let address = app.address.clone();
        async move {
            let r = township
                .get(format!("{address}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let mine = get(format!("/api/v1/measures/coverage?within={county}")).await;
    let home = mine["within"].as_str().unwrap().to_owned();
    assert_eq!(home.len(), 9, "{mine}");
    assert_eq!(mine["by"], "village");
    let villages = mine["rows"].as_array().unwrap();
    assert!(!villages.is_empty());
    assert!(
        villages
            .iter()
            .all(|r| r["code"].as_str().unwrap().starts_with(&home))
    );
    let township_row = rows.iter().find(|r| r["code"] == home.as_str()).unwrap();
    let sum: i64 = villages
        .iter()
        .map(|r| r["households_with_measures"].as_i64().unwrap())
        .sum();
    assert_eq!(
        sum,
        township_row["households_with_measures"].as_i64().unwrap()
    );
    let mut townships: Vec<&String> = snapshot
        .names
        .iter()
        .filter(|(c, (_, level))| *level == paicha::domain::AreaLevel::Township && **c != home)
        .map(|(c, _)| c)
        .collect();
    townships.sort();
    let away = get(format!("/api/v1/measures/coverage?within={}", townships[0])).await;
    assert_eq!(away["name"], "（不在您的权限范围内）", "{away}");
    assert_eq!(away["rows"], json!([]));
    assert_eq!(away["departments"], json!([]));

    // A year without measures answers empty rows of households; a bad one is named.
    let old = app
        .get_json(&format!(
            "/api/v1/measures/coverage?within={home}&year=2015"
        ))
        .await;
    assert!(
        old["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["departments"] == json!([]) && r["households_with_measures"] == 0)
    );
    app.get_problem("/api/v1/measures/coverage?year=1066&by=street", 400)
        .await;

    // The leader sees the figures, not a household; the analyst sees its measures by
    // year, latest first, the record's 2018 ones among them.
    let leader = app.client_as("leader").await;
    let r = leader
        .get(format!("{}/api/v1/measures/coverage", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Households are picked here rather than listed through the API, so that the
    // audit log (which the access matrix reads) gains only numbers that cannot pass
    // for an ID number.
    let id_like = |no: &str| {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let b = no.as_bytes();
        b.len() == 18 && {
            let sum: u32 = b[..17]
                .iter()
                .zip(WEIGHTS)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            b"10X98765432"[(sum % 11) as usize] == b[17]
        }
    };
    let unmet = (0..snapshot.household_nos.len())
        .find(|&row| {
            snapshot
                .facts
                .fails(row, paicha::domain::MeasureId::RiskWithoutMeasure)
                && !id_like(&snapshot.household_nos[row])
        })
        .unwrap();
    let no = snapshot.household_nos[unmet].to_owned();
    let view = app.get_json(&format!("/api/v1/households/{no}")).await;
    let reasons = view["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "risk_without_measure")
        .unwrap();
    assert!(reasons.to_string().contains("2018年没有"), "{reasons}");
    let r = leader
        .get(format!("{}/api/v1/households/{no}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (households, _) = app.raw_rows();
    let several = households
        .iter()
        .find(|h| {
            h.get("aid_measures").is_some_and(|m| m.contains(',')) && !id_like(&h["household_no"])
        })
        .unwrap();
    let view = app
        .get_json(&format!("/api/v1/households/{}", several["household_no"]))
        .await;
    let years = view["support"]["measures"].as_array().unwrap();
    assert_eq!(years[0]["year"], 2018, "{view}");
    let names: Vec<&str> = years[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["measure_zh"].as_str().unwrap())
        .collect();
    let record: Vec<&str> = view["support"]["aid_measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(names, record);
    assert!(
        years
            .windows(2)
            .all(|w| w[0]["year"].as_i64() > w[1]["year"].as_i64())
    );
}
