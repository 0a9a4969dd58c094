//! The kinds of assistance measure (帮扶措施) as data: each kind's responsible
//! departments, whether it is a development measure (开发式帮扶), and which risk types it
//! answers, from `data/aid_measures.toml`. The indicator rules over measures
//! (`no_development_measure`, `risk_without_measure`) and the coverage by department
//! read them from here, so that the table and the rules cannot drift apart.

use serde::{Deserialize, Serialize};

use super::{AidMeasure, RiskType};

/// The table embedded in the binary.
pub const BUILTIN: &str = include_str!("../../data/aid_measures.toml");

/// One kind of measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureKind {
    /// The stored code.
    pub code: AidMeasure,
    /// The name users read.
    pub name_zh: String,
    /// The responsible departments (责任部门), the default first.
    pub departments: Vec<String>,
    /// A development measure (开发式帮扶).
    pub development: bool,
    /// The risk types it answers (因病 → 健康帮扶 …).
    pub answers: Vec<RiskType>,
    /// What it covers, in words.
    pub items: String,
}

/// The table of kinds, one per [`AidMeasure`], in [`AidMeasure::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureKinds {
    /// The kinds.
    #[serde(rename = "kind")]
    pub kinds: Vec<MeasureKind>,
}

/// A table of kinds that paicha cannot use.
#[derive(Debug, thiserror::Error)]
pub enum AidCatalogError {
    /// Not TOML of the table's shape (an unknown measure or risk code among them).
    #[error("the measure kinds table is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// A measure has no entry, two, or no department.
    #[error("the measure kinds table: {0}")]
    Invalid(String),
}

impl MeasureKinds {
    /// The built-in table.
    ///
    /// # Panics
    /// Never: a test reads the embedded table.
    #[must_use]
    pub fn builtin() -> Self {
        #[expect(clippy::expect_used, reason = "the embedded table is tested")]
        Self::parse(BUILTIN).expect("data/aid_measures.toml is valid")
    }

    /// Parses and checks a table: every measure once, each with a department.
    ///
    /// # Errors
    /// [`AidCatalogError`] naming the measure at fault.
    pub fn parse(text: &str) -> Result<Self, AidCatalogError> {
        let mut table: Self = toml::from_str(text)?;
        for m in AidMeasure::ALL {
            match table.kinds.iter().filter(|k| k.code == *m).count() {
                1 => {}
                0 => return Err(AidCatalogError::Invalid(format!("{m} has no entry"))),
                _ => return Err(AidCatalogError::Invalid(format!("{m} appears twice"))),
            }
        }
        if let Some(k) = table.kinds.iter().find(|k| k.departments.is_empty()) {
            return Err(AidCatalogError::Invalid(format!(
                "{} names no department",
                k.code
            )));
        }
        table.kinds.sort_by_key(|k| k.code);
        Ok(table)
    }

    /// The kind of a measure.
    #[must_use]
    pub fn get(&self, measure: AidMeasure) -> &MeasureKind {
        // Every measure has its entry, in `ALL` order (checked by `parse`).
        &self.kinds[AidMeasure::ALL
            .iter()
            .position(|m| *m == measure)
            .unwrap_or_default()]
    }

    /// The department a measure recorded without one is counted under.
    #[must_use]
    pub fn default_department(&self, measure: AidMeasure) -> &str {
        self.get(measure)
            .departments
            .first()
            .map_or("", String::as_str)
    }

    /// The development measures (开发式帮扶).
    pub fn development(&self) -> impl Iterator<Item = AidMeasure> + '_ {
        self.kinds.iter().filter(|k| k.development).map(|k| k.code)
    }

    /// Each risk some measure answers, with the measures that answer it.
    #[must_use]
    pub fn answers(&self) -> Vec<(RiskType, Vec<AidMeasure>)> {
        RiskType::ALL
            .iter()
            .map(|r| {
                let by: Vec<AidMeasure> = self
                    .kinds
                    .iter()
                    .filter(|k| k.answers.contains(r))
                    .map(|k| k.code)
                    .collect();
                (*r, by)
            })
            .filter(|(_, by)| !by.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_has_every_measure_and_the_four_pairs_of_the_rules() {
        let t = MeasureKinds::builtin();
        assert_eq!(t.kinds.len(), AidMeasure::ALL.len());
        for (k, m) in t.kinds.iter().zip(AidMeasure::ALL) {
            assert_eq!(k.code, *m);
            assert_eq!(t.get(*m).code, *m);
        }
        assert_eq!(t.default_department(AidMeasure::Industry), "农业农村局");
        assert_eq!(t.default_department(AidMeasure::Employment), "人社局");
        assert_eq!(
            t.development().collect::<Vec<_>>(),
            [
                AidMeasure::Industry,
                AidMeasure::Employment,
                AidMeasure::MicroCredit,
                AidMeasure::PublicJob
            ]
        );
        assert_eq!(
            t.answers(),
            [
                (RiskType::Illness, vec![AidMeasure::Health]),
                (RiskType::Schooling, vec![AidMeasure::Education]),
                (RiskType::HousingSafety, vec![AidMeasure::Housing]),
                (RiskType::WaterSafety, vec![AidMeasure::Water]),
            ]
        );
    }

    #[test]
    fn a_table_missing_a_measure_or_naming_an_unknown_one_is_refused() {
        let twice = BUILTIN.replacen("code = \"water\"", "code = \"industry\"", 1);
        let err = MeasureKinds::parse(&twice).unwrap_err().to_string();
        assert!(err.contains("industry appears twice"), "{err}");
        let last = BUILTIN.rfind("[[kind]]").unwrap();
        let err = MeasureKinds::parse(&BUILTIN[..last])
            .unwrap_err()
            .to_string();
        assert!(err.contains("water has no entry"), "{err}");
        let unknown = BUILTIN.replacen("code = \"water\"", "code = \"tea\"", 1);
        assert!(MeasureKinds::parse(&unknown).is_err());
        let nobody = BUILTIN.replacen("departments = [\"水务局\"]", "departments = []", 1);
        let err = MeasureKinds::parse(&nobody).unwrap_err().to_string();
        assert!(err.contains("water names no department"), "{err}");
    }
}
