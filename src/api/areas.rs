//! `/api/v1/areas`: the county's divisions, as JSON lists and GeoJSON.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::AreaLevel;
use crate::domain::AreaSummary;
use crate::domain::access::Capability;
use crate::spatial::geojson::area_feature as feature;
use crate::store::{self, AreaFilter};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(collection))
        .routes(routes!(one))
}

/// `?level=&parent=` of the area lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AreaParams {
    /// `county`, `township`, `village` (with communities) or `community`.
    level: Option<String>,
    /// Only the children of this code.
    parent: Option<String>,
    /// `polygon` (default) for the boundaries, `label` for one point inside each area
    /// where its name belongs (`/api/v1/areas.geojson` only).
    geometry: Option<String>,
}

impl AreaParams {
    fn filter(self) -> Result<AreaFilter, ApiError> {
        let mut errors = Vec::new();
        let level = match self.level.as_deref() {
            None | Some("") => None,
            Some(l) => {
                let parsed = AreaLevel::from_code(l);
                if parsed.is_none() {
                    errors.push(crate::domain::FieldViolation {
                        field: "level".into(),
                        reason: format!(
                            "unknown level {l:?}; expected county, township, village or community"
                        ),
                    });
                }
                parsed
            }
        };
        let parent = match self.parent {
            None => None,
            Some(p) if p.is_empty() => None,
            Some(p) => {
                if let Err(reason) = check_code(&p) {
                    errors.push(crate::domain::FieldViolation {
                        field: "parent".into(),
                        reason,
                    });
                }
                Some(p)
            }
        };
        if errors.is_empty() {
            Ok(AreaFilter { level, parent })
        } else {
            Err(ApiError::InvalidParams(errors))
        }
    }
}

/// A division code is 2, 4, 6, 9 or 12 digits (province to village).
pub(crate) fn check_code(code: &str) -> Result<(), String> {
    if AreaLevel::of_code(code).is_some() && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{code:?} is not a division code (2, 4, 6, 9 or 12 digits)"
        ))
    }
}

/// An area in a JSON list.
#[derive(Debug, Serialize, ToSchema)]
struct AreaItem {
    #[serde(flatten)]
    summary: AreaSummary,
    /// The level in Chinese.
    level_name: &'static str,
}

impl From<AreaSummary> for AreaItem {
    fn from(summary: AreaSummary) -> Self {
        let level_name = summary.level.label_zh();
        Self {
            summary,
            level_name,
        }
    }
}

/// The divisions with household counts: those inside the signed-in person's areas.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas", params(AreaParams),
    responses(
        (status = 200, description = "The areas, in code order", body = Vec<AreaItem>),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<AreaParams>,
) -> Result<Json<Vec<AreaItem>>, ApiError> {
    let filter = params.filter()?;
    let areas = state
        .store
        .run(move |c| store::areas::list(c, &filter))
        .await?;
    Ok(Json(
        areas
            .into_iter()
            .filter(|a| caller.may(Capability::Figures, &a.code))
            .map(AreaItem::from)
            .collect(),
    ))
}

/// The divisions inside the signed-in person's areas as a GeoJSON FeatureCollection
/// (WGS-84, 7 decimals).
#[utoipa::path(get, path = "/api/v1/areas.geojson", tag = "areas", params(AreaParams),
    responses(
        (status = 200, description = "A FeatureCollection", content_type = "application/geo+json", body = Object),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json")))]
async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<AreaParams>,
) -> Result<Response, ApiError> {
    let labels = match params.geometry.as_deref() {
        None | Some("" | "polygon") => false,
        Some("label") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "geometry",
                format!("unknown geometry {other:?}; expected polygon or label"),
            ));
        }
    };
    let filter = params.filter()?;
    let mut records = state
        .store
        .run(move |c| store::areas::records(c, &filter))
        .await?;
    records.retain(|r| caller.may(Capability::Figures, &r.summary.code));
    let features: Vec<geojson::Feature> = if labels {
        records
            .iter()
            .map(crate::spatial::geojson::area_label_feature)
            .collect()
    } else {
        records.iter().map(feature).collect()
    };
    Ok(geojson_response(&geojson::FeatureCollection::new(features)))
}

/// One division as a GeoJSON Feature.
#[utoipa::path(get, path = "/api/v1/areas/{code}", tag = "areas",
    params(("code" = String, Path, description = "Division code: 2, 4, 6, 9 or 12 digits")),
    responses(
        (status = 200, description = "A Feature", content_type = "application/geo+json", body = Object),
        (status = 400, description = "The code is malformed", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with this code in your areas", body = ProblemDetails, content_type = "application/problem+json")))]
async fn one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    check_code(&code).map_err(|reason| ApiError::invalid("code", reason))?;
    caller.require_in(
        Capability::Figures,
        &code,
        &format!("no area with code {code}"),
    )?;
    let lookup = code.clone();
    let record = state
        .store
        .run(move |c| store::areas::record(c, &lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no area with code {code}")))?;
    Ok(geojson_response(&feature(&record)))
}

fn geojson_response(body: &impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_every_level_are_accepted_and_others_refused() {
        for ok in ["210422", "210422100", "210422100201"] {
            assert!(check_code(ok).is_ok(), "{ok}");
        }
        for bad in ["", "21042", "2104221000", "21042210020a", "２１０４２２"] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let params = AreaParams {
            level: Some("hamlet".into()),
            parent: Some("abc".into()),
            geometry: None,
        };
        let Err(ApiError::InvalidParams(errors)) = params.filter() else {
            panic!("expected invalid parameters");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["level", "parent"]);
    }
}
