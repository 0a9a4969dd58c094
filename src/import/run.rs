//! One import from start to end, the same for the command line and the upload API:
//! the files read and judged against the stored data (the dry run, [`plan`]), then the
//! plan written as a new data version ([`commit`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use duckdb::Connection;

use super::{Report, boundaries, divisions, households, measures, rolls, village_form};
use crate::store::areas::AreaFilter;
use crate::store::{self, StoreError};

/// Largest spreadsheet a household or GPS import reads (before its own cell limits).
pub const SPREADSHEET_BYTES: u64 = 1 << 30;

/// What to import, with what the user says about the files.
#[derive(Debug, Clone)]
pub enum Request {
    /// Division codes (统计用区划代码).
    Divisions(divisions::Options),
    /// Village, township or county boundaries.
    Boundaries(boundaries::Options),
    /// Households and their members from the national systems' exports.
    Households(households::Options),
    /// The positioning app's table of household positions.
    Gps(households::columns::Vocabulary),
    /// A department's roll (行业部门数据) of one kind.
    Roll(Box<rolls::Options>),
    /// A department's measures file (帮扶措施清单).
    Measures(measures::Options),
    /// The village information form (贫困村信息采集表), read by the exit standard's
    /// columns.
    VillageForm(Box<crate::domain::exits::ExitStandard>),
}

impl Request {
    /// `divisions`, `boundaries`, `households`, `gps`, `roll`, `measures` or `village_form`: the import's kind as ids,
    /// reports and the list name it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Divisions(_) => "divisions",
            Request::Boundaries(_) => "boundaries",
            Request::Households(_) => "households",
            Request::Gps(_) => "gps",
            Request::Roll(_) => "roll",
            Request::Measures(_) => "measures",
            Request::VillageForm(_) => "village_form",
        }
    }
}

/// A dry run's result: its report and what a commit writes.
#[derive(Debug)]
pub enum Planned {
    /// Divisions to add or change.
    Divisions(divisions::Plan),
    /// New boundaries.
    Boundaries(boundaries::Plan),
    /// The households that replace the stored ones.
    Households(households::Plan),
    /// New positions of stored households.
    Gps(households::gps::Plan),
    /// A department's roll that replaces the stored one of its kind and county.
    Roll(rolls::Plan),
    /// Measures of stored households.
    Measures(measures::Plan),
    /// Village information forms that replace the stored ones of their villages.
    VillageForm(village_form::Plan),
}

impl Planned {
    /// The dry run's report.
    #[must_use]
    pub fn report(&self) -> &Report {
        match self {
            Planned::Divisions(p) => &p.report,
            Planned::Boundaries(p) => &p.report,
            Planned::Households(p) => &p.report,
            Planned::Gps(p) => &p.report,
            Planned::Roll(p) => &p.report,
            Planned::Measures(p) => &p.report,
            Planned::VillageForm(p) => &p.report,
        }
    }

    /// The kind, as [`Request::kind`] names it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Planned::Divisions(_) => "divisions",
            Planned::Boundaries(_) => "boundaries",
            Planned::Households(_) => "households",
            Planned::Gps(_) => "gps",
            Planned::Roll(_) => "roll",
            Planned::Measures(_) => "measures",
            Planned::VillageForm(_) => "village_form",
        }
    }
}

/// Why an import did not read or did not write.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read at all (not a spreadsheet, malformed, over a limit).
    #[error("{file}: {reason}")]
    Read {
        /// The file's name.
        file: String,
        /// What is wrong with it.
        reason: String,
        /// The same in Chinese, for the 数据导入 page.
        reason_zh: String,
    },
    /// The report has errors: nothing may be written until they are fixed.
    #[error("{0} error(s) in the report: nothing was written")]
    Errors(usize),
    /// The files hold nothing to write.
    #[error("{0}")]
    Nothing(&'static str),
    /// The store failed or refused; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RunError {
    /// The reason in Chinese, for the 数据导入 page.
    #[must_use]
    pub fn zh(&self) -> String {
        match self {
            Self::Read {
                file, reason_zh, ..
            } => format!("{file}：{reason_zh}"),
            Self::Errors(n) => format!("检查报告中有 {n} 个错误：未写入任何数据"),
            Self::Nothing(NO_FILE) => "没有上传文件".to_owned(),
            Self::Nothing(NO_DIVISIONS) => "边界要与已存的区划匹配：请先导入区划代码".to_owned(),
            Self::Nothing(NO_HOUSEHOLDS) => {
                "入户定位要与已存的农户匹配：请先导入户籍信息".to_owned()
            }
            Self::Nothing(NO_HOUSEHOLDS_FOR_ROLLS) => {
                "行业部门名单要与已存的农户比对：请先导入户籍信息".to_owned()
            }
            Self::Nothing(NO_DIVISIONS_FOR_FORMS) => {
                "信息采集表要与已存的区划匹配：请先导入区划代码".to_owned()
            }
            Self::Nothing(NO_MEASURE_HOUSEHOLDS) => {
                "帮扶措施要与已存的农户匹配：请先导入户籍信息".to_owned()
            }
            Self::Nothing(other) => (*other).to_owned(),
            Self::Store(_) => "数据库出错，未写入任何数据（详见服务器日志）".to_owned(),
        }
    }
}

const NO_FILE: &str = "no file was given";
const NO_DIVISIONS: &str =
    "boundaries are matched to stored divisions: import the division codes first";
const NO_HOUSEHOLDS: &str =
    "positions are matched to stored households: import the households first";
const NO_HOUSEHOLDS_FOR_ROLLS: &str =
    "rolls are matched to stored households: import the households first";
const NO_DIVISIONS_FOR_FORMS: &str =
    "village forms are matched to stored divisions: import the division codes first";
const NO_MEASURE_HOUSEHOLDS: &str =
    "measures are matched to stored households: import the households first";

/// Rows read so far by a dry run under way, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress(AtomicU64);

impl Progress {
    /// Rows (or features) read so far.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self, rows: u64) {
        self.0.fetch_add(rows, Ordering::Relaxed);
    }
}

/// A file's name without its folder, as reports name it.
#[must_use]
pub fn file_name(file: &Path) -> String {
    file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A file's bytes, refused before reading when it is larger than `limit`.
fn read_bounded(file: &Path, limit: u64) -> Result<Vec<u8>, RunError> {
    let failed = |reason: String, reason_zh: String| RunError::Read {
        file: file_name(file),
        reason,
        reason_zh,
    };
    let unreadable =
        |e: std::io::Error| failed(format!("cannot read it: {e}"), format!("无法读取（{e}）"));
    let size = std::fs::metadata(file).map_err(unreadable)?.len();
    if size > limit {
        return Err(failed(
            format!("{size} bytes, over the limit of {limit} bytes"),
            format!("{size} 字节，超过 {limit} 字节的上限"),
        ));
    }
    std::fs::read(file).map_err(unreadable)
}

/// Reads the files and judges them against what `conn` holds (nothing, for divisions
/// into a database not created yet): the dry run. Boundaries come as one file (a
/// GeoJSON, `GeoPackage` or zip) or a Shapefile's parts side by side, of which the `.shp`
/// is read.
///
/// # Errors
/// [`RunError::Read`] naming the file that could not be read; [`RunError::Store`] when
/// the stored data cannot be read.
pub fn plan(
    conn: Option<&Connection>,
    request: &Request,
    files: &[PathBuf],
    progress: &Progress,
) -> Result<Planned, RunError> {
    let stored_areas = || match conn {
        Some(c) => store::areas::list(c, &AreaFilter::default()),
        None => Ok(Vec::new()),
    };
    let Some(first) = files.first() else {
        return Err(RunError::Nothing(NO_FILE));
    };
    match request {
        Request::Divisions(options) => {
            let bytes = read_bounded(first, divisions::LIMITS.unzipped_bytes)?;
            let sheets = divisions::read(&bytes).map_err(|e| RunError::Read {
                file: file_name(first),
                reason: e.to_string(),
                reason_zh: e.zh(),
            })?;
            let stored = stored_areas()?;
            Ok(Planned::Divisions(divisions::plan(
                &file_name(first),
                &sheets,
                &stored,
                options,
            )))
        }
        Request::Boundaries(options) => {
            let conn = conn.ok_or(RunError::Nothing(NO_DIVISIONS))?;
            // A Shapefile's parts come side by side; the .shp names them.
            let file = files
                .iter()
                .find(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")))
                .unwrap_or(first);
            let layers = crate::formats::vector::read_path(
                file,
                &crate::formats::vector::VectorLimits::IMPORT,
            )
            .map_err(|e| RunError::Read {
                file: file_name(file),
                reason: e.to_string(),
                reason_zh: e.zh(),
            })?;
            progress.add(layers.iter().map(|l| l.features.len() as u64).sum());
            let areas = store::areas::records(conn, &AreaFilter::default())?;
            let positions = store::households::positions_by_village(conn)?;
            Ok(Planned::Boundaries(boundaries::plan(
                &file_name(file),
                &layers,
                &boundaries::Stored {
                    areas: &areas,
                    positions: &positions,
                },
                options,
            )))
        }
        Request::Households(options) => {
            let mut read = Vec::with_capacity(files.len());
            for file in files {
                read.push((file_name(file), read_bounded(file, SPREADSHEET_BYTES)?));
            }
            let stored = stored_areas()?;
            households::plan(&read, &stored, options, progress)
                .map(Planned::Households)
                .map_err(|(file, e)| RunError::Read {
                    file,
                    reason: e.to_string(),
                    reason_zh: e.zh(),
                })
        }
        Request::Gps(vocabulary) => {
            let conn = conn.ok_or(RunError::Nothing(NO_HOUSEHOLDS))?;
            let bytes = read_bounded(first, SPREADSHEET_BYTES)?;
            let (households, heads) = store::households::registered(conn)?;
            households::gps::plan(
                &file_name(first),
                &bytes,
                &households::gps::Registered { households, heads },
                vocabulary,
                progress,
            )
            .map(Planned::Gps)
            .map_err(|e| RunError::Read {
                file: file_name(first),
                reason: e.to_string(),
                reason_zh: e.zh(),
            })
        }
        Request::Roll(options) => plan_roll(conn, options, files, progress),
        Request::Measures(options) => plan_measures(conn, first, options, progress),
        Request::VillageForm(standard) => plan_village_form(conn, standard, files, progress),
    }
}

/// The dry run of a department's roll, against the registry's keys.
fn plan_roll(
    conn: Option<&Connection>,
    options: &rolls::Options,
    files: &[PathBuf],
    progress: &Progress,
) -> Result<Planned, RunError> {
    let conn = conn.ok_or(RunError::Nothing(NO_HOUSEHOLDS_FOR_ROLLS))?;
    let mut read = Vec::with_capacity(files.len());
    for file in files {
        read.push((file_name(file), read_bounded(file, SPREADSHEET_BYTES)?));
    }
    let registry = store::rolls::registry_keys(conn)?;
    rolls::plan(&read, options, &registry, progress)
        .map(Planned::Roll)
        .map_err(|(file, e)| RunError::Read {
            file,
            reason: e.to_string(),
            reason_zh: e.zh(),
        })
}

/// The dry run of village information forms, against the stored divisions.
fn plan_village_form(
    conn: Option<&Connection>,
    standard: &crate::domain::exits::ExitStandard,
    files: &[PathBuf],
    progress: &Progress,
) -> Result<Planned, RunError> {
    let conn = conn.ok_or(RunError::Nothing(NO_DIVISIONS_FOR_FORMS))?;
    let mut read = Vec::with_capacity(files.len());
    for file in files {
        read.push((
            file_name(file),
            read_bounded(file, village_form::LIMITS.unzipped_bytes)?,
        ));
    }
    let areas = store::areas::list(conn, &AreaFilter::default())?;
    village_form::plan(&read, standard, &areas, progress)
        .map(Planned::VillageForm)
        .map_err(|(file, e)| RunError::Read {
            file,
            reason: e.to_string(),
            reason_zh: e.zh(),
        })
}

/// Writes village information forms (see [`commit`]).
fn commit_village_form(
    conn: &Connection,
    plan: &village_form::Plan,
    (id, source, now): (&str, &str, &str),
    json: &str,
) -> Result<i64, RunError> {
    if plan.rows.is_empty() {
        return Err(RunError::Nothing(
            "no village in the form: nothing was written",
        ));
    }
    Ok(store::exits::commit_form(
        conn,
        (id, source, now),
        json,
        &plan.rows,
    )?)
}

/// The dry run of a measures file against the stored households.
fn plan_measures(
    conn: Option<&Connection>,
    file: &Path,
    options: &measures::Options,
    progress: &Progress,
) -> Result<Planned, RunError> {
    let conn = conn.ok_or(RunError::Nothing(NO_MEASURE_HOUSEHOLDS))?;
    let bytes = read_bounded(file, SPREADSHEET_BYTES)?;
    let (households, heads) = store::households::registered(conn)?;
    measures::plan(
        &file_name(file),
        &bytes,
        &households::gps::Registered { households, heads },
        options,
        progress,
    )
    .map(Planned::Measures)
    .map_err(|e| RunError::Read {
        file: file_name(file),
        reason: e.to_string(),
        reason_zh: e.zh(),
    })
}

/// The measures of a household export's 帮扶措施 columns, as rows of `year` (the
/// income year: what the export's measures and incomes are of), each counted under its
/// kind's first department.
#[must_use]
pub fn export_measures(
    households: &[crate::domain::Household],
    year: i32,
) -> Vec<store::measures::MeasureRow> {
    let kinds = crate::domain::aid::MeasureKinds::builtin();
    households
        .iter()
        .flat_map(|h| {
            h.aid_measures.iter().map(|m| store::measures::MeasureRow {
                household_no: h.household_no.clone(),
                year,
                measure: *m,
                department: kinds.default_department(*m).to_owned(),
                amount: None,
                source: "export".to_owned(),
            })
        })
        .collect()
}

/// What a commit wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Committed {
    /// The import's id (`paicha import undo ID`, `POST /api/v1/imports/{id}/undo`).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The new data version.
    pub data_version: i64,
    /// Divisions, boundaries, households or positions written.
    pub written: usize,
    /// Persons written (a household import), for the audit line.
    pub persons: usize,
    /// The data date (数据时间) of a household import.
    pub data_date: Option<String>,
}

/// An import's id: `i-`, the UTC time's digits, then the kind.
#[must_use]
pub fn import_id(now: &str, kind: &str) -> String {
    format!(
        "i-{}-{kind}",
        now.chars().filter(char::is_ascii_digit).collect::<String>()
    )
}

/// Writes a dry run's plan as a new data version under `id`, in one transaction, if
/// its report has no error.
///
/// # Errors
/// [`RunError::Errors`] while the report has errors; [`RunError::Nothing`] when there
/// is nothing to write; [`RunError::Store`] when the store refuses (an id used twice)
/// or fails. Nothing is written then.
pub fn commit(
    conn: &Connection,
    planned: &Planned,
    id: &str,
    now: &str,
) -> Result<Committed, RunError> {
    let report = planned.report();
    let errors = report.errors();
    if errors > 0 {
        return Err(RunError::Errors(errors));
    }
    let json = serde_json::to_string(report)
        .map_err(|e| StoreError::Invalid(format!("the report cannot be written: {e}")))?;
    let source = report.source.as_str();
    let mut committed = Committed {
        id: id.to_owned(),
        kind: planned.kind().to_owned(),
        data_version: 0,
        written: 0,
        persons: 0,
        data_date: None,
    };
    committed.data_version = match planned {
        Planned::Divisions(plan) => {
            if plan.divisions.is_empty() {
                return Err(RunError::Nothing(
                    "every division in the file is stored as it is: nothing to write",
                ));
            }
            committed.written = plan.divisions.len();
            store::imports::commit_divisions(
                conn,
                (id, source, now),
                &json,
                (&plan.divisions, &plan.kept),
            )?
        }
        Planned::Boundaries(plan) => {
            if plan.boundaries.is_empty() {
                return Err(RunError::Nothing(
                    "no feature matched a division: nothing was written",
                ));
            }
            committed.written = plan.boundaries.len();
            store::imports::commit_boundaries(
                conn,
                (id, source, now),
                &json,
                (&plan.boundaries, &plan.kept),
            )?
        }
        Planned::Households(plan) => {
            commit_households(conn, plan, (id, source, now), &json, &mut committed)?
        }
        Planned::Gps(plan) => {
            if plan.positions.is_empty() {
                return Err(RunError::Nothing(
                    "no position matched a household: nothing was written",
                ));
            }
            committed.written = plan.positions.len();
            store::imports::commit_gps(conn, (id, source, now), &json, &plan.positions)?
        }
        Planned::Roll(plan) => {
            if plan.rows.is_empty() {
                return Err(RunError::Nothing("no row in the roll: nothing was written"));
            }
            committed.written = plan.rows.len();
            store::rolls::commit_roll(
                conn,
                (id, source, now),
                &json,
                store::rolls::RollOf {
                    kind: &plan.kind,
                    county: &plan.county,
                },
                &plan.rows,
            )?
        }
        Planned::Measures(plan) => {
            if plan.rows.is_empty() {
                return Err(RunError::Nothing(
                    "no measure matched a household: nothing was written",
                ));
            }
            committed.written = plan.rows.len();
            store::imports::commit_measures(conn, (id, source, now), &json, &plan.rows)?
        }
        Planned::VillageForm(plan) => {
            committed.written = plan.rows.len();
            commit_village_form(conn, plan, (id, source, now), &json)?
        }
    };
    Ok(committed)
}

/// The households arm of [`commit`]: the households, their members and the measures the
/// export lists for the income year, as one data version.
fn commit_households(
    conn: &Connection,
    plan: &households::Plan,
    (id, source, now): (&str, &str, &str),
    json: &str,
    committed: &mut Committed,
) -> Result<i64, RunError> {
    if plan.households.is_empty() {
        return Err(RunError::Nothing(
            "no household in the files: nothing was written",
        ));
    }
    committed.written = plan.households.len();
    committed.persons = plan.households.iter().map(|h| h.members.len()).sum();
    committed.data_date = Some(plan.data_date.clone());
    // Incomes of a data date are the previous year's (the survey's habit), and
    // so are the measures the export lists.
    let income_year = plan.data_date[..4].parse::<i32>().map_or(0, |y| y - 1);
    let measures = export_measures(&plan.households, income_year);
    store::imports::commit_households(
        conn,
        (id, source, now),
        json,
        (&plan.households, &plan.kept),
        &[
            ("data_date", plan.data_date.clone()),
            ("source", "import".to_owned()),
            ("income_year", income_year.to_string()),
        ],
        (income_year, &measures),
    )
    .map_err(RunError::from)
}
