//! The indicator catalog (指标目录): what each indicator means, how it is coloured,
//! and the poverty lines, from `data/indicators.toml`; and the reasons, in Chinese,
//! why a household fails one.
//!
//! The exact rule of each indicator is SQL in [`crate::store::indicators`]; the
//! catalog is checked against it when loaded, so that a name on a map always belongs
//! to the rule that computed its number.

pub mod drawn;
pub mod output;
pub mod table;

use serde::{Deserialize, Serialize};

use crate::domain::MeasureId;
use crate::domain::{
    AidMeasure, Category, HouseGrade, PovertyLine, RiskState, RiskType, SCHOOL_AGE_MAX,
    SCHOOL_AGE_MIN, Schooling, Unit, mask_name,
};
use crate::store::indicators::HouseholdFacts;

/// The catalog embedded in the binary.
pub const BUILTIN: &str = include_str!("../../data/indicators.toml");

/// Why a catalog was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not valid TOML or misses a field.
    #[error("indicator catalog {origin}: {source}")]
    Parse {
        /// Where the catalog came from.
        origin: String,
        /// The parser's message, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The file parsed, but breaks a rule; the message names the indicator and field.
    #[error("indicator catalog {origin}: {message}")]
    Invalid {
        /// Where the catalog came from.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
}

/// One indicator of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable id used in the API, tiles and exports.
    pub id: String,
    /// Chinese name, what users read.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The part of the standard it belongs to (两不愁, 住房安全保障, 数据质量 …).
    pub group: String,
    /// The definition in words.
    pub definition: String,
    /// What `count` counts.
    pub unit: Unit,
    /// What `rate` divides by, in words.
    pub denominator: String,
    /// Failing it fails the household standard (and so `any_problem`).
    pub standard: bool,
    /// Class breaks of the rate for choropleths (n breaks, n + 1 classes).
    pub breaks: Vec<f64>,
    /// The source document.
    pub source: String,
    /// The departments (行业部门: 教育, 医保, 住建, 水务, 民政 …) whose indicator it
    /// is: a department account sees the indicators that name its department.
    #[serde(default)]
    pub departments: Vec<String>,
    /// The columns of the national systems' exports it is computed from, as the
    /// household import names them (`data/household_columns.toml`); none for ledger
    /// items.
    #[serde(default)]
    pub columns: Vec<String>,
}

/// The catalog: indicators, their colours and the poverty lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// One colour per class, lowest first.
    pub palette: Vec<String>,
    /// The colour of "no data" (a denominator of 0).
    pub no_data_color: String,
    /// The indicators, in display order.
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
    /// Poverty lines by year and region.
    #[serde(rename = "poverty_line")]
    pub poverty_lines: Vec<PovertyLine>,
}

impl Catalog {
    /// The catalog embedded from `data/indicators.toml`.
    ///
    /// # Errors
    /// [`CatalogError`] if the embedded file is broken (a build that a test catches).
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::parse(BUILTIN, "data/indicators.toml")
    }

    /// Every department some indicator names, sorted.
    #[must_use]
    pub fn departments(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .indicators
            .iter()
            .flat_map(|i| i.departments.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The catalog as a department sees it: only the indicators naming one of
    /// `departments`.
    #[must_use]
    pub fn for_departments(&self, departments: &[&str]) -> Self {
        Self {
            indicators: self
                .indicators
                .iter()
                .filter(|i| {
                    i.departments
                        .iter()
                        .any(|d| departments.contains(&d.as_str()))
                })
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    /// Parses and checks a catalog; `origin` names it in errors.
    ///
    /// # Errors
    /// [`CatalogError::Parse`] for bad TOML, [`CatalogError::Invalid`] when an id has
    /// no rule or a rule no entry, a unit differs from the rule's, the breaks do not
    /// rise within 0–1 or do not match the palette, or a poverty line is not positive.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| CatalogError::Parse {
            origin: origin.to_owned(),
            source: Box::new(e),
        })?;
        catalog.check().map_err(|message| CatalogError::Invalid {
            origin: origin.to_owned(),
            message,
        })?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), String> {
        if self.palette.len() < 2 {
            return Err("palette needs at least 2 colours".into());
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            let at = format!("indicator {} ({:?})", i + 1, ind.id);
            if self.indicators[..i].iter().any(|o| o.id == ind.id) {
                return Err(format!("{at}: id appears twice"));
            }
            let rule = MeasureId::from_code(&ind.id)
                .ok_or_else(|| format!("{at}: no rule computes this id"))?;
            if rule.unit() != ind.unit {
                return Err(format!(
                    "{at}: unit is {} but the rule counts {}",
                    ind.unit,
                    rule.unit()
                ));
            }
            if ind.breaks.len() + 1 != self.palette.len() {
                return Err(format!(
                    "{at}: {} breaks make {} classes, but the palette has {} colours",
                    ind.breaks.len(),
                    ind.breaks.len() + 1,
                    self.palette.len()
                ));
            }
            let rising = ind.breaks.windows(2).all(|w| w[0] < w[1]);
            if !rising || ind.breaks.iter().any(|b| !(0.0..=1.0).contains(b)) {
                return Err(format!("{at}: breaks must rise strictly within 0 to 1"));
            }
        }
        if let Some(m) = MeasureId::ALL
            .iter()
            .find(|m| !self.indicators.iter().any(|i| i.id == m.code()))
        {
            return Err(format!("indicator {:?} has a rule but no entry", m.code()));
        }
        for (i, l) in self.poverty_lines.iter().enumerate() {
            if !(l.yuan_per_capita.is_finite() && l.yuan_per_capita > 0.0) {
                return Err(format!(
                    "poverty_line {}: yuan_per_capita must be a positive number",
                    i + 1
                ));
            }
            if !(l.region_code.len() == 6 && l.region_code.bytes().all(|b| b.is_ascii_digit())) {
                return Err(format!(
                    "poverty_line {}: region_code {:?} is not a 6-digit division code",
                    i + 1,
                    l.region_code
                ));
            }
        }
        Ok(())
    }

    /// The indicator with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// The ids, comma-separated, for error messages.
    #[must_use]
    pub fn ids(&self) -> String {
        let ids: Vec<&str> = self.indicators.iter().map(|i| i.id.as_str()).collect();
        ids.join(", ")
    }

    /// The class of a rate for an indicator: 0 to `breaks.len()`; `None` for no data.
    #[must_use]
    pub fn class_of(indicator: &Indicator, rate: Option<f64>) -> Option<usize> {
        let rate = rate?;
        Some(indicator.breaks.iter().take_while(|b| rate >= **b).count())
    }
}

/// The measure of an indicator from the catalog (every catalog id has one, by
/// [`Catalog::parse`]).
#[must_use]
pub fn measure_of(indicator: &Indicator) -> MeasureId {
    MeasureId::from_code(&indicator.id).unwrap_or(MeasureId::AnyProblem)
}

/// A count and its denominator, with the rate when the denominator is not 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Value {
    /// Households or persons failing.
    pub count: i64,
    /// What the rate divides by.
    pub denominator: i64,
    /// `count / denominator`; `null` when the denominator is 0 (no data).
    pub rate: Option<f64>,
}

impl Value {
    /// The value of a count over a denominator.
    #[must_use]
    pub fn new(count: i64, denominator: i64) -> Self {
        Self {
            count,
            denominator,
            rate: (denominator > 0).then(|| count as f64 / denominator as f64),
        }
    }
}

/// Why a household fails an indicator, in Chinese, names masked: one line per fact.
#[must_use]
pub fn reasons(id: &str, h: &HouseholdFacts, line: Option<&PovertyLine>) -> Vec<String> {
    let school_age = |age: u8| (SCHOOL_AGE_MIN..=SCHOOL_AGE_MAX).contains(&age);
    match id {
        "income_below_line" => line
            .map(|l| {
                vec![format!(
                    "人均纯收入 {:.0} 元，低于{} {:.0} 元（{}年）",
                    h.income_per_capita, l.kind, l.yuan_per_capita, l.year
                )]
            })
            .unwrap_or_default(),
        "food_clothing_insecure" => {
            let mut out = Vec::new();
            if !h.food_secure {
                out.push("愁吃：主粮未保障".to_owned());
            }
            if !h.clothing_secure {
                out.push("愁穿：季节性衣被未保障".to_owned());
            }
            out
        }
        "dropout" => h
            .members
            .iter()
            .filter(|m| {
                school_age(m.age) && m.schooling.as_deref() == Some(Schooling::OutOfSchool.code())
            })
            .map(|m| format!("{}（{}岁）失学辍学", mask_name(&m.name), m.age))
            .collect(),
        "uninsured" => h
            .members
            .iter()
            .filter(|m| !m.medical_insured)
            .map(|m| format!("{}（{}岁）未参加基本医疗保险", mask_name(&m.name), m.age))
            .collect(),
        "unsafe_housing" | "housing_unappraised" => {
            let grade = HouseGrade::from_code(&h.house_grade).map_or("未知", HouseGrade::label_zh);
            vec![format!(
                "住房{}，{}",
                grade,
                if h.house_occupied {
                    "在住"
                } else {
                    "未居住"
                }
            )]
        }
        "water_unsafe" => vec![format!(
            "饮水未达到农村饮水安全标准，{}",
            if h.water_piped {
                "已通自来水"
            } else {
                "未通自来水"
            }
        )],
        "water_not_piped" => vec![
            if h.water_safe {
                "饮水安全，但自来水未通到户"
            } else {
                "自来水未通到户，饮水也未达标"
            }
            .to_owned(),
        ],
        "monitored" | "monitored_unstable" | "monitored_marginal" | "monitored_sudden"
        | "risk_unresolved" => {
            let category = Category::from_code(&h.category).map_or("", Category::label_zh);
            let risk = h
                .risk_type
                .as_deref()
                .and_then(RiskType::from_code)
                .map_or("", RiskType::label_zh);
            let state = h
                .risk_state
                .as_deref()
                .and_then(RiskState::from_code)
                .map_or("", RiskState::label_zh);
            vec![
                [category, risk, state]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("，"),
            ]
        }
        id if id.starts_with("crosscheck_") => vec![format!(
            "与行业部门名单不一致（比对明细：/api/v1/crosschecks/{}/mismatches）",
            &id["crosscheck_".len()..]
        )],
        "no_development_measure" | "risk_without_measure" => measure_reasons(id, h),
        "gps_missing" => vec!["没有可用的GPS坐标，需补录".to_owned()],
        "gps_mismatch" => vec!["定位不在登记村（见位置质量）".to_owned()],
        _ => Vec::new(),
    }
}

/// Why a household fails a measure indicator: the year's measures, and each risk
/// without the measures that answer it.
fn measure_reasons(id: &str, h: &HouseholdFacts) -> Vec<String> {
    let kinds = crate::domain::aid::MeasureKinds::builtin();
    let Some(year) = h.support.measures_year else {
        return vec!["没有帮扶措施的年度（未导入户籍信息或帮扶措施）".to_owned()];
    };
    let had: Vec<AidMeasure> = h
        .support
        .measures
        .iter()
        .filter(|m| m.year == year)
        .map(|m| m.measure)
        .collect();
    let names = |list: &[AidMeasure]| {
        list.iter()
            .map(|m| m.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    if id == "no_development_measure" {
        let development: Vec<AidMeasure> = kinds.development().collect();
        let line = if had.is_empty() {
            format!("{year}年没有任何帮扶措施")
        } else {
            format!("{year}年只有{}", names(&had))
        };
        return vec![format!("{line}，没有开发式帮扶（{}）", names(&development))];
    }
    let risks: Vec<RiskType> = h
        .risk_type
        .iter()
        .chain(h.support.other_risks.iter())
        .flat_map(|l| l.split(','))
        .filter_map(RiskType::from_code)
        .collect();
    kinds
        .answers()
        .into_iter()
        .filter(|(risk, by)| risks.contains(risk) && !by.iter().any(|m| had.contains(m)))
        .map(|(risk, by)| format!("风险{}，{year}年没有{}", risk.label_zh(), names(&by)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_matches_the_rules() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(c.indicators.len(), MeasureId::ALL.len());
        for id in [
            "income_below_line",
            "food_clothing_insecure",
            "dropout",
            "uninsured",
            "unsafe_housing",
            "housing_unappraised",
            "water_unsafe",
            "water_not_piped",
            "monitored",
            "risk_unresolved",
            "gps_missing",
            "gps_mismatch",
            "any_problem",
        ] {
            assert!(c.get(id).is_some(), "{id} missing");
        }
        assert_eq!(c.get("dropout").unwrap().unit, Unit::Persons);
    }

    #[test]
    fn reasons_state_facts_and_never_repeat_the_indicators_name() {
        let c = Catalog::builtin().unwrap();
        let h = HouseholdFacts {
            household_no: "210422100201000001".to_owned(),
            village_code: "210422100201".to_owned(),
            township_code: "210422100".to_owned(),
            category: "01".to_owned(),
            risk_type: None,
            risk_state: None,
            income_per_capita: 3000.0,
            house_grade: "D".to_owned(),
            house_occupied: true,
            water_safe: false,
            water_piped: false,
            food_secure: false,
            clothing_secure: false,
            members: vec![crate::store::indicators::MemberFacts {
                name: "张三".to_owned(),
                age: 12,
                schooling: Some("out".to_owned()),
                medical_insured: false,
            }],
            support: crate::store::indicators::SupportFacts::default(),
        };
        for indicator in &c.indicators {
            for reason in reasons(&indicator.id, &h, None) {
                assert_ne!(reason, indicator.name_zh, "{}", indicator.id);
            }
        }
        assert_eq!(
            reasons("water_not_piped", &h, None),
            ["自来水未通到户，饮水也未达标"]
        );
    }

    #[test]
    fn the_line_in_force_is_the_regions_latest_up_to_the_year() {
        let c = Catalog::builtin().unwrap();
        assert_eq!(
            PovertyLine::in_force(&c.poverty_lines, 2018, "210422")
                .unwrap()
                .kind,
            "脱贫收入标准"
        );
        // No newer Liaoning line: 2018's stays in force.
        assert_eq!(
            PovertyLine::in_force(&c.poverty_lines, 2020, "210422")
                .unwrap()
                .kind,
            "脱贫收入标准"
        );
        assert!(PovertyLine::in_force(&c.poverty_lines, 2017, "210422").is_none());
        assert_eq!(
            PovertyLine::in_force(&c.poverty_lines, 2021, "411000")
                .unwrap()
                .kind,
            "防返贫监测线"
        );
        assert!(PovertyLine::in_force(&c.poverty_lines, 2021, "110101").is_none());
    }

    #[test]
    fn a_catalog_that_disagrees_with_the_rules_is_refused_with_the_place() {
        let broken = BUILTIN.replacen("unit = \"persons\"", "unit = \"households\"", 1);
        let err = Catalog::parse(&broken, "test.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("\"dropout\""), "{err}");
        assert!(err.contains("unit"), "{err}");

        let renamed = BUILTIN.replacen("id = \"water_unsafe\"", "id = \"water_bad\"", 1);
        let err = Catalog::parse(&renamed, "t").unwrap_err().to_string();
        assert!(
            err.contains("\"water_bad\"") && err.contains("no rule"),
            "{err}"
        );

        let short = BUILTIN.replacen(
            "breaks = [0.03, 0.05, 0.08, 0.12]",
            "breaks = [0.3, 0.1]",
            1,
        );
        let err = Catalog::parse(&short, "t").unwrap_err().to_string();
        assert!(
            err.contains("any_problem") && err.contains("breaks"),
            "{err}"
        );

        let err = Catalog::parse("palette = 3", "t").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn classes_follow_the_breaks_and_no_data_has_none() {
        let c = Catalog::builtin().unwrap();
        let any = c.get("any_problem").unwrap();
        assert_eq!(Catalog::class_of(any, Some(0.0)), Some(0));
        assert_eq!(Catalog::class_of(any, Some(0.03)), Some(1));
        assert_eq!(Catalog::class_of(any, Some(0.10)), Some(3));
        assert_eq!(Catalog::class_of(any, Some(0.9)), Some(4));
        assert_eq!(Catalog::class_of(any, None), None);
        assert_eq!(Value::new(3, 0).rate, None);
        assert_eq!(Value::new(1, 4).rate, Some(0.25));
    }
}
