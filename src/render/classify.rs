//! Class breaks for choropleth legends.
//!
//! A break belongs to the class above it: with breaks `[0.05, 0.10]`, the value
//! `0.05` is in class 1 and `0.10` in class 2, as in
//! [`crate::indicators::Catalog::class_of`], so that a map drawn from catalog
//! breaks and one drawn from computed breaks read the same way.

/// How class breaks are chosen from the values.
#[derive(Debug, Clone, PartialEq)]
pub enum Classing {
    /// Equal numbers of values per class; each break is a value of the data
    /// (the smallest of its class).
    Quantile,
    /// Classes of equal width between the smallest and the largest value.
    EqualInterval,
    /// Jenks natural breaks: the classes with the least total squared deviation
    /// from their means (Fisher's exact dynamic programme, O(k·n²) for n distinct
    /// values, meant for up to a few thousand areas); each break is a value of the
    /// data (the smallest of its class).
    NaturalBreaks,
    /// Breaks given by the caller (for example an indicator's catalog breaks),
    /// used whatever the data.
    Fixed(Vec<f64>),
}

/// The inner class breaks of `values`: at most `classes - 1`, ascending and
/// distinct.
///
/// Non-finite values (NaN, ±∞: no data) are ignored. There are fewer breaks when
/// the data has fewer distinct values than classes, and none for no values or a
/// single class. [`Classing::Fixed`] returns its own breaks (sorted, without
/// duplicates or non-finite ones) and ignores `classes`.
#[must_use]
pub fn breaks(values: &[f64], classing: &Classing, classes: usize) -> Vec<f64> {
    if let Classing::Fixed(fixed) = classing {
        let mut out: Vec<f64> = fixed
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v + 0.0)
            .collect();
        out.sort_by(f64::total_cmp);
        out.dedup();
        return out;
    }
    // Adding 0.0 makes -0.0 and 0.0 one value.
    let mut sorted: Vec<f64> = values
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| v + 0.0)
        .collect();
    if sorted.is_empty() || classes < 2 {
        return Vec::new();
    }
    sorted.sort_by(f64::total_cmp);
    match classing {
        Classing::Quantile => quantile(&sorted, classes),
        Classing::EqualInterval => equal_interval(&sorted, classes),
        Classing::NaturalBreaks => natural_breaks(&sorted, classes),
        Classing::Fixed(_) => Vec::new(),
    }
}

/// The class of `value`: the number of breaks at or below it (0 = lowest).
///
/// NaN has no class of its own and lands in class 0; callers show it as no data.
#[must_use]
pub fn class_of(value: f64, breaks: &[f64]) -> usize {
    breaks.partition_point(|b| *b <= value)
}

/// Breaks after every `n / classes`-th value, so that class sizes differ by at
/// most one when the values are distinct. A break equal to the minimum would
/// leave the lowest class empty (ties at the bottom), so such breaks are dropped.
fn quantile(sorted: &[f64], classes: usize) -> Vec<f64> {
    let n = sorted.len();
    let min = sorted[0];
    let mut out: Vec<f64> = (1..classes)
        .map(|i| sorted[(i * n / classes).min(n - 1)])
        .filter(|b| *b > min)
        .collect();
    out.dedup();
    out
}

/// With fewer distinct values than classes, the range is cut into as many classes
/// as there are distinct values, so that no break is made up out of nothing.
fn equal_interval(sorted: &[f64], classes: usize) -> Vec<f64> {
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    if max <= min {
        return Vec::new();
    }
    let k = classes.min(distinct(sorted).0.len());
    let width = (max - min) / k as f64;
    let mut out: Vec<f64> = (1..k).map(|i| min + width * i as f64).collect();
    out.dedup();
    out
}

/// The distinct values of a sorted slice and how often each occurs.
fn distinct(sorted: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut values: Vec<f64> = Vec::new();
    let mut counts: Vec<f64> = Vec::new();
    for &v in sorted {
        match values.last() {
            Some(last) if last.total_cmp(&v).is_eq() => {
                if let Some(c) = counts.last_mut() {
                    *c += 1.0;
                }
            }
            _ => {
                values.push(v);
                counts.push(1.0);
            }
        }
    }
    (values, counts)
}

/// Fisher's optimal partition of the distinct values, weighted by how often each
/// occurs. Working on distinct values keeps ties in one class (an optimal
/// partition never needs to split them) and makes every break a real value.
fn natural_breaks(sorted: &[f64], classes: usize) -> Vec<f64> {
    let (values, weights) = distinct(sorted);
    let m = values.len();
    let k = classes.min(m);
    if k < 2 {
        return Vec::new();
    }
    // Centring first keeps the sum-of-squares formula from cancelling away the
    // deviations when the values are large and close together.
    let total: f64 = weights.iter().sum();
    let mean = values.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total;
    let mut w_sum = vec![0.0; m + 1];
    let mut s1 = vec![0.0; m + 1];
    let mut s2 = vec![0.0; m + 1];
    for i in 0..m {
        let x = values[i] - mean;
        w_sum[i + 1] = w_sum[i] + weights[i];
        s1[i + 1] = s1[i] + weights[i] * x;
        s2[i + 1] = s2[i] + weights[i] * x * x;
    }
    // Squared deviation of the distinct values a..=b from their mean.
    let ssd = |a: usize, b: usize| {
        let w = w_sum[b + 1] - w_sum[a];
        let s = s1[b + 1] - s1[a];
        (s2[b + 1] - s2[a] - s * s / w).max(0.0)
    };
    // cost[j]: least deviation of values 0..=j in the classes placed so far;
    // start[c][j]: where the last of c + 1 classes over 0..=j begins.
    let mut cost: Vec<f64> = (0..m).map(|j| ssd(0, j)).collect();
    let mut start = vec![vec![0usize; m]; k];
    for (c, row) in start.iter_mut().enumerate().skip(1) {
        let mut next = vec![f64::INFINITY; m];
        for j in c..m {
            for i in c..=j {
                let candidate = cost[i - 1] + ssd(i, j);
                if candidate < next[j] {
                    next[j] = candidate;
                    row[j] = i;
                }
            }
        }
        cost = next;
    }
    let mut out = vec![0.0; k - 1];
    let mut j = m - 1;
    for c in (1..k).rev() {
        let i = start[c][j];
        out[c - 1] = values[i];
        j = i - 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn counts(values: &[f64], breaks: &[f64]) -> Vec<usize> {
        let mut out = vec![0; breaks.len() + 1];
        for v in values.iter().filter(|v| v.is_finite()) {
            out[class_of(*v, breaks)] += 1;
        }
        out
    }

    /// Total squared deviation from class means of a classification.
    fn total_ssd(values: &[f64], breaks: &[f64]) -> f64 {
        let mut groups = vec![Vec::new(); breaks.len() + 1];
        for v in values {
            groups[class_of(*v, breaks)].push(*v);
        }
        groups
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                let mean = g.iter().sum::<f64>() / g.len() as f64;
                g.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
            })
            .sum()
    }

    /// The least total squared deviation over every way to cut the sorted distinct
    /// values into `k` contiguous classes, by trying them all.
    fn brute_force_ssd(values: &[f64], k: usize) -> f64 {
        let mut d: Vec<f64> = values.to_vec();
        d.sort_by(f64::total_cmp);
        d.dedup();
        let m = d.len();
        let mut best = f64::INFINITY;
        // Each subset of k - 1 cut positions in 1..m is one partition.
        let mut cuts: Vec<usize> = (1..k).collect();
        loop {
            let b: Vec<f64> = cuts.iter().map(|&i| d[i]).collect();
            best = best.min(total_ssd(values, &b));
            // Advance to the next combination.
            let mut pos = cuts.len();
            loop {
                if pos == 0 {
                    return best;
                }
                pos -= 1;
                if cuts[pos] < m - (cuts.len() - pos) {
                    cuts[pos] += 1;
                    for q in pos + 1..cuts.len() {
                        cuts[q] = cuts[q - 1] + 1;
                    }
                    break;
                }
            }
        }
    }

    #[test]
    fn class_of_puts_a_break_in_the_upper_class() {
        let b = [0.05, 0.10, 0.20];
        assert_eq!(class_of(0.0, &b), 0);
        assert_eq!(class_of(0.049_999, &b), 0);
        assert_eq!(class_of(0.05, &b), 1);
        assert_eq!(class_of(0.10, &b), 2);
        assert_eq!(class_of(0.5, &b), 3);
        assert_eq!(class_of(f64::NAN, &b), 0);
        assert_eq!(class_of(3.0, &[]), 0);
    }

    #[test]
    fn jenks_textbook_dataset() {
        // The example of the jenkspy package's documentation: its upper bounds
        // 1.2 | 2.3 | 5.0 | 7.8 are the classes {1.2 1.3 2.3} {3.9 … 5.0} {7.1 … 7.8},
        // whose lowest values are the breaks here.
        let data = [1.3, 7.1, 7.3, 2.3, 3.9, 4.1, 7.8, 1.2, 4.3, 7.3, 5.0, 4.3];
        let b = breaks(&data, &Classing::NaturalBreaks, 3);
        assert_eq!(b, vec![3.9, 7.1]);
        assert_eq!(counts(&data, &b), vec![3, 5, 4]);
    }

    #[test]
    fn jenks_separates_obvious_clusters() {
        let data = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 30.0, 31.0, 32.0, f64::NAN];
        assert_eq!(breaks(&data, &Classing::NaturalBreaks, 3), vec![10.0, 30.0]);
    }

    #[test]
    fn jenks_is_optimal_against_brute_force() {
        // A fixed pseudo-random sequence (64-bit LCG) of skewed values with ties.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for round in 0..30 {
            let n = 6 + round % 12;
            let values: Vec<f64> = (0..n)
                .map(|_| ((next().powi(2) * 50.0).round()) / 100.0)
                .collect();
            for k in 2..=5 {
                let b = breaks(&values, &Classing::NaturalBreaks, k);
                let mut d = values.clone();
                d.sort_by(f64::total_cmp);
                d.dedup();
                assert_eq!(b.len(), (k.min(d.len())) - 1, "{values:?} k={k}");
                assert!(b.windows(2).all(|w| w[0] < w[1]));
                if d.len() >= k {
                    let best = brute_force_ssd(&values, k);
                    let got = total_ssd(&values, &b);
                    assert!(
                        (got - best).abs() < 1e-9,
                        "{values:?} k={k}: {got} vs {best}"
                    );
                }
            }
        }
    }

    #[test]
    fn jenks_with_fewer_distinct_values_than_classes() {
        let data = [2.0, 2.0, 5.0, 5.0, 5.0, 9.0];
        assert_eq!(breaks(&data, &Classing::NaturalBreaks, 5), vec![5.0, 9.0]);
        assert!(breaks(&[4.0, 4.0], &Classing::NaturalBreaks, 5).is_empty());
    }

    #[test]
    fn quantile_counts_are_equal() {
        let data: Vec<f64> = (1..=10).map(f64::from).collect();
        let b = breaks(&data, &Classing::Quantile, 5);
        assert_eq!(b, vec![3.0, 5.0, 7.0, 9.0]);
        assert_eq!(counts(&data, &b), vec![2, 2, 2, 2, 2]);

        // Order and NaN do not matter.
        let data = [9.0, 1.0, f64::NAN, 5.0, 3.0, 8.0, 2.0, 7.0, 4.0, 6.0];
        let b = breaks(&data, &Classing::Quantile, 3);
        assert_eq!(b, vec![4.0, 7.0]);
        assert_eq!(counts(&data, &b), vec![3, 3, 3]);

        let data: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.1).collect();
        assert_eq!(
            counts(&data, &breaks(&data, &Classing::Quantile, 4)),
            vec![3; 4]
        );
    }

    #[test]
    fn quantile_ties_merge_classes() {
        let data = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0];
        let b = breaks(&data, &Classing::Quantile, 5);
        assert_eq!(b, vec![1.0, 3.0]);
        assert_eq!(counts(&data, &b), vec![6, 2, 2]);
        assert!(breaks(&[3.0; 4], &Classing::Quantile, 4).is_empty());
    }

    #[test]
    fn equal_intervals() {
        let data = [0.0, 3.0, 10.0, 7.5, f64::NAN, f64::INFINITY];
        assert_eq!(
            breaks(&data, &Classing::EqualInterval, 4),
            vec![2.5, 5.0, 7.5]
        );
        assert_eq!(counts(&data[..4], &[2.5, 5.0, 7.5]), vec![1, 1, 0, 2]);
        // Two distinct values make two classes, not five.
        assert_eq!(breaks(&[0.0, 10.0], &Classing::EqualInterval, 5), vec![5.0]);
        assert!(breaks(&[1.0, 1.0], &Classing::EqualInterval, 5).is_empty());
    }

    #[test]
    fn fixed_breaks_ignore_the_data() {
        let fixed = Classing::Fixed(vec![0.2, 0.05, f64::NAN, 0.1, 0.1]);
        assert_eq!(breaks(&[], &fixed, 9), vec![0.05, 0.1, 0.2]);
    }

    #[test]
    fn nothing_to_classify() {
        assert!(breaks(&[], &Classing::Quantile, 5).is_empty());
        assert!(breaks(&[f64::NAN], &Classing::NaturalBreaks, 5).is_empty());
        assert!(breaks(&[1.0, 2.0], &Classing::EqualInterval, 1).is_empty());
        assert!(breaks(&[1.0, 2.0], &Classing::Quantile, 0).is_empty());
    }
}
