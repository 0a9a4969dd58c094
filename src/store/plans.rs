//! Field-visit plans: stored whole, as JSON, so that a plan's link and its downloads
//! keep working after the data changes or the server restarts.

use duckdb::{Connection, OptionalExt, params};

use super::{QueryContext, StoreError};
use crate::domain::plan::Plan;

/// A stored plan's header, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanHeader {
    /// Its id.
    pub id: String,
    /// When it was made.
    pub created: String,
    /// Its title.
    pub title: String,
}

/// A new id for a plan made on `date` (`YYYY-MM-DD`): `p-YYYYMMDD-` and 16 random
/// hex digits, so that nobody finds a plan (it lists households and where they live)
/// by counting.
fn new_id(date: &str) -> String {
    use rand::RngCore as _;
    format!(
        "p-{}-{:016x}",
        date.replace('-', ""),
        rand::rng().next_u64()
    )
}

/// Gives a new plan a new unguessable id and stores it; the insert refuses a
/// duplicate (a 1 in 2^64 chance) rather than overwrite one.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn save_new(conn: &Connection, plan: &mut Plan) -> Result<(), StoreError> {
    let _guard = super::write_lock();
    plan.id = new_id(&plan.created);
    let body = serde_json::to_string(plan).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO plans VALUES (?, ?, ?, ?)",
        params![plan.id, plan.created, plan.title, body],
    )
    .context("save plan")?;
    Ok(())
}

/// Stores a plan under the id it has (the demo's, made deterministic from its seed).
///
/// # Errors
/// [`StoreError::Query`] if the write fails (e.g. the id is taken).
pub fn save_as_is(conn: &Connection, plan: &Plan) -> Result<(), StoreError> {
    let body = serde_json::to_string(plan).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO plans VALUES (?, ?, ?, ?)",
        params![plan.id, plan.created, plan.title, body],
    )
    .context("save plan")?;
    Ok(())
}

/// A stored plan.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Invalid`] if the stored JSON
/// no longer reads as a plan.
pub fn plan(conn: &Connection, id: &str) -> Result<Option<Plan>, StoreError> {
    let body: Option<String> = conn
        .query_row("SELECT body FROM plans WHERE id = ?", [id], |r| r.get(0))
        .optional()
        .context("read plan")?;
    body.map(|b| {
        serde_json::from_str(&b).map_err(|e| StoreError::Invalid(format!("plan {id}: {e}")))
    })
    .transpose()
}

/// Every stored plan's header, newest first.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn list(conn: &Connection) -> Result<Vec<PlanHeader>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT id, created, title FROM plans ORDER BY created DESC, id DESC")
        .context("prepare plans")?;
    stmt.query_map([], |r| {
        Ok(PlanHeader {
            id: r.get(0)?,
            created: r.get(1)?,
            title: r.get(2)?,
        })
    })
    .context("run plans")?
    .collect::<Result<_, _>>()
    .context("read plans")
}

/// The stored plans made for a campaign (`request.campaign`), newest first.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Invalid`] if a stored plan
/// no longer reads.
pub fn for_campaign(conn: &Connection, campaign: &str) -> Result<Vec<Plan>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT id, body FROM plans ORDER BY created DESC, id DESC")
        .context("prepare campaign plans")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("run campaign plans")?
        .collect::<Result<_, _>>()
        .context("read campaign plans")?;
    let mut plans = Vec::new();
    for (id, body) in rows {
        // Plans are few (one per group and week at most): reading each is cheap.
        let plan: Plan = serde_json::from_str(&body)
            .map_err(|e| StoreError::Invalid(format!("plan {id}: {e}")))?;
        if plan.request.campaign.as_deref() == Some(campaign) {
            plans.push(plan);
        }
    }
    Ok(plans)
}
