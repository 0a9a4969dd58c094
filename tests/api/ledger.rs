//! Checklists, the demo campaign's ledger, updates with versions and history, and the
//! reports, read back with an independent XLSX reader.

use serde_json::{Value, json};

use crate::helpers::{TestApp, problem_fields};
use crate::libreoffice::libreoffice_xlsx;

const CAMPAIGN: &str = "xinbin-2019-q3";

#[tokio::test]
async fn both_seed_checklists_are_served_with_their_own_numbering() {
    let app = TestApp::spawn().await;
    let list = app.get_json("/api/v1/checklists").await;
    let by_id = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()
            .clone()
    };
    let xuchang = by_id("xuchang-2022");
    assert_eq!(xuchang["expected_items"], 66);
    assert_eq!(
        xuchang["items"], 60,
        "the source text holds 60 of its 66 items"
    );
    assert_eq!(xuchang["categories"].as_array().unwrap().len(), 7);
    let lyg = by_id("lianyungang-2019");
    assert_eq!(lyg["items"], 37);
    let names: Vec<&str> = lyg["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["三落实", "三精准", "三保障", "其他方面"]);

    let full = app.get_json("/api/v1/checklists/xuchang-2022").await;
    let items = full["items"].as_array().unwrap();
    let numbers: Vec<Option<&str>> = items.iter().map(|i| i["number"].as_str()).collect();
    // The source jumps from 37 to 44 and says so.
    let at37 = numbers.iter().position(|n| *n == Some("37")).unwrap();
    assert_eq!(numbers[at37 + 1], Some("44"));
    assert!(
        items[at37 + 1]["source_note"]
            .as_str()
            .unwrap()
            .contains("38")
    );
    assert!(numbers.contains(&None), "unnumbered rows are kept");
    assert_eq!(items[0]["responsible_unit"], Value::Null);
    app.get_problem("/api/v1/checklists/nope", 404).await;
}

#[tokio::test]
async fn the_demo_campaign_covers_every_village_and_item() {
    let app = TestApp::spawn().await;
    let c = app.get_json(&format!("/api/v1/campaigns/{CAMPAIGN}")).await;
    assert_eq!(c["template_id"], "xinbin-2019");
    assert_eq!(c["as_of"], "2019-09-30");
    let total: i64 = c["statuses"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(total, 194 * 37);
    assert!(c["statuses"]["closed"].as_i64().unwrap() > 0);
    assert!(c["statuses"]["not_checked"].as_i64().unwrap() > 0);
    let overdue = c["overdue"].as_i64().unwrap();
    assert!(overdue > 0);
    let list = app.get_json("/api/v1/campaigns").await;
    assert!(list.as_array().unwrap().iter().any(|c| c["id"] == CAMPAIGN));
    app.get_problem("/api/v1/campaigns/nope", 404).await;

    // Other tests edit this campaign's entries meanwhile: compare two reads taken while
    // the count stood still.
    let mut page = Value::Null;
    let mut overdue = overdue;
    for _ in 0..10 {
        page = app
            .get_json(&format!(
                "/api/v1/campaigns/{CAMPAIGN}/entries?overdue=true&limit=1000"
            ))
            .await;
        let again = app.get_json(&format!("/api/v1/campaigns/{CAMPAIGN}")).await["overdue"]
            .as_i64()
            .unwrap();
        if again == overdue && page["total"] == overdue {
            break;
        }
        overdue = again;
    }
    assert_eq!(page["total"], overdue);
    for e in page["items"].as_array().unwrap() {
        assert!(e["overdue"].as_bool().unwrap());
        assert!(e["deadline"].as_str().unwrap() < "2019-09-30");
        assert!(["problem", "rectifying"].contains(&e["status"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn entries_filter_by_area_status_and_category() {
    let app = TestApp::spawn().await;
    let village = "210422100201";
    let page = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/entries?within={village}&limit=100"
        ))
        .await;
    assert_eq!(page["total"], 37);
    assert_eq!(page["items"][0]["village_name"], "五副甲村民委员会");
    assert!(page["items"][0]["item"]["content"].is_string());
    let cat = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/entries?within={village}&category=三保障&limit=100"
        ))
        .await;
    assert_eq!(cat["total"], 15);
    assert!(
        cat["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["item"]["category"] == "三保障")
    );
    let closed = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/entries?status=已销号&limit=1000"
        ))
        .await;
    for e in closed["items"].as_array().unwrap() {
        assert_eq!(e["status_name"], "已销号");
        assert!(e["secretary"]["who"].is_string() && e["group_leader"]["at"].is_string());
    }
    let p = app
        .get_problem(
            &format!(
                "/api/v1/campaigns/{CAMPAIGN}/entries?status=done&category=x&as_of=soon&limit=0"
            ),
            400,
        )
        .await;
    assert_eq!(problem_fields(&p), ["status", "category", "as_of", "limit"]);
}

async fn patch(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(format!("{}{path}", app.address))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_update_keeps_history_and_a_stale_one_changes_nothing() {
    let app = TestApp::spawn().await;
    let path = format!("/api/v1/campaigns/{CAMPAIGN}/entries/210422100202/5");
    let edits = |tj: &Value| -> u64 {
        let url = tj["tiles"][0].as_str().unwrap();
        url.split("&e=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let edits_before = edits(&app.get_json("/tiles/villages.json").await);
    let before = app.get_json(&path).await;
    let v = before["version"].as_i64().unwrap();
    let r = patch(
        &app,
        &path,
        &json!({ "version": v, "by": "李督查", "status": "rectifying", "problem": "扶贫资产台账不全",
                 "measure": "补齐台账", "deadline": "2019-10-15", "responsible": "村委会主任" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let after: Value = r.json().await.unwrap();
    assert_eq!(after["version"], v + 1);
    assert_eq!(after["status_name"], "整改中");
    // Whatever `by` says, the history names the signed-in person.
    assert_eq!(after["updated_by"], "测试员");
    let history = after["history"].as_array().unwrap();
    let status = history.iter().find(|h| h["field"] == "status").unwrap();
    assert_eq!(status["old_value"], before["status"]);
    assert_eq!(status["new_value"], "rectifying");
    assert_eq!(status["changed_by"], "测试员");
    // Boundary tiles carry ledger figures: their URLs move on with every edit.
    assert!(edits(&app.get_json("/tiles/villages.json").await) > edits_before);

    // Another user still holding version v: refused, nothing written.
    let r = patch(
        &app,
        &path,
        &json!({ "version": v, "by": "王干部", "notes": "已核实" }),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("测试员"), "{p}");
    let now = app.get_json(&path).await;
    assert_eq!(now["version"], v + 1);
    assert_eq!(now["notes"], Value::Null);

    // The rules: closing needs the signatures, dates must be dates.
    let r = patch(
        &app,
        &path,
        &json!({ "version": v + 1, "by": "李督查", "status": "closed", "deadline": "2019-13-01" }),
    )
    .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["deadline", "status"]);
    let r = patch(
        &app,
        &path,
        &json!({ "version": v + 1, "by": "", "colour": "red" }),
    )
    .await;
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["colour"]);
    assert_eq!(app.get_json(&path).await["version"], v + 1);
    let missing = patch(
        &app,
        &format!("/api/v1/campaigns/{CAMPAIGN}/entries/210422100202/999"),
        &json!({ "version": 1, "by": "x" }),
    )
    .await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_townships_matrix_has_every_village_and_item() {
    let app = TestApp::spawn().await;
    let m = app
        .get_json(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/matrix?within=210422100"
        ))
        .await;
    let villages = app.get_json("/api/v1/areas?parent=210422100").await;
    assert_eq!(
        m["villages"].as_array().unwrap().len(),
        villages.as_array().unwrap().len()
    );
    assert_eq!(m["items"].as_array().unwrap().len(), 37);
    for row in m["villages"].as_array().unwrap() {
        let statuses = row["statuses"].as_array().unwrap();
        assert_eq!(statuses.len(), 37);
        assert!(statuses.iter().all(Value::is_string));
    }
    let p = app
        .get_problem(
            &format!("/api/v1/campaigns/{CAMPAIGN}/matrix?within=210422"),
            400,
        )
        .await;
    assert_eq!(problem_fields(&p), ["within"]);
}

#[tokio::test]
async fn reports_are_written_in_the_seeds_layout() {
    use calamine::{DataType, Reader};
    let app = TestApp::spawn().await;
    let r = app
        .get(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/report?within=210422100&as_of=2019-08-31"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["台账", "汇总"]);
    let sheet = book.worksheet_range("台账").unwrap();
    let title = sheet.get_value((0, 0)).unwrap().to_string();
    assert!(
        title.contains("月报表") && title.contains("2019年8月"),
        "{title}"
    );
    let header_row = (0..6)
        .find(|&r| {
            sheet
                .get_value((r, 1))
                .is_some_and(|v| v.as_string().as_deref() == Some("序号"))
        })
        .unwrap();
    let headers: Vec<String> = (0..8)
        .map(|c| sheet.get_value((header_row, c)).unwrap().to_string())
        .collect();
    assert_eq!(
        headers,
        [
            "村",
            "序号",
            "排查项目",
            "排查内容",
            "排查情况",
            "整改措施",
            "整改进度",
            "责任单位"
        ]
    );
    let villages = app
        .get_json("/api/v1/areas?parent=210422100")
        .await
        .as_array()
        .unwrap()
        .len();
    let rows = (header_row + 1..sheet.height() as u32)
        .filter(|&r| {
            sheet
                .get_value((r, 1))
                .is_some_and(|v| !v.to_string().is_empty())
        })
        .count();
    assert_eq!(rows, villages * 37);

    let html = app
        .get(&format!(
            "/api/v1/campaigns/{CAMPAIGN}/report?within=210422100201&format=html"
        ))
        .await;
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    let text = html.text().await.unwrap();
    assert!(text.contains("新宾县2019年脱贫攻坚问题大排查") && text.contains("驻村第一书记"));
    let p = app
        .get_problem(
            &format!("/api/v1/campaigns/{CAMPAIGN}/report?within=210423&format=pdf"),
            400,
        )
        .await;
    assert_eq!(problem_fields(&p), ["format"]);
    let p = app
        .get_problem(
            &format!("/api/v1/campaigns/{CAMPAIGN}/report?within=210423"),
            400,
        )
        .await;
    assert_eq!(problem_fields(&p), ["within"]);
}

#[tokio::test]
async fn ledger_indicators_count_the_entries_of_each_village_and_township() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    // Not the first township: another test edits one of its entries.
    let township = townships[1]["code"].as_str().unwrap().to_owned();
    let ids = "checklist_unmet,rectification_overdue,rectification_rate";
    let count = |path: String| {
        let app = &app;
        async move { app.get_json(&path).await["total"].as_i64().unwrap() }
    };
    let base = format!("/api/v1/campaigns/{CAMPAIGN}/entries?within={township}");
    let all = count(base.clone()).await;
    let open = count(format!("{base}&status=problem,rectifying")).await;
    let overdue = count(format!("{base}&overdue=true")).await;
    let found = count(format!("{base}&status=problem,rectifying,rectified,closed")).await;
    let done = count(format!("{base}&status=rectified,closed")).await;
    let stats = app
        .get_json(&format!(
            "/api/v1/stats?within={township}&level=township&indicators={ids}"
        ))
        .await;
    let v = &stats["rows"][0]["values"];
    assert_eq!(v["checklist_unmet"]["count"], open);
    assert_eq!(v["checklist_unmet"]["denominator"], all);
    assert_eq!(v["rectification_overdue"]["count"], overdue);
    assert_eq!(v["rectification_overdue"]["denominator"], found);
    assert_eq!(v["rectification_rate"]["count"], done);
    assert!(overdue > 0 && done > 0);
    // By village they add up to the township.
    let villages = app
        .get_json(&format!("/api/v1/stats?within={township}&indicators={ids}"))
        .await;
    let sum: i64 = villages["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["checklist_unmet"]["count"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, open);
    // They are village-level: not for drawn shapes, household lists or heat maps.
    let r = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .json(&json!({ "bbox": [124.9, 41.6, 125.2, 41.85], "indicators": ["checklist_unmet"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let p = app
        .get_problem("/api/v1/households?indicator=rectification_overdue", 400)
        .await;
    assert_eq!(problem_fields(&p), ["indicator"]);
    app.get_problem("/tiles/heat/checklist_unmet/9/0/0.png", 400)
        .await;
}

#[tokio::test]
async fn a_new_campaign_gets_an_entry_per_village_and_item() {
    let app = TestApp::spawn().await;
    let post = |body: Value| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/v1/campaigns", app.address))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // The last township: the other tests read and edit the first two.
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = townships.as_array().unwrap().last().unwrap().clone();
    let code = township["code"].as_str().unwrap();
    let body = json!({ "id": "town-2022", "name": "2022年大排查大起底", "template_id": "xuchang-2022",
        "area_code": code, "starts": "2022-03-01", "ends": "2022-05-31", "cycle": "weekly", "due_day": 5, "by": "县乡村振兴局" });
    let r = post(body.clone()).await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={code}"))
        .await
        .as_array()
        .unwrap()
        .len() as i64;
    assert_eq!(c["statuses"]["not_checked"], villages * 60);
    assert_eq!(c["area_name"], township["name"]);
    // Its villages' ledger figures now come from it: everything not checked yet.
    let stats = app
        .get_json(&format!(
            "/api/v1/stats?within={code}&level=township&indicators=checklist_unmet"
        ))
        .await;
    let unmet = &stats["rows"][0]["values"]["checklist_unmet"];
    assert_eq!(unmet["count"], 0);
    assert_eq!(unmet["denominator"], villages * 60);
    assert_eq!(post(body).await.status(), 409, "the id is taken");
    let r = post(
        json!({ "id": "bad id", "name": "", "template_id": "x", "area_code": "210422101201",
        "starts": "2022-03-01", "ends": "2022-02-01", "cycle": "daily", "due_day": 40, "by": "" }),
    )
    .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        problem_fields(&p),
        ["id", "name", "template_id", "area_code", "ends", "cycle"]
    );
}

/// An XLSX file with a header row and rows of text, as a village would fill it in.
fn workbook(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "五副甲村问题整改台账").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *cell).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_villages_ledger_is_imported_from_xlsx_all_or_nothing() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = townships[2]["code"].as_str().unwrap();
    let village = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |bytes: Vec<u8>, by: &str| {
        let url = format!(
            "{}/api/v1/campaigns/{CAMPAIGN}/entries/{village}/import?by={by}",
            app.address
        );
        let client = app.client.clone();
        async move { client.post(url).body(bytes).send().await.unwrap() }
    };
    let entry = |pos: u32| {
        let path = format!("/api/v1/campaigns/{CAMPAIGN}/entries/{village}/{pos}");
        let app = &app;
        async move { app.get_json(&path).await }
    };
    let before = entry(3).await;

    let bad = workbook(&[
        &["条目", "状态", "问题描述", "整改期限"],
        &["3", "有问题", "档案不全", ""],
        &["4", "好", "", "明天"],
    ]);
    let r = post(bad, "村会计").await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["row 4, 状态", "row 4, 整改期限"]);
    assert_eq!(
        entry(3).await["version"],
        before["version"],
        "nothing written"
    );
    let r = post(b"not a spreadsheet".to_vec(), "村会计").await;
    let p: Value = r.json().await.unwrap();
    assert_eq!(problem_fields(&p), ["file"]);

    let good = workbook(&[
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
    ]);
    let r = post(good, "村会计").await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["rows"], 2);
    let after = entry(3).await;
    assert_eq!(after["status"], "rectifying");
    assert_eq!(after["deadline"], "2019-09-15");
    assert_eq!(after["notes"], "县里抽查发现");
    assert_eq!(after["updated_by"], "测试员");
    assert!(
        after["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["field"] == "measure" && h["changed_by"] == "测试员")
    );
    assert_eq!(entry(4).await["status"], "no_problem");
}

#[tokio::test]
async fn a_template_is_added_from_a_libreoffice_xlsx_and_used_by_a_campaign() {
    let app = TestApp::spawn().await;
    let csv = "category,number,item,content,responsible_unit\n\
               两不愁,1,吃穿,是否存在愁吃愁穿情况,乡镇\n\
               两不愁,,,是否落实临时救助,民政\n\
               三保障,3,住房,是否存在住危房情况,住建\n";
    let xlsx = libreoffice_xlsx("mini", csv);
    let url = format!(
        "{}/api/v1/checklists?id=mini-2023&name=简易清单&region=辽宁省&year=2023&source=test&layout=lianyungang",
        app.address
    );
    let r = app.client.post(&url).body(xlsx).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        t["items"][1]["number"],
        Value::Null,
        "an unnumbered row stays unnumbered"
    );
    assert_eq!(t["items"][2]["number"], "3");
    assert_eq!(t["items"][2]["responsible_unit"], "住建");
    let listed = app.get_json("/api/v1/checklists/mini-2023").await;
    assert_eq!(listed["name"], "简易清单");
    // The same id again: 409; a CSV without content: the row and column named.
    let again = app
        .client
        .post(&url)
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let bad = app
        .client
        .post(url.replace("mini-2023", "mini-bad"))
        .body("category,content\n两不愁,\n")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let p: Value = bad.json().await.unwrap();
    let reason = p["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("row 2") && reason.contains("content"),
        "{reason}"
    );
    // A campaign over it (ending before the demo's, so that the demo stays the
    // latest campaign of these villages for the other tests).
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let code = townships[4]["code"].as_str().unwrap();
    let villages = app
        .get_json(&format!("/api/v1/areas?parent={code}"))
        .await
        .as_array()
        .unwrap()
        .len();
    let c: Value = app
        .client
        .post(format!("{}/api/v1/campaigns", app.address))
        .json(&json!({ "id": "mini-campaign", "name": "简易排查", "template_id": "mini-2023", "area_code": code,
            "starts": "2019-01-01", "ends": "2019-01-31", "cycle": "monthly", "due_day": 25, "by": "测试" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["template_name"], "简易清单");
    assert_eq!(c["statuses"]["not_checked"], villages * 3);
}

#[tokio::test]
async fn a_villages_ledger_written_by_libreoffice_is_imported() {
    let app = TestApp::spawn().await;
    let townships = app.get_json("/api/v1/areas?level=township").await;
    let township = townships[3]["code"].as_str().unwrap();
    let village = app
        .get_json(&format!("/api/v1/areas?parent={township}"))
        .await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let xlsx = libreoffice_xlsx(
        "ledger",
        "条目,状态,问题描述,整改措施,整改期限,责任人\n\
         7,整改中,公示不规范,重新公示,2019-09-20,村委会主任\n\
         8,无问题,,,,\n",
    );
    let r = app
        .client
        .post(format!(
            "{}/api/v1/campaigns/{CAMPAIGN}/entries/{village}/import?by=乡镇干部",
            app.address
        ))
        .body(xlsx)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e = app
        .get_json(&format!("/api/v1/campaigns/{CAMPAIGN}/entries/{village}/7"))
        .await;
    assert_eq!(e["status"], "rectifying");
    assert_eq!(e["measure"], "重新公示");
    assert_eq!(e["deadline"], "2019-09-20");
    assert_eq!(e["updated_by"], "测试员");
}

/// Issue 21: a county copies a document's list and gives it its own responsible units;
/// a campaign on the copy reports them. Built-in lists never change.
#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one scenario, checked top to bottom")]
async fn a_template_is_copied_and_its_units_edited_for_the_county() {
    let app = TestApp::spawn().await;
    // The demo county already runs on its own copy of seed 002's list.
    let county = app.get_json("/api/v1/checklists/xinbin-2019").await;
    assert_eq!(county["items"][0]["responsible_unit"], "各乡镇");
    assert!(county["items"].as_array().unwrap().iter().all(|i| {
        !i["responsible_unit"]
            .as_str()
            .unwrap_or("")
            .contains("街道")
    }));
    let list = app.get_json("/api/v1/checklists").await;
    let editable = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["editable"]
            .clone()
    };
    assert_eq!(editable("lianyungang-2019"), false);
    assert_eq!(editable("xinbin-2019"), true);

    let post = |path: String, body: Value| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let patch = |path: String, body: Value| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        async move { client.patch(url).json(&body).send().await.unwrap() }
    };
    let copy = post(
        "/api/v1/checklists/lianyungang-2019/copy".into(),
        json!({"id": "units-test-2019", "region": "辽宁省抚顺市新宾满族自治县"}),
    )
    .await;
    assert_eq!(copy.status(), 200);
    let copy: Value = copy.json().await.unwrap();
    let original = app.get_json("/api/v1/checklists/lianyungang-2019").await;
    assert_eq!(copy["items"], original["items"]);
    assert_eq!(copy["name"], original["name"]);
    assert_eq!(copy["region"], "辽宁省抚顺市新宾满族自治县");

    // The same id again, a bad id, an unknown source.
    let again = post(
        "/api/v1/checklists/lianyungang-2019/copy".into(),
        json!({"id": "units-test-2019"}),
    )
    .await;
    assert_eq!(again.status(), 409);
    let bad = post(
        "/api/v1/checklists/xuchang-2022/copy".into(),
        json!({"id": "有 空格"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(problem_fields(&bad.json().await.unwrap()), ["id"]);
    let none = post("/api/v1/checklists/nope/copy".into(), json!({"id": "x"})).await;
    assert_eq!(none.status(), 404);

    // Built-in lists are the documents' words.
    let builtin = patch(
        "/api/v1/checklists/xuchang-2022".into(),
        json!({"units": [{"position": 1, "responsible_unit": "县财政局"}]}),
    )
    .await;
    assert_eq!(builtin.status(), 409);
    // Every bad unit is named and nothing is changed.
    let wrong = patch(
        "/api/v1/checklists/units-test-2019".into(),
        json!({"units": [{"position": 1, "responsible_unit": "县财政局"},
                         {"position": 9999, "responsible_unit": "县教育局"},
                         {"position": 1, "responsible_unit": "县教育局"},
                         {"position": 2, "responsible_unit": "长".repeat(201)}]}),
    )
    .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        problem_fields(&wrong.json().await.unwrap()),
        [
            "units[1].position",
            "units[2].position",
            "units[3].responsible_unit"
        ]
    );
    assert_eq!(
        app.get_json("/api/v1/checklists/units-test-2019").await["items"],
        original["items"]
    );

    let first = copy["items"][0]["position"].as_u64().unwrap();
    let second = copy["items"][1]["position"].as_u64().unwrap();
    let edited = patch(
        "/api/v1/checklists/units-test-2019".into(),
        json!({"name": "新宾县大排查清单", "units": [
            {"position": first, "responsible_unit": " 各乡镇、县乡村振兴局 "},
            {"position": second, "responsible_unit": ""}]}),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let stored = app.get_json("/api/v1/checklists/units-test-2019").await;
    assert_eq!(stored["name"], "新宾县大排查清单");
    assert_eq!(
        stored["items"][0]["responsible_unit"],
        "各乡镇、县乡村振兴局"
    );
    assert_eq!(stored["items"][1]["responsible_unit"], Value::Null);
    assert_eq!(stored["items"][2], original["items"][2]);

    // A campaign on the copy prints the county's units in its ledger.
    let created = post(
        "/api/v1/campaigns".into(),
        json!({"id": "units-test", "name": "责任单位测试", "template_id": "units-test-2019",
               "area_code": "210422101", "starts": "2019-07-01", "ends": "2019-09-30",
               "cycle": "monthly", "due_day": 25, "by": "测试"}),
    )
    .await;
    assert_eq!(created.status(), 200);
    let village = app
        .get_json("/api/v1/areas?level=village&parent=210422101")
        .await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = app
        .get(&format!(
            "/api/v1/campaigns/units-test/report?within={village}&format=html"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("各乡镇、县乡村振兴局"), "{html}");
}
