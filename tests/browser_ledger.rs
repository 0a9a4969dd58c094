//! The rectification ledger page (`web/public/ledger.html`, 督查台账) in a real browser:
//! Debian's Chromium driven by Playwright (`web/tests/browser.mjs`, the `ledger-*`
//! scenarios) against the real server on a loopback port. The script acts and reports
//! what the page shows; these tests compare it with the API's own answers.
//!
//! Every test of this binary shares one database and runs in parallel with the others,
//! so each one reads or edits the villages of its own township (the index into
//! `/api/v1/areas?level=township` is given at each test).
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM=`) and `node`; `.ci/run` installs both.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

#[allow(dead_code, reason = "shared with the API tests, which use all of it")]
#[path = "api/helpers.rs"]
mod helpers;

#[path = "support/browser.rs"]
mod support;

use helpers::TestApp;

use serde_json::{Value, json};
use support::{grouped, short_name};

/// Runs one scenario of `web/tests/browser.mjs` and returns what it saw.
async fn drive(app: &TestApp, scenario: &str, args: &Value) -> Value {
    support::drive("browser.mjs", app, scenario, args).await
}

/// The demo campaign: seed 002's 37-item list over the whole county, July–September 2019.
const CAMPAIGN: &str = "xinbin-2019-q3";

/// The code of the `i`th township of the county, as the API lists them.
async fn township(app: &TestApp, i: usize) -> String {
    let townships = app.get_json("/api/v1/areas?level=township").await;
    townships[i]["code"].as_str().unwrap().to_owned()
}

/// The code of the first village of a township.
async fn first_village(app: &TestApp, township: &str) -> String {
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await;
    villages[0]["code"].as_str().unwrap().to_owned()
}

/// A page of the campaign's entries for this query.
async fn entries(app: &TestApp, query: &str) -> Value {
    app.get_json(&format!("/api/v1/campaigns/{CAMPAIGN}/entries?{query}"))
        .await
}

/// The path of one entry.
fn entry_path(key: &str) -> String {
    format!("/api/v1/campaigns/{CAMPAIGN}/entries/{key}")
}

/// `village/position` of an entry.
fn key_of(entry: &Value) -> String {
    format!(
        "{}/{}",
        entry["village_code"].as_str().unwrap(),
        entry["position"]
    )
}

/// Changes an entry through the API (a PATCH) and returns the entry as stored.
async fn patch(app: &TestApp, key: &str, body: &Value) -> Value {
    patch_as(&app.client, app, key, body).await
}

/// [`patch`] by another client (another signed-in person).
async fn patch_as(client: &reqwest::Client, app: &TestApp, key: &str, body: &Value) -> Value {
    let response = client
        .patch(format!("{}{}", app.address, entry_path(key)))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "PATCH {key} {body}: {answer}");
    answer
}

/// The statuses in the ledger's order, with their Chinese names.
const STATUSES: [(&str, &str); 6] = [
    ("not_checked", "未排查"),
    ("no_problem", "无问题"),
    ("problem", "有问题"),
    ("rectifying", "整改中"),
    ("rectified", "已整改"),
    ("closed", "已销号"),
];

/// A status in Chinese.
fn status_label(code: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .expect("a status code")
        .1
}

/// An entry's fields in Chinese, as the history names them.
const FIELDS: [(&str, &str); 10] = [
    ("status", "状态"),
    ("problem", "问题描述"),
    ("measure", "整改措施"),
    ("deadline", "整改期限"),
    ("responsible", "责任人"),
    ("result", "整改结果"),
    ("notes", "备注"),
    ("secretary", "村党支部书记签字"),
    ("first_secretary", "驻村第一书记签字"),
    ("group_leader", "督查组组长签字"),
];

/// An entry's field in Chinese.
fn field_label(field: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .expect("a field of an entry")
        .1
}

/// A value of the history as the page shows it.
fn history_value(field: &str, value: &Value) -> String {
    match value.as_str() {
        None | Some("") => "（空）".to_owned(),
        Some(code) if field == "status" => status_label(code).to_owned(),
        Some(text) => text.to_owned(),
    }
}

/// The history rows the page shows, checked one by one against the API's changes.
fn assert_history_shown(shown: &Value, changes: &[&Value]) {
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), changes.len(), "{shown:?}");
    for (row, change) in shown.iter().zip(changes) {
        let field = change["field"].as_str().unwrap();
        assert_eq!(row["version"], change["version"]);
        assert_eq!(row["field"], field);
        assert_eq!(row["datetime"], change["changed_at"]);
        assert_eq!(row["by"], change["changed_by"]);
        assert!(
            row["label"]
                .as_str()
                .unwrap()
                .starts_with(field_label(field)),
            "{row}"
        );
        assert_eq!(row["old"], history_value(field, &change["old_value"]));
        assert_eq!(row["new"], history_value(field, &change["new_value"]));
        // China time, 2019-09-30 18:00.
        let time = row["time"].as_str().unwrap();
        assert_eq!(time.len(), 16, "{time}");
        assert_eq!(&time[10..11], " ");
    }
}

/// The legend: one colour per status, all different, with the township's counts.
/// Returns the colour of each status.
fn assert_legend_shown(
    legend: &Value,
    villages: &[Value],
) -> std::collections::HashMap<&'static str, String> {
    let legend = legend.as_array().unwrap();
    assert_eq!(legend.len(), STATUSES.len(), "{legend:?}");
    let mut colours = std::collections::HashMap::new();
    for (row, (status, label)) in legend.iter().zip(STATUSES) {
        assert_eq!(row["status"], status);
        assert_eq!(row["label"], label);
        let count = villages
            .iter()
            .flat_map(|v| v["statuses"].as_array().unwrap())
            .filter(|s| *s == status)
            .count();
        assert_eq!(row["count"], grouped(i64::try_from(count).unwrap()));
        colours.insert(status, row["color"].as_str().unwrap().to_owned());
    }
    let distinct: std::collections::HashSet<&String> = colours.values().collect();
    assert_eq!(distinct.len(), STATUSES.len(), "{colours:?}");
    colours
}

/// Every row of the matrix: the village, its short name, and each cell's status in
/// its colour, as `/matrix` has them.
fn assert_matrix_shown(
    rows: &Value,
    villages: &[Value],
    items: &[Value],
    colours: &std::collections::HashMap<&'static str, String>,
) {
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), villages.len());
    for (row, village) in rows.iter().zip(villages) {
        let name = village["name"].as_str().unwrap();
        assert_eq!(row["code"], village["code"]);
        assert_eq!(row["name"], short_name(name));
        assert_eq!(row["title"], name);
        let cells = row["cells"].as_array().unwrap();
        let want = village["statuses"].as_array().unwrap();
        assert_eq!(cells.len(), want.len());
        for ((cell, status), item) in cells.iter().zip(want).zip(items) {
            assert_eq!(cell["position"], item["position"]);
            assert_eq!(cell["status"], *status, "{name} {cell}");
            let status = status.as_str().unwrap();
            assert_eq!(cell["color"], colours[status], "{name} {cell}");
            assert!(
                cell["label"]
                    .as_str()
                    .unwrap()
                    .ends_with(status_label(status))
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_shows_each_villages_status_in_its_colour() {
    let app = TestApp::spawn().await;
    // 大四平镇 (index 4): villages and communities. The page starts on another
    // township and is switched to it with the township picker.
    let start = township(&app, 0).await;
    let code = township(&app, 4).await;
    let matrix = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/matrix?within={code}"
        ))
        .await;
    let villages = matrix["villages"].as_array().unwrap();
    let clicked = (villages[1]["code"].as_str().unwrap(), 3);
    let names = [
        "大四平村村民委员会",
        "支家村民委员会",
        "民主社区居委会",
        "胜利社区居民委员会",
        "红旗村委会",
    ];
    let seen = drive(
        &app,
        "ledger-matrix",
        &json!({"hash": format!("#c={CAMPAIGN}&t={start}"), "township": code,
                "click": [clicked.0, clicked.1], "names": names}),
    )
    .await;
    assert_eq!(seen["campaign"], CAMPAIGN);
    assert_eq!(seen["township"], code);
    assert_eq!(seen["matrixTownship"], code);
    assert!(
        seen["hash"]
            .as_str()
            .unwrap()
            .contains(&format!("t={code}"))
    );
    // The campaign is over the county: every township is offered.
    let townships = app.get_json("/api/v1/areas?level=township").await;
    assert_eq!(
        seen["townships"].as_array().unwrap().len(),
        townships.as_array().unwrap().len()
    );
    assert_eq!(
        seen["short"],
        json!(["大四平村", "支家村", "民主社区", "胜利社区", "红旗村"])
    );

    // The columns: the template's items with their own numbers.
    let items: Vec<Value> = matrix["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"position": i["position"], "number": i["number"].as_str().unwrap_or("—")}))
        .collect();
    assert_eq!(seen["items"], json!(items));

    let colours = assert_legend_shown(&seen["legend"], villages);
    assert!(
        villages
            .iter()
            .any(|v| v["name"].as_str().unwrap().ends_with("社区居委会")),
        "the township has communities"
    );
    assert_matrix_shown(&seen["villages"], villages, &items, &colours);

    // A click on a cell opens that entry, and the link says so.
    let key = format!("{}/{}", clicked.0, clicked.1);
    let entry = app.get_json(&entry_path(&key)).await;
    let opened = &seen["opened"];
    assert_eq!(opened["key"], key);
    assert_eq!(opened["status"], entry["status"]);
    assert_eq!(opened["version"], entry["version"]);
    assert_eq!(opened["content"], entry["item"]["content"]);
    assert_eq!(seen["openCell"], key);
    assert!(
        seen["openedHash"]
            .as_str()
            .unwrap()
            .contains(&format!("e={key}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_give_the_rows_of_the_entries_api() {
    let app = TestApp::spawn().await;
    // 木奇镇 (index 6): only read.
    let code = township(&app, 6).await;
    let steps = json!([
        {"statuses": ["problem", "rectifying"], "category": "三保障", "overdue": true},
        {"statuses": ["no_problem"], "pages": 2},
        {"statuses": ["rectified", "closed"], "category": "三落实"},
    ]);
    let queries = [
        vec!["status=problem,rectifying&category=三保障&overdue=true&limit=50&offset=0".to_owned()],
        vec![
            "status=no_problem&limit=50&offset=0".to_owned(),
            "status=no_problem&limit=50&offset=50".to_owned(),
        ],
        vec!["status=rectified,closed&category=三落实&limit=50&offset=0".to_owned()],
    ];
    let mut answers = Vec::new();
    for step in &queries {
        let mut pages = Vec::new();
        for q in step {
            pages.push(entries(&app, &format!("within={code}&{q}")).await);
        }
        answers.push(pages);
    }
    assert!(
        answers[0][0]["total"].as_i64().unwrap() > 0,
        "some overdue problems"
    );
    assert!(answers[1][0]["total"].as_i64().unwrap() > 50, "two pages");
    let open = key_of(&answers[2][0]["items"][0]);
    let seen = drive(
        &app,
        "ledger-filter",
        &json!({"hash": format!("#c={CAMPAIGN}&t={code}"), "steps": steps, "open": open,
                "reload": true}),
    )
    .await;

    let template = app.get_json("/api/v1/checklists/xinbin-2019").await;
    let mut categories: Vec<&str> = Vec::new();
    for item in template["items"].as_array().unwrap() {
        let c = item["category"].as_str().unwrap();
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    assert_eq!(seen["categories"], json!(categories));

    for (step, (pages, answer_pages)) in seen["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&answers)
        .enumerate()
    {
        let pages = pages.as_array().unwrap();
        assert_eq!(pages.len(), answer_pages.len());
        for (shown, answer) in pages.iter().zip(answer_pages) {
            let want: Vec<Value> = answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    json!({"key": key_of(e),
                           "village": short_name(e["village_name"].as_str().unwrap()),
                           "status": status_label(e["status"].as_str().unwrap())})
                })
                .collect();
            assert_eq!(shown["rows"], json!(want), "step {step}");
            assert_eq!(
                shown["total"],
                grouped(answer["total"].as_i64().unwrap()),
                "step {step}"
            );
        }
    }
    let first_hash = seen["steps"][0][0]["hash"].as_str().unwrap();
    assert!(first_hash.contains("st=problem,rectifying") && first_hash.contains("od=1"));
    assert!(
        seen["steps"][1][1]["hash"]
            .as_str()
            .unwrap()
            .contains("off=50")
    );
    // A row opens its entry; the link (with the filters) reproduces the view.
    assert_eq!(seen["opened"]["key"], open);
    assert!(
        seen["openedHash"]
            .as_str()
            .unwrap()
            .contains(&format!("e={open}"))
    );
    assert_eq!(seen["reloaded"]["rows"], seen["steps"][2][0]["rows"]);
    assert_eq!(
        seen["reloadedFilters"],
        json!({"statuses": ["rectified", "closed"], "category": "三落实", "overdue": false})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_shows_the_history_the_api_returns() {
    let app = TestApp::spawn().await;
    // 上夹河镇 (index 7): two people change one of its entries first (the county
    // analyst, then the tests' account).
    let code = township(&app, 7).await;
    let village = first_village(&app, &code).await;
    let start = entries(&app, &format!("within={village}&status=no_problem&limit=1")).await;
    let key = key_of(&start["items"][0]);
    let v = start["items"][0]["version"].as_i64().unwrap();
    patch_as(
        &app.client_as("analyst").await,
        &app,
        &key,
        &json!({"version": v, "by": "张干部", "status": "problem", "problem": "村务公开栏未按时更新"}),
    )
    .await;
    patch(
        &app,
        &key,
        &json!({"version": v + 1, "by": "李书记", "status": "rectifying",
                "measure": "重新公示并建立更新台账", "deadline": "2019-09-25", "responsible": "村委会主任"}),
    )
    .await;
    // The link alone: campaign and entry, the township found from the village.
    let seen = drive(
        &app,
        "ledger-entry",
        &json!({"hash": format!("#c={CAMPAIGN}&e={key}"), "key": key}),
    )
    .await;
    let api = app.get_json(&entry_path(&key)).await;
    let shown = &seen["entry"];
    assert_eq!(shown["version"], api["version"]);
    assert_eq!(shown["version"], v + 2);
    assert_eq!(shown["status"], "rectifying");
    assert_eq!(shown["statusText"], api["status_name"]);
    assert_eq!(shown["overdue"], api["overdue"]);
    assert_eq!(
        shown["overdue"], true,
        "deadline 2019-09-25, judged on 2019-09-30"
    );
    assert_eq!(shown["updatedBy"], "测试员");
    assert_eq!(shown["content"], api["item"]["content"]);
    for field in ["problem", "measure", "deadline", "responsible"] {
        assert_eq!(shown["form"][field], api[field], "{field}");
    }
    assert_eq!(shown["form"]["status"], "rectifying");
    assert_eq!(
        shown["historyHead"],
        json!(["版本", "时间", "修改人", "项目", "原内容", "新内容"])
    );
    let history: Vec<&Value> = api["history"].as_array().unwrap().iter().collect();
    assert_eq!(history.len(), 6, "2 fields, then 4: {history:?}");
    assert_history_shown(&shown["history"], &history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_saved_and_a_stale_one_shows_who_changed_what() {
    let app = TestApp::spawn().await;
    // 南杂木镇 (index 8).
    let code = township(&app, 8).await;
    let village = first_village(&app, &code).await;
    let start = entries(&app, &format!("within={village}&status=no_problem&limit=1")).await;
    let key = key_of(&start["items"][0]);
    let v = start["items"][0]["version"].as_i64().unwrap();
    let seen = drive(
        &app,
        "ledger-edit",
        &json!({"hash": format!("#c={CAMPAIGN}&t={code}&e={key}"), "key": key,
                "path": entry_path(&key), "editor": "王干部", "notes": ["已入户核实", "复核无误"],
                "other": {"by": "李主任", "notes": "村里已自查", "responsible": "李主任"}}),
    )
    .await;
    assert_eq!(seen["before"]["version"], v);
    assert_eq!(seen["saved"]["version"], v + 1);
    assert_eq!(
        seen["saved"]["saveStatus"],
        format!("已保存（第 {} 版）", v + 1)
    );
    assert_eq!(seen["editor"], "测试员", "填报人 is the signed-in person");

    // The other user's change went in on top of the form's first save, which changed
    // the notes only, in the name of 填报人.
    assert_eq!(seen["other"]["status"], 200);
    let other = &seen["other"]["body"];
    assert_eq!(other["version"], v + 2);
    let by_version = |entry: &Value, version: i64| -> Vec<Value> {
        entry["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["version"] == version)
            .cloned()
            .collect()
    };
    let first = by_version(other, v + 1);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["field"], "notes");
    assert_eq!(first[0]["new_value"], "已入户核实");
    assert_eq!(first[0]["changed_by"], "测试员");

    // The stale save: refused (409), nothing written, and the page shows who changed
    // which fields since the version the form was based on.
    let expected = seen["expected"].as_array().unwrap();
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(expected[0]["status"], 409);
    assert_eq!(expected[0]["method"], "PATCH");
    let after = &seen["afterStale"];
    assert_eq!(after["version"], v + 2, "the stale edit wrote nothing");
    assert_eq!(after["notes"], "村里已自查");
    let stale = &seen["stale"];
    assert_eq!(stale["conflictShown"], true);
    let theirs: Vec<&Value> = after["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["version"].as_i64().unwrap() > v + 1)
        .collect();
    assert_eq!(theirs.len(), 2, "notes and responsible: {theirs:?}");
    assert_history_shown(&stale["conflict"], &theirs);
    assert!(stale["conflictText"].as_str().unwrap().contains("李主任"));
    // The form now holds their change and still the user's own.
    assert_eq!(stale["version"], v + 2);
    assert_eq!(stale["form"]["notes"], "复核无误");
    assert_eq!(stale["form"]["responsible"], "李主任");

    // Submitted again: the user's notes on top of the other's responsible.
    let now = app.get_json(&entry_path(&key)).await;
    assert_eq!(seen["reapplied"]["version"], v + 3);
    assert_eq!(seen["reapplied"]["conflictShown"], false);
    assert_eq!(now["version"], v + 3);
    assert_eq!(now["notes"], "复核无误");
    assert_eq!(now["responsible"], "李主任");
    assert_eq!(now["updated_by"], "测试员");
    let last = by_version(&now, v + 3);
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last[0]["field"], "notes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_and_closing_work_through_the_form() {
    let app = TestApp::spawn().await;
    // 红升乡 (index 9): a rectified entry, its village signatures taken off first.
    let code = township(&app, 9).await;
    let found = entries(
        &app,
        &format!("within={code}&status=rectified,rectifying&limit=1"),
    )
    .await;
    let entry = &found["items"][0];
    let key = key_of(entry);
    let prepared = patch(
        &app,
        &key,
        &json!({"version": entry["version"], "by": "测试准备", "status": "rectified",
                "secretary": null, "first_secretary": null, "group_leader": null}),
    )
    .await;
    let v = prepared["version"].as_i64().unwrap();
    let seen = drive(
        &app,
        "ledger-sign",
        &json!({"hash": format!("#c={CAMPAIGN}&t={code}&e={key}"), "key": key,
                "path": entry_path(&key), "editor": "赵组长",
                "secretary": {"who": "刘书记", "at": "2019-09-20"},
                "first_secretary": {"who": "陈书记", "at": "2019-09-21"},
                "group_leader": "赵组长"}),
    )
    .await;
    assert_eq!(seen["before"]["version"], v);
    assert_eq!(seen["before"]["signatures"]["secretary"], "未签");
    // Closing without the village signatures: the rule's reason beside 状态, nothing
    // written.
    let expected = seen["expected"].as_array().unwrap();
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(expected[0]["status"], 400);
    let refused = &seen["refused"];
    assert_eq!(refused["version"], v);
    assert_eq!(
        refused["errors"],
        json!({"status": "销号须有村党支部书记和驻村第一书记签字"})
    );
    // Signed, then closed.
    let now = app.get_json(&entry_path(&key)).await;
    assert_eq!(now["version"], v + 1);
    assert_eq!(now["status"], "closed");
    assert_eq!(
        now["secretary"],
        json!({"who": "测试员", "at": "2019-09-20"})
    );
    assert_eq!(
        now["first_secretary"],
        json!({"who": "测试员", "at": "2019-09-21"})
    );
    assert_eq!(
        now["group_leader"],
        json!({"who": "测试员", "at": paicha::domain::calendar::today()})
    );
    assert_eq!(now["updated_by"], "测试员");
    // The page showed the signer as the signed-in person before saving.
    assert_eq!(seen["signerShown"], "测试员");
    let signed = &seen["signed"];
    assert_eq!(signed["version"], v + 1);
    assert_eq!(signed["status"], "closed");
    assert_eq!(signed["statusText"], "已销号");
    assert_eq!(signed["signatures"]["secretary"], "测试员（2019-09-20）");
    assert_eq!(
        signed["signatures"]["first_secretary"],
        "测试员（2019-09-21）"
    );
    assert_eq!(seen["cell"]["status"], "closed", "the matrix follows");
}

/// An XLSX file with a title row, then a header row and rows of text, as a village
/// fills it in.
fn workbook(path: &std::path::Path, rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "问题整改台账").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet
                .write_string(
                    u32::try_from(r + 1).unwrap(),
                    u16::try_from(c).unwrap(),
                    *cell,
                )
                .unwrap();
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// Writes the two files a village's ledger is imported from: one with two errors in
/// its row 4 (a status and a date), one good. Returns the bad one's bytes.
fn import_files(bad: &std::path::Path, good: &std::path::Path) -> Vec<u8> {
    let bytes = workbook(
        bad,
        &[
            &["条目", "状态", "问题描述", "整改期限"],
            &["3", "有问题", "档案不全", ""],
            &["4", "好", "", "明天"],
        ],
    );
    workbook(
        good,
        &[
            &[
                "条目",
                "状态",
                "问题描述",
                "整改措施",
                "整改期限",
                "责任人",
                "整改结果",
                "备注",
            ],
            &[
                "3",
                "整改中",
                "扶贫档案不全",
                "补齐档案",
                "2019-09-15",
                "村党支部书记",
                "",
                "县里抽查发现",
            ],
            &["4", "无问题", "", "", "", "", "", ""],
        ],
    );
    bytes
}

/// The bad file's errors as the page shows them: the API's own, row and column in
/// Chinese, reasons translated.
fn assert_row_errors_shown(seen: &Value, problem: &Value) {
    let expected = seen["expected"].as_array().unwrap();
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(expected[0]["status"], 400);
    assert_eq!(seen["errorHead"], json!(["位置", "问题"]));
    let errors = seen["rowErrors"].as_array().unwrap();
    let want = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), want.len());
    for (shown, e) in errors.iter().zip(want) {
        assert_eq!(shown["field"], e["field"]);
        assert_eq!(shown["reason"], e["reason"]);
    }
    assert_eq!(errors[0]["place"], "第 4 行，状态");
    assert!(
        errors[0]["text"]
            .as_str()
            .unwrap()
            .contains("“好”不是有效状态")
    );
    assert_eq!(errors[1]["place"], "第 4 行，整改期限");
    assert!(
        errors[1]["text"]
            .as_str()
            .unwrap()
            .contains("“明天”不是有效日期")
    );
    assert!(seen["message"].as_str().unwrap().contains("未导入任何内容"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_shows_its_row_errors_or_what_it_changed() {
    let app = TestApp::spawn().await;
    // 响水河子乡 (index 10): its first village's ledger is imported.
    let code = township(&app, 10).await;
    let village = first_village(&app, &code).await;
    let dir = tempfile::tempdir().unwrap();
    let (bad, good) = (dir.path().join("有错误.xlsx"), dir.path().join("台账.xlsx"));
    let bad_bytes = import_files(&bad, &good);
    // The API's own answer to the bad file (it writes nothing).
    let url = format!(
        "{}/api/v1/campaigns/{CAMPAIGN}/entries/{village}/import?by=check",
        app.address
    );
    let response = app.client.post(&url).body(bad_bytes).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    // Item 4 as it was: an import row equal to its entry changes nothing.
    let four = app.get_json(&entry_path(&format!("{village}/4"))).await;
    let four_changes = four["status"] != "no_problem"
        || [
            "problem",
            "measure",
            "deadline",
            "responsible",
            "result",
            "notes",
        ]
        .iter()
        .any(|f| !four[*f].is_null());

    let seen = drive(
        &app,
        "ledger-import",
        &json!({"hash": format!("#c={CAMPAIGN}&t={code}"), "village": village,
                "editor": "村会计", "bad": bad, "good": good}),
    )
    .await;
    assert_row_errors_shown(&seen, &problem);

    // The good file: what the API applied is what the page reports.
    assert_eq!(seen["ok"]["rows"], "2");
    assert_eq!(seen["ok"]["changed"], if four_changes { "2" } else { "1" });
    let three = app.get_json(&entry_path(&format!("{village}/3"))).await;
    assert_eq!(three["status"], "rectifying");
    assert_eq!(three["measure"], "补齐档案");
    assert_eq!(three["deadline"], "2019-09-15");
    assert_eq!(three["notes"], "县里抽查发现");
    assert_eq!(three["updated_by"], "测试员");
    let matrix = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/matrix?within={code}"
        ))
        .await;
    let row = matrix["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == village.as_str())
        .unwrap();
    assert_eq!(
        seen["row"], row["statuses"],
        "the matrix follows the import"
    );
    assert_eq!(seen["row"][2], "rectifying");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_links_answer_with_their_files() {
    let app = TestApp::spawn().await;
    // 红庙子乡 (index 11): only read.
    let code = township(&app, 11).await;
    let village = first_village(&app, &code).await;
    let key = format!("{village}/1");
    let seen = drive(
        &app,
        "ledger-reports",
        &json!({"hash": format!("#c={CAMPAIGN}&t={code}&e={key}"), "key": key}),
    )
    .await;
    let links = seen["links"].as_array().unwrap();
    let campaign = app.get_json(&format!("/api/v1/campaigns/{CAMPAIGN}")).await;
    let mut covered = Vec::new();
    for link in links {
        let href = link["href"].as_str().unwrap();
        let within = link["report"].as_str().unwrap();
        let format = link["format"].as_str().unwrap();
        assert_eq!(
            href,
            format!("api/v1/campaigns/{CAMPAIGN}/report?within={within}&format={format}")
        );
        let response = app.get(&format!("/{href}")).await;
        assert_eq!(response.status(), 200, "{href}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.bytes().await.unwrap();
        if format == "xlsx" {
            assert_eq!(
                content_type,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            );
            assert!(body.starts_with(b"PK"), "{href}: a ZIP file");
            assert_eq!(link["download"], true);
        } else {
            assert_eq!(format, "html");
            assert_eq!(content_type, "text/html; charset=utf-8");
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.contains(campaign["name"].as_str().unwrap()), "{href}");
            assert_eq!(link["target"], "_blank");
        }
        covered.push(format!("{within} {format}"));
    }
    covered.sort();
    let county = campaign["area_code"].as_str().unwrap();
    let mut want: Vec<String> = [code.as_str(), county, village.as_str()]
        .iter()
        .flat_map(|c| [format!("{c} html"), format!("{c} xlsx")])
        .collect();
    want.sort();
    assert_eq!(
        covered, want,
        "the township's, the county's and the village's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_links_to_the_ledger_page() {
    let app = TestApp::spawn().await;
    // 北四平乡 (index 12): a village chosen on the map with a ledger indicator.
    let code = township(&app, 12).await;
    let village = first_village(&app, &code).await;
    let seen = drive(
        &app,
        "ledger-nav",
        &json!({"hash": format!("#ind=checklist_unmet&area={village}&lbl=0")}),
    )
    .await;
    assert_eq!(seen["navHref"], "ledger.html");
    assert_eq!(seen["navText"], "督查台账");
    assert_eq!(seen["villageHref"], format!("ledger.html#t={code}"));
    assert_eq!(seen["landed"]["path"], "/ledger.html");
    assert_eq!(seen["landed"]["title"], "排查 · 督查台账");
    assert_eq!(seen["landed"]["campaign"], CAMPAIGN);
    assert_eq!(seen["fromVillage"]["township"], code);
    assert_eq!(seen["fromVillage"]["matrix"], code);
}

/// Creates a campaign over one township on `template` (ids sort after the demo's, so
/// the page still opens on the demo campaign for the other tests).
async fn campaign_on(app: &TestApp, id: &str, template: &str, township: &str) {
    let created = app
        .client
        .post(format!("{}/api/v1/campaigns", app.address))
        .json(
            &json!({"id": id, "name": format!("{id} 测试"), "template_id": template,
            "area_code": township, "starts": "2019-07-01", "ends": "2019-09-30",
            "cycle": "monthly", "due_day": 25, "by": "测试"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
}

/// Issue 21: the county's own list has its responsible units edited on the page, and the
/// campaign's report prints them; a document's list offers a copy instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responsible_units_are_edited_on_the_page_and_reach_the_report() {
    let app = TestApp::spawn().await;
    // 南杂木镇 (index 13) and 榆树乡 (index 14): campaigns of this test only.
    let code = township(&app, 13).await;
    let copied = app
        .client
        .post(format!(
            "{}/api/v1/checklists/xinbin-2019/copy",
            app.address
        ))
        .json(&json!({"id": "zz-units-2019"}))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.status(), 200);
    campaign_on(&app, "zz-units", "zz-units-2019", &code).await;
    let template = app.get_json("/api/v1/checklists/zz-units-2019").await;
    let items = template["items"].as_array().unwrap();
    let (first, second) = (items[0]["position"].clone(), items[1]["position"].clone());
    let seen = drive(
        &app,
        "ledger-units",
        &json!({"hash": format!("#c=zz-units&t={code}"), "template": "zz-units-2019",
                "units": {first.to_string(): "各乡镇、县乡村振兴局", second.to_string(): ""}}),
    )
    .await;
    assert_eq!(seen["copyForm"], false);
    assert_eq!(seen["status"], "已保存 2 项责任单位");
    let rows = seen["rows"].as_array().unwrap();
    assert_eq!(rows.len(), items.len());
    assert!(rows.iter().all(|r| r["editable"] == true));
    assert_eq!(rows[0]["unit"], "各乡镇、县乡村振兴局");
    assert_eq!(rows[1]["unit"], "");
    let stored = app.get_json("/api/v1/checklists/zz-units-2019").await;
    assert_eq!(
        stored["items"][0]["responsible_unit"],
        "各乡镇、县乡村振兴局"
    );
    assert_eq!(stored["items"][1]["responsible_unit"], Value::Null);
    assert_eq!(stored["items"][2], items[2], "only the edited items change");
    for (row, item) in rows.iter().zip(stored["items"].as_array().unwrap()).skip(2) {
        assert_eq!(row["unit"], item["responsible_unit"].as_str().unwrap_or(""));
    }
    let village = first_village(&app, &code).await;
    let report = app
        .get(&format!(
            "/api/v1/campaigns/zz-units/report?within={village}&format=html"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(report.contains("各乡镇、县乡村振兴局"));

    // A document's own list is shown read-only, with a form to copy it.
    let other = township(&app, 14).await;
    campaign_on(&app, "zz-units-builtin", "lianyungang-2019", &other).await;
    let seen = drive(
        &app,
        "ledger-units",
        &json!({"hash": format!("#c=zz-units-builtin&t={other}"), "template": "lianyungang-2019",
                "copyId": "zz-copied"}),
    )
    .await;
    assert_eq!(seen["copyForm"], true);
    let source = app.get_json("/api/v1/checklists/lianyungang-2019").await;
    let shown: Vec<&Value> = seen["rows"].as_array().unwrap().iter().collect();
    assert_eq!(shown.len(), source["items"].as_array().unwrap().len());
    assert!(shown.iter().all(|r| r["editable"] == false));
    assert_eq!(shown[0]["unit"], "各街道");
    assert!(
        seen["toast"].as_str().unwrap().contains("zz-copied"),
        "{}",
        seen["toast"]
    );
    let copy = app.get_json("/api/v1/checklists/zz-copied").await;
    assert_eq!(copy["items"], source["items"]);
}
