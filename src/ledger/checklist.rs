//! Inspection checklists (排查清单): the items a village's problem ledger is kept against.
//!
//! Two checklists are built in, transcribed from the seed documents into
//! `data/checklists/` and embedded at compile time so that the binary needs no data
//! directory to offer them; users may bring their own as CSV with the same columns
//! ([`parse_csv`]).
//!
//! The transcription keeps the sources' own numbering, gaps and unnumbered rows included:
//! `position` is the only thing numbered here, and `source_note` explains every oddity
//! (see the header of `data/checklists/templates.toml`).

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;

use crate::domain::ledger::{ChecklistItem, ReportLayout, Template};

/// The catalog of built-in templates.
const CATALOG: &str = include_str!("../../data/checklists/templates.toml");

/// Where the catalog lives, for error messages.
const CATALOG_PATH: &str = "data/checklists/templates.toml";

/// The embedded CSVs, by the file name the catalog refers to. `include_str!` needs a literal
/// path, so a new template needs a line here as well as its `[[template]]` entry.
const FILES: [(&str, &str); 2] = [
    (
        "xuchang-2022.csv",
        include_str!("../../data/checklists/xuchang-2022.csv"),
    ),
    (
        "lianyungang-2019.csv",
        include_str!("../../data/checklists/lianyungang-2019.csv"),
    ),
];

/// The CSV columns, in the order the built-in files use.
pub const COLUMNS: [&str; 8] = [
    "position",
    "category",
    "category_no",
    "number",
    "item",
    "content",
    "responsible_unit",
    "source_note",
];

/// Columns a CSV must have; every other column may be left out and then reads as empty
/// (`position` as the row order).
const REQUIRED: [&str; 2] = ["category", "content"];

/// What can go wrong loading a checklist. Messages name the template or file, and for bad
/// rows the row (1-based, the header being row 1) and the column.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    /// The header lacks a column every row needs.
    #[error("{template}: row 1: missing required column `{column}`")]
    MissingColumn {
        /// The template or file being read.
        template: String,
        /// The missing column.
        column: &'static str,
    },
    /// The header has a column this format does not know, most likely a misspelling.
    #[error(
        "{template}: row 1: unknown column `{column}` (known: position, category, \
         category_no, number, item, content, responsible_unit, source_note)"
    )]
    UnknownColumn {
        /// The template or file being read.
        template: String,
        /// The column as written.
        column: String,
    },
    /// The header names a column twice.
    #[error("{template}: row 1: column `{column}` appears twice")]
    DuplicateColumn {
        /// The template or file being read.
        template: String,
        /// The repeated column.
        column: String,
    },
    /// A required cell (`category`, `content`) is empty.
    #[error("{template}: row {row}, column `{column}`: must not be empty")]
    EmptyField {
        /// The template or file being read.
        template: String,
        /// The row, counting the header as row 1.
        row: u64,
        /// The empty column.
        column: &'static str,
    },
    /// A `position` that is not a whole number from 1 to 4294967295.
    #[error("{template}: row {row}, column `position`: `{value}` is not a positive whole number")]
    InvalidPosition {
        /// The template or file being read.
        template: String,
        /// The row, counting the header as row 1.
        row: u64,
        /// The cell as written.
        value: String,
    },
    /// Two rows with the same `position`.
    #[error(
        "{template}: row {row}, column `position`: {position} is already used by row {first_row}"
    )]
    DuplicatePosition {
        /// The template or file being read.
        template: String,
        /// The row, counting the header as row 1.
        row: u64,
        /// The repeated position.
        position: u32,
        /// The earlier row with that position.
        first_row: u64,
    },
    /// The CSV itself is malformed (unequal field counts, invalid UTF-8, I/O).
    #[error("{template}: row {row}: {source}")]
    Csv {
        /// The template or file being read.
        template: String,
        /// The row, counting the header as row 1.
        row: u64,
        /// The CSV reader's error.
        source: csv::Error,
    },
    /// A header and no rows: a checklist without items is a mistake, not a template.
    #[error("{template}: no items")]
    NoItems {
        /// The template or file being read.
        template: String,
    },
    /// The built-in catalog does not parse.
    #[error("{CATALOG_PATH}: {0}")]
    Catalog(#[from] toml::de::Error),
    /// The built-in catalog names a file that is not embedded.
    #[error("{CATALOG_PATH}: template `{template}`: file `{file}` is not embedded")]
    UnknownFile {
        /// The template's id.
        template: String,
        /// The file it names.
        file: String,
    },
    /// The built-in catalog uses a template id twice.
    #[error("{CATALOG_PATH}: template id `{0}` appears twice")]
    DuplicateTemplate(String),
}

/// The catalog as written in `templates.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    template: Vec<CatalogEntry>,
}

/// One `[[template]]` of the catalog.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogEntry {
    id: String,
    name: String,
    region: String,
    year: i32,
    source: String,
    file: String,
    expected_items: usize,
    report_layout: ReportLayout,
}

/// The built-in templates, in catalog order.
///
/// # Errors
/// Only if the embedded data is broken (the tests load it), with the file and row.
pub fn builtin() -> Result<Vec<Template>, ChecklistError> {
    let catalog: Catalog = toml::from_str(CATALOG)?;
    let mut templates: Vec<Template> = Vec::with_capacity(catalog.template.len());
    for entry in catalog.template {
        if templates.iter().any(|t| t.id == entry.id) {
            return Err(ChecklistError::DuplicateTemplate(entry.id));
        }
        let Some((_, text)) = FILES.iter().find(|(file, _)| *file == entry.file) else {
            return Err(ChecklistError::UnknownFile {
                template: entry.id,
                file: entry.file,
            });
        };
        let label = format!("{} (data/checklists/{})", entry.id, entry.file);
        let items = parse_csv(&label, text.as_bytes())?;
        templates.push(Template {
            id: entry.id,
            name: entry.name,
            region: entry.region,
            year: entry.year,
            source: entry.source,
            expected_items: entry.expected_items,
            report_layout: entry.report_layout,
            items,
        });
    }
    Ok(templates)
}

/// Reads checklist items from CSV with a header row naming the [`COLUMNS`], in any order.
///
/// `category` and `content` are required; the other columns may be left out. Without a
/// `position` column each item's position is its row order (1 for the first row after the
/// header); with one, items are returned sorted by it. Cells are trimmed, empty optional
/// cells read as `None`, and a UTF-8 byte order mark (as Excel writes) is ignored.
/// `template` names the template or file in error messages.
///
/// # Errors
/// [`ChecklistError`] naming `template`, the row (the header is row 1) and the column: for a
/// missing required, unknown or repeated column, an empty `category` or `content`, a
/// `position` that is not a positive whole number or is repeated, no rows at all, or
/// malformed CSV.
pub fn parse_csv(template: &str, reader: impl Read) -> Result<Vec<ChecklistItem>, ChecklistError> {
    let mut rows = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rows.headers().map_err(|source| ChecklistError::Csv {
        template: template.to_owned(),
        row: 1,
        source,
    })?;
    let columns = Columns::new(template, headers)?;

    let mut items = Vec::new();
    let mut first_row_of: HashMap<u32, u64> = HashMap::new();
    for (index, record) in rows.records().enumerate() {
        // Row 1 is the header, so record `index` is row `index + 2`.
        let row = index as u64 + 2;
        let record = record.map_err(|source| ChecklistError::Csv {
            template: template.to_owned(),
            row,
            source,
        })?;
        let cell = |column: Option<usize>| column.and_then(|i| record.get(i)).unwrap_or("");
        let optional = |column: Option<usize>| Some(cell(column)).filter(|s| !s.is_empty());
        let required = |column: usize, name: &'static str| match record.get(column) {
            Some(value) if !value.is_empty() => Ok(value.to_owned()),
            _ => Err(ChecklistError::EmptyField {
                template: template.to_owned(),
                row,
                column: name,
            }),
        };

        let position = match columns.position {
            Some(column) => {
                let value = cell(Some(column));
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| ChecklistError::InvalidPosition {
                        template: template.to_owned(),
                        row,
                        value: value.to_owned(),
                    })?
            }
            // Only a file of more than 4 billion rows can fail here.
            None => u32::try_from(index + 1).map_err(|_| ChecklistError::InvalidPosition {
                template: template.to_owned(),
                row,
                value: (index + 1).to_string(),
            })?,
        };
        if let Some(&first_row) = first_row_of.get(&position) {
            return Err(ChecklistError::DuplicatePosition {
                template: template.to_owned(),
                row,
                position,
                first_row,
            });
        }
        first_row_of.insert(position, row);

        items.push(ChecklistItem {
            position,
            category: required(columns.category, "category")?,
            category_no: optional(columns.category_no).map(str::to_owned),
            number: optional(columns.number).map(str::to_owned),
            item: optional(columns.item).map(str::to_owned),
            content: required(columns.content, "content")?,
            responsible_unit: optional(columns.responsible_unit).map(str::to_owned),
            source_note: optional(columns.source_note).map(str::to_owned),
        });
    }
    if items.is_empty() {
        return Err(ChecklistError::NoItems {
            template: template.to_owned(),
        });
    }
    // Position is the source order; a user's file may list rows in another order.
    items.sort_by_key(|item| item.position);
    Ok(items)
}

/// Where each column is in a CSV's header.
struct Columns {
    position: Option<usize>,
    category: usize,
    category_no: Option<usize>,
    number: Option<usize>,
    item: Option<usize>,
    content: usize,
    responsible_unit: Option<usize>,
    source_note: Option<usize>,
}

impl Columns {
    /// Maps the header, rejecting unknown and repeated columns so that a misspelt column
    /// fails loudly instead of reading as empty.
    fn new(template: &str, headers: &csv::StringRecord) -> Result<Self, ChecklistError> {
        let mut found: [Option<usize>; COLUMNS.len()] = [None; COLUMNS.len()];
        for (index, header) in headers.iter().enumerate() {
            // csv-core strips a leading byte order mark, but not when its first read
            // returns only part of it (a reader yielding a byte at a time); then the mark
            // ends up in the first header.
            let header = header.trim_start_matches('\u{feff}').trim();
            let Some(slot) = COLUMNS.iter().position(|c| *c == header) else {
                return Err(ChecklistError::UnknownColumn {
                    template: template.to_owned(),
                    column: header.to_owned(),
                });
            };
            if found[slot].replace(index).is_some() {
                return Err(ChecklistError::DuplicateColumn {
                    template: template.to_owned(),
                    column: header.to_owned(),
                });
            }
        }
        let get = |name: &str| {
            COLUMNS
                .iter()
                .position(|c| *c == name)
                .and_then(|slot| found[slot])
        };
        let require = |name: &'static str| {
            get(name).ok_or_else(|| ChecklistError::MissingColumn {
                template: template.to_owned(),
                column: name,
            })
        };
        // Checked in REQUIRED's order so the first missing column named is predictable.
        for name in REQUIRED {
            require(name)?;
        }
        Ok(Self {
            position: get("position"),
            category: require("category")?,
            category_no: get("category_no"),
            number: get("number"),
            item: get("item"),
            content: require("content")?,
            responsible_unit: get("responsible_unit"),
            source_note: get("source_note"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn template(id: &str) -> Template {
        builtin().unwrap().into_iter().find(|t| t.id == id).unwrap()
    }

    fn counts(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
        pairs.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
    }

    /// Positions (1-based) of the rows carrying a note, with the note.
    fn notes(t: &Template) -> Vec<(u32, &str)> {
        t.items
            .iter()
            .filter_map(|i| i.source_note.as_deref().map(|n| (i.position, n)))
            .collect()
    }

    #[test]
    fn builtin_loads_both_templates() {
        let all = builtin().unwrap();
        let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["xuchang-2022", "lianyungang-2019"]);
        assert_eq!(all[0].report_layout, ReportLayout::Xuchang);
        assert_eq!(all[1].report_layout, ReportLayout::Lianyungang);
        assert_eq!((all[0].year, all[1].year), (2022, 2019));
        assert_eq!((all[0].expected_items, all[1].expected_items), (66, 37));
    }

    #[test]
    fn builtin_files_have_exactly_the_columns_and_untrimmed_cells() {
        // Parsing trims cells; the files must not depend on that, or a cell would read
        // differently from what is stored.
        for (file, text) in FILES {
            let mut rows = csv::Reader::from_reader(text.as_bytes());
            assert_eq!(rows.headers().unwrap(), COLUMNS.as_slice(), "{file}");
            for record in rows.records() {
                for cell in &record.unwrap() {
                    assert_eq!(cell, cell.trim(), "{file}");
                    assert!(!cell.contains('\n'), "{file}");
                }
            }
        }
    }

    #[test]
    fn xuchang_has_the_rows_the_source_has() {
        let t = template("xuchang-2022");
        // The document says 66 items; its text has 60 rows: 38–43, 61, 62 have no row,
        // 66 only a stray line without text, and three rows carry no number.
        assert_eq!(t.items.len(), 60);
        assert_eq!(
            t.categories(),
            counts(&[
                ("基础工作方面", 5),
                ("动态监测方面", 7),
                ("帮扶支持方面", 12),
                ("“三保”方面", 16),
                ("综合保障兜底保障方面", 11),
                ("人居环境方面", 4),
                ("履职尽责工作方面", 5),
            ])
        );
        let numbers: Vec<Option<&str>> = t.items.iter().map(|i| i.number.as_deref()).collect();
        let mut expected: Vec<Option<String>> = (1..=37)
            .chain(44..=59)
            .map(|n| Some(n.to_string()))
            .collect();
        expected.extend([None, None, Some("60".into()), None]);
        expected.extend((63..=65).map(|n| Some(n.to_string())));
        assert_eq!(
            numbers,
            expected.iter().map(Option::as_deref).collect::<Vec<_>>()
        );
        let unnumbered: Vec<u32> = t
            .items
            .iter()
            .filter(|i| i.number.is_none())
            .map(|i| i.position)
            .collect();
        assert_eq!(unnumbered, [54, 55, 57]);
        assert!(t.items.iter().all(|i| i.responsible_unit.is_none()));
        assert_eq!(
            notes(&t).iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [1, 38, 41, 42, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60]
        );
        assert_eq!(
            t.items[37].source_note.as_deref(),
            Some("源文件缺第38至43号")
        );
        assert_eq!(
            t.items[57].source_note.as_deref(),
            Some("源文件缺第61、62号")
        );
    }

    #[test]
    fn lianyungang_has_the_rows_the_source_has() {
        let t = template("lianyungang-2019");
        assert_eq!(t.items.len(), 37);
        assert_eq!(
            t.categories(),
            counts(&[
                ("三落实", 12),
                ("三精准", 9),
                ("三保障", 15),
                ("其他方面", 1)
            ])
        );
        for (i, item) in t.items.iter().enumerate() {
            assert_eq!(item.number, Some((i + 1).to_string()));
            assert!(item.responsible_unit.is_some(), "row {}", item.position);
        }
        assert_eq!(
            t.items[6].responsible_unit.as_deref(),
            Some("区住建局、区社会事业局")
        );
        assert!(notes(&t).is_empty());
    }

    #[test]
    fn every_row_has_content_and_positions_run_from_one() {
        for t in builtin().unwrap() {
            for (i, item) in t.items.iter().enumerate() {
                assert_eq!(item.position as usize, i + 1, "{}", t.id);
                assert!(
                    !item.content.trim().is_empty(),
                    "{} {}",
                    t.id,
                    item.position
                );
                assert!(!item.category.is_empty(), "{} {}", t.id, item.position);
            }
        }
    }

    fn parse_err(text: &str) -> String {
        parse_csv("user.csv", text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_template_row_and_column() {
        assert_eq!(
            parse_err("position,category,item\n1,a,b\n"),
            "user.csv: row 1: missing required column `content`"
        );
        assert_eq!(
            parse_err("category,content\na,x\nb,  \n"),
            "user.csv: row 3, column `content`: must not be empty"
        );
        assert_eq!(
            parse_err("position,category,content\n2,a,x\n2,a,y\n"),
            "user.csv: row 3, column `position`: 2 is already used by row 2"
        );
        assert_eq!(
            parse_err("position,category,content\nfirst,a,x\n"),
            "user.csv: row 2, column `position`: `first` is not a positive whole number"
        );
        assert_eq!(
            parse_err("position,category,content\n0,a,x\n"),
            "user.csv: row 2, column `position`: `0` is not a positive whole number"
        );
        assert!(parse_err("category,contnet\na,x\n").contains("row 1: unknown column `contnet`"));
        assert!(parse_err("category,content,content\na,x,y\n").contains("`content` appears twice"));
        assert!(parse_err("category,content\na,x\nb\n").starts_with("user.csv: row 3: "));
        assert_eq!(parse_err("category,content\n"), "user.csv: no items");
    }

    #[test]
    fn bom_csv_without_position_parses_in_row_order() {
        let text = "\u{feff}category,number,content,responsible_unit\n\
                    三保障,1,是否存在失学辍学。, 各街道 \n\
                    三保障,,\"是否全部参保，\"\"应保尽保\"\"。\",\n";
        let items = parse_csv("bom.csv", text.as_bytes()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].position, 1);
        assert_eq!(items[0].category, "三保障");
        assert_eq!(items[0].number.as_deref(), Some("1"));
        assert_eq!(items[0].responsible_unit.as_deref(), Some("各街道"));
        assert_eq!(items[1].position, 2);
        assert_eq!(items[1].number, None);
        assert_eq!(items[1].content, "是否全部参保，\"应保尽保\"。");
        assert_eq!(items[1].item, None);
    }

    #[test]
    fn bom_before_a_quoted_header_is_ignored() {
        let text = "\u{feff}\"category\",\"content\"\r\na,x\r\n";
        let items = parse_csv("excel.csv", text.as_bytes()).unwrap();
        assert_eq!(
            (items[0].category.as_str(), items[0].content.as_str()),
            ("a", "x")
        );
    }

    #[test]
    fn catalog_errors_name_the_catalog() {
        let err = ChecklistError::UnknownFile {
            template: "t".into(),
            file: "t.csv".into(),
        };
        assert_eq!(
            err.to_string(),
            "data/checklists/templates.toml: template `t`: file `t.csv` is not embedded"
        );
    }

    #[test]
    fn explicit_positions_order_the_items() {
        let text = "position,category,content\n20,b,y\n10,a,x\n";
        let items = parse_csv("user.csv", text.as_bytes()).unwrap();
        let order: Vec<(u32, &str)> = items
            .iter()
            .map(|i| (i.position, i.content.as_str()))
            .collect();
        assert_eq!(order, [(10, "x"), (20, "y")]);
    }

    #[test]
    fn layout_serializes_snake_case() {
        let t = template("xuchang-2022");
        let text = toml::to_string(&Template {
            items: Vec::new(),
            ..t
        })
        .unwrap();
        assert!(text.contains("report_layout = \"xuchang\""), "{text}");
    }
}
