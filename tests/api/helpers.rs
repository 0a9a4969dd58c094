//! `TestApp`: the real service on a loopback port over a real demo database.

use std::path::PathBuf;
use std::sync::OnceLock;

use paicha::app::AppState;
use paicha::demo::{self, DemoOptions};
use paicha::store::Store;

/// The demo the API tests share: small enough to build in a second or two.
pub const TEST_HOUSEHOLDS: u64 = 4000;
/// Its seed.
pub const TEST_SEED: u64 = 7;

struct Shared {
    _dir: tempfile::TempDir,
    state: AppState,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        build("api.duckdb", |path, options| {
            demo::build(path, options, || ())
        })
    })
}

/// The demo city (three counties under 抚顺市), for the tests of a city's views.
fn shared_city() -> &'static Shared {
    static CITY: OnceLock<Shared> = OnceLock::new();
    CITY.get_or_init(|| {
        build("city.duckdb", |path, options| {
            demo::build_city(path, options, || ())
        })
    })
}

/// A test demo written by `write` into a new database, opened as the server opens it.
fn build(
    name: &str,
    write: impl FnOnce(&std::path::Path, &DemoOptions) -> Result<demo::DemoSummary, demo::DemoError>,
) -> Shared {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let options = DemoOptions {
        households: TEST_HOUSEHOLDS,
        seed: TEST_SEED,
    };
    write(&path, &options).unwrap();
    // One database instance per process: every test shares this store.
    let state = AppState::new(
        Store::open(&path).unwrap(),
        paicha::indicators::Catalog::builtin().unwrap(),
    )
    .unwrap();
    Shared { _dir: dir, state }
}

/// One exported row: column name → value as text.
pub type RawRow = std::collections::HashMap<String, String>;

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts the service on 127.0.0.1 with an OS-chosen port, serving the repo's web/.
    pub async fn spawn() -> Self {
        Self::serve(shared()).await
    }

    /// Like [`TestApp::spawn`], over the demo city's database: its own, so that
    /// `snapshot` and `raw_rows` (the county's) do not apply.
    pub async fn spawn_city() -> Self {
        Self::serve(shared_city()).await
    }

    async fn serve(shared: &Shared) -> Self {
        let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
        let router = paicha::api::router(shared.state.clone(), &web);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(paicha::api::serve(listener, router, std::future::pending()));
        Self {
            address,
            client: reqwest::Client::new(),
        }
    }

    /// Like [`TestApp::spawn`], over the same database, with these tile settings
    /// (a basemaps folder, a 天地图 key).
    pub async fn spawn_with_tiles(settings: paicha::tiles::TileSettings) -> Self {
        let shared = shared();
        let state = AppState::with_tiles(
            shared.state.store.clone(),
            paicha::indicators::Catalog::builtin().unwrap(),
            settings,
        )
        .unwrap();
        let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
        let router = paicha::api::router(state, &web);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(paicha::api::serve(listener, router, std::future::pending()));
        Self {
            address,
            client: reqwest::Client::new(),
        }
    }

    /// The snapshot the server answers from, to compare answers with.
    #[expect(
        clippy::unused_self,
        reason = "a method, so that only a running app's tests use it"
    )]
    pub fn snapshot(&self) -> std::sync::Arc<paicha::model::Snapshot> {
        shared().state.snapshot()
    }

    /// The admin export's households and members, as column → value maps.
    #[expect(
        clippy::unused_self,
        reason = "a method, so that only a running app's tests use it"
    )]
    pub fn raw_rows(&self) -> (Vec<RawRow>, Vec<RawRow>) {
        let conn = shared().state.store.conn().unwrap();
        let read = |which| {
            let mut header: Vec<String> = Vec::new();
            let mut rows = Vec::new();
            paicha::store::households::export(&conn, which, |r| {
                if header.is_empty() {
                    header = r.to_vec();
                } else {
                    rows.push(header.iter().cloned().zip(r.iter().cloned()).collect());
                }
                Ok::<(), ()>(())
            })
            .unwrap();
            rows
        };
        (
            read(paicha::store::HouseholdExport::Households),
            read(paicha::store::HouseholdExport::Members),
        )
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    /// GETs and parses JSON, failing with status, headers and body if not 200.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        let status = response.status();
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}\nheaders: {headers}\nbody: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// GETs a problem document, checking status and content type.
    pub async fn get_problem(&self, path: &str, status: u16) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), status, "GET {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "GET {path}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], status);
        body
    }
}

/// The parameter names a problem document's `errors` list, in order.
pub fn problem_fields(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A red square (200, 30, 30) over 124.8–125.0°E, 41.6–41.8°N, as GDAL writes it into
/// an MBTiles package `{name}.mbtiles` in `dir`.
pub fn gdal_mbtiles(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let tif = dir.join("square.tif");
    let out = dir.join(format!("{name}.mbtiles"));
    let run = |cmd: &mut std::process::Command| {
        let o = cmd
            .output()
            .expect("GDAL must be installed (gdal-bin, see .ci/run)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(std::process::Command::new("gdal_create")
        .args([
            "-of",
            "GTiff",
            "-outsize",
            "256",
            "256",
            "-bands",
            "3",
            "-ot",
            "Byte",
            "-burn",
            "200",
            "-burn",
            "30",
            "-burn",
            "30",
            "-a_srs",
            "EPSG:4326",
            "-a_ullr",
            "124.8",
            "41.8",
            "125.0",
            "41.6",
        ])
        .arg(&tif));
    run(std::process::Command::new("gdal_translate")
        .args(["-of", "MBTILES", "-co", "TILE_FORMAT=PNG"])
        .arg(&tif)
        .arg(&out));
    out
}

/// A spreadsheet as `LibreOffice` (an independent reader) shows it, converted to CSV
/// (UTF-8, cells as shown).
pub fn libreoffice_to_csv(bytes: &[u8], ext: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(format!("in.{ext}"));
    std::fs::write(&input, bytes).unwrap();
    let out = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}/profile",
            dir.path().display()
        ))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true",
            "--outdir",
        ])
        .arg(dir.path().join("out"))
        .arg(&input)
        .output()
        .expect("LibreOffice (soffice) must be installed: .ci/run installs libreoffice-calc-nogui");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("out/in.csv")).unwrap()
}
