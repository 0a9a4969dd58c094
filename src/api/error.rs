//! The one HTTP-facing error type and its `application/problem+json` body (RFC 9457).
//!
//! Handlers return `Result<_, ApiError>`; domain errors convert into it with `?`.
//! 4xx bodies say what was wrong and where (the parameter), never with personal data.
//! 5xx bodies say only "internal error": the real error rides in the response
//! extensions and is logged by [`log_app_errors`], inside the request's trace span.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::FieldViolation;
use crate::store::StoreError;

/// An error that ends a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Parameters failed validation; each one is named.
    #[error("invalid parameters")]
    InvalidParams(Vec<FieldViolation>),
    /// The resource does not exist; the message says which.
    #[error("{0}")]
    NotFound(String),
    /// The request is larger than a limit; the message says which limit.
    #[error("{0}")]
    TooLarge(String),
    /// The resource changed since the version the request was based on; nothing was
    /// written; the message says who changed it and when.
    #[error("{0}")]
    Conflict(String),
    /// This machine cannot do it (e.g. no font that draws Chinese); the message says
    /// what is missing and how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// The service is busy with work of this kind; the message says when to try again.
    #[error("{0}")]
    Busy(String),
    /// Nobody is signed in (or the session ended): sign in first.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed attempts; the message says when to try again.
    #[error("{0}")]
    Throttled(String),
    /// The signed-in person's roles do not allow this; the message says what.
    #[error("{0}")]
    Forbidden(String),
    /// Anything else: a bug or an outage, never the client's fault.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<crate::ledger::LedgerError> for ApiError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        use crate::ledger::LedgerError;
        match e {
            LedgerError::NoCampaign(_) | LedgerError::NoTemplate { .. } => {
                ApiError::NotFound(e.to_string())
            }
            LedgerError::Area(m) => ApiError::invalid("within", m),
            LedgerError::Date(_) => ApiError::invalid("as_of", e.to_string()),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<crate::planner::PlanError> for ApiError {
    fn from(e: crate::planner::PlanError) -> Self {
        use crate::planner::PlanError;
        match e {
            PlanError::TooManyTargets { .. } => ApiError::invalid("indicators", e.to_string()),
            PlanError::Store(e) => e.into(),
            PlanError::Cancelled => ApiError::Internal(e.into()),
        }
    }
}

impl From<Vec<FieldViolation>> for ApiError {
    fn from(violations: Vec<FieldViolation>) -> Self {
        ApiError::InvalidParams(violations)
    }
}

impl ApiError {
    /// A single invalid parameter.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidParams(vec![FieldViolation::new(field, reason)])
    }

    /// The 401 of a request nobody signed.
    #[must_use]
    pub fn unauthenticated() -> Self {
        ApiError::Unauthenticated(
            "sign in first (a session cookie from POST /api/v1/session, or an API token in Authorization: Bearer)".to_owned(),
        )
    }

    /// The HTTP status of the error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParams(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The problem document (RFC 9457) of every error response; `Problem` in the
/// OpenAPI document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDetails<'a> {
    /// A URI reference naming the kind of problem.
    r#type: &'a str,
    /// A short summary of the kind.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// What went wrong in this request.
    detail: String,
    /// The invalid parameters, each named.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldViolation]>,
}

/// Most violations one answer lists: a bad file may break a rule on every row, and
/// the answer must stay small whatever was sent.
pub const MAX_VIOLATIONS: usize = 100;

/// Longest field name or reason in an answer, in characters; longer ones are cut
/// with `…` (a reason may quote what was sent).
pub const MAX_VIOLATION_CHARS: usize = 300;

/// The violations an answer lists: at most [`MAX_VIOLATIONS`], then one naming how
/// many more there were, each cut to [`MAX_VIOLATION_CHARS`].
fn bounded(errors: &[FieldViolation]) -> Vec<FieldViolation> {
    let cut = |s: &str| {
        if s.chars().count() > MAX_VIOLATION_CHARS {
            let mut out: String = s.chars().take(MAX_VIOLATION_CHARS).collect();
            out.push('…');
            out
        } else {
            s.to_owned()
        }
    };
    let mut out: Vec<FieldViolation> = errors
        .iter()
        .take(MAX_VIOLATIONS)
        .map(|e| FieldViolation::new(cut(&e.field), cut(&e.reason)))
        .collect();
    if errors.len() > MAX_VIOLATIONS {
        out.push(FieldViolation::new(
            "…",
            format!("and {} more like these", errors.len() - MAX_VIOLATIONS),
        ));
    }
    out
}

/// Marks a response whose internal error [`log_app_errors`] should log.
#[derive(Debug, Clone)]
struct LoggedError(Arc<anyhow::Error>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let bounded = match &self {
            ApiError::InvalidParams(errors) => bounded(errors),
            _ => Vec::new(),
        };
        let (kind, title, detail, errors) = match &self {
            ApiError::InvalidParams(_) => {
                let names: Vec<&str> = bounded.iter().map(|e| e.field.as_str()).collect();
                (
                    "/problems/invalid-parameter",
                    "Invalid parameter",
                    format!("invalid value for: {}", names.join(", ")),
                    Some(bounded.as_slice()),
                )
            }
            ApiError::NotFound(what) => ("/problems/not-found", "Not found", what.clone(), None),
            ApiError::TooLarge(what) => ("/problems/too-large", "Too large", what.clone(), None),
            ApiError::Conflict(what) => (
                "/problems/conflict",
                "Changed meanwhile",
                what.clone(),
                None,
            ),
            ApiError::Unavailable(what) => (
                "/problems/unavailable",
                "Unavailable on this server",
                what.clone(),
                None,
            ),
            ApiError::Busy(what) => ("/problems/busy", "Busy", what.clone(), None),
            ApiError::Unauthenticated(what) => (
                "/problems/unauthenticated",
                "Not signed in",
                what.clone(),
                None,
            ),
            ApiError::Forbidden(what) => ("/problems/forbidden", "Forbidden", what.clone(), None),
            ApiError::Throttled(what) => (
                "/problems/throttled",
                "Too many attempts",
                what.clone(),
                None,
            ),
            ApiError::Internal(_) => (
                "/problems/internal",
                "Internal error",
                "internal error".to_owned(),
                None,
            ),
        };
        let mut response = problem(
            status,
            ProblemDetails {
                r#type: kind,
                title,
                status: status.as_u16(),
                detail,
                errors,
            },
        );
        if let ApiError::Internal(e) = self {
            response.extensions_mut().insert(LoggedError(Arc::new(e)));
        }
        response
    }
}

/// A problem document as a response, `application/problem+json`.
fn problem(status: StatusCode, body: ProblemDetails<'_>) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The longest request target the service reads, in bytes: no route needs more, and
/// beyond 65,534 bytes the HTTP library itself answers 414 with an empty body.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Whether a path is the API's (answered with problem documents), not the web app's.
/// `/health` answers its own document, 503 included.
fn is_api(path: &str) -> bool {
    path.starts_with("/api") || path.starts_with("/tiles") || path == "/openapi.json"
}

/// Middleware that makes every error the API answers a problem document: a request
/// target over [`MAX_URI_BYTES`] is a 414 problem, and an error that a layer or axum
/// itself answered in plain text or with no body (405, a body over a limit, …) is
/// rewritten as a problem of the same status, its headers (`Allow`) kept.
pub async fn problem_bodies(request: Request, next: Next) -> Response {
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target_len > MAX_URI_BYTES {
        return problem(
            StatusCode::URI_TOO_LONG,
            ProblemDetails {
                r#type: "/problems/uri-too-long",
                title: "Request target too long",
                status: StatusCode::URI_TOO_LONG.as_u16(),
                detail: format!(
                    "the request target is {target_len} bytes; the limit is {MAX_URI_BYTES}"
                ),
                errors: None,
            },
        );
    }
    let api = is_api(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !api || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A plain-text reason is short; more than this is not read.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = if status.is_server_error() {
        "internal error".to_owned()
    } else {
        let text = String::from_utf8_lossy(&text).trim().to_owned();
        if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text
        }
    };
    let mut rewritten = problem(
        status,
        ProblemDetails {
            r#type: "/problems/http",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            errors: None,
        },
    );
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// Middleware that logs the internal error behind a 5xx response, in the request span.
pub async fn log_app_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(LoggedError(e)) = response.extensions().get::<LoggedError>() {
        tracing::error!(error = ?e, "request failed");
    }
    response
}

/// The 404 for any path under `/api` that no route matches.
pub async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API endpoint at {}", uri.path()))
}
