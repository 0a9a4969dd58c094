//! `/api/v1/crs/convert` and `/api/v1/locate`: coordinate conversion and which village
//! and township hold a point.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ProblemDetails};
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::domain::Crs;
use crate::domain::FieldViolation;
use crate::spatial::round7;
use crate::spatial::{LonLat, crs};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(convert))
        .routes(routes!(locate))
}

/// Parses a coordinate-system name; CGCS2000 is WGS-84 to within centimetres.
fn parse_crs(field: &str, value: &str, errors: &mut Vec<FieldViolation>) -> Crs {
    Crs::from_name(value).unwrap_or_else(|| {
        errors.push(FieldViolation {
            field: field.into(),
            reason: format!(
                "unknown coordinate system {value:?}; expected wgs84, cgcs2000, gcj02 or bd09"
            ),
        });
        Crs::Wgs84
    })
}

fn check_lon_lat(lon: f64, lat: f64, errors: &mut Vec<FieldViolation>) {
    if !(-180.0..=180.0).contains(&lon) {
        errors.push(FieldViolation {
            field: "lon".into(),
            reason: format!("{lon} is not a longitude between -180 and 180"),
        });
    }
    if !(-90.0..=90.0).contains(&lat) {
        errors.push(FieldViolation {
            field: "lat".into(),
            reason: format!("{lat} is not a latitude between -90 and 90"),
        });
    }
}

/// `GET /api/v1/crs/convert` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ConvertParams {
    /// `wgs84`, `cgcs2000`, `gcj02` or `bd09`.
    from: String,
    /// `wgs84`, `cgcs2000`, `gcj02` or `bd09`.
    to: String,
    /// Longitude, degrees.
    lon: f64,
    /// Latitude, degrees.
    lat: f64,
}

/// A converted position.
#[derive(Debug, Serialize, ToSchema)]
struct Position {
    lon: f64,
    lat: f64,
}

/// Converts a position between WGS-84 (CGCS2000), GCJ-02 and BD-09.
#[utoipa::path(get, path = "/api/v1/crs/convert", tag = "spatial", params(ConvertParams),
    responses(
        (status = 200, description = "The position in the target system", body = Position),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json")))]
async fn convert(ApiQuery(p): ApiQuery<ConvertParams>) -> Result<Json<Position>, ApiError> {
    let mut errors = Vec::new();
    let from = parse_crs("from", &p.from, &mut errors);
    let to = parse_crs("to", &p.to, &mut errors);
    check_lon_lat(p.lon, p.lat, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidParams(errors));
    }
    let out = crs::convert(LonLat::new(p.lon, p.lat), from, to);
    Ok(Json(Position {
        lon: round7(out.lon),
        lat: round7(out.lat),
    }))
}

/// `GET /api/v1/locate` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LocateParams {
    /// Longitude, degrees.
    lon: f64,
    /// Latitude, degrees.
    lat: f64,
    /// The system of the position (default `wgs84`).
    crs: Option<String>,
}

/// An area in an answer.
#[derive(Debug, Serialize, ToSchema)]
struct Named {
    code: String,
    name: String,
}

/// Where a point lies.
#[derive(Debug, Serialize, ToSchema)]
struct Located {
    /// Whether the point lies in one of the county's villages.
    inside: bool,
    /// The point in WGS-84.
    lon: f64,
    lat: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    village: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    township: Option<Named>,
    /// For a point outside: the nearest village and how far it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    nearest_village: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
    /// In words, in Chinese, for a user.
    message: String,
}

/// Which village and township hold a point, or the nearest village and how far.
#[utoipa::path(get, path = "/api/v1/locate", tag = "spatial", params(LocateParams),
    responses(
        (status = 200, description = "Where the point lies", body = Located),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json")))]
async fn locate(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<LocateParams>,
) -> Result<Json<Located>, ApiError> {
    let mut errors = Vec::new();
    let from = p
        .crs
        .as_deref()
        .map_or(Crs::Wgs84, |c| parse_crs("crs", c, &mut errors));
    check_lon_lat(p.lon, p.lat, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidParams(errors));
    }
    let snapshot = state.snapshot();
    let wgs = crs::convert(LonLat::new(p.lon, p.lat), from, Crs::Wgs84);
    let named = |code: &str| Named {
        code: code.to_owned(),
        name: snapshot.name(code).unwrap_or_default().to_owned(),
    };
    let (lon, lat) = (round7(wgs.lon), round7(wgs.lat));
    Ok(Json(if let Some(v) = snapshot.villages.village_at(wgs) {
        Located {
            inside: true,
            lon,
            lat,
            message: format!(
                "位于{}{}",
                snapshot.name(&v.township_code).unwrap_or_default(),
                snapshot.name(&v.code).unwrap_or_default()
            ),
            village: Some(named(&v.code)),
            township: Some(named(&v.township_code)),
            nearest_village: None,
            distance_m: None,
        }
    } else {
        let nearest = snapshot.villages.nearest_village(wgs);
        Located {
            inside: false,
            lon,
            lat,
            message: match &nearest {
                Some((v, d)) => format!(
                    "不在本县范围内，距最近的{}约{:.0}米",
                    snapshot.name(&v.code).unwrap_or_default(),
                    d
                ),
                None => "不在本县范围内".to_owned(),
            },
            village: None,
            township: None,
            nearest_village: nearest.as_ref().map(|(v, _)| named(&v.code)),
            distance_m: nearest.map(|(_, d)| d.round()),
        }
    }))
}
