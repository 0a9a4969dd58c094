//! Division codes (统计用区划代码) as offices hold them: the statistics bureau's
//! published table (统计用区划代码, 名称, and 城乡分类代码 on village rows, codes of 12
//! digits padded with zeros) or an office's own list of code, name, level and parent;
//! CSV in UTF-8 (with or without a byte-order mark) or GBK/GB18030, or XLSX; title
//! rows above the header, or no header at all.
//!
//! A division's level and parent follow from its code (2, 4, 6, 9, 12 digits); a level
//! or parent column, where there is one, is checked against it. Whether a 12-digit
//! unit is a village (村民委员会) or a community (居民委员会) the code does not say by
//! itself: the level column, then the name, then the code's last three digits (居委会
//! 001–199, 村委会 200 and up, as the bureau numbers them) decide.
//!
//! A commit adds the new divisions (without a boundary until one is imported) and
//! renames the stored ones whose name changed; it removes nothing: a division missing
//! from the file is reported, and stays.

use std::collections::{BTreeMap, HashMap, HashSet};

use calamine::Data;

use super::{Count, Problem, Report, Severity};
use crate::domain::{AreaLevel, AreaSummary};
use crate::formats::sheet::{self, Limits, Sheet, SheetError, cell_text, header_key};
use crate::store::imports::{KeptFeature, NewDivision};

/// What a divisions file may allocate: a whole province's villages fit.
pub const LIMITS: Limits = Limits {
    unzipped_bytes: 256 << 20,
    parts: 1_000,
    rows: 300_000,
    columns: 64,
    cells: 6_000_000,
};

/// How many rows the header is looked for in: title rows come first.
const HEADER_SEARCH_ROWS: usize = 20;

/// Header names of each column, compared without spaces and in lower case.
const CODE_HEADERS: &[&str] = &[
    "统计用区划代码",
    "区划代码",
    "行政区划代码",
    "代码",
    "区划编码",
    "编码",
    "code",
    "division_code",
    "xzqdm",
];
const NAME_HEADERS: &[&str] = &[
    "名称",
    "区划名称",
    "行政区划名称",
    "单位名称",
    "name",
    "xzqmc",
];
const LEVEL_HEADERS: &[&str] = &["级别", "层级", "区划级别", "level"];
const PARENT_HEADERS: &[&str] = &[
    "上级代码",
    "上级区划代码",
    "父级代码",
    "上级编码",
    "parent_code",
    "parent",
];

/// What the user says about the file's columns.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The header of the code column, when none of the usual ones.
    pub code_column: Option<String>,
    /// The header of the name column, when none of the usual ones.
    pub name_column: Option<String>,
}

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// The divisions to add or change (unchanged ones are left out).
    pub divisions: Vec<NewDivision>,
    /// Every division row with all its cells as they came, to be kept.
    pub kept: Vec<KeptFeature>,
}

/// The sheets of a divisions file: every sheet of an XLSX or XLS (by its signature), or
/// a CSV.
///
/// # Errors
/// [`SheetError`] for a file that is neither, or over [`LIMITS`].
pub fn read(bytes: &[u8]) -> Result<Vec<Sheet>, SheetError> {
    if sheet::is_zip(bytes) {
        sheet::xlsx_sheets(bytes, &LIMITS)
    } else if sheet::xls::is_xls(bytes) {
        sheet::xls_sheets(bytes, &LIMITS)
    } else {
        Ok(vec![sheet::csv(bytes, &LIMITS)?])
    }
}

/// Where each column is; `header` is the header's row index (`None`: no header).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Columns {
    header: Option<usize>,
    names: Vec<String>,
    code: usize,
    name: usize,
    level: Option<usize>,
    parent: Option<usize>,
}

fn find_column(row: &[Data], wanted: &[&str], named: Option<&str>) -> Option<usize> {
    let keys: Vec<String> = row
        .iter()
        .map(|c| cell_text(c).map(|t| header_key(&t)).unwrap_or_default())
        .collect();
    if let Some(named) = named {
        let named = header_key(named);
        return keys.iter().position(|k| *k == named);
    }
    wanted
        .iter()
        .find_map(|w| keys.iter().position(|k| k == &header_key(w)))
}

/// The header row and its columns, or the bureau's layout without a header (code in
/// A, name in B; see [`name_column`]), or why neither.
fn columns(sheet: &Sheet, options: &Options) -> Result<Columns, String> {
    for (index, row) in sheet.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let code = find_column(row, CODE_HEADERS, options.code_column.as_deref());
        let name = find_column(row, NAME_HEADERS, options.name_column.as_deref());
        if let (Some(code), Some(name)) = (code, name) {
            return Ok(Columns {
                header: Some(index),
                names: row
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cell_text(c).unwrap_or_else(|| sheet::column_name(i as u32)))
                    .collect(),
                code,
                name,
                level: find_column(row, LEVEL_HEADERS, None),
                parent: find_column(row, PARENT_HEADERS, None),
            });
        }
    }
    if options.code_column.is_none() && options.name_column.is_none() {
        let first = sheet
            .rows
            .iter()
            .find(|r| r.iter().any(|c| cell_text(c).is_some()));
        if let Some(first) = first {
            let texts: Vec<Option<String>> = first.iter().map(cell_text).collect();
            if texts
                .first()
                .and_then(Option::as_ref)
                .is_some_and(|c| normalize_code(c).is_ok())
            {
                let width = sheet.rows.first().map_or(0, Vec::len);
                return Ok(Columns {
                    header: None,
                    names: (0..width).map(|i| sheet::column_name(i as u32)).collect(),
                    code: 0,
                    name: 1,
                    level: None,
                    parent: None,
                });
            }
        }
    }
    let asked = match (&options.code_column, &options.name_column) {
        (None, None) => String::new(),
        (code, name) => format!(
            "（指定的列：代码 {}，名称 {}）",
            code.as_deref().unwrap_or("默认"),
            name.as_deref().unwrap_or("默认")
        ),
    };
    Err(format!(
        "前 {HEADER_SEARCH_ROWS} 行中找不到表头：需要代码列（{}）和名称列（{}）{asked}",
        CODE_HEADERS[..4].join("、"),
        NAME_HEADERS[..4].join("、")
    ))
}

/// A division code from a cell: its digits (full-width ones too), the zeros the
/// bureau pads every code with to 12 digits taken off, so that the length says the
/// level (210422000000 → 210422; a 6-digit 210400 is the city 2104).
///
/// # Errors
/// The reason in Chinese, for text that is not a code.
pub fn normalize_code(text: &str) -> Result<String, String> {
    let digits: String = text
        .trim()
        .trim_start_matches('\'')
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("不是数字代码".to_owned());
    }
    if !matches!(digits.len(), 2 | 4 | 6 | 9 | 12) {
        return Err(format!(
            "代码应为 2、4、6、9 或 12 位数字，此处为 {} 位",
            digits.len()
        ));
    }
    // Each level's own digits are never all zero, so trailing zero groups are padding.
    let mut code = digits.as_str();
    for (from, to) in [(12, 9), (9, 6), (6, 4), (4, 2)] {
        if code.len() == from && code[to..].bytes().all(|b| b == b'0') {
            code = &code[..to];
        }
    }
    if code.bytes().all(|b| b == b'0') {
        return Err("代码全为零".to_owned());
    }
    Ok(code.to_owned())
}

/// A level as offices write it (省, 地级, 县区, 乡镇, 村, 社区, 1–5, or English).
fn parse_level(text: &str) -> Option<AreaLevel> {
    let key = header_key(text);
    if let Some(level) = AreaLevel::from_code(&key) {
        return Some(level);
    }
    Some(match key.as_str() {
        "省" | "省级" | "省份" | "1" => AreaLevel::Province,
        "市" | "地级" | "地级市" | "地市" | "市级" | "2" => AreaLevel::City,
        "县" | "区" | "县区" | "县级" | "县（市、区）" | "县(市、区)" | "3" => {
            AreaLevel::County
        }
        "乡" | "镇" | "街道" | "乡镇" | "乡级" | "乡镇街道" | "4" => {
            AreaLevel::Township
        }
        "村" | "村级" | "村委会" | "行政村" | "5" => AreaLevel::Village,
        "社区" | "居委会" => AreaLevel::Community,
        _ => return None,
    })
}

/// Village or community, for a 12-digit unit with no level given.
fn village_or_community(code: &str, name: &str) -> AreaLevel {
    let name = name.trim();
    if ["居民委员会", "居委会", "社区"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        return AreaLevel::Community;
    }
    if ["村民委员会", "村委会", "村"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        return AreaLevel::Village;
    }
    match code[9..].parse::<u16>() {
        Ok(n) if n < 200 => AreaLevel::Community,
        _ => AreaLevel::Village,
    }
}

/// A division read from one row.
struct Read {
    row: usize,
    /// The header of the name's column.
    name_header: String,
    division: NewDivision,
    kept: KeptFeature,
}

/// Reads a divisions file's sheets against the stored areas: what they hold, what is
/// wrong with them, and what a commit would add or change. In a workbook of several
/// sheets, one without a code and a name column (a notes sheet) is skipped with a note.
#[must_use]
pub fn plan(source: &str, sheets: &[Sheet], stored: &[AreaSummary], options: &Options) -> Plan {
    let mut report = Report {
        kind: "divisions".to_owned(),
        source: source.to_owned(),
        counts: Vec::new(),
        problems: Vec::new(),
    };
    let mut reads = Vec::new();
    let mut rows = 0;
    let mut first_row = HashMap::new();
    let mut read_any = false;
    for sheet in sheets {
        // A workbook's sheets are named as a zip's members are: `file!sheet`.
        let file = if sheets.len() > 1 {
            format!("{source}!{}", sheet.name)
        } else {
            source.to_owned()
        };
        let columns = match columns(sheet, options) {
            Ok(c) => c,
            Err(reason) if sheets.len() > 1 => {
                // A notes sheet (说明) beside the lists is no error.
                let reason = format!("{reason}；此表未导入");
                report
                    .problems
                    .push(problem(&file, Severity::Warning, None, None, None, reason));
                continue;
            }
            Err(reason) => {
                report
                    .problems
                    .push(problem(&file, Severity::Error, None, None, None, reason));
                continue;
            }
        };
        read_any = true;
        if columns.header.is_none() {
            report.problems.push(problem(
                &file,
                Severity::Warning,
                None,
                None,
                None,
                "文件没有表头，按统计局表格读取：A 列为代码，B 列为名称（有三列的行：B 列为城乡分类代码，C 列为名称）"
                    .to_owned(),
            ));
        }
        let (read, n) = read_rows(
            (&file, sheet),
            &columns,
            &mut first_row,
            &mut report.problems,
        );
        reads.extend(read);
        rows += n;
    }
    if !read_any && sheets.len() > 1 {
        report.problems.push(problem(
            source,
            Severity::Error,
            None,
            None,
            None,
            "没有一张表有代码列和名称列".to_owned(),
        ));
    }
    let stored_by_code: HashMap<&str, &AreaSummary> =
        stored.iter().map(|a| (a.code.as_str(), a)).collect();
    check_parents(&reads, &stored_by_code, &mut report.problems);

    let (divisions, added, changed) = compare(&reads, &stored_by_code, &mut report.problems);
    let missing = missing_from_file(source, &reads, stored, &mut report.problems);
    report.counts = counts(rows, &reads, (added, changed, missing));
    Plan {
        report,
        divisions,
        kept: reads.into_iter().map(|r| r.kept).collect(),
    }
}

/// The divisions to write (new or changed), how many are new and how many changed; a
/// note for each change.
fn compare(
    reads: &[Read],
    stored_by_code: &HashMap<&str, &AreaSummary>,
    problems: &mut Vec<Problem>,
) -> (Vec<NewDivision>, usize, usize) {
    let mut added = 0;
    let mut changed = 0;
    let mut divisions = Vec::new();
    for r in reads {
        let d = &r.division;
        match stored_by_code.get(d.code.as_str()) {
            None => {
                added += 1;
                divisions.push(d.clone());
            }
            Some(s) if s.name != d.name || s.level != d.level || s.parent_code != d.parent_code => {
                changed += 1;
                problems.push(problem(
                    &r.kept.file,
                    Severity::Warning,
                    Some(r.row),
                    Some(r.name_header.clone()),
                    Some(d.name.clone()),
                    format!(
                        "库中为“{}”（{}，上级 {}），将改为“{}”（{}，上级 {}）",
                        s.name,
                        s.level.label_zh(),
                        s.parent_code.as_deref().unwrap_or("无"),
                        d.name,
                        d.level.label_zh(),
                        d.parent_code.as_deref().unwrap_or("无")
                    ),
                ));
                divisions.push(d.clone());
            }
            Some(_) => {}
        }
    }
    (divisions, added, changed)
}

fn problem(
    file: &str,
    severity: Severity,
    row: Option<usize>,
    column: Option<String>,
    value: Option<String>,
    reason: String,
) -> Problem {
    Problem {
        severity,
        file: file.to_owned(),
        row,
        column,
        value,
        reason,
    }
}

/// Every data row below the header as a division, or its problems; returns the
/// divisions and the number of non-empty rows read. `first_row` holds where each code
/// was first read (file and row), across the workbook's sheets.
fn read_rows(
    (source, sheet): (&str, &Sheet),
    columns: &Columns,
    first_row: &mut HashMap<String, (String, usize)>,
    problems: &mut Vec<Problem>,
) -> (Vec<Read>, usize) {
    let mut reads = Vec::new();
    let mut rows = 0;
    let start = columns.header.map_or(0, |h| h + 1);
    for (index, cells) in sheet.rows.iter().enumerate().skip(start) {
        let row = index + 1;
        let texts: Vec<Option<String>> = cells.iter().map(cell_text).collect();
        if texts.iter().all(Option::is_none) {
            continue;
        }
        rows += 1;
        let mut bad = |(column, value, reason): Fault| {
            problems.push(problem(
                source,
                Severity::Error,
                Some(row),
                Some(columns.names[column].clone()),
                value,
                reason,
            ));
        };
        let division = match division(columns, &texts) {
            Ok(d) => d,
            Err(fault) => {
                bad(fault);
                continue;
            }
        };
        if let Some((file, first)) = first_row.get(&division.code) {
            let place = if file == source {
                format!("第 {first} 行")
            } else {
                format!("{file} 第 {first} 行")
            };
            bad((
                columns.code,
                texts[columns.code].clone(),
                format!("代码 {} 与{place}重复", division.code),
            ));
            continue;
        }
        first_row.insert(division.code.clone(), (source.to_owned(), row));
        let attributes = columns
            .names
            .iter()
            .zip(texts.iter().chain(std::iter::repeat(&None)))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        reads.push(Read {
            row,
            name_header: columns.names[name_column(columns, &texts)].clone(),
            kept: KeptFeature {
                code: division.code.clone(),
                file: source.to_owned(),
                row,
                attributes,
            },
            division,
        });
    }
    (reads, rows)
}

/// What is wrong with a row: the column, its value, the reason in Chinese.
type Fault = (usize, Option<String>, String);

/// The division one row holds.
fn division(columns: &Columns, texts: &[Option<String>]) -> Result<NewDivision, Fault> {
    let text = |i: Option<usize>| i.and_then(|i| texts.get(i).cloned().flatten());
    let raw_code = text(Some(columns.code)).ok_or((columns.code, None, "缺少代码".to_owned()))?;
    let code = normalize_code(&raw_code).map_err(|r| (columns.code, Some(raw_code), r))?;
    let name_at = name_column(columns, texts);
    let name = text(Some(name_at)).ok_or((name_at, None, "缺少名称".to_owned()))?;
    let by_code = AreaLevel::of_code(&code).unwrap_or(AreaLevel::Village);
    let level = match (columns.level, text(columns.level)) {
        (Some(at), Some(raw)) => match parse_level(&raw) {
            Some(l) if l.code_len() == by_code.code_len() => l,
            Some(l) => {
                let reason = format!(
                    "级别“{}”与 {} 位代码 {code} 不符（应为{}）",
                    l.label_zh(),
                    code.len(),
                    by_code.label_zh()
                );
                return Err((at, Some(raw), reason));
            }
            None => {
                let reason = "无法识别的级别（应为 省、市、县、乡镇、村、社区 之一）".to_owned();
                return Err((at, Some(raw), reason));
            }
        },
        _ if by_code == AreaLevel::Village => village_or_community(&code, &name),
        _ => by_code,
    };
    let parent_code = crate::domain::parent_code(&code).map(str::to_owned);
    if let (Some(at), Some(raw)) = (columns.parent, text(columns.parent))
        && normalize_code(&raw).ok() != parent_code
    {
        let reason = format!(
            "上级代码与代码 {code} 不符（应为 {}）",
            parent_code.as_deref().unwrap_or("空")
        );
        return Err((at, Some(raw), reason));
    }
    Ok(NewDivision {
        code,
        name,
        level,
        parent_code,
    })
}

/// The name's column in a row: the header's, or without a header B, or C when B
/// holds the bureau's 3-digit urban-rural class (城乡分类代码, on village rows only).
fn name_column(columns: &Columns, texts: &[Option<String>]) -> usize {
    let class_in_b = texts
        .get(1)
        .and_then(Option::as_ref)
        .is_some_and(|t| t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()));
    if columns.header.is_none() && class_in_b && texts.get(2).is_some_and(Option::is_some) {
        2
    } else {
        columns.name
    }
}

/// Townships and villages need their parent, in the file or stored; a county or
/// city whose parent is in neither is kept, with a note (a city's own file may
/// start at the city).
fn check_parents(
    reads: &[Read],
    stored: &HashMap<&str, &AreaSummary>,
    problems: &mut Vec<Problem>,
) {
    let in_file: HashSet<&str> = reads.iter().map(|r| r.division.code.as_str()).collect();
    let mut noted: HashSet<&str> = HashSet::new();
    for r in reads {
        let Some(parent) = r.division.parent_code.as_deref() else {
            continue;
        };
        if in_file.contains(parent) || stored.contains_key(parent) {
            continue;
        }
        if r.division.level.is_above_township() {
            if noted.insert(parent) {
                problems.push(problem(
                    &r.kept.file,
                    Severity::Warning,
                    Some(r.row),
                    None,
                    Some(r.division.code.clone()),
                    format!("上级 {parent} 不在文件中，也不在库中：照常导入，上级名称空缺"),
                ));
            }
        } else {
            problems.push(problem(
                &r.kept.file,
                Severity::Error,
                Some(r.row),
                None,
                Some(r.division.code.clone()),
                format!(
                    "{}的上级 {parent} 不在文件中，也不在库中（先导入上级，或把上级加入文件）",
                    r.division.level.label_zh()
                ),
            ));
        }
    }
}

/// Stored divisions under the file's top divisions that the file does not hold:
/// listed (they stay), and counted.
fn missing_from_file(
    source: &str,
    reads: &[Read],
    stored: &[AreaSummary],
    problems: &mut Vec<Problem>,
) -> usize {
    const LISTED: usize = 200;
    let in_file: HashSet<&str> = reads.iter().map(|r| r.division.code.as_str()).collect();
    let tops: Vec<&str> = in_file
        .iter()
        .copied()
        .filter(|c| {
            !(2..c.len())
                .filter(|n| matches!(n, 2 | 4 | 6 | 9))
                .any(|n| in_file.contains(&c[..n]))
        })
        .collect();
    let missing: Vec<&AreaSummary> = stored
        .iter()
        .filter(|a| !in_file.contains(a.code.as_str()))
        .filter(|a| tops.iter().any(|t| a.code.starts_with(t)))
        .collect();
    for a in missing.iter().take(LISTED) {
        problems.push(problem(
            source,
            Severity::Warning,
            None,
            None,
            Some(a.code.clone()),
            format!(
                "库中的{}“{}”不在文件中：保留不删（{} 户）",
                a.level.label_zh(),
                a.name,
                a.households
            ),
        ));
    }
    if missing.len() > LISTED {
        problems.push(problem(
            source,
            Severity::Warning,
            None,
            None,
            None,
            format!(
                "另有 {} 个库中区划不在文件中，未逐一列出",
                missing.len() - LISTED
            ),
        ));
    }
    missing.len()
}

fn counts(
    rows: usize,
    reads: &[Read],
    (added, changed, missing): (usize, usize, usize),
) -> Vec<Count> {
    let count = |label: &str, value: usize| Count {
        label: label.to_owned(),
        value: value as f64,
    };
    let mut by_level: BTreeMap<AreaLevel, usize> = BTreeMap::new();
    for r in reads {
        *by_level.entry(r.division.level).or_default() += 1;
    }
    let mut out = vec![
        count("文件中的数据行", rows),
        count("可导入的区划", reads.len()),
    ];
    out.extend(
        by_level
            .into_iter()
            .map(|(level, n)| count(&format!("其中{}", level.label_zh()), n)),
    );
    out.extend([
        count("新增", added),
        count("更名或改级", changed),
        count("不变", reads.len() - added - changed),
        count("库中有而文件中没有（保留）", missing),
    ]);
    out
}

#[cfg(test)]
mod tests;
