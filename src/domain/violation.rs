//! A field violation: one thing wrong with what a person sent, named by where it is.
//!
//! The API's parameter errors, the planner's request checks, the ledger's rules and
//! the importers' row checks all speak this one type, so that a client reads every
//! refusal the same way and nothing is translated between modules on the way out.

use serde::{Deserialize, Serialize};

/// One thing wrong with a request, a rule or a row of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldViolation {
    /// Where: the parameter as the client sent it (`townships[1]`, `deadline`), or a
    /// file's place (`row 4, 状态`).
    pub field: String,
    /// Why it was refused, in a sentence that never holds personal data.
    pub reason: String,
}

impl FieldViolation {
    /// A violation of the named field.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A violation in a file's cell: `row` is 1-based as a spreadsheet shows it, and
    /// `column` its header (empty: the row as a whole; row 0: the file as a whole).
    pub fn at_cell(row: usize, column: &str, reason: impl Into<String>) -> Self {
        let field = match (row, column.is_empty()) {
            (0, _) => "file".to_owned(),
            (_, true) => format!("row {row}"),
            (_, false) => format!("row {row}, {column}"),
        };
        Self::new(field, reason)
    }

    /// The same violation, its field placed inside `outer` (`item 3 (data row 1), …`).
    #[must_use]
    pub fn within(self, outer: &str) -> Self {
        Self {
            field: format!("{outer}, {}", self.field),
            reason: self.reason,
        }
    }
}

/// Collects violations, so that a check names every problem at once instead of the
/// first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violation yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldViolation::new(field, reason));
    }

    /// The value of `r`, or, recording its violation, the type's default: for
    /// parsing one parameter after another and naming every bad one at the end.
    pub fn take<T: Default>(&mut self, r: Result<T, FieldViolation>) -> T {
        r.unwrap_or_else(|e| {
            self.0.push(e);
            T::default()
        })
    }

    /// Adds several.
    pub fn extend(&mut self, more: impl IntoIterator<Item = FieldViolation>) {
        self.0.extend(more);
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when there is none, else every violation.
    ///
    /// # Errors
    /// The violations collected.
    pub fn into_result<T>(self, value: T) -> Result<T, Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    /// The violations collected.
    #[must_use]
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_named_as_a_spreadsheet_shows_them() {
        assert_eq!(FieldViolation::at_cell(4, "状态", "x").field, "row 4, 状态");
        assert_eq!(FieldViolation::at_cell(4, "", "x").field, "row 4");
        assert_eq!(FieldViolation::at_cell(0, "", "x").field, "file");
        assert_eq!(
            FieldViolation::new("deadline", "x")
                .within("item 3 (data row 1)")
                .field,
            "item 3 (data row 1), deadline"
        );
    }

    #[test]
    fn violations_collect_until_asked() {
        let mut v = Violations::new();
        assert_eq!(v.clone().into_result(1), Ok(1));
        v.add("a", "b");
        assert_eq!(v.into_result(1).unwrap_err().len(), 1);
    }
}
