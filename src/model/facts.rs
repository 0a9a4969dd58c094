//! What each household adds to each measure, in row order: the in-memory twin of the
//! store's derived indicator table, for the figures the spatial side computes (drawn
//! areas, tiles, heat maps, plans) without a query per household.

use crate::domain::{Category, MeasureId};
use crate::store::{self, StoreError};

/// Per household row, its category and what it adds to the count and the denominator
/// of every measure. Household measures take one bit each (a household adds 0 or 1);
/// person measures take a small number each (the members it adds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Per household, bit `m.index()` set when it adds 1 to the count of measure `m`.
    count_bits: Vec<u32>,
    /// Per household, bit `m.index()` set when it adds 1 to the denominator of `m`.
    denominator_bits: Vec<u32>,
    /// Per household and person measure (in [`MeasureId::persons`] order), the count
    /// and the denominator it adds: `persons[row * P + slot]`, `P` person measures.
    persons: Vec<[u8; 2]>,
    /// Per household, its category.
    category: Vec<Category>,
    /// Person measures, for the stride of `persons`.
    person_count: usize,
    /// The person measures' indices, in [`MeasureId::persons`] order: looked up
    /// once, not per household.
    person_indices: Vec<usize>,
}

impl Facts {
    /// An empty table, to be filled row by row in storage order.
    #[must_use]
    pub fn new() -> Self {
        let person_indices: Vec<usize> = MeasureId::persons().map(MeasureId::index).collect();
        Self {
            person_count: person_indices.len(),
            person_indices,
            ..Self::default()
        }
    }

    /// Appends the next household: its category, its count and denominator bits, and
    /// per person measure (in [`MeasureId::persons`] order) its count and denominator.
    pub fn push(
        &mut self,
        category: Category,
        count_bits: u32,
        denominator_bits: u32,
        persons: &[[u8; 2]],
    ) {
        debug_assert_eq!(persons.len(), self.person_count);
        self.category.push(category);
        self.count_bits.push(count_bits);
        self.denominator_bits.push(denominator_bits);
        self.persons.extend_from_slice(persons);
    }

    /// Reads every household's facts from the store's derived table, in row order,
    /// with the stamp of the derivation read (see
    /// [`crate::store::indicators::for_each_fact_stamped`]).
    ///
    /// # Errors
    /// The [`StoreError`] of the read.
    pub fn read(conn: &duckdb::Connection) -> Result<(Option<String>, Self), StoreError> {
        let mut facts = Self::new();
        let stamp = store::indicators::for_each_fact_stamped(
            conn,
            |category, counts, denominators, persons| {
                facts.push(category, counts, denominators, persons);
            },
        )?;
        // Grown by doubling; held for the life of the snapshot.
        facts.count_bits.shrink_to_fit();
        facts.denominator_bits.shrink_to_fit();
        facts.persons.shrink_to_fit();
        facts.category.shrink_to_fit();
        Ok((stamp, facts))
    }

    /// Bytes held on the heap.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.count_bits.capacity() * 4
            + self.denominator_bits.capacity() * 4
            + self.persons.capacity() * 2
            + self.category.capacity() * size_of::<Category>()
    }

    /// Households held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.category.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.category.is_empty()
    }

    /// Household `row`'s category.
    #[must_use]
    pub fn category(&self, row: usize) -> Category {
        self.category[row]
    }

    /// What household `row` adds to measure `m`: (count, denominator). Ledger
    /// measures belong to villages, so a household adds nothing to them.
    #[must_use]
    pub fn contribution(&self, row: usize, m: MeasureId) -> (u32, u32) {
        if let Some(slot) = m.person_slot() {
            let [c, d] = self.persons[row * self.person_count + slot];
            (u32::from(c), u32::from(d))
        } else {
            let bit = m.index();
            (
                (self.count_bits[row] >> bit) & 1,
                (self.denominator_bits[row] >> bit) & 1,
            )
        }
    }

    /// Whether household `row` fails measure `m` (adds to its count).
    #[must_use]
    pub fn fails(&self, row: usize, m: MeasureId) -> bool {
        self.contribution(row, m).0 > 0
    }

    /// The measures household `row` fails, in catalog order.
    pub fn failed(&self, row: usize) -> impl Iterator<Item = MeasureId> + '_ {
        MeasureId::ALL
            .iter()
            .copied()
            .filter(move |&m| self.fails(row, m))
    }

    /// The measures household `row` fails, as a bit set: bit [`MeasureId::index`]
    /// set for each (what [`Facts::failed`] lists), for grouping households by the
    /// set they fail without a list each.
    #[must_use]
    pub fn failed_bits(&self, row: usize) -> u32 {
        let mut bits = self.count_bits[row];
        let persons = &self.persons[row * self.person_count..(row + 1) * self.person_count];
        for (&index, [count, _]) in self.person_indices.iter().zip(persons) {
            if *count > 0 {
                bits |= 1 << index;
            }
        }
        bits
    }

    /// Adds household `row`'s count of every household and person measure to
    /// `counts` (indexed by [`MeasureId::index`]): one pass over the set bits, for
    /// sums over many households.
    pub fn add_counts(&self, row: usize, counts: &mut [i64]) {
        let mut bits = self.count_bits[row];
        while bits != 0 {
            counts[bits.trailing_zeros() as usize] += 1;
            bits &= bits - 1;
        }
        let persons = &self.persons[row * self.person_count..(row + 1) * self.person_count];
        for (&index, [count, _]) in self.person_indices.iter().zip(persons) {
            counts[index] += i64::from(*count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contributions_read_back_bits_and_person_counts() {
        let mut f = Facts::new();
        let any = 1 << MeasureId::AnyProblem.index();
        let dropout = 1 << MeasureId::Dropout.index();
        f.push(Category::Lifted, any, any | dropout, &[[2, 3]]);
        f.push(Category::Ordinary, 0, any, &[[0, 0]]);
        assert_eq!(f.len(), 2);
        assert_eq!(f.contribution(0, MeasureId::AnyProblem), (1, 1));
        assert_eq!(f.contribution(0, MeasureId::Dropout), (2, 3));
        assert_eq!(f.contribution(1, MeasureId::AnyProblem), (0, 1));
        assert_eq!(
            f.failed(0).collect::<Vec<_>>(),
            [MeasureId::AnyProblem, MeasureId::Dropout]
        );
        assert_eq!(f.failed(1).count(), 0);
        let mut counts = vec![0; MeasureId::ALL.len()];
        f.add_counts(0, &mut counts);
        assert_eq!(counts[MeasureId::AnyProblem.index()], 1);
        assert_eq!(counts[MeasureId::Dropout.index()], 2);
        assert_eq!(f.category(1), Category::Ordinary);
        assert_eq!(
            f.failed_bits(0),
            any | dropout,
            "a person measure counts once"
        );
        assert_eq!(f.failed_bits(1), 0);
    }
}
