//! The national systems' layouts, written: one row per person with the household's
//! fields repeated, headers from the synonym table. `paicha export persons` writes
//! them, so that an office can hand paicha's data on, and so that an export imports
//! back to the same households (the 防返贫 layout, exactly; the 建档立卡 layout has no
//! monitoring, risks 2–5, toilet or household support, and knows only whether a house
//! is dangerous, so it loses those). The 建档立卡 layout writes the assistance measures
//! as one yes/no column each and the disability in one cell (`肢体二级`), the 防返贫 one
//! as a list (`产业帮扶、就业帮扶`) and in two columns: both forms come back.

use super::columns::Vocabulary;
use super::read::MEASURE_COLUMNS;
use crate::domain::{
    AidMeasure, Category, Crs, DisabilityKind, Education, Health, HouseGrade, LabourSkill,
    Relation, Relief, RiskElimination, RiskState, RiskType, Schooling, Sex, YearMonth,
};

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
        let record = Record { names, record };
        columns
            .iter()
            .map(|(field, _)| {
                base_cell(field, &record)
                    .or_else(|| household_cell(field, &record))
                    .or_else(|| person_cell(field, &record))
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// A record of the persons query with its column names.
struct Record<'a> {
    names: &'a [String],
    record: &'a [String],
}

impl<'a> Record<'a> {
    /// The text of a column; empty for NULL or a column the query lacks.
    fn raw(&self, name: &str) -> &'a str {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.record.get(i))
            .map_or("", String::as_str)
    }
}

/// A stored `true`/`false` as 是/否; empty for NULL.
fn yes(text: &str) -> String {
    match text {
        "true" => "是".to_owned(),
        "false" => "否".to_owned(),
        _ => String::new(),
    }
}

/// The cells of the fields the household standard reads; `None` for another field.
fn base_cell(field: &str, record: &Record<'_>) -> Option<String> {
    let raw = |name: &str| record.raw(name);
    let category = Category::from_code(raw("category"));
    let cell = match field {
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
        "risk_resolved" => label(RiskState::from_code(raw("risk_state")).map(|s| match s {
            RiskState::Resolved => "是",
            RiskState::Unresolved => "否",
        })),
        "income" => raw("income_per_capita").to_owned(),
        "house_grade" => label(HouseGrade::from_code(raw("house_grade")).map(HouseGrade::label_zh)),
        "house_dangerous" => label(HouseGrade::from_code(raw("house_grade")).map(|g| {
            if matches!(g, HouseGrade::C | HouseGrade::D) {
                "是"
            } else {
                "否"
            }
        })),
        "house_occupied" | "water_safe" | "water_piped" | "food_secure" | "clothing_secure"
        | "medical_insured" => yes(raw(field)),
        "schooling" => label(Schooling::from_code(raw("schooling")).map(Schooling::label_zh)),
        "disability" => grade_label(raw("disability_grade")),
        "longitude" => raw("gps_lon").to_owned(),
        "latitude" => raw("gps_lat").to_owned(),
        "crs" => label(Crs::from_code(raw("gps_crs")).map(Crs::label_zh)),
        _ => return None,
    };
    Some(cell)
}

/// The cells of the household fields no indicator reads; `None` for another field.
fn household_cell(field: &str, record: &Record<'_>) -> Option<String> {
    let raw = |name: &str| record.raw(name);
    let measures: Vec<AidMeasure> = raw("aid_measures")
        .split(',')
        .filter_map(AidMeasure::from_code)
        .collect();
    let month = |name: &str| {
        label(
            YearMonth::from_code(raw(name))
                .map(YearMonth::compact)
                .as_deref(),
        )
    };
    let cell = match field {
        "risk2" | "risk3" | "risk4" | "risk5" => {
            let k = usize::from(field.as_bytes()[4] - b'2');
            label(
                raw("other_risks")
                    .split(',')
                    .nth(k)
                    .and_then(RiskType::from_code)
                    .map(RiskType::label_zh),
            )
        }
        "risk_elimination" => label(
            RiskElimination::from_code(raw("risk_elimination")).map(RiskElimination::label_zh),
        ),
        "identified_month" | "eliminated_month" => month(field),
        "sanitary_toilet" => yes(raw(field)),
        "relief" => label(Relief::from_code(raw("relief")).map(Relief::label_zh)),
        "aid_measures" => measures
            .iter()
            .map(|m| m.label_zh())
            .collect::<Vec<_>>()
            .join("、"),
        _ => {
            let (_, measure) = MEASURE_COLUMNS.iter().find(|(f, _)| *f == field)?;
            if measures.contains(measure) {
                "是"
            } else {
                "否"
            }
            .to_owned()
        }
    };
    Some(cell)
}

/// The cells of the person fields no indicator reads; `None` for another field.
fn person_cell(field: &str, record: &Record<'_>) -> Option<String> {
    let raw = |name: &str| record.raw(name);
    let kind = DisabilityKind::from_code(raw("disability_kind")).map(DisabilityKind::label_zh);
    let cell = match field {
        "disability_kind" => label(kind),
        "disability_combined" => format!("{}{}", label(kind), grade_label(raw("disability_grade"))),
        "education" => label(Education::from_code(raw(field)).map(Education::label_zh)),
        "health" => label(Health::from_code(raw(field)).map(Health::label_zh)),
        "labour_skill" => label(LabourSkill::from_code(raw(field)).map(LabourSkill::label_zh)),
        "work_months" => raw(field).to_owned(),
        "serious_illness_insured" | "subsistence" | "extreme_poverty" => yes(raw(field)),
        _ => return None,
    };
    Some(cell)
}

/// 一级 … 四级 from a stored grade; empty for none.
fn grade_label(grade: &str) -> String {
    label(grade.parse::<u8>().ok().and_then(|g| {
        ["一级", "二级", "三级", "四级"]
            .get(usize::from(g).checked_sub(1)?)
            .copied()
    }))
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
    "risk2",
    "risk3",
    "risk4",
    "risk5",
    "risk_resolved",
    "risk_elimination",
    "identified_month",
    "eliminated_month",
    "income",
    "house_grade",
    "house_dangerous",
    "house_occupied",
    "water_safe",
    "water_piped",
    "food_secure",
    "clothing_secure",
    "sanitary_toilet",
    "relief",
    "aid_measures",
    "measure_industry",
    "measure_employment",
    "measure_health",
    "measure_education",
    "measure_housing",
    "measure_micro_credit",
    "measure_social_security",
    "measure_living_conditions",
    "measure_public_job",
    "measure_water",
    "schooling",
    "medical_insured",
    "serious_illness_insured",
    "subsistence",
    "extreme_poverty",
    "disability_kind",
    "disability",
    "disability_combined",
    "education",
    "health",
    "labour_skill",
    "work_months",
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

    #[test]
    fn the_fields_beyond_the_standard_are_written_in_each_layouts_form() {
        let v = Vocabulary::builtin();
        let names: Vec<String> = [
            "other_risks",
            "identified_month",
            "aid_measures",
            "relief",
            "disability_kind",
            "disability_grade",
            "labour_skill",
            "subsistence",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let record: Vec<String> = [
            "schooling,disaster",
            "2020-03",
            "industry,public_job",
            "subsistence",
            "physical",
            "2",
            "weak",
            "true",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let written = |layout: Layout| {
            let columns = layout.columns(&v);
            let row = layout.row(&columns, &names, &record);
            columns
                .iter()
                .map(|(f, _)| *f)
                .zip(row)
                .collect::<std::collections::HashMap<_, _>>()
        };
        let fpf = written(Layout::Fpf);
        assert_eq!(fpf["risk2"], "因学");
        assert_eq!(fpf["risk3"], "因灾");
        assert_eq!(fpf["risk4"], "");
        assert_eq!(fpf["identified_month"], "202003");
        assert_eq!(fpf["aid_measures"], "产业帮扶、公益岗位帮扶");
        assert_eq!(fpf["relief"], "低保");
        assert_eq!(
            (fpf["disability_kind"].as_str(), fpf["disability"].as_str()),
            ("肢体", "二级")
        );
        assert_eq!(fpf["labour_skill"], "弱劳动力或半劳动力");
        assert_eq!(fpf["subsistence"], "是");
        assert!(!fpf.contains_key("measure_industry"));
        let jdlk = written(Layout::Jdlk);
        assert_eq!(jdlk["disability_combined"], "肢体二级");
        assert_eq!(jdlk["measure_industry"], "是");
        assert_eq!(jdlk["measure_public_job"], "是");
        assert_eq!(jdlk["measure_housing"], "否");
        assert!(!jdlk.contains_key("aid_measures") && !jdlk.contains_key("relief"));
    }
}
