//! Department rolls (行业部门数据) and the cross-checks (账账相符): the rows a roll
//! import writes (replacing that kind's roll of the county as a new data version, the
//! old rows kept for an undo), the rules' SQL, and the mismatches they find.
//!
//! # Pipeline
//! 1. A roll import writes `roll_rows` (key and name) and `roll_values` (the kind's
//!    fields, as codes) in one transaction ([`commit_roll`]).
//! 2. Each data version's derivation (`store::indicators::derive`) runs every rule once
//!    ([`MISMATCHES`]) into `crosscheck_mismatches`, and marks each household failing a
//!    household rule in `household_indicators`, so that the rules are indicators too.
//! 3. The API reads that table: a summary per rule ([`summary`]), the rows of one rule
//!    with both sides' values ([`mismatches`]), and the departments' answers.

use std::fmt::Write as _;

use duckdb::{Connection, params};

use super::{QueryContext, StoreError, in_transaction};
use crate::domain::rolls::CrosscheckId;

/// A roll row as an import writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRollRow {
    /// The file (or `file!sheet`) it came from.
    pub file: String,
    /// The row as Excel shows it.
    pub row: u32,
    /// The person's key, normalised (kinds keyed by 证件号码).
    pub id_number: Option<String>,
    /// The household's key (kinds keyed by 户编号).
    pub household_no: Option<String>,
    /// The name as written (sensitive).
    pub name: Option<String>,
    /// The kind's fields read: (field id, stored value).
    pub values: Vec<(String, String)>,
}

/// Which roll: its kind and the county whose department sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollOf<'a> {
    /// The kind's id (`edu`).
    pub kind: &'a str,
    /// The county's 6-digit code.
    pub county: &'a str,
}

/// Replaces the roll of one kind and county in one transaction, keeping the rows it
/// replaced under `id`, and records the import with its report. Returns the new data
/// version.
///
/// # Errors
/// [`StoreError::Invalid`] for an id already used; [`StoreError::Query`] when the store
/// fails. Nothing is written then.
pub fn commit_roll(
    conn: &Connection,
    (id, source, committed_at): (&str, &str, &str),
    report_json: &str,
    roll: RollOf<'_>,
    rows: &[NewRollRow],
) -> Result<i64, StoreError> {
    in_transaction(conn, |c| {
        let previous = super::imports::begin(c, id)?;
        keep_roll(c, id, roll)?;
        c.execute(
            "DELETE FROM roll_values WHERE seq IN
                 (SELECT seq FROM roll_rows WHERE roll_kind = ? AND county_code = ?)",
            params![roll.kind, roll.county],
        )
        .context("remove the previous roll's values")?;
        c.execute(
            "DELETE FROM roll_rows WHERE roll_kind = ? AND county_code = ?",
            params![roll.kind, roll.county],
        )
        .context("remove the previous roll")?;
        append_rows(c, roll, rows)?;
        c.execute(
            "INSERT INTO roll_imports VALUES (?, ?, ?)",
            params![id, roll.kind, roll.county],
        )
        .context("record the roll import")?;
        super::imports::finish(
            c,
            (id, "roll", source, committed_at),
            report_json,
            previous,
            &[],
        )
    })
}

/// Appends rows of a roll (numbered after every row stored), outside any transaction
/// of its own: the demo build and [`commit_roll`] call it inside theirs.
///
/// # Errors
/// [`StoreError::Query`] when DuckDB refuses a row.
pub fn append_rows(
    c: &Connection,
    roll: RollOf<'_>,
    rows: &[NewRollRow],
) -> Result<(), StoreError> {
    let first: u64 = c
        .query_row(
            "SELECT coalesce(max(seq), 0)::UBIGINT + 1 FROM
                 (SELECT seq FROM roll_rows UNION ALL SELECT seq FROM roll_rows_history)",
            [],
            |r| r.get(0),
        )
        .context("number the roll rows")?;
    let mut row_app = c.appender("roll_rows").context("open the roll appender")?;
    let mut value_app = c
        .appender("roll_values")
        .context("open the roll value appender")?;
    for (i, row) in rows.iter().enumerate() {
        let seq = first + i as u64;
        row_app
            .append_row(params![
                seq,
                roll.kind,
                roll.county,
                row.file,
                row.row,
                row.id_number,
                row.household_no,
                row.name
            ])
            .context("append a roll row")?;
        for (field, value) in &row.values {
            value_app
                .append_row(params![seq, field, value])
                .context("append a roll value")?;
        }
    }
    row_app.flush().context("write the roll rows")?;
    value_app.flush().context("write the roll values")?;
    Ok(())
}

/// Keeps the roll of a kind and county as it is under the import `id`.
fn keep_roll(c: &Connection, id: &str, roll: RollOf<'_>) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO roll_values_history SELECT ?, v.* FROM roll_values v
         WHERE v.seq IN (SELECT seq FROM roll_rows WHERE roll_kind = ? AND county_code = ?)",
        params![id, roll.kind, roll.county],
    )
    .context("keep the previous roll's values")?;
    c.execute(
        "INSERT INTO roll_rows_history SELECT ?, * FROM roll_rows
         WHERE roll_kind = ? AND county_code = ?",
        params![id, roll.kind, roll.county],
    )
    .context("keep the previous roll")?;
    Ok(())
}

/// Puts back the roll a roll import replaced (inside the undo's transaction). Returns
/// the rows restored; 0 and nothing done for an import that is not a roll's.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(super) fn restore_roll(c: &Connection, id: &str) -> Result<usize, StoreError> {
    let roll: Option<(String, String)> = duckdb::OptionalExt::optional(c.query_row(
        "SELECT roll_kind, county_code FROM roll_imports WHERE import_id = ?",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))
    .context("find the roll an import replaced")?;
    let Some((kind, county)) = roll else {
        return Ok(0);
    };
    c.execute(
        "DELETE FROM roll_values WHERE seq IN
             (SELECT seq FROM roll_rows WHERE roll_kind = ? AND county_code = ?)",
        params![kind, county],
    )
    .context("remove the imported roll's values")?;
    c.execute(
        "DELETE FROM roll_rows WHERE roll_kind = ? AND county_code = ?",
        params![kind, county],
    )
    .context("remove the imported roll")?;
    let restored = c
        .execute(
            "INSERT INTO roll_rows SELECT * EXCLUDE (import_id) FROM roll_rows_history
             WHERE import_id = ?",
            [id],
        )
        .context("restore the previous roll")?;
    c.execute(
        "INSERT INTO roll_values SELECT * EXCLUDE (import_id) FROM roll_values_history
         WHERE import_id = ?",
        [id],
    )
    .context("restore the previous roll's values")?;
    Ok(restored)
}

/// The registry's keys, for a dry run to match a roll to: every person's ID number and
/// every household's number, each with its county (6 digits).
#[derive(Debug, Default)]
pub struct RegistryKeys {
    /// 证件号码 → county.
    pub persons: std::collections::HashMap<String, String>,
    /// 户编号 → county.
    pub households: std::collections::HashMap<String, String>,
    /// The counties that have households, sorted.
    pub counties: Vec<String>,
}

/// Reads [`RegistryKeys`].
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn registry_keys(conn: &Connection) -> Result<RegistryKeys, StoreError> {
    let mut keys = RegistryKeys::default();
    let mut statement = conn
        .prepare(
            "SELECT m.id_number, substr(h.village_code, 1, 6) FROM members m
             JOIN households h ON h.household_no = m.household_no",
        )
        .context("read the registry's ID numbers")?;
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .context("read the registry's ID numbers")?;
    for row in rows {
        let (id, county) = row.context("read an ID number")?;
        keys.persons.insert(id.to_uppercase(), county);
    }
    let mut statement = conn
        .prepare("SELECT household_no, substr(village_code, 1, 6) FROM households")
        .context("read the registry's households")?;
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .context("read the registry's households")?;
    for row in rows {
        let (no, county) = row.context("read a household number")?;
        keys.households.insert(no, county);
    }
    let mut counties: Vec<String> = keys.households.values().cloned().collect();
    counties.sort_unstable();
    counties.dedup();
    keys.counties = counties;
    Ok(keys)
}

/// Every rule's mismatches, one row each: `rule, roll_kind, county, village_code,
/// household_no, id_number, name, key, registry, roll_seq`. `county` is the registry
/// household's (the roll's for the rules on roll rows), `village_code` the registered
/// village (none for rows that name nobody of the county), `key` what the mismatch is
/// known by (ID number, or household number for the household rules), `registry` the
/// registry's side in words and `roll_seq` the roll row of the other side, if any.
pub const MISMATCHES: &str = "
WITH r AS (
    SELECT r.seq, r.roll_kind, r.county_code, r.id_number, r.household_no, r.name,
           max(v.value) FILTER (WHERE v.field = 'status') AS status,
           max(v.value) FILTER (WHERE v.field = 'supply') AS supply,
           max(v.value) FILTER (WHERE v.field = 'quality') AS quality,
           max(v.value) FILTER (WHERE v.field = 'relief') AS relief,
           max(v.value) FILTER (WHERE v.field = 'grade') AS grade
    FROM roll_rows r
    LEFT JOIN roll_values v
           ON v.seq = r.seq AND v.field IN ('status', 'supply', 'quality', 'relief', 'grade')
    GROUP BY ALL
), p AS (
    SELECT m.id_number, m.household_no, m.name, m.age, m.schooling, m.medical_insured,
           m.disability_grade,
           CASE WHEN m.extreme_poverty THEN 'extreme' WHEN m.subsistence THEN 'subsistence' END
               AS relief,
           h.village_code, substr(h.village_code, 1, 6) AS county
    FROM members m JOIN households h ON h.household_no = m.household_no
), hh AS (
    SELECT household_no, village_code, substr(village_code, 1, 6) AS county, head_name,
           house_grade, water_safe, water_piped
    FROM households
), rm AS (
    SELECT r.*, coalesce(hd.household_no, p.household_no) AS reg_household,
           coalesce(hd.county, p.county) AS reg_county
    FROM r
    LEFT JOIN p ON p.id_number = r.id_number
    LEFT JOIN hh hd ON hd.household_no = r.household_no
), has AS (
    SELECT DISTINCT roll_kind, county_code FROM roll_rows
), by_id AS (
    SELECT roll_kind, id_number, min(seq) AS seq, bool_or(status = 'insured') AS insured,
           min(relief) AS relief, min(grade) AS grade
    FROM r WHERE id_number IS NOT NULL GROUP BY ALL
)
SELECT 'edu_missing' AS rule, 'edu' AS roll_kind, p.county, p.village_code, p.household_no,
       p.id_number, p.name, p.id_number AS key,
       p.age || '岁，在校生状况：' || SCHOOLING AS registry, NULL::UBIGINT AS roll_seq
FROM p
WHERE p.age BETWEEN 6 AND 15
  AND p.county IN (SELECT county_code FROM has WHERE roll_kind = 'edu')
  AND NOT EXISTS (SELECT 1 FROM by_id b WHERE b.roll_kind = 'edu' AND b.id_number = p.id_number)
UNION ALL
SELECT 'edu_dropout', 'edu', p.county, p.village_code, p.household_no, p.id_number, p.name,
       p.id_number, p.age || '岁，在校生状况：' || SCHOOLING, r.seq
FROM r JOIN p ON p.id_number = r.id_number
WHERE r.roll_kind = 'edu' AND r.status = 'dropout'
  AND p.schooling IS DISTINCT FROM 'out_of_school'
UNION ALL
SELECT 'insured_not_on_roll', 'insurance', p.county, p.village_code, p.household_no,
       p.id_number, p.name, p.id_number, '参加城乡居民基本医疗保险：是', b.seq
FROM p
LEFT JOIN by_id b ON b.roll_kind = 'insurance' AND b.id_number = p.id_number
WHERE p.medical_insured
  AND p.county IN (SELECT county_code FROM has WHERE roll_kind = 'insurance')
  AND NOT coalesce(b.insured, false)
UNION ALL
SELECT 'insured_only_on_roll', 'insurance', p.county, p.village_code, p.household_no,
       p.id_number, p.name, p.id_number, '参加城乡居民基本医疗保险：否', r.seq
FROM r JOIN p ON p.id_number = r.id_number
WHERE r.roll_kind = 'insurance' AND r.status = 'insured' AND NOT p.medical_insured
UNION ALL
SELECT 'house_unrenovated', 'housing', hh.county, hh.village_code, hh.household_no, NULL,
       hh.head_name, hh.household_no, '住房鉴定等级：' || hh.house_grade || '级', NULL
FROM hh
WHERE hh.house_grade IN ('C', 'D')
  AND hh.county IN (SELECT county_code FROM has WHERE roll_kind = 'housing')
  AND NOT EXISTS (SELECT 1 FROM rm WHERE rm.roll_kind = 'housing'
                  AND rm.reg_household = hh.household_no)
UNION ALL
SELECT 'renovated_grade_a', 'housing', hh.county, hh.village_code, hh.household_no,
       rm.id_number, hh.head_name, hh.household_no, '住房鉴定等级：A级', rm.seq
FROM rm JOIN hh ON hh.household_no = rm.reg_household
WHERE rm.roll_kind = 'housing' AND hh.house_grade = 'A'
UNION ALL
SELECT 'water_differs', 'water', hh.county, hh.village_code, hh.household_no, NULL,
       hh.head_name, hh.household_no,
       '饮水安全：' || CASE WHEN hh.water_safe THEN '是' ELSE '否' END
           || '，自来水入户：' || CASE WHEN hh.water_piped THEN '是' ELSE '否' END,
       rm.seq
FROM rm JOIN hh ON hh.household_no = rm.reg_household
WHERE rm.roll_kind = 'water'
  AND ((rm.quality IS NOT NULL AND (rm.quality = 'yes') <> hh.water_safe)
       OR (rm.supply IS NOT NULL AND (rm.supply = 'piped') <> hh.water_piped))
UNION ALL
SELECT 'relief_differs', 'civil', p.county, p.village_code, p.household_no, p.id_number,
       p.name, p.id_number,
       CASE p.relief WHEN 'subsistence' THEN '享受低保' WHEN 'extreme' THEN '特困供养'
            ELSE '未享受低保、特困' END,
       b.seq
FROM p
LEFT JOIN by_id b ON b.roll_kind = 'civil' AND b.id_number = p.id_number
WHERE p.county IN (SELECT county_code FROM has WHERE roll_kind = 'civil')
  AND (p.relief IS NOT NULL OR b.seq IS NOT NULL)
  AND p.relief IS DISTINCT FROM b.relief
UNION ALL
SELECT 'disability_differs', 'disability', p.county, p.village_code, p.household_no,
       p.id_number, p.name, p.id_number,
       CASE WHEN p.disability_grade IS NULL THEN '无残疾'
            ELSE '残疾' || p.disability_grade || '级' END,
       b.seq
FROM p
LEFT JOIN by_id b ON b.roll_kind = 'disability' AND b.id_number = p.id_number
WHERE p.county IN (SELECT county_code FROM has WHERE roll_kind = 'disability')
  AND ((p.disability_grade IS NOT NULL) <> (b.seq IS NOT NULL)
       OR (b.grade IS NOT NULL AND p.disability_grade IS NOT NULL
           AND b.grade <> p.disability_grade::VARCHAR))
UNION ALL
SELECT 'roll_unregistered', rm.roll_kind, rm.county_code, NULL, rm.household_no,
       rm.id_number, rm.name, coalesce(rm.id_number, rm.household_no),
       CASE WHEN rm.id_number IS NOT NULL THEN '户籍中没有此证件号码' ELSE '户籍中没有此户编号' END,
       rm.seq
FROM rm WHERE rm.reg_household IS NULL AND rm.roll_kind <> 'general'
UNION ALL
SELECT 'roll_other_county', rm.roll_kind, rm.county_code, NULL, NULL, rm.id_number, rm.name,
       coalesce(rm.id_number, rm.household_no), '户籍在外县（' || rm.reg_county || '）', rm.seq
FROM rm WHERE rm.reg_household IS NOT NULL AND rm.reg_county <> rm.county_code
";

/// How the registry's schooling code reads.
const SCHOOLING: &str = "CASE p.schooling WHEN 'in_school' THEN '在校'
     WHEN 'taught_at_home' THEN '送教上门' WHEN 'out_of_school' THEN '失学辍学' ELSE '未填' END";

/// The rules' SQL ([`MISMATCHES`] with its labels filled in).
#[must_use]
pub fn mismatches_sql() -> String {
    MISMATCHES.replace("SCHOOLING", SCHOOLING)
}

/// Runs every rule into `crosscheck_mismatches` (inside the derivation's transaction).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub(super) fn refresh(tx: &Connection) -> Result<(), StoreError> {
    tx.execute_batch(&format!(
        "CREATE OR REPLACE TABLE crosscheck_mismatches AS {}",
        mismatches_sql()
    ))
    .context("run the cross-checks")
}

/// Runs every rule into `crosscheck_mismatches` in a transaction of its own: for the
/// command line and the benchmark, which have no snapshot to derive.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn recheck(conn: &Connection) -> Result<(), StoreError> {
    in_transaction(conn, refresh)
}

/// The roll kinds the household rules read, and so the `roll_<kind>` columns of
/// `household_indicators` (whether the household's county has that roll).
pub const HOUSEHOLD_KINDS: &[&str] = &[
    "edu",
    "insurance",
    "housing",
    "water",
    "civil",
    "disability",
];

/// The columns `household_indicators` gains from the cross-checks: per household rule
/// whether the household fails it, per kind whether its county has the roll. `live`
/// gives constants (false), for versions read without their rolls.
pub(super) fn household_columns(live: bool) -> String {
    let mut out = String::new();
    for id in CrosscheckId::ALL.iter().filter(|c| c.measure().is_some()) {
        let code = id.code();
        if live {
            let _ = write!(out, ", false AS crosscheck_{code}");
        } else {
            let _ = write!(
                out,
                ", coalesce(xc.crosscheck_{code}, false) AS crosscheck_{code}"
            );
        }
    }
    for kind in HOUSEHOLD_KINDS {
        if live {
            let _ = write!(out, ", false AS roll_{kind}");
        } else {
            let _ = write!(out, ", coalesce(xk.has_{kind}, false) AS roll_{kind}");
        }
    }
    out
}

/// The joins [`household_columns`] reads from (`h` is the households' CTE).
pub(super) fn household_joins() -> String {
    let mut flags = String::new();
    for c in CrosscheckId::ALL.iter().filter(|c| c.measure().is_some()) {
        let _ = write!(flags, ", bool_or(rule = '{0}') AS crosscheck_{0}", c.code());
    }
    let mut has = String::new();
    for k in HOUSEHOLD_KINDS {
        let _ = write!(has, ", bool_or(roll_kind = '{k}') AS has_{k}");
    }
    format!(
        "LEFT JOIN (SELECT household_no{flags} FROM crosscheck_mismatches
                    WHERE household_no IS NOT NULL
                      AND rule NOT IN ('roll_unregistered', 'roll_other_county')
                    GROUP BY household_no) xc ON xc.household_no = h.household_no
         LEFT JOIN (SELECT county_code{has} FROM (SELECT DISTINCT roll_kind, county_code FROM roll_rows)
                    GROUP BY county_code) xk ON xk.county_code = substr(h.village_code, 1, 6)"
    )
}

/// Which mismatches a query covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MismatchFilter {
    /// Only those of this area (a prefix of the registered village, or of the roll's
    /// county for rows that name nobody of it); `None`: all.
    pub within: Option<String>,
    /// Only those of these roll kinds (a department's); `None`: all.
    pub kinds: Option<Vec<String>>,
}

impl MismatchFilter {
    fn sql(&self) -> (String, Vec<String>) {
        let mut clauses = Vec::new();
        let mut params = Vec::new();
        if let Some(w) = &self.within {
            clauses.push("starts_with(coalesce(x.village_code, x.county), ?)".to_owned());
            params.push(w.clone());
        }
        if let Some(kinds) = &self.kinds {
            // Kind ids are checked lower-case words of the catalog, never user text,
            // but they go in as parameters all the same.
            if kinds.is_empty() {
                clauses.push("false".to_owned());
            } else {
                clauses.push(format!(
                    "x.roll_kind IN ({})",
                    vec!["?"; kinds.len()].join(", ")
                ));
                params.extend(kinds.iter().cloned());
            }
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" AND {}", clauses.join(" AND "))
        };
        (sql, params)
    }
}

/// One rule's figures in a scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleFigures {
    /// Mismatches.
    pub mismatches: i64,
    /// Households they belong to.
    pub households: i64,
    /// Mismatches a department has answered.
    pub answered: i64,
}

/// The figures of every rule with a mismatch in scope, by rule id.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn summary(
    conn: &Connection,
    filter: &MismatchFilter,
) -> Result<std::collections::HashMap<String, RuleFigures>, StoreError> {
    let (clause, values) = filter.sql();
    let sql = format!(
        "SELECT x.rule, count(*), count(DISTINCT x.household_no), count(a.rule)
         FROM crosscheck_mismatches x
         LEFT JOIN crosscheck_answers a ON a.rule = x.rule AND a.key = x.key
         WHERE true{clause} GROUP BY x.rule"
    );
    let mut statement = conn
        .prepare(&sql)
        .context("prepare the cross-check summary")?;
    let rows = statement
        .query_map(duckdb::params_from_iter(values.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                RuleFigures {
                    mismatches: r.get(1)?,
                    households: r.get(2)?,
                    answered: r.get(3)?,
                },
            ))
        })
        .context("run the cross-check summary")?;
    rows.collect::<Result<_, _>>()
        .context("read the cross-check summary")
}

/// The kinds with a roll in scope: kind → rows (a county's roll counts for the areas
/// inside it and the city or province above it).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn rolls_in(
    conn: &Connection,
    within: Option<&str>,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut statement = conn
        .prepare(
            "SELECT roll_kind, count(*) FROM roll_rows
             WHERE ? IS NULL OR starts_with(county_code, ?) OR starts_with(?, county_code)
             GROUP BY roll_kind",
        )
        .context("prepare the rolls in scope")?;
    let rows = statement
        .query_map(params![within, within, within], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .context("read the rolls in scope")?;
    rows.collect::<Result<_, _>>()
        .context("read the rolls in scope")
}

/// A department's answer to a mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 核实结果, as written.
    pub result: String,
    /// Who uploaded it.
    pub by: String,
    /// When, UTC.
    pub at: String,
}

/// One mismatch with both sides' values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The rule.
    pub rule: String,
    /// The roll kind it compares with.
    pub roll_kind: String,
    /// The county (the registry household's, or the roll's).
    pub county: String,
    /// The registered village, if the mismatch has one.
    pub village_code: Option<String>,
    /// The registered household (or the roll's 户编号 for a roll row naming nobody).
    pub household_no: Option<String>,
    /// The person's ID number (sensitive: callers mask it).
    pub id_number: Option<String>,
    /// The name (sensitive: callers mask it).
    pub name: Option<String>,
    /// What the mismatch is known by (its answers too).
    pub key: String,
    /// The registry's side, in words.
    pub registry: String,
    /// The roll's side: the row's fields (field id, stored value), if there is a row.
    pub roll: Vec<(String, String)>,
    /// Where the roll row came from: file and row.
    pub roll_at: Option<(String, u32)>,
    /// The department's answer, if any.
    pub answer: Option<Answer>,
}

/// A page of one rule's mismatches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MismatchPage {
    /// Mismatches in scope, in all.
    pub total: i64,
    /// The page, by village, household and key.
    pub rows: Vec<Mismatch>,
}

/// A page of one rule's mismatches in scope (`limit` `None`: all of them).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn mismatches(
    conn: &Connection,
    rule: &str,
    filter: &MismatchFilter,
    limit: Option<usize>,
    offset: usize,
) -> Result<MismatchPage, StoreError> {
    let (clause, mut values) = filter.sql();
    values.insert(0, rule.to_owned());
    let total: i64 = conn
        .prepare(&format!(
            "SELECT count(*) FROM crosscheck_mismatches x WHERE x.rule = ?{clause}"
        ))
        .context("prepare the mismatch count")?
        .query_row(duckdb::params_from_iter(values.iter()), |r| r.get(0))
        .context("count the mismatches")?;
    let page = limit.map_or_else(String::new, |l| format!(" LIMIT {l} OFFSET {offset}"));
    Ok(MismatchPage {
        total,
        rows: select(conn, &format!("x.rule = ?{clause}"), &values, &page)?,
    })
}

/// Every mismatch of one registered household, of any rule, by rule and key: what its
/// own view shows beside the cross-check indicators it fails.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn of_household(conn: &Connection, household_no: &str) -> Result<Vec<Mismatch>, StoreError> {
    select(conn, "x.household_no = ?", &[household_no.to_owned()], "")
}

/// The mismatches `clause` (with `values`) picks, both sides' values and the answer
/// with each, by village, household and key.
fn select(
    conn: &Connection,
    clause: &str,
    values: &[String],
    page: &str,
) -> Result<Vec<Mismatch>, StoreError> {
    let sql = format!(
        "SELECT x.rule, x.roll_kind, x.county, x.village_code, x.household_no, x.id_number,
                x.name, x.key, x.registry, rr.file, rr.row,
                (SELECT string_agg(v.field || chr(31) || v.value, chr(30))
                 FROM roll_values v WHERE v.seq = x.roll_seq),
                a.result, a.answered_by, a.answered_at
         FROM crosscheck_mismatches x
         LEFT JOIN roll_rows rr ON rr.seq = x.roll_seq
         LEFT JOIN crosscheck_answers a ON a.rule = x.rule AND a.key = x.key
         WHERE {clause}
         ORDER BY x.village_code NULLS LAST, x.household_no NULLS LAST, x.rule, x.key{page}"
    );
    let mut statement = conn.prepare(&sql).context("prepare the mismatches")?;
    let rows = statement
        .query_map(duckdb::params_from_iter(values.iter()), |r| {
            let roll: Option<String> = r.get(11)?;
            let file: Option<String> = r.get(9)?;
            let row: Option<u32> = r.get(10)?;
            let result: Option<String> = r.get(12)?;
            Ok(Mismatch {
                rule: r.get(0)?,
                roll_kind: r.get(1)?,
                county: r.get(2)?,
                village_code: r.get(3)?,
                household_no: r.get(4)?,
                id_number: r.get(5)?,
                name: r.get(6)?,
                key: r.get(7)?,
                registry: r.get(8)?,
                roll: roll
                    .unwrap_or_default()
                    .split('\u{1e}')
                    .filter_map(|pair| pair.split_once('\u{1f}'))
                    .map(|(f, v)| (f.to_owned(), v.to_owned()))
                    .collect(),
                roll_at: file.zip(row),
                answer: match result {
                    Some(result) => Some(Answer {
                        result,
                        by: r.get(13)?,
                        at: r.get(14)?,
                    }),
                    None => None,
                },
            })
        })
        .context("read the mismatches")?;
    rows.collect::<Result<_, _>>().context("read a mismatch")
}

/// Stores departments' answers (rule, key, 核实结果), replacing earlier answers to the
/// same mismatches, in one transaction. Returns the answers stored.
///
/// # Errors
/// [`StoreError::Query`] when the store fails; nothing is stored then.
pub fn save_answers(
    conn: &Connection,
    answers: &[(String, String, String)],
    (by, at): (&str, &str),
) -> Result<usize, StoreError> {
    in_transaction(conn, |c| {
        let mut statement = c
            .prepare("INSERT OR REPLACE INTO crosscheck_answers VALUES (?, ?, ?, ?, ?)")
            .context("prepare an answer")?;
        for (rule, key, result) in answers {
            statement
                .execute(params![rule, key, result, by, at])
                .context("store an answer")?;
        }
        Ok(answers.len())
    })
}

/// The mismatches the demo planted: (rule, key), sorted.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn planted(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn
        .prepare("SELECT rule, key FROM demo_roll_flaws ORDER BY rule, key")
        .context("read the planted mismatches")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("read the planted mismatches")?;
    rows.collect::<Result<_, _>>()
        .context("read the planted mismatches")
}

/// Every mismatch found: (rule, key), sorted and without repeats.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn found(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = conn
        .prepare("SELECT DISTINCT rule, key FROM crosscheck_mismatches ORDER BY rule, key")
        .context("read the mismatches found")?;
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("read the mismatches found")?;
    rows.collect::<Result<_, _>>()
        .context("read the mismatches found")
}

/// Records the mismatches the demo planted.
///
/// # Errors
/// [`StoreError::Query`] when DuckDB refuses a row.
pub fn record_planted(c: &Connection, planted: &[(String, String)]) -> Result<(), StoreError> {
    let mut app = c
        .appender("demo_roll_flaws")
        .context("open the planted-mismatch appender")?;
    for (rule, key) in planted {
        app.append_row(params![rule, key])
            .context("record a planted mismatch")?;
    }
    app.flush().context("record the planted mismatches")
}

/// A registered person with what the rolls of the demo are drawn from.
#[expect(
    clippy::struct_excessive_bools,
    reason = "one yes/no per field of the registry a roll is compared with"
)]
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryPerson {
    /// 户编号.
    pub household_no: String,
    /// The registered village.
    pub village_code: String,
    /// The member's place in the household (1: first listed).
    pub seq: u8,
    /// 证件号码.
    pub id_number: String,
    /// 姓名.
    pub name: String,
    /// Age in years.
    pub age: u8,
    /// Schooling code.
    pub schooling: Option<String>,
    /// Insured.
    pub medical_insured: bool,
    /// Disability grade.
    pub disability_grade: Option<u8>,
    /// Disability kind code.
    pub disability_kind: Option<String>,
    /// 低保.
    pub subsistence: bool,
    /// 特困.
    pub extreme_poverty: bool,
    /// The household's house grade code.
    pub house_grade: String,
    /// The household's safe water.
    pub water_safe: bool,
    /// The household's piped water.
    pub water_piped: bool,
}

/// Every member of the households (of the demo build's staging table when `staged`),
/// by household and member order.
pub(super) fn registry_persons(
    conn: &Connection,
    staged: bool,
) -> Result<Vec<RegistryPerson>, StoreError> {
    let table = if staged {
        "households_stage"
    } else {
        "households"
    };
    let sql = format!(
        "SELECT h.household_no, h.village_code, m.seq, m.id_number, m.name, m.age, m.schooling,
                m.medical_insured, m.disability_grade, m.disability_kind,
                coalesce(m.subsistence, false), coalesce(m.extreme_poverty, false),
                h.house_grade, h.water_safe, h.water_piped
         FROM {table} h JOIN members m ON m.household_no = h.household_no
         ORDER BY h.household_no, m.seq"
    );
    let mut statement = conn
        .prepare(&sql)
        .context("read the registry for the rolls")?;
    let rows = statement
        .query_map([], |r| {
            Ok(RegistryPerson {
                household_no: r.get(0)?,
                village_code: r.get(1)?,
                seq: r.get(2)?,
                id_number: r.get(3)?,
                name: r.get(4)?,
                age: r.get(5)?,
                schooling: r.get(6)?,
                medical_insured: r.get(7)?,
                disability_grade: r.get(8)?,
                disability_kind: r.get(9)?,
                subsistence: r.get(10)?,
                extreme_poverty: r.get(11)?,
                house_grade: r.get(12)?,
                water_safe: r.get(13)?,
                water_piped: r.get(14)?,
            })
        })
        .context("read the registry for the rolls")?;
    rows.collect::<Result<_, _>>()
        .context("read a registered person")
}

/// The database's salt for the codes that name mismatches in answer files (核对码), made
/// once.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn salt(conn: &Connection) -> Result<String, StoreError> {
    if let Some(salt) = super::meta(conn, "crosscheck_salt")? {
        return Ok(salt);
    }
    let salt = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    conn.execute(
        "INSERT OR IGNORE INTO meta VALUES ('crosscheck_salt', ?)",
        [&salt],
    )
    .context("make the cross-check salt")?;
    Ok(super::meta(conn, "crosscheck_salt")?.unwrap_or(salt))
}

/// Every registered member with what the demo's rolls are drawn from, by household and
/// member order (for benchmarks that draw a roll from a database).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn registry(conn: &Connection) -> Result<Vec<RegistryPerson>, StoreError> {
    registry_persons(conn, false)
}

/// The peer of the benchmark: DuckDB alone matching every roll row's key to the
/// registry in one join, no rule applied. Returns (rows, rows matched).
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn peer_join(conn: &Connection) -> Result<(i64, i64), StoreError> {
    conn.query_row(
        "SELECT count(*), count(m.id_number) FROM roll_rows r
         LEFT JOIN members m ON m.id_number = r.id_number",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .context("join the rolls to the registry")
}

/// Mismatches found by the last run of the rules.
///
/// # Errors
/// [`StoreError::Query`] when the store fails.
pub fn mismatch_count(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("SELECT count(*) FROM crosscheck_mismatches", [], |r| {
        r.get(0)
    })
    .context("count the mismatches")
}
