//! A test's own server over its own database (for tests that import, which the
//! shared demo database must not see): accounts made straight in the database, the
//! server on a loopback port, a browser session, and a scenario of the Playwright
//! driver (`web/tests/browser.mjs`) run against it.

use std::path::{Path, PathBuf};

use paicha::app::{AppSettings, AppState};
use paicha::domain::access::{Grant, Principal, Role};
use serde_json::Value;

/// Adds an account with one grant (password `a-long-password`) and returns a client
/// holding a token of it.
pub fn account(conn: &duckdb::Connection, user: &str, role: Role, area: &str) -> reqwest::Client {
    paicha::accounts::add_account(
        conn,
        Principal {
            user: user.into(),
            display: user.into(),
            grants: vec![Grant {
                role,
                area: area.into(),
                until: None,
                department: None,
            }],
        },
        "a-long-password",
    )
    .unwrap();
    let token = paicha::accounts::add_token(conn, user, "test").unwrap().1;
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

/// Serves the database at `db` on 127.0.0.1 (an OS-chosen port) with the repo's web/;
/// returns its address (`http://…`) and state.
pub async fn serve(db: &Path) -> (String, AppState) {
    let state = AppState::open(&AppSettings {
        db: db.to_owned(),
        ..AppSettings::default()
    })
    .unwrap();
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    let router = paicha::api::router(state.clone(), &web);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paicha::api::serve(listener, router, std::future::pending()));
    (address, state)
}

/// Signs in as an account made by [`account`] and returns the session cookies
/// (`name=value; …`), for a browser.
pub async fn sign_in(address: &str, user: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{address}/api/v1/session"))
        .json(&serde_json::json!({ "user": user, "password": "a-long-password" }))
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
    cookies.join("; ")
}

/// Runs a scenario of `web/tests/browser.mjs` in Chromium holding `cookies`, and
/// returns what it saw; fails on any page error, console error or failed request.
pub async fn browse(address: &str, scenario: &str, args: &Value, cookies: &str) -> Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = tokio::process::Command::new("node")
        .env("PAICHA_COOKIES", cookies)
        .arg(format!("{root}/web/tests/browser.mjs"))
        .arg(scenario)
        .arg(address)
        .arg(args.to_string())
        .current_dir(root)
        .output()
        .await
        .expect("node must be installed (see .ci/run)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(&stdout).unwrap();
    assert!(seen["exception"].is_null(), "{}", seen["exception"]);
    assert_eq!(
        seen["errors"],
        serde_json::json!([]),
        "{scenario}: the page logged errors"
    );
    seen
}
