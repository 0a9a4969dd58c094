//! The national systems' layouts, written: one row per person with the household's
//! fields repeated, headers from the synonym table. `paicha export persons` writes
//! them, so that an office can hand paicha's data on, and so that an export imports
//! back to the same households (the 防返贫 layout, exactly; the 建档立卡 layout has no
//! monitoring and knows only whether a house is dangerous, so it loses those).

use super::columns::Vocabulary;
use crate::domain::{Category, Crs, HouseGrade, Relation, RiskState, RiskType, Schooling, Sex};

/// A layout of the national systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 防返贫监测信息系统 (2021 on): 户类型, 监测对象类别, risks.
    Fpf,
    /// 全国扶贫开发信息系统 建档立卡 (2014–2020): 脱贫属性, 危房户.
    Jdlk,
}

impl Layout {
    /// The layout's code in `data/household_columns.toml`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Layout::Fpf => "fpf",
            Layout::Jdlk => "jdlk",
        }
    }

    /// The title above the header.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Layout::Fpf => "防返贫监测对象及脱贫人口信息表",
            Layout::Jdlk => "建档立卡人口信息表",
        }
    }

    /// The layout's fields in their order, with the header each is written under.
    #[must_use]
    pub fn columns(self, vocabulary: &Vocabulary) -> Vec<(&'static str, String)> {
        FIELDS
            .iter()
            .filter_map(|&field| {
                let spec = vocabulary.fields.get(field)?;
                spec.layouts
                    .iter()
                    .any(|l| l == self.code())
                    .then(|| (field, spec.headers[0].clone()))
            })
            .collect()
    }

    /// One person's row in this layout, from a record of `paicha export`'s persons
    /// query (`names` its column names).
    #[must_use]
    pub fn row(
        self,
        columns: &[(&'static str, String)],
        names: &[String],
        record: &[String],
    ) -> Vec<String> {
        let raw = |name: &str| -> &str {
            names
                .iter()
                .position(|n| n == name)
                .and_then(|i| record.get(i))
                .map_or("", String::as_str)
        };
        let yes = |name: &str| match raw(name) {
            "true" => "是".to_owned(),
            "false" => "否".to_owned(),
            _ => String::new(),
        };
        let category = Category::from_code(raw("category"));
        columns
            .iter()
            .map(|(field, _)| match *field {
                "county" | "township" | "village" | "village_code" | "household_no" | "name"
                | "id_number" | "member_count" => raw(field).to_owned(),
                "sex" => label(Sex::from_code(raw("sex")).map(Sex::label_zh)),
                "birth_date" => birth_date(raw("id_number")),
                "relation" => label(Relation::from_code(raw("relation")).map(Relation::label_zh)),
                "household_type" => label(category.and_then(|c| match c {
                    Category::Lifted => Some("脱贫户"),
                    Category::Ordinary => Some("一般农户"),
                    Category::StableNoPolicy => Some("稳定脱贫不享受政策"),
                    Category::Poor => Some("贫困户"),
                    _ => None,
                })),
                "monitoring" => label(
                    category
                        .filter(|c| c.is_monitored())
                        .map(Category::label_zh),
                ),
                "lifted" => label(category.map(|c| match c {
                    Category::Ordinary => "非贫困户",
                    Category::Poor => "未脱贫",
                    _ => "已脱贫",
                })),
                "risk" => label(RiskType::from_code(raw("risk_type")).map(RiskType::label_zh)),
                "risk_resolved" => {
                    label(RiskState::from_code(raw("risk_state")).map(|s| match s {
                        RiskState::Resolved => "是",
                        RiskState::Unresolved => "否",
                    }))
                }
                "income" => raw("income_per_capita").to_owned(),
                "house_grade" => {
                    label(HouseGrade::from_code(raw("house_grade")).map(HouseGrade::label_zh))
                }
                "house_dangerous" => label(HouseGrade::from_code(raw("house_grade")).map(|g| {
                    if matches!(g, HouseGrade::C | HouseGrade::D) {
                        "是"
                    } else {
                        "否"
                    }
                })),
                "house_occupied" | "water_safe" | "water_piped" | "food_secure"
                | "clothing_secure" | "medical_insured" => yes(field),
                "schooling" => {
                    label(Schooling::from_code(raw("schooling")).map(Schooling::label_zh))
                }
                "disability" => label(raw("disability_grade").parse::<u8>().ok().and_then(|g| {
                    ["一级", "二级", "三级", "四级"]
                        .get(usize::from(g).checked_sub(1)?)
                        .copied()
                })),
                "longitude" => raw("gps_lon").to_owned(),
                "latitude" => raw("gps_lat").to_owned(),
                "crs" => label(Crs::from_code(raw("gps_crs")).map(Crs::label_zh)),
                _ => String::new(),
            })
            .collect()
    }
}

/// The fields the layouts write, in their order: every field the model stores.
pub(super) const FIELDS: &[&str] = &[
    "county",
    "township",
    "village",
    "village_code",
    "household_no",
    "name",
    "sex",
    "id_number",
    "birth_date",
    "relation",
    "member_count",
    "household_type",
    "monitoring",
    "lifted",
    "risk",
    "risk_resolved",
    "income",
    "house_grade",
    "house_dangerous",
    "house_occupied",
    "water_safe",
    "water_piped",
    "food_secure",
    "clothing_secure",
    "schooling",
    "medical_insured",
    "disability",
    "longitude",
    "latitude",
    "crs",
];

fn label(text: Option<&str>) -> String {
    text.unwrap_or_default().to_owned()
}

/// `YYYY-MM-DD` from an ID number's birth date digits.
fn birth_date(id: &str) -> String {
    match (id.get(6..10), id.get(10..12), id.get(12..14)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_a_layout_is_one_the_table_knows() {
        let v = Vocabulary::builtin();
        let fpf = Layout::Fpf.columns(&v);
        assert_eq!(fpf[0], ("county", "县(市、区、旗)".to_owned()));
        assert!(fpf.iter().any(|(f, _)| *f == "monitoring"));
        assert!(!fpf.iter().any(|(f, _)| *f == "lifted"));
        let jdlk = Layout::Jdlk.columns(&v);
        assert!(jdlk.iter().any(|(f, _)| *f == "lifted"));
        for (field, spec) in &v.fields {
            if !spec.layouts.is_empty() {
                assert!(
                    FIELDS.contains(&field.as_str()),
                    "{field} has a layout but no place in FIELDS"
                );
            }
        }
    }

    #[test]
    fn a_record_is_written_in_words() {
        let v = Vocabulary::builtin();
        let columns = Layout::Fpf.columns(&v);
        let names: Vec<String> = [
            "household_no",
            "id_number",
            "category",
            "house_grade",
            "water_safe",
            "disability_grade",
            "gps_crs",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let record: Vec<String> = [
            "1",
            "11010519491231002X",
            "monitored_marginal",
            "C",
            "false",
            "2",
            "gcj02",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let row = Layout::Fpf.row(&columns, &names, &record);
        let cell = |f: &str| row[columns.iter().position(|(k, _)| *k == f).unwrap()].clone();
        assert_eq!(cell("birth_date"), "1949-12-31");
        assert_eq!(cell("monitoring"), "边缘易致贫户");
        assert_eq!(cell("household_type"), "");
        assert_eq!(cell("house_grade"), "C级");
        assert_eq!(cell("water_safe"), "否");
        assert_eq!(cell("disability"), "二级");
        assert_eq!(cell("crs"), "GCJ-02");
    }
}
