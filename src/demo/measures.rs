//! The demo's assistance measures per household and year (issue 17), drawn from a
//! stream of their own so that every other figure of the demo stays as it was.
//!
//! The income year's (2018) measures are the household record's 帮扶措施, as a
//! household import writes them from the national export; the two years before repeat
//! each of them with a chance, as measures run on over years. Amounts are drawn per
//! kind at the policies' usual sizes (雨露计划 3,000 元, 危房改造 1.4–3.5 万元, 小额信贷
//! 3–5 万元, 公益岗位 500 元 a month …), for about three rows in four. The record's draw
//! (`details`) leaves about a fifth of monitored households without a development
//! measure and some with an illness, schooling or housing risk unanswered: what the
//! indicators 未落实开发式帮扶措施 and 风险无对应措施 find.

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::domain::aid::MeasureKinds;
use crate::domain::{AidMeasure, Household};
use crate::store::measures::MeasureRow;

/// The year the demo's incomes (and so its measures) are of.
pub(super) const INCOME_YEAR: i32 = 2018;

/// The measures of one household, every year.
pub(super) fn of_household(
    rng: &mut impl Rng,
    h: &Household,
    kinds: &MeasureKinds,
) -> Vec<MeasureRow> {
    let mut rows = Vec::new();
    for year in [INCOME_YEAR - 2, INCOME_YEAR - 1, INCOME_YEAR] {
        for &measure in &h.aid_measures {
            // Earlier years repeat a measure with a chance; development measures run on
            // more often (a project, a loan, a job last).
            let again = if kinds.get(measure).development {
                0.7
            } else {
                0.5
            };
            if year != INCOME_YEAR && !rng.random_bool(again) {
                continue;
            }
            let departments = &kinds.get(measure).departments;
            let department = if measure == AidMeasure::Health {
                departments.choose(rng).cloned()
            } else {
                departments.first().cloned()
            }
            .unwrap_or_default();
            rows.push(MeasureRow {
                household_no: h.household_no.clone(),
                year,
                measure,
                department,
                amount: amount(rng, measure),
                source: "demo".to_owned(),
            });
        }
    }
    rows
}

/// An amount in yuan for about three rows in four, rounded to 100 yuan.
fn amount(rng: &mut impl Rng, measure: AidMeasure) -> Option<f64> {
    let (low, high) = match measure {
        AidMeasure::Industry => (1_000.0, 5_000.0),
        AidMeasure::Employment => (500.0, 2_000.0),
        AidMeasure::Health => (300.0, 8_000.0),
        AidMeasure::Education => (3_000.0, 3_000.0),
        AidMeasure::Housing => (14_000.0, 35_000.0),
        AidMeasure::MicroCredit => (30_000.0, 50_000.0),
        AidMeasure::SocialSecurity => (2_000.0, 4_500.0),
        AidMeasure::PublicJob => (6_000.0, 6_000.0),
        AidMeasure::LivingConditions | AidMeasure::Water => return None,
    };
    if !rng.random_bool(0.75) {
        return None;
    }
    let drawn: f64 = if high > low {
        rng.random_range(low..=high)
    } else {
        low
    };
    Some((drawn / 100.0).round() * 100.0)
}
