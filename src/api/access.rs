//! Who is asking: every `/api` and `/tiles` request is signed in (a session cookie,
//! or an API token in `Authorization: Bearer …`, or `?access_token=` on tiles for GIS
//! clients that cannot send a header), and every cookie-signed write carries the
//! session's CSRF token. The handlers then ask the [`Caller`] whether its person may
//! do what the request asks, where.
//!
//! Security headers (CSP without inline script, frame-ancestors, nosniff,
//! Referrer-Policy) go on every response, the web app's files included.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;

use super::error::ApiError;
use crate::accounts::SessionCheck;
use crate::app::AppState;
use crate::domain::access::{AreaScope, Capability, Principal};
use crate::domain::calendar;
use crate::indicators::Catalog;

/// The session cookie (`HttpOnly`: scripts never see it).
pub const SESSION_COOKIE: &str = "paicha_session";
/// The CSRF cookie: readable by the page's scripts, which send it back as
/// [`CSRF_HEADER`] on every write; a foreign page can neither read nor send it.
pub const CSRF_COOKIE: &str = "paicha_csrf";
/// The header a cookie-signed write carries.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Household numbers an audit line lists (the count is always kept).
pub const MAX_AUDITED_NUMBERS: usize = 1000;

/// The query parameter a GIS client may put its token in, on tiles only.
pub const TOKEN_PARAM: &str = "access_token";

/// How a request was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A browser session's cookie.
    Session,
    /// An API token.
    Token,
}

/// Who signed a request and how, found by [`Authenticate`].
#[derive(Debug, Clone)]
pub struct Signed {
    principal: Arc<Principal>,
    via: Via,
}

tokio::task_local! {
    // Who signed the request whose handler is running: set by [`Authenticate`] around
    // the inner service's future and read by the `Caller` extractor. A task-local
    // rather than a request extension, because the first extension allocates the
    // request's extension map, which was a tenth of signing a cached tile in.
    static SIGNED: Option<Signed>;
}

/// The signed-in person of a request, as a handler sees them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub principal: Arc<Principal>,
    /// How they signed in.
    pub via: Via,
    method: Method,
    uri: axum::http::Uri,
    /// Today in China, read once per request: a handler asks it of each grant's period
    /// several times.
    today: Today,
}

/// A date `YYYY-MM-DD`, kept without a heap copy.
#[derive(Debug, Clone, Copy)]
struct Today {
    text: [u8; 16],
    len: u8,
}

impl Today {
    fn now() -> Self {
        calendar::with_today(|t| {
            let mut text = [0u8; 16];
            let len = t.len().min(text.len());
            text[..len].copy_from_slice(&t.as_bytes()[..len]);
            Self {
                text,
                len: u8::try_from(len).unwrap_or(0),
            }
        })
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (principal, via) = SIGNED
            .try_with(|s| s.as_ref().map(|s| (Arc::clone(&s.principal), s.via)))
            .ok()
            .flatten()
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Self {
            principal,
            via,
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            today: Today::now(),
        })
    }
}

impl Caller {
    /// The account name.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.principal.user
    }

    /// The indicator catalog as the person sees it: whole, or for a department
    /// (行业部门) the indicators naming theirs; an indicator outside it is unknown to
    /// every route (tiles, heat maps, figures, maps).
    #[must_use]
    pub fn catalog<'a>(&self, catalog: &'a Catalog) -> Cow<'a, Catalog> {
        match self.principal.departments(self.today.as_str()) {
            None => Cow::Borrowed(catalog),
            Some(departments) => Cow::Owned(catalog.for_departments(&departments)),
        }
    }

    /// Method and path (never the query, which may name a household), for the audit
    /// log; made only when a line is written.
    #[must_use]
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.uri.path())
    }

    /// Whether the person has `capability` for the area `code` today.
    #[must_use]
    pub fn may(&self, capability: Capability, code: &str) -> bool {
        self.principal.may(capability, code, self.today.as_str())
    }

    /// Whether the person has `capability` anywhere today.
    #[must_use]
    pub fn may_somewhere(&self, capability: Capability) -> bool {
        self.principal
            .may_somewhere(capability, self.today.as_str())
    }

    /// The areas where the person has `capability` today.
    #[must_use]
    pub fn areas(&self, capability: Capability) -> Vec<String> {
        self.principal.areas(capability, self.today.as_str())
    }

    /// Puts a line in the audit log: `action` by this person on this route.
    pub fn record(
        &self,
        audit: &crate::accounts::AuditLog,
        action: &str,
        detail: Option<String>,
        rows: Option<usize>,
    ) {
        audit.record(
            Some(self.user()),
            action,
            Some(self.route()),
            detail,
            rows.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        );
    }

    /// Records a read of these households' personal data (their numbers, at most the
    /// first [`MAX_AUDITED_NUMBERS`] written out, the count always).
    pub fn record_personal<'a>(
        &self,
        audit: &crate::accounts::AuditLog,
        households: impl IntoIterator<Item = &'a str>,
    ) {
        let mut count = 0usize;
        let mut listed = Vec::new();
        for no in households {
            if count < MAX_AUDITED_NUMBERS {
                listed.push(no);
            }
            count += 1;
        }
        if count == 0 {
            return;
        }
        let mut detail = listed.join(",");
        if count > listed.len() {
            let _ = write!(detail, " … ({count} in all)");
        }
        self.record(audit, "read_personal", Some(detail), Some(count));
    }

    /// What maps and counts of `capability` may show: everything when the person
    /// holds it over the whole `top` area, else their areas.
    #[must_use]
    pub fn scope(&self, capability: Capability, top: &str) -> AreaScope {
        if self.may(capability, top) {
            AreaScope::all()
        } else {
            AreaScope::of(self.areas(capability))
        }
    }

    /// Refuses (403) a person whose roles never allow `capability`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] naming what the roles lack.
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        if self.may_somewhere(capability) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "your roles do not allow this ({})",
                capability_words(capability)
            )))
        }
    }

    /// The area an aggregate is answered for: `requested` (or `default`, the top
    /// area) when it lies inside the person's areas; the person's one area when the
    /// request names an area around it (a township user asking for the county gets
    /// their township); `None` when the request lies outside (an empty answer).
    #[must_use]
    pub fn scoped(&self, capability: Capability, requested: &str) -> Option<String> {
        if self.may(capability, requested) {
            return Some(requested.to_owned());
        }
        let inside: Vec<String> = self
            .areas(capability)
            .into_iter()
            .filter(|a| a.starts_with(requested))
            .collect();
        match inside.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// The area a request for `asked` (or, when it names none, `default`) is answered
    /// for, as [`Caller::scoped`] says.
    ///
    /// # Errors
    /// 400 naming the person's areas when none was asked and they hold several; 404,
    /// worded as for an unknown area, when the one asked lies outside theirs.
    pub fn scoped_area(
        &self,
        capability: Capability,
        asked: Option<&str>,
        default: &str,
    ) -> Result<String, ApiError> {
        let asked = asked.filter(|a| !a.is_empty());
        let requested = asked.unwrap_or(default);
        if let Some(area) = self.scoped(capability, requested) {
            return Ok(area);
        }
        Err(match asked {
            None => ApiError::invalid(
                "within",
                format!(
                    "you hold several areas: give one of {}",
                    self.areas(capability).join(", ")
                ),
            ),
            Some(_) => ApiError::NotFound(format!("no area with code {requested}")),
        })
    }

    /// Refuses an object (an area, a household, an entry) outside the person's areas
    /// as if it did not exist: a 404 says nothing of what lies outside.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] with `what`.
    pub fn require_in(
        &self,
        capability: Capability,
        code: &str,
        what: &str,
    ) -> Result<(), ApiError> {
        self.require(capability)?;
        if self.may(capability, code) {
            Ok(())
        } else {
            Err(ApiError::NotFound(what.to_owned()))
        }
    }
}

/// What a capability lets one do, for a 403's message.
fn capability_words(capability: Capability) -> &'static str {
    match capability {
        Capability::Figures => "figures and maps",
        Capability::Personal => "households' personal data",
        Capability::EditLedger => "editing ledgers",
        Capability::SignVillage => "signing as the village's secretary",
        Capability::SignGroup => "signing as the group leader",
        Capability::Campaigns => "creating campaigns and checklists",
        Capability::Plans => "field-visit plans",
        Capability::Visits => "recording field visits",
        Capability::Administer => "accounts and the audit log",
        Capability::DecideInclusion => "deciding on households that should be included",
    }
}

/// Whether a path is open without signing in: health, signing in itself, the
/// OpenAPI document, basemaps and fonts (no data of anyone), and the web app's files
/// (which ask the API, and go to the sign-in page when it answers 401).
fn is_open(method: &Method, path: &str) -> bool {
    path == "/health"
        || path == "/openapi.json"
        || (path == "/api/v1/session" && (method == Method::POST || method == Method::GET))
        || path == "/api/v1/session/demo"
        || path.starts_with("/tiles/basemaps/")
        || path.starts_with("/fonts/")
        || !(path.starts_with("/api") || path.starts_with("/tiles/"))
}

/// A cookie's value from the request's `Cookie` headers.
#[must_use]
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .find_map(|v| cookie_in(v.as_bytes(), name))
}

/// `name`'s value in one `Cookie` header (`a=1; b=2`). Every request signed by a session
/// reads it: the header's bytes are cut at `;` (found by `memchr`) and only the value found
/// is decoded, not the whole header as text.
fn cookie_in<'a>(header: &'a [u8], name: &str) -> Option<&'a str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b';', header).chain(std::iter::once(header.len()));
    ends.find_map(|end| {
        let pair = &header[start..end];
        start = (end + 1).min(header.len());
        let value = pair
            .trim_ascii()
            .strip_prefix(name.as_bytes())?
            .strip_prefix(b"=")?;
        std::str::from_utf8(value).ok()
    })
}

/// A token a GIS client sent in the query of a tile or TileJSON request: TileJSON
/// puts it in its tile URLs, so that the client's tiles carry it too.
#[derive(Debug, Clone)]
pub struct QueryToken(pub String);

/// The token of `Authorization: Bearer …`.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The token of a tile request's `?access_token=` (GIS clients), taken out of the
/// request's query: handlers, caches and ETags never see it.
fn query_token(req: &mut Request) -> Option<String> {
    if !req.uri().path().starts_with("/tiles/") {
        return None;
    }
    let query = req.uri().query()?;
    // Most tile requests carry none: looked for before anything is decoded or copied.
    if !query
        .split('&')
        .any(|pair| pair.split_once('=').map_or(pair, |(k, _)| k) == TOKEN_PARAM)
    {
        return None;
    }
    let mut token = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == TOKEN_PARAM {
            token = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    let token = token?;
    let rest = rest.finish();
    let path = req.uri().path();
    let uri = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{rest}")
    };
    if let Ok(uri) = uri.parse() {
        *req.uri_mut() = uri;
    }
    req.extensions_mut().insert(QueryToken(token.clone()));
    Some(token)
}

/// Signs the request in (see the module's description), or answers 401 (403 for a
/// cookie-signed write without its CSRF token).
///
/// A tower layer of its own rather than a middleware function: every request passes
/// here, and a middleware function boxes the rest of the stack and its future anew
/// each time (BENCHMARKS.md, issue 16).
#[derive(Debug, Clone)]
pub struct Authenticate {
    state: AppState,
}

impl Authenticate {
    /// The layer, checking against `state`'s accounts.
    #[must_use]
    pub const fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> tower::Layer<S> for Authenticate {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            state: self.state.clone(),
            inner,
        }
    }
}

/// The service of [`Authenticate`].
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    state: AppState,
    inner: S,
}

impl<S> tower::Service<Request> for Authenticated<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<
        std::future::Ready<Result<Response, S::Error>>,
        tokio::task::futures::TaskLocalFuture<Option<Signed>, S::Future>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match sign_in(&self.state, &mut req) {
            Ok(signed) => Either::Right(SIGNED.scope(signed, self.inner.call(req))),
            Err(refused) => Either::Left(std::future::ready(Ok(refused.into_response()))),
        }
    }
}

/// The signed-in person of a request (`None` on an open route, unsigned); refuses the
/// rest.
fn sign_in(state: &AppState, req: &mut Request) -> Result<Option<Signed>, ApiError> {
    let by_token = match bearer(req) {
        Some(token) => Some(state.accounts.token_owner(token)),
        None => query_token(req).map(|token| state.accounts.token_owner(&token)),
    };
    let signed = if let Some(owner) = by_token {
        owner.map(|principal| Signed {
            principal,
            via: Via::Token,
        })
    } else {
        let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = write.then(|| req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
        match cookie(req.headers(), SESSION_COOKIE)
            .map(|secret| state.accounts.check_session(secret, sent))
        {
            Some(SessionCheck::Signed(principal)) => Some(Signed {
                principal,
                via: Via::Session,
            }),
            Some(SessionCheck::WithoutCsrf) => {
                return Err(ApiError::Forbidden(format!(
                    "a write from the web app must carry its {CSRF_HEADER} header"
                )));
            }
            Some(SessionCheck::Unknown) | None => None,
        }
    };
    match signed {
        Some(signed) => Ok(Some(signed)),
        None if is_open(req.method(), req.uri().path()) => Ok(None),
        None => Err(ApiError::unauthenticated()),
    }
}

/// The Content-Security-Policy of every response: scripts and styles only from this
/// server's files (no inline ones), no framing; MapLibre's workers are blob URLs, and
/// the online basemap (天地图) is the one foreign host.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     worker-src 'self' blob:; child-src 'self' blob:; style-src 'self'; \
     img-src 'self' data: blob: https://*.tianditu.gov.cn; \
     connect-src 'self' https://*.tianditu.gov.cn; font-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The policy of a printable document paicha writes (a visit sheet, a ledger report):
/// self-contained, its styles inline, no script at all; it replaces the page policy.
pub const DOCUMENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Marks a response as a printable document ([`DOCUMENT_SECURITY_POLICY`]).
pub fn as_document(response: &mut axum::response::Response) {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCUMENT_SECURITY_POLICY),
    );
}

/// A layer setting one response header.
type HeaderLayer = tower_http::set_header::SetResponseHeaderLayer<HeaderValue>;

/// The security headers' layers, composed.
pub type SecurityHeaders = tower::layer::util::Stack<
    HeaderLayer,
    tower::layer::util::Stack<
        HeaderLayer,
        tower::layer::util::Stack<
            HeaderLayer,
            tower::layer::util::Stack<HeaderLayer, tower::layer::util::Identity>,
        >,
    >,
>;

/// The security headers every response carries, each as its own layer (no boxed
/// future per request, as a middleware function would add).
#[must_use]
pub fn security_headers() -> tower::ServiceBuilder<SecurityHeaders> {
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    tower::ServiceBuilder::new()
        // A printable document sets its own (see `as_document`).
        .layer(Set::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(Set::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(Set::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(Set::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sign_in_and_public_files_are_open() {
        assert!(is_open(&Method::GET, "/health"));
        assert!(is_open(&Method::POST, "/api/v1/session"));
        assert!(!is_open(&Method::DELETE, "/api/v1/session"));
        assert!(is_open(&Method::GET, "/index.html"));
        assert!(is_open(&Method::GET, "/tiles/basemaps/x/1/2/3"));
        assert!(!is_open(&Method::GET, "/tiles/households/12/1/2.mvt"));
        assert!(!is_open(&Method::GET, "/api/v1/stats"));
        assert!(!is_open(&Method::GET, "/api"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; paicha_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        // A name that only begins another's is not it; a second header is read too.
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("paicha_session_x=1"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("paicha_session=def"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("def"));
        h.insert(header::COOKIE, HeaderValue::from_static("paicha_session"));
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
    }
}
