//! Gathers a township's briefing (乡镇简报, issue 18) from the store for the API and
//! the command line, which both write it with [`crate::render::brief`].
//!
//! 1. The township and its county, from the snapshot.
//! 2. The main indicators over its villages and over the county (the indicator
//!    tables), and a choropleth of four of them.
//! 3. The campaign (asked, or the latest covering the township) and the week (asked;
//!    else as the progress route opens, `ledger::progress::default_week`, on the
//!    township's visits).
//! 4. The open ledger items, judged on the day the ledger route judges them.
//! 5. The week's visits (the weekly progress, per village) and what they found.
//! 6. The next week's planned stops in the township, per group and day.
//! 7. Assistance-measure coverage by department, township beside county.

use std::collections::BTreeMap;

use duckdb::Connection;

use crate::domain::calendar::{add_days, iso_week, today, week_days};
use crate::domain::ledger::Campaign;
use crate::domain::plan::{Plan, TargetKind};
use crate::domain::{AreaLevel, short_name};
use crate::indicators::Catalog;
use crate::indicators::table::{self, AreaRef, Table, TableRequest};
use crate::ledger::LedgerError;
use crate::ledger::progress::{self, Inputs};
use crate::model::Snapshot;
use crate::render::RenderError;
use crate::render::brief::{
    Briefing, CampaignWeek, CoverageSection, DepartmentCoverage, IndicatorFigure, LedgerItem,
    LedgerSection, PlanDay, VisitFigures, VisitSection,
};
use crate::render::indicator::{Method, choropleth};
use crate::store::StoreError;
use crate::store::ledger::{self as ledger_store, EntryFilter};
use crate::store::measures::{self, CoverageBy};
use crate::store::visits::{self as visit_store, VisitFilter};

/// The indicators a briefing's table shows, in order (those in the reader's catalog).
pub const MAIN_INDICATORS: [&str; 10] = [
    "any_problem",
    "income_below_line",
    "food_clothing_insecure",
    "dropout",
    "uninsured",
    "unsafe_housing",
    "water_unsafe",
    "water_not_piped",
    "monitored",
    "risk_unresolved",
];

/// The indicators mapped, two maps to a row (for a reader who sees none of them, the
/// first four of theirs).
pub const MAPPED_INDICATORS: [&str; 4] =
    ["any_problem", "unsafe_housing", "uninsured", "water_unsafe"];

/// More than any campaign has: a list read whole.
const ALL: usize = usize::MAX >> 2;

/// Which briefing to make.
#[derive(Debug, Clone, Default)]
pub struct BriefingRequest {
    /// The township's code (9 digits).
    pub township: String,
    /// The campaign id; default the latest campaign covering the township.
    pub campaign: Option<String>,
    /// The week reported, `YYYY-Www`; default as the module says.
    pub week: Option<String>,
}

/// Why a briefing could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum BriefingError {
    /// The code names no township of the data.
    #[error("no township with code {0}")]
    UnknownTownship(String),
    /// The campaign does not exist or does not cover the township.
    #[error("no campaign {campaign:?} covers township {township}")]
    UnknownCampaign {
        /// The campaign asked.
        campaign: String,
        /// The township.
        township: String,
    },
    /// The week is not an ISO week.
    #[error("{0:?} is not an ISO week YYYY-Www (e.g. 2019-W28)")]
    BadWeek(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checklists could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Gathers the briefing of a township, with the indicators of `catalog` (the reader's).
///
/// # Errors
/// [`BriefingError`]: an unknown township, campaign or week; the store failing.
pub fn gather(
    conn: &Connection,
    snapshot: &Snapshot,
    catalog: &Catalog,
    request: &BriefingRequest,
) -> Result<Briefing, BriefingError> {
    let code = request.township.as_str();
    let Some((name, AreaLevel::Township)) = snapshot.names.get(code).cloned() else {
        return Err(BriefingError::UnknownTownship(code.to_owned()));
    };
    let county_code = code.get(..6).unwrap_or(code).to_owned();
    let county = snapshot.name(&county_code).unwrap_or_default().to_owned();
    let township = AreaRef {
        code: code.to_owned(),
        name: name.clone(),
        level: AreaLevel::Township,
    };
    let county_ref = AreaRef {
        code: county_code.clone(),
        name: county.clone(),
        level: AreaLevel::County,
    };
    let mut b = Briefing {
        county,
        township_code: code.to_owned(),
        township: name,
        made_on: today(),
        data_date: snapshot.data_date.clone().unwrap_or_else(|| "未知".into()),
        demo: snapshot.demo,
        villages: snapshot
            .names
            .iter()
            .filter(|(c, (_, l))| c.starts_with(code) && l.is_village_like())
            .count(),
        ..Briefing::default()
    };
    indicators(conn, snapshot, catalog, (township, county_ref), &mut b)?;
    if let Some(campaign) = campaign(conn, code, request.campaign.as_deref())? {
        campaign_sections(conn, snapshot, &campaign, request.week.as_deref(), &mut b)?;
    }
    b.coverage = coverage(conn, code, &county_code)?;
    Ok(b)
}

/// The indicator table, the households and the maps.
fn indicators(
    conn: &Connection,
    snapshot: &Snapshot,
    catalog: &Catalog,
    (township, county): (AreaRef, AreaRef),
    b: &mut Briefing,
) -> Result<(), BriefingError> {
    let chosen: Vec<_> = MAIN_INDICATORS
        .iter()
        .filter_map(|id| catalog.get(id).cloned())
        .collect();
    let villages: Table = table::build(
        conn,
        &snapshot.names,
        &TableRequest::plain(chosen.clone(), township, AreaLevel::Village),
    )?;
    let whole: Table = table::build(
        conn,
        &snapshot.names,
        &TableRequest::plain(chosen.clone(), county, AreaLevel::County),
    )?;
    b.households = (villages.total.households, whole.total.households);
    b.indicators = chosen
        .iter()
        .enumerate()
        .map(|(i, ind)| {
            let here = villages.total.cells[i].value;
            let there = whole.total.cells[i].value;
            IndicatorFigure {
                id: ind.id.clone(),
                name: ind.name_zh.clone(),
                count: here.count,
                denominator: here.denominator,
                rate: here.rate,
                county_count: there.count,
                county_rate: there.rate,
            }
        })
        .collect();
    // A department's reader may see none of the mapped four: then its own come first.
    let mapped = |id: &str| MAPPED_INDICATORS.contains(&id);
    let any_mapped = chosen.iter().any(|ind| mapped(&ind.id));
    b.maps = chosen
        .iter()
        .enumerate()
        .filter(|(_, ind)| !any_mapped || mapped(&ind.id))
        .take(MAPPED_INDICATORS.len())
        .map(|(i, _)| {
            let mut spec = choropleth(
                snapshot,
                catalog,
                &villages,
                i,
                Method::Catalog,
                5,
                snapshot.demo,
            );
            // Half an A4 page's width at about 250 dpi: sharp in print, quick to draw.
            (spec.width, spec.height) = (900, 700);
            spec
        })
        .filter(|spec| !spec.areas.is_empty())
        .collect();
    Ok(())
}

/// The campaign asked (if it covers the township), or the latest one covering it.
fn campaign(
    conn: &Connection,
    township: &str,
    asked: Option<&str>,
) -> Result<Option<Campaign>, BriefingError> {
    let covers = |c: &Campaign| township.starts_with(c.area_code.as_str());
    if let Some(id) = asked.filter(|a| !a.is_empty()) {
        return match ledger_store::campaign(conn, id)? {
            Some(c) if covers(&c) => Ok(Some(c)),
            _ => Err(BriefingError::UnknownCampaign {
                campaign: id.to_owned(),
                township: township.to_owned(),
            }),
        };
    }
    Ok(ledger_store::campaigns(conn)?
        .into_iter()
        .filter(covers)
        .max_by(|a, b| (&a.ends, &a.starts, &a.id).cmp(&(&b.ends, &b.starts, &b.id))))
}

/// The week reported: asked, or as the module says.
fn week_of(
    campaign: &Campaign,
    asked: Option<&str>,
    visits: &[crate::domain::visit::Visit],
) -> Result<String, BriefingError> {
    if let Some(w) = asked.filter(|a| !a.is_empty()) {
        return week_days(w)
            .map(|_| w.to_owned())
            .ok_or_else(|| BriefingError::BadWeek(w.to_owned()));
    }
    crate::ledger::progress::default_week(campaign, visits, &today())
        .ok_or_else(|| BriefingError::BadWeek(campaign.ends.clone()))
}

/// The sections that need a campaign: the ledger, the week's visits, the next week's plan.
fn campaign_sections(
    conn: &Connection,
    snapshot: &Snapshot,
    campaign: &Campaign,
    week: Option<&str>,
    b: &mut Briefing,
) -> Result<(), BriefingError> {
    let code = b.township_code.clone();
    let plans = crate::store::plans::for_campaign(conn, &campaign.id)?;
    let filter = VisitFilter {
        areas: Some(vec![code.clone()]),
        ..VisitFilter::default()
    };
    let visits = visit_store::list(conn, Some(&campaign.id), &filter, ALL, 0)?.1;
    let week = week_of(campaign, week, &visits)?;
    let (from, to) = week_days(&week).ok_or_else(|| BriefingError::BadWeek(week.clone()))?;
    let next_from = add_days(&from, 7).ok_or_else(|| BriefingError::BadWeek(week.clone()))?;
    let next = iso_week(&next_from).ok_or_else(|| BriefingError::BadWeek(week.clone()))?;
    let next_to = add_days(&next_from, 6).unwrap_or_else(|| next_from.clone());
    b.campaign = Some(CampaignWeek {
        id: campaign.id.clone(),
        name: campaign.name.clone(),
        span: (campaign.starts.clone(), campaign.ends.clone()),
        week: (week.clone(), from.clone(), to.clone()),
        next: (next, next_from.clone(), next_to.clone()),
    });
    let changes = visit_store::status_changes(conn, &campaign.id)?;
    let entries = ledger_store::entries(
        conn,
        &campaign.id,
        &EntryFilter {
            within: Some(code.clone()),
            ..EntryFilter::default()
        },
        ALL,
        0,
    )?
    .1;
    b.ledger = Some(ledger(conn, snapshot, campaign, &entries)?);
    let in_scope = |v: &str| v.starts_with(code.as_str());
    let input = Inputs {
        campaign,
        plans: &plans,
        visits: &visits,
        changes: &changes,
        entries: &entries,
        in_scope: &in_scope,
    };
    b.visits = week_visits(snapshot, &input, &week, (&from, &to));
    b.plan = planned(snapshot, &plans, &code, (&next_from, &next_to));
    Ok(())
}

/// The open items (有问题, 整改中), overdue first; overdue as the ledger route judges it
/// by default: on today, or on the campaign's last day once it is over.
fn ledger(
    conn: &Connection,
    snapshot: &Snapshot,
    campaign: &Campaign,
    entries: &[crate::domain::ledger::Entry],
) -> Result<LedgerSection, BriefingError> {
    let now = today();
    let as_of = if campaign.ends < now {
        campaign.ends.clone()
    } else {
        now
    };
    let template = crate::ledger::templates(conn)?
        .into_iter()
        .find(|t| t.id == campaign.template_id);
    let mut items: Vec<LedgerItem> = entries
        .iter()
        .filter(|e| e.status.is_open_problem())
        .map(|e| {
            let content = template
                .as_ref()
                .and_then(|t| t.items.iter().find(|i| i.position == e.position))
                .map(|i| i.item.clone().unwrap_or_else(|| i.content.clone()))
                .unwrap_or_default();
            LedgerItem {
                village: short_name(snapshot.name(&e.village_code).unwrap_or(&e.village_code)),
                position: e.position,
                item: shorten(&content, 48),
                problem: shorten(e.problem.as_deref().unwrap_or(""), 80),
                status: e.status.label_zh().to_owned(),
                deadline: e.deadline.clone().unwrap_or_default(),
                overdue: e.is_overdue(&as_of),
            }
        })
        .collect();
    // Overdue first: those are what the meeting asks about.
    items.sort_by_key(|i| !i.overdue);
    Ok(LedgerSection {
        as_of,
        open: items.len(),
        overdue: items.iter().filter(|i| i.overdue).count(),
        items,
    })
}

/// At most `n` characters, with an ellipsis when cut.
fn shorten(text: &str, n: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// The week's visits per village and what they found.
fn week_visits(
    snapshot: &Snapshot,
    input: &Inputs<'_>,
    week: &str,
    (from, to): (&str, &str),
) -> Option<VisitSection> {
    let name = snapshot.name(&input.campaign.area_code).unwrap_or_default();
    let village = |v: &str| v.to_owned();
    let names = |c: &str| snapshot.name(c).map(short_name);
    let p = progress::progress(input, week, name, &village, &names)?;
    let figures = |f: &progress::Figures| VisitFigures {
        planned: f.planned,
        visited: f.visited,
        not_found: f.not_found,
        refused: f.refused,
        unplanned: f.unplanned,
        findings: f.findings,
        opened: f.opened,
    };
    let villages = p
        .townships
        .iter()
        .filter(|r| r.week.planned > 0 || r.week.visits > 0)
        .map(|r| (r.name.clone(), figures(&r.week)))
        .collect();
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for v in input
        .visits
        .iter()
        .filter(|v| (from..=to).contains(&v.date.as_str()) && (input.in_scope)(&v.village_code))
    {
        for f in &v.findings {
            let label = f.name.clone().unwrap_or_else(|| f.item.clone());
            *found
                .entry(format!("{}：{label}", f.kind.label_zh()))
                .or_default() += 1;
        }
    }
    let mut findings: Vec<(String, usize)> = found.into_iter().collect();
    findings.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Some(VisitSection {
        total: figures(&p.total.week),
        villages,
        findings,
    })
}

/// The planned days of the next week in the township: per group and day (the newest
/// plan's where two give a group the same day, as the progress counts them), with the
/// households, village checks and villages on the route.
fn planned(
    snapshot: &Snapshot,
    plans: &[Plan],
    township: &str,
    (from, to): (&str, &str),
) -> Vec<PlanDay> {
    let mut claimed: BTreeMap<(String, String), &str> = BTreeMap::new();
    let mut days: BTreeMap<(String, String), PlanDay> = BTreeMap::new();
    for plan in plans {
        for group in &plan.groups {
            for day in &group.days {
                let Some(date) = day.date.as_deref() else {
                    continue;
                };
                if !(from..=to).contains(&date) {
                    continue;
                }
                let key = (date.to_owned(), group.name.clone());
                if *claimed.entry(key.clone()).or_insert(plan.id.as_str()) != plan.id {
                    continue;
                }
                for stop in day
                    .stops
                    .iter()
                    .filter(|s| s.target.village_code.starts_with(township))
                {
                    let d = days.entry(key.clone()).or_insert_with(|| PlanDay {
                        date: date.to_owned(),
                        group: group.name.clone(),
                        ..PlanDay::default()
                    });
                    match stop.target.kind {
                        TargetKind::Household => d.households += 1,
                        TargetKind::Village => d.village_checks += 1,
                    }
                    let village = short_name(
                        snapshot
                            .name(&stop.target.village_code)
                            .unwrap_or(&stop.target.village_name),
                    );
                    if !d.villages.contains(&village) {
                        d.villages.push(village);
                    }
                }
            }
        }
    }
    days.into_values().collect()
}

/// Coverage of the measure year by department: the township's row beside the county's
/// sums over its townships.
fn coverage(
    conn: &Connection,
    township: &str,
    county: &str,
) -> Result<Option<CoverageSection>, BriefingError> {
    let Some(year) = measures::current_year(conn)? else {
        return Ok(None);
    };
    let (areas, cells) = measures::coverage(conn, county, year, CoverageBy::Township)?;
    let Some(here) = areas.iter().find(|a| a.code == township) else {
        return Ok(None);
    };
    let county_policy: i64 = areas.iter().map(|a| a.policy_households).sum();
    let county_with: i64 = areas.iter().map(|a| a.with_measures).sum();
    let share = |n: i64, d: i64| (d > 0).then(|| n as f64 / d as f64);
    let mut by_department: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for c in &cells {
        let e = by_department.entry(c.department.as_str()).or_default();
        e.2 += c.households;
        if c.code == township {
            e.0 += c.households;
            e.1 += c.measures;
        }
    }
    Ok(Some(CoverageSection {
        year,
        policy_households: (here.policy_households, county_policy),
        with_measures: (here.with_measures, county_with),
        departments: by_department
            .into_iter()
            .map(
                |(department, (households, measures, county))| DepartmentCoverage {
                    department: department.to_owned(),
                    households,
                    measures,
                    rate: share(households, here.policy_households),
                    county_rate: share(county, county_policy),
                },
            )
            .collect(),
    }))
}

/// The briefing as a file: an A4 PDF, or the printable HTML page when `html`, drawn with
/// the Chinese font found on this machine.
///
/// # Errors
/// [`RenderError`]: no Chinese font, or a map or the PDF that cannot be written.
pub fn write(b: &Briefing, html: bool) -> Result<Vec<u8>, RenderError> {
    let font = crate::render::discover()?;
    if html {
        crate::render::brief::html(b, &font).map(String::into_bytes)
    } else {
        crate::render::brief::pdf(b, &font)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_keeps_short_text_and_marks_a_cut() {
        assert_eq!(shorten(" 危房 ", 5), "危房");
        assert_eq!(shorten("一二三四五六", 4), "一二三…");
    }
}
