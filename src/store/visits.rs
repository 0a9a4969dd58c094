//! The field visits of campaigns and their photos: a visit and the ledger changes its
//! findings make are written in one transaction, so that a finding never opens an
//! entry without its visit, nor a visit lands without the entries it changed.

use duckdb::{Connection, OptionalExt, params};

use super::ledger::{Updated, update_in};
use super::{QueryContext, StoreError, in_transaction};
use crate::domain::Crs;
use crate::domain::ledger::Entry;
use crate::domain::plan::TargetKind;
use crate::domain::visit::{Finding, Outcome, RawPosition, RecordedPosition, Visit};

/// A new id for a visit: `v-` and 16 random hex digits, so that nobody finds a visit
/// (it names a household) by counting.
#[must_use]
pub fn new_id() -> String {
    use rand::RngCore as _;
    format!("v-{:016x}", rand::rng().next_u64())
}

/// Stores a visit and the ledger updates its findings make (each `(base version,
/// entry as it becomes)`), all or nothing.
///
/// # Returns
/// [`Updated::Done`] with the last entry (or [`Updated::Missing`] when there was none)
/// when all is written; [`Updated::Stale`] with the entry that changed since it was
/// read, and then nothing is written.
///
/// # Errors
/// [`StoreError::Query`] if a statement fails; nothing is written then.
pub fn insert(
    conn: &Connection,
    visit: &Visit,
    updates: &[(i64, Entry)],
) -> Result<Updated, StoreError> {
    let failed = std::cell::RefCell::new(None);
    let findings = serde_json::to_string(&visit.findings)
        .map_err(|e| StoreError::Invalid(format!("findings cannot be stored: {e}")))?;
    let result = in_transaction(conn, |c| {
        let mut last = Updated::Missing;
        for (base, next) in updates {
            last = update_in(c, *base, next)?;
            if !matches!(last, Updated::Done(_)) {
                *failed.borrow_mut() = Some(last.clone());
                // An error rolls the visit back with the entries changed before.
                return Err(StoreError::Invalid("a ledger entry changed".into()));
            }
        }
        let p = visit.position;
        c.execute(
            "INSERT INTO visits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                 ?, ?, ?, ?, ?)",
            params![
                visit.id,
                visit.campaign_id,
                visit.plan_id,
                visit.group as i64,
                visit.group_name,
                visit.plan_day.map(|d| d as i64),
                visit.stop.map(|s| s as i64),
                visit.date,
                kind_code(visit.target_kind),
                visit.target_id,
                visit.target_label,
                visit.village_code,
                visit.outcome.code(),
                findings,
                visit.findings.len() as i64,
                visit.note,
                p.map(|p| p.raw.lon),
                p.map(|p| p.raw.lat),
                p.map(|p| p.raw.crs.code()),
                p.and_then(|p| p.raw.accuracy_m),
                p.map(|p| p.lon),
                p.map(|p| p.lat),
                visit.recorded_at,
                visit.recorded_by,
                visit.ledger_opened as i64
            ],
        )
        .context("insert visit")?;
        Ok(last)
    });
    match (result, failed.into_inner()) {
        (Err(_), Some(outcome)) => Ok(outcome),
        (other, _) => other,
    }
}

fn kind_code(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Household => "household",
        TargetKind::Village => "village",
    }
}

const COLUMNS: &str = "v.id, v.campaign_id, v.plan_id, v.group_no, v.group_name, v.plan_day, \
    v.stop_order, v.visit_date, v.target_kind, v.target_id, v.target_label, v.village_code, \
    v.outcome, v.findings, v.note, v.raw_lon, v.raw_lat, v.raw_crs, v.accuracy_m, v.lon, v.lat, \
    v.recorded_at, v.recorded_by, v.ledger_opened, p.visit_id IS NOT NULL";

const FROM: &str = "FROM visits v LEFT JOIN visit_photos p ON p.visit_id = v.id";

/// The text columns of a row that must be decoded after the row is read.
struct RawVisit {
    visit: Visit,
    kind: String,
    outcome: String,
    findings: String,
    crs: Option<String>,
    raw: Option<(f64, f64, Option<f64>, f64, f64)>,
}

fn visit_row(r: &duckdb::Row<'_>) -> duckdb::Result<RawVisit> {
    let raw_lon: Option<f64> = r.get(15)?;
    let raw_lat: Option<f64> = r.get(16)?;
    let lon: Option<f64> = r.get(19)?;
    let lat: Option<f64> = r.get(20)?;
    let raw = match (raw_lon, raw_lat, lon, lat) {
        (Some(x), Some(y), Some(wgs_x), Some(wgs_y)) => Some((x, y, r.get(18)?, wgs_x, wgs_y)),
        _ => None,
    };
    let count = |i: usize| -> duckdb::Result<Option<usize>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as usize))
    };
    Ok(RawVisit {
        visit: Visit {
            id: r.get(0)?,
            campaign_id: r.get(1)?,
            plan_id: r.get(2)?,
            group: count(3)?.unwrap_or(0),
            group_name: r.get(4)?,
            plan_day: count(5)?,
            stop: count(6)?,
            date: r.get(7)?,
            target_kind: TargetKind::Household,
            target_id: r.get(9)?,
            target_label: r.get(10)?,
            village_code: r.get(11)?,
            outcome: Outcome::Visited,
            findings: Vec::new(),
            note: r.get(14)?,
            position: None,
            recorded_at: r.get(21)?,
            recorded_by: r.get(22)?,
            ledger_opened: count(23)?.unwrap_or(0),
            has_photo: r.get(24)?,
        },
        kind: r.get(8)?,
        outcome: r.get(12)?,
        findings: r.get(13)?,
        crs: r.get(17)?,
        raw,
    })
}

fn decode(raw: RawVisit) -> Result<Visit, StoreError> {
    let mut v = raw.visit;
    let bad = |what: &str| StoreError::Invalid(format!("visit {}: stored {what} is unknown", v.id));
    v.target_kind = match raw.kind.as_str() {
        "household" => TargetKind::Household,
        "village" => TargetKind::Village,
        _ => return Err(bad("target kind")),
    };
    v.outcome = Outcome::from_code(&raw.outcome).ok_or_else(|| bad("outcome"))?;
    v.findings =
        serde_json::from_str::<Vec<Finding>>(&raw.findings).map_err(|_| bad("findings"))?;
    if let (Some((raw_lon, raw_lat, accuracy_m, lon, lat)), Some(crs)) = (raw.raw, raw.crs) {
        let crs = Crs::from_code(&crs).ok_or_else(|| bad("coordinate system"))?;
        v.position = Some(RecordedPosition {
            raw: RawPosition {
                lon: raw_lon,
                lat: raw_lat,
                crs,
                accuracy_m,
            },
            lon,
            lat,
        });
    }
    Ok(v)
}

/// Which visits of a campaign a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitFilter {
    /// Only inside these areas (codes); `None`: everywhere.
    pub areas: Option<Vec<String>>,
    /// Only this day, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Only from `date` to this day (inclusive), with `date` as the first.
    pub until: Option<String>,
    /// Only this group (its name).
    pub group_name: Option<String>,
    /// Only visits to this target (household number or village code).
    pub target_id: Option<String>,
}

/// The WHERE clause of a filter and its values.
fn filter_sql(campaign: Option<&str>, f: &VisitFilter) -> (String, Vec<String>) {
    let mut clauses = vec!["true".to_owned()];
    let mut values = Vec::new();
    if let Some(c) = campaign {
        clauses.push("v.campaign_id = ?".into());
        values.push(c.to_owned());
    }
    if let Some(areas) = &f.areas {
        if areas.is_empty() {
            clauses.push("false".into());
        } else {
            let any: Vec<&str> = areas
                .iter()
                .map(|_| "starts_with(v.village_code, ?)")
                .collect();
            clauses.push(format!("({})", any.join(" OR ")));
            values.extend(areas.iter().cloned());
        }
    }
    match (&f.date, &f.until) {
        (Some(d), Some(u)) => {
            clauses.push("v.visit_date BETWEEN ? AND ?".into());
            values.extend([d.clone(), u.clone()]);
        }
        (Some(d), None) => {
            clauses.push("v.visit_date = ?".into());
            values.push(d.clone());
        }
        (None, Some(u)) => {
            clauses.push("v.visit_date <= ?".into());
            values.push(u.clone());
        }
        (None, None) => {}
    }
    if let Some(g) = &f.group_name {
        clauses.push("v.group_name = ?".into());
        values.push(g.clone());
    }
    if let Some(t) = &f.target_id {
        clauses.push("v.target_id = ?".into());
        values.push(t.clone());
    }
    (format!("WHERE {}", clauses.join(" AND ")), values)
}

/// A page of a campaign's visits (`None`: of every campaign), newest first, and how
/// many match.
///
/// # Errors
/// [`StoreError::Query`] if the query fails; [`StoreError::Invalid`] for a stored row
/// that no longer reads.
pub fn list(
    conn: &Connection,
    campaign: Option<&str>,
    filter: &VisitFilter,
    limit: usize,
    offset: usize,
) -> Result<(i64, Vec<Visit>), StoreError> {
    let (sql, values) = filter_sql(campaign, filter);
    let refs: Vec<&dyn duckdb::ToSql> = values.iter().map(|v| v as &dyn duckdb::ToSql).collect();
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM visits v {sql}"),
            refs.as_slice(),
            |r| r.get(0),
        )
        .context("count visits")?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} {FROM} {sql}
             ORDER BY v.visit_date DESC, v.recorded_at DESC, v.id LIMIT {limit} OFFSET {offset}"
        ))
        .context("prepare visits")?;
    let rows: Vec<RawVisit> = stmt
        .query_map(refs.as_slice(), visit_row)
        .context("list visits")?
        .collect::<Result<_, _>>()
        .context("read visits")?;
    Ok((
        total,
        rows.into_iter().map(decode).collect::<Result<_, _>>()?,
    ))
}

/// One visit of a campaign.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn visit(conn: &Connection, campaign: &str, id: &str) -> Result<Option<Visit>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} {FROM} WHERE v.campaign_id = ? AND v.id = ?"),
        params![campaign, id],
        visit_row,
    )
    .optional()
    .context("read visit")?
    .map(decode)
    .transpose()
}

/// Attaches (or replaces) a visit's photo.
///
/// # Errors
/// [`StoreError::Query`] if the write fails.
pub fn put_photo(
    conn: &Connection,
    visit: &str,
    content_type: &str,
    bytes: &[u8],
    by: &str,
    at: &str,
) -> Result<(), StoreError> {
    in_transaction(conn, |c| {
        c.execute("DELETE FROM visit_photos WHERE visit_id = ?", [visit])
            .context("drop old photo")?;
        c.execute(
            "INSERT INTO visit_photos VALUES (?, ?, ?, ?, ?)",
            params![visit, content_type, bytes, at, by],
        )
        .context("store photo")?;
        Ok(())
    })
}

/// A visit's photo: its media type and bytes.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn photo(conn: &Connection, visit: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    conn.query_row(
        "SELECT content_type, bytes FROM visit_photos WHERE visit_id = ?",
        [visit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .context("read photo")
}

/// A change of a ledger entry's status, as the weekly figures count them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The village.
    pub village_code: String,
    /// The checklist item's position: with the village, the entry.
    pub position: u32,
    /// When (RFC 3339, UTC).
    pub changed_at: String,
    /// From what status code.
    pub old: Option<String>,
    /// To what status code.
    pub new: Option<String>,
}

/// Every status change of a campaign's ledger entries, oldest first.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn status_changes(conn: &Connection, campaign: &str) -> Result<Vec<StatusChange>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT village_code, position, changed_at, old_value, new_value FROM ledger_history
             WHERE campaign_id = ? AND field = 'status'
             ORDER BY changed_at, village_code, position, version",
        )
        .context("prepare status changes")?;
    stmt.query_map([campaign], |r| {
        Ok(StatusChange {
            village_code: r.get(0)?,
            position: r.get(1)?,
            changed_at: r.get(2)?,
            old: r.get(3)?,
            new: r.get(4)?,
        })
    })
    .context("run status changes")?
    .collect::<Result<_, _>>()
    .context("read status changes")
}

/// A household the demo plans visits to.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoHousehold {
    /// 户编号.
    pub household_no: String,
    /// Its village.
    pub village_code: String,
    /// Its township.
    pub township_code: String,
    /// 户主's name (the demo masks it before it goes into a plan).
    pub head_name: String,
    /// WGS-84 longitude.
    pub lon: f64,
    /// WGS-84 latitude.
    pub lat: f64,
    /// House safety grade (A–D, or 未鉴定).
    pub house_grade: String,
    /// Drinking water safe.
    pub water_safe: bool,
}

/// Up to `per_township` located households of each township from the builder's
/// staging table, by number (see `DatabaseBuilder::households_for_visits`).
pub(super) fn demo_households(
    conn: &Connection,
    townships: &[String],
    per_township: usize,
) -> Result<Vec<DemoHousehold>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT household_no, village_code, township_code, head_name, lon, lat, house_grade,
                    water_safe
             FROM households_stage WHERE township_code = ? AND lon IS NOT NULL
             ORDER BY household_no LIMIT ?",
        )
        .context("prepare demo households")?;
    for t in townships {
        let rows = stmt
            .query_map(params![t, per_township as i64], |r| {
                Ok(DemoHousehold {
                    household_no: r.get(0)?,
                    village_code: r.get(1)?,
                    township_code: r.get(2)?,
                    head_name: r.get(3)?,
                    lon: r.get(4)?,
                    lat: r.get(5)?,
                    house_grade: r.get(6)?,
                    water_safe: r.get(7)?,
                })
            })
            .context("run demo households")?;
        for row in rows {
            out.push(row.context("read demo household")?);
        }
    }
    Ok(out)
}
