//! The importer on files as offices send them: title rows, the other vocabulary, the
//! traps of the issue (IDs Excel ruined, check digits, two heads or none, places that
//! match nothing), each reported where it is.

use std::fmt::Write as _;

use super::*;
use crate::domain::{AreaLevel, AreaSummary};

fn area(code: &str, name: &str, level: AreaLevel, parent: Option<&str>) -> AreaSummary {
    AreaSummary::division(code, name, level, parent)
}

fn divisions() -> Vec<AreaSummary> {
    vec![
        area(
            "210422",
            "新宾满族自治县",
            AreaLevel::County,
            Some("210400"),
        ),
        area("210422101", "旺清门镇", AreaLevel::Township, Some("210422")),
        area(
            "210422101201",
            "孤脚村村民委员会",
            AreaLevel::Village,
            Some("210422101"),
        ),
        area(
            "210422101202",
            "江南村村民委员会",
            AreaLevel::Village,
            Some("210422101"),
        ),
    ]
}

/// A 建档立卡-era sheet: two title rows, short header names, a village by name.
const JDLK: &str = "\
新宾县建档立卡人口信息表,,,,,,,,,,,,,,
数据时间：2020年6月30日,,,,,,,,,,,,,,
县,乡,村,户编号,姓名,证件号码,与户主关系,人数,脱贫属性,致贫原因1,人均纯收入,危房户,是否解决安全饮用水,在校生状况,是否参加城乡居民基本医疗保险
新宾县,旺清门镇,孤脚村,H1,甲,110105194912310021,户主,3,已脱贫,因病,\"5,600\",否,是,,是
新宾县,旺清门镇,孤脚村,H1,乙,110105195001010023,配偶,3,已脱贫,因病,\"5,600\",否,是,,否
新宾县,旺清门镇,孤脚村,H1,丙,110105201003070016,之子,3,已脱贫,因病,\"5,600\",否,是,辍学,是
新宾县,旺清门乡,江南村委会,H2,丁,110105196001010030,本人,1,未脱贫,缺劳力,8000,是,否,,√
";

fn plan_of(csv: &str, options: &Options) -> Plan {
    plan(
        &[("户.csv".into(), csv.as_bytes().to_vec())],
        &divisions(),
        options,
        &Progress::default(),
    )
    .unwrap()
}

#[test]
fn a_jdlk_sheet_under_title_rows_reads_whole() {
    let plan = plan_of(JDLK, &Options::default());
    let errors: Vec<_> = plan
        .report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(plan.data_date, "2020-06-30");
    assert_eq!(plan.households.len(), 2);
    let h1 = &plan.households[0];
    assert_eq!(h1.village_code, "210422101201");
    assert_eq!(h1.category, Category::Lifted);
    assert!((h1.income_per_capita - 5600.0).abs() < 1e-9);
    assert_eq!(h1.house_grade, HouseGrade::A);
    assert_eq!(h1.members.len(), 3);
    assert_eq!(h1.members[0].age, 70);
    assert!(!h1.members[1].medical_insured);
    // Born 2010-03-07: 10 at the data date, and out of school.
    assert_eq!(h1.members[2].age, 10);
    assert_eq!(h1.members[2].schooling, Some(Schooling::OutOfSchool));
    let h2 = &plan.households[1];
    assert_eq!(
        h2.village_code, "210422101202",
        "镇 renamed 乡, 村委会 for 村民委员会"
    );
    assert_eq!(h2.category, Category::Poor, "未脱贫: not yet lifted out");
    assert_eq!(h2.house_grade, HouseGrade::C);
    assert!(!h2.water_safe);
    assert!(h2.members[0].medical_insured, "√ is yes");
    // The columns the sheet lacks are said once each, with what they were read as.
    let said = |text: &str| plan.report.problems.iter().any(|p| p.reason.contains(text));
    assert!(said("是否不愁吃"), "{:#?}", plan.report.problems);
    assert!(!said("是否解决安全饮用水"));
}

#[test]
fn the_traps_are_each_reported_where_they_are() {
    let csv = "\
户编号,姓名,证件号码,与户主关系,户类型,监测对象类别,人均纯收入（元）,乡(镇),行政村
A,甲,2.10499E+17,户主,脱贫户,,9000,旺清门镇,孤脚村
B,乙,110105194912310022,户主,脱贫户,,9000,旺清门镇,孤脚村
C,丙,110105195001010023,户主,一般农户,,9000,旺清门镇,孤脚村
C,丁,110105196001010030,户主,一般农户,,9000,旺清门镇,孤脚村
D,戊,110105194912310021,子女,一般农户,,9000,旺清门镇,孤脚村
E,己,110105194912310021,户主,一般农户,,9000,旺清门镇,大台村
F,庚,11010519491231,户主,未知户,,9000,旺清门镇,孤脚村
";
    let plan = plan_of(csv, &Options::default());
    let at = |row: usize, text: &str| {
        plan.report
            .problems
            .iter()
            .find(|p| p.row == Some(row) && p.reason.contains(text))
            .unwrap_or_else(|| {
                panic!(
                    "no problem at row {row} saying {text}: {:#?}",
                    plan.report.problems
                )
            })
    };
    let p = at(2, "Excel");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.column.as_deref(), Some("证件号码"));
    let p = at(3, "校验位");
    assert_eq!(p.severity, Severity::Warning);
    assert_eq!(
        p.value.as_deref(),
        Some("110105********0022"),
        "IDs are masked in reports"
    );
    assert_eq!(at(5, "2 个户主").severity, Severity::Error);
    assert_eq!(at(6, "没有户主").value.as_deref(), Some("D"));
    assert!(at(7, "重复").reason.contains("第 6 行"));
    let p = at(7, "大台村");
    assert!(p.reason.contains("共 1 行"), "{}", p.reason);
    assert_eq!(at(8, "不是 18 位").severity, Severity::Error);
    // No report holds a name.
    for p in &plan.report.problems {
        for name in ["甲", "乙", "丙", "丁", "戊", "己", "庚"] {
            assert!(!format!("{p:?}").contains(name), "{p:?}");
        }
    }
    assert!(plan.report.errors() > 0);
}

#[test]
fn a_member_row_that_disagrees_with_its_head_is_said_and_the_head_wins() {
    let csv = "\
户编号,姓名,证件号码,与户主关系,户类型,监测对象类别,人均纯收入（元）,住房鉴定等级,乡(镇),行政村,是否不愁吃
A,甲,110105194912310021,户主,脱贫户,,9000,A级,旺清门镇,孤脚村,是
A,乙,110105195001010023,配偶,脱贫户,,8000,C级,旺清门镇,孤脚村,
A,丙,110105201003070016,之子,脱贫户,,,,旺清门镇,孤脚村,否
";
    let plan = plan_of(csv, &Options::default());
    let said: Vec<_> = plan
        .report
        .problems
        .iter()
        .filter(|p| p.reason.contains("与户主行"))
        .collect();
    assert_eq!(said.len(), 1, "{:#?}", plan.report.problems);
    assert_eq!(said[0].severity, Severity::Warning);
    assert_eq!(said[0].row, Some(3));
    assert_eq!(said[0].column.as_deref(), Some("人均纯收入"));
    assert_eq!(
        said[0].reason,
        "该行的人均纯收入、住房鉴定等级与户主行（第 2 行）不同，按户主行导入"
    );
    assert_eq!(plan.report.errors(), 0);
    let h = &plan.households[0];
    assert!((h.income_per_capita - 9000.0).abs() < 1e-9);
    assert_eq!(h.house_grade, HouseGrade::A);
    assert!(h.food_secure);
}

#[test]
fn a_sheet_without_what_is_required_says_which_columns() {
    let plan = plan_of(
        "户编号,姓名,与户主关系,备注\nA,甲,户主,x\n",
        &Options::default(),
    );
    let missing: Vec<&str> = plan
        .report
        .problems
        .iter()
        .filter(|p| p.reason.starts_with("缺少必需的列") && p.severity == Severity::Error)
        .map(|p| p.reason.as_str())
        .collect();
    for column in ["证件号码", "人均纯收入", "行政村代码", "户类型"] {
        assert!(missing.iter().any(|m| m.contains(column)), "{missing:?}");
    }
    assert!(plan.households.is_empty());
}

#[test]
fn unknown_columns_are_kept_per_row() {
    let csv = "\
户编号,姓名,证件号码,与户主关系,户类型,人均纯收入,行政村代码,户联系电话,自然村
A,甲,110105194912310021,户主,脱贫户,9000,210422101201,13800000000,北沟
";
    let plan = plan_of(csv, &Options::default());
    assert_eq!(plan.report.errors(), 0, "{:#?}", plan.report.problems);
    assert_eq!(plan.kept.len(), 1);
    let kept = &plan.kept[0];
    assert_eq!((kept.code.as_str(), kept.row), ("A", 2));
    assert_eq!(
        kept.attributes,
        vec![
            ("户联系电话".to_owned(), Some("13800000000".to_owned())),
            ("自然村".to_owned(), Some("北沟".to_owned())),
        ]
    );
}

#[test]
fn a_row_error_beyond_the_listed_ones_still_stops_the_commit() {
    let mut csv = String::from("户编号,姓名,证件号码,与户主关系,户类型,人均纯收入,行政村代码\n");
    for i in 0..(LISTED_PROBLEMS + 10) {
        writeln!(csv, "H{i},甲,1,户主,脱贫户,9000,210422101201").unwrap();
    }
    let plan = plan_of(&csv, &Options::default());
    assert_eq!(plan.report.problems.len(), LISTED_PROBLEMS + 1);
    assert!(
        plan.report
            .problems
            .last()
            .unwrap()
            .reason
            .contains("另有 10 个错误")
    );
}

/// A workbook as a county sends it: an instructions sheet, then one sheet per township.
fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let notes = book.add_worksheet().set_name("说明").unwrap();
    notes
        .write_string(0, 0, "本表由系统导出，请勿修改表头")
        .unwrap();
    let header = [
        "户编号",
        "姓名",
        "证件号码",
        "与户主关系",
        "户类型",
        "人均纯收入",
        "行政村代码",
    ];
    for (name, no, id, village) in [
        ("孤脚村", "A", "110105194912310021", "210422101201"),
        ("江南村", "B", "110105195001010023", "210422101202"),
    ] {
        let sheet = book.add_worksheet().set_name(name).unwrap();
        sheet
            .write_string(0, 0, format!("{name}脱贫人口信息表"))
            .unwrap();
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(1, c as u16, *h).unwrap();
        }
        for (c, v) in [no, "甲", id, "户主", "脱贫户", "9000", village]
            .iter()
            .enumerate()
        {
            sheet.write_string(2, c as u16, *v).unwrap();
        }
        // Income typed as a number, as clerks do.
        sheet.write_number(2, 5, 9000.5).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn every_sheet_with_a_header_is_read_and_named_in_the_report() {
    let files = [("户籍.xlsx".to_owned(), workbook())];
    let all = plan(
        &files,
        &divisions(),
        &Options::default(),
        &Progress::default(),
    )
    .unwrap();
    assert_eq!(all.report.errors(), 0, "{:#?}", all.report.problems);
    let villages: Vec<&str> = all
        .households
        .iter()
        .map(|h| h.village_code.as_str())
        .collect();
    assert_eq!(villages, ["210422101201", "210422101202"]);
    assert!((all.households[0].income_per_capita - 9000.5).abs() < 1e-9);
    assert!(
        all.report
            .problems
            .iter()
            .any(|p| p.file == "户籍.xlsx!说明" && p.reason.contains("没有找到表头")),
        "{:#?}",
        all.report.problems
    );
    let one = Options {
        sheet: Some("江南村".into()),
        ..Options::default()
    };
    let only = plan(&files, &divisions(), &one, &Progress::default()).unwrap();
    assert_eq!(only.households.len(), 1);
    assert_eq!(only.households[0].household_no, "B");
    let missing = Options {
        sheet: Some("大台村".into()),
        ..Options::default()
    };
    let none = plan(&files, &divisions(), &missing, &Progress::default()).unwrap();
    assert!(none.report.errors() > 0);
    assert!(
        none.report
            .problems
            .iter()
            .any(|p| p.reason.contains("没有这个工作表"))
    );
}

/// A 防返贫 sheet with the fields beyond the household standard, written as offices
/// write them: YYYYMM as text and as a number, a combined disability cell, measures
/// as a list and as single yes/no columns, blanks and values paicha cannot read.
const MORE: &str = "\
户编号,姓名,证件号码,与户主关系,户类型,监测对象类别,人均纯收入,乡(镇),行政村,返贫致贫风险1,返贫致贫风险2,风险类型3,风险是否已消除,风险消除方式,识别监测时间,消除监测时间,是否有卫生厕所,享受低保/特困供养政策情况,帮扶措施,公益性岗位帮扶,是否享受低保,是否特困供养人员,残疾类别/残疾等级,文化程度,健康状况,劳动技能,务工时间（月）,是否参加大病保险
M1,甲,110105194912310021,户主,脱贫户,脱贫不稳定户,6000,旺清门镇,孤脚村,因病,因学,因灾,是,帮扶消除,202003,2021-06,√,低保,产业帮扶、就业帮扶,√,是,否,肢体二级,小学,残疾,丧失劳动力,0,是
M1,乙,110105195001010023,配偶,脱贫户,脱贫不稳定户,6000,旺清门镇,孤脚村,因病,因学,因灾,是,帮扶消除,202003,2021-06,√,低保,产业帮扶、就业帮扶,√,是,否,,初中,长期慢性病,弱劳动力或半劳动力,3个月,1
M2,丙,110105196001010030,户主,一般农户,,9000,旺清门镇,孤脚村,,,,,,,,,,,,,,,,,,,
M3,丁,110105196501010038,户主,一般农户,,9000,旺清门镇,孤脚村,,,,,已解决,2020年13月,,不清楚,临时救助,产业帮扶、种子补贴,,也许,,肢体五级,私塾,一般,很强,13,
";

#[test]
fn the_fields_beyond_the_standard_read_in_their_forms_and_unknown_stays_unknown() {
    use crate::domain::{
        AidMeasure, DisabilityKind, Education, Health, LabourSkill, Relief, RiskElimination,
        RiskType, YearMonth,
    };
    let plan = plan_of(MORE, &Options::default());
    let h1 = &plan.households[0];
    assert_eq!(h1.risk_type, Some(RiskType::Illness));
    assert_eq!(
        h1.other_risks,
        vec![RiskType::Schooling, RiskType::Disaster]
    );
    assert_eq!(h1.risk_elimination, Some(RiskElimination::Assisted));
    assert_eq!(h1.identified_month, YearMonth::new(2020, 3));
    assert_eq!(h1.eliminated_month, YearMonth::new(2021, 6));
    assert_eq!(h1.sanitary_toilet, Some(true));
    assert_eq!(h1.relief, Some(Relief::Subsistence));
    assert_eq!(
        h1.aid_measures,
        vec![
            AidMeasure::Industry,
            AidMeasure::Employment,
            AidMeasure::PublicJob
        ]
    );
    let (head, spouse) = (&h1.members[0], &h1.members[1]);
    assert_eq!(head.disability_kind, Some(DisabilityKind::Physical));
    assert_eq!(head.disability_grade, Some(2));
    assert_eq!(head.education, Some(Education::Primary));
    assert_eq!(head.health, Some(Health::Disabled));
    assert_eq!(head.labour_skill, Some(LabourSkill::Lost));
    assert_eq!(head.work_months, Some(0));
    assert_eq!(head.serious_illness_insured, Some(true));
    assert_eq!(
        (head.subsistence, head.extreme_poverty),
        (Some(true), Some(false))
    );
    assert_eq!(spouse.disability_kind, None);
    assert_eq!(spouse.work_months, Some(3));
    assert_eq!(spouse.serious_illness_insured, Some(true), "1 is yes");

    // Blank cells stay unknown: nothing is guessed.
    let h2 = &plan.households[1];
    assert!(h2.other_risks.is_empty() && h2.aid_measures.is_empty());
    assert_eq!(
        (h2.sanitary_toilet, h2.relief, h2.identified_month),
        (None, None, None)
    );
    let m = &h2.members[0];
    assert_eq!(
        (m.education, m.health, m.labour_skill, m.work_months),
        (None, None, None, None)
    );
    assert_eq!((m.subsistence, m.serious_illness_insured), (None, None));

    // What cannot be read is said with its row, header and value; the grade, which
    // indicators read, is refused as before; the rest are warnings and stay unknown.
    let said = |header: &str, value: &str| {
        plan.report
            .problems
            .iter()
            .find(|p| {
                p.row == Some(5)
                    && p.column.as_deref() == Some(header)
                    && p.value.as_deref() == Some(value)
            })
            .unwrap_or_else(|| panic!("{header} {value}: {:#?}", plan.report.problems))
            .severity
    };
    assert_eq!(said("残疾类别/残疾等级", "肢体五级"), Severity::Error);
    for (header, value) in [
        ("风险消除方式", "已解决"),
        ("识别监测时间", "2020年13月"),
        ("是否有卫生厕所", "不清楚"),
        ("享受低保/特困供养政策情况", "临时救助"),
        ("帮扶措施", "种子补贴"),
        ("是否享受低保", "也许"),
        ("文化程度", "私塾"),
        ("健康状况", "一般"),
        ("劳动技能", "很强"),
        ("务工时间（月）", "13"),
    ] {
        assert_eq!(said(header, value), Severity::Warning, "{header}");
    }
}

#[test]
fn persons_flags_alone_give_the_households_support_and_measures_come_one_column_each() {
    use crate::domain::{AidMeasure, Relief};
    let csv = "\
户编号,姓名,证件号码,与户主关系,脱贫属性,人均纯收入,乡(镇),行政村,是否享受低保,是否特困供养人员,产业帮扶,危房改造,小额信贷,残疾类别,残疾等级
P1,甲,110105194912310021,户主,已脱贫,6000,旺清门镇,孤脚村,否,是,是,否,√,视力,三级
P2,乙,110105195001010023,户主,已脱贫,6000,旺清门镇,孤脚村,否,否,,,,,
P2,丙,110105196001010030,之子,已脱贫,6000,旺清门镇,孤脚村,否,,,,,,
";
    let plan = plan_of(csv, &Options::default());
    let (p1, p2) = (&plan.households[0], &plan.households[1]);
    assert_eq!(p1.relief, Some(Relief::ExtremePoverty));
    assert_eq!(
        p1.aid_measures,
        vec![AidMeasure::Industry, AidMeasure::MicroCredit]
    );
    assert_eq!(
        p1.members[0].disability_kind,
        Some(crate::domain::DisabilityKind::Visual)
    );
    assert_eq!(p1.members[0].disability_grade, Some(3));
    assert_eq!(p2.relief, None, "one member's 特困 flag is unknown");
    assert!(p2.aid_measures.is_empty());
}
