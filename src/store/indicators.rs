//! The indicators' exact rules, as SQL over a derived table, and the queries on it.
//!
//! `household_indicators` holds one row per household with every fact an indicator
//! needs (member counts, the located village, the GPS verdicts), derived once per data
//! version from `households`, `members` and the places the spatial layer found
//! ([`PlaceException`]). Each [`Measure`] then says how much a household adds to an
//! indicator's count and to its denominator, so that the aggregation by area
//! ([`stats`]), the households behind a number ([`households_failing`]) and the
//! in-memory figures of drawn areas ([`facts`]) all follow the one rule written here.

use std::fmt::Write;

use duckdb::arrow::array::{Array, StringArray, UInt8Array, UInt32Array};
use duckdb::{Connection, OptionalExt, params};

use super::{QueryContext, StoreError};
use crate::domain::{Category, MeasureId, SCHOOL_AGE_MAX, SCHOOL_AGE_MIN, Unit};

/// How one indicator is computed: per household, what it adds to the count and to
/// the denominator (SQL expressions over `household_indicators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The indicator's id, as in `data/indicators.toml`.
    pub id: MeasureId,
    count: &'static str,
    denominator: &'static str,
}

/// Every measure's rule, in [`MeasureId`] order. A household "fails" a measure when
/// its count is above zero.
pub const MEASURES: &[Measure] = &[
    Measure {
        id: MeasureId::AnyProblem,
        count: "any_problem::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::IncomeBelowLine,
        // No line in force: neither counted nor in the denominator, so the rate is
        // "no data" rather than a false 0 %.
        count: "coalesce(income_below_line, false)::UINTEGER",
        denominator: "(income_below_line IS NOT NULL)::UINTEGER",
    },
    Measure {
        id: MeasureId::FoodClothingInsecure,
        count: "food_clothing_insecure::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::Dropout,
        count: "dropout_persons::UINTEGER",
        denominator: "school_age_persons::UINTEGER",
    },
    Measure {
        id: MeasureId::Uninsured,
        count: "(uninsured_persons > 0)::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::UnsafeHousing,
        count: "unsafe_housing::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::HousingUnappraised,
        count: "housing_unappraised::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::WaterUnsafe,
        count: "water_unsafe::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::WaterNotPiped,
        count: "water_not_piped::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::Monitored,
        count: "monitored::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::MonitoredUnstable,
        count: "(category = 'monitored_unstable')::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::MonitoredMarginal,
        count: "(category = 'monitored_marginal')::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::MonitoredSudden,
        count: "(category = 'monitored_sudden')::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::RiskUnresolved,
        count: "risk_unresolved::UINTEGER",
        denominator: "monitored::UINTEGER",
    },
    // Over the measures of the year the indicators judge (`measures::current_year`).
    Measure {
        id: MeasureId::NoDevelopmentMeasure,
        count: "no_development_measure::UINTEGER",
        denominator: "monitored::UINTEGER",
    },
    Measure {
        id: MeasureId::RiskWithoutMeasure,
        count: "risk_without_measure::UINTEGER",
        denominator: "risk_needs_measure::UINTEGER",
    },
    Measure {
        id: MeasureId::GpsMissing,
        count: "(NOT has_position)::UINTEGER",
        denominator: "1",
    },
    Measure {
        id: MeasureId::GpsMismatch,
        count: "gps_mismatch::UINTEGER",
        denominator: "has_position::UINTEGER",
    },
    // Village-level, over the ledger entries of each village's latest campaign (unit
    // Items): see
    // `ledger_stats`. `as_of` is today, or the campaign's end if earlier.
    Measure {
        id: MeasureId::ChecklistUnmet,
        count: "(status IN ('problem', 'rectifying'))::UINTEGER",
        denominator: "(source = 'ledger')::UINTEGER",
    },
    Measure {
        id: MeasureId::RectificationOverdue,
        count: "(status IN ('problem', 'rectifying') AND deadline < as_of)::UINTEGER",
        denominator: "(status NOT IN ('not_checked', 'no_problem'))::UINTEGER",
    },
    Measure {
        id: MeasureId::RectificationRate,
        count: "(status IN ('rectified', 'closed'))::UINTEGER",
        denominator: "(status NOT IN ('not_checked', 'no_problem'))::UINTEGER",
    }, // Cross-checks (账账相符), over the households of the counties whose department's
    // roll is imported (store::rolls): no roll, no data rather than a false 0 %.
    Measure {
        id: MeasureId::CrosscheckEduMissing,
        count: "crosscheck_edu_missing::UINTEGER",
        denominator: "roll_edu::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckEduDropout,
        count: "crosscheck_edu_dropout::UINTEGER",
        denominator: "roll_edu::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckInsuredNotOnRoll,
        count: "crosscheck_insured_not_on_roll::UINTEGER",
        denominator: "roll_insurance::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckInsuredOnlyOnRoll,
        count: "crosscheck_insured_only_on_roll::UINTEGER",
        denominator: "roll_insurance::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckHouseUnrenovated,
        count: "crosscheck_house_unrenovated::UINTEGER",
        denominator: "roll_housing::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckRenovatedGradeA,
        count: "crosscheck_renovated_grade_a::UINTEGER",
        denominator: "roll_housing::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckWaterDiffers,
        count: "crosscheck_water_differs::UINTEGER",
        denominator: "roll_water::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckReliefDiffers,
        count: "crosscheck_relief_differs::UINTEGER",
        denominator: "roll_civil::UINTEGER",
    },
    Measure {
        id: MeasureId::CrosscheckDisabilityDiffers,
        count: "crosscheck_disability_differs::UINTEGER",
        denominator: "roll_disability::UINTEGER",
    },
    // Village-level like the ledger's, over the rows of store::exits (see
    // `ledger_stats`): a poverty village's exit items judged, and the persons the
    // 应纳未纳 screening placed in the village.
    Measure {
        id: MeasureId::ExitFailingItems,
        count: "(source = 'exit' AND NOT passed)::UINTEGER",
        denominator: "(source = 'exit' AND passed IS NOT NULL)::UINTEGER",
    },
    Measure {
        id: MeasureId::InclusionCandidates,
        count: "(source = 'inclusion' AND decision IS NULL)::UINTEGER",
        denominator: "(source = 'inclusion')::UINTEGER",
    },
];

impl Measure {
    /// The rule of a measure.
    #[must_use]
    pub fn of(id: MeasureId) -> &'static Measure {
        &MEASURES[id.index()]
    }

    /// What the count counts.
    #[must_use]
    pub fn unit(&self) -> Unit {
        self.id.unit()
    }

    /// Counted over a village's ledger entries, not over households.
    #[must_use]
    pub fn is_ledger(&self) -> bool {
        self.id.is_ledger()
    }
}

/// The rule of the measure with this stable id.
#[must_use]
pub fn measure(id: &str) -> Option<&'static Measure> {
    MeasureId::from_code(id).map(Measure::of)
}

/// Bumped whenever the derivation below changes, so that an existing database's
/// derived table is rebuilt by a newer paicha.
const DERIVATION: u32 = 4;

/// A household whose located village is not simply its registered one, or whose
/// position has a problem: the spatial layer's findings, written for the SQL rules.
/// Households not listed have a position inside their registered village.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceException {
    /// The household's row (its position in storage order, as in
    /// [`super::households::for_each_location`]).
    pub row: u32,
    /// The village its position lies in, if any.
    pub located_village: Option<String>,
    /// That village's township.
    pub located_township: Option<String>,
    /// Whether it has a usable position.
    pub has_position: bool,
    /// Whether that position lies outside its registered village.
    pub mismatch: bool,
    /// The position in WGS-84 after a systematic offset was corrected, and the system
    /// the group really recorded in (`gcj02`, `bd09`): `None` when the declared
    /// system's conversion stands.
    pub corrected: Option<(f64, f64, crate::domain::Crs)>,
}

/// The stamp of a derivation: the data version, the rules and the poverty line.
fn stamp(data_version: i64, line: Option<f64>) -> String {
    format!("{data_version}:{DERIVATION}:{line:?}")
}

/// Whether `household_indicators` already holds this data version's derivation.
///
/// # Errors
/// [`StoreError::Query`] if the meta table cannot be read.
pub fn is_fresh(
    conn: &Connection,
    data_version: i64,
    line: Option<f64>,
) -> Result<bool, StoreError> {
    Ok(super::meta(conn, "indicators_stamp")?.as_deref()
        == Some(stamp(data_version, line).as_str()))
}

/// Whether `household_indicators` holds a derivation of the current data version
/// (by whatever poverty line): what exports of its per-household columns need.
///
/// # Errors
/// [`StoreError::Query`] if the meta table cannot be read.
pub fn is_current(conn: &Connection) -> Result<bool, StoreError> {
    let version = super::data_version(conn)?;
    Ok(super::meta(conn, "indicators_stamp")?
        .is_some_and(|s| s.split(':').next() == Some(version.to_string().as_str())))
}

/// Rebuilds `household_indicators` in one transaction: from `households`, `members`,
/// the places the spatial layer found and the poverty line in force (`None`: none).
///
/// # Errors
/// [`StoreError::Query`] if a statement fails; the old table then stays as it was.
pub fn derive(
    conn: &Connection,
    data_version: i64,
    line: Option<f64>,
    places: &[PlaceException],
) -> Result<(), StoreError> {
    if line.is_some_and(|l| !l.is_finite()) {
        return Err(StoreError::Invalid(format!(
            "poverty line {line:?} is not a number"
        )));
    }
    // Two snapshots loading at once (a reload during start-up, parallel tests) would
    // both rebuild the table and DuckDB would refuse the second: one at a time, and
    // the second finds the work done.
    let _one_at_a_time = super::write_lock();
    if is_fresh(conn, data_version, line)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN TRANSACTION")
        .context("begin indicator derivation")?;
    match derive_in_transaction(conn, data_version, line, places) {
        Ok(()) => conn
            .execute_batch("COMMIT")
            .context("commit indicator derivation"),
        Err(e) => {
            // The derivation's own error is the one worth reporting.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn derive_in_transaction(
    tx: &Connection,
    data_version: i64,
    line: Option<f64>,
    places: &[PlaceException],
) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE OR REPLACE TABLE place_exceptions (
             row UINTEGER, located_village VARCHAR, located_township VARCHAR,
             has_position BOOLEAN, mismatch BOOLEAN,
             corrected_lon DOUBLE, corrected_lat DOUBLE, corrected_crs VARCHAR)",
    )
    .context("create place exceptions")?;
    {
        let mut app = tx
            .appender("place_exceptions")
            .context("open place appender")?;
        for p in places {
            app.append_row(params![
                p.row,
                p.located_village,
                p.located_township,
                p.has_position,
                p.mismatch,
                p.corrected.map(|c| c.0),
                p.corrected.map(|c| c.1),
                p.corrected.map(|c| c.2.code()),
            ])
            .context("append place exception")?;
        }
        app.flush().context("flush place exceptions")?;
    }
    // The line is a number from the configuration, not user input: it goes in as a
    // literal because DuckDB does not take parameters in CREATE TABLE AS.
    let line_sql = line.map_or_else(|| "NULL::DOUBLE".to_owned(), |l| format!("{l:?}::DOUBLE"));
    // The cross-checks first: the household rules are columns of the table below.
    super::rolls::refresh(tx)?;
    let measures_year = super::measures::current_year(tx)?;
    let sql = format!(
        "CREATE OR REPLACE TABLE household_indicators AS {} ORDER BY row",
        facts_sql(&FactsFrom::Derived { measures_year }, &line_sql)
    );
    tx.execute_batch(&sql)
        .context("derive household indicators")?;
    tx.execute_batch("DROP TABLE place_exceptions")
        .context("drop place exceptions")?;
    tx.execute(
        "INSERT OR REPLACE INTO meta VALUES ('indicators_stamp', ?)",
        [stamp(data_version, line)],
    )
    .context("record indicator stamp")?;
    Ok(())
}

/// Where [`facts_sql`] reads households and members from.
pub(super) enum FactsFrom {
    /// The live tables, with the places the spatial layer found (`place_exceptions`)
    /// and the measures of `measures_year` (`None`: no year known, so none): what
    /// `household_indicators` is derived from.
    Derived {
        /// The year the measure indicators judge.
        measures_year: Option<i32>,
    },
    /// The live tables by their recorded positions only, as a version kept in the
    /// history is read, so that the two compare.
    Live,
    /// The rows a later import replaced, kept under its id (the one parameter, bound
    /// twice: members first, then households).
    Kept,
}

/// Every fact every indicator needs, one row per household: the one rule the derived
/// table and the comparison of versions (`store::versions`) share.
pub(super) fn facts_sql(from: &FactsFrom, line_sql: &str) -> String {
    let (households, members) = match from {
        // `row` is the household's place in storage order, as the snapshot numbers
        // households (`store::households::for_each_location`): not the rowid itself, which an
        // import that replaced every row leaves starting past the old ones.
        FactsFrom::Derived { .. } | FactsFrom::Live => (
            "SELECT (row_number() OVER (ORDER BY rowid) - 1)::UINTEGER AS row, *
             FROM households",
            "members",
        ),
        FactsFrom::Kept => (
            "SELECT 0::UINTEGER AS row, * EXCLUDE (import_id) FROM households_history
             WHERE import_id = ?",
            "(SELECT * EXCLUDE (import_id) FROM members_history WHERE import_id = ?)",
        ),
    };
    // Without the spatial layer a household lies where it is registered and has a
    // position when one was recorded; its GPS cannot be judged.
    let (crosscheck_columns, crosscheck_joins) = match from {
        FactsFrom::Derived { .. } => (
            super::rolls::household_columns(false),
            super::rolls::household_joins(),
        ),
        FactsFrom::Live | FactsFrom::Kept => (super::rolls::household_columns(true), String::new()),
    };
    let (located_village, located_township, has_position, lon, lat, verdict, mismatch, join) =
        match from {
            FactsFrom::Derived { .. } => (
                "CASE WHEN p.row IS NULL THEN h.village_code ELSE p.located_village END",
                "CASE WHEN p.row IS NULL THEN h.township_code ELSE p.located_township END",
                "coalesce(p.has_position, true)",
                "coalesce(p.corrected_lon, h.lon)",
                "coalesce(p.corrected_lat, h.lat)",
                "CASE WHEN p.corrected_crs IS NOT NULL THEN 'offset_' || p.corrected_crs
                      WHEN h.lon IS NOT NULL THEN 'as_declared' END",
                "coalesce(p.mismatch, false)",
                "LEFT JOIN place_exceptions p ON p.row = h.row",
            ),
            FactsFrom::Live | FactsFrom::Kept => (
                "h.village_code",
                "h.township_code",
                "h.lon IS NOT NULL",
                "h.lon",
                "h.lat",
                "CASE WHEN h.lon IS NOT NULL THEN 'as_declared' END",
                "false",
                "",
            ),
        };
    let measures = measure_facts_sql(from);
    format!(
        "WITH m AS (
             SELECT household_no,
                    count_if(age BETWEEN {SCHOOL_AGE_MIN} AND {SCHOOL_AGE_MAX}) AS school_age_persons,
                    count_if(age BETWEEN {SCHOOL_AGE_MIN} AND {SCHOOL_AGE_MAX}
                             AND schooling = 'out_of_school') AS dropout_persons,
                    count_if(NOT medical_insured) AS uninsured_persons,
                    count(*) AS persons
             FROM {members} GROUP BY household_no
         ){cte}, h AS (
             {households}
         ), f AS (
             SELECT h.row, h.household_no, h.village_code, h.township_code, h.category,
                    {located_village} AS located_village,
                    {located_township} AS located_township,
                    {has_position} AS has_position,
                    {lon} AS position_lon,
                    {lat} AS position_lat,
                    {verdict} AS position_verdict,
                    {mismatch} AS gps_mismatch,
                    h.income_per_capita < {line_sql} AS income_below_line,
                    NOT (h.food_secure AND h.clothing_secure) AS food_clothing_insecure,
                    coalesce(m.school_age_persons, 0)::UTINYINT AS school_age_persons,
                    coalesce(m.dropout_persons, 0)::UTINYINT AS dropout_persons,
                    coalesce(m.uninsured_persons, 0)::UTINYINT AS uninsured_persons,
                    coalesce(m.persons, 0)::UTINYINT AS persons,
                    h.house_occupied AND h.house_grade IN ('C', 'D') AS unsafe_housing,
                    h.house_grade = 'unappraised' AS housing_unappraised,
                    NOT h.water_safe AS water_unsafe,
                    NOT h.water_piped AS water_not_piped,
                    h.category IN ('monitored_unstable', 'monitored_marginal', 'monitored_sudden')
                        AS monitored,
                    h.risk_state IS NOT DISTINCT FROM 'unresolved' AS risk_state_unresolved,
                    {no_development} AS no_development_measure,
                    {needs} AS risk_needs_measure,
                    {unmet} AS risk_without_measure
                    {crosscheck_columns}
             FROM h
             {join}
             LEFT JOIN m ON m.household_no = h.household_no
             {measures_join}
             {crosscheck_joins}
         )
         SELECT * EXCLUDE (risk_state_unresolved),
                monitored AND risk_state_unresolved AS risk_unresolved,
                coalesce(income_below_line, false) OR food_clothing_insecure
                    OR dropout_persons > 0 OR uninsured_persons > 0 OR unsafe_housing
                    OR housing_unappraised OR water_unsafe OR water_not_piped AS any_problem
         FROM f",
        cte = measures.cte,
        no_development = measures.no_development,
        needs = measures.needs,
        unmet = measures.unmet,
        measures_join = measures.join,
    )
}

/// The SQL of the measure facts (issue 17) for [`facts_sql`].
struct MeasureFactsSql {
    /// `, mh AS (…)`: per household, whether it had a development measure in the year
    /// and the kinds it had.
    cte: String,
    join: &'static str,
    no_development: String,
    needs: String,
    unmet: String,
}

/// The measure facts: derived from `household_measures` of the year, by the kinds'
/// table (`data/aid_measures.toml`: which kinds are development measures, which risks
/// each answers); a version read from the history has no measures of its own, so
/// these are false there (and `store::versions` does not compare them).
fn measure_facts_sql(from: &FactsFrom) -> MeasureFactsSql {
    let FactsFrom::Derived { measures_year } = from else {
        return MeasureFactsSql {
            cte: String::new(),
            join: "",
            no_development: "false".to_owned(),
            needs: "false".to_owned(),
            unmet: "false".to_owned(),
        };
    };
    let kinds = crate::domain::aid::MeasureKinds::builtin();
    // Codes of closed enums, so safe to inline.
    let quoted = |codes: &mut dyn Iterator<Item = &'static str>| {
        codes
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let development = quoted(&mut kinds.development().map(crate::domain::AidMeasure::code));
    let year = measures_year.map_or_else(|| "NULL".to_owned(), |y| y.to_string());
    let answers = kinds.answers();
    let risks = "list_concat([h.risk_type], string_split(coalesce(h.other_risks, ''), ','))";
    let answered = quoted(&mut answers.iter().map(|(r, _)| r.code()));
    let unmet = answers
        .iter()
        .map(|(risk, by)| {
            let by = quoted(&mut by.iter().map(|m| m.code()));
            format!(
                "(list_contains({risks}, '{}') AND NOT list_has_any(coalesce(mh.kinds, []::VARCHAR[]), [{by}]))",
                risk.code()
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    MeasureFactsSql {
        cte: format!(
            ", mh AS (
                 SELECT household_no, bool_or(measure IN ({development})) AS has_development,
                        list(DISTINCT measure) AS kinds
                 FROM household_measures WHERE year = {year} GROUP BY household_no
             )"
        ),
        join: "LEFT JOIN mh ON mh.household_no = h.household_no",
        no_development:
            "h.category IN ('monitored_unstable', 'monitored_marginal', 'monitored_sudden')
             AND NOT coalesce(mh.has_development, false)"
                .to_owned(),
        needs: if answered.is_empty() {
            "false".to_owned()
        } else {
            format!("coalesce(list_has_any({risks}, [{answered}]), false)")
        },
        unmet: if unmet.is_empty() {
            "false".to_owned()
        } else {
            format!("coalesce({unmet}, false)")
        },
    }
}

/// Reads, in row order, what each household adds to every measure, from
/// `household_indicators`: `row(category, count_bits, denominator_bits, persons)`
/// where bit `m.index()` stands for household measure `m` and `persons` holds the
/// count and denominator of each person measure (in [`MeasureId::persons`] order).
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Invalid`] for an unknown
/// category.
fn for_each_fact(
    conn: &Connection,
    mut row: impl FnMut(Category, u32, u32, &[[u8; 2]]),
) -> Result<(), StoreError> {
    let bits = |f: fn(&Measure) -> &'static str| {
        MEASURES
            .iter()
            .filter(|m| m.unit() == Unit::Households)
            .map(|m| format!("(({})::UINTEGER << {})", f(m), m.id.index()))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let person: Vec<&Measure> = MeasureId::persons().map(Measure::of).collect();
    let person_cols: String = person.iter().fold(String::new(), |mut out, m| {
        let _ = write!(
            out,
            ", ({})::UTINYINT, ({})::UTINYINT",
            m.count, m.denominator
        );
        out
    });
    let sql = format!(
        "SELECT category, {} AS c, {} AS d{person_cols} FROM household_indicators ORDER BY row",
        bits(|m| m.count),
        bits(|m| m.denominator)
    );
    let mut stmt = conn.prepare(&sql).context("prepare indicator facts")?;
    let mut persons = vec![[0_u8; 2]; person.len()];
    // Whole columns of Arrow batches, not cells through `Row::get`: 10 million rows
    // of 3 + 2 × persons cells were 2.4 s of a start that way.
    for batch in stmt.query_arrow([]).context("read indicator facts")? {
        const WHAT: &str = "indicator facts";
        // Every cell has a value (a cell read alone would refuse a NULL; an array's
        // NULL reads as 0).
        if let Some(i) = (0..batch.num_columns()).find(|&i| batch.column(i).null_count() > 0) {
            return Err(StoreError::Invalid(format!(
                "{WHAT}: column {i} holds NULL"
            )));
        }
        let categories = super::column::<StringArray>(&batch, 0, WHAT, "text")?;
        let counts = super::column::<UInt32Array>(&batch, 1, WHAT, "a UINTEGER")?;
        let denominators = super::column::<UInt32Array>(&batch, 2, WHAT, "a UINTEGER")?;
        let person_columns = (0..person.len())
            .map(|j| {
                Ok((
                    super::column::<UInt8Array>(&batch, 3 + 2 * j, WHAT, "a UTINYINT")?,
                    super::column::<UInt8Array>(&batch, 4 + 2 * j, WHAT, "a UTINYINT")?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for r in 0..batch.num_rows() {
            let code = categories.value(r);
            let category = Category::from_code(code).ok_or_else(|| {
                StoreError::Invalid(format!("unknown household category {code:?}"))
            })?;
            for (p, (count, denominator)) in persons.iter_mut().zip(&person_columns) {
                *p = [count.value(r), denominator.value(r)];
            }
            row(category, counts.value(r), denominators.value(r), &persons);
        }
    }
    Ok(())
}

/// The stamp of the derivation `household_indicators` holds (data version, rules and
/// poverty line), if any.
///
/// # Errors
/// [`StoreError::Query`] if the meta table cannot be read.
pub fn stamp_held(conn: &Connection) -> Result<Option<String>, StoreError> {
    super::meta(conn, "indicators_stamp")
}

/// Reads, in row order, what each household adds to every measure, from
/// `household_indicators`: `row(category, count_bits, denominator_bits, persons)` (see
/// `for_each_fact`); and the stamp of the table it read ([`stamp_held`]), in one read
/// transaction: a start reads the facts beside the places, before it knows whether the
/// table is the one it needs, and keeps them only if the stamp is.
///
/// # Errors
/// [`StoreError::Query`] if the query fails, [`StoreError::Invalid`] for an unknown
/// category or a NULL.
pub fn for_each_fact_stamped(
    conn: &Connection,
    row: impl FnMut(Category, u32, u32, &[[u8; 2]]),
) -> Result<Option<String>, StoreError> {
    conn.execute_batch("BEGIN TRANSACTION")
        .context("begin reading indicator facts")?;
    let read = stamp_held(conn).and_then(|stamp| for_each_fact(conn, row).map(|()| stamp));
    // A read transaction has nothing to keep: its end cannot lose anything.
    let _ = conn.execute_batch(if read.is_ok() { "COMMIT" } else { "ROLLBACK" });
    read
}

/// Which households a query covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HouseholdFilter {
    /// Only households of this township (9 digits) or village (12 digits); `None`: all.
    pub within: Option<String>,
    /// Use the located village and township instead of the registered ones.
    pub by_location: bool,
    /// Only households of these categories; empty: all.
    pub categories: Vec<Category>,
}

/// How [`stats`] groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One row for everything in scope.
    All,
    /// One row per township.
    Township,
    /// One row per village.
    Village,
    /// One row per county (6), city (4) or province (2): the villages whose code
    /// begins with its code.
    Prefix(usize),
}

/// One group's figures: households in it, then (count, denominator) per measure asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    /// The township or village code; `None` for [`GroupBy::All`], or for households
    /// with no located area under `by_location`.
    pub code: Option<String>,
    /// Households in the group.
    pub households: i64,
    /// Per measure asked, in the order asked: (count, denominator).
    pub values: Vec<(i64, i64)>,
}

/// `, sum(count), sum(denominator)` per measure, for the SELECT of a GROUP BY.
pub(super) fn sums_sql(measures: &[MeasureId]) -> String {
    measures.iter().fold(String::new(), |mut out, &m| {
        let m = Measure::of(m);
        let _ = write!(
            out,
            ", sum({})::BIGINT, sum({})::BIGINT",
            m.count, m.denominator
        );
        out
    })
}

/// The WHERE clause of a scope, with its one optional parameter.
fn scope_sql(scope: &HouseholdFilter) -> (String, Option<String>) {
    let mut clauses = Vec::new();
    let mut param = None;
    let (village, township) = if scope.by_location {
        ("located_village", "located_township")
    } else {
        ("village_code", "township_code")
    };
    if let Some(code) = &scope.within {
        clauses.push(match code.len() {
            12 => format!("{village} = ?"),
            9 => format!("{township} = ?"),
            // A county, city or province: every village whose code it begins.
            _ => format!("starts_with({village}, ?)"),
        });
        param = Some(code.clone());
    } else if scope.by_location {
        // By location a household counts only where it lies: in some village.
        clauses.push("located_village IS NOT NULL".to_owned());
    }
    if !scope.categories.is_empty() {
        // Codes of a closed enum, so safe to inline.
        let list: Vec<String> = scope
            .categories
            .iter()
            .map(|c| format!("'{}'", c.code()))
            .collect();
        clauses.push(format!("category IN ({})", list.join(", ")));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, param)
}

/// Households registered in the scope's area (and of its categories) whose position
/// lies in no village: no usable position, or outside every village. Counted by
/// location they are nowhere, so every level reports them apart.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn unlocated(conn: &Connection, scope: &HouseholdFilter) -> Result<i64, StoreError> {
    let registered = HouseholdFilter {
        by_location: false,
        ..scope.clone()
    };
    let (filter, param) = scope_sql(&registered);
    let nowhere = if filter.is_empty() {
        "WHERE located_village IS NULL".to_owned()
    } else {
        format!("{filter} AND located_village IS NULL")
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT count(*) FROM household_indicators {nowhere}"
        ))
        .context("prepare unlocated households")?;
    match &param {
        Some(p) => stmt.query_row([p], |r| r.get(0)),
        None => stmt.query_row([], |r| r.get(0)),
    }
    .context("count unlocated households")
}

/// The SQL of [`stats`], for benchmarks that time DuckDB alone on the same query.
#[must_use]
pub fn stats_sql(
    measures: &[MeasureId],
    group: GroupBy,
    scope: &HouseholdFilter,
) -> (String, Option<String>) {
    let village = if scope.by_location {
        "located_village"
    } else {
        "village_code"
    };
    let key = match (group, scope.by_location) {
        (GroupBy::All, _) => None,
        (GroupBy::Township, false) => Some("township_code".to_owned()),
        (GroupBy::Township, true) => Some("located_township".to_owned()),
        (GroupBy::Village, _) => Some(village.to_owned()),
        (GroupBy::Prefix(n), _) => Some(format!("substr({village}, 1, {n})")),
    };
    let sums = sums_sql(measures);
    let (filter, param) = scope_sql(scope);
    let sql = match key {
        Some(k) => format!(
            "SELECT {k}, count(*){sums} FROM household_indicators {filter} GROUP BY {k} ORDER BY {k}"
        ),
        None => format!("SELECT NULL::VARCHAR, count(*){sums} FROM household_indicators {filter}"),
    };
    (sql, param)
}

/// Households and the count and denominator of each measure, per group. Groups with
/// no household in scope have no row.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn stats(
    conn: &Connection,
    measures: &[MeasureId],
    group: GroupBy,
    scope: &HouseholdFilter,
) -> Result<Vec<StatsRow>, StoreError> {
    let households: Vec<MeasureId> = measures
        .iter()
        .copied()
        .filter(|m| !m.is_ledger())
        .collect();
    let ledger: Vec<MeasureId> = measures.iter().copied().filter(|m| m.is_ledger()).collect();
    let mut rows = household_stats(conn, &households, group, scope)?;
    if ledger.is_empty() {
        return Ok(rows);
    }
    let mut by_code: std::collections::HashMap<Option<String>, Vec<(i64, i64)>> =
        ledger_stats(conn, &ledger, group, scope)?
            .into_iter()
            .map(|r| (r.code, r.values))
            .collect();
    // Put the ledger values back in the order asked.
    let merge = |hv: &[(i64, i64)], lv: Option<&Vec<(i64, i64)>>| -> Vec<(i64, i64)> {
        let mut h = hv.iter();
        let mut l = lv.map(|v| v.iter());
        measures
            .iter()
            .map(|m| {
                if m.is_ledger() {
                    l.as_mut()
                        .and_then(Iterator::next)
                        .copied()
                        .unwrap_or((0, 0))
                } else {
                    h.next().copied().unwrap_or((0, 0))
                }
            })
            .collect()
    };
    for r in &mut rows {
        let lv = by_code.remove(&r.code);
        r.values = merge(&r.values, lv.as_ref());
    }
    // Villages with a ledger but no household in scope still get their row.
    for (code, lv) in by_code {
        rows.push(StatsRow {
            values: merge(&[], Some(&lv)),
            code,
            households: 0,
        });
    }
    Ok(rows)
}

/// Figures of village-level measures over the ledger entries of each village's latest
/// campaign (by end date), grouped like [`stats`]. Categories and `by_location` do not apply:
/// a ledger belongs to its village.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn ledger_stats(
    conn: &Connection,
    measures: &[MeasureId],
    group: GroupBy,
    scope: &HouseholdFilter,
) -> Result<Vec<StatsRow>, StoreError> {
    let key = match group {
        GroupBy::All => "NULL::VARCHAR".to_owned(),
        GroupBy::Township => "substr(village_code, 1, 9)".to_owned(),
        GroupBy::Village => "village_code".to_owned(),
        GroupBy::Prefix(n) => format!("substr(village_code, 1, {n})"),
    };
    let sums = sums_sql(measures);
    let filter = if scope.within.is_some() {
        "WHERE starts_with(village_code, ?)"
    } else {
        ""
    };
    let group_by = if group == GroupBy::All {
        ""
    } else {
        "GROUP BY 1"
    };
    // The ledger's entries, then the exit items and screened candidates of
    // store::exits when a measure asks for them.
    let exit = measures.contains(&MeasureId::ExitFailingItems);
    let inclusion = measures.contains(&MeasureId::InclusionCandidates);
    let village_rows = if exit || inclusion {
        format!(
            " UNION ALL SELECT village_code, source, NULL, NULL, NULL, passed, decision
              FROM ({})",
            super::exits::village_rows_sql(exit, inclusion)
        )
    } else {
        String::new()
    };
    let sql = format!(
        "WITH {}, items AS (
             SELECT village_code, 'ledger' AS source, status, deadline, as_of,
                    NULL::BOOLEAN AS passed, NULL::VARCHAR AS decision
             FROM entries{village_rows}
         )
         SELECT {key}, count(*){sums} FROM items {filter} {group_by}",
        super::ledger::LATEST_ENTRIES
    );
    let mut stmt = conn.prepare(&sql).context("prepare ledger stats")?;
    let map = |r: &duckdb::Row<'_>| -> duckdb::Result<StatsRow> {
        let mut values = Vec::with_capacity(measures.len());
        for j in 0..measures.len() {
            let count: Option<i64> = r.get(2 + 2 * j)?;
            let denominator: Option<i64> = r.get(3 + 2 * j)?;
            values.push((count.unwrap_or(0), denominator.unwrap_or(0)));
        }
        Ok(StatsRow {
            code: r.get(0)?,
            households: 0,
            values,
        })
    };
    // Today in China: DuckDB's current_date would need the ICU extension, which
    // an offline server cannot load.
    let today = crate::domain::calendar::today();
    let rows: Vec<StatsRow> = match &scope.within {
        Some(w) => stmt.query_map([&today, w], map),
        None => stmt.query_map([&today], map),
    }
    .context("run ledger stats")?
    .collect::<Result<_, _>>()
    .context("read ledger stats")?;
    // With no campaign at all, the one ungrouped row counts nothing: no row.
    Ok(rows
        .into_iter()
        .filter(|r| group != GroupBy::All || r.values.iter().any(|v| v.1 > 0 || v.0 > 0))
        .collect())
}

/// Households and the household measures' figures, per group (see [`stats`]).
fn household_stats(
    conn: &Connection,
    measures: &[MeasureId],
    group: GroupBy,
    scope: &HouseholdFilter,
) -> Result<Vec<StatsRow>, StoreError> {
    let (sql, param) = stats_sql(measures, group, scope);
    let mut stmt = conn.prepare(&sql).context("prepare stats")?;
    let map = |r: &duckdb::Row<'_>| -> duckdb::Result<StatsRow> {
        let mut values = Vec::with_capacity(measures.len());
        for j in 0..measures.len() {
            let count: Option<i64> = r.get(2 + 2 * j)?;
            let denominator: Option<i64> = r.get(3 + 2 * j)?;
            values.push((count.unwrap_or(0), denominator.unwrap_or(0)));
        }
        Ok(StatsRow {
            code: r.get(0)?,
            households: r.get(1)?,
            values,
        })
    };
    let rows = match &param {
        Some(p) => stmt.query_map([p], map),
        None => stmt.query_map([], map),
    }
    .context("run stats")?;
    rows.collect::<Result<_, _>>().context("read stats rows")
}

/// A page of the households failing a measure, in village and household-number order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingPage {
    /// Households failing it in scope, in all.
    pub total: i64,
    /// The page's households: (row, household number).
    pub rows: Vec<(u32, String)>,
}

/// The households of a scope whose count of `measure` is above zero; `None` lists
/// every household in scope.
///
/// # Errors
/// [`StoreError::Query`] if the query fails.
pub fn households_failing(
    conn: &Connection,
    measure: Option<MeasureId>,
    scope: &HouseholdFilter,
    limit: usize,
    offset: usize,
) -> Result<FailingPage, StoreError> {
    let (filter, param) = scope_sql(scope);
    let failing = measure.map(|m| format!("({}) > 0", Measure::of(m).count));
    let filter = match (filter.is_empty(), failing) {
        (_, None) => filter,
        (true, Some(f)) => format!("WHERE {f}"),
        (false, Some(f)) => format!("{filter} AND {f}"),
    };
    let sql = format!(
        "SELECT row, household_no FROM household_indicators {filter}
         ORDER BY village_code, household_no LIMIT {limit} OFFSET {offset}"
    );
    let count_sql = format!("SELECT count(*) FROM household_indicators {filter}");
    let mut stmt = conn.prepare(&sql).context("prepare failing households")?;
    let map = |r: &duckdb::Row<'_>| Ok((r.get(0)?, r.get(1)?));
    let rows: Vec<(u32, String)> = match &param {
        Some(p) => stmt.query_map([p], map),
        None => stmt.query_map([], map),
    }
    .context("run failing households")?
    .collect::<Result<_, _>>()
    .context("read failing households")?;
    let mut count = conn.prepare(&count_sql).context("prepare failing count")?;
    let total: i64 = match &param {
        Some(p) => count.query_row([p], |r| r.get(0)),
        None => count.query_row([], |r| r.get(0)),
    }
    .context("count failing households")?;
    Ok(FailingPage { total, rows })
}

/// The facts of a household that the indicators judge, for showing why it fails.
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one yes/no fact of the questionnaire"
)]
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdFacts {
    /// Household number.
    pub household_no: String,
    /// Registered village.
    pub village_code: String,
    /// Registered township.
    pub township_code: String,
    /// Category code.
    pub category: String,
    /// Risk type code, for monitored households.
    pub risk_type: Option<String>,
    /// Risk state code, for monitored households.
    pub risk_state: Option<String>,
    /// 人均纯收入, yuan.
    pub income_per_capita: f64,
    /// House grade code.
    pub house_grade: String,
    /// Lives in the house.
    pub house_occupied: bool,
    /// 饮水安全.
    pub water_safe: bool,
    /// 自来水入户.
    pub water_piped: bool,
    /// 不愁吃.
    pub food_secure: bool,
    /// 不愁穿.
    pub clothing_secure: bool,
    /// Members, in register order: (name, age, schooling code, insured). Names are
    /// sensitive: callers mask them.
    pub members: Vec<MemberFacts>,
    /// What the household receives and the monitoring dates, as the export recorded
    /// them (no indicator judges these; the household's view shows them).
    pub support: SupportFacts,
}

/// A household's support and monitoring record, stored codes as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupportFacts {
    /// Risks 2–5 (致贫/返贫风险2–5): codes joined by ','.
    pub other_risks: Option<String>,
    /// 风险消除方式 code.
    pub risk_elimination: Option<String>,
    /// 识别监测时间, `YYYY-MM`.
    pub identified_month: Option<String>,
    /// 消除监测时间, `YYYY-MM`.
    pub eliminated_month: Option<String>,
    /// 是否有卫生厕所.
    pub sanitary_toilet: Option<bool>,
    /// 享受低保/特困供养政策情况 code.
    pub relief: Option<String>,
    /// 帮扶措施: codes joined by ','.
    pub aid_measures: Option<String>,
    /// The measures of every year (`household_measures`), latest year first.
    pub measures: Vec<super::measures::MeasureRow>,
    /// The year the measure indicators judge.
    pub measures_year: Option<i32>,
}

/// A member's facts that the indicators judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    /// Full name (sensitive: callers mask it).
    pub name: String,
    /// Age in years.
    pub age: u8,
    /// Schooling code, for ages 6 to 15.
    pub schooling: Option<String>,
    /// Enrolled in basic medical insurance.
    pub medical_insured: bool,
}

/// A household's row in the snapshot's order, if the number is registered.
///
/// # Errors
///
/// The query fails.
pub fn household_row(conn: &Connection, household_no: &str) -> Result<Option<u32>, StoreError> {
    conn.prepare_cached("SELECT row FROM household_indicators WHERE household_no = ?")
        .context("prepare household row")?
        .query_row([household_no], |r| r.get(0))
        .optional()
        .context("read household row")
}

/// The facts of the listed households, keyed by household number.
///
/// # Errors
/// [`StoreError::Query`] if a query fails.
pub fn household_facts(
    conn: &Connection,
    household_nos: &[&str],
) -> Result<std::collections::HashMap<String, HouseholdFacts>, StoreError> {
    let mut out = std::collections::HashMap::new();
    if household_nos.is_empty() {
        return Ok(out);
    }
    let list = household_nos.join(",");
    let mut stmt = conn
        .prepare_cached(
            "SELECT household_no, village_code, township_code, category, risk_type, risk_state,
                    income_per_capita, house_grade, house_occupied, water_safe, water_piped,
                    food_secure, clothing_secure, other_risks, risk_elimination,
                    identified_month, eliminated_month, sanitary_toilet, relief, aid_measures
             FROM households WHERE household_no IN (SELECT unnest(string_split(?, ',')))",
        )
        .context("prepare household facts")?;
    let rows = stmt
        .query_map([&list], |r| {
            Ok(HouseholdFacts {
                household_no: r.get(0)?,
                village_code: r.get(1)?,
                township_code: r.get(2)?,
                category: r.get(3)?,
                risk_type: r.get(4)?,
                risk_state: r.get(5)?,
                income_per_capita: r.get(6)?,
                house_grade: r.get(7)?,
                house_occupied: r.get(8)?,
                water_safe: r.get(9)?,
                water_piped: r.get(10)?,
                food_secure: r.get(11)?,
                clothing_secure: r.get(12)?,
                members: Vec::new(),
                support: SupportFacts {
                    other_risks: r.get(13)?,
                    risk_elimination: r.get(14)?,
                    identified_month: r.get(15)?,
                    eliminated_month: r.get(16)?,
                    sanitary_toilet: r.get(17)?,
                    relief: r.get(18)?,
                    aid_measures: r.get(19)?,
                    measures: Vec::new(),
                    measures_year: None,
                },
            })
        })
        .context("read household facts")?;
    for h in rows {
        let h = h.context("read household fact row")?;
        out.insert(h.household_no.clone(), h);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT household_no, name, age, schooling, medical_insured FROM members
             WHERE household_no IN (SELECT unnest(string_split(?, ','))) ORDER BY household_no, seq",
        )
        .context("prepare member facts")?;
    let rows = stmt
        .query_map([&list], |r| {
            Ok((
                r.get::<_, String>(0)?,
                MemberFacts {
                    name: r.get(1)?,
                    age: r.get(2)?,
                    schooling: r.get(3)?,
                    medical_insured: r.get(4)?,
                },
            ))
        })
        .context("read member facts")?;
    for m in rows {
        let (no, m) = m.context("read member fact row")?;
        if let Some(h) = out.get_mut(&no) {
            h.members.push(m);
        }
    }
    let year = super::measures::current_year(conn)?;
    for (no, measures) in super::measures::of_households(conn, household_nos)? {
        if let Some(h) = out.get_mut(&no) {
            h.support.measures = measures;
        }
    }
    for h in out.values_mut() {
        h.support.measures_year = year;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measure_has_its_rule_at_its_index() {
        assert_eq!(MEASURES.len(), MeasureId::ALL.len());
        for (m, id) in MEASURES.iter().zip(MeasureId::ALL) {
            assert_eq!(m.id, *id);
            assert_eq!(Measure::of(*id).id, *id);
        }
        assert_eq!(measure("dropout").map(|m| m.id), Some(MeasureId::Dropout));
        assert!(measure("nope").is_none());
    }
}
