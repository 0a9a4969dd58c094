//! `/api/v1/maps/{indicator}.png|svg` and `/api/v1/charts/{indicator}.png|svg`:
//! static choropleths and ranking charts of an indicator for reports, in Chinese.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery};
use super::quality::scope;
use crate::app::AppState;
use crate::domain::AreaLevel;
use crate::domain::access::Capability;
use crate::indicators::table::{self, AreaRef, Table, TableRequest};
use crate::render::indicator::{Method, choropleth, ranking};
use crate::render::{self, RenderError};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(map))
        .routes(routes!(chart))
}

/// Map and chart parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MapParams {
    /// `township` or `village` (default: one level below `within`).
    level: Option<String>,
    /// The area drawn (6 or 9 digits; default the county).
    within: Option<String>,
    /// Maps: `catalog` (the indicator's breaks, default), `quantile`, `equal` or
    /// `natural` (Jenks).
    classing: Option<String>,
    /// Maps: classes for quantile, equal and natural (2 to 9, default 5).
    classes: Option<usize>,
    /// Charts: the most bars (default 20, at most 300).
    top: Option<usize>,
}

/// `{indicator}.png` or `{indicator}.svg`.
fn split(file: &str) -> Result<(&str, bool), ApiError> {
    if let Some(id) = file.strip_suffix(".png") {
        Ok((id, false))
    } else if let Some(id) = file.strip_suffix(".svg") {
        Ok((id, true))
    } else {
        Err(ApiError::invalid(
            "file",
            "expected an indicator id followed by .png or .svg",
        ))
    }
}

/// What an image draws: one indicator over the areas of a level, or, for an area
/// outside the person's areas, a notice saying there is nothing to show (an empty,
/// labelled answer, as the figures give).
enum Drawn {
    Table(Table),
    Outside(crate::indicators::Indicator),
}

/// The table an image draws.
async fn image_table(
    state: &AppState,
    caller: &Caller,
    id: &str,
    p: &MapParams,
) -> Result<Drawn, ApiError> {
    let snapshot = state.snapshot();
    let indicator =
        super::indicators::indicator_named(&caller.catalog(&state.catalog), id, "indicator")?
            .clone();
    let level = match p.level.as_deref() {
        None | Some("") => None,
        Some(l) => match AreaLevel::from_code(l) {
            Some(AreaLevel::Community) | None => {
                return Err(ApiError::invalid(
                    "level",
                    format!("unknown level {l:?}; expected city, county, township or village"),
                ));
            }
            some => some,
        },
    };
    let super::quality::Scoped {
        code,
        name,
        level: within_level,
        outside,
    } = scope(&snapshot, caller, Capability::Figures, p.within.as_deref())?;
    if outside {
        return Ok(Drawn::Outside(indicator));
    }
    let level = AreaLevel::map_level(level, within_level).ok_or_else(|| {
        ApiError::invalid(
            "within",
            format!(
                "a map of {} inside a {within_level} cannot be drawn: it needs areas below the one it is within",
                level.map_or("(default)", AreaLevel::code)
            ),
        )
    })?;
    let request = TableRequest::plain(
        vec![indicator],
        AreaRef {
            code,
            name,
            level: within_level,
        },
        level,
    );
    Ok(Drawn::Table(
        state
            .store
            .run(move |c| table::build(c, &snapshot.names, &request))
            .await?,
    ))
}

/// The notice in place of an image of an area outside the person's areas.
async fn outside(
    state: &AppState,
    indicator: &crate::indicators::Indicator,
    size: (u32, u32),
    svg: bool,
) -> Result<Response, ApiError> {
    let spec = crate::render::indicator::outside_notice(
        &state.snapshot(),
        indicator,
        super::quality::OUTSIDE_LABEL,
        size,
    );
    let name = format!("{}.{}", spec.title, if svg { "svg" } else { "png" });
    draw(
        move |font| {
            if svg {
                render::notice_svg(&spec, font).map(String::into_bytes)
            } else {
                render::notice_png(&spec, font)
            }
        },
        svg,
        name,
    )
    .await
}

/// Renders on a blocking thread; no Chinese font is a 503 that says so.
pub(crate) async fn draw(
    make: impl FnOnce(&render::CjkFont) -> Result<Vec<u8>, RenderError> + Send + 'static,
    svg: bool,
    file: String,
) -> Result<Response, ApiError> {
    let bytes = tokio::task::spawn_blocking(move || {
        let font = render::discover()?;
        make(&font)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| match e {
        RenderError::NoCjkFont { .. } | RenderError::MissingGlyphs { .. } => {
            ApiError::Unavailable(e.to_string())
        }
        other => ApiError::Internal(other.into()),
    })?;
    let mut response = bytes.into_response();
    let kind = if svg { "image/svg+xml" } else { "image/png" };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    let encoded = crate::formats::percent_encode(&file);
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename*=UTF-8''{encoded}")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A choropleth of an indicator's rate over the townships or villages of an area,
/// with a Chinese title, a legend (classes, counts, 无数据), a scale bar, a north
/// arrow, the data date and the source line. An area outside the signed-in person's
/// areas (or none at all) gives an image titled （不在您的权限范围内） saying there is
/// nothing to show.
#[utoipa::path(get, path = "/api/v1/maps/{file}", tag = "maps",
    params(("file" = String, Path, description = "An indicator id followed by .png or .svg"), MapParams),
    responses(
        (status = 200, description = "The map", content_type = "image/png"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "No font on the server draws Chinese; the detail says how to fix it", body = ProblemDetails, content_type = "application/problem+json")))]
async fn map(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(file): ApiPath<String>,
    ApiQuery(p): ApiQuery<MapParams>,
) -> Result<Response, ApiError> {
    let (id, svg) = split(&file)?;
    let method = match p.classing.as_deref() {
        None | Some("") => Method::Catalog,
        Some(c) => Method::from_code(c).ok_or_else(|| {
            ApiError::invalid(
                "classing",
                format!("unknown classing {c:?}; expected catalog, quantile, equal or natural"),
            )
        })?,
    };
    let classes = p.classes.unwrap_or(5);
    if !(2..=9).contains(&classes) {
        return Err(ApiError::invalid("classes", "must be between 2 and 9"));
    }
    let table = match image_table(&state, &caller, id, &p).await? {
        Drawn::Table(table) => table,
        Drawn::Outside(indicator) => return outside(&state, &indicator, (1200, 900), svg).await,
    };
    let snapshot = state.snapshot();
    let catalog = Arc::clone(&state.catalog);
    let spec = choropleth(
        &snapshot,
        &catalog,
        &table,
        0,
        method,
        classes,
        snapshot.demo,
    );
    let name = format!("{}.{}", spec.title, if svg { "svg" } else { "png" });
    draw(
        move |font| {
            if svg {
                render::choropleth_svg(&spec, font).map(String::into_bytes)
            } else {
                render::choropleth_png(&spec, font)
            }
        },
        svg,
        name,
    )
    .await
}

/// A ranking bar chart of an indicator's rate over the townships or villages of an
/// area, highest first; outside the person's areas, an image saying so, as for maps.
#[utoipa::path(get, path = "/api/v1/charts/{file}", tag = "maps",
    params(("file" = String, Path, description = "An indicator id followed by .png or .svg"), MapParams),
    responses(
        (status = 200, description = "The chart", content_type = "image/png"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "No font on the server draws Chinese; the detail says how to fix it", body = ProblemDetails, content_type = "application/problem+json")))]
async fn chart(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(file): ApiPath<String>,
    ApiQuery(p): ApiQuery<MapParams>,
) -> Result<Response, ApiError> {
    let (id, svg) = split(&file)?;
    let top = p.top.unwrap_or(20);
    if !(1..=300).contains(&top) {
        return Err(ApiError::invalid("top", "must be between 1 and 300"));
    }
    let table = match image_table(&state, &caller, id, &p).await? {
        Drawn::Table(table) => table,
        Drawn::Outside(indicator) => return outside(&state, &indicator, (1000, 300), svg).await,
    };
    let snapshot = state.snapshot();
    let spec = ranking(&snapshot, &state.catalog, &table, 0, top, snapshot.demo);
    let name = format!("{}.{}", spec.title, if svg { "svg" } else { "png" });
    draw(
        move |font| {
            if svg {
                render::bar_chart_svg(&spec, font).map(String::into_bytes)
            } else {
                render::bar_chart_png(&spec, font)
            }
        },
        svg,
        name,
    )
    .await
}
