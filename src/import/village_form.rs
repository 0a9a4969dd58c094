//! The village information form (贫困村信息采集表, seed 000 三、（四）): a township's
//! sheet (XLSX, XLS or CSV in GBK or UTF-8, title rows above the header) with one row
//! per village and the columns of `data/exit_standard.toml`. Each row is keyed by the
//! village's code, or by its name (with the township's name where two townships have a
//! village of that name), resolved against the stored divisions; values are read as
//! people write them (是/否, 有/无, 已通/未通, `3.2万元`, `95%`). The dry run reports
//! every problem with its file, row and column; a commit replaces the form values of
//! the villages in the file as a new data version, all or nothing, keeping the old
//! values so that it can be undone.

use std::collections::{BTreeMap, HashMap};

use calamine::Data;

use super::households::columns::{
    FieldSpec, HEADER_SEARCH_ROWS, Layout, Vocabulary, cell_text, find_layout,
};
use super::households::values;
use super::run::Progress;
use super::{Count, Problem, Report, Severity};
use crate::domain::exits::{ExitStandard, FormField, FormFieldType};
use crate::domain::{AreaLevel, AreaSummary};
use crate::formats::sheet::{self, Limits, SheetError, StreamedRow};
use crate::store::exits::FormRow;

/// What one form file may allocate: a county's villages many times over.
pub const LIMITS: Limits = Limits {
    unzipped_bytes: 256 << 20,
    parts: 200,
    rows: 100_000,
    columns: 256,
    cells: 5_000_000,
};

/// Problems listed one by one; more are counted.
const LISTED_PROBLEMS: usize = 2_000;

/// The header names of the village's code.
const CODE_HEADERS: &[&str] = &[
    "村代码",
    "村编码",
    "行政区划代码",
    "统计用区划代码",
    "区划代码",
    "村级代码",
    "行政村代码",
];
/// The header names of the village's name.
const NAME_HEADERS: &[&str] = &[
    "村名",
    "村名称",
    "行政村",
    "贫困村名称",
    "村",
    "行政村名称",
    "村（社区）",
];
/// The header names of the township's name.
const TOWNSHIP_HEADERS: &[&str] = &["乡镇", "乡镇名称", "所属乡镇", "乡（镇）", "乡镇（街道）"];

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// One row per village, in the files' order.
    pub rows: Vec<FormRow>,
}

fn vocabulary(standard: &ExitStandard) -> Vocabulary {
    let spec = |headers: Vec<String>| FieldSpec {
        headers,
        required: false,
        layouts: Vec::new(),
    };
    let owned = |h: &[&str]| h.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut fields = BTreeMap::new();
    fields.insert("k:code".to_owned(), spec(owned(CODE_HEADERS)));
    fields.insert("k:name".to_owned(), spec(owned(NAME_HEADERS)));
    fields.insert("k:township".to_owned(), spec(owned(TOWNSHIP_HEADERS)));
    for f in &standard.fields {
        fields.insert(
            format!("f:{}", f.id),
            FieldSpec {
                headers: f.headers.clone(),
                required: f.required,
                layouts: Vec::new(),
            },
        );
    }
    Vocabulary { fields }
}

/// Reads the files (name and bytes each) as village information forms.
///
/// # Errors
/// [`SheetError`] for a file that is not a spreadsheet or breaks [`LIMITS`], with the
/// file's name.
pub fn plan(
    files: &[(String, Vec<u8>)],
    standard: &ExitStandard,
    areas: &[AreaSummary],
    progress: &Progress,
) -> Result<Plan, (String, SheetError)> {
    let mut run = Run {
        standard,
        vocabulary: vocabulary(standard),
        areas: Areas::new(areas),
        problems: Vec::new(),
        unlisted: 0,
        rows: Vec::new(),
        seen: HashMap::new(),
        read: 0,
    };
    for (name, bytes) in files {
        run.read_file(name, bytes, progress)
            .map_err(|e| (name.clone(), e))?;
    }
    let source = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(run.finish(source, areas))
}

/// The stored villages, by code and by name.
struct Areas<'a> {
    by_code: HashMap<&'a str, &'a AreaSummary>,
    by_name: HashMap<String, Vec<&'a AreaSummary>>,
    township_names: HashMap<&'a str, &'a str>,
}

impl<'a> Areas<'a> {
    fn new(areas: &'a [AreaSummary]) -> Self {
        let villages = || {
            areas
                .iter()
                .filter(|a| matches!(a.level, AreaLevel::Village | AreaLevel::Community))
        };
        let mut by_name: HashMap<String, Vec<&AreaSummary>> = HashMap::new();
        for v in villages() {
            by_name.entry(key(&v.name)).or_default().push(v);
        }
        Self {
            by_code: villages().map(|v| (v.code.as_str(), v)).collect(),
            by_name,
            township_names: areas
                .iter()
                .filter(|a| a.level == AreaLevel::Township)
                .map(|a| (a.code.as_str(), a.name.as_str()))
                .collect(),
        }
    }

    /// The village a name (and township name) names: `Err` with the reason otherwise.
    fn by_name(&self, name: &str, township: Option<&str>) -> Result<&'a AreaSummary, String> {
        let all = self.by_name.get(&key(name)).map_or(&[][..], Vec::as_slice);
        let found: Vec<&AreaSummary> = all
            .iter()
            .copied()
            .filter(|v| {
                township.is_none_or(|t| {
                    v.parent_code
                        .as_deref()
                        .and_then(|p| self.township_names.get(p))
                        .is_some_and(|n| key(n) == key(t))
                })
            })
            .collect();
        match (found.as_slice(), township) {
            ([one], _) => Ok(one),
            ([], Some(t)) if !all.is_empty() => Err(format!("乡镇 {t} 下没有名为 {name} 的村")),
            ([], _) => Err(format!("区划中没有名为 {name} 的村")),
            (_, _) => Err(format!(
                "有 {} 个村名为 {name}（{}）：请填写村代码或乡镇",
                found.len(),
                found
                    .iter()
                    .map(|v| v.code.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
}

/// A name compared without spaces.
fn key(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

struct Run<'a> {
    standard: &'a ExitStandard,
    vocabulary: Vocabulary,
    areas: Areas<'a>,
    problems: Vec<Problem>,
    unlisted: usize,
    rows: Vec<FormRow>,
    /// Village → the row it was first read at.
    seen: HashMap<String, u32>,
    read: usize,
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
    fn problem(
        &mut self,
        severity: Severity,
        (file, row): (&str, Option<u32>),
        column: Option<&str>,
        value: Option<String>,
        reason: String,
    ) {
        if self.problems.len() >= LISTED_PROBLEMS {
            self.unlisted += 1;
            return;
        }
        self.problems.push(Problem {
            severity,
            file: file.to_owned(),
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
            self.problem(
                Severity::Error,
                (file, None),
                None,
                None,
                "文件中没有数据".to_owned(),
            );
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
        let head = std::mem::take(&mut state.head);
        let layout = find_layout(&head, &self.vocabulary)
            .filter(|l| l.column("k:code").is_some() || l.column("k:name").is_some());
        let Some(layout) = layout else {
            let reason = format!(
                "前 {HEADER_SEARCH_ROWS} 行中没有找到表头（村代码或村名，以及 {} 等列），该工作表未导入",
                self.standard
                    .fields
                    .iter()
                    .take(3)
                    .map(|f| f.name_zh.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            );
            self.problem(Severity::Error, (&state.file, None), None, None, reason);
            state.layout = Found::Skipped;
            return;
        };
        let missing: Vec<String> = self
            .standard
            .fields
            .iter()
            .filter(|f| f.required && layout.column(&format!("f:{}", f.id)).is_none())
            .map(|f| f.headers[0].clone())
            .collect();
        if !missing.is_empty() {
            for header in missing {
                self.problem(
                    Severity::Error,
                    (&state.file, Some(layout.header_row + 1)),
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

    /// The village a row names, or `None` (reported).
    fn village_of(
        &mut self,
        (file, row): (&str, u32),
        layout: &Layout,
        cells: &[Data],
    ) -> Option<(String, bool)> {
        let text = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .and_then(cell_text)
        };
        let header = |field: &str| {
            layout
                .column(field)
                .and_then(|c| layout.headers.get(c))
                .cloned()
                .unwrap_or_default()
        };
        if let Some(code) = text("k:code") {
            let code = code.trim_end_matches(".0").to_owned();
            if let Some(v) = self.areas.by_code.get(code.as_str()) {
                return Some((v.code.clone(), v.poverty_village));
            }
            let column = header("k:code");
            self.problem(
                Severity::Error,
                (file, Some(row)),
                Some(&column),
                Some(code),
                "区划中没有此村代码（应为12位村级代码）".to_owned(),
            );
            return None;
        }
        let Some(name) = text("k:name") else {
            let column = if layout.column("k:code").is_some() {
                header("k:code")
            } else {
                header("k:name")
            };
            self.problem(
                Severity::Error,
                (file, Some(row)),
                Some(&column),
                None,
                "村代码和村名都为空：无法确定是哪个村".to_owned(),
            );
            return None;
        };
        match self.areas.by_name(&name, text("k:township").as_deref()) {
            Ok(v) => Some((v.code.clone(), v.poverty_village)),
            Err(reason) => {
                let column = header("k:name");
                self.problem(
                    Severity::Error,
                    (file, Some(row)),
                    Some(&column),
                    Some(name),
                    reason,
                );
                None
            }
        }
    }

    /// Reads one row (`row` as Excel shows it).
    fn read_row(&mut self, file: &str, layout: &Layout, row: u32, cells: &[Data]) {
        if cells.iter().find_map(cell_text).is_none() {
            return;
        }
        self.read += 1;
        let Some((village, poverty)) = self.village_of((file, row), layout, cells) else {
            return;
        };
        if let Some(first) = self.seen.get(&village) {
            let reason = format!("与第 {first} 行是同一个村，按第一行计");
            self.problem(
                Severity::Warning,
                (file, Some(row)),
                None,
                Some(village),
                reason,
            );
            return;
        }
        self.seen.insert(village.clone(), row);
        if !poverty {
            self.problem(
                Severity::Warning,
                (file, Some(row)),
                None,
                Some(village.clone()),
                "不是贫困村：数值照常导入，但不参与贫困村退出评定".to_owned(),
            );
        }
        let mut values = Vec::new();
        let fields = self.standard.fields.clone();
        for field in &fields {
            let Some(column) = layout.column(&format!("f:{}", field.id)) else {
                continue;
            };
            let Some(cell) = cells.get(column) else {
                continue;
            };
            let Some(text) = cell_text(cell) else {
                continue;
            };
            let header = layout.headers.get(column).cloned().unwrap_or_default();
            match read_value(field, cell, &header) {
                Ok(v) => values.push((field.id.clone(), v)),
                Err(reason) => {
                    self.problem(
                        Severity::Error,
                        (file, Some(row)),
                        Some(&header),
                        Some(text),
                        reason,
                    );
                }
            }
        }
        self.rows.push(FormRow {
            village_code: village,
            file: file.to_owned(),
            row,
            values,
        });
    }

    fn finish(mut self, source: String, areas: &[AreaSummary]) -> Plan {
        if self.rows.is_empty() && self.problems.iter().all(|p| p.severity != Severity::Error) {
            self.problem(
                Severity::Error,
                (&source, None),
                None,
                None,
                "文件中没有可导入的行".to_owned(),
            );
        }
        let poverty_in_file = self
            .rows
            .iter()
            .filter(|r| {
                self.areas
                    .by_code
                    .get(r.village_code.as_str())
                    .is_some_and(|v| v.poverty_village)
            })
            .count();
        // Poverty villages of the counties the file covers that it leaves out.
        let counties: std::collections::HashSet<&str> =
            self.rows.iter().map(|r| &r.village_code[..6]).collect();
        let left_out = areas
            .iter()
            .filter(|a| {
                a.poverty_village
                    && counties.contains(&a.code[..6.min(a.code.len())])
                    && !self.seen.contains_key(&a.code)
            })
            .count();
        let mut counts = vec![
            Count {
                label: "读取的行".into(),
                value: self.read as f64,
            },
            Count {
                label: "导入的村".into(),
                value: self.rows.len() as f64,
            },
            Count {
                label: "其中贫困村".into(),
                value: poverty_in_file as f64,
            },
            Count {
                label: "本县未填报的贫困村".into(),
                value: left_out as f64,
            },
        ];
        if self.unlisted > 0 {
            counts.push(Count {
                label: "未逐条列出的问题".into(),
                value: self.unlisted as f64,
            });
            self.problems.push(Problem {
                severity: Severity::Error,
                file: source.clone(),
                row: None,
                column: None,
                value: None,
                reason: format!("另有 {} 个问题未逐条列出", self.unlisted),
            });
        }
        Plan {
            report: Report {
                kind: "village_form".into(),
                source,
                counts,
                problems: self.problems,
            },
            rows: self.rows,
        }
    }
}

/// A cell read as the field's type: yes/no as 1 or 0, money in yuan (`万元` in the
/// cell or the header multiplies by 10,000), shares within 0–1, counts.
///
/// # Errors
/// The reason in Chinese, naming what was expected.
pub fn read_value(field: &FormField, cell: &Data, header: &str) -> Result<f64, String> {
    match field.field_type {
        FormFieldType::YesNo => yes_no(cell)
            .map(|b| if b { 1.0 } else { 0.0 })
            .ok_or_else(|| "应为 是/否（有/无、已通/未通、达标/未达标）".to_owned()),
        FormFieldType::Number => number(cell, &["人", "户", "个", "口"])
            .filter(|v| *v >= 0.0)
            .ok_or_else(|| "应为不小于 0 的数字".to_owned()),
        FormFieldType::Money => {
            money(cell, header).ok_or_else(|| "应为金额（如 52000、5.2万元、52000元）".to_owned())
        }
        FormFieldType::Ratio => {
            ratio(cell).ok_or_else(|| "应为比例（如 95%、95 或 0.95）".to_owned())
        }
    }
}

fn yes_no(cell: &Data) -> Option<bool> {
    values::yes_no(cell).or_else(|| match cell_text(cell)?.as_str() {
        "已通" | "通" | "已建" | "已建成" | "达标" | "合格" | "具备" | "已配备" | "配备" => {
            Some(true)
        }
        "未通" | "不通" | "未建" | "未建成" | "未达标" | "不达标" | "不合格" | "不具备"
        | "未配备" | "没有" => Some(false),
        _ => None,
    })
}

/// A number with an optional unit after it.
fn number(cell: &Data, units: &[&str]) -> Option<f64> {
    match cell {
        Data::Float(f) => return f.is_finite().then_some(*f),
        Data::Int(i) => return Some(*i as f64),
        _ => {}
    }
    let text = cell_text(cell)?;
    let mut clean: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' '))
        .collect();
    for unit in units {
        if let Some(stripped) = clean.strip_suffix(unit) {
            clean = stripped.to_owned();
            break;
        }
    }
    clean.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn money(cell: &Data, header: &str) -> Option<f64> {
    let in_wan = header.contains("万元");
    let text = cell_text(cell)?;
    let trimmed = text.trim();
    let (wan, rest) = if let Some(r) = trimmed.strip_suffix("万元") {
        (true, r)
    } else if let Some(r) = trimmed.strip_suffix('万') {
        (true, r)
    } else if let Some(r) = trimmed.strip_suffix('元') {
        (false, r)
    } else {
        (in_wan, trimmed)
    };
    let v = match cell {
        Data::Float(_) | Data::Int(_) => number(cell, &[])?,
        _ => number(&Data::String(rest.to_owned()), &[])?,
    };
    (v >= 0.0).then_some(if wan { v * 10_000.0 } else { v })
}

fn ratio(cell: &Data) -> Option<f64> {
    let text = cell_text(cell)?;
    let v = if let Some(p) = text.trim().strip_suffix(['%', '％']) {
        number(&Data::String(p.to_owned()), &[])? / 100.0
    } else {
        let v = number(cell, &[])?;
        if v > 1.0 { v / 100.0 } else { v }
    };
    (0.0..=1.0).contains(&v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas() -> Vec<AreaSummary> {
        vec![
            AreaSummary::division("210422101", "新宾镇", AreaLevel::Township, Some("210422")),
            AreaSummary::division("210422102", "永陵镇", AreaLevel::Township, Some("210422")),
            AreaSummary {
                poverty_village: true,
                ..AreaSummary::division(
                    "210422101201",
                    "东村",
                    AreaLevel::Village,
                    Some("210422101"),
                )
            },
            AreaSummary {
                poverty_village: true,
                ..AreaSummary::division(
                    "210422101202",
                    "南村",
                    AreaLevel::Village,
                    Some("210422101"),
                )
            },
            AreaSummary::division(
                "210422102201",
                "南村",
                AreaLevel::Village,
                Some("210422102"),
            ),
        ]
    }

    fn run(csv: &str) -> Plan {
        plan(
            &[("form.csv".into(), csv.as_bytes().to_vec())],
            &ExitStandard::builtin().unwrap(),
            &areas(),
            &Progress::default(),
        )
        .unwrap()
    }

    #[test]
    fn values_are_read_as_people_write_them() {
        let plan = run("2019年度贫困村信息采集表\n\
             乡镇,村名,村集体经济收入(万元),通硬化路,安全饮水覆盖率,通动力电,通宽带,标准化卫生室\n\
             新宾镇,东村,5.2,已通,98%,有,是,达标\n\
             新宾镇,南村,3.1万元,未通,0.9,无,否,不达标\n");
        assert_eq!(plan.report.errors(), 0, "{:?}", plan.report.problems);
        let get = |row: usize, f: &str| {
            plan.rows[row]
                .values
                .iter()
                .find(|(id, _)| id == f)
                .map(|(_, v)| *v)
        };
        assert_eq!(plan.rows[0].village_code, "210422101201");
        assert!((get(0, "collective_income").unwrap() - 52_000.0).abs() < 1e-6);
        assert!((get(1, "collective_income").unwrap() - 31_000.0).abs() < 1e-6);
        assert_eq!(get(0, "hardened_road"), Some(1.0));
        assert_eq!(get(1, "hardened_road"), Some(0.0));
        assert!((get(0, "safe_water_coverage").unwrap() - 0.98).abs() < 1e-9);
        assert!((get(1, "safe_water_coverage").unwrap() - 0.9).abs() < 1e-9);
        assert_eq!(get(1, "clinic"), Some(0.0));
        assert_eq!(get(0, "village_doctor"), None);
    }

    #[test]
    fn an_ambiguous_name_and_a_bad_value_are_errors_naming_row_and_column() {
        let plan = run(
            "村名,通硬化路,通宽带,安全饮水覆盖率\n东村,是,是,1\n南村,是,是,1\n东村,也许,是,120%\n",
        );
        let errors: Vec<_> = plan
            .report
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| {
                (
                    p.row,
                    p.column.as_deref(),
                    p.reason.contains("有 2 个村名为 南村"),
                )
            })
            .collect();
        assert_eq!(errors[0], (Some(3), Some("村名"), true), "{errors:?}");
        // The repeated village is a warning; its values are not read.
        assert_eq!(errors.len(), 1, "{:?}", plan.report.problems);
        let plan = run("村名,乡镇,通硬化路,通宽带\n东村,新宾镇,也许,是\n西村,新宾镇,是,是\n");
        let errors: Vec<_> = plan
            .report
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| (p.row, p.column.clone()))
            .collect();
        assert_eq!(
            errors,
            [
                (Some(2), Some("通硬化路".to_owned())),
                (Some(3), Some("村名".to_owned()))
            ]
        );
    }

    #[test]
    fn a_township_name_resolves_a_name_two_townships_share() {
        let plan = run("乡镇,村名,通硬化路,通宽带\n永陵镇,南村,是,是\n");
        assert_eq!(plan.report.errors(), 0, "{:?}", plan.report.problems);
        assert_eq!(plan.rows[0].village_code, "210422102201");
        // Not a poverty village: a warning, the values kept.
        assert_eq!(plan.report.problems.len(), 1);
    }
}
