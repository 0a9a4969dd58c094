//! Bad input, races and hostile requests: each answered with a small problem document,
//! never a 500, a crash or the request's own words echoed back. Each test names the
//! finding of issue 19 it holds.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Value, json};

use crate::helpers::{TestApp, problem_fields};

const CAMPAIGN: &str = "xinbin-2019-q3";

/// An XLSX with cells at A1 and XFD1048576, as `rust_xlsxwriter` writes it: small on
/// disk, 17 billion cells as a range.
fn far_cell_xlsx() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "条目").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    book.save_to_buffer().unwrap()
}

/// An XLSX whose shared strings unpack to 200 MB of zeros.
fn zip_bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/sharedStrings.xml", options).unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..200 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn post_bytes(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Issue 19, bad input 1: a 1.6 KB XLSX killed the server; a zip bomb took 3.2 GB.
#[tokio::test]
async fn hostile_spreadsheets_are_refused_without_allocating_them() {
    let app = TestApp::spawn().await;
    let village = "210422100201";
    let import = format!("/api/v1/campaigns/{CAMPAIGN}/entries/{village}/import?by=测试");
    let far = far_cell_xlsx();
    assert!(far.len() < 10_000, "{}", far.len());
    let bomb = zip_bomb();
    assert!(bomb.len() < 500_000, "{}", bomb.len());
    for (path, body, want) in [
        (import.as_str(), far.clone(), "XFD1048576"),
        (import.as_str(), bomb.clone(), "unpacks to more than"),
        (
            "/api/v1/checklists?id=far&name=x&region=x&year=2020&source=x&layout=xuchang",
            far,
            "XFD1048576",
        ),
    ] {
        let r = post_bytes(&app, path, body).await;
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let text = r.text().await.unwrap();
        assert!(text.len() < 4_000, "a small answer: {} bytes", text.len());
        assert!(text.contains(want), "{text}");
    }
    // The server is still there.
    assert_eq!(app.get_json("/health").await["status"], "ok");
}

/// Issue 19, bad input 1: a 400 listed every bad row with the cell's text, so a 52 KB
/// upload got a 52 MB answer.
#[tokio::test]
async fn an_answer_lists_at_most_a_hundred_problems_each_cut_short() {
    let app = TestApp::spawn().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["条目", "状态"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let long = "长".repeat(2_000);
    for r in 1..=2_000_u32 {
        sheet.write_string(r, 0, "1").unwrap();
        sheet.write_string(r, 1, &long).unwrap();
    }
    let r = post_bytes(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/entries/210422100201/import?by=测试"),
        book.save_to_buffer().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        101,
        "100 problems and one saying how many more"
    );
    assert!(
        errors[100]["reason"]
            .as_str()
            .unwrap()
            .contains("more like these")
    );
    assert!(
        errors
            .iter()
            .all(|e| e["reason"].as_str().unwrap().chars().count() <= 301)
    );
}

/// Issue 19, bad input 2: a huge offset was a 500 from DuckDB.
#[tokio::test]
async fn huge_offsets_are_refused_naming_the_offset() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/households?offset=18446744073709551615",
        "/api/v1/quality/households?offset=9223372036854775808",
        &format!("/api/v1/campaigns/{CAMPAIGN}/entries?offset=9223372036854775808"),
    ] {
        let p = app.get_problem(path, 400).await;
        assert_eq!(problem_fields(&p), ["offset"], "{path}");
    }
}

/// Issue 19, bad input 2: concurrent `PATCH`es of one entry gave "Conflict on update" as
/// a 500, and creating one id twice at once a primary-key 500.
#[tokio::test]
async fn racing_writes_give_one_winner_and_conflicts() {
    let app = TestApp::spawn().await;
    // A village no other test edits: the first of the sixth township.
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = townships[5]["code"].as_str().unwrap();
    let village = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/campaigns/{CAMPAIGN}/entries/{village}/9");
    let version = app.get_json(&path).await["version"].as_i64().unwrap();
    let patches = (0..24).map(|i| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        async move {
            client
                .patch(url)
                .json(&json!({"version": version, "by": "并发", "notes": format!("第{i}次")}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_join_all(patches).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.get_json(&path).await["version"], version + 1);

    let creates =
        (0..8).map(|_| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/campaigns", app.address);
            async move {
                client
                .post(url)
                .json(&json!({"id": "race-1", "name": "并发创建", "template_id": "lianyungang-2019",
                    "area_code": "210422100", "starts": "2019-07-01", "ends": "2019-09-30",
                    "cycle": "monthly", "due_day": 25, "by": "测试"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
            }
        });
    let statuses = futures_join_all(creates).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
}

/// Runs the futures at once and collects their outputs in order.
async fn futures_join_all<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Issue 19, bad input 3: tile coordinates out of range, a bad entry position and a
/// body over the limit were answered in text/plain; a long query had no body.
#[tokio::test]
async fn every_refusal_is_a_problem_document() {
    let app = TestApp::spawn().await;
    for (path, field) in [
        ("/tiles/households/256/0/0.mvt", "z"),
        ("/tiles/households/3/-1/0.mvt", "x"),
        ("/tiles/households/3/4294967296/0.mvt", "x"),
        ("/tiles/heat/any_problem/3/0/9.png", "y"),
        (
            &format!("/api/v1/campaigns/{CAMPAIGN}/entries/210422100201/x"),
            "position",
        ),
    ] {
        let p = app.get_problem(path, 400).await;
        assert_eq!(problem_fields(&p), [field], "{path}");
    }
    let long = format!("/api/v1/stats?within={}", "1".repeat(10_000));
    let p = app.get_problem(&long, 414).await;
    assert!(
        p["detail"].as_str().unwrap().contains("limit is 8192"),
        "{p}"
    );
    let r = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app
        .client
        .delete(format!("{}/api/v1/stats", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

/// Issue 19, bad input 7: `Host: evil.example` put its name into TileJSON's tile URLs.
#[tokio::test]
async fn tilejson_never_repeats_the_host_header() {
    let app = TestApp::spawn().await;
    let tj: Value = app
        .client
        .get(format!("{}/tiles/villages.json", app.address))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(url.starts_with("/tiles/villages/{z}/{x}/{y}.mvt?"), "{url}");
}

/// Issue 19, bad input 4 and 8: a whole-world area planned for 178 s; an unclosed
/// polygon was silently closed; a plan's size had no bound.
#[tokio::test]
async fn plans_and_shapes_beyond_the_limits_are_refused() {
    let app = TestApp::spawn().await;
    let post = |body: Value| {
        let client = app.client.clone();
        let url = format!("{}/api/v1/plans", app.address);
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let world = json!({"type": "Polygon", "coordinates": [[[100.0, 20.0], [130.0, 20.0], [130.0, 50.0], [100.0, 50.0], [100.0, 20.0]]]});
    let r = post(json!({"area": world, "days": 5})).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["area"]);
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("10000 km²")
    );

    let unclosed = json!({"type": "Polygon", "coordinates": [[[124.9, 41.6], [125.0, 41.6], [125.0, 41.7], [124.9, 41.7]]]});
    for (path, body) in [
        ("/api/v1/plans", json!({"area": unclosed, "days": 5})),
        ("/api/v1/query", json!({"geometry": unclosed})),
    ] {
        let r = app
            .client
            .post(format!("{}{path}", app.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let p: Value = r.json().await.unwrap();
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("not closed"),
            "{p}"
        );
    }

    let r = post(json!({"townships": ["210422100"], "groups": 100, "days": 60})).await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["days"]);
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("group-days")
    );
}

/// Issue 19, bad input 4: one checklist of 16,000 items and a campaign wrote 3.1
/// million ledger rows.
#[tokio::test]
async fn a_checklist_and_a_campaign_have_a_size_limit() {
    let app = TestApp::spawn().await;
    let mut csv = String::from("category,content\n");
    for i in 0..600 {
        let _ = writeln!(csv, "类,第{i}项");
    }
    let r = app
        .client
        .post(format!(
            "{}/api/v1/checklists?id=huge&name=x&region=x&year=2020&source=x&layout=xuchang",
            app.address
        ))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["file"]);
    assert!(
        p["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 500")
    );
}
