//! The demo campaign's first three weeks of field visits (2019-07-01 to 07-21, seed
//! 000's month-long campaign): one inspection group per township of the demo county,
//! a plan per week made for the campaign (five working days of six households each),
//! and the visits the groups recorded: mostly 已走访, some 未遇 and 拒访, the third week
//! not yet finished, and one unplanned village check per group and week. Findings
//! follow the households' own data (a C or D house, unsafe water), so that the
//! progress view and the weekly report have something true to show. Deterministic
//! from the seed. Each village check finds one of the village's items wanting and opens
//! it in the ledger through the ledger's own rules ([`ledger_changes`]); what the first
//! week opened is being rectified the week after and rectified in the third.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::Crs;
use crate::domain::calendar::add_days;
use crate::domain::ledger::{Campaign, Entry, Status};
use crate::domain::mask_name;
use crate::domain::plan::{Day, Group, Place, Plan, Request, Selection, Stop, Target, TargetKind};
use crate::domain::visit::{Finding, FindingKind, Outcome, RawPosition, RecordedPosition, Visit};
use crate::ledger::rules::{EntryPatch, apply, ledger_updates};
use crate::store::visits::DemoHousehold;

/// The campaign's first day, a Monday.
pub const FIRST_DAY: &str = "2019-07-01";
/// Weeks of visits.
pub const WEEKS: usize = 3;
/// Working days a week.
const DAYS: usize = 5;
/// Households a group visits a day.
pub const STOPS_PER_DAY: usize = 6;

/// A township's week: its plan and its visits.
pub type Week = (Plan, Vec<Visit>);

/// The plans and visits of the first three weeks for `townships` (code and name): a
/// plan per week and township, in week order; from `households` (as `DatabaseBuilder::households_for_visits`
/// gives them, at least `WEEKS × 5 × STOPS_PER_DAY` a township to fill every day).
#[must_use]
pub fn generate(
    campaign: &Campaign,
    townships: &[(String, String)],
    households: &[DemoHousehold],
    seed: u64,
) -> Vec<Week> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(18);
    let mut weeks = Vec::with_capacity(WEEKS * townships.len());
    for week in 0..WEEKS {
        let monday = add_days(FIRST_DAY, week * 7).unwrap_or_else(|| FIRST_DAY.to_owned());
        // A plan per township and week, as each group makes its own: a group or a
        // township user sees (and records from) the plans of their townships only.
        for (g, (code, name)) in townships.iter().enumerate() {
            let own: Vec<&DemoHousehold> = households
                .iter()
                .filter(|h| &h.township_code == code)
                .collect();
            let mut group = group(g + 1, name, &own, week, &monday);
            let label = group.name.clone();
            // The group is the plan's first (and only) one; its name keeps its number.
            group.group = 1;
            let request = request(campaign, std::slice::from_ref(&townships[g]), &monday, seed);
            let plan = Plan {
                id: format!("p-{}-{:016x}", monday.replace('-', ""), rng.next_u64()),
                title: format!("{label}第{}周督查走访计划", week + 1),
                created: monday.clone(),
                request,
                groups: vec![group],
                dropped: Vec::new(),
            };
            let visits = visits(campaign, &plan, households, week, &mut rng);
            weeks.push((plan, visits));
        }
    }
    weeks
}

/// What the week's plan would have been asked: the townships, five days from Monday,
/// for the campaign.
fn request(
    campaign: &Campaign,
    townships: &[(String, String)],
    monday: &str,
    seed: u64,
) -> Request {
    use crate::domain::plan::defaults;
    Request {
        townships: townships.iter().map(|(c, _)| c.clone()).collect(),
        area: None,
        groups: Some(1),
        days: DAYS,
        start_date: Some(monday.to_owned()),
        day_start: defaults::day_start(),
        day_minutes: defaults::day_minutes(),
        household_minutes: defaults::household_minutes(),
        village_minutes: defaults::village_minutes(),
        speed_kmh: defaults::speed_kmh(),
        detour: defaults::detour(),
        starts: Vec::new(),
        ends: Vec::new(),
        priorities: std::collections::BTreeMap::new(),
        indicators: defaults::indicators(),
        ledger: false,
        sample_per_village: 1,
        seed,
        must_visit: Vec::new(),
        campaign: Some(campaign.id.clone()),
    }
}

/// A group's week: five days of the township's next households.
fn group(
    number: usize,
    township: &str,
    own: &[&DemoHousehold],
    week: usize,
    monday: &str,
) -> Group {
    let days = (0..DAYS)
        .map(|d| {
            let first = (week * DAYS + d) * STOPS_PER_DAY;
            let today: Vec<&DemoHousehold> = own
                .iter()
                .skip(first)
                .take(STOPS_PER_DAY)
                .copied()
                .collect();
            let stops: Vec<Stop> = today
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let arrive = 30.0 + 50.0 * i as f64;
                    Stop {
                        order: i + 1,
                        target: Target {
                            kind: TargetKind::Household,
                            id: h.household_no.clone(),
                            village_code: h.village_code.clone(),
                            village_name: String::new(),
                            township_name: township.to_owned(),
                            label: mask_name(&h.head_name),
                            lon: h.lon,
                            lat: h.lat,
                            selection: Selection::Sample,
                            reasons: Vec::new(),
                            priority: 1,
                            must_visit: false,
                            service_minutes: 30.0,
                        },
                        arrive_minutes: arrive,
                        depart_minutes: arrive + 30.0,
                        arrive: crate::domain::plan::clock("08:30", arrive),
                        depart: crate::domain::plan::clock("08:30", arrive + 30.0),
                        travel_metres: 0.0,
                        travel_minutes: 20.0,
                    }
                })
                .collect();
            let seat = today.first().map_or(
                Place {
                    name: township.to_owned(),
                    lon: 0.0,
                    lat: 0.0,
                },
                |h| Place {
                    name: township.to_owned(),
                    lon: h.lon,
                    lat: h.lat,
                },
            );
            let service = 30.0 * stops.len() as f64;
            let travel = 20.0 * stops.len() as f64;
            Day {
                day: d + 1,
                date: add_days(monday, d),
                start: seat.clone(),
                end: seat,
                stops,
                travel_metres: 0.0,
                travel_minutes: travel,
                service_minutes: service,
                total_minutes: service + travel,
            }
        })
        .collect();
    Group {
        group: number,
        name: format!("第{number}组（{township}）"),
        days,
    }
}

/// The visits a week's plan got: the third week only through Wednesday (the demo
/// stands mid-campaign), and an unplanned village check per group on Thursday.
fn visits(
    campaign: &Campaign,
    plan: &Plan,
    households: &[DemoHousehold],
    week: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Visit> {
    let mut out = Vec::new();
    let done_days = if week + 1 == WEEKS { 3 } else { DAYS };
    for group in &plan.groups {
        for day in group.days.iter().take(done_days) {
            let date = day.date.clone().unwrap_or_default();
            for stop in &day.stops {
                let roll: f64 = rng.random();
                let outcome = if roll < 0.84 {
                    Outcome::Visited
                } else if roll < 0.95 {
                    Outcome::NotFound
                } else {
                    Outcome::Refused
                };
                let h = households.iter().find(|h| h.household_no == stop.target.id);
                let findings = match (outcome, h) {
                    (Outcome::Visited, Some(h)) => findings(h),
                    _ => Vec::new(),
                };
                let v = visit(campaign, plan, group, &date, rng, outcome, findings);
                out.push(Visit {
                    plan_day: Some(day.day),
                    stop: Some(stop.order),
                    target_id: stop.target.id.clone(),
                    target_label: stop.target.label.clone(),
                    village_code: stop.target.village_code.clone(),
                    position: Some(position(stop.target.lon, stop.target.lat, rng)),
                    ..v
                });
            }
        }
        // One village checked beside the plan, where the group's Thursday took it.
        if let Some(stop) = group.days.get(3).and_then(|d| d.stops.first()) {
            let date = group.days[3].date.clone().unwrap_or_default();
            let v = visit(
                campaign,
                plan,
                group,
                &date,
                rng,
                Outcome::Visited,
                Vec::new(),
            );
            out.push(Visit {
                target_kind: TargetKind::Village,
                target_id: stop.target.village_code.clone(),
                target_label: String::new(),
                village_code: stop.target.village_code.clone(),
                note: Some("计划外：村委会台账抽查".to_owned()),
                ..v
            });
        }
    }
    out
}

/// What the household's own data says a visit finds.
fn findings(h: &DemoHousehold) -> Vec<Finding> {
    let mut out = Vec::new();
    if matches!(h.house_grade.as_str(), "C" | "D") {
        out.push(Finding {
            kind: FindingKind::Indicator,
            item: "unsafe_housing".to_owned(),
            note: Some(format!("房屋鉴定为{}级，仍在居住", h.house_grade)),
            name: Some("住房不安全".to_owned()),
        });
    }
    if !h.water_safe {
        out.push(Finding {
            kind: FindingKind::Indicator,
            item: "water_unsafe".to_owned(),
            note: Some("饮水未达安全标准".to_owned()),
            name: Some("饮水不安全".to_owned()),
        });
    }
    out
}

/// A visit of `group` on `date`, to be completed with its target.
fn visit(
    campaign: &Campaign,
    plan: &Plan,
    group: &Group,
    date: &str,
    rng: &mut ChaCha8Rng,
    outcome: Outcome,
    findings: Vec<Finding>,
) -> Visit {
    let minute = rng.random_range(0..480u32);
    Visit {
        id: format!("v-{:016x}", rng.next_u64()),
        campaign_id: campaign.id.clone(),
        plan_id: plan.id.clone(),
        group: group.group,
        group_name: group.name.clone(),
        plan_day: None,
        stop: None,
        date: date.to_owned(),
        target_kind: TargetKind::Household,
        target_id: String::new(),
        target_label: String::new(),
        village_code: String::new(),
        outcome,
        findings,
        note: None,
        position: None,
        // 08:30 to 16:30 China time is 00:30 to 08:30 UTC.
        recorded_at: format!("{date}T{:02}:{:02}:00Z", minute / 60, 30 + minute % 30),
        recorded_by: format!("{}（演示）", group.name),
        ledger_opened: 0,
        has_photo: false,
    }
}

/// Who rectifies in the demo: the village committee.
const RECTIFIER: &str = "村委会（演示）";

/// The ledger updates of the weeks' village checks, in time order, `(base version,
/// entry as it becomes)`, applied to `entries` as they go: each village check (a
/// visit to a village) gets a checklist finding on the village's first item without a
/// problem, which opens it (`ledger_updates`, as a visit recorded on the
/// phone does); an item opened in the first week is 整改中 a week later (a measure, a
/// deadline 17 days after the finding, the person responsible) and 已整改 two days before the
/// third week's Thursday, so that the progress view counts openings and rectifications.
#[must_use]
pub fn ledger_changes(weeks: &mut [Week], entries: &mut [Entry]) -> Vec<(i64, Entry)> {
    let mut updates = Vec::new();
    let mut first_week = Vec::new();
    for (plan, visits) in weeks {
        let first = plan.created == FIRST_DAY;
        for v in visits
            .iter_mut()
            .filter(|v| v.target_kind == TargetKind::Village)
        {
            let Some(item) = entries.iter().find(|e| {
                e.village_code == v.village_code
                    && matches!(e.status, Status::NoProblem | Status::NotChecked)
            }) else {
                continue;
            };
            v.findings.push(Finding {
                kind: FindingKind::Checklist,
                item: item.position.to_string(),
                note: Some("村级台账未随户情变化及时更新".to_owned()),
                name: None,
            });
            let Ok((changed, opened)) = ledger_updates(v, entries) else {
                continue;
            };
            v.ledger_opened = opened;
            for (base, next) in changed {
                if first {
                    first_week.push((next.village_code.clone(), next.position, v.date.clone()));
                }
                updates.push(store_in(entries, base, next));
            }
        }
    }
    for (village, position, date) in first_week {
        let steps = [
            (7, Status::Rectifying, None),
            (12, Status::Rectified, Some("已补登台账并逐户核对")),
        ];
        for (days, status, result) in steps {
            let Some(e) = entries
                .iter()
                .find(|e| e.village_code == village && e.position == position)
            else {
                continue;
            };
            let day = add_days(&date, days).unwrap_or_else(|| date.clone());
            let patch = EntryPatch {
                version: e.version,
                by: RECTIFIER.to_owned(),
                status: Some(status.code().to_owned()),
                problem: None,
                measure: Some(Some("村“两委”逐户核对并补登台账".to_owned())),
                deadline: Some(add_days(&date, 17)),
                responsible: Some(Some("村党支部书记".to_owned())),
                result: result.map(|r| Some(r.to_owned())),
                secretary: None,
                first_secretary: None,
                group_leader: None,
                notes: None,
            };
            if let Ok(next) = apply(e.clone(), patch, format!("{day}T07:00:00Z")) {
                let base = e.version;
                updates.push(store_in(entries, base, next));
            }
        }
    }
    updates
}

/// Puts `next` (made from the entry at version `base`) in `entries` at the version the
/// store gives it, and returns the update to store.
fn store_in(entries: &mut [Entry], base: i64, next: Entry) -> (i64, Entry) {
    if let Some(e) = entries
        .iter_mut()
        .find(|e| e.village_code == next.village_code && e.position == next.position)
    {
        *e = Entry {
            version: base + 1,
            ..next.clone()
        };
    }
    (base, next)
}

/// A phone's fix near the household: WGS-84 from the browser, some metres off.
fn position(lon: f64, lat: f64, rng: &mut ChaCha8Rng) -> RecordedPosition {
    let (dx, dy): (f64, f64) = (rng.random_range(-2e-4..2e-4), rng.random_range(-2e-4..2e-4));
    let raw = RawPosition {
        lon: lon + dx,
        lat: lat + dy,
        crs: Crs::Wgs84,
        accuracy_m: Some(rng.random_range(5.0..40.0)),
    };
    RecordedPosition {
        raw,
        lon: raw.lon,
        lat: raw.lat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_weeks_of_plans_and_visits_repeat_for_their_seed() {
        let campaign = Campaign {
            id: "c".into(),
            name: "演示".into(),
            template_id: "t".into(),
            area_code: "210422".into(),
            starts: FIRST_DAY.into(),
            ends: "2019-09-30".into(),
            cycle: crate::domain::ledger::Cycle::Weekly,
            due_day: 5,
        };
        let households: Vec<DemoHousehold> = (0..100)
            .map(|i| DemoHousehold {
                household_no: format!("21042210020100{i:04}"),
                village_code: "210422100201".into(),
                township_code: "210422100".into(),
                head_name: "张三".into(),
                lon: 125.0,
                lat: 41.7,
                house_grade: if i % 10 == 0 { "D" } else { "A" }.into(),
                water_safe: true,
            })
            .collect();
        let townships = [("210422100".to_owned(), "新宾镇".to_owned())];
        let weeks = generate(&campaign, &townships, &households, 7);
        assert_eq!(weeks.len(), WEEKS * townships.len());
        assert_eq!(
            weeks[0].0.groups[0].days[0].date.as_deref(),
            Some(FIRST_DAY)
        );
        assert_eq!(weeks[0].0.request.campaign.as_deref(), Some("c"));
        // Two full weeks and three days of the third, plus a village check a week.
        let planned: usize = weeks
            .iter()
            .map(|w| w.1.iter().filter(|v| v.planned()).count())
            .sum();
        assert_eq!(planned, (5 + 5 + 3) * STOPS_PER_DAY);
        assert_eq!(
            weeks.iter().map(|w| w.1.len()).sum::<usize>(),
            planned + WEEKS
        );
        let again = generate(&campaign, &townships, &households, 7);
        assert_eq!(weeks, again);
    }
}
