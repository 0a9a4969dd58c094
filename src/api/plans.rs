//! `/api/v1/plans`: field-visit plans for the inspection groups, and their downloads
//! (`.gpx`, `.kml`, `.geojson`, `.csv`, `.xlsx`, the printable visit sheet `.html` and
//! the list of targets not planned, `.html?list=unplanned`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiJson, ApiPath, ApiQuery, BodyLimit};
use crate::app::AppState;
use crate::domain::access::{AreaScope, Capability};
use crate::domain::plan::{Plan, Request};
use crate::planner::{self, export};
use crate::spatial::shapes::Shape;
use crate::store;

/// Largest plan request: a drawn area's vertices dominate.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::Extension(BodyLimit(MAX_BODY_BYTES)))
}

/// A stored plan, listed.
#[derive(Debug, Serialize, ToSchema)]
struct PlanItem {
    id: String,
    created: String,
    title: String,
}

/// Whether a plan lies inside the areas where the person makes plans: all its
/// townships do (a plan over a drawn area only for those holding the whole map).
fn plan_in(scope: &AreaScope, request: &Request) -> bool {
    scope.is_all()
        || (request.area.is_none()
            && !request.townships.is_empty()
            && request.townships.iter().all(|t| scope.contains(t)))
}

/// Lists the stored plans inside the signed-in person's areas, newest first.
#[utoipa::path(get, path = "/api/v1/plans", tag = "planner",
    responses((status = 200, body = Vec<PlanItem>)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PlanItem>>, ApiError> {
    caller.require(Capability::Plans)?;
    let scope = caller.scope(Capability::Plans, &state.snapshot().top_code);
    let plans = state.store.run(store::plans::list).await?;
    let mut visible = Vec::new();
    for p in plans {
        if scope.is_all() {
            visible.push(p);
            continue;
        }
        let id = p.id.clone();
        let plan = state.store.run(move |c| store::plans::plan(c, &id)).await?;
        if plan.is_some_and(|plan| plan_in(&scope, &plan.request)) {
            visible.push(p);
        }
    }
    Ok(Json(
        visible
            .into_iter()
            .map(|p| PlanItem {
                id: p.id,
                created: p.created,
                title: p.title,
            })
            .collect(),
    ))
}

/// Makes a plan: chooses the targets (households failing the chosen indicators,
/// villages with open checklist items, a stratified sample per village, must-visit
/// households), splits them over groups and days within each day's minutes, orders
/// each day's stops, and stores the plan. Every target is either in a day or in
/// `dropped` with the reason. The same request and seed give the same plan.
#[utoipa::path(post, path = "/api/v1/plans", tag = "planner", request_body = Request,
    responses(
        (status = 201, description = "The plan; Location names it", body = Plan),
        (status = 400, description = "A field is invalid, or the request chooses more targets than a plan routes; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 1 MiB", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Other plans are being routed and this one waited a minute for its turn", body = ProblemDetails, content_type = "application/problem+json")))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<Request>,
) -> Result<Response, ApiError> {
    caller.require(Capability::Plans)?;
    let snapshot = state.snapshot();
    let scope = caller.scope(Capability::Plans, &snapshot.top_code);
    if !scope.is_all() {
        if request.area.is_some() || request.townships.is_empty() {
            return Err(ApiError::invalid(
                "townships",
                format!(
                    "name the townships to plan for, among yours: {}",
                    caller.areas(Capability::Plans).join(", ")
                ),
            ));
        }
        for (i, t) in request.townships.iter().enumerate() {
            if !scope.contains(t) {
                return Err(ApiError::invalid(
                    format!("townships[{i}]"),
                    format!("{t} is not one of your townships"),
                ));
            }
        }
        let rows = crate::planner::targets::rows_of(&snapshot, &request.must_visit);
        for (i, row) in rows.iter().enumerate() {
            if row.is_some_and(|r| !scope.contains(&snapshot.locations[r].village_code)) {
                // Worded as for an unknown number: nothing is told of other areas.
                return Err(ApiError::invalid(
                    format!("must_visit[{i}]"),
                    "no household with this number in your townships",
                ));
            }
        }
    }
    if let Some(id) = &request.campaign {
        check_campaign(&state, &caller, id, &request).await?;
    }
    let area = request
        .area
        .clone()
        .map(|value| Shape::polygon("area", value).map(|s| s.outline()))
        .transpose()
        .map_err(|v| ApiError::InvalidParams(vec![v]))?;
    let validated = planner::validate(&request, area, &snapshot, &state.catalog)?;
    let Some(_turn) = state.plans.turn().await else {
        let (running, waiting) = state.plans.load();
        return Err(ApiError::Busy(format!(
            "{running} plan(s) are being routed and {waiting} more wait; try again in a minute"
        )));
    };
    // If the client goes away this future is dropped, and with it the guard, which
    // tells the routing to stop: an abandoned plan costs no more than a step.
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop::new(&cancel);
    let st = state.clone();
    // Routing takes seconds: on a blocking thread, holding a database connection
    // only while the targets are read and the plan is stored.
    let plan = tokio::task::spawn_blocking(move || {
        planner::make(
            &st.store,
            &snapshot,
            &st.catalog,
            &request,
            &validated,
            &cancel,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    guard.disarm();
    record_plan(&state, &caller, &plan, &format!("plan {} made", plan.id));
    let mut response = (StatusCode::CREATED, Json(&plan)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/plans/{}", plan.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A plan made for a campaign names one the person sees (its area or part of it) and
/// a first day, since its stops are counted against the visits by calendar day.
async fn check_campaign(
    state: &AppState,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<(), ApiError> {
    let lookup = id.to_owned();
    let campaign = state
        .store
        .run(move |c| store::ledger::campaign(c, &lookup))
        .await?
        .filter(|c| {
            caller.may(Capability::Figures, &c.area_code)
                || caller
                    .areas(Capability::Figures)
                    .iter()
                    .any(|a| a.starts_with(&c.area_code))
        });
    let Some(campaign) = campaign else {
        return Err(ApiError::invalid("campaign", format!("no campaign {id:?}")));
    };
    match &request.start_date {
        None => Err(ApiError::invalid(
            "start_date",
            "a plan made for a campaign needs its first day",
        )),
        Some(d) if *d < campaign.starts || *d > campaign.ends => Err(ApiError::invalid(
            "start_date",
            format!(
                "outside the campaign ({} to {})",
                campaign.starts, campaign.ends
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// A plan names households and where they live: each read is on record, with its
/// stops.
fn record_plan(state: &AppState, caller: &Caller, plan: &Plan, what: &str) {
    let stops = plan
        .groups
        .iter()
        .flat_map(|g| &g.days)
        .map(|d| d.stops.len())
        .sum();
    caller.record(
        &state.audit,
        "read_personal",
        Some(what.to_owned()),
        Some(stops),
    );
}

/// Sets its flag when dropped armed: the request that owns it was abandoned.
struct CancelOnDrop(Arc<AtomicBool>, bool);

impl CancelOnDrop {
    fn new(flag: &Arc<AtomicBool>) -> Self {
        Self(Arc::clone(flag), true)
    }

    /// The work finished: dropping no longer cancels it.
    fn disarm(mut self) {
        self.1 = false;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Which printable page `.html` is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum SheetList {
    /// The visit sheets (入户核查走访单), one page per group and day.
    #[default]
    Visits,
    /// The targets not planned and why (未安排的对象).
    Unplanned,
}

/// `?group=&day=&list=` of the printable pages.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SheetParams {
    /// Only this group (1-based; `.html` visit sheets only).
    group: Option<usize>,
    /// Only this day (1-based; `.html` visit sheets only).
    day: Option<usize>,
    /// `visits` (the default) or `unplanned` (`.html` only).
    list: Option<SheetList>,
}

/// A stored plan as JSON, or a download by extension: `.gpx` (waypoints and routes
/// for phone navigation apps), `.kml`, `.geojson`, `.csv` (Excel opens it), `.xlsx`
/// (visits and targets not planned on two sheets, every cell text so that numbers keep
/// their digits), `.html` (the printable visit sheet per group and day; `?group=&day=`
/// for one; `?list=unplanned` for the targets not planned and why).
#[utoipa::path(get, path = "/api/v1/plans/{file}", tag = "planner", params(
        ("file" = String, Path, description = "The plan's id, optionally with .json, .gpx, .kml, .geojson, .csv, .xlsx or .html"),
        SheetParams),
    responses(
        (status = 200, description = "The plan or its download", body = Plan),
        (status = 400, description = "Unknown extension or bad filter", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = ProblemDetails, content_type = "application/problem+json")))]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(file): ApiPath<String>,
    ApiQuery(sheet): ApiQuery<SheetParams>,
) -> Result<Response, ApiError> {
    caller.require(Capability::Plans)?;
    let (id, ext) = match file.rsplit_once('.') {
        Some((id, ext)) => (id.to_owned(), ext.to_owned()),
        None => (file.clone(), "json".to_owned()),
    };
    if !matches!(
        ext.as_str(),
        "json" | "gpx" | "kml" | "geojson" | "csv" | "xlsx" | "html"
    ) {
        return Err(ApiError::invalid(
            "file",
            format!(
                "unknown format .{ext}; expected .json, .gpx, .kml, .geojson, .csv, .xlsx or .html"
            ),
        ));
    }
    let list = sheet.list.unwrap_or_default();
    if ext != "html" && (sheet.group.is_some() || sheet.day.is_some() || sheet.list.is_some()) {
        return Err(ApiError::invalid(
            "group",
            "group, day and list choose among the printable pages (.html) only",
        ));
    }
    if list == SheetList::Unplanned && (sheet.group.is_some() || sheet.day.is_some()) {
        return Err(ApiError::invalid(
            "list",
            "the list of targets not planned is the whole plan's; group and day filter the visit sheets",
        ));
    }
    let lookup = id.clone();
    let plan = state
        .store
        .run(move |c| store::plans::plan(c, &lookup))
        .await?
        .filter(|plan| {
            let scope = caller.scope(Capability::Plans, &state.snapshot().top_code);
            plan_in(&scope, &plan.request)
        })
        .ok_or_else(|| ApiError::NotFound(format!("no plan {id:?}")))?;
    record_plan(
        &state,
        &caller,
        &plan,
        &format!("plan {} as .{ext}", plan.id),
    );
    let attachment = |name: &str| {
        HeaderValue::from_str(&format!("attachment; filename=\"{}.{name}\"", plan.id))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
    };
    let (content_type, body, disposition) = match ext.as_str() {
        "gpx" => (
            "application/gpx+xml",
            export::gpx(&plan).into_bytes(),
            Some(attachment("gpx")),
        ),
        "kml" => (
            "application/vnd.google-earth.kml+xml",
            export::kml(&plan).into_bytes(),
            Some(attachment("kml")),
        ),
        "geojson" => (
            "application/geo+json",
            export::geojson(&plan).into_bytes(),
            None,
        ),
        "csv" => (
            "text/csv; charset=utf-8",
            export::csv(&plan),
            Some(attachment("csv")),
        ),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            export::xlsx(&plan).map_err(|e| ApiError::Internal(e.into()))?,
            Some(attachment("xlsx")),
        ),
        "html" if list == SheetList::Unplanned => (
            "text/html; charset=utf-8",
            export::unplanned_html(&plan).into_bytes(),
            None,
        ),
        "html" => (
            "text/html; charset=utf-8",
            export::html(&plan, sheet.group, sheet.day).into_bytes(),
            None,
        ),
        _ => return Ok(Json(plan).into_response()),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(d) = disposition {
        headers.insert(header::CONTENT_DISPOSITION, d);
    }
    if content_type.starts_with("text/html") {
        super::access::as_document(&mut response);
    }
    Ok(response)
}
