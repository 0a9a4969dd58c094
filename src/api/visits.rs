//! `/api/v1/campaigns/{id}/visits`, `…/plan-vs-done`, `…/progress` and
//! `…/weekly-report`: the inspection groups' field visits (recorded from the phone's
//! visit sheet, with a photo), plan versus done per group and day, the week's
//! progress per township and group, and the weekly report to the leading group.
//!
//! Visits name households: reading them needs the personal-data role of their village
//! and is on record. The figures need only the figures role and count the person's
//! areas only; outside them a figure is empty, not refused.

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
use super::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, BodyLimit, FileBody, paging};
use crate::app::AppState;
use crate::domain::Violations;
use crate::domain::access::Capability;
use crate::domain::calendar::{is_date, today, utc_timestamp};
use crate::domain::ledger::{Campaign, Entry};
use crate::domain::plan::TargetKind;
use crate::domain::visit::{NewVisit, PhotoType, Visit};
use crate::ledger::progress::{self, DayRow, Inputs, Progress};
use crate::ledger::rules::ledger_updates;
use crate::planner::visits::{self as rules, Context, Recorder};
use crate::store::ledger::{self as ledger_store, EntryFilter, Updated};
use crate::store::visits::{self as visit_store, VisitFilter};

/// Largest visit body (findings and notes; the photo comes apart).
const MAX_VISIT_BYTES: usize = 64 * 1024;
/// Largest photo: a phone's camera picture, as it takes them.
pub const MAX_PHOTO_BYTES: usize = 8 << 20;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, record))
        .routes(routes!(one))
        .routes(routes!(plan_vs_done))
        .routes(routes!(week_progress))
        .routes(routes!(weekly_report))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_VISIT_BYTES))
        .layer(axum::Extension(BodyLimit(MAX_VISIT_BYTES)))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(photo, photo_put))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PHOTO_BYTES))
                .layer(axum::Extension(BodyLimit(MAX_PHOTO_BYTES))),
        )
}

async fn find_campaign(state: &AppState, id: &str) -> Result<Campaign, ApiError> {
    let lookup = id.to_owned();
    state
        .store
        .run(move |c| ledger_store::campaign(c, &lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no campaign {id:?}")))
}

/// The campaign, if the person holds `capability` somewhere in it; else 404, worded as
/// for one that does not exist.
async fn campaign_for(
    state: &AppState,
    caller: &Caller,
    capability: Capability,
    id: &str,
) -> Result<Campaign, ApiError> {
    caller.require(capability)?;
    let campaign = find_campaign(state, id).await?;
    let seen = caller.may(capability, &campaign.area_code)
        || caller
            .areas(capability)
            .iter()
            .any(|a| a.starts_with(&campaign.area_code));
    if seen {
        Ok(campaign)
    } else {
        Err(ApiError::NotFound(format!("no campaign {id:?}")))
    }
}

/// The areas a list or a figure of `campaign` covers for the person: `within` (or the
/// campaign's area) when they hold it whole, else their areas inside it (none: an
/// empty answer).
fn areas_in(
    caller: &Caller,
    capability: Capability,
    campaign: &Campaign,
    within: Option<&str>,
) -> Result<(String, Vec<String>), ApiError> {
    let asked = within
        .filter(|w| !w.is_empty())
        .unwrap_or(&campaign.area_code);
    if !asked.starts_with(&campaign.area_code) {
        return Err(ApiError::invalid(
            "within",
            format!(
                "{asked} is not inside the campaign's area {}",
                campaign.area_code
            ),
        ));
    }
    if caller.may(capability, asked) {
        return Ok((asked.to_owned(), vec![asked.to_owned()]));
    }
    let inside = caller
        .areas(capability)
        .into_iter()
        .filter(|a| a.starts_with(asked))
        .collect();
    Ok((asked.to_owned(), inside))
}

/// Records a visit: to a stop of the group's plan, or unplanned (no `stop`, the
/// target named). A checklist finding opens the village's ledger entry (有问题) or adds
/// to its notes, with history naming the visit, in the same transaction.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/visits", tag = "visits",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = NewVisit,
    responses(
        (status = 201, description = "The visit as stored; Location names it", body = Visit),
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A ledger entry kept changing while the visit was stored; nothing was written", body = ProblemDetails, content_type = "application/problem+json")))]
async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(new): ApiJson<NewVisit>,
) -> Result<Response, ApiError> {
    let campaign = campaign_for(&state, &caller, Capability::Visits, &id).await?;
    let plan_id = new.plan_id.clone();
    let plan = state
        .store
        .run(move |c| crate::store::plans::plan(c, &plan_id))
        .await?
        .filter(|p| p.request.campaign.as_deref() == Some(campaign.id.as_str()));
    let store = state.store.clone();
    let template_id = campaign.template_id.clone();
    let template = tokio::task::spawn_blocking(move || crate::ledger::templates(&*store.conn()?))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??
        .into_iter()
        .find(|t| t.id == template_id)
        .ok_or_else(|| ApiError::NotFound(format!("no checklist of campaign {id:?}")))?;
    let snapshot = state.snapshot();
    let (now, day) = (utc_timestamp(), today());
    let recorder = Recorder {
        name: &caller.principal.display,
        at: &now,
        today: &day,
    };
    let cx = Context {
        campaign: &campaign,
        template: &template,
        plan: plan.as_ref(),
        snapshot: &snapshot,
        catalog: &state.catalog,
    };
    let mut visit = rules::check(&new, cx, &recorder, |v| {
        v.starts_with(&campaign.area_code) && caller.may(Capability::Visits, v)
    })?;
    let stored = store_visit(&state, &mut visit).await?;
    if stored > 0 {
        state.ledger_changed();
    }
    caller.record(
        &state.audit,
        "write",
        Some(format!(
            "visit {} recorded in campaign {} ({}, {} findings, {} ledger entries changed)",
            visit.id,
            campaign.id,
            visit.outcome.code(),
            visit.findings.len(),
            stored
        )),
        None,
    );
    let mut response = (StatusCode::CREATED, Json(&visit)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/api/v1/campaigns/{}/visits/{}",
        campaign.id, visit.id
    )) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Stores a visit with its ledger updates, reading the village's entries again when
/// one changed meanwhile (someone edited the ledger between the read and the write);
/// returns how many entries it changed.
async fn store_visit(state: &AppState, visit: &mut Visit) -> Result<usize, ApiError> {
    for _ in 0..3 {
        let (campaign, village) = (visit.campaign_id.clone(), visit.village_code.clone());
        let (_, entries) = state
            .store
            .run(move |c| {
                let filter = EntryFilter {
                    within: Some(village),
                    ..EntryFilter::default()
                };
                ledger_store::entries(c, &campaign, &filter, 10_000, 0)
            })
            .await?;
        let (updates, opened) = ledger_updates(visit, &entries)?;
        visit.ledger_opened = opened;
        let changed = updates.len();
        let row = visit.clone();
        match state
            .store
            .run(move |c| visit_store::insert(c, &row, &updates))
            .await?
        {
            Updated::Done(_) | Updated::Missing => return Ok(changed),
            Updated::Stale(_) => {}
        }
    }
    Err(ApiError::Conflict(
        "the village's ledger kept changing while the visit was stored; nothing was written, send it again".into(),
    ))
}

/// `GET …/visits` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this day, `YYYY-MM-DD`.
    day: Option<String>,
    /// Only this group (its name, e.g. 第1组（新宾镇）).
    group: Option<String>,
    /// Only inside this area (township or village code; default the campaign's).
    within: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<usize>,
    /// Rows skipped.
    offset: Option<usize>,
}

/// A page of visits.
#[derive(Debug, Serialize, ToSchema)]
struct VisitPage {
    /// The area asked (the campaign's when none was).
    within: String,
    /// How many match.
    total: i64,
    limit: usize,
    offset: usize,
    /// Newest day first.
    items: Vec<Visit>,
}

/// The campaign's visits in the person's areas, newest first: by day, group and area.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/visits", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), ListParams),
    responses(
        (status = 200, description = "The visits (none outside the person's areas)", body = VisitPage),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<VisitPage>, ApiError> {
    let campaign = campaign_for(&state, &caller, Capability::Personal, &id).await?;
    let mut errors = Violations::new();
    let (limit, offset) = paging(p.limit, p.offset, &mut errors);
    if let Some(d) = &p.day
        && !is_date(d)
    {
        errors.add("day", format!("{d:?} is not a date YYYY-MM-DD"));
    }
    errors.into_result(())?;
    let (within, areas) = areas_in(
        &caller,
        Capability::Personal,
        &campaign,
        p.within.as_deref(),
    )?;
    let filter = VisitFilter {
        areas: Some(areas),
        date: p.day,
        group_name: p.group,
        ..VisitFilter::default()
    };
    let (total, items) = state
        .store
        .run(move |c| visit_store::list(c, Some(&id), &filter, limit, offset))
        .await?;
    caller.record_personal(
        &state.audit,
        items
            .iter()
            .filter(|v| v.target_kind == TargetKind::Household)
            .map(|v| v.target_id.as_str()),
    );
    Ok(Json(VisitPage {
        within,
        total,
        limit,
        offset,
        items,
    }))
}

/// A visit of the person's areas, or 404.
async fn visit_in(
    state: &AppState,
    caller: &Caller,
    id: &str,
    visit: &str,
) -> Result<Visit, ApiError> {
    let campaign = campaign_for(state, caller, Capability::Personal, id).await?;
    let (c2, v2) = (campaign.id.clone(), visit.to_owned());
    state
        .store
        .run(move |c| visit_store::visit(c, &c2, &v2))
        .await?
        .filter(|v| caller.may(Capability::Personal, &v.village_code))
        .ok_or_else(|| ApiError::NotFound(format!("no visit {visit:?} in campaign {id:?}")))
}

/// One visit with its findings and position.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/visits/{visit}", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), ("visit" = String, Path, description = "Visit id")),
    responses(
        (status = 200, description = "The visit", body = Visit),
        (status = 404, description = "No such campaign or visit", body = ProblemDetails, content_type = "application/problem+json")))]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, visit)): ApiPath<(String, String)>,
) -> Result<Json<Visit>, ApiError> {
    let v = visit_in(&state, &caller, &id, &visit).await?;
    if v.target_kind == TargetKind::Household {
        caller.record_personal(&state.audit, [v.target_id.as_str()]);
    }
    Ok(Json(v))
}

/// A visit's photo (JPEG or PNG).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/visits/{visit}/photo", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), ("visit" = String, Path, description = "Visit id")),
    responses(
        (status = 200, description = "The photo", content(
            (FileBody = "image/jpeg"),
            (FileBody = "image/png"))),
        (status = 404, description = "No such campaign, visit or photo", body = ProblemDetails, content_type = "application/problem+json")))]
async fn photo(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, visit)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let v = visit_in(&state, &caller, &id, &visit).await?;
    let vid = v.id.clone();
    let (content_type, bytes) = state
        .store
        .run(move |c| visit_store::photo(c, &vid))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("visit {visit:?} has no photo")))?;
    caller.record(
        &state.audit,
        "read_personal",
        Some(format!("photo of visit {} ({})", v.id, v.target_id)),
        Some(1),
    );
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// What a photo upload stored.
#[derive(Debug, Serialize, ToSchema)]
struct PhotoAnswer {
    /// `image/jpeg` or `image/png`, as told by the file's first bytes.
    content_type: &'static str,
    /// Its size.
    bytes: usize,
}

/// Attaches a photo to a visit (the body: JPEG or PNG, at most 8 MiB), replacing any
/// earlier one. The type is told by the file's first bytes, not by what is declared.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}/visits/{visit}/photo", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), ("visit" = String, Path, description = "Visit id")),
    request_body(content(
        (FileBody = "application/octet-stream"),
        (FileBody = "image/jpeg"),
        (FileBody = "image/png"))),
    responses(
        (status = 200, description = "Stored", body = PhotoAnswer),
        (status = 400, description = "Not a JPEG or PNG image", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or visit", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The photo is over 8 MiB", body = ProblemDetails, content_type = "application/problem+json")))]
async fn photo_put(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, visit)): ApiPath<(String, String)>,
    ApiBytes(bytes): ApiBytes,
) -> Result<Json<PhotoAnswer>, ApiError> {
    caller.require(Capability::Visits)?;
    let v = visit_in(&state, &caller, &id, &visit).await?;
    if !caller.may(Capability::Visits, &v.village_code) {
        return Err(ApiError::Forbidden(format!(
            "your roles do not allow recording visits in village {}",
            v.village_code
        )));
    }
    let kind = PhotoType::sniff(&bytes).ok_or_else(|| {
        ApiError::invalid("body", "not a JPEG or PNG image (told by its first bytes)")
    })?;
    let (vid, by, at, size) = (
        v.id.clone(),
        caller.principal.display.clone(),
        utc_timestamp(),
        bytes.len(),
    );
    state
        .store
        .run(move |c| visit_store::put_photo(c, &vid, kind.media_type(), &bytes, &by, &at))
        .await?;
    caller.record(
        &state.audit,
        "write",
        Some(format!("photo of visit {} ({size} bytes)", v.id)),
        None,
    );
    Ok(Json(PhotoAnswer {
        content_type: kind.media_type(),
        bytes: size,
    }))
}

/// Everything the figures of a campaign are counted from.
struct Loaded {
    plans: Vec<crate::domain::plan::Plan>,
    visits: Vec<Visit>,
    changes: Vec<visit_store::StatusChange>,
    entries: Vec<Entry>,
}

async fn load(state: &AppState, campaign: &Campaign, areas: &[String]) -> Result<Loaded, ApiError> {
    let id = campaign.id.clone();
    let filter = VisitFilter {
        areas: Some(areas.to_vec()),
        ..VisitFilter::default()
    };
    Ok(state
        .store
        .run(move |c| {
            Ok(Loaded {
                plans: crate::store::plans::for_campaign(c, &id)?,
                visits: visit_store::list(c, Some(&id), &filter, usize::MAX >> 2, 0)?.1,
                changes: visit_store::status_changes(c, &id)?,
                entries: ledger_store::entries(
                    c,
                    &id,
                    &EntryFilter::default(),
                    usize::MAX >> 2,
                    0,
                )?
                .1,
            })
        })
        .await?)
}

/// `GET …/plan-vs-done` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PlanVsDoneParams {
    /// Only this day, `YYYY-MM-DD`.
    day: Option<String>,
    /// Only this group (its name).
    group: Option<String>,
    /// Only inside this area (default the campaign's).
    within: Option<String>,
}

/// Plan versus done.
#[derive(Debug, Serialize, ToSchema)]
struct PlanVsDone {
    campaign_id: String,
    /// The area asked.
    within: String,
    /// Per day and group.
    rows: Vec<DayRow>,
}

/// Plan versus done per group and day: stops planned, visited, not found, refused,
/// still pending, unplanned visits and findings. Counts the person's areas only.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/plan-vs-done", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), PlanVsDoneParams),
    responses(
        (status = 200, description = "Per group and day", body = PlanVsDone),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn plan_vs_done(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<PlanVsDoneParams>,
) -> Result<Json<PlanVsDone>, ApiError> {
    let campaign = campaign_for(&state, &caller, Capability::Figures, &id).await?;
    if let Some(d) = &p.day
        && !is_date(d)
    {
        return Err(ApiError::invalid(
            "day",
            format!("{d:?} is not a date YYYY-MM-DD"),
        ));
    }
    let (within, areas) = areas_in(&caller, Capability::Figures, &campaign, p.within.as_deref())?;
    let data = load(&state, &campaign, &areas).await?;
    let in_scope = |v: &str| areas.iter().any(|a| v.starts_with(a.as_str()));
    let input = inputs(&campaign, &data, &in_scope);
    Ok(Json(PlanVsDone {
        campaign_id: campaign.id.clone(),
        within,
        rows: progress::plan_vs_done(&input, p.day.as_deref(), p.group.as_deref()),
    }))
}

fn inputs<'a>(
    campaign: &'a Campaign,
    data: &'a Loaded,
    in_scope: &'a dyn Fn(&str) -> bool,
) -> Inputs<'a> {
    Inputs {
        campaign,
        plans: &data.plans,
        visits: &data.visits,
        changes: &data.changes,
        entries: &data.entries,
        in_scope,
    }
}

/// `GET …/progress` and `…/weekly-report` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct WeekParams {
    /// The ISO week, `YYYY-Www` (default: this week while the campaign runs; after its
    /// end, the week of the last visit, or its last week; before its start, its first).
    week: Option<String>,
    /// Only inside this area (default the campaign's).
    within: Option<String>,
    /// `xlsx` (default) or `html` (the weekly report only).
    format: Option<String>,
}

/// The week's progress with the area asked and its name.
#[derive(Debug, Serialize, ToSchema)]
struct WeekProgress {
    /// The area asked.
    within: String,
    /// Its name.
    area_name: String,
    #[serde(flatten)]
    progress: Progress,
}

/// The week asked, or the one holding today (kept inside the campaign).
/// The week asked (`None` if it is not an ISO week), or by default
/// [`progress::default_week`] of the visits in the person's areas.
fn week_of(campaign: &Campaign, asked: Option<&str>, visits: &[Visit]) -> Option<String> {
    match asked {
        Some(w) => crate::domain::calendar::week_days(w).map(|_| w.to_owned()),
        None => progress::default_week(campaign, visits, &today()),
    }
}

/// The week's progress of an area, computed for the person's areas in it.
async fn compute(
    state: &AppState,
    caller: &Caller,
    id: &str,
    p: &WeekParams,
) -> Result<(Campaign, WeekProgress), ApiError> {
    let campaign = campaign_for(state, caller, Capability::Figures, id).await?;
    let bad_week = || ApiError::invalid("week", "an ISO week YYYY-Www, e.g. 2019-W28");
    if week_of(&campaign, p.week.as_deref(), &[]).is_none() {
        return Err(bad_week());
    }
    let (within, areas) = areas_in(caller, Capability::Figures, &campaign, p.within.as_deref())?;
    let data = load(state, &campaign, &areas).await?;
    let week = week_of(&campaign, p.week.as_deref(), &data.visits).ok_or_else(bad_week)?;
    let in_scope = |v: &str| areas.iter().any(|a| v.starts_with(a.as_str()));
    let snapshot = state.snapshot();
    let area_name = snapshot.name(&within).unwrap_or(&within).to_owned();
    // A person holding only villages sees their villages as rows: a township's row
    // would count what lies outside their areas.
    let unit = |v: &str| {
        if areas
            .iter()
            .any(|a| a.len() >= 12 && v.starts_with(a.as_str()))
        {
            v.to_owned()
        } else {
            v.get(..9).unwrap_or(v).to_owned()
        }
    };
    let names = |code: &str| snapshot.name(code).map(str::to_owned);
    let progress = progress::progress(
        &inputs(&campaign, &data, &in_scope),
        &week,
        &area_name,
        &unit,
        &names,
    )
    .ok_or_else(|| ApiError::invalid("week", "an ISO week YYYY-Www"))?;
    Ok((
        campaign,
        WeekProgress {
            within,
            area_name,
            progress,
        },
    ))
}

/// The week's progress per township and group: visits, findings, ledger entries
/// opened, rectified and closed, overdue, the cumulative figures and the share of
/// planned stops visited; and every week's figures for a line chart.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/progress", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), WeekParams),
    responses(
        (status = 200, description = "The week's progress", body = WeekProgress),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn week_progress(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> Result<Json<WeekProgress>, ApiError> {
    if p.format.is_some() {
        return Err(ApiError::invalid(
            "format",
            "the progress is JSON; format chooses the weekly report's file",
        ));
    }
    Ok(Json(compute(&state, &caller, &id, &p).await?.1))
}

/// The weekly report to the leading group: per township and group each figure
/// cumulative with the week's change beside it, and the signature block
/// (党政分管负责同志签字, 填报单位, 填报时间). XLSX, or a printable page.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/weekly-report", tag = "visits",
    params(("id" = String, Path, description = "Campaign id"), WeekParams),
    responses(
        (status = 200, description = "The report (XLSX or HTML)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn weekly_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<WeekParams>,
) -> Result<Response, ApiError> {
    use crate::ledger::weekly;
    let html = match p.format.as_deref() {
        None | Some("" | "xlsx") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format {other:?}; expected xlsx or html"),
            ));
        }
    };
    let (campaign, wp) = compute(&state, &caller, &id, &p).await?;
    let header = weekly::Header {
        unit: wp.area_name.clone(),
        date: today(),
    };
    caller.record(
        &state.audit,
        "export",
        Some(format!(
            "campaign {} weekly report {} of {} ({})",
            campaign.id,
            wp.progress.week,
            wp.within,
            if html { "html" } else { "xlsx" }
        )),
        None,
    );
    if html {
        let mut response = weekly::html(&campaign, &wp.progress, &header).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        super::access::as_document(&mut response);
        return Ok(response);
    }
    let bytes =
        weekly::xlsx(&campaign, &wp.progress, &header).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(super::indicators::download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!(
            "{}_{}_{}周报.xlsx",
            campaign.name, wp.area_name, wp.progress.week
        ),
    ))
}
