//! The township briefing pack (简报, issue 18) through the real server: the PDF read
//! back by `pdftotext` and held against what the figures, ledger, progress and
//! coverage routes answer; the printable page; and who may have it.

use serde_json::Value;

use crate::helpers::TestApp;

const CAMPAIGN: &str = "xinbin-2019-q3";

/// The PDF's text as `pdftotext -layout` reads it.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("briefing.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (apt: poppler-utils) runs");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Text without any whitespace, so that a figure is found however the layout spaced it.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The line of `text` that starts with `name` (a table row), squeezed.
fn row_of(text: &str, name: &str) -> String {
    let row = text.lines().map(squeezed).find(|l| l.starts_with(name));
    assert!(row.is_some(), "no row {name} in\n{text}");
    row.unwrap()
}

fn percent(v: &Value) -> String {
    format!("{:.2}%", v.as_f64().unwrap() * 100.0)
}

/// A township in the middle of the county: the other tests edit the first one's ledger.
fn township(app: &TestApp) -> (String, String) {
    let snapshot = app.snapshot();
    let code = snapshot.townships[5].0.clone();
    let name = snapshot.name(&code).unwrap().to_owned();
    (code, name)
}

async fn ledger_counts(app: &TestApp, code: &str) -> (i64, i64) {
    let base = format!(
        "/api/v1/campaigns/{CAMPAIGN}/entries?within={code}&status=problem,rectifying&limit=1"
    );
    let open = app.get_json(&base).await["total"].as_i64().unwrap();
    let overdue = app.get_json(&format!("{base}&overdue=true")).await["total"]
        .as_i64()
        .unwrap();
    (open, overdue)
}

#[tokio::test]
async fn a_townships_briefing_pdf_reads_back_with_the_figures_the_routes_give() {
    let app = TestApp::spawn().await;
    let (code, name) = township(&app);
    let ledger_before = ledger_counts(&app, &code).await;
    let response = app
        .get(&format!(
            "/api/v1/briefings/{code}?campaign={CAMPAIGN}&week=2019-W28"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains(&format!("filename=\"briefing-{code}-2019-W28.pdf\""))
            && disposition.contains("filename*=UTF-8''"),
        "{disposition}"
    );
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let text = pdftotext(&pdf);
    let flat = squeezed(&text);
    assert!(flat.contains(&format!("{name}脱贫攻坚排查简报")), "{text}");
    for heading in paicha::render::brief::HEADINGS {
        assert!(flat.contains(&squeezed(heading)), "{heading} in\n{text}");
    }

    // The indicator table: the township's count and rate, and the county's rate, as
    // the figures route gives them.
    let here = app
        .get_json(&format!(
            "/api/v1/stats?within={code}&level=township&indicators=any_problem,unsafe_housing"
        ))
        .await;
    let county = app
        .get_json("/api/v1/stats?level=county&indicators=any_problem,unsafe_housing")
        .await;
    for (id, label) in [
        ("any_problem", "存在问题户"),
        ("unsafe_housing", "居住危房"),
    ] {
        let mine = &here["rows"][0]["values"][id];
        let whole = &county["rows"][0]["values"][id];
        let row = row_of(&text, label);
        let expected = format!(
            "{label}{}{}{}{}{}",
            mine["count"],
            mine["denominator"],
            percent(&mine["rate"]),
            whole["count"],
            percent(&whole["rate"])
        );
        assert!(row.starts_with(&expected), "{row} ≠ {expected}");
    }

    // The ledger's open and overdue items, as the ledger route counts them.
    let ledger_after = ledger_counts(&app, &code).await;
    let said = |(open, overdue): (i64, i64)| format!("未整改问题{open}项，其中逾期{overdue}项");
    assert!(
        flat.contains(&said(ledger_before)) || flat.contains(&said(ledger_after)),
        "{} in\n{text}",
        said(ledger_after)
    );

    // The week's visits, as the progress route counts them, and the next week's plan.
    let progress = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/progress?week=2019-W28&within={code}"
        ))
        .await;
    let week = &progress["total"]["week"];
    assert!(week["visited"].as_i64().unwrap() > 0, "{progress}");
    assert!(
        flat.contains(&format!(
            "计划走访{}户（村），已走访{}，",
            week["planned"], week["visited"]
        )),
        "{week} in\n{text}"
    );
    assert!(flat.contains("2019-07-15"), "the next week's plan: {text}");
}

#[tokio::test]
async fn the_briefing_shows_measure_coverage_by_department_as_the_coverage_route_does() {
    let app = TestApp::spawn().await;
    let (code, _) = township(&app);
    let coverage = app
        .get_json(&format!(
            "/api/v1/measures/coverage?within={code}&by=township"
        ))
        .await;
    let row = &coverage["rows"][0];
    let department = &row["departments"][0];
    let pdf = app
        .get(&format!(
            "/api/v1/briefings/{code}?campaign={CAMPAIGN}&week=2019-W28"
        ))
        .await
        .bytes()
        .await
        .unwrap();
    let text = pdftotext(&pdf);
    let line = row_of(&text, department["department"].as_str().unwrap());
    let expected = format!(
        "{}{}{}{}",
        department["department"].as_str().unwrap(),
        department["households"],
        department["measures"],
        percent(&department["rate"])
    );
    assert!(line.starts_with(&expected), "{line} ≠ {expected}");
}

#[tokio::test]
async fn the_printable_briefing_is_a_page_without_script_with_its_maps_inline() {
    let app = TestApp::spawn().await;
    let (code, name) = township(&app);
    let response = app
        .get(&format!(
            "/api/v1/briefings/{code}?format=html&week=2019-W28"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("<h1>{name}脱贫攻坚排查简报</h1>")));
    assert!(html.contains("@page { size: A4;"));
    assert!(!html.contains("<script"), "no script");
    assert_eq!(html.matches("<svg").count(), 4, "four maps");
    for heading in paicha::render::brief::HEADINGS {
        assert!(html.contains(heading), "{heading}");
    }
}

#[tokio::test]
async fn a_briefing_is_for_those_who_see_the_whole_township_and_404_to_others() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let township_user = app.client_as("township").await;
    let leader = app.client_as("leader").await;
    let village = app.client_as("village").await;
    let users = app.get_json("/api/v1/users").await;
    let home = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "township")
        .unwrap()["grants"][0]["area"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = snapshot
        .townships
        .iter()
        .map(|(c, _)| c.clone())
        .find(|c| *c != home)
        .unwrap();
    let status = |client: &reqwest::Client, code: &str| {
        let request = client.get(format!(
            "{}/api/v1/briefings/{code}?format=html&week=2019-W28",
            app.address
        ));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(&township_user, &home).await, 200);
    assert_eq!(status(&township_user, &other).await, 404);
    assert_eq!(status(&leader, &other).await, 200);
    // A village's secretary holds a village, not the township's figures.
    assert_eq!(status(&village, &home).await, 404);
    let unknown = app.get_problem("/api/v1/briefings/210422999", 404).await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("210422999"),
        "{unknown}"
    );
    app.get_problem(&format!("/api/v1/briefings/{home}?format=docx"), 400)
        .await;
    app.get_problem(&format!("/api/v1/briefings/{home}?week=2019-28"), 400)
        .await;
    app.get_problem(&format!("/api/v1/briefings/{home}?campaign=nope"), 404)
        .await;
    // Every briefing is an export on record (the audit log writes in batches).
    let mut found = false;
    for _ in 0..100 {
        let audit = app
            .get_json("/api/v1/audit?action=export&user=township&limit=50")
            .await;
        found = audit
            .to_string()
            .contains(&format!("township briefing {home} 2019-W28 (html)"));
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the briefing of {home} is not on record");
}
