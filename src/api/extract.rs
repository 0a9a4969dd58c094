//! Extractors whose rejections are problem documents naming the parameter.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Path parameters, deserialized with the failing one named in a problem document (a
/// tile row of -1 or 2^32, a zoom of 256, a bad entry position).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::{ErrorKind, RawPathParams};
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let names: Vec<String> = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map(|raw| raw.iter().map(|(k, _)| k.to_owned()).collect())
                    .unwrap_or_default();
                let (field, expected) = match e.into_kind() {
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => (key, expected_type),
                    ErrorKind::ParseErrorAtIndex {
                        index,
                        expected_type,
                        ..
                    } => (
                        names.get(index).cloned().unwrap_or_else(|| "path".into()),
                        expected_type,
                    ),
                    ErrorKind::ParseError { expected_type, .. } => (
                        names.first().cloned().unwrap_or_else(|| "path".into()),
                        expected_type,
                    ),
                    other => return Err(ApiError::invalid("path", other.to_string())),
                };
                Err(ApiError::invalid(
                    field,
                    format!("cannot be read as {}", type_words(expected)),
                ))
            }
            Err(other) => Err(ApiError::invalid("path", other.body_text())),
        }
    }
}

/// What a Rust type name asks for, in words a client understands.
fn type_words(rust: &str) -> &'static str {
    match rust {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number of 0 or more",
        "i32" | "i64" => "a whole number",
        "f64" | "f32" => "a number",
        _ => "the expected value",
    }
}

/// A request body read whole, a body over the route's limit being a 413 problem that
/// names the limit (axum's own is plain text).
#[derive(Debug, Clone)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        axum::body::Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e| too_large_or(&e, limit))
    }
}

/// A body rejection as a problem: 413 naming the limit, else 400.
fn too_large_or(e: &axum::extract::rejection::BytesRejection, limit: Option<usize>) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(limit.map_or_else(
            || "the request body is larger than this route takes".to_owned(),
            |l| format!("the request body is larger than the limit of {l} bytes"),
        ))
    } else {
        ApiError::invalid("body", e.body_text())
    }
}

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
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| too_large_or(&e, limit))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(ApiJson)
            .map_err(|e| invalid(e, "body"))
    }
}

/// The body limit of a route, in bytes, for the message of [`ApiJson`]'s 413.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Most rows a list answers at once.
pub const MAX_LIMIT: usize = 1000;
/// Rows a list answers when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Most rows a page may skip: more than a city's households, and far inside the
/// store's 64-bit offsets (a larger one was a 500 from DuckDB).
pub const MAX_OFFSET: usize = 100_000_000;

/// A page's `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and `offset` (at
/// most [`MAX_OFFSET`], default 0), each bad one named in `errors`.
pub fn paging(
    limit: Option<usize>,
    offset: Option<usize>,
    errors: &mut crate::domain::Violations,
) -> (usize, usize) {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        errors.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    let offset = offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        errors.add("offset", format!("must be at most {MAX_OFFSET}"));
    }
    (limit, offset)
}

/// A file sent as the whole request body (XLSX or CSV bytes), for the OpenAPI
/// document: a binary string, not the array of numbers `Vec<u8>` would describe.
#[derive(Debug)]
pub struct FileBody;

impl utoipa::PartialSchema for FileBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .description(Some("The file's bytes"))
            .into()
    }
}

impl utoipa::ToSchema for FileBody {}
