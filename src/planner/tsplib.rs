//! Reader for symmetric TSPLIB instances with `EDGE_WEIGHT_TYPE: EUC_2D`.
//!
//! TSPLIB (Reinelt 1991) is the reference benchmark set for the travelling salesman
//! problem; the route planner's solver is measured against its proven optima. Only the
//! subset needed for that is read: a header of `KEY : VALUE` lines, a
//! `NODE_COORD_SECTION` of `id x y` lines and an optional `EOF`. Other sections (such as
//! `DISPLAY_DATA_SECTION`) are skipped, unknown header keys are ignored, and anything that
//! would change the meaning of the coordinates (another `TYPE` or `EDGE_WEIGHT_TYPE`) is
//! rejected rather than guessed at.
//!
//! Distances follow the TSPLIB definition for `EUC_2D`: the Euclidean distance rounded to
//! the nearest integer, so tour lengths compare exactly with the published optima.

use thiserror::Error;

/// A parsed `EUC_2D` instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The `NAME` header, or an empty string when the file has none.
    pub name: String,
    /// Node coordinates; node `i` here is TSPLIB node `i + 1`.
    pub points: Vec<[f64; 2]>,
}

/// Why a TSPLIB text could not be read. Line numbers count from 1.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum TsplibError {
    /// The `TYPE` header names a problem other than the symmetric TSP.
    #[error("line {line}: unsupported TYPE `{found}` (only TSP is supported)")]
    UnsupportedType {
        /// Line of the `TYPE` header.
        line: usize,
        /// The value found.
        found: String,
    },
    /// The `EDGE_WEIGHT_TYPE` header names a metric other than `EUC_2D`.
    #[error("line {line}: unsupported EDGE_WEIGHT_TYPE `{found}` (only EUC_2D is supported)")]
    UnsupportedEdgeWeightType {
        /// Line of the `EDGE_WEIGHT_TYPE` header.
        line: usize,
        /// The value found.
        found: String,
    },
    /// A number could not be parsed, or a coordinate is not finite.
    #[error("line {line}: bad number `{text}` for {what}")]
    BadNumber {
        /// Line of the offending text.
        line: usize,
        /// Which value was expected (`DIMENSION`, `node id`, `x coordinate`, ...).
        what: &'static str,
        /// The text that failed to parse.
        text: String,
    },
    /// A line in `NODE_COORD_SECTION` does not have exactly three fields.
    #[error("line {line}: expected `id x y` in NODE_COORD_SECTION, found {found} field(s)")]
    BadNodeLine {
        /// Line of the malformed node.
        line: usize,
        /// Number of whitespace-separated fields on it.
        found: usize,
    },
    /// Numeric data appears outside any section.
    #[error("line {line}: data outside any section (missing NODE_COORD_SECTION?)")]
    UnexpectedData {
        /// Line of the stray data.
        line: usize,
    },
    /// A node id is 0 or larger than `DIMENSION`.
    #[error("line {line}: node id {id} is outside 1..={dimension} given by DIMENSION")]
    NodeIdOutOfRange {
        /// Line of the node.
        line: usize,
        /// The id found.
        id: usize,
        /// The declared `DIMENSION`.
        dimension: usize,
    },
    /// The same node id appears twice.
    #[error("line {line}: node {id} was already given on line {first}")]
    DuplicateNode {
        /// Line of the second occurrence.
        line: usize,
        /// The repeated id.
        id: usize,
        /// Line of the first occurrence.
        first: usize,
    },
    /// `NODE_COORD_SECTION` lists fewer nodes than `DIMENSION` declares.
    #[error("line {line}: DIMENSION is {declared} but NODE_COORD_SECTION lists {found} node(s)")]
    DimensionMismatch {
        /// Line of the `DIMENSION` header.
        line: usize,
        /// The declared `DIMENSION`.
        declared: usize,
        /// Number of nodes actually listed.
        found: usize,
    },
    /// A required header or section never appears.
    #[error("line {line}: input ends without {what}")]
    Missing {
        /// Last line of the input.
        line: usize,
        /// What is missing (`DIMENSION`, `EDGE_WEIGHT_TYPE` or `NODE_COORD_SECTION`).
        what: &'static str,
    },
}

/// Where the reader is: data lines mean different things in each place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    NodeCoords,
    /// A section this reader does not use; its data lines are skipped.
    Other,
}

/// Parses a TSPLIB `EUC_2D` instance.
///
/// # Errors
///
/// Returns a [`TsplibError`] naming the line and the problem when the text is not a
/// well-formed `TYPE: TSP`, `EDGE_WEIGHT_TYPE: EUC_2D` instance whose
/// `NODE_COORD_SECTION` lists each node `1..=DIMENSION` exactly once.
pub fn parse(text: &str) -> Result<Instance, TsplibError> {
    let mut name = String::new();
    let mut dimension: Option<(usize, usize)> = None; // (value, line)
    let mut saw_weight_type = false;
    let mut saw_coords = false;
    let mut section = Section::Header;
    // (line, id, point) in file order; checked against DIMENSION at the end because
    // nothing in the format forbids DIMENSION from following the section.
    let mut nodes: Vec<(usize, usize, [f64; 2])> = Vec::new();
    let mut last_line = 0;

    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        last_line = line;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let (key, value) = match trimmed.split_once(':') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (trimmed, ""),
            };
            let key = key.to_ascii_uppercase();
            match key.as_str() {
                "EOF" => break,
                "NAME" => value.clone_into(&mut name),
                "TYPE" if !value.eq_ignore_ascii_case("TSP") => {
                    return Err(TsplibError::UnsupportedType {
                        line,
                        found: value.to_owned(),
                    });
                }
                "DIMENSION" => {
                    let n = value.parse().map_err(|_| TsplibError::BadNumber {
                        line,
                        what: "DIMENSION",
                        text: value.to_owned(),
                    })?;
                    dimension = Some((n, line));
                }
                "EDGE_WEIGHT_TYPE" => {
                    if !value.eq_ignore_ascii_case("EUC_2D") {
                        return Err(TsplibError::UnsupportedEdgeWeightType {
                            line,
                            found: value.to_owned(),
                        });
                    }
                    saw_weight_type = true;
                }
                "NODE_COORD_SECTION" => {
                    saw_coords = true;
                    section = Section::NodeCoords;
                }
                k if k.ends_with("_SECTION") => section = Section::Other,
                _ => {}
            }
            continue;
        }
        match section {
            Section::Header => return Err(TsplibError::UnexpectedData { line }),
            Section::Other => {}
            Section::NodeCoords => nodes.push(parse_node(line, trimmed)?),
        }
    }

    let missing = |what| TsplibError::Missing {
        line: last_line,
        what,
    };
    let (dimension, dimension_line) = dimension.ok_or_else(|| missing("DIMENSION"))?;
    if !saw_weight_type {
        return Err(missing("EDGE_WEIGHT_TYPE"));
    }
    if !saw_coords {
        return Err(missing("NODE_COORD_SECTION"));
    }

    let mut points = vec![[0.0; 2]; dimension];
    let mut first_line: Vec<Option<usize>> = vec![None; dimension];
    for &(line, id, point) in &nodes {
        if id == 0 || id > dimension {
            return Err(TsplibError::NodeIdOutOfRange {
                line,
                id,
                dimension,
            });
        }
        if let Some(first) = first_line[id - 1] {
            return Err(TsplibError::DuplicateNode { line, id, first });
        }
        first_line[id - 1] = Some(line);
        points[id - 1] = point;
    }
    // Ids are in range and distinct, so a short count is the only remaining mismatch.
    if nodes.len() != dimension {
        return Err(TsplibError::DimensionMismatch {
            line: dimension_line,
            declared: dimension,
            found: nodes.len(),
        });
    }
    Ok(Instance { name, points })
}

/// Reads one `id x y` line of `NODE_COORD_SECTION`.
fn parse_node(line: usize, text: &str) -> Result<(usize, usize, [f64; 2]), TsplibError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let &[id, x, y] = fields.as_slice() else {
        return Err(TsplibError::BadNodeLine {
            line,
            found: fields.len(),
        });
    };
    let id = id.parse().map_err(|_| TsplibError::BadNumber {
        line,
        what: "node id",
        text: id.to_owned(),
    })?;
    let coord = |text: &str, what| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| TsplibError::BadNumber {
                line,
                what,
                text: text.to_owned(),
            })
    };
    Ok((
        line,
        id,
        [coord(x, "x coordinate")?, coord(y, "y coordinate")?],
    ))
}

/// TSPLIB's `EUC_2D` distance: the Euclidean distance rounded to the nearest integer.
#[must_use]
pub fn euc_2d(a: [f64; 2], b: [f64; 2]) -> i64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    // sqrt of the sum rather than hypot: this is the reference formula, and the
    // correctly rounded sqrt keeps integer inputs on the same side of every .5 boundary.
    ((dx * dx + dy * dy).sqrt() + 0.5).floor() as i64
}

/// Length of the closed tour visiting `tour` in order, under `EUC_2D` rounding.
///
/// An empty or single-node tour has length 0.
///
/// # Panics
///
/// Panics if `tour` contains an index outside `inst.points`.
#[must_use]
pub fn tour_length(inst: &Instance, tour: &[usize]) -> i64 {
    let Some(&last) = tour.last() else {
        return 0;
    };
    let mut prev = last;
    let mut total = 0;
    for &node in tour {
        total += euc_2d(inst.points[prev], inst.points[node]);
        prev = node;
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    const SMALL: &str = "NAME : square
COMMENT : four corners
TYPE : TSP
DIMENSION: 4
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 3 0
3 3.0 4.0e0
4 0 4
EOF
";

    #[test]
    fn parses_header_and_coordinates() {
        let inst = parse(SMALL).unwrap();
        assert_eq!(inst.name, "square");
        assert_eq!(
            inst.points,
            vec![[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [0.0, 4.0]]
        );
        assert_eq!(tour_length(&inst, &[0, 1, 2, 3]), 14);
        assert_eq!(tour_length(&inst, &[0, 2, 1, 3]), 18);
    }

    #[test]
    fn accepts_unordered_ids_missing_eof_and_other_sections() {
        let text = "NAME: x\nTYPE: TSP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE: EUC_2D\n\
                    NODE_COORD_SECTION\n2 1.5 2.5\n1 0 0\nDISPLAY_DATA_SECTION\n1 9 9\n2 8 8\n";
        let inst = parse(text).unwrap();
        assert_eq!(inst.points, vec![[0.0, 0.0], [1.5, 2.5]]);
    }

    #[test]
    fn euc_2d_rounds_like_tsplib() {
        assert_eq!(euc_2d([0.0, 0.0], [3.0, 4.0]), 5);
        assert_eq!(euc_2d([0.0, 0.0], [1.0, 1.0]), 1); // 1.414
        assert_eq!(euc_2d([0.0, 0.0], [0.5, 0.0]), 1); // .5 rounds up
        assert_eq!(euc_2d([0.0, 0.0], [1.0, 2.0]), 2); // 2.236
        assert_eq!(euc_2d([0.0, 0.0], [2.0, 2.0]), 3); // 2.828
        assert_eq!(euc_2d([1.0, 1.0], [1.0, 1.0]), 0);
    }

    #[test]
    fn tour_length_of_tiny_tours() {
        let inst = parse(SMALL).unwrap();
        assert_eq!(tour_length(&inst, &[]), 0);
        assert_eq!(tour_length(&inst, &[2]), 0);
        assert_eq!(tour_length(&inst, &[0, 2]), 10);
    }

    /// Replaces `from` (which must occur in `SMALL`) and parses the result.
    fn parse_with(from: &str, to: &str) -> TsplibError {
        assert!(SMALL.contains(from), "{from}");
        parse(&SMALL.replacen(from, to, 1)).unwrap_err()
    }

    #[test]
    fn rejects_other_edge_weight_types() {
        let err = parse_with("EUC_2D", "GEO");
        assert_eq!(
            err,
            TsplibError::UnsupportedEdgeWeightType {
                line: 5,
                found: "GEO".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "line 5: unsupported EDGE_WEIGHT_TYPE `GEO` (only EUC_2D is supported)"
        );
    }

    #[test]
    fn rejects_other_problem_types() {
        let err = parse_with("TYPE : TSP", "TYPE : ATSP");
        assert_eq!(
            err,
            TsplibError::UnsupportedType {
                line: 3,
                found: "ATSP".into()
            }
        );
    }

    #[test]
    fn reports_bad_numbers_with_line() {
        let err = parse_with("3 3.0 4.0e0", "3 3.0 four");
        assert_eq!(
            err,
            TsplibError::BadNumber {
                line: 9,
                what: "y coordinate",
                text: "four".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "line 9: bad number `four` for y coordinate"
        );
        let err = parse_with("2 3 0", "2 NaN 0");
        assert!(
            matches!(err, TsplibError::BadNumber { line: 8, .. }),
            "{err}"
        );
        let err = parse_with("2 3 0", "2.5 3 0");
        assert!(
            matches!(
                err,
                TsplibError::BadNumber {
                    line: 8,
                    what: "node id",
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_with("DIMENSION: 4", "DIMENSION: four");
        assert!(
            matches!(
                err,
                TsplibError::BadNumber {
                    line: 4,
                    what: "DIMENSION",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn reports_malformed_node_lines() {
        let err = parse_with("2 3 0", "2 3 0 7");
        assert_eq!(err, TsplibError::BadNodeLine { line: 8, found: 4 });
    }

    #[test]
    fn reports_dimension_mismatch() {
        let err = parse_with("DIMENSION: 4", "DIMENSION: 5");
        assert_eq!(
            err,
            TsplibError::DimensionMismatch {
                line: 4,
                declared: 5,
                found: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "line 4: DIMENSION is 5 but NODE_COORD_SECTION lists 4 node(s)"
        );
        let err = parse_with("DIMENSION: 4", "DIMENSION: 3");
        assert_eq!(
            err,
            TsplibError::NodeIdOutOfRange {
                line: 10,
                id: 4,
                dimension: 3
            }
        );
        let err = parse_with("4 0 4", "2 0 4");
        assert_eq!(
            err,
            TsplibError::DuplicateNode {
                line: 10,
                id: 2,
                first: 8
            }
        );
    }

    #[test]
    fn reports_missing_parts() {
        let err = parse_with("NODE_COORD_SECTION\n1 0 0\n2 3 0\n3 3.0 4.0e0\n4 0 4\n", "");
        assert_eq!(
            err,
            TsplibError::Missing {
                line: 6,
                what: "NODE_COORD_SECTION"
            }
        );
        assert_eq!(
            err.to_string(),
            "line 6: input ends without NODE_COORD_SECTION"
        );
        let err = parse_with("DIMENSION: 4\n", "");
        assert!(
            matches!(
                err,
                TsplibError::Missing {
                    what: "DIMENSION",
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_with("EDGE_WEIGHT_TYPE : EUC_2D\n", "");
        assert!(
            matches!(
                err,
                TsplibError::Missing {
                    what: "EDGE_WEIGHT_TYPE",
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_with("NODE_COORD_SECTION\n", "");
        assert_eq!(err, TsplibError::UnexpectedData { line: 6 });
    }
}
