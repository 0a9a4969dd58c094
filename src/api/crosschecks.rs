//! `/api/v1/crosschecks`: the departments' rolls checked against the registry (账账相符).
//! A summary per rule in an area, the mismatches of one rule with both sides' values
//! (JSON, or CSV and XLSX for the department to answer in its 核实结果 column), and the
//! answers uploaded back.
//!
//! Scoped like the figures: a department account sees its own department's rules and
//! rolls only, without household numbers; a role that reads personal data sees the
//! mismatches of its areas. ID numbers and names are always masked in answers, and
//! every read of mismatches is in the audit log.

use std::fmt::Write as _;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery, FileBody};
use super::indicators::table_download;
use super::quality::{Scoped, scope};
use crate::app::AppState;
use crate::domain::access::Capability;
use crate::domain::calendar;
use crate::domain::rolls::{Crosscheck, MismatchUnit, RollCatalog};
use crate::domain::{mask_id_number, mask_name};
use crate::formats::table::Cell;
use crate::store::rolls::{Mismatch, MismatchFilter};

/// Most rows of one JSON page.
const MAX_LIMIT: usize = 1_000;
/// Largest answer file.
const MAX_ANSWER_BYTES: usize = 32 << 20;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(mismatches))
        .routes(routes!(answers))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_ANSWER_BYTES))
}

/// Who asks: a department (its kinds only, no household numbers) or a role reading
/// personal data.
struct Reader {
    /// `Some`: the roll kinds of the caller's departments.
    kinds: Option<Vec<String>>,
    /// The caller's departments, when it is a department account.
    departments: Option<Vec<String>>,
}

impl Reader {
    fn of(caller: &Caller, rolls: &RollCatalog) -> Self {
        let departments: Option<Vec<String>> = calendar::with_today(|today| {
            caller
                .principal
                .departments(today)
                .map(|d| d.into_iter().map(str::to_owned).collect())
        });
        let kinds = departments.as_ref().map(|ds| {
            ds.iter()
                .flat_map(|d| rolls.kinds_of(d))
                .map(str::to_owned)
                .collect()
        });
        Self { kinds, departments }
    }

    /// Whether a rule is the caller's (a department's own, or any for the others).
    fn sees(&self, rolls: &RollCatalog, rule: &Crosscheck) -> bool {
        self.departments.as_ref().is_none_or(|ds| {
            rolls
                .departments_of(rule)
                .iter()
                .any(|d| ds.iter().any(|m| m == d))
        })
    }

    /// The capability the caller reads mismatches by.
    fn capability(&self) -> Capability {
        if self.departments.is_some() {
            Capability::Figures
        } else {
            Capability::Personal
        }
    }
}

/// `GET /api/v1/crosschecks` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SummaryParams {
    /// The area (6, 9 or 12 digits; or the city or province above the counties);
    /// default: the county, or the city above several.
    within: Option<String>,
}

/// A roll kind with its rows in scope.
#[derive(Debug, Serialize, ToSchema)]
struct RollItem {
    /// The kind's id.
    kind: String,
    /// Its name.
    name_zh: String,
    /// The department that sends it.
    department: String,
    /// Rows of the rolls of the counties in scope (0: not imported).
    rows: i64,
}

/// A rule with its figures in scope.
#[derive(Debug, Serialize, ToSchema)]
struct RuleItem {
    /// The rule's id.
    id: String,
    /// Its name.
    name_zh: String,
    /// The rule in words.
    definition: String,
    /// The departments whose rule it is.
    departments: Vec<String>,
    /// The rolls it reads (empty: every roll).
    kinds: Vec<String>,
    /// What one mismatch is.
    unit: MismatchUnit,
    /// The document that asks for it.
    source: String,
    /// The indicator counting the households failing it, if it is one.
    indicator: Option<String>,
    /// Mismatches in scope.
    mismatches: i64,
    /// Households they belong to.
    households: i64,
    /// Mismatches a department has answered.
    answered: i64,
}

/// The cross-checks in an area.
#[derive(Debug, Serialize, ToSchema)]
struct SummaryBody {
    /// The area's code (empty when outside the person's areas).
    within: String,
    /// Its name.
    within_name: String,
    /// The rolls, as the catalog lists them.
    rolls: Vec<RollItem>,
    /// The rules, as the catalog lists them.
    rules: Vec<RuleItem>,
    /// The area lies outside the signed-in person's areas: zeros.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    outside: bool,
}

/// Every cross-check (账账相符) with its mismatches in an area, and the rolls it read.
#[utoipa::path(get, path = "/api/v1/crosschecks", tag = "crosschecks", params(SummaryParams),
    responses(
        (status = 200, description = "The rules and rolls with their figures", body = SummaryBody),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> Result<Json<SummaryBody>, ApiError> {
    let snapshot = state.snapshot();
    let Scoped {
        code,
        name,
        outside,
        ..
    } = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let reader = Reader::of(&caller, &state.rolls);
    let filter = MismatchFilter {
        within: Some(code.clone()),
        kinds: reader.kinds.clone(),
    };
    let (figures, rows) = if outside {
        Default::default()
    } else {
        let within = code.clone();
        state
            .store
            .run(move |c| {
                Ok((
                    crate::store::rolls::summary(c, &filter)?,
                    crate::store::rolls::rolls_in(c, Some(&within))?,
                ))
            })
            .await?
    };
    let rolls = &state.rolls;
    Ok(Json(SummaryBody {
        within: code,
        within_name: name,
        rolls: rolls
            .kinds
            .iter()
            .filter(|k| reader.kinds.as_ref().is_none_or(|ks| ks.contains(&k.id)))
            .map(|k| RollItem {
                kind: k.id.clone(),
                name_zh: k.name_zh.clone(),
                department: k.department.clone(),
                rows: rows.get(&k.id).copied().unwrap_or(0),
            })
            .collect(),
        rules: rolls
            .crosschecks
            .iter()
            .filter(|r| reader.sees(rolls, r))
            .map(|r| {
                let f = figures.get(&r.id).cloned().unwrap_or_default();
                RuleItem {
                    id: r.id.clone(),
                    name_zh: r.name_zh.clone(),
                    definition: r.definition.clone(),
                    departments: rolls
                        .departments_of(r)
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                    kinds: r.kinds.clone(),
                    unit: r.unit,
                    source: r.source.clone(),
                    indicator: crate::domain::rolls::CrosscheckId::from_code(&r.id)
                        .and_then(crate::domain::rolls::CrosscheckId::measure)
                        .map(|m| m.code().to_owned()),
                    mismatches: f.mismatches,
                    households: f.households,
                    answered: f.answered,
                }
            })
            .collect(),
        outside,
    }))
}

/// `GET /api/v1/crosschecks/{rule}/mismatches` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MismatchParams {
    /// The area; default: the county, or the city above several.
    within: Option<String>,
    /// Rows of a JSON page (default 100, at most 1,000); downloads hold every row.
    limit: Option<usize>,
    /// Rows skipped.
    offset: Option<usize>,
    /// `json` (default), `csv` (UTF-8 with BOM) or `xlsx` (with an empty 核实结果
    /// column for the department to fill in and upload back).
    format: Option<String>,
}

/// One field of a roll row.
#[derive(Debug, Serialize, ToSchema)]
struct RollValueItem {
    /// The field's id.
    field: String,
    /// Its name.
    name_zh: String,
    /// The value as it reads.
    value: String,
}

/// A department's answer.
#[derive(Debug, Serialize, ToSchema)]
struct AnswerItem {
    /// 核实结果.
    result: String,
    /// Who uploaded it.
    by: String,
    /// When, UTC.
    at: String,
}

/// One mismatch with both sides' values.
#[derive(Debug, Serialize, ToSchema)]
struct MismatchItem {
    /// What the answer file names it by (核对码).
    check_code: String,
    /// The roll kind compared with.
    roll_kind: String,
    /// The county.
    county: String,
    /// The registered village, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    village_code: Option<String>,
    /// The household number (only to roles that read personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    household_no: Option<String>,
    /// The ID number, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_number: Option<String>,
    /// The name, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The registry's side, in words.
    registry: String,
    /// The roll's side: its row's fields (empty: not on the roll).
    roll: Vec<RollValueItem>,
    /// The roll row's file and row as Excel shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    roll_file: Option<String>,
    /// The roll row's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    roll_row: Option<u32>,
    /// The department's answer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<AnswerItem>,
}

/// A page of one rule's mismatches.
#[derive(Debug, Serialize, ToSchema)]
struct MismatchBody {
    /// The rule's id.
    rule: String,
    /// Its name.
    name_zh: String,
    /// The area's code.
    within: String,
    /// Mismatches in scope, in all.
    total: i64,
    /// The page.
    rows: Vec<MismatchItem>,
}

/// What an answer file's 核对码 stands for: a digest of the rule and the mismatch's key
/// under the database's own salt, so that the file names no ID or household number.
fn check_code(salt: &str, rule: &str, key: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{salt}\u{1f}{rule}\u{1f}{key}").as_bytes());
    digest[..8].iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A stored value made safe to show: digits of ID length masked.
fn shown_value(text: &str) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if digits >= 15 {
        let chars: Vec<char> = text.chars().collect();
        let head: String = chars.iter().take(6).collect();
        let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len().saturating_sub(10)))
    } else {
        text.to_owned()
    }
}

fn item(m: Mismatch, rolls: &RollCatalog, salt: &str, personal: bool) -> MismatchItem {
    let kind = rolls.kind(&m.roll_kind);
    let roll = kind.map_or_else(Vec::new, |k| {
        k.fields
            .iter()
            .filter_map(|f| {
                let value = m.roll.iter().find(|(id, _)| *id == f.id)?;
                Some(RollValueItem {
                    field: f.id.clone(),
                    name_zh: f.name_zh.clone(),
                    value: shown_value(f.shown(&value.1)),
                })
            })
            .collect()
    });
    MismatchItem {
        check_code: check_code(salt, &m.rule, &m.key),
        roll_kind: m.roll_kind,
        county: m.county,
        village_code: m.village_code,
        household_no: m.household_no.filter(|_| personal),
        id_number: m.id_number.as_deref().map(mask_id_number),
        name: m.name.as_deref().map(mask_name),
        registry: m.registry,
        roll,
        roll_file: m.roll_at.as_ref().map(|(f, _)| f.clone()),
        roll_row: m.roll_at.map(|(_, r)| r),
        answer: m.answer.map(|a| AnswerItem {
            result: a.result,
            by: a.by,
            at: a.at,
        }),
    }
}

/// A mismatch in one line of the household's own view, both sides' values: the person
/// (masked), the registry's side and the roll's (named by its department), and the
/// department's answer if one came back. `None` when the roll kind is unknown.
pub(crate) fn describe(m: Mismatch, rolls: &RollCatalog) -> Option<String> {
    let kind = rolls.kind(&m.roll_kind)?.name_zh.clone();
    // No answer file is made here, so no check code is needed (nor its salt).
    let item = item(m, rolls, "", true);
    let who = match (&item.name, &item.id_number) {
        (Some(n), Some(id)) => format!("{n}（{id}）："),
        (Some(n), None) => format!("{n}："),
        (None, Some(id)) => format!("{id}："),
        (None, None) => String::new(),
    };
    let roll = if item.roll.is_empty() {
        "无此人".to_owned()
    } else {
        item.roll
            .iter()
            .map(|v| format!("{} {}", v.name_zh, v.value))
            .collect::<Vec<_>>()
            .join("，")
    };
    let answer = item
        .answer
        .map(|a| format!("；核实结果：{}", a.result))
        .unwrap_or_default();
    Some(format!(
        "{who}登记：{}；{kind}名单：{roll}{answer}",
        item.registry
    ))
}

/// The rule asked, if the caller may read it; else 404 as for an unknown rule.
fn rule_of<'a>(
    rolls: &'a RollCatalog,
    reader: &Reader,
    id: &str,
) -> Result<&'a Crosscheck, ApiError> {
    rolls
        .crosscheck(id)
        .filter(|r| reader.sees(rolls, r))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no cross-check {id:?} (see GET /api/v1/crosschecks for yours)"
            ))
        })
}

/// The mismatches of one rule in an area, with both sides' values: JSON by pages, or
/// every row as CSV or XLSX (the department's answer sheet, 核实结果 to fill in).
#[utoipa::path(get, path = "/api/v1/crosschecks/{rule}/mismatches", tag = "crosschecks",
    params(("rule" = String, Path, description = "The rule's id"), MismatchParams),
    responses(
        (status = 200, description = "The mismatches (JSON; or CSV, XLSX by `format`)", body = MismatchBody),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such rule of yours, or no area with the `within` code in your areas", body = ProblemDetails, content_type = "application/problem+json")))]
async fn mismatches(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(rule): ApiPath<String>,
    ApiQuery(p): ApiQuery<MismatchParams>,
) -> Result<Response, ApiError> {
    let reader = Reader::of(&caller, &state.rolls);
    let capability = reader.capability();
    caller.require(capability)?;
    let format = match p.format.as_deref() {
        None | Some("" | "json") => "json",
        Some("csv") => "csv",
        Some("xlsx") => "xlsx",
        Some(_) => return Err(ApiError::invalid("format", "must be json, csv or xlsx")),
    };
    let limit = p.limit.unwrap_or(100);
    if format == "json" && !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let rule = rule_of(&state.rolls, &reader, &rule)?.clone();
    let snapshot = state.snapshot();
    let scoped = scope(&snapshot, &caller, capability, p.within.as_deref())?.inside()?;
    let filter = MismatchFilter {
        within: Some(scoped.code.clone()),
        kinds: reader.kinds.clone(),
    };
    let id = rule.id.clone();
    let page_limit = (format == "json").then_some(limit);
    let offset = p.offset.unwrap_or(0);
    let (salt, page) = state
        .store
        .run(move |c| {
            Ok((
                crate::store::rolls::salt(c)?,
                crate::store::rolls::mismatches(c, &id, &filter, page_limit, offset)?,
            ))
        })
        .await?;
    let personal = reader.departments.is_none();
    caller.record_personal(
        &state.audit,
        page.rows.iter().filter_map(|m| m.household_no.as_deref()),
    );
    let rows: Vec<MismatchItem> = page
        .rows
        .into_iter()
        .map(|m| item(m, &state.rolls, &salt, personal))
        .collect();
    if format == "json" {
        return Ok(Json(MismatchBody {
            rule: rule.id,
            name_zh: rule.name_zh,
            within: scoped.code,
            total: page.total,
            rows,
        })
        .into_response());
    }
    list_download(
        &rows,
        &snapshot,
        (&scoped.name, &rule.name_zh),
        format == "csv",
    )
}

/// The mismatches as CSV or as the XLSX answer sheet, named for the area and rule.
fn list_download(
    rows: &[MismatchItem],
    snapshot: &crate::model::Snapshot,
    (area, rule): (&str, &str),
    csv: bool,
) -> Result<Response, ApiError> {
    let names = |code: &Option<String>| {
        code.as_ref()
            .and_then(|c| snapshot.names.get(c))
            .map_or(Cell::Empty, |(n, _)| Cell::text(n.clone()))
    };
    let table: Vec<Vec<Cell>> = rows
        .iter()
        .map(|m| {
            let text = |v: &Option<String>| v.clone().map_or(Cell::Empty, Cell::Text);
            vec![
                Cell::text(m.check_code.clone()),
                names(&m.village_code),
                text(&m.village_code),
                text(&m.id_number),
                text(&m.name),
                Cell::text(m.registry.clone()),
                Cell::text(
                    m.roll
                        .iter()
                        .map(|v| format!("{}：{}", v.name_zh, v.value))
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                text(&m.roll_file),
                m.roll_row
                    .map_or(Cell::Empty, |r| Cell::Number(f64::from(r))),
                m.answer
                    .as_ref()
                    .map_or(Cell::Empty, |a| Cell::text(a.result.clone())),
            ]
        })
        .collect();
    let headers = [
        "核对码",
        "村",
        "村代码",
        "证件号码",
        "姓名",
        "户籍情况",
        "部门名单情况",
        "名单文件",
        "名单行",
        ANSWER_HEADER,
    ];
    let file = format!("{area}{rule}比对清单");
    let title = format!("{file}（请在“{ANSWER_HEADER}”列填写核实情况后上传）");
    table_download(csv, ("比对清单", &title), &file, &headers, &table)
}

/// The answer column of the downloads.
const ANSWER_HEADER: &str = "核实结果";
/// The code column of the downloads.
const CODE_HEADER: &str = "核对码";

/// What an answer upload stored.
#[derive(Debug, Serialize, ToSchema)]
struct AnswersBody {
    /// Answers stored (rows with a 核实结果).
    stored: usize,
    /// Rows whose 核对码 names no mismatch of the rule in the person's areas (the data
    /// changed since the download, or the code was altered), by row as Excel shows it.
    unknown_rows: Vec<u32>,
}

/// Uploads a department's answers to one rule's mismatches: the list downloaded as
/// XLSX (or CSV) with its 核实结果 column filled in. Each answer is stored with who
/// and when, replacing an earlier answer to the same mismatch.
#[utoipa::path(post, path = "/api/v1/crosschecks/{rule}/answers", tag = "crosschecks",
    params(("rule" = String, Path, description = "The rule's id")),
    request_body(description = "The downloaded list (XLSX or CSV) with 核实结果 filled in, as the request body", content(
        (FileBody = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (FileBody = "application/octet-stream"))),
    responses(
        (status = 200, description = "The answers stored", body = AnswersBody),
        (status = 400, description = "The file is not the list: it names the file, row and column", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such rule of yours", body = ProblemDetails, content_type = "application/problem+json")))]
async fn answers(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(rule): ApiPath<String>,
    body: Bytes,
) -> Result<Json<AnswersBody>, ApiError> {
    let reader = Reader::of(&caller, &state.rolls);
    let capability = reader.capability();
    caller.require(capability)?;
    let rule = rule_of(&state.rolls, &reader, &rule)?.clone();
    let rows = read_answers(&body)?;
    let snapshot = state.snapshot();
    let scoped = scope(&snapshot, &caller, capability, None)?.inside()?;
    let filter = MismatchFilter {
        within: Some(scoped.code),
        kinds: reader.kinds.clone(),
    };
    let id = rule.id.clone();
    let by = caller.user().to_owned();
    let (stored, unknown_rows) = state
        .store
        .run(move |c| {
            let salt = crate::store::rolls::salt(c)?;
            let page = crate::store::rolls::mismatches(c, &id, &filter, None, 0)?;
            let by_code: std::collections::HashMap<String, String> = page
                .rows
                .into_iter()
                .map(|m| (check_code(&salt, &id, &m.key), m.key))
                .collect();
            let mut known = Vec::new();
            let mut unknown = Vec::new();
            for (row, code, result) in rows {
                match by_code.get(&code) {
                    Some(key) => known.push((id.clone(), key.clone(), result)),
                    None => unknown.push(row),
                }
            }
            let at = calendar::utc_timestamp();
            let stored = crate::store::rolls::save_answers(c, &known, (&by, &at))?;
            Ok((stored, unknown))
        })
        .await?;
    caller.record(
        &state.audit,
        "crosscheck_answers",
        Some(format!("{}: {stored} answers", rule.id)),
        Some(stored),
    );
    Ok(Json(AnswersBody {
        stored,
        unknown_rows,
    }))
}

/// The rows of an answer file with a 核实结果: (row as Excel shows it, 核对码, result).
fn read_answers(bytes: &[u8]) -> Result<Vec<(u32, String, String)>, ApiError> {
    use crate::formats::sheet::{self, cell_text, header_key};
    let mut columns: Option<(usize, usize)> = None;
    let mut out = Vec::new();
    let mut header_seen_by: u32 = 0;
    sheet::stream_rows(bytes, &sheet::Limits::UPLOAD, |row| match columns {
        None => {
            let find = |name: &str| {
                row.cells
                    .iter()
                    .position(|c| cell_text(c).is_some_and(|t| header_key(&t) == header_key(name)))
            };
            if let (Some(code), Some(answer)) = (find(CODE_HEADER), find(ANSWER_HEADER)) {
                columns = Some((code, answer));
            }
            header_seen_by = row.index + 1;
        }
        Some((code, answer)) => {
            let text = |i: usize| row.cells.get(i).and_then(cell_text);
            if let (Some(c), Some(a)) = (text(code), text(answer)) {
                out.push((row.index + 1, c, a.chars().take(500).collect()));
            }
        }
    })
    .map_err(|e| ApiError::invalid("body", format!("the file cannot be read: {e}")))?;
    if columns.is_none() {
        return Err(ApiError::invalid(
            "body",
            format!(
                "rows 1–{header_seen_by}: no header row with the columns {CODE_HEADER} and {ANSWER_HEADER} (upload the list downloaded with format=xlsx)"
            ),
        ));
    }
    Ok(out)
}
