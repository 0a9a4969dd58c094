//! `/tiles/{layer}.json` (TileJSON), `/tiles/{layer}/{z}/{x}/{y}.mvt` (vector tiles)
//! and `/tiles/heat/{indicator}/{z}/{x}/{y}.png` (heat maps), cached per data version,
//! gzip-compressed when the client accepts it, with ETags.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::access::Capability;
use crate::domain::{AreaLevel, MeasureId};
use crate::indicators::measure_of;
use crate::indicators::table::{self, AreaRef, TableRequest};
use crate::indicators::{Catalog, Indicator};
use crate::model::Snapshot;
use crate::spatial::mercator::{GridError, TileId};
use crate::tiles::MAX_SERVED_ZOOM;
use crate::tiles::Tile;
use crate::tiles::layers::{self, Filter, Layer};

/// Most (area, indicator) values a boundary tile with geometry in memory may carry to
/// be written on the request's own thread (a few kilobytes); bigger ones go to the
/// blocking pool.
const INLINE_VALUES: usize = 2_048;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tilejson))
        .routes(routes!(vector_tile))
        .routes(routes!(heat_tile))
}

/// Tile query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TileParams {
    /// Boundary layers: the indicators whose values the features carry,
    /// comma-separated (default: every indicator).
    indicators: Option<String>,
    /// `problems` layer: the indicator failed (default `any_problem`).
    indicator: Option<String>,
    /// The data version the client expects; when it is the current one the tile may
    /// be cached for a day (TileJSON puts it in the URL).
    v: Option<i64>,
    /// Boundary layers: the ledger edit count the client expects (TileJSON puts it in
    /// the URL too; ledger indicators change with every edit).
    e: Option<u64>,
}

/// Parses `{y}.ext`.
fn tile_id(z: u8, x: u32, y_ext: &str, ext: &str) -> Result<TileId, ApiError> {
    let y = y_ext
        .strip_suffix(ext)
        .and_then(|y| y.parse::<u32>().ok())
        .ok_or_else(|| ApiError::invalid("y", format!("expected a tile row followed by {ext}")))?;
    if z > MAX_SERVED_ZOOM {
        return Err(ApiError::invalid(
            "z",
            format!("zoom {z} is above the highest, {MAX_SERVED_ZOOM}"),
        ));
    }
    TileId::new(z, x, y).map_err(|e| {
        let field = match e {
            GridError::Zoom { .. } => "z",
            GridError::X { .. } => "x",
            GridError::Y { .. } => "y",
        };
        ApiError::invalid(field, e.to_string())
    })
}

/// Whether the client takes gzip-compressed bodies.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// The response of a cached tile: 304 when the client has it, gzip when accepted,
/// immutable caching when the URL names the current data version.
fn respond(tile: &Tile, headers: &HeaderMap, current: bool) -> Response {
    let cache = if current {
        "public, max-age=86400, immutable"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == tile.etag || t.trim() == "*")
        });
    let gzip = (!matches && accepts_gzip(headers))
        .then(|| tile.gzip())
        .flatten();
    let (status, body, gzip) = match (matches, gzip) {
        (true, _) => (StatusCode::NOT_MODIFIED, axum::body::Bytes::new(), false),
        (false, Some(gz)) => (StatusCode::OK, gz.clone(), true),
        (false, None) => (StatusCode::OK, tile.bytes.clone(), false),
    };
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    let out = response.headers_mut();
    // Room for these and the security headers added on the way out, so that the map
    // is not grown (and rehashed) on every tile.
    out.reserve(12);
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&tile.etag) {
        out.insert(header::ETAG, v);
    }
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if tile.aggregated {
        out.insert("x-paicha-aggregated", HeaderValue::from_static("cells"));
    }
    if status == StatusCode::OK {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(tile.content_type),
        );
    }
    if gzip {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// Builds the tables of figures that village and township tiles carry by default
/// (every indicator), so that the map's first tiles after a start do not each wait for
/// a GROUP BY over every household: what `paicha serve` runs in the background.
///
/// # Errors
/// The table's query failing.
pub async fn warm_boundary_tables(state: &AppState) -> Result<(), ApiError> {
    let snapshot = state.snapshot();
    for layer in [Layer::Villages, Layer::Townships] {
        boundary_table(state, &state.catalog, &snapshot, layer, None).await?;
    }
    Ok(())
}

/// The key of a boundary layer's table of figures: data version, ledger edits (the
/// ledger's indicators change with each), layer and indicator ids.
fn table_key(state: &AppState, snapshot: &Snapshot, layer: Layer, ids: &[&Indicator]) -> String {
    let mut key = format!(
        "tiles/{}/e{}/{}/",
        snapshot.data_version,
        state.ledger_edits(),
        layer.name()
    );
    for (i, ind) in ids.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(&ind.id);
    }
    key
}

/// The figures boundary tiles carry, per level and indicator list, kept per version.
/// A set of indicators that the default table (every indicator, built at start) holds
/// is read from it: the first tile of a new set then waits for no GROUP BY.
async fn boundary_table(
    state: &AppState,
    catalog: &Catalog,
    snapshot: &Arc<Snapshot>,
    layer: Layer,
    indicators: Option<&str>,
) -> Result<Arc<table::Table>, ApiError> {
    let indicators = super::indicators::indicators_named(catalog, indicators, "indicators")
        .map_err(|e| ApiError::InvalidParams(vec![e]))?;
    let key = table_key(state, snapshot, layer, &indicators);
    if let Some(t) = state.tiles.cached_table(&key) {
        return Ok(t);
    }
    let indicators: Vec<Indicator> = indicators.into_iter().cloned().collect();
    let every: Vec<&Indicator> = state.catalog.indicators.iter().collect();
    let every = table_key(state, snapshot, layer, &every);
    if let Some(sub) = state
        .tiles
        .cached_table(&every)
        .and_then(|t| t.select(&indicators))
    {
        let sub = Arc::new(sub);
        state.tiles.keep_table(key, Arc::clone(&sub));
        return Ok(sub);
    }
    let level = layer.level().unwrap_or(AreaLevel::Village);
    let request = TableRequest::plain(
        indicators,
        AreaRef {
            code: snapshot.top_code.clone(),
            name: snapshot
                .name(&snapshot.top_code)
                .unwrap_or_default()
                .to_owned(),
            level: snapshot
                .level(&snapshot.top_code)
                .unwrap_or(AreaLevel::County),
        },
        level,
    );
    let state2 = state.clone();
    let snap = Arc::clone(snapshot);
    Ok(state
        .store
        .run(move |c| {
            state2
                .tiles
                .table(&key, || table::build(c, &snap.names, &request))
        })
        .await?)
}

/// A vector tile of a layer: `townships` and `villages` (boundaries with indicator
/// values), `households` (cells with counts below zoom 12, one point per household
/// from it on: number, village, category, failed indicators; no names or ID numbers)
/// and `problems` (households failing `indicator`).
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}", tag = "tiles",
    params(
        ("layer" = String, Path, description = "cities, counties, townships, villages, households or problems"),
        ("z" = u8, Path, description = "Zoom, 0 to 18"),
        ("x" = u32, Path, description = "Tile column"),
        ("y" = String, Path, description = "Tile row followed by .mvt"),
        TileParams),
    responses(
        (status = 200, description = "A Mapbox vector tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such layer", body = ProblemDetails, content_type = "application/problem+json")))]
async fn vector_tile(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((layer, zoom, column, row)): ApiPath<(String, u8, u32, String)>,
    ApiQuery(p): ApiQuery<TileParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = Layer::from_name(&layer).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no tile layer {layer:?}; expected one of {}",
            Layer::names()
        ))
    })?;
    let tile = tile_id(zoom, column, &row, ".mvt")?;
    caller.require(Capability::Figures)?;
    let snapshot = state.snapshot();
    // Nothing outside the person's areas is drawn; households at their positions only
    // for people with field work in all of them (others get cells).
    let scope = caller.scope(Capability::Figures, &snapshot.top_code);
    let exact = caller
        .scope(Capability::Personal, &snapshot.top_code)
        .covers(&scope)
        && caller.may_somewhere(Capability::Personal);
    let edits = state.ledger_edits();
    let boundary = layer.is_boundary();
    let current = p.v == Some(snapshot.data_version) && (!boundary || p.e == Some(edits));
    let catalog = caller.catalog(&state.catalog);
    let filter = household_filter(&catalog, layer, p.indicator.as_deref())?;
    // A department's tiles carry its indicators only, under their own cache key.
    let indicators = match (&p.indicators, &catalog) {
        (None, std::borrow::Cow::Owned(own)) => Some(
            own.indicators
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (asked, _) => asked.clone(),
    };
    let key = format!(
        "{}/{}{}/{}/{}/{}?{}&{}&{}{}",
        snapshot.data_version,
        if boundary {
            format!("e{edits}/")
        } else {
            String::new()
        },
        layer.name(),
        tile.z,
        tile.x,
        tile.y,
        indicators.as_deref().unwrap_or(""),
        p.indicator.as_deref().unwrap_or(""),
        scope.key(),
        if exact { "" } else { "&cells" }
    );
    if !boundary && exact && tile.z >= layers::POINT_MIN_ZOOM {
        record_points(&state, &caller, layer, tile, snapshot.data_version);
    }
    if let Some(t) = state.tiles.get(&key) {
        return Ok(respond(&t, &headers, current));
    }
    let gzip = accepts_gzip(&headers);
    let made = match layer {
        Layer::Cities | Layer::Counties | Layer::Townships | Layer::Villages => {
            let asked = BoundaryAsk {
                layer,
                tile,
                indicators: indicators.as_deref(),
                scope,
                key: &key,
                gzip,
            };
            boundary_vector_tile(&state, &catalog, &snapshot, asked).await?
        }
        Layer::Households | Layer::Problems => {
            if p.indicators.is_some() {
                return Err(ApiError::invalid(
                    "indicators",
                    "only boundary layers take indicators",
                ));
            }
            let snap = Arc::clone(&snapshot);
            finished(key.clone(), gzip, move || {
                let caps = layers::Caps::default();
                let t = layers::households(&snap, layer, tile, filter, caps, &scope, exact);
                (t.bytes, t.aggregated)
            })
            .await?
        }
    };
    let made = Arc::new(made);
    state.tiles.put(key, Arc::clone(&made));
    Ok(respond(&made, &headers, current))
}

/// What a boundary tile is asked for.
struct BoundaryAsk<'a> {
    layer: Layer,
    tile: TileId,
    indicators: Option<&'a str>,
    scope: crate::domain::access::AreaScope,
    key: &'a str,
    gzip: bool,
}

/// A village, township, county or city tile, made on the request's thread when its
/// geometry is in memory and it carries few values, on a blocking thread otherwise.
async fn boundary_vector_tile(
    state: &AppState,
    catalog: &Catalog,
    snapshot: &Arc<Snapshot>,
    ask: BoundaryAsk<'_>,
) -> Result<Tile, ApiError> {
    let BoundaryAsk {
        layer,
        tile,
        indicators,
        scope,
        key,
        gzip,
    } = ask;
    let table = boundary_table(state, catalog, snapshot, layer, indicators).await?;
    if let Some(shapes) = state.tiles.cached_shapes(snapshot, layer, tile)
        && shapes.areas.len() * table.indicators.len() <= INLINE_VALUES
    {
        // Microseconds: less than the hop to a blocking thread and back.
        let bytes = layers::boundaries(snapshot, layer, &table, &scope, &shapes);
        let made = Tile::vector(bytes, key, false);
        if gzip {
            made.gzip();
        }
        return Ok(made);
    }
    let snap = Arc::clone(snapshot);
    let state2 = state.clone();
    finished(key.to_owned(), gzip, move || {
        let bytes = crate::tiles::boundary_tile(&state2.tiles, &snap, layer, tile, &table, &scope);
        (bytes, false)
    })
    .await
}

/// A vector tile made by `make` (its bytes and whether it was aggregated) on a
/// blocking thread, and compressed there too when the client takes gzip.
async fn finished(
    key: String,
    gzip: bool,
    make: impl FnOnce() -> (Vec<u8>, bool) + Send + 'static,
) -> Result<Tile, ApiError> {
    tokio::task::spawn_blocking(move || {
        let (bytes, aggregated) = make();
        let tile = Tile::vector(bytes, &key, aggregated);
        if gzip {
            tile.gzip();
        }
        tile
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

/// The households a layer draws: all, or those failing `indicator` (`problems`).
fn household_filter(
    catalog: &Catalog,
    layer: Layer,
    indicator: Option<&str>,
) -> Result<Filter, ApiError> {
    match (layer, indicator) {
        (Layer::Problems, id) => {
            let id = id.unwrap_or("any_problem");
            let ind = super::indicators::indicator_named(catalog, id, "indicator")?;
            let m = measure_of(ind);
            if m.is_ledger() {
                return Err(ApiError::invalid(
                    "indicator",
                    format!(
                        "{} is counted per village ledger: colour the villages layer by it",
                        ind.id
                    ),
                ));
            }
            Ok(Filter::Failing(m))
        }
        (_, None) => Ok(Filter::All),
        (_, Some(_)) => Err(ApiError::invalid(
            "indicator",
            "only the problems layer takes an indicator",
        )),
    }
}

/// Household positions are personal data: each read of a tile of points is on
/// record, by its address and data version (which fix the households it holds);
/// the same person's repeated reads of one tile within minutes are one line.
fn record_points(state: &AppState, caller: &Caller, layer: Layer, tile: TileId, version: i64) {
    state.audit.record_once(
        caller.user(),
        "read_personal",
        (layer.name(), tile.z, tile.x, tile.y, version),
        || {
            (
                caller.route(),
                format!(
                    "{} tile {}/{}/{} v{version}",
                    layer.name(),
                    tile.z,
                    tile.x,
                    tile.y
                ),
            )
        },
    );
}

/// A TileJSON 3.0 document.
#[derive(Debug, Serialize, ToSchema)]
struct TileJson {
    tilejson: &'static str,
    name: String,
    description: String,
    version: String,
    scheme: &'static str,
    tiles: Vec<String>,
    minzoom: u8,
    maxzoom: u8,
    bounds: [f64; 4],
    center: [f64; 3],
    vector_layers: Vec<VectorLayer>,
}

/// A layer of a TileJSON document.
#[derive(Debug, Serialize, ToSchema)]
struct VectorLayer {
    id: String,
    description: String,
    minzoom: u8,
    maxzoom: u8,
    /// Field name → type (`String`, `Number`, `Boolean`).
    fields: std::collections::BTreeMap<String, String>,
}

/// The TileJSON of a layer: its tile URL (with the data version, so that clients
/// cache tiles until the data changes), bounds, centre, zooms and fields.
#[utoipa::path(get, path = "/tiles/{file}", tag = "tiles",
    params(("file" = String, Path, description = "The layer's name followed by .json: townships.json, villages.json, households.json or problems.json"), TileParams),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "TileJSON 3.0", body = TileJson),
        (status = 404, description = "No such layer", body = ProblemDetails, content_type = "application/problem+json")))]
async fn tilejson(
    State(state): State<AppState>,
    caller: Caller,
    token: Option<axum::Extension<super::access::QueryToken>>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(p): ApiQuery<TileParams>,
) -> Result<axum::Json<TileJson>, ApiError> {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    let layer = Layer::from_name(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no tile layer {name:?}; expected one of {}",
            Layer::names()
        ))
    })?;
    caller.require(Capability::Figures)?;
    let snapshot = state.snapshot();
    // Never the request's Host header, which any client may set: the configured
    // public address, or a path from the server's root.
    let base = state.tile_settings.public_url.as_deref().unwrap_or("");
    let mut query = format!("v={}", snapshot.data_version);
    if layer.is_boundary() {
        let _ = write!(query, "&e={}", state.ledger_edits());
    }
    if let Some(i) = &p.indicators {
        let _ = write!(query, "&indicators={i}");
    }
    if let Some(i) = &p.indicator {
        let _ = write!(query, "&indicator={i}");
    }
    // A GIS client that sent its token in the query (it cannot send a header) gets it
    // back in the tile URLs, so that its tiles carry it too.
    if let Some(axum::Extension(t)) = &token {
        let _ = write!(query, "&{}={}", super::access::TOKEN_PARAM, t.0);
    }
    let mut fields = std::collections::BTreeMap::new();
    let mut field = |k: &str, t: &str| {
        fields.insert(k.to_owned(), t.to_owned());
    };
    let description = match layer {
        Layer::Cities | Layer::Counties | Layer::Townships | Layer::Villages => {
            field("code", "String");
            field("name", "String");
            field("households", "Number");
            let inds = super::indicators::parse_indicators(
                &caller.catalog(&state.catalog),
                p.indicators.as_deref(),
                "indicators",
            )
            .map_err(|e| ApiError::InvalidParams(vec![e]))?;
            for i in &inds {
                for suffix in ["count", "denominator", "rate", "class"] {
                    field(&format!("{}_{suffix}", i.id), "Number");
                }
            }
            "边界与指标 (boundaries with indicator count, denominator, rate and colour class)"
        }
        Layer::Households | Layer::Problems => {
            field("household_no", "String");
            field("village_code", "String");
            field("category", "String");
            field("failed", "String");
            field("households", "Number");
            field("cell", "Boolean");
            for m in MeasureId::ALL.iter().filter(|m| !m.is_ledger()) {
                field(m.code(), "Number");
            }
            "农户 (cells with counts below zoom 12, one point per household from it on)"
        }
    };
    let b = &snapshot.county_bounds;
    Ok(axum::Json(TileJson {
        tilejson: "3.0.0",
        name: layer.name().to_owned(),
        description: description.to_owned(),
        version: snapshot.data_version.to_string(),
        scheme: "xyz",
        tiles: vec![format!(
            "{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt?{query}",
            layer.name()
        )],
        minzoom: 0,
        maxzoom: MAX_SERVED_ZOOM,
        bounds: *b,
        center: [f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]), 9.0],
        vector_layers: vec![VectorLayer {
            id: layer.name().to_owned(),
            description: description.to_owned(),
            minzoom: 0,
            maxzoom: MAX_SERVED_ZOOM,
            fields,
        }],
    }))
}

/// Heat-map query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HeatParams {
    /// `count` (default): density of failing households; `rate`: that density over
    /// the density of all households, hidden where too few households are.
    mode: Option<String>,
    /// The data version the client expects (see the vector tiles).
    v: Option<i64>,
}

/// A heat-map tile: a kernel density of households failing an indicator, on one
/// colour scale per zoom for the whole map, transparent PNG.
#[utoipa::path(get, path = "/tiles/heat/{indicator}/{z}/{x}/{y}", tag = "tiles",
    params(
        ("indicator" = String, Path, description = "An indicator id"),
        ("z" = u8, Path, description = "Zoom, 0 to 18"),
        ("x" = u32, Path, description = "Tile column"),
        ("y" = String, Path, description = "Tile row followed by .png"),
        HeatParams),
    responses(
        (status = 200, description = "A 256×256 PNG", content_type = "image/png"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json")))]
async fn heat_tile(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((indicator, z, x, y)): ApiPath<(String, u8, u32, String)>,
    ApiQuery(p): ApiQuery<HeatParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let catalog = caller.catalog(&state.catalog);
    let ind = super::indicators::indicator_named(&catalog, &indicator, "indicator")?;
    if measure_of(ind).is_ledger() {
        return Err(ApiError::invalid(
            "indicator",
            format!(
                "{} is counted per village ledger: colour the villages layer by it",
                ind.id
            ),
        ));
    }
    let rate = match p.mode.as_deref().unwrap_or("count") {
        "count" | "" => false,
        "rate" => true,
        other => {
            return Err(ApiError::invalid(
                "mode",
                format!("unknown mode {other:?}; expected count or rate"),
            ));
        }
    };
    let tile = tile_id(z, x, &y, ".png")?;
    caller.require(Capability::Figures)?;
    let snapshot = state.snapshot();
    let scope = caller.scope(Capability::Figures, &snapshot.top_code);
    let current = p.v == Some(snapshot.data_version);
    let kind = if rate { "rate" } else { "count" };
    // The whole map's tiles keep their disk-cache name; a scoped one is its own.
    let scoped = if scope.is_all() {
        String::new()
    } else {
        format!("/s{}", scope.key())
    };
    let key = format!(
        "{}/heat/{}/{kind}/{z}/{x}/{}{scoped}",
        snapshot.data_version, ind.id, tile.y
    );
    if let Some(t) = state.tiles.get(&key) {
        return Ok(respond(&t, &headers, current));
    }
    // Rates colour up to a little past the indicator's top class break, as its maps do.
    let max_rate = ind.breaks.last().map_or(1.0, |b| (b * 1.5).min(1.0)) as f32;
    let measure = measure_of(ind);
    let st = state.clone();
    let key2 = key.clone();
    let made = tokio::task::spawn_blocking(move || {
        if let Some(png) = st.tiles.read_disk(&key2) {
            return Ok::<_, ApiError>(Tile::png(png, &key2));
        }
        let png = crate::tiles::heat_png(
            &st.tiles,
            &snapshot,
            &st.tile_settings,
            measure,
            rate,
            max_rate,
            tile,
            &scope,
        )
        .map_err(|e| ApiError::Internal(e.into()))?;
        // An empty tile costs nothing to make again: only tiles with households go to
        // disk, so a client asking for every z/x/y of the world fills no disk.
        if png.as_slice() != crate::tiles::heat::transparent_png() {
            st.tiles.write_disk(&key2, &png);
        }
        Ok(Tile::png(png, &key2))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let made = Arc::new(made);
    state.tiles.put(key, Arc::clone(&made));
    Ok(respond(&made, &headers, current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_rows_need_their_extension_and_zooms_their_range() {
        assert!(tile_id(3, 1, "2.mvt", ".mvt").is_ok());
        assert!(tile_id(3, 1, "2.png", ".mvt").is_err());
        assert!(tile_id(3, 8, "2.mvt", ".mvt").is_err());
        assert!(tile_id(19, 0, "0.mvt", ".mvt").is_err());
    }
}
