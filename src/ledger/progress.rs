//! The campaign week by week (周进度): plan versus done per group and day, and per
//! township and group the week's and the cumulative visits, findings and ledger
//! changes, with a series per week for the line chart. The weekly report
//! ([`super::weekly`]) is written from the same figures.
//!
//! How the figures are counted:
//! 1. A campaign's planned stops are those of the plans made for it, by the day's date;
//!    when several plans give one group the same day, the newest plan's stops count
//!    (a group re-plans its day, it does not double it).
//! 2. A planned stop's outcome is the latest visit recorded to it (a 未遇 in the
//!    morning and a 已走访 in the afternoon is one stop visited); a visit to a stop of
//!    a replaced plan, or without a stop, is unplanned (计划外).
//! 3. Ledger entries opened, rectified and closed are the status changes of the
//!    ledger's history, by their day in China: opened is a change to 有问题 or 整改中
//!    from any other status, rectified a change to 已整改, closed to 已销号.
//! 4. Overdue at the start of a day counts the open problems whose deadline is before
//!    that day, each entry's status taken as it was then: the current status with the
//!    changes made since undone (the `old` of its first change on or after that day),
//!    so a past week's figure does not shrink when its problems are rectified later.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::calendar::{add_days, china_date, iso_week, week_days};
use crate::domain::ledger::{Campaign, Entry};
use crate::domain::plan::Plan;
use crate::domain::visit::{Outcome, Visit};
use crate::store::visits::StatusChange;

/// A planned stop: which plan, group, day and stop, and where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlannedStop {
    key: StopKey,
    group_name: String,
    date: String,
    village_code: String,
}

/// A stop's identity: plan id, group, day and order.
type StopKey = (String, usize, usize, usize);

/// Every stop the campaign's plans (newest first) give its groups, the newest plan's
/// stops where two give one group the same day.
fn planned_stops(plans: &[Plan]) -> Vec<PlannedStop> {
    let mut claimed: HashMap<(String, String), String> = HashMap::new();
    let mut out = Vec::new();
    for plan in plans {
        for group in &plan.groups {
            for day in &group.days {
                let Some(date) = &day.date else { continue };
                let owner = claimed
                    .entry((group.name.clone(), date.clone()))
                    .or_insert_with(|| plan.id.clone());
                if *owner != plan.id {
                    continue;
                }
                for stop in &day.stops {
                    out.push(PlannedStop {
                        key: (plan.id.clone(), group.group, day.day, stop.order),
                        group_name: group.name.clone(),
                        date: date.clone(),
                        village_code: stop.target.village_code.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The figures of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Figures {
    /// Stops planned in the period.
    pub planned: usize,
    /// Of them, visited (已走访), by their latest visit.
    pub visited: usize,
    /// Of them, nobody met (未遇).
    pub not_found: usize,
    /// Of them, refused (拒访).
    pub refused: usize,
    /// Visits recorded in the period, planned or not.
    pub visits: usize,
    /// Of them, unplanned (计划外).
    pub unplanned: usize,
    /// Findings recorded in the period.
    pub findings: usize,
    /// Ledger entries opened in the period (for a group: by its visits' findings).
    pub opened: usize,
    /// Ledger entries rectified (已整改) in the period; `None` for a group.
    pub rectified: Option<usize>,
    /// Ledger entries closed (已销号) in the period; `None` for a group.
    pub closed: Option<usize>,
}

impl Figures {
    /// The share of planned stops visited, 0 to 1; `None` when none was planned.
    #[must_use]
    pub fn share(&self) -> Option<f64> {
        (self.planned > 0).then(|| self.visited as f64 / self.planned as f64)
    }
}

/// One group's planned stops and visits of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayRow {
    /// The group's name, e.g. 第1组（新宾镇）.
    pub group: String,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The stops planned.
    pub planned: usize,
    /// Planned stops visited (已走访).
    pub visited: usize,
    /// Planned stops where nobody was met (未遇).
    pub not_found: usize,
    /// Planned stops refused (拒访).
    pub refused: usize,
    /// Planned stops with no visit yet.
    pub pending: usize,
    /// Unplanned visits that day (计划外).
    pub unplanned: usize,
    /// Visits recorded that day.
    pub visits: usize,
    /// Findings recorded that day.
    pub findings: usize,
}

/// Everything the figures are counted from; `in_scope` says which villages the
/// person sees (figures outside are left out, not refused).
pub struct Inputs<'a> {
    /// The campaign.
    pub campaign: &'a Campaign,
    /// Its plans, newest first.
    pub plans: &'a [Plan],
    /// Its visits.
    pub visits: &'a [Visit],
    /// Its ledger's status changes.
    pub changes: &'a [StatusChange],
    /// Its ledger entries as they stand.
    pub entries: &'a [Entry],
    /// Whether a village (12 digits) is counted.
    pub in_scope: &'a dyn Fn(&str) -> bool,
}

/// The planned stops and visits in scope, each visit matched to its stop or marked
/// unplanned.
struct Matched<'a> {
    stops: Vec<PlannedStop>,
    /// Per stop (index in `stops`), its visits' indexes in time order.
    visits_of: Vec<Vec<usize>>,
    /// Whether each visit (index in `visits`) is unplanned.
    unplanned: Vec<bool>,
    visits: Vec<&'a Visit>,
}

fn matched<'a>(input: &Inputs<'a>) -> Matched<'a> {
    let stops: Vec<PlannedStop> = planned_stops(input.plans)
        .into_iter()
        .filter(|s| (input.in_scope)(&s.village_code))
        .collect();
    let index: HashMap<&StopKey, usize> =
        stops.iter().enumerate().map(|(i, s)| (&s.key, i)).collect();
    let mut visits: Vec<&Visit> = input
        .visits
        .iter()
        .filter(|v| (input.in_scope)(&v.village_code))
        .collect();
    visits.sort_by(|a, b| a.recorded_at.cmp(&b.recorded_at).then(a.id.cmp(&b.id)));
    let mut visits_of = vec![Vec::new(); stops.len()];
    let mut unplanned = Vec::with_capacity(visits.len());
    for (i, v) in visits.iter().enumerate() {
        let key = match (v.plan_day, v.stop) {
            (Some(d), Some(s)) => Some((v.plan_id.clone(), v.group, d, s)),
            _ => None,
        };
        match key.as_ref().and_then(|k| index.get(k)) {
            Some(&s) => {
                visits_of[s].push(i);
                unplanned.push(false);
            }
            None => unplanned.push(true),
        }
    }
    Matched {
        stops,
        visits_of,
        unplanned,
        visits,
    }
}

impl Matched<'_> {
    /// A stop's latest outcome among the visits recorded on or before `until`.
    fn outcome(&self, stop: usize, until: &str) -> Option<Outcome> {
        self.visits_of[stop]
            .iter()
            .rev()
            .map(|&i| self.visits[i])
            .find(|v| v.date.as_str() <= until)
            .map(|v| v.outcome)
    }

    /// The figures of visits and stops from `from` to `to` (inclusive) for which
    /// `pick` (given a village code and a group name) holds.
    fn figures(&self, from: &str, to: &str, pick: &dyn Fn(&str, &str) -> bool) -> Figures {
        let mut f = Figures::default();
        for (s, stop) in self.stops.iter().enumerate() {
            if stop.date.as_str() < from || stop.date.as_str() > to {
                continue;
            }
            if !pick(&stop.village_code, &stop.group_name) {
                continue;
            }
            f.planned += 1;
            match self.outcome(s, to) {
                Some(Outcome::Visited) => f.visited += 1,
                Some(Outcome::NotFound) => f.not_found += 1,
                Some(Outcome::Refused) => f.refused += 1,
                None => {}
            }
        }
        for (i, v) in self.visits.iter().enumerate() {
            if v.date.as_str() < from
                || v.date.as_str() > to
                || !pick(&v.village_code, &v.group_name)
            {
                continue;
            }
            f.visits += 1;
            f.findings += v.findings.len();
            if self.unplanned[i] {
                f.unplanned += 1;
            }
            f.opened += v.ledger_opened;
        }
        f
    }
}

/// Plan versus done: per group and day (optionally one day, one group), the stops
/// planned and what came of them, and the visits and findings recorded.
#[must_use]
pub fn plan_vs_done(input: &Inputs<'_>, date: Option<&str>, group: Option<&str>) -> Vec<DayRow> {
    let m = matched(input);
    let mut rows: BTreeMap<(String, String), DayRow> = BTreeMap::new();
    let wanted = |d: &str, g: &str| date.is_none_or(|x| x == d) && group.is_none_or(|x| x == g);
    for (s, stop) in m.stops.iter().enumerate() {
        if !wanted(&stop.date, &stop.group_name) {
            continue;
        }
        let r = slot(&mut rows, &stop.group_name, &stop.date);
        r.planned += 1;
        // Every visit so far counts, whenever it was made.
        match m.outcome(s, "9999-12-31") {
            Some(Outcome::Visited) => r.visited += 1,
            Some(Outcome::NotFound) => r.not_found += 1,
            Some(Outcome::Refused) => r.refused += 1,
            None => r.pending += 1,
        }
    }
    for (i, v) in m.visits.iter().enumerate() {
        if !wanted(&v.date, &v.group_name) {
            continue;
        }
        let r = slot(&mut rows, &v.group_name, &v.date);
        r.visits += 1;
        r.findings += v.findings.len();
        if m.unplanned[i] {
            r.unplanned += 1;
        }
    }
    rows.into_values().collect()
}

/// The row of a group's day, made empty on first use.
fn slot<'a>(
    rows: &'a mut BTreeMap<(String, String), DayRow>,
    group: &str,
    date: &str,
) -> &'a mut DayRow {
    rows.entry((date.to_owned(), group.to_owned()))
        .or_insert_with(|| DayRow {
            group: group.to_owned(),
            date: date.to_owned(),
            planned: 0,
            visited: 0,
            not_found: 0,
            refused: 0,
            pending: 0,
            unplanned: 0,
            visits: 0,
            findings: 0,
        })
}

/// A township's or a group's progress.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgressRow {
    /// The township's code (9 digits); none for a group or the total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The township's or the group's name.
    pub name: String,
    /// The week's figures.
    pub week: Figures,
    /// From the campaign's start to the week's end.
    pub cumulative: Figures,
    /// Share of the stops planned to the week's end that were visited, 0 to 1.
    pub share: Option<f64>,
    /// Open problems past their deadline at the week's end; `None` for a group.
    pub overdue: Option<usize>,
    /// The same at the end of the week before.
    pub overdue_before: Option<usize>,
}

/// One week of the series.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WeekPoint {
    /// `YYYY-Www`.
    pub week: String,
    /// Its Monday.
    pub from: String,
    /// Its Sunday.
    pub to: String,
    /// The week's figures over the whole area.
    pub figures: Figures,
    /// Cumulative share of planned stops visited at its end.
    pub share: Option<f64>,
}

/// The week a campaign's progress is shown for when none is asked: the week of `today`
/// while the campaign runs (its first week before it starts); after its end, the week
/// of the last of `visits` made within it (what the groups last did, not an empty final
/// week), or its last week when there is none.
#[must_use]
pub fn default_week(campaign: &Campaign, visits: &[Visit], today: &str) -> Option<String> {
    let day = if today > campaign.ends.as_str() {
        visits
            .iter()
            .map(|v| v.date.as_str())
            .filter(|d| *d <= campaign.ends.as_str())
            .max()
            .unwrap_or(campaign.ends.as_str())
    } else {
        today.max(campaign.starts.as_str())
    };
    iso_week(day)
}

/// Whether a status code (as the ledger's history keeps it) is an open problem.
fn is_open(status: Option<&str>) -> bool {
    matches!(status, Some("problem" | "rectifying"))
}

/// Each entry's status changes by village and position, in time order, with their day.
type History<'a> = HashMap<(&'a str, u32), Vec<(&'a str, &'a StatusChange)>>;

fn history<'a>(changes: &'a [(String, &'a StatusChange)]) -> History<'a> {
    let mut history: History<'a> = HashMap::new();
    for (day, c) in changes {
        history
            .entry((c.village_code.as_str(), c.position))
            .or_default()
            .push((day.as_str(), *c));
    }
    history
}

/// The entries `pick` keeps that were open problems past their deadline at the start of
/// `day`: each one's status then is the `old` of its first change on or after `day`, or
/// its status now when it has not changed since.
fn overdue_at(
    entries: &[Entry],
    history: &History<'_>,
    day: &str,
    pick: &dyn Fn(&str) -> bool,
) -> usize {
    entries
        .iter()
        .filter(|e| pick(&e.village_code))
        .filter(|e| e.deadline.as_deref().is_some_and(|d| d < day))
        .filter(|e| {
            let since = history
                .get(&(e.village_code.as_str(), e.position))
                .and_then(|h| h.iter().find(|(d, _)| *d >= day));
            since.map_or(e.status.is_open_problem(), |(_, c)| {
                is_open(c.old.as_deref())
            })
        })
        .count()
}

/// The week's progress of an area.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Progress {
    /// The campaign.
    pub campaign_id: String,
    /// The week, `YYYY-Www`.
    pub week: String,
    /// Its Monday.
    pub from: String,
    /// Its Sunday.
    pub to: String,
    /// Per township, in code order.
    pub townships: Vec<ProgressRow>,
    /// Per group, by name.
    pub groups: Vec<ProgressRow>,
    /// The whole area.
    pub total: ProgressRow,
    /// Every week from the campaign's first to this one.
    pub series: Vec<WeekPoint>,
}

/// The week's and cumulative progress per township (the row a village is counted in
/// is `unit` of its code: its township, or the village itself for a person who holds
/// only villages) and per group, and the series of weeks. `names` gives the rows'
/// names; `None` when `week` is not an ISO week.
#[must_use]
pub fn progress(
    input: &Inputs<'_>,
    week: &str,
    area_name: &str,
    unit: &dyn Fn(&str) -> String,
    names: &dyn Fn(&str) -> Option<String>,
) -> Option<Progress> {
    let (from, to) = week_days(week)?;
    let m = matched(input);
    let start = input.campaign.starts.as_str();
    let changes: Vec<(String, &StatusChange)> = input
        .changes
        .iter()
        .filter(|c| (input.in_scope)(&c.village_code))
        .filter_map(|c| Some((china_date(&c.changed_at)?, c)))
        .collect();
    let ledger = |f: &mut Figures, from: &str, to: &str, pick: &dyn Fn(&str) -> bool| {
        let (mut opened, mut rectified, mut closed) = (0, 0, 0);
        for (day, c) in &changes {
            if day.as_str() < from || day.as_str() > to || !pick(&c.village_code) {
                continue;
            }
            match c.new.as_deref() {
                _ if is_open(c.new.as_deref()) && !is_open(c.old.as_deref()) => opened += 1,
                Some("rectified") => rectified += 1,
                Some("closed") => closed += 1,
                _ => {}
            }
        }
        f.opened = opened;
        f.rectified = Some(rectified);
        f.closed = Some(closed);
    };
    let history = history(&changes);
    let overdue = |day: &str, pick: &dyn Fn(&str) -> bool| {
        let both = |v: &str| (input.in_scope)(v) && pick(v);
        overdue_at(input.entries, &history, day, &both)
    };
    let area_row = |code: Option<String>, name: String, pick: &dyn Fn(&str) -> bool| {
        let both = |v: &str, _: &str| pick(v);
        let mut week_f = m.figures(&from, &to, &both);
        let mut cum = m.figures(start, &to, &both);
        ledger(&mut week_f, &from, &to, pick);
        ledger(&mut cum, start, &to, pick);
        ProgressRow {
            code,
            name,
            share: cum.share(),
            week: week_f,
            cumulative: cum,
            // Overdue on the day after the week: its Sunday's deadlines have passed.
            overdue: Some(overdue(&add_days(&to, 1).unwrap_or_default(), pick)),
            // …and at the end of the week before: deadlines before this Monday.
            overdue_before: Some(overdue(&from, pick)),
        }
    };
    let mut townships: Vec<String> = m
        .stops
        .iter()
        .map(|s| s.village_code.as_str())
        .chain(m.visits.iter().map(|v| v.village_code.as_str()))
        .chain(
            input
                .entries
                .iter()
                .map(|e| e.village_code.as_str())
                .filter(|v| (input.in_scope)(v)),
        )
        .map(unit)
        .collect();
    townships.sort_unstable();
    townships.dedup();
    let township_rows = townships
        .iter()
        .map(|t| {
            let name = names(t).unwrap_or_else(|| t.clone());
            area_row(Some(t.clone()), name, &|v: &str| unit(v) == *t)
        })
        .collect();
    let group_rows = group_rows(&m, &from, &to, start);
    let total = area_row(None, area_name.to_owned(), &|_: &str| true);
    let series = series(
        input.campaign,
        &to,
        &m,
        &|f: &mut Figures, a: &str, b: &str| {
            ledger(f, a, b, &|_: &str| true);
        },
    );
    Some(Progress {
        campaign_id: input.campaign.id.clone(),
        week: week.to_owned(),
        from,
        to,
        townships: township_rows,
        groups: group_rows,
        total,
        series,
    })
}

/// Per group: its stops and visits; ledger figures only as its findings opened them.
fn group_rows(m: &Matched<'_>, from: &str, to: &str, start: &str) -> Vec<ProgressRow> {
    let mut groups: Vec<&str> = m
        .stops
        .iter()
        .map(|s| s.group_name.as_str())
        .chain(m.visits.iter().map(|v| v.group_name.as_str()))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
        .iter()
        .map(|g| {
            let pick = |_: &str, name: &str| name == *g;
            let cumulative = m.figures(start, to, &pick);
            ProgressRow {
                code: None,
                name: (*g).to_owned(),
                share: cumulative.share(),
                week: m.figures(from, to, &pick),
                cumulative,
                overdue: None,
                overdue_before: None,
            }
        })
        .collect()
}

/// Every week from the campaign's first to the one ending `to` (and not after the
/// campaign's last).
fn series(
    campaign: &Campaign,
    to: &str,
    m: &Matched<'_>,
    ledger: &dyn Fn(&mut Figures, &str, &str),
) -> Vec<WeekPoint> {
    let mut out = Vec::new();
    let Some(mut week) = iso_week(&campaign.starts) else {
        return out;
    };
    let all = |_: &str, _: &str| true;
    while let Some((monday, sunday)) = week_days(&week) {
        if monday.as_str() > to || monday > campaign.ends {
            break;
        }
        let mut figures = m.figures(&monday, &sunday, &all);
        ledger(&mut figures, &monday, &sunday);
        let cumulative = m.figures(&campaign.starts, &sunday, &all);
        out.push(WeekPoint {
            week: week.clone(),
            from: monday,
            to: sunday.clone(),
            figures,
            share: cumulative.share(),
        });
        match add_days(&sunday, 1).and_then(|d| iso_week(&d)) {
            Some(next) => week = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::{Cycle, Status};

    fn change(position: u32, at: &str, old: &str, new: &str) -> StatusChange {
        StatusChange {
            village_code: "211422100201".to_owned(),
            position,
            changed_at: at.to_owned(),
            old: Some(old.to_owned()),
            new: Some(new.to_owned()),
        }
    }

    #[test]
    fn the_default_week_is_todays_while_running_its_first_before_its_last_after() {
        let campaign = Campaign {
            id: "c".to_owned(),
            name: "c".to_owned(),
            template_id: "t".to_owned(),
            area_code: "211422".to_owned(),
            starts: "2019-07-01".to_owned(),
            ends: "2019-09-30".to_owned(),
            cycle: Cycle::Weekly,
            due_day: 5,
        };
        let week = |today: &str, visits: &[Visit]| default_week(&campaign, visits, today);
        assert_eq!(week("2019-06-20", &[]).as_deref(), Some("2019-W27"));
        assert_eq!(week("2019-07-10", &[]).as_deref(), Some("2019-W28"));
        // With no visit after the end; with visits, the last one's week (tests/api/visits.rs).
        assert_eq!(week("2026-12-04", &[]).as_deref(), Some("2019-W40"));
    }

    /// Two problems due 2019-07-05 (a Friday of week 27): one rectified on 07-17 (week 29),
    /// one still open. Week 28 had both overdue, whatever happened after it; week 29 ends
    /// with one; the week before the first (week 27, deadline on its Friday) with both.
    #[test]
    fn a_past_weeks_overdue_counts_the_statuses_of_then_not_of_now() {
        let campaign = Campaign {
            id: "c".to_owned(),
            name: "c".to_owned(),
            template_id: "t".to_owned(),
            area_code: "211422".to_owned(),
            starts: "2019-07-01".to_owned(),
            ends: "2019-07-31".to_owned(),
            cycle: Cycle::Weekly,
            due_day: 5,
        };
        let entry = |position: u32, status: Status| Entry {
            status,
            deadline: Some("2019-07-05".to_owned()),
            ..Entry::unchecked("c", "211422100201", position, "t", "2019-07-01T00:00:00Z")
        };
        let entries = [entry(1, Status::Rectified), entry(2, Status::Problem)];
        let changes = [
            change(1, "2019-07-02T02:00:00Z", "not_checked", "problem"),
            change(2, "2019-07-02T03:00:00Z", "not_checked", "problem"),
            change(1, "2019-07-17T02:00:00Z", "problem", "rectified"),
        ];
        let input = Inputs {
            campaign: &campaign,
            plans: &[],
            visits: &[],
            changes: &changes,
            entries: &entries,
            in_scope: &|_: &str| true,
        };
        let overdue = |week: &str| {
            let p = progress(
                &input,
                week,
                "县",
                &|v: &str| v[..9].to_owned(),
                &|_: &str| None,
            )
            .expect("an ISO week");
            (
                p.total.overdue,
                p.total.overdue_before,
                p.total.week.rectified,
            )
        };
        assert_eq!(overdue("2019-W27"), (Some(2), Some(0), Some(0)));
        assert_eq!(overdue("2019-W28"), (Some(2), Some(2), Some(0)));
        assert_eq!(overdue("2019-W29"), (Some(1), Some(2), Some(1)));
    }
}
