//! `/api/v1/indicators`, `/api/v1/stats`, `/api/v1/query` and `/api/v1/households`:
//! the catalog, indicator tables by area (JSON, CSV, XLSX, GeoJSON), figures for a
//! drawn shape, and the households behind a number with the facts that made them
//! fail, personal data masked.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiJson, ApiPath, ApiQuery, BodyLimit, FileBody};
use super::quality::{Scoped, scope};
use crate::app::AppState;
use crate::domain::access::Capability;
use crate::domain::{AreaLevel, Category, PovertyLine, Unit, mask_name};
use crate::domain::{FieldViolation, Violations};
use crate::formats::table::{self as files, Cell as FileCell};
use crate::indicators::output;
use crate::indicators::table::{self, AreaRef, Cell, SortKey, TableRequest, TableRow};
use crate::indicators::{Catalog, Indicator, Value, drawn, measure_of, reasons};
use crate::model::Snapshot;
use crate::spatial::quality::LocationFlag;
use crate::spatial::shapes::Shape;
use crate::store;
use crate::store::indicators::{
    HouseholdFacts, HouseholdFilter, household_facts, households_failing,
};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog))
        .routes(routes!(stats))
        .routes(routes!(households))
        .routes(routes!(household_one))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(query))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(axum::Extension(BodyLimit(MAX_BODY_BYTES))),
        )
}

/// Largest body of a drawn-area query.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The catalog with the colours and the poverty line in force.
#[derive(Debug, Serialize, ToSchema)]
struct CatalogBody<'a> {
    /// One colour per class, lowest first.
    palette: &'a [String],
    /// The colour of "no data".
    no_data_color: &'a str,
    /// The line `income_below_line` judges by, if one is in force for the data.
    income_line: Option<&'a PovertyLine>,
    /// The date the data describes.
    data_date: Option<&'a str>,
    /// The indicators.
    indicators: &'a [Indicator],
    /// The household categories (户类型) that `category` filters take, with labels.
    categories: Vec<CategoryLabel>,
}

/// A household category's code and its Chinese label.
#[derive(Debug, Serialize, ToSchema)]
struct CategoryLabel {
    code: &'static str,
    label: &'static str,
}

/// The indicator catalog.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators",
    responses((status = 200, description = "The catalog", body = CatalogBody)))]
async fn catalog(State(state): State<AppState>, caller: Caller) -> Response {
    let snapshot = state.snapshot();
    // A department sees its own indicators only.
    let catalog = caller.catalog(&state.catalog);
    Json(CatalogBody {
        palette: &catalog.palette,
        no_data_color: &catalog.no_data_color,
        income_line: snapshot.income_line.as_ref(),
        data_date: snapshot.data_date.as_deref(),
        indicators: &catalog.indicators,
        categories: Category::ALL
            .iter()
            .map(|c| CategoryLabel {
                code: c.code(),
                label: c.label_zh(),
            })
            .collect(),
    })
    .into_response()
}

/// Parses a comma-separated list of indicator ids; empty or absent: every indicator.
pub(crate) fn parse_indicators(
    catalog: &Catalog,
    list: Option<&str>,
    field: &str,
) -> Result<Vec<Indicator>, FieldViolation> {
    Ok(indicators_named(catalog, list, field)?
        .into_iter()
        .cloned()
        .collect())
}

/// [`parse_indicators`] borrowing from the catalog, for callers that may find what
/// they need cached without a copy.
pub(crate) fn indicators_named<'c>(
    catalog: &'c Catalog,
    list: Option<&str>,
    field: &str,
) -> Result<Vec<&'c Indicator>, FieldViolation> {
    let ids: Vec<&str> = list
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Ok(catalog.indicators.iter().collect());
    }
    let mut out: Vec<&Indicator> = Vec::new();
    for id in ids {
        let ind = catalog.get(id).ok_or_else(|| FieldViolation {
            field: field.into(),
            reason: format!(
                "unknown indicator {id:?}; expected one of {}",
                catalog.ids()
            ),
        })?;
        if !out.iter().any(|o| o.id == ind.id) {
            out.push(ind);
        }
    }
    Ok(out)
}

/// Parses `category=`: category codes, comma-separated; `monitored` stands for the
/// three monitored categories.
fn parse_categories(list: Option<&str>) -> Result<Vec<Category>, FieldViolation> {
    let mut out = Vec::new();
    for code in list
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if code == "monitored" {
            out.extend(Category::ALL.iter().filter(|c| c.is_monitored()));
            continue;
        }
        let c = Category::from_code(code).ok_or_else(|| {
            let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
            FieldViolation {
                field: "category".into(),
                reason: format!(
                    "unknown category {code:?}; expected monitored or one of {}",
                    codes.join(", ")
                ),
            }
        })?;
        out.push(c);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses `by=`: `registration` (default) or `location`.
fn parse_by(by: Option<&str>) -> Result<bool, FieldViolation> {
    match by.unwrap_or("registration") {
        "registration" | "" => Ok(false),
        "location" => Ok(true),
        other => Err(FieldViolation {
            field: "by".into(),
            reason: format!("unknown value {other:?}; expected registration or location"),
        }),
    }
}

/// `GET /api/v1/stats` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StatsParams {
    /// Indicator ids, comma-separated; default: every indicator.
    indicators: Option<String>,
    /// `county`, `township` or `village`: one row per area of this level; default: one
    /// level below `within`.
    level: Option<String>,
    /// The area covered (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// Category codes, comma-separated (`monitored` = the three monitored ones);
    /// default: every household.
    category: Option<String>,
    /// `registration` (default): households count in their registered village;
    /// `location`: where their position lies.
    by: Option<String>,
    /// Rank by an indicator's rate (`dropout`), its count (`dropout.count`) or
    /// `households`; default: code order.
    sort: Option<String>,
    /// `desc` (default) or `asc`.
    order: Option<String>,
    /// Keep only the first rows (a top-N ranking).
    limit: Option<usize>,
    /// `json` (default), `csv`, `xlsx` or `geojson`.
    format: Option<String>,
}

/// An indicator's heading in a table.
#[derive(Debug, Serialize, ToSchema)]
struct IndicatorHead {
    id: String,
    name_zh: String,
    unit: Unit,
}

/// `GET /api/v1/stats` in JSON.
#[derive(Debug, Serialize, ToSchema)]
struct StatsBody {
    /// The area covered.
    within: AreaRef,
    /// The level of the rows.
    level: AreaLevel,
    /// `registration` or `location`.
    by: &'static str,
    /// The categories counted (empty: all).
    categories: Vec<Category>,
    /// The data version the figures come from.
    data_version: i64,
    /// The date the data describes.
    data_date: Option<String>,
    /// The poverty line `income_below_line` judges by.
    income_line: Option<PovertyLine>,
    /// The indicators, in column order.
    indicators: Vec<IndicatorHead>,
    /// One row per area.
    rows: Vec<TableRow>,
    /// The whole area covered.
    total: TableRow,
    /// Under `by=location`: households in scope whose position lies in no area.
    unlocated: Option<i64>,
    /// The area asked lies outside the signed-in person's areas (or does not exist):
    /// no rows, zeros, and `within.name` says so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    outside: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
    GeoJson,
}

/// The checked parameters of `/api/v1/stats`, but for the area.
struct Parsed {
    indicators: Vec<Indicator>,
    categories: Vec<Category>,
    by_location: bool,
    format: Format,
    ascending: bool,
    sort: Option<SortKey>,
    level: Option<AreaLevel>,
}

/// Checks every parameter but `within`, naming each bad one. The area is checked
/// after, so that a 404 never hides a 400.
fn parse_stats(p: &StatsParams, catalog: &Catalog) -> Result<Parsed, ApiError> {
    let mut errors = Violations::new();
    let indicators = errors.take(parse_indicators(
        catalog,
        p.indicators.as_deref(),
        "indicators",
    ));
    let categories = errors.take(parse_categories(p.category.as_deref()));
    let by_location = errors.take(parse_by(p.by.as_deref()));
    let format = match p.format.as_deref().unwrap_or("json") {
        "json" | "" => Format::Json,
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        "geojson" => Format::GeoJson,
        other => {
            errors.add(
                "format",
                format!("unknown format {other:?}; expected json, csv, xlsx or geojson"),
            );
            Format::Json
        }
    };
    let ascending = match p.order.as_deref().unwrap_or("desc") {
        "desc" | "" => false,
        "asc" => true,
        other => {
            errors.add(
                "order",
                format!("unknown order {other:?}; expected asc or desc"),
            );
            false
        }
    };
    if p.limit == Some(0) {
        errors.add("limit", "must be at least 1");
    }
    let sort = match p.sort.as_deref() {
        None | Some("") => None,
        Some("households") => Some(SortKey::Households),
        Some(s) => {
            let (id, by_count) = match s.strip_suffix(".count") {
                Some(id) => (id, true),
                None => (s.strip_suffix(".rate").unwrap_or(s), false),
            };
            let found = indicators.iter().position(|i| i.id == id);
            if found.is_none() {
                errors.add(
                    "sort",
                    format!("{s:?} is not households or one of the indicators asked (id, id.rate or id.count)"),
                );
            }
            found.map(|position| SortKey::Indicator { position, by_count })
        }
    };
    let level = match p.level.as_deref() {
        None | Some("") => None,
        Some(l) => match AreaLevel::from_code(l) {
            Some(AreaLevel::Community) | None => {
                errors.add(
                    "level",
                    format!(
                        "unknown level {l:?}; expected province, city, county, township or village"
                    ),
                );
                None
            }
            some => some,
        },
    };
    errors.into_result(())?;
    Ok(Parsed {
        indicators,
        categories,
        by_location,
        format,
        ascending,
        sort,
        level,
    })
}

/// Indicator figures by area: one row per area of a level, with count, denominator,
/// rate and colour class per indicator; ranked on request; as JSON, CSV (BOM,
/// Chinese headers), XLSX or GeoJSON.
#[utoipa::path(get, path = "/api/v1/stats", tag = "indicators", params(StatsParams),
    responses(
        (status = 200, description = "The table (JSON; or CSV, XLSX, GeoJSON by `format`)", body = StatsBody),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let Parsed {
        indicators,
        categories,
        by_location,
        format,
        ascending,
        sort,
        level,
    } = parse_stats(&p, &caller.catalog(&state.catalog))?;
    let Scoped {
        code,
        name,
        level: within_level,
        outside,
    } = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let level = level.unwrap_or(within_level.child().unwrap_or(AreaLevel::Village));
    if level.code_len() < within_level.code_len() {
        return Err(ApiError::invalid(
            "level",
            format!("{level} rows cannot be inside a {within_level} (within={code})"),
        ));
    }
    let request = TableRequest {
        indicators,
        within: AreaRef {
            code,
            name,
            level: within_level,
        },
        level,
        by_location,
        categories,
        sort,
        ascending,
        limit: p.limit,
    };
    if outside {
        return render(
            &state,
            &snapshot,
            table::Table::empty(request),
            format,
            true,
        )
        .await;
    }
    // The same views are asked again and again (a leader's first screen): answered from
    // memory until the data or the ledger changes.
    let key = format!(
        "{}/e{}/stats/{:?}",
        snapshot.data_version,
        state.ledger_edits(),
        (
            request.indicators.iter().map(|i| &i.id).collect::<Vec<_>>(),
            &request.within.code,
            request.level,
            request.by_location,
            &request.categories,
            &request.sort,
            request.ascending,
            request.limit,
        )
    );
    let table = {
        let snapshot = std::sync::Arc::clone(&snapshot);
        let st = state.clone();
        state
            .store
            .run(move |c| {
                st.tiles
                    .table(&key, || table::build(c, &snapshot.names, &request))
            })
            .await?
    };
    render(&state, &snapshot, (*table).clone(), format, false).await
}

/// A finished table in the format asked.
async fn render(
    state: &AppState,
    snapshot: &Snapshot,
    table: table::Table,
    format: Format,
    outside: bool,
) -> Result<Response, ApiError> {
    let level_zh = match table.level {
        level if level == table.within.level => "",
        AreaLevel::Province => "各省",
        AreaLevel::City => "各市",
        AreaLevel::County => "各县（市、区）",
        AreaLevel::Township => "各乡镇",
        AreaLevel::Village | AreaLevel::Community => "各村",
    };
    let file = format!("{}{level_zh}指标统计", table.within.name);
    match format {
        Format::Json => Ok(Json(StatsBody {
            within: table.within,
            level: table.level,
            by: if table.by_location {
                "location"
            } else {
                "registration"
            },
            categories: table.categories,
            data_version: snapshot.data_version,
            data_date: snapshot.data_date.clone(),
            income_line: snapshot.income_line.clone(),
            indicators: table
                .indicators
                .iter()
                .map(|i| IndicatorHead {
                    id: i.id.clone(),
                    name_zh: i.name_zh.clone(),
                    unit: i.unit,
                })
                .collect(),
            rows: table.rows,
            total: table.total,
            unlocated: table.unlocated,
            outside,
        })
        .into_response()),
        Format::Csv => {
            let mut out = Vec::new();
            output::table_csv(&table, &mut out).map_err(|e| ApiError::Internal(e.into()))?;
            Ok(download(
                out,
                "text/csv; charset=utf-8",
                &format!("{file}.csv"),
            ))
        }
        Format::Xlsx => {
            let title = format!(
                "{}{level_zh}指标统计（数据日期：{}）",
                table.within.name,
                snapshot.data_date.as_deref().unwrap_or("未知")
            );
            let out =
                output::table_xlsx(&table, &title).map_err(|e| ApiError::Internal(e.into()))?;
            Ok(download(
                out,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{file}.xlsx"),
            ))
        }
        Format::GeoJson => {
            let filter = store::AreaFilter {
                level: Some(table.level),
                parent: None,
            };
            let records = state
                .store
                .run(move |c| store::areas::records(c, &filter))
                .await?;
            let body = output::table_geojson(&table, &records);
            let mut response = Json(body).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/geo+json"),
            );
            Ok(response)
        }
    }
}

/// The catalog's indicator with this id, or a 400 naming `field` and the ids.
pub(crate) fn indicator_named<'a>(
    catalog: &'a Catalog,
    id: &str,
    field: &str,
) -> Result<&'a Indicator, ApiError> {
    catalog.get(id).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!(
                "unknown indicator {id:?}; expected one of {}",
                catalog.ids()
            ),
        )
    })
}

/// A file download with its Chinese file name (RFC 6266 / 5987).
pub(crate) fn download(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let encoded = crate::formats::percent_encode(file);
    let ext = file.rsplit('.').next().unwrap_or("bin");
    let disposition = format!("attachment; filename=\"paicha.{ext}\"; filename*=UTF-8''{encoded}");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A table downloaded as CSV (UTF-8) or as XLSX (one sheet, `title` above the header),
/// named `{file}.csv` or `{file}.xlsx`: the lists that departments and townships download.
pub(crate) fn table_download(
    csv: bool,
    (sheet, title): (&str, &str),
    file: &str,
    headers: &[&str],
    rows: &[Vec<crate::formats::table::Cell>],
) -> Result<Response, ApiError> {
    use crate::formats::table;
    if csv {
        return Ok(download(
            table::csv(headers, rows),
            "text/csv; charset=utf-8",
            &format!("{file}.csv"),
        ));
    }
    let body = table::xlsx(sheet, Some(title), headers, rows)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing {file}.xlsx: {e}")))?;
    Ok(download(
        body,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{file}.xlsx"),
    ))
}

/// A circle to query.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CircleBody {
    /// `[lon, lat]`, WGS-84.
    center: [f64; 2],
    /// Radius in metres.
    radius_m: f64,
}

/// `POST /api/v1/query`: exactly one of `geometry`, `bbox` and `circle`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    /// A GeoJSON `Polygon` or `MultiPolygon` (WGS-84), or a `Feature` holding one.
    #[schema(value_type = Object)]
    geometry: Option<serde_json::Value>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    bbox: Option<[f64; 4]>,
    /// A point and a radius.
    circle: Option<CircleBody>,
    /// Indicator ids; default: every indicator.
    indicators: Option<Vec<String>>,
    /// Category codes, comma-separated, as in `/api/v1/stats`.
    category: Option<String>,
}

/// The shape as understood.
#[derive(Debug, Serialize, ToSchema)]
struct ShapeInfo {
    /// `polygon`, `bbox` or `circle`.
    kind: &'static str,
    /// Its area on the WGS-84 ellipsoid, km² (a circle: its outline's).
    area_km2: f64,
    /// Its vertices (a circle's polygon for the village shares).
    vertices: usize,
}

/// A village the shape touches.
#[derive(Debug, Serialize, ToSchema)]
struct QueryVillage {
    code: String,
    name: String,
    township_code: String,
    township_name: String,
    /// Share of the village's area inside the shape (0–1).
    share: f64,
    /// Households inside the shape whose position lies in this village.
    households: i64,
    /// Per indicator id: count, denominator, rate, class.
    #[schema(value_type = std::collections::BTreeMap<String, Cell>)]
    values: serde_json::Map<String, serde_json::Value>,
}

/// Figures of the households inside a drawn shape.
#[derive(Debug, Serialize, ToSchema)]
struct QueryAnswer {
    shape: ShapeInfo,
    data_version: i64,
    /// The indicators, in order.
    indicators: Vec<IndicatorHead>,
    /// Households inside the shape.
    households: i64,
    /// Per indicator id, over every household inside.
    #[schema(value_type = std::collections::BTreeMap<String, Cell>)]
    totals: serde_json::Map<String, serde_json::Value>,
    /// The villages the shape touches, by code.
    villages: Vec<QueryVillage>,
    /// Households inside whose position lies in no village (outside the county).
    outside_villages: i64,
    /// When the signed-in person holds only some areas: the areas counted (a shape
    /// reaching beyond them counts only the households registered inside them).
    #[serde(skip_serializing_if = "Option::is_none")]
    counted_within: Option<Vec<String>>,
}

fn cell_map(
    indicators: &[Indicator],
    values: &[Value],
) -> serde_json::Map<String, serde_json::Value> {
    indicators
        .iter()
        .zip(values)
        .map(|(ind, v)| {
            let cell = Cell {
                value: *v,
                class: Catalog::class_of(ind, v.rate),
            };
            (
                ind.id.clone(),
                serde_json::to_value(cell).unwrap_or_default(),
            )
        })
        .collect()
}

/// The shape of a query: exactly one of `geometry`, `bbox` and `circle`, checked.
fn shape_of(body: &QueryBody) -> Result<Shape, ApiError> {
    let given = [
        body.geometry.is_some(),
        body.bbox.is_some(),
        body.circle.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::invalid(
            "geometry",
            "give exactly one of geometry, bbox and circle",
        ));
    }
    let shape = if let Some(bbox) = body.bbox {
        Shape::bbox("bbox", bbox)
    } else if let Some(c) = &body.circle {
        Shape::circle("circle", c.center, c.radius_m)
    } else {
        Shape::polygon("geometry", body.geometry.clone().unwrap_or_default())
    };
    shape.map_err(|v| ApiError::InvalidParams(vec![v]))
}

/// Totals and the breakdown by village for the households inside a drawn polygon,
/// box or circle (by their positions, offsets corrected).
#[utoipa::path(post, path = "/api/v1/query", tag = "indicators", request_body = QueryBody,
    responses(
        (status = 200, description = "The figures inside the shape", body = QueryAnswer),
        (status = 400, description = "The body is invalid or over the vertex or area limit; the field is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the size limit", body = ProblemDetails, content_type = "application/problem+json")))]
async fn query(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<QueryBody>,
) -> Result<Json<QueryAnswer>, ApiError> {
    caller.require(Capability::Figures)?;
    let snapshot = state.snapshot();
    let scope: Vec<String> = if caller.may(Capability::Figures, &snapshot.top_code) {
        Vec::new()
    } else {
        caller.areas(Capability::Figures)
    };
    let mut errors = Violations::new();
    let indicators = errors.take(parse_indicators(
        &caller.catalog(&state.catalog),
        body.indicators.as_ref().map(|v| v.join(",")).as_deref(),
        "indicators",
    ));
    let categories = errors.take(parse_categories(body.category.as_deref()));
    errors.into_result(())?;
    // Ledger indicators belong to whole villages, not to households found by position.
    let indicators: Vec<Indicator> = if body.indicators.is_some() {
        if let Some(l) = indicators.iter().find(|i| measure_of(i).is_ledger()) {
            return Err(ApiError::invalid(
                "indicators",
                format!(
                    "{} is counted per village ledger, not per household: ask /api/v1/stats",
                    l.id
                ),
            ));
        }
        indicators
    } else {
        indicators
            .into_iter()
            .filter(|i| !measure_of(i).is_ledger())
            .collect()
    };
    let shape = shape_of(&body)?;
    let measures: Vec<_> = indicators.iter().map(measure_of).collect();
    let figures = drawn::figures(&snapshot, &shape, &measures, &categories, &scope);
    let mut villages: Vec<QueryVillage> = figures
        .villages
        .iter()
        .filter_map(|v| {
            let area = snapshot.villages.area(v.village)?;
            Some(QueryVillage {
                name: snapshot.name(&area.code).unwrap_or_default().to_owned(),
                township_name: snapshot
                    .name(&area.township_code)
                    .unwrap_or_default()
                    .to_owned(),
                code: area.code.clone(),
                township_code: area.township_code.clone(),
                share: (v.share * 1e4).round() / 1e4,
                households: v.sums.households,
                values: cell_map(&indicators, &v.sums.values()),
            })
        })
        .collect();
    villages.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Json(QueryAnswer {
        shape: ShapeInfo {
            kind: shape.kind(),
            area_km2: shape.area_km2(),
            vertices: shape.vertices(),
        },
        data_version: snapshot.data_version,
        indicators: indicators
            .iter()
            .map(|i| IndicatorHead {
                id: i.id.clone(),
                name_zh: i.name_zh.clone(),
                unit: i.unit,
            })
            .collect(),
        households: figures.total.households,
        totals: cell_map(&indicators, &figures.total.values()),
        villages,
        outside_villages: figures.outside_villages,
        counted_within: (!scope.is_empty()).then_some(scope),
    }))
}

/// `GET /api/v1/households` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HouseholdParams {
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// The indicator failed; default `any_problem`.
    indicator: Option<String>,
    /// Category codes, comma-separated, as in `/api/v1/stats`.
    category: Option<String>,
    /// `registration` (default) or `location`, as in `/api/v1/stats`.
    by: Option<String>,
    /// Page size, 1 to 1000 (default 50); ignored by the files, which hold every
    /// household.
    limit: Option<usize>,
    /// Households to skip; ignored by the files.
    offset: Option<usize>,
    /// `json` (default, a page), `xlsx` (every household, numbers as text cells) or
    /// `csv` (every household; a spreadsheet shows long numbers as `2.1E+17`).
    format: Option<String>,
}

/// Most households in a file of `/api/v1/households`: an XLSX sheet holds 1,048,576
/// rows, and a county's list is a few thousand.
const MAX_FILE_HOUSEHOLDS: i64 = 1_000_000;

/// Households read from the store at a time for a file.
const FILE_BATCH: usize = 5_000;

/// The headers of the households files.
const HOUSEHOLD_HEADERS: [&str; 9] = [
    "户编号",
    "乡镇",
    "村",
    "户主（脱敏）",
    "户类型",
    "人口",
    "人均纯收入（元）",
    "问题",
    "原因",
];

/// An indicator failed, and why.
#[derive(Debug, Serialize, ToSchema)]
struct Failure {
    id: &'static str,
    name_zh: String,
    /// The facts that made the household fail it, in Chinese; names masked.
    reasons: Vec<String>,
}

/// A household behind a number, masked.
#[derive(Debug, Serialize, ToSchema)]
struct HouseholdItem {
    household_no: String,
    village_code: String,
    village_name: String,
    township_code: String,
    township_name: String,
    /// 户主, masked (张*).
    head_name: String,
    category: Option<Category>,
    members: usize,
    /// 人均纯收入, yuan.
    income_per_capita: f64,
    /// Every indicator the household fails, with its reasons.
    failed: Vec<Failure>,
    /// What it receives and when it was monitored, in Chinese, as the export said.
    support: SupportItem,
    /// The inspection groups' visits to it, newest first, with their findings (the
    /// household's own view only; lists leave them out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    visits: Vec<crate::domain::visit::Visit>,
}

/// A household's support and monitoring record, in the national systems' words; each
/// field absent when the export did not say.
#[derive(Debug, Default, Serialize, ToSchema)]
struct SupportItem {
    /// 致贫/返贫风险1–5, in order.
    risks: Vec<String>,
    /// 风险消除方式.
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_elimination: Option<String>,
    /// 识别监测时间 (`YYYY-MM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    identified_month: Option<String>,
    /// 消除监测时间 (`YYYY-MM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    eliminated_month: Option<String>,
    /// 是否有卫生厕所.
    #[serde(skip_serializing_if = "Option::is_none")]
    sanitary_toilet: Option<bool>,
    /// 享受低保/特困供养政策情况 (低保, 特困供养, 低保和特困供养, 无).
    #[serde(skip_serializing_if = "Option::is_none")]
    relief: Option<String>,
    /// 帮扶措施 received, as the household record lists them.
    aid_measures: Vec<String>,
    /// The measures of each year (`household_measures`), latest year first: from the
    /// national export and the departments' measures files.
    measures: Vec<MeasureYear>,
    /// The year the measure indicators judge (未落实开发式帮扶措施, 风险无对应措施).
    #[serde(skip_serializing_if = "Option::is_none")]
    measures_year: Option<i32>,
}

/// One year's measures of a household.
#[derive(Debug, Serialize, ToSchema)]
struct MeasureYear {
    year: i32,
    items: Vec<MeasureItem>,
}

/// One measure a household received in a year.
#[derive(Debug, Serialize, ToSchema)]
struct MeasureItem {
    /// The measure's code (`industry`, `health` …).
    measure: String,
    /// Its name (产业帮扶 …).
    measure_zh: String,
    /// The responsible department (责任部门).
    department: String,
    /// The amount in yuan, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<f64>,
    /// `export` (the national export), `demo`, or the department file's name.
    source: String,
}

impl SupportItem {
    /// The stored codes in words; a code paicha does not know is left out.
    fn of(risk_type: Option<&str>, s: &crate::store::indicators::SupportFacts) -> Self {
        use crate::domain::{AidMeasure, Relief, RiskElimination, RiskType};
        let codes = |list: Option<&String>| -> Vec<String> {
            list.map(|l| l.split(',').map(str::to_owned).collect())
                .unwrap_or_default()
        };
        Self {
            risks: risk_type
                .map(str::to_owned)
                .into_iter()
                .chain(codes(s.other_risks.as_ref()))
                .filter_map(|c| RiskType::from_code(&c).map(|r| r.label_zh().to_owned()))
                .collect(),
            risk_elimination: s
                .risk_elimination
                .as_deref()
                .and_then(RiskElimination::from_code)
                .map(|r| r.label_zh().to_owned()),
            identified_month: s.identified_month.clone(),
            eliminated_month: s.eliminated_month.clone(),
            sanitary_toilet: s.sanitary_toilet,
            relief: s
                .relief
                .as_deref()
                .and_then(Relief::from_code)
                .map(|r| r.label_zh().to_owned()),
            aid_measures: codes(s.aid_measures.as_ref())
                .iter()
                .filter_map(|c| AidMeasure::from_code(c).map(|m| m.label_zh().to_owned()))
                .collect(),
            measures: s
                .measures
                .chunk_by(|a, b| a.year == b.year)
                .map(|year| MeasureYear {
                    year: year[0].year,
                    items: year
                        .iter()
                        .map(|m| MeasureItem {
                            measure: m.measure.code().to_owned(),
                            measure_zh: m.measure.label_zh().to_owned(),
                            department: m.department.clone(),
                            amount: m.amount,
                            source: m.source.clone(),
                        })
                        .collect(),
                })
                .collect(),
            measures_year: s.measures_year,
        }
    }
}

/// A page of households.
#[derive(Debug, Serialize, ToSchema)]
struct HouseholdPage {
    indicator: String,
    total: i64,
    limit: usize,
    offset: usize,
    items: Vec<HouseholdItem>,
}

/// The households behind a count: those of an area failing an indicator, in village
/// and household-number order, with every indicator each fails and the facts why.
/// Names are masked; no ID number is returned. `format=xlsx` or `csv` gives every
/// household as a file, one row each.
#[utoipa::path(get, path = "/api/v1/households", tag = "indicators", params(HouseholdParams),
    responses(
        (status = 200, description = "A page of households, or every household as a file", content(
            (HouseholdPage = "application/json"),
            (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (FileBody = "text/csv"))),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn households(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<HouseholdParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let mut errors = Violations::new();
    let file = match p.format.as_deref().unwrap_or("json") {
        "json" | "" => None,
        "xlsx" => Some(Format::Xlsx),
        "csv" => Some(Format::Csv),
        other => {
            errors.add(
                "format",
                format!("unknown format {other:?}; expected json, xlsx or csv"),
            );
            None
        }
    };
    let indicator = match p.indicator.as_deref() {
        None | Some("") => state.catalog.get("any_problem").cloned(),
        Some(id) => {
            let found = state.catalog.get(id).cloned();
            if found.is_none() {
                errors.add(
                    "indicator",
                    format!(
                        "unknown indicator {id:?}; expected one of {}",
                        state.catalog.ids()
                    ),
                );
            }
            found
        }
    };
    let categories = errors.take(parse_categories(p.category.as_deref()));
    let by_location = errors.take(parse_by(p.by.as_deref()));
    let (limit, offset) = super::extract::paging(p.limit, p.offset, &mut errors);
    errors.into_result(())?;
    let Some(indicator) = indicator else {
        return Err(ApiError::invalid(
            "indicator",
            "no indicator any_problem in the catalog",
        ));
    };
    if measure_of(&indicator).is_ledger() {
        return Err(ApiError::invalid(
            "indicator",
            format!(
                "{} is counted per village ledger: see /api/v1/campaigns/{{id}}/entries",
                indicator.id
            ),
        ));
    }
    let area = scope(
        &snapshot,
        &caller,
        Capability::Personal,
        p.within.as_deref(),
    )?
    .inside()?;
    let scope = HouseholdFilter {
        // The top area needs no filter; a county of a city does.
        within: (area.code != snapshot.top_code).then_some(area.code),
        by_location,
        categories,
    };
    let measure = measure_of(&indicator);
    if let Some(format) = file {
        return households_file(
            &state, &caller, &snapshot, &indicator, &area.name, scope, format,
        )
        .await;
    }
    let (page, facts) = state
        .store
        .run(move |c| {
            let page = households_failing(c, Some(measure), &scope, limit, offset)?;
            let nos: Vec<&str> = page.rows.iter().map(|(_, n)| n.as_str()).collect();
            let facts = household_facts(c, &nos)?;
            Ok((page, facts))
        })
        .await?;
    caller.record_personal(&state.audit, page.rows.iter().map(|(_, n)| n.as_str()));
    let items = page
        .rows
        .iter()
        .filter_map(|(row, no)| {
            Some(household_item(
                &state.catalog,
                &snapshot,
                *row,
                facts.get(no)?,
            ))
        })
        .collect();
    Ok(Json(HouseholdPage {
        indicator: indicator.id,
        total: page.total,
        limit,
        offset,
        items,
    })
    .into_response())
}

/// Every household of `/api/v1/households` as XLSX or CSV: 户编号 as text, then
/// township, village, masked head, category, members, income, the indicators failed
/// and the reasons, as the page shows them.
async fn households_file(
    state: &AppState,
    caller: &Caller,
    snapshot: &Snapshot,
    indicator: &Indicator,
    area: &str,
    scope: HouseholdFilter,
    format: Format,
) -> Result<Response, ApiError> {
    let measure = measure_of(indicator);
    let (total, batches) = state
        .store
        .run(move |c| {
            let first = households_failing(c, Some(measure), &scope, FILE_BATCH, 0)?;
            if first.total > MAX_FILE_HOUSEHOLDS {
                return Ok((first.total, Vec::new()));
            }
            let mut batches = Vec::new();
            let mut page = first;
            let mut offset = 0;
            loop {
                let nos: Vec<&str> = page.rows.iter().map(|(_, n)| n.as_str()).collect();
                let facts = household_facts(c, &nos)?;
                let done = page.rows.len() < FILE_BATCH;
                batches.push((std::mem::take(&mut page.rows), facts));
                offset += FILE_BATCH;
                if done || i64::try_from(offset).unwrap_or(i64::MAX) >= page.total {
                    return Ok((page.total, batches));
                }
                page = households_failing(c, Some(measure), &scope, FILE_BATCH, offset)?;
            }
        })
        .await?;
    if total > MAX_FILE_HOUSEHOLDS {
        return Err(ApiError::invalid(
            "within",
            format!(
                "{total} households fail {}; a file holds at most {MAX_FILE_HOUSEHOLDS}: choose a township or village",
                indicator.id
            ),
        ));
    }
    let category_zh = |c: Option<Category>| c.map_or("", Category::label_zh);
    let mut rows = Vec::new();
    for (page, facts) in &batches {
        for (row, no) in page {
            let Some(h) = facts.get(no) else { continue };
            let item = household_item(&state.catalog, snapshot, *row, h);
            let failed: Vec<&Failure> = item
                .failed
                .iter()
                .filter(|f| f.id != "any_problem")
                .collect();
            rows.push(vec![
                FileCell::text(item.household_no),
                FileCell::text(item.township_name),
                FileCell::text(item.village_name),
                FileCell::text(item.head_name),
                FileCell::text(category_zh(item.category)),
                FileCell::Number(item.members as f64),
                FileCell::Number((item.income_per_capita * 100.0).round() / 100.0),
                FileCell::text(
                    failed
                        .iter()
                        .map(|f| f.name_zh.as_str())
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                FileCell::text(
                    failed
                        .iter()
                        .flat_map(|f| f.reasons.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
            ]);
        }
    }
    record_export(state, caller, area, indicator, format, &batches, rows.len());
    let name = format!("{area}-{}-农户", indicator.name_zh);
    if format == Format::Csv {
        return Ok(download(
            files::csv(&HOUSEHOLD_HEADERS, &rows),
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        ));
    }
    let title = format!(
        "{area}{}的农户（{} 户，数据日期：{}，户主姓名已脱敏）",
        indicator.name_zh,
        rows.len(),
        snapshot.data_date.as_deref().unwrap_or("未知")
    );
    let bytes = files::xlsx("农户", Some(&title), &HOUSEHOLD_HEADERS, &rows)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{name}.xlsx"),
    ))
}

/// A batch of a households file: its rows (row, number) and their facts.
type FileBatch = (
    Vec<(u32, String)>,
    std::collections::HashMap<String, HouseholdFacts>,
);

/// Puts a households file in the audit log: who, which list, its households' numbers
/// (the first [`super::access::MAX_AUDITED_NUMBERS`]) and how many rows.
fn record_export(
    state: &AppState,
    caller: &Caller,
    area: &str,
    indicator: &Indicator,
    format: Format,
    batches: &[FileBatch],
    rows: usize,
) {
    let numbers: Vec<&str> = batches
        .iter()
        .flat_map(|(page, _)| page.iter().map(|(_, n)| n.as_str()))
        .take(super::access::MAX_AUDITED_NUMBERS)
        .collect();
    caller.record(
        &state.audit,
        "export",
        Some(format!(
            "{area} {} households ({format:?}): {}",
            indicator.id,
            numbers.join(",")
        )),
        Some(rows),
    );
}

/// One household, masked, with every indicator it fails and why: what a map popup
/// shows. No ID number is returned.
#[utoipa::path(get, path = "/api/v1/households/{household_no}", tag = "indicators",
    params(("household_no" = String, Path, description = "The 18-digit household number (户编号)")),
    responses(
        (status = 200, description = "The household", body = HouseholdItem),
        (status = 400, description = "Not a household number", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such household", body = ProblemDetails, content_type = "application/problem+json")))]
async fn household_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(no): ApiPath<String>,
) -> Result<Json<HouseholdItem>, ApiError> {
    caller.require(Capability::Personal)?;
    if no.len() != 18 || !no.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "household_no",
            "expected an 18-digit household number",
        ));
    }
    let snapshot = state.snapshot();
    let lookup = no.clone();
    let found = state
        .store
        .run(move |c| {
            let Some(row) = crate::store::indicators::household_row(c, &lookup)? else {
                return Ok(None);
            };
            let facts = household_facts(c, &[lookup.as_str()])?;
            let filter = crate::store::visits::VisitFilter {
                target_id: Some(lookup.clone()),
                ..crate::store::visits::VisitFilter::default()
            };
            let visits = crate::store::visits::list(c, None, &filter, 50, 0)?.1;
            let mismatches = crate::store::rolls::of_household(c, &lookup)?;
            Ok(Some((row, facts, visits, mismatches)))
        })
        .await?;
    // Outside the person's areas it is not found, as if it did not exist.
    let item = found.and_then(|(row, facts, visits, mismatches)| {
        let h = facts.get(&no)?;
        caller.may(Capability::Personal, &h.village_code).then(|| {
            let mut item = HouseholdItem {
                visits,
                ..household_item(&state.catalog, &snapshot, row, h)
            };
            crosscheck_reasons(&mut item, mismatches, &state.rolls);
            item
        })
    });
    let item = item.ok_or_else(|| ApiError::NotFound(format!("no household numbered {no}")))?;
    caller.record_personal(&state.audit, [no.as_str()]);
    Ok(Json(item))
}

/// The cross-check indicators a household fails, each with its mismatches' both sides
/// (the person masked) in place of the general reason: the single household's view.
fn crosscheck_reasons(
    item: &mut HouseholdItem,
    mismatches: Vec<crate::store::rolls::Mismatch>,
    rolls: &crate::domain::rolls::RollCatalog,
) {
    let mut by_rule: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for m in mismatches {
        let rule = format!("crosscheck_{}", m.rule);
        if let Some(line) = super::crosschecks::describe(m, rolls) {
            by_rule.entry(rule).or_default().push(line);
        }
    }
    for f in &mut item.failed {
        if let Some(lines) = by_rule.remove(f.id) {
            f.reasons = lines;
        }
    }
}

/// A household of a page, masked, with every indicator it fails and why.
fn household_item(
    catalog: &Catalog,
    snapshot: &Snapshot,
    row: u32,
    h: &HouseholdFacts,
) -> HouseholdItem {
    let ids = drawn::failed(&snapshot.facts, row as usize);
    let name = |id: &str| {
        catalog
            .get(id)
            .map(|i| i.name_zh.clone())
            .unwrap_or_default()
    };
    let failed = ids
        .iter()
        .map(|&id| Failure {
            id,
            name_zh: name(id),
            reasons: match id {
                "gps_mismatch" => mismatch_reasons(snapshot, row),
                // The standard's indicators it fails, by name.
                "any_problem" => ids
                    .iter()
                    .filter(|o| catalog.get(o).is_some_and(|i| i.standard))
                    .map(|o| name(o))
                    .collect(),
                _ => reasons(id, h, snapshot.income_line.as_ref()),
            },
        })
        .collect();
    HouseholdItem {
        household_no: h.household_no.clone(),
        village_name: snapshot
            .name(&h.village_code)
            .unwrap_or_default()
            .to_owned(),
        township_name: snapshot
            .name(&h.township_code)
            .unwrap_or_default()
            .to_owned(),
        village_code: h.village_code.clone(),
        township_code: h.township_code.clone(),
        head_name: h
            .members
            .first()
            .map(|m| mask_name(&m.name))
            .unwrap_or_default(),
        category: Category::from_code(&h.category),
        members: h.members.len(),
        income_per_capita: h.income_per_capita,
        failed,
        support: SupportItem::of(h.risk_type.as_deref(), &h.support),
        visits: Vec::new(),
    }
}

/// Why a household's position is not in its registered village, from its location
/// flags, in Chinese.
fn mismatch_reasons(snapshot: &Snapshot, row: u32) -> Vec<String> {
    let Ok(i) = snapshot
        .quality
        .flagged
        .binary_search_by_key(&row, |f| f.row)
    else {
        return Vec::new();
    };
    let name = |code: &Option<String>| {
        code.as_deref()
            .and_then(|c| snapshot.name(c))
            .unwrap_or("未知")
            .to_owned()
    };
    snapshot.quality.flagged[i]
        .flags
        .iter()
        .filter_map(|f| match f {
            LocationFlag::OutsideVillage {
                found_village,
                distance_m,
                ..
            } => Some(format!(
                "定位在{}，距登记村边界约 {:.0} 米",
                name(found_village),
                distance_m.unwrap_or(0.0)
            )),
            LocationFlag::OutsideCounty { distance_m, .. } => Some(format!(
                "定位在县域外，距最近的村约 {:.1} 公里",
                distance_m.unwrap_or(0.0) / 1000.0
            )),
            LocationFlag::Swapped { found_village, .. } => {
                Some(format!("经纬度颠倒，对调后位于{}", name(found_village)))
            }
            _ => None,
        })
        .collect()
}
