//! `/api/v1/quality`: location quality (seed 000 item 7; 账实相符) by area, and the
//! flagged households behind each count, personal data masked.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::areas::check_code;
use super::error::{ApiError, ProblemDetails};
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::domain::access::Capability;
use crate::domain::{AreaLevel, GpsPoint, mask_id_number, mask_name};
use crate::model::Snapshot;
use crate::spatial::quality::{FlagCounts, FlagKind, GroupQuality, LocationFlag};
use crate::store;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(households))
}

/// The label an aggregate asked outside the person's areas carries instead of the
/// area's name (which is not told, nor whether the area exists).
pub(crate) const OUTSIDE_LABEL: &str = "（不在您的权限范围内）";

/// The area a request is answered for.
#[derive(Debug)]
pub(crate) struct Scoped {
    /// The area's code; empty when outside.
    pub code: String,
    /// The area's name, or [`OUTSIDE_LABEL`].
    pub name: String,
    pub level: AreaLevel,
    /// The area lies outside the person's areas (or does not exist, which is not
    /// told apart): an aggregate answers empty, under [`OUTSIDE_LABEL`].
    pub outside: bool,
}

impl Scoped {
    /// A list of specific objects (households) outside is 404, as for an unknown area.
    pub(crate) fn inside(self) -> Result<Self, ApiError> {
        if self.outside {
            Err(ApiError::NotFound("no area with that code".into()))
        } else {
            Ok(self)
        }
    }
}

/// The area a request is scoped to, checked against the snapshot and the signed-in
/// person's areas: the county (or city) when `within` is absent; 400 for a malformed
/// code, 404 for an unknown one (to a person who sees the whole map). An area around
/// the person's one area is answered for their area (a township user asking for the
/// county gets their township); one outside their areas, known or not, is
/// [`Scoped::outside`].
pub(crate) fn scope(
    snapshot: &Snapshot,
    caller: &Caller,
    capability: Capability,
    within: Option<&str>,
) -> Result<Scoped, ApiError> {
    caller.require(capability)?;
    let requested = match within {
        None | Some("") if snapshot.top_code.is_empty() => {
            return Err(ApiError::NotFound("no area is loaded".into()));
        }
        None | Some("") => snapshot.top_code.clone(),
        Some(c) => {
            check_code(c).map_err(|reason| ApiError::invalid("within", reason))?;
            c.to_owned()
        }
    };
    let code = match caller.scoped_area(capability, within, &requested) {
        Ok(code) => code,
        Err(ApiError::NotFound(_)) => {
            // Not even the code asked is echoed: the answer names no outside area.
            return Ok(Scoped {
                level: AreaLevel::of_code(&requested).unwrap_or(AreaLevel::Village),
                code: String::new(),
                name: OUTSIDE_LABEL.to_owned(),
                outside: true,
            });
        }
        Err(e) => return Err(e),
    };
    let (name, level) = snapshot
        .names
        .get(&code)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no area with code {code}")))?;
    Ok(Scoped {
        code,
        name,
        level,
        outside: false,
    })
}

/// `GET /api/v1/quality` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SummaryParams {
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
}

/// A flag kind with its label, for clients that show the counts.
#[derive(Debug, Serialize)]
struct FlagInfo {
    code: &'static str,
    label: &'static str,
    count: u64,
}

fn flag_list(counts: &FlagCounts) -> Vec<FlagInfo> {
    FlagKind::ALL
        .iter()
        .map(|k| FlagInfo {
            code: k.code(),
            label: k.label_zh(),
            count: counts.get(*k),
        })
        .collect()
}

/// A village's or township's quality, named.
#[derive(Debug, Serialize)]
struct NamedGroup<'a> {
    name: &'a str,
    #[serde(flatten)]
    group: &'a GroupQuality,
}

fn named<'a>(snapshot: &'a Snapshot, group: &'a GroupQuality) -> NamedGroup<'a> {
    NamedGroup {
        name: snapshot.name(&group.code).unwrap_or_default(),
        group,
    }
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    code: String,
    name: String,
    level: AreaLevel,
    households: u64,
    located: u64,
    flags: Vec<FlagInfo>,
    /// Groups with a systematic-offset verdict, townships first.
    offsets: Vec<NamedGroup<'a>>,
    townships: Vec<NamedGroup<'a>>,
    villages: Vec<NamedGroup<'a>>,
}

/// Location quality of an area: counts per flag, offset verdicts, and the same per
/// township and village inside it.
#[utoipa::path(get, path = "/api/v1/quality", tag = "quality", params(SummaryParams),
    responses(
        (status = 200, description = "The quality summary", body = Object),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let snapshot = state.snapshot();
    let Scoped {
        code,
        name,
        level,
        outside,
    } = scope(&snapshot, &caller, Capability::Figures, p.within.as_deref())?;
    let report = &snapshot.quality;
    if outside {
        let body = Summary {
            code,
            name,
            level,
            households: 0,
            located: 0,
            flags: flag_list(&FlagCounts::default()),
            offsets: Vec::new(),
            townships: Vec::new(),
            villages: Vec::new(),
        };
        return serde_json::to_value(body)
            .map(Json)
            .map_err(|e| ApiError::Internal(e.into()));
    }
    let townships: Vec<&GroupQuality> = report
        .townships
        .iter()
        .filter(|g| g.code.starts_with(&code))
        .collect();
    let villages: Vec<&GroupQuality> = report
        .villages
        .iter()
        .filter(|g| g.code.starts_with(&code))
        .collect();
    let (households, located, flags) = if code == snapshot.top_code {
        (report.households, report.located, report.flags)
    } else if level.is_above_township() {
        // A county of a city (or a city of a province): its townships' sums.
        townships.iter().fold(
            (0, 0, FlagCounts::default()),
            |(households, located, mut flags), g| {
                flags.merge(&g.flags);
                (households + g.households, located + g.located, flags)
            },
        )
    } else {
        let own = if level == AreaLevel::Township {
            &townships
        } else {
            &villages
        };
        own.iter()
            .find(|g| g.code == code)
            .map_or((0, 0, FlagCounts::default()), |g| {
                (g.households, g.located, g.flags)
            })
    };
    let offsets = townships
        .iter()
        .chain(&villages)
        .filter(|g| g.offset.is_some())
        .map(|g| named(&snapshot, g))
        .collect();
    let body = Summary {
        code,
        name,
        level,
        households,
        located,
        flags: flag_list(&flags),
        offsets,
        townships: townships.iter().map(|g| named(&snapshot, g)).collect(),
        villages: villages.iter().map(|g| named(&snapshot, g)).collect(),
    };
    serde_json::to_value(body)
        .map(Json)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// `GET /api/v1/quality/households` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HouseholdParams {
    /// The area (2, 4, 6, 9 or 12 digits); default: the county, or the city above several.
    within: Option<String>,
    /// Only households with this flag (`no_gps`, `outside_county`, `outside_village`,
    /// `duplicate`, `swapped`, `coarse`, `offset`).
    flag: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    limit: Option<usize>,
    /// Households to skip.
    offset: Option<usize>,
}

/// A flagged household, masked.
#[derive(Debug, Serialize, ToSchema)]
struct FlaggedHousehold {
    household_no: String,
    village_code: String,
    village_name: String,
    township_code: String,
    township_name: String,
    /// 户主, masked (张*).
    head_name: String,
    /// The head's ID number, masked (`210499********1234`).
    head_id_number: String,
    /// The position as recorded, in its declared system.
    recorded: Option<GpsPoint>,
    flags: Vec<FlagWithLabel>,
}

/// A flag with its Chinese label.
#[derive(Debug, Serialize, ToSchema)]
struct FlagWithLabel {
    label: &'static str,
    #[serde(flatten)]
    flag: LocationFlag,
}

/// A page of flagged households.
#[derive(Debug, Serialize, ToSchema)]
struct FlaggedHouseholdPage {
    total: usize,
    limit: usize,
    offset: usize,
    items: Vec<FlaggedHousehold>,
}

/// The flagged households of an area, with the evidence of each flag; the head's
/// name and ID number masked. Personal data: for roles with field work in the area,
/// and on record in the audit log.
#[utoipa::path(get, path = "/api/v1/quality/households", tag = "quality", params(HouseholdParams),
    responses(
        (status = 200, description = "A page of flagged households", body = FlaggedHouseholdPage),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No area with the `within` code", body = ProblemDetails, content_type = "application/problem+json")))]
async fn households(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<HouseholdParams>,
) -> Result<Json<FlaggedHouseholdPage>, ApiError> {
    let snapshot = state.snapshot();
    let code = scope(
        &snapshot,
        &caller,
        Capability::Personal,
        p.within.as_deref(),
    )?
    .inside()?
    .code;
    let flag = match p.flag.as_deref() {
        None | Some("") => None,
        Some(f) => Some(FlagKind::from_code(f).ok_or_else(|| {
            let codes: Vec<&str> = FlagKind::ALL.iter().map(|k| k.code()).collect();
            ApiError::invalid(
                "flag",
                format!("unknown flag {f:?}; expected one of {}", codes.join(", ")),
            )
        })?),
    };
    let mut errors = crate::domain::Violations::new();
    let (limit, offset) = super::extract::paging(p.limit, p.offset, &mut errors);
    errors.into_result(())?;
    let matching: Vec<_> = snapshot
        .quality
        .flagged
        .iter()
        .filter(|f| {
            snapshot.locations[f.row as usize]
                .village_code
                .starts_with(&code)
        })
        .filter(|f| flag.is_none_or(|k| f.flags.iter().any(|x| x.kind() == k)))
        .collect();
    let page: Vec<_> = matching.iter().skip(offset).take(limit).collect();
    let nos: Vec<String> = page
        .iter()
        .map(|f| snapshot.household_nos[f.row as usize].to_owned())
        .collect();
    caller.record_personal(&state.audit, nos.iter().map(String::as_str));
    let lookup = nos.clone();
    let heads = state
        .store
        .run(move |c| {
            let refs: Vec<&str> = lookup.iter().map(String::as_str).collect();
            store::households::heads(c, &refs)
        })
        .await?;
    let items = page
        .iter()
        .zip(nos)
        .map(|(f, no)| {
            let h = &snapshot.locations[f.row as usize];
            let (name, id) = heads.get(&no).cloned().unwrap_or_default();
            FlaggedHousehold {
                village_name: snapshot
                    .name(&h.village_code)
                    .unwrap_or_default()
                    .to_owned(),
                township_name: snapshot
                    .name(&h.township_code)
                    .unwrap_or_default()
                    .to_owned(),
                village_code: h.village_code.to_string(),
                township_code: h.township_code.to_string(),
                head_name: mask_name(&name),
                head_id_number: mask_id_number(&id),
                recorded: h.gps,
                flags: f
                    .flags
                    .iter()
                    .map(|x| FlagWithLabel {
                        label: x.kind().label_zh(),
                        flag: x.clone(),
                    })
                    .collect(),
                household_no: no,
            }
        })
        .collect();
    Ok(Json(FlaggedHouseholdPage {
        total: matching.len(),
        limit,
        offset,
        items,
    }))
}
