//! Households and persons from the national systems' exports (建档立卡 2014–2020,
//! 防返贫监测 2021 on): one row per person, the household's fields repeated on every
//! person row, title rows above a header that must be found, several sheets, two
//! vocabularies of header names ([`columns`]), places by name ([`places`]) and the
//! traps of real files ([`values`]: IDs Excel turned into numbers, check digits, dates
//! in four forms, yes and no in five).
//!
//! A dry run reads every row and reports every problem with its file, sheet, row as
//! Excel shows it, column and value (never a name or a whole ID number); a commit
//! replaces the stored households as a new data version, all or nothing, keeping the
//! previous ones so that it can be undone, and keeps every column paicha does not
//! model, per row.

pub mod columns;
pub mod gps;
mod judge;
pub mod layout;
pub mod places;
mod read;
pub mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use calamine::Data;

use self::columns::{HEADER_SEARCH_ROWS, Layout, Vocabulary, cell_text, find_layout};
use self::places::Gazetteer;
use super::run::Progress;
use super::{Count, Problem, Report, Severity};
use crate::domain::{
    AidMeasure, AreaSummary, Category, Crs, DisabilityKind, Education, GpsPoint, Health,
    HouseGrade, Household, LabourSkill, Relation, Relief, RiskElimination, RiskState, RiskType,
    SCHOOL_AGE_MAX, SCHOOL_AGE_MIN, Schooling, Sex, YearMonth,
};
use crate::formats::sheet::{self, Limits, SheetError, StreamedRow};
use crate::store::imports::KeptFeature;

/// What one household file may allocate: a county's million persons in one workbook.
pub const LIMITS: Limits = Limits {
    unzipped_bytes: 2 << 30,
    parts: 1_000,
    rows: 1_048_576,
    columns: 256,
    cells: 80_000_000,
};

/// Problems listed one by one; more are counted in one line, so that a file with an
/// error on every row still gives a report a clerk can open.
pub(crate) const LISTED_PROBLEMS: usize = 5_000;

/// Whether the household model stores a field (every field a layout writes, and the
/// dropout reason folded into schooling); every other column is kept as it came.
fn modelled(field: &str) -> bool {
    layout::FIELDS.contains(&field) || field == "dropout_reason"
}

/// What the user says about the files.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this sheet of each workbook.
    pub sheet: Option<String>,
    /// The date the data describes (数据时间), when no title row says it; ages are
    /// counted to it.
    pub data_date: Option<(i32, u32, u32)>,
    /// The header names (built in, or extended with `--columns`).
    pub vocabulary: Vocabulary,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sheet: None,
            data_date: None,
            vocabulary: Vocabulary::builtin(),
        }
    }
}

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// The households, in the files' order, members head first.
    pub households: Vec<Household>,
    /// Per person row, the columns paicha does not model, as they came.
    pub kept: Vec<KeptFeature>,
    /// The date the data describes (`YYYY-MM-DD`).
    pub data_date: String,
}

/// Where a row is: file and sheet (indices into the run's lists) and the row as
/// Excel shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct At {
    sheet: u32,
    row: u32,
}

/// One person row, read but not yet judged with its household.
#[derive(Debug, Clone, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one yes/no per column of the export"
)]
struct PersonRow {
    household_no: String,
    place: [Option<String>; 4],
    name: String,
    id: Option<String>,
    sex: Option<Sex>,
    birth: Option<(i32, u32, u32)>,
    relation: Option<Relation>,
    member_count: Option<u32>,
    category: [Option<String>; 3],
    risk: Option<String>,
    risk_resolved: bool,
    income: Option<f64>,
    grade: Option<HouseGrade>,
    occupied: bool,
    water_safe: bool,
    water_piped: bool,
    food: bool,
    clothing: bool,
    schooling: Option<Schooling>,
    /// The sheet has a schooling column (an empty cell there is counted).
    schooling_known: bool,
    insured: bool,
    disability: Option<u8>,
    gps: Option<GpsPoint>,
    /// The household's fields beyond the household standard's.
    more: MoreHousehold,
    /// The person's fields beyond the household standard's.
    person: MorePerson,
}

/// A row's household fields that no indicator reads (致贫/返贫风险2–5 and the rest):
/// blank or unreadable cells stay `None`.
#[derive(Debug, Clone, Default)]
struct MoreHousehold {
    other_risks: Vec<RiskType>,
    elimination: Option<RiskElimination>,
    identified: Option<YearMonth>,
    eliminated: Option<YearMonth>,
    toilet: Option<bool>,
    relief: Option<Relief>,
    measures: Vec<AidMeasure>,
}

/// A row's person fields that no indicator reads, as [`MoreHousehold`].
#[derive(Debug, Clone, Default)]
struct MorePerson {
    disability_kind: Option<DisabilityKind>,
    education: Option<Education>,
    health: Option<Health>,
    labour_skill: Option<LabourSkill>,
    work_months: Option<u8>,
    serious_illness_insured: Option<bool>,
    subsistence: Option<bool>,
    extreme_poverty: Option<bool>,
}

/// Columns kept as they came: header and text.
type Attributes = Vec<(String, Option<String>)>;

/// The run: what has been read so far, and what was found wrong.
struct Reader<'a> {
    options: &'a Options,
    progress: &'a Progress,
    /// `file!sheet` names, indexed by [`At::sheet`].
    sheets: Vec<String>,
    rows: Vec<(At, PersonRow)>,
    kept: Vec<(At, Attributes)>,
    problems: Vec<Problem>,
    unlisted: [usize; 2],
    /// Per field, the cells left empty and read as the default.
    blanks: BTreeMap<&'static str, usize>,
    /// Fields no sheet had, so read as their default.
    absent: BTreeMap<&'static str, usize>,
    data_date: Option<(i32, u32, u32)>,
}

/// Reads the files (name and bytes each) and judges every row against the stored
/// divisions: the report and, when it has no error, what a commit writes. Every row
/// read is counted in `progress`.
///
/// # Errors
/// [`SheetError`] for a file that is not a spreadsheet or breaks [`LIMITS`]: the
/// message names the file.
pub fn plan(
    files: &[(String, Vec<u8>)],
    divisions: &[AreaSummary],
    options: &Options,
    progress: &Progress,
) -> Result<Plan, (String, SheetError)> {
    let mut reader = Reader {
        options,
        progress,
        sheets: Vec::new(),
        rows: Vec::new(),
        kept: Vec::new(),
        problems: Vec::new(),
        unlisted: [0; 2],
        blanks: BTreeMap::new(),
        absent: BTreeMap::new(),
        data_date: options.data_date,
    };
    for (name, bytes) in files {
        reader
            .read_file(name, bytes)
            .map_err(|e| (name.clone(), e))?;
    }
    let source = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(reader.finish(source, &Gazetteer::new(divisions)))
}

/// A sheet being read: its rows until the header is found, then its layout.
struct SheetState {
    index: u32,
    name: String,
    head: Vec<(u32, Vec<Data>)>,
    layout: SheetLayout,
}

/// Where a sheet's header search stands.
enum SheetLayout {
    /// Still among the first rows.
    Searching,
    /// Found: the rows below are read.
    Found(Layout),
    /// None found, or required columns missing (reported): the rows are passed over.
    Skipped,
}

impl Reader<'_> {
    fn read_file(&mut self, file: &str, bytes: &[u8]) -> Result<(), SheetError> {
        let before = self.sheets.len();
        let mut current: Option<SheetState> = None;
        let mut failure = None;
        sheet::stream_rows(bytes, &LIMITS, |row: StreamedRow<'_>| {
            self.progress.add(1);
            if failure.is_some() {
                return;
            }
            if self
                .options
                .sheet
                .as_deref()
                .is_some_and(|s| s != row.sheet)
                && row.sheet != "CSV"
            {
                return;
            }
            if current.as_ref().is_none_or(|s| s.name != row.sheet) {
                if let Some(done) = current.take() {
                    self.end_sheet(done);
                }
                self.sheets.push(if row.sheet == "CSV" {
                    file.to_owned()
                } else {
                    format!("{file}!{}", row.sheet)
                });
                current = Some(SheetState {
                    index: (self.sheets.len() - 1) as u32,
                    name: row.sheet.to_owned(),
                    head: Vec::new(),
                    layout: SheetLayout::Searching,
                });
            }
            let Some(state) = current.as_mut() else {
                return;
            };
            match &state.layout {
                SheetLayout::Found(layout) => {
                    self.read_row(state.index, layout, row.index, row.cells);
                }
                SheetLayout::Skipped => {}
                SheetLayout::Searching => {
                    state.head.push((row.index, row.cells.to_vec()));
                    if row.index + 1 >= HEADER_SEARCH_ROWS {
                        self.decide(state);
                    }
                }
            }
            if self.rows.len() > LIMITS.rows as usize * 4 {
                failure = Some(SheetError::Cells {
                    limit: LIMITS.cells,
                });
            }
        })?;
        if let Some(done) = current.take() {
            self.end_sheet(done);
        }
        if self.sheets.len() == before
            && let Some(sheet) = &self.options.sheet
        {
            self.problem(
                Severity::Error,
                (file.to_owned(), None),
                None,
                Some(sheet.clone()),
                "文件中没有这个工作表（--sheet）".to_owned(),
            );
        }
        failure.map_or(Ok(()), Err)
    }

    fn end_sheet(&mut self, mut state: SheetState) {
        if matches!(state.layout, SheetLayout::Searching) {
            self.decide(&mut state);
        }
    }

    /// Finds the sheet's header among its first rows and reads the rows below it.
    fn decide(&mut self, state: &mut SheetState) {
        let layout = find_layout(&state.head, &self.options.vocabulary);
        let sheet_name = self.sheets[state.index as usize].clone();
        match &layout {
            None => self.problem(
                Severity::Warning,
                (sheet_name, None),
                None,
                None,
                format!("前 {HEADER_SEARCH_ROWS} 行中没有找到表头（户编号、姓名、证件号码等列名），该工作表未导入"),
            ),
            Some(layout) => {
                self.title_date(&state.head, layout.header_row);
                let missing = self.missing_required(layout);
                for field in &missing {
                    self.problem(
                        Severity::Error,
                        (sheet_name.clone(), Some(layout.header_row as usize + 1)),
                        None,
                        None,
                        format!("缺少必需的列：{field}"),
                    );
                }
                if !missing.is_empty() {
                    // Every row would fail for the same reason: said once, above.
                    state.head.clear();
                    state.layout = SheetLayout::Skipped;
                    return;
                }
                let head = std::mem::take(&mut state.head);
                for (index, cells) in head.iter().filter(|(i, _)| *i > layout.header_row) {
                    self.read_row(state.index, layout, *index, cells);
                }
                for (field, _) in DEFAULTED {
                    let absent = layout.column(field).is_none()
                        && (*field != "house_grade" || layout.column("house_dangerous").is_none());
                    if absent {
                        *self.absent.entry(field).or_default() += 1;
                    }
                }
            }
        }
        state.layout = layout.map_or(SheetLayout::Skipped, SheetLayout::Found);
    }

    fn missing_required(&self, layout: &Layout) -> Vec<String> {
        let v = &self.options.vocabulary;
        let mut missing: Vec<String> = v
            .fields
            .iter()
            .filter(|(k, spec)| spec.required && layout.column(k).is_none())
            .map(|(k, _)| v.header_of(k).unwrap_or(k).to_owned())
            .collect();
        let has_place = layout.column("village_code").is_some()
            || (layout.column("township").is_some() && layout.column("village").is_some());
        if !has_place {
            missing.push("行政村代码，或乡(镇)和行政村".to_owned());
        }
        let has_category = ["household_type", "monitoring", "lifted"]
            .iter()
            .any(|f| layout.column(f).is_some());
        if !has_category {
            missing.push("户类型、监测对象类别或脱贫属性".to_owned());
        }
        missing
    }

    /// 数据时间 in a title row: the data date, unless the user gave one.
    fn title_date(&mut self, head: &[(u32, Vec<Data>)], header_row: u32) {
        if self.data_date.is_some() {
            return;
        }
        for (_, cells) in head.iter().filter(|(i, _)| *i < header_row) {
            for text in cells.iter().filter_map(cell_text) {
                let Some(at) = ["数据时间", "截止时间", "截至时间", "统计时间", "数据日期"]
                    .iter()
                    .find_map(|k| text.find(k).map(|i| i + k.len()))
                else {
                    continue;
                };
                if let Some(d) = values::date(&Data::String(text[at..].to_owned())) {
                    self.data_date = Some(d);
                    return;
                }
            }
        }
    }

    fn problem(
        &mut self,
        severity: Severity,
        (file, row): (String, Option<usize>),
        column: Option<String>,
        value: Option<String>,
        reason: String,
    ) {
        if self.problems.len() >= LISTED_PROBLEMS {
            self.unlisted[usize::from(severity == Severity::Warning)] += 1;
            return;
        }
        self.problems.push(Problem {
            severity,
            file,
            row,
            column,
            value,
            reason,
        });
    }

    fn row_problem(
        &mut self,
        at: At,
        column: Option<&str>,
        value: Option<String>,
        reason: &str,
        severity: Severity,
    ) {
        self.problem(
            severity,
            (
                self.sheets[at.sheet as usize].clone(),
                Some(at.row as usize),
            ),
            column.map(str::to_owned),
            value,
            reason.to_owned(),
        );
    }
}

/// Fields that default when a sheet lacks the column, with the value read and what
/// the report says about it.
const DEFAULTED: &[(&str, &str)] = &[
    (
        "water_safe",
        "是否解决安全饮用水：按“是”计，饮水安全指标将为 0",
    ),
    (
        "water_piped",
        "是否自来水入户：按“是”计，自来水入户指标将为 0",
    ),
    ("food_secure", "是否不愁吃：按“是”计"),
    ("clothing_secure", "是否不愁穿：按“是”计"),
    (
        "medical_insured",
        "是否参加城乡居民基本医疗保险：按“是”计，未参保指标将为 0",
    ),
    ("house_occupied", "是否居住在鉴定房屋：按“是”计"),
    ("schooling", "在校生状况：6–15 岁者按在校计，辍学指标将为 0"),
    (
        "house_grade",
        "住房鉴定等级（或是否危房户）：按 A 级计，危房指标将为 0",
    ),
];

/// A masked ID number for the report: region and the last four kept.
pub(crate) fn masked(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

impl Reader<'_> {
    fn finish(mut self, source: String, places: &Gazetteer) -> Plan {
        let person_rows = self.rows.len();
        let households = self.judge(places);
        let data_date = self.data_date_text();
        let kept = std::mem::take(&mut self.kept)
            .into_iter()
            .filter_map(|(at, attributes)| {
                let code = households.1.get(&at).cloned()?;
                Some(KeptFeature {
                    code,
                    file: self.sheets[at.sheet as usize].clone(),
                    row: at.row as usize,
                    attributes,
                })
            })
            .collect();
        let households = households.0;
        let persons: usize = households.iter().map(|h| h.members.len()).sum();
        let mut counts = vec![
            Count {
                label: "读取的人员行".into(),
                value: person_rows as f64,
            },
            Count {
                label: "户数".into(),
                value: households.len() as f64,
            },
            Count {
                label: "人数".into(),
                value: persons as f64,
            },
            Count {
                label: "有定位的户".into(),
                value: households.iter().filter(|h| h.gps.is_some()).count() as f64,
            },
        ];
        for (label, n) in [("错误", 0), ("提示", 1)] {
            if self.unlisted[n] > 0 {
                counts.push(Count {
                    label: format!("未逐条列出的{label}"),
                    value: self.unlisted[n] as f64,
                });
            }
        }
        let sheets = self.sheets.join("、");
        for (field, label) in DEFAULTED {
            if self.absent.contains_key(field) {
                self.problem(
                    Severity::Warning,
                    (sheets.clone(), None),
                    None,
                    None,
                    format!("表中没有这一列：{label}"),
                );
            }
        }
        for (field, n) in std::mem::take(&mut self.blanks) {
            let header = self
                .options
                .vocabulary
                .header_of(field)
                .unwrap_or(field)
                .to_owned();
            self.problem(
                Severity::Warning,
                (sheets.clone(), None),
                Some(header),
                None,
                format!("{n} 行此列为空，已按{}计", blank_default(field)),
            );
        }
        if self.unlisted[0] > 0 {
            // The listed errors already stop a commit; say how many more there are.
            self.problems.push(Problem {
                severity: Severity::Error,
                file: sheets,
                row: None,
                column: None,
                value: None,
                reason: format!("另有 {} 个错误未逐条列出", self.unlisted[0]),
            });
        }
        Plan {
            report: Report {
                kind: "households".into(),
                source,
                counts,
                problems: self.problems,
            },
            households,
            kept,
            data_date,
        }
    }

    fn data_date_text(&self) -> String {
        let (y, m, d) = self.data_date.unwrap_or_else(today);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// What an empty cell of a field is read as.
fn blank_default(field: &str) -> &'static str {
    match field {
        "house_occupied" => "“是”",
        "schooling" => "在校",
        "house_grade" => "未鉴定",
        _ => "“否”",
    }
}

fn today() -> (i32, u32, u32) {
    let text = crate::domain::calendar::today();
    values::date(&Data::String(text)).unwrap_or((1970, 1, 1))
}

/// The stored CRS of a coordinate-system cell: an empty cell is WGS-84 (the location
/// checks find a group's offset), else [`Crs::from_name`].
fn crs_of(text: &str) -> Option<Crs> {
    if text.trim().is_empty() {
        Some(Crs::Wgs84)
    } else {
        Crs::from_name(text)
    }
}

/// The person's category, relation and risk state, said once for the household.
fn risk_state(category: Category, resolved: bool) -> Option<RiskState> {
    category.is_monitored().then_some(if resolved {
        RiskState::Resolved
    } else {
        RiskState::Unresolved
    })
}

/// Whether a member of this age has a schooling state in the model (6–15).
fn school_age(age: u8) -> bool {
    (SCHOOL_AGE_MIN..=SCHOOL_AGE_MAX).contains(&age)
}
