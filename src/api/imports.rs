//! `/api/v1/imports`: an office's files through the running server (数据导入), for
//! admins who hold every county served. An upload (multipart, streamed to disk) is
//! read and judged in the background (a dry run); its status shows the rows read and
//! then the report (JSON, or XLSX for the clerk); a second call commits it as a new
//! data version with no downtime, and a committed import can be undone.

use axum::Json;
use axum::extract::{FromRequest, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::app::imports::{JobError, JobView, phase_zh};
use crate::domain::AreaLevel;
use crate::domain::access::Capability;
use crate::import::run::{Committed, Request, RunError};
use crate::import::{Report, Severity, boundaries, divisions, households, measures};
use crate::store;

/// Most files one upload holds (a Shapefile's parts are five or six).
const MAX_FILES: usize = 32;
/// Largest `columns` part (an office's header synonyms, TOML).
const MAX_COLUMNS_BYTES: usize = 1 << 20;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(one, discard))
        .routes(routes!(report_xlsx))
        .routes(routes!(commit))
        .routes(routes!(undo))
        // The upload counts its own bytes against `serve --upload-limit`.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// An import: one uploaded to this server and not yet committed (or just committed),
/// or one in the store's list.
#[derive(Debug, Serialize, ToSchema)]
struct ImportItem {
    /// Its id; a commit keeps it as the import's id.
    id: String,
    /// `divisions`, `boundaries`, `households` or `gps`.
    kind: String,
    /// `queued`, `checking`, `ready`, `failed`, `committing`, `committed` or `undone`.
    status: String,
    /// The status in Chinese (排队中, 检查中, 待提交, 读取失败, 写入中, 已提交, 已撤销).
    status_zh: String,
    /// Who uploaded it (pending imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    /// When it was uploaded (pending) or committed, UTC.
    at: String,
    /// The uploaded files' names and sizes in bytes (pending imports).
    files: Vec<FileItem>,
    /// The files' names as the report and the list of imports name them.
    source: String,
    /// Rows (or features) read so far by the dry run.
    rows_read: u64,
    /// Errors in the report: while there are any, it cannot be committed.
    errors: usize,
    /// Warnings in the report.
    warnings: usize,
    /// Why it could not be read at all (status `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The same in Chinese, as the 数据导入 page shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_zh: Option<String>,
    /// The data version it wrote (committed imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    data_version: Option<i64>,
    /// What the commit wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    committed: Option<Committed>,
    /// The report: counts, and problems with file, row, column, value and reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    report: Option<Report>,
}

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
struct FileItem {
    name: String,
    bytes: u64,
}

/// Pending and committed imports.
#[derive(Debug, Serialize, ToSchema)]
struct ImportList {
    /// Uploaded to this server and not committed, or committed since it started:
    /// newest first, without their reports.
    pending: Vec<ImportItem>,
    /// Every committed import, newest first (the first in force is the one an undo
    /// takes back), without their reports.
    committed: Vec<ImportItem>,
}

impl ImportItem {
    fn of_job(job: JobView, with_report: bool) -> Self {
        let (errors, warnings) = job.report.as_ref().map_or((0, 0), |r| tally(r));
        ImportItem {
            id: job.id,
            kind: job.kind.to_owned(),
            status: serde_json::to_value(job.phase)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            status_zh: phase_zh(job.phase).to_owned(),
            by: Some(job.by),
            at: job.uploaded_at,
            source: job
                .files
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            files: job
                .files
                .into_iter()
                .map(|(name, bytes)| FileItem { name, bytes })
                .collect(),
            rows_read: job.rows_read,
            errors,
            warnings,
            error: job.error,
            error_zh: job.error_zh,
            data_version: job.committed.as_ref().map(|c| c.data_version),
            committed: job.committed,
            report: job.report.filter(|_| with_report).map(|r| (*r).clone()),
        }
    }

    fn of_record(record: store::imports::ImportRecord, report: Option<Report>) -> Self {
        let (errors, warnings) = report.as_ref().map_or((0, 0), tally);
        let undone = record.undone_at.is_some();
        ImportItem {
            id: record.id,
            kind: record.kind,
            status: if undone { "undone" } else { "committed" }.to_owned(),
            status_zh: if undone { "已撤销" } else { "已提交" }.to_owned(),
            by: None,
            at: record.committed_at,
            source: record.source,
            files: Vec::new(),
            rows_read: 0,
            errors,
            warnings,
            error: None,
            error_zh: None,
            data_version: Some(record.data_version),
            committed: None,
            report,
        }
    }
}

fn tally(report: &Report) -> (usize, usize) {
    let errors = report.errors();
    let warnings = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Warning)
        .count();
    (errors, warnings)
}

/// Refuses all but admins of every county served: a household import replaces the
/// whole registry, and divisions and boundaries reach across areas.
fn require_importer(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    caller.require(Capability::Administer)?;
    let snapshot = state.snapshot();
    let everywhere = caller.may(Capability::Administer, &snapshot.top_code)
        || (!snapshot.counties.is_empty()
            && snapshot
                .counties
                .iter()
                .all(|(code, _)| caller.may(Capability::Administer, code)));
    if everywhere {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "imports replace data of every county served: only an admin of all of them may import"
                .to_owned(),
        ))
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Unknown(_) => ApiError::NotFound(e.to_string()),
            JobError::Conflict(_) | JobError::Run(RunError::Errors(_) | RunError::Nothing(_)) => {
                ApiError::Conflict(e.to_string())
            }
            JobError::Full => ApiError::Busy(e.to_string()),
            JobError::Run(RunError::Read { .. }) => ApiError::Conflict(e.to_string()),
            JobError::Run(RunError::Store(store)) => store_error(store),
            JobError::Staging(io) => ApiError::Internal(io.into()),
        }
    }
}

/// A store's refusal (an id used twice, an undo out of order) is the client's
/// conflict; a failure is ours.
fn store_error(e: store::StoreError) -> ApiError {
    match e {
        store::StoreError::Invalid(m) => ApiError::Conflict(m),
        other => other.into(),
    }
}

/// Every import: those pending on this server and those committed.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = ImportList)))]
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<ImportList>, ApiError> {
    require_importer(&state, &caller)?;
    let pending = state
        .imports
        .views()
        .into_iter()
        .map(|j| ImportItem::of_job(j, false))
        .collect();
    let committed = state
        .store
        .run(store::imports::list)
        .await?
        .into_iter()
        .map(|r| ImportItem::of_record(r, None))
        .collect();
    Ok(Json(ImportList { pending, committed }))
}

/// What an upload says about its files.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// `divisions`, `boundaries`, `households`, `gps`, `roll`, `measures` or
    /// `village_form` (贫困村信息采集表).
    kind: String,
    /// Boundaries: the features' level (`village`, `township`, `county`, `city`,
    /// `province`).
    level: Option<String>,
    /// Boundaries: the coordinate system when the file does not say (`EPSG:4527`, …).
    crs: Option<String>,
    /// Boundaries: the attribute holding the code.
    code_field: Option<String>,
    /// Boundaries: the attribute holding the name.
    name_field: Option<String>,
    /// Divisions: the header of the code column.
    code_column: Option<String>,
    /// Divisions: the header of the name column.
    name_column: Option<String>,
    /// Households: only this sheet of each workbook.
    sheet: Option<String>,
    /// Households: the data date (数据时间) `YYYY-MM-DD` when no title row says it.
    date: Option<String>,
    /// Rolls: the roll's kind (an id of `data/rolls.toml`: edu, insurance, housing,
    /// water, civil, disability …).
    roll: Option<String>,
    /// Rolls: the county whose department sent it (default: the only county).
    county: Option<String>,
    /// Measures: the year of rows that give none, when the file has no 年度 column.
    year: Option<i32>,
}

/// The request an upload's parameters make, before its files.
fn request_of(
    params: &UploadParams,
    columns: Option<&str>,
    rolls: &crate::domain::rolls::RollCatalog,
    exits: &crate::domain::exits::ExitStandard,
) -> Result<Request, ApiError> {
    let mut violations = crate::domain::Violations::new();
    let vocabulary = match columns {
        None => households::columns::Vocabulary::builtin(),
        Some(text) => households::columns::Vocabulary::extended(text)
            .map_err(|e| ApiError::invalid("columns", format!("is not a column table: {e}")))?,
    };
    let request = match params.kind.as_str() {
        "divisions" => Request::Divisions(divisions::Options {
            code_column: params.code_column.clone(),
            name_column: params.name_column.clone(),
        }),
        "boundaries" => {
            let level = match params.level.as_deref() {
                Some("village") => Some(AreaLevel::Village),
                Some("township") => Some(AreaLevel::Township),
                Some("county") => Some(AreaLevel::County),
                Some("city") => Some(AreaLevel::City),
                Some("province") => Some(AreaLevel::Province),
                _ => {
                    violations.add(
                        "level",
                        "boundaries need their level: village, township, county, city or province",
                    );
                    None
                }
            };
            let crs = match params.crs.as_deref() {
                None | Some("") => None,
                Some(text) => match crate::spatial::crs::Crs::from_user(text) {
                    Ok(crs) => Some(crs),
                    Err(e) => {
                        violations.add("crs", e.to_string());
                        None
                    }
                },
            };
            Request::Boundaries(boundaries::Options {
                level: level.unwrap_or(AreaLevel::Village),
                crs,
                code_field: params.code_field.clone(),
                name_field: params.name_field.clone(),
            })
        }
        "households" => {
            let data_date = params
                .date
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    let date = households::values::date(&calamine::Data::String(d.to_owned()));
                    if date.is_none() {
                        violations.add("date", "must be a date YYYY-MM-DD");
                    }
                    date
                });
            Request::Households(households::Options {
                sheet: params.sheet.clone().filter(|s| !s.is_empty()),
                data_date,
                vocabulary,
            })
        }
        "gps" => Request::Gps(vocabulary),
        "roll" => {
            if let Some(kind) = params.roll.as_deref().and_then(|k| rolls.kind(k)) {
                Request::Roll(Box::new(crate::import::rolls::Options {
                    kind: kind.clone(),
                    keys: rolls.keys.clone(),
                    county: params.county.clone().filter(|c| !c.is_empty()),
                    sheet: params.sheet.clone().filter(|s| !s.is_empty()),
                }))
            } else {
                violations.add(
                    "roll",
                    format!("a roll names its kind, one of {}", rolls.kind_ids()),
                );
                Request::Gps(vocabulary)
            }
        }
        "measures" => {
            if params.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
                violations.add("year", "must be a year from 2000 to 2100");
            }
            Request::Measures(measures::Options {
                year: params.year,
                vocabulary: Some(vocabulary),
            })
        }
        "village_form" => Request::VillageForm(Box::new(exits.clone())),
        _ => {
            violations.add(
                "kind",
                "must be divisions, boundaries, households, gps, roll, measures or village_form",
            );
            Request::Gps(vocabulary)
        }
    };
    Ok(violations.into_result(request)?)
}

/// An uploaded file's name as it is staged: its last path component (browsers on
/// Windows may send the whole path), refused when empty, hidden or odd.
fn staged_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.unwrap_or_default().replace('\\', "/");
    let base = name
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if base.is_empty()
        || base.starts_with('.')
        || base.len() > 255
        || base.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "file",
            "each file part needs a file name (not hidden, at most 255 bytes)",
        ));
    }
    Ok(base)
}

/// Uploads files for a dry run (multipart: one or more `file` parts, and for
/// households or GPS an optional `columns` part with an office's header synonyms as
/// TOML). Answers 202 at once; the dry run goes on in the background: poll the
/// import's status for its progress and report.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(UploadParams),
    request_body(content_type = "multipart/form-data", description = "`file` parts (the spreadsheets; a GeoJSON, GeoPackage or zip; or a Shapefile's parts) and an optional `columns` part"),
    responses(
        (status = 202, description = "Uploaded; the dry run is under way. Location names the import", body = ImportItem),
        (status = 400, description = "A parameter or part is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "The files are over the upload limit (serve --upload-limit)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "Too many imports wait to be committed or discarded", body = ProblemDetails, content_type = "application/problem+json")))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<UploadParams>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    // Who first, then the parameters, then the body: a refused or bad request costs no
    // upload.
    require_importer(&state, &caller)?;
    request_of(&params, None, &state.rolls, &state.exits)?;
    let multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|e| {
            ApiError::invalid(
                "body",
                format!("must be multipart/form-data: {}", e.body_text()),
            )
        })?;
    let (id, dir) = state.imports.stage(&params.kind)?;
    let received = receive(&state, &dir, multipart).await;
    let (files, columns) = match received {
        Ok(received) => received,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    let request = match request_of(&params, columns.as_deref(), &state.rolls, &state.exits) {
        Ok(request) => request,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    let names = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    caller.record(
        &state.audit,
        "import",
        Some(format!("upload {id} ({}): {names}", params.kind)),
        None,
    );
    state
        .imports
        .add((id.clone(), dir), request, caller.user(), files);
    let background = state.clone();
    let job = id.clone();
    tokio::spawn(async move { background.check_import(&job).await });
    let view = state
        .imports
        .view(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no import {id}")))?;
    let mut response =
        (StatusCode::ACCEPTED, Json(ImportItem::of_job(view, false))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/imports/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Streams the upload's parts to `dir`, counting bytes against the upload limit:
/// the files (name, bytes) and the `columns` text.
async fn receive(
    state: &AppState,
    dir: &std::path::Path,
    mut multipart: Multipart,
) -> Result<(Vec<(String, u64)>, Option<String>), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::invalid(
            "body",
            format!("is not a complete multipart upload: {}", e.body_text()),
        )
    };
    let limit = state.imports.upload_limit();
    let mut total = 0u64;
    let mut files: Vec<(String, u64)> = Vec::new();
    let mut columns = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => {
                if files.len() == MAX_FILES {
                    return Err(ApiError::invalid(
                        "file",
                        format!("at most {MAX_FILES} files in one upload"),
                    ));
                }
                let name = staged_name(field.file_name())?;
                if files.iter().any(|(n, _)| *n == name) {
                    return Err(ApiError::invalid("file", format!("{name} is sent twice")));
                }
                let mut out = tokio::fs::File::create(dir.join(&name))
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?;
                let mut bytes = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    bytes += chunk.len() as u64;
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(ApiError::TooLarge(format!(
                            "the upload is over the limit of {limit} bytes (serve --upload-limit)"
                        )));
                    }
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| ApiError::Internal(e.into()))?;
                }
                out.flush()
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?;
                files.push((name, bytes));
            }
            "columns" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > MAX_COLUMNS_BYTES {
                        return Err(ApiError::invalid(
                            "columns",
                            format!("is over {MAX_COLUMNS_BYTES} bytes"),
                        ));
                    }
                }
                columns = Some(
                    String::from_utf8(text)
                        .map_err(|_| ApiError::invalid("columns", "must be UTF-8 text (TOML)"))?,
                );
            }
            other => {
                return Err(ApiError::invalid(
                    other.chars().take(64).collect::<String>(),
                    "unknown part: send `file` parts and an optional `columns` part",
                ));
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::invalid("file", "no file was sent"));
    }
    Ok((files, columns))
}

/// An import's id in a path.
#[derive(Debug, Deserialize)]
struct ImportId {
    id: String,
}

/// An import's status: pending ones with the rows read so far and, once checked,
/// the report; committed ones with their stored report.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, body = ImportItem),
        (status = 404, description = "No such import", body = ProblemDetails, content_type = "application/problem+json")))]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ImportId { id }): ApiPath<ImportId>,
) -> Result<Json<ImportItem>, ApiError> {
    require_importer(&state, &caller)?;
    if let Some(job) = state.imports.view(&id) {
        return Ok(Json(ImportItem::of_job(job, true)));
    }
    let (record, report) = stored(&state, &id).await?;
    Ok(Json(ImportItem::of_record(record, report)))
}

/// A committed import and its report, from the store.
async fn stored(
    state: &AppState,
    id: &str,
) -> Result<(store::imports::ImportRecord, Option<Report>), ApiError> {
    let key = id.to_owned();
    let (records, report) = state
        .store
        .run(move |c| Ok((store::imports::list(c)?, store::imports::report(c, &key)?)))
        .await?;
    let record = records
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no import {id}")))?;
    let report = report.and_then(|json| serde_json::from_str(&json).ok());
    Ok((record, report))
}

/// The report as the clerk opens it: one sheet of counts, one of problems.
#[utoipa::path(get, path = "/api/v1/imports/{id}/report.xlsx", tag = "imports",
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, description = "The report", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, description = "No such import, or not checked yet", body = ProblemDetails, content_type = "application/problem+json")))]
async fn report_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ImportId { id }): ApiPath<ImportId>,
) -> Result<Response, ApiError> {
    require_importer(&state, &caller)?;
    let report = match state.imports.view(&id) {
        Some(job) => job.report.map(|r| (*r).clone()),
        None => stored(&state, &id).await?.1,
    }
    .ok_or_else(|| ApiError::NotFound(format!("import {id} has no report yet")))?;
    let bytes = tokio::task::spawn_blocking(move || report.to_xlsx())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let disposition = format!("attachment; filename=\"{id}-report.xlsx\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Commits a checked import whose report has no error: a new data version, written
/// in one transaction and served at once (requests under way finish on the old one).
/// When the data changed since the dry run, the files are judged again first.
#[utoipa::path(post, path = "/api/v1/imports/{id}/commit", tag = "imports",
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, description = "Committed", body = ImportItem),
        (status = 404, description = "No such import pending", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Not checked yet, already committed, errors in the report, or nothing to write; nothing was written", body = ProblemDetails, content_type = "application/problem+json")))]
async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ImportId { id }): ApiPath<ImportId>,
) -> Result<Json<ImportItem>, ApiError> {
    require_importer(&state, &caller)?;
    let committed = state.commit_import(&id).await?;
    caller.record(
        &state.audit,
        "import",
        Some(format!(
            "commit {id}: {} {} written, data version {}",
            committed.written, committed.kind, committed.data_version
        )),
        Some(committed.persons.max(committed.written)),
    );
    let view = state
        .imports
        .view(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no import {id}")))?;
    Ok(Json(ImportItem::of_job(view, false)))
}

/// The data version an undo wrote.
#[derive(Debug, Serialize, ToSchema)]
struct Undone {
    id: String,
    data_version: i64,
}

/// Undoes a committed import: what it replaced is back and what it added is gone, as
/// a new data version served at once. Imports are undone newest first.
#[utoipa::path(post, path = "/api/v1/imports/{id}/undo", tag = "imports",
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 200, description = "Undone", body = Undone),
        (status = 409, description = "Unknown, already undone, or a later import stands on it", body = ProblemDetails, content_type = "application/problem+json")))]
async fn undo(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ImportId { id }): ApiPath<ImportId>,
) -> Result<Json<Undone>, ApiError> {
    require_importer(&state, &caller)?;
    stored(&state, &id).await?;
    let data_version = state.undo_import(&id).await.map_err(store_error)?;
    caller.record(
        &state.audit,
        "import",
        Some(format!("undo {id}: data version {data_version}")),
        None,
    );
    Ok(Json(Undone { id, data_version }))
}

/// Discards an uncommitted import and its uploaded files.
#[utoipa::path(delete, path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "The import's id")),
    responses(
        (status = 204, description = "Discarded"),
        (status = 404, description = "No such import pending", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Being checked or written, or committed", body = ProblemDetails, content_type = "application/problem+json")))]
async fn discard(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ImportId { id }): ApiPath<ImportId>,
) -> Result<StatusCode, ApiError> {
    require_importer(&state, &caller)?;
    state.imports.discard(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_name_is_the_last_component_of_what_the_browser_sent() {
        assert_eq!(
            staged_name(Some(r"C:\Users\办公室\户籍信息.xlsx")).unwrap(),
            "户籍信息.xlsx"
        );
        assert_eq!(staged_name(Some("../../etc/passwd")).unwrap(), "passwd");
        for bad in [
            None,
            Some(""),
            Some("a/.."),
            Some(".hidden"),
            Some("x\u{0}.csv"),
        ] {
            assert!(staged_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_upload_names_each_bad_parameter() {
        let params = |kind: &str, level: Option<&str>| UploadParams {
            kind: kind.to_owned(),
            level: level.map(str::to_owned),
            crs: None,
            code_field: None,
            name_field: None,
            code_column: None,
            name_column: None,
            sheet: None,
            date: Some("2026-13-45".to_owned()),
            roll: None,
            county: None,
            year: Some(1066),
        };
        let rolls = crate::domain::rolls::RollCatalog::builtin().unwrap();
        let exits = crate::domain::exits::ExitStandard::builtin().unwrap();
        let fields = |e: ApiError| match e {
            ApiError::InvalidParams(v) => v.into_iter().map(|v| v.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(request_of(&params("people", None), None, &rolls, &exits).unwrap_err()),
            ["kind"]
        );
        assert_eq!(
            fields(request_of(&params("boundaries", None), None, &rolls, &exits).unwrap_err()),
            ["level"]
        );
        assert_eq!(
            fields(request_of(&params("households", None), None, &rolls, &exits).unwrap_err()),
            ["date"]
        );
        assert!(request_of(&params("boundaries", Some("village")), None, &rolls, &exits).is_ok());
        assert_eq!(
            fields(request_of(&params("gps", None), Some("[[["), &rolls, &exits).unwrap_err()),
            ["columns"]
        );
        assert_eq!(
            fields(request_of(&params("roll", None), None, &rolls, &exits).unwrap_err()),
            ["roll"]
        );
        assert_eq!(
            fields(request_of(&params("measures", None), None, &rolls, &exits).unwrap_err()),
            ["year"]
        );
    }
}
