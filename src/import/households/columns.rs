//! The columns of a household export: which field each header names (the synonym
//! table of `data/household_columns.toml`, extended by an office's own file), and where
//! the header row is, below the title rows.

use std::collections::BTreeMap;

use calamine::Data;
use serde::Deserialize;

pub use crate::formats::sheet::{cell_text, header_key};

/// The built-in synonym table.
pub const BUILTIN: &str = include_str!("../../../data/household_columns.toml");

/// How many rows the header is looked for in: title rows come first.
pub const HEADER_SEARCH_ROWS: u32 = 20;

/// One field of the export: the names its header goes by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldSpec {
    /// Header names; the first is what exports write.
    pub headers: Vec<String>,
    /// The import cannot go on without it.
    #[serde(default)]
    pub required: bool,
    /// The layouts (`fpf`, `jdlk`) that write it.
    #[serde(default)]
    pub layouts: Vec<String>,
}

/// The synonym table: field → its names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Vocabulary {
    /// Field key (e.g. `household_no`) → spec, in key order.
    pub fields: BTreeMap<String, FieldSpec>,
}

/// A synonym table that is not what paicha reads.
#[derive(Debug, thiserror::Error)]
pub enum VocabularyError {
    /// Not TOML of the table's shape.
    #[error("the column table is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// An office's table names a field paicha does not know.
    #[error(
        "the column table names field {0:?}, which paicha does not read (the fields are those of data/household_columns.toml)"
    )]
    UnknownField(String),
}

impl Vocabulary {
    /// The built-in table.
    ///
    /// # Panics
    /// Never: a test reads the embedded table.
    #[must_use]
    pub fn builtin() -> Self {
        #[expect(clippy::expect_used, reason = "the embedded table is tested")]
        toml::from_str(BUILTIN).expect("data/household_columns.toml is valid")
    }

    /// The built-in table with an office's names added (`--columns FILE`): each of its
    /// fields' headers is added to the built-in field's.
    ///
    /// # Errors
    /// [`VocabularyError`] for a table that does not parse or names an unknown field.
    pub fn extended(text: &str) -> Result<Self, VocabularyError> {
        #[derive(Deserialize)]
        struct Extra {
            fields: BTreeMap<String, ExtraField>,
        }
        #[derive(Deserialize)]
        struct ExtraField {
            headers: Vec<String>,
        }
        let extra: Extra = toml::from_str(text)?;
        let mut table = Self::builtin();
        for (key, field) in extra.fields {
            let spec = table
                .fields
                .get_mut(&key)
                .ok_or_else(|| VocabularyError::UnknownField(key.clone()))?;
            for h in field.headers {
                if !spec.headers.contains(&h) {
                    spec.headers.push(h);
                }
            }
        }
        Ok(table)
    }

    /// The field a header names, if any.
    #[must_use]
    pub fn field_of(&self, header: &str) -> Option<&str> {
        let key = header_key(header);
        if key.is_empty() {
            return None;
        }
        self.fields
            .iter()
            .find(|(_, spec)| spec.headers.iter().any(|h| header_key(h) == key))
            .map(|(name, _)| name.as_str())
    }

    /// The header an export writes for a field.
    #[must_use]
    pub fn header_of(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(|s| s.headers.first())
            .map(String::as_str)
    }
}

/// Where each field is in a sheet, found from its header row (and a second header row
/// under merged cells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The last header row's index from 0: data starts below it.
    pub header_row: u32,
    /// Each column's header as the file writes it (merged parents joined: `风险/风险1`).
    pub headers: Vec<String>,
    /// Field key → column.
    pub fields: BTreeMap<String, usize>,
}

impl Layout {
    /// The column of a field.
    #[must_use]
    pub fn column(&self, field: &str) -> Option<usize> {
        self.fields.get(field).copied()
    }

    /// Columns no field claims: kept as they came.
    pub fn unmapped(&self) -> impl Iterator<Item = (usize, &str)> {
        self.headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !h.is_empty() && !self.fields.values().any(|c| c == i))
            .map(|(i, h)| (i, h.as_str()))
    }
}

/// Finds the header among the first rows of a sheet: the row whose cells name the most
/// fields, at least three of them (title rows name none). A row right under it whose
/// cells name fields where the header's are empty (merged cells above) or more fields
/// than its parent is a second header row; its names win, joined to the parent's where
/// they name no field alone.
#[must_use]
pub fn find_layout(rows: &[(u32, Vec<Data>)], vocabulary: &Vocabulary) -> Option<Layout> {
    let score = |cells: &[Data]| -> usize {
        cells
            .iter()
            .filter_map(cell_text)
            .filter(|t| vocabulary.field_of(t).is_some())
            .count()
    };
    let (at, best) = rows
        .iter()
        .enumerate()
        .map(|(i, (_, cells))| (i, score(cells)))
        .max_by_key(|&(i, s)| (s, std::cmp::Reverse(i)))?;
    if best < 3 {
        return None;
    }
    let (header_index, header) = &rows[at];
    let mut headers: Vec<String> = header
        .iter()
        .map(|c| cell_text(c).unwrap_or_default())
        .collect();
    let mut last_row = *header_index;
    if let Some((next_index, next)) = rows.get(at + 1).filter(|(i, _)| *i == header_index + 1) {
        // Merged parents span the empty cells to their right.
        let width = headers.len().max(next.len());
        let mut spanned = headers.clone();
        spanned.resize(width, String::new());
        let mut parent = String::new();
        for h in &mut spanned {
            if h.is_empty() {
                h.clone_from(&parent);
            } else {
                parent.clone_from(h);
            }
        }
        let names_field = |t: &str| vocabulary.field_of(t).is_some();
        let second = next.iter().enumerate().any(|(c, cell)| {
            cell_text(cell).is_some_and(|t| names_field(&t)) && !names_field(&spanned[c])
        });
        if second {
            for (c, h) in spanned.iter_mut().enumerate() {
                if let Some(child) = next.get(c).and_then(cell_text) {
                    *h = if names_field(&child) || h.is_empty() {
                        child
                    } else {
                        format!("{h}/{child}")
                    };
                }
            }
            headers = spanned;
            last_row = *next_index;
        }
    }
    let mut fields = BTreeMap::new();
    for (c, h) in headers.iter().enumerate() {
        if let Some(field) = vocabulary.field_of(h) {
            // The first column of a field counts; a repeat stays an unmapped column.
            fields.entry(field.to_owned()).or_insert(c);
        }
    }
    Some(Layout {
        header_row: last_row,
        headers,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u32, cells: &[&str]) -> (u32, Vec<Data>) {
        (
            i,
            cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Data::Empty
                    } else {
                        Data::String((*c).to_owned())
                    }
                })
                .collect(),
        )
    }

    #[test]
    fn the_builtin_table_reads_and_knows_both_vocabularies() {
        let v = Vocabulary::builtin();
        assert_eq!(v.field_of("县（市、区、旗）"), Some("county"));
        assert_eq!(v.field_of("县"), Some("county"));
        assert_eq!(v.field_of("人均纯收入（元）"), Some("income"));
        assert_eq!(v.field_of(" 人均纯收入 "), Some("income"));
        assert_eq!(v.field_of("证件号码"), Some("id_number"));
        assert_eq!(v.field_of("备注"), None);
        assert_eq!(v.header_of("county"), Some("县(市、区、旗)"));
    }

    #[test]
    fn an_office_adds_names_and_may_not_invent_fields() {
        let v = Vocabulary::extended("[fields.household_no]\nheaders = [\"农户编码\"]\n").unwrap();
        assert_eq!(v.field_of("农户编码"), Some("household_no"));
        assert_eq!(v.field_of("户编号"), Some("household_no"));
        let err = Vocabulary::extended("[fields.shoe_size]\nheaders = [\"鞋码\"]\n").unwrap_err();
        assert!(err.to_string().contains("shoe_size"), "{err}");
    }

    #[test]
    fn the_header_is_found_under_title_rows() {
        let v = Vocabulary::builtin();
        let rows = vec![
            row(0, &["XX县建档立卡人口信息表"]),
            row(1, &["数据时间：2026年10月"]),
            row(2, &["县", "乡", "村", "户编号", "姓名", "证件号码", "备注"]),
            row(3, &["新宾县", "旺清门镇", "孤脚村", "1", "张三", "x", ""]),
        ];
        let layout = find_layout(&rows, &v).unwrap();
        assert_eq!(layout.header_row, 2);
        assert_eq!(layout.column("household_no"), Some(3));
        assert_eq!(layout.unmapped().collect::<Vec<_>>(), vec![(6, "备注")]);
    }

    #[test]
    fn a_second_header_row_under_merged_cells_names_the_columns() {
        let v = Vocabulary::builtin();
        let rows = vec![
            row(
                0,
                &["户编号", "姓名", "证件号码", "返贫致贫风险", "", "", "收入"],
            ),
            row(
                1,
                &[
                    "",
                    "",
                    "",
                    "风险类型1",
                    "风险类型2",
                    "风险说明",
                    "人均纯收入",
                ],
            ),
        ];
        let layout = find_layout(&rows, &v).unwrap();
        assert_eq!(layout.header_row, 1);
        assert_eq!(layout.column("risk"), Some(3));
        assert_eq!(layout.column("risk2"), Some(4));
        assert_eq!(layout.column("income"), Some(6));
        assert_eq!(layout.headers[4], "风险类型2");
        // A child that names no field alone is joined to its merged parent.
        assert_eq!(layout.headers[5], "返贫致贫风险/风险说明");
    }

    #[test]
    fn a_sheet_without_a_header_has_no_layout() {
        let v = Vocabulary::builtin();
        assert_eq!(find_layout(&[row(0, &["说明", "本表为空"])], &v), None);
    }
}
