//! `/api/v1/checklists` and `/api/v1/campaigns`: the checklist templates, campaigns,
//! their ledger entries (list, read with history, update with the version it was
//! based on: a stale update is a 409 that changes nothing) and the village × item
//! matrix of a township.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, BodyLimit, FileBody};
use crate::app::AppState;
use crate::domain::FieldViolation;
use crate::domain::access::Capability;
use crate::domain::calendar::{is_date, today, utc_timestamp};
use crate::domain::ledger::{Campaign, ChecklistItem, Entry, Status, Template};
use crate::ledger::rules::{
    self, EntryPatch, NewCampaign, NewTemplate, TemplateCopy, TemplateEdit,
};
use crate::model::Snapshot;
use crate::store::ledger::{self as ledger_store, Change, EntryFilter, Updated};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checklists, checklist_add))
        .routes(routes!(checklist_one, checklist_edit))
        .routes(routes!(checklist_copy))
        .routes(routes!(campaigns, campaign_create))
        .routes(routes!(campaign_one))
        .routes(routes!(entries))
        .routes(routes!(entry_one, entry_update))
        .routes(routes!(matrix))
        .routes(routes!(report))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(axum::Extension(BodyLimit(64 * 1024)))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(import))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
                .layer(axum::Extension(BodyLimit(MAX_IMPORT_BYTES))),
        )
}

/// Largest XLSX a village's ledger import may be.
pub const MAX_IMPORT_BYTES: usize = 5 << 20;

/// Every template: the built-in ones, then those users added.
async fn templates(state: &AppState) -> Result<Vec<Template>, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || crate::ledger::templates(&*store.conn()?))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::from)
}

async fn template(state: &AppState, id: &str) -> Result<Template, ApiError> {
    templates(state)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no checklist template {id:?}")))
}

/// A category of a template and its number of items.
#[derive(Debug, Serialize, ToSchema)]
struct CategoryCount {
    name: String,
    items: usize,
}

/// A template without its items.
#[derive(Debug, Serialize, ToSchema)]
struct TemplateSummary {
    id: String,
    name: String,
    region: String,
    year: i32,
    source: String,
    /// What the document says the list has.
    expected_items: usize,
    /// What the source text holds (gaps are noted on the items).
    items: usize,
    categories: Vec<CategoryCount>,
    /// False for the built-in templates transcribed from the seed documents: copy one
    /// (`POST /api/v1/checklists/{id}/copy`) to change its responsible units.
    editable: bool,
}

/// The checklist templates (seed 003's Xuchang list, seed 002's Lianyungang list).
#[utoipa::path(get, path = "/api/v1/checklists", tag = "ledger",
    responses((status = 200, description = "The templates", body = Vec<TemplateSummary>)))]
async fn checklists(State(state): State<AppState>) -> Result<Json<Vec<TemplateSummary>>, ApiError> {
    let builtin = builtin_ids()?;
    Ok(Json(
        templates(&state)
            .await?
            .into_iter()
            .map(|t| TemplateSummary {
                categories: t
                    .categories()
                    .into_iter()
                    .map(|(name, items)| CategoryCount { name, items })
                    .collect(),
                items: t.items.len(),
                editable: !builtin.contains(&t.id),
                id: t.id,
                name: t.name,
                region: t.region,
                year: t.year,
                source: t.source,
                expected_items: t.expected_items,
            })
            .collect(),
    ))
}

/// One template with every item: category, the source's own number (never
/// renumbered), heading, text, responsible unit and notes on gaps in the source.
#[utoipa::path(get, path = "/api/v1/checklists/{id}", tag = "ledger",
    params(("id" = String, Path, description = "Template id, e.g. xuchang-2022")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "The template", body = Object),
        (status = 404, description = "No such template", body = ProblemDetails, content_type = "application/problem+json")))]
async fn checklist_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Template>, ApiError> {
    Ok(Json(template(&state, &id).await?))
}

/// Stores a template users added or copied; an id taken meanwhile is a 409.
async fn save_new_template(state: &AppState, template: Template) -> Result<(), ApiError> {
    state
        .store
        .run(move |c| ledger_store::save_template(c, &template))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => ApiError::Conflict(m),
            other => other.into(),
        })
}

/// The ids of the built-in templates, which users copy but do not change.
fn builtin_ids() -> Result<Vec<String>, ApiError> {
    Ok(crate::ledger::checklist::builtin()
        .map_err(|e| ApiError::Internal(e.into()))?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

/// Copies a template under a new id, e.g. seed 002's list for a county whose offices
/// are 各乡镇 and 县财政局 rather than 各街道 and 区财政局; the copy's units can then be
/// edited. Items, their text and order are the source's.
#[utoipa::path(post, path = "/api/v1/checklists/{id}/copy", tag = "ledger",
    params(("id" = String, Path, description = "The template to copy")),
    request_body = TemplateCopy,
    responses(
        (status = 200, description = "The copy as stored", body = Object),
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such template", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A template with the copy's id exists", body = ProblemDetails, content_type = "application/problem+json")))]
async fn checklist_copy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(c): ApiJson<TemplateCopy>,
) -> Result<Json<Template>, ApiError> {
    caller.require(Capability::Campaigns)?;
    let all = templates(&state).await?;
    let source = all
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no checklist template {id:?}")))?;
    let copy = rules::copy_template(source, &c)?;
    if all.iter().any(|t| t.id == copy.id) {
        return Err(ApiError::Conflict(format!(
            "a template with id {:?} exists",
            copy.id
        )));
    }
    save_new_template(&state, copy.clone()).await?;
    caller.record(
        &state.audit,
        "write",
        Some(format!("checklist {} copied from {id}", copy.id)),
        None,
    );
    Ok(Json(copy))
}

/// Changes a user template's name, region or items' responsible units (责任单位).
/// Campaigns on the template show the new units in their ledgers and reports.
/// Built-in templates are the documents' own words: copy one first.
#[utoipa::path(patch, path = "/api/v1/checklists/{id}", tag = "ledger",
    params(("id" = String, Path, description = "A template users added or copied")),
    request_body = TemplateEdit,
    responses(
        (status = 200, description = "The template as stored", body = Object),
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such template", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A built-in template, which cannot change", body = ProblemDetails, content_type = "application/problem+json")))]
async fn checklist_edit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(e): ApiJson<TemplateEdit>,
) -> Result<Json<Template>, ApiError> {
    caller.require(Capability::Campaigns)?;
    let current = template(&state, &id).await?;
    if builtin_ids()?.contains(&id) {
        return Err(ApiError::Conflict(format!(
            "{id:?} is a built-in template (the document's own list) and does not change; \
             copy it (POST /api/v1/checklists/{id}/copy) and edit the copy"
        )));
    }
    let edited = rules::edit_template(&current, &e)?;
    let stored = edited.clone();
    state
        .store
        .run(move |c| ledger_store::replace_template(c, &stored))
        .await?;
    state.ledger_changed();
    caller.record(
        &state.audit,
        "write",
        Some(format!(
            "checklist {id}: before {} after {}",
            serde_json::to_string(&current).unwrap_or_default(),
            serde_json::to_string(&edited).unwrap_or_default()
        )),
        None,
    );
    Ok(Json(edited))
}

/// A campaign with its progress.
#[derive(Debug, Serialize, ToSchema)]
struct CampaignView {
    #[serde(flatten)]
    campaign: Campaign,
    area_name: String,
    template_name: String,
    /// The day overdue is judged on: today, or the campaign's end if earlier.
    as_of: String,
    /// Entries per status code.
    statuses: BTreeMap<&'static str, i64>,
    /// Problems not rectified past their deadline.
    overdue: i64,
}

/// The day overdue is judged on by default: today, or the campaign's last day.
fn default_as_of(c: &Campaign) -> String {
    let now = today();
    if c.ends < now { c.ends.clone() } else { now }
}

/// The parts of a campaign a person sees: `None` the whole of it, else their areas
/// inside it; a campaign wholly outside their areas is not found.
fn campaign_scope(caller: &Caller, campaign: &Campaign) -> Result<Option<Vec<String>>, ApiError> {
    caller.require(Capability::Figures)?;
    if caller.may(Capability::Figures, &campaign.area_code) {
        return Ok(None);
    }
    let inside: Vec<String> = caller
        .areas(Capability::Figures)
        .into_iter()
        .filter(|a| a.starts_with(&campaign.area_code))
        .collect();
    if inside.is_empty() {
        Err(ApiError::NotFound(format!("no campaign {:?}", campaign.id)))
    } else {
        Ok(Some(inside))
    }
}

/// The area a list or report of `campaign` covers: `within` as asked, or, for a person
/// who sees only part of the campaign, the area asked (or the campaign's) narrowed to
/// theirs ([`Caller::scoped_area`]).
fn campaign_within(
    caller: &Caller,
    campaign: &Campaign,
    within: Option<String>,
) -> Result<Option<String>, ApiError> {
    if campaign_scope(caller, campaign)?.is_none() {
        return Ok(within);
    }
    caller
        .scoped_area(Capability::Figures, within.as_deref(), &campaign.area_code)
        .map(Some)
}

/// A campaign with its counts: of the whole campaign, or summed over `parts`.
async fn view(
    state: &AppState,
    campaign: Campaign,
    parts: Option<Vec<String>>,
) -> Result<CampaignView, ApiError> {
    let snapshot = state.snapshot();
    let as_of = default_as_of(&campaign);
    let id = campaign.id.clone();
    let day = as_of.clone();
    let (counts, overdue) = state
        .store
        .run(move |c| {
            let parts: Vec<Option<String>> =
                parts.map_or_else(|| vec![None], |p| p.into_iter().map(Some).collect());
            let mut counts: BTreeMap<Status, i64> = BTreeMap::new();
            let mut overdue = 0;
            for part in parts {
                for (s, n) in ledger_store::status_counts(c, &id, part.as_deref())? {
                    *counts.entry(s).or_default() += n;
                }
                let filter = EntryFilter {
                    within: part,
                    overdue_on: Some(day.clone()),
                    ..EntryFilter::default()
                };
                overdue += ledger_store::entries(c, &id, &filter, 0, 0)?.0;
            }
            Ok((counts, overdue))
        })
        .await?;
    Ok(CampaignView {
        area_name: snapshot
            .name(&campaign.area_code)
            .unwrap_or_default()
            .to_owned(),
        template_name: template(state, &campaign.template_id)
            .await
            .map(|t| t.name)
            .unwrap_or_default(),
        as_of,
        statuses: counts.into_iter().map(|(s, n)| (s.code(), n)).collect(),
        overdue,
        campaign,
    })
}

/// The campaigns over the signed-in person's areas, with entries per status and
/// overdue problems (counted in their areas only).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "ledger",
    responses((status = 200, description = "The campaigns", body = Vec<CampaignView>)))]
async fn campaigns(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    caller.require(Capability::Figures)?;
    let all = state.store.run(ledger_store::campaigns).await?;
    let mut out = Vec::with_capacity(all.len());
    for c in all {
        if let Ok(parts) = campaign_scope(&caller, &c) {
            out.push(view(&state, c, parts).await?);
        }
    }
    Ok(Json(out))
}

/// Creates a campaign: one ledger entry per village of the area and item of the
/// template, all 未排查, version 1.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "ledger", request_body = NewCampaign,
    responses(
        (status = 200, description = "The campaign created", body = CampaignView),
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A campaign with this id exists", body = ProblemDetails, content_type = "application/problem+json")))]
async fn campaign_create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut n): ApiJson<NewCampaign>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Capability::Campaigns)?;
    if !caller.may(Capability::Campaigns, &n.area_code) {
        return Err(ApiError::Forbidden(format!(
            "you may create campaigns only over your areas ({})",
            caller.areas(Capability::Campaigns).join(", ")
        )));
    }
    // The signed-in person creates it, whatever the body says.
    n.by.clone_from(&caller.principal.display);
    let snapshot = state.snapshot();
    let level = snapshot.names.get(&n.area_code).map(|(_, l)| *l);
    let (campaign, template) = rules::new_campaign(&n, level, templates(&state).await?)?;
    let mut villages: Vec<&str> = snapshot
        .names
        .iter()
        .filter(|(c, (_, l))| c.starts_with(&campaign.area_code) && l.is_village_like())
        .map(|(c, _)| c.as_str())
        .collect();
    villages.sort_unstable();
    let entries = rules::campaign_entries(
        &campaign,
        &template,
        &villages,
        n.by.trim(),
        &utc_timestamp(),
    )
    .map_err(|v| ApiError::InvalidParams(vec![v]))?;
    let stored = campaign.clone();
    state
        .store
        .run(move |c| ledger_store::create_campaign(c, &stored, &entries))
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => ApiError::Conflict(m),
            other => other.into(),
        })?;
    caller.record(
        &state.audit,
        "write",
        Some(format!(
            "campaign {} created over {}",
            campaign.id, campaign.area_code
        )),
        None,
    );
    Ok(Json(view(&state, campaign, None).await?))
}

async fn find_campaign(state: &AppState, id: &str) -> Result<Campaign, ApiError> {
    let lookup = id.to_owned();
    state
        .store
        .run(move |c| ledger_store::campaign(c, &lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no campaign {id:?}")))
}

/// One campaign with its progress.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn campaign_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let c = find_campaign(&state, &id).await?;
    let parts = campaign_scope(&caller, &c)?;
    Ok(Json(view(&state, c, parts).await?))
}

/// An entry with its village and item, as shown to users.
#[derive(Debug, Serialize, ToSchema)]
struct EntryView {
    #[serde(flatten)]
    entry: Entry,
    village_name: String,
    /// The status in Chinese.
    status_name: &'static str,
    /// Past its deadline and not rectified, on `as_of`.
    overdue: bool,
    #[schema(value_type = Object)]
    item: Option<ChecklistItem>,
}

fn entry_view(snapshot: &Snapshot, template: &Template, entry: Entry, as_of: &str) -> EntryView {
    EntryView {
        village_name: snapshot
            .name(&entry.village_code)
            .unwrap_or_default()
            .to_owned(),
        status_name: entry.status.label_zh(),
        overdue: entry.is_overdue(as_of),
        item: template
            .items
            .iter()
            .find(|i| i.position == entry.position)
            .cloned(),
        entry,
    }
}

/// `GET …/entries` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EntryParams {
    /// Only villages inside this township or village code.
    within: Option<String>,
    /// Status codes or Chinese labels, comma-separated.
    status: Option<String>,
    /// Only items of this category (as the template names it, e.g. 三保障).
    category: Option<String>,
    /// `true`: only problems not rectified past their deadline.
    overdue: Option<bool>,
    /// The day overdue is judged on (default: today, or the campaign's end).
    as_of: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<usize>,
    /// Entries to skip.
    offset: Option<usize>,
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
struct EntryPage {
    total: i64,
    limit: usize,
    offset: usize,
    as_of: String,
    items: Vec<EntryView>,
}

/// A campaign's ledger entries, filtered by area, status, category and overdue.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/entries", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), EntryParams),
    responses(
        (status = 200, description = "A page of entries", body = EntryPage),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(mut p): ApiQuery<EntryParams>,
) -> Result<Json<EntryPage>, ApiError> {
    let campaign = find_campaign(&state, &id).await?;
    p.within = campaign_within(&caller, &campaign, p.within.take())?;
    let template = template(&state, &campaign.template_id).await?;
    let mut errors = Vec::new();
    let mut statuses = Vec::new();
    for s in p
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match Status::parse(s) {
            Some(st) => statuses.push(st),
            None => errors.push(FieldViolation::new("status", format!("unknown status {s:?}; expected one of not_checked, no_problem, problem, rectifying, rectified, closed (or 未排查 … 已销号)"))),
        }
    }
    let positions = match p.category.as_deref() {
        None | Some("") => None,
        Some(c) => {
            let positions: Vec<u32> = template
                .items
                .iter()
                .filter(|i| i.category == c)
                .map(|i| i.position)
                .collect();
            if positions.is_empty() {
                let names: Vec<String> =
                    template.categories().into_iter().map(|(n, _)| n).collect();
                errors.push(FieldViolation::new(
                    "category",
                    format!(
                        "no category {c:?} in {}; expected one of {}",
                        template.id,
                        names.join(", ")
                    ),
                ));
            }
            Some(positions)
        }
    };
    let as_of = p.as_of.clone().unwrap_or_else(|| default_as_of(&campaign));
    if !is_date(&as_of) {
        errors.push(FieldViolation::new(
            "as_of",
            format!("{as_of:?} is not a date YYYY-MM-DD"),
        ));
    }
    if let Some(w) = &p.within
        && let Err(reason) = super::areas::check_code(w)
    {
        errors.push(FieldViolation::new("within", reason));
    }
    let mut paged = crate::domain::Violations::new();
    let (limit, offset) = super::extract::paging(p.limit, p.offset, &mut paged);
    errors.extend(paged.into_vec());
    if !errors.is_empty() {
        return Err(ApiError::InvalidParams(errors));
    }
    let filter = EntryFilter {
        within: p.within.clone(),
        statuses,
        positions,
        overdue_on: p.overdue.unwrap_or(false).then(|| as_of.clone()),
    };
    let (total, found) = state
        .store
        .run(move |c| ledger_store::entries(c, &id, &filter, limit, offset))
        .await?;
    let snapshot = state.snapshot();
    Ok(Json(EntryPage {
        total,
        limit,
        offset,
        items: found
            .into_iter()
            .map(|e| entry_view(&snapshot, &template, e, &as_of))
            .collect(),
        as_of,
    }))
}

/// The 404 of an entry outside the person's areas, worded as for a missing one.
fn no_entry((id, village, position): &EntryKey) -> String {
    format!("no entry for village {village} item {position} in campaign {id:?}")
}

/// Checks that the signed-in person may make this change to an entry of this
/// village, and makes it theirs: the history records them whatever `by` says, and a
/// signature is signed in their name. Editing the entry's fields needs the ledger
/// role of the village; the secretary's and first secretary's signatures the
/// village's role; the group leader's an inspection group's.
fn may_change(caller: &Caller, key: &EntryKey, patch: &mut EntryPatch) -> Result<(), ApiError> {
    let village = &key.1;
    caller.require_in(Capability::Figures, village, &no_entry(key))?;
    let fields = patch.status.is_some()
        || patch.problem.is_some()
        || patch.measure.is_some()
        || patch.deadline.is_some()
        || patch.responsible.is_some()
        || patch.result.is_some()
        || patch.notes.is_some();
    let mut needs = Vec::new();
    if fields {
        needs.push(Capability::EditLedger);
    }
    if patch.secretary.is_some() || patch.first_secretary.is_some() {
        needs.push(Capability::SignVillage);
    }
    if patch.group_leader.is_some() {
        needs.push(Capability::SignGroup);
    }
    if needs.is_empty() {
        needs.push(Capability::EditLedger);
    }
    for need in needs {
        if !caller.may(need, village) {
            caller.require(need)?;
            return Err(ApiError::Forbidden(format!(
                "your roles do not allow this change in village {village}"
            )));
        }
    }
    let me = &caller.principal.display;
    patch.by.clone_from(me);
    for signoff in [
        &mut patch.secretary,
        &mut patch.first_secretary,
        &mut patch.group_leader,
    ]
    .into_iter()
    .flatten()
    .flatten()
    {
        signoff.who.clone_from(me);
    }
    Ok(())
}

/// An entry with its whole history.
#[derive(Debug, Serialize, ToSchema)]
struct EntryWithHistory {
    #[serde(flatten)]
    view: EntryView,
    history: Vec<Change>,
}

/// The key of an entry in a path.
type EntryKey = (String, String, u32);

async fn load_entry(
    state: &AppState,
    (id, village, position): &EntryKey,
) -> Result<(Campaign, Template, Entry, Vec<Change>), ApiError> {
    let campaign = find_campaign(state, id).await?;
    let template = template(state, &campaign.template_id).await?;
    let (id2, v2, p2) = (id.clone(), village.clone(), *position);
    let (entry, history) = state
        .store
        .run(move |c| {
            Ok((
                ledger_store::entry(c, &id2, &v2, p2)?,
                ledger_store::history(c, &id2, &v2, p2)?,
            ))
        })
        .await?;
    let entry = entry.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no entry for village {village} item {position} in campaign {id:?}"
        ))
    })?;
    Ok((campaign, template, entry, history))
}

/// One entry with its item and every change made to it (who, when, from what to what).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/entries/{village}/{position}", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), ("village" = String, Path, description = "Village code"), ("position" = u32, Path, description = "Item position in the template")),
    responses(
        (status = 400, description = "A parameter cannot be read; it is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "The entry and its history", body = EntryWithHistory),
        (status = 404, description = "No such campaign or entry", body = ProblemDetails, content_type = "application/problem+json")))]
async fn entry_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<EntryKey>,
) -> Result<Json<EntryWithHistory>, ApiError> {
    caller.require_in(Capability::Figures, &key.1, &no_entry(&key))?;
    let (campaign, template, entry, history) = load_entry(&state, &key).await?;
    let as_of = default_as_of(&campaign);
    Ok(Json(EntryWithHistory {
        view: entry_view(&state.snapshot(), &template, entry, &as_of),
        history,
    }))
}

/// Updates an entry. The body names the version it was based on; if the entry has
/// changed since, nothing is written and the answer is 409 with who changed it when.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}/entries/{village}/{position}", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), ("village" = String, Path, description = "Village code"), ("position" = u32, Path, description = "Item position in the template")),
    request_body = EntryPatch,
    responses(
        (status = 200, description = "The entry as stored, with its history", body = EntryWithHistory),
        (status = 400, description = "A field is invalid or a rule is broken; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or entry", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The entry changed since the version given; nothing was written", body = ProblemDetails, content_type = "application/problem+json")))]
async fn entry_update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<EntryKey>,
    ApiJson(mut patch): ApiJson<EntryPatch>,
) -> Result<Json<EntryWithHistory>, ApiError> {
    may_change(&caller, &key, &mut patch)?;
    let (campaign, template, current, _) = load_entry(&state, &key).await?;
    let base = patch.version;
    let before = serde_json::to_string(&current).unwrap_or_default();
    let next = rules::apply(current, patch, utc_timestamp())?;
    let after = serde_json::to_string(&next).unwrap_or_default();
    let outcome = state
        .store
        .run(move |c| ledger_store::update(c, base, &next))
        .await?;
    match outcome {
        Updated::Done(_) => {
            state.ledger_changed();
            caller.record(
                &state.audit,
                "write",
                Some(format!(
                    "entry {}/{}/{}: before {before} after {after}",
                    key.0, key.1, key.2
                )),
                None,
            );
            let (_, _, entry, history) = load_entry(&state, &key).await?;
            let as_of = default_as_of(&campaign);
            Ok(Json(EntryWithHistory {
                view: entry_view(&state.snapshot(), &template, entry, &as_of),
                history,
            }))
        }
        Updated::Stale(now) => Err(ApiError::Conflict(format!(
            "the entry changed since version {base}: it is at version {} ({} at {}); read it again and reapply your change",
            now.version, now.updated_by, now.updated_at
        ))),
        Updated::Missing => Err(ApiError::NotFound("the entry no longer exists".into())),
    }
}

/// `GET …/matrix` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MatrixParams {
    /// The township (9 digits).
    within: String,
}

/// An item's column of the matrix.
#[derive(Debug, Serialize, ToSchema)]
struct MatrixItem {
    position: u32,
    number: Option<String>,
    category: String,
}

/// A village's row: one status code per item, in the items' order.
#[derive(Debug, Serialize, ToSchema)]
struct MatrixRow {
    code: String,
    name: String,
    statuses: Vec<Option<Status>>,
}

/// The village × item matrix of a township.
#[derive(Debug, Serialize, ToSchema)]
struct Matrix {
    items: Vec<MatrixItem>,
    villages: Vec<MatrixRow>,
}

/// The village × item status matrix of a township: who has checked what, where the
/// problems are.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/matrix", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), MatrixParams),
    responses(
        (status = 200, description = "The matrix", body = Matrix),
        (status = 400, description = "within is not a township code", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn matrix(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<MatrixParams>,
) -> Result<Json<Matrix>, ApiError> {
    caller.require(Capability::Figures)?;
    if !(p.within.len() == 9 && p.within.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::invalid(
            "within",
            format!("{:?} is not a township code (9 digits)", p.within),
        ));
    }
    let campaign = find_campaign(&state, &id).await?;
    campaign_scope(&caller, &campaign)?;
    // The township's villages the person sees: all of them, or theirs inside it.
    if !caller.may(Capability::Figures, &p.within)
        && !caller
            .areas(Capability::Figures)
            .iter()
            .any(|a| a.starts_with(&p.within))
    {
        return Err(ApiError::NotFound(format!(
            "no area with code {}",
            p.within
        )));
    }
    let template = template(&state, &campaign.template_id).await?;
    let filter = EntryFilter {
        within: Some(p.within.clone()),
        ..EntryFilter::default()
    };
    let (_, found) = state
        .store
        .run(move |c| ledger_store::entries(c, &id, &filter, usize::MAX >> 1, 0))
        .await?;
    let snapshot = state.snapshot();
    let index: BTreeMap<u32, usize> = template
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.position, i))
        .collect();
    let mut rows: BTreeMap<String, Vec<Option<Status>>> = BTreeMap::new();
    for e in found
        .into_iter()
        .filter(|e| caller.may(Capability::Figures, &e.village_code))
    {
        let row = rows
            .entry(e.village_code.clone())
            .or_insert_with(|| vec![None; template.items.len()]);
        if let Some(&i) = index.get(&e.position) {
            row[i] = Some(e.status);
        }
    }
    Ok(Json(Matrix {
        items: template
            .items
            .iter()
            .map(|i| MatrixItem {
                position: i.position,
                number: i.number.clone(),
                category: i.category.clone(),
            })
            .collect(),
        villages: rows
            .into_iter()
            .map(|(code, statuses)| MatrixRow {
                name: snapshot.name(&code).unwrap_or_default().to_owned(),
                code,
                statuses,
            })
            .collect(),
    }))
}

/// `GET …/report` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportParams {
    /// The area reported (default: the campaign's area): a township for its villages, a
    /// village for its own ledger.
    within: Option<String>,
    /// `xlsx` (default) or `html` (printable).
    format: Option<String>,
    /// The day the report is made (default: today, or the campaign's end).
    as_of: Option<String>,
}

/// The campaign's weekly or monthly report of an area, in the template's own table
/// layout (seed 002's monthly table or seed 003's ledger), with a summary sheet of
/// counts by status and category: XLSX, or printable HTML.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), ReportParams),
    responses(
        (status = 200, description = "The report (XLSX or HTML)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign", body = ProblemDetails, content_type = "application/problem+json")))]
async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(mut p): ApiQuery<ReportParams>,
) -> Result<axum::response::Response, ApiError> {
    use crate::ledger::{report, report_input};
    use axum::response::IntoResponse;
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
    let campaign = find_campaign(&state, &id).await?;
    p.within = campaign_within(&caller, &campaign, p.within.take())?;
    let snapshot = state.snapshot();
    let input = state
        .store
        .run(move |c| {
            Ok(report_input(
                c,
                &snapshot.names,
                &id,
                p.within.as_deref(),
                p.as_of.as_deref(),
            ))
        })
        .await?;
    let (campaign, template, entries, scope, period) = input?;
    caller.record(
        &state.audit,
        "export",
        Some(format!(
            "campaign {} report of {} ({})",
            campaign.id,
            scope.name,
            if html { "html" } else { "xlsx" }
        )),
        Some(entries.len()),
    );
    let file = format!("{}_{}_{}", campaign.name, scope.name, period.label);
    if html {
        let mut response =
            report::html(&campaign, &template, &entries, &scope, &period).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        super::access::as_document(&mut response);
        return Ok(response);
    }
    let bytes = report::xlsx(&campaign, &template, &entries, &scope, &period)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(super::indicators::download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{file}.xlsx"),
    ))
}

/// `POST …/import` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportParams {
    /// Ignored: the signed-in person is recorded in every entry's history.
    #[expect(dead_code, reason = "accepted from older clients, never used")]
    by: Option<String>,
}

/// What an import changed.
#[derive(Debug, Serialize, ToSchema)]
struct ImportAnswer {
    /// Rows read.
    rows: usize,
    /// Entries changed (a row equal to its entry changes nothing).
    changed: usize,
}

/// Imports a village's ledger from an XLSX file (the body): first sheet, a header
/// row with 条目 and 状态 and any of 问题描述, 整改措施, 整改期限, 责任人, 整改结果, 备注.
/// Every row is checked first (each error names its row and column) and then all are
/// applied in one transaction, each change kept in the entry's history: a file with
/// any error changes nothing.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/entries/{village}/import", tag = "ledger",
    params(("id" = String, Path, description = "Campaign id"), ("village" = String, Path, description = "Village code"), ImportParams),
    request_body(content(
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (FileBody = "application/octet-stream"))),
    responses(
        (status = 200, description = "What changed", body = ImportAnswer),
        (status = 400, description = "Rows or columns are wrong; each is named, nothing was written", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or village", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "An entry changed while importing; nothing was written", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The file is over 5 MiB", body = ProblemDetails, content_type = "application/problem+json")))]
async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, village)): ApiPath<(String, String)>,
    ApiQuery(_p): ApiQuery<ImportParams>,
    ApiBytes(bytes): ApiBytes,
) -> Result<Json<ImportAnswer>, ApiError> {
    caller.require_in(
        Capability::Figures,
        &village,
        &format!("village {village} has no ledger in campaign {id:?}"),
    )?;
    if !caller.may(Capability::EditLedger, &village) {
        caller.require(Capability::EditLedger)?;
        return Err(ApiError::Forbidden(format!(
            "your roles do not allow editing the ledger of village {village}"
        )));
    }
    let campaign = find_campaign(&state, &id).await?;
    let template = template(&state, &campaign.template_id).await?;
    let rows = crate::ledger::import::village_xlsx(&bytes, &template)?;
    let (id2, v2) = (id.clone(), village.clone());
    let (_, current) = state
        .store
        .run(move |c| {
            let filter = EntryFilter {
                within: Some(v2.clone()),
                ..EntryFilter::default()
            };
            ledger_store::entries(c, &id2, &filter, 100_000, 0)
        })
        .await?;
    let current: Vec<Entry> = current
        .into_iter()
        .filter(|e| e.village_code == village)
        .collect();
    if current.is_empty() {
        return Err(ApiError::NotFound(format!(
            "village {village} has no ledger in campaign {id:?}"
        )));
    }
    let updates =
        rules::import_updates(&rows, &current, &caller.principal.display, &utc_timestamp())?;
    let changed = updates.len();
    let outcome = state
        .store
        .run(move |c| ledger_store::update_all(c, &updates))
        .await?;
    match outcome {
        Updated::Done(_) | Updated::Missing if changed == 0 => {}
        Updated::Done(_) => {
            state.ledger_changed();
            caller.record(
                &state.audit,
                "write",
                Some(format!("campaign {id} village {village}: ledger imported")),
                Some(changed),
            );
        }
        Updated::Stale(e) => {
            return Err(ApiError::Conflict(format!(
                "item {} changed while importing ({} at {}); nothing was written",
                e.position, e.updated_by, e.updated_at
            )));
        }
        Updated::Missing => {
            return Err(ApiError::NotFound(
                "an entry disappeared while importing".into(),
            ));
        }
    }
    Ok(Json(ImportAnswer {
        rows: rows.len(),
        changed,
    }))
}

/// Adds a checklist template from a CSV (UTF-8, BOM allowed) or XLSX file (the body)
/// with the columns of `data/checklists`: `category` and `content` required, and any
/// of `position`, `category_no`, `number`, `item`, `responsible_unit`, `source_note`.
#[utoipa::path(post, path = "/api/v1/checklists", tag = "ledger", params(NewTemplate),
    request_body(content(
        (FileBody = "text/csv"),
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses(
        (status = 200, description = "The template as stored", body = Object),
        (status = 400, description = "A parameter, row or column is wrong; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A template with this id exists", body = ProblemDetails, content_type = "application/problem+json")))]
async fn checklist_add(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<NewTemplate>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<Template>, ApiError> {
    caller.require(Capability::Campaigns)?;
    if templates(&state).await?.iter().any(|t| t.id == p.id) {
        return Err(ApiError::Conflict(format!(
            "a template with id {:?} exists",
            p.id
        )));
    }
    let template = rules::new_template(&p, &body)?;
    save_new_template(&state, template.clone()).await?;
    caller.record(
        &state.audit,
        "write",
        Some(format!("checklist {} added", template.id)),
        Some(template.items.len()),
    );
    Ok(Json(template))
}
