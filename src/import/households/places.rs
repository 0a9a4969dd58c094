//! Places by name: the exports carry the names of county, township and village, not
//! codes. Each is matched within its parent, tolerant of the usual variants (村民委员会 /
//! 村委会 / 村, 社区居民委员会 / 社区居委会 / 社区, 镇 / 乡 after a renaming, 满族自治县 / 县).

use std::collections::HashMap;

use crate::domain::{AreaLevel, AreaSummary};

/// The stored divisions, indexed for matching.
#[derive(Debug, Default)]
pub struct Gazetteer {
    villages: HashMap<String, String>,
    counties: Vec<(String, String)>,
    townships: Vec<(String, String, String)>,
    /// (township, name key) → each division of that key, and whether it is a community.
    village_names: HashMap<(String, String), Vec<(String, bool)>>,
}

/// Why a place was not found; said in the report with the rows it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unmatched {
    /// No stored village has this code.
    Code(String),
    /// No county of this name.
    County(String),
    /// No township of this name (in the county, when one is named).
    Township(String),
    /// Townships of this name in several counties, and no county column to choose.
    AmbiguousTownship(String),
    /// No village of this name in the township.
    Village(String, String),
    /// A name that a village and a community of the township share (前进村, 前进社区),
    /// written without the 村 or 社区 that would say which.
    AmbiguousVillage(String, String),
    /// Neither a code nor the township and village names.
    Missing,
}

impl Unmatched {
    /// The reason, in Chinese.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Unmatched::Code(c) => format!("没有代码为 {c} 的村（请先导入区划代码）"),
            Unmatched::County(n) => format!("区划中没有名为“{n}”的县"),
            Unmatched::Township(n) => format!("区划中没有名为“{n}”的乡镇"),
            Unmatched::AmbiguousTownship(n) => {
                format!("多个县都有名为“{n}”的乡镇，表中没有县列，无法区分")
            }
            Unmatched::Village(t, v) => format!("乡镇“{t}”下没有名为“{v}”的村或社区"),
            Unmatched::AmbiguousVillage(t, v) => {
                format!("乡镇“{t}”下有同名的村和社区，“{v}”未写明是村还是社区，无法区分")
            }
            Unmatched::Missing => "既没有村代码，也没有乡镇和村名称".to_owned(),
        }
    }
}

fn strip_any<'a>(name: &'a str, suffixes: &[&str]) -> &'a str {
    suffixes
        .iter()
        .find_map(|s| name.strip_suffix(s).filter(|rest| !rest.is_empty()))
        .unwrap_or(name)
}

fn compact(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A village's or community's name without 村民委员会, 村委会, 居委会, 村, 社区.
#[must_use]
pub fn village_key(name: &str) -> String {
    let name = compact(name);
    let name = strip_any(
        &name,
        &["村民委员会", "村委会", "居民委员会", "居委会", "委员会"],
    );
    strip_any(name, &["村", "社区", "嘎查"]).to_owned()
}

/// A township's name without 人民政府, 街道办事处, 镇, 乡, 街道, 苏木.
#[must_use]
pub fn township_key(name: &str) -> String {
    let name = compact(name);
    let name = strip_any(&name, &["人民政府", "办事处"]);
    let name = strip_any(name, &["民族乡", "镇", "乡", "街道", "苏木"]);
    ethnic_stripped(name)
}

/// A county's name without 自治县, 县, 区, 市, 旗 and an ethnic group before them.
#[must_use]
pub fn county_key(name: &str) -> String {
    let name = compact(name);
    let name = strip_any(&name, &["自治县", "自治旗", "县", "区", "市", "旗"]);
    ethnic_stripped(name)
}

/// `新宾满族` → `新宾`: the ethnic group a name ends in (…族, at least two characters
/// left before it).
fn ethnic_stripped(name: &str) -> String {
    if let Some(rest) = name.strip_suffix('族') {
        let chars: Vec<char> = rest.chars().collect();
        // One character names the group (满, 回, 蒙古 is two; 朝鲜 two).
        for len in [1, 2] {
            if chars.len() > len + 1 {
                let base: String = chars[..chars.len() - len].iter().collect();
                let group: String = chars[chars.len() - len..].iter().collect();
                if ETHNIC.contains(&group.as_str()) {
                    return base;
                }
            }
        }
    }
    name.to_owned()
}

const ETHNIC: &[&str] = &[
    "满",
    "回",
    "蒙古",
    "朝鲜",
    "锡伯",
    "达斡尔",
    "鄂伦春",
    "鄂温克",
    "土家",
    "苗",
    "瑶",
    "壮",
    "藏",
    "彝",
    "侗",
    "白",
    "哈尼",
    "傣",
    "黎",
    "畲",
    "羌",
    "土",
    "仡佬",
    "布依",
];

impl Gazetteer {
    /// Indexes the stored divisions.
    #[must_use]
    pub fn new(areas: &[AreaSummary]) -> Self {
        let mut g = Self::default();
        for a in areas {
            match a.level {
                AreaLevel::County => g.counties.push((a.code.clone(), county_key(&a.name))),
                AreaLevel::Township => g.townships.push((
                    a.code.clone(),
                    township_key(&a.name),
                    a.parent_code.clone().unwrap_or_default(),
                )),
                level if level.is_village_like() => {
                    let township = a.parent_code.clone().unwrap_or_default();
                    g.villages.insert(a.code.clone(), township.clone());
                    g.village_names
                        .entry((township, village_key(&a.name)))
                        .or_default()
                        .push((a.code.clone(), a.level == AreaLevel::Community));
                }
                _ => {}
            }
        }
        g
    }

    /// Whether any village is stored.
    #[must_use]
    pub fn has_villages(&self) -> bool {
        !self.villages.is_empty()
    }

    /// The village a row names: by code where there is one, else by names.
    ///
    /// # Errors
    /// [`Unmatched`] saying which name (or code) matched nothing.
    pub fn village(
        &self,
        code: Option<&str>,
        county: Option<&str>,
        township: Option<&str>,
        village: Option<&str>,
    ) -> Result<String, Unmatched> {
        if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) {
            // The bureau pads codes to 12 digits; a 19-digit 坐落单位代码 begins with it.
            let code: String = code.chars().take(12).collect();
            return if self.villages.contains_key(&code) {
                Ok(code)
            } else {
                Err(Unmatched::Code(code))
            };
        }
        let (Some(township), Some(village)) = (township, village) else {
            return Err(Unmatched::Missing);
        };
        let county_code = match county.map(str::trim).filter(|c| !c.is_empty()) {
            Some(name) => {
                let key = county_key(name);
                let found = self.counties.iter().find(|(_, k)| *k == key);
                Some(
                    found
                        .map(|(c, _)| c.as_str())
                        .ok_or_else(|| Unmatched::County(name.to_owned()))?,
                )
            }
            None => None,
        };
        let key = township_key(township);
        let candidates: Vec<&str> = self
            .townships
            .iter()
            .filter(|(_, k, parent)| *k == key && county_code.is_none_or(|c| parent == c))
            .map(|(c, _, _)| c.as_str())
            .collect();
        let township_code = match candidates.as_slice() {
            [one] => *one,
            [] => return Err(Unmatched::Township(township.to_owned())),
            _ => return Err(Unmatched::AmbiguousTownship(township.to_owned())),
        };
        let codes = self
            .village_names
            .get(&(township_code.to_owned(), village_key(village)))
            .ok_or_else(|| Unmatched::Village(township.to_owned(), village.to_owned()))?;
        if let [(code, _)] = codes.as_slice() {
            return Ok(code.clone());
        }
        // A village and a community of one name (新宾镇's 前进村 and 前进社区): the name
        // as written says which, or nothing is guessed.
        let community = is_community_name(village);
        let fitting: Vec<&String> = codes
            .iter()
            .filter(|(_, c)| Some(*c) == community)
            .map(|(code, _)| code)
            .collect();
        match fitting.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Unmatched::AmbiguousVillage(
                township.to_owned(),
                village.to_owned(),
            )),
        }
    }
}

/// Whether a name as written says a community (社区, 居委会) or a village (村, 嘎查);
/// `None` for a bare name.
fn is_community_name(name: &str) -> Option<bool> {
    let name = compact(name);
    if name.contains("社区") || name.contains("居委会") || name.contains("居民委员会") {
        Some(true)
    } else if ["村", "村委会", "村民委员会", "嘎查"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(code: &str, name: &str, level: AreaLevel, parent: Option<&str>) -> AreaSummary {
        AreaSummary::division(code, name, level, parent)
    }

    fn gazetteer() -> Gazetteer {
        Gazetteer::new(&[
            area(
                "210422",
                "新宾满族自治县",
                AreaLevel::County,
                Some("210400"),
            ),
            area(
                "210423",
                "清原满族自治县",
                AreaLevel::County,
                Some("210400"),
            ),
            area("210422101", "旺清门镇", AreaLevel::Township, Some("210422")),
            area("210423101", "红透山镇", AreaLevel::Township, Some("210423")),
            area("210423102", "旺清门镇", AreaLevel::Township, Some("210423")),
            area(
                "210422101201",
                "孤脚村村民委员会",
                AreaLevel::Village,
                Some("210422101"),
            ),
            area(
                "210422101001",
                "新华社区居民委员会",
                AreaLevel::Community,
                Some("210422101"),
            ),
        ])
    }

    #[test]
    fn names_match_in_their_usual_variants() {
        let g = gazetteer();
        let at = |c: Option<&str>, t, v| g.village(None, c, Some(t), Some(v));
        assert_eq!(
            at(Some("新宾县"), "旺清门镇", "孤脚村"),
            Ok("210422101201".into())
        );
        assert_eq!(
            at(Some("新宾满族自治县"), "旺清门乡", "孤脚村委会"),
            Ok("210422101201".into())
        );
        assert_eq!(
            at(Some("新宾县"), "旺清门镇", "新华社区居委会"),
            Ok("210422101001".into())
        );
        assert_eq!(
            at(Some("新宾县"), "旺清门镇人民政府", "新华社区"),
            Ok("210422101001".into())
        );
    }

    /// Xinbin's 新宾镇 has a 前进村 and a 前进社区: a 建档立卡 export names 前进村民委员会,
    /// which went to the community before.
    #[test]
    fn a_village_and_a_community_of_one_name_are_told_apart_by_the_name_as_written() {
        let g = Gazetteer::new(&[
            area("210422100", "新宾镇", AreaLevel::Township, Some("210422")),
            area(
                "210422100003",
                "前进社区居委会",
                AreaLevel::Community,
                Some("210422100"),
            ),
            area(
                "210422100202",
                "前进村民委员会",
                AreaLevel::Village,
                Some("210422100"),
            ),
        ]);
        let at = |v| g.village(None, None, Some("新宾镇"), Some(v));
        assert_eq!(at("前进村民委员会"), Ok("210422100202".into()));
        assert_eq!(at("前进村"), Ok("210422100202".into()));
        assert_eq!(at("前进社区居委会"), Ok("210422100003".into()));
        assert_eq!(at("前进社区"), Ok("210422100003".into()));
        assert_eq!(
            at("前进"),
            Err(Unmatched::AmbiguousVillage("新宾镇".into(), "前进".into()))
        );
    }

    #[test]
    fn what_matches_nothing_says_which_name() {
        let g = gazetteer();
        assert_eq!(
            g.village(None, None, Some("旺清门镇"), Some("孤脚村")),
            Err(Unmatched::AmbiguousTownship("旺清门镇".into()))
        );
        assert_eq!(
            g.village(None, Some("抚顺县"), Some("旺清门镇"), Some("孤脚村")),
            Err(Unmatched::County("抚顺县".into()))
        );
        assert_eq!(
            g.village(None, Some("新宾县"), Some("旺清门镇"), Some("大台村")),
            Err(Unmatched::Village("旺清门镇".into(), "大台村".into()))
        );
        assert_eq!(
            g.village(Some("210422101201"), None, None, None),
            Ok("210422101201".into())
        );
        assert_eq!(
            g.village(Some("2104221012010000000"), None, None, None),
            Ok("210422101201".into())
        );
        assert_eq!(
            g.village(Some("210422101299"), None, None, None),
            Err(Unmatched::Code("210422101299".into()))
        );
    }
}
