//! The demo households' fields that no indicator reads: risks 2–5, when monitoring
//! began and how a risk was removed, the toilet, 低保 and 特困供养, assistance measures,
//! and each person's disability kind, education, health, labour, months of work away and
//! critical-illness insurance.
//!
//! They draw from a random stream of their own (see [`super::households::generate_village`]),
//! so that adding them changed no draw of the fields before them: the demo's figures
//! are those they were. Values follow the facts already drawn (a disabled person's
//! health is 残疾, a student is 无劳动力, a house of grade C or D gets 危房改造 more often).

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::domain::{
    AidMeasure, Category, DisabilityKind, Education, Health, HouseGrade, Household, LabourSkill,
    Member, Relief, RiskElimination, RiskState, RiskType, Schooling, YearMonth,
};

/// The first month monitoring is dated from in the demo, and the last before its data
/// date (July 2019): months are counted from the first.
const FIRST_MONTH: (u16, u8) = (2016, 1);
/// Months from [`FIRST_MONTH`] up to June 2019.
const MONTHS: u16 = 42;

/// Fills the fields of `h` that no indicator reads; `hardship` is what its other
/// problems were drawn with.
pub(super) fn fill(rng: &mut impl Rng, h: &mut Household, hardship: f64) {
    let ill_head = h.risk_type == Some(RiskType::Illness);
    for m in &mut h.members {
        person(rng, m, ill_head && m.seq == 1);
    }
    support(rng, h, hardship);
    monitoring(rng, h);
    h.sanitary_toilet = Some(!rng.random_bool((0.15 * (1.0 + hardship)).min(1.0)));
    h.aid_measures = measures(rng, h);
}

fn person(rng: &mut impl Rng, m: &mut Member, seriously_ill: bool) {
    m.disability_kind = m.disability_grade.and_then(|_| {
        [
            (DisabilityKind::Physical, 45),
            (DisabilityKind::Visual, 12),
            (DisabilityKind::Hearing, 12),
            (DisabilityKind::Intellectual, 10),
            (DisabilityKind::Mental, 10),
            (DisabilityKind::Multiple, 8),
            (DisabilityKind::Speech, 3),
        ]
        .choose_weighted(rng, |k| k.1)
        .ok()
        .map(|k| k.0)
    });
    m.education = Some(education(rng, m));
    let chronic = (f64::from(m.age) / 100.0).powi(2) * 0.5;
    m.health = Some(if m.disability_grade.is_some() {
        Health::Disabled
    } else if seriously_ill || rng.random_bool(0.01) {
        Health::SeriousIllness
    } else if rng.random_bool(chronic) {
        Health::Chronic
    } else {
        Health::Healthy
    });
    let labour = labour(rng, m);
    m.labour_skill = Some(labour);
    m.work_months = (m.age >= 16).then(|| {
        let able = matches!(labour, LabourSkill::Ordinary | LabourSkill::Skilled);
        if able && rng.random_bool(0.45) {
            rng.random_range(3..=12)
        } else {
            0
        }
    });
    // Critical-illness insurance comes with the basic medical insurance.
    m.serious_illness_insured = Some(m.medical_insured);
}

fn education(rng: &mut impl Rng, m: &Member) -> Education {
    let weights: &[(Education, u32)] = match m.age {
        0..6 => return Education::Preschool,
        6..=11 => return Education::Primary,
        12..=15 => return Education::JuniorHigh,
        16..=22 => &[
            (Education::JuniorHigh, 45),
            (Education::SeniorHigh, 40),
            (Education::College, 15),
        ],
        23..=44 => &[
            (Education::Primary, 10),
            (Education::JuniorHigh, 55),
            (Education::SeniorHigh, 25),
            (Education::College, 10),
        ],
        45..=64 => &[
            (Education::Illiterate, 8),
            (Education::Primary, 35),
            (Education::JuniorHigh, 45),
            (Education::SeniorHigh, 12),
        ],
        _ => &[
            (Education::Illiterate, 30),
            (Education::Primary, 50),
            (Education::JuniorHigh, 20),
        ],
    };
    weights
        .choose_weighted(rng, |w| w.1)
        .map_or(Education::JuniorHigh, |w| w.0)
}

fn labour(rng: &mut impl Rng, m: &Member) -> LabourSkill {
    let in_school = matches!(
        m.schooling,
        Some(Schooling::InSchool | Schooling::TaughtAtHome)
    );
    if m.age < 16 || in_school {
        return LabourSkill::NoLabour;
    }
    if m.age > 64 {
        return if rng.random_bool(0.35) {
            LabourSkill::Weak
        } else {
            LabourSkill::NoLabour
        };
    }
    match (m.health, m.disability_grade) {
        (_, Some(1 | 2)) | (Some(Health::SeriousIllness), _) => LabourSkill::Lost,
        (_, Some(_)) | (Some(Health::Chronic), _) => LabourSkill::Weak,
        _ if rng.random_bool(0.15) => LabourSkill::Skilled,
        _ => LabourSkill::Ordinary,
    }
}

/// 低保 and 特困供养: a lone old person without labour may be supported as 特困; else a
/// poor household's members share its 低保 (整户施保). The household's support is what
/// its members' flags say.
fn support(rng: &mut impl Rng, h: &mut Household, hardship: f64) {
    let poor = h.category.is_monitored() || matches!(h.category, Category::Lifted | Category::Poor);
    let alone_and_old = h.members.len() == 1
        && h.members[0].age >= 60
        && h.members[0].labour_skill != Some(LabourSkill::Ordinary);
    let extreme = poor && alone_and_old && rng.random_bool(0.35);
    let subsistence = !extreme
        && rng.random_bool(match h.category {
            c if c.is_monitored() => (0.25 * (1.0 + hardship)).min(1.0),
            Category::Lifted | Category::Poor => 0.12,
            _ => 0.01,
        });
    for m in &mut h.members {
        m.subsistence = Some(subsistence);
        m.extreme_poverty = Some(extreme);
    }
    h.relief = Relief::of_members(&h.members);
}

/// A monitored household's further risks, the month it was identified and, for one
/// whose risk is removed, when and how.
fn monitoring(rng: &mut impl Rng, h: &mut Household) {
    if !h.category.is_monitored() {
        return;
    }
    let extra = [(0_usize, 55), (1, 30), (2, 15)]
        .choose_weighted(rng, |w| w.1)
        .map_or(0, |w| w.0);
    for _ in 0..extra {
        let candidates: Vec<RiskType> = DEMO_RISKS
            .iter()
            .copied()
            .filter(|r| Some(*r) != h.risk_type && !h.other_risks.contains(r))
            .collect();
        if let Some(r) = candidates.choose(rng) {
            h.other_risks.push(*r);
        }
    }
    let identified = rng.random_range(0..MONTHS - 1);
    h.identified_month = month(identified);
    if h.risk_state == Some(RiskState::Resolved) {
        h.eliminated_month = month(rng.random_range(identified + 1..MONTHS));
        h.risk_elimination = Some(if rng.random_bool(0.85) {
            RiskElimination::Assisted
        } else {
            RiskElimination::Natural
        });
    }
}

/// The risk types the demo draws further risks from: the seven it had before the
/// monitoring system's 因安全住房 and 因安全饮水 joined [`RiskType::ALL`], so that the
/// demo's draws (and every figure built on them) stay as they were.
const DEMO_RISKS: [RiskType; 7] = [
    RiskType::Illness,
    RiskType::Schooling,
    RiskType::Disability,
    RiskType::Disaster,
    RiskType::Accident,
    RiskType::LackOfLabour,
    RiskType::Other,
];

/// The month `n` months after [`FIRST_MONTH`].
fn month(n: u16) -> Option<YearMonth> {
    let (year, first) = FIRST_MONTH;
    let index = u16::from(first - 1) + n;
    YearMonth::new(year + index / 12, (index % 12) as u8 + 1)
}

/// Measures for the households the policy reaches (registered and monitored ones),
/// following their needs; none for the others.
fn measures(rng: &mut impl Rng, h: &Household) -> Vec<AidMeasure> {
    let reached =
        h.category.is_monitored() || matches!(h.category, Category::Lifted | Category::Poor);
    if !reached {
        return Vec::new();
    }
    let unwell = h.members.iter().any(|m| {
        matches!(
            m.health,
            Some(Health::Chronic | Health::SeriousIllness | Health::Disabled)
        )
    });
    let student = h.members.iter().any(|m| m.schooling.is_some());
    let dangerous = matches!(h.house_grade, HouseGrade::C | HouseGrade::D);
    let supported = matches!(h.relief, Some(r) if r != Relief::Neither);
    let chances = [
        (AidMeasure::Industry, 0.6),
        (AidMeasure::Employment, 0.35),
        (AidMeasure::Health, if unwell { 0.7 } else { 0.1 }),
        (AidMeasure::Education, if student { 0.8 } else { 0.0 }),
        (AidMeasure::Housing, if dangerous { 0.7 } else { 0.05 }),
        (AidMeasure::MicroCredit, 0.2),
        (
            AidMeasure::SocialSecurity,
            if supported { 0.9 } else { 0.05 },
        ),
        (AidMeasure::LivingConditions, 0.15),
        (AidMeasure::PublicJob, 0.1),
    ];
    chances
        .into_iter()
        .filter(|&(_, p)| rng.random_bool(p))
        .map(|(m, _)| m)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_from_january_2016_to_june_2019() {
        assert_eq!(month(0), YearMonth::new(2016, 1));
        assert_eq!(month(11), YearMonth::new(2016, 12));
        assert_eq!(month(12), YearMonth::new(2017, 1));
        assert_eq!(month(MONTHS - 1), YearMonth::new(2019, 6));
    }
}
