//! Household positions from the positioning app's table: 户编号 (or the head's 证件号码),
//! 经度, 纬度 and 坐标系, in decimal degrees or 度分秒, sometimes swapped. A position
//! without a declared system is stored as WGS-84 and left to the location checks, which
//! find a group's systematic GCJ-02 or BD-09 offset and correct it.

use std::collections::HashMap;

use calamine::Data;

use super::columns::{HEADER_SEARCH_ROWS, Layout, Vocabulary, cell_text, find_layout};
use super::{crs_of, masked, values};
use crate::domain::GpsPoint;
use crate::formats::sheet::{self, SheetError, StreamedRow};
use crate::import::run::Progress;
use crate::import::{Count, Problem, Report, Severity};

/// The stored households a GPS table is matched to.
#[derive(Debug, Default)]
pub struct Registered {
    /// Household numbers.
    pub households: std::collections::HashSet<String>,
    /// Head's ID number → household number.
    pub heads: HashMap<String, String>,
}

/// What a dry run found and what a commit would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The report.
    pub report: Report,
    /// Household number → its new position, in the declared system.
    pub positions: Vec<(String, GpsPoint)>,
}

/// China's extent in degrees: a position outside is a typo or a swap.
const LON: std::ops::RangeInclusive<f64> = 73.0..=136.0;
const LAT: std::ops::RangeInclusive<f64> = 3.0..=54.0;

/// Reads a GPS table and matches it to the registered households.
///
/// # Errors
/// [`SheetError`] for a file that is not a spreadsheet or breaks the limits.
pub fn plan(
    file: &str,
    bytes: &[u8],
    registered: &Registered,
    vocabulary: &Vocabulary,
    progress: &Progress,
) -> Result<Plan, SheetError> {
    let mut rows: Vec<(String, u32, Vec<Data>)> = Vec::new();
    sheet::stream_rows(bytes, &super::LIMITS, |row: StreamedRow<'_>| {
        progress.add(1);
        rows.push((row.sheet.to_owned(), row.index, row.cells.to_vec()));
    })?;
    let mut layouts: HashMap<&str, Option<Layout>> = HashMap::new();
    for (name, _, _) in &rows {
        if !layouts.contains_key(name.as_str()) {
            let head: Vec<(u32, Vec<Data>)> = rows
                .iter()
                .filter(|(n, i, _)| n == name && *i < HEADER_SEARCH_ROWS)
                .map(|(_, i, c)| (*i, c.clone()))
                .collect();
            layouts.insert(name, find_layout(&head, vocabulary));
        }
    }
    let mut run = Run {
        file,
        sheet: file.to_owned(),
        registered,
        problems: Vec::new(),
        positions: Vec::new(),
        seen: HashMap::new(),
        swapped: 0,
        unknown: 0,
        undeclared: 0,
    };
    for (sheet, index, cells) in &rows {
        if let Some(Some(layout)) = layouts.get(sheet.as_str())
            && *index > layout.header_row
        {
            run.sheet = if sheet == "CSV" {
                file.to_owned()
            } else {
                format!("{file}!{sheet}")
            };
            run.row(layout, *index + 1, cells);
        }
    }
    if !layouts.values().any(Option::is_some) {
        run.problem(
            Severity::Error,
            None,
            None,
            None,
            "没有找到表头：需要 户编号（或户主证件号码）、经度、纬度 三列".into(),
        );
    }
    Ok(run.finish(rows.len()))
}

struct Run<'a> {
    file: &'a str,
    /// Where the rows being read are: `file` or `file!sheet`.
    sheet: String,
    registered: &'a Registered,
    problems: Vec<Problem>,
    positions: Vec<(String, GpsPoint)>,
    seen: HashMap<String, usize>,
    swapped: usize,
    unknown: usize,
    undeclared: usize,
}

impl Run<'_> {
    fn problem(
        &mut self,
        severity: Severity,
        row: Option<u32>,
        column: Option<&str>,
        value: Option<String>,
        reason: String,
    ) {
        if self.problems.len() < super::LISTED_PROBLEMS {
            self.problems.push(Problem {
                severity,
                file: self.sheet.clone(),
                row: row.map(|r| r as usize),
                column: column.map(str::to_owned),
                value,
                reason,
            });
        }
    }

    fn row(&mut self, layout: &Layout, row: u32, cells: &[Data]) {
        let get = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .unwrap_or(&Data::Empty)
        };
        let Some(household) = self.household(
            row,
            cells,
            get("household_no"),
            match get("head_id_number") {
                Data::Empty => get("id_number"),
                head => head,
            },
        ) else {
            return;
        };
        let (Some(mut lon), Some(mut lat)) = (
            values::degrees(get("longitude")),
            values::degrees(get("latitude")),
        ) else {
            let shown = format!(
                "{} / {}",
                cell_text(get("longitude")).unwrap_or_default(),
                cell_text(get("latitude")).unwrap_or_default()
            );
            self.problem(
                Severity::Error,
                Some(row),
                Some("经度/纬度"),
                Some(shown),
                "经纬度应为十进制度（124.97）或度分秒（41°43′12.5″）".into(),
            );
            return;
        };
        if !LON.contains(&lon) && LON.contains(&lat) && LAT.contains(&lon) {
            std::mem::swap(&mut lon, &mut lat);
            self.swapped += 1;
        } else if !LON.contains(&lon) || !LAT.contains(&lat) {
            self.problem(
                Severity::Error,
                Some(row),
                Some("经度/纬度"),
                Some(format!("{lon} / {lat}")),
                "位置不在中国境内（经度 73–136，纬度 3–54）".into(),
            );
            return;
        }
        let crs_text = cell_text(get("crs"));
        if crs_text.is_none() {
            self.undeclared += 1;
        }
        let Some(crs) = crs_of(crs_text.as_deref().unwrap_or_default()) else {
            self.problem(
                Severity::Error,
                Some(row),
                Some("坐标系"),
                crs_text,
                "坐标系应为 WGS84、CGCS2000、GCJ02 或 BD09（不填则由位置检查判断）".into(),
            );
            return;
        };
        let point = GpsPoint { lon, lat, crs };
        if let Some(&at) = self.seen.get(&household) {
            self.positions[at].1 = point;
            self.problem(
                Severity::Warning,
                Some(row),
                Some("户编号"),
                Some(household),
                "同一户有多行位置，按最后一行计".into(),
            );
        } else {
            self.seen.insert(household.clone(), self.positions.len());
            self.positions.push((household, point));
        }
    }

    /// The household a row names, by its number or its head's ID number.
    fn household(
        &mut self,
        row: u32,
        cells: &[Data],
        number: &Data,
        head_id: &Data,
    ) -> Option<String> {
        match (cell_text(number), values::id_number(head_id)) {
            (Some(no), _) => {
                if self.registered.households.contains(&no) {
                    Some(no)
                } else {
                    self.unknown += 1;
                    self.problem(
                        Severity::Warning,
                        Some(row),
                        Some("户编号"),
                        Some(no),
                        "户籍中没有这个户编号，该行未导入".into(),
                    );
                    None
                }
            }
            (None, Ok(id)) => {
                if let Some(no) = self.registered.heads.get(&id) {
                    Some(no.clone())
                } else {
                    self.unknown += 1;
                    self.problem(
                        Severity::Warning,
                        Some(row),
                        Some("证件号码"),
                        Some(masked(&id)),
                        "户籍中没有以此证件号码为户主的户，该行未导入".into(),
                    );
                    None
                }
            }
            (None, Err(_)) => {
                if cells.iter().filter_map(cell_text).count() > 1 {
                    self.problem(
                        Severity::Error,
                        Some(row),
                        Some("户编号"),
                        None,
                        "既没有户编号，也没有可用的户主证件号码".into(),
                    );
                }
                None
            }
        }
    }

    fn finish(mut self, rows: usize) -> Plan {
        if self.swapped > 0 {
            let reason = format!("{} 行经纬度颠倒（经度写成了纬度），已互换", self.swapped);
            self.problem(Severity::Warning, None, Some("经度/纬度"), None, reason);
        }
        if self.undeclared > 0 {
            let reason = format!(
                "{} 行未填坐标系：按 WGS-84 存，若实为 GCJ-02 或 BD-09，位置检查会按乡镇发现并纠正",
                self.undeclared
            );
            self.problem(Severity::Warning, None, Some("坐标系"), None, reason);
        }
        let counts = vec![
            Count {
                label: "读取的行".into(),
                value: rows as f64,
            },
            Count {
                label: "有位置的户".into(),
                value: self.positions.len() as f64,
            },
            Count {
                label: "户籍中找不到的行".into(),
                value: self.unknown as f64,
            },
            Count {
                label: "户籍中表里没有的户（位置不变）".into(),
                value: self
                    .registered
                    .households
                    .len()
                    .saturating_sub(self.positions.len()) as f64,
            },
        ];
        Plan {
            report: Report {
                kind: "gps".into(),
                source: self.file.to_owned(),
                counts,
                problems: self.problems,
            },
            positions: self.positions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Crs;

    fn registered() -> Registered {
        Registered {
            households: ["H1", "H2", "H3", "H4"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            heads: [("11010519491231002X".to_owned(), "H4".to_owned())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn positions_in_every_form_the_app_writes() {
        let csv = "\
定位信息导出,,,,
户编号,户主证件号码,经度,纬度,坐标系
H1,,124.97,41.72,GCJ02
H2,,41°43′12″,124°58′12″,
,11010519491231002X,124.9,41.7,CGCS2000
H9,,124.9,41.7,WGS84
H3,,12.49,4.17,WGS84
H1,,124.98,41.73,西安80
H2,,124.5,41.5,百度
";
        let read = plan(
            "定位.csv",
            csv.as_bytes(),
            &registered(),
            &Vocabulary::builtin(),
            &Progress::default(),
        )
        .unwrap();
        let said = |row: usize, text: &str| {
            read.report
                .problems
                .iter()
                .find(|p| p.row == Some(row) && p.reason.contains(text))
                .unwrap_or_else(|| panic!("row {row}: {text}: {:#?}", read.report.problems))
                .severity
        };
        let at = |no: &str| {
            read.positions
                .iter()
                .find(|(n, _)| n == no)
                .map(|(_, p)| *p)
        };
        assert_eq!(
            at("H1"),
            Some(GpsPoint {
                lon: 124.97,
                lat: 41.72,
                crs: Crs::Gcj02
            })
        );
        // H2's second row wins, said as a warning.
        assert_eq!(
            at("H2"),
            Some(GpsPoint {
                lon: 124.5,
                lat: 41.5,
                crs: Crs::Bd09
            })
        );
        assert_eq!(said(9, "按最后一行计"), Severity::Warning);
        assert_eq!(
            at("H4"),
            Some(GpsPoint {
                lon: 124.9,
                lat: 41.7,
                crs: Crs::Wgs84
            })
        );
        assert_eq!(at("H3"), None);
        assert_eq!(said(6, "户籍中没有"), Severity::Warning);
        let dms = plan(
            "定位.csv",
            "户编号,经度,纬度\nH2,41°43′12″,124°58′12″\n".as_bytes(),
            &registered(),
            &Vocabulary::builtin(),
            &Progress::default(),
        )
        .unwrap();
        let h2 = dms.positions[0].1;
        assert!(
            (h2.lon - 124.97).abs() < 1e-9 && (h2.lat - 41.72).abs() < 1e-9,
            "{h2:?}"
        );
        assert_eq!(h2.crs, Crs::Wgs84);
        assert_eq!(said(7, "中国境内"), Severity::Error);
        assert_eq!(said(8, "坐标系应为"), Severity::Error);
        assert!(
            read.report
                .problems
                .iter()
                .any(|p| p.reason.contains("1 行经纬度颠倒"))
        );
        assert!(
            read.report
                .problems
                .iter()
                .any(|p| p.reason.contains("1 行未填坐标系"))
        );
    }
}
