//! `/health`: whether the service is up, and which data it serves.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    data_version: i64,
    households: i64,
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    let snapshot = state.snapshot();
    Json(Health {
        status: "ok",
        data_version: snapshot.data_version,
        households: snapshot.households,
    })
}
