//! Importing an office's own files. Every import reads first and answers a report (a
//! dry run: what it found, matched, repaired and refused, in Chinese for the clerk);
//! only a commit writes, as a new data version in one transaction that keeps what it
//! replaced, so it can be listed and undone.
//!
//! Today: division codes (`divisions`), village, township and county boundaries
//! (`boundaries`), households with their members (`households`), and departments'
//! rolls (`rolls`).

pub mod boundaries;
pub mod divisions;
pub mod households;
pub mod measures;
pub mod rolls;
pub mod run;
pub mod village_form;

use serde::{Deserialize, Serialize};

use crate::formats::table::{self, Cell};

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The import cannot be committed until it is fixed.
    Error,
    /// Committed as reported; worth a look.
    Warning,
}

impl Severity {
    fn label_zh(self) -> &'static str {
        match self {
            Severity::Error => "错误",
            Severity::Warning => "提示",
        }
    }
}

/// One thing found in the file: where (file, feature or row, column, value) and why,
/// in Chinese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file (inside a zip: `a.zip!/dir/x.shp`).
    pub file: String,
    /// The feature or row, from 1.
    pub row: Option<usize>,
    /// The attribute or column.
    pub column: Option<String>,
    /// Its value as read (codes and names of places; never personal data).
    pub value: Option<String>,
    /// What is wrong, in Chinese.
    pub reason: String,
}

/// A count of the report's summary sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// What is counted, in Chinese.
    pub label: String,
    /// How many (or a measure, e.g. km²).
    pub value: f64,
}

/// What an import found and would do (a dry run) or did (a commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `boundaries`.
    pub kind: String,
    /// The file's name.
    pub source: String,
    /// The summary, in order.
    pub counts: Vec<Count>,
    /// Everything worth saying about a feature, row or area.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Errors in the report: while there are any, nothing can be committed.
    #[must_use]
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    /// The report as a workbook a clerk opens: 概况 (the counts) and 问题 (every problem
    /// with its file, feature, column, value and reason).
    ///
    /// # Errors
    /// The writer's, which does not fail on data this size.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let counts: Vec<Vec<Cell>> = self
            .counts
            .iter()
            .map(|c| vec![Cell::Text(c.label.clone()), Cell::Number(c.value)])
            .collect();
        let title = format!("导入报告：{}", self.source);
        table::add_sheet(&mut book, "概况", Some(&title), &["项目", "数量"], &counts)?;
        let problems: Vec<Vec<Cell>> = self
            .problems
            .iter()
            .map(|p| {
                let text = |v: &Option<String>| v.clone().map_or(Cell::Empty, Cell::Text);
                vec![
                    Cell::Text(p.severity.label_zh().into()),
                    Cell::Text(p.file.clone()),
                    p.row.map_or(Cell::Empty, |r| Cell::Number(r as f64)),
                    text(&p.column),
                    text(&p.value),
                    Cell::Text(p.reason.clone()),
                ]
            })
            .collect();
        table::add_sheet(
            &mut book,
            "问题",
            None,
            &["级别", "文件", "要素/行", "字段", "值", "说明"],
            &problems,
        )?;
        book.save_to_buffer()
    }
}
