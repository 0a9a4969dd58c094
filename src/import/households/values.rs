//! The values of a household export as the national systems and offices write them:
//! ID numbers (and what Excel does to them), dates in four forms and months in three,
//! yes and no in five, the vocabularies of relation, category, risk, house grade,
//! schooling, disability, education, health, labour, support and assistance measures.

use calamine::Data;

use super::columns::cell_text;
use crate::domain::id_check_char;
use crate::domain::{
    AidMeasure, Category, DisabilityKind, Education, Health, HouseGrade, LabourSkill, Relation,
    Relief, RiskElimination, RiskType, Schooling, Sex, YearMonth,
};

/// Why an ID number is refused or doubted; the reason in Chinese, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Excel stored it as a number: the last digits are gone (refused).
    Number,
    /// Not 18 characters of digits (and X) in its first 18 (refused).
    Malformed,
    /// The check character does not match (kept, reported).
    CheckDigit,
}

impl IdProblem {
    /// The reason, in Chinese.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            IdProblem::Number => {
                "证件号码被 Excel 存成了数字（如 2.10499E+17），末几位已丢失，无法还原：请把该列设为文本后重新导出"
            }
            IdProblem::Malformed => {
                "证件号码不是 18 位身份证号（残疾人证等 20、22 位证号取前 18 位）"
            }
            IdProblem::CheckDigit => "证件号码校验位不符，已按原样导入，请核实",
        }
    }
}

/// An ID number as stored: the 18-character resident ID (a 20- or 22-character 残疾人证
/// number holds it in its first 18), upper case; or why not.
///
/// # Errors
/// [`IdProblem::Number`] for a number cell or scientific notation, [`IdProblem::Malformed`]
/// for anything else that is not an ID. A wrong check digit is not an error here: see
/// [`check_digit_ok`].
pub fn id_number(cell: &Data) -> Result<String, IdProblem> {
    match cell {
        Data::Float(_) | Data::Int(_) => return Err(IdProblem::Number),
        _ => {}
    }
    let text = cell_text(cell).ok_or(IdProblem::Malformed)?;
    let text = text.trim_start_matches(['\'', '`']).to_uppercase();
    if text.contains('E') && text.contains('.') {
        return Err(IdProblem::Number);
    }
    if !matches!(text.chars().count(), 18 | 20 | 22) {
        return Err(IdProblem::Malformed);
    }
    let id: String = text.chars().take(18).collect();
    let shape = id.chars().take(17).all(|c| c.is_ascii_digit())
        && id
            .chars()
            .nth(17)
            .is_some_and(|c| c.is_ascii_digit() || c == 'X');
    if !shape {
        return Err(IdProblem::Malformed);
    }
    Ok(id)
}

/// Whether an 18-character ID's check character is right (GB 11643, ISO 7064 MOD 11-2).
#[must_use]
pub fn check_digit_ok(id: &str) -> bool {
    id.get(..17)
        .and_then(id_check_char)
        .is_some_and(|c| id.ends_with(c))
}

/// The birth date an ID number holds, `(year, month, day)`, if it is a date.
#[must_use]
pub fn id_birth(id: &str) -> Option<(i32, u32, u32)> {
    let y = id.get(6..10)?.parse().ok()?;
    let m = id.get(10..12)?.parse().ok()?;
    let d = id.get(12..14)?.parse().ok()?;
    valid_date(y, m, d)
}

/// The sex an ID number holds: its 17th digit, odd for men.
#[must_use]
pub fn id_sex(id: &str) -> Option<Sex> {
    let d = id.chars().nth(16)?.to_digit(10)?;
    Some(if d % 2 == 1 { Sex::Male } else { Sex::Female })
}

fn valid_date(y: i32, m: u32, d: u32) -> Option<(i32, u32, u32)> {
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2100).contains(&y) && (1..=days).contains(&d)).then_some((y, m, d))
}

/// A date as offices write it: an Excel date or serial number, `YYYY-MM-DD`,
/// `YYYY/MM/DD`, `YYYY.MM.DD`, `YYYYMMDD`, `YYYY年M月D日`; a month alone (`YYYYMM`,
/// `YYYY-MM`, `YYYY年M月`) is its first day.
#[must_use]
pub fn date(cell: &Data) -> Option<(i32, u32, u32)> {
    let serial = match cell {
        Data::DateTime(d) => Some(d.as_f64()),
        Data::Float(f) if (1.0..100_000.0).contains(f) => Some(*f),
        Data::Int(i) if (1..100_000).contains(i) => Some(*i as f64),
        _ => None,
    };
    if let Some(serial) = serial {
        // Excel's day 0 is 1899-12-30 once its phantom 1900-02-29 is allowed for.
        let days = serial.floor() as i64 - 25_569;
        let text = crate::domain::calendar::civil_date(days);
        return date_text(&text);
    }
    date_text(&cell_text(cell)?)
}

fn date_text(text: &str) -> Option<(i32, u32, u32)> {
    let parts: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let num = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [one] if one.len() == 8 => {
            valid_date(one[..4].parse().ok()?, num(&one[4..6])?, num(&one[6..])?)
        }
        [one] if one.len() == 6 => valid_date(one[..4].parse().ok()?, num(&one[4..])?, 1),
        [y, m] if y.len() == 4 => valid_date(y.parse().ok()?, num(m)?, 1),
        [y, m, d, ..] if y.len() == 4 => valid_date(y.parse().ok()?, num(m)?, num(d)?),
        _ => None,
    }
}

/// Whole years from a birth date to `on`.
#[must_use]
pub fn age_on(birth: (i32, u32, u32), on: (i32, u32, u32)) -> Option<u8> {
    let had_birthday = (on.1, on.2) >= (birth.1, birth.2);
    let years = on.0 - birth.0 - i32::from(!had_birthday);
    u8::try_from(years).ok()
}

/// Yes or no as the systems write it: 是/否, 1/0, √/×, 有/无, Y/N, true/false; `None` for
/// an empty or unknown cell.
#[must_use]
pub fn yes_no(cell: &Data) -> Option<bool> {
    match cell {
        Data::Bool(b) => return Some(*b),
        #[expect(clippy::float_cmp, reason = "the codes are exactly 0 and 1")]
        Data::Float(f) if *f == 0.0 || *f == 1.0 => return Some(*f == 1.0),
        Data::Int(i) if *i == 0 || *i == 1 => return Some(*i == 1),
        _ => {}
    }
    let text = cell_text(cell)?;
    let yes = [
        "是",
        "1",
        "√",
        "✓",
        "✔",
        "有",
        "y",
        "yes",
        "true",
        "已解决",
        "已参加",
        "已参保",
        "参加",
        "已消除",
    ];
    let no = [
        "否",
        "0",
        "×",
        "✗",
        "无",
        "n",
        "no",
        "false",
        "未解决",
        "未参加",
        "未参保",
        "未消除",
    ];
    let key = text.to_lowercase();
    if yes.contains(&key.as_str()) {
        Some(true)
    } else if no.contains(&key.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// The relation to the head: words (户主, 本人, 配偶, 之子, 长女 …) or the codes of
/// GB/T 4761 (01 本人, 02 户主, 1x 配偶, 2x 子, 3x 女, 4x 孙, 5x 父母).
#[must_use]
pub fn relation(text: &str) -> Relation {
    let t = text.trim();
    if let Ok(code) = t.parse::<u32>() {
        return match code {
            1 | 2 => Relation::Head,
            10..=19 => Relation::Spouse,
            20..=39 => Relation::Child,
            40..=49 => Relation::Grandchild,
            50..=59 => Relation::Parent,
            _ => Relation::Other,
        };
    }
    if matches!(t, "户主" | "本人" | "本人(户主)") {
        Relation::Head
    } else if t.contains("配偶") || matches!(t, "妻" | "夫" | "妻子" | "丈夫") {
        Relation::Spouse
    } else if t.contains('孙') {
        Relation::Grandchild
    } else if t.contains("子") || t.contains('女') {
        Relation::Child
    } else if t.contains("父") || t.contains("母") {
        Relation::Parent
    } else {
        Relation::Other
    }
}

/// The category from the 防返贫 columns (户类型 and 监测对象类别, blank when not
/// monitored) or the 建档立卡 one (脱贫属性). `Err` carries the value not understood.
///
/// # Errors
/// The text of the column that names no category.
pub fn category(
    household_type: Option<&str>,
    monitoring: Option<&str>,
    lifted: Option<&str>,
) -> Result<Option<Category>, String> {
    let named = |t: &str| -> Option<Category> {
        match t {
            "脱贫不稳定户" | "脱贫不稳定" => Some(Category::MonitoredUnstable),
            "边缘易致贫户" | "边缘易致贫" | "边缘户" => {
                Some(Category::MonitoredMarginal)
            }
            "突发严重困难户" | "突发严重困难" => Some(Category::MonitoredSudden),
            "稳定脱贫不享受政策" | "稳定脱贫不享受政策户" => {
                Some(Category::StableNoPolicy)
            }
            "脱贫户" | "已脱贫" | "脱贫" | "稳定脱贫" | "脱贫享受政策" => {
                Some(Category::Lifted)
            }
            "一般农户" | "一般户" | "非贫困户" => Some(Category::Ordinary),
            "未脱贫" | "未脱贫户" | "返贫" | "返贫户" | "贫困户" => {
                Some(Category::Poor)
            }
            _ => None,
        }
    };
    if let Some(m) = clean(monitoring) {
        return match named(m) {
            Some(c) if c.is_monitored() => Ok(Some(c)),
            _ => Err(m.to_owned()),
        };
    }
    let lifted_or = |default: Category| match clean(lifted) {
        Some(l) => named(l).map(Some).ok_or_else(|| l.to_owned()),
        None => Ok(Some(default)),
    };
    match clean(household_type) {
        // A registered household (建档立卡户) is lifted or not as 脱贫属性 says.
        Some("贫困户" | "建档立卡贫困户" | "建档立卡户") => {
            lifted_or(Category::Poor)
        }
        Some(t) => named(t).map(Some).ok_or_else(|| t.to_owned()),
        None => match clean(lifted) {
            Some(l) => named(l).map(Some).ok_or_else(|| l.to_owned()),
            None => Ok(None),
        },
    }
}

fn clean(t: Option<&str>) -> Option<&str> {
    t.map(str::trim)
        .filter(|t| !t.is_empty() && *t != "无" && *t != "否")
}

/// The main risk (致贫/返贫风险1, or 致贫原因1 of the 建档立卡 system).
#[must_use]
pub fn risk(text: &str) -> RiskType {
    let t = text.trim();
    if t.contains('病') {
        RiskType::Illness
    } else if t.contains('学') {
        RiskType::Schooling
    } else if t.contains('残') {
        RiskType::Disability
    } else if t.contains('灾') {
        RiskType::Disaster
    } else if t.contains("意外") {
        RiskType::Accident
    } else if t.contains("劳动力") || t.contains("劳力") {
        RiskType::LackOfLabour
    } else if t.contains("住房") {
        RiskType::HousingSafety
    } else if t.contains("饮水") {
        RiskType::WaterSafety
    } else {
        RiskType::Other
    }
}

/// A house grade: A/B/C/D (with 级), 未鉴定.
#[must_use]
pub fn house_grade(text: &str) -> Option<HouseGrade> {
    let t = text.trim().trim_end_matches('级').to_uppercase();
    match t.as_str() {
        "A" => Some(HouseGrade::A),
        "B" => Some(HouseGrade::B),
        "C" => Some(HouseGrade::C),
        "D" => Some(HouseGrade::D),
        "未鉴定" | "无" | "" => Some(HouseGrade::Unappraised),
        _ => None,
    }
}

/// A schooling state as written in 在校生状况 (and 失学或辍学原因 beside it): `None` for
/// a person the column says nothing about.
#[must_use]
pub fn schooling(state: Option<&str>, dropout_reason: Option<&str>) -> Option<Schooling> {
    if dropout_reason.is_some_and(|r| !r.trim().is_empty() && r.trim() != "无") {
        return Some(Schooling::OutOfSchool);
    }
    let t = state?.trim();
    if t.contains("辍学") || t.contains("失学") || t.starts_with('非') || t.contains("未在校")
    {
        Some(Schooling::OutOfSchool)
    } else if t.contains("送教") {
        Some(Schooling::TaughtAtHome)
    } else if t.is_empty() {
        None
    } else {
        Some(Schooling::InSchool)
    }
}

/// A disability grade 1–4 from 残疾等级 (一级, 2级, 肢体三级, 4 …); `None` for none.
/// `Err` for a cell that is neither empty, none nor a grade.
///
/// # Errors
/// The text not understood.
pub fn disability(text: Option<&str>) -> Result<Option<u8>, String> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if matches!(t, "无" | "否" | "健全" | "非残疾" | "0") {
        return Ok(None);
    }
    for (grade, words) in [
        (1, ["一级", "1级", "1"]),
        (2, ["二级", "2级", "2"]),
        (3, ["三级", "3级", "3"]),
        (4, ["四级", "4级", "4"]),
    ] {
        if words.iter().any(|w| t.ends_with(w)) {
            return Ok(Some(grade));
        }
    }
    Err(t.to_owned())
}

/// A disability cell: its kind, its grade or both, as one column (残疾类别, 残疾等级) or
/// the combined one (残疾类别/残疾等级: `肢体二级`, `视力残疾一级`, `二级肢体`, `智力/3`)
/// writes it; `(None, None)` for an empty cell or none (无, 健全).
///
/// # Errors
/// The text, when it names no kind and is no grade, or holds more than a kind and a
/// grade (`严重`, `肢体五级`).
pub fn disability_cell(text: Option<&str>) -> Result<(Option<DisabilityKind>, Option<u8>), String> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((None, None));
    };
    let kind = disability_kind(t);
    let rest: String = match kind {
        Some(k) => t.replacen(k.label_zh(), "", 1),
        None => t.to_owned(),
    };
    let rest = rest
        .replace("残疾", "")
        .trim_matches(|c: char| c.is_whitespace() || "/、,，-_()（）".contains(c))
        .to_owned();
    if rest.is_empty() {
        return Ok((kind, None));
    }
    match disability(Some(&rest)) {
        Ok(grade) => Ok((kind, grade)),
        Err(_) => Err(t.to_owned()),
    }
}

/// The kind of disability a text names (肢体, 肢体残疾, 视力 …), or `None`.
#[must_use]
pub fn disability_kind(text: &str) -> Option<DisabilityKind> {
    let t = text.trim();
    // 多重 first: "多重残疾" names no other kind, but a list of kinds is several.
    DisabilityKind::ALL
        .iter()
        .rev()
        .copied()
        .find(|k| t.contains(k.label_zh()) || t == k.code())
        .or_else(|| (t.contains("语言") || t.contains("言语")).then_some(DisabilityKind::Speech))
}

/// Education (文化程度) in the words offices use; `None` for anything else.
#[must_use]
pub fn education(text: &str) -> Option<Education> {
    let t = text.trim();
    if let Some(e) = Education::ALL
        .iter()
        .copied()
        .find(|e| t == e.label_zh() || t == e.code())
    {
        return Some(e);
    }
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["学龄前", "学前"]) {
        Some(Education::Preschool)
    } else if has(&["文盲", "不识字", "识字很少"]) {
        Some(Education::Illiterate)
    } else if has(&["大专", "本科", "大学", "研究生", "硕士", "博士"]) {
        Some(Education::College)
    } else if has(&["高中", "中专", "职高", "技校", "中职"]) {
        Some(Education::SeniorHigh)
    } else if has(&["初中"]) {
        Some(Education::JuniorHigh)
    } else if has(&["小学"]) {
        Some(Education::Primary)
    } else {
        None
    }
}

/// Health (健康状况): 健康, 长期慢性病, 患有大病 (大病), 残疾; `None` for anything else.
#[must_use]
pub fn health(text: &str) -> Option<Health> {
    let t = text.trim();
    if t.contains("大病") || t.contains("重病") {
        Some(Health::SeriousIllness)
    } else if t.contains("慢性病") {
        Some(Health::Chronic)
    } else if t.contains('残') {
        Some(Health::Disabled)
    } else if matches!(t, "健康" | "良好" | "healthy") {
        Some(Health::Healthy)
    } else {
        Health::from_code(t)
    }
}

/// Capacity to work (劳动技能): 普通劳动力, 技能劳动力, 弱劳动力或半劳动力, 丧失劳动力,
/// 无劳动力 (and the shorter 普通, 技能, 弱劳动力, 半劳动力 …); `None` for anything else.
#[must_use]
pub fn labour_skill(text: &str) -> Option<LabourSkill> {
    let t = text.trim();
    if t.contains("丧失") {
        Some(LabourSkill::Lost)
    } else if t.starts_with('无') {
        Some(LabourSkill::NoLabour)
    } else if t.contains('弱') || t.contains('半') {
        Some(LabourSkill::Weak)
    } else if t.contains("技能") {
        Some(LabourSkill::Skilled)
    } else if t.contains("普通") {
        Some(LabourSkill::Ordinary)
    } else {
        LabourSkill::from_code(t)
    }
}

/// Months worked away (务工时间（月）): 0 to 12, as a number or `3个月`; `Ok(None)` for an
/// empty cell.
///
/// # Errors
/// The text, for anything that is not a whole number of months from 0 to 12.
pub fn work_months(cell: &Data) -> Result<Option<u8>, String> {
    let Some(text) = cell_text(cell) else {
        return Ok(None);
    };
    let digits = text.trim_end_matches("个月").trim_end_matches('月').trim();
    match digits.parse::<u8>() {
        Ok(m) if m <= 12 => Ok(Some(m)),
        _ => Err(text),
    }
}

/// A month as the monitoring system writes it: `YYYYMM` (text or a number cell),
/// `YYYY-MM`, `YYYY年M月`, a whole date (its month), or an Excel date or serial.
#[must_use]
pub fn year_month(cell: &Data) -> Option<YearMonth> {
    let yyyymm = match cell {
        #[expect(clippy::float_cmp, reason = "a whole number is exactly its truncation")]
        Data::Float(f) if f.trunc() == *f && (190_001.0..=210_012.0).contains(f) => Some(*f as i64),
        Data::Int(i) if (190_001..=210_012).contains(i) => Some(*i),
        _ => None,
    };
    let (y, m) = if let Some(n) = yyyymm {
        (n / 100, n % 100)
    } else {
        let (y, m, _) = date(cell)?;
        (i64::from(y), i64::from(m))
    };
    YearMonth::new(u16::try_from(y).ok()?, u8::try_from(m).ok()?)
}

/// How a risk was removed (风险消除方式): 帮扶消除 (经帮扶消除), 自然消除 (风险自然消失).
#[must_use]
pub fn risk_elimination(text: &str) -> Option<RiskElimination> {
    let t = text.trim();
    if t.contains("帮扶") {
        Some(RiskElimination::Assisted)
    } else if t.contains("自然") {
        Some(RiskElimination::Natural)
    } else {
        RiskElimination::from_code(t)
    }
}

/// The household's support (享受低保/特困供养政策情况): 低保, 特困 (特困供养), both, or
/// 无 (否, 未享受); `None` for anything else.
#[must_use]
pub fn relief(text: &str) -> Option<Relief> {
    let t = text.trim();
    match (t.contains("低保"), t.contains("特困")) {
        (true, true) => Some(Relief::Both),
        (true, false) => Some(Relief::Subsistence),
        (false, true) => Some(Relief::ExtremePoverty),
        (false, false) if matches!(t, "无" | "否" | "未享受" | "不享受" | "均未享受") => {
            Some(Relief::Neither)
        }
        (false, false) => Relief::from_code(t),
    }
}

/// One assistance measure by name, with the names offices also use (公益性岗位, 兜底保障,
/// 扶贫小额信贷, 雨露计划 …); `None` for a name paicha does not know.
#[must_use]
pub fn aid_measure(name: &str) -> Option<AidMeasure> {
    let t = name.trim();
    if let Some(m) = AidMeasure::ALL
        .iter()
        .copied()
        .find(|m| t == m.label_zh() || t == m.code())
    {
        return Some(m);
    }
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["公益", "护林", "保洁"]) {
        Some(AidMeasure::PublicJob)
    } else if has(&["产业"]) {
        Some(AidMeasure::Industry)
    } else if has(&["就业", "务工", "技能培训"]) {
        Some(AidMeasure::Employment)
    } else if has(&["健康", "医疗"]) {
        Some(AidMeasure::Health)
    } else if has(&["教育", "雨露", "助学"]) {
        Some(AidMeasure::Education)
    } else if has(&["危房", "住房"]) {
        Some(AidMeasure::Housing)
    } else if has(&["饮水", "供水"]) {
        Some(AidMeasure::Water)
    } else if has(&["信贷", "贷款"]) {
        Some(AidMeasure::MicroCredit)
    } else if has(&["保障", "兜底"]) {
        Some(AidMeasure::SocialSecurity)
    } else if has(&["生活条件", "人居"]) {
        Some(AidMeasure::LivingConditions)
    } else {
        None
    }
}

/// The measures of a 帮扶措施 cell (names separated by 、 , ， ; ； / or spaces; 无 for
/// none), each once in [`AidMeasure::ALL`] order, and the names not understood.
#[must_use]
pub fn aid_measures(text: &str) -> (Vec<AidMeasure>, Vec<String>) {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for name in text
        .split(|c: char| c.is_whitespace() || "、,，;；/|".contains(c))
        .map(str::trim)
        .filter(|n| !n.is_empty() && !matches!(*n, "无" | "否"))
    {
        match aid_measure(name) {
            Some(m) => found.push(m),
            None => unknown.push(name.to_owned()),
        }
    }
    (sorted_measures(found), unknown)
}

/// Measures each once, in [`AidMeasure::ALL`] order: the stored order.
#[must_use]
pub fn sorted_measures(mut measures: Vec<AidMeasure>) -> Vec<AidMeasure> {
    measures.sort_unstable();
    measures.dedup();
    measures
}

/// A number as offices write money: `12,345.6`, `12345元`, a number cell.
#[must_use]
pub fn amount(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(f) => return Some(*f),
        Data::Int(i) => return Some(*i as f64),
        _ => {}
    }
    let text = cell_text(cell)?;
    let clean: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '元'))
        .collect();
    clean.parse().ok().filter(|v: &f64| v.is_finite())
}

/// An angle in decimal degrees (`124.97`, a number cell) or degrees, minutes and
/// seconds (`41°43′12.5″`, `41°43'12.5"`, `41度43分12.5秒`, `E124°58′`).
#[must_use]
pub fn degrees(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(f) => return f.is_finite().then_some(*f),
        Data::Int(i) => return Some(*i as f64),
        _ => {}
    }
    let text = cell_text(cell)?;
    let sign =
        if text.starts_with(['-', 'W', 'S', 'w', 's']) || text.ends_with(['W', 'S', 'w', 's']) {
            -1.0
        } else {
            1.0
        };
    let parts: Vec<f64> = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let value = match parts.as_slice() {
        [d] => *d,
        [d, m] if *m < 60.0 => d + m / 60.0,
        [d, m, s] if *m < 60.0 && *s < 60.0 => d + m / 60.0 + s / 3600.0,
        _ => return None,
    };
    Some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Data {
        Data::String(t.to_owned())
    }

    #[test]
    fn id_numbers_as_written_and_as_excel_ruins_them() {
        assert_eq!(
            id_number(&s("11010519491231002X")).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            id_number(&s("11010519491231002x")).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            id_number(&s("11010519491231002X41")).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(
            id_number(&s("11010519491231002X4102")).unwrap(),
            "11010519491231002X"
        );
        assert_eq!(id_number(&s("2.10499E+17")), Err(IdProblem::Number));
        assert_eq!(id_number(&Data::Float(2.104_99e17)), Err(IdProblem::Number));
        assert_eq!(id_number(&s("1101051949123100")), Err(IdProblem::Malformed));
        assert!(check_digit_ok("11010519491231002X"));
        assert!(!check_digit_ok("110105194912310021"));
        assert_eq!(id_birth("11010519491231002X"), Some((1949, 12, 31)));
        assert_eq!(id_sex("11010519491231002X"), Some(Sex::Female));
    }

    #[test]
    fn dates_in_every_form_offices_use() {
        for text in [
            "2010-03-07",
            "2010/3/7",
            "20100307",
            "2010年3月7日",
            "2010.03.07",
        ] {
            assert_eq!(date(&s(text)), Some((2010, 3, 7)), "{text}");
        }
        assert_eq!(date(&s("202103")), Some((2021, 3, 1)));
        assert_eq!(date(&s("2021年3月")), Some((2021, 3, 1)));
        // Excel's serial 40244 is 2010-03-07.
        assert_eq!(date(&Data::Float(40244.0)), Some((2010, 3, 7)));
        assert_eq!(date(&s("2010-02-30")), None);
        assert_eq!(age_on((2010, 3, 7), (2026, 3, 6)), Some(15));
        assert_eq!(age_on((2010, 3, 7), (2026, 3, 7)), Some(16));
    }

    #[test]
    fn yes_and_no_in_five_spellings() {
        for yes in ["是", "1", "√", "有", "Y"] {
            assert_eq!(yes_no(&s(yes)), Some(true), "{yes}");
        }
        for no in ["否", "0", "×", "无", "n"] {
            assert_eq!(yes_no(&s(no)), Some(false), "{no}");
        }
        assert_eq!(yes_no(&Data::Float(1.0)), Some(true));
        assert_eq!(yes_no(&Data::Empty), None);
        assert_eq!(yes_no(&s("不清楚")), None);
    }

    #[test]
    fn relations_in_words_and_codes() {
        assert_eq!(relation("户主"), Relation::Head);
        assert_eq!(relation("本人"), Relation::Head);
        assert_eq!(relation("02"), Relation::Head);
        assert_eq!(relation("10"), Relation::Spouse);
        assert_eq!(relation("之子"), Relation::Child);
        assert_eq!(relation("长女"), Relation::Child);
        assert_eq!(relation("孙女"), Relation::Grandchild);
        assert_eq!(relation("母亲"), Relation::Parent);
        assert_eq!(relation("儿媳"), Relation::Other);
    }

    #[test]
    fn categories_of_both_systems() {
        assert_eq!(
            category(Some("脱贫户"), None, None),
            Ok(Some(Category::Lifted))
        );
        assert_eq!(
            category(Some("脱贫户"), Some("脱贫不稳定户"), None),
            Ok(Some(Category::MonitoredUnstable))
        );
        assert_eq!(
            category(Some("一般农户"), Some(""), None),
            Ok(Some(Category::Ordinary))
        );
        assert_eq!(
            category(None, None, Some("已脱贫")),
            Ok(Some(Category::Lifted))
        );
        assert_eq!(
            category(None, Some("一般农户"), None),
            Err("一般农户".into())
        );
        // The 建档立卡 system's households not yet lifted out, and the registered ones
        // whose 脱贫属性 says which they are.
        assert_eq!(
            category(None, None, Some("未脱贫")),
            Ok(Some(Category::Poor))
        );
        assert_eq!(
            category(Some("贫困户"), None, Some("已脱贫")),
            Ok(Some(Category::Lifted))
        );
        assert_eq!(
            category(Some("建档立卡贫困户"), None, None),
            Ok(Some(Category::Poor))
        );
        assert_eq!(
            category(Some("贫困户"), None, Some("返贫")),
            Ok(Some(Category::Poor))
        );
        assert_eq!(category(None, None, None), Ok(None));
    }

    #[test]
    fn a_combined_disability_cell_splits_into_kind_and_grade() {
        use DisabilityKind::{Intellectual, Multiple, Physical, Speech, Visual};
        for (text, expected) in [
            ("肢体二级", (Some(Physical), Some(2))),
            ("视力残疾一级", (Some(Visual), Some(1))),
            ("二级肢体", (Some(Physical), Some(2))),
            ("智力/3", (Some(Intellectual), Some(3))),
            ("肢体 4级", (Some(Physical), Some(4))),
            ("多重残疾", (Some(Multiple), None)),
            ("言语", (Some(Speech), None)),
            ("三级", (None, Some(3))),
            ("2", (None, Some(2))),
            ("无", (None, None)),
            ("", (None, None)),
        ] {
            assert_eq!(disability_cell(Some(text)), Ok(expected), "{text}");
        }
        assert_eq!(disability_cell(None), Ok((None, None)));
        assert_eq!(disability_cell(Some("肢体五级")), Err("肢体五级".into()));
        assert_eq!(disability_cell(Some("严重")), Err("严重".into()));
    }

    #[test]
    fn measures_in_one_column_and_their_synonyms() {
        use AidMeasure::{Education, Employment, Housing, Industry, MicroCredit, PublicJob};
        let (found, unknown) = aid_measures("就业帮扶、产业帮扶，公益性岗位帮扶;扶贫小额信贷");
        assert_eq!(found, vec![Industry, Employment, MicroCredit, PublicJob]);
        assert!(unknown.is_empty());
        let (found, unknown) = aid_measures("雨露计划 危房改造 产业帮扶、产业帮扶 种子补贴");
        assert_eq!(found, vec![Industry, Education, Housing]);
        assert_eq!(unknown, vec!["种子补贴".to_owned()]);
        assert_eq!(aid_measures("无"), (vec![], vec![]));
        assert_eq!(aid_measures(""), (vec![], vec![]));
        for m in AidMeasure::ALL {
            assert_eq!(aid_measure(m.label_zh()), Some(*m));
        }
    }

    #[test]
    fn months_as_text_numbers_dates_and_serials() {
        let march = YearMonth::new(2021, 3);
        for cell in [
            s("202103"),
            s("2021-03"),
            s("2021年3月"),
            s("2021/3/15"),
            s("2021-03-15"),
            Data::Float(202_103.0),
            Data::Int(202_103),
            // Excel's serial 44256 is 2021-03-01.
            Data::Float(44_256.0),
        ] {
            assert_eq!(year_month(&cell), march, "{cell:?}");
        }
        assert_eq!(year_month(&s("202113")), None);
        assert_eq!(year_month(&s("三月")), None);
        assert_eq!(year_month(&Data::Empty), None);
    }

    #[test]
    fn person_vocabularies_in_words() {
        assert_eq!(education("文盲或半文盲"), Some(Education::Illiterate));
        assert_eq!(education("中专"), Some(Education::SeniorHigh));
        assert_eq!(education("大专及以上"), Some(Education::College));
        assert_eq!(education("学龄前儿童"), Some(Education::Preschool));
        assert_eq!(education("私塾"), None);
        assert_eq!(health("患有大病"), Some(Health::SeriousIllness));
        assert_eq!(health("长期慢性病"), Some(Health::Chronic));
        assert_eq!(health("残疾"), Some(Health::Disabled));
        assert_eq!(health("健康"), Some(Health::Healthy));
        assert_eq!(health("一般"), None);
        assert_eq!(labour_skill("弱劳动力或半劳动力"), Some(LabourSkill::Weak));
        assert_eq!(labour_skill("丧失劳动力"), Some(LabourSkill::Lost));
        assert_eq!(labour_skill("无劳动力"), Some(LabourSkill::NoLabour));
        assert_eq!(labour_skill("技能劳动力"), Some(LabourSkill::Skilled));
        assert_eq!(labour_skill("普通劳动力"), Some(LabourSkill::Ordinary));
        assert_eq!(labour_skill("很强"), None);
        assert_eq!(work_months(&s("6")), Ok(Some(6)));
        assert_eq!(work_months(&Data::Float(12.0)), Ok(Some(12)));
        assert_eq!(work_months(&s("3个月")), Ok(Some(3)));
        assert_eq!(work_months(&Data::Empty), Ok(None));
        assert_eq!(work_months(&s("13")), Err("13".into()));
        assert_eq!(work_months(&Data::Float(2.5)), Err("2.5".into()));
        assert_eq!(
            risk_elimination("帮扶消除"),
            Some(RiskElimination::Assisted)
        );
        assert_eq!(
            risk_elimination("风险自然消失"),
            Some(RiskElimination::Natural)
        );
        assert_eq!(risk_elimination("已消除"), None);
        assert_eq!(relief("低保"), Some(Relief::Subsistence));
        assert_eq!(relief("特困供养"), Some(Relief::ExtremePoverty));
        assert_eq!(relief("低保、特困"), Some(Relief::Both));
        assert_eq!(relief("无"), Some(Relief::Neither));
        assert_eq!(relief("临时救助"), None);
    }

    #[test]
    fn grades_schooling_disability_and_money() {
        assert_eq!(house_grade("C级"), Some(HouseGrade::C));
        assert_eq!(house_grade("d"), Some(HouseGrade::D));
        assert_eq!(house_grade("E"), None);
        assert_eq!(
            schooling(Some("非在校生"), None),
            Some(Schooling::OutOfSchool)
        );
        assert_eq!(schooling(Some("初中"), None), Some(Schooling::InSchool));
        assert_eq!(
            schooling(Some("送教上门"), None),
            Some(Schooling::TaughtAtHome)
        );
        assert_eq!(
            schooling(Some("在校"), Some("厌学")),
            Some(Schooling::OutOfSchool)
        );
        assert_eq!(schooling(None, None), None);
        assert_eq!(disability(Some("肢体二级")), Ok(Some(2)));
        assert_eq!(disability(Some("4")), Ok(Some(4)));
        assert_eq!(disability(Some("无")), Ok(None));
        assert_eq!(disability(Some("严重")), Err("严重".into()));
        assert_eq!(amount(&s("12,345.5元")), Some(12_345.5));
        assert_eq!(degrees(&s("124.97")), Some(124.97));
        let dms = degrees(&s("41°43′12.5″")).unwrap();
        assert!(
            (dms - (41.0 + 43.0 / 60.0 + 12.5 / 3600.0)).abs() < 1e-12,
            "{dms}"
        );
        assert_eq!(degrees(&s("41度30分")), Some(41.5));
        assert_eq!(degrees(&s("41°75′")), None);
    }
}
