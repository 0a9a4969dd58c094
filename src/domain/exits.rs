//! The poverty-village exit standard (贫困村退出标准) and the monitoring line of the
//! screening for households that should be included (应纳未纳), as data: the columns of
//! the village information form (贫困村信息采集表), the items a poverty village is
//! judged by, each with its threshold, comparison and source, and the monitoring lines,
//! from `data/exit_standard.toml`.
//!
//! The standard is plain data so that a county edits a copy and restarts; the store
//! judges every poverty village by it in SQL (`store::exits`).

use serde::{Deserialize, Serialize};

/// The standard embedded in the binary.
pub const BUILTIN: &str = include_str!("../../data/exit_standard.toml");

/// The measure computed from the registry rather than read from the form.
pub const POVERTY_INCIDENCE: &str = "poverty_incidence";

/// Why an exit standard was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExitStandardError {
    /// Not TOML of the standard's shape.
    #[error("exit standard {origin}: {source}")]
    Parse {
        /// Where the standard came from.
        origin: String,
        /// The parser's message, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// Parsed, but breaks a rule; the message names the field, item or line.
    #[error("exit standard {origin}: {message}")]
    Invalid {
        /// Where the standard came from.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
}

/// How a form column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormFieldType {
    /// 是/否 in its spellings (有/无, 已通/未通 …), stored as 1 or 0.
    YesNo,
    /// A count.
    Number,
    /// Yuan; 万元 read as 10,000 yuan.
    Money,
    /// A share between 0 and 1; `95%` and `95` read as 0.95.
    Ratio,
}

/// One column of the village information form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// Stable id (`hardened_road`), what items and the store name it by.
    pub id: String,
    /// What users read (通硬化路).
    pub name_zh: String,
    /// Header names; the first is what downloads write.
    pub headers: Vec<String>,
    /// How its cells are read.
    #[serde(rename = "type")]
    pub field_type: FormFieldType,
    /// The unit shown beside a value (元, %, 人), if any.
    #[serde(default)]
    pub unit: Option<String>,
    /// A form without the column is refused.
    #[serde(default)]
    pub required: bool,
}

/// A comparison an item's value must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Comparison {
    /// Below the threshold.
    #[serde(rename = "<")]
    Below,
    /// At most the threshold.
    #[serde(rename = "<=")]
    AtMost,
    /// Above the threshold.
    #[serde(rename = ">")]
    Above,
    /// At least the threshold.
    #[serde(rename = ">=")]
    AtLeast,
    /// Equal to it (yes/no items: 1 = 是).
    #[serde(rename = "=")]
    Equal,
}

impl Comparison {
    /// The operator as SQL and the file write it.
    #[must_use]
    pub const fn symbol(self) -> &'static str {
        match self {
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Equal => "=",
        }
    }

    /// Whether `value` passes against `threshold`.
    #[must_use]
    pub fn passes(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Equal => (value - threshold).abs() < 1e-9,
        }
    }

    /// The comparison in words (低于, 不低于 …).
    #[must_use]
    pub const fn zh(self) -> &'static str {
        match self {
            Comparison::Below => "低于",
            Comparison::AtMost => "不高于",
            Comparison::Above => "高于",
            Comparison::AtLeast => "不低于",
            Comparison::Equal => "为",
        }
    }
}

/// Whose standard an item's threshold is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The national standard.
    National,
    /// A setting the county checks against its province's and city's document.
    County,
}

/// One item a poverty village is judged by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitItem {
    /// Stable id (`poverty_incidence`).
    pub id: String,
    /// What users read (贫困发生率).
    pub name_zh: String,
    /// A form field's id, or [`POVERTY_INCIDENCE`].
    pub measure: String,
    /// How the value is compared.
    pub op: Comparison,
    /// The threshold (a share for ratios, yuan for money, 1 = 是 for yes/no).
    pub threshold: f64,
    /// Whose standard the threshold is.
    pub basis: Basis,
    /// The document and article it comes from.
    pub source: String,
}

/// A monitoring line (防返贫监测线) for the screening of 应纳未纳.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringLine {
    /// The year it is for.
    pub year: i32,
    /// The region's 6-digit code (`000000`: national).
    pub region_code: String,
    /// The region's name.
    pub region_name: String,
    /// Yuan per person per year.
    pub yuan_per_capita: f64,
    /// The document that sets it.
    pub source: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitStandard {
    /// The form's columns.
    #[serde(rename = "field")]
    pub fields: Vec<FormField>,
    /// The items, in the order reports list them.
    #[serde(rename = "item")]
    pub items: Vec<ExitItem>,
    /// The monitoring lines.
    #[serde(rename = "monitoring_line", default)]
    pub monitoring_lines: Vec<MonitoringLine>,
}

impl ExitStandard {
    /// The standard embedded from `data/exit_standard.toml`.
    ///
    /// # Errors
    /// [`ExitStandardError`] if the embedded file is broken (a build a test catches).
    pub fn builtin() -> Result<Self, ExitStandardError> {
        Self::parse(BUILTIN, "data/exit_standard.toml")
    }

    /// Parses and checks a standard; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ExitStandardError::Parse`] for bad TOML, [`ExitStandardError::Invalid`] for an id
    /// used twice, an item measuring an unknown field, a threshold that is not a number
    /// (or not 0 or 1 for a yes/no field, or outside 0–1 for a ratio), a field without
    /// headers, or a monitoring line that is not positive or not of a 6-digit region.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ExitStandardError> {
        let standard: ExitStandard =
            toml::from_str(text).map_err(|e| ExitStandardError::Parse {
                origin: origin.to_owned(),
                source: Box::new(e),
            })?;
        standard
            .check()
            .map_err(|message| ExitStandardError::Invalid {
                origin: origin.to_owned(),
                message,
            })?;
        Ok(standard)
    }

    #[expect(
        clippy::float_cmp,
        reason = "a yes/no threshold is exactly 0 or 1 as written in the file"
    )]
    fn check(&self) -> Result<(), String> {
        for (i, f) in self.fields.iter().enumerate() {
            let at = format!("field {} ({:?})", i + 1, f.id);
            if f.id.is_empty() || f.id == POVERTY_INCIDENCE {
                return Err(format!("{at}: the id is empty or reserved"));
            }
            if self.fields[..i].iter().any(|o| o.id == f.id) {
                return Err(format!("{at}: id appears twice"));
            }
            if f.headers.is_empty() {
                return Err(format!("{at}: needs at least one header name"));
            }
        }
        if self.items.is_empty() {
            return Err("the standard has no [[item]]".into());
        }
        for (i, item) in self.items.iter().enumerate() {
            let at = format!("item {} ({:?})", i + 1, item.id);
            if self.items[..i].iter().any(|o| o.id == item.id) {
                return Err(format!("{at}: id appears twice"));
            }
            if !item.threshold.is_finite() {
                return Err(format!("{at}: threshold must be a number"));
            }
            if item.measure == POVERTY_INCIDENCE {
                if !(0.0..=1.0).contains(&item.threshold) {
                    return Err(format!(
                        "{at}: a poverty incidence threshold lies within 0 to 1"
                    ));
                }
                continue;
            }
            let field = self.field(&item.measure).ok_or_else(|| {
                format!(
                    "{at}: measure {:?} is neither {POVERTY_INCIDENCE} nor a [[field]] id",
                    item.measure
                )
            })?;
            match field.field_type {
                FormFieldType::YesNo
                    if item.op != Comparison::Equal
                        || !(item.threshold == 0.0 || item.threshold == 1.0) =>
                {
                    return Err(format!(
                        "{at}: {} is yes/no: use op = \"=\" and threshold 1 (是) or 0 (否)",
                        field.id
                    ));
                }
                FormFieldType::Ratio if !(0.0..=1.0).contains(&item.threshold) => {
                    return Err(format!(
                        "{at}: {} is a share: the threshold lies within 0 to 1 (0.95 for 95%)",
                        field.id
                    ));
                }
                _ => {}
            }
        }
        for (i, l) in self.monitoring_lines.iter().enumerate() {
            let at = format!("monitoring_line {}", i + 1);
            if !(l.yuan_per_capita.is_finite() && l.yuan_per_capita > 0.0) {
                return Err(format!("{at}: yuan_per_capita must be a positive number"));
            }
            if !(l.region_code.len() == 6 && l.region_code.bytes().all(|b| b.is_ascii_digit())) {
                return Err(format!(
                    "{at}: region_code {:?} is not a 6-digit division code",
                    l.region_code
                ));
            }
        }
        Ok(())
    }

    /// The form field with this id.
    #[must_use]
    pub fn field(&self, id: &str) -> Option<&FormField> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The monitoring line in force for a county (or any area code): the entry whose
    /// region code, without its trailing zeros, is the longest prefix of `code`, the
    /// latest year among those.
    #[must_use]
    pub fn monitoring_line(&self, code: &str) -> Option<&MonitoringLine> {
        self.monitoring_lines
            .iter()
            .filter(|l| code.starts_with(l.region_code.trim_end_matches('0')))
            .max_by_key(|l| (l.region_code.trim_end_matches('0').len(), l.year))
    }
}

/// What an item's value shows: 是/否 for yes/no fields, a percentage for shares and
/// the poverty incidence, yuan with separators for money, else the number.
#[must_use]
pub fn shown(field_type: Option<FormFieldType>, value: f64) -> String {
    match field_type {
        Some(FormFieldType::YesNo) => if value >= 0.5 { "是" } else { "否" }.to_owned(),
        None | Some(FormFieldType::Ratio) => format!("{:.2}%", value * 100.0),
        Some(FormFieldType::Money) => format!("{value:.0}元"),
        Some(FormFieldType::Number) => format!("{value}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_standard_loads_with_the_national_two_percent() {
        let s = ExitStandard::builtin().unwrap();
        let incidence = s
            .items
            .iter()
            .find(|i| i.id == "poverty_incidence")
            .unwrap();
        assert_eq!(
            (incidence.op, incidence.threshold),
            (Comparison::Below, 0.02)
        );
        assert_eq!(incidence.basis, Basis::National);
        for item in &s.items {
            assert!(
                item.measure == POVERTY_INCIDENCE || s.field(&item.measure).is_some(),
                "{}",
                item.id
            );
        }
        let line = s.monitoring_line("210422").unwrap();
        assert!((line.yuan_per_capita - 6372.0).abs() < 1e-9);
    }

    #[test]
    fn an_item_on_an_unknown_field_is_refused_naming_file_and_item() {
        let text = BUILTIN.replace("measure = \"broadband\"", "measure = \"wifi\"");
        let e = ExitStandard::parse(&text, "county.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("county.toml") && e.contains("\"broadband\"") && e.contains("wifi"),
            "{e}"
        );
    }

    #[test]
    fn a_yes_no_item_with_a_threshold_of_two_is_refused() {
        let text = BUILTIN.replace(
            "measure = \"power\"\nop = \"=\"\nthreshold = 1.0",
            "measure = \"power\"\nop = \"=\"\nthreshold = 2.0",
        );
        let e = ExitStandard::parse(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("item 5 (\"power\")"), "{e}");
    }

    #[test]
    fn a_ratio_threshold_of_95_is_refused() {
        let text = BUILTIN.replace("threshold = 0.95", "threshold = 95.0");
        let e = ExitStandard::parse(&text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("safe_water_coverage") && e.contains("0.95"),
            "{e}"
        );
    }

    #[test]
    fn the_longest_region_prefix_wins_then_the_latest_year() {
        let mut s = ExitStandard::builtin().unwrap();
        s.monitoring_lines.push(MonitoringLine {
            year: 2020,
            region_code: "210000".into(),
            region_name: "辽宁省".into(),
            yuan_per_capita: 5000.0,
            source: String::new(),
        });
        s.monitoring_lines.push(MonitoringLine {
            year: 2022,
            region_code: "210000".into(),
            region_name: "辽宁省".into(),
            yuan_per_capita: 6500.0,
            source: String::new(),
        });
        assert!((s.monitoring_line("210422").unwrap().yuan_per_capita - 6500.0).abs() < 1e-9);
        assert!((s.monitoring_line("410102").unwrap().yuan_per_capita - 6372.0).abs() < 1e-9);
    }

    #[test]
    fn comparisons_hold_at_their_boundaries() {
        assert!(!Comparison::Below.passes(0.02, 0.02));
        assert!(Comparison::AtLeast.passes(50_000.0, 50_000.0));
        assert!(Comparison::Equal.passes(1.0, 1.0));
        assert!(!Comparison::Equal.passes(0.0, 1.0));
    }
}
