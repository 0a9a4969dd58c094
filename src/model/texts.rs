//! A column of short strings held end to end in one buffer.

use std::ops::Index;

/// Strings held end to end: household numbers of 10 million households take some
/// 28 bytes each this way, against 56 as one `String` apiece (BENCHMARKS.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    text: String,
    /// Where each string ends in `text`.
    ends: Vec<usize>,
}

impl Texts {
    /// Appends a string.
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    /// Strings held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// String `i`, if there is one.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// Every string, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Bytes held on the heap.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * size_of::<usize>()
    }

    /// Gives back capacity not used.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

impl Index<usize> for Texts {
    type Output = str;

    /// # Panics
    /// If `i` is out of bounds, as a slice's index does.
    fn index(&self, i: usize) -> &str {
        let end = self.ends[i];
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..end]
    }
}

impl<S: AsRef<str>> FromIterator<S> for Texts {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut texts = Self::default();
        for s in iter {
            texts.push(s.as_ref());
        }
        texts.shrink_to_fit();
        texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_in_order_empty_ones_included() {
        let texts: Texts = ["210422001", "", "多字节", "x"].into_iter().collect();
        assert_eq!(texts.len(), 4);
        assert_eq!(&texts[0], "210422001");
        assert_eq!(&texts[1], "");
        assert_eq!(&texts[2], "多字节");
        assert_eq!(texts.get(3), Some("x"));
        assert_eq!(texts.get(4), None);
        assert_eq!(
            texts.iter().collect::<Vec<_>>(),
            ["210422001", "", "多字节", "x"]
        );
        assert!(Texts::default().is_empty());
    }
}
