//! Checklists and the rectification ledger (排查清单与问题整改台账): the checklist
//! templates of seeds 002 and 003 ([`checklist`]), campaigns that check every village
//! of an area item by item, and one ledger entry per village × item that is tracked
//! until the problem is rectified and closed (销号).

pub mod checklist;
pub mod import;
pub mod progress;
pub mod report;
pub mod rules;
pub mod weekly;

use crate::domain::calendar::{is_date, today};
use crate::domain::ledger::{Campaign, Cycle, Entry, Template};

/// Every checklist template: the built-in ones, then those users added.
///
/// # Errors
/// [`LedgerError::Store`] if the stored ones cannot be read,
/// [`LedgerError::Checklist`] if the built-in ones are broken (a build defect
/// that tests catch).
pub fn templates(conn: &duckdb::Connection) -> Result<Vec<Template>, LedgerError> {
    let mut all = checklist::builtin()?;
    all.extend(crate::store::ledger::stored_templates(conn)?);
    Ok(all)
}

/// What went wrong in the ledger: a campaign, template, area or day that does not
/// exist or is not valid, or the store or the embedded templates failing.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// No such campaign.
    #[error("no campaign {0:?}")]
    NoCampaign(String),
    /// The campaign's template is not known.
    #[error("campaign {campaign:?} uses an unknown checklist template {template:?}")]
    NoTemplate {
        /// The campaign.
        campaign: String,
        /// Its template id.
        template: String,
    },
    /// The area is not inside the campaign's area, or unknown.
    #[error("{0}")]
    Area(String),
    /// The day is not a date.
    #[error("as_of {0:?} is not a date YYYY-MM-DD")]
    Date(String),
    /// The templates or the store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The embedded templates are broken.
    #[error(transparent)]
    Checklist(#[from] checklist::ChecklistError),
}

/// Everything a report of a campaign over an area needs: the campaign, its template,
/// the entries of the area, the area with its villages' names, and the period (from
/// the start of `as_of`'s month or week, or the campaign's start, to `as_of`, by
/// default today or the campaign's end if earlier).
///
/// # Errors
/// [`LedgerError`] naming what is missing or wrong.
pub fn report_input<H: std::hash::BuildHasher>(
    conn: &duckdb::Connection,
    names: &std::collections::HashMap<String, (String, crate::domain::AreaLevel), H>,
    campaign_id: &str,
    within: Option<&str>,
    as_of: Option<&str>,
) -> Result<
    (
        Campaign,
        Template,
        Vec<Entry>,
        report::ReportArea,
        report::Period,
    ),
    LedgerError,
> {
    use crate::store::ledger as store;
    let campaign = store::campaign(conn, campaign_id)?
        .ok_or_else(|| LedgerError::NoCampaign(campaign_id.to_owned()))?;
    let template = templates(conn)?
        .into_iter()
        .find(|t| t.id == campaign.template_id)
        .ok_or_else(|| LedgerError::NoTemplate {
            campaign: campaign.id.clone(),
            template: campaign.template_id.clone(),
        })?;
    let code = within.unwrap_or(&campaign.area_code).to_owned();
    if !code.starts_with(&campaign.area_code) {
        return Err(LedgerError::Area(format!(
            "{code} is not inside the campaign's area {}",
            campaign.area_code
        )));
    }
    let name = names
        .get(&code)
        .map(|(n, _)| n.clone())
        .ok_or_else(|| LedgerError::Area(format!("no area with code {code}")))?;
    let today = today();
    let as_of = as_of.map_or_else(
        || {
            if campaign.ends < today {
                campaign.ends.clone()
            } else {
                today
            }
        },
        str::to_owned,
    );
    if !is_date(&as_of) {
        return Err(LedgerError::Date(as_of));
    }
    let filter = store::EntryFilter {
        within: Some(code.clone()),
        ..store::EntryFilter::default()
    };
    let (_, entries) = store::entries(conn, &campaign.id, &filter, usize::MAX >> 1, 0)?;
    let village_names = names
        .iter()
        .filter(|(c, (_, level))| c.starts_with(&code) && level.is_village_like())
        .map(|(c, (n, _))| (c.clone(), n.clone()))
        .collect();
    let (year, month) = (&as_of[..4], as_of[5..7].trim_start_matches('0'));
    let (label, from) = match campaign.cycle {
        Cycle::Monthly => (format!("{year}年{month}月"), format!("{}-01", &as_of[..7])),
        Cycle::Weekly => (format!("截至{as_of}的一周"), as_of.clone()),
    };
    let from = if from < campaign.starts {
        campaign.starts.clone()
    } else {
        from
    };
    let period = report::Period {
        label,
        from,
        to: as_of.clone(),
        today: as_of,
    };
    let scope = report::ReportArea {
        code,
        name,
        village_names,
    };
    Ok((campaign, template, entries, scope, period))
}
