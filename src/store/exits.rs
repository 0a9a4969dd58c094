//! Poverty-village exit (贫困村退出) and households that should be included (应纳未纳):
//! the village information form's values (贫困村信息采集表), the standard's items judged
//! per poverty village in SQL, and the screening of persons on the departments' rolls
//! whom the registry does not hold.
//!
//! # Pipeline
//! 1. Whenever the service loads a data version, [`install`] writes the exit standard's
//!    items and the monitoring lines of `data/exit_standard.toml` into the database, so
//!    that every query below (and the village indicators of `store::indicators`) judges
//!    by the standard in force.
//! 2. A form import writes `village_form_values` for the villages of its file in one
//!    transaction, keeping the values it replaced for an undo ([`commit_form`]).
//! 3. [`EXIT_ITEMS`] judges every poverty village by every item (one row each: the
//!    value, whether it passes, or NULL for no data); [`CANDIDATES`] screens the
//!    rolls' persons not in the registry; both run live, on each request.
//! 4. A township's decision on a candidate is appended to `inclusion_decisions`; the
//!    latest one is in force and every one is kept ([`decide`], [`decisions`]).

use duckdb::{Connection, OptionalExt, params};

use super::{QueryContext, StoreError, in_transaction};
use crate::domain::exits::{ExitStandard, POVERTY_INCIDENCE};

/// Writes the standard's items and monitoring lines in force, replacing those before.
///
/// # Errors
/// [`StoreError::Query`] when the store fails; nothing changes then.
pub fn install(conn: &Connection, standard: &ExitStandard) -> Result<(), StoreError> {
    in_transaction(conn, |c| {
        c.execute_batch("DELETE FROM exit_standard_items; DELETE FROM monitoring_lines;")
            .context("clear the exit standard")?;
        let mut items = c
            .appender("exit_standard_items")
            .context("open the standard appender")?;
        for (i, item) in standard.items.iter().enumerate() {
            let field_type = (item.measure != POVERTY_INCIDENCE)
                .then(|| standard.field(&item.measure))
                .flatten()
                .map(|f| {
                    serde_json::to_value(f.field_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                });
            items
                .append_row(params![
                    u32::try_from(i + 1).unwrap_or(u32::MAX),
                    item.id,
                    item.name_zh,
                    item.measure,
                    item.op.symbol(),
                    item.threshold,
                    field_type
                ])
                .context("write a standard item")?;
        }
        items.flush().context("write the standard")?;
        let mut lines = c
            .appender("monitoring_lines")
            .context("open the monitoring line appender")?;
        for l in &standard.monitoring_lines {
            lines
                .append_row(params![l.year, l.region_code, l.yuan_per_capita])
                .context("write a monitoring line")?;
        }
        lines.flush().context("write the monitoring lines")
    })
}

/// One village's row of a form as an import writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRow {
    /// The village's 12-digit code.
    pub village_code: String,
    /// The file (or `file!sheet`) it came from.
    pub file: String,
    /// The row as Excel shows it.
    pub row: u32,
    /// (field id, value): yes/no as 1 or 0, yuan, shares within 0–1, counts.
    pub values: Vec<(String, f64)>,
}

/// Replaces the form values of the villages in `rows` in one transaction, keeping the
/// values replaced under `id`, and records the import. Returns the new data version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used; [`StoreError::Query`] when the
/// store fails. Nothing is written then.
pub fn commit_form(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    rows: &[FormRow],
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = super::imports::begin(c, id)?;
        {
            let mut villages = c
                .appender("village_form_imports")
                .context("open the form import appender")?;
            for r in rows {
                villages
                    .append_row(params![id, r.village_code])
                    .context("record a village of the form")?;
            }
            villages.flush().context("record the form's villages")?;
        }
        c.execute(
            "INSERT INTO village_form_history SELECT ?, v.* FROM village_form_values v
             WHERE v.village_code IN (SELECT village_code FROM village_form_imports
                                      WHERE import_id = ?)",
            params![id, id],
        )
        .context("keep the previous form values")?;
        c.execute(
            "DELETE FROM village_form_values WHERE village_code IN
                 (SELECT village_code FROM village_form_imports WHERE import_id = ?)",
            [id],
        )
        .context("remove the previous form values")?;
        append_form(c, rows)?;
        super::imports::finish(
            c,
            (id, "village_form", source, committed_at),
            report_json,
            previous,
            &[],
        )
    })
}

/// Appends form values, outside any transaction of its own: the demo build and
/// [`commit_form`] call it inside theirs.
///
/// # Errors
/// [`StoreError::Query`] when DuckDB refuses a row.
pub fn append_form(c: &Connection, rows: &[FormRow]) -> Result<(), StoreError> {
    let mut app = c
        .appender("village_form_values")
        .context("open the form appender")?;
    for r in rows {
        for (field, value) in &r.values {
            app.append_row(params![r.village_code, field, value, r.file, r.row])
                .context("append a form value")?;
        }
    }
    app.flush().context("write the form values")
}

/// Puts back the form values a form import replaced (inside the undo's transaction).
/// Returns the villages restored; 0 and nothing done for another kind of import.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(super) fn restore_form(c: &Connection, id: &str) -> Result<usize, StoreError> {
    c.execute(
        "DELETE FROM village_form_values WHERE village_code IN
             (SELECT village_code FROM village_form_imports WHERE import_id = ?)",
        [id],
    )
    .context("remove the imported form values")?;
    c.execute(
        "INSERT INTO village_form_values SELECT * EXCLUDE (import_id) FROM village_form_history
         WHERE import_id = ?",
        [id],
    )
    .context("restore the previous form values")?;
    c.query_row(
        "SELECT count(*) FROM village_form_imports WHERE import_id = ?",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
    .context("count the restored villages")
}

/// Every poverty village judged by every item of the standard in force, one row each:
/// `village_code, position, item, value, passed, poor_persons, population,
/// population_from_form, file, row`. `value` is NULL (and `passed` NULL) when the
/// form or the registry has no data for it; the poverty incidence divides the persons
/// of 未脱贫户 (category `poor`) registered in the village by the form's rural
/// population, or, without one, by every person registered in the village.
pub const EXIT_ITEMS: &str = "
WITH pv AS (
    SELECT code AS village_code FROM areas WHERE poverty_village AND level = 'village'
), reg AS (
    SELECT h.village_code, count(*) FILTER (WHERE h.category = 'poor') AS poor_persons,
           count(*) AS persons
    FROM households h JOIN members m ON m.household_no = h.household_no
    WHERE h.village_code IN (SELECT village_code FROM pv)
    GROUP BY h.village_code
), measured AS (
    SELECT pv.village_code, s.position, s.id AS item, s.measure, s.op, s.threshold,
           CASE WHEN s.measure = 'poverty_incidence' THEN
                CASE WHEN coalesce(pop.value, reg.persons) > 0
                     THEN coalesce(reg.poor_persons, 0) / coalesce(pop.value, reg.persons) END
                ELSE f.value END AS value,
           coalesce(reg.poor_persons, 0) AS poor_persons,
           coalesce(pop.value, reg.persons) AS population,
           pop.value IS NOT NULL AS population_from_form,
           coalesce(f.file, pop.file) AS file, coalesce(f.row, pop.row) AS row
    FROM pv CROSS JOIN exit_standard_items s
    LEFT JOIN reg ON reg.village_code = pv.village_code
    LEFT JOIN village_form_values pop
           ON pop.village_code = pv.village_code AND pop.field = 'rural_population'
    LEFT JOIN village_form_values f
           ON f.village_code = pv.village_code AND f.field = s.measure
)
SELECT village_code, position, item, value,
       CASE WHEN value IS NULL THEN NULL
            WHEN op = '<' THEN value < threshold
            WHEN op = '<=' THEN value <= threshold
            WHEN op = '>' THEN value > threshold
            WHEN op = '>=' THEN value >= threshold
            ELSE abs(value - threshold) < 1e-9 END AS passed,
       poor_persons, population::DOUBLE AS population, population_from_form, file, row
FROM measured
";

/// One item of one poverty village, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedItem {
    /// The village.
    pub village_code: String,
    /// The item's id.
    pub item: String,
    /// The value measured; `None`: no data.
    pub value: Option<f64>,
    /// Whether it passes; `None`: no data.
    pub passed: Option<bool>,
    /// Persons of 未脱贫户 registered in the village.
    pub poor_persons: i64,
    /// The rural population the incidence divides by, if any.
    pub population: Option<f64>,
    /// Whether that population is the form's (else the registry's persons).
    pub population_from_form: bool,
    /// The form's file and row the value came from.
    pub source: Option<(String, u32)>,
}

/// Every item of every poverty village inside `within` (a code prefix), in village and
/// item order.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn judged(conn: &Connection, within: &str) -> Result<Vec<JudgedItem>, StoreError> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT * FROM ({EXIT_ITEMS}) WHERE starts_with(village_code, ?)
             ORDER BY village_code, position"
        ))
        .context("prepare the exit verdicts")?;
    let rows = statement
        .query_map([within], |r| {
            let file: Option<String> = r.get(8)?;
            let row: Option<u32> = r.get(9)?;
            Ok(JudgedItem {
                village_code: r.get(0)?,
                item: r.get(2)?,
                value: r.get(3)?,
                passed: r.get(4)?,
                poor_persons: r.get(5)?,
                population: r.get(6)?,
                population_from_form: r.get(7)?,
                source: file.zip(row),
            })
        })
        .context("run the exit verdicts")?;
    rows.collect::<Result<_, _>>()
        .context("read the exit verdicts")
}

/// Roll kinds whose persons the screening reads: 民政 (低保, 特困), 残联, 住建 and the
/// general rural households' file (一般农户).
pub const SCREENED_KINDS: &[&str] = &["civil", "disability", "housing", "general"];

/// The screening for households that should be included (应纳未纳), one row per person
/// (ID number and county) of the screened rolls whom no registered member matches:
/// `candidate, county_code, village_code, village_text, id_number, name, subsistence,
/// extreme, disabled, illness, dangerous_house, income, line, food_clothing, dropout,
/// uninsured, general_house, water, general, kinds, decision, decision_reason,
/// decided_by, decided_at`. A person is a candidate when vulnerable (低保, 特困,
/// disabled, serious illness, or a C/D house whose renovation is not accepted) and
/// either under the monitoring line, with a problem of 两不愁三保障 or water, or of
/// unknown income. `candidate` is a salted hash: never the ID number.
pub const CANDIDATES: &str = "
WITH salt AS (
    SELECT coalesce(max(value), '') AS s FROM meta WHERE key = 'crosscheck_salt'
), r AS (
    SELECT r.seq, r.roll_kind, r.county_code, r.id_number, r.name,
           max(v.value) FILTER (WHERE v.field = 'relief') AS relief,
           max(v.value) FILTER (WHERE v.field = 'grade') AS grade,
           max(v.value) FILTER (WHERE v.field = 'accepted') AS accepted,
           max(v.value) FILTER (WHERE v.field = 'village') AS village,
           max(v.value) FILTER (WHERE v.field = 'township') AS township,
           max(v.value) FILTER (WHERE v.field = 'income') AS income,
           max(v.value) FILTER (WHERE v.field = 'food') AS food,
           max(v.value) FILTER (WHERE v.field = 'clothing') AS clothing,
           max(v.value) FILTER (WHERE v.field = 'dropout') AS dropout,
           max(v.value) FILTER (WHERE v.field = 'insured') AS insured,
           max(v.value) FILTER (WHERE v.field = 'house_grade') AS house_grade,
           max(v.value) FILTER (WHERE v.field = 'water_safe') AS water_safe,
           max(v.value) FILTER (WHERE v.field = 'illness') AS illness
    FROM roll_rows r LEFT JOIN roll_values v ON v.seq = r.seq
    WHERE r.roll_kind IN ('civil', 'disability', 'housing', 'general')
      AND r.id_number IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id_number = r.id_number)
    GROUP BY r.seq, r.roll_kind, r.county_code, r.id_number, r.name
), names AS (
    SELECT v.code, v.name, t.name AS township_name, substr(v.code, 1, 6) AS county
    FROM areas v LEFT JOIN areas t ON t.code = v.parent_code
    WHERE v.level IN ('village', 'community')
), placed AS (
    SELECT r.*,
           CASE WHEN r.village IN (SELECT code FROM names WHERE county = r.county_code)
                THEN r.village
                ELSE (SELECT CASE WHEN count(*) = 1 THEN min(n.code) END FROM names n
                      WHERE n.county = r.county_code AND n.name = r.village
                        AND (r.township IS NULL OR n.township_name = r.township))
           END AS village_code
    FROM r
), c AS (
    SELECT county_code, id_number, min(name) AS name,
           bool_or(roll_kind = 'civil' AND relief = 'subsistence') AS subsistence,
           bool_or(roll_kind = 'civil' AND relief = 'extreme') AS extreme,
           bool_or(roll_kind = 'disability') AS disabled,
           bool_or(roll_kind = 'general' AND illness = 'yes') AS illness,
           bool_or(roll_kind = 'housing' AND grade IN ('C', 'D')
                   AND accepted IS DISTINCT FROM 'yes') AS dangerous_house,
           min(TRY_CAST(income AS DOUBLE)) FILTER (WHERE roll_kind = 'general') AS income,
           bool_or(roll_kind = 'general' AND (food = 'no' OR clothing = 'no')) AS food_clothing,
           bool_or(roll_kind = 'general' AND dropout = 'yes') AS dropout,
           bool_or(roll_kind = 'general' AND insured = 'no') AS uninsured,
           bool_or(roll_kind = 'general' AND house_grade IN ('C', 'D')) AS general_house,
           bool_or(roll_kind = 'general' AND water_safe = 'no') AS water,
           bool_or(roll_kind = 'general') AS general,
           coalesce(min(village_code) FILTER (WHERE roll_kind = 'general'),
                    min(village_code)) AS village_code,
           min(village) FILTER (WHERE village IS NOT NULL) AS village_text,
           string_agg(DISTINCT roll_kind, ',' ORDER BY roll_kind) AS kinds
    FROM placed GROUP BY county_code, id_number
), line AS (
    SELECT k.county_code,
           arg_max(l.yuan_per_capita,
                   length(rtrim(l.region_code, '0')) * 10000 + l.year) AS line
    FROM (SELECT DISTINCT county_code FROM c) k
    JOIN monitoring_lines l ON starts_with(k.county_code, rtrim(l.region_code, '0'))
    GROUP BY k.county_code
), d AS (
    SELECT candidate, arg_max(decision, seq) AS decision, arg_max(reason, seq) AS reason,
           arg_max(decided_by, seq) AS decided_by, arg_max(decided_at, seq) AS decided_at
    FROM inclusion_decisions GROUP BY candidate
), screened AS (
    SELECT 'c-' || substr(sha256((SELECT s FROM salt) || chr(31) || c.county_code
                                 || chr(31) || c.id_number), 1, 16) AS candidate,
           c.*, line.line
    FROM c LEFT JOIN line USING (county_code)
    WHERE (subsistence OR extreme OR disabled OR illness OR dangerous_house)
      AND (income IS NULL OR line.line IS NULL OR income < line.line
           OR food_clothing OR dropout OR uninsured OR general_house OR water
           OR dangerous_house)
)
SELECT s.candidate, s.county_code, s.village_code, s.village_text, s.id_number, s.name,
       s.subsistence, s.extreme, s.disabled, s.illness, s.dangerous_house, s.income, s.line,
       s.food_clothing, s.dropout, s.uninsured, s.general_house, s.water, s.general, s.kinds,
       d.decision, d.reason, d.decided_by, d.decided_at
FROM screened s LEFT JOIN d ON d.candidate = s.candidate
";

/// One person the screening found.
#[expect(
    clippy::struct_excessive_bools,
    reason = "one yes/no per vulnerability and per problem the screening reads"
)]
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The candidate's id (a salted hash, no ID number in it).
    pub id: String,
    /// The county whose rolls name the person.
    pub county_code: String,
    /// The village the rolls place the person in, if it could be resolved.
    pub village_code: Option<String>,
    /// The village as the roll wrote it, if any (for one not resolved).
    pub village_text: Option<String>,
    /// 证件号码 (sensitive: the API masks it).
    pub id_number: String,
    /// The name as a roll wrote it (sensitive).
    pub name: Option<String>,
    /// 低保.
    pub subsistence: bool,
    /// 特困.
    pub extreme: bool,
    /// On the disabled persons' roll.
    pub disabled: bool,
    /// A serious illness (大病) in the household (general households' file).
    pub illness: bool,
    /// A C/D house whose renovation is not accepted (住建's roll).
    pub dangerous_house: bool,
    /// Per-capita income (general households' file), if known.
    pub income: Option<f64>,
    /// The monitoring line in force for the county, if any.
    pub line: Option<f64>,
    /// 愁吃 or 愁穿.
    pub food_clothing: bool,
    /// A child out of school.
    pub dropout: bool,
    /// A member not insured.
    pub uninsured: bool,
    /// A C/D house by the general households' file.
    pub general_house: bool,
    /// Unsafe water.
    pub water: bool,
    /// On the general households' file.
    pub general: bool,
    /// The roll kinds that name the person, joined by `,`.
    pub kinds: String,
    /// The decision in force, if any: (decision, reason, by, at).
    pub decision: Option<Decision>,
}

/// A township's decision on a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `include` (纳入) or `exclude` (不纳入).
    pub decision: String,
    /// Why, as written.
    pub reason: String,
    /// Who decided (the signed-in account).
    pub by: String,
    /// When (UTC, RFC 3339).
    pub at: String,
}

/// Every candidate inside `within` (a code prefix of the village, or of the county for
/// persons whose village could not be resolved), in village and candidate order.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn candidates(conn: &Connection, within: &str) -> Result<Vec<Candidate>, StoreError> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT * FROM ({CANDIDATES})
             WHERE starts_with(coalesce(village_code, county_code), ?)
             ORDER BY village_code NULLS LAST, candidate"
        ))
        .context("prepare the inclusion screening")?;
    let rows = statement
        .query_map([within], |r| {
            let decision: Option<String> = r.get(20)?;
            Ok(Candidate {
                id: r.get(0)?,
                county_code: r.get(1)?,
                village_code: r.get(2)?,
                village_text: r.get(3)?,
                id_number: r.get(4)?,
                name: r.get(5)?,
                subsistence: r.get(6)?,
                extreme: r.get(7)?,
                disabled: r.get(8)?,
                illness: r.get(9)?,
                dangerous_house: r.get(10)?,
                income: r.get(11)?,
                line: r.get(12)?,
                food_clothing: r.get(13)?,
                dropout: r.get(14)?,
                uninsured: r.get(15)?,
                general_house: r.get(16)?,
                water: r.get(17)?,
                general: r.get(18)?,
                kinds: r.get(19)?,
                decision: match decision {
                    Some(decision) => Some(Decision {
                        decision,
                        reason: r.get(21)?,
                        by: r.get(22)?,
                        at: r.get(23)?,
                    }),
                    None => None,
                },
            })
        })
        .context("run the inclusion screening")?;
    rows.collect::<Result<_, _>>()
        .context("read the inclusion screening")
}

/// Appends a decision on a candidate (the history keeps every one).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn decide(
    conn: &Connection,
    candidate: &str,
    (decision, reason): (&str, &str),
    (by, at): (&str, &str),
) -> Result<(), StoreError> {
    in_transaction(conn, |c| {
        c.execute(
            "INSERT INTO inclusion_decisions
             SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ? FROM inclusion_decisions",
            params![candidate, decision, reason, by, at],
        )
        .context("record a decision")?;
        Ok(())
    })
}

/// Every decision on a candidate, oldest first.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn decisions(conn: &Connection, candidate: &str) -> Result<Vec<Decision>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT decision, reason, decided_by, decided_at FROM inclusion_decisions
             WHERE candidate = ? ORDER BY seq",
        )
        .context("prepare the decisions")?;
    let rows = statement
        .query_map([candidate], |r| {
            Ok(Decision {
                decision: r.get(0)?,
                reason: r.get(1)?,
                by: r.get(2)?,
                at: r.get(3)?,
            })
        })
        .context("read the decisions")?;
    rows.collect::<Result<_, _>>().context("read the decisions")
}

/// The village rows the indicators `exit_failing_items` and `inclusion_candidates`
/// count (`store::indicators::ledger_stats` adds them to the ledger's): `village_code,
/// source ('exit' or 'inclusion'), passed, decision`.
#[must_use]
pub fn village_rows_sql(exit: bool, inclusion: bool) -> String {
    let mut parts = Vec::new();
    if exit {
        parts.push(format!(
            "SELECT village_code, 'exit' AS source, passed, NULL::VARCHAR AS decision
             FROM ({EXIT_ITEMS})"
        ));
    }
    if inclusion {
        parts.push(format!(
            "SELECT village_code, 'inclusion', NULL::BOOLEAN, decision FROM ({CANDIDATES})
             WHERE village_code IS NOT NULL"
        ));
    }
    parts.join(" UNION ALL ")
}

/// The items the demo planted to fail: (village, item), sorted.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn planted(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn
        .prepare("SELECT village_code, item FROM demo_exit_flaws ORDER BY 1, 2")
        .context("read the planted exit failures")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("read the planted exit failures")?;
    rows.collect::<Result<_, _>>()
        .context("read the planted exit failures")
}

/// Records the items the demo planted to fail.
///
/// # Errors
/// [`StoreError::Query`] when DuckDB refuses a row.
pub fn record_planted(c: &Connection, planted: &[(String, String)]) -> Result<(), StoreError> {
    let mut app = c
        .appender("demo_exit_flaws")
        .context("open the planted exit failure appender")?;
    for (village, item) in planted {
        app.append_row(params![village, item])
            .context("record a planted exit failure")?;
    }
    app.flush().context("record the planted exit failures")
}

/// Records the persons the demo put on its rolls outside the registry: (ID number,
/// whether a candidate, the village it must be placed in).
///
/// # Errors
/// [`StoreError::Query`] when DuckDB refuses a row.
pub fn record_inclusion_plants(
    c: &Connection,
    plants: &[(String, bool, Option<String>)],
) -> Result<(), StoreError> {
    let mut app = c
        .appender("demo_inclusion_plants")
        .context("open the planted person appender")?;
    for (id, candidate, village) in plants {
        app.append_row(params![id, candidate, village])
            .context("record a planted person")?;
    }
    app.flush().context("record the planted persons")
}

/// The persons the demo planted for the screening: (ID number, candidate, village),
/// sorted.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn inclusion_plants(
    conn: &Connection,
) -> Result<Vec<(String, bool, Option<String>)>, StoreError> {
    let mut statement = conn
        .prepare("SELECT id_number, candidate, village_code FROM demo_inclusion_plants ORDER BY 1")
        .context("read the planted persons")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .context("read the planted persons")?;
    rows.collect::<Result<_, _>>()
        .context("read the planted persons")
}

/// A village: code, name, its township's name, whether a poverty village.
pub type VillageRow = (String, String, Option<String>, bool);

/// Every village (not community), in code order.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn villages(conn: &Connection) -> Result<Vec<VillageRow>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT v.code, v.name, t.name, v.poverty_village FROM areas v
             LEFT JOIN areas t ON t.code = v.parent_code
             WHERE v.level = 'village' ORDER BY v.code",
        )
        .context("read the villages")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .context("read the villages")?;
    rows.collect::<Result<_, _>>().context("read the villages")
}

/// The poverty villages' codes and names, with their township's name, in code order.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn poverty_villages(
    conn: &Connection,
) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT v.code, v.name, t.name FROM areas v LEFT JOIN areas t ON t.code = v.parent_code
             WHERE v.poverty_village AND v.level = 'village' ORDER BY v.code",
        )
        .context("read the poverty villages")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .context("read the poverty villages")?;
    rows.collect::<Result<_, _>>()
        .context("read the poverty villages")
}

/// Whether a form import with this id exists (so that its commit wrote form values).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn is_form_import(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM village_form_imports WHERE import_id = ? LIMIT 1",
            [id],
            |r| r.get::<_, i32>(0),
        )
        .optional()
        .context("look for a form import")?
        .is_some())
}
