//! Boundaries from the land survey (三调) or any GIS file, for the divisions already
//! stored: each feature is reprojected to WGS-84, matched to a division by its code (a
//! 12-digit village code, the first 12 digits of a 19-digit 坐落单位代码 ZLDWDM, a 9- or
//! 6-digit code for townships and counties) or by its name, the parts of one division
//! dissolved into one multipolygon, self-intersections repaired, and the result checked
//! against the other divisions: what has no boundary, what lies outside its parent, and
//! the gaps and overlaps between neighbours.

use std::collections::{BTreeMap, HashMap};

use geo::line_intersection::LineIntersection;
use geo::orient::{Direction, Orient};
use geo::sweep::{Cross, Intersections};
use geo::{BooleanOps, BoundingRect, Intersects, Line, MultiPolygon, Validation, unary_union};

use super::{Count, Problem, Report, Severity};
use crate::domain::{AreaLevel, AreaRecord, short_name};
use crate::formats::vector::{CrsHint, VectorLayer};
use crate::spatial::{self, crs::Crs};
use crate::store::imports::{KeptFeature, NewBoundary};

/// Attribute names that hold a division's code, tried in order (case does not matter).
pub const CODE_FIELDS: &[&str] = &[
    "ZLDWDM",
    "XZQDM",
    "CJDM",
    "CODE",
    "ADCODE",
    "村代码",
    "行政区划代码",
    "区划代码",
    "代码",
];

/// Attribute names that hold a division's name, tried in order.
pub const NAME_FIELDS: &[&str] = &["ZLDWMC", "XZQMC", "CJMC", "NAME", "村名称", "村名", "名称"];

/// A repair that changes an area by more than this share is refused, not applied.
const MAX_REPAIR_CHANGE: f64 = 0.01;

/// Gaps and overlaps below this are the rounding of the survey's own coordinates.
const MIN_REPORTED_KM2: f64 = 1e-4;

/// What the import is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The level the file's features are.
    pub level: AreaLevel,
    /// The coordinate system, when the file does not say or says it wrong.
    pub crs: Option<Crs>,
    /// The attribute holding the code, instead of [`CODE_FIELDS`].
    pub code_field: Option<String>,
    /// The attribute holding the name, instead of [`NAME_FIELDS`].
    pub name_field: Option<String>,
}

/// A village whose registered households mostly lie outside its new boundary is
/// reported: the boundary, the registration or the positions are wrong.
const MOST_OUTSIDE: f64 = 0.5;

/// Fewer located households than this say nothing about a boundary.
const MIN_LOCATED: usize = 5;

/// Villages whose registered households' positions mostly fall outside their new
/// boundary, with how many of how many.
fn households_outside(
    reading: &mut Reading<'_>,
    boundaries: &[NewBoundary],
    positions: &HashMap<String, Vec<(f64, f64)>>,
    source: &str,
) -> usize {
    use geo::Contains;
    let mut villages = 0;
    for b in boundaries {
        let Some(points) = positions.get(&b.code) else {
            continue;
        };
        if points.len() < MIN_LOCATED {
            continue;
        }
        let Some(bbox) = b.geometry.bounding_rect() else {
            continue;
        };
        let outside = points
            .iter()
            .filter(|&&(lon, lat)| {
                let p = geo::Point::new(lon, lat);
                !(bbox.contains(&p) && b.geometry.contains(&p))
            })
            .count();
        if outside as f64 > points.len() as f64 * MOST_OUTSIDE {
            villages += 1;
            reading.problem(
                Severity::Warning,
                (source, None),
                None,
                Some(&b.code),
                format!(
                    "{} 登记的 {} 户定位中有 {outside} 户（{:.0}%）在新边界之外：请核对边界、户籍登记或定位",
                    b.code,
                    points.len(),
                    outside as f64 / points.len() as f64 * 100.0
                ),
            );
        }
    }
    villages
}

/// What is stored that an import is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// Every area with its boundary.
    pub areas: &'a [AreaRecord],
    /// Each village's household positions (WGS-84), by village code.
    pub positions: &'a HashMap<String, Vec<(f64, f64)>>,
}

/// What a commit would write, and the report that says so.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The report of the dry run.
    pub report: Report,
    /// A new boundary for each matched division.
    pub boundaries: Vec<NewBoundary>,
    /// Every feature applied, with all its attributes as they came, to be kept.
    pub kept: Vec<KeptFeature>,
}

/// A division's code from an attribute value: its digits, cut to the level's length (a
/// 19-digit ZLDWDM starts with the village's 12).
fn code_of(value: &str, level: AreaLevel) -> Option<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let want = level.code_len();
    (digits.len() >= want && digits.len() == value.trim().len()).then(|| digits[..want].to_owned())
}

/// The index of the first of `wanted` among `fields`, case-insensitively.
fn field_index(fields: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| fields.iter().position(|f| f.trim().eq_ignore_ascii_case(w)))
}

/// The layer's coordinate system and how it was known, or the problem that stops it.
fn layer_crs(layer: &VectorLayer, options: &Options) -> Result<(Crs, String), String> {
    if let Some(crs) = &options.crs {
        return Ok((crs.clone(), format!("{}（按参数）", crs.describe_zh())));
    }
    let declared = match &layer.crs {
        CrsHint::Epsg(code) => Some(Crs::from_epsg(*code).map_err(|e| e.to_string())),
        CrsHint::Wkt(wkt) => Some(Crs::from_wkt(wkt).map_err(|e| e.to_string())),
        CrsHint::None => None,
    };
    match declared {
        Some(Ok(crs)) => {
            let said = format!("{}（文件声明）", crs.describe_zh());
            Ok((crs, said))
        }
        Some(Err(e)) => Err(format!(
            "无法识别文件声明的坐标系（{e}），请用 --crs 指定，如 EPSG:4490 或 EPSG:4528"
        )),
        None => {
            let (xs, ys): (Vec<f64>, Vec<f64>) = layer
                .features
                .iter()
                .filter_map(|f| f.geometry.as_ref().ok())
                .flat_map(|g| g.0.iter().flat_map(|p| p.exterior().0.iter().take(4)))
                .take(200)
                .map(|c| (c.x, c.y))
                .unzip();
            Crs::infer(&xs, &ys)
                .map(|crs| {
                    let said = format!("{}（文件未声明坐标系，按坐标数值推断）", crs.describe_zh());
                    (crs, said)
                })
                .ok_or_else(|| {
                    "文件未声明坐标系，坐标数值也无法判断（投影坐标不带带号）；请用 --crs 指定，如 EPSG:4528"
                        .to_owned()
                })
        }
    }
}

/// One feature matched to a division.
struct Part {
    code: String,
    geometry: MultiPolygon<f64>,
    kept: KeptFeature,
}

/// The state of one import while it is read.
struct Reading<'a> {
    options: &'a Options,
    /// Divisions of the level by code.
    divisions: BTreeMap<&'a str, &'a AreaRecord>,
    /// Divisions of the level by short name: their codes.
    by_name: HashMap<String, Vec<&'a str>>,
    problems: Vec<Problem>,
    parts: Vec<Part>,
    features: usize,
    repaired: usize,
    by_name_matches: usize,
}

impl Reading<'_> {
    fn problem(
        &mut self,
        severity: Severity,
        at: (&str, Option<usize>),
        column: Option<&str>,
        value: Option<&str>,
        reason: String,
    ) {
        self.problems.push(Problem {
            severity,
            file: at.0.to_owned(),
            row: at.1,
            column: column.map(str::to_owned),
            value: value.map(str::to_owned),
            reason,
        });
    }

    /// The division a feature names, by code first, else by name (within the township a
    /// code names, if any).
    fn matched(
        &mut self,
        layer: &VectorLayer,
        values: &[Option<String>],
        row: usize,
        (code_at, name_at): (Option<usize>, Option<usize>),
    ) -> Option<String> {
        let level = self.options.level;
        let file = layer.source.as_str();
        let code_value = code_at.and_then(|i| values.get(i).cloned().flatten());
        let name_value = name_at.and_then(|i| values.get(i).cloned().flatten());
        if let (Some(i), Some(v)) = (code_at, &code_value) {
            match code_of(v, level) {
                Some(code) if self.divisions.contains_key(code.as_str()) => return Some(code),
                Some(code) if name_value.is_none() => {
                    self.problem(
                        Severity::Warning,
                        (file, Some(row)),
                        Some(&layer.fields[i]),
                        Some(v),
                        format!("代码 {code} 不是已有的{}，该要素不导入", level.label_zh()),
                    );
                    return None;
                }
                None if name_value.is_none() => {
                    self.problem(
                        Severity::Warning,
                        (file, Some(row)),
                        Some(&layer.fields[i]),
                        Some(v),
                        format!(
                            "不是{}位{}代码，该要素不导入",
                            level.code_len(),
                            level.label_zh()
                        ),
                    );
                    return None;
                }
                _ => {}
            }
        }
        let (Some(i), Some(name)) = (name_at, name_value) else {
            self.problem(
                Severity::Warning,
                (file, Some(row)),
                None,
                None,
                "没有可用的代码或名称，该要素不导入".into(),
            );
            return None;
        };
        // Within the township (or county) the code's first digits name, if it has any.
        let within = code_value
            .as_deref()
            .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|d| d.len() >= 9)
            .map(|d| d[..if level == AreaLevel::Township { 6 } else { 9 }].to_owned());
        let candidates: Vec<&str> = self
            .by_name
            .get(&short_name(&name))
            .map(|codes| {
                codes
                    .iter()
                    .copied()
                    .filter(|c| within.as_deref().is_none_or(|w| c.starts_with(w)))
                    .collect()
            })
            .unwrap_or_default();
        let column = layer.fields[i].clone();
        match candidates.as_slice() {
            [code] => {
                self.by_name_matches += 1;
                self.problem(
                    Severity::Warning,
                    (file, Some(row)),
                    Some(&column),
                    Some(&name),
                    format!("按名称匹配到 {code}（没有可用的代码）"),
                );
                Some((*code).to_owned())
            }
            [] => {
                self.problem(
                    Severity::Warning,
                    (file, Some(row)),
                    Some(&column),
                    Some(&name),
                    format!("没有名为“{name}”的{}，该要素不导入", level.label_zh()),
                );
                None
            }
            several => {
                self.problem(
                    Severity::Error,
                    (file, Some(row)),
                    Some(&column),
                    Some(&name),
                    format!(
                        "有 {} 个{}同名（{}），需要代码才能区分",
                        several.len(),
                        level.label_zh(),
                        several.join("、")
                    ),
                );
                None
            }
        }
    }

    /// The feature's geometry, valid, or the problem that refuses it.
    fn valid(
        &mut self,
        at: (&str, usize),
        mut geometry: MultiPolygon<f64>,
    ) -> Option<MultiPolygon<f64>> {
        // geo's validation compares every pair of edges: a sweep finds the common case,
        // a simple boundary, in n log n, and the full check runs only on what it flags.
        if is_simple(&geometry) || geometry.is_valid() {
            return Some(geometry);
        }
        let why = geometry
            .check_validation()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let before = spatial::area_km2(&geometry);
        geometry = unary_union(geometry.0.iter());
        let after = spatial::area_km2(&geometry);
        let change = if before > 0.0 {
            (after - before).abs() / before
        } else {
            1.0
        };
        if geometry.is_valid() && !geometry.0.is_empty() && change <= MAX_REPAIR_CHANGE {
            self.repaired += 1;
            self.problem(
                Severity::Warning,
                (at.0, Some(at.1)),
                None,
                None,
                format!(
                    "边界无效（{why}），已自动修复，面积变化 {:.3}%",
                    change * 100.0
                ),
            );
            Some(geometry)
        } else {
            self.problem(Severity::Error, (at.0, Some(at.1)), None, None,
                format!("边界无效（{why}），无法自动修复（修复后面积变化 {:.1}%），请在 GIS 中修正后再导入", change * 100.0));
            None
        }
    }

    fn read_layer(&mut self, layer: &VectorLayer) -> Result<String, ()> {
        let file = layer.source.as_str();
        let (crs, said) = match layer_crs(layer, self.options) {
            Ok(found) => found,
            Err(reason) => {
                self.problem(Severity::Error, (file, None), None, None, reason);
                return Err(());
            }
        };
        let code_at = match &self.options.code_field {
            Some(f) => field_index(&layer.fields, &[f.as_str()]),
            None => field_index(&layer.fields, CODE_FIELDS),
        };
        let name_at = match &self.options.name_field {
            Some(f) => field_index(&layer.fields, &[f.as_str()]),
            None => field_index(&layer.fields, NAME_FIELDS),
        };
        if code_at.is_none() && name_at.is_none() {
            self.problem(Severity::Error, (file, None), None, Some(&layer.fields.join(", ")),
                format!("找不到代码或名称字段（可用 --code-field / --name-field 指定；默认识别 {} 与 {}）",
                    CODE_FIELDS.join("、"), NAME_FIELDS.join("、")));
            return Err(());
        }
        for feature in &layer.features {
            self.features += 1;
            let row = feature.row;
            let geometry = match &feature.geometry {
                Ok(g) => g.clone(),
                Err(reason) => {
                    self.problem(
                        Severity::Warning,
                        (file, Some(row)),
                        None,
                        None,
                        format!("不是面要素（{reason}），不导入"),
                    );
                    continue;
                }
            };
            let Some(code) = self.matched(layer, &feature.values, row, (code_at, name_at)) else {
                continue;
            };
            let mut geometry = geometry;
            if let Err(e) = crs.to_wgs84(&mut geometry) {
                self.problem(
                    Severity::Error,
                    (file, Some(row)),
                    None,
                    None,
                    format!("坐标转换失败：{e}"),
                );
                continue;
            }
            if let Some(geometry) = self.valid((file, row), geometry) {
                // Shapefiles wind outer rings clockwise, GeoJSON anticlockwise: stored
                // boundaries wind as the demo's and RFC 7946's do.
                let geometry = geometry.orient(Direction::Default);
                let kept = KeptFeature {
                    code: code.clone(),
                    file: file.to_owned(),
                    row,
                    attributes: layer
                        .fields
                        .iter()
                        .cloned()
                        .zip(feature.values.iter().cloned())
                        .collect(),
                };
                self.parts.push(Part {
                    code,
                    geometry,
                    kept,
                });
            }
        }
        Ok(said)
    }
}

/// One edge of a boundary, with the ring it belongs to and its place in the ring.
#[derive(Debug, Clone)]
struct Edge {
    line: Line<f64>,
    ring: usize,
    index: usize,
    ring_edges: usize,
}

impl Cross for Edge {
    type Scalar = f64;

    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// Whether no two edges of the multipolygon cross or overlap, and no ring touches
/// another or itself, other than consecutive edges meeting at their shared vertex.
fn is_simple(geometry: &MultiPolygon<f64>) -> bool {
    let rings = geometry
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
    let mut edges = Vec::new();
    for (ring, line_string) in rings.enumerate() {
        if line_string.0.len() < 4
            || line_string
                .0
                .iter()
                .any(|c| !c.x.is_finite() || !c.y.is_finite())
        {
            return false;
        }
        let ring_edges = line_string.0.len() - 1;
        edges.extend(line_string.lines().enumerate().map(|(index, line)| Edge {
            line,
            ring,
            index,
            ring_edges,
        }));
    }
    Intersections::from_iter(edges).all(|(a, b, meet)| match meet {
        LineIntersection::SinglePoint {
            is_proper: false, ..
        } => {
            let apart = a.index.abs_diff(b.index);
            a.ring == b.ring && (apart == 1 || apart == a.ring_edges - 1)
        }
        _ => false,
    })
}

/// Reads `layers` against the stored divisions (every area: the level's divisions are
/// matched, their parents checked against) and plans the new boundaries, checking them
/// against each village's household positions too.
#[must_use]
pub fn plan(source: &str, layers: &[VectorLayer], stored: &Stored<'_>, options: &Options) -> Plan {
    let (areas, positions) = (stored.areas, stored.positions);
    let level = options.level;
    let of_level: Vec<&AreaRecord> = areas
        .iter()
        .filter(|a| {
            a.summary.level == level
                || (level == AreaLevel::Village && a.summary.level.is_village_like())
        })
        .collect();
    let mut by_name: HashMap<String, Vec<&str>> = HashMap::new();
    for a in &of_level {
        by_name
            .entry(short_name(&a.summary.name))
            .or_default()
            .push(a.summary.code.as_str());
    }
    let mut reading = Reading {
        options,
        divisions: of_level
            .iter()
            .map(|a| (a.summary.code.as_str(), *a))
            .collect(),
        by_name,
        problems: Vec::new(),
        parts: Vec::new(),
        features: 0,
        repaired: 0,
        by_name_matches: 0,
    };
    let mut systems = Vec::new();
    for layer in layers {
        if let Ok(said) = reading.read_layer(layer) {
            systems.push(format!("{}：{said}", layer.source));
        }
    }
    let (boundaries, kept) = dissolve(&mut reading);
    let mut report = Report {
        kind: "boundaries".into(),
        source: source.to_owned(),
        counts: Vec::new(),
        problems: Vec::new(),
    };
    let missing: Vec<&&AreaRecord> = of_level
        .iter()
        .filter(|a| !boundaries.iter().any(|b| b.code == a.summary.code))
        .collect();
    for a in &missing {
        reading.problem(
            Severity::Warning,
            (source, None),
            None,
            Some(&a.summary.code),
            format!(
                "{}（{}）在文件中没有边界，保留原边界",
                a.summary.name, a.summary.code
            ),
        );
    }
    let mut checks = check_neighbours(&mut reading, areas, &boundaries, source);
    checks.households_outside = households_outside(&mut reading, &boundaries, positions, source);
    report.counts = counts(
        &reading,
        (boundaries.len(), of_level.len(), missing.len()),
        &checks,
    );
    for s in systems {
        report.problems.push(Problem {
            severity: Severity::Warning,
            file: source.to_owned(),
            row: None,
            column: None,
            value: None,
            reason: format!("坐标系：{s}；转换为 WGS-84 经纬度（CGCS2000 与 WGS-84 相差厘米至分米级，低于 GPS 精度，视为相同）"),
        });
    }
    let fields: Vec<&str> = layers
        .iter()
        .flat_map(|l| l.fields.iter().map(String::as_str))
        .fold(Vec::new(), |mut seen, f| {
            if !seen.contains(&f) {
                seen.push(f);
            }
            seen
        });
    if !fields.is_empty() {
        report.problems.push(Problem {
            severity: Severity::Warning,
            file: source.to_owned(),
            row: None,
            column: None,
            value: Some(fields.join("、")),
            reason: "每个要素的全部字段按原样保存，提交后可用 paicha import attributes 导出".into(),
        });
    }
    report.problems.extend(reading.problems);
    Plan {
        report,
        boundaries,
        kept,
    }
}

/// The report's summary: features read, divisions matched (of how many, how many
/// without a boundary), matches by name, repairs, the checks' findings, errors.
fn counts(
    reading: &Reading<'_>,
    (matched, existing, missing): (usize, usize, usize),
    checks: &Checks,
) -> Vec<Count> {
    let level = reading.options.level.label_zh();
    let count = |label: &str, value: f64| Count {
        label: label.into(),
        value,
    };
    let errors = reading
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    vec![
        count("要素数", reading.features as f64),
        count(&format!("匹配到的{level}"), matched as f64),
        count(&format!("已有的{level}"), existing as f64),
        count(&format!("文件中没有边界的{level}"), missing as f64),
        count("按名称匹配的要素", reading.by_name_matches as f64),
        count("自动修复的要素", reading.repaired as f64),
        count("超出上级边界的区域", checks.outside as f64),
        count("相邻区域重叠（处）", checks.overlaps as f64),
        count("相邻区域重叠面积（km²）", checks.overlap_km2),
        count(
            "农户定位多数在新边界外的村",
            checks.households_outside as f64,
        ),
        count("上级边界内的缝隙面积（km²）", checks.gap_km2),
        count("错误", errors as f64),
    ]
}

/// The parts of each division as one multipolygon: one part as it came, several
/// united (三调 splits a village into 村级调查区 parts).
fn dissolve(reading: &mut Reading<'_>) -> (Vec<NewBoundary>, Vec<KeptFeature>) {
    let mut by_code: BTreeMap<String, Vec<Part>> = BTreeMap::new();
    for part in reading.parts.drain(..) {
        by_code.entry(part.code.clone()).or_default().push(part);
    }
    let mut kept = Vec::new();
    let boundaries = by_code
        .into_iter()
        .map(|(code, parts)| {
            let geometry = if let [one] = parts.as_slice() {
                one.geometry.clone()
            } else {
                unary_union(parts.iter().flat_map(|p| p.geometry.0.iter()))
            };
            kept.extend(parts.into_iter().map(|p| p.kept));
            NewBoundary { code, geometry }
        })
        .collect();
    (boundaries, kept)
}

/// What the checks between areas found.
#[derive(Debug, Default)]
struct Checks {
    outside: usize,
    households_outside: usize,
    overlaps: usize,
    overlap_km2: f64,
    gap_km2: f64,
}

/// Each new boundary against its parent's (the share outside it) and its siblings'
/// (overlaps), and each parent against its children's union (gaps).
fn check_neighbours(
    reading: &mut Reading<'_>,
    areas: &[AreaRecord],
    boundaries: &[NewBoundary],
    source: &str,
) -> Checks {
    let mut checks = Checks::default();
    let by_code: HashMap<&str, &AreaRecord> =
        areas.iter().map(|a| (a.summary.code.as_str(), a)).collect();
    let new: HashMap<&str, &MultiPolygon<f64>> = boundaries
        .iter()
        .map(|b| (b.code.as_str(), &b.geometry))
        .collect();
    // Children of each parent, with the boundary they will have.
    let mut children: BTreeMap<&str, Vec<(&str, &MultiPolygon<f64>)>> = BTreeMap::new();
    for a in areas {
        let level_matches = a.summary.level == reading.options.level
            || (reading.options.level == AreaLevel::Village && a.summary.level.is_village_like());
        if !level_matches {
            continue;
        }
        if let Some(parent) = a.summary.parent_code.as_deref() {
            let geometry = new
                .get(a.summary.code.as_str())
                .copied()
                .unwrap_or(&a.geometry);
            children
                .entry(parent)
                .or_default()
                .push((a.summary.code.as_str(), geometry));
        }
    }
    for (parent_code, kids) in &children {
        let Some(parent) = by_code.get(parent_code) else {
            continue;
        };
        // A parent without a boundary of its own (none, or its children's union) has
        // nothing to be outside of or to leave gaps in.
        let parent_drawn = parent.summary.boundary == Some(crate::domain::BoundarySource::File);
        let parent_km2 = spatial::area_km2(&parent.geometry);
        for (code, geometry) in kids {
            if !new.contains_key(code) || !parent_drawn {
                continue;
            }
            let outside = spatial::area_km2(&geometry.difference(&parent.geometry));
            let total = spatial::area_km2(geometry);
            if total > 0.0 && outside / total > MAX_REPAIR_CHANGE && outside > MIN_REPORTED_KM2 {
                checks.outside += 1;
                reading.problem(
                    Severity::Warning,
                    (source, None),
                    None,
                    Some(code),
                    format!(
                        "{code} 有 {:.1}%（{outside:.3} km²）在上级 {}（{parent_code}）之外",
                        outside / total * 100.0,
                        parent.summary.name
                    ),
                );
            }
        }
        for (i, (a, ga)) in kids.iter().enumerate() {
            for (b, gb) in &kids[i + 1..] {
                if !(new.contains_key(a) || new.contains_key(b)) {
                    continue;
                }
                let (Some(ra), Some(rb)) = (ga.bounding_rect(), gb.bounding_rect()) else {
                    continue;
                };
                if !ra.intersects(&rb) {
                    continue;
                }
                let overlap = spatial::area_km2(&ga.intersection(*gb));
                if overlap > MIN_REPORTED_KM2 {
                    checks.overlaps += 1;
                    checks.overlap_km2 += overlap;
                    reading.problem(
                        Severity::Warning,
                        (source, None),
                        None,
                        Some(&format!("{a} / {b}")),
                        format!("{a} 与 {b} 重叠 {overlap:.4} km²"),
                    );
                }
            }
        }
        if parent_drawn && kids.iter().any(|(code, _)| new.contains_key(code)) && parent_km2 > 0.0 {
            let union = unary_union(kids.iter().flat_map(|(_, g)| g.0.iter()));
            let gap = spatial::area_km2(&parent.geometry.difference(&union));
            if gap > MIN_REPORTED_KM2 {
                checks.gap_km2 += gap;
                reading.problem(
                    Severity::Warning,
                    (source, None),
                    None,
                    Some(parent_code),
                    format!(
                        "{}（{parent_code}）内有 {gap:.4} km²（{:.2}%）不属于任何下级区域",
                        parent.summary.name,
                        gap / parent_km2 * 100.0
                    ),
                );
            }
        }
    }
    checks
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn simple_boundaries_pass_and_crossed_ones_do_not() {
        use geo::{MultiPolygon, polygon};
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)];
        let holed = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 2.0)]],
        );
        let bowtie =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
        let far = polygon![(x: 5.0, y: 5.0), (x: 6.0, y: 5.0), (x: 6.0, y: 6.0), (x: 5.0, y: 6.0)];
        let overlapping =
            polygon![(x: 0.5, y: 0.5), (x: 2.0, y: 0.5), (x: 2.0, y: 2.0), (x: 0.5, y: 2.0)];
        assert!(is_simple(&MultiPolygon(vec![square.clone()])));
        assert!(is_simple(&MultiPolygon(vec![holed])));
        assert!(is_simple(&MultiPolygon(vec![square.clone(), far])));
        assert!(!is_simple(&MultiPolygon(vec![bowtie.clone()])));
        assert!(!is_simple(&MultiPolygon(vec![square, overlapping])));
        assert!(!MultiPolygon(vec![bowtie]).is_valid());
    }

    /// A square of `side` degrees at (x, y), wound as `clockwise` says.
    fn square(x: f64, y: f64, side: f64, clockwise: bool) -> geo::Polygon<f64> {
        let mut ring = vec![
            (x, y),
            (x + side, y),
            (x + side, y + side),
            (x, y + side),
            (x, y),
        ];
        if clockwise {
            ring.reverse();
        }
        geo::Polygon::new(ring.into(), vec![])
    }

    fn area(
        code: &str,
        name: &str,
        level: AreaLevel,
        parent: Option<&str>,
        shape: geo::Polygon<f64>,
    ) -> AreaRecord {
        AreaRecord {
            summary: crate::domain::AreaSummary {
                boundary: Some(crate::domain::BoundarySource::File),
                ..crate::domain::AreaSummary::division(code, name, level, parent)
            },
            geometry: MultiPolygon(vec![shape]),
        }
    }

    #[test]
    #[expect(
        clippy::too_many_lines,
        clippy::float_cmp,
        reason = "one file of every kind of row, checked top to bottom; counts are whole"
    )]
    fn parts_are_dissolved_names_matched_and_bad_rows_reported() {
        use crate::formats::vector::{VectorFeature, VectorLayer};
        let town = "210422100";
        let areas = vec![
            area(
                town,
                "新宾镇",
                AreaLevel::Township,
                Some("210422"),
                square(125.0, 41.0, 0.2, false),
            ),
            area(
                "210422100201",
                "五副甲村民委员会",
                AreaLevel::Village,
                Some(town),
                square(125.0, 41.0, 0.1, false),
            ),
            area(
                "210422100202",
                "前进村民委员会",
                AreaLevel::Village,
                Some(town),
                square(125.1, 41.0, 0.1, false),
            ),
            area(
                "210422100203",
                "和平村民委员会",
                AreaLevel::Village,
                Some(town),
                square(125.0, 41.1, 0.1, false),
            ),
            area(
                "210422101201",
                "和平村民委员会",
                AreaLevel::Village,
                Some("210422101"),
                square(126.0, 41.1, 0.1, false),
            ),
        ];
        let bowtie = geo::Polygon::new(
            vec![
                (125.1, 41.1),
                (125.2, 41.2),
                (125.2, 41.1),
                (125.1, 41.2),
                (125.1, 41.1),
            ]
            .into(),
            vec![],
        );
        let feature = |row: usize,
                       code: Option<&str>,
                       name: Option<&str>,
                       shape: geo::Polygon<f64>| VectorFeature {
            row,
            values: vec![code.map(Into::into), name.map(Into::into)],
            geometry: Ok(MultiPolygon(vec![shape])),
        };
        let layer = VectorLayer {
            source: "村级调查区.shp".into(),
            crs: CrsHint::Epsg(4490),
            encoding: "GBK (.cpg)".into(),
            fields: vec!["ZLDWDM".into(), "ZLDWMC".into()],
            features: vec![
                // Two parts of 五副甲村, wound clockwise as a Shapefile winds them.
                feature(
                    1,
                    Some("2104221002010000001"),
                    Some("五副甲村"),
                    square(125.0, 41.0, 0.05, true),
                ),
                feature(
                    2,
                    Some("2104221002010000002"),
                    Some("五副甲村"),
                    square(125.05, 41.0, 0.05, true),
                ),
                // 前进村 by name alone.
                feature(3, None, Some("前进村"), square(125.1, 41.0, 0.1, false)),
                // 和平村 twice in the county: a name alone cannot say which.
                feature(4, None, Some("和平村"), square(125.0, 41.1, 0.1, false)),
                // A code that is no village of the county.
                feature(
                    5,
                    Some("2104229992010000000"),
                    None,
                    square(125.0, 41.0, 0.01, false),
                ),
                // A crossed ring whose repair would change its area: refused.
                feature(6, Some("2104221002030000000"), Some("和平村"), bowtie),
            ],
        };
        let options = Options {
            level: AreaLevel::Village,
            crs: None,
            code_field: None,
            name_field: None,
        };
        let positions = HashMap::from([(
            "210422100202".to_owned(),
            vec![(125.15, 41.05); 4]
                .into_iter()
                .chain(vec![(125.5, 41.5); 6])
                .collect(),
        )]);
        let stored = Stored {
            areas: &areas,
            positions: &positions,
        };
        let plan = plan("村级调查区.shp", &[layer], &stored, &options);
        let codes: Vec<&str> = plan.boundaries.iter().map(|b| b.code.as_str()).collect();
        assert_eq!(codes, ["210422100201", "210422100202"]);
        let wufujia = &plan.boundaries[0].geometry;
        assert_eq!(wufujia.0.len(), 1, "the two parts become one polygon");
        let both = MultiPolygon(vec![
            geo::Rect::new((125.0, 41.0), (125.1, 41.05)).to_polygon(),
        ]);
        let (got, want) = (spatial::area_km2(wufujia), spatial::area_km2(&both));
        assert!((got - want).abs() < want * 1e-7, "{got} km² against {want}");
        assert_eq!(
            geo::Winding::winding_order(wufujia.0[0].exterior()),
            Some(geo::winding_order::WindingOrder::CounterClockwise)
        );
        let at = |row: usize| -> Vec<&Problem> {
            plan.report
                .problems
                .iter()
                .filter(|p| p.row == Some(row))
                .collect()
        };
        assert!(
            at(3)[0].reason.contains("按名称匹配到 210422100202"),
            "{:?}",
            at(3)
        );
        assert_eq!(at(4)[0].severity, Severity::Error);
        assert!(at(4)[0].reason.contains("同名"), "{:?}", at(4));
        assert!(at(5)[0].reason.contains("不是已有的村"), "{:?}", at(5));
        assert_eq!(at(6)[0].severity, Severity::Error);
        assert!(at(6)[0].reason.contains("无法自动修复"), "{:?}", at(6));
        assert_eq!(plan.report.errors(), 2);
        let count = |label: &str| {
            plan.report
                .counts
                .iter()
                .find(|c| c.label == label)
                .unwrap()
                .value
        };
        assert_eq!(count("要素数"), 6.0);
        assert_eq!(count("匹配到的村"), 2.0);
        assert_eq!(count("文件中没有边界的村"), 2.0);
        assert_eq!(count("按名称匹配的要素"), 1.0);
        assert_eq!(count("错误"), 2.0);
        assert_eq!(
            count("农户定位多数在新边界外的村"),
            1.0,
            "6 of 10 of 前进村's points lie outside"
        );
        let xlsx = plan.report.to_xlsx().unwrap();
        assert!(xlsx.starts_with(b"PK"));
    }

    #[test]
    fn codes_are_cut_to_the_level() {
        assert_eq!(
            code_of("2104221002010000000", AreaLevel::Village).as_deref(),
            Some("210422100201")
        );
        assert_eq!(
            code_of("210422100201", AreaLevel::Village).as_deref(),
            Some("210422100201")
        );
        assert_eq!(
            code_of("210422100", AreaLevel::Township).as_deref(),
            Some("210422100")
        );
        assert_eq!(code_of("2104221", AreaLevel::Village), None);
        assert_eq!(code_of("五副甲村", AreaLevel::Village), None);
        assert_eq!(code_of("21042210020A", AreaLevel::Village), None);
    }
}
