//! Department rolls (行业部门数据) and the cross-checks run on them (账账相符), as data:
//! the roll kinds a county receives, each with its key, columns and value vocabularies,
//! and the named rules that compare them with the registry, from `data/rolls.toml`.
//!
//! A kind is plain data, so that a county adds one (or a column, or a name) by editing
//! the file; a rule's exact SQL is code (`store::rolls`), so the rules are a closed list
//! ([`CrosscheckId`]) whose needs (kinds, fields, codes) the file is checked against
//! when it is loaded.

use serde::{Deserialize, Serialize};

/// The catalog embedded in the binary.
pub const BUILTIN: &str = include_str!("../../data/rolls.toml");

/// Why a roll catalog was refused.
#[derive(Debug, thiserror::Error)]
pub enum RollCatalogError {
    /// Not TOML of the catalog's shape.
    #[error("roll catalog {origin}: {source}")]
    Parse {
        /// Where the catalog came from.
        origin: String,
        /// The parser's message, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// Parsed, but breaks a rule; the message names the kind, field or rule.
    #[error("roll catalog {origin}: {message}")]
    Invalid {
        /// Where the catalog came from.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
}

/// What a roll's rows are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollKey {
    /// A person's 证件号码.
    IdNumber,
    /// A household's 户编号.
    HouseholdNo,
}

/// How a field's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One of the field's `values`, stored as its code.
    Code,
    /// 是/否 in any of its spellings, stored as `yes` or `no`.
    YesNo,
    /// A date, stored as `YYYY-MM-DD`.
    Date,
    /// A number, stored as written by Rust (`2018`, `315.5`).
    Number,
    /// Text as it came.
    Text,
}

/// One value of a code field: its code and the names files write for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollValue {
    /// The stored code.
    pub code: String,
    /// Names a file may write; the first is what downloads show.
    pub names: Vec<String>,
}

/// One column of a roll kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollField {
    /// Stable id (`status`), what the rules and the store name it by.
    pub id: String,
    /// What users read (学籍状态).
    pub name_zh: String,
    /// Header names; the first is what downloads write.
    pub headers: Vec<String>,
    /// How its cells are read.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// A roll without the column is refused.
    #[serde(default)]
    pub required: bool,
    /// The values of a code field.
    #[serde(default)]
    pub values: Vec<RollValue>,
}

impl RollField {
    /// The code a cell's text names, compared without spaces and in lower case.
    #[must_use]
    pub fn code_of(&self, text: &str) -> Option<&str> {
        let key = normalise(text);
        self.values
            .iter()
            .find(|v| v.code == text.trim() || v.names.iter().any(|n| normalise(n) == key))
            .map(|v| v.code.as_str())
    }

    /// What a stored value shows: a code's first name, `是`/`否`, or the value.
    #[must_use]
    pub fn shown<'a>(&'a self, stored: &'a str) -> &'a str {
        match self.field_type {
            FieldType::Code => self
                .values
                .iter()
                .find(|v| v.code == stored)
                .and_then(|v| v.names.first())
                .map_or(stored, String::as_str),
            FieldType::YesNo => match stored {
                "yes" => "是",
                "no" => "否",
                other => other,
            },
            _ => stored,
        }
    }
}

/// Text compared as header and value names are: no spaces, full-width brackets as
/// ASCII ones, lower case.
#[must_use]
pub fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '／' => '/',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// One kind of roll a department sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollKind {
    /// Stable id (`edu`), as `--kind` and the API name it.
    pub id: String,
    /// What users read (学籍).
    pub name_zh: String,
    /// The department that sends it (教育), as department accounts name theirs.
    pub department: String,
    /// What its rows are keyed by.
    pub key: RollKey,
    /// The document that asks for it.
    pub source: String,
    /// Its columns beyond the key and the name.
    #[serde(rename = "field")]
    pub fields: Vec<RollField>,
}

impl RollKind {
    /// The field with this id.
    #[must_use]
    pub fn field(&self, id: &str) -> Option<&RollField> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// The names of the key and name columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyHeaders {
    /// Header names.
    pub headers: Vec<String>,
}

/// The key and name columns every roll may have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// 证件号码.
    pub id_number: KeyHeaders,
    /// 户编号.
    pub household_no: KeyHeaders,
    /// 姓名.
    pub name: KeyHeaders,
}

/// What one mismatch of a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MismatchUnit {
    /// A person.
    Persons,
    /// A household.
    Households,
    /// A roll row.
    Rows,
}

/// One cross-check as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Crosscheck {
    /// Stable id, as [`CrosscheckId::code`].
    pub id: String,
    /// What users read.
    pub name_zh: String,
    /// The rule in words (the SQL in `store::rolls` is exact).
    pub definition: String,
    /// The department whose rule it is; none: each roll's own department.
    #[serde(default)]
    pub department: Option<String>,
    /// The roll kinds it reads; none: every kind.
    pub kinds: Vec<String>,
    /// What one mismatch is.
    pub unit: MismatchUnit,
    /// The document that asks for it.
    pub source: String,
}

/// The roll kinds and the cross-checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollCatalog {
    /// The key and name columns.
    pub keys: Keys,
    /// The kinds, in display order.
    #[serde(rename = "kind")]
    pub kinds: Vec<RollKind>,
    /// The rules, in [`CrosscheckId`] order.
    #[serde(rename = "crosscheck")]
    pub crosschecks: Vec<Crosscheck>,
}

/// Declares the cross-checks with their ids, the indicator each household one is, and
/// what each needs of the catalog.
macro_rules! crosschecks {
    ($( $(#[$meta:meta])* $variant:ident => ($code:literal, $measure:expr) ),+ $(,)?) => {
        /// One cross-check's typed id; its SQL is in `store::rolls`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CrosscheckId {
            $( $(#[$meta])* $variant ),+
        }

        impl CrosscheckId {
            /// Every rule, in catalog order.
            pub const ALL: &'static [CrosscheckId] = &[$(CrosscheckId::$variant),+];

            /// The stable id used in the API, the catalog and the store.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self { $(CrosscheckId::$variant => $code),+ }
            }

            /// The indicator counting the households that fail it, if it is one.
            #[must_use]
            pub const fn measure(self) -> Option<super::MeasureId> {
                match self { $(CrosscheckId::$variant => $measure),+ }
            }

            /// The rule with this id.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(CrosscheckId::$variant),)+ _ => None }
            }
        }
    };
}

crosschecks! {
    /// A child of 6–15 on no school roll.
    EduMissing => ("edu_missing", Some(super::MeasureId::CrosscheckEduMissing)),
    /// On the school roll as 辍学, not out of school in the registry.
    EduDropout => ("edu_dropout", Some(super::MeasureId::CrosscheckEduDropout)),
    /// Insured in the registry, not on the insurance roll as insured.
    InsuredNotOnRoll => ("insured_not_on_roll", Some(super::MeasureId::CrosscheckInsuredNotOnRoll)),
    /// Insured on the roll, not in the registry.
    InsuredOnlyOnRoll => ("insured_only_on_roll", Some(super::MeasureId::CrosscheckInsuredOnlyOnRoll)),
    /// A C/D house without a renovation record.
    HouseUnrenovated => ("house_unrenovated", Some(super::MeasureId::CrosscheckHouseUnrenovated)),
    /// A renovation record for an A house.
    RenovatedGradeA => ("renovated_grade_a", Some(super::MeasureId::CrosscheckRenovatedGradeA)),
    /// Water safety or piping differs.
    WaterDiffers => ("water_differs", Some(super::MeasureId::CrosscheckWaterDiffers)),
    /// 低保/特困 differs.
    ReliefDiffers => ("relief_differs", Some(super::MeasureId::CrosscheckReliefDiffers)),
    /// Disability differs.
    DisabilityDiffers => ("disability_differs", Some(super::MeasureId::CrosscheckDisabilityDiffers)),
    /// A roll row matching nobody in the database.
    RollUnregistered => ("roll_unregistered", None),
    /// A roll row matching somebody of another county.
    RollOtherCounty => ("roll_other_county", None),
}

impl CrosscheckId {
    /// What the rule's SQL reads of the catalog: (kind, field, codes it compares to).
    #[must_use]
    pub fn needs(self) -> &'static [(&'static str, &'static str, &'static [&'static str])] {
        match self {
            Self::EduMissing => &[("edu", "status", &[])],
            Self::EduDropout => &[("edu", "status", &["dropout"])],
            Self::InsuredNotOnRoll | Self::InsuredOnlyOnRoll => {
                &[("insurance", "status", &["insured"])]
            }
            Self::HouseUnrenovated | Self::RenovatedGradeA => &[("housing", "year", &[])],
            Self::WaterDiffers => &[("water", "supply", &["piped"]), ("water", "quality", &[])],
            Self::ReliefDiffers => &[("civil", "relief", &["subsistence", "extreme"])],
            Self::DisabilityDiffers => &[("disability", "grade", &["1", "2", "3", "4"])],
            Self::RollUnregistered | Self::RollOtherCounty => &[],
        }
    }
}

impl RollCatalog {
    /// The catalog embedded from `data/rolls.toml`.
    ///
    /// # Errors
    /// [`RollCatalogError`] if the embedded file is broken (a build a test catches).
    pub fn builtin() -> Result<Self, RollCatalogError> {
        Self::parse(BUILTIN, "data/rolls.toml")
    }

    /// Parses and checks a catalog; `origin` names it in errors.
    ///
    /// # Errors
    /// [`RollCatalogError::Parse`] for bad TOML; [`RollCatalogError::Invalid`] for an id
    /// twice, a field without headers, a code field without values, a rule the code
    /// does not know (or a known rule missing), or a rule's kind, field or code missing.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RollCatalogError> {
        let catalog: RollCatalog = toml::from_str(text).map_err(|e| RollCatalogError::Parse {
            origin: origin.to_owned(),
            source: Box::new(e),
        })?;
        catalog
            .check()
            .map_err(|message| RollCatalogError::Invalid {
                origin: origin.to_owned(),
                message,
            })?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), String> {
        let simple = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        for (i, kind) in self.kinds.iter().enumerate() {
            let at = format!("kind {} ({:?})", i + 1, kind.id);
            if !simple(&kind.id) {
                return Err(format!("{at}: an id is lower-case letters, digits and _"));
            }
            if self.kinds[..i].iter().any(|k| k.id == kind.id) {
                return Err(format!("{at}: id appears twice"));
            }
            for (j, field) in kind.fields.iter().enumerate() {
                let at = format!("{at}, field {:?}", field.id);
                if !simple(&field.id) {
                    return Err(format!("{at}: an id is lower-case letters, digits and _"));
                }
                if kind.fields[..j].iter().any(|f| f.id == field.id) {
                    return Err(format!("{at}: id appears twice"));
                }
                if field.headers.is_empty() {
                    return Err(format!("{at}: needs at least one header name"));
                }
                if (field.field_type == FieldType::Code) == field.values.is_empty() {
                    return Err(format!(
                        "{at}: a code field lists its values, and only a code field does"
                    ));
                }
            }
        }
        for (i, rule) in self.crosschecks.iter().enumerate() {
            let at = format!("crosscheck {} ({:?})", i + 1, rule.id);
            let id = CrosscheckId::from_code(&rule.id)
                .ok_or_else(|| format!("{at}: no rule computes this id"))?;
            if self.crosschecks[..i].iter().any(|r| r.id == rule.id) {
                return Err(format!("{at}: id appears twice"));
            }
            for (kind, field, codes) in id.needs() {
                let k = self.kind(kind).ok_or_else(|| {
                    format!("{at}: reads the roll kind {kind:?}, which is not declared")
                })?;
                let f = k.field(field).ok_or_else(|| {
                    format!("{at}: reads field {field:?} of kind {kind:?}, which is not declared")
                })?;
                if let Some(code) = codes
                    .iter()
                    .find(|c| !f.values.iter().any(|v| v.code == **c))
                {
                    return Err(format!(
                        "{at}: compares field {field:?} of kind {kind:?} with code {code:?}, which it does not list"
                    ));
                }
            }
        }
        if let Some(missing) = CrosscheckId::ALL
            .iter()
            .find(|c| !self.crosschecks.iter().any(|r| r.id == c.code()))
        {
            return Err(format!(
                "crosscheck {:?} has a rule but no entry",
                missing.code()
            ));
        }
        Ok(())
    }

    /// The kind with this id.
    #[must_use]
    pub fn kind(&self, id: &str) -> Option<&RollKind> {
        self.kinds.iter().find(|k| k.id == id)
    }

    /// The rule with this id.
    #[must_use]
    pub fn crosscheck(&self, id: &str) -> Option<&Crosscheck> {
        self.crosschecks.iter().find(|r| r.id == id)
    }

    /// The kinds' ids, comma-separated, for error messages.
    #[must_use]
    pub fn kind_ids(&self) -> String {
        self.kinds
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The departments a rule belongs to: its own, or those of the kinds it reads
    /// (every kind's for the rules that read them all).
    #[must_use]
    pub fn departments_of<'a>(&'a self, rule: &'a Crosscheck) -> Vec<&'a str> {
        if let Some(d) = &rule.department {
            return vec![d.as_str()];
        }
        let mut all: Vec<&str> = self
            .kinds
            .iter()
            .filter(|k| rule.kinds.is_empty() || rule.kinds.contains(&k.id))
            .map(|k| k.department.as_str())
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The kinds a department sends.
    #[must_use]
    pub fn kinds_of(&self, department: &str) -> Vec<&str> {
        self.kinds
            .iter()
            .filter(|k| k.department == department)
            .map(|k| k.id.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_declares_seven_departments_and_every_rule() {
        let c = RollCatalog::builtin().unwrap();
        let mut departments: Vec<&str> = c.kinds.iter().map(|k| k.department.as_str()).collect();
        departments.sort_unstable();
        // Six departments' rolls, and 乡村振兴's general rural households (应纳未纳).
        let mut seven = ["教育", "医保", "住建", "水务", "民政", "残联", "乡村振兴"];
        seven.sort_unstable();
        assert_eq!(departments, seven);
        assert_eq!(c.crosschecks.len(), CrosscheckId::ALL.len());
        let edu = c.kind("edu").unwrap();
        assert_eq!(edu.key, RollKey::IdNumber);
        assert_eq!(c.kind("water").unwrap().key, RollKey::HouseholdNo);
        let status = edu.field("status").unwrap();
        assert_eq!(status.code_of(" 辍学 "), Some("dropout"));
        assert_eq!(status.code_of("送教上门"), Some("home_taught"));
        assert_eq!(status.code_of("毕业"), None);
        assert_eq!(status.shown("dropout"), "辍学");
        // Every kind's department, 乡村振兴 too (its general households' file is left
        // out of the rule's SQL, so it lists no row of that kind).
        assert_eq!(
            c.departments_of(c.crosscheck("roll_unregistered").unwrap())
                .len(),
            7
        );
        assert_eq!(c.kinds_of("教育"), ["edu"]);
    }

    #[test]
    fn every_rule_has_its_indicator_or_none_by_design() {
        for id in CrosscheckId::ALL {
            assert_eq!(CrosscheckId::from_code(id.code()), Some(*id));
            match id.measure() {
                Some(m) => assert_eq!(m.code(), format!("crosscheck_{}", id.code())),
                None => assert!(matches!(
                    id,
                    CrosscheckId::RollUnregistered | CrosscheckId::RollOtherCounty
                )),
            }
        }
    }

    #[test]
    fn a_catalog_missing_what_a_rule_reads_is_refused_with_the_place() {
        let broken = BUILTIN.replacen("{ code = \"dropout\",", "{ code = \"left\",", 1);
        let err = RollCatalog::parse(&broken, "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.toml") && err.contains("edu_dropout") && err.contains("\"dropout\""),
            "{err}"
        );

        let renamed = BUILTIN.replacen("id = \"water\"", "id = \"drinking\"", 1);
        let err = RollCatalog::parse(&renamed, "t").unwrap_err().to_string();
        assert!(
            err.contains("water_differs") && err.contains("\"water\""),
            "{err}"
        );

        let unknown = format!(
            "{BUILTIN}\n[[crosscheck]]\nid = \"shoe_size\"\nname_zh = \"x\"\ndefinition = \"x\"\nkinds = []\nunit = \"rows\"\nsource = \"x\"\n"
        );
        let err = RollCatalog::parse(&unknown, "t").unwrap_err().to_string();
        assert!(
            err.contains("shoe_size") && err.contains("no rule"),
            "{err}"
        );

        let err = RollCatalog::parse("keys = 3", "t").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn a_county_adds_a_kind_by_data_alone() {
        let more = format!(
            "{BUILTIN}\n[[kind]]\nid = \"pension\"\nname_zh = \"养老保险\"\ndepartment = \"人社\"\nkey = \"id_number\"\nsource = \"县人社局\"\n\n[[kind.field]]\nid = \"status\"\nname_zh = \"参保状态\"\nheaders = [\"养老参保状态\"]\ntype = \"text\"\n"
        );
        let c = RollCatalog::parse(&more, "county.toml").unwrap();
        assert_eq!(
            c.kind("pension").unwrap().fields[0].headers,
            ["养老参保状态"]
        );
        assert!(
            c.departments_of(c.crosscheck("roll_unregistered").unwrap())
                .contains(&"人社")
        );
    }
}
