//! The measures: every indicator paicha computes, as a closed list of typed ids.
//!
//! The catalog (`data/indicators.toml`) says what each means and how it is coloured,
//! the store holds each one's exact rule as SQL, and the read model keeps what each
//! household adds to each; a [`MeasureId`] is what they all index by, so that no
//! module passes a bare position in a list another module owns.

use super::Unit;

/// Declares the measures with their stable ids and units, in catalog order.
macro_rules! measures {
    ($( $(#[$meta:meta])* $variant:ident => ($code:literal, $unit:ident) ),+ $(,)?) => {
        /// One indicator's typed id. The discriminant is its position in
        /// [`MeasureId::ALL`] (catalog order), which fits in a `u32` bit set.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MeasureId {
            $( $(#[$meta])* $variant ),+
        }

        impl MeasureId {
            /// Every measure, in catalog order.
            pub const ALL: &'static [MeasureId] = &[$(MeasureId::$variant),+];

            /// The stable id used in the API, tiles, exports and the catalog.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self { $(MeasureId::$variant => $code),+ }
            }

            /// What the count counts.
            #[must_use]
            pub const fn unit(self) -> Unit {
                match self { $(MeasureId::$variant => Unit::$unit),+ }
            }

            /// The measure with this stable id.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(MeasureId::$variant),)+ _ => None }
            }
        }
    };
}

measures! {
    /// Fails any part of the household standard.
    AnyProblem => ("any_problem", Households),
    /// Per-capita income below the poverty line in force.
    IncomeBelowLine => ("income_below_line", Households),
    /// 愁吃 or 愁穿.
    FoodClothingInsecure => ("food_clothing_insecure", Households),
    /// Persons of compulsory-school age out of school.
    Dropout => ("dropout", Persons),
    /// A member without basic medical insurance.
    Uninsured => ("uninsured", Households),
    /// Lives in a C or D house.
    UnsafeHousing => ("unsafe_housing", Households),
    /// House not appraised.
    HousingUnappraised => ("housing_unappraised", Households),
    /// Drinking water below the standard.
    WaterUnsafe => ("water_unsafe", Households),
    /// Piped water does not reach the house.
    WaterNotPiped => ("water_not_piped", Households),
    /// A monitored household (监测对象).
    Monitored => ("monitored", Households),
    /// 脱贫不稳定户.
    MonitoredUnstable => ("monitored_unstable", Households),
    /// 边缘易致贫户.
    MonitoredMarginal => ("monitored_marginal", Households),
    /// 突发严重困难户.
    MonitoredSudden => ("monitored_sudden", Households),
    /// A monitored household whose risk is not removed.
    RiskUnresolved => ("risk_unresolved", Households),
    /// A monitored household with no development measure (开发式帮扶) in the year.
    NoDevelopmentMeasure => ("no_development_measure", Households),
    /// A household with a risk and none of the measures that answer it in the year.
    RiskWithoutMeasure => ("risk_without_measure", Households),
    /// No GPS position.
    GpsMissing => ("gps_missing", Households),
    /// The position lies outside the registered village.
    GpsMismatch => ("gps_mismatch", Households),
    /// Checklist items with an open problem.
    ChecklistUnmet => ("checklist_unmet", Items),
    /// Open problems past their deadline.
    RectificationOverdue => ("rectification_overdue", Items),
    /// Problems rectified or closed.
    RectificationRate => ("rectification_rate", Items),
    /// Cross-check (账账相符): a child of 6–15 on no school roll.
    CrosscheckEduMissing => ("crosscheck_edu_missing", Households),
    /// Cross-check: on the school roll as 辍学, in school by the registry.
    CrosscheckEduDropout => ("crosscheck_edu_dropout", Households),
    /// Cross-check: insured by the registry, not by the insurance roll.
    CrosscheckInsuredNotOnRoll => ("crosscheck_insured_not_on_roll", Households),
    /// Cross-check: insured by the insurance roll, not by the registry.
    CrosscheckInsuredOnlyOnRoll => ("crosscheck_insured_only_on_roll", Households),
    /// Cross-check: a C/D house with no renovation record.
    CrosscheckHouseUnrenovated => ("crosscheck_house_unrenovated", Households),
    /// Cross-check: a renovation record for an A house.
    CrosscheckRenovatedGradeA => ("crosscheck_renovated_grade_a", Households),
    /// Cross-check: water safety or piping differs from the water roll.
    CrosscheckWaterDiffers => ("crosscheck_water_differs", Households),
    /// Cross-check: 低保/特困 differs from the civil-affairs roll.
    CrosscheckReliefDiffers => ("crosscheck_relief_differs", Households),
    /// Cross-check: disability differs from the federation's roll.
    CrosscheckDisabilityDiffers => ("crosscheck_disability_differs", Households),
    /// A poverty village's items of the exit standard that fail (贫困村退出).
    ExitFailingItems => ("exit_failing_items", Items),
    /// Persons screened as should-be-included (应纳未纳) not yet decided.
    InclusionCandidates => ("inclusion_candidates", Items),
}

impl MeasureId {
    /// Its position in [`MeasureId::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Counted per village (over its ledger entries, its exit items or its screened
    /// candidates), not over households.
    #[must_use]
    pub fn is_ledger(self) -> bool {
        self.unit() == Unit::Items
    }

    /// A cross-check of a department's roll (账账相符): counted from the rolls, which a
    /// version kept in the history does not have.
    #[must_use]
    pub fn is_crosscheck(self) -> bool {
        self.code().starts_with("crosscheck_")
    }

    /// The measures counted in persons, in catalog order: a household adds a number
    /// to these, not a yes or a no.
    pub fn persons() -> impl Iterator<Item = MeasureId> {
        Self::ALL
            .iter()
            .copied()
            .filter(|m| m.unit() == Unit::Persons)
    }

    /// Its position among [`MeasureId::persons`], if counted in persons.
    #[must_use]
    pub const fn person_slot(self) -> Option<usize> {
        match PERSON_SLOTS[self as usize] {
            u8::MAX => None,
            slot => Some(slot as usize),
        }
    }
}

/// Per measure, its position among the person measures (`u8::MAX`: not one), worked
/// out once at compile time because tiles and heat maps ask per household.
const PERSON_SLOTS: [u8; MeasureId::ALL.len()] = {
    let mut slots = [u8::MAX; MeasureId::ALL.len()];
    let mut next = 0;
    let mut i = 0;
    while i < MeasureId::ALL.len() {
        if matches!(MeasureId::ALL[i].unit(), Unit::Persons) {
            slots[i] = next;
            next += 1;
        }
        i += 1;
    }
    slots
};

impl std::fmt::Display for MeasureId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_index_in_order() {
        for (i, m) in MeasureId::ALL.iter().enumerate() {
            assert_eq!(MeasureId::from_code(m.code()), Some(*m));
            assert_eq!(m.index(), i);
        }
        assert_eq!(MeasureId::from_code("nope"), None);
        assert!(MeasureId::ALL.len() <= 32, "facts keep one bit per measure");
    }

    #[test]
    fn only_dropout_counts_persons() {
        assert_eq!(
            MeasureId::persons().collect::<Vec<_>>(),
            [MeasureId::Dropout]
        );
        assert_eq!(MeasureId::Dropout.person_slot(), Some(0));
        assert_eq!(MeasureId::Uninsured.person_slot(), None);
        assert!(MeasureId::RectificationRate.is_ledger());
    }
}
