//! Recording a visit (走访记录): what a visit sent from the phone must be to be kept,
//! and what its checklist findings do to the village's ledger.
//!
//! 1. [`check`] reads the visit against its plan (the group, day and stop), the
//!    household or village it went to, the campaign's period and checklist and the
//!    indicator catalog, and converts the phone's position to WGS-84;
//! 2. `crate::ledger::rules::ledger_updates` turns each checklist finding into an
//!    update of the village's ledger entry through the ledger's own rules: an item with
//!    no open problem becomes 有问题 with the finding as the problem, an open one gets
//!    the finding in its notes; either way the history says which visit;
//! 3. the store writes the visit and those updates in one transaction.

use crate::domain::calendar::is_date;
use crate::domain::ledger::{Campaign, Template};
use crate::domain::plan::{Plan, TargetKind};
use crate::domain::visit::{Finding, FindingKind, NewVisit, RecordedPosition, Visit};
use crate::domain::{Crs, FieldViolation, Unit, Violations};
use crate::indicators::Catalog;
use crate::model::Snapshot;
use crate::spatial::crs::{LonLat, convert};

/// Most findings one visit may carry.
pub const MAX_FINDINGS: usize = 80;
/// Longest note of a visit or a finding, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Who records, and when.
#[derive(Debug, Clone)]
pub struct Recorder<'a> {
    /// The signed-in person's name.
    pub name: &'a str,
    /// Now, RFC 3339 UTC.
    pub at: &'a str,
    /// Today in China, `YYYY-MM-DD`: the visit's day when it names none.
    pub today: &'a str,
}

/// What a visit is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The campaign.
    pub campaign: &'a Campaign,
    /// Its checklist.
    pub template: &'a Template,
    /// The plan the visit names, if it is stored and made for this campaign.
    pub plan: Option<&'a Plan>,
    /// The data the households are looked up in.
    pub snapshot: &'a Snapshot,
    /// The indicators.
    pub catalog: &'a Catalog,
}

/// The visit to keep, or every field that is wrong. `may_record` says whether the
/// person may record visits in a village: a target outside is refused as if unknown.
///
/// # Errors
/// Each bad field, named as the client sent it (`stop`, `target.id`, `findings[2].item`,
/// `position.lat` …), in sentences without personal data.
pub fn check(
    new: &NewVisit,
    cx: Context<'_>,
    recorder: &Recorder<'_>,
    may_record: impl Fn(&str) -> bool,
) -> Result<Visit, Vec<FieldViolation>> {
    let mut errors = Violations::new();
    let Some(plan) = cx.plan else {
        errors.add(
            "plan_id",
            format!(
                "no plan {:?} made for campaign {:?} (a plan names its campaign when it is made)",
                new.plan_id, cx.campaign.id
            ),
        );
        return Err(errors.into_vec());
    };
    let Some(group) = new.group.checked_sub(1).and_then(|g| plan.groups.get(g)) else {
        errors.add(
            "group",
            format!("the plan has groups 1 to {}", plan.groups.len()),
        );
        return Err(errors.into_vec());
    };
    let day = match new.day {
        Some(d) => {
            let found = d.checked_sub(1).and_then(|i| group.days.get(i));
            if found.is_none() {
                errors.add(
                    "day",
                    format!("the group has days 1 to {}", group.days.len()),
                );
            }
            found
        }
        None => None,
    };
    let target = target(new, day, cx.snapshot, &mut errors);
    if let Some((_, _, village, _)) = &target
        && !may_record(village)
    {
        // Worded as for an unknown target: nothing is told of other areas.
        errors.add("target", "no such household or village in your townships");
    }
    let date = new
        .date
        .clone()
        .unwrap_or_else(|| recorder.today.to_owned());
    if !is_date(&date) {
        errors.add("date", format!("{date:?} is not a date YYYY-MM-DD"));
    } else if date.as_str() > recorder.today {
        errors.add("date", "is in the future");
    } else if date < cx.campaign.starts || date > cx.campaign.ends {
        errors.add(
            "date",
            format!(
                "outside the campaign ({} to {})",
                cx.campaign.starts, cx.campaign.ends
            ),
        );
    }
    let household = matches!(&target, Some((TargetKind::Household, ..)));
    let findings = findings(new, household, cx, &mut errors);
    let note = text(new.note.as_deref(), "note", &mut errors);
    let position = position(new, &mut errors);
    let Some((kind, id, village, label)) = target else {
        return Err(errors.into_vec());
    };
    errors.into_result(Visit {
        id: crate::store::visits::new_id(),
        campaign_id: cx.campaign.id.clone(),
        plan_id: plan.id.clone(),
        group: group.group,
        group_name: group.name.clone(),
        plan_day: new.day,
        stop: new.stop,
        date,
        target_kind: kind,
        target_id: id,
        target_label: label,
        village_code: village,
        outcome: new.outcome,
        findings,
        note,
        position,
        recorded_at: recorder.at.to_owned(),
        recorded_by: recorder.name.to_owned(),
        ledger_opened: 0,
        has_photo: false,
    })
}

/// The visit's target: the planned stop's, or the one named (kind, id, village, label).
fn target(
    new: &NewVisit,
    day: Option<&crate::domain::plan::Day>,
    snapshot: &Snapshot,
    errors: &mut Violations,
) -> Option<(TargetKind, String, String, String)> {
    if let Some(order) = new.stop {
        let Some(day) = day else {
            if new.day.is_none() {
                errors.add("day", "a planned stop needs its day");
            }
            return None;
        };
        let Some(stop) = day.stops.iter().find(|s| s.order == order) else {
            errors.add(
                "stop",
                format!("the day has stops 1 to {}", day.stops.len()),
            );
            return None;
        };
        let t = &stop.target;
        if let Some(named) = &new.target
            && (named.kind != t.kind || named.id != t.id)
        {
            errors.add("target", "is not the planned stop's target");
            return None;
        }
        return Some((
            t.kind,
            t.id.clone(),
            t.village_code.clone(),
            t.label.clone(),
        ));
    }
    let Some(named) = &new.target else {
        errors.add(
            "target",
            "an unplanned visit (no stop) names its household or village",
        );
        return None;
    };
    match named.kind {
        TargetKind::Household => {
            let row = (named.id.len() == 18 && named.id.bytes().all(|b| b.is_ascii_digit()))
                .then(|| super::targets::rows_of(snapshot, std::slice::from_ref(&named.id))[0])
                .flatten();
            let Some(row) = row else {
                errors.add("target.id", "no household with this number");
                return None;
            };
            let village = snapshot.locations[row].village_code.clone();
            Some((
                TargetKind::Household,
                named.id.clone(),
                village.to_string(),
                String::new(),
            ))
        }
        TargetKind::Village => {
            let Some((name, _)) = snapshot
                .names
                .get(&named.id)
                .filter(|(_, level)| level.is_village_like())
            else {
                errors.add("target.id", "no village with this code");
                return None;
            };
            Some((
                TargetKind::Village,
                named.id.clone(),
                named.id.clone(),
                name.clone(),
            ))
        }
    }
}

/// The findings with their names, each checked.
fn findings(
    new: &NewVisit,
    household: bool,
    cx: Context<'_>,
    errors: &mut Violations,
) -> Vec<Finding> {
    if !new.findings.is_empty() && new.outcome != crate::domain::visit::Outcome::Visited {
        errors.add(
            "findings",
            "only a visit that met someone (visited, 已走访) has findings",
        );
    }
    if new.findings.len() > MAX_FINDINGS {
        errors.add("findings", format!("at most {MAX_FINDINGS} findings"));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(new.findings.len());
    for (i, f) in new.findings.iter().enumerate() {
        let field = format!("findings[{i}].item");
        let name = match f.kind {
            FindingKind::Indicator => match cx.catalog.get(&f.item) {
                Some(ind) if ind.unit != Unit::Items && household => Some(ind.name_zh.clone()),
                Some(_) if !household => {
                    errors.add(&field, "an indicator finding is about a household");
                    None
                }
                _ => {
                    errors.add(&field, format!("no household indicator {:?}", f.item));
                    None
                }
            },
            FindingKind::Checklist => {
                let item = f
                    .item
                    .parse::<u32>()
                    .ok()
                    .and_then(|p| cx.template.items.iter().find(|it| it.position == p));
                if let Some(it) = item {
                    Some(item_name(it))
                } else {
                    errors.add(
                        &field,
                        format!("no item {:?} in the campaign's checklist", f.item),
                    );
                    None
                }
            }
        };
        let note = text(f.note.as_deref(), &format!("findings[{i}].note"), errors);
        if let Some(name) = name {
            out.push(Finding {
                kind: f.kind,
                item: f.item.trim().to_owned(),
                note,
                name: Some(name),
            });
        }
    }
    out
}

/// A checklist item as a finding names it: its number and heading, or its text.
fn item_name(it: &crate::domain::ledger::ChecklistItem) -> String {
    let number = it.number.as_deref().unwrap_or("");
    let head = it.item.as_deref().unwrap_or(&it.content);
    let head: String = head.chars().take(40).collect();
    if number.is_empty() {
        head
    } else {
        format!("{number}. {head}")
    }
}

/// A free text trimmed, `None` when empty; too long is an error.
fn text(value: Option<&str>, field: &str, errors: &mut Violations) -> Option<String> {
    let t = value.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > MAX_NOTE_CHARS {
        errors.add(field, format!("at most {MAX_NOTE_CHARS} characters"));
        return None;
    }
    Some(t.to_owned())
}

/// The phone's position, kept raw with its system and converted to WGS-84.
fn position(new: &NewVisit, errors: &mut Violations) -> Option<RecordedPosition> {
    let raw = new.position?;
    let mut ok = true;
    if !(raw.lon.is_finite() && (-180.0..=180.0).contains(&raw.lon)) {
        errors.add("position.lon", "a longitude, -180 to 180 degrees");
        ok = false;
    }
    if !(raw.lat.is_finite() && (-90.0..=90.0).contains(&raw.lat)) {
        errors.add("position.lat", "a latitude, -90 to 90 degrees");
        ok = false;
    }
    if raw.accuracy_m.is_some_and(|a| !(a.is_finite() && a >= 0.0)) {
        errors.add("position.accuracy_m", "metres, 0 or more");
        ok = false;
    }
    if !ok {
        return None;
    }
    let wgs = convert(LonLat::new(raw.lon, raw.lat), raw.crs, Crs::Wgs84);
    Some(RecordedPosition {
        raw,
        lon: wgs.lon,
        lat: wgs.lat,
    })
}
