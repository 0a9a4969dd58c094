//! `/health`: whether the service is up, and which data it serves.

use axum::Json;
use axum::extract::State;
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
    /// `ok` when serving.
    status: &'static str,
    /// The version of the data served.
    data_version: i64,
    /// Households stored.
    households: i64,
}

/// Whether the service is up, and which data it serves.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "Serving", body = Health)))]
async fn health(State(state): State<AppState>) -> Json<Health> {
    let snapshot = state.snapshot();
    Json(Health {
        status: "ok",
        data_version: snapshot.data_version,
        households: snapshot.households,
    })
}
