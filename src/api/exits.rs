//! `/api/v1/exit-verdicts` and `/api/v1/inclusion-candidates`: the poverty villages
//! judged by the exit standard (贫困村退出, seed 000 三、（四）), and the persons on the
//! departments' rolls outside the registry who should perhaps be included (应纳未纳,
//! seed 003 item 7), with the township's decisions on them.
//!
//! Verdicts are figures (every role with figures reads them in its areas); candidates
//! are personal data (the roles that read it, names and ID numbers masked, every read
//! audited); only a township user decides, in its township, and every decision is kept
//! with who made it and when.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::indicators::table_download;
use super::quality::{Scoped, scope};
use crate::app::AppState;
use crate::domain::access::Capability;
use crate::domain::calendar;
use crate::domain::exits::{ExitStandard, FormFieldType, POVERTY_INCIDENCE, shown};
use crate::domain::{mask_id_number, mask_name};
use crate::formats::table::Cell;
use crate::store::exits::{Candidate, Decision, JudgedItem};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verdicts))
        .routes(routes!(candidates))
        .routes(routes!(decide))
}

/// Parameters of both lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// The area (6, 9 or 12 digits; or the city or province above the counties);
    /// default: the county, or the city above several.
    within: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    format: Option<String>,
}

fn format_of(p: &ListParams) -> Result<&'static str, ApiError> {
    match p.format.as_deref() {
        None | Some("" | "json") => Ok("json"),
        Some("csv") => Ok("csv"),
        Some("xlsx") => Ok("xlsx"),
        Some(_) => Err(ApiError::invalid("format", "must be json, csv or xlsx")),
    }
}

/// An item of the standard.
#[derive(Debug, Serialize, ToSchema)]
struct StandardItem {
    id: String,
    name_zh: String,
    /// `<`, `<=`, `>`, `>=` or `=`.
    op: String,
    threshold: f64,
    /// The threshold as users read it (2.00%, 50000元, 是).
    threshold_shown: String,
    /// `national` or `county` (a setting the county checks against its documents).
    basis: crate::domain::exits::Basis,
    source: String,
}

/// One item of one village, judged.
#[derive(Debug, Serialize, ToSchema)]
struct ItemVerdict {
    id: String,
    name_zh: String,
    /// The value measured (a share for ratios and the incidence, yuan, 1/0 for 是/否);
    /// `null`: no data.
    value: Option<f64>,
    /// The value as users read it.
    value_shown: Option<String>,
    threshold_shown: String,
    /// `null`: no data.
    passed: Option<bool>,
    /// Why, in Chinese.
    reason: String,
    /// The form's file and row the value came from.
    source: Option<String>,
}

/// A poverty village's verdict.
#[derive(Debug, Serialize, ToSchema)]
struct VillageVerdict {
    code: String,
    name: String,
    township: Option<String>,
    /// 达标, 未达标 or 缺数据.
    verdict: String,
    failing: usize,
    missing: usize,
    items: Vec<ItemVerdict>,
}

/// `GET /api/v1/exit-verdicts`.
#[derive(Debug, Serialize, ToSchema)]
struct VerdictsBody {
    within: String,
    within_name: String,
    standard: Vec<StandardItem>,
    /// Poverty villages in scope, and how many are 达标, 未达标, 缺数据.
    villages: usize,
    passed: usize,
    failed: usize,
    missing_data: usize,
    rows: Vec<VillageVerdict>,
}

fn field_type(standard: &ExitStandard, measure: &str) -> Option<FormFieldType> {
    standard.field(measure).map(|f| f.field_type)
}

fn threshold_shown(standard: &ExitStandard, item: &crate::domain::exits::ExitItem) -> String {
    format!(
        "{}{}",
        item.op.zh(),
        shown(field_type(standard, &item.measure), item.threshold)
    )
}

/// One judged item with its reason in Chinese.
fn item_verdict(standard: &ExitStandard, j: &JudgedItem) -> Option<ItemVerdict> {
    let item = standard.items.iter().find(|i| i.id == j.item)?;
    let kind = field_type(standard, &item.measure);
    let value_shown = j.value.map(|v| shown(kind, v));
    let wanted = threshold_shown(standard, item);
    let detail = if item.measure == POVERTY_INCIDENCE {
        j.population.map_or_else(String::new, |p| {
            format!(
                "（未脱贫人口 {} 人 / {} {p:.0} 人）",
                j.poor_persons,
                if j.population_from_form {
                    "信息采集表农业户籍人口"
                } else {
                    "户籍登记人口"
                }
            )
        })
    } else {
        String::new()
    };
    let reason = match (j.passed, &value_shown) {
        (Some(true), Some(v)) => format!("{}：{v}{detail}，标准{wanted}：达标", item.name_zh),
        (Some(false), Some(v)) => format!("{}：{v}{detail}，应{wanted}：未达标", item.name_zh),
        _ if item.measure == POVERTY_INCIDENCE => {
            "没有人口数据（户籍中无本村人口，信息采集表未填农业户籍人口）：缺数据".to_owned()
        }
        _ => format!("信息采集表未填报{}：缺数据", item.name_zh),
    };
    Some(ItemVerdict {
        id: item.id.clone(),
        name_zh: item.name_zh.clone(),
        value: j.value,
        value_shown,
        threshold_shown: wanted,
        passed: j.passed,
        reason,
        source: j
            .source
            .as_ref()
            .filter(|_| item.measure != POVERTY_INCIDENCE || j.population_from_form)
            .map(|(f, r)| format!("{f} 第{r}行")),
    })
}

/// Groups judged items by village into verdicts.
fn village_verdicts(
    standard: &ExitStandard,
    judged: &[JudgedItem],
    snapshot: &crate::model::Snapshot,
) -> Vec<VillageVerdict> {
    let mut out: Vec<VillageVerdict> = Vec::new();
    for j in judged {
        if out.last().is_none_or(|v| v.code != j.village_code) {
            let name = |code: &str| snapshot.names.get(code).map(|(n, _)| n.clone());
            out.push(VillageVerdict {
                code: j.village_code.clone(),
                name: name(&j.village_code).unwrap_or_default(),
                township: name(&j.village_code[..9.min(j.village_code.len())]),
                verdict: String::new(),
                failing: 0,
                missing: 0,
                items: Vec::new(),
            });
        }
        if let (Some(v), Some(item)) = (out.last_mut(), item_verdict(standard, j)) {
            match item.passed {
                Some(false) => v.failing += 1,
                None => v.missing += 1,
                Some(true) => {}
            }
            v.items.push(item);
        }
    }
    for v in &mut out {
        if v.failing > 0 {
            "未达标"
        } else if v.missing > 0 {
            "缺数据"
        } else {
            "达标"
        }
        .clone_into(&mut v.verdict);
    }
    out
}

/// Every poverty village (贫困村) in an area judged by the exit standard: each item's
/// value, threshold, pass or fail and reason, and the village's verdict (达标, 未达标,
/// or 缺数据 when an item has no data and none fails); JSON, or CSV and XLSX with one
/// row per village and item.
#[utoipa::path(get, path = "/api/v1/exit-verdicts", tag = "exits", params(ListParams),
    responses(
        (status = 200, description = "The verdicts (JSON; or CSV, XLSX by `format`)", body = VerdictsBody),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn verdicts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let format = format_of(&p)?;
    let snapshot = state.snapshot();
    let Scoped {
        code,
        name,
        outside,
        ..
    } = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let judged = if outside {
        Vec::new()
    } else {
        let within = code.clone();
        state
            .store
            .run(move |c| crate::store::exits::judged(c, &within))
            .await?
    };
    let standard = &state.exits;
    let rows = village_verdicts(standard, &judged, &snapshot);
    if format != "json" {
        return verdict_download(&rows, &name, format == "csv");
    }
    let count = |v: &str| rows.iter().filter(|r| r.verdict == v).count();
    Ok(Json(VerdictsBody {
        within: code,
        within_name: name,
        standard: standard
            .items
            .iter()
            .map(|i| StandardItem {
                id: i.id.clone(),
                name_zh: i.name_zh.clone(),
                op: i.op.symbol().to_owned(),
                threshold: i.threshold,
                threshold_shown: threshold_shown(standard, i),
                basis: i.basis,
                source: i.source.clone(),
            })
            .collect(),
        villages: rows.len(),
        passed: count("达标"),
        failed: count("未达标"),
        missing_data: count("缺数据"),
        rows,
    })
    .into_response())
}

fn verdict_download(rows: &[VillageVerdict], area: &str, csv: bool) -> Result<Response, ApiError> {
    let table: Vec<Vec<Cell>> = rows
        .iter()
        .flat_map(|v| {
            v.items.iter().map(move |i| {
                vec![
                    v.township.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::text(v.name.clone()),
                    Cell::text(v.code.clone()),
                    Cell::text(v.verdict.clone()),
                    Cell::text(i.name_zh.clone()),
                    i.value_shown.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::text(i.threshold_shown.clone()),
                    Cell::text(match i.passed {
                        Some(true) => "达标",
                        Some(false) => "未达标",
                        None => "缺数据",
                    }),
                    Cell::text(i.reason.clone()),
                ]
            })
        })
        .collect();
    let headers = [
        "乡镇",
        "村",
        "村代码",
        "村结论",
        "指标",
        "数值",
        "标准",
        "是否达标",
        "说明",
    ];
    let file = format!("{area}贫困村退出指标达标情况");
    table_download(csv, ("退出指标", &file), &file, &headers, &table)
}

/// A decision in force or kept.
#[derive(Debug, Serialize, ToSchema)]
struct DecisionItem {
    /// 纳入 or 不纳入.
    decision: String,
    reason: String,
    /// The account that decided.
    by: String,
    /// When (UTC).
    at: String,
}

impl From<Decision> for DecisionItem {
    fn from(d: Decision) -> Self {
        Self {
            decision: decision_zh(&d.decision).to_owned(),
            reason: d.reason,
            by: d.by,
            at: d.at,
        }
    }
}

fn decision_zh(code: &str) -> &str {
    match code {
        "include" => "纳入",
        "exclude" => "不纳入",
        other => other,
    }
}

/// A person the screening found.
#[derive(Debug, Serialize, ToSchema)]
struct CandidateItem {
    /// The candidate's id (a salted hash: no ID number in it).
    id: String,
    village_code: Option<String>,
    village_name: Option<String>,
    /// The village as the roll wrote it, when it names no stored village (or several).
    village_text: Option<String>,
    /// Masked (`210499********1234`).
    id_number: String,
    /// Masked (`张*`).
    name: Option<String>,
    /// The rolls that name the person (低保特困, 残疾人, 危房改造, 一般农户).
    rolls: Vec<String>,
    /// Per-capita income by the general households' file, if known.
    income: Option<f64>,
    /// The monitoring line in force.
    line: Option<f64>,
    /// Why the person is a candidate, one reason each, in Chinese.
    reasons: Vec<String>,
    /// The township's decision in force, if any.
    decision: Option<DecisionItem>,
}

/// `GET /api/v1/inclusion-candidates`.
#[derive(Debug, Serialize, ToSchema)]
struct CandidatesBody {
    within: String,
    within_name: String,
    total: usize,
    /// Not decided yet.
    pending: usize,
    included: usize,
    excluded: usize,
    rows: Vec<CandidateItem>,
}

/// Why a candidate is one, in Chinese: the vulnerabilities, then the income against the
/// line (or that it is unknown), then the problems.
fn reasons(c: &Candidate) -> Vec<String> {
    let mut out = Vec::new();
    for (on, text) in [
        (c.subsistence, "享受农村低保（民政名单）"),
        (c.extreme, "特困供养（民政名单）"),
        (c.disabled, "持证残疾人（残联名单）"),
        (c.illness, "家中有大病患者（一般农户信息）"),
        (
            c.dangerous_house,
            "住房为C/D级危房且改造未竣工验收（住建名单）",
        ),
    ] {
        if on {
            out.push(text.to_owned());
        }
    }
    match (c.income, c.line) {
        (Some(i), Some(l)) if i < l => {
            out.push(format!("人均纯收入 {i:.0} 元，低于监测线 {l:.0} 元"));
        }
        (Some(i), Some(l)) => out.push(format!("人均纯收入 {i:.0} 元，不低于监测线 {l:.0} 元")),
        (Some(i), None) => out.push(format!("人均纯收入 {i:.0} 元（本县没有适用的监测线）")),
        (None, _) => out.push("收入不详（一般农户信息中没有此人）：需入户核实收入".to_owned()),
    }
    for (on, text) in [
        (c.food_clothing, "愁吃或愁穿"),
        (c.dropout, "有义务教育阶段失学辍学"),
        (c.uninsured, "有家庭成员未参加基本医保"),
        (c.general_house, "住房鉴定为C/D级（一般农户信息）"),
        (c.water, "饮水不安全"),
    ] {
        if on {
            out.push(text.to_owned());
        }
    }
    if c.village_code.is_none() {
        out.push(match &c.village_text {
            Some(t) => format!("名单所填村“{t}”无法对应到唯一的村，请核实"),
            None => "名单未填所在村，请核实".to_owned(),
        });
    }
    out
}

fn candidate_item(
    c: Candidate,
    snapshot: &crate::model::Snapshot,
    rolls: &crate::domain::rolls::RollCatalog,
) -> CandidateItem {
    let reasons = reasons(&c);
    CandidateItem {
        village_name: c
            .village_code
            .as_ref()
            .and_then(|v| snapshot.names.get(v))
            .map(|(n, _)| n.clone()),
        village_text: c.village_text.clone().filter(|_| c.village_code.is_none()),
        id_number: mask_id_number(&c.id_number),
        name: c.name.as_deref().map(mask_name),
        rolls: c
            .kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| rolls.kind(k).map_or(k, |r| r.name_zh.as_str()).to_owned())
            .collect(),
        income: c.income,
        line: c.line,
        reasons,
        decision: c.decision.map(DecisionItem::from),
        id: c.id,
        village_code: c.village_code,
    }
}

/// The persons on the civil-affairs (低保/特困), disability and housing rolls and the
/// general rural households' file (一般农户) whom the registry does not hold and who
/// should perhaps be included (应纳未纳), with the reasons and the township's decision;
/// names and ID numbers masked, every read audited. Persons whose village the rolls do
/// not resolve are listed at the county.
#[utoipa::path(get, path = "/api/v1/inclusion-candidates", tag = "exits", params(ListParams),
    responses(
        (status = 200, description = "The candidates (JSON; or CSV, XLSX by `format`)", body = CandidatesBody),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code in your areas", body = ProblemDetails, content_type = "application/problem+json")))]
async fn candidates(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let format = format_of(&p)?;
    let snapshot = state.snapshot();
    let scoped = scope(
        &snapshot,
        &caller,
        Capability::Personal,
        p.within.as_deref(),
    )?
    .inside()?;
    let within = scoped.code.clone();
    let found = state
        .store
        .run(move |c| crate::store::exits::candidates(c, &within))
        .await?;
    let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
    if !ids.is_empty() {
        caller.record(
            &state.audit,
            "read_personal",
            Some(format!("应纳未纳疑似对象 {}", ids.join(","))),
            Some(ids.len()),
        );
    }
    let rows: Vec<CandidateItem> = found
        .into_iter()
        .map(|c| candidate_item(c, &snapshot, &state.rolls))
        .collect();
    if format != "json" {
        return candidate_download(&rows, &scoped.name, format == "csv");
    }
    let decided = |d: &str| {
        rows.iter()
            .filter(|r| r.decision.as_ref().is_some_and(|x| x.decision == d))
            .count()
    };
    Ok(Json(CandidatesBody {
        within: scoped.code,
        within_name: scoped.name,
        total: rows.len(),
        pending: rows.iter().filter(|r| r.decision.is_none()).count(),
        included: decided("纳入"),
        excluded: decided("不纳入"),
        rows,
    })
    .into_response())
}

fn candidate_download(rows: &[CandidateItem], area: &str, csv: bool) -> Result<Response, ApiError> {
    let text = |v: &Option<String>| v.clone().map_or(Cell::Empty, Cell::Text);
    let table: Vec<Vec<Cell>> = rows
        .iter()
        .map(|c| {
            vec![
                Cell::text(c.id.clone()),
                text(&c.village_name),
                text(&c.village_code),
                Cell::text(c.id_number.clone()),
                text(&c.name),
                Cell::text(c.rolls.join("、")),
                c.income.map_or(Cell::Empty, Cell::Number),
                Cell::text(c.reasons.join("；")),
                c.decision
                    .as_ref()
                    .map_or(Cell::text("待核实"), |d| Cell::text(d.decision.clone())),
                c.decision.as_ref().map_or(Cell::Empty, |d| {
                    Cell::text(format!("{}（{} {}）", d.reason, d.by, d.at))
                }),
            ]
        })
        .collect();
    let headers = [
        "对象编号",
        "村",
        "村代码",
        "证件号码",
        "姓名",
        "所在名单",
        "人均纯收入(元)",
        "疑似原因",
        "乡镇认定",
        "认定理由",
    ];
    let file = format!("{area}应纳未纳疑似对象");
    table_download(csv, ("应纳未纳", &file), &file, &headers, &table)
}

/// A township's decision on a candidate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// 纳入 (include as a monitored household) or 不纳入.
    decision: String,
    /// Why (1 to 500 characters).
    reason: String,
}

/// `POST /api/v1/inclusion-candidates/{id}/decision`'s answer.
#[derive(Debug, Serialize, ToSchema)]
struct DecisionAnswer {
    id: String,
    /// The decision now in force.
    decision: DecisionItem,
    /// Every decision on the candidate, oldest first.
    history: Vec<DecisionItem>,
}

/// Records a township's decision on a candidate (纳入 or 不纳入, with a reason), kept
/// with who and when; a later decision replaces it in force and the history keeps
/// both.
#[utoipa::path(post, path = "/api/v1/inclusion-candidates/{id}/decision", tag = "exits",
    params(("id" = String, Path, description = "The candidate's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The decision stored, with the candidate's history", body = DecisionAnswer),
        (status = 400, description = "The body is invalid; each field is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such candidate in your townships", body = ProblemDetails, content_type = "application/problem+json")))]
async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<DecisionAnswer>, ApiError> {
    caller.require(Capability::DecideInclusion)?;
    let mut violations = crate::domain::Violations::new();
    let decision = match body.decision.trim() {
        "纳入" | "include" => "include",
        "不纳入" | "exclude" => "exclude",
        _ => {
            violations.add("decision", "must be 纳入 or 不纳入");
            ""
        }
    };
    let reason = body.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        violations.add("reason", "must say why, in 1 to 500 characters");
    }
    violations.into_result(())?;
    let wanted = id.clone();
    let found = state
        .store
        .run(move |c| {
            Ok(crate::store::exits::candidates(c, "")?
                .into_iter()
                .find(|x| x.id == wanted))
        })
        .await?;
    let not_found = || ApiError::NotFound("no such candidate in your areas".to_owned());
    let candidate = found.ok_or_else(not_found)?;
    let place = candidate
        .village_code
        .as_deref()
        .unwrap_or(&candidate.county_code);
    if !caller.may(Capability::DecideInclusion, place) {
        return Err(not_found());
    }
    let by = caller.user().to_owned();
    let at = calendar::utc_timestamp();
    let history = {
        let (id, reason) = (id.clone(), reason.clone());
        state
            .store
            .run(move |c| {
                crate::store::exits::decide(c, &id, (decision, &reason), (&by, &at))?;
                crate::store::exits::decisions(c, &id)
            })
            .await?
    };
    caller.record(
        &state.audit,
        "inclusion_decision",
        Some(format!("{id}: {} ({reason})", decision_zh(decision))),
        Some(1),
    );
    // The village layer's tiles carry the count of undecided candidates.
    state.ledger_changed();
    let mut history: Vec<DecisionItem> = history.into_iter().map(DecisionItem::from).collect();
    let current = history.pop().ok_or_else(not_found)?;
    let mut all = history;
    let shown = DecisionItem {
        decision: current.decision.clone(),
        reason: current.reason.clone(),
        by: current.by.clone(),
        at: current.at.clone(),
    };
    all.push(current);
    Ok(Json(DecisionAnswer {
        id,
        decision: shown,
        history: all,
    }))
}
