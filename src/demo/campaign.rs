//! The demo county's checklist campaign: seed 002's 37-item list checked in every
//! village from July to September 2019, with more problems in poverty villages, most
//! of them rectified, some still open past their deadline and some open but not yet
//! due (found late in the quarter, with a deadline after it).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::ledger::Template;
use crate::domain::ledger::{Campaign, Cycle, Entry, Signoff, Status};

/// The demo campaign's id.
pub const CAMPAIGN_ID: &str = "xinbin-2019-q3";
/// The template it uses: the county's own copy of [`SOURCE_TEMPLATE_ID`].
pub const TEMPLATE_ID: &str = "xinbin-2019";
/// The document's list the county copied: seed 002's 37 items.
pub const SOURCE_TEMPLATE_ID: &str = "lianyungang-2019";

/// A development zone's offices and the county's that do the same work, for the units
/// the source names (区社会事业局 runs schools, health and civil affairs in the zone).
const UNITS: [(&str, &str); 7] = [
    ("各街道", "各乡镇"),
    ("区各相关部门", "县直各相关部门"),
    ("区相关部门", "县直相关部门"),
    ("区社会事业局", "县教育局、县卫健局、县民政局"),
    ("区住建局", "县住建局"),
    ("区人社局", "县人社局"),
    ("资源分局", "县自然资源局"),
];

/// The wording of the zone in the items' text and the county's.
const WORDS: [(&str, &str); 3] = [
    ("街道", "乡镇"),
    ("区相关部门", "县相关部门"),
    ("区级", "县级"),
];

/// The demo county's copy of seed 002's list: the items as the document has them, the
/// responsible units and wording of a county (各乡镇, 县财政局) instead of a
/// development zone's (各街道, 区财政局), as a county office would edit its copy.
#[must_use]
pub fn county_template(source: &Template) -> Template {
    let mut t = source.clone();
    TEMPLATE_ID.clone_into(&mut t.id);
    "新宾县脱贫攻坚问题大排查清单".clone_into(&mut t.name);
    "辽宁省抚顺市新宾满族自治县".clone_into(&mut t.region);
    t.source = format!(
        "{}（复制自 {}，责任单位按本县调整）",
        source.source, source.id
    );
    let replace = |text: &str, table: &[(&str, &str)]| {
        table
            .iter()
            .fold(text.to_owned(), |acc, (from, to)| acc.replace(from, to))
    };
    for item in &mut t.items {
        item.content = replace(&item.content, &WORDS);
        item.responsible_unit = item.responsible_unit.as_deref().map(|u| {
            // 区财政局 and the like: the county's office of the same name.
            replace(u, &UNITS).replace("区财政局", "县财政局")
        });
    }
    t
}
/// The day the demo ledger describes (the campaign's last day).
pub const AS_OF: &str = "2019-09-30";

/// Day `d` (0-based) after 2019-07-01, as `YYYY-MM-DD`.
fn day(d: u32) -> String {
    crate::domain::calendar::add_days("2019-07-01", d as usize).unwrap_or_else(|| AS_OF.into())
}

/// What was found, by the kind of item.
const PROBLEMS: [&str; 6] = [
    "部分户档案信息与系统不一致",
    "帮扶措施未落实到户",
    "个别农户房屋安全等级未鉴定",
    "饮水工程管护责任未明确",
    "公示公告不规范",
    "台账资料缺失",
];
const RECTIFICATION_MEASURES: [&str; 6] = [
    "逐户核对并更新系统信息",
    "制定帮扶计划并落实到户",
    "联系住建部门完成鉴定",
    "明确管护主体并签订协议",
    "按要求重新公示",
    "补齐台账并专人管理",
];
const ROLES: [&str; 4] = ["村党支部书记", "驻村第一书记", "村委会主任", "包村干部"];

/// The campaign over `villages` ((code, is a poverty village)), deterministic per seed.
#[must_use]
pub fn generate(
    villages: &[(String, bool)],
    template: &Template,
    area_code: &str,
    seed: u64,
) -> (Campaign, Vec<Entry>) {
    let campaign = Campaign {
        id: CAMPAIGN_ID.into(),
        name: "新宾县2019年脱贫攻坚问题大排查".into(),
        template_id: template.id.clone(),
        area_code: area_code.into(),
        starts: "2019-07-01".into(),
        ends: AS_OF.into(),
        cycle: Cycle::Monthly,
        due_day: 25,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(9_999);
    let mut entries = Vec::with_capacity(villages.len() * template.items.len());
    for (code, poor) in villages {
        // A few villages are behind: some items not yet checked.
        let behind = rng.random_bool(0.05);
        for item in &template.items {
            let mut e = Entry {
                status: Status::NoProblem,
                ..Entry::unchecked(
                    &campaign.id,
                    code,
                    item.position,
                    "演示数据",
                    &format!("{AS_OF}T18:00:00+08:00"),
                )
            };
            if behind && rng.random_bool(0.4) {
                e.status = Status::NotChecked;
                entries.push(e);
                continue;
            }
            if rng.random_bool(if *poor { 0.16 } else { 0.06 }) {
                let k = rng.random_range(0..PROBLEMS.len());
                // Found over the quarter; a deadline two weeks to two months on, so
                // that problems found late are still open, not yet due, on AS_OF.
                let found = rng.random_range(5..80);
                let deadline = found + rng.random_range(14..60);
                e.problem = Some(PROBLEMS[k].into());
                e.measure = Some(RECTIFICATION_MEASURES[k].into());
                e.deadline = Some(day(deadline));
                e.responsible = Some(ROLES[rng.random_range(0..ROLES.len())].into());
                let roll: f64 = rng.random();
                e.status = if roll < 0.35 {
                    Status::Closed
                } else if roll < 0.55 {
                    Status::Rectified
                } else if roll < 0.85 {
                    Status::Rectifying
                } else {
                    Status::Problem
                };
                if matches!(e.status, Status::Rectified | Status::Closed) {
                    let done = day((deadline - rng.random_range(0..10)).min(91));
                    e.result = Some("已完成整改".into());
                    e.secretary = Some(Signoff {
                        who: "村党支部书记".into(),
                        at: done.clone(),
                    });
                    e.first_secretary = Some(Signoff {
                        who: "驻村第一书记".into(),
                        at: done.clone(),
                    });
                    if e.status == Status::Closed {
                        e.group_leader = Some(Signoff {
                            who: "督查组组长".into(),
                            at: done,
                        });
                    }
                } else if e.status == Status::Rectifying {
                    e.result = Some("整改推进中".into());
                }
            }
            entries.push(e);
        }
    }
    (campaign, entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn days_run_from_july_to_september() {
        assert_eq!(day(0), "2019-07-01");
        assert_eq!(day(30), "2019-07-31");
        assert_eq!(day(31), "2019-08-01");
        assert_eq!(day(62), "2019-09-01");
        assert_eq!(day(91), "2019-09-30");
        assert_eq!(day(92), "2019-10-01");
    }

    #[test]
    fn the_county_copy_speaks_of_the_county() {
        let builtin = crate::ledger::checklist::builtin().unwrap();
        let source = builtin.iter().find(|t| t.id == SOURCE_TEMPLATE_ID).unwrap();
        let copy = county_template(source);
        assert_eq!(copy.id, TEMPLATE_ID);
        assert_eq!(copy.items.len(), source.items.len());
        for (item, original) in copy.items.iter().zip(&source.items) {
            let unit = item.responsible_unit.as_deref().unwrap_or_default();
            assert!(
                !unit.contains("街道") && !unit.contains('区'),
                "item {}: {unit}",
                item.position
            );
            assert!(!item.content.contains("街道"), "item {}", item.position);
            assert_eq!(item.category, original.category);
            assert_eq!(item.number, original.number);
        }
        assert_eq!(copy.items[0].responsible_unit.as_deref(), Some("各乡镇"));
        assert!(copy.items[0].content.starts_with("各乡镇是否做好进度安排"));
    }
}
