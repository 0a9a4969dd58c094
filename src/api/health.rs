//! `/health`: whether the service is up, and which data it serves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// The service's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` when serving; `unavailable` when no database connection is free within a
    /// second (every one held by long work): figures cannot be answered then.
    status: &'static str,
    /// Why not `ok`, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// The version of the data served.
    data_version: i64,
    /// Households stored.
    households: i64,
    /// Plans being routed now.
    plans_running: usize,
    /// Plan requests waiting their turn.
    plans_waiting: u64,
}

/// How long `/health` waits for a database connection before it says it cannot serve.
const CONNECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether the service can answer, and which data it serves: 200 when a database
/// connection can be had, 503 when none is free within a second.
#[utoipa::path(get, path = "/health", tag = "service",
    responses(
        (status = 200, description = "Serving", body = Health),
        (status = 503, description = "Up, but no database connection is free: figures cannot be answered now", body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let snapshot = state.snapshot();
    let store = state.store.clone();
    let connects = tokio::task::spawn_blocking(move || store.can_connect(CONNECTION_WAIT))
        .await
        .unwrap_or(false);
    let (plans_running, plans_waiting) = state.plans.load();
    let health = Health {
        status: if connects { "ok" } else { "unavailable" },
        reason: (!connects).then_some("no database connection is free"),
        data_version: snapshot.data_version,
        households: snapshot.households,
        plans_running,
        plans_waiting,
    };
    let status = if connects {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}
