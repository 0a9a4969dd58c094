//! `/api/v1/measures`: the assistance measures (帮扶措施, issue 17) by area and
//! department: for each village or township within an area, and each department, the
//! households that received a measure from it in a year, the measures and their
//! amounts, beside the area's households. Figures only: no household behind them (the
//! household view lists a household's own measures, the indicators
//! `no_development_measure` and `risk_without_measure` the households lacking one).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::ApiQuery;
use super::quality::scope;
use crate::app::AppState;
use crate::domain::AreaLevel;
use crate::domain::access::Capability;
use crate::store::measures::{self, CoverageBy};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(coverage))
}

/// `GET /api/v1/measures/coverage` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CoverageParams {
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// The year; default: the year the measure indicators judge (the income year).
    year: Option<i32>,
    /// `village` or `township`; default: townships within a county or larger, villages
    /// within a township or village.
    by: Option<String>,
}

/// Measure coverage by area and department.
#[derive(Debug, Serialize, ToSchema)]
struct Coverage {
    /// The area answered for (empty when outside the person's areas).
    within: String,
    /// Its name.
    name: String,
    /// The year.
    year: Option<i32>,
    /// Every year with measures recorded, latest first.
    years: Vec<i32>,
    /// `village` or `township`.
    by: String,
    /// The departments with any measure in the rows, sorted.
    departments: Vec<String>,
    /// One row per area, in code order.
    rows: Vec<CoverageRow>,
}

/// One area's coverage.
#[derive(Debug, Serialize, ToSchema)]
struct CoverageRow {
    code: String,
    name: String,
    /// Households registered in it.
    households: i64,
    /// Of them, those the policy reaches (脱贫户, 未脱贫户, 监测对象): the rates'
    /// denominator.
    policy_households: i64,
    /// Households with any measure in the year.
    households_with_measures: i64,
    /// Per department with measures here, in name order.
    departments: Vec<DepartmentCell>,
}

/// One department's measures in one area.
#[derive(Debug, Serialize, ToSchema)]
struct DepartmentCell {
    department: String,
    /// Households with at least one measure from it.
    households: i64,
    /// Measures (household and kind) recorded.
    measures: i64,
    /// Yuan given, where the rows say.
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<f64>,
    /// `households / policy_households`; `null` when no household is reached.
    rate: Option<f64>,
}

/// Measure coverage by village or township and department in a year: households
/// reached by each department, measures and amounts, and the rate over the households
/// the policy reaches. An area outside the person's areas answers empty.
#[utoipa::path(get, path = "/api/v1/measures/coverage", tag = "measures", params(CoverageParams),
    responses(
        (status = 200, body = Coverage),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn coverage(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<CoverageParams>,
) -> Result<Json<Coverage>, ApiError> {
    let snapshot = state.snapshot();
    let mut errors = crate::domain::Violations::new();
    let by = match p.by.as_deref() {
        None | Some("") => None,
        Some("village") => Some(CoverageBy::Village),
        Some("township") => Some(CoverageBy::Township),
        Some(other) => {
            errors.add(
                "by",
                format!("unknown grouping {other:?}; expected village or township"),
            );
            None
        }
    };
    if p.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        errors.add("year", "must be a year from 2000 to 2100");
    }
    errors.into_result(())?;
    let area = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let by = by.unwrap_or(match area.level {
        AreaLevel::Township | AreaLevel::Village | AreaLevel::Community => CoverageBy::Village,
        _ => CoverageBy::Township,
    });
    let within = area.code.clone();
    let outside = area.outside;
    let (year, years, (areas, cells)) = state
        .store
        .run(move |c| {
            let year = match p.year {
                Some(y) => Some(y),
                None => measures::current_year(c)?,
            };
            let figures = match year {
                Some(y) if !outside => measures::coverage(c, &within, y, by)?,
                _ => (Vec::new(), Vec::new()),
            };
            Ok((year, measures::years(c)?, figures))
        })
        .await?;
    let mut departments: Vec<String> = cells.iter().map(|c| c.department.clone()).collect();
    departments.sort();
    departments.dedup();
    let rows = areas
        .into_iter()
        .map(|a| {
            let mine: Vec<&measures::DepartmentCoverage> =
                cells.iter().filter(|c| c.code == a.code).collect();
            let rate =
                |n: i64| (a.policy_households > 0).then(|| n as f64 / a.policy_households as f64);
            CoverageRow {
                name: snapshot
                    .names
                    .get(&a.code)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default(),
                households_with_measures: a.with_measures,
                departments: mine
                    .iter()
                    .map(|c| DepartmentCell {
                        department: c.department.clone(),
                        households: c.households,
                        measures: c.measures,
                        amount: c.amount,
                        rate: rate(c.households),
                    })
                    .collect(),
                code: a.code,
                households: a.households,
                policy_households: a.policy_households,
            }
        })
        .collect();
    Ok(Json(Coverage {
        within: area.code,
        name: area.name,
        year,
        years,
        by: match by {
            CoverageBy::Village => "village",
            CoverageBy::Township => "township",
        }
        .to_owned(),
        departments,
        rows,
    }))
}
