//! `/api/v1/session` (signing in and out, who is signed in), `/api/v1/tokens` (API
//! tokens for scripts and GIS clients), `/api/v1/users` (accounts, for admins) and
//! `/api/v1/audit` (the audit log, for admins).

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access::{CSRF_COOKIE, Caller, SESSION_COOKIE, Via, cookie};
use super::error::{ApiError, ProblemDetails};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::accounts::{self, AccountError};
use crate::app::AppState;
use crate::domain::access::{Capability, Grant, Principal, Role};
use crate::domain::calendar;
use crate::indicators::Catalog;
use crate::store::accounts::{self as stored, AuditFilter, AuditRecord};

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, whoami, sign_out))
        .routes(routes!(demo_accounts))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(sample_villages))
        .routes(routes!(audit_log))
}

/// A name and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    /// The account name.
    user: String,
    /// The password.
    password: String,
}

/// The signed-in person, their roles with areas, and the CSRF token their writes carry.
#[derive(Debug, Serialize, ToSchema)]
struct SessionInfo {
    user: String,
    display: String,
    /// Every grant (role, area, last day).
    grants: Vec<GrantInfo>,
    /// What the web app may show: `personal`, `edit_ledger`, `sign_village`,
    /// `sign_group`, `campaigns`, `plans`, `administer`.
    can: Vec<&'static str>,
    /// The token to send as `X-CSRF-Token` on writes (sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf: Option<String>,
}

/// A grant with its area's name.
#[derive(Debug, Serialize, ToSchema)]
struct GrantInfo {
    role: Role,
    role_zh: &'static str,
    area: String,
    area_name: Option<String>,
    until: Option<String>,
    /// A department role's department (教育, 医保 …).
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<String>,
}

fn session_info(state: &AppState, principal: &Principal, csrf: Option<String>) -> SessionInfo {
    let snapshot = state.snapshot();
    let today = calendar::today();
    let can = [
        (Capability::Personal, "personal"),
        (Capability::EditLedger, "edit_ledger"),
        (Capability::SignVillage, "sign_village"),
        (Capability::SignGroup, "sign_group"),
        (Capability::Campaigns, "campaigns"),
        (Capability::Plans, "plans"),
        (Capability::Visits, "visits"),
        (Capability::Administer, "administer"),
        (Capability::DecideInclusion, "decide_inclusion"),
    ]
    .into_iter()
    .filter(|(c, _)| principal.may_somewhere(*c, &today))
    .map(|(_, name)| name)
    .collect();
    SessionInfo {
        user: principal.user.clone(),
        display: principal.display.clone(),
        grants: principal
            .grants
            .iter()
            .map(|g| GrantInfo {
                role: g.role,
                role_zh: g.role.label_zh(),
                area: g.area.clone(),
                area_name: snapshot.name(&g.area).map(str::to_owned),
                until: g.until.clone(),
                department: g.department.clone(),
            })
            .collect(),
        can,
        csrf,
    }
}

/// A cookie: `HttpOnly` for the session, readable for the CSRF token; `SameSite=Strict`,
/// for the session's lifetime, `Secure` when the request came over HTTPS.
fn set_cookie(name: &str, value: &str, http_only: bool, secure: bool, max_age: u64) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the client reached the service over HTTPS (directly, or as the proxy says).
fn over_https(headers: &HeaderMap, state: &AppState) -> bool {
    state.https.load(std::sync::atomic::Ordering::Relaxed)
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Signs in: on the right name and password, a session cookie (`HttpOnly`,
/// `SameSite=Strict`, 12 hours, 2 idle) and the CSRF token. Five failures of one name
/// or from one address lock it for 15 minutes. Every attempt is in the audit log.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = Credentials,
    responses(
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, description = "Signed in; cookies set", body = SessionInfo),
        (status = 401, description = "Wrong name or password", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "Locked after repeated failures", body = ProblemDetails, content_type = "application/problem+json")))]
async fn sign_in(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let st = state.clone();
    let name = credentials.user.trim().to_owned();
    let client = peer.map_or_else(|| "unknown".to_owned(), |p| p.0.0.ip().to_string());
    let who = name.clone();
    let client_ip = client.clone();
    let result = state
        .store
        .run(move |c| Ok(st.accounts.sign_in(c, &who, &credentials.password, &client)))
        .await?;
    let route = Some("POST /api/v1/session".to_owned());
    match result {
        Ok(signed) => {
            state
                .audit
                .record(Some(&name), "sign_in", route, None, None);
            let secure = over_https(&headers, &state);
            let age = accounts::SESSION_LIFETIME.as_secs();
            let info = session_info(
                &state,
                &signed.session.principal,
                Some(signed.session.csrf.to_string()),
            );
            let mut response = Json(info).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &signed.secret, true, secure, age),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(CSRF_COOKIE, &signed.session.csrf, false, secure, age),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(AccountError::Locked(minutes)) => {
            state.audit.record(
                Some(&name),
                "sign_in_locked",
                route,
                Some(format!("from {client_ip}")),
                None,
            );
            Err(ApiError::Throttled(format!(
                "too many failed sign-ins: try again in {minutes} minutes"
            )))
        }
        Err(AccountError::Credentials) => {
            state.audit.record(
                Some(&name),
                "sign_in_failed",
                route,
                Some(format!("from {client_ip}")),
                None,
            );
            Err(ApiError::Unauthenticated(
                "wrong account name or password".to_owned(),
            ))
        }
        Err(other) => Err(ApiError::Internal(other.into())),
    }
}

/// Who is signed in, with their roles, areas and what the web app may show.
#[utoipa::path(get, path = "/api/v1/session", tag = "accounts",
    responses(
        (status = 200, body = SessionInfo),
        (status = 401, description = "Not signed in", body = ProblemDetails, content_type = "application/problem+json")))]
async fn whoami(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Json<SessionInfo> {
    let csrf = (caller.via == Via::Session)
        .then(|| cookie(&headers, CSRF_COOKIE).map(str::to_owned))
        .flatten();
    Json(session_info(&state, &caller.principal, csrf))
}

/// Signs out: the session ends and its cookies are cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 204, description = "Signed out")))]
async fn sign_out(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE).map(str::to_owned) {
        let st = state.clone();
        if let Err(e) = state
            .store
            .run(move |c| st.accounts.sign_out(c, &secret))
            .await
        {
            // Ended here; the kept copy goes at the next start (it fails the idle check
            // by then, or is dropped with its account's next change).
            tracing::warn!(error = %e, "a signed-out session could not be forgotten in the store");
        }
    }
    caller.record(&state.audit, "sign_out", None, None);
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", true, false, 0),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(CSRF_COOKIE, "", false, false, 0),
    );
    response
}

/// A demo account, as the sign-in page offers it.
#[derive(Debug, Serialize, ToSchema)]
struct DemoAccount {
    user: String,
    display: String,
    role_zh: String,
    area_name: String,
    password: &'static str,
}

/// The demo database's accounts with their password, for the sign-in page; 404 on any
/// other database (a real one has no default account).
#[utoipa::path(get, path = "/api/v1/session/demo", tag = "accounts",
    responses(
        (status = 200, body = Vec<DemoAccount>),
        (status = 404, description = "Not the demo database", body = ProblemDetails, content_type = "application/problem+json")))]
async fn demo_accounts(State(state): State<AppState>) -> Result<Json<Vec<DemoAccount>>, ApiError> {
    if !state.is_demo {
        return Err(ApiError::NotFound(
            "demo accounts exist only on the demo database".to_owned(),
        ));
    }
    let (accounts, offered) = state
        .store
        .run(|c| {
            Ok((
                stored::accounts(c)?,
                crate::store::meta(c, "demo_accounts")?,
            ))
        })
        .await?;
    let offered: Vec<String> = offered
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect();
    let snapshot = state.snapshot();
    Ok(Json(
        accounts
            .into_iter()
            .filter(|a| a.disabled_at.is_none() && offered.contains(&a.principal.user))
            .map(|a| {
                let g = a.principal.grants.first();
                DemoAccount {
                    role_zh: g.map(|g| g.role.label_zh().to_owned()).unwrap_or_default(),
                    area_name: g
                        .and_then(|g| snapshot.name(&g.area))
                        .map(str::to_owned)
                        .unwrap_or_default(),
                    user: a.principal.user,
                    display: a.principal.display,
                    password: accounts::DEMO_PASSWORD,
                }
            })
            .collect(),
    ))
}

/// An API token, listed (its secret is shown once, when made).
#[derive(Debug, Serialize, ToSchema)]
struct TokenItem {
    id: String,
    label: String,
    created_at: String,
}

/// A new token's request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// What it is for (e.g. `QGIS`).
    label: String,
}

/// A new token: its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct CreatedToken {
    id: String,
    label: String,
    /// Send as `Authorization: Bearer …` (or `?access_token=` on tiles).
    token: String,
}

/// The signed-in person's live API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = Vec<TokenItem>)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenItem>>, ApiError> {
    let tokens = state.store.run(stored::live_tokens).await?;
    Ok(Json(
        tokens
            .into_iter()
            .filter(|t| t.user == caller.principal.user)
            .map(|t| TokenItem {
                id: t.id,
                label: t.label,
                created_at: t.created_at,
            })
            .collect(),
    ))
}

/// Makes an API token for the signed-in person: it can do what they can, until
/// revoked (or their account is disabled). Only from a signed-in session: a token
/// cannot make more tokens.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = NewToken,
    responses(
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 201, body = CreatedToken),
        (status = 403, description = "Asked with a token", body = ProblemDetails, content_type = "application/problem+json")))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    if caller.via != Via::Session {
        return Err(ApiError::Forbidden(
            "tokens are made from a signed-in session, not with another token".to_owned(),
        ));
    }
    let label = body.label.trim().to_owned();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::invalid("label", "must be 1 to 100 characters"));
    }
    let user = caller.principal.user.clone();
    let (record, secret) =
        with_tokens_reloaded(&state, move |c| accounts::add_token(c, &user, &label)).await?;
    caller.record(
        &state.audit,
        "token",
        Some(format!("made {}", record.id)),
        None,
    );
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: record.id,
            label: record.label,
            token: secret,
        }),
    )
        .into_response())
}

/// Revokes one of the signed-in person's tokens (an admin may revoke anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live token of yours", body = ProblemDetails, content_type = "application/problem+json")))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let owner = (!caller.may_somewhere(Capability::Administer)).then(|| caller.user().to_owned());
    let token = id.clone();
    let revoked = with_tokens_reloaded(&state, move |c| {
        stored::revoke_token(c, &token, owner.as_deref(), &calendar::utc_timestamp())
    })
    .await?;
    if !revoked {
        return Err(ApiError::NotFound(format!("no live token {id} of yours")));
    }
    caller.record(&state.audit, "token", Some(format!("revoked {id}")), None);
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a change of tokens or accounts, then re-reads the live tokens, so that the
/// change holds from the next request on.
async fn with_tokens_reloaded<T: Send + 'static>(
    state: &AppState,
    change: impl FnOnce(&duckdb::Connection) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    Ok(state
        .store
        .run(move |c| {
            let done = change(c)?;
            st.accounts.reload_tokens(c)?;
            Ok(done)
        })
        .await?)
}

/// An account, listed for admins.
#[derive(Debug, Serialize, ToSchema)]
struct UserItem {
    user: String,
    display: String,
    grants: Vec<Grant>,
    created_at: String,
    disabled: bool,
}

/// Refuses a non-admin, and grants outside the admin's areas.
fn check_admin(caller: &Caller, grants: &[Grant], catalog: &Catalog) -> Result<(), ApiError> {
    caller.require(Capability::Administer)?;
    let departments = catalog.departments();
    for (i, g) in grants.iter().enumerate() {
        if let Some(problem) = g.department_problem(&departments) {
            return Err(ApiError::invalid(
                format!("grants[{i}].department"),
                problem,
            ));
        }
        if !caller.may(Capability::Administer, &g.area) {
            return Err(ApiError::invalid(
                format!("grants[{i}].area"),
                "lies outside the areas you administer",
            ));
        }
        if let Some(until) = &g.until
            && !calendar::is_date(until)
        {
            return Err(ApiError::invalid(
                format!("grants[{i}].until"),
                "must be a date YYYY-MM-DD",
            ));
        }
    }
    Ok(())
}

/// Every account with a grant inside the admin's areas.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses(
        (status = 200, body = Vec<UserItem>),
        (status = 403, description = "Not an admin", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserItem>>, ApiError> {
    caller.require(Capability::Administer)?;
    let accounts = state.store.run(stored::accounts).await?;
    Ok(Json(
        accounts
            .into_iter()
            .filter(|a| {
                a.principal.grants.is_empty()
                    || a.principal
                        .grants
                        .iter()
                        .any(|g| caller.may(Capability::Administer, &g.area))
            })
            .map(|a| UserItem {
                user: a.principal.user,
                display: a.principal.display,
                grants: a.principal.grants,
                created_at: a.created_at,
                disabled: a.disabled_at.is_some(),
            })
            .collect(),
    ))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    user: String,
    display: String,
    password: String,
    grants: Vec<Grant>,
}

/// Adds an account (admins; grants inside their own areas).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    responses(
        (status = 201, body = UserItem),
        (status = 400, description = "A field is invalid or the name is taken", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemDetails, content_type = "application/problem+json")))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    check_admin(&caller, &body.grants, &state.catalog)?;
    let name = check_name(&body.user)?;
    let principal = Principal {
        user: name.clone(),
        display: body.display.trim().to_owned(),
        grants: body.grants.clone(),
    };
    let result = state
        .store
        .run(move |c| Ok(accounts::add_account(c, principal, &body.password)))
        .await?;
    account_result(result, "password")?;
    caller.record(&state.audit, "account", Some(format!("added {name}")), None);
    Ok((
        StatusCode::CREATED,
        Json(UserItem {
            user: name,
            display: body.display.trim().to_owned(),
            grants: body.grants,
            created_at: calendar::utc_timestamp(),
            disabled: false,
        }),
    )
        .into_response())
}

/// An account name: 1–64 letters, digits, `.`, `_`, `-` (or Chinese characters).
fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::invalid(
            "user",
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// An account error as the API says it.
fn account_result(result: Result<(), AccountError>, password_field: &str) -> Result<(), ApiError> {
    match result {
        Ok(()) => Ok(()),
        Err(AccountError::WeakPassword) => Err(ApiError::invalid(
            password_field,
            format!("needs at least {} characters", accounts::MIN_PASSWORD_CHARS),
        )),
        Err(AccountError::Store(crate::store::StoreError::Invalid(m))) => {
            Err(ApiError::invalid("user", m))
        }
        Err(other) => Err(ApiError::Internal(other.into())),
    }
}

/// The account `name`, when it has a grant inside the admin's areas (or none yet);
/// 404 otherwise, as for an unknown one.
async fn administered(
    state: &AppState,
    caller: &Caller,
    name: String,
) -> Result<stored::Account, ApiError> {
    let who = name.clone();
    state
        .store
        .run(move |c| stored::account(c, &who))
        .await?
        .filter(|a| {
            a.principal.grants.is_empty()
                || a.principal
                    .grants
                    .iter()
                    .any(|g| caller.may(Capability::Administer, &g.area))
        })
        .ok_or_else(|| ApiError::NotFound(format!("no account {name} in your areas")))
}

/// A draw of an evaluator's villages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SampleRequest {
    /// How many villages (1 to 10,000).
    villages: usize,
    /// The area to draw in (default: the county, or the city above several).
    within: Option<String>,
    /// The seed (default: a random one); the same seed draws the same villages.
    seed: Option<u64>,
    /// The last day the evaluator may look (`YYYY-MM-DD`).
    until: Option<String>,
}

/// The villages drawn, and the account's grants now.
#[derive(Debug, Serialize, ToSchema)]
struct SampleDrawn {
    seed: u64,
    within: String,
    villages: Vec<SampleVillage>,
    grants: Vec<Grant>,
}

/// A village drawn.
#[derive(Debug, Serialize, ToSchema)]
struct SampleVillage {
    code: String,
    name: String,
}

/// Draws a third-party evaluator's villages (第三方评估抽样, admins): `villages` of
/// the villages inside `within`, spread over its townships, at random; they replace
/// the account's evaluator grants (its other roles stay) and its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{user}/sample", tag = "accounts", request_body = SampleRequest,
    params(("user" = String, Path, description = "The account name")),
    responses(
        (status = 200, body = SampleDrawn),
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such account in your areas", body = ProblemDetails, content_type = "application/problem+json")))]
async fn sample_villages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SampleRequest>,
) -> Result<Json<SampleDrawn>, ApiError> {
    caller.require(Capability::Administer)?;
    if !(1..=10_000).contains(&body.villages) {
        return Err(ApiError::invalid("villages", "must be between 1 and 10000"));
    }
    let snapshot = state.snapshot();
    let within = body
        .within
        .clone()
        .unwrap_or_else(|| snapshot.top_code.clone());
    if snapshot.name(&within).is_none() || !caller.may(Capability::Administer, &within) {
        return Err(ApiError::invalid(
            "within",
            format!("{within} is not an area you administer"),
        ));
    }
    if let Some(until) = body.until.as_deref().filter(|u| !calendar::is_date(u)) {
        return Err(ApiError::invalid(
            "until",
            format!("{until:?} is not a date YYYY-MM-DD"),
        ));
    }
    let existing = administered(&state, &caller, name).await?;
    let seed = body.seed.unwrap_or_else(rand::random);
    let (grants, drawn) = accounts::with_evaluator_sample(
        &existing.principal.grants,
        &snapshot.names,
        &within,
        body.villages,
        seed,
        body.until.as_deref(),
    );
    if drawn.is_empty() {
        return Err(ApiError::invalid(
            "within",
            format!("no village lies inside {within}"),
        ));
    }
    let who = existing.principal.user.clone();
    let stored_grants = grants.clone();
    with_tokens_reloaded(&state, move |c| stored::set_grants(c, &who, &stored_grants)).await?;
    state.accounts.end_sessions_of(&existing.principal.user);
    caller.record(
        &state.audit,
        "account",
        Some(format!(
            "sample for {} inside {within}, seed {seed}: {}; grants before: {}",
            existing.principal.user,
            drawn.join(" "),
            serde_json::to_string(&existing.principal.grants).unwrap_or_default()
        )),
        None,
    );
    Ok(Json(SampleDrawn {
        seed,
        within,
        villages: drawn
            .into_iter()
            .map(|code| SampleVillage {
                name: snapshot.name(&code).unwrap_or_default().to_owned(),
                code,
            })
            .collect(),
        grants,
    }))
}

/// Changes to an account; each field left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    password: Option<String>,
    grants: Option<Vec<Grant>>,
    disabled: Option<bool>,
}

/// Changes an account's password, grants or state (admins). Its sessions end.
#[utoipa::path(patch, path = "/api/v1/users/{user}", tag = "accounts", request_body = UserChange,
    params(("user" = String, Path, description = "The account name")),
    responses(
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 204, description = "Changed"),
        (status = 404, description = "No such account in your areas", body = ProblemDetails, content_type = "application/problem+json")))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(change): ApiJson<UserChange>,
) -> Result<StatusCode, ApiError> {
    check_admin(
        &caller,
        change.grants.as_deref().unwrap_or_default(),
        &state.catalog,
    )?;
    let existing = administered(&state, &caller, name).await?;
    let hash = change
        .password
        .as_deref()
        .map(accounts::hash_password)
        .transpose();
    let hash = match hash {
        Ok(h) => h,
        Err(e) => return account_result(Err(e), "password").map(|()| StatusCode::NO_CONTENT),
    };
    let who = existing.principal.user.clone();
    let grants = change.grants.clone();
    let disabled = change.disabled.map(|d| d.then(calendar::utc_timestamp));
    with_tokens_reloaded(&state, move |c| {
        stored::update(
            c,
            &who,
            hash.as_deref(),
            disabled.as_ref().map(Option::as_deref),
        )?;
        match &grants {
            Some(g) => stored::set_grants(c, &who, g),
            None => Ok(()),
        }
    })
    .await?;
    state.accounts.end_sessions_of(&existing.principal.user);
    let what: Vec<&str> = [
        change.password.is_some().then_some("password"),
        change.grants.is_some().then_some("grants"),
        change
            .disabled
            .map(|d| if d { "disabled" } else { "enabled" }),
    ]
    .into_iter()
    .flatten()
    .collect();
    caller.record(
        &state.audit,
        "account",
        Some(format!(
            "changed {}: {}; grants before: {}",
            existing.principal.user,
            what.join(", "),
            serde_json::to_string(&existing.principal.grants).unwrap_or_default()
        )),
        None,
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Audit log filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// From this time on (`YYYY-MM-DD`, or a UTC stamp `YYYY-MM-DDTHH:MM:SSZ`).
    since: Option<String>,
    /// Only lines strictly older than this (`YYYY-MM-DD`, or a UTC stamp
    /// `YYYY-MM-DDTHH:MM:SSZ` such as the `at` of the last line seen): the next page.
    /// Stamps are to the second, so lines of the same second as `before` are left out;
    /// a client that must not miss one asks for the second after and skips those it has.
    before: Option<String>,
    /// One account's lines.
    user: Option<String>,
    /// One action's lines (`sign_in`, `sign_in_failed`, `read_personal`, `write`, `export` …).
    action: Option<String>,
    /// At most this many, newest first (default 200, at most 10,000).
    limit: Option<usize>,
}

/// The audit log, newest first (admins); page with `limit` and `before`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditParams),
    responses(
        (status = 400, description = "A field is invalid; each is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 200, body = Vec<AuditRecord>),
        (status = 403, description = "Not an admin", body = ProblemDetails, content_type = "application/problem+json")))]
async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    /// A day or a UTC stamp to the second, the two forms that compare as text with
    /// the log's stamps in time order (an offset or a fraction of a second would not).
    fn is_day_or_stamp(text: &str) -> bool {
        let Some((day, time)) = text.split_once('T') else {
            return calendar::is_date(text);
        };
        let b = time.as_bytes();
        let num = |r: std::ops::Range<usize>, max: u32| {
            time.get(r)
                .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|t| t.parse::<u32>().ok())
                .is_some_and(|n| n <= max)
        };
        calendar::is_date(day)
            && b.len() == 9
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b'Z'
            && num(0..2, 23)
            && num(3..5, 59)
            && num(6..8, 59)
    }

    caller.require(Capability::Administer)?;
    let mut violations = crate::domain::Violations::new();
    let limit = params.limit.unwrap_or(200);
    if limit == 0 || limit > 10_000 {
        violations.add("limit", "must be between 1 and 10000");
    }
    for (field, value) in [("since", &params.since), ("before", &params.before)] {
        if value.as_deref().is_some_and(|v| !is_day_or_stamp(v)) {
            violations.add(
                field,
                "must be a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM:SSZ",
            );
        }
    }
    violations.into_result(())?;
    let filter = AuditFilter {
        since: params.since,
        user: params.user,
        action: params.action,
        before: params.before,
        limit,
    };
    Ok(Json(
        state.store.run(move |c| stored::audit(c, &filter)).await?,
    ))
}
