//! Extractors whose rejections are problem documents naming the parameter.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Query parameters, deserialized with the failing field named in the error.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| invalid(e, "query"))
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The problem of a value that did not deserialize, naming the field (or `whole`
/// when no field can be named).
fn invalid<E: std::fmt::Display>(e: serde_path_to_error::Error<E>, whole: &str) -> ApiError {
    let field = e.path().to_string();
    let reason = e.into_inner().to_string();
    // Unknown and missing fields carry the name in the message, not the path.
    let field = if field == "." {
        named_field(&reason).unwrap_or_else(|| whole.to_owned())
    } else {
        field
    };
    ApiError::invalid(field, reason)
}

/// The field named in serde's "unknown field `x`, expected …" or "missing field `x`".
fn named_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// A JSON body, deserialized with the failing field named in the error; a body over
/// the route's size limit is a 413 that names the limit.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(format!(
                        "the request body is larger than the limit of {limit} bytes"
                    ))
                } else {
                    ApiError::invalid("body", e.body_text())
                }
            })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(ApiJson)
            .map_err(|e| invalid(e, "body"))
    }
}

/// The body limit of a route, in bytes, for the message of [`ApiJson`]'s 413.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);
