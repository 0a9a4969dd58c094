//! The demo city's other counties: 抚顺县 (210421) and 清原满族自治县 (210423), with the
//! real codes, names and outlines of two counties of Fushun (抚顺市, 2104) and made-up
//! townships and villages with generic names; and for the demo province (辽宁省, 21),
//! two counties of the neighbouring city Benxi (本溪市, 2105): 本溪满族自治县 (210521) and
//! 桓仁满族自治县 (210522). The outlines are the published ones in
//! `data/fushun/counties.geojson` (where Xinbin's comes from too) and
//! `data/benxi/counties.geojson`, with whatever overlaps a county already placed cut
//! away so that no two overlap.

use geo::{BooleanOps, ChamberlainDuquetteArea, MultiPolygon, Polygon};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DemoError;
use crate::domain::{Area, AreaLevel};

/// The city above the demo's counties.
pub fn city() -> Area {
    Area {
        code: "2104".into(),
        name: "抚顺市".into(),
        level: AreaLevel::City,
        parent_code: Some("21".into()),
    }
}

/// The demo province's second city.
pub fn benxi() -> Area {
    Area {
        code: "2105".into(),
        name: "本溪市".into(),
        level: AreaLevel::City,
        parent_code: Some("21".into()),
    }
}

/// The province above the demo province's two cities.
pub fn province() -> Area {
    Area {
        code: "21".into(),
        name: "辽宁省".into(),
        level: AreaLevel::Province,
        parent_code: None,
    }
}

/// Stems of made-up township names.
const TOWNSHIP_STEMS: &[&str] = &[
    "东岭", "西沟", "南台", "北甸", "石门", "高岗", "柳河", "榆林", "青山", "红石", "双岔", "长岭",
    "杨树", "松岗", "黑石", "白沙", "大营", "小堡",
];
/// Halves of made-up village names.
const VILLAGE_FIRST: &[&str] = &[
    "前", "后", "上", "下", "东", "西", "南", "北", "大", "小", "二道", "三道",
];
const VILLAGE_SECOND: &[&str] = &[
    "甸子", "沟", "岭", "堡", "屯", "台", "河", "营", "房身", "岔", "砬子", "窝棚",
];

/// A county's divisions (the county first) and outline.
pub type Drawn = (Vec<Area>, Polygon<f64>);

/// The outlines of Fushun's seven county-level divisions, decoded from a published
/// web-map package (`data/fushun/SOURCES.md`).
const FUSHUN_GEOJSON: &str = include_str!("../../data/fushun/counties.geojson");
/// The outlines of Benxi's six, from the same package (`data/benxi/SOURCES.md`).
const BENXI_GEOJSON: &str = include_str!("../../data/benxi/counties.geojson");

/// The published outline of one of Fushun's or Benxi's counties.
fn published_outline(code: &str) -> Result<Polygon<f64>, DemoError> {
    let (file, text) = if code.starts_with("2105") {
        ("benxi", BENXI_GEOJSON)
    } else {
        ("fushun", FUSHUN_GEOJSON)
    };
    let bad = |e: String| DemoError::EmbeddedData(format!("{file}/counties.geojson: {e}"));
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| bad(e.to_string()))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(bad("not a FeatureCollection".into()));
    };
    let geometry = fc
        .features
        .into_iter()
        .find(|f| f.property("code").and_then(|c| c.as_str()) == Some(code))
        .and_then(|f| f.geometry)
        .ok_or_else(|| bad(format!("no outline for {code}")))?;
    Polygon::try_from(geometry.value).map_err(|e| bad(e.to_string()))
}

/// The counties drawn beside Xinbin: code, name, townships. Fushun's two for the
/// city; Benxi's two after them for the province.
const FUSHUN_COUNTIES: &[(&str, &str, usize)] =
    &[("210421", "抚顺县", 8), ("210423", "清原满族自治县", 10)];
const BENXI_COUNTIES: &[(&str, &str, usize)] = &[
    ("210521", "本溪满族自治县", 7),
    ("210522", "桓仁满族自治县", 8),
];

/// The two other counties of the city: their divisions (county first) and outlines.
///
/// # Errors
/// [`DemoError::EmbeddedData`] if an outline is missing or comes out empty (they do not).
pub fn neighbours(xinbin: &Polygon<f64>, seed: u64, dense: bool) -> Result<Vec<Drawn>, DemoError> {
    drawn(xinbin, FUSHUN_COUNTIES, seed, dense)
}

/// The four other counties of the province: Fushun's two, then Benxi's two.
///
/// # Errors
/// As [`neighbours`].
pub fn province_neighbours(
    xinbin: &Polygon<f64>,
    seed: u64,
    dense: bool,
) -> Result<Vec<Drawn>, DemoError> {
    let all: Vec<(&str, &str, usize)> = FUSHUN_COUNTIES
        .iter()
        .chain(BENXI_COUNTIES)
        .copied()
        .collect();
    drawn(xinbin, &all, seed, dense)
}

/// `counties` drawn in order beside Xinbin, each cut clear of those placed before;
/// `dense`: with 40 to 64 villages a township.
fn drawn(
    xinbin: &Polygon<f64>,
    counties: &[(&str, &str, usize)],
    seed: u64,
    dense: bool,
) -> Result<Vec<Drawn>, DemoError> {
    let mut placed = MultiPolygon(vec![xinbin.clone()]);
    let mut out = Vec::new();
    // Township names are not repeated across the counties (the list has 18 stems, so
    // the province's later counties reuse the first ones, shuffled again).
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1000);
    let mut stems: Vec<&str> = TOWNSHIP_STEMS.to_vec();
    stems.shuffle(&mut rng);
    for (i, &(code, name, townships)) in counties.iter().enumerate() {
        if stems.len() < townships {
            stems = TOWNSHIP_STEMS.to_vec();
            stems.shuffle(&mut rng);
        }
        // Published outlines of neighbours share their edges only to within their
        // precision (1/1024 degree): the slivers where they overlap go to the first.
        let outline = MultiPolygon(vec![published_outline(code)?])
            .difference(&placed)
            .0
            .into_iter()
            .max_by(|a, b| {
                a.chamberlain_duquette_unsigned_area()
                    .total_cmp(&b.chamberlain_duquette_unsigned_area())
            })
            .ok_or_else(|| DemoError::EmbeddedData(format!("no outline left for {name}")))?;
        placed = placed.union(&MultiPolygon(vec![outline.clone()]));
        let own: Vec<&str> = stems.drain(..townships).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1001 + i as u64);
        out.push((divisions(&mut rng, (code, name), &own, dense), outline));
    }
    Ok(out)
}

/// A county's made-up townships (the first two towns, 镇, then 乡 and 镇 in turn),
/// each with 6 to 12 villages (`dense`: 40 to 64); the first township also holds a
/// community.
fn divisions(
    rng: &mut impl Rng,
    (code, name): (&str, &str),
    stems: &[&str],
    dense: bool,
) -> Vec<Area> {
    let mut areas = vec![Area {
        code: code.into(),
        name: name.into(),
        level: AreaLevel::County,
        parent_code: Some(code[..4].into()),
    }];
    for (t, stem) in stems.iter().enumerate() {
        let town = t < 2 || t % 2 == 0;
        let township = format!("{code}{:03}", if town { 100 + t } else { 200 + t });
        areas.push(Area {
            code: township.clone(),
            name: format!("{stem}{}", if town { "镇" } else { "乡" }),
            level: AreaLevel::Township,
            parent_code: Some(code.into()),
        });
        if t == 0 {
            areas.push(Area {
                code: format!("{township}001"),
                name: format!("{stem}社区居民委员会"),
                level: AreaLevel::Community,
                parent_code: Some(township.clone()),
            });
        }
        let mut names: Vec<String> = Vec::new();
        let wanted = if dense {
            rng.random_range(40..=64)
        } else {
            rng.random_range(6..=12)
        };
        while names.len() < wanted {
            let first = VILLAGE_FIRST.choose(rng).copied().unwrap_or("前");
            let second = VILLAGE_SECOND.choose(rng).copied().unwrap_or("沟");
            let name = format!("{first}{second}");
            if !names.contains(&name) {
                names.push(name);
            }
        }
        for (v, village) in names.into_iter().enumerate() {
            areas.push(Area {
                code: format!("{township}{:03}", 200 + v),
                name: format!("{village}村民委员会"),
                level: AreaLevel::Village,
                parent_code: Some(township.clone()),
            });
        }
    }
    areas
}
