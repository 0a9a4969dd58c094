//! The HTTP API: axum routers, one file per feature, merged here.
//!
//! Handlers parse and validate parameters, call the store or the spatial index, and
//! format the answer; they hold no SQL and no geometry algorithms. Errors leave as
//! `application/problem+json` ([`error`]). Everything outside `/api`, `/tiles` and
//! `/health` is the web app: `web/public/` at `/`, and its npm packages' browser
//! builds at `/vendor/`.

pub mod areas;
pub mod basemaps;
pub mod error;
pub mod extract;
pub mod health;
pub mod indicators;
pub mod ledger;
pub mod maps;
pub mod plans;
pub mod quality;
pub mod spatial;
pub mod tiles;

use std::path::Path;

use axum::Router;
use axum::middleware;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// MapLibre GL JS's browser build, inside the web folder; served at `/vendor/maplibre-gl/`.
pub const MAPLIBRE_DIST: &str = "node_modules/maplibre-gl/dist";
/// The PMTiles reader's browser build, inside the web folder; served at `/vendor/pmtiles/`.
pub const PMTILES_DIST: &str = "node_modules/pmtiles/dist";

/// The OpenAPI document's header; the paths come from the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "paicha (排查)",
        description = "Geospatial analytics for rural poverty inspection campaigns: areas, location quality, indicators by area and by drawn shape. Errors are application/problem+json (RFC 9457) naming each bad parameter."
    ),
    tags(
        (name = "service", description = "Health"),
        (name = "areas", description = "Administrative divisions"),
        (name = "spatial", description = "Coordinates and point location"),
        (name = "quality", description = "Location quality (账实相符)"),
        (name = "indicators", description = "Indicators by area and by drawn shape"),
        (name = "tiles", description = "Vector tiles, TileJSON and heat maps"),
        (name = "maps", description = "Static maps and charts for reports"),
        (name = "ledger", description = "Checklists, campaigns and the rectification ledger"),
        (name = "planner", description = "Field-visit plans for inspection groups and their downloads"),
        (name = "basemaps", description = "Offline basemap packages and configured online basemaps")
    )
)]
struct ApiDoc;

/// Every API route, with its OpenAPI description.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(areas::router())
        .merge(spatial::router())
        .merge(quality::router())
        .merge(indicators::router())
        .merge(tiles::router())
        .merge(basemaps::router())
        .merge(plans::router())
        .merge(maps::router())
        .merge(ledger::router())
        .split_for_parts()
}

/// The OpenAPI document of the whole API, as served at `/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The whole service: API routes, then the web app from `web_dir` (its `public/`
/// folder, and the browser builds of its npm packages under `/vendor/`).
pub fn router(state: AppState, web_dir: &Path) -> Router {
    let (routes, doc) = documented();
    // Serialized once: the document only changes with the binary.
    let doc = axum::body::Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    let api = routes
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        doc,
                    )
                }
            }),
        )
        .route("/api", axum::routing::any(error::api_not_found))
        .route("/api/{*rest}", axum::routing::any(error::api_not_found));
    api.nest_service(
        "/vendor/maplibre-gl",
        ServeDir::new(web_dir.join(MAPLIBRE_DIST)),
    )
    .nest_service("/vendor/pmtiles", ServeDir::new(web_dir.join(PMTILES_DIST)))
    .fallback_service(ServeDir::new(web_dir.join("public")))
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
