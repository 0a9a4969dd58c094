//! Person rows judged as households: grouped by 户编号, one head each, places matched,
//! ages counted to the data date, IDs unique; what a commit writes.

use std::collections::{BTreeMap, HashMap};

use super::places::{Gazetteer, Unmatched};
use super::values;
use super::{At, PersonRow, Reader, masked, risk_state, school_age};
use crate::domain::{HouseGrade, Household, Member, Relation, Relief, Schooling};
use crate::import::Severity;

/// Rows named in one problem's reason; more are counted.
const ROWS_NAMED: usize = 20;

impl Reader<'_> {
    /// The households the rows make, and the household each row went to.
    pub(super) fn judge(&mut self, places: &Gazetteer) -> (Vec<Household>, HashMap<At, String>) {
        let rows = std::mem::take(&mut self.rows);
        let on = self.data_date.unwrap_or_else(super::today);
        let mut order: Vec<&str> = Vec::new();
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (_, p)) in rows.iter().enumerate() {
            groups
                .entry(p.household_no.as_str())
                .or_insert_with(|| {
                    order.push(&p.household_no);
                    Vec::new()
                })
                .push(i);
        }
        self.duplicate_ids(&rows);
        let mut matched: HashMap<&[Option<String>; 4], Result<String, Unmatched>> = HashMap::new();
        let mut unmatched: BTreeMap<Unmatched, Vec<At>> = BTreeMap::new();
        let mut households = Vec::with_capacity(order.len());
        let mut home = HashMap::with_capacity(rows.len());
        for no in order {
            let members = &groups[no];
            let Some(head) = self.head(&rows, members) else {
                continue;
            };
            let (at, first) = &rows[head];
            let place = matched.entry(&first.place).or_insert_with(|| {
                let [code, county, township, village] = &first.place;
                places.village(
                    code.as_deref(),
                    county.as_deref(),
                    township.as_deref(),
                    village.as_deref(),
                )
            });
            let village_code = match place {
                Ok(code) => code.clone(),
                Err(why) => {
                    unmatched
                        .entry(why.clone())
                        .or_default()
                        .extend(members.iter().map(|&i| rows[i].0));
                    continue;
                }
            };
            let Some(household) = self.household(&rows, head, members, village_code, on) else {
                continue;
            };
            self.disagreements(&rows, head, members);
            for &i in members {
                home.insert(rows[i].0, household.household_no.clone());
            }
            if let Some(n) = first.member_count.filter(|&n| n as usize != members.len()) {
                self.row_problem(
                    *at,
                    Some("人数"),
                    Some(n.to_string()),
                    &format!("人数为 {n}，表中该户有 {} 行人员", members.len()),
                    Severity::Warning,
                );
            }
            households.push(household);
        }
        for (why, ats) in unmatched {
            let value = match &why {
                Unmatched::Code(v)
                | Unmatched::County(v)
                | Unmatched::Township(v)
                | Unmatched::AmbiguousTownship(v) => Some(v.clone()),
                Unmatched::Village(t, v) | Unmatched::AmbiguousVillage(t, v) => {
                    Some(format!("{t} {v}"))
                }
                Unmatched::Missing => None,
            };
            let reason = format!("{}（{}）", why.reason(), self.rows_named(&ats));
            self.row_problem(ats[0], None, value, &reason, Severity::Error);
        }
        (households, home)
    }

    /// `共 N 行：第 a、b 行…`, sheet by sheet when the rows span several.
    fn rows_named(&self, ats: &[At]) -> String {
        let named: Vec<String> = ats
            .iter()
            .take(ROWS_NAMED)
            .map(|a| {
                if a.sheet == ats[0].sheet {
                    a.row.to_string()
                } else {
                    format!("{} 第 {}", self.sheets[a.sheet as usize], a.row)
                }
            })
            .collect();
        let more = if ats.len() > ROWS_NAMED { "…" } else { "" };
        format!("共 {} 行：第 {}{more} 行", ats.len(), named.join("、"))
    }

    /// The head's row: exactly one per household, else an error.
    fn head(&mut self, rows: &[(At, PersonRow)], members: &[usize]) -> Option<usize> {
        let heads: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| rows[i].1.relation == Some(Relation::Head))
            .collect();
        let no = &rows[members[0]].1.household_no;
        match heads.as_slice() {
            [one] => Some(*one),
            [] => {
                let ats: Vec<At> = members.iter().map(|&i| rows[i].0).collect();
                let reason = format!(
                    "该户没有户主（与户主关系为 户主、本人 或 01/02 的一行）（{}）",
                    self.rows_named(&ats)
                );
                self.row_problem(
                    ats[0],
                    Some("与户主关系"),
                    Some(no.clone()),
                    &reason,
                    Severity::Error,
                );
                None
            }
            several => {
                let ats: Vec<At> = several.iter().map(|&i| rows[i].0).collect();
                let reason = format!(
                    "该户有 {} 个户主（{}）",
                    several.len(),
                    self.rows_named(&ats)
                );
                self.row_problem(
                    ats[1],
                    Some("与户主关系"),
                    Some(no.clone()),
                    &reason,
                    Severity::Error,
                );
                None
            }
        }
    }

    /// Household fields that a member's row repeats with another value than the head's
    /// row: one warning per row, naming the columns (the household takes the head's).
    /// A cell left empty on a member's row is no disagreement, nor are yes/no columns,
    /// whose empty cells read as their default.
    fn disagreements(&mut self, rows: &[(At, PersonRow)], head: usize, members: &[usize]) {
        fn differs<T: PartialEq>(a: Option<&T>, b: Option<&T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        let (head_at, h) = &rows[head];
        for &i in members.iter().filter(|&&i| i != head) {
            let (at, p) = &rows[i];
            let mut columns: Vec<&str> = Vec::new();
            for (k, name) in ["行政村代码", "县", "乡镇", "村"].into_iter().enumerate() {
                if differs(p.place[k].as_ref(), h.place[k].as_ref()) {
                    columns.push(name);
                }
            }
            for (k, name) in ["户类型", "监测对象类别", "脱贫属性"]
                .into_iter()
                .enumerate()
            {
                if differs(p.category[k].as_ref(), h.category[k].as_ref()) {
                    columns.push(name);
                }
            }
            let checks = [
                (differs(p.risk.as_ref(), h.risk.as_ref()), "致贫/返贫风险"),
                (differs(p.income.as_ref(), h.income.as_ref()), "人均纯收入"),
                // An empty grade cell reads as 未鉴定: on a member's row, not said.
                (
                    differs(
                        p.grade.as_ref().filter(|g| **g != HouseGrade::Unappraised),
                        h.grade.as_ref(),
                    ),
                    "住房鉴定等级",
                ),
                (
                    differs(p.member_count.as_ref(), h.member_count.as_ref()),
                    "人数",
                ),
                (differs(p.gps.as_ref(), h.gps.as_ref()), "经纬度"),
            ];
            columns.extend(checks.iter().filter(|(d, _)| *d).map(|(_, n)| *n));
            if columns.is_empty() {
                continue;
            }
            let head_row = if head_at.sheet == at.sheet {
                format!("第 {} 行", head_at.row)
            } else {
                format!(
                    "{} 第 {} 行",
                    self.sheets[head_at.sheet as usize], head_at.row
                )
            };
            self.row_problem(
                *at,
                Some(columns[0]),
                None,
                &format!(
                    "该行的{}与户主行（{head_row}）不同，按户主行导入",
                    columns.join("、")
                ),
                Severity::Warning,
            );
        }
    }

    /// An ID number on two rows: an error at the later row, naming the earlier.
    fn duplicate_ids(&mut self, rows: &[(At, PersonRow)]) {
        let mut seen: HashMap<&str, At> = HashMap::with_capacity(rows.len());
        for (at, p) in rows {
            let Some(id) = p.id.as_deref() else { continue };
            if let Some(first) = seen.get(id) {
                let first = if first.sheet == at.sheet {
                    format!("第 {} 行", first.row)
                } else {
                    format!("{} 第 {} 行", self.sheets[first.sheet as usize], first.row)
                };
                self.row_problem(
                    *at,
                    Some("证件号码"),
                    Some(masked(id)),
                    &format!("证件号码与{first}重复"),
                    Severity::Error,
                );
            } else {
                seen.insert(id, *at);
            }
        }
    }

    /// The household of the head's row and its members' rows (head first), or `None`
    /// when a row lacks what the model needs (each said in the report).
    fn household(
        &mut self,
        rows: &[(At, PersonRow)],
        head: usize,
        members: &[usize],
        village_code: String,
        on: (i32, u32, u32),
    ) -> Option<Household> {
        let (at, h) = &rows[head];
        let [household_type, monitoring, lifted] = &h.category;
        let category = match values::category(
            household_type.as_deref(),
            monitoring.as_deref(),
            lifted.as_deref(),
        ) {
            Ok(Some(c)) => c,
            Ok(None) => {
                self.row_problem(
                    *at,
                    Some("户类型"),
                    None,
                    "户类型（或监测对象类别、脱贫属性）为空",
                    Severity::Error,
                );
                return None;
            }
            Err(text) => {
                self.row_problem(*at, Some("户类型"), Some(text), "不认识的户类型：应为 脱贫户、一般农户、稳定脱贫不享受政策、未脱贫户（或脱贫属性 已脱贫、未脱贫），或监测对象类别 脱贫不稳定户、边缘易致贫户、突发严重困难户", Severity::Error);
                return None;
            }
        };
        let Some(income) = h.income else {
            self.row_problem(
                *at,
                Some("人均纯收入"),
                None,
                "户主行的人均纯收入为空",
                Severity::Error,
            );
            return None;
        };
        let mut ordered = vec![head];
        ordered.extend(members.iter().copied().filter(|&i| i != head));
        if ordered.len() > usize::from(u8::MAX) {
            self.row_problem(
                *at,
                Some("户编号"),
                Some(h.household_no.clone()),
                "一户超过 255 人",
                Severity::Error,
            );
            return None;
        }
        let mut people = Vec::with_capacity(ordered.len());
        for (seq, &i) in ordered.iter().enumerate() {
            people.push(self.member(&rows[i], seq as u8 + 1, on)?);
        }
        let more = h.more.clone();
        Some(Household {
            household_no: h.household_no.clone(),
            village_code,
            category,
            risk_type: h.risk.as_deref().map(values::risk),
            risk_state: risk_state(category, h.risk_resolved),
            other_risks: more.other_risks,
            risk_elimination: more.elimination,
            identified_month: more.identified,
            eliminated_month: more.eliminated,
            income_per_capita: income,
            house_grade: h.grade.unwrap_or(HouseGrade::A),
            house_occupied: h.occupied,
            water_safe: h.water_safe,
            water_piped: h.water_piped,
            food_secure: h.food,
            clothing_secure: h.clothing,
            sanitary_toilet: more.toilet,
            // A 建档立卡 file says it per person only: the household's is theirs.
            relief: more.relief.or_else(|| Relief::of_members(&people)),
            aid_measures: more.measures,
            gps: h.gps,
            members: people,
        })
    }

    fn member(
        &mut self,
        (at, p): &(At, PersonRow),
        seq: u8,
        on: (i32, u32, u32),
    ) -> Option<Member> {
        let id = p.id.clone()?;
        let from_id = values::id_birth(&id);
        if let (Some(b), Some(i)) = (p.birth, from_id)
            && b != i
        {
            self.row_problem(
                *at,
                Some("出生日期"),
                None,
                "出生日期与证件号码中的不一致，年龄按出生日期计",
                Severity::Warning,
            );
        }
        let Some(age) = p.birth.or(from_id).and_then(|b| values::age_on(b, on)) else {
            self.row_problem(
                *at,
                Some("出生日期"),
                None,
                "无法从出生日期或证件号码得出年龄（或出生在数据时间之后）",
                Severity::Error,
            );
            return None;
        };
        let Some(sex) = p.sex.or_else(|| values::id_sex(&id)) else {
            self.row_problem(
                *at,
                Some("性别"),
                None,
                "性别为空，证件号码也看不出",
                Severity::Error,
            );
            return None;
        };
        let schooling = if school_age(age) {
            Some(p.schooling.unwrap_or_else(|| {
                if p.schooling_known {
                    *self.blanks.entry("schooling").or_default() += 1;
                }
                Schooling::InSchool
            }))
        } else {
            None
        };
        Some(Member {
            seq,
            name: p.name.clone(),
            id_number: id,
            sex,
            age,
            relation: p.relation.unwrap_or(Relation::Other),
            schooling,
            medical_insured: p.insured,
            disability_grade: p.disability,
            disability_kind: p.person.disability_kind,
            education: p.person.education,
            health: p.person.health,
            labour_skill: p.person.labour_skill,
            work_months: p.person.work_months,
            serious_illness_insured: p.person.serious_illness_insured,
            subsistence: p.person.subsistence,
            extreme_poverty: p.person.extreme_poverty,
        })
    }
}
