//! kill -9 at the worst moments, then a restart: every write the server acknowledged
//! is there, nothing is half-applied, and an interrupted demo build leaves the old
//! database serving. See issue 19.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CAMPAIGN: &str = "xinbin-2019-q3";

fn paicha() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paicha"));
    cmd.env_remove("PAICHA_DB")
        .env_remove("PAICHA_ADDR")
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server on `db`, killed with SIGKILL when dropped (if still running).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &Path, tiles: &Path) -> Self {
        let port = free_port();
        let child = paicha()
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
            .arg(db)
            .arg("--tiles-dir")
            .arg(tiles)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while reqwest::blocking::get(format!("{base}/health")).is_err() {
            assert!(start.elapsed() < Duration::from_mins(1), "no server");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, base }
    }

    fn kill(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-9", &self.child.id().to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn demo(db: &Path) {
    let out = paicha()
        .args(["demo", "--households", "3000", "--seed", "13", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// An API token for the demo's county analyst, made with `paicha user token`.
fn token(db: &Path) -> String {
    let out = paicha()
        .args(["user", "token", "analyst", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// A client that sends the token.
fn client(token: &str) -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::blocking::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The villages of the demo campaign, for writes spread over many entries.
fn villages(base: &str, token: &str) -> Vec<String> {
    let v: Value = client(token)
        .get(format!("{base}/api/v1/areas?level=village"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect()
}

/// An entry as the server has it: its version and notes, and its history's versions.
fn entry(base: &str, token: &str, village: &str, position: u32) -> (i64, Value, Vec<i64>) {
    let e: Value = client(token)
        .get(format!(
            "{base}/api/v1/campaigns/{CAMPAIGN}/entries/{village}/{position}"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let history = e["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["version"].as_i64().unwrap())
        .collect();
    (e["version"].as_i64().unwrap(), e["notes"].clone(), history)
}

/// A write the server acknowledged: village, item position, the version it made and
/// the notes it wrote.
type Acked = (String, u32, i64, String);

#[test]
fn a_killed_server_keeps_every_acknowledged_ledger_write_and_no_half_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.duckdb");
    demo(&db);
    let token = token(&db);
    let mut server = Server::start(&db, &dir.path().join("tiles"));
    let base = server.base.clone();
    let villages = villages(&base, &token);

    // Four writers PATCH notes on entries of their own villages, one after another,
    // recording what the server acknowledged: (village, position, version, notes).
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, base, token) = (
                Arc::clone(&acked),
                Arc::clone(&stop),
                base.clone(),
                token.clone(),
            );
            let mine: Vec<String> = villages.iter().skip(w).step_by(4).cloned().collect();
            std::thread::spawn(move || {
                let client = client(&token);
                let mut n = 0_u32;
                while !stop.load(Ordering::Relaxed) {
                    let village = &mine[n as usize % mine.len()];
                    let position = 1 + n % 37;
                    n += 1;
                    let url =
                        format!("{base}/api/v1/campaigns/{CAMPAIGN}/entries/{village}/{position}");
                    let Ok(r) = client.get(&url).send() else {
                        break;
                    };
                    let Ok(e) = r.json::<Value>() else { break };
                    let version = e["version"].as_i64().unwrap();
                    let notes = format!("writer {w} write {n}");
                    let sent = client
                        .patch(&url)
                        .json(&json!({"version": version, "by": "压力测试", "notes": notes}))
                        .timeout(Duration::from_secs(10))
                        .send();
                    match sent {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push((
                            village.clone(),
                            position,
                            version + 1,
                            notes,
                        )),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    // Kill in the middle of the stream.
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the writers wrote: {}", acked.len());

    let server = Server::start(&db, &dir.path().join("tiles"));
    // The latest acknowledged write of each entry is there, whole.
    let mut latest: std::collections::HashMap<(String, u32), (i64, String)> =
        std::collections::HashMap::new();
    for (village, position, version, notes) in acked {
        let e = latest
            .entry((village, position))
            .or_insert((0, String::new()));
        if version > e.0 {
            *e = (version, notes);
        }
    }
    for ((village, position), (version, notes)) in &latest {
        let (now, now_notes, history) = entry(&server.base, &token, village, *position);
        // An unacknowledged write may have landed after the last acknowledged one, but
        // never fewer: the acknowledged version is there.
        assert!(now >= *version, "{village}/{position}: {now} < {version}");
        if now == *version {
            assert_eq!(now_notes, Value::String(notes.clone()));
        }
        // Every version the entry went through has its history: nothing half-applied.
        for v in 2..=now {
            assert!(
                history.contains(&v),
                "{village}/{position}: no history for {v}"
            );
        }
    }
}

#[test]
fn a_killed_demo_build_leaves_the_old_database_serving_and_its_litter_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    demo(&db);
    let before = std::fs::read(&db).unwrap().len();
    // A 200,000-household build takes seconds: kill it part way.
    let mut build = paicha()
        .args(["demo", "--replace", "--households", "200000", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let building = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".building-"))
    };
    let start = Instant::now();
    while !building(dir.path()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no build started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-9", &build.id().to_string()])
        .status();
    let _ = build.wait();
    assert!(building(dir.path()), "the killed build left its file");
    assert_eq!(
        std::fs::read(&db).unwrap().len(),
        before,
        "the old database is untouched"
    );

    let server = Server::start(&db, &dir.path().join("tiles"));
    let health: Value = reqwest::blocking::get(format!("{}/health", server.base))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["households"], 3000);
    drop(server);

    // The next build sweeps the litter of the killed one.
    let out = paicha()
        .args(["demo", "--replace", "--households", "2000", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !building(dir.path()),
        "the killed build's files are removed"
    );
}
