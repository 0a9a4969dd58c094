//! One person row read: every cell parsed into its field, each problem reported with
//! the row as Excel shows it and the column's header.

use calamine::Data;

use super::columns::{Layout, cell_text};
use super::values::{self, IdProblem};
use super::{At, MoreHousehold, MorePerson, PersonRow, Reader, crs_of, masked, modelled};
use crate::domain::{AidMeasure, GpsPoint, HouseGrade, Sex, YearMonth};
use crate::import::Severity;

/// A row with its layout: cells by field, and each field's header as the file has it.
struct Row<'a> {
    at: At,
    layout: &'a Layout,
    cells: &'a [Data],
}

impl Row<'_> {
    fn cell(&self, field: &str) -> &Data {
        self.layout
            .column(field)
            .and_then(|c| self.cells.get(c))
            .unwrap_or(&Data::Empty)
    }

    fn text(&self, field: &str) -> Option<String> {
        cell_text(self.cell(field))
    }

    fn header(&self, field: &str) -> String {
        self.layout
            .column(field)
            .and_then(|c| self.layout.headers.get(c))
            .map_or(field, String::as_str)
            .to_owned()
    }
}

impl Reader<'_> {
    /// Reads one row below the header; a blank row, a repeated header or a total row
    /// is passed over.
    pub(super) fn read_row(&mut self, sheet: u32, layout: &Layout, index: u32, cells: &[Data]) {
        let row = Row {
            at: At {
                sheet,
                row: index + 1,
            },
            layout,
            cells,
        };
        let at = row.at;
        let Some(household_no) = row.text("household_no") else {
            let texts = || cells.iter().filter_map(cell_text);
            let total =
                texts().any(|t| t.contains("合计") || t.contains("总计") || t.contains("填表"));
            if !total && texts().count() > 1 {
                let reason = "户编号为空，该行无法归户";
                self.row_problem(
                    at,
                    Some(&row.header("household_no")),
                    None,
                    reason,
                    Severity::Error,
                );
            }
            return;
        };
        if row.header("household_no") == household_no {
            return;
        }
        if let Data::Float(f) = row.cell("household_no")
            && f.abs() >= 9.0e15
        {
            self.row_problem(
                at,
                Some(&row.header("household_no")),
                Some(format!("{f:E}")),
                "户编号被 Excel 存成了数字，末几位已丢失：请把该列设为文本后重新导出",
                Severity::Error,
            );
            return;
        }
        let mut person = PersonRow {
            household_no,
            place: [
                row.text("village_code"),
                row.text("county"),
                row.text("township"),
                row.text("village"),
            ],
            name: row.text("name").unwrap_or_default(),
            ..PersonRow::default()
        };
        self.identity(&row, &mut person);
        self.household_fields(&row, &mut person);
        person.insured = self.flag(&row, "medical_insured", false).unwrap_or(true);
        person.schooling_known = layout.column("schooling").is_some();
        person.schooling = values::schooling(
            row.text("schooling").as_deref(),
            row.text("dropout_reason").as_deref(),
        );
        self.disability(&row, &mut person);
        self.more_household(&row, &mut person);
        self.more_person(&row, &mut person);
        person.gps = self.gps(at, layout, cells);
        self.keep(at, layout, cells);
        self.rows.push((at, person));
    }

    /// Name, ID number, sex, birth date and relation.
    fn identity(&mut self, row: &Row<'_>, person: &mut PersonRow) {
        let at = row.at;
        if person.name.is_empty() {
            self.row_problem(
                at,
                Some(&row.header("name")),
                None,
                "姓名为空",
                Severity::Error,
            );
        }
        match values::id_number(row.cell("id_number")) {
            Ok(id) => {
                if !values::check_digit_ok(&id) {
                    let reason = IdProblem::CheckDigit.reason();
                    self.row_problem(
                        at,
                        Some(&row.header("id_number")),
                        Some(masked(&id)),
                        reason,
                        Severity::Warning,
                    );
                }
                person.id = Some(id);
            }
            Err(problem) => {
                let shown = match row.cell("id_number") {
                    Data::Float(f) => Some(format!("{f:E}")),
                    other => cell_text(other).map(|t| masked(&t)),
                };
                self.row_problem(
                    at,
                    Some(&row.header("id_number")),
                    shown,
                    problem.reason(),
                    Severity::Error,
                );
            }
        }
        person.sex = match row.text("sex").as_deref() {
            None => None,
            Some("男" | "1" | "男性") => Some(Sex::Male),
            Some("女" | "2" | "女性") => Some(Sex::Female),
            Some(other) => {
                let value = Some(other.to_owned());
                self.row_problem(
                    at,
                    Some(&row.header("sex")),
                    value,
                    "性别应为男或女",
                    Severity::Error,
                );
                None
            }
        };
        if !matches!(row.cell("birth_date"), Data::Empty) {
            person.birth = values::date(row.cell("birth_date"));
            if person.birth.is_none() {
                self.row_problem(
                    at,
                    Some(&row.header("birth_date")),
                    None,
                    "出生日期不是日期（应为 2010-03-07、20100307、2010年3月7日 或 Excel 日期）",
                    Severity::Error,
                );
            }
        }
        person.relation = row.text("relation").map(|t| values::relation(&t));
        if person.relation.is_none() {
            self.row_problem(
                at,
                Some(&row.header("relation")),
                None,
                "与户主关系为空",
                Severity::Error,
            );
        }
    }

    /// The household's fields, repeated on every person row (the head's are used).
    fn household_fields(&mut self, row: &Row<'_>, person: &mut PersonRow) {
        person.member_count = row.text("member_count").and_then(|t| t.parse().ok());
        person.category = [
            row.text("household_type"),
            row.text("monitoring"),
            row.text("lifted"),
        ];
        person.risk = row.text("risk").filter(|t| t != "无");
        person.risk_resolved = self.flag(row, "risk_resolved", false).unwrap_or(false);
        person.income = values::amount(row.cell("income"));
        if person.income.is_none() && row.text("income").is_some() {
            let header = row.header("income");
            self.row_problem(
                row.at,
                Some(&header),
                row.text("income"),
                "人均纯收入不是数",
                Severity::Error,
            );
        }
        person.grade = self.grade(row);
        person.occupied = self.flag(row, "house_occupied", true).unwrap_or(true);
        person.water_safe = self.flag(row, "water_safe", false).unwrap_or(true);
        person.water_piped = self.flag(row, "water_piped", false).unwrap_or(true);
        person.food = self.flag(row, "food_secure", false).unwrap_or(true);
        person.clothing = self.flag(row, "clothing_secure", false).unwrap_or(true);
    }

    /// A yes/no field: `None` when the sheet has no such column; an empty cell is
    /// `blank` (and counted); a cell that is neither is an error (and `blank`).
    fn flag(&mut self, row: &Row<'_>, field: &'static str, blank: bool) -> Option<bool> {
        let column = row.layout.column(field)?;
        let cell = row.cell(field);
        if cell_text(cell).is_none() {
            if field != "risk_resolved" {
                *self.blanks.entry(field).or_default() += 1;
            }
            return Some(blank);
        }
        let value = values::yes_no(cell);
        if value.is_none() {
            self.row_problem(
                row.at,
                row.layout.headers.get(column).map(String::as_str),
                cell_text(cell),
                "应为 是/否（或 1/0、√/空）",
                Severity::Error,
            );
        }
        Some(value.unwrap_or(blank))
    }

    /// The house grade: 住房鉴定等级, or 是否危房户 (是: C, 否: A) where there is no
    /// grade column, or A when there is neither (the report says so).
    fn grade(&mut self, row: &Row<'_>) -> Option<HouseGrade> {
        if let Some(column) = row.layout.column("house_grade") {
            let Some(text) = row.text("house_grade") else {
                *self.blanks.entry("house_grade").or_default() += 1;
                return Some(HouseGrade::Unappraised);
            };
            let grade = values::house_grade(&text);
            if grade.is_none() {
                self.row_problem(
                    row.at,
                    row.layout.headers.get(column).map(String::as_str),
                    Some(text),
                    "住房鉴定等级应为 A、B、C、D 或 未鉴定",
                    Severity::Error,
                );
            }
            return grade;
        }
        let dangerous = self.flag(row, "house_dangerous", false)?;
        Some(if dangerous {
            HouseGrade::C
        } else {
            HouseGrade::A
        })
    }

    /// The position recorded with the household, if the sheet has one.
    fn gps(&mut self, at: At, layout: &Layout, cells: &[Data]) -> Option<GpsPoint> {
        let get = |field: &str| {
            layout
                .column(field)
                .and_then(|c| cells.get(c))
                .unwrap_or(&Data::Empty)
        };
        let (lon, lat) = (get("longitude"), get("latitude"));
        if cell_text(lon).is_none() && cell_text(lat).is_none() {
            return None;
        }
        let (Some(lon), Some(lat)) = (values::degrees(lon), values::degrees(lat)) else {
            self.row_problem(
                at,
                Some("经度/纬度"),
                Some(format!(
                    "{} / {}",
                    cell_text(lon).unwrap_or_default(),
                    cell_text(lat).unwrap_or_default()
                )),
                "经纬度应为十进制度（124.97）或度分秒（41°43′12.5″）",
                Severity::Error,
            );
            return None;
        };
        let crs_text = cell_text(get("crs")).unwrap_or_default();
        let Some(crs) = crs_of(&crs_text) else {
            self.row_problem(
                at,
                Some("坐标系"),
                Some(crs_text),
                "坐标系应为 WGS84、CGCS2000、GCJ02 或 BD09",
                Severity::Error,
            );
            return None;
        };
        Some(GpsPoint { lon, lat, crs })
    }

    /// Kind and grade of a disability, from 残疾类别, 残疾等级 and the combined
    /// 残疾类别/残疾等级, whichever the sheet has (the first that says each wins).
    fn disability(&mut self, row: &Row<'_>, person: &mut PersonRow) {
        let (mut kind, mut grade) = (None, None);
        for field in ["disability_kind", "disability_combined", "disability"] {
            match values::disability_cell(row.text(field).as_deref()) {
                Ok((k, g)) => {
                    kind = kind.or(k);
                    grade = grade.or(g);
                }
                // The grade feeds indicators: refused as ever. The kind feeds none: a
                // kind column that says something else is only a warning.
                Err(text) if field == "disability_kind" => self.row_problem(
                    row.at,
                    Some(&row.header(field)),
                    Some(text),
                    "残疾类别应为 视力、听力、言语、肢体、智力、精神 或 多重，按空值导入",
                    Severity::Warning,
                ),
                Err(text) => self.row_problem(
                    row.at,
                    Some(&row.header(field)),
                    Some(text),
                    "残疾等级应为一级至四级（或 1–4）",
                    Severity::Error,
                ),
            }
        }
        person.disability = grade;
        person.person.disability_kind = kind;
    }

    /// The household fields no indicator reads: risks 2–5, how and when the risk was
    /// removed, the toilet, support and assistance measures.
    fn more_household(&mut self, row: &Row<'_>, person: &mut PersonRow) {
        let mut more = MoreHousehold::default();
        for field in ["risk2", "risk3", "risk4", "risk5"] {
            if let Some(text) = row.text(field).filter(|t| t != "无") {
                more.other_risks.push(values::risk(&text));
            }
        }
        more.elimination = self.coded(
            row,
            "risk_elimination",
            values::risk_elimination,
            "风险消除方式应为 帮扶消除 或 自然消除",
        );
        more.identified = self.month(row, "identified_month");
        more.eliminated = self.month(row, "eliminated_month");
        more.toilet = self.maybe(row, "sanitary_toilet");
        more.relief = self.coded(
            row,
            "relief",
            values::relief,
            "享受低保/特困供养政策情况应为 低保、特困供养 或 无",
        );
        more.measures = self.measures(row);
        person.more = more;
    }

    /// The person fields no indicator reads (the disability's kind is read with its
    /// grade).
    fn more_person(&mut self, row: &Row<'_>, person: &mut PersonRow) {
        let mut more = MorePerson {
            disability_kind: person.person.disability_kind,
            ..MorePerson::default()
        };
        more.education = self.coded(
            row,
            "education",
            values::education,
            "文化程度应为 学龄前儿童、文盲或半文盲、小学、初中、高中 或 大专及以上",
        );
        more.health = self.coded(
            row,
            "health",
            values::health,
            "健康状况应为 健康、长期慢性病、患有大病 或 残疾",
        );
        more.labour_skill = self.coded(
            row,
            "labour_skill",
            values::labour_skill,
            "劳动技能应为 普通劳动力、技能劳动力、弱劳动力或半劳动力、丧失劳动力 或 无劳动力",
        );
        more.work_months = match values::work_months(row.cell("work_months")) {
            Ok(months) => months,
            Err(text) => {
                self.row_problem(
                    row.at,
                    Some(&row.header("work_months")),
                    Some(text),
                    "务工时间应为 0 到 12 的整数月数，按空值导入",
                    Severity::Warning,
                );
                None
            }
        };
        more.serious_illness_insured = self.maybe(row, "serious_illness_insured");
        more.subsistence = self.maybe(row, "subsistence");
        more.extreme_poverty = self.maybe(row, "extreme_poverty");
        person.person = more;
    }

    /// A field of a closed vocabulary: `None` for an empty cell, and for one `parse`
    /// does not know (a warning that says what was `expected`).
    fn coded<T>(
        &mut self,
        row: &Row<'_>,
        field: &str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        let text = row.text(field)?;
        let value = parse(&text);
        if value.is_none() {
            let reason = format!("{expected}，按空值导入");
            self.row_problem(
                row.at,
                Some(&row.header(field)),
                Some(text),
                &reason,
                Severity::Warning,
            );
        }
        value
    }

    /// A yes/no field no indicator reads: `None` for an empty cell, and for one that is
    /// neither (a warning), where [`Reader::flag`] refuses.
    fn maybe(&mut self, row: &Row<'_>, field: &str) -> Option<bool> {
        let text = row.text(field)?;
        let value = values::yes_no(row.cell(field));
        if value.is_none() {
            self.row_problem(
                row.at,
                Some(&row.header(field)),
                Some(text),
                "应为 是/否（或 1/0、√/空），按空值导入",
                Severity::Warning,
            );
        }
        value
    }

    /// A month (识别监测时间, 消除监测时间): `None` for an empty cell, and for one that
    /// is no month (a warning).
    fn month(&mut self, row: &Row<'_>, field: &str) -> Option<YearMonth> {
        let text = row.text(field)?;
        let value = values::year_month(row.cell(field));
        if value.is_none() {
            self.row_problem(
                row.at,
                Some(&row.header(field)),
                Some(text),
                "应为年月（如 202103、2021-03、2021年3月 或 Excel 日期），按空值导入",
                Severity::Warning,
            );
        }
        value
    }

    /// The assistance measures: the names of the 帮扶措施 column and the yes/no columns
    /// of single measures together, each once. Names paicha does not know are a warning.
    fn measures(&mut self, row: &Row<'_>) -> Vec<AidMeasure> {
        let mut found = Vec::new();
        if let Some(text) = row.text("aid_measures") {
            let (named, unknown) = values::aid_measures(&text);
            found = named;
            if !unknown.is_empty() {
                self.row_problem(
                    row.at,
                    Some(&row.header("aid_measures")),
                    Some(unknown.join("、")),
                    "不认识的帮扶措施，未导入（同格其余措施已导入）",
                    Severity::Warning,
                );
            }
        }
        for (field, measure) in MEASURE_COLUMNS {
            if self.maybe(row, field) == Some(true) {
                found.push(measure);
            }
        }
        values::sorted_measures(found)
    }

    /// Keeps every column the model does not hold, as it came.
    fn keep(&mut self, at: At, layout: &Layout, cells: &[Data]) {
        let kept: Vec<(String, Option<String>)> = layout
            .headers
            .iter()
            .enumerate()
            .filter(|(c, h)| {
                !h.is_empty() && !layout.fields.iter().any(|(f, col)| col == c && modelled(f))
            })
            .map(|(c, h)| (h.clone(), cells.get(c).and_then(cell_text)))
            .collect();
        if kept.iter().any(|(_, v)| v.is_some()) {
            self.kept.push((at, kept));
        }
    }
}

/// The yes/no column of each assistance measure, for files that give one per measure.
pub(super) const MEASURE_COLUMNS: [(&str, AidMeasure); 10] = [
    ("measure_industry", AidMeasure::Industry),
    ("measure_employment", AidMeasure::Employment),
    ("measure_health", AidMeasure::Health),
    ("measure_education", AidMeasure::Education),
    ("measure_housing", AidMeasure::Housing),
    ("measure_micro_credit", AidMeasure::MicroCredit),
    ("measure_social_security", AidMeasure::SocialSecurity),
    ("measure_living_conditions", AidMeasure::LivingConditions),
    ("measure_public_job", AidMeasure::PublicJob),
    ("measure_water", AidMeasure::Water),
];
