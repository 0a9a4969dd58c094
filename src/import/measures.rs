//! A department's measures file (帮扶措施清单, issue 17): per row a household, by its
//! 户编号 or its head's 证件号码, the year (年度), the measures (a 帮扶措施 column of
//! names, or one column per measure holding 是/否 or an amount), the responsible
//! department (责任部门) and the amount (金额). XLSX or CSV in UTF-8 or GBK, title rows
//! above the header, several sheets; read row by row within the household import's
//! limits.
//!
//! A dry run reports every problem with its file, sheet, row as Excel shows it and
//! column, never an ID number (masked) or a name; a commit writes the rows as a new
//! data version in one transaction, each replacing the stored measures of its
//! household, year and kind, and can be undone.

use std::collections::{BTreeSet, HashMap};

use calamine::Data;

use super::households::columns::{HEADER_SEARCH_ROWS, Layout, Vocabulary, cell_text, find_layout};
use super::households::gps::Registered;
use super::households::{LIMITS, LISTED_PROBLEMS, masked, values};
use super::run::Progress;
use super::{Count, Problem, Report, Severity};
use crate::domain::AidMeasure;
use crate::domain::aid::MeasureKinds;
use crate::formats::sheet::{self, SheetError, StreamedRow};
use crate::store::measures::MeasureRow;

/// The header names this file adds to the household exports' (年度, 责任部门, 金额).
pub const COLUMNS: &str = include_str!("../../data/measure_columns.toml");

/// The fields of the household exports' table a measures file shares.
const SHARED: [&str; 4] = [
    "household_no",
    "head_id_number",
    "id_number",
    "aid_measures",
];

/// The yes/no (or amount) column of each measure, as the household import reads them.
const PER_MEASURE: [(&str, AidMeasure); 10] = [
    ("measure_industry", AidMeasure::Industry),
    ("measure_employment", AidMeasure::Employment),
    ("measure_health", AidMeasure::Health),
    ("measure_education", AidMeasure::Education),
    ("measure_housing", AidMeasure::Housing),
    ("measure_micro_credit", AidMeasure::MicroCredit),
    ("measure_social_security", AidMeasure::SocialSecurity),
    ("measure_living_conditions", AidMeasure::LivingConditions),
    ("measure_public_job", AidMeasure::PublicJob),
    ("measure_water", AidMeasure::Water),
];

/// The header names of a measures file: the shared fields of
/// `data/household_columns.toml` (with an office's additions) and `COLUMNS`.
///
/// # Panics
/// Never: a test reads the embedded table.
#[must_use]
pub fn vocabulary(households: &Vocabulary) -> Vocabulary {
    #[expect(clippy::expect_used, reason = "the embedded table is tested")]
    let mut own: Vocabulary = toml::from_str(COLUMNS).expect("data/measure_columns.toml is valid");
    for (key, spec) in &households.fields {
        if SHARED.contains(&key.as_str()) || PER_MEASURE.iter().any(|(f, _)| f == key) {
            let mut spec = spec.clone();
            spec.required = false;
            own.fields.insert(key.clone(), spec);
        }
    }
    own
}

/// What the user says about the file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The year of rows without one, when the file has no 年度 column or leaves a cell
    /// empty (else a year in a title row, e.g. `2018年产业帮扶台账`).
    pub year: Option<i32>,
    /// The header names (the household table's, with an office's additions).
    pub vocabulary: Option<Vocabulary>,
}

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// The measures, in the file's order.
    pub rows: Vec<MeasureRow>,
}

/// Reads a measures file and matches it to the registered households.
///
/// # Errors
/// [`SheetError`] for a file that is not a spreadsheet or breaks the limits.
pub fn plan(
    file: &str,
    bytes: &[u8],
    registered: &Registered,
    options: &Options,
    progress: &Progress,
) -> Result<Plan, SheetError> {
    let vocabulary = vocabulary(
        &options
            .vocabulary
            .clone()
            .unwrap_or_else(Vocabulary::builtin),
    );
    let mut run = Run {
        file,
        registered,
        kinds: MeasureKinds::builtin(),
        default_year: options.year,
        problems: Vec::new(),
        unlisted: 0,
        rows: Vec::new(),
        households: BTreeSet::new(),
        unknown: 0,
        read: 0,
        found_header: false,
    };
    let mut current: Option<SheetState> = None;
    sheet::stream_rows(bytes, &LIMITS, |row: StreamedRow<'_>| {
        progress.add(1);
        run.read += 1;
        if current.as_ref().is_none_or(|s| s.name != row.sheet) {
            if let Some(mut done) = current.take() {
                run.decide(&mut done, &vocabulary);
            }
            current = Some(SheetState {
                name: row.sheet.to_owned(),
                place: if row.sheet == "CSV" {
                    file.to_owned()
                } else {
                    format!("{file}!{}", row.sheet)
                },
                head: Vec::new(),
                layout: None,
                decided: false,
                year: None,
            });
        }
        let Some(state) = current.as_mut() else {
            return;
        };
        if state.decided {
            if let Some(layout) = &state.layout {
                run.row(state, layout, row.index + 1, row.cells);
            }
        } else {
            state.head.push((row.index, row.cells.to_vec()));
            if row.index + 1 >= HEADER_SEARCH_ROWS {
                run.decide(state, &vocabulary);
            }
        }
    })?;
    if let Some(mut done) = current.take() {
        run.decide(&mut done, &vocabulary);
    }
    if !run.found_header {
        run.problem(
            Severity::Error,
            file.to_owned(),
            None,
            None,
            None,
            "没有找到表头：需要 户编号（或户主证件号码）、年度、帮扶措施（或每项措施一列）等列",
        );
    }
    Ok(run.finish())
}

/// A sheet being read: its first rows until the header is found, then its layout.
struct SheetState {
    name: String,
    /// `file` or `file!sheet`, as problems name it.
    place: String,
    head: Vec<(u32, Vec<Data>)>,
    layout: Option<Layout>,
    decided: bool,
    /// The year of rows without one: the user's, or the title rows'.
    year: Option<i32>,
}

struct Run<'a> {
    file: &'a str,
    registered: &'a Registered,
    kinds: MeasureKinds,
    default_year: Option<i32>,
    problems: Vec<Problem>,
    unlisted: usize,
    rows: Vec<MeasureRow>,
    households: BTreeSet<String>,
    unknown: usize,
    read: usize,
    found_header: bool,
}

impl Run<'_> {
    fn problem(
        &mut self,
        severity: Severity,
        file: String,
        row: Option<u32>,
        column: Option<String>,
        value: Option<String>,
        reason: &str,
    ) {
        if self.problems.len() >= LISTED_PROBLEMS {
            self.unlisted += 1;
            return;
        }
        self.problems.push(Problem {
            severity,
            file,
            row: row.map(|r| r as usize),
            column,
            value,
            reason: reason.to_owned(),
        });
    }

    /// Finds the sheet's header among its first rows and reads the rows below it.
    fn decide(&mut self, state: &mut SheetState, vocabulary: &Vocabulary) {
        if state.decided {
            return;
        }
        state.decided = true;
        let head = std::mem::take(&mut state.head);
        let Some(layout) = find_layout(&head, vocabulary) else {
            return;
        };
        let header_row = Some(layout.header_row + 1);
        let keyed = ["household_no", "head_id_number", "id_number"]
            .iter()
            .any(|f| layout.column(f).is_some());
        let has_measure = layout.column("aid_measures").is_some()
            || PER_MEASURE.iter().any(|(f, _)| layout.column(f).is_some());
        if !keyed || !has_measure {
            let reason = if keyed {
                "缺少帮扶措施列（帮扶措施，或每项措施一列，如 产业帮扶）：该工作表未导入"
            } else {
                "缺少户编号或户主证件号码列：该工作表未导入"
            };
            self.problem(
                Severity::Error,
                state.place.clone(),
                header_row,
                None,
                None,
                reason,
            );
            return;
        }
        self.found_header = true;
        state.year = self.default_year.or_else(|| title_year(&head, &layout));
        if layout.column("measure_year").is_none() && state.year.is_none() {
            self.problem(
                Severity::Error,
                state.place.clone(),
                header_row,
                Some("年度".to_owned()),
                None,
                "没有年度列，标题中也没有年份：请加一列年度，或在命令行给出 --year",
            );
            return;
        }
        for (index, cells) in head.iter().filter(|(i, _)| *i > layout.header_row) {
            self.row(state, &layout, index + 1, cells);
        }
        state.layout = Some(layout);
    }

    /// Reads one row below the header (`at`: the row as Excel shows it).
    fn row(&mut self, state: &SheetState, layout: &Layout, at: u32, cells: &[Data]) {
        let get = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .unwrap_or(&Data::Empty)
        };
        let header = |field: &str| {
            layout
                .column(field)
                .and_then(|c| layout.headers.get(c))
                .cloned()
        };
        let texts = cells.iter().filter_map(cell_text).count();
        if texts == 0
            || cell_text(get("household_no"))
                .is_some_and(|t| Some(&t) == header("household_no").as_ref())
            || cells
                .iter()
                .filter_map(cell_text)
                .any(|t| t.contains("合计") || t.contains("总计") || t.contains("填表"))
        {
            return;
        }
        let Some(household) = self.household(state, at, cells, layout) else {
            return;
        };
        let Some(year) = self.year(state, at, get("measure_year"), header("measure_year")) else {
            return;
        };
        let measures = self.measures(state, at, layout, cells);
        if measures.is_empty() {
            self.problem(
                Severity::Warning,
                state.place.clone(),
                Some(at),
                header("aid_measures"),
                None,
                "该行没有帮扶措施，未导入",
            );
            return;
        }
        let amount = self.amount(state, at, get("amount"), header("amount"), &measures);
        let department = cell_text(get("department"));
        for (measure, own_amount) in &measures {
            self.rows.push(MeasureRow {
                household_no: household.clone(),
                year,
                measure: *measure,
                department: department
                    .clone()
                    .unwrap_or_else(|| self.kinds.default_department(*measure).to_owned()),
                amount: own_amount.or(amount),
                source: self.file.to_owned(),
            });
        }
        self.households.insert(household);
    }

    /// The household a row names, by its number or its head's ID number.
    fn household(
        &mut self,
        state: &SheetState,
        at: u32,
        cells: &[Data],
        layout: &Layout,
    ) -> Option<String> {
        let get = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .unwrap_or(&Data::Empty)
        };
        let head_id = match get("head_id_number") {
            Data::Empty => get("id_number"),
            head => head,
        };
        match (cell_text(get("household_no")), values::id_number(head_id)) {
            (Some(no), _) => {
                if self.registered.households.contains(&no) {
                    return Some(no);
                }
                self.unknown += 1;
                self.problem(
                    Severity::Warning,
                    state.place.clone(),
                    Some(at),
                    Some("户编号".to_owned()),
                    Some(no),
                    "户籍中没有这个户编号，该行未导入",
                );
                None
            }
            (None, Ok(id)) => {
                if let Some(no) = self.registered.heads.get(&id) {
                    return Some(no.clone());
                }
                self.unknown += 1;
                self.problem(
                    Severity::Warning,
                    state.place.clone(),
                    Some(at),
                    Some("证件号码".to_owned()),
                    Some(masked(&id)),
                    "户籍中没有以此证件号码为户主的户，该行未导入",
                );
                None
            }
            (None, Err(problem)) => {
                let shown = match head_id {
                    Data::Float(f) => Some(format!("{f:E}")),
                    other => cell_text(other).map(|t| masked(&t)),
                };
                let reason = if shown.is_some() {
                    problem.reason()
                } else {
                    "既没有户编号，也没有可用的户主证件号码"
                };
                self.problem(
                    Severity::Error,
                    state.place.clone(),
                    Some(at),
                    Some("户编号/证件号码".to_owned()),
                    shown,
                    reason,
                );
                None
            }
        }
    }

    /// The row's year: its cell, else the sheet's.
    fn year(
        &mut self,
        state: &SheetState,
        at: u32,
        cell: &Data,
        header: Option<String>,
    ) -> Option<i32> {
        if cell_text(cell).is_none() {
            if state.year.is_none() {
                self.problem(
                    Severity::Error,
                    state.place.clone(),
                    Some(at),
                    header,
                    None,
                    "年度为空",
                );
            }
            return state.year;
        }
        let year = year_of(cell);
        if year.is_none() {
            self.problem(
                Severity::Error,
                state.place.clone(),
                Some(at),
                header,
                cell_text(cell),
                "年度应为 2000–2100 的年份（如 2018、2018年、2018年度）",
            );
        }
        year
    }

    /// The row's measures, each with its own amount where a per-measure column holds
    /// one: the 帮扶措施 names and the per-measure columns together, each once.
    fn measures(
        &mut self,
        state: &SheetState,
        at: u32,
        layout: &Layout,
        cells: &[Data],
    ) -> Vec<(AidMeasure, Option<f64>)> {
        let mut found: Vec<(AidMeasure, Option<f64>)> = Vec::new();
        let column = |field: &str| layout.column(field);
        if let Some(c) = column("aid_measures")
            && let Some(text) = cells.get(c).and_then(cell_text)
        {
            let (named, unknown) = values::aid_measures(&text);
            found.extend(named.into_iter().map(|m| (m, None)));
            if !unknown.is_empty() {
                self.problem(
                    Severity::Warning,
                    state.place.clone(),
                    Some(at),
                    layout.headers.get(c).cloned(),
                    Some(unknown.join("、")),
                    "不认识的帮扶措施，未导入（同格其余措施已导入）",
                );
            }
        }
        for (field, measure) in PER_MEASURE {
            let Some(c) = column(field) else {
                continue;
            };
            let cell = cells.get(c).unwrap_or(&Data::Empty);
            if cell_text(cell).is_none() {
                continue;
            }
            match (values::yes_no(cell), values::amount(cell)) {
                (Some(true), _) => found.push((measure, None)),
                (None, Some(a)) if a > 0.0 => found.push((measure, Some(a))),
                (Some(false), _) | (None, Some(_)) => {}
                (None, None) => self.problem(
                    Severity::Warning,
                    state.place.clone(),
                    Some(at),
                    layout.headers.get(c).cloned(),
                    cell_text(cell),
                    "应为 是/否 或金额，按未享受计",
                ),
            }
        }
        found.sort_by_key(|(m, _)| *m);
        found.dedup_by(|b, a| {
            // The first keeps an amount the second has.
            if a.0 == b.0 {
                a.1 = a.1.or(b.1);
                true
            } else {
                false
            }
        });
        found
    }

    /// The row's 金额: `None` when empty, not a number (an error) or for several
    /// measures at once (a warning: it cannot be split).
    fn amount(
        &mut self,
        state: &SheetState,
        at: u32,
        cell: &Data,
        header: Option<String>,
        measures: &[(AidMeasure, Option<f64>)],
    ) -> Option<f64> {
        let text = cell_text(cell)?;
        let Some(amount) = values::amount(cell).filter(|a| *a >= 0.0) else {
            self.problem(
                Severity::Error,
                state.place.clone(),
                Some(at),
                header,
                Some(text),
                "金额应为不小于 0 的数（元）",
            );
            return None;
        };
        if measures.len() > 1 {
            self.problem(
                Severity::Warning,
                state.place.clone(),
                Some(at),
                header,
                Some(text),
                "一行有多项措施而只有一个金额，无法分摊：金额未导入（请每项措施一行）",
            );
            return None;
        }
        Some(amount)
    }

    fn finish(mut self) -> Plan {
        if self.unlisted > 0 {
            let errors = self.problems.iter().any(|p| p.severity == Severity::Error);
            self.problems.push(Problem {
                severity: if errors {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                file: self.file.to_owned(),
                row: None,
                column: None,
                value: None,
                reason: format!("另有 {} 个问题未逐条列出", self.unlisted),
            });
        }
        let mut by_year: HashMap<i32, usize> = HashMap::new();
        for r in &self.rows {
            *by_year.entry(r.year).or_default() += 1;
        }
        let mut years: Vec<(i32, usize)> = by_year.into_iter().collect();
        years.sort_unstable();
        let mut counts = vec![
            Count {
                label: "读取的行".into(),
                value: self.read as f64,
            },
            Count {
                label: "导入的措施".into(),
                value: self.rows.len() as f64,
            },
            Count {
                label: "涉及户数".into(),
                value: self.households.len() as f64,
            },
            Count {
                label: "户籍中找不到的行".into(),
                value: self.unknown as f64,
            },
        ];
        counts.extend(years.into_iter().map(|(y, n)| Count {
            label: format!("{y}年度措施"),
            value: n as f64,
        }));
        Plan {
            report: Report {
                kind: "measures".into(),
                source: self.file.to_owned(),
                counts,
                problems: self.problems,
            },
            rows: self.rows,
        }
    }
}

/// A year cell: 2018, 2018.0, `2018`, `2018年`, `2018年度`, within 2000–2100.
fn year_of(cell: &Data) -> Option<i32> {
    let year = match cell {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked to be a whole year"
        )]
        Data::Float(f) if f.fract() == 0.0 => *f as i64,
        Data::Int(i) => *i,
        _ => {
            let text = cell_text(cell)?;
            let digits = text
                .trim()
                .trim_end_matches('度')
                .trim_end_matches('年')
                .trim();
            digits.parse().ok()?
        }
    };
    i32::try_from(year)
        .ok()
        .filter(|y| (2000..=2100).contains(y))
}

/// A year in the title rows above the header (`2018年产业帮扶台账`).
fn title_year(head: &[(u32, Vec<Data>)], layout: &Layout) -> Option<i32> {
    head.iter()
        .filter(|(i, _)| *i < layout.header_row)
        .flat_map(|(_, cells)| cells.iter().filter_map(cell_text))
        .find_map(|text| {
            let chars: Vec<char> = text.chars().collect();
            chars.windows(5).find_map(|w| {
                let digits: String = w[..4].iter().collect();
                (w[4] == '年' && w[..4].iter().all(char::is_ascii_digit))
                    .then(|| digits.parse::<i32>().ok())
                    .flatten()
                    .filter(|y| (2000..=2100).contains(y))
            })
        })
}

#[cfg(test)]
mod tests;
