//! The HTTP API: axum routers, one file per feature, merged here.
//!
//! Handlers parse and validate parameters, call the store or the spatial index, and
//! format the answer; they hold no SQL and no geometry algorithms. Errors leave as
//! `application/problem+json` ([`error`]). Everything outside `/api`, `/tiles` and
//! `/health` is the web app: `web/public/` at `/`, and its npm packages' browser
//! builds at `/vendor/`.

pub mod access;
pub mod areas;
pub mod basemaps;
pub mod briefings;
pub mod changes;
pub mod crosschecks;
pub mod error;
pub mod exits;
pub mod extract;
pub mod health;
pub mod imports;
pub mod indicators;
pub mod ledger;
pub mod maps;
pub mod measures;
pub mod plans;
pub mod quality;
pub mod session;
pub mod spatial;
pub mod tiles;
pub mod tls;
pub mod visits;

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
        (name = "accounts", description = "Signing in, API tokens, accounts and the audit log"),
        (name = "areas", description = "Administrative divisions"),
        (name = "spatial", description = "Coordinates and point location"),
        (name = "quality", description = "Location quality (账实相符)"),
        (name = "indicators", description = "Indicators by area and by drawn shape"),
        (name = "measures", description = "Assistance measures (帮扶措施) by area and department"),
        (name = "tiles", description = "Vector tiles, TileJSON and heat maps"),
        (name = "maps", description = "Static maps and charts for reports"),
        (name = "ledger", description = "Checklists, campaigns and the rectification ledger"),
        (name = "planner", description = "Field-visit plans for inspection groups and their downloads"),
        (name = "visits", description = "Field visits recorded by the inspection groups, plan versus done, the week's progress and the weekly report (走访记录、周进度、周报)"),
        (name = "basemaps", description = "Offline basemap packages and configured online basemaps"),
        (name = "crosschecks", description = "Departments' rolls checked against the registry (账账相符): mismatches per rule, with both sides' values, and the departments' answers"),
        (name = "exits", description = "Poverty-village exit verdicts (贫困村退出) and the screening of households that should be included (应纳未纳) with the township's decisions"),
        (name = "imports", description = "An office's files uploaded, checked (a dry run with its report) and committed as a data version (数据导入)")
    )
)]
struct ApiDoc;

/// Every API route, with its OpenAPI description.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes();
    signed_in_answers(&mut doc);
    (router, doc)
}

/// Adds the answers every signed-in route may give (401 not signed in, 403 a role
/// that may not) to each operation but those open to all.
fn signed_in_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for (path, item) in &mut doc.paths.paths {
        let open = path == "/health"
            || path == "/api/v1/session/demo"
            || path.starts_with("/tiles/basemaps/")
            || path.starts_with("/fonts/");
        if open {
            continue;
        }
        let session = path == "/api/v1/session";
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let answers = &mut op.responses.responses;
            answers.entry("401".into()).or_insert_with(|| {
                problem("Not signed in (no session cookie or API token, or it ended)").into()
            });
            if !session {
                answers.entry("403".into()).or_insert_with(|| {
                    problem("The signed-in person's roles do not allow this, or a web-app write lacks its X-CSRF-Token").into()
                });
            }
        }
    }
}

/// Every API route as the routers describe it.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(session::router())
        .merge(areas::router())
        .merge(spatial::router())
        .merge(quality::router())
        .merge(indicators::router())
        .merge(tiles::router())
        .merge(basemaps::router())
        .merge(plans::router())
        .merge(maps::router())
        .merge(ledger::router())
        .merge(imports::router())
        .merge(changes::router())
        .merge(crosschecks::router())
        .merge(measures::router())
        .merge(visits::router())
        .merge(briefings::router())
        .merge(exits::router())
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
    let routes = api
        .nest_service(
            "/vendor/maplibre-gl",
            ServeDir::new(web_dir.join(MAPLIBRE_DIST)),
        )
        .nest_service("/vendor/pmtiles", ServeDir::new(web_dir.join(PMTILES_DIST)))
        .fallback_service(ServeDir::new(web_dir.join("public")))
        .with_state(state.clone());
    // The layers wrap the router once, as one service. `Router::layer` would wrap
    // every route in each layer, boxed, and clone the whole stack of boxes on every
    // request: a third of a cached tile's instructions (BENCHMARKS.md, issue 16).
    let stack = tower::ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(access::security_headers())
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(error::problem_bodies))
        // Inside the trace layer, so that the error is logged in the request's span.
        .layer(middleware::from_fn(error::log_app_errors))
        .layer(access::Authenticate::new(state))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// How long a client may take to send a request's headers; a slow client (or one
/// that opened a connection and said nothing) is then dropped, so that hundreds of
/// them cannot hold every connection.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a client may take to send a request's body, once the headers are in.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_mins(1);

/// Connections served at once; more wait in the listener's backlog. Well below the
/// open-file limit [`serve`] raises, so that `/health` and the database always find a
/// file to open.
pub const MAX_CONNECTIONS: usize = 4096;

/// How long shutdown waits for requests under way before it stops anyway.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves the router over plain HTTP on a bound listener until `shutdown` completes
/// (see [`serve_with`]).
///
/// # Errors
/// The I/O error that stopped the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, None, shutdown).await
}

/// Serves the router on a bound listener (over TLS when given an acceptor) until
/// `shutdown` completes, then lets the requests under way finish (at most
/// [`SHUTDOWN_GRACE`]).
///
/// Each connection is HTTP/1.1 or HTTP/2 (hyper-util's auto builder), must finish
/// its TLS handshake and send its headers within [`HEADER_READ_TIMEOUT`] and a body
/// within [`BODY_READ_TIMEOUT`]; at most [`MAX_CONNECTIONS`] are served at once. The
/// process's open-file limit is raised to its hard limit first, since every
/// connection holds a file.
///
/// # Errors
/// The I/O error that stopped the listener.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
    }
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        BODY_READ_TIMEOUT,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = std::sync::Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of files or a reset before accept: wait a moment, as axum's
                    // own loop does, instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address, for the sign-in throttle.
        let service = TowerToHyperService::new(
            tower::ServiceBuilder::new()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                })
                .service(router.clone()),
        );
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business, not an error.
            match tls {
                None => {
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let _ = watcher.watch(connection).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        let connection = builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .into_owned();
                        let _ = watcher.watch(connection).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still under way after the grace period; stopping anyway");
    }
    Ok(())
}
