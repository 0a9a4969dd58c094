//! Synthetic people: names and ID numbers that can never match a real person.
//!
//! ID numbers follow GB 11643-1999 (address code, birth date, sequence, ISO 7064
//! MOD 11-2 check digit) but use address codes 210490–210499, which do not exist
//! (Fushun's real county-level codes stop at 210481), so no synthetic number is any
//! real citizen's.

use std::collections::HashMap;

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::domain::Sex;

/// The non-existent address codes used, from the first to the last resort.
const FAKE_REGION_CODES: std::ops::RangeInclusive<u32> = 210_490..=210_499;
/// Sequence numbers per birth date and sex within one address code (odd for men,
/// even for women, three digits).
const SEQUENCES_PER_CODE: u32 = 500;

pub use crate::domain::id_check_char;

/// Hands out unique synthetic ID numbers, in a deterministic order.
#[derive(Debug, Default)]
pub struct IdNumbers {
    /// Numbers issued so far per (birth date as YYYYMMDD, sex).
    issued: HashMap<(u32, Sex), u32>,
}

/// Every fake address code is used up for one birth date and sex.
#[derive(Debug, thiserror::Error)]
#[error("more than {capacity} synthetic people born on {date} of one sex")]
pub struct IdsExhausted {
    /// Birth date, YYYYMMDD.
    pub date: u32,
    /// How many numbers one date and sex can take.
    pub capacity: u32,
}

impl IdNumbers {
    /// The next unused ID number for a birth date (YYYYMMDD) and sex.
    ///
    /// # Errors
    /// [`IdsExhausted`] past 5,000 people of one sex born on one day.
    pub fn issue(&mut self, birth_yyyymmdd: u32, sex: Sex) -> Result<String, IdsExhausted> {
        let n = self.issued.entry((birth_yyyymmdd, sex)).or_insert(0);
        let codes = FAKE_REGION_CODES.end() - FAKE_REGION_CODES.start() + 1;
        let capacity = codes * SEQUENCES_PER_CODE;
        if *n >= capacity {
            return Err(IdsExhausted {
                date: birth_yyyymmdd,
                capacity,
            });
        }
        let region = FAKE_REGION_CODES.end() - *n / SEQUENCES_PER_CODE;
        let k = *n % SEQUENCES_PER_CODE;
        let seq = match sex {
            Sex::Male => 2 * k + 1,
            Sex::Female => 2 * k,
        };
        *n += 1;
        let first17 = format!("{region}{birth_yyyymmdd:08}{seq:03}");
        // first17 is 17 digits by construction.
        let check = id_check_char(&first17).unwrap_or('0');
        Ok(format!("{first17}{check}"))
    }
}

/// Common surnames of the Fushun region, Han and Manchu (佟, 关, 富, 那, 肇, 赫 …),
/// roughly by frequency (earlier ones are drawn more often).
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "赵", "孙", "杨", "于", "陈", "佟", "关", "徐", "高", "马", "郭", "董",
    "金", "白", "何", "吴", "富", "那", "肇", "鲁", "隋", "曲", "韩", "宋", "郑", "姜", "付", "胡",
    "周", "唐", "罗", "赫", "索", "常", "邢", "崔",
];
const GIVEN_MALE: &[&str] = &[
    "国", "建", "军", "明", "志", "永", "德", "玉", "庆", "福", "海", "春", "长", "宝", "成", "利",
    "东", "文", "立", "伟", "强", "刚", "峰", "宇", "鹏", "涛", "林", "贵", "山", "广",
];
const GIVEN_FEMALE: &[&str] = &[
    "秀", "玉", "凤", "英", "桂", "兰", "丽", "艳", "红", "霞", "静", "敏", "芳", "娟", "梅", "华",
    "琴", "云", "淑", "萍", "莉", "雪", "婷", "欣", "月", "春", "金", "彩", "荣", "杰",
];

/// A surname, drawn with a bias to the common ones.
pub fn surname(rng: &mut impl Rng) -> &'static str {
    // Squaring a uniform draw favours the front of the list.
    let u: f64 = rng.random();
    let i = ((u * u) * SURNAMES.len() as f64) as usize;
    SURNAMES[i.min(SURNAMES.len() - 1)]
}

/// A full name with the given surname: one or two given-name characters.
pub fn full_name(rng: &mut impl Rng, surname: &str, sex: Sex) -> String {
    let pool = match sex {
        Sex::Male => GIVEN_MALE,
        Sex::Female => GIVEN_FEMALE,
    };
    let mut name = String::from(surname);
    let parts = if rng.random_bool(0.7) { 2 } else { 1 };
    for _ in 0..parts {
        name.push_str(pool.choose(rng).copied().unwrap_or("明"));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_check_digit_matches_the_standard_example() {
        // The worked example of GB 11643-1999.
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        assert_eq!(id_check_char("4401021990010100"), None);
        assert_eq!(id_check_char("4401021990010100a"), None);
    }

    #[test]
    fn issued_numbers_are_unique_valid_and_fake() {
        let mut ids = IdNumbers::default();
        let mut seen = std::collections::HashSet::new();
        for i in 0..1200 {
            let sex = if i % 3 == 0 { Sex::Female } else { Sex::Male };
            let id = ids.issue(19_650_301, sex).unwrap();
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("21049"), "{id}");
            assert_eq!(id_check_char(&id[..17]), id.chars().last());
            let seq: u32 = id[14..17].parse().unwrap();
            assert_eq!(seq % 2 == 1, sex == Sex::Male, "{id}");
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn numbers_run_out_with_an_error_not_a_collision() {
        let mut ids = IdNumbers::default();
        for _ in 0..5000 {
            ids.issue(20_000_101, Sex::Male).unwrap();
        }
        assert!(ids.issue(20_000_101, Sex::Male).is_err());
        assert!(ids.issue(20_000_101, Sex::Female).is_ok());
    }

    #[test]
    fn names_start_with_the_surname() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = surname(&mut rng);
        let n = full_name(&mut rng, s, Sex::Female);
        assert!(n.starts_with(s));
        assert!((2..=3).contains(&n.chars().count()));
    }
}
