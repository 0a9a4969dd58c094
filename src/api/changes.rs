//! The registry's versions and what changed between them (动态管理, seed 000): every
//! committed household or GPS import is a version; `/api/v1/changes` compares two by
//! households and persons added and removed, category and risk changes and every
//! indicator per area, `/api/v1/changes/households` lists the households behind those
//! counts (names masked), and `/api/v1/trend` follows one indicator over every version.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::ApiQuery;
use super::quality::{Scoped, scope};
use crate::app::AppState;
use crate::app::versions::Figures;
use crate::domain::access::Capability;
use crate::domain::{AreaLevel, Category, MeasureId, RiskState, Violations, mask_name};
use crate::formats::table::Cell;
use crate::indicators::{Catalog, Indicator, Value, measure_of};
use crate::model::Snapshot;
use crate::store::versions::{self, Diff, HouseholdChange, HouseholdChangeKind, Source, Version};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(changes))
        .routes(routes!(households))
        .routes(routes!(trend))
}

/// One version as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionItem {
    /// Its number (a data version): what `from` and `to` name.
    pub version: i64,
    /// The import that wrote it; `null` for the first (the demo, or the data before the
    /// first household import).
    pub import_id: Option<String>,
    /// `households` or `gps`.
    pub kind: Option<String>,
    /// The files it came from.
    pub source: Option<String>,
    /// When it was committed, UTC.
    pub committed_at: Option<String>,
    /// The date its data describes (数据时间).
    pub data_date: Option<String>,
    /// Whether it is the one being served.
    pub current: bool,
    /// How the web map names it, e.g. `2024-03-31（i-20240405-…）`.
    pub label: String,
}

impl From<&Version> for VersionItem {
    fn from(v: &Version) -> Self {
        let date = v.data_date.as_deref().unwrap_or("日期未记录");
        let label = match (&v.import_id, v.current) {
            (_, true) => format!("{date}（当前数据）"),
            (None, false) => format!("{date}（首次导入前）"),
            (Some(id), false) => format!("{date}（{id}）"),
        };
        Self {
            version: v.version,
            import_id: v.import_id.clone(),
            kind: v.kind.clone(),
            source: v.source.clone(),
            committed_at: v.committed_at.clone(),
            data_date: v.data_date.clone(),
            current: v.current,
            label,
        }
    }
}

/// `GET /api/v1/versions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    /// Oldest first; the last is the current one.
    pub versions: Vec<VersionItem>,
}

/// The versions of the household registry, oldest first: one per committed household
/// or GPS import (undone ones left out), after the data that was there before.
#[utoipa::path(get, path = "/api/v1/versions", tag = "indicators",
    responses((status = 200, description = "The versions", body = VersionList)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<VersionList>, ApiError> {
    caller.require(Capability::Figures)?;
    let all = state.store.run(versions::versions).await?;
    Ok(Json(VersionList {
        versions: all.iter().map(VersionItem::from).collect(),
    }))
}

/// Finds the versions `from` and `to` name; by default the current one and the one
/// before it.
fn pick(
    all: &[Version],
    (from, to): (Option<i64>, Option<i64>),
) -> Result<(Version, Version), ApiError> {
    let mut errors = Violations::new();
    let mut find = |param: &str, wanted: Option<i64>, default: usize| {
        let found = match wanted {
            None => all.get(default),
            Some(n) => all.iter().find(|v| v.version == n),
        };
        if found.is_none() {
            let known: Vec<String> = all.iter().map(|v| v.version.to_string()).collect();
            errors.add(
                param,
                format!(
                    "no version {}; the versions are {} (GET /api/v1/versions)",
                    wanted.unwrap_or_default(),
                    known.join(", ")
                ),
            );
        }
        found.cloned()
    };
    let last = all.len().saturating_sub(1);
    let to = find("to", to, last);
    let from = find("from", from, last.saturating_sub(1));
    errors.into_result(())?;
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(ApiError::NotFound("no versions".into())),
    }
}

/// What names a version's rows in the caches: a kept version never changes, the
/// current one changes with the data version.
fn state_key(
    c: &duckdb::Connection,
    version: &Version,
) -> Result<String, crate::store::StoreError> {
    Ok(match &version.state {
        Source::Current => format!("current/{}", crate::store::data_version(c)?),
        Source::Kept(id) => format!("kept/{id}"),
    })
}

/// One version's village figures, computed once and kept.
fn figures_of(
    state: &AppState,
    c: &duckdb::Connection,
    version: &Version,
    line: Option<f64>,
) -> Result<Figures, crate::store::StoreError> {
    let key = format!("{}/{line:?}", state_key(c, version)?);
    state
        .versions
        .get(&key, || versions::figures(c, &version.state, line))
}

/// What changed between two versions in the whole registry, computed once and kept.
fn diff_of(
    state: &AppState,
    c: &duckdb::Connection,
    (from, to): (&Version, &Version),
) -> Result<Arc<Diff>, crate::store::StoreError> {
    let key = format!("{}|{}", state_key(c, from)?, state_key(c, to)?);
    state
        .versions
        .diff(&key, || versions::diff(c, (&from.state, &to.state)))
}

/// The indicators asked (`indicators=a,b`), or every one the two versions compare by
/// that the person's catalog holds.
fn comparable_indicators(
    catalog: &Catalog,
    asked: Option<&str>,
) -> Result<Vec<(usize, Indicator)>, ApiError> {
    let comparable = versions::comparable();
    let position = |ind: &Indicator| comparable.iter().position(|m| *m == measure_of(ind));
    let mut out = Vec::new();
    let mut errors = Violations::new();
    match asked.filter(|a| !a.is_empty()) {
        None => {
            for ind in &catalog.indicators {
                if MeasureId::from_code(&ind.id).is_some()
                    && let Some(at) = position(ind)
                {
                    out.push((at, ind.clone()));
                }
            }
        }
        Some(list) => {
            for id in list.split(',') {
                match catalog.get(id) {
                    Some(ind) if MeasureId::from_code(id).is_some() && position(ind).is_some() => {
                        out.push((position(ind).unwrap_or_default(), ind.clone()));
                    }
                    Some(_) => errors.add(
                        "indicators",
                        format!(
                            "{id} is not compared between versions: ledger items belong to campaigns, and GPS checks need the positions judged"
                        ),
                    ),
                    None => errors.add(
                        "indicators",
                        format!("unknown indicator {id:?}; expected one of {}", catalog.ids()),
                    ),
                }
            }
        }
    }
    Ok(errors.into_result(out)?)
}

/// `GET /api/v1/changes` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ChangeParams {
    /// The earlier version (a number of `/api/v1/versions`); default: the one before `to`.
    from: Option<i64>,
    /// The later version; default: the current one.
    to: Option<i64>,
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// The level of the rows: `county`, `township` or `village`; default one below `within`.
    level: Option<String>,
    /// Indicator ids, comma-separated; default every one compared.
    indicators: Option<String>,
    /// `json` (default), `xlsx` (a summary sheet and a sheet of the areas) or `csv`
    /// (the areas: before, after and change of every indicator).
    format: Option<String>,
}

/// An indicator's figures in the two versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compared {
    /// In the earlier version.
    pub before: Value,
    /// In the later version.
    pub after: Value,
    /// `after.count - before.count`.
    pub count_change: i64,
    /// `after.rate - before.rate`; `null` when either has no data.
    pub rate_change: Option<f64>,
}

/// An area's figures in the two versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeRow {
    /// Division code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: AreaLevel,
    /// Households registered in the earlier version.
    pub households_before: i64,
    /// Households registered in the later version.
    pub households_after: i64,
    /// Persons in the earlier version.
    pub persons_before: i64,
    /// Persons in the later version.
    pub persons_after: i64,
    /// Per indicator id.
    pub values: BTreeMap<String, Compared>,
}

/// Added and removed, with the totals of both versions.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Counted {
    /// In the earlier version.
    pub before: i64,
    /// In the later version.
    pub after: i64,
    /// In the later version only (新增; persons: 自然增加).
    pub added: i64,
    /// In the earlier version only (减少; persons: 自然减少).
    pub removed: i64,
}

/// Monitoring (防返贫监测) between the versions.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Monitoring {
    /// Households monitored in the later version and not in the earlier (新识别监测对象),
    /// new households included.
    pub entered: i64,
    /// Households monitored before and still registered but no longer monitored (退出监测).
    pub left: i64,
    /// Monitored households whose risk went from 未消除 to 已消除 (风险消除).
    pub risk_resolved: i64,
    /// And back (风险返回).
    pub risk_reopened: i64,
}

/// Households that moved from one category to another.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryMove {
    /// The earlier category code.
    pub before: String,
    /// Its Chinese name.
    pub before_zh: String,
    /// The later category code.
    pub after: String,
    /// Its Chinese name.
    pub after_zh: String,
    /// Households that moved so.
    pub households: i64,
}

/// An indicator compared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparedIndicator {
    /// The indicator id.
    pub id: String,
    /// Its Chinese name.
    pub name_zh: String,
}

/// `GET /api/v1/changes`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeBody {
    /// The area asked lies outside the person's areas (or does not exist): nothing is
    /// counted, and the area is not named.
    pub outside: bool,
    /// The earlier version.
    pub from: VersionItem,
    /// The later version.
    pub to: VersionItem,
    /// The area compared.
    pub within: ChangeRow,
    /// The level of `rows`.
    pub level: AreaLevel,
    /// Households: totals, added and removed.
    pub households: Counted,
    /// Persons, by ID number: totals, added and removed.
    pub persons: Counted,
    /// Monitoring entered and left, risks resolved.
    pub monitoring: Monitoring,
    /// Category moves, largest first.
    pub categories: Vec<CategoryMove>,
    /// The indicators compared, in catalog order.
    pub indicators: Vec<ComparedIndicator>,
    /// One row per area of `level` inside `within`, in code order.
    pub rows: Vec<ChangeRow>,
    /// How the figures are judged.
    pub note: String,
}

/// What `rows` a comparison gives, checked against the area.
fn row_level(asked: Option<&str>, within: AreaLevel) -> Result<AreaLevel, ApiError> {
    let level = match asked.filter(|l| !l.is_empty()) {
        None => within.child().unwrap_or(AreaLevel::Village),
        Some(l) => AreaLevel::from_code(l).ok_or_else(|| {
            ApiError::invalid(
                "level",
                format!("unknown level {l:?}; expected city, county, township or village"),
            )
        })?,
    };
    if level.code_len() < within.code_len() {
        return Err(ApiError::invalid(
            "level",
            format!("{level} rows cannot be inside a {within}"),
        ));
    }
    Ok(level)
}

/// Sums village figures into areas: `area(code)` names the area a village counts in.
fn sum_into(
    rows: &mut BTreeMap<String, ChangeRow>,
    figures: (&Figures, &Figures),
    indicators: &[(usize, Indicator)],
    area: impl Fn(&str) -> Option<String>,
) {
    let mut sums: HashMap<String, [Vec<(i64, i64)>; 2]> = HashMap::new();
    for (side, village_figures) in [figures.0, figures.1].into_iter().enumerate() {
        for (village, f) in village_figures.iter() {
            let Some(code) = area(village) else { continue };
            let Some(row) = rows.get_mut(&code) else {
                continue;
            };
            if side == 0 {
                row.households_before += f.households;
                row.persons_before += f.persons;
            } else {
                row.households_after += f.households;
                row.persons_after += f.persons;
            }
            let acc = &mut sums.entry(code).or_insert_with(|| {
                [
                    vec![(0, 0); indicators.len()],
                    vec![(0, 0); indicators.len()],
                ]
            })[side];
            for (k, (at, _)) in indicators.iter().enumerate() {
                let (c, d) = f.values.get(*at).copied().unwrap_or_default();
                acc[k].0 += c;
                acc[k].1 += d;
            }
        }
    }
    for (code, row) in rows.iter_mut() {
        let empty = vec![(0, 0); indicators.len()];
        let [before, after] = sums
            .remove(code)
            .unwrap_or_else(|| [empty.clone(), empty.clone()]);
        for (k, (_, ind)) in indicators.iter().enumerate() {
            let before = Value::new(before[k].0, before[k].1);
            let after = Value::new(after[k].0, after[k].1);
            row.values.insert(
                ind.id.clone(),
                Compared {
                    before,
                    after,
                    count_change: after.count - before.count,
                    rate_change: before.rate.zip(after.rate).map(|(b, a)| a - b),
                },
            );
        }
    }
}

fn empty_row(code: &str, name: &str, level: AreaLevel) -> ChangeRow {
    ChangeRow {
        code: code.to_owned(),
        name: name.to_owned(),
        level,
        households_before: 0,
        households_after: 0,
        persons_before: 0,
        persons_after: 0,
        values: BTreeMap::new(),
    }
}

/// Households added and removed, monitoring, and category moves, counted.
type Summary = (Counted, Monitoring, Vec<CategoryMove>);

/// Counts the changed households into the summary's parts.
fn summarize<'a>(changes: impl IntoIterator<Item = &'a HouseholdChange>) -> Summary {
    let monitored = |c: &Option<String>| {
        c.as_deref()
            .and_then(Category::from_code)
            .is_some_and(Category::is_monitored)
    };
    let unresolved = Some(RiskState::Unresolved.code().to_owned());
    let resolved = Some(RiskState::Resolved.code().to_owned());
    let mut households = Counted::default();
    let mut monitoring = Monitoring::default();
    let mut moves: HashMap<(String, String), i64> = HashMap::new();
    for h in changes {
        match h.change {
            HouseholdChangeKind::Added => households.added += 1,
            HouseholdChangeKind::Removed => households.removed += 1,
            HouseholdChangeKind::Category => {
                if let (Some(b), Some(a)) = (&h.category_before, &h.category_after) {
                    *moves.entry((b.clone(), a.clone())).or_default() += 1;
                }
            }
            HouseholdChangeKind::Risk | HouseholdChangeKind::Members => {}
        }
        let (was, is) = (monitored(&h.category_before), monitored(&h.category_after));
        if is && !was {
            monitoring.entered += 1;
        }
        if was && !is && h.change != HouseholdChangeKind::Removed {
            monitoring.left += 1;
        }
        if was && is {
            if h.risk_state_before == unresolved && h.risk_state_after == resolved {
                monitoring.risk_resolved += 1;
            } else if h.risk_state_before == resolved && h.risk_state_after == unresolved {
                monitoring.risk_reopened += 1;
            }
        }
    }
    let zh =
        |c: &str| Category::from_code(c).map_or_else(|| c.to_owned(), |k| k.label_zh().to_owned());
    let mut categories: Vec<CategoryMove> = moves
        .into_iter()
        .map(|((before, after), households)| CategoryMove {
            before_zh: zh(&before),
            after_zh: zh(&after),
            before,
            after,
            households,
        })
        .collect();
    categories.sort_by(|a, b| {
        b.households
            .cmp(&a.households)
            .then_with(|| (&a.before, &a.after).cmp(&(&b.before, &b.after)))
    });
    (households, monitoring, categories)
}

/// What changed between two versions of the registry in an area: households and persons
/// added and removed (自然增加/减少), households entering and leaving monitoring, risks
/// resolved, category moves, and every indicator's figures in both versions per area.
/// Each version is judged by the same rules and today's poverty line.
#[utoipa::path(get, path = "/api/v1/changes", tag = "indicators", params(ChangeParams),
    responses(
        (status = 200, description = "The comparison (JSON; or XLSX, CSV by `format`)", content(
            (ChangeBody = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv"))),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ChangeParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let file = match p.format.as_deref().unwrap_or("json") {
        "json" | "" => None,
        "xlsx" => Some(true),
        "csv" => Some(false),
        other => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format {other:?}; expected json, xlsx or csv"),
            ));
        }
    };
    let area = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let level = row_level(p.level.as_deref(), area.level)?;
    let indicators =
        comparable_indicators(&caller.catalog(&state.catalog), p.indicators.as_deref())?;
    let all = state.store.run(versions::versions).await?;
    let (from, to) = pick(&all, (p.from, p.to))?;
    let line = snapshot.income_line.as_ref().map(|l| l.yuan_per_capita);
    let answered = (!area.outside).then(|| area.code.clone());
    let (figures, summary, persons) = {
        let st = state.clone();
        let (from, to) = (from.clone(), to.clone());
        state
            .store
            .run(move |c| {
                let figures = (
                    figures_of(&st, c, &from, line)?,
                    figures_of(&st, c, &to, line)?,
                );
                let Some(code) = answered else {
                    return Ok((figures, Summary::default(), (0, 0)));
                };
                // Counted where the difference is kept: nothing is copied per request.
                let diff = diff_of(&st, c, (&from, &to))?;
                let summary = summarize(diff.households_in(&code));
                Ok((figures, summary, diff.persons_in(&code)))
            })
            .await?
    };
    let body = compare(
        &snapshot,
        &area,
        level,
        (&from, &to),
        &indicators,
        (&figures, summary, persons),
    );
    match file {
        None => Ok(Json(body).into_response()),
        Some(xlsx) => changes_file(&body, xlsx),
    }
}

/// The headers and rows of the areas compared: the area itself first (合计), then its
/// parts; per indicator its count before and after, the change, and both rates (%).
fn area_table(body: &ChangeBody) -> (Vec<String>, Vec<Vec<Cell>>) {
    let mut headers: Vec<String> = [
        "代码",
        "名称",
        "户数（前）",
        "户数（后）",
        "人数（前）",
        "人数（后）",
    ]
    .map(str::to_owned)
    .to_vec();
    for i in &body.indicators {
        for part in ["前", "后", "变化", "占比前(%)", "占比后(%)"] {
            headers.push(format!("{}·{part}", i.name_zh));
        }
    }
    let percent = |v: &Value| v.rate.map_or(Cell::Empty, |r| Cell::Number(r * 100.0));
    let row = |r: &ChangeRow, name: String| {
        let mut cells = vec![
            Cell::text(r.code.clone()),
            Cell::text(name),
            Cell::Number(r.households_before as f64),
            Cell::Number(r.households_after as f64),
            Cell::Number(r.persons_before as f64),
            Cell::Number(r.persons_after as f64),
        ];
        for i in &body.indicators {
            if let Some(v) = r.values.get(&i.id) {
                cells.extend([
                    Cell::Number(v.before.count as f64),
                    Cell::Number(v.after.count as f64),
                    Cell::Number(v.count_change as f64),
                    percent(&v.before),
                    percent(&v.after),
                ]);
            }
        }
        cells
    };
    let mut rows = vec![row(&body.within, format!("{}（合计）", body.within.name))];
    rows.extend(body.rows.iter().map(|r| row(r, r.name.clone())));
    (headers, rows)
}

/// The comparison as a file: XLSX with a summary sheet (数据变化汇总) and the areas'
/// sheet, or CSV of the areas.
fn changes_file(body: &ChangeBody, xlsx: bool) -> Result<Response, ApiError> {
    let (headers, rows) = area_table(body);
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let stem = format!(
        "{}数据变化_{}_{}",
        body.within.name,
        body.from.data_date.as_deref().unwrap_or("前"),
        body.to.data_date.as_deref().unwrap_or("后")
    );
    if !xlsx {
        return Ok(super::indicators::download(
            crate::formats::table::csv(&headers, &rows),
            "text/csv; charset=utf-8",
            &format!("{stem}.csv"),
        ));
    }
    let (h, p, m) = (&body.households, &body.persons, &body.monitoring);
    let n = |x: i64| Cell::Number(x as f64);
    let mut summary = vec![
        vec![
            Cell::text("户数"),
            n(h.before),
            n(h.after),
            n(h.added),
            n(h.removed),
        ],
        vec![
            Cell::text("人数"),
            n(p.before),
            n(p.after),
            n(p.added),
            n(p.removed),
        ],
        vec![
            Cell::text("新识别监测对象（户）"),
            Cell::Empty,
            Cell::Empty,
            n(m.entered),
            Cell::Empty,
        ],
        vec![
            Cell::text("退出监测（户）"),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            n(m.left),
        ],
        vec![
            Cell::text("风险消除（户）"),
            Cell::Empty,
            Cell::Empty,
            n(m.risk_resolved),
            Cell::Empty,
        ],
    ];
    summary.extend(body.categories.iter().map(|c| {
        vec![
            Cell::text(format!("{} → {}（户）", c.before_zh, c.after_zh)),
            Cell::Empty,
            Cell::Empty,
            n(c.households),
            Cell::Empty,
        ]
    }));
    let title = format!(
        "{}：{} 与 {} 对比",
        body.within.name, body.from.label, body.to.label
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let bytes = crate::formats::table::add_sheet(
        &mut book,
        "数据变化汇总",
        Some(&title),
        &["项目", "前", "后", "增加", "减少"],
        &summary,
    )
    .and_then(|()| {
        crate::formats::table::add_sheet(&mut book, "各区域指标变化", Some(&title), &headers, &rows)
    })
    .and_then(|()| book.save_to_buffer())
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(super::indicators::download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{stem}.xlsx"),
    ))
}

/// The comparison's body from its parts.
fn compare(
    snapshot: &Snapshot,
    area: &Scoped,
    level: AreaLevel,
    (from, to): (&Version, &Version),
    indicators: &[(usize, Indicator)],
    (figures, summary, (added, removed)): (&(Figures, Figures), Summary, (i64, i64)),
) -> ChangeBody {
    let mut within = BTreeMap::from([(
        area.code.clone(),
        empty_row(&area.code, &area.name, area.level),
    )]);
    let mut rows: BTreeMap<String, ChangeRow> = BTreeMap::new();
    if !area.outside {
        sum_into(&mut within, (&figures.0, &figures.1), indicators, |v| {
            v.starts_with(&area.code).then(|| area.code.clone())
        });
        for (code, (name, l)) in &snapshot.names {
            let same = *l == level || (level == AreaLevel::Village && *l == AreaLevel::Community);
            if same && code.starts_with(&area.code) {
                rows.insert(code.clone(), empty_row(code, name, *l));
            }
        }
        let len = level.code_len();
        sum_into(&mut rows, (&figures.0, &figures.1), indicators, |v| {
            v.get(..len).map(str::to_owned)
        });
    }
    let within = within
        .into_values()
        .next()
        .unwrap_or_else(|| empty_row("", "", area.level));
    let (mut households, monitoring, categories) = summary;
    households.before = within.households_before;
    households.after = within.households_after;
    let persons = Counted {
        before: within.persons_before,
        after: within.persons_after,
        added,
        removed,
    };
    ChangeBody {
        outside: area.outside,
        from: VersionItem::from(from),
        to: VersionItem::from(to),
        within,
        level,
        households,
        persons,
        monitoring,
        categories,
        indicators: indicators
            .iter()
            .map(|(_, i)| ComparedIndicator {
                id: i.id.clone(),
                name_zh: i.name_zh.clone(),
            })
            .collect(),
        rows: rows.into_values().collect(),
        note: "两个版本按同一口径计算（收入按当前贫困线），按登记所在村统计；位置类指标不比较"
            .into(),
    }
}

/// `GET /api/v1/changes/households` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HouseholdParams {
    /// As in `/api/v1/changes`.
    from: Option<i64>,
    /// As in `/api/v1/changes`.
    to: Option<i64>,
    /// The area (2, 4, 6, 9 or 12 digits).
    within: Option<String>,
    /// Which changes, comma-separated: `added`, `removed`, `category`, `risk`,
    /// `members`, `entered` (entered monitoring), `left` (left monitoring); default all.
    change: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<usize>,
    /// Households to skip.
    offset: Option<usize>,
    /// `json` (default, a page) or `xlsx` (every household of the list, 户编号 as text).
    format: Option<String>,
}

/// A household that changed, name masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangedHousehold {
    /// The household number (户编号).
    pub household_no: String,
    /// Its village (the later version's, or the earlier one's if removed).
    pub village_code: String,
    /// The village's name.
    pub village_name: String,
    /// The head's name, masked (张*).
    pub head_name: String,
    /// What changed.
    pub change: HouseholdChangeKind,
    /// 新增, 减少, 类别变化, 风险状态变化 or 人口变化.
    pub change_zh: String,
    /// Its category in the earlier version.
    pub category_before: Option<String>,
    /// Its Chinese name.
    pub category_before_zh: Option<String>,
    /// Its category in the later version.
    pub category_after: Option<String>,
    /// Its Chinese name.
    pub category_after_zh: Option<String>,
    /// Its risk state (风险未消除/已消除) in the earlier version.
    pub risk_state_before: Option<String>,
    /// Its risk state in the later version.
    pub risk_state_after: Option<String>,
    /// Its members in the earlier version.
    pub members_before: Option<i64>,
    /// Its members in the later version.
    pub members_after: Option<i64>,
}

/// `GET /api/v1/changes/households`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangedPage {
    /// Households that changed so, in all.
    pub total: usize,
    /// Page size.
    pub limit: usize,
    /// Households skipped.
    pub offset: usize,
    /// This page.
    pub items: Vec<ChangedHousehold>,
}

/// Which changes a list keeps.
fn change_filter(asked: Option<&str>) -> Result<Vec<&str>, ApiError> {
    const KNOWN: [&str; 7] = [
        "added", "removed", "category", "risk", "members", "entered", "left",
    ];
    let Some(list) = asked.filter(|a| !a.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut errors = Violations::new();
    let mut out = Vec::new();
    for c in list.split(',') {
        match KNOWN.iter().find(|k| **k == c) {
            Some(k) => out.push(*k),
            None => errors.add(
                "change",
                format!("unknown change {c:?}; expected {}", KNOWN.join(", ")),
            ),
        }
    }
    Ok(errors.into_result(out)?)
}

fn keeps(wanted: &[&str], h: &HouseholdChange) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let monitored = |c: &Option<String>| {
        c.as_deref()
            .and_then(Category::from_code)
            .is_some_and(Category::is_monitored)
    };
    let (was, is) = (monitored(&h.category_before), monitored(&h.category_after));
    wanted.iter().any(|w| match *w {
        "added" => h.change == HouseholdChangeKind::Added,
        "removed" => h.change == HouseholdChangeKind::Removed,
        "category" => h.change == HouseholdChangeKind::Category,
        "risk" => h.change == HouseholdChangeKind::Risk,
        "members" => h.change == HouseholdChangeKind::Members,
        "entered" => is && !was,
        "left" => was && !is && h.change != HouseholdChangeKind::Removed,
        _ => false,
    })
}

/// The households behind `/api/v1/changes`' counts, in village and household-number
/// order, head names masked, no ID numbers.
#[utoipa::path(get, path = "/api/v1/changes/households", tag = "indicators", params(HouseholdParams),
    responses(
        (status = 200, description = "A page of changed households, or every one as XLSX", content(
            (ChangedPage = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn households(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<HouseholdParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let mut errors = Violations::new();
    let (limit, offset) = super::extract::paging(p.limit, p.offset, &mut errors);
    let xlsx = match p.format.as_deref().unwrap_or("json") {
        "json" | "" => false,
        "xlsx" => true,
        other => {
            errors.add(
                "format",
                format!("unknown format {other:?}; expected json or xlsx"),
            );
            false
        }
    };
    errors.into_result(())?;
    let wanted = change_filter(p.change.as_deref())?;
    let area = scope(
        &snapshot,
        &caller,
        Capability::Personal,
        p.within.as_deref(),
    )?
    .inside()?;
    let all = state.store.run(versions::versions).await?;
    let (from, to) = pick(&all, (p.from, p.to))?;
    let st = state.clone();
    let diff = state
        .store
        .run(move |c| diff_of(&st, c, (&from, &to)))
        .await?;
    let kept: Vec<&HouseholdChange> = diff
        .households_in(&area.code)
        .filter(|h| keeps(&wanted, h))
        .collect();
    // The file holds every household of the list; the page, one page.
    let page: Vec<&HouseholdChange> = if xlsx {
        kept.clone()
    } else {
        kept.iter().skip(offset).take(limit).copied().collect()
    };
    caller.record_personal(&state.audit, page.iter().map(|h| h.household_no.as_str()));
    let zh = |c: &Option<String>| {
        c.as_deref().map(|c| {
            Category::from_code(c).map_or_else(|| c.to_owned(), |k| k.label_zh().to_owned())
        })
    };
    let items: Vec<ChangedHousehold> = page
        .into_iter()
        .map(|h| ChangedHousehold {
            household_no: h.household_no.clone(),
            village_code: h.village_code.clone(),
            village_name: snapshot
                .names
                .get(&h.village_code)
                .map(|(n, _)| n.clone())
                .unwrap_or_default(),
            head_name: mask_name(&h.head_name),
            change: h.change,
            change_zh: match h.change {
                HouseholdChangeKind::Added => "新增",
                HouseholdChangeKind::Removed => "减少",
                HouseholdChangeKind::Category => "类别变化",
                HouseholdChangeKind::Risk => "风险状态变化",
                HouseholdChangeKind::Members => "人口变化",
            }
            .to_owned(),
            category_before_zh: zh(&h.category_before),
            category_after_zh: zh(&h.category_after),
            category_before: h.category_before.clone(),
            category_after: h.category_after.clone(),
            risk_state_before: h.risk_state_before.clone(),
            risk_state_after: h.risk_state_after.clone(),
            members_before: h.members_before,
            members_after: h.members_after,
        })
        .collect();
    if xlsx {
        return changed_file(&area.name, &items);
    }
    Ok(Json(ChangedPage {
        total: kept.len(),
        limit,
        offset,
        items,
    })
    .into_response())
}

/// The changed households as XLSX, one row each, 户编号 as text, names masked.
fn changed_file(area: &str, items: &[ChangedHousehold]) -> Result<Response, ApiError> {
    let headers = [
        "户编号",
        "村",
        "户主（脱敏）",
        "变化",
        "类别（前）",
        "类别（后）",
        "风险状态（前）",
        "风险状态（后）",
        "人数（前）",
        "人数（后）",
    ];
    let risk = |r: &Option<String>| {
        r.as_deref()
            .and_then(RiskState::from_code)
            .map_or(Cell::Empty, |r| Cell::text(r.label_zh()))
    };
    let text = |t: &Option<String>| t.clone().map_or(Cell::Empty, Cell::text);
    let number = |n: Option<i64>| n.map_or(Cell::Empty, |n| Cell::Number(n as f64));
    let rows: Vec<Vec<Cell>> = items
        .iter()
        .map(|h| {
            vec![
                Cell::text(h.household_no.clone()),
                Cell::text(h.village_name.clone()),
                Cell::text(h.head_name.clone()),
                Cell::text(h.change_zh.clone()),
                text(&h.category_before_zh),
                text(&h.category_after_zh),
                risk(&h.risk_state_before),
                risk(&h.risk_state_after),
                number(h.members_before),
                number(h.members_after),
            ]
        })
        .collect();
    let bytes = crate::formats::table::xlsx(
        "变化的农户",
        Some(&format!("{area}变化的农户")),
        &headers,
        &rows,
    )
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(super::indicators::download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{area}变化的农户.xlsx"),
    ))
}

/// `GET /api/v1/trend` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TrendParams {
    /// The indicator id.
    indicator: String,
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// `json` (default), `png` or `svg` (a line chart for reports).
    format: Option<String>,
}

/// One version's figure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    /// The version.
    pub version: i64,
    /// The date its data describes.
    pub data_date: Option<String>,
    /// How the web map names the version.
    pub label: String,
    /// The figure.
    #[serde(flatten)]
    pub value: Value,
}

/// `GET /api/v1/trend`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendBody {
    /// As in `/api/v1/changes`: outside the person's areas, every figure is empty.
    pub outside: bool,
    /// The indicator id.
    pub indicator: String,
    /// Its Chinese name.
    pub name_zh: String,
    /// The area's code.
    pub within: String,
    /// The area's name.
    pub within_name: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}

/// The figure of one indicator in an area in every version, oldest first (JSON), or
/// drawn as a line chart (PNG or SVG) for reports.
#[utoipa::path(get, path = "/api/v1/trend", tag = "indicators", params(TrendParams),
    responses(
        (status = 200, description = "The figures, or the chart", content(
            (TrendBody = "application/json"),
            (Vec<u8> = "image/png"),
            (String = "image/svg+xml"))),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<TrendParams>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let format = match p.format.as_deref().unwrap_or("json") {
        "json" | "" => TrendFormat::Json,
        "png" => TrendFormat::Png,
        "svg" => TrendFormat::Svg,
        other => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format {other:?}; expected json, png or svg"),
            ));
        }
    };
    let (at, indicator) = comparable_indicators(
        &caller.catalog(&state.catalog),
        Some(&p.indicator),
    )
    .map_err(|_| {
        ApiError::invalid(
            "indicator",
            format!(
                "{:?} is not an indicator compared between versions; see /api/v1/indicators",
                p.indicator
            ),
        )
    })?
    .into_iter()
    .next()
    .ok_or_else(|| ApiError::invalid("indicator", "no indicator named"))?;
    let area = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let line = snapshot.income_line.as_ref().map(|l| l.yuan_per_capita);
    let st = state.clone();
    let per_version: Vec<(Version, Figures)> = state
        .store
        .run(move |c| {
            versions::versions(c)?
                .into_iter()
                .map(|v| {
                    let f = figures_of(&st, c, &v, line)?;
                    Ok((v, f))
                })
                .collect()
        })
        .await?;
    let points = per_version
        .iter()
        .map(|(v, figures)| {
            let (mut count, mut denominator) = (0, 0);
            if !area.outside {
                for (village, f) in figures.iter() {
                    if village.starts_with(&area.code) {
                        let (c, d) = f.values.get(at).copied().unwrap_or_default();
                        count += c;
                        denominator += d;
                    }
                }
            }
            let item = VersionItem::from(v);
            TrendPoint {
                version: v.version,
                data_date: v.data_date.clone(),
                label: item.label,
                value: Value::new(count, denominator),
            }
        })
        .collect();
    let body = TrendBody {
        outside: area.outside,
        indicator: indicator.id.clone(),
        name_zh: indicator.name_zh.clone(),
        within: area.code.clone(),
        within_name: area.name.clone(),
        points,
    };
    match format {
        TrendFormat::Json => Ok(Json(body).into_response()),
        TrendFormat::Png | TrendFormat::Svg => chart(&snapshot, &indicator, &body, format).await,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrendFormat {
    Json,
    Png,
    Svg,
}

/// The trend drawn as a line chart (the rate at each version; a version without a
/// denominator is a gap).
async fn chart(
    snapshot: &Snapshot,
    indicator: &Indicator,
    body: &TrendBody,
    format: TrendFormat,
) -> Result<Response, ApiError> {
    let points = body
        .points
        .iter()
        .map(|p| {
            (
                p.data_date.clone().unwrap_or_else(|| p.version.to_string()),
                p.value.rate.unwrap_or(f64::NAN),
            )
        })
        .collect();
    let spec = crate::render::indicator::trend_spec(
        indicator,
        &body.within_name,
        points,
        (snapshot.data_date.as_deref(), snapshot.demo),
    );
    let svg = format == TrendFormat::Svg;
    let file = format!(
        "{}{}历次数据.{}",
        body.within_name,
        indicator.name_zh,
        if svg { "svg" } else { "png" }
    );
    super::maps::draw(
        move |font| {
            if svg {
                crate::render::line_chart_svg(&spec, font).map(String::into_bytes)
            } else {
                crate::render::line_chart_png(&spec, font)
            }
        },
        svg,
        file,
    )
    .await
}
