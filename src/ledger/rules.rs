//! The ledger's rules: what a new campaign needs, the entries it starts with, how an
//! update applies to an entry and which rules an entry breaks, and what a village's
//! imported ledger changes. The API only parses and formats around these; the
//! importer and the campaign week's visits apply the same ones.

use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::import::ImportRow;
use crate::domain::calendar::is_date;
use crate::domain::ledger::{Campaign, Cycle, Entry, ReportLayout, Signoff, Status, Template};
use crate::domain::visit::{FindingKind, Visit};
use crate::domain::{AreaLevel, FieldViolation, Violations};

/// A new campaign.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Stable id: letters, digits and '-', up to 64.
    pub id: String,
    /// What it is called, e.g. 新宾县2019年脱贫攻坚问题大排查.
    pub name: String,
    /// A checklist template id.
    pub template_id: String,
    /// The county or a township: every village in it gets one entry per item.
    pub area_code: String,
    /// `YYYY-MM-DD`.
    pub starts: String,
    /// `YYYY-MM-DD`, not before `starts`.
    pub ends: String,
    /// `weekly` or `monthly` (周报 / 月报).
    pub cycle: String,
    /// Weekday 1–7 (weekly) or day of month 1–28 (monthly) the report is due.
    pub due_day: u8,
    /// Who creates it: the API records the signed-in person whatever is sent here.
    #[serde(default)]
    pub by: String,
}

/// A new campaign over an area of `area_level` (`None`: no such area) and its
/// template from `templates`, or every invalid field named.
///
/// # Errors
/// Each field that breaks a rule: the id's form, an empty name, an unknown template,
/// an area that is not the county or a township, dates, the cycle and its due day,
/// who creates it.
pub fn new_campaign(
    n: &NewCampaign,
    area_level: Option<AreaLevel>,
    templates: Vec<Template>,
) -> Result<(Campaign, Template), Vec<FieldViolation>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, reason: String| {
        errors.push(FieldViolation::new(field, reason));
    };
    if !is_id(&n.id) {
        bad("id", ID_RULE.into());
    }
    if n.name.trim().is_empty() {
        bad("name", "must not be empty".into());
    }
    let template = templates.into_iter().find(|t| t.id == n.template_id);
    if template.is_none() {
        bad(
            "template_id",
            format!("no checklist template {:?}", n.template_id),
        );
    }
    if area_level.is_none_or(AreaLevel::is_village_like) {
        bad(
            "area_code",
            format!(
                "{:?} is not a stored township, county, city or province",
                n.area_code
            ),
        );
    }
    for (field, d) in [("starts", &n.starts), ("ends", &n.ends)] {
        if !is_date(d) {
            bad(field, format!("{d:?} is not a date YYYY-MM-DD"));
        }
    }
    if is_date(&n.starts) && is_date(&n.ends) && n.ends < n.starts {
        bad("ends", "is before starts".into());
    }
    let cycle = Cycle::parse(&n.cycle);
    match cycle {
        None => bad(
            "cycle",
            format!("unknown cycle {:?}; expected weekly or monthly", n.cycle),
        ),
        Some(Cycle::Weekly) if !(1..=7).contains(&n.due_day) => {
            bad("due_day", "a weekday, 1 (Monday) to 7".into());
        }
        Some(Cycle::Monthly) if !(1..=28).contains(&n.due_day) => {
            bad("due_day", "a day of the month, 1 to 28".into());
        }
        Some(_) => {}
    }
    if n.by.trim().is_empty() {
        bad("by", "say who creates the campaign".into());
    }
    match (template, cycle) {
        (Some(template), Some(cycle)) if errors.is_empty() => Ok((
            Campaign {
                id: n.id.clone(),
                name: n.name.trim().to_owned(),
                template_id: template.id.clone(),
                area_code: n.area_code.clone(),
                starts: n.starts.clone(),
                ends: n.ends.clone(),
                cycle,
                due_day: n.due_day,
            },
            template,
        )),
        _ => Err(errors),
    }
}

/// `POST /api/v1/checklists` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NewTemplate {
    /// Stable id: letters, digits and '-', up to 64.
    pub id: String,
    /// The document's title for the list.
    pub name: String,
    /// Where it was issued.
    pub region: String,
    /// The year it was issued.
    pub year: i32,
    /// The document it comes from.
    pub source: String,
    /// `xuchang` (类别, 序号, 排查项目, 自查问题描述 …) or `lianyungang` (序号, 排查项目,
    /// 排查内容, 排查情况 …): how its reports are laid out.
    pub layout: String,
}

/// A template a user adds, from its parameters and its CSV or XLSX file, or every
/// invalid parameter, row and column named.
///
/// # Errors
/// The id's form, an empty name, an unknown layout, and what is wrong in the file.
pub fn new_template(p: &NewTemplate, file: &[u8]) -> Result<Template, Vec<FieldViolation>> {
    let mut errors = Violations::new();
    if !is_id(&p.id) {
        errors.add("id", ID_RULE);
    }
    if p.name.trim().is_empty() {
        errors.add("name", "must not be empty");
    }
    let layout = match p.layout.as_str() {
        "xuchang" => Some(ReportLayout::Xuchang),
        "lianyungang" => Some(ReportLayout::Lianyungang),
        other => {
            errors.add(
                "layout",
                format!("unknown layout {other:?}; expected xuchang or lianyungang"),
            );
            None
        }
    };
    let items = super::import::template_items(&p.id, file)
        .map_err(|reason| errors.add("file", reason))
        .ok();
    let (Some(items), Some(report_layout)) = (items, layout) else {
        return Err(errors.into_vec());
    };
    if items.len() > MAX_TEMPLATE_ITEMS {
        errors.add(
            "file",
            format!(
                "{} items; a checklist holds at most {MAX_TEMPLATE_ITEMS}",
                items.len()
            ),
        );
    }
    errors.into_result(Template {
        id: p.id.clone(),
        name: p.name.trim().to_owned(),
        region: p.region.trim().to_owned(),
        year: p.year,
        source: p.source.trim().to_owned(),
        expected_items: items.len(),
        report_layout,
        items,
    })
}

/// `POST /api/v1/checklists/{id}/copy`: a template copied under a new id, for a place
/// whose offices differ from the document's (a county using a development zone's list).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateCopy {
    /// The copy's id: letters, digits and '-', up to 64.
    pub id: String,
    /// Its name; the source's name when left out.
    pub name: Option<String>,
    /// Where it is used, e.g. 辽宁省抚顺市新宾满族自治县; the source's region when left out.
    pub region: Option<String>,
}

/// `PATCH /api/v1/checklists/{id}`: a user template's name, region and responsible
/// units (责任单位). The items themselves (their text and order) stay the document's.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateEdit {
    /// A new name.
    pub name: Option<String>,
    /// A new region.
    pub region: Option<String>,
    /// New responsible units by item position; an empty unit clears it.
    #[serde(default)]
    pub units: Vec<UnitEdit>,
}

/// One item's responsible unit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitEdit {
    /// The item's position in the template.
    pub position: u32,
    /// The unit(s), e.g. 各乡镇、县住建局; empty to clear.
    pub responsible_unit: String,
}

/// Longest name, region or responsible unit a user may give a template.
const MAX_TEMPLATE_TEXT: usize = 200;

fn check_text(errors: &mut Violations, field: &str, value: &str, required: bool) {
    if required && value.trim().is_empty() {
        errors.add(field, "must not be empty");
    } else if value.chars().count() > MAX_TEMPLATE_TEXT {
        errors.add(field, format!("longer than {MAX_TEMPLATE_TEXT} characters"));
    }
}

/// The copy of `source` that `c` asks for, or every invalid field named.
///
/// # Errors
/// The id's form; a name or region empty or too long.
pub fn copy_template(source: &Template, c: &TemplateCopy) -> Result<Template, Vec<FieldViolation>> {
    let mut errors = Violations::new();
    if !is_id(&c.id) {
        errors.add("id", ID_RULE);
    }
    if let Some(name) = &c.name {
        check_text(&mut errors, "name", name, true);
    }
    if let Some(region) = &c.region {
        check_text(&mut errors, "region", region, true);
    }
    let mut copy = source.clone();
    copy.id.clone_from(&c.id);
    if let Some(name) = &c.name {
        name.trim().clone_into(&mut copy.name);
    }
    if let Some(region) = &c.region {
        region.trim().clone_into(&mut copy.region);
    }
    copy.source = format!("{}（复制自 {}）", source.source, source.id);
    errors.into_result(copy)
}

/// `template` with `e` applied, or every invalid field named (nothing applied then).
///
/// # Errors
/// A name or region empty or too long; a position the template does not have or
/// given twice; a unit too long; more units than the template has items.
pub fn edit_template(
    template: &Template,
    e: &TemplateEdit,
) -> Result<Template, Vec<FieldViolation>> {
    let mut errors = Violations::new();
    let mut edited = template.clone();
    if let Some(name) = &e.name {
        check_text(&mut errors, "name", name, true);
        name.trim().clone_into(&mut edited.name);
    }
    if let Some(region) = &e.region {
        check_text(&mut errors, "region", region, true);
        region.trim().clone_into(&mut edited.region);
    }
    if e.units.len() > edited.items.len() {
        errors.add(
            "units",
            format!(
                "{} units for a template of {} items",
                e.units.len(),
                edited.items.len()
            ),
        );
        return Err(errors.into_vec());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, u) in e.units.iter().enumerate() {
        let field = format!("units[{i}]");
        if !seen.insert(u.position) {
            errors.add(
                format!("{field}.position"),
                format!("item {} is given twice", u.position),
            );
            continue;
        }
        check_text(
            &mut errors,
            &format!("{field}.responsible_unit"),
            &u.responsible_unit,
            false,
        );
        match edited.items.iter_mut().find(|it| it.position == u.position) {
            Some(item) => {
                let unit = u.responsible_unit.trim();
                item.responsible_unit = (!unit.is_empty()).then(|| unit.to_owned());
            }
            None => errors.add(
                format!("{field}.position"),
                format!("template {:?} has no item {}", template.id, u.position),
            ),
        }
    }
    errors.into_result(edited)
}

/// What a campaign's or template's id may be.
const ID_RULE: &str = "letters, digits and '-', 1 to 64 of them";

/// Whether `id` is a campaign's or template's id: see [`ID_RULE`].
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Most entries one campaign holds (villages × items): a city's two thousand villages
/// on a 66-item list fit; a campaign of millions of rows does not.
pub const MAX_CAMPAIGN_ENTRIES: usize = 200_000;

/// Most items a checklist template may have (the seeds' lists have 37 and 66).
pub const MAX_TEMPLATE_ITEMS: usize = 500;

/// The entries a new campaign starts with: one per village and item of its template,
/// all 未排查 at version 1, made `now` (RFC 3339) by `by`.
///
/// # Errors
/// More than [`MAX_CAMPAIGN_ENTRIES`], named on `area_code`.
pub fn campaign_entries(
    campaign: &Campaign,
    template: &Template,
    villages: &[&str],
    by: &str,
    now: &str,
) -> Result<Vec<Entry>, FieldViolation> {
    let count = villages.len() * template.items.len();
    if count > MAX_CAMPAIGN_ENTRIES {
        return Err(FieldViolation::new(
            "area_code",
            format!(
                "{} villages × {} items make {count} entries; a campaign holds at most {MAX_CAMPAIGN_ENTRIES}",
                villages.len(),
                template.items.len()
            ),
        ));
    }
    Ok(villages
        .iter()
        .flat_map(|v| {
            template
                .items
                .iter()
                .map(move |item| Entry::unchecked(&campaign.id, v, item.position, by, now))
        })
        .collect())
}

/// A field present in the body, `null` included: `Some(None)` clears it.
#[expect(
    clippy::option_option,
    reason = "absent, null (clear) and a value are three different requests"
)]
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An update of an entry: the version it was based on, who makes it, and only the
/// fields that change (`null` clears one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryPatch {
    /// The version the change was based on (from the last read).
    pub version: i64,
    /// Who makes the change: the API records the signed-in person whatever is sent
    /// here.
    #[serde(default)]
    pub by: String,
    /// Status code or Chinese label.
    pub status: Option<String>,
    /// The problem found (自查问题描述).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub problem: Option<Option<String>>,
    /// The measure (整改措施).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub measure: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub deadline: Option<Option<String>>,
    /// The person responsible (责任人).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub responsible: Option<Option<String>>,
    /// The result (整改结果).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub result: Option<Option<String>>,
    /// The village Party secretary's signature.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Signoff>)]
    pub secretary: Option<Option<Signoff>>,
    /// The first secretary's signature.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Signoff>)]
    pub first_secretary: Option<Option<Signoff>>,
    /// The inspection group leader's signature.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Signoff>)]
    pub group_leader: Option<Option<Signoff>>,
    /// Free notes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// The entry after a patch, checked against the ledger's rules, stamped with when
/// (`now`, RFC 3339) and by whom.
///
/// # Errors
/// Every broken rule and bad field, each named by its field.
pub fn apply(mut e: Entry, p: EntryPatch, now: String) -> Result<Entry, Vec<FieldViolation>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, reason: String| {
        errors.push(FieldViolation::new(field, reason));
    };
    if p.by.trim().is_empty() {
        bad("by", "say who makes the change".into());
    }
    if let Some(s) = &p.status {
        match Status::parse(s) {
            Some(st) => e.status = st,
            None => bad("status", format!("unknown status {s:?}")),
        }
    }
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if let Some(v) = p.problem {
        e.problem = text(v);
    }
    if let Some(v) = p.measure {
        e.measure = text(v);
    }
    if let Some(v) = p.deadline {
        e.deadline = text(v);
    }
    if let Some(v) = p.responsible {
        e.responsible = text(v);
    }
    if let Some(v) = p.result {
        e.result = text(v);
    }
    if let Some(v) = p.notes {
        e.notes = text(v);
    }
    if let Some(v) = p.secretary {
        e.secretary = v;
    }
    if let Some(v) = p.first_secretary {
        e.first_secretary = v;
    }
    if let Some(v) = p.group_leader {
        e.group_leader = v;
    }
    errors.extend(broken_rules(&e));
    if !errors.is_empty() {
        return Err(errors);
    }
    e.updated_at = now;
    p.by.trim().clone_into(&mut e.updated_by);
    Ok(e)
}

/// The ledger's rules an entry breaks, each named by its field: dates and signatures
/// well formed, a problem described once one is found, a measure, deadline and person
/// responsible once it is being rectified, and both village signatures to close it.
#[must_use]
pub fn broken_rules(e: &Entry) -> Vec<FieldViolation> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, reason: String| {
        errors.push(FieldViolation::new(field, reason));
    };
    if let Some(d) = &e.deadline
        && !is_date(d)
    {
        bad("deadline", format!("{d:?} is not a date YYYY-MM-DD"));
    }
    for (field, s) in [
        ("secretary", &e.secretary),
        ("first_secretary", &e.first_secretary),
        ("group_leader", &e.group_leader),
    ] {
        if let Some(s) = s
            && (s.who.trim().is_empty() || !is_date(&s.at))
        {
            bad(
                field,
                "a signature needs who (a name) and at (YYYY-MM-DD)".into(),
            );
        }
    }
    let found = !matches!(e.status, Status::NotChecked | Status::NoProblem);
    if found && e.problem.is_none() {
        bad(
            "problem",
            format!("status {} needs the problem found", e.status.label_zh()),
        );
    }
    if matches!(
        e.status,
        Status::Rectifying | Status::Rectified | Status::Closed
    ) {
        for (field, v) in [
            ("measure", &e.measure),
            ("deadline", &e.deadline),
            ("responsible", &e.responsible),
        ] {
            if v.is_none() {
                bad(
                    field,
                    format!(
                        "status {} needs the measure, the deadline and the person responsible",
                        e.status.label_zh()
                    ),
                );
            }
        }
    }
    if e.status == Status::Closed && (e.secretary.is_none() || e.first_secretary.is_none()) {
        bad(
            "status",
            "已销号 needs the signatures of the village Party secretary and the first secretary"
                .into(),
        );
    }
    errors
}

/// The updates an import makes (rows equal to their entry make none), each checked
/// against the ledger's rules.
///
/// # Errors
/// Every rule a row's entry would break, named by item, data row and field.
pub fn import_updates(
    rows: &[ImportRow],
    current: &[Entry],
    by: &str,
    now: &str,
) -> Result<Vec<(i64, Entry)>, Vec<FieldViolation>> {
    let mut updates = Vec::new();
    let mut errors = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let Some(e) = current.iter().find(|e| e.position == r.position) else {
            continue;
        };
        let mut next = e.clone();
        next.status = r.status;
        next.problem.clone_from(&r.problem);
        next.measure.clone_from(&r.measure);
        next.deadline.clone_from(&r.deadline);
        next.responsible.clone_from(&r.responsible);
        next.result.clone_from(&r.result);
        next.notes.clone_from(&r.notes);
        let at = format!("item {} (data row {})", r.position, k + 1);
        errors.extend(broken_rules(&next).into_iter().map(|f| f.within(&at)));
        if next != *e {
            now.clone_into(&mut next.updated_at);
            by.clone_into(&mut next.updated_by);
            updates.push((e.version, next));
        }
    }
    if errors.is_empty() {
        Ok(updates)
    } else {
        Err(errors)
    }
}

/// Ledger updates, `(base version, entry as it becomes)`, and how many entries they open.
pub type LedgerUpdates = (Vec<(i64, Entry)>, usize);

/// The ledger updates a visit's checklist findings make, `(base version, entry as it
/// becomes)`, and how many entries they open (from no open problem to 有问题).
/// `current` holds the village's entries in the campaign.
///
/// # Errors
/// A finding whose item has no entry in the village, or an update the ledger's rules
/// refuse, named by the finding.
pub fn ledger_updates(
    visit: &Visit,
    current: &[Entry],
) -> Result<LedgerUpdates, Vec<FieldViolation>> {
    let mut updates: Vec<(i64, Entry)> = Vec::new();
    let mut opened = 0;
    let mut errors = Violations::new();
    for (i, f) in visit.findings.iter().enumerate() {
        if f.kind != FindingKind::Checklist {
            continue;
        }
        let field = format!("findings[{i}].item");
        let Ok(position) = f.item.parse::<u32>() else {
            errors.add(&field, "not a checklist position");
            continue;
        };
        // A second finding on the same item adds to the update already made.
        let base = updates
            .iter()
            .position(|(_, e)| e.position == position)
            .map(|k| updates.remove(k));
        let found = base.or_else(|| {
            current
                .iter()
                .find(|e| e.position == position && e.village_code == visit.village_code)
                .map(|e| (e.version, e.clone()))
        });
        let Some((version, entry)) = found else {
            errors.add(&field, "the village has no ledger entry for this item");
            continue;
        };
        let what = f
            .note
            .clone()
            .or_else(|| f.name.clone())
            .unwrap_or_default();
        let origin = format!(
            "来自走访 {}（{}，{}）：{what}",
            visit.id, visit.date, visit.group_name
        );
        let notes = match &entry.notes {
            Some(n) => format!("{n}\n{origin}"),
            None => origin,
        };
        let opens = !entry.status.is_open_problem();
        let patch = EntryPatch {
            version,
            by: visit.recorded_by.clone(),
            status: opens.then(|| Status::Problem.code().to_owned()),
            problem: opens.then(|| Some(format!("督查组走访发现：{what}"))),
            measure: None,
            deadline: None,
            responsible: None,
            result: None,
            secretary: None,
            first_secretary: None,
            group_leader: None,
            notes: Some(Some(notes)),
        };
        match apply(entry, patch, visit.recorded_at.clone()) {
            Ok(next) => {
                if opens {
                    opened += 1;
                }
                updates.push((version, next));
            }
            Err(broken) => {
                errors.extend(broken.into_iter().map(|v| v.within(&field)));
            }
        }
    }
    errors.into_result((updates, opened))
}
