//! The HTTP API: axum routers, one file per feature, merged here.
//!
//! Handlers parse and validate parameters, call the store or the spatial index, and
//! format the answer; they hold no SQL and no geometry algorithms. Errors leave as
//! `application/problem+json` ([`error`]). Everything outside `/api` and `/health`
//! is the web app's static files.

pub mod areas;
pub mod error;
pub mod extract;
pub mod health;
pub mod quality;
pub mod spatial;

use std::path::Path;

use axum::Router;
use axum::middleware;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// The whole service: API routes, then the web app from `web_dir`.
pub fn router(state: AppState, web_dir: &Path) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(areas::router())
        .merge(spatial::router())
        .merge(quality::router())
        .route("/api", axum::routing::any(error::api_not_found))
        .route("/api/{*rest}", axum::routing::any(error::api_not_found));
    api.fallback_service(ServeDir::new(web_dir))
        .with_state(state)
        // Inside the trace layer, so that the error is logged in the request's span.
        .layer(middleware::from_fn(error::log_app_errors))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// Serves the router on a bound listener until `shutdown` completes.
///
/// # Errors
/// The I/O error that stopped the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
