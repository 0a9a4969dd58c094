//! Poverty-village exit verdicts and the 应纳未纳 screening (issue 18) through the real
//! server: the verdicts as JSON and CSV, the candidates masked, and a township's
//! decision kept with who and when, refused to a leader and outside the township.

use serde_json::{Value, json};

use crate::helpers::{TestApp, client_with_token};

#[tokio::test]
async fn verdicts_name_each_failing_item_with_its_reason() {
    let app = TestApp::spawn().await;
    let county = app.snapshot().top_code.clone();
    let body = app
        .get_json(&format!("/api/v1/exit-verdicts?within={county}"))
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(body["villages"].as_u64().unwrap() as usize, rows.len());
    assert_eq!(rows.len(), 53, "the demo county's poverty villages");
    assert_eq!(body["failed"], 8);
    assert_eq!(body["missing_data"], 1);
    let failing: Vec<&Value> = rows
        .iter()
        .flat_map(|r| r["items"].as_array().unwrap())
        .filter(|i| i["passed"] == json!(false))
        .collect();
    assert_eq!(failing.len(), 8);
    assert!(
        failing
            .iter()
            .all(|i| i["reason"].as_str().unwrap().ends_with("未达标")),
        "{failing:?}"
    );
    let csv = app
        .get(&format!("/api/v1/exit-verdicts?within={county}&format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with('\u{feff}') && csv.contains("是否达标"),
        "{csv}"
    );
    assert!(csv.matches("未达标").count() >= 16, "{csv}");
}

#[tokio::test]
async fn a_township_decides_a_candidate_and_the_decision_is_kept_with_who_and_when() {
    let app = TestApp::spawn().await;
    let county = app.snapshot().top_code.clone();
    let list = app
        .get_json(&format!("/api/v1/inclusion-candidates?within={county}"))
        .await;
    let rows = list["rows"].as_array().unwrap();
    assert!(rows.len() >= 5, "{list}");
    for r in rows {
        let id = r["id_number"].as_str().unwrap();
        assert!(id.contains("********"), "masked: {id}");
        assert!(!r["reasons"].as_array().unwrap().is_empty());
    }
    let placed = rows.iter().find(|r| r["village_code"].is_string()).unwrap();
    let id = placed["id"].as_str().unwrap().to_owned();
    let village = placed["village_code"].as_str().unwrap().to_owned();
    let township = &village[..9];
    let path = format!("{}/api/v1/inclusion-candidates/{id}/decision", app.address);
    let body = json!({"decision": "纳入", "reason": "入户核实：收入低于监测线"});

    // A leader reads no personal data and decides nothing.
    let leader = app.client_as("leader").await;
    let status = leader
        .post(&path)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    // Another township's user: as if the candidate did not exist.
    let other = format!(
        "{}{}",
        &county,
        if township.ends_with("101") {
            "102"
        } else {
            "101"
        }
    );
    let token = app.token_for("exits-other", "township", &other).await;
    let status = client_with_token(&token)
        .post(&path)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);

    let token = app.token_for("exits-township", "township", township).await;
    let own = client_with_token(&token);
    let answer: Value = own
        .post(&path)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["decision"]["decision"], "纳入", "{answer}");
    assert_eq!(answer["decision"]["by"], "exits-township");
    assert!(answer["decision"]["at"].as_str().unwrap().starts_with("20"));
    let second = json!({"decision": "不纳入", "reason": "复核：已享受其他政策，收入达标"});
    let answer: Value = own
        .post(&path)
        .json(&second)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["history"].as_array().unwrap().len(), 2, "{answer}");
    assert_eq!(answer["decision"]["decision"], "不纳入");
    let list = app
        .get_json(&format!("/api/v1/inclusion-candidates?within={village}"))
        .await;
    let row = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["decision"]["decision"], "不纳入");
    assert_eq!(row["decision"]["by"], "exits-township");
}
