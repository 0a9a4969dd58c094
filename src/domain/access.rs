//! Who may do what, where: roles (岗位), the grants that bind a role to an area and a
//! period, and the signed-in person ([`Principal`]) every request carries.
//!
//! The rules are plain data so that the API, the CLI and the tests read one table:
//! [`Role::can`] says which [`Capability`] a role has, and a grant's area code says
//! where (an area and everything inside it: `211422` covers `211422101`, and
//! `211422101` covers `211422101201`).

use serde::{Deserialize, Serialize};

super::coded_enum! {
    /// A person's job in the campaign, which decides what they may see and change.
    pub enum Role {
        /// Accounts, imports and settings; reads the audit log.
        Admin => ("admin", "管理员"),
        /// The county's (or city's) poverty office: everything in their area.
        Analyst => ("analyst", "县级分析"),
        /// Maps, tables and reports of their area; no household's personal data.
        Leader => ("leader", "领导"),
        /// Their township: its households, and its villages' ledgers.
        Township => ("township", "乡镇"),
        /// Their village (secretary, first secretary): its ledger and signatures.
        Village => ("village", "村"),
        /// An inspection group: the townships it is sent to, for the campaign's period.
        Group => ("group", "督查组"),
        /// A third-party evaluator: read-only, the villages drawn for them.
        Evaluator => ("evaluator", "第三方评估"),
        /// A department (教育局, 医保局 …): indicators, county-wide.
        Department => ("department", "行业部门"),
    }
}

/// One thing a role may do, inside its grant's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Counts, rates, maps, rankings and reports: figures, no person behind them.
    Figures,
    /// A household's or person's data: the households behind a count, exact home
    /// positions, names, visit lists, the admin exports.
    Personal,
    /// Editing ledger entries (problems, measures, results).
    EditLedger,
    /// Signing a ledger entry as the village's secretary or first secretary.
    SignVillage,
    /// Signing a ledger entry as the inspection group's leader.
    SignGroup,
    /// Creating campaigns and checklist templates.
    Campaigns,
    /// Making field-visit plans and reading them.
    Plans,
    /// Recording field visits (走访记录) and their findings, which open ledger entries.
    Visits,
    /// Accounts, imports and the audit log.
    Administer,
    /// Deciding whether a screened household should be included (应纳未纳: 乡镇确定,
    /// seed 003 item 8).
    DecideInclusion,
}

impl Role {
    /// Whether the role has the capability (in its grant's area).
    #[must_use]
    pub fn can(self, capability: Capability) -> bool {
        use Capability as C;
        match self {
            Role::Admin => matches!(capability, C::Figures | C::Campaigns | C::Administer),
            Role::Analyst => matches!(
                capability,
                C::Figures | C::Personal | C::EditLedger | C::Campaigns | C::Plans | C::Visits
            ),
            Role::Leader | Role::Department => capability == C::Figures,
            Role::Township => matches!(
                capability,
                C::Figures | C::Personal | C::EditLedger | C::Plans | C::DecideInclusion
            ),
            Role::Village => matches!(
                capability,
                C::Figures | C::Personal | C::EditLedger | C::SignVillage
            ),
            Role::Group => matches!(
                capability,
                C::Figures | C::Personal | C::Plans | C::SignGroup | C::Visits
            ),
            Role::Evaluator => matches!(capability, C::Figures | C::Personal),
        }
    }

    /// The parsed role of a code (`analyst`) or a Chinese label (`县级分析`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Role> {
        let text = text.trim();
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.code() == text || r.label_zh() == text)
    }
}

/// A role bound to an area (its code) and, where said, to a last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// The area the role holds in: it and everything inside it.
    pub area: String,
    /// The last day (`YYYY-MM-DD`, China time) the grant holds; none: no end.
    pub until: Option<String>,
    /// For a department (行业部门) grant, which department (教育, 医保, 住建, 水务 …):
    /// the indicators of the catalog that name it are all the person sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

impl Grant {
    /// What is wrong with the grant's department, given the departments the
    /// indicator catalog names: a department role must name one of them, and no
    /// other role names any.
    #[must_use]
    pub fn department_problem(&self, known: &[&str]) -> Option<String> {
        match (self.role, &self.department) {
            (Role::Department, Some(d)) if known.contains(&d.as_str()) => None,
            (Role::Department, _) => Some(format!(
                "a department role names its department, one of {}",
                known.join(", ")
            )),
            (_, Some(_)) => Some("only a department role names a department".to_owned()),
            (_, None) => None,
        }
    }

    /// Whether the grant holds on `today` (`YYYY-MM-DD`).
    #[must_use]
    pub fn holds_on(&self, today: &str) -> bool {
        self.until.as_deref().is_none_or(|until| today <= until)
    }
}

/// Whether `code` is `area` or lies inside it (division codes nest by prefix).
#[must_use]
pub fn within(code: &str, area: &str) -> bool {
    code.starts_with(area)
}

/// Draws `n` of `villages` (12-digit codes) for a third-party evaluator
/// (第三方评估抽样): spread over their townships as evenly as `n` allows (every
/// township once before any twice), at random within each, and the same draw again
/// for the same `seed`. Returns the codes sorted; all of them when `n` is at least their number.
#[must_use]
pub fn draw_villages(villages: &[&str], n: usize, seed: u64) -> Vec<String> {
    use rand::SeedableRng as _;
    use rand::seq::SliceRandom as _;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut by_township: std::collections::BTreeMap<&str, Vec<&str>> =
        std::collections::BTreeMap::new();
    for v in villages {
        by_township.entry(&v[..v.len().min(9)]).or_default().push(v);
    }
    let mut townships: Vec<Vec<&str>> = by_township.into_values().collect();
    for t in &mut townships {
        t.sort_unstable();
        t.dedup();
        t.shuffle(&mut rng);
    }
    // Which townships give the first, partial round is itself drawn.
    townships.shuffle(&mut rng);
    let mut drawn = Vec::with_capacity(n.min(villages.len()));
    let mut round = 0;
    while drawn.len() < n {
        let before = drawn.len();
        for t in &townships {
            if drawn.len() == n {
                break;
            }
            if let Some(v) = t.get(round) {
                drawn.push((*v).to_owned());
            }
        }
        if drawn.len() == before {
            break;
        }
        round += 1;
    }
    drawn.sort_unstable();
    drawn
}

/// The areas a map or a count may show: everything, or the households and areas
/// inside some areas (a person's, for one capability).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AreaScope(Option<Vec<String>>);

impl AreaScope {
    /// Everything.
    #[must_use]
    pub fn all() -> Self {
        Self(None)
    }

    /// Only what lies inside these areas (none: nothing).
    #[must_use]
    pub fn of(areas: Vec<String>) -> Self {
        Self(Some(areas))
    }

    /// Whether an area (or a household's village) lies inside.
    #[must_use]
    pub fn contains(&self, code: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|areas| areas.iter().any(|a| within(code, a)))
    }

    /// Whether every area of `other` lies inside this one.
    #[must_use]
    pub fn covers(&self, other: &AreaScope) -> bool {
        match (&self.0, &other.0) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(theirs)) => theirs.iter().all(|a| self.contains(a)),
        }
    }

    /// Whether this is everything.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// A short text naming the scope, for cache keys: `*` for everything.
    #[must_use]
    pub fn key(&self) -> std::borrow::Cow<'static, str> {
        self.0
            .as_ref()
            .map_or(std::borrow::Cow::Borrowed("*"), |a| a.join("+").into())
    }
}

/// The signed-in person a request is made by: their account name, the name shown,
/// and their grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// The account name (what they sign in with).
    pub user: String,
    /// The name shown and written into ledgers' history (e.g. 张三).
    pub display: String,
    /// Every role the person holds, each with its area.
    pub grants: Vec<Grant>,
}

impl Principal {
    /// The departments whose indicators are all the person sees on `today`, or
    /// `None` when a role of theirs sees every indicator (any role but 行业部门).
    #[must_use]
    pub fn departments(&self, today: &str) -> Option<Vec<&str>> {
        let holding = self.grants.iter().filter(|g| g.holds_on(today));
        let mut departments = Vec::new();
        for g in holding {
            match (g.role, &g.department) {
                (Role::Department, Some(d)) => departments.push(d.as_str()),
                (Role::Department, None) => {}
                (role, _) if role.can(Capability::Figures) => return None,
                _ => {}
            }
        }
        Some(departments)
    }

    /// The areas (codes) in which the person has `capability` on `today`, without
    /// one lying inside another.
    #[must_use]
    pub fn areas(&self, capability: Capability, today: &str) -> Vec<String> {
        let mut codes: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.role.can(capability) && g.holds_on(today))
            .map(|g| g.area.clone())
            .collect();
        codes.sort();
        codes.dedup();
        let all = codes.clone();
        codes.retain(|c| !all.iter().any(|o| o != c && within(c, o)));
        codes
    }

    /// Whether the person has `capability` for the area `code` (it lies inside one of
    /// their areas) on `today`.
    #[must_use]
    pub fn may(&self, capability: Capability, code: &str, today: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.role.can(capability) && g.holds_on(today) && within(code, &g.area))
    }

    /// Whether the person has `capability` anywhere on `today`.
    #[must_use]
    pub fn may_somewhere(&self, capability: Capability, today: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.role.can(capability) && g.holds_on(today))
    }

    /// The roles the person holds on `today`, each once.
    #[must_use]
    pub fn roles(&self, today: &str) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .grants
            .iter()
            .filter(|g| g.holds_on(today))
            .map(|g| g.role)
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_spreads_over_townships_and_repeats_for_its_seed() {
        let villages: Vec<String> = (1..=3)
            .flat_map(|t| (1..=4).map(move |v| format!("211422{t:03}{v:03}")))
            .collect();
        let refs: Vec<&str> = villages.iter().map(String::as_str).collect();
        let drawn = draw_villages(&refs, 5, 7);
        assert_eq!(drawn.len(), 5);
        let mut per_township = std::collections::BTreeMap::new();
        for v in &drawn {
            *per_township.entry(&v[..9]).or_insert(0) += 1;
        }
        // 5 over 3 townships: every township once, two of them twice.
        assert_eq!(per_township.len(), 3);
        assert!(per_township.values().all(|n| (1..=2).contains(n)));
        assert_eq!(draw_villages(&refs, 5, 7), drawn);
        assert_ne!(
            draw_villages(&refs, 5, 8),
            drawn,
            "another seed, another draw"
        );
        assert_eq!(draw_villages(&refs, 40, 7).len(), 12);
        assert!(draw_villages(&refs, 0, 7).is_empty());
    }

    fn person(grants: &[(Role, &str, Option<&str>)]) -> Principal {
        Principal {
            user: "u".into(),
            display: "U".into(),
            grants: grants
                .iter()
                .map(|(role, area, until)| Grant {
                    role: *role,
                    area: (*area).to_owned(),
                    until: until.map(str::to_owned),
                    department: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_grant_covers_its_area_and_what_lies_inside() {
        let p = person(&[(Role::Township, "211422101", None)]);
        assert!(p.may(Capability::Personal, "211422101", "2026-01-01"));
        assert!(p.may(Capability::Personal, "211422101201", "2026-01-01"));
        assert!(!p.may(Capability::Personal, "211422102201", "2026-01-01"));
        assert!(!p.may(Capability::Personal, "211422", "2026-01-01"));
        assert!(!p.may(Capability::Campaigns, "211422101", "2026-01-01"));
    }

    #[test]
    fn a_leader_sees_figures_and_no_person() {
        let p = person(&[(Role::Leader, "211422", None)]);
        assert!(p.may(Capability::Figures, "211422101", "2026-01-01"));
        assert!(!p.may(Capability::Personal, "211422101", "2026-01-01"));
        assert!(!p.may_somewhere(Capability::EditLedger, "2026-01-01"));
    }

    #[test]
    fn a_grant_ends_after_its_last_day() {
        let p = person(&[(Role::Group, "211422101", Some("2026-03-31"))]);
        assert!(p.may(Capability::Plans, "211422101", "2026-03-31"));
        assert!(!p.may(Capability::Plans, "211422101", "2026-04-01"));
        assert!(p.roles("2026-04-01").is_empty());
    }

    #[test]
    fn areas_inside_another_are_not_listed_twice() {
        let p = person(&[
            (Role::Township, "211422101", None),
            (Role::Village, "211422101201", None),
            (Role::Township, "211422102", None),
        ]);
        assert_eq!(
            p.areas(Capability::Personal, "2026-01-01"),
            ["211422101", "211422102"]
        );
        assert_eq!(
            p.areas(Capability::SignVillage, "2026-01-01"),
            ["211422101201"]
        );
    }

    #[test]
    fn a_scope_contains_what_lies_inside_its_areas() {
        let s = AreaScope::of(vec!["211422101".into(), "211422102201".into()]);
        assert!(s.contains("211422101203"));
        assert!(s.contains("211422102201"));
        assert!(!s.contains("211422102202"));
        assert!(!s.contains("211422"));
        assert!(AreaScope::all().contains("211422"));
        assert!(AreaScope::all().covers(&s));
        assert!(!s.covers(&AreaScope::all()));
        assert!(s.covers(&AreaScope::of(vec!["211422101201".into()])));
        assert_eq!(s.key(), "211422101+211422102201");
    }

    #[test]
    fn roles_parse_from_code_or_chinese() {
        assert_eq!(Role::parse("analyst"), Some(Role::Analyst));
        assert_eq!(Role::parse("督查组"), Some(Role::Group));
        assert_eq!(Role::parse("boss"), None);
    }
}
