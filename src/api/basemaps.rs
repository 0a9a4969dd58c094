//! `/api/v1/basemaps` (what basemaps the web map may offer), the tiles of offline
//! MBTiles packages, PMTiles files by range request, and `/fonts/...` glyphs.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::ServiceExt as _;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ProblemDetails};
use super::extract::ApiPath;
use crate::app::AppState;
use crate::tiles::basemap::{self, Basemap, Package};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(mbtiles_tile))
        .routes(routes!(pmtiles_file))
        .routes(routes!(glyphs))
}

/// A basemap the web map can show.
#[derive(Debug, Serialize, ToSchema)]
struct BasemapOut {
    /// Its id: the package's file name without extension, or `tianditu-vec` /
    /// `tianditu-img` for the online ones.
    id: String,
    /// Its name, for the layer switcher.
    name: String,
    /// `raster` or `vector`.
    kind: &'static str,
    /// `mbtiles`, `pmtiles` or `online`.
    source: &'static str,
    /// XYZ tile URLs (MBTiles and online), relative to the server for packages.
    tiles: Vec<String>,
    /// Label tiles drawn over `tiles` (天地图's annotation layer).
    labels: Vec<String>,
    /// For PMTiles: the file's URL, read with range requests.
    url: Option<String>,
    /// Lowest zoom.
    minzoom: u8,
    /// Highest zoom.
    maxzoom: u8,
    /// West, south, east, north.
    bounds: Option<[f64; 4]>,
    /// Attribution to show.
    attribution: Option<String>,
    /// Vector packages: their layers as TileJSON `vector_layers`.
    #[schema(value_type = Option<Object>)]
    vector_layers: Option<serde_json::Value>,
}

/// A package in the tiles folder that could not be read.
#[derive(Debug, Serialize, ToSchema)]
struct UnreadableOut {
    /// The file name.
    file: String,
    /// Why.
    reason: String,
}

/// The basemaps on offer.
#[derive(Debug, Serialize, ToSchema)]
struct Basemaps {
    /// Offline packages first, then online basemaps if a key is configured.
    basemaps: Vec<BasemapOut>,
    /// Packages that could not be read, so that whoever dropped them in can see why.
    unreadable: Vec<UnreadableOut>,
}

impl From<Basemap> for BasemapOut {
    fn from(b: Basemap) -> Self {
        let kind = if b.format.is_vector() {
            "vector"
        } else {
            "raster"
        };
        let (source, tiles, url) = match b.package {
            Package::Mbtiles => (
                "mbtiles",
                vec![format!(
                    "/tiles/basemaps/{}/{{z}}/{{x}}/{{y}}.{}",
                    b.id,
                    b.format.extension()
                )],
                None,
            ),
            Package::Pmtiles => (
                "pmtiles",
                Vec::new(),
                Some(format!("/tiles/basemaps/{}.pmtiles", b.id)),
            ),
        };
        Self {
            id: b.id,
            name: b.name,
            kind,
            source,
            tiles,
            labels: Vec::new(),
            url,
            minzoom: b.minzoom,
            maxzoom: b.maxzoom,
            bounds: b.bounds,
            attribution: b.attribution,
            vector_layers: b.vector_layers,
        }
    }
}

/// 天地图's Web-Mercator WMTS layers: CGCS2000 coordinates, which are WGS-84 to
/// centimetres, so our data needs no shift on them.
fn tianditu(key: &str) -> Vec<BasemapOut> {
    let wmts = |layer: &str| -> Vec<String> {
        (0..8)
            .map(|n| {
                format!(
                    "https://t{n}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0\
                     &LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles\
                     &TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
                )
            })
            .collect()
    };
    [("vec", "cva", "天地图 矢量"), ("img", "cia", "天地图 影像")]
        .into_iter()
        .map(|(base, labels, name)| BasemapOut {
            id: format!("tianditu-{base}"),
            name: name.to_owned(),
            kind: "raster",
            source: "online",
            tiles: wmts(base),
            labels: wmts(labels),
            url: None,
            minzoom: 1,
            maxzoom: 18,
            bounds: None,
            attribution: Some("© 天地图 国家地理信息公共服务平台".to_owned()),
            vector_layers: None,
        })
        .collect()
}

/// Lists the basemaps: MBTiles and PMTiles packages in the tiles folder (read at each
/// request, so a package dropped in shows up at once), then 天地图 when a key is set.
#[utoipa::path(get, path = "/api/v1/basemaps", tag = "basemaps",
    responses((status = 200, body = Basemaps)))]
async fn list(State(state): State<AppState>) -> Result<axum::Json<Basemaps>, ApiError> {
    let dir = state.tile_settings.basemaps_dir.clone();
    let key = state.tile_settings.tianditu_key.clone();
    let (found, bad) = tokio::task::spawn_blocking(move || match dir {
        Some(dir) => basemap::discover(&dir),
        None => (Vec::new(), Vec::new()),
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let mut basemaps: Vec<BasemapOut> = found.into_iter().map(BasemapOut::from).collect();
    if let Some(key) = key {
        basemaps.extend(tianditu(&key));
    }
    Ok(axum::Json(Basemaps {
        basemaps,
        unreadable: bad
            .into_iter()
            .map(|u| UnreadableOut {
                file: u.file,
                reason: u.reason,
            })
            .collect(),
    }))
}

fn package(state: &AppState, id: &str) -> Result<Basemap, ApiError> {
    state
        .tile_settings
        .basemaps_dir
        .as_deref()
        .and_then(|dir| basemap::find(dir, id))
        .ok_or_else(|| ApiError::NotFound(format!("no basemap package {id:?} in the tiles folder")))
}

/// One tile of an MBTiles package; 204 where the package has none (outside its area).
#[utoipa::path(get, path = "/tiles/basemaps/{id}/{z}/{x}/{y}", tag = "basemaps",
    params(("id" = String, Path, description = "The package's file name without .mbtiles"),
        ("z" = u8, Path, description = "Zoom"), ("x" = u32, Path, description = "Column"),
        ("y" = String, Path, description = "Row, optionally followed by the format's extension")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "The tile"), (status = 204, description = "No tile there"),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json")))]
async fn mbtiles_tile(
    State(state): State<AppState>,
    ApiPath((id, z, x, y)): ApiPath<(String, u8, u32, String)>,
) -> Result<Response, ApiError> {
    let b = package(&state, &id)?;
    if b.package != Package::Mbtiles {
        return Err(ApiError::NotFound(format!(
            "basemap {id:?} is a PMTiles file: read /tiles/basemaps/{id}.pmtiles"
        )));
    }
    let row = y.split('.').next().unwrap_or_default();
    let y: u32 = row
        .parse()
        .map_err(|_| ApiError::invalid("y", "expected a tile row, optionally with an extension"))?;
    let path = b.path.clone();
    let tile = tokio::task::spawn_blocking(move || basemap::mbtiles_tile(&path, z, x, y))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("basemap {id}: {e}")))?;
    let Some(bytes) = tile else {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    };
    let mut response = Response::new(Body::from(bytes.clone()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(b.format.content_type()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    // Vector MBTiles hold gzipped tiles; say so rather than unpack them.
    if bytes.starts_with(&[0x1f, 0x8b]) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// A PMTiles package, served whole or by byte ranges (`Range:` requests).
#[utoipa::path(get, path = "/tiles/basemaps/{file}", tag = "basemaps",
    params(("file" = String, Path, description = "The package's file name, e.g. xinbin.pmtiles")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "The file"), (status = 206, description = "The range asked for"),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json")))]
async fn pmtiles_file(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let id = file.strip_suffix(".pmtiles").ok_or_else(|| {
        ApiError::NotFound(format!("{file:?} is not a PMTiles file name (…​.pmtiles)"))
    })?;
    let b = package(&state, id)?;
    if b.package != Package::Pmtiles {
        return Err(ApiError::NotFound(format!(
            "basemap {id:?} is an MBTiles package: read its tiles"
        )));
    }
    let response = tower_http::services::ServeFile::new(&b.path)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(response.map(Body::new).into_response())
}

/// Glyphs for map labels. Labels are Chinese, which MapLibre draws with the browser's
/// own CJK font (`localIdeographFontFamily`), so no glyph files are shipped and every
/// range is empty; MapLibre still asks for ranges of other characters.
#[utoipa::path(get, path = "/fonts/{stack}/{range}", tag = "basemaps",
    params(("stack" = String, Path, description = "Font stack"),
        ("range" = String, Path, description = "Glyph range, e.g. 0-255.pbf")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "An empty glyph set (application/x-protobuf)")))]
async fn glyphs(ApiPath((_stack, _range)): ApiPath<(String, String)>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/x-protobuf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        Vec::<u8>::new(),
    )
        .into_response()
}
