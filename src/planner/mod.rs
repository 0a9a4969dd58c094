//! Field-visit planning for inspection groups (督查组): which villages and households
//! to visit ([`targets`]), in what order, day by day ([`vrp`], over the route solver
//! [`tsp`]), and the plan in the forms people carry ([`export`]).
//!
//! [`validate`] checks a [`plan::Request`] field by field; [`build`] turns the
//! validated choice and the chosen targets into a [`plan::Plan`], in which every target
//! is either in a day or listed as dropped with the reason.

pub mod export;
pub mod targets;
pub mod tsp;
pub mod tsplib;
pub mod visits;
pub mod vrp;

use geo::{InteriorPoint, MultiPolygon};

use self::targets::{Choice, Chosen};
use self::vrp::{GroupSpec, Network as _, Problem, StopSpec, StraightLine};
use crate::domain::FieldViolation;
use crate::domain::plan::{self, Day, Dropped, Group, Place, Plan, Request, Stop, Target};
use crate::indicators::Catalog;
use crate::model::Snapshot;
use crate::spatial::crs::LonLat;
use crate::store::{Store, StoreError};
use std::sync::atomic::AtomicBool;

/// Most groups in one plan.
pub const MAX_GROUPS: usize = 100;
/// Most days in one plan.
pub const MAX_DAYS: usize = 60;
/// Most group-days (groups × days) in one plan: a city's hundred townships for ten
/// days, or a county's fifteen for two months. Routing time grows with them.
pub const MAX_GROUP_DAYS: usize = 1_000;
/// Most targets one plan routes; a request that chooses more is refused before any
/// routing, naming what to narrow.
pub const MAX_TARGETS: usize = 30_000;

/// Why a plan was not made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the targets or storing the plan failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request chose more targets than a plan routes: narrow the townships or the
    /// area, the indicators, or the sample.
    #[error(
        "the request chooses {targets} targets; a plan routes at most {MAX_TARGETS}: narrow the townships or the area, the indicators or the sample"
    )]
    TooManyTargets {
        /// Targets chosen.
        targets: usize,
    },
    /// The plan was no longer wanted (the client went away) and was not stored.
    #[error("the plan was cancelled before it was finished")]
    Cancelled,
}
/// Most sampled households per village.
pub const MAX_SAMPLE: usize = 100;

/// A validated request: what to choose, and how many groups and days.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The targets' choice.
    pub choice: Choice,
    /// Groups.
    pub groups: usize,
    /// Whether each group keeps to one township (the default: one group per township).
    pub one_per_township: bool,
    /// Must-visit household rows.
    pub must_rows: Vec<usize>,
}

fn in_range(issues: &mut Vec<FieldViolation>, field: &str, value: f64, min: f64, max: f64) {
    if !(value.is_finite() && value >= min && value <= max) {
        issues.push(FieldViolation {
            field: field.to_owned(),
            reason: format!("must be between {min} and {max}, got {value}"),
        });
    }
}

/// Checks every field of a request against the data. `area` is the request's drawn
/// area, already parsed and checked by the caller.
///
/// # Errors
/// Every field that is wrong, each named.
pub fn validate(
    request: &Request,
    area: Option<MultiPolygon<f64>>,
    snapshot: &Snapshot,
    catalog: &Catalog,
) -> Result<Validated, Vec<FieldViolation>> {
    let mut issues = Vec::new();
    check_scope(request, area.is_some(), snapshot, catalog, &mut issues);
    let mut issue = |field: String, reason: String| issues.push(FieldViolation { field, reason });
    let one_per_township = request.groups.is_none() && area.is_none();
    let groups = request
        .groups
        .unwrap_or_else(|| request.townships.len().max(1));
    if groups == 0 || groups > MAX_GROUPS {
        issue(
            "groups".to_owned(),
            format!("must be between 1 and {MAX_GROUPS}"),
        );
    }
    if request.days == 0 || request.days > MAX_DAYS {
        issue(
            "days".to_owned(),
            format!("must be between 1 and {MAX_DAYS}"),
        );
    } else if groups * request.days > MAX_GROUP_DAYS {
        issue(
            "days".to_owned(),
            format!(
                "{groups} groups × {} days is {} group-days; a plan holds at most {MAX_GROUP_DAYS}",
                request.days,
                groups * request.days
            ),
        );
    }
    match plan::clock_minutes(&request.day_start) {
        None => issue(
            "day_start".to_owned(),
            format!("expected a clock time HH:MM, got {:?}", request.day_start),
        ),
        // A working day that runs past midnight would print 00:40 after 23:50.
        Some(start) if f64::from(start) + request.day_minutes > 24.0 * 60.0 => issue(
            "day_start".to_owned(),
            format!(
                "a day starting at {} with {} working minutes ends after midnight",
                request.day_start, request.day_minutes
            ),
        ),
        Some(_) => {}
    }
    if request.sample_per_village > MAX_SAMPLE {
        issue(
            "sample_per_village".to_owned(),
            format!("must be at most {MAX_SAMPLE}"),
        );
    }
    if let Some(date) = &request.start_date
        && !crate::domain::calendar::is_date(date)
    {
        issue(
            "start_date".to_owned(),
            format!("expected a date as YYYY-MM-DD, got {date:?}"),
        );
    }
    let rows = targets::rows_of(snapshot, &request.must_visit);
    let mut must_rows = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match row {
            Some(row) => must_rows.push(row),
            None => issue(
                format!("must_visit[{i}]"),
                "no household with this number".to_owned(),
            ),
        }
    }
    check_groups(request, groups, snapshot, catalog, &mut issues);
    let numbers = [
        ("day_minutes", request.day_minutes, 30.0, 1440.0),
        ("household_minutes", request.household_minutes, 1.0, 600.0),
        ("village_minutes", request.village_minutes, 1.0, 600.0),
        ("speed_kmh", request.speed_kmh, 1.0, 200.0),
        ("detour", request.detour, 1.0, 5.0),
    ];
    for (field, value, min, max) in numbers {
        in_range(&mut issues, field, value, min, max);
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Validated {
        choice: Choice {
            townships: request.townships.clone(),
            area,
            indicators: request.indicators.clone(),
            ledger: request.ledger,
            sample_per_village: request.sample_per_village,
            seed: request.seed,
            household_minutes: request.household_minutes,
            village_minutes: request.village_minutes,
            priorities: request.priorities.clone(),
        },
        groups,
        one_per_township,
        must_rows,
    })
}

/// The groups' starts and ends, and the priorities.
fn check_groups(
    request: &Request,
    groups: usize,
    snapshot: &Snapshot,
    catalog: &Catalog,
    issues: &mut Vec<FieldViolation>,
) {
    let mut issue = |field: String, reason: String| issues.push(FieldViolation { field, reason });
    if !request.starts.is_empty() && request.starts.len() != groups {
        issue(
            "starts".to_owned(),
            format!(
                "give one start per group ({groups}), or none for the township seats; got {}",
                request.starts.len()
            ),
        );
    }
    if !request.ends.is_empty() && request.ends.len() != groups {
        issue(
            "ends".to_owned(),
            format!(
                "give one end per group ({groups}), or none to end where each starts; got {}",
                request.ends.len()
            ),
        );
    }
    for (reason, &priority) in &request.priorities {
        let known = matches!(
            reason.as_str(),
            "monitored" | "ledger" | "overdue" | "sample"
        ) || catalog
            .get(reason)
            .is_some_and(|i| !crate::indicators::measure_of(i).is_ledger());
        if !known {
            issue(
                format!("priorities.{reason}"),
                "expected a household indicator id, monitored, ledger, overdue or sample"
                    .to_owned(),
            );
        } else if priority > 9 {
            issue(
                format!("priorities.{reason}"),
                format!("must be between 0 and 9, got {priority}"),
            );
        }
    }
    let places = request
        .starts
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("starts[{i}]"), p))
        .chain(
            request
                .ends
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("ends[{i}]"), p)),
        );
    for (field, start) in places {
        let b = snapshot.county_bounds;
        // A day's start more than a degree outside the county is a typing error.
        if !(start.lon.is_finite()
            && start.lat.is_finite()
            && start.lon >= b[0] - 1.0
            && start.lon <= b[2] + 1.0
            && start.lat >= b[1] - 1.0
            && start.lat <= b[3] + 1.0)
        {
            issue(
                field,
                "must be a WGS-84 position within a degree of the county".to_owned(),
            );
        }
    }
}

/// The townships, the drawn area and the indicators.
fn check_scope(
    request: &Request,
    has_area: bool,
    snapshot: &Snapshot,
    catalog: &Catalog,
    issues: &mut Vec<FieldViolation>,
) {
    let mut issue = |field: String, reason: String| issues.push(FieldViolation { field, reason });
    for (i, code) in request.townships.iter().enumerate() {
        let known = snapshot
            .names
            .get(code)
            .is_some_and(|(_, level)| *level == crate::domain::AreaLevel::Township);
        if !known {
            issue(
                format!("townships[{i}]"),
                format!("no township with code {code:?}"),
            );
        }
    }
    if request.townships.is_empty() && !has_area {
        issue(
            "townships".to_owned(),
            "name at least one township, or draw an area".to_owned(),
        );
    }
    if !request.townships.is_empty() && has_area {
        issue(
            "area".to_owned(),
            "give townships or an area, not both".to_owned(),
        );
    }
    for (i, id) in request.indicators.iter().enumerate() {
        match catalog.get(id) {
            None => issue(
                format!("indicators[{i}]"),
                format!(
                    "unknown indicator {id:?}; expected one of {}",
                    catalog.ids()
                ),
            ),
            Some(ind) if crate::indicators::measure_of(ind).is_ledger() => issue(
                format!("indicators[{i}]"),
                format!(
                    "{id} is counted per village: set ledger to true to visit villages with open items"
                ),
            ),
            Some(_) => {}
        }
    }
}

/// Registered households per village, counted once per plan.
fn village_sizes(snapshot: &Snapshot) -> std::collections::HashMap<&str, usize> {
    let mut counts = std::collections::HashMap::new();
    for loc in &snapshot.locations {
        *counts.entry(loc.village_code.as_ref()).or_default() += 1;
    }
    counts
}

/// A township's seat: inside its village with the most registered households (the
/// town centre; the government's address is not in the data).
fn seat(
    snapshot: &Snapshot,
    sizes: &std::collections::HashMap<&str, usize>,
    township: &str,
) -> Option<Place> {
    let (village, _) = sizes
        .iter()
        .filter(|(v, _)| v.starts_with(township))
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    let (lon, lat) = targets::village_point(snapshot, village)?;
    Some(Place {
        name: format!(
            "{}驻地（{}）",
            snapshot.name(township).unwrap_or_default(),
            snapshot.name(village).unwrap_or_default()
        ),
        lon,
        lat,
    })
}

fn area_centre(area: &MultiPolygon<f64>) -> Option<Place> {
    area.interior_point().map(|p| Place {
        name: "圈选区域中心".to_owned(),
        lon: p.x(),
        lat: p.y(),
    })
}

fn title(snapshot: &Snapshot, choice: &Choice) -> String {
    let names: Vec<&str> = choice
        .townships
        .iter()
        .filter_map(|c| snapshot.name(c))
        .collect();
    match names.len() {
        0 => "圈选区域督查走访计划".to_owned(),
        1..=3 => format!("{}督查走访计划", names.join("、")),
        n => format!("{}等{n}个乡镇督查走访计划", names[0]),
    }
}

/// Where each group starts and ends its days: as asked, else its township's seat.
fn starts(snapshot: &Snapshot, choice: &Choice, request: &Request, groups: usize) -> Vec<Place> {
    let sizes = village_sizes(snapshot);
    let default_start = |g: usize| -> Place {
        let by_township = (!choice.townships.is_empty())
            .then(|| {
                seat(
                    snapshot,
                    &sizes,
                    &choice.townships[g % choice.townships.len()],
                )
            })
            .flatten();
        by_township
            .or_else(|| choice.area.as_ref().and_then(area_centre))
            .unwrap_or_else(|| Place {
                name: "县城".to_owned(),
                lon: f64::midpoint(snapshot.county_bounds[0], snapshot.county_bounds[2]),
                lat: f64::midpoint(snapshot.county_bounds[1], snapshot.county_bounds[3]),
            })
    };
    (0..groups)
        .map(|g| {
            request
                .starts
                .get(g)
                .cloned()
                .unwrap_or_else(|| default_start(g))
        })
        .collect()
}

/// One group's days, with arrival times along each route.
fn days_of<N: vrp::Network>(
    problem: &Problem<'_, N>,
    g: usize,
    routes: &[Vec<usize>],
    located: &[Target],
    [start, end]: [&Place; 2],
    request: &Request,
) -> Vec<Day> {
    routes
        .iter()
        .enumerate()
        .map(|(d, route)| {
            let s = vrp::schedule(problem, g, route);
            Day {
                day: d + 1,
                date: request
                    .start_date
                    .as_deref()
                    .and_then(|date| crate::domain::calendar::add_days(date, d)),
                start: start.clone(),
                end: end.clone(),
                stops: route
                    .iter()
                    .zip(&s.legs)
                    .enumerate()
                    .map(|(k, (&stop, leg))| Stop {
                        order: k + 1,
                        target: located[stop].clone(),
                        arrive_minutes: leg.arrive_minutes,
                        depart_minutes: leg.depart_minutes,
                        arrive: plan::clock(&request.day_start, leg.arrive_minutes),
                        depart: plan::clock(&request.day_start, leg.depart_minutes),
                        travel_metres: leg.travel_metres,
                        travel_minutes: leg.travel_minutes,
                    })
                    .collect(),
                travel_metres: s.travel_metres,
                travel_minutes: s.travel_minutes,
                service_minutes: s.service_minutes,
                total_minutes: s.total_minutes,
            }
        })
        .collect()
}

/// Makes and stores a plan for a validated request, in three steps that hold a
/// database connection only while they read or write: choose the targets (with the
/// open checklist items as of today) and look up the heads' masked names; route them
/// with no connection held ([`build`], seconds for a county); store the plan under the
/// next free id of the day. The API (on a blocking thread) and `paicha plan` both call it.
/// Once `cancel` is set the routing stops at its next step and nothing is stored.
///
/// # Errors
/// [`PlanError::TooManyTargets`] over [`MAX_TARGETS`], [`PlanError::Cancelled`], or
/// the [`StoreError`] of the first query that fails.
pub fn make(
    store: &Store,
    snapshot: &Snapshot,
    catalog: &Catalog,
    request: &Request,
    validated: &Validated,
    cancel: &AtomicBool,
) -> Result<Plan, PlanError> {
    let today = crate::domain::calendar::today();
    let chosen = {
        let conn = store.conn()?;
        choose_targets(&conn, snapshot, catalog, validated, &today)?
    };
    if chosen.targets.len() > MAX_TARGETS {
        return Err(PlanError::TooManyTargets {
            targets: chosen.targets.len(),
        });
    }
    // The id is given when the plan is stored.
    let mut plan = build(snapshot, request, validated, chosen, today, cancel);
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(PlanError::Cancelled);
    }
    crate::store::plans::save_new(&*store.conn()?, &mut plan)?;
    Ok(plan)
}

/// The targets of a validated request, with the households' heads' names masked.
fn choose_targets(
    conn: &duckdb::Connection,
    snapshot: &Snapshot,
    catalog: &Catalog,
    validated: &Validated,
    today: &str,
) -> Result<Chosen, StoreError> {
    let open = crate::store::ledger::open_items(conn, today)?;
    let mut chosen = targets::choose(
        snapshot,
        catalog,
        &validated.choice,
        &open,
        &validated.must_rows,
    );
    let numbers: Vec<&str> = chosen
        .targets
        .iter()
        .filter(|t| t.kind == plan::TargetKind::Household)
        .map(|t| t.id.as_str())
        .collect();
    let facts = crate::store::indicators::household_facts(conn, &numbers)?;
    for t in &mut chosen.targets {
        if t.kind == plan::TargetKind::Household {
            t.label = facts
                .get(&t.id)
                .and_then(|h| h.members.first())
                .map_or_else(
                    || "（户主未登记）".to_owned(),
                    |m| crate::domain::mask_name(&m.name),
                );
        }
    }
    Ok(chosen)
}

/// Routes the chosen targets into groups and days.
///
/// Targets without a position are dropped with 无定位; the rest go to the solver,
/// which drops what cannot fit with its reason. The plan has no id until it is
/// stored; once `cancel` is set the solver stops at its next step.
///
/// # Panics
/// Never for a [`Validated`] request: groups, days and minutes are in range.
#[must_use]
pub fn build(
    snapshot: &Snapshot,
    request: &Request,
    validated: &Validated,
    chosen: Chosen,
    created: String,
    cancel: &AtomicBool,
) -> Plan {
    let choice = &validated.choice;
    let groups = validated.groups;
    let starts = starts(snapshot, choice, request, groups);
    let ends: Vec<Place> = (0..groups)
        .map(|g| request.ends.get(g).unwrap_or(&starts[g]).clone())
        .collect();
    let mut dropped = Vec::new();
    let mut located = Vec::new();
    for target in chosen.targets {
        if target.lon.is_finite() && target.lat.is_finite() {
            located.push(target);
        } else {
            dropped.push(Dropped {
                target,
                reason: "无可用定位，需先补录GPS".to_owned(),
            });
        }
    }
    // Nodes: each group's start, each group's end, then the targets.
    let points: Vec<LonLat> = starts
        .iter()
        .chain(&ends)
        .map(|p| LonLat::new(p.lon, p.lat))
        .chain(located.iter().map(|t| LonLat::new(t.lon, t.lat)))
        .collect();
    let network = StraightLine::new(points, request.detour);
    let township_of = |t: &Target| {
        choice
            .townships
            .iter()
            .position(|c| t.village_code.starts_with(c.as_str()))
    };
    let stops = located
        .iter()
        .enumerate()
        .map(|(i, t)| StopSpec {
            node: 2 * groups + i,
            service_minutes: t.service_minutes,
            priority: t.priority,
            must_visit: t.must_visit,
            group: if validated.one_per_township {
                township_of(t)
            } else {
                None
            },
        })
        .collect();
    let problem = Problem {
        network: &network,
        stops,
        groups: (0..groups)
            .map(|g| GroupSpec {
                start: g,
                end: groups + g,
            })
            .collect(),
        days: request.days,
        day_minutes: request.day_minutes,
        speed_kmh: request.speed_kmh,
        seed: request.seed,
    };
    debug_assert_eq!(network.len(), 2 * groups + located.len());
    let solution = vrp::solve_until(&problem, cancel);
    let group_name = |g: usize| {
        if validated.one_per_township {
            format!(
                "第{}组 · {}",
                g + 1,
                snapshot.name(&choice.townships[g]).unwrap_or_default()
            )
        } else {
            format!("第{}组", g + 1)
        }
    };
    let plan_groups = solution
        .routes
        .iter()
        .enumerate()
        .map(|(g, days)| Group {
            group: g + 1,
            name: group_name(g),
            days: days_of(&problem, g, days, &located, [&starts[g], &ends[g]], request),
        })
        .collect();
    for (stop, reason) in solution.dropped {
        dropped.push(Dropped {
            target: located[stop].clone(),
            reason: reason.label().to_owned(),
        });
    }
    Plan {
        id: String::new(),
        title: title(snapshot, choice),
        created,
        request: request.clone(),
        groups: plan_groups,
        dropped,
    }
}
