//! Versions and what changed between them (动态管理, issue 15): the demo county's
//! persons exported, changed as the next quarter's export would be (a household gone,
//! one newly monitored, one whose risk was resolved, a member gone, a house found
//! dangerous), uploaded and committed through a real server; the comparison counts
//! exactly those changes, every area's figures in both versions are the figures
//! `/api/v1/stats` gave before and gives after, the households behind the counts are
//! listed to those who may see them (names masked, reads audited), and a trend follows
//! an indicator over the versions, as JSON and as a chart.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use paicha::app::AppState;
use paicha::domain::access::Role;
use serde_json::Value;

#[path = "support/own_server.rs"]
mod own_server;
use own_server::{account, browse};
#[path = "support/command.rs"]
mod command;
use command::{paicha, run_ok};
#[allow(dead_code, reason = "shared with the API tests, which use all of it")]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/browser.rs"]
mod support;
use support::{blended, close, grouped, pixel};

/// The exported persons as rows of cells (title, header, then one row per person).
struct Export {
    rows: Vec<Vec<String>>,
}

impl Export {
    fn col(&self, name: &str) -> usize {
        self.rows[1].iter().position(|h| h == name).unwrap()
    }

    /// Households in file order: number, then the indices of its rows.
    fn households(&self) -> Vec<(String, Vec<usize>)> {
        let no = self.col("户编号");
        let mut out: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, row) in self.rows.iter().enumerate().skip(2) {
            match out.last_mut() {
                Some((n, rows)) if *n == row[no] => rows.push(i),
                _ => out.push((row[no].clone(), vec![i])),
            }
        }
        out
    }

    fn cell(&self, row: usize, name: &str) -> &str {
        &self.rows[row][self.col(name)]
    }

    fn set(&mut self, rows: &[usize], name: &str, value: &str) {
        let c = self.col(name);
        for &r in rows {
            value.clone_into(&mut self.rows[r][c]);
        }
    }

    fn text(&self) -> String {
        self.rows.iter().map(|r| r.join(",") + "\n").collect()
    }
}

/// The households the story changes, each in a village of its own.
struct Picked {
    removed: (String, Vec<usize>),
    entered: (String, Vec<usize>),
    resolved: (String, Vec<usize>),
    shrunk: (String, Vec<usize>),
    housing: (String, Vec<usize>),
}

fn pick(export: &Export) -> Picked {
    let village = |rows: &[usize]| export.cell(rows[0], "行政村代码").to_owned();
    let mut used: Vec<String> = Vec::new();
    let mut take = |test: &dyn Fn(&[usize]) -> bool| {
        let found = export
            .households()
            .into_iter()
            .find(|(_, rows)| !used.contains(&village(rows)) && test(rows))
            .unwrap();
        used.push(village(&found.1));
        found
    };
    let ordinary = |rows: &[usize]| export.cell(rows[0], "监测对象类别").is_empty();
    Picked {
        removed: take(&ordinary),
        entered: take(&ordinary),
        resolved: take(&|rows| export.cell(rows[0], "风险是否已消除") == "否"),
        shrunk: take(&|rows| ordinary(rows) && rows.len() >= 3),
        housing: take(&|rows| {
            ordinary(rows)
                && export.cell(rows[0], "住房鉴定等级") == "A级"
                && export.cell(rows[0], "是否居住在鉴定房屋") == "是"
        }),
    }
}

/// The next quarter's export: the changes of [`Picked`], the data date 2019-10-01.
fn next_quarter(export: &Export, picked: &Picked) -> String {
    let mut next = Export {
        rows: export.rows.clone(),
    };
    next.rows[0][0] = next.rows[0][0].replace("2019-07-01", "2019-10-01");
    next.set(&picked.entered.1, "监测对象类别", "边缘易致贫户");
    next.set(&picked.entered.1, "致贫/返贫风险1", "因病");
    next.set(&picked.entered.1, "风险是否已消除", "否");
    next.set(&picked.resolved.1, "风险是否已消除", "是");
    next.set(&picked.housing.1, "住房鉴定等级", "D级");
    let shrunk = &picked.shrunk.1;
    next.set(shrunk, "人数", &(shrunk.len() - 1).to_string());
    let gone: Vec<usize> = picked
        .removed
        .1
        .iter()
        .copied()
        .chain([*shrunk.last().unwrap()])
        .collect();
    next.rows = next
        .rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !gone.contains(i))
        .map(|(_, r)| r)
        .collect();
    next.text()
}

struct Server {
    address: String,
    admin: reqwest::Client,
    analyst: reqwest::Client,
    leader: reqwest::Client,
    _state: AppState,
}

impl Server {
    async fn start(db: &Path) -> Self {
        let (admin, analyst, leader) = {
            let store = paicha::store::Store::open(db).unwrap();
            let conn = store.conn().unwrap();
            (
                account(&conn, "importer", Role::Admin, "210422"),
                account(&conn, "county-analyst", Role::Analyst, "210422"),
                account(&conn, "county-leader", Role::Leader, "210422"),
            )
        };
        let (address, state) = own_server::serve(db).await;
        Self {
            address,
            admin,
            analyst,
            leader,
            _state: state,
        }
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(&self.analyst, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Uploads a households file, waits for its dry run and commits it.
    async fn import(&self, name: &str, text: String) -> Value {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(text.into_bytes()).file_name(name.to_owned()),
        );
        let accepted: Value = self
            .admin
            .post(format!("{}/api/v1/imports?kind=households", self.address))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = accepted["id"].as_str().unwrap().to_owned();
        for _ in 0..600 {
            let status: Value = self
                .get(&self.admin, &format!("/api/v1/imports/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if !matches!(status["status"].as_str(), Some("queued" | "checking")) {
                assert_eq!(status["status"], "ready", "{status}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let committed = self
            .admin
            .post(format!("{}/api/v1/imports/{id}/commit", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(committed.status(), 200);
        committed.json().await.unwrap()
    }
}

/// Every township's cell per indicator, as `/api/v1/stats` gives it.
type Cells = BTreeMap<(String, String), (i64, i64)>;

async fn township_cells(server: &Server, indicators: &[String]) -> Cells {
    let stats = server
        .json(&format!(
            "/api/v1/stats?level=township&indicators={}",
            indicators.join(",")
        ))
        .await;
    let mut out = Cells::new();
    for row in stats["rows"].as_array().unwrap() {
        for id in indicators {
            let cell = &row["values"][id];
            out.insert(
                (row["code"].as_str().unwrap().to_owned(), id.clone()),
                (
                    cell["count"].as_i64().unwrap(),
                    cell["denominator"].as_i64().unwrap(),
                ),
            );
        }
    }
    out
}

/// The cells of one side (`before` or `after`) of `/api/v1/changes`' rows.
fn side(changes: &Value, which: &str) -> Cells {
    let mut out = Cells::new();
    for row in changes["rows"].as_array().unwrap() {
        for (id, compared) in row["values"].as_object().unwrap() {
            out.insert(
                (row["code"].as_str().unwrap().to_owned(), id.clone()),
                (
                    compared[which]["count"].as_i64().unwrap(),
                    compared[which]["denominator"].as_i64().unwrap(),
                ),
            );
        }
    }
    out
}

/// The demo county of 1,000 households in a new database, and its persons as
/// `paicha export persons --layout fpf` writes them.
fn county() -> (tempfile::TempDir, PathBuf, Export) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("county.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&db)
            .args(["--households", "1000"]),
    );
    let file = dir.path().join("persons.csv");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["persons", "--layout", "fpf", "--out"])
            .arg(&file),
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let export = Export {
        rows: text
            .trim_start_matches('\u{feff}')
            .lines()
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect(),
    };
    (dir, db, export)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn next_quarters_export_is_compared_with_this_ones_household_by_household() {
    let (_dir, db, export) = county();
    let picked = pick(&export);
    let persons = export.rows.len() - 2;

    let server = Server::start(&db).await;
    // One version before any import: compared with itself, nothing changed.
    let versions = server.json("/api/v1/versions").await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);
    let first = versions["versions"][0].clone();
    assert_eq!(first["current"], true);
    assert_eq!(first["data_date"], "2019-07-01");
    let same = server.json("/api/v1/changes").await;
    assert_eq!(same["households"]["removed"], 0);
    assert_eq!(same["households"]["before"], 1000);
    let indicators: Vec<String> = same["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(indicators.contains(&"dropout".to_owned()), "{indicators:?}");
    assert!(!indicators.contains(&"checklist_unmet".to_owned()));
    assert!(!indicators.contains(&"gps_mismatch".to_owned()));
    let before = township_cells(&server, &indicators).await;
    assert_eq!(side(&same, "before"), before, "the figures /stats gives");
    let housing_village = export.cell(picked.housing.1[0], "行政村代码").to_owned();
    let unsafe_before = server
        .json(&format!(
            "/api/v1/stats?within={housing_village}&indicators=unsafe_housing"
        ))
        .await["total"]["values"]["unsafe_housing"]["count"]
        .as_i64()
        .unwrap();

    let committed = server
        .import("户籍信息-2019Q4.csv", next_quarter(&export, &picked))
        .await;
    let version = committed["data_version"].as_i64().unwrap();
    let versions = server.json("/api/v1/versions").await;
    let list = versions["versions"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{versions}");
    assert_eq!(list[0]["version"], first["version"]);
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[0]["data_date"], "2019-07-01");
    assert_eq!(list[1]["version"], version);
    assert_eq!(list[1]["current"], true);
    assert_eq!(list[1]["data_date"], "2019-10-01");
    assert_eq!(list[1]["source"], "户籍信息-2019Q4.csv");

    // The comparison counts exactly what was changed.
    let changes = server.json("/api/v1/changes").await;
    assert_eq!(changes["from"]["version"], first["version"]);
    assert_eq!(changes["to"]["version"], version);
    let removed_persons = picked.removed.1.len() + 1;
    assert_eq!(
        changes["households"],
        serde_json::json!({"before": 1000, "after": 999, "added": 0, "removed": 1})
    );
    assert_eq!(
        changes["persons"],
        serde_json::json!({"before": persons, "after": persons - removed_persons,
                           "added": 0, "removed": removed_persons})
    );
    assert_eq!(
        changes["monitoring"],
        serde_json::json!({"entered": 1, "left": 0, "risk_resolved": 1, "risk_reopened": 0})
    );
    assert_eq!(
        changes["categories"],
        serde_json::json!([{"before": "ordinary", "before_zh": "一般农户",
                            "after": "monitored_marginal", "after_zh": "边缘易致贫户",
                            "households": 1}])
    );
    // Every township's figures in both versions are those /stats gave and gives.
    assert_eq!(changes["rows"].as_array().unwrap().len(), 15);
    assert_eq!(side(&changes, "before"), before);
    let after = township_cells(&server, &indicators).await;
    assert_eq!(side(&changes, "after"), after);
    assert_ne!(before, after);
    // In the village whose house was found dangerous: one more unsafe house.
    let village = server
        .json(&format!(
            "/api/v1/changes?within={housing_village}&indicators=unsafe_housing"
        ))
        .await;
    let compared = &village["within"]["values"]["unsafe_housing"];
    assert_eq!(compared["before"]["count"], unsafe_before);
    assert_eq!(compared["after"]["count"], unsafe_before + 1);
    assert_eq!(compared["count_change"], 1);
    assert_eq!(village["rows"].as_array().unwrap().len(), 1);

    // The comparison as files: the CSV's first row is the county's (合计), with the
    // numbers above; the XLSX, opened by LibreOffice, has them on its summary sheet.
    let housing = &changes["within"]["values"]["unsafe_housing"];
    let csv = server
        .get(
            &server.analyst,
            "/api/v1/changes?format=csv&indicators=unsafe_housing",
        )
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "代码,名称,户数（前）,户数（后）,人数（前）,人数（后）,居住危房·前,居住危房·后,居住危房·变化,居住危房·占比前(%),居住危房·占比后(%)"
    );
    assert!(
        lines[1].starts_with(&format!(
            "210422,新宾满族自治县（合计）,1000,999,{persons},{},{},{},{},",
            persons - removed_persons,
            housing["before"]["count"],
            housing["after"]["count"],
            housing["count_change"]
        )),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 2 + 15);
    let xlsx = server
        .get(&server.analyst, "/api/v1/changes?format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let summary = helpers::libreoffice_to_csv(&xlsx, "xlsx");
    assert!(summary.contains("户数,1000,999,0,1"), "{summary}");
    assert!(
        summary.contains("一般农户 → 边缘易致贫户（户）,,,1,"),
        "{summary}"
    );
    // After an import that replaced every row, a household's facts are its own: the
    // house found dangerous is behind the village's count (rows once numbered by the
    // store's row ids, which the import left past the old ones, read another's facts).
    let behind = server
        .json(&format!(
            "/api/v1/households?within={housing_village}&indicator=unsafe_housing"
        ))
        .await;
    let numbers: Vec<&str> = behind["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["household_no"].as_str().unwrap())
        .collect();
    assert!(numbers.contains(&picked.housing.0.as_str()), "{behind}");
    assert_eq!(behind["total"], unsafe_before + 1);
    let one = server
        .json(&format!("/api/v1/households/{}", picked.housing.0))
        .await;
    assert!(
        one["failed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "unsafe_housing"),
        "{one}"
    );
    // The households behind the counts, names masked, each read on record.
    let listed = server.json("/api/v1/changes/households").await;
    assert_eq!(listed["total"], 4, "{listed}");
    let kinds: BTreeMap<String, String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["head_name"].as_str().unwrap().contains('*'), "{h}");
            (
                h["household_no"].as_str().unwrap().to_owned(),
                h["change_zh"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        (&picked.removed.0, "减少"),
        (&picked.entered.0, "类别变化"),
        (&picked.resolved.0, "风险状态变化"),
        (&picked.shrunk.0, "人口变化"),
    ]
    .into_iter()
    .map(|(n, k)| (n.clone(), k.to_owned()))
    .collect();
    assert_eq!(kinds, expected);
    let entered = server
        .json("/api/v1/changes/households?change=entered")
        .await;
    assert_eq!(entered["total"], 1);
    assert_eq!(entered["items"][0]["household_no"], picked.entered.0);
    assert_eq!(entered["items"][0]["category_after_zh"], "边缘易致贫户");
    let mut on_record = false;
    for _ in 0..100 {
        let audit: Value = server
            .get(
                &server.admin,
                "/api/v1/audit?user=county-analyst&action=read_personal&limit=50",
            )
            .await
            .json()
            .await
            .unwrap();
        on_record = audit.as_array().unwrap().iter().any(|l| {
            l["route"] == "GET /api/v1/changes/households"
                && l["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&picked.entered.0)
        });
        if on_record {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(on_record, "the read of the households is on record");
    let file = server
        .get(&server.analyst, "/api/v1/changes/households?format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let listed = helpers::libreoffice_to_csv(&file, "xlsx");
    assert!(
        listed.contains(&format!("{},", picked.entered.0)) && listed.contains("类别变化"),
        "户编号 as text, not 2.1E+17: {listed}"
    );
    assert_eq!(listed.lines().count(), 2 + 4, "{listed}");
    // A leader sees the figures, never the households.
    let leader = server.get(&server.leader, "/api/v1/changes").await;
    assert_eq!(leader.status(), 200);
    let refused = server
        .get(&server.leader, "/api/v1/changes/households")
        .await;
    assert_eq!(refused.status(), 403);

    // The trend of one indicator in the village over both versions, and as a chart.
    let trend = server
        .json(&format!(
            "/api/v1/trend?indicator=unsafe_housing&within={housing_village}"
        ))
        .await;
    let counts: Vec<i64> = trend["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [unsafe_before, unsafe_before + 1]);
    assert_eq!(trend["points"][1]["data_date"], "2019-10-01");
    let png = server
        .get(
            &server.analyst,
            &format!("/api/v1/trend?indicator=unsafe_housing&within={housing_village}&format=png"),
        )
        .await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png.to_vec()));
    let info = decoder.read_info().unwrap();
    assert_eq!((info.info().width, info.info().height), (1200, 700));

    // Bad parameters are named.
    for (query, field) in [
        ("/api/v1/changes?from=12345", "from"),
        ("/api/v1/changes?indicators=checklist_unmet", "indicators"),
        ("/api/v1/changes?level=planet", "level"),
        ("/api/v1/changes/households?change=moved", "change"),
        ("/api/v1/trend?indicator=nothing", "indicator"),
    ] {
        let response = server.get(&server.analyst, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    // Undone, the import's version is gone from the list.
    let undone = server
        .admin
        .post(format!(
            "{}/api/v1/imports/{}/undo",
            server.address,
            committed["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(undone.status(), 200);
    let versions = server.json("/api/v1/versions").await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);
    let same = server.json("/api/v1/changes").await;
    assert_eq!(side(&same, "after"), before);
}

/// The colour class of a count's change in the 数据变化 view (web/public/js/changes.js),
/// written out here rather than read from the code under test.
fn change_class(change: i64) -> (usize, &'static str) {
    match change {
        i64::MIN..=-5 => (0, "#1a9850"),
        -4..=-1 => (1, "#91cf60"),
        0 => (2, "#f2f0e9"),
        1..=4 => (3, "#fc8d59"),
        _ => (4, "#d73027"),
    }
}

/// 数据变化 in Chromium: the county's two versions compared as the API compares them,
/// the villages coloured by the change of 危房户 (the legend counting the classes the
/// API's figures fall in), a township's changed households listed masked, and the
/// village whose house was found dangerous painted in the colour of a rise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn the_changes_view_shows_what_changed_on_the_map_and_in_the_panel() {
    let (dir, db, export) = county();
    let picked = pick(&export);
    let server = Server::start(&db).await;
    server
        .import("户籍信息-2019Q4.csv", next_quarter(&export, &picked))
        .await;
    let village = export.cell(picked.housing.1[0], "行政村代码").to_owned();
    let township = export.cell(picked.entered.1[0], "行政村代码")[..9].to_owned();
    let labels = server
        .json("/api/v1/areas.geojson?geometry=label&level=village")
        .await;
    let point = labels["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == village.as_str())
        .unwrap()["geometry"]["coordinates"]
        .clone();
    let by_village = server
        .json("/api/v1/changes?level=village&indicators=unsafe_housing")
        .await;
    let mut classes = [0_i64; 5];
    for row in by_village["rows"].as_array().unwrap() {
        let change = row["values"]["unsafe_housing"]["count_change"]
            .as_i64()
            .unwrap();
        classes[change_class(change).0] += 1;
    }
    let cookies = own_server::sign_in(&server.address, "county-analyst").await;
    let seen = browse(
        &server.address,
        "changes",
        &serde_json::json!({
            "hash": "#view=changes&ind=unsafe_housing&lbl=0&hh=0",
            "township": township,
            "village": village,
            "lon": point[0],
            "lat": point[1],
            "dir": dir.path(),
        }),
        &cookies,
    )
    .await;

    let county = &seen["county"];
    assert_eq!(county["pressed"], "true");
    assert_eq!(county["area"], "新宾满族自治县");
    assert_eq!(county["to"], by_village["to"]["version"].to_string());
    assert_eq!(county["from"], by_village["from"]["version"].to_string());
    assert_eq!(
        (
            &county["added"],
            &county["removed"],
            &county["entered"],
            &county["resolved"]
        ),
        (
            &Value::from("0"),
            &Value::from("1"),
            &Value::from("1"),
            &Value::from("1")
        )
    );
    assert_eq!(
        county["moves"],
        serde_json::json!(["一般农户 → 边缘易致贫户：1 户"])
    );
    let swapped = &seen["swapped"];
    assert_eq!(
        (&swapped["from"], &swapped["to"], &swapped["removed"]),
        (&county["from"], &county["to"], &county["removed"]),
        "{swapped}"
    );
    let housing_row = county["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "unsafe_housing")
        .unwrap();
    assert_eq!(housing_row[4], "+1", "{housing_row}");
    assert_eq!(county["chartPoints"], 2);
    // The legend counts the villages in each class of the API's changes.
    let legend: Vec<String> = seen["legend"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|r| r["count"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = classes
        .iter()
        .map(|n| format!("{} 个村", grouped(*n)))
        .collect();
    assert_eq!(legend, expected);
    assert!(classes[3] >= 1);

    // A township: its villages ranked by the change, its changed households masked.
    let town = &seen["township"];
    assert_eq!(
        town["households"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0] == picked.entered.0.as_str())
            .count(),
        1,
        "{town}"
    );
    for h in town["households"].as_array().unwrap() {
        assert!(h[1].as_str().unwrap().contains('*'), "{h}");
    }
    let ranked: Vec<&str> = town["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(
        ranked.iter().all(|c| c.starts_with(&township)),
        "{ranked:?}"
    );

    // The village whose house was found dangerous: one more, painted as a rise.
    let shown = &seen["village"];
    let row = shown["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "unsafe_housing")
        .unwrap();
    assert_eq!(row[4], "+1");
    let at = &seen["point"];
    let seen_colour = pixel(
        seen["shot"].as_str().unwrap(),
        at["x"].as_f64().unwrap(),
        at["y"].as_f64().unwrap(),
    );
    assert!(
        close(seen_colour, blended(change_class(1).1)),
        "{seen_colour:?}"
    );
    // Back in 指标一张图, the village's panel draws 居住危房 over both versions.
    assert_eq!(seen["areaTrend"]["title"], "居住危房 历次数据");
    assert_eq!(seen["areaTrend"]["points"], 2);
    assert_eq!(
        seen["areaTrend"]["png"],
        format!("api/v1/trend?indicator=unsafe_housing&within={village}&format=png")
    );
}
