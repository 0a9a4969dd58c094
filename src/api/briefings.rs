//! `/api/v1/briefings/{township}`: a township's briefing pack (乡镇简报, issue 18) as
//! an A4 PDF or a printable page: maps and figures of the main indicators beside the
//! county's, the open ledger items, the week's visits, the next week's plan and the
//! assistance measures' coverage. An aggregate document: readable by whoever reads the
//! township's figures whole; a township outside the person's areas is 404.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::Caller;
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiPath, ApiQuery, FileBody};
use crate::app::AppState;
use crate::app::briefing::{BriefingError, BriefingRequest, gather, write};
use crate::domain::access::Capability;
use crate::render::RenderError;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(briefing))
}

/// `GET /api/v1/briefings/{township}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BriefingParams {
    /// `pdf` (default) or `html` (a printable page).
    format: Option<String>,
    /// The campaign (default: the latest one covering the township).
    campaign: Option<String>,
    /// The ISO week reported, `YYYY-Www` (default: this week while the campaign runs,
    /// else its last week with a visit in the township).
    week: Option<String>,
}

/// The file's names: an ASCII one for old clients, the Chinese one for the others.
fn disposition(code: &str, week: &str, township: &str, ext: &str) -> String {
    let ascii = format!("briefing-{code}-{week}.{ext}");
    let chinese = format!("{township}简报_{week}.{ext}");
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        crate::formats::percent_encode(&chinese)
    )
}

/// A township's briefing pack (简报): the main indicators mapped over its villages and
/// tabled beside the county's, the open and overdue ledger items, the week's visits and
/// findings, the next week's planned stops and the assistance measures' coverage by
/// department. A4, the Chinese font embedded; no person's name, ID number or position.
#[utoipa::path(get, path = "/api/v1/briefings/{township}", tag = "visits",
    params(("township" = String, Path, description = "The township's code (9 digits)"), BriefingParams),
    responses(
        (status = 200, description = "The briefing (PDF, or HTML with format=html)", content(
            (FileBody = "application/pdf"),
            (FileBody = "text/html"))),
        (status = 400, description = "A parameter is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such township in the person's areas, or no such campaign over it", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "No font on the server draws Chinese; the detail says how to fix it", body = ProblemDetails, content_type = "application/problem+json")))]
async fn briefing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(township): ApiPath<String>,
    ApiQuery(p): ApiQuery<BriefingParams>,
) -> Result<Response, ApiError> {
    let html = match p.format.as_deref() {
        None | Some("" | "pdf") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("unknown format {other:?}; expected pdf or html"),
            ));
        }
    };
    let missing = format!("no township with code {township}");
    if township.len() != 9 || !township.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "township",
            "a township's code has 9 digits",
        ));
    }
    // The whole township, or nothing: a village's secretary or an evaluator's sample
    // does not make the township's figures theirs.
    caller.require_in(Capability::Figures, &township, &missing)?;
    let request = BriefingRequest {
        township,
        campaign: p.campaign,
        week: p.week,
    };
    let catalog = caller.catalog(&state.catalog).into_owned();
    let (snapshot, store) = (state.snapshot(), state.store.clone());
    let (bytes, b) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let conn = store.conn()?;
        let b = gather(&conn, &snapshot, &catalog, &request).map_err(|e| match e {
            BriefingError::UnknownTownship(_) => ApiError::NotFound(missing),
            BriefingError::UnknownCampaign { .. } => ApiError::NotFound(e.to_string()),
            BriefingError::BadWeek(_) => ApiError::invalid("week", e.to_string()),
            BriefingError::Store(s) => s.into(),
            BriefingError::Ledger(l) => ApiError::Internal(l.into()),
        })?;
        let bytes = write(&b, html).map_err(unavailable)?;
        Ok((bytes, b))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let week = b
        .campaign
        .as_ref()
        .map_or_else(|| b.made_on.clone(), |c| c.week.0.clone());
    caller.record(
        &state.audit,
        "export",
        Some(format!(
            "township briefing {} {week} ({})",
            b.township_code,
            if html { "html" } else { "pdf" }
        )),
        None,
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let (kind, ext) = if html {
        ("text/html; charset=utf-8", "html")
    } else {
        ("application/pdf", "pdf")
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&disposition(&b.township_code, &week, &b.township, ext)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if html {
        super::access::as_document(&mut response);
    }
    Ok(response)
}

/// No Chinese font is the server's to fix (503, saying how); anything else is internal.
fn unavailable(e: RenderError) -> ApiError {
    match e {
        RenderError::NoCjkFont { .. } | RenderError::MissingGlyphs { .. } => {
            ApiError::Unavailable(e.to_string())
        }
        other => ApiError::Internal(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_named_in_ascii_and_in_chinese() {
        let d = disposition("210422101", "2019-W28", "新宾镇", "pdf");
        assert!(d.starts_with(
            "attachment; filename=\"briefing-210422101-2019-W28.pdf\"; filename*=UTF-8''"
        ));
        assert!(d.contains("%E6%96%B0"), "{d}");
    }
}
