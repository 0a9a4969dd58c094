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
    /// The API token of [`TESTER`].
    token: String,
}

/// The account the tests act as: admin, analyst, village secretary and group leader
/// over the whole demo (its token is every client's default), so that each existing
/// test acts as a person who may do what it does. Scope tests sign in as the demo's
/// one-role accounts instead.
pub const TESTER: &str = "tester";
/// Its password.
pub const TESTER_PASSWORD: &str = "tester-password";

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

/// The demo province (抚顺市's three counties and 本溪市's two under 辽宁省), for the tests
/// of a province's views.
fn shared_province() -> &'static Shared {
    static PROVINCE: OnceLock<Shared> = OnceLock::new();
    PROVINCE.get_or_init(|| {
        build("province.duckdb", |path, options| {
            demo::build_province(path, options, || ())
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
        ..DemoOptions::default()
    };
    write(&path, &options).unwrap();
    // One database instance per process: every test shares this store.
    let store = Store::open(&path).unwrap();
    let token = {
        use paicha::domain::access::{Grant, Principal, Role};
        let conn = store.conn().unwrap();
        let top =
            paicha::app::load_snapshot(&conn, &paicha::indicators::Catalog::builtin().unwrap())
                .unwrap()
                .top_code
                .clone();
        let grants = [Role::Admin, Role::Analyst, Role::Village, Role::Group]
            .into_iter()
            .map(|role| Grant {
                role,
                area: top.clone(),
                until: None,
                department: None,
            })
            .collect();
        paicha::accounts::add_account(
            &conn,
            Principal {
                user: TESTER.into(),
                display: "测试员".into(),
                grants,
            },
            TESTER_PASSWORD,
        )
        .unwrap();
        paicha::accounts::add_token(&conn, TESTER, "tests")
            .unwrap()
            .1
    };
    let state = AppState::new(store, paicha::indicators::Catalog::builtin().unwrap()).unwrap();
    Shared {
        _dir: dir,
        state,
        token,
    }
}

/// One exported row: column name → value as text.
pub type RawRow = std::collections::HashMap<String, String>;

/// A running server and a client for it, signed in as [`TESTER`] by its token.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A client that sends no credentials.
    pub anonymous: reqwest::Client,
    /// The API token of [`TESTER`], which `client` sends.
    #[allow(dead_code, reason = "read by the browser tests' drivers")]
    pub token: String,
    /// Which demo database it serves.
    demo: Demo,
}

/// The demo databases the tests share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Demo {
    County,
    City,
    Province,
}

/// A client sending `token` on every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

impl TestApp {
    /// Starts the service on 127.0.0.1 with an OS-chosen port, serving the repo's web/.
    pub async fn spawn() -> Self {
        Self::serve(Demo::County).await
    }

    /// Like [`TestApp::spawn`], over the demo city's database: its own, so that
    /// `snapshot` and `raw_rows` (the county's) do not apply.
    pub async fn spawn_city() -> Self {
        Self::serve(Demo::City).await
    }

    /// Like [`TestApp::spawn_city`], over the demo province's database.
    pub async fn spawn_province() -> Self {
        Self::serve(Demo::Province).await
    }

    async fn serve(demo: Demo) -> Self {
        let shared = shared_of(demo);
        let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
        let router = paicha::api::router(shared.state.clone(), &web);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(paicha::api::serve(listener, router, std::future::pending()));
        Self {
            address,
            client: client_with_token(&shared.token),
            anonymous: reqwest::Client::new(),
            token: shared.token.clone(),
            demo,
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
            client: client_with_token(&shared.token),
            anonymous: reqwest::Client::new(),
            token: shared.token.clone(),
            demo: Demo::County,
        }
    }

    /// Signs in as `user` and returns the cookies the server set (`name=value; …`),
    /// for a browser, and the CSRF token.
    pub async fn sign_in(&self, user: &str, password: &str) -> (String, String) {
        let response = self
            .anonymous
            .post(format!("{}/api/v1/session", self.address))
            .json(&serde_json::json!({ "user": user, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "sign in as {user}");
        let cookies: Vec<String> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect();
        let body: serde_json::Value = response.json().await.unwrap();
        (
            cookies.join("; "),
            body["csrf"].as_str().unwrap().to_owned(),
        )
    }

    /// A new account `user` holding `role` over `area`, and an API token for it.
    pub async fn token_for(&self, user: &str, role: &str, area: &str) -> String {
        use paicha::domain::access::{Grant, Principal, Role};
        let store = shared_store_of(self);
        let grant = Grant {
            role: Role::from_code(role).unwrap(),
            area: area.to_owned(),
            until: None,
            department: None,
        };
        let user = user.to_owned();
        let token = tokio::task::spawn_blocking(move || {
            let conn = store.conn().unwrap();
            paicha::accounts::add_account(
                &conn,
                Principal {
                    user: user.clone(),
                    display: user.clone(),
                    grants: vec![grant],
                },
                TESTER_PASSWORD,
            )
            .unwrap();
            paicha::accounts::add_token(&conn, &user, "scope test")
                .unwrap()
                .1
        })
        .await
        .unwrap();
        reload_tokens(self);
        token
    }

    /// A client acting as `user` (a demo account) by a token made for it.
    pub async fn client_as(&self, user: &str) -> reqwest::Client {
        let store = shared_store_of(self);
        let user = user.to_owned();
        let token = tokio::task::spawn_blocking(move || {
            let conn = store.conn().unwrap();
            paicha::accounts::add_token(&conn, &user, "scope test")
                .unwrap()
                .1
        })
        .await
        .unwrap();
        // The server's copy of the live tokens is re-read on a token change made
        // through it; this one was made beside it.
        reload_tokens(self);
        client_with_token(&token)
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

/// The store of the shared state an app serves (the county's or the city's).
fn shared_store_of(app: &TestApp) -> Store {
    state_of(app).store.clone()
}

fn state_of(app: &TestApp) -> &'static AppState {
    &shared_of(app.demo).state
}

fn shared_of(demo: Demo) -> &'static Shared {
    match demo {
        Demo::County => shared(),
        Demo::City => shared_city(),
        Demo::Province => shared_province(),
    }
}

fn reload_tokens(app: &TestApp) {
    let state = state_of(app);
    let conn = state.store.conn().unwrap();
    state.accounts.reload_tokens(&conn).unwrap();
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
