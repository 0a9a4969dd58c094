//! Imports through the running server (数据导入, issue 14 and 15): the demo county's
//! persons exported by `paicha export persons`, changed as next month's export would
//! be, uploaded to a real server on a loopback port, checked in the background,
//! committed as a new data version the server answers from at once, and undone; a file
//! with Excel-ruined IDs is refused and nothing changes; only an admin of the whole
//! county may import, and every step is in the audit log.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use paicha::app::AppState;
use paicha::domain::access::Role;
use serde_json::Value;

#[path = "support/own_server.rs"]
mod own_server;
use own_server::{account, browse, sign_in};
#[path = "support/command.rs"]
mod command;
use command::{paicha, run_ok};

/// A server over its own database, and a client per account.
struct Server {
    address: String,
    state: AppState,
    importer: reqwest::Client,
    township_admin: reqwest::Client,
    analyst: reqwest::Client,
}

async fn serve(db: &Path) -> Server {
    let (importer, township_admin, analyst) = {
        let store = paicha::store::Store::open(db).unwrap();
        let conn = store.conn().unwrap();
        (
            account(&conn, "importer", Role::Admin, "210422"),
            account(&conn, "town-admin", Role::Admin, "210422100"),
            account(&conn, "county-analyst", Role::Analyst, "210422"),
        )
    };
    let (address, state) = own_server::serve(db).await;
    Server {
        address,
        state,
        importer,
        township_admin,
        analyst,
    }
}

impl Server {
    async fn upload(
        &self,
        client: &reqwest::Client,
        query: &str,
        files: &[(&str, Vec<u8>)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name((*name).to_owned()),
            );
        }
        client
            .post(format!("{}/api/v1/imports?{query}", self.address))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self
            .importer
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str) -> reqwest::Response {
        self.importer
            .post(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// Polls an import until its dry run is over.
    async fn checked(&self, id: &str) -> Value {
        for _ in 0..600 {
            let status = self.json(&format!("/api/v1/imports/{id}")).await;
            if !matches!(status["status"].as_str(), Some("queued" | "checking")) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the dry run of {id} did not finish in a minute");
    }

    async fn health(&self) -> (u64, i64) {
        let health = self.json("/health").await;
        (
            health["households"].as_u64().unwrap(),
            health["data_version"].as_i64().unwrap(),
        )
    }
}

/// The exported CSV with the rows of one household left out (and the other rows as
/// they came): a household that left the registry.
fn without_household(csv: &str, household_no: &str) -> String {
    let header = csv.lines().nth(1).unwrap();
    let column = header.split(',').position(|h| h == "户编号").unwrap();
    let mut kept = String::new();
    for line in csv.lines() {
        if line.split(',').nth(column) != Some(household_no) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The CSV with the first person's ID number as Excel shows a number it ruined.
fn with_ruined_id(csv: &str) -> String {
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[1].split(',').collect();
    let column = header.iter().position(|h| *h == "证件号码").unwrap();
    let mut cells: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    cells[column] = "2.10422E+17".into();
    lines[2] = cells.join(",");
    lines.join("\n") + "\n"
}

/// The demo county of 1,000 households in a new database, and its persons as
/// `paicha export persons --layout fpf` writes them, with the last household left out
/// (next month's export).
fn county(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("county.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--db"])
            .arg(&db)
            .args(["--households", "1000"]),
    );
    let export = dir.join("persons.csv");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["persons", "--layout", "fpf", "--out"])
            .arg(&export),
    );
    let csv = std::fs::read_to_string(&export).unwrap();
    let header = csv.lines().nth(1).unwrap();
    let column = header.split(',').position(|h| h == "户编号").unwrap();
    let last = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(column)
        .unwrap()
        .to_owned();
    (db, without_household(&csv, &last))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn an_upload_is_checked_committed_served_at_once_and_undone() {
    let dir = tempfile::tempdir().unwrap();
    let (db, next_month) = county(dir.path());
    let persons_left = next_month.lines().count() - 2;
    let server = serve(&db).await;
    let (households, version) = server.health().await;
    assert_eq!(households, 1000);

    // Only an admin of the whole county may import or see imports. (A refusal is
    // answered before the body is read: a small one, so that it is sent whole.)
    let file = [("户籍信息.csv", next_month.clone().into_bytes())];
    let small = [("户籍信息.csv", b"x".to_vec())];
    let anonymous = reqwest::Client::new();
    for (client, status) in [
        (&anonymous, 401),
        (&server.analyst, 403),
        (&server.township_admin, 403),
    ] {
        let response = server.upload(client, "kind=households", &small).await;
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let list = client
            .get(format!("{}/api/v1/imports", server.address))
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), status);
    }
    let bad = server.upload(&server.importer, "kind=people", &small).await;
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "kind");

    // The dry run: the report, and nothing written.
    let response = server
        .upload(&server.importer, "kind=households", &file)
        .await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let accepted: Value = response.json().await.unwrap();
    let id = accepted["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/imports/{id}"));
    assert_eq!(accepted["files"][0]["name"], "户籍信息.csv");
    let checked = server.checked(&id).await;
    assert_eq!(checked["status"], "ready", "{checked}");
    assert_eq!(checked["status_zh"], "待提交");
    assert_eq!(checked["errors"], 0, "{checked}");
    let count = |report: &Value, label: &str| {
        report["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .map(|c| c["value"].as_f64().unwrap())
    };
    assert_eq!(count(&checked["report"], "户数"), Some(999.0));
    assert_eq!(count(&checked["report"], "人数"), Some(persons_left as f64));
    assert_eq!(checked["rows_read"], persons_left as u64 + 2);
    assert_eq!(server.health().await, (1000, version));
    let xlsx = server
        .importer
        .get(format!(
            "{}/api/v1/imports/{id}/report.xlsx",
            server.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    // The commit: a new data version, answered from at once.
    let committed = server.post(&format!("/api/v1/imports/{id}/commit")).await;
    assert_eq!(committed.status(), 200);
    let committed: Value = committed.json().await.unwrap();
    assert_eq!(committed["status"], "committed");
    assert_eq!(committed["committed"]["written"], 999);
    let new_version = committed["data_version"].as_i64().unwrap();
    assert!(new_version > version);
    assert_eq!(server.health().await, (999, new_version));
    let again = server.post(&format!("/api/v1/imports/{id}/commit")).await;
    assert_eq!(again.status(), 409);
    let list = server.json("/api/v1/imports").await;
    let listed = list["committed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(listed["status"], "committed");
    assert_eq!(listed["data_version"], new_version);
    assert_eq!(listed["source"], "户籍信息.csv");
    let pending = list["pending"].as_array().unwrap();
    assert_eq!(pending[0]["by"], "importer");
    assert_eq!(pending[0]["source"], "户籍信息.csv");

    // A file with an ID Excel ruined: refused, and nothing changes.
    let ruined = [("户籍信息.csv", with_ruined_id(&next_month).into_bytes())];
    let response = server
        .upload(&server.importer, "kind=households", &ruined)
        .await;
    assert_eq!(response.status(), 202);
    let ruined_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let checked = server.checked(&ruined_id).await;
    assert_eq!(checked["status"], "ready");
    assert!(checked["errors"].as_u64().unwrap() >= 1, "{checked}");
    let problem = checked["report"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["severity"] == "error")
        .unwrap()
        .clone();
    assert_eq!(problem["file"], "户籍信息.csv");
    assert_eq!(problem["row"], 3);
    assert_eq!(problem["column"], "证件号码");
    let refused = server
        .post(&format!("/api/v1/imports/{ruined_id}/commit"))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(server.health().await, (999, new_version));
    let discarded = server
        .importer
        .delete(format!("{}/api/v1/imports/{ruined_id}", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(discarded.status(), 204);
    let gone = server
        .importer
        .get(format!("{}/api/v1/imports/{ruined_id}", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    // Undo: the previous households are back, as another new data version.
    let undone = server.post(&format!("/api/v1/imports/{id}/undo")).await;
    assert_eq!(undone.status(), 200);
    let undone: Value = undone.json().await.unwrap();
    let (households, last_version) = server.health().await;
    assert_eq!(households, 1000);
    assert_eq!(undone["data_version"], last_version);
    assert!(last_version > new_version);

    // Two uploads checked one after the other: the first one's plan is let go (one is
    // held at a time) and made again at its commit; the second, checked before the
    // data changed, is judged again against the new data at its commit.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = server
            .upload(&server.importer, "kind=households", &file)
            .await;
        let id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(server.checked(&id).await["status"], "ready");
        ids.push(id);
    }
    for id in &ids {
        let committed = server.post(&format!("/api/v1/imports/{id}/commit")).await;
        assert_eq!(committed.status(), 200);
        let committed: Value = committed.json().await.unwrap();
        assert_eq!(committed["committed"]["written"], 999);
        assert_eq!(
            server.health().await,
            (999, committed["data_version"].as_i64().unwrap())
        );
    }
    // The list is newest first: the last commit heads it.
    let list = server.json("/api/v1/imports").await;
    assert_eq!(list["committed"][0]["id"], ids[1].as_str());
    assert_eq!(list["committed"][1]["id"], ids[0].as_str());

    // Over the upload limit: 413, and nothing staged is left behind.
    server.state.imports.set_upload_limit(1000);
    let over = [("户籍信息.csv", next_month.as_bytes()[..2000].to_vec())];
    let response = server
        .upload(&server.importer, "kind=households", &over)
        .await;
    assert_eq!(response.status(), 413);
    let uploads = dir.path().join("county.duckdb.uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);

    // Every step is on record, by the person who took it.
    let audit = server.json("/api/v1/audit?action=import").await;
    let lines: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["user"] == "importer")
        .map(|l| l["detail"].as_str().unwrap().to_owned())
        .collect();
    for step in [
        format!("upload {id} (households): 户籍信息.csv"),
        format!("commit {id}: 999 households written, data version {new_version}"),
        format!("undo {id}: data version {last_version}"),
    ] {
        assert!(lines.contains(&step), "{step} in {lines:?}");
    }
}

/// The 数据导入 page in Debian's Chromium: the upload, the report, the commit, and a
/// file whose errors keep the commit button off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_page_uploads_reports_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (db, next_month) = county(dir.path());
    let good = dir.path().join("户籍信息.csv");
    std::fs::write(&good, &next_month).unwrap();
    let ruined = dir.path().join("户籍信息（有误）.csv");
    std::fs::write(&ruined, with_ruined_id(&next_month)).unwrap();
    let roll = dir.path().join("低保特困名单.csv");
    std::fs::write(&roll, civil_roll(dir.path(), &next_month)).unwrap();
    let server = serve(&db).await;
    // An import committed before, through the API: the page lists it under the new one.
    let earlier = server
        .upload(
            &server.importer,
            "kind=households",
            &[("上月户籍.csv", next_month.clone().into_bytes())],
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.checked(&earlier).await["status"], "ready");
    let response = server
        .post(&format!("/api/v1/imports/{earlier}/commit"))
        .await;
    assert_eq!(response.status(), 200);
    let cookies = sign_in(&server.address, "importer").await;
    let seen = browse(
        &server.address,
        "imports",
        &serde_json::json!({
            "files": [good, ruined],
            "roll": { "kind": "civil", "file": roll },
        }),
        &cookies,
    )
    .await;
    let persons = (next_month.lines().count() - 2).to_string();
    let checked = &seen["checked"];
    assert_eq!(checked["title"], "户籍信息：户籍信息.csv");
    assert!(
        checked["status"].as_str().unwrap().starts_with("待提交"),
        "{checked}"
    );
    let count = |label: &str| {
        checked["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == label)
            .map(|r| r[1].as_str().unwrap().replace(',', ""))
    };
    assert_eq!(count("户数").as_deref(), Some("999"));
    assert_eq!(count("人数"), Some(persons));
    assert!(
        checked["problemsTitle"]
            .as_str()
            .unwrap()
            .starts_with("没有错误"),
        "{checked}"
    );
    assert_eq!(checked["commitDisabled"], false);
    let committed = &seen["committed"];
    let (households, version) = server.health().await;
    assert_eq!(households, 999);
    assert_eq!(committed["status"], format!("已提交：数据版本 {version}"));
    // The list: the committed import first, with its file, data version and 撤销.
    let row = &committed["list"][0];
    assert_eq!(row[2], "户籍信息.csv");
    assert_eq!(row[4], "已提交");
    assert_eq!(row[6], version.to_string());
    assert_eq!(row[8], "撤销");
    // The earlier one below it, which only an undo of the newer would free.
    let row = &committed["list"][1];
    assert_eq!(row[0], earlier.as_str());
    assert_eq!(row[2], "上月户籍.csv");
    assert_eq!(row[8], "");
    let ruined = &seen["ruined"];
    assert!(
        ruined["problemsTitle"]
            .as_str()
            .unwrap()
            .starts_with("发现 1 个错误"),
        "{ruined}"
    );
    let first = &ruined["problems"][0];
    assert_eq!(first[0], "错误");
    assert_eq!(first[1], "户籍信息（有误）.csv");
    assert_eq!(first[2], "第 3 行");
    assert_eq!(first[3], "证件号码");
    assert_eq!(ruined["commitDisabled"], true);
    assert_eq!(server.health().await, (999, version));
    // The roll, checked against the registry as committed: two persons of it, one of
    // the household that left it.
    the_rolls_report_is_shown(&seen["roll"]);
}

/// The page's report of the civil affairs roll: its rows matched as the registry stands.
fn the_rolls_report_is_shown(roll: &Value) {
    assert_eq!(roll["title"], "行业部门名单：低保特困名单.csv", "{roll}");
    let count = |label: &str| {
        roll["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == label)
            .map(|r| r[1].as_str().unwrap().to_owned())
    };
    assert_eq!(count("读取的行").as_deref(), Some("3"), "{roll}");
    assert_eq!(count("与本县户籍匹配").as_deref(), Some("2"), "{roll}");
    assert_eq!(count("户籍中找不到").as_deref(), Some("1"), "{roll}");
    assert_eq!(roll["commitDisabled"], false, "{roll}");
}

/// A civil affairs roll (低保特困名单, UTF-8 CSV under a title row) of three persons: the
/// first two of next month's export, and the first person of the household it left out.
fn civil_roll(dir: &Path, next_month: &str) -> String {
    let ids = |csv: &str| -> Vec<String> {
        let header: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        let column = header.iter().position(|h| *h == "证件号码").unwrap();
        csv.lines()
            .skip(2)
            .map(|l| l.split(',').nth(column).unwrap().to_owned())
            .collect()
    };
    let kept = ids(next_month);
    let all = ids(&std::fs::read_to_string(dir.join("persons.csv")).unwrap());
    let left = all.iter().find(|id| !kept.contains(id)).unwrap();
    format!(
        "新宾县农村低保特困对象名单\n姓名,证件号码,低保/特困,起始日期\n\
         甲,{},低保,2018-01-01\n乙,{},特困,2017-06-01\n丙,{left},低保,2018-03-01\n",
        kept[0], kept[1]
    )
}

/// The land survey's village boundaries as a Shapefile's parts (GBK names,
/// Gauss–Krüger zone 42 with the zone in front, EPSG:4530), written by GDAL's
/// `ogr2ogr`, uploaded together: read as one file, matched, committed; the `.shp`
/// alone is read and fails, naming what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shapefiles_parts_uploaded_together_are_read_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = county(dir.path());
    let geojson = dir.path().join("villages.geojson");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["areas", "--level", "village", "--out"])
            .arg(&geojson),
    );
    let villages = serde_json::from_str::<Value>(&std::fs::read_to_string(&geojson).unwrap())
        .unwrap()["features"]
        .as_array()
        .unwrap()
        .len();
    let shp = dir.path().join("村级调查区.shp");
    let out = std::process::Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", "-t_srs", "EPSG:4530"])
        .args(["-lco", "ENCODING=GBK", "-dialect", "SQLite", "-sql"])
        .arg("SELECT code || '0000000' AS ZLDWDM, name AS ZLDWMC, geometry FROM villages")
        .arg(&shp)
        .arg(&geojson)
        .output()
        .expect("ogr2ogr (GDAL) must be installed: `sudo bash .ci/setup` (apt: gdal-bin)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: Vec<(String, Vec<u8>)> = ["shp", "shx", "dbf", "prj", "cpg"]
        .iter()
        .map(|ext| {
            let name = format!("村级调查区.{ext}");
            (name.clone(), std::fs::read(dir.path().join(&name)).unwrap())
        })
        .collect();
    let server = serve(&db).await;
    let (_, version) = server.health().await;
    let upload = |files: Vec<(String, Vec<u8>)>| {
        let server = &server;
        async move {
            let files: Vec<(&str, Vec<u8>)> =
                files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
            let response = server
                .upload(&server.importer, "kind=boundaries&level=village", &files)
                .await;
            assert_eq!(response.status(), 202);
            let id = response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            (id.clone(), server.checked(&id).await)
        }
    };

    let (id, checked) = upload(parts.clone()).await;
    assert_eq!(checked["status"], "ready", "{checked}");
    assert_eq!(checked["errors"], 0, "{checked}");
    let counts = checked["report"]["counts"].as_array().unwrap();
    let count = |label: &str| {
        counts
            .iter()
            .find(|c| c["label"] == label)
            .map(|c| c["value"].as_f64().unwrap())
    };
    assert_eq!(count("要素数"), Some(villages as f64), "{counts:?}");
    assert_eq!(count("匹配到的村"), Some(villages as f64), "{counts:?}");
    assert_eq!(checked["report"]["source"], "村级调查区.shp");
    let committed = server.post(&format!("/api/v1/imports/{id}/commit")).await;
    assert_eq!(committed.status(), 200);
    let committed: Value = committed.json().await.unwrap();
    assert_eq!(committed["committed"]["written"], villages);
    let (_, new_version) = server.health().await;
    assert!(new_version > version);
    let stored = server.json(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(stored["status"], "committed");
    assert_eq!(stored["data_version"], new_version);

    // The .shp without its parts: the check fails and says why; nothing to commit.
    let (lone, failed) = upload(parts[..1].to_vec()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["status_zh"], "读取失败");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("村级调查区"), "{failed}");
    assert_eq!(
        failed["error_zh"], "村级调查区.shp：村级调查区.shp 旁边缺少 村级调查区.dbf，无法读取",
        "{failed}"
    );
    // The server's folders are its own business.
    assert!(!error.contains(".uploads"), "{error}");
    let refused = server.post(&format!("/api/v1/imports/{lone}/commit")).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(server.health().await.1, new_version);
}
