//! An account made straight in a test's database, and a client that holds its token:
//! for tests that run their own server over their own database.

use paicha::domain::access::{Grant, Principal, Role};

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
