//! Campaigns and their ledger entries: creation, listing, reading with history, and
//! updates that carry the version they were based on, so that two people editing one
//! entry never overwrite each other unseen.

use duckdb::{Connection, OptionalExt, params};

use super::{QueryContext, StoreError, in_transaction};
use crate::domain::ledger::{Campaign, Cycle, Entry, Signoff, Status, Template};

/// The six signature columns of an entry: who and when, for the village Party
/// secretary, the first secretary and the group leader.
fn signature_columns(e: &Entry) -> [Option<String>; 6] {
    let who = |s: &Option<Signoff>| s.as_ref().map(|s| s.who.clone());
    let at = |s: &Option<Signoff>| s.as_ref().map(|s| s.at.clone());
    [
        who(&e.secretary),
        at(&e.secretary),
        who(&e.first_secretary),
        at(&e.first_secretary),
        who(&e.group_leader),
        at(&e.group_leader),
    ]
}

/// Stores a new campaign and its entries (appended in bulk), all or nothing.
///
/// # Errors
/// [`StoreError::Invalid`] when a campaign with this id exists;
/// [`StoreError::Query`] if DuckDB refuses a row.
pub fn create_campaign(
    conn: &Connection,
    campaign: &Campaign,
    entries: &[Entry],
) -> Result<(), StoreError> {
    in_transaction(conn, |c| {
        let exists: i64 = c
            .query_row(
                "SELECT count(*) FROM campaigns WHERE id = ?",
                [&campaign.id],
                |r| r.get(0),
            )
            .context("look for the campaign")?;
        if exists > 0 {
            return Err(StoreError::Invalid(format!(
                "a campaign with id {:?} exists",
                campaign.id
            )));
        }
        c.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                campaign.id,
                campaign.name,
                campaign.template_id,
                campaign.area_code,
                campaign.starts,
                campaign.ends,
                campaign.cycle.code(),
                campaign.due_day
            ],
        )
        .context("insert campaign")?;
        let mut app = c
            .appender("ledger_entries")
            .context("open entry appender")?;
        for e in entries {
            let [s1, s1_at, s2, s2_at, s3, s3_at] = signature_columns(e);
            app.append_row(params![
                e.campaign_id,
                e.village_code,
                e.position,
                e.status.code(),
                e.problem,
                e.measure,
                e.deadline,
                e.responsible,
                e.result,
                s1,
                s1_at,
                s2,
                s2_at,
                s3,
                s3_at,
                e.notes,
                e.version,
                e.updated_at,
                e.updated_by
            ])
            .context("append entry")?;
        }
        app.flush().context("flush entries")
    })
}

fn campaign_row(r: &duckdb::Row<'_>) -> duckdb::Result<(Campaign, String)> {
    let cycle: String = r.get(6)?;
    Ok((
        Campaign {
            id: r.get(0)?,
            name: r.get(1)?,
            template_id: r.get(2)?,
            area_code: r.get(3)?,
            starts: r.get(4)?,
            ends: r.get(5)?,
            cycle: Cycle::Monthly,
            due_day: r.get(7)?,
        },
        cycle,
    ))
}

fn with_cycle((mut c, cycle): (Campaign, String)) -> Result<Campaign, StoreError> {
    c.cycle = Cycle::parse(&cycle)
        .ok_or_else(|| StoreError::Invalid(format!("stored cycle {cycle:?} is unknown")))?;
    Ok(c)
}

/// Every campaign, by id.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn campaigns(conn: &Connection) -> Result<Vec<Campaign>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT * FROM campaigns ORDER BY id")
        .context("prepare campaigns")?;
    let rows: Vec<(Campaign, String)> = stmt
        .query_map([], campaign_row)
        .context("list campaigns")?
        .collect::<Result<_, _>>()
        .context("read campaigns")?;
    rows.into_iter().map(with_cycle).collect()
}

/// One campaign.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn campaign(conn: &Connection, id: &str) -> Result<Option<Campaign>, StoreError> {
    conn.query_row("SELECT * FROM campaigns WHERE id = ?", [id], campaign_row)
        .optional()
        .context("read campaign")?
        .map(with_cycle)
        .transpose()
}

const ENTRY_COLUMNS: &str = "campaign_id, village_code, position, status, problem, measure, \
    deadline, responsible, result, secretary, secretary_at, first_secretary, \
    first_secretary_at, group_leader, group_leader_at, notes, version, updated_at, updated_by";

fn entry_row(r: &duckdb::Row<'_>) -> duckdb::Result<(Entry, String)> {
    let sign = |i: usize| -> duckdb::Result<Option<Signoff>> {
        let who: Option<String> = r.get(i)?;
        let at: Option<String> = r.get(i + 1)?;
        Ok(who.map(|who| Signoff {
            who,
            at: at.unwrap_or_default(),
        }))
    };
    Ok((
        Entry {
            campaign_id: r.get(0)?,
            village_code: r.get(1)?,
            position: r.get(2)?,
            status: Status::NotChecked,
            problem: r.get(4)?,
            measure: r.get(5)?,
            deadline: r.get(6)?,
            responsible: r.get(7)?,
            result: r.get(8)?,
            secretary: sign(9)?,
            first_secretary: sign(11)?,
            group_leader: sign(13)?,
            notes: r.get(15)?,
            version: r.get(16)?,
            updated_at: r.get(17)?,
            updated_by: r.get(18)?,
        },
        r.get(3)?,
    ))
}

fn with_status((mut e, status): (Entry, String)) -> Result<Entry, StoreError> {
    e.status = Status::parse(&status)
        .ok_or_else(|| StoreError::Invalid(format!("stored status {status:?} is unknown")))?;
    Ok(e)
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Only villages whose code starts with this (a township or a village).
    pub within: Option<String>,
    /// Only these statuses; empty: all.
    pub statuses: Vec<Status>,
    /// Only these items (a category, resolved to positions); `None`: all.
    pub positions: Option<Vec<u32>>,
    /// Only entries overdue on this day (`YYYY-MM-DD`).
    pub overdue_on: Option<String>,
}

/// The WHERE clause of a filter; every value in it is checked or a closed code.
fn filter_sql(f: &EntryFilter) -> (String, Vec<String>) {
    let mut clauses = vec!["campaign_id = ?".to_owned()];
    let mut params = Vec::new();
    if let Some(w) = &f.within {
        clauses.push("starts_with(village_code, ?)".into());
        params.push(w.clone());
    }
    if !f.statuses.is_empty() {
        let list: Vec<String> = f
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.code()))
            .collect();
        clauses.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(p) = &f.positions {
        let list: Vec<String> = p.iter().map(u32::to_string).collect();
        clauses.push(if list.is_empty() {
            "false".into()
        } else {
            format!("position IN ({})", list.join(", "))
        });
    }
    if let Some(day) = &f.overdue_on {
        clauses.push("status IN ('problem', 'rectifying') AND deadline < ?".into());
        params.push(day.clone());
    }
    (format!("WHERE {}", clauses.join(" AND ")), params)
}

/// A page of a campaign's entries in village and item order, and how many match.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn entries(
    conn: &Connection,
    campaign: &str,
    filter: &EntryFilter,
    limit: usize,
    offset: usize,
) -> Result<(i64, Vec<Entry>), StoreError> {
    let (sql, extra) = filter_sql(filter);
    let mut values: Vec<&dyn duckdb::ToSql> = vec![&campaign];
    values.extend(extra.iter().map(|v| v as &dyn duckdb::ToSql));
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM ledger_entries {sql}"),
            values.as_slice(),
            |r| r.get(0),
        )
        .context("count entries")?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries {sql}
             ORDER BY village_code, position LIMIT {limit} OFFSET {offset}"
        ))
        .context("prepare entries")?;
    let rows: Vec<(Entry, String)> = stmt
        .query_map(values.as_slice(), entry_row)
        .context("list entries")?
        .collect::<Result<_, _>>()
        .context("read entries")?;
    Ok((
        total,
        rows.into_iter()
            .map(with_status)
            .collect::<Result<_, _>>()?,
    ))
}

/// One entry.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn entry(
    conn: &Connection,
    campaign: &str,
    village: &str,
    position: u32,
) -> Result<Option<Entry>, StoreError> {
    conn.query_row(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries
             WHERE campaign_id = ? AND village_code = ? AND position = ?"
        ),
        params![campaign, village, position],
        entry_row,
    )
    .optional()
    .context("read entry")?
    .map(with_status)
    .transpose()
}

/// One change of one field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    /// The version the change made.
    pub version: i64,
    /// When (RFC 3339).
    pub changed_at: String,
    /// Who.
    pub changed_by: String,
    /// Which field.
    pub field: String,
    /// From what.
    pub old_value: Option<String>,
    /// To what.
    pub new_value: Option<String>,
}

/// The changes of an entry, oldest first.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn history(
    conn: &Connection,
    campaign: &str,
    village: &str,
    position: u32,
) -> Result<Vec<Change>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT version, changed_at, changed_by, field, old_value, new_value
             FROM ledger_history WHERE campaign_id = ? AND village_code = ? AND position = ?
             ORDER BY version, field",
        )
        .context("prepare history")?;
    stmt.query_map(params![campaign, village, position], |r| {
        Ok(Change {
            version: r.get(0)?,
            changed_at: r.get(1)?,
            changed_by: r.get(2)?,
            field: r.get(3)?,
            old_value: r.get(4)?,
            new_value: r.get(5)?,
        })
    })
    .context("read history")?
    .collect::<Result<_, _>>()
    .context("read history rows")
}

/// What an update found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// Stored: the entry as it now is.
    Done(Entry),
    /// The entry changed since the version the update was based on: nothing was
    /// written; the entry as it now is.
    Stale(Entry),
    /// No such entry.
    Missing,
}

/// The text of each field of an entry, for the history.
fn fields(e: &Entry) -> Vec<(&'static str, Option<String>)> {
    let sign = |s: &Option<Signoff>| s.as_ref().map(|s| format!("{} {}", s.who, s.at));
    vec![
        ("status", Some(e.status.code().to_owned())),
        ("problem", e.problem.clone()),
        ("measure", e.measure.clone()),
        ("deadline", e.deadline.clone()),
        ("responsible", e.responsible.clone()),
        ("result", e.result.clone()),
        ("secretary", sign(&e.secretary)),
        ("first_secretary", sign(&e.first_secretary)),
        ("group_leader", sign(&e.group_leader)),
        ("notes", e.notes.clone()),
    ]
}

/// Replaces an entry with `next` if it is still at `base_version`, bumping the
/// version and recording one history row per changed field, in one transaction.
///
/// # Errors
/// [`StoreError::Query`] if a statement fails; nothing is written then.
pub fn update(conn: &Connection, base_version: i64, next: &Entry) -> Result<Updated, StoreError> {
    in_transaction(conn, |c| update_in(c, base_version, next))
}

/// Applies several updates all or nothing: if any is stale or missing, nothing is
/// written and that outcome is returned.
///
/// # Errors
/// [`StoreError::Query`] if a statement fails; nothing is written then.
pub fn update_all(conn: &Connection, updates: &[(i64, Entry)]) -> Result<Updated, StoreError> {
    let failed = std::cell::RefCell::new(None);
    let result = in_transaction(conn, |c| {
        let mut last = Updated::Missing;
        for (base, next) in updates {
            last = update_in(c, *base, next)?;
            if !matches!(last, Updated::Done(_)) {
                *failed.borrow_mut() = Some(last.clone());
                // An error rolls the whole import back.
                return Err(StoreError::Invalid("an entry of the import changed".into()));
            }
        }
        Ok(last)
    });
    match (result, failed.into_inner()) {
        (Err(_), Some(outcome)) => Ok(outcome),
        (other, _) => other,
    }
}

/// One update inside the caller's transaction (see [`update`]).
pub(super) fn update_in(
    c: &Connection,
    base_version: i64,
    next: &Entry,
) -> Result<Updated, StoreError> {
    {
        let Some(current) = entry(c, &next.campaign_id, &next.village_code, next.position)? else {
            return Ok(Updated::Missing);
        };
        if current.version != base_version {
            return Ok(Updated::Stale(current));
        }
        let mut stored = next.clone();
        stored.version = current.version + 1;
        let [s1, s1_at, s2, s2_at, s3, s3_at] = signature_columns(&stored);
        c.execute(
            "UPDATE ledger_entries SET status = ?, problem = ?, measure = ?, deadline = ?,
                 responsible = ?, result = ?, secretary = ?, secretary_at = ?,
                 first_secretary = ?, first_secretary_at = ?, group_leader = ?,
                 group_leader_at = ?, notes = ?, version = ?, updated_at = ?, updated_by = ?
             WHERE campaign_id = ? AND village_code = ? AND position = ?",
            params![
                stored.status.code(),
                stored.problem,
                stored.measure,
                stored.deadline,
                stored.responsible,
                stored.result,
                s1,
                s1_at,
                s2,
                s2_at,
                s3,
                s3_at,
                stored.notes,
                stored.version,
                stored.updated_at,
                stored.updated_by,
                stored.campaign_id,
                stored.village_code,
                stored.position
            ],
        )
        .context("update entry")?;
        for ((field, old), (_, new)) in fields(&current).into_iter().zip(fields(&stored)) {
            if old != new {
                c.execute(
                    "INSERT INTO ledger_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![
                        stored.campaign_id,
                        stored.village_code,
                        stored.position,
                        stored.version,
                        stored.updated_at,
                        stored.updated_by,
                        field,
                        old,
                        new
                    ],
                )
                .context("record history")?;
            }
        }
        Ok(Updated::Done(stored))
    }
}

/// Entries per status of a campaign, optionally inside an area.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn status_counts(
    conn: &Connection,
    campaign: &str,
    within: Option<&str>,
) -> Result<Vec<(Status, i64)>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT status, count(*) FROM ledger_entries
             WHERE campaign_id = ? AND starts_with(village_code, coalesce(?, ''))
             GROUP BY status",
        )
        .context("prepare status counts")?;
    let rows: Vec<(String, i64)> = stmt
        .query_map(params![campaign, within], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("count statuses")?
        .collect::<Result<_, _>>()
        .context("read status counts")?;
    Ok(Status::ALL
        .iter()
        .map(|s| {
            (
                *s,
                rows.iter()
                    .find(|(c, _)| c == s.code())
                    .map_or(0, |(_, n)| *n),
            )
        })
        .collect())
}

/// Stores a template a user added.
///
/// # Errors
/// [`StoreError::Invalid`] when a stored template has this id;
/// [`StoreError::Query`] if DuckDB refuses it.
pub fn save_template(conn: &Connection, template: &Template) -> Result<(), StoreError> {
    let _one_writer = super::write_lock();
    let body = serde_json::to_string(template)
        .map_err(|e| StoreError::Invalid(format!("template cannot be stored: {e}")))?;
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM checklist_templates WHERE id = ?",
            [&template.id],
            |r| r.get(0),
        )
        .context("look for the template")?;
    if exists > 0 {
        return Err(StoreError::Invalid(format!(
            "a template with id {:?} exists",
            template.id
        )));
    }
    conn.execute(
        "INSERT INTO checklist_templates VALUES (?, ?)",
        params![template.id, body],
    )
    .context("insert template")?;
    Ok(())
}

/// Replaces a template users added (its name, region or units were edited).
///
/// # Errors
/// [`StoreError::Invalid`] when no stored template has its id (a built-in one, or none);
/// [`StoreError::Query`] when the store fails.
pub fn replace_template(conn: &Connection, template: &Template) -> Result<(), StoreError> {
    let _one_writer = super::write_lock();
    let body = serde_json::to_string(template)
        .map_err(|e| StoreError::Invalid(format!("template cannot be stored: {e}")))?;
    let changed = conn
        .execute(
            "UPDATE checklist_templates SET body = ? WHERE id = ?",
            params![body, template.id],
        )
        .context("update template")?;
    if changed == 0 {
        return Err(StoreError::Invalid(format!(
            "no stored template {:?}",
            template.id
        )));
    }
    Ok(())
}

/// The templates users added, by id.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Invalid`] for a stored
/// body that no longer reads as a template.
pub fn stored_templates(conn: &Connection) -> Result<Vec<Template>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT id, body FROM checklist_templates ORDER BY id")
        .context("prepare templates")?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("list templates")?
        .collect::<Result<_, _>>()
        .context("read templates")?;
    rows.into_iter()
        .map(|(id, body)| {
            serde_json::from_str(&body).map_err(|e| {
                StoreError::Invalid(format!("stored template {id:?} is unreadable: {e}"))
            })
        })
        .collect()
}

/// Common table expressions giving `entries`: every entry of each village's latest
/// campaign (by end date, then id) with the day overdue is judged on, `as_of` (the one
/// parameter, or the campaign's end if earlier). The ledger indicators and the planner's
/// village targets both count from it.
pub(crate) const LATEST_ENTRIES: &str = "c AS (
        SELECT id, ends, least(?::VARCHAR, ends) AS as_of FROM campaigns
    ), latest AS (
        SELECT l.village_code, arg_max(l.campaign_id, c.ends || c.id) AS campaign_id
        FROM ledger_entries l JOIN c ON l.campaign_id = c.id
        GROUP BY l.village_code
    ), entries AS (
        SELECT l.*, c.as_of FROM ledger_entries l
        JOIN latest USING (village_code, campaign_id)
        JOIN c ON l.campaign_id = c.id
    )";

/// A checklist item still open (问题 or 整改中) in a village's latest campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// The village.
    pub village_code: String,
    /// The item's number in its checklist.
    pub position: u32,
    /// The problem found, as written.
    pub problem: Option<String>,
    /// Whether its deadline has passed (on `as_of`, or the campaign's end if earlier).
    pub overdue: bool,
}

/// Every open item of each village's latest campaign (by end date, as the ledger
/// indicators count them), in village and item order.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn open_items(conn: &Connection, as_of: &str) -> Result<Vec<OpenItem>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "WITH {LATEST_ENTRIES}
             SELECT village_code, position, problem, coalesce(deadline < as_of, false)
             FROM entries
             WHERE status IN ('problem', 'rectifying')
             ORDER BY village_code, position"
        ))
        .context("prepare open items")?;
    stmt.query_map([as_of], |r| {
        Ok(OpenItem {
            village_code: r.get(0)?,
            position: r.get(1)?,
            problem: r.get(2)?,
            overdue: r.get(3)?,
        })
    })
    .context("run open items")?
    .collect::<Result<_, _>>()
    .context("read open items")
}
