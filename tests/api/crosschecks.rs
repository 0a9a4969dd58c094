//! Cross-checks (账账相符, issue 17) through the real server: the summary per rule, the
//! mismatches with both sides' values (JSON, CSV, XLSX), a department's own rules and
//! its answers, and a roll uploaded with a bad row.

use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_summary_counts_every_rule_and_the_mismatches_show_both_sides() {
    let app = TestApp::spawn().await;
    let county = app.snapshot().top_code.clone();
    let summary = app
        .get_json(&format!("/api/v1/crosschecks?within={county}"))
        .await;
    let rules = summary["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 11, "{summary}");
    let rolls = summary["rolls"].as_array().unwrap();
    assert_eq!(rolls.len(), 7, "six departments and the general households");
    assert!(
        rolls.iter().all(|r| r["rows"].as_i64().unwrap() > 0),
        "{rolls:?}"
    );
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap().clone();
    let edu = rule("edu_missing");
    assert_eq!(edu["indicator"], "crosscheck_edu_missing");
    assert_eq!(edu["departments"][0], "教育");
    let n = edu["mismatches"].as_i64().unwrap();
    assert!(n >= 2, "{edu}");

    // The rows: registry side, roll side, masked ID and name, the household number
    // for a role that reads personal data.
    let page = app
        .get_json(&format!(
            "/api/v1/crosschecks/edu_dropout/mismatches?within={county}"
        ))
        .await;
    assert_eq!(page["total"], rule("edu_dropout")["mismatches"]);
    let row = &page["rows"][0];
    assert!(
        row["registry"].as_str().unwrap().contains("在校生状况"),
        "{row}"
    );
    let roll: Vec<(String, String)> = row["roll"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name_zh"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        roll.contains(&("学籍状态".to_owned(), "辍学".to_owned())),
        "{roll:?}"
    );
    assert!(row["id_number"].as_str().unwrap().contains("********"));
    assert!(row["household_no"].is_string());
    assert!(row["roll_row"].as_u64().unwrap() >= 3);
    // Paged, and the village's mismatches are the county's that lie in it.
    let village = row["village_code"].as_str().unwrap().to_owned();
    let inside = app
        .get_json(&format!(
            "/api/v1/crosschecks/edu_dropout/mismatches?within={village}&limit=1"
        ))
        .await;
    assert!(inside["total"].as_i64().unwrap() >= 1);
    assert_eq!(inside["rows"].as_array().unwrap().len(), 1);

    // CSV with a BOM and the answer column; XLSX.
    let csv = app
        .get(&format!(
            "/api/v1/crosschecks/edu_missing/mismatches?within={county}&format=csv"
        ))
        .await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert!(text.lines().next().unwrap().contains("核实结果"), "{text}");
    assert_eq!(text.lines().count() as i64, n + 1);
    let xlsx = app
        .get(&format!(
            "/api/v1/crosschecks/edu_missing/mismatches?within={county}&format=xlsx"
        ))
        .await;
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    // Unknown rule and bad parameters: problem+json naming the field.
    let problem = app
        .get_problem("/api/v1/crosschecks/nope/mismatches", 404)
        .await;
    assert!(problem["detail"].as_str().unwrap().contains("nope"));
    let problem = app
        .get_problem("/api/v1/crosschecks/edu_missing/mismatches?format=pdf", 400)
        .await;
    assert_eq!(crate::helpers::problem_fields(&problem), ["format"]);

    // The rule's households are an indicator like any other.
    let stats = app
        .get_json("/api/v1/stats?indicators=crosscheck_edu_missing&level=township")
        .await;
    let total = &stats["total"]["values"]["crosscheck_edu_missing"];
    assert!(total["count"].as_i64().unwrap() >= 1, "{stats}");
}

/// The household's own view names, for a cross-check it fails, both sides of its
/// mismatch (the person masked) rather than a pointer to the list.
#[tokio::test]
async fn the_household_view_shows_both_sides_of_its_mismatch() {
    let app = TestApp::spawn().await;
    let county = app.snapshot().top_code.clone();
    let page = app
        .get_json(&format!(
            "/api/v1/crosschecks/edu_dropout/mismatches?within={county}"
        ))
        .await;
    let row = &page["rows"][0];
    let no = row["household_no"].as_str().unwrap();
    let household = app.get_json(&format!("/api/v1/households/{no}")).await;
    let failed = household["failed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "crosscheck_edu_dropout")
        .unwrap_or_else(|| panic!("{household}"));
    let line = failed["reasons"][0].as_str().unwrap();
    let registry = row["registry"].as_str().unwrap();
    let name = row["name"].as_str().unwrap();
    let id = row["id_number"].as_str().unwrap();
    assert_eq!(
        line,
        format!(
            "{name}（{id}）：登记：{registry}；学籍名单：{}",
            roll_text(row)
        ),
        "{household}"
    );
    assert!(line.contains("学籍状态 辍学"), "{line}");
    // No full ID number anywhere in the answer (the household number, 18 digits too,
    // set aside).
    let text = household.to_string().replace(no, "");
    assert!(
        !crate::access::has_id_number(&text),
        "a full ID number in {text}"
    );
}

/// A mismatch row's roll side as the household view writes it.
fn roll_text(row: &Value) -> String {
    row["roll"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["name_zh"].as_str().unwrap(),
                v["value"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("，")
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn a_department_sees_its_rules_answers_them_and_the_answers_show() {
    let app = TestApp::spawn().await;
    let education = app.client_as("department").await;
    let get = |path: String| {
        let client = education.clone();
        let url = format!("{}{path}", app.address);
        async move { client.get(url).send().await.unwrap() }
    };
    let summary: Value = get("/api/v1/crosschecks".into())
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "edu_missing",
            "edu_dropout",
            "roll_unregistered",
            "roll_other_county"
        ]
    );
    assert_eq!(summary["rolls"].as_array().unwrap().len(), 1);
    assert_eq!(
        get("/api/v1/crosschecks/relief_differs/mismatches".into())
            .await
            .status(),
        404
    );
    let page: Value = get("/api/v1/crosschecks/edu_missing/mismatches".into())
        .await
        .json()
        .await
        .unwrap();
    let rows = page["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r.get("household_no").is_none()),
        "{page}"
    );
    // Its rows only, on the other-county rule too (its school roll's).
    let unregistered: Value = get("/api/v1/crosschecks/roll_unregistered/mismatches".into())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        unregistered["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["roll_kind"] == "edu")
    );

    // The answer loop: the list's 核对码 with a 核实结果, uploaded back.
    let code = rows[0]["check_code"].as_str().unwrap().to_owned();
    let csv = format!(
        "核对码,核实结果\n{code},已核实：随父母外出就读，已补录学籍\nffffffffffffffff,无此人\n"
    );
    let response = education
        .post(format!(
            "{}/api/v1/crosschecks/edu_missing/answers",
            app.address
        ))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["stored"], 1);
    assert_eq!(stored["unknown_rows"], serde_json::json!([3]));
    let again: Value = get("/api/v1/crosschecks/edu_missing/mismatches".into())
        .await
        .json()
        .await
        .unwrap();
    let answered = again["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check_code"] == code.as_str())
        .unwrap();
    assert_eq!(answered["answer"]["by"], "department");
    assert!(
        answered["answer"]["result"]
            .as_str()
            .unwrap()
            .starts_with("已核实")
    );
    let summary: Value = get("/api/v1/crosschecks".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["rules"][0]["answered"], 1);
    // A file that is not the list says so.
    let response = education
        .post(format!(
            "{}/api/v1/crosschecks/edu_missing/answers",
            app.address
        ))
        .body("a,b\n1,2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_roll_upload_with_a_bad_row_reports_its_file_row_and_column_and_is_not_committed() {
    let app = TestApp::spawn().await;
    let csv = "农村饮水台账\n户编号,户主姓名,供水方式,水质达标\n,户主,集中供水入户,是\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("饮水.csv"),
    );
    let response = app
        .client
        .post(format!(
            "{}/api/v1/imports?kind=roll&roll=water",
            app.address
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut job = Value::Null;
    for _ in 0..100 {
        job = app.get_json(&format!("/api/v1/imports/{id}")).await;
        if job["status"] == "ready" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "ready", "{job}");
    let problem = &job["report"]["problems"][0];
    assert_eq!(problem["file"], "饮水.csv");
    assert_eq!(problem["row"], 3);
    assert_eq!(problem["column"], "户编号");
    let response = app
        .client
        .post(format!("{}/api/v1/imports/{id}/commit", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // An unknown kind of roll is named.
    let problem = app
        .client
        .post(format!(
            "{}/api/v1/imports?kind=roll&roll=shoes",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(problem.status(), 400);
    let body: Value = problem.json().await.unwrap();
    assert_eq!(crate::helpers::problem_fields(&body), ["roll"]);
    let _ = app
        .client
        .delete(format!("{}/api/v1/imports/{id}", app.address))
        .send()
        .await;
}
