//! Accounts and scope (issue 16): every route of `/openapi.json` driven as each of the
//! demo's one-role accounts, inside and outside its areas, and as nobody; the status
//! each gets, the areas each answer names, and no personal data where the role may
//! not see it (valid ID numbers, full names, household numbers).

use std::collections::BTreeSet;

use paicha::spatial::mercator::TileId;
use serde_json::{Value, json};

use crate::helpers::{TestApp, client_with_token, problem_fields};

/// The roles that may read households' personal data (the issue's table, written
/// out here rather than read from the code under test).
const PERSONAL: &[&str] = &["analyst", "township", "village", "group", "evaluator"];
/// The roles that read the cross-checks' mismatches of the education bureau's rules:
/// those that read personal data, and the demo's department (教育).
const PERSONAL_OR_EDUCATION: &[&str] = &[
    "analyst",
    "township",
    "village",
    "group",
    "evaluator",
    "department",
];
/// The roles that edit ledgers.
const EDIT_LEDGER: &[&str] = &["analyst", "township", "village"];
/// The roles that make plans.
const PLANS: &[&str] = &["analyst", "township", "group"];
/// The roles that record field visits.
const VISITS: &[&str] = &["analyst", "group"];
/// The roles that create campaigns and checklists.
const CAMPAIGNS: &[&str] = &["analyst", "admin"];

/// A demo account as the admin lists it, with the places the probes use.
struct Person {
    user: String,
    client: reqwest::Client,
    /// Its grants' areas.
    areas: Vec<String>,
    /// A village inside its areas, and one outside (none for the county-wide roles).
    home: String,
    away: Option<String>,
    /// A household of `home`, and of `away`.
    home_household: String,
    away_household: Option<String>,
}

impl Person {
    fn holds(&self, code: &str) -> bool {
        self.areas.iter().any(|a| code.starts_with(a.as_str()))
    }
    fn is(&self, roles: &[&str]) -> bool {
        roles.contains(&self.user.as_str())
    }
}

/// What a probe expects of a person: a status, or one of several.
enum Expect {
    Status(u16),
    OneOf(&'static [u16]),
}

/// A request of the matrix: the route template it exercises (as `/openapi.json`
/// names it), and how to ask it as a person.
struct Probe {
    route: &'static str,
    method: reqwest::Method,
    /// The concrete path, or `None` to skip this person.
    path: PathOf,
    body: Option<BodyOf>,
    expect: Box<dyn Fn(&Person) -> Expect>,
}

/// A probe's concrete path for a person (`None`: not asked of them).
type PathOf = Box<dyn Fn(&Person) -> Option<String>>;
/// A probe's body for a person.
type BodyOf = Box<dyn Fn(&Person) -> Value>;

fn probe(
    route: &'static str,
    method: reqwest::Method,
    path: impl Fn(&Person) -> Option<String> + 'static,
    expect: impl Fn(&Person) -> Expect + 'static,
) -> Probe {
    Probe {
        route,
        method,
        path: Box::new(path),
        body: None,
        expect: Box::new(expect),
    }
}

fn with_body(mut p: Probe, body: impl Fn(&Person) -> Value + 'static) -> Probe {
    p.body = Some(Box::new(body));
    p
}

/// 200 for those with `roles`, 403 for the others.
fn allowed(roles: &'static [&'static str], ok: u16) -> impl Fn(&Person) -> Expect {
    move |p| Expect::Status(if p.is(roles) { ok } else { 403 })
}

/// Outside a person's areas: 404 for those whose role allows it elsewhere, 403 for
/// the roles that never may.
fn away(roles: &'static [&'static str]) -> impl Fn(&Person) -> Expect {
    move |p| Expect::Status(if p.is(roles) { 404 } else { 403 })
}

/// Every route, with the requests that show its scope.
#[expect(clippy::too_many_lines, reason = "the matrix's rows, one per request")]
fn probes(county: &str, township_tile: TileId, household_tile: TileId) -> Vec<Probe> {
    use reqwest::Method as M;
    let everyone = |_: &Person| Expect::Status(200);
    let county = county.to_owned();
    let c2 = county.clone();
    let (tz, tx, ty) = (township_tile.z, township_tile.x, township_tile.y);
    let (hz, hx, hy) = (household_tile.z, household_tile.x, household_tile.y);
    let entry = |v: &str| format!("/api/v1/campaigns/xinbin-2019-q3/entries/{v}/1");
    vec![
        probe("/health", M::GET, |_| Some("/health".into()), everyone),
        probe(
            "/api/v1/areas",
            M::GET,
            |_| Some("/api/v1/areas".into()),
            everyone,
        ),
        probe(
            "/api/v1/areas.geojson",
            M::GET,
            |_| Some("/api/v1/areas.geojson?level=village".into()),
            everyone,
        ),
        probe(
            "/api/v1/areas/{code}",
            M::GET,
            |p| Some(format!("/api/v1/areas/{}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/areas/{code}",
            M::GET,
            |p| p.away.as_ref().map(|a| format!("/api/v1/areas/{a}")),
            |_| Expect::Status(404),
        ),
        probe(
            "/api/v1/crs/convert",
            M::GET,
            |_| Some("/api/v1/crs/convert?lon=125&lat=41.7&from=wgs84&to=gcj02".into()),
            everyone,
        ),
        probe(
            "/api/v1/locate",
            M::GET,
            |_| Some("/api/v1/locate?lon=124.9&lat=41.7".into()),
            everyone,
        ),
        probe(
            "/api/v1/indicators",
            M::GET,
            |_| Some("/api/v1/indicators".into()),
            everyone,
        ),
        probe(
            "/api/v1/stats",
            M::GET,
            |p| Some(format!("/api/v1/stats?within={}&format=csv", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/stats",
            M::GET,
            // An aggregate outside: empty and labelled (the body is checked below).
            |p| p.away.as_ref().map(|a| format!("/api/v1/stats?within={a}")),
            everyone,
        ),
        probe(
            "/api/v1/stats",
            M::GET,
            |_| Some("/api/v1/stats?level=village".into()),
            // One area: answered for it; several: the person must say which.
            |p| Expect::Status(if p.areas.len() > 1 { 400 } else { 200 }),
        ),
        with_body(
            probe(
                "/api/v1/query",
                M::POST,
                |_| Some("/api/v1/query".into()),
                everyone,
            ),
            |_| json!({"bbox": [124.7, 41.5, 125.2, 41.9]}),
        ),
        probe(
            "/api/v1/households",
            M::GET,
            |p| Some(format!("/api/v1/households?within={}", p.home)),
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/households",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/households?within={a}&format=xlsx"))
            },
            away(PERSONAL),
        ),
        probe(
            "/api/v1/households/{household_no}",
            M::GET,
            |p| Some(format!("/api/v1/households/{}", p.home_household)),
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/households/{household_no}",
            M::GET,
            |p| {
                p.away_household
                    .as_ref()
                    .map(|h| format!("/api/v1/households/{h}"))
            },
            away(PERSONAL),
        ),
        probe(
            "/api/v1/quality",
            M::GET,
            |p| Some(format!("/api/v1/quality?within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/quality",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/quality?within={a}"))
            },
            everyone,
        ),
        probe(
            "/api/v1/measures/coverage",
            M::GET,
            |p| Some(format!("/api/v1/measures/coverage?within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/measures/coverage",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/measures/coverage?within={a}"))
            },
            everyone,
        ),
        probe(
            "/api/v1/quality/households",
            M::GET,
            |p| Some(format!("/api/v1/quality/households?within={}", p.home)),
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/quality/households",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/quality/households?within={a}"))
            },
            away(PERSONAL),
        ),
        probe(
            "/api/v1/maps/{file}",
            M::GET,
            move |p| {
                if p.holds(&county) {
                    Some("/api/v1/maps/dropout.svg".to_owned())
                } else if p.user == "township" {
                    Some(format!("/api/v1/maps/dropout.svg?within={}", &p.home[..9]))
                } else {
                    None
                }
            },
            everyone,
        ),
        probe(
            "/api/v1/charts/{file}",
            M::GET,
            // (An evaluator's sample may lie in that township: left out.)
            |p| {
                p.away
                    .as_ref()
                    .filter(|_| p.user != "evaluator")
                    .map(|a| format!("/api/v1/charts/dropout.svg?within={}", &a[..9]))
            },
            // An image saying so, as the figures answer empty.
            everyone,
        ),
        probe(
            "/tiles/{file}",
            M::GET,
            |_| Some("/tiles/villages.json".into()),
            everyone,
        ),
        probe(
            "/tiles/{layer}/{z}/{x}/{y}",
            M::GET,
            move |_| Some(format!("/tiles/villages/{tz}/{tx}/{ty}.mvt")),
            everyone,
        ),
        probe(
            "/tiles/{layer}/{z}/{x}/{y}",
            M::GET,
            move |_| Some(format!("/tiles/households/{hz}/{hx}/{hy}.mvt")),
            everyone,
        ),
        probe(
            "/tiles/heat/{indicator}/{z}/{x}/{y}",
            M::GET,
            move |_| Some(format!("/tiles/heat/dropout/{tz}/{tx}/{ty}.png")),
            everyone,
        ),
        probe(
            "/api/v1/basemaps",
            M::GET,
            |_| Some("/api/v1/basemaps".into()),
            everyone,
        ),
        probe(
            "/api/v1/checklists",
            M::GET,
            |_| Some("/api/v1/checklists".into()),
            everyone,
        ),
        probe(
            "/api/v1/checklists",
            M::POST,
            |_| {
                Some(
                    "/api/v1/checklists?id=scope-probe&name=probe&region=x&year=2026&source=x&layout=xuchang"
                        .into(),
                )
            },
            allowed(CAMPAIGNS, 400),
        ),
        probe(
            "/api/v1/checklists/{id}",
            M::GET,
            |_| Some("/api/v1/checklists/lianyungang-2019".into()),
            everyone,
        ),
        with_body(
            probe(
                "/api/v1/checklists/{id}",
                M::PATCH,
                |_| Some("/api/v1/checklists/lianyungang-2019".into()),
                allowed(CAMPAIGNS, 409),
            ),
            |_| json!({"name": "x"}),
        ),
        with_body(
            probe(
                "/api/v1/checklists/{id}/copy",
                M::POST,
                |_| Some("/api/v1/checklists/lianyungang-2019/copy".into()),
                allowed(CAMPAIGNS, 400),
            ),
            |_| json!({"id": ""}),
        ),
        probe(
            "/api/v1/campaigns",
            M::GET,
            |_| Some("/api/v1/campaigns".into()),
            everyone,
        ),
        with_body(
            probe(
                "/api/v1/campaigns",
                M::POST,
                |_| Some("/api/v1/campaigns".into()),
                |p| {
                    if p.is(CAMPAIGNS) {
                        Expect::OneOf(&[400, 404])
                    } else {
                        Expect::Status(403)
                    }
                },
            ),
            move |_| {
                json!({"id": "scope-probe", "name": "probe", "template_id": "no-such-template",
                    "area_code": c2, "starts": "2026-01-01", "ends": "2026-03-31",
                    "cycle": "weekly", "due_day": 5})
            },
        ),
        probe(
            "/api/v1/campaigns/{id}",
            M::GET,
            |_| Some("/api/v1/campaigns/xinbin-2019-q3".into()),
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/entries",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/entries?within={}",
                    p.home
                ))
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/entries",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/campaigns/xinbin-2019-q3/entries?within={a}"))
            },
            |_| Expect::Status(404),
        ),
        probe(
            "/api/v1/campaigns/{id}/entries/{village}/{position}",
            M::GET,
            move |p| Some(entry(&p.home)),
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/entries/{village}/{position}",
            M::GET,
            move |p| p.away.as_deref().map(entry),
            |_| Expect::Status(404),
        ),
        // A stale version: a person allowed to change it gets 409 and nothing changes.
        with_body(
            probe(
                "/api/v1/campaigns/{id}/entries/{village}/{position}",
                M::PATCH,
                move |p| Some(entry(&p.home)),
                allowed(EDIT_LEDGER, 409),
            ),
            |_| json!({"version": 0, "notes": "scope probe"}),
        ),
        with_body(
            probe(
                "/api/v1/campaigns/{id}/entries/{village}/{position}",
                M::PATCH,
                move |p| p.away.as_deref().map(entry),
                |_| Expect::Status(404),
            ),
            |_| json!({"version": 0, "notes": "scope probe"}),
        ),
        with_body(
            probe(
                "/api/v1/campaigns/{id}/entries/{village}/{position}",
                M::PATCH,
                move |p| Some(entry(&p.home)),
                |p| Expect::Status(if p.user == "village" { 409 } else { 403 }),
            ),
            |_| json!({"version": 0, "secretary": {"who": "冒名", "at": "2019-09-30"}}),
        ),
        probe(
            "/api/v1/campaigns/{id}/entries/{village}/import",
            M::POST,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/entries/{}/import",
                    p.home
                ))
            },
            allowed(EDIT_LEDGER, 400),
        ),
        probe(
            "/api/v1/campaigns/{id}/matrix",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/matrix?within={}",
                    &p.home[..9]
                ))
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/report",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/report?within={}&format=html",
                    p.home
                ))
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/report",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/campaigns/xinbin-2019-q3/report?within={a}"))
            },
            |_| Expect::Status(404),
        ),
        probe(
            "/api/v1/plans",
            M::GET,
            |_| Some("/api/v1/plans".into()),
            allowed(PLANS, 200),
        ),
        with_body(
            probe(
                "/api/v1/plans",
                M::POST,
                |_| Some("/api/v1/plans".into()),
                allowed(PLANS, 400),
            ),
            |p| json!({"townships": [&p.home[..9]], "days": 0}),
        ),
        probe(
            "/api/v1/plans/{file}",
            M::GET,
            |_| Some("/api/v1/plans/p-20260101-0000000000000000".into()),
            allowed(PLANS, 404),
        ),
        probe(
            "/api/v1/campaigns/{id}/visits",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/visits?within={}",
                    p.home
                ))
            },
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/campaigns/{id}/visits",
            M::GET,
            // Outside: an empty list, labelled with the area asked.
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/campaigns/xinbin-2019-q3/visits?within={a}"))
            },
            allowed(PERSONAL, 200),
        ),
        with_body(
            probe(
                "/api/v1/campaigns/{id}/visits",
                M::POST,
                |_| Some("/api/v1/campaigns/xinbin-2019-q3/visits".into()),
                allowed(VISITS, 400),
            ),
            |_| json!({"plan_id": "p-20260101-0000000000000000", "group": 1, "outcome": "visited"}),
        ),
        probe(
            "/api/v1/campaigns/{id}/visits/{visit}",
            M::GET,
            |_| Some("/api/v1/campaigns/xinbin-2019-q3/visits/v-0000000000000000".into()),
            away(PERSONAL),
        ),
        probe(
            "/api/v1/campaigns/{id}/visits/{visit}/photo",
            M::GET,
            |_| Some("/api/v1/campaigns/xinbin-2019-q3/visits/v-0000000000000000/photo".into()),
            away(PERSONAL),
        ),
        with_body(
            probe(
                "/api/v1/campaigns/{id}/visits/{visit}/photo",
                M::PUT,
                |_| Some("/api/v1/campaigns/xinbin-2019-q3/visits/v-0000000000000000/photo".into()),
                away(VISITS),
            ),
            |_| json!("not an image"),
        ),
        probe(
            "/api/v1/campaigns/{id}/plan-vs-done",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/campaigns/xinbin-2019-q3/plan-vs-done?within={}",
                    &p.home[..9]
                ))
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/plan-vs-done",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/campaigns/xinbin-2019-q3/plan-vs-done?within={a}"))
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/progress",
            M::GET,
            |_| Some("/api/v1/campaigns/xinbin-2019-q3/progress?week=2019-W36".into()),
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/progress",
            M::GET,
            |p| {
                p.away.as_ref().map(|a| {
                    format!("/api/v1/campaigns/xinbin-2019-q3/progress?week=2019-W36&within={a}")
                })
            },
            everyone,
        ),
        probe(
            "/api/v1/campaigns/{id}/weekly-report",
            M::GET,
            |_| {
                Some(
                    "/api/v1/campaigns/xinbin-2019-q3/weekly-report?week=2019-W36&format=html"
                        .into(),
                )
            },
            everyone,
        ),
        // A township's briefing: for those who see the whole township (a village's
        // secretary and an evaluator's sample do not), 404 outside.
        probe(
            "/api/v1/briefings/{township}",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/briefings/{}?format=html&week=2019-W28",
                    &p.home[..9]
                ))
            },
            |p| {
                Expect::Status(if p.is(&["village", "evaluator"]) {
                    404
                } else {
                    200
                })
            },
        ),
        probe(
            "/api/v1/briefings/{township}",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/briefings/{}?format=html", &a[..9]))
            },
            |_| Expect::Status(404),
        ),
        probe(
            "/api/v1/session",
            M::GET,
            |_| Some("/api/v1/session".into()),
            everyone,
        ),
        probe(
            "/api/v1/session/demo",
            M::GET,
            |_| Some("/api/v1/session/demo".into()),
            everyone,
        ),
        probe(
            "/api/v1/tokens",
            M::GET,
            |_| Some("/api/v1/tokens".into()),
            everyone,
        ),
        // A token cannot make another token.
        with_body(
            probe(
                "/api/v1/tokens",
                M::POST,
                |_| Some("/api/v1/tokens".into()),
                |_| Expect::Status(403),
            ),
            |_| json!({"label": "x"}),
        ),
        probe(
            "/api/v1/tokens/{id}",
            M::DELETE,
            |_| Some("/api/v1/tokens/t-000000000000".into()),
            |_| Expect::Status(404),
        ),
        probe(
            "/api/v1/users",
            M::GET,
            |_| Some("/api/v1/users".into()),
            allowed(&["admin"], 200),
        ),
        with_body(
            probe(
                "/api/v1/users",
                M::POST,
                |_| Some("/api/v1/users".into()),
                allowed(&["admin"], 400),
            ),
            |_| json!({"user": "", "display": "x", "password": "short", "grants": []}),
        ),
        with_body(
            probe(
                "/api/v1/users/{user}",
                M::PATCH,
                |_| Some("/api/v1/users/nobody-at-all".into()),
                allowed(&["admin"], 404),
            ),
            |_| json!({"disabled": true}),
        ),
        with_body(
            probe(
                "/api/v1/users/{user}/sample",
                M::POST,
                |_| Some("/api/v1/users/nobody-at-all/sample".into()),
                allowed(&["admin"], 404),
            ),
            |_| json!({"villages": 2}),
        ),
        probe(
            "/api/v1/audit",
            M::GET,
            |_| Some("/api/v1/audit?limit=5".into()),
            allowed(&["admin"], 200),
        ),
        // Versions and changes (动态管理): figures for everyone in their areas (empty
        // outside), the households behind them for the roles that see personal data.
        probe(
            "/api/v1/versions",
            M::GET,
            |_| Some("/api/v1/versions".into()),
            everyone,
        ),
        probe(
            "/api/v1/changes",
            M::GET,
            |p| Some(format!("/api/v1/changes?within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/changes",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/changes?within={a}"))
            },
            everyone,
        ),
        probe(
            "/api/v1/changes/households",
            M::GET,
            |p| Some(format!("/api/v1/changes/households?within={}", p.home)),
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/changes/households",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/changes/households?within={a}"))
            },
            away(PERSONAL),
        ),
        probe(
            "/api/v1/trend",
            M::GET,
            |p| Some(format!("/api/v1/trend?indicator=dropout&within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/trend",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/trend?indicator=dropout&within={a}"))
            },
            everyone,
        ),
        // Cross-checks (账账相符): figures for everyone, empty outside one's areas; the
        // mismatches (personal data) for the roles that read it, and for the 教育 bureau
        // its own rules; answers uploaded by the same.
        probe(
            "/api/v1/crosschecks",
            M::GET,
            |p| Some(format!("/api/v1/crosschecks?within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/crosschecks",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/crosschecks?within={a}"))
            },
            everyone,
        ),
        probe(
            "/api/v1/crosschecks/{rule}/mismatches",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/crosschecks/edu_missing/mismatches?within={}",
                    p.home
                ))
            },
            allowed(PERSONAL_OR_EDUCATION, 200),
        ),
        probe(
            "/api/v1/crosschecks/{rule}/mismatches",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/crosschecks/edu_missing/mismatches?within={a}"))
            },
            away(PERSONAL),
        ),
        probe(
            "/api/v1/crosschecks/{rule}/mismatches",
            M::GET,
            |p| {
                Some(format!(
                    "/api/v1/crosschecks/insured_not_on_roll/mismatches?within={}",
                    p.home
                ))
            },
            |p| {
                Expect::Status(if p.is(PERSONAL) {
                    200
                } else if p.is(&["department"]) {
                    // Not the education bureau's rule: unknown to it.
                    404
                } else {
                    403
                })
            },
        ),
        with_body(
            probe(
                "/api/v1/crosschecks/{rule}/answers",
                M::POST,
                |_| Some("/api/v1/crosschecks/edu_missing/answers".into()),
                allowed(PERSONAL_OR_EDUCATION, 400),
            ),
            |_| json!({"not": "a list"}),
        ),
        // Poverty-village exit verdicts: figures for everyone, empty outside one's
        // areas. The 应纳未纳 candidates: personal data, for the roles that read it in
        // their areas; decisions by the township user only (a bad body is 400, a
        // candidate that is not theirs 404, as one that does not exist).
        probe(
            "/api/v1/exit-verdicts",
            M::GET,
            |p| Some(format!("/api/v1/exit-verdicts?within={}", p.home)),
            everyone,
        ),
        probe(
            "/api/v1/exit-verdicts",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/exit-verdicts?within={a}&format=csv"))
            },
            everyone,
        ),
        probe(
            "/api/v1/inclusion-candidates",
            M::GET,
            |p| Some(format!("/api/v1/inclusion-candidates?within={}", p.home)),
            allowed(PERSONAL, 200),
        ),
        probe(
            "/api/v1/inclusion-candidates",
            M::GET,
            |p| {
                p.away
                    .as_ref()
                    .map(|a| format!("/api/v1/inclusion-candidates?within={a}"))
            },
            away(PERSONAL),
        ),
        with_body(
            probe(
                "/api/v1/inclusion-candidates/{id}/decision",
                M::POST,
                |_| Some("/api/v1/inclusion-candidates/c-0000000000000000/decision".into()),
                allowed(&["township"], 400),
            ),
            |_| json!({"decision": "也许", "reason": ""}),
        ),
        with_body(
            probe(
                "/api/v1/inclusion-candidates/{id}/decision",
                M::POST,
                |_| Some("/api/v1/inclusion-candidates/c-0000000000000000/decision".into()),
                away(&["township"]),
            ),
            |_| json!({"decision": "不纳入", "reason": "已核实"}),
        ),
        // Imports: admins of the whole county only; refused before any body is read.
        probe(
            "/api/v1/imports",
            M::GET,
            |_| Some("/api/v1/imports".into()),
            allowed(&["admin"], 200),
        ),
        probe(
            "/api/v1/imports",
            M::POST,
            |_| Some("/api/v1/imports?kind=households".into()),
            allowed(&["admin"], 400),
        ),
        probe(
            "/api/v1/imports/{id}",
            M::GET,
            |_| Some("/api/v1/imports/i-none".into()),
            allowed(&["admin"], 404),
        ),
        probe(
            "/api/v1/imports/{id}",
            M::DELETE,
            |_| Some("/api/v1/imports/i-none".into()),
            allowed(&["admin"], 404),
        ),
        probe(
            "/api/v1/imports/{id}/report.xlsx",
            M::GET,
            |_| Some("/api/v1/imports/i-none/report.xlsx".into()),
            allowed(&["admin"], 404),
        ),
        probe(
            "/api/v1/imports/{id}/commit",
            M::POST,
            |_| Some("/api/v1/imports/i-none/commit".into()),
            allowed(&["admin"], 404),
        ),
        probe(
            "/api/v1/imports/{id}/undo",
            M::POST,
            |_| Some("/api/v1/imports/i-none/undo".into()),
            allowed(&["admin"], 404),
        ),
        // Open to all: basemaps and fonts (no data of anyone); none are installed here.
        probe(
            "/tiles/basemaps/{id}/{z}/{x}/{y}",
            M::GET,
            |_| Some("/tiles/basemaps/none/1/1/1.png".into()),
            |_| Expect::Status(404),
        ),
        probe(
            "/tiles/basemaps/{file}",
            M::GET,
            |_| Some("/tiles/basemaps/none.pmtiles".into()),
            |_| Expect::Status(404),
        ),
        probe(
            "/fonts/{stack}/{range}",
            M::GET,
            |_| Some("/fonts/none/0-255.pbf".into()),
            |_| Expect::OneOf(&[200, 404]),
        ),
        // Signing in with a wrong password: refused, then (the name locked) throttled.
        with_body(
            probe(
                "/api/v1/session",
                M::POST,
                |_| Some("/api/v1/session".into()),
                |_| Expect::OneOf(&[401, 429]),
            ),
            |_| json!({"user": "no-such-person", "password": "not-a-password"}),
        ),
        // Signing out with a token ends nothing (there is no session) and is no error.
        probe(
            "/api/v1/session",
            M::DELETE,
            |_| Some("/api/v1/session".into()),
            |_| Expect::Status(204),
        ),
    ]
}

/// The demo's one-role accounts.
const DEMO_USERS: [&str; 8] = [
    "admin",
    "analyst",
    "leader",
    "township",
    "village",
    "group",
    "evaluator",
    "department",
];

/// The demo's accounts with their areas (as the admin lists them), each with a token,
/// and a village and household inside and outside its areas.
async fn people(app: &TestApp) -> Vec<Person> {
    let users = app.get_json("/api/v1/users").await;
    let snapshot = app.snapshot();
    let villages: Vec<String> = {
        let mut v: Vec<String> = snapshot
            .locations
            .iter()
            .map(|l| l.village_code.to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let household_in = |village: &str| -> String {
        let row = snapshot
            .locations
            .iter()
            .position(|l| &*l.village_code == village)
            .unwrap();
        snapshot.household_nos[row].to_owned()
    };
    let mut out = Vec::new();
    for user in DEMO_USERS {
        let entry = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user"] == user)
            .unwrap();
        let areas: Vec<String> = entry["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["area"].as_str().unwrap().to_owned())
            .collect();
        let inside = |v: &&String| areas.iter().any(|a| v.starts_with(a.as_str()));
        let home = villages.iter().find(inside).unwrap().clone();
        let away = villages.iter().rev().find(|v| !inside(v)).cloned();
        out.push(Person {
            user: user.to_owned(),
            client: app.client_as(user).await,
            home_household: household_in(&home),
            away_household: away.as_deref().map(household_in),
            areas,
            home,
            away,
        });
    }
    out
}

/// Whether `text` holds a valid 18-digit resident ID number (GB 11643 check digit).
pub(crate) fn has_id_number(text: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = text.as_bytes();
    bytes.windows(18).any(|w| {
        w[..17].iter().all(u8::is_ascii_digit)
            && (w[17].is_ascii_digit() || w[17] == b'X')
            && {
                let sum: u32 = w[..17]
                    .iter()
                    .zip(WEIGHTS)
                    .map(|(d, wt)| u32::from(d - b'0') * wt)
                    .sum();
                CHECK[(sum % 11) as usize] == w[17]
            }
            // Birth date in the middle: 19xx or 20xx, a month, a day.
            && matches!(&w[6..8], b"19" | b"20")
            && matches!((w[10] - b'0') * 10 + (w[11] - b'0'), 1..=12)
    })
}

/// Areas an answer names (`code` fields of JSON, or of tile features).
fn codes_in(body: &Value, out: &mut BTreeSet<String>) {
    match body {
        Value::Object(map) => {
            for (k, v) in map {
                if matches!(k.as_str(), "code" | "village_code")
                    && let Some(c) = v.as_str()
                {
                    out.insert(c.to_owned());
                }
                codes_in(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| codes_in(v, out)),
        _ => {}
    }
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "the matrix run, then the checks of each answer, top to bottom"
)]
async fn every_route_answers_each_role_in_its_areas_only_and_leaks_nothing() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let county = snapshot.top_code.clone();
    let people = people(&app).await;
    // The full names and household numbers of the fixture, to look for in answers.
    let (households, members) = app.raw_rows();
    let area_names: Vec<String> = snapshot.names.values().map(|(n, _)| n.clone()).collect();
    let names: BTreeSet<String> = members
        .iter()
        .map(|m| m["name"].clone())
        .filter(|n| n.chars().count() >= 3 && !area_names.iter().any(|a| a.contains(n.as_str())))
        .collect();
    assert!(names.len() > 100, "the fixture's names: {}", names.len());
    let numbers: BTreeSet<String> = households
        .iter()
        .map(|h| h["household_no"].clone())
        .collect();
    // A tile over the township user's township, and a household tile at zoom 14.
    let township_user = people.iter().find(|p| p.user == "township").unwrap();
    let row = snapshot
        .household_nos
        .iter()
        .position(|n| *n == township_user.home_household)
        .unwrap();
    let at = snapshot.positions[row].unwrap();
    let township_tile = TileId::containing(at.lon, at.lat, 9).unwrap();
    let household_tile = TileId::containing(at.lon, at.lat, 14).unwrap();
    let probes = probes(&county, township_tile, household_tile);

    // Every route of the OpenAPI document is probed.
    let doc = app.get_json("/openapi.json").await;
    let covered: BTreeSet<(&str, String)> = probes
        .iter()
        .map(|p| (p.route, p.method.as_str().to_lowercase()))
        .collect();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if !covered.contains(&(path.as_str(), method.clone())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a scope probe: {missing:?}"
    );

    let mut asked = 0;
    let mut failures = Vec::new();
    for person in &people {
        for probe in &probes {
            let Some(path) = (probe.path)(person) else {
                continue;
            };
            let expect = (probe.expect)(person);
            let mut request = person
                .client
                .request(probe.method.clone(), format!("{}{path}", app.address));
            if let Some(body) = &probe.body {
                request = request.json(&body(person));
            }
            let response = request.send().await.unwrap();
            asked += 1;
            let status = response.status().as_u16();
            let aggregated = response.headers().contains_key("x-paicha-aggregated");
            let bytes = response.bytes().await.unwrap();
            let ok = match expect {
                Expect::Status(s) => status == s,
                Expect::OneOf(list) => list.contains(&status),
            };
            if !ok {
                failures.push(format!(
                    "{} {} {path}: {status} ({})",
                    person.user,
                    probe.method,
                    String::from_utf8_lossy(&bytes)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
                continue;
            }
            if status != 200 {
                continue;
            }
            // No personal data where the role may not see it, and never a full ID
            // number or name.
            let text = String::from_utf8_lossy(&bytes);
            if has_id_number(&text) {
                failures.push(format!("{} {path}: a full ID number", person.user));
            }
            if let Some(n) = names.iter().find(|n| text.contains(n.as_str())) {
                failures.push(format!("{} {path}: the full name {n}", person.user));
            }
            // (The audit log names the households read by number, so that an admin can
            // say who looked at one.)
            if !person.is(PERSONAL)
                && !path.starts_with("/api/v1/audit")
                && let Some(n) = numbers.iter().find(|n| text.contains(n.as_str()))
            {
                failures.push(format!("{} {path}: household number {n}", person.user));
            }
            // Every area an answer names lies inside the person's areas.
            let mut mentioned = BTreeSet::new();
            if path.contains(".mvt") {
                // A tile with nothing of the person's areas has no layer at all.
                let features = if bytes.is_empty() {
                    Vec::new()
                } else {
                    crate::tiles::decode(&bytes).1
                };
                for (props, _) in features {
                    mentioned.extend(props.get("code").cloned());
                    mentioned.extend(props.get("village_code").cloned());
                }
                if path.starts_with("/tiles/households/") && !person.is(PERSONAL) && !aggregated {
                    failures.push(format!("{} {path}: exact household points", person.user));
                }
            } else if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
                codes_in(&json, &mut mentioned);
            }
            if !path.starts_with("/api/v1/checklists") && !path.starts_with("/api/v1/locate") {
                let division = |c: &&String| {
                    matches!(c.len(), 9 | 12) && c.bytes().all(|b| b.is_ascii_digit())
                };
                for code in mentioned.iter().filter(division) {
                    if !person.holds(code) {
                        failures.push(format!("{} {path}: names {code}", person.user));
                    }
                }
            }
        }
    }
    // Nobody signed in: every route but the open ones is 401.
    let open = [
        "/health",
        "/api/v1/session/demo",
        "/tiles/basemaps/",
        "/fonts/",
    ];
    let nobody = &people[0];
    for probe in &probes {
        let Some(path) = (probe.path)(nobody) else {
            continue;
        };
        if open.iter().any(|o| path.starts_with(o)) {
            continue;
        }
        let mut request = app
            .anonymous
            .request(probe.method.clone(), format!("{}{path}", app.address));
        if let Some(body) = &probe.body {
            request = request.json(&body(nobody));
        }
        let status = request.send().await.unwrap().status().as_u16();
        asked += 1;
        let throttled = status == 429 && path == "/api/v1/session";
        if status != 401 && !throttled {
            failures.push(format!("nobody {} {path}: {status}", probe.method));
        }
    }
    eprintln!(
        "scope matrix: {} probes of {} routes × {} roles (+ nobody) = {asked} requests, {} failures",
        probes.len(),
        covered.len(),
        people.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn signing_in_sets_httponly_samesite_cookies_and_writes_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let response = app
        .anonymous
        .post(format!("{}/api/v1/session", app.address))
        .json(&json!({"user": "analyst", "password": paicha::accounts::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("paicha_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(session.contains("Max-Age=43200"), "{session}");
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("paicha_csrf="))
        .unwrap();
    assert!(!csrf_cookie.contains("HttpOnly"), "{csrf_cookie}");
    let body: Value = response.json().await.unwrap();
    let csrf = body["csrf"].as_str().unwrap().to_owned();
    let cookie = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect::<Vec<_>>()
        .join("; ");
    let url = format!(
        "{}/api/v1/campaigns/xinbin-2019-q3/entries/210422100201/1",
        app.address
    );
    // A write from a foreign page: the cookie goes along, the token cannot.
    let forged = app
        .anonymous
        .patch(&url)
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body(r#"{"version": 0, "notes": "csrf"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // The page's own write carries it: past the check (to the stale version's 409).
    let own = app
        .anonymous
        .patch(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"version": 0, "notes": "csrf"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 409);
    // Reads need no token; the session names its person.
    let me = app
        .anonymous
        .get(format!("{}/api/v1/session", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"], "analyst");
    assert_eq!(me["grants"][0]["role_zh"], "县级分析");
    // Signed out: the same cookie is refused.
    let out = app
        .anonymous
        .delete(format!("{}/api/v1/session", app.address))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = app
        .anonymous
        .get(format!("{}/api/v1/stats", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    assert_eq!(after.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_name_and_every_attempt_is_audited() {
    let app = TestApp::spawn().await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            app.anonymous
                .post(format!("{}/api/v1/session", app.address))
                .json(&json!({"user": "department", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password").await, 401);
    }
    // Locked: even the right password is refused, without being checked.
    assert_eq!(attempt(paicha::accounts::DEMO_PASSWORD).await, 429);
    // The audit log has the failures, names no password, and only admins read it.
    let mut failed = 0;
    for _ in 0..100 {
        let lines = app
            .get_json("/api/v1/audit?user=department&action=sign_in_failed&limit=100")
            .await;
        failed = lines.as_array().unwrap().len();
        if failed >= 5 {
            assert!(!lines.to_string().contains("wrong-password"));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(failed >= 5, "{failed} failures audited");
    let leader = app.client_as("leader").await;
    let status = leader
        .get(format!("{}/api/v1/audit", app.address))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
}

#[tokio::test]
async fn reads_of_personal_data_and_writes_are_in_the_audit_log_with_who_and_what() {
    let app = TestApp::spawn().await;
    let village = app.client_as("village").await;
    let people = people(&app).await;
    let me = people.iter().find(|p| p.user == "village").unwrap();
    let first = me.home_household.clone();
    let read = village
        .get(format!("{}/api/v1/households/{first}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let mut found = false;
    for _ in 0..100 {
        let lines = app
            .get_json("/api/v1/audit?user=village&action=read_personal&limit=50")
            .await;
        found = lines.as_array().unwrap().iter().any(|l| {
            l["route"] == format!("GET /api/v1/households/{first}").as_str()
                && l["detail"].as_str().unwrap_or_default().contains(&first)
        });
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the read of {first} is not on record");
    // A village secretary's signature is theirs, whatever name the body gives.
    let url = format!(
        "{}/api/v1/campaigns/xinbin-2019-q3/entries/{}/37",
        app.address, me.home
    );
    let entry: Value = village
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed = village
        .patch(&url)
        .json(&json!({
            "version": entry["version"],
            "by": "别人",
            "secretary": {"who": "别人", "at": "2019-09-30"}
        }))
        .send()
        .await
        .unwrap();
    let status = signed.status();
    let signed: Value = signed.json().await.unwrap();
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["secretary"]["who"], "村书记（演示）");
    assert_eq!(signed["updated_by"], "村书记（演示）");
    let mut written = false;
    for _ in 0..100 {
        let lines = app
            .get_json("/api/v1/audit?user=village&action=write&limit=50")
            .await;
        written = lines.as_array().unwrap().iter().any(|l| {
            let d = l["detail"].as_str().unwrap_or_default();
            d.contains(&me.home) && d.contains("before") && d.contains("after")
        });
        if written {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(written, "the signature is not on record");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/login.html", "/health", "/api/v1/stats", "/js/app.js"] {
        let r = app.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("style-src 'self';") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
}

#[tokio::test]
async fn a_token_in_the_query_opens_tiles_for_gis_clients_but_not_the_api() {
    let app = TestApp::spawn().await;
    let (cookies, csrf) = app.sign_in("leader", paicha::accounts::DEMO_PASSWORD).await;
    let made: Value = app
        .anonymous
        .post(format!("{}/api/v1/tokens", app.address))
        .header("cookie", &cookies)
        .header("x-csrf-token", &csrf)
        .json(&json!({"label": "QGIS"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = made["token"].as_str().unwrap();
    let t = TileId::containing(124.9, 41.7, 8).unwrap();
    let tile_path = format!("/tiles/townships/{}/{}/{}.mvt", t.z, t.x, t.y);
    let tile = app
        .anonymous
        .get(format!("{}{tile_path}?access_token={token}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(tile.status(), 200);
    let api = app
        .anonymous
        .get(format!("{}/api/v1/stats?access_token={token}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    // Revoked, it opens nothing.
    let id = made["id"].as_str().unwrap();
    let revoked = client_with_token(token)
        .delete(format!("{}/api/v1/tokens/{id}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = app
        .anonymous
        .get(format!("{}{tile_path}?access_token={token}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

#[test]
fn the_id_number_pattern_finds_valid_numbers_only() {
    // GB 11643's example number.
    assert!(has_id_number("x 11010519491231002X y"));
    assert!(!has_id_number("11010519491231002Y"));
    assert!(!has_id_number("110105194912310021"));
}

#[tokio::test]
async fn an_evaluators_villages_are_drawn_over_the_townships_and_are_all_they_see() {
    let app = TestApp::spawn().await;
    let county = app.snapshot().top_code.clone();
    let made = app
        .client
        .post(format!("{}/api/v1/users", app.address))
        .json(&json!({
            "user": "sampled-evaluator", "display": "评估员（测试）", "password": "evaluator-pass",
            "grants": [{"role": "leader", "area": county, "until": "2000-01-01"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    let url = format!("{}/api/v1/users/sampled-evaluator/sample", app.address);
    let draw = |seed: u64| {
        let client = app.client.clone();
        let url = url.clone();
        async move {
            let r = client
                .post(&url)
                .json(&json!({"villages": 4, "seed": seed, "until": "2099-12-31"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let first = draw(11).await;
    let codes: Vec<String> = first["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 4);
    let townships: BTreeSet<&str> = codes.iter().map(|c| &c[..9]).collect();
    assert_eq!(townships.len(), 4, "one village a township: {codes:?}");
    assert_eq!(
        first["villages"][0]["name"],
        app.snapshot().name(&codes[0]).unwrap()
    );
    // The other role stays; the evaluator grants are the draw, with its last day.
    let grants = first["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 5);
    assert_eq!(grants[0]["role"], "leader");
    assert!(
        grants[1..]
            .iter()
            .all(|g| g["role"] == "evaluator" && g["until"] == "2099-12-31")
    );
    // The same seed draws the same villages, again replacing the last draw.
    let again = draw(11).await;
    assert_eq!(again["villages"], first["villages"]);
    assert_eq!(again["grants"].as_array().unwrap().len(), 5);

    // Signed in, the evaluator sees those villages and nothing else.
    let evaluator = app.client_as("sampled-evaluator").await;
    let seen: Value = evaluator
        .get(format!("{}/api/v1/areas?level=village", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seen: Vec<String> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    assert_eq!(seen, codes);

    // Bad draws say which field.
    for (body, field) in [
        (json!({"villages": 0}), "villages"),
        (json!({"villages": 2, "within": "110000"}), "within"),
        (json!({"villages": 2, "until": "soon"}), "until"),
    ] {
        let r = app.client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400);
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem_fields(&problem), vec![field.to_owned()]);
    }
}

/// The ids of a catalog's or a table's `indicators`.
fn indicator_ids(body: &Value) -> Vec<&str> {
    body["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_department_sees_its_own_indicators_only() {
    let app = TestApp::spawn().await;
    let education = app.client_as("department").await;
    let get = |path: &str| education.get(format!("{}{path}", app.address)).send();
    let catalog: Value = get("/api/v1/indicators")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        indicator_ids(&catalog),
        [
            "dropout",
            "crosscheck_edu_missing",
            "crosscheck_edu_dropout"
        ],
        "the education bureau's indicators: dropouts and its roll's cross-checks"
    );
    // Figures default to its indicators, and others are unknown to it.
    let stats: Value = get("/api/v1/stats?level=township")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        indicator_ids(&stats),
        [
            "dropout",
            "crosscheck_edu_missing",
            "crosscheck_edu_dropout"
        ]
    );
    assert!(!stats["rows"].as_array().unwrap().is_empty());
    assert!(!stats.to_string().contains("uninsured"), "{stats}");
    for path in [
        "/api/v1/stats?indicators=uninsured",
        "/tiles/heat/any_problem/9/420/190.png",
        "/api/v1/maps/water_unsafe.svg",
        "/tiles/problems/14/13470/6100.mvt?indicator=unsafe_housing",
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem.to_string().contains("dropout"),
            "{path}: the refusal names what it may ask: {problem}"
        );
    }
    // Its village tiles carry its indicator only; an analyst's carry them all.
    let tilejson: Value = get("/tiles/villages.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields = tilejson["vector_layers"][0]["fields"].as_object().unwrap();
    assert!(fields.contains_key("dropout_rate"));
    assert!(!fields.contains_key("any_problem_rate"), "{fields:?}");
    let full: Value = app.get_json("/tiles/villages.json").await;
    assert!(
        full["vector_layers"][0]["fields"]
            .as_object()
            .unwrap()
            .contains_key("any_problem_rate")
    );
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one story, checked top to bottom")]
async fn figures_asked_outside_ones_areas_are_empty_and_say_so() {
    let app = TestApp::spawn().await;
    let snapshot = app.snapshot();
    let mut townships: Vec<&String> = snapshot
        .names
        .iter()
        .filter(|(_, (_, level))| *level == paicha::domain::AreaLevel::Township)
        .map(|(code, _)| code)
        .collect();
    townships.sort();
    let other = townships.last().unwrap();
    let township = app.client_as("township").await;
    let unknown = format!("{}999", &snapshot.top_code);
    let mut answers = Vec::new();
    for within in [other.as_str(), unknown.as_str()] {
        let stats: Value = township
            .get(format!("{}/api/v1/stats?within={within}", app.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stats["outside"], true, "{stats}");
        assert_eq!(stats["within"]["name"], "（不在您的权限范围内）");
        assert_eq!(stats["rows"], json!([]));
        assert_eq!(stats["total"]["households"], 0);
        let quality: Value = township
            .get(format!("{}/api/v1/quality?within={within}", app.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(quality["households"], 0, "{quality}");
        assert_eq!(quality["name"], "（不在您的权限范围内）");
        assert_eq!(quality["villages"], json!([]));
        let get = |path: String| {
            let township = &township;
            async move {
                let r = township.get(path).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()
            }
        };
        let changes = get(format!("{}/api/v1/changes?within={within}", app.address)).await;
        assert_eq!(changes["outside"], true, "{changes}");
        assert_eq!(changes["within"]["name"], "（不在您的权限范围内）");
        assert_eq!(changes["rows"], json!([]));
        assert_eq!(changes["households"]["before"], 0);
        let trend = get(format!(
            "{}/api/v1/trend?indicator=dropout&within={within}",
            app.address
        ))
        .await;
        assert_eq!(trend["outside"], true, "{trend}");
        assert_eq!(trend["points"][0]["denominator"], 0, "{trend}");
        // A known area and an unknown one answer alike: nothing says which exists.
        answers.push((
            stats["total"].to_string().replace(within, "X"),
            quality.to_string().replace(within, "X")
                + &changes.to_string().replace(within, "X")
                + &trend.to_string().replace(within, "X"),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    // A static map or chart of it is an image saying so, the same for a known area and
    // an unknown one, naming neither.
    let other_name = &snapshot.names[other.as_str()].0;
    for kind in ["maps", "charts"] {
        let mut images = Vec::new();
        for within in [other.as_str(), unknown.as_str()] {
            let image = township
                .get(format!(
                    "{}/api/v1/{kind}/dropout.svg?within={within}",
                    app.address
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(image.status(), 200);
            assert_eq!(image.headers()["content-type"], "image/svg+xml");
            let svg = image.text().await.unwrap();
            assert!(
                svg.contains("（不在您的权限范围内）义务教育阶段失学辍学比例"),
                "{kind}"
            );
            assert!(svg.contains("没有可显示的数据"), "{kind}");
            assert!(!svg.contains(other_name.as_str()) && !svg.contains(within));
            images.push(svg);
        }
        assert_eq!(images[0], images[1], "{kind}");
    }
    // The file says it too.
    let csv = township
        .get(format!(
            "{}/api/v1/stats?within={other}&format=csv",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("（不在您的权限范围内）"), "{csv}");
    // Someone who sees the whole map is told an unknown area does not exist.
    let problem = app
        .get_problem(&format!("/api/v1/stats?within={unknown}"), 404)
        .await;
    assert!(problem["detail"].as_str().unwrap().contains(&unknown));
}
