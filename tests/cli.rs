//! The `paicha` binary as a user runs it: build a demo, export it, serve it.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly, which is what a test wants"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn paicha() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paicha"));
    cmd.env_remove("PAICHA_DB")
        .env_remove("PAICHA_ADDR")
        .env("RUST_LOG", "warn");
    cmd
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_then_export_writes_areas_and_households() {
    use calamine::{Data, Reader as _};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "2000", "--seed", "3", "--db"])
            .arg(&db),
    );

    let areas = dir.path().join("村界.geojson");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["areas", "--level", "village", "--out"])
            .arg(&areas),
    );
    let fc: serde_json::Value = serde_json::from_slice(&std::fs::read(&areas).unwrap()).unwrap();
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 194);
    let households: i64 = features
        .iter()
        .map(|f| f["properties"]["households"].as_i64().unwrap())
        .sum();
    assert_eq!(households, 2000);

    let csv = dir.path().join("households.csv");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["households", "--out"])
            .arg(&csv),
    );
    let bytes = std::fs::read(&csv).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a BOM for Excel and WPS"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "household_no");
    assert!(headers.iter().any(|h| h == "head_id_number"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2000);
    let id_col = headers.iter().position(|h| h == "head_id_number").unwrap();
    assert!(
        rows.iter().all(|r| r[id_col].len() == 18),
        "the admin export holds full IDs"
    );

    // The same as XLSX: numbers of 18 digits stay text, quantities are numbers.
    let xlsx = dir.path().join("households.xlsx");
    run_ok(
        paicha()
            .args(["export", "--db"])
            .arg(&db)
            .args(["households", "--out"])
            .arg(&xlsx),
    );
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.height(), 1 + 2000);
    let income = headers
        .iter()
        .position(|h| h == "income_per_capita")
        .unwrap();
    for (r, row) in rows.iter().enumerate() {
        let cell = |c: usize| sheet.get((r + 1, c)).unwrap();
        assert_eq!(cell(0), &Data::String(row[0].to_owned()));
        assert_eq!(cell(id_col), &Data::String(row[id_col].to_owned()));
        assert_eq!(
            cell(income),
            &Data::Float(row[income].parse().unwrap()),
            "income is a number"
        );
    }
}

/// Issue 20: `bench tiles` listed the empty tiles at y = 0 where the demo's swapped
/// positions (latitude above 85°) land; the list is now of tiles inside the county.
#[test]
fn the_bench_tile_list_holds_no_tile_of_row_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "3000", "--seed", "3", "--db"])
            .arg(&db),
    );
    let list = dir.path().join("paths.txt");
    run_ok(
        paicha()
            .args(["bench", "tiles", "--paths-only", "--db"])
            .arg(&db)
            .arg("--paths-out")
            .arg(&list)
            .arg("--households-out")
            .arg(dir.path().join("households.csv")),
    );
    let text = std::fs::read_to_string(&list).unwrap();
    let paths: Vec<&str> = text.lines().collect();
    assert!(paths.iter().any(|p| p.starts_with("/tiles/villages/12/")));
    assert!(paths.iter().any(|p| p.starts_with("/tiles/households/14/")));
    for p in &paths {
        let y = p.rsplit('/').next().unwrap().split('.').next().unwrap();
        assert_ne!(y, "0", "{p}");
    }
    // What the PostGIS peer loads: every household with a position, as tiles draw it.
    let csv = std::fs::read_to_string(dir.path().join("households.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("row,household_no,village_code,category,failed,lon,lat")
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() > 2_500 && rows.len() <= 3_000, "{}", rows.len());
    for line in &rows {
        let lat: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(lat.is_finite(), "{line}");
    }
}

#[test]
fn export_of_a_missing_database_says_which_file() {
    let out = paicha()
        .args([
            "export",
            "--db",
            "/nonexistent/x.duckdb",
            "households",
            "--out",
            "/tmp/x.csv",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/x.duckdb does not exist"),
        "{stderr}"
    );
}

#[test]
fn duckdbs_memory_is_set_from_the_environment_and_a_bad_size_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.duckdb");
    run_ok(
        paicha()
            .env("PAICHA_DUCKDB_MEMORY", "256MB")
            .args(["demo", "--households", "500", "--db"])
            .arg(&db),
    );
    for bad in ["lots", "1000000000"] {
        let out = paicha()
            .env("PAICHA_DUCKDB_MEMORY", bad)
            .args(["audit", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = format!(
            "PAICHA_DUCKDB_MEMORY=\"{bad}\" is not a memory size with its unit (such as 2GiB or 512MB)"
        );
        assert!(stderr.contains(&said), "{stderr}");
    }
}

#[test]
fn demo_refuses_a_size_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.duckdb");
    let out = paicha()
        .args(["demo", "--households", "0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--households must be between 1 and 10000000"),
        "{stderr}"
    );
    assert!(!db.exists());
}

/// `paicha serve` on `db` at a loopback `port`, from the checkout (for its web/).
fn serve_cmd(db: &Path, port: u16) -> Command {
    let mut cmd = paicha();
    cmd.args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .stdout(Stdio::null());
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_health(url: &str, deadline: Duration) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::blocking::get(url)
            && r.status().is_success()
        {
            return r.json().unwrap();
        }
        assert!(
            start.elapsed() < deadline,
            "the server did not come up within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The README's run command on a fresh checkout: no database yet, so `serve` builds
/// the default demo county, then serves it; SIGTERM shuts it down cleanly.
#[test]
fn serve_builds_the_default_demo_when_there_is_no_database_and_shuts_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.duckdb");
    let port = free_port();
    let mut child = serve_cmd(&db, port).stderr(Stdio::null()).spawn().unwrap();
    let health = wait_for_health(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_mins(5),
    );
    assert_eq!(health["status"], "ok");
    assert_eq!(health["households"], 70_000);
    assert!(db.is_file());

    // See issue 19, item 5: `paicha demo` replaced the database under a running server.
    let refused = |args: &[&str]| {
        let out = paicha().args(args).arg(&db).output().unwrap();
        assert!(!out.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
            "{stderr}"
        );
        stderr
    };
    let exists = refused(&["demo", "--db"]);
    assert!(exists.contains("pass --replace"), "{exists}");
    let pid = format!("(PID {})", child.id());
    let replace = paicha()
        .args(["demo", "--replace", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let export = paicha()
        .args(["export", "--db"])
        .arg(&db)
        .args(["households", "--out", "/dev/null"])
        .output()
        .unwrap();
    let import = paicha()
        .args(["import", "--db"])
        .arg(&db)
        .args(["boundaries", "村界.shp", "--level", "village"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert!(
        stderr.contains("POST /api/v1/imports") && stderr.contains("/imports.html"),
        "an import names the way: {stderr}"
    );
    for out in [replace, export, import] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("in use by another process") && stderr.contains(&pid),
            "{stderr}"
        );
        assert!(!stderr.contains("stack backtrace"), "{stderr}");
    }
    assert_eq!(
        wait_for_health(
            &format!("http://127.0.0.1:{port}/health"),
            Duration::from_secs(5)
        )["households"],
        70_000,
        "the served database is untouched"
    );

    let status = stop(&mut child);
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

/// `bench assign` prints its figures, and its count of positions inside a village
/// agrees with a brute-force check over the very files it exported for the peer.
#[test]
fn bench_assign_agrees_with_brute_force_on_its_exported_inputs() {
    use geo::{Contains, MultiPolygon, Point};

    let dir = tempfile::tempdir().unwrap();
    let out = paicha()
        .args([
            "bench",
            "assign",
            "--households",
            "3000",
            "--seed",
            "5",
            "--export-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["households"], 3000);
    assert_eq!(figures["villages"], 194);
    assert!(figures["points_per_s"].as_f64().unwrap() > 0.0);

    let gj: geojson::GeoJson = std::fs::read_to_string(dir.path().join("villages.geojson"))
        .unwrap()
        .parse()
        .unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        panic!("not a FeatureCollection")
    };
    let villages: Vec<MultiPolygon<f64>> = fc
        .features
        .into_iter()
        .map(|f| MultiPolygon::try_from(f.geometry.unwrap().value).unwrap())
        .collect();
    let mut reader = csv::Reader::from_path(dir.path().join("points.csv")).unwrap();
    let inside = reader
        .records()
        .map(Result::unwrap)
        .filter(|r| {
            let p = Point::new(r[1].parse().unwrap(), r[2].parse().unwrap());
            villages.iter().any(|v| v.contains(&p))
        })
        .count();
    assert_eq!(figures["inside"], inside);
    assert!(inside > 2000, "most positions fall in villages");
}

#[test]
fn tsp_solves_a_tsplib_file_and_names_the_bad_line_of_another() {
    let dir = tempfile::tempdir().unwrap();
    // 16 nodes on a 4 × 4 grid of 10-unit squares, listed out of order: any optimal
    // tour walks the grid's perimeter-and-comb in 16 unit steps, length 160.
    let mut text = String::from(
        "NAME : grid16\nTYPE : TSP\nDIMENSION : 16\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n",
    );
    let order = [5, 0, 15, 10, 3, 12, 7, 1, 14, 9, 2, 11, 4, 13, 8, 6];
    for (id, k) in order.iter().enumerate() {
        writeln!(text, "{} {} {}", id + 1, (k % 4) * 10, (k / 4) * 10).unwrap();
    }
    text.push_str("EOF\n");
    let file = dir.path().join("grid16.tsp");
    std::fs::write(&file, text).unwrap();
    let out = paicha()
        .args(["tsp", "--time-limit-ms", "100", "--tour"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["name"], "grid16");
    assert_eq!(answer["nodes"], 16);
    assert_eq!(answer["length"], 160);
    let mut tour: Vec<u64> = answer["tour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    tour.sort_unstable();
    assert_eq!(tour, (1..=16).collect::<Vec<u64>>());

    let bad = dir.path().join("bad.tsp");
    std::fs::write(
        &bad,
        "NAME : bad\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 x 1\nEOF\n",
    )
    .unwrap();
    let out = paicha().arg("tsp").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.tsp") && err.contains("line 6"), "{err}");
}

#[test]
fn plan_writes_a_gpx_and_names_a_bad_field_of_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plan.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "2000", "--seed", "5", "--db"])
            .arg(&db),
    );
    let request = dir.path().join("request.json");
    std::fs::write(
        &request,
        r#"{"townships": ["210422100"], "days": 2, "sample_per_village": 1}"#,
    )
    .unwrap();
    let gpx_path = dir.path().join("plan.gpx");
    run_ok(
        paicha()
            .arg("plan")
            .arg("--db")
            .arg(&db)
            .arg(&request)
            .arg("--out")
            .arg(&gpx_path),
    );
    let gpx = gpx::read(std::fs::File::open(&gpx_path).unwrap()).unwrap();
    assert!(!gpx.waypoints.is_empty());
    assert!(!gpx.routes.is_empty() && gpx.routes.len() <= 2);
    // The same plan is in the database, as the API would list it.
    let conn = duckdb::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM plans", [], |r| r.get(0))
        .unwrap();
    // The demo's own plans (one a township and week of its visits) are there too.
    let demo: i64 = conn
        .query_row(
            "SELECT count(DISTINCT plan_id) FROM visits WHERE campaign_id = 'xinbin-2019-q3'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(demo > 0);
    assert_eq!(stored, 1 + demo);
    drop(conn);

    std::fs::write(&request, r#"{"townships": ["210422100"], "days": "five"}"#).unwrap();
    let out = paicha()
        .arg("plan")
        .arg("--db")
        .arg(&db)
        .arg(&request)
        .arg("--out")
        .arg(dir.path().join("x.gpx"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("request.json: field days"), "{stderr}");
    std::fs::write(&request, r#"{"townships": ["210422999"], "days": 0}"#).unwrap();
    let out = paicha()
        .arg("plan")
        .arg("--db")
        .arg(&db)
        .arg(&request)
        .arg("--out")
        .arg(dir.path().join("x.gpx"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("field townships[0]") && stderr.contains("field days"),
        "{stderr}"
    );
}

/// See issue 19, item 4: the mis-declared township's exported positions were the raw
/// GCJ-02 values, about 600 m off, while the README said they were WGS-84.
#[test]
fn the_export_holds_each_households_corrected_position_and_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("positions.duckdb");
    // The default demo: smaller ones have too few households at village edges for the
    // offset to show.
    run_ok(paicha().args(["demo", "--db"]).arg(&db));
    let export = |what: &str| -> Vec<std::collections::HashMap<String, String>> {
        let out = dir.path().join(format!("{what}.csv"));
        run_ok(
            paicha()
                .args(["export", "--db"])
                .arg(&db)
                .args([what, "--out"])
                .arg(&out),
        );
        let bytes = std::fs::read(&out).unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    };
    let gcj02: std::collections::HashSet<String> = export("flaws")
        .into_iter()
        .filter(|f| f["flaw"] == "gps_undeclared_gcj02")
        .map(|f| f["household_no"].clone())
        .collect();
    assert!(!gcj02.is_empty(), "the demo plants a mis-declared township");
    // The verdict is the township's: it corrects all its households, those whose
    // position the app took elsewhere (outside the county, say) included.
    let township: std::collections::HashSet<String> =
        gcj02.iter().map(|h| h[..9].to_owned()).collect();
    assert_eq!(township.len(), 1);
    let number = |s: &str| s.parse::<f64>().unwrap();
    let (mut corrected, mut as_declared) = (0, 0);
    for h in export("households") {
        if h["lon"].is_empty() {
            assert!(h["position_lon"].is_empty() && h["position_verdict"].is_empty());
            continue;
        }
        let declared = paicha::spatial::LonLat::new(number(&h["lon"]), number(&h["lat"]));
        let best =
            paicha::spatial::LonLat::new(number(&h["position_lon"]), number(&h["position_lat"]));
        if township.contains(&h["household_no"][..9]) {
            assert_eq!(
                h["position_verdict"], "offset_gcj02",
                "{}",
                h["household_no"]
            );
            if gcj02.contains(&h["household_no"]) {
                // GCJ-02 is 300–700 m off WGS-84 in Liaoning.
                let moved = paicha::spatial::geodesic_m(declared, best);
                assert!((200.0..900.0).contains(&moved), "{moved} m");
                corrected += 1;
            }
        } else {
            assert_eq!(
                h["position_verdict"], "as_declared",
                "{}",
                h["household_no"]
            );
            assert_eq!((declared.lon, declared.lat), (best.lon, best.lat));
            as_declared += 1;
        }
    }
    assert_eq!(corrected, gcj02.len());
    assert!(as_declared > 60_000);
}

/// Issue 16: accounts from the command line on a real (non-demo) database: none at
/// first (serve says how to add one), `user add` with the password on standard input,
/// `user list`, a token that opens the API, and the audit log of what it read.
#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one office's first day, step by step"
)]
fn accounts_are_added_listed_and_audited_from_the_command_line() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("office.duckdb");
    // An office's own database: divisions only, no account.
    let csv = dir.path().join("divisions.csv");
    std::fs::write(
        &csv,
        "code,name\n210422,新宾满族自治县\n210422100,新宾镇\n210422100201,五副甲村民委员会\n",
    )
    .unwrap();
    run_ok(
        paicha()
            .args(["import", "--db"])
            .arg(&db)
            .arg("divisions")
            .arg(&csv)
            .arg("--commit"),
    );
    let port = free_port();
    let server = serve_cmd(&db, port).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_health(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_mins(1),
    );
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("no account can sign in yet") && log.contains("paicha user add"),
        "{log}"
    );

    // Each account's password comes on standard input.
    let add_piped = |args: &[&str]| {
        let mut cmd = paicha()
            .args(["user", "add"])
            .args(args)
            .arg("--db")
            .arg(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        cmd.stdin
            .take()
            .unwrap()
            .write_all(b"correct-horse\n")
            .unwrap();
        cmd.wait_with_output().unwrap()
    };
    let added = add_piped(&[
        "zhang",
        "--display",
        "张三",
        "--role",
        "township",
        "--area",
        "210422100",
        "--role",
        "village",
        "--area",
        "210422100201",
    ]);
    assert!(added.status.success(), "{added:?}");
    // A role or area that does not exist is named.
    let bad = paicha()
        .args([
            "user", "add", "li", "--role", "boss", "--area", "210422", "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--role \"boss\" is none of"),
        "{bad:?}"
    );
    // A department names its department; an evaluator's villages are drawn.
    let nameless = add_piped(&["jyj", "--role", "department", "--area", "210422"]);
    assert!(!nameless.status.success());
    assert!(
        String::from_utf8_lossy(&nameless.stderr)
            .contains("--department: a department role names its department, one of 乡村振兴, 住建, 医保, 教育"),
        "{nameless:?}"
    );
    let education = add_piped(&[
        "jyj",
        "--role",
        "department",
        "--area",
        "210422",
        "--department",
        "教育",
    ]);
    assert!(education.status.success(), "{education:?}");
    let no_campaign = add_piped(&[
        "g1",
        "--role",
        "group",
        "--area",
        "210422100",
        "--campaign",
        "nope",
    ]);
    assert!(
        String::from_utf8_lossy(&no_campaign.stderr).contains("--campaign nope: no such campaign"),
        "{no_campaign:?}"
    );
    let evaluator = add_piped(&["pg", "--role", "evaluator", "--area", "210422"]);
    assert!(evaluator.status.success(), "{evaluator:?}");
    let sample = paicha()
        .args([
            "user",
            "sample",
            "pg",
            "--villages",
            "3",
            "--seed",
            "5",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let drawn = String::from_utf8_lossy(&sample.stdout);
    assert!(
        drawn.contains("1 villages drawn for pg inside 210422 (seed 5;")
            && drawn.contains("210422100201\t五副甲村民委员会"),
        "{sample:?}"
    );
    let list = paicha()
        .args(["user", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("zhang\t张三\t乡镇@210422100 村@210422100201"),
        "{list}"
    );
    assert!(list.contains("jyj\tjyj\t行业部门(教育)@210422"), "{list}");
    assert!(list.contains("pg\tpg\t第三方评估@210422100201"), "{list}");
    let token = paicha()
        .args(["user", "token", "zhang", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let token = String::from_utf8_lossy(&token.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();

    // The token opens the API for the township, and its read is on record.
    let port = free_port();
    let mut server = serve_cmd(&db, port).stderr(Stdio::null()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for_health(&format!("{base}/health"), Duration::from_mins(1));
    let client = reqwest::blocking::Client::new();
    let areas: serde_json::Value = client
        .get(format!("{base}/api/v1/areas"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let codes: Vec<&str> = areas
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["210422100", "210422100201"],
        "only the township and its village"
    );
    let refused = client
        .get(format!("{base}/api/v1/areas"))
        .send()
        .unwrap()
        .status();
    assert_eq!(refused, 401);
    let denied = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"user": "zhang", "password": "wrong-horse"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(denied, 401);
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    let audit = paicha()
        .args(["audit", "--user", "zhang", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.starts_with("时间\t账号\t操作"), "{audit}");
    assert!(
        audit.contains("\tzhang\tsign_in_failed\tPOST /api/v1/session\tfrom 127.0.0.1"),
        "{audit}"
    );
    assert!(!audit.contains("wrong-horse"), "no password in the log");
}

/// Issue 16: plain HTTP is refused beyond loopback; HTTPS from PEM files serves, and
/// its session cookie is `Secure`.
#[test]
fn serve_refuses_plain_http_beyond_loopback_and_serves_https_with_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tls.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "500", "--seed", "5", "--db"])
            .arg(&db),
    );
    let open = paicha()
        .args(["serve", "--addr", "0.0.0.0:0", "--db"])
        .arg(&db)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .unwrap();
    assert!(!open.status.success());
    let said = String::from_utf8_lossy(&open.stderr);
    assert!(
        said.contains("can be reached from other machines")
            && said.contains("--tls-cert")
            && said.contains("--behind-proxy"),
        "{said}"
    );

    // A self-signed certificate made by openssl, an independent tool.
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed (.ci/setup)");
    assert!(made.status.success(), "{made:?}");
    let port = free_port();
    let mut server = serve_cmd(&db, port)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |args: &[&str]| {
        Command::new("curl")
            .args(["-sk", "--max-time", "5"])
            .args(args)
            .output()
            .expect("curl must be installed (.ci/setup)")
    };
    let start = Instant::now();
    let health = loop {
        let out = curl(&[&format!("https://127.0.0.1:{port}/health")]);
        if out.status.success() && !out.stdout.is_empty() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(start.elapsed() < Duration::from_mins(1), "no HTTPS server");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let signed = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-H",
        "content-type: application/json",
        "-d",
        "{\"user\":\"analyst\",\"password\":\"paicha-demo\"}",
        &format!("https://127.0.0.1:{port}/api/v1/session"),
    ]);
    let head = String::from_utf8_lossy(&signed.stdout).to_lowercase();
    assert!(head.starts_with("http/"), "{head}");
    let cookie = head
        .lines()
        .find(|l| l.starts_with("set-cookie: paicha_session="))
        .unwrap_or_default();
    assert!(
        cookie.contains("secure") && cookie.contains("httponly"),
        "{head}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// Stops a server with SIGTERM; its exit status, once it has exited.
fn stop(child: &mut std::process::Child) -> std::process::ExitStatus {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no shutdown after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 16: a restart of the server signs nobody out; signing out, a disabled account
/// (from the command line, with the server stopped) and a new password end the kept
/// sessions for good.
#[test]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
fn sessions_live_on_across_a_restart_until_signed_out_or_the_account_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    let built = paicha()
        .args(["demo", "--households", "500", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(built.status.success());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let start = || {
        let child = serve_cmd(&db, port).stderr(Stdio::null()).spawn().unwrap();
        wait_for_health(&format!("{base}/health"), Duration::from_mins(1));
        child
    };
    let client = reqwest::blocking::Client::new();
    let sign_in = |user: &str| -> String {
        let r = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"user": user, "password": "paicha-demo"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "sign in as {user}");
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let who = |cookies: &str| -> u16 {
        client
            .get(format!("{base}/api/v1/session"))
            .header("Cookie", cookies)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };

    let mut server = start();
    let analyst = sign_in("analyst");
    let leader = sign_in("leader");
    let group = sign_in("group");
    assert_eq!(who(&analyst), 200);
    assert!(stop(&mut server).success());

    let mut server = start();
    assert_eq!(who(&analyst), 200, "the analyst is still signed in");
    assert_eq!(who(&leader), 200, "the leader is still signed in");
    assert_eq!(who(&group), 200);
    // Signing out ends the session, also for the next run.
    let csrf = client
        .get(format!("{base}/api/v1/session"))
        .header("Cookie", &analyst)
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = client
        .delete(format!("{base}/api/v1/session"))
        .header("Cookie", &analyst)
        .header("X-CSRF-Token", csrf)
        .header("Origin", &base)
        .send()
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(who(&analyst), 401);
    assert!(stop(&mut server).success());

    // With the server stopped, the leader's account is disabled and the group's
    // password changed from the command line.
    let disabled = paicha()
        .args(["user", "--db"])
        .arg(&db)
        .args(["disable", "leader"])
        .output()
        .unwrap();
    assert!(
        disabled.status.success(),
        "{}",
        String::from_utf8_lossy(&disabled.stderr)
    );
    let mut passwd = paicha()
        .args(["user", "--db"])
        .arg(&db)
        .args(["passwd", "group"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = passwd.stdin.take().unwrap();
        writeln!(stdin, "a-new-long-password").unwrap();
        writeln!(stdin, "a-new-long-password").unwrap();
    }
    let changed = passwd.wait_with_output().unwrap();
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );

    let mut server = start();
    assert_eq!(who(&analyst), 401, "signed out stays signed out");
    assert_eq!(who(&leader), 401, "a disabled account's session ended");
    assert_eq!(who(&group), 401, "a new password ended the old session");
    assert!(stop(&mut server).success());
}

/// `paicha report --week`: the weekly report of the demo's second week, its totals
/// held against the visits the demo stored.
#[test]
fn the_weekly_report_counts_the_demos_visits_to_the_weeks_end() {
    use calamine::{Data, Reader as _};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("weekly.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "2000", "--seed", "4", "--db"])
            .arg(&db),
    );
    let out = dir.path().join("周报.xlsx");
    run_ok(
        paicha()
            .args([
                "report",
                "--campaign",
                "xinbin-2019-q3",
                "--week",
                "2019-W28",
                "--db",
            ])
            .arg(&db)
            .arg("--out")
            .arg(&out),
    );
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = book.worksheet_range("乡镇进度").unwrap();
    let total = range
        .rows()
        .find(|r| r.get(1) == Some(&Data::String("合计".into())))
        .unwrap();
    let n = |i: usize| match &total[i] {
        Data::Float(f) => *f as i64,
        other => panic!("column {i}: {other:?}"),
    };
    // 计划走访, 已走访, 未遇, 拒访, 计划外走访: (累计, 本周) from column 2.
    let (planned, planned_week) = (n(2), n(3));
    assert!(planned_week > 0);
    assert_eq!(planned, 2 * planned_week, "two full weeks planned");
    let reached = n(4) + n(6) + n(8);
    let unplanned = n(10);
    let conn = duckdb::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row(
            "SELECT count(*) FROM visits WHERE visit_date <= '2019-07-14'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reached + unplanned, stored);
    // The demo's first two weeks are done: every planned stop has a visit.
    assert_eq!(reached, planned);
    let text: String = range.rows().flatten().map(ToString::to_string).collect();
    assert!(text.contains("党政分管负责同志签字"));
}

/// `paicha brief`: a township's briefing as a PDF whose text `pdftotext` reads back
/// (the Chinese font embedded), and an unknown township named in the error.
#[test]
fn brief_writes_a_township_pdf_whose_text_reads_back_and_names_an_unknown_township() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("brief.duckdb");
    run_ok(
        paicha()
            .args(["demo", "--households", "2000", "--seed", "4", "--db"])
            .arg(&db),
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let (code, name): (String, String) = conn
        .query_row(
            "SELECT code, name FROM areas WHERE level = 'township' ORDER BY code LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    let out = dir.path().join("简报.pdf");
    run_ok(
        paicha()
            .args(["brief", "--township", &code, "--week", "2019-W28", "--db"])
            .arg(&db)
            .arg("--out")
            .arg(&out),
    );
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(&out)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let text: String = String::from_utf8(text.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains(&format!("{name}脱贫攻坚排查简报")), "{text}");
    assert!(text.contains("二、主要指标与全县对比"), "{text}");
    assert!(text.contains("xinbin-2019-q3"), "the campaign: {text}");
    let unknown = paicha()
        .args(["brief", "--township", "210422999", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("x.pdf"))
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("no township with code 210422999"), "{err}");
}
