//! The demo's accounts, one per role, all with one password printed in the README:
//! only the synthetic demo has them (a real database starts with none).

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::accounts::{AccountError, hash_password};
use crate::domain::access::{Grant, Principal, Role};
use crate::domain::calendar;
use crate::store::accounts::Account;

pub use crate::accounts::DEMO_PASSWORD as PASSWORD;

/// The demo's department account's department: the education bureau (教育局).
pub const DEMO_DEPARTMENT: &str = "教育";

/// Villages drawn for the demo's evaluator.
const EVALUATOR_SAMPLE: usize = 3;

/// The demo's accounts over its top area (the county, or the city), its first
/// townships and their villages (`(township, villages)` in code order).
///
/// # Errors
/// [`AccountError`] if hashing fails.
pub fn accounts(
    top: &str,
    townships: &[(String, Vec<String>)],
    seed: u64,
) -> Result<Vec<Account>, AccountError> {
    let grant = |role, area: &str| Grant {
        role,
        area: area.to_owned(),
        until: None,
        department: None,
    };
    let (first, first_villages) = &townships[0];
    let second = townships.get(1).map_or(first, |(t, _)| t);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let all_villages: Vec<&String> = townships.iter().flat_map(|(_, v)| v).collect();
    let mut sample: Vec<String> = all_villages
        .choose_multiple(&mut rng, EVALUATOR_SAMPLE)
        .map(|v| (*v).clone())
        .collect();
    sample.sort();
    let people: Vec<(&str, &str, Vec<Grant>)> = vec![
        ("admin", "系统管理员（演示）", vec![grant(Role::Admin, top)]),
        (
            "analyst",
            "扶贫办分析员（演示）",
            vec![grant(Role::Analyst, top)],
        ),
        ("leader", "县领导（演示）", vec![grant(Role::Leader, top)]),
        (
            "township",
            "乡镇干部（演示）",
            vec![grant(Role::Township, first)],
        ),
        (
            "village",
            "村书记（演示）",
            vec![grant(Role::Village, &first_villages[0])],
        ),
        (
            "group",
            "督查组组长（演示）",
            vec![grant(Role::Group, first), grant(Role::Group, second)],
        ),
        (
            "evaluator",
            "第三方评估员（演示）",
            sample.iter().map(|v| grant(Role::Evaluator, v)).collect(),
        ),
        (
            "department",
            "教育局（演示）",
            vec![Grant {
                department: Some(DEMO_DEPARTMENT.to_owned()),
                ..grant(Role::Department, top)
            }],
        ),
    ];
    let created_at = calendar::utc_timestamp();
    people
        .into_iter()
        .map(|(user, display, grants)| {
            Ok(Account {
                principal: Principal {
                    user: user.to_owned(),
                    display: display.to_owned(),
                    grants,
                },
                password_hash: hash_password(PASSWORD)?,
                created_at: created_at.clone(),
                disabled_at: None,
            })
        })
        .collect()
}
