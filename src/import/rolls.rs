//! Department rolls (行业部门数据): a department's file (XLSX, XLS or CSV in GBK or
//! UTF-8, title rows above the header, several sheets) read as one kind of
//! `data/rolls.toml`, each row's key matched to the registry. The dry run reports the
//! rows read, matched in the county, matched in another county and matched nowhere,
//! and every problem with its file, row and column (never a name or a whole ID
//! number); a commit replaces that kind's roll of the county as a new data version,
//! all or nothing, keeping the old rows so that it can be undone.

use std::collections::HashMap;

use calamine::Data;

use super::households::columns::{
    FieldSpec, HEADER_SEARCH_ROWS, Layout, Vocabulary, cell_text, find_layout,
};
use super::households::{masked, values};
use super::run::Progress;
use super::{Count, Problem, Report, Severity};
use crate::domain::rolls::{FieldType, Keys, RollKey, RollKind};
use crate::formats::sheet::{self, Limits, SheetError, StreamedRow};
use crate::store::rolls::{NewRollRow, RegistryKeys};

/// What one roll file may allocate: a county's persons several times over.
pub const LIMITS: Limits = Limits {
    unzipped_bytes: 1 << 30,
    parts: 1_000,
    rows: 1_048_576,
    columns: 128,
    cells: 40_000_000,
};

/// Problems listed one by one; more are counted.
const LISTED_PROBLEMS: usize = 5_000;

/// What the user says about the files.
#[derive(Debug, Clone)]
pub struct Options {
    /// The roll's kind, as the catalog declares it.
    pub kind: RollKind,
    /// The key and name columns' names.
    pub keys: Keys,
    /// The county whose department sent it (6 digits); `None`: the only county stored.
    pub county: Option<String>,
    /// Only this sheet of each workbook.
    pub sheet: Option<String>,
}

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// The kind's id.
    pub kind: String,
    /// The county the roll replaces the roll of.
    pub county: String,
    /// The rows, in the files' order.
    pub rows: Vec<NewRollRow>,
}

/// The header table of a kind: its key and name columns and its fields (as `f:<id>`).
fn vocabulary(options: &Options) -> Vocabulary {
    let spec = |headers: &[String], required: bool| FieldSpec {
        headers: headers.to_vec(),
        required,
        layouts: Vec::new(),
    };
    let mut fields = std::collections::BTreeMap::new();
    let key = options.kind.key;
    fields.insert(
        "id_number".to_owned(),
        spec(&options.keys.id_number.headers, key == RollKey::IdNumber),
    );
    fields.insert(
        "household_no".to_owned(),
        spec(
            &options.keys.household_no.headers,
            key == RollKey::HouseholdNo,
        ),
    );
    fields.insert("name".to_owned(), spec(&options.keys.name.headers, false));
    for f in &options.kind.fields {
        fields.insert(format!("f:{}", f.id), spec(&f.headers, f.required));
    }
    Vocabulary { fields }
}

/// Reads the files (name and bytes each) as rolls of one kind and matches every row's
/// key to the registry.
///
/// # Errors
/// [`SheetError`] for a file that is not a spreadsheet or breaks [`LIMITS`], with the
/// file's name.
pub fn plan(
    files: &[(String, Vec<u8>)],
    options: &Options,
    registry: &RegistryKeys,
    progress: &Progress,
) -> Result<Plan, (String, SheetError)> {
    let mut run = Run {
        options,
        vocabulary: vocabulary(options),
        registry,
        county: String::new(),
        problems: Vec::new(),
        unlisted: [0; 2],
        rows: Vec::new(),
        seen: HashMap::new(),
        read: 0,
        matched: [0; 3],
        unknown_values: HashMap::new(),
    };
    run.county = run.county();
    for (name, bytes) in files {
        run.read_file(name, bytes, progress)
            .map_err(|e| (name.clone(), e))?;
    }
    let source = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(run.finish(source))
}

struct Run<'a> {
    options: &'a Options,
    vocabulary: Vocabulary,
    registry: &'a RegistryKeys,
    county: String,
    problems: Vec<Problem>,
    unlisted: [usize; 2],
    rows: Vec<NewRollRow>,
    /// Key → the row it was first read at.
    seen: HashMap<String, usize>,
    read: usize,
    /// Rows matched in the county, in another county, nowhere.
    matched: [usize; 3],
    /// (column, value) → rows: values no vocabulary names, said once each.
    unknown_values: HashMap<(String, String), (String, u32, usize)>,
}

/// Where a sheet's header search stands.
enum Found {
    /// Still among the first rows.
    Searching,
    /// Found: the rows below are read.
    Layout(Layout),
    /// None found, or required columns missing (reported): the rows are passed over.
    Skipped,
}

/// A sheet being read: its first rows until the header is found, then its layout.
struct SheetState {
    name: String,
    file: String,
    head: Vec<(u32, Vec<Data>)>,
    layout: Found,
}

impl Run<'_> {
    /// The county the roll is of: the one given, or the only one stored.
    fn county(&mut self) -> String {
        let counties = &self.registry.counties;
        match &self.options.county {
            Some(c) if counties.contains(c) => c.clone(),
            Some(c) => {
                let reason = format!("数据库中没有县 {c} 的农户：名单要与该县的户籍比对");
                self.problem(
                    Severity::Error,
                    (String::new(), None),
                    None,
                    Some(c.clone()),
                    reason,
                );
                c.clone()
            }
            None if counties.len() == 1 => counties[0].clone(),
            None => {
                let reason = if counties.is_empty() {
                    "数据库中还没有农户：请先导入户籍信息".to_owned()
                } else {
                    format!(
                        "数据库中有多个县（{}）：请指明名单所属的县（--county 或 county=）",
                        counties.join("、")
                    )
                };
                self.problem(Severity::Error, (String::new(), None), None, None, reason);
                String::new()
            }
        }
    }

    fn problem(
        &mut self,
        severity: Severity,
        (file, row): (String, Option<u32>),
        column: Option<&str>,
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
            row: row.map(|r| r as usize),
            column: column.map(str::to_owned),
            value,
            reason,
        });
    }

    fn read_file(
        &mut self,
        file: &str,
        bytes: &[u8],
        progress: &Progress,
    ) -> Result<(), SheetError> {
        let mut current: Option<SheetState> = None;
        let mut sheets = 0;
        sheet::stream_rows(bytes, &LIMITS, |row: StreamedRow<'_>| {
            progress.add(1);
            let wanted = self.options.sheet.as_deref().is_none_or(|s| s == row.sheet);
            if !wanted && row.sheet != "CSV" {
                return;
            }
            if current.as_ref().is_none_or(|s| s.name != row.sheet) {
                if let Some(done) = current.take() {
                    self.end_sheet(done);
                }
                sheets += 1;
                current = Some(SheetState {
                    name: row.sheet.to_owned(),
                    file: if row.sheet == "CSV" {
                        file.to_owned()
                    } else {
                        format!("{file}!{}", row.sheet)
                    },
                    head: Vec::new(),
                    layout: Found::Searching,
                });
            }
            let Some(state) = current.as_mut() else {
                return;
            };
            match &state.layout {
                Found::Layout(layout) => {
                    let layout = layout.clone();
                    let file = state.file.clone();
                    self.read_row(&file, &layout, row.index + 1, row.cells);
                }
                Found::Skipped => {}
                Found::Searching => {
                    state.head.push((row.index, row.cells.to_vec()));
                    if row.index + 1 >= HEADER_SEARCH_ROWS {
                        self.decide(state);
                    }
                }
            }
        })?;
        if let Some(done) = current.take() {
            self.end_sheet(done);
        }
        if sheets == 0 {
            let reason = match &self.options.sheet {
                Some(s) => format!("文件中没有工作表 {s}（sheet）"),
                None => "文件中没有数据".to_owned(),
            };
            self.problem(Severity::Error, (file.to_owned(), None), None, None, reason);
        }
        Ok(())
    }

    fn end_sheet(&mut self, mut state: SheetState) {
        if matches!(state.layout, Found::Searching) {
            self.decide(&mut state);
        }
    }

    /// Finds the sheet's header among its first rows, then reads the rows below it.
    fn decide(&mut self, state: &mut SheetState) {
        let layout = find_layout(&state.head, &self.vocabulary);
        let head = std::mem::take(&mut state.head);
        let Some(layout) = layout else {
            let reason = format!(
                "前 {HEADER_SEARCH_ROWS} 行中没有找到表头（至少三列：{}、姓名、{} 等），该工作表未导入",
                self.key_header(),
                self.options
                    .kind
                    .fields
                    .first()
                    .map_or("", |f| f.name_zh.as_str())
            );
            self.problem(
                Severity::Error,
                (state.file.clone(), None),
                None,
                None,
                reason,
            );
            state.layout = Found::Skipped;
            return;
        };
        let missing: Vec<String> = self
            .vocabulary
            .fields
            .iter()
            .filter(|(k, spec)| spec.required && layout.column(k).is_none())
            .map(|(_, spec)| spec.headers[0].clone())
            .collect();
        if !missing.is_empty() {
            for header in missing {
                self.problem(
                    Severity::Error,
                    (state.file.clone(), Some(layout.header_row + 1)),
                    Some(&header),
                    None,
                    format!("缺少必需的列：{header}"),
                );
            }
            state.layout = Found::Skipped;
            return;
        }
        for (index, cells) in head.iter().filter(|(i, _)| *i > layout.header_row) {
            self.read_row(&state.file, &layout, index + 1, cells);
        }
        state.layout = Found::Layout(layout);
    }

    fn key_header(&self) -> &str {
        match self.options.kind.key {
            RollKey::IdNumber => &self.options.keys.id_number.headers[0],
            RollKey::HouseholdNo => &self.options.keys.household_no.headers[0],
        }
    }

    /// Reads one row (`row` as Excel shows it).
    fn read_row(&mut self, file: &str, layout: &Layout, row: u32, cells: &[Data]) {
        let get = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .unwrap_or(&Data::Empty)
        };
        if cells.iter().find_map(cell_text).is_none() {
            return;
        }
        self.read += 1;
        let at = (file.to_owned(), Some(row));
        let key_header = self.key_header().to_owned();
        let (id_number, household_no) = match self.options.kind.key {
            RollKey::IdNumber => match values::id_number(get("id_number")) {
                Ok(id) => {
                    if !values::check_digit_ok(&id) {
                        self.problem(
                            Severity::Warning,
                            at.clone(),
                            Some(&key_header),
                            Some(masked(&id)),
                            "证件号码校验位不符，已按原样导入，请核实".to_owned(),
                        );
                    }
                    (Some(id), None)
                }
                Err(problem) => {
                    let shown = cell_text(get("id_number")).map(|t| masked(&t));
                    let reason = if shown.is_none() {
                        "证件号码为空：该行无法比对".to_owned()
                    } else {
                        problem.reason().to_owned()
                    };
                    self.problem(Severity::Error, at, Some(&key_header), shown, reason);
                    return;
                }
            },
            RollKey::HouseholdNo => {
                let Some(no) = cell_text(get("household_no")) else {
                    let reason = "户编号为空：该行无法比对".to_owned();
                    self.problem(Severity::Error, at, Some(&key_header), None, reason);
                    return;
                };
                (None, Some(no))
            }
        };
        let key = id_number
            .clone()
            .or_else(|| household_no.clone())
            .unwrap_or_default();
        if let Some(first) = self.seen.get(&key) {
            let reason = format!(
                "与第 {first} 行是同一{}，按第一行计",
                if id_number.is_some() { "人" } else { "户" }
            );
            let shown = id_number.as_deref().map_or_else(|| key.clone(), masked);
            self.problem(
                Severity::Warning,
                at,
                Some(&key_header),
                Some(shown),
                reason,
            );
            return;
        }
        self.seen.insert(key.clone(), row as usize);
        let county = match &id_number {
            Some(id) => self.registry.persons.get(id),
            None => self.registry.households.get(&key),
        };
        self.matched[match county {
            Some(c) if *c == self.county => 0,
            Some(_) => 1,
            None => 2,
        }] += 1;
        let values = self.read_values(file, layout, row, cells);
        self.rows.push(NewRollRow {
            file: file.to_owned(),
            row,
            id_number,
            household_no,
            name: cell_text(get("name")),
            values,
        });
    }

    /// The kind's fields of a row, as stored values; unreadable ones reported.
    fn read_values(
        &mut self,
        file: &str,
        layout: &Layout,
        row: u32,
        cells: &[Data],
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let fields = self.options.kind.fields.clone();
        for field in &fields {
            let Some(cell) = layout
                .column(&format!("f:{}", field.id))
                .and_then(|c| cells.get(c))
            else {
                continue;
            };
            let Some(text) = cell_text(cell) else {
                continue;
            };
            let value = match field.field_type {
                FieldType::Code => field.code_of(&text).map(str::to_owned),
                FieldType::YesNo => yes_no(cell).map(|b| if b { "yes" } else { "no" }.to_owned()),
                FieldType::Date => {
                    values::date(cell).map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
                }
                FieldType::Number => values::amount(cell).map(|v| v.to_string()),
                FieldType::Text => Some(text.clone()),
            };
            if let Some(v) = value {
                out.push((field.id.clone(), v));
            } else {
                let entry = self
                    .unknown_values
                    .entry((field.name_zh.clone(), text))
                    .or_insert_with(|| (file.to_owned(), row, 0));
                entry.2 += 1;
            }
        }
        out
    }

    fn finish(mut self, source: String) -> Plan {
        let mut unknown: Vec<_> = std::mem::take(&mut self.unknown_values)
            .into_iter()
            .collect();
        unknown.sort_by(|a, b| (&a.1.0, a.1.1).cmp(&(&b.1.0, b.1.1)));
        for ((column, value), (file, row, n)) in unknown {
            let field = self
                .options
                .kind
                .fields
                .iter()
                .find(|f| f.name_zh == column);
            let expected = field.map_or_else(String::new, |f| match f.field_type {
                FieldType::Code => format!(
                    "应为 {}",
                    f.values
                        .iter()
                        .filter_map(|v| v.names.first().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
                FieldType::YesNo => "应为 是 或 否".to_owned(),
                FieldType::Date => "应为日期（2019-07-03）".to_owned(),
                FieldType::Number => "应为数字".to_owned(),
                FieldType::Text => String::new(),
            });
            let reason = format!(
                "未识别的取值（共 {n} 行），{expected}：此值未导入，比对时按未填计；可在 data/rolls.toml 中添加名称"
            );
            self.problem(
                Severity::Warning,
                (file, Some(row)),
                Some(&column),
                Some(value),
                reason,
            );
        }
        if self.rows.is_empty() && self.problems.iter().all(|p| p.severity != Severity::Error) {
            let reason = "文件中没有可导入的行".to_owned();
            self.problem(Severity::Error, (source.clone(), None), None, None, reason);
        }
        let mut counts = vec![
            Count {
                label: "读取的行".into(),
                value: self.read as f64,
            },
            Count {
                label: "导入的行".into(),
                value: self.rows.len() as f64,
            },
            Count {
                label: "与本县户籍匹配".into(),
                value: self.matched[0] as f64,
            },
            Count {
                label: "与外县户籍匹配".into(),
                value: self.matched[1] as f64,
            },
            Count {
                label: "户籍中找不到".into(),
                value: self.matched[2] as f64,
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
        if self.unlisted[0] > 0 {
            self.problems.push(Problem {
                severity: Severity::Error,
                file: source.clone(),
                row: None,
                column: None,
                value: None,
                reason: format!("另有 {} 个错误未逐条列出", self.unlisted[0]),
            });
        }
        Plan {
            report: Report {
                kind: format!("roll:{}", self.options.kind.id),
                source,
                counts,
                problems: self.problems,
            },
            kind: self.options.kind.id.clone(),
            county: self.county,
            rows: self.rows,
        }
    }
}

/// Yes or no as departments write it: the registry's spellings, and 达标/不达标,
/// 合格/不合格, 已验收/未验收.
fn yes_no(cell: &Data) -> Option<bool> {
    values::yes_no(cell).or_else(|| match cell_text(cell)?.as_str() {
        "达标" | "合格" | "已验收" | "验收" | "通过" => Some(true),
        "不达标" | "未达标" | "不合格" | "未验收" | "未通过" => Some(false),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rolls::RollCatalog;

    fn options(kind: &str) -> Options {
        let catalog = RollCatalog::builtin().unwrap();
        Options {
            kind: catalog.kind(kind).unwrap().clone(),
            keys: catalog.keys.clone(),
            county: None,
            sheet: None,
        }
    }

    fn registry() -> RegistryKeys {
        let mut keys = RegistryKeys::default();
        keys.persons
            .insert("21042220080101001X".into(), "210422".into());
        keys.persons
            .insert("210421200901010014".into(), "210421".into());
        keys.households.insert("2104221001".into(), "210422".into());
        keys.counties = vec!["210421".into(), "210422".into()];
        keys
    }

    #[test]
    fn a_csv_under_title_rows_is_read_matched_and_reported_by_row_and_column() {
        let csv = "新宾县学籍名单\n数据时间：2019年7月\n姓名,证件号码,学籍状态,学段,学校\n\
                   张三,21042220080101001X,在校,初中,新宾一中\n\
                   李四,210421200901010014,辍学,小学,\n\
                   王五,2.10422E+17,在校,小学,\n\
                   赵六,110101200901010011,毕业,小学,\n";
        let mut o = options("edu");
        o.county = Some("210422".into());
        let plan = plan(
            &[("edu.csv".into(), csv.as_bytes().to_vec())],
            &o,
            &registry(),
            &Progress::default(),
        )
        .unwrap();
        assert_eq!(plan.rows.len(), 3);
        assert_eq!(
            plan.rows[0].values,
            [
                ("status".to_owned(), "in_school".to_owned()),
                ("stage".into(), "junior".into()),
                ("school".into(), "新宾一中".into())
            ]
        );
        let count = |label: &str| {
            plan.report
                .counts
                .iter()
                .find(|c| c.label == label)
                .unwrap()
                .value
        };
        let counts: Vec<f64> = [
            "读取的行",
            "与本县户籍匹配",
            "与外县户籍匹配",
            "户籍中找不到",
        ]
        .iter()
        .map(|l| count(l))
        .collect();
        assert!(
            counts
                .iter()
                .zip([4.0, 1.0, 1.0, 1.0])
                .all(|(a, b)| (a - b).abs() < 1e-9),
            "{counts:?}"
        );
        let error = plan
            .report
            .problems
            .iter()
            .find(|p| p.severity == Severity::Error)
            .unwrap();
        assert_eq!(
            (error.file.as_str(), error.row, error.column.as_deref()),
            ("edu.csv", Some(6), Some("证件号码"))
        );
        let unknown = plan
            .report
            .problems
            .iter()
            .find(|p| p.value.as_deref() == Some("毕业"))
            .unwrap();
        assert_eq!(
            (unknown.row, unknown.column.as_deref()),
            (Some(7), Some("学籍状态"))
        );
        // No whole ID number and no name anywhere in the report.
        let text = serde_json::to_string(&plan.report).unwrap();
        assert!(
            !text.contains("110101200901010011") && !text.contains("赵六"),
            "{text}"
        );
    }

    #[test]
    fn several_counties_need_the_roll_to_say_whose_it_is() {
        let csv = "户编号,供水方式,水质达标\n2104221001,集中供水入户,是\n";
        let plan = plan(
            &[("w.csv".into(), csv.as_bytes().to_vec())],
            &options("water"),
            &registry(),
            &Progress::default(),
        )
        .unwrap();
        assert_eq!(plan.report.errors(), 1, "{:?}", plan.report.problems);
        assert!(plan.report.problems[0].reason.contains("多个县"));
        let mut o = options("water");
        o.county = Some("210422".into());
        let plan = super::plan(
            &[("w.csv".into(), csv.as_bytes().to_vec())],
            &o,
            &registry(),
            &Progress::default(),
        )
        .unwrap();
        assert_eq!(plan.report.errors(), 0, "{:?}", plan.report.problems);
        assert_eq!(
            plan.rows[0].values,
            [
                ("supply".to_owned(), "piped".to_owned()),
                ("quality".into(), "yes".into())
            ]
        );
    }

    #[test]
    fn a_missing_required_column_is_one_error_naming_it() {
        let csv = "姓名,证件号码,学段,学校\n张三,21042220080101001X,初中,一中\n";
        let mut o = options("edu");
        o.county = Some("210422".into());
        let plan = plan(
            &[("e.csv".into(), csv.as_bytes().to_vec())],
            &o,
            &registry(),
            &Progress::default(),
        )
        .unwrap();
        let errors: Vec<_> = plan
            .report
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].row, errors[0].column.as_deref()),
            (Some(1), Some("学籍状态"))
        );
    }
}
