//! The demo city's synthetic counties: 抚顺县 (210421) and 清原满族自治县 (210423), real
//! county codes and names of Fushun (抚顺市, 2104) whose townships, villages and
//! outlines are made up. Their outlines are Xinbin's shifted west and north, with
//! whatever would overlap a county already placed cut away, so that the three tile
//! the city without overlap; townships and villages get generic names.

use geo::{BooleanOps, ChamberlainDuquetteArea, MultiPolygon, Polygon, Translate};
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

/// The two synthetic counties: their divisions (county first) and outlines.
///
/// # Errors
/// [`DemoError::EmbeddedData`] if an outline comes out empty (it does not for Xinbin's).
pub fn neighbours(xinbin: &Polygon<f64>, seed: u64) -> Result<Vec<Drawn>, DemoError> {
    let bounds = geo::BoundingRect::bounding_rect(xinbin)
        .ok_or_else(|| DemoError::EmbeddedData("Xinbin's outline is empty".into()))?;
    let mut placed = MultiPolygon(vec![xinbin.clone()]);
    let mut out = Vec::new();
    // Township names are not repeated across the two counties.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1000);
    let mut stems: Vec<&str> = TOWNSHIP_STEMS.to_vec();
    stems.shuffle(&mut rng);
    for (i, (code, name, townships, (dx, dy))) in [
        (
            "210421",
            "抚顺县",
            8,
            (-0.8 * bounds.width(), -0.1 * bounds.height()),
        ),
        (
            "210423",
            "清原满族自治县",
            10,
            (0.1 * bounds.width(), 0.8 * bounds.height()),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let shifted = MultiPolygon(vec![xinbin.translate(dx, dy)]);
        let outline = shifted
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
        out.push((divisions(&mut rng, (code, name), &own), outline));
    }
    Ok(out)
}

/// A county's made-up townships (the first two towns, 镇, then 乡 and 镇 in turn),
/// each with 6 to 12 villages; the first township also holds a community.
fn divisions(rng: &mut impl Rng, (code, name): (&str, &str), stems: &[&str]) -> Vec<Area> {
    let mut areas = vec![Area {
        code: code.into(),
        name: name.into(),
        level: AreaLevel::County,
        parent_code: Some("2104".into()),
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
        let wanted = rng.random_range(6..=12);
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
