//! GeoJSON: a `FeatureCollection` (or a single `Feature`), streamed feature by feature
//! so that only one feature's parsed geometry is held beside the polygons already
//! converted, and the limits are checked as each feature arrives. The old (2008)
//! `crs` member gives the coordinate system; without it the file is RFC 7946, WGS-84.
//! Property names keep their order of first appearance, which `serde_json`'s map
//! (sorted unless `preserve_order` is on, crate-wide) would lose.

use std::collections::HashMap;
use std::fmt;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{GeometryValue, Position};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Budget, CrsHint, Outcome, VectorError, VectorFeature, VectorLayer};

/// Reads a GeoJSON file; `source` names it.
pub(super) fn read(
    source: &str,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Outcome, VectorError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // JSON is UTF-8 by its RFC, but Chinese tools do save it in GBK.
    let (text, encoding) = match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), "UTF-8"),
        Err(_) => (
            encoding_rs::GBK.decode_without_bom_handling(bytes).0,
            "GBK (not UTF-8)",
        ),
    };
    let mut collector = Collector {
        source,
        budget,
        fields: Vec::new(),
        field_index: HashMap::new(),
        features: Vec::new(),
        failure: None,
    };
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let top = TopSeed {
        collector: &mut collector,
    }
    .deserialize(&mut deserializer)
    .and_then(|top| deserializer.end().map(|()| top));
    let top = match top {
        Ok(top) => top,
        Err(error) => {
            return Err(collector.failure.take().unwrap_or_else(|| {
                malformed(source, json_reason(&error, collector.features.len() + 1))
            }));
        }
    };
    match top.kind.as_deref() {
        Some("FeatureCollection") => {}
        Some("Feature") => collector.push(top.geometry, top.properties)?,
        Some(other) => {
            return Err(malformed(
                source,
                format!("a GeoJSON {other}, not a FeatureCollection or Feature"),
            ));
        }
        None => return Err(malformed(source, "no GeoJSON \"type\" member".to_owned())),
    }
    let width = collector.fields.len();
    for feature in &mut collector.features {
        feature.values.resize(width, None);
    }
    Ok(Outcome::Layer(VectorLayer {
        source: source.to_owned(),
        crs: crs_hint(top.crs),
        encoding: encoding.to_owned(),
        fields: collector.fields,
        features: collector.features,
    }))
}

fn malformed(source: &str, reason: String) -> VectorError {
    VectorError::Malformed {
        file: source.to_owned(),
        reason,
    }
}

/// Where `serde_json` stopped, without its message, which may quote the file's text.
fn json_reason(error: &serde_json::Error, feature: usize) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "not valid GeoJSON",
        serde_json::error::Category::Eof => "ends too early",
    };
    format!(
        "{what} at line {} column {} (feature {feature})",
        error.line(),
        error.column()
    )
}

/// The coordinate system of a `crs` member: absent is RFC 7946 (4326), `null` is none.
fn crs_hint(crs: Option<Value>) -> CrsHint {
    let Some(crs) = crs else {
        return CrsHint::Epsg(4326);
    };
    if crs.is_null() {
        return CrsHint::None;
    }
    match crs.pointer("/properties/name").and_then(Value::as_str) {
        Some(name) => epsg_code(name).map_or_else(|| CrsHint::Wkt(name.to_owned()), CrsHint::Epsg),
        None => CrsHint::Wkt(crs.to_string()),
    }
}

/// The EPSG code a CRS name gives (`EPSG:4490`, `urn:ogc:def:crs:EPSG::4490`,
/// `http://www.opengis.net/def/crs/EPSG/0/4490`); OGC's CRS84 is 4326 in lon/lat order.
pub(super) fn epsg_code(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    if upper.ends_with(":CRS84") || upper.ends_with("/CRS84") {
        return Some(4326);
    }
    if !upper.contains("EPSG") {
        return None;
    }
    upper.rsplit([':', '/']).next()?.trim().parse().ok()
}

/// What the top level of the file says besides its features.
#[derive(Debug, Default)]
struct Top {
    kind: Option<String>,
    crs: Option<Value>,
    geometry: Option<geojson::Geometry>,
    properties: Properties,
}

/// The features converted so far, and the fields seen.
struct Collector<'a> {
    source: &'a str,
    budget: &'a mut Budget,
    fields: Vec<String>,
    field_index: HashMap<String, usize>,
    features: Vec<VectorFeature>,
    /// A limit exceeded inside `serde`, which can only carry a message: the error to
    /// return instead of its.
    failure: Option<VectorError>,
}

impl Collector<'_> {
    /// Adds a feature; the values are aligned with the fields known so far and padded
    /// to all of them at the end.
    fn push(
        &mut self,
        geometry: Option<geojson::Geometry>,
        properties: Properties,
    ) -> Result<(), VectorError> {
        self.budget.take_features(self.source, 1)?;
        let geometry = match geometry {
            None => Err("no geometry".to_owned()),
            Some(geometry) => {
                self.budget
                    .take_vertices(self.source, vertex_count(&geometry.value))?;
                polygons(&geometry.value)
            }
        };
        let mut values: Vec<Option<String>> = vec![None; self.fields.len()];
        for (name, value) in properties.0 {
            let index = if let Some(&index) = self.field_index.get(&name) {
                index
            } else {
                self.budget
                    .check_fields(self.source, self.fields.len() + 1)?;
                self.field_index.insert(name.clone(), self.fields.len());
                self.fields.push(name);
                values.push(None);
                self.fields.len() - 1
            };
            values[index] = value_text(value);
        }
        self.features.push(VectorFeature {
            row: self.features.len() + 1,
            values,
            geometry,
        });
        Ok(())
    }
}

/// A property value as text, as [`VectorFeature::values`] says.
fn value_text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
        Value::Number(number) => Some(
            number
                .as_f64()
                .map_or_else(|| number.to_string(), super::float_text),
        ),
        other @ (Value::Array(_) | Value::Object(_)) => Some(other.to_string()),
    }
}

/// The positions of a geometry that would become vertices.
fn vertex_count(value: &GeometryValue) -> usize {
    let rings = |polygon: &[Vec<Position>]| polygon.iter().map(Vec::len).sum::<usize>();
    match value {
        GeometryValue::Polygon { coordinates } => rings(coordinates),
        GeometryValue::MultiPolygon { coordinates } => {
            coordinates.iter().map(|polygon| rings(polygon)).sum()
        }
        _ => 0,
    }
}

/// A geometry as polygons, or why not.
fn polygons(value: &GeometryValue) -> Result<MultiPolygon<f64>, String> {
    let polygons = match value {
        GeometryValue::Polygon { coordinates } => vec![polygon(coordinates)?],
        GeometryValue::MultiPolygon { coordinates } => coordinates
            .iter()
            .map(|rings| polygon(rings))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("a {}, not a polygon", other.type_name())),
    };
    if polygons.is_empty()
        || polygons
            .iter()
            .all(|polygon| polygon.exterior().0.is_empty())
    {
        return Err("empty geometry".to_owned());
    }
    Ok(MultiPolygon::new(polygons))
}

/// The first ring is the exterior, the others holes, as RFC 7946 says.
fn polygon(rings: &[Vec<Position>]) -> Result<Polygon<f64>, String> {
    let mut lines = rings.iter().map(|ring| {
        ring.iter()
            .map(|position| match position.as_slice() {
                [x, y, ..] => Ok(Coord { x: *x, y: *y }),
                _ => Err("a position with fewer than two coordinates".to_owned()),
            })
            .collect::<Result<LineString<f64>, String>>()
    });
    let exterior = lines
        .next()
        .transpose()?
        .unwrap_or_else(|| LineString::new(Vec::new()));
    let interiors = lines.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

/// Properties in file order; `null` or absent is none.
#[derive(Debug, Default)]
struct Properties(Vec<(String, Value)>);

impl<'de> de::Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_option(PropertiesVisitor)
    }
}

struct PropertiesVisitor;

impl<'de> Visitor<'de> for PropertiesVisitor {
    type Value = Properties;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Properties, E> {
        Ok(Properties::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Properties, E> {
        Ok(Properties::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Properties, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
        let mut properties = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            // A repeated name keeps its last value, as a JSON parser's map would.
            properties.retain(|(known, _): &(String, Value)| *known != name);
            properties.push((name, value));
        }
        Ok(Properties(properties))
    }
}

/// The top-level object, whose `features` are handed to the collector one by one.
struct TopSeed<'c, 'a> {
    collector: &'c mut Collector<'a>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a GeoJSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => top.kind = Some(map.next_value()?),
                "crs" => top.crs = Some(map.next_value()?),
                "features" => map.next_value_seed(FeaturesSeed {
                    collector: &mut *self.collector,
                })?,
                "geometry" => top.geometry = map.next_value()?,
                "properties" => top.properties = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// The `features` array.
struct FeaturesSeed<'c, 'a> {
    collector: &'c mut Collector<'a>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(feature) = seq.next_element::<RawFeature>()? {
            if let Err(error) = self.collector.push(feature.geometry, feature.properties) {
                self.collector.failure = Some(error);
                return Err(de::Error::custom("a limit was exceeded"));
            }
        }
        Ok(())
    }
}

/// One feature as it is parsed, before conversion.
#[derive(serde::Deserialize)]
struct RawFeature {
    #[serde(default)]
    geometry: Option<geojson::Geometry>,
    #[serde(default)]
    properties: Properties,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn crs_names_give_epsg_codes() {
        assert_eq!(epsg_code("EPSG:4490"), Some(4490));
        assert_eq!(epsg_code("urn:ogc:def:crs:EPSG::4490"), Some(4490));
        assert_eq!(epsg_code("urn:ogc:def:crs:EPSG:6.6:4530"), Some(4530));
        assert_eq!(
            epsg_code("http://www.opengis.net/def/crs/EPSG/0/4549"),
            Some(4549)
        );
        assert_eq!(epsg_code("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
        assert_eq!(epsg_code("CGCS2000"), None);
        assert_eq!(crs_hint(None), CrsHint::Epsg(4326));
        assert_eq!(crs_hint(Some(Value::Null)), CrsHint::None);
        assert_eq!(
            crs_hint(Some(
                serde_json::json!({"type": "name", "properties": {"name": "CGCS2000"}})
            )),
            CrsHint::Wkt("CGCS2000".to_owned())
        );
    }

    #[test]
    fn values_are_text_with_integers_exact() {
        let text = |json: &str| value_text(serde_json::from_str(json).unwrap());
        assert_eq!(text("210422100201").as_deref(), Some("210422100201"));
        assert_eq!(
            text("2104221002010000000").as_deref(),
            Some("2104221002010000000")
        );
        assert_eq!(text("-7").as_deref(), Some("-7"));
        assert_eq!(text("1.5").as_deref(), Some("1.5"));
        assert_eq!(text("3.0").as_deref(), Some("3"));
        assert_eq!(text("1e20").as_deref(), Some("100000000000000000000"));
        assert_eq!(text("true").as_deref(), Some("true"));
        assert_eq!(text("null"), None);
        assert_eq!(text("\"五副甲村\"").as_deref(), Some("五副甲村"));
        assert_eq!(text("[1, \"a\"]").as_deref(), Some("[1,\"a\"]"));
        assert_eq!(text("{\"a\": 1}").as_deref(), Some("{\"a\":1}"));
    }
}
