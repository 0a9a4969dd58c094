use super::*;

fn registered() -> Registered {
    Registered {
        households: ["H1", "H2", "H3"].iter().map(|s| (*s).to_owned()).collect(),
        heads: [("11010519491231002X".to_owned(), "H3".to_owned())]
            .into_iter()
            .collect(),
    }
}

fn read(csv: &str, options: &Options) -> Plan {
    plan(
        "产业帮扶.csv",
        csv.as_bytes(),
        &registered(),
        options,
        &Progress::default(),
    )
    .unwrap()
}

fn said(plan: &Plan, row: usize, text: &str) -> Severity {
    plan.report
        .problems
        .iter()
        .find(|p| p.row == Some(row) && p.reason.contains(text))
        .unwrap_or_else(|| panic!("row {row}: {text}: {:#?}", plan.report.problems))
        .severity
}

#[test]
fn a_list_of_names_with_departments_amounts_and_head_ids() {
    let csv = "\
XX县2018年行业扶贫到户帮扶措施清单,,,,
户编号,户主证件号码,年度,帮扶措施,责任部门,金额
H1,,2018,产业帮扶,农业农村局,3000
H1,,2017年,就业帮扶、公益岗位帮扶,,
,11010519491231002X,2018年度,健康帮扶,医保局,\"1,200元\"
H9,,2018,产业帮扶,,
,110105194912310039,2018,产业帮扶,,
H2,,2018,种子补贴,,
H2,,二〇一八,产业帮扶,,
H2,,2018,产业帮扶、就业帮扶,,500
H3,,2018,产业帮扶,,三千
合计,,,,,3500
";
    let plan = read(csv, &Options::default());
    let rows: Vec<(&str, i32, AidMeasure, &str, Option<f64>)> = plan
        .rows
        .iter()
        .map(|r| {
            (
                r.household_no.as_str(),
                r.year,
                r.measure,
                r.department.as_str(),
                r.amount,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("H1", 2018, AidMeasure::Industry, "农业农村局", Some(3000.0)),
            ("H1", 2017, AidMeasure::Employment, "人社局", None),
            ("H1", 2017, AidMeasure::PublicJob, "人社局", None),
            ("H3", 2018, AidMeasure::Health, "医保局", Some(1200.0)),
            ("H2", 2018, AidMeasure::Industry, "农业农村局", None),
            ("H2", 2018, AidMeasure::Employment, "人社局", None),
            // Its amount is an error, so the file cannot be committed as it is.
            ("H3", 2018, AidMeasure::Industry, "农业农村局", None),
        ]
    );
    assert!(plan.rows.iter().all(|r| r.source == "产业帮扶.csv"));
    assert_eq!(said(&plan, 6, "户籍中没有这个户编号"), Severity::Warning);
    assert_eq!(said(&plan, 7, "户籍中没有以此证件号码"), Severity::Warning);
    assert_eq!(said(&plan, 8, "不认识的帮扶措施"), Severity::Warning);
    assert_eq!(said(&plan, 9, "年度应为"), Severity::Error);
    assert_eq!(said(&plan, 10, "无法分摊"), Severity::Warning);
    assert_eq!(said(&plan, 11, "金额应为"), Severity::Error);
    // No ID number in the report, only its masked form.
    let json = serde_json::to_string(&plan.report).unwrap();
    assert!(!json.contains("110105194912310039"), "{json}");
    assert!(json.contains("110105********0039"), "{json}");
    // The total row is passed over.
    assert!(!plan.report.problems.iter().any(|p| p.row == Some(12)));
    let count = |label: &str| {
        plan.report
            .counts
            .iter()
            .find(|c| c.label == label)
            .map(|c| c.value)
    };
    assert_eq!(count("导入的措施"), Some(7.0));
    assert_eq!(count("涉及户数"), Some(3.0));
    assert_eq!(count("户籍中找不到的行"), Some(2.0));
    assert_eq!(count("2017年度措施"), Some(2.0));
}

#[test]
fn one_column_per_measure_with_yes_or_an_amount_and_the_year_from_the_title() {
    let csv = "\
2019年帮扶措施落实情况,,,
户编号,产业帮扶,教育帮扶,饮水保障
H1,是,800,否
H2,,,√
H3,否,0,大概
";
    let plan = read(csv, &Options::default());
    let rows: Vec<(&str, i32, AidMeasure, Option<f64>)> = plan
        .rows
        .iter()
        .map(|r| (r.household_no.as_str(), r.year, r.measure, r.amount))
        .collect();
    assert_eq!(
        rows,
        [
            ("H1", 2019, AidMeasure::Industry, None),
            ("H1", 2019, AidMeasure::Education, Some(800.0)),
            ("H2", 2019, AidMeasure::Water, None),
        ]
    );
    assert_eq!(said(&plan, 5, "应为 是/否 或金额"), Severity::Warning);
    assert_eq!(said(&plan, 5, "没有帮扶措施"), Severity::Warning);
    // The user's year wins over the title's.
    let given = read(
        csv,
        &Options {
            year: Some(2020),
            vocabulary: None,
        },
    );
    assert!(given.rows.iter().all(|r| r.year == 2020));
}

#[test]
fn a_file_without_a_year_or_a_key_says_so_and_writes_nothing() {
    let no_year = read(
        "户编号,帮扶措施,责任部门\nH1,产业帮扶,农业农村局\n",
        &Options::default(),
    );
    assert!(no_year.rows.is_empty());
    assert_eq!(said(&no_year, 1, "没有年度列"), Severity::Error);
    let no_key = read(
        "姓名,年度,帮扶措施,责任部门\n张三,2018,产业帮扶,农业农村局\n",
        &Options::default(),
    );
    assert!(no_key.rows.is_empty());
    assert_eq!(said(&no_key, 1, "缺少户编号"), Severity::Error);
    let nothing = read("说明\n本表为空\n", &Options::default());
    assert!(
        nothing
            .report
            .problems
            .iter()
            .any(|p| p.severity == Severity::Error && p.reason.contains("没有找到表头"))
    );
}

#[test]
fn the_measures_vocabulary_reads() {
    let v = vocabulary(&Vocabulary::builtin());
    assert_eq!(v.field_of("年度"), Some("measure_year"));
    assert_eq!(v.field_of("金额（元）"), Some("amount"));
    assert_eq!(v.field_of("责任部门"), Some("department"));
    assert_eq!(v.field_of("户主身份证号码"), Some("head_id_number"));
    assert_eq!(v.field_of("饮水保障"), Some("measure_water"));
    assert_eq!(v.field_of("姓名"), None);
    assert!(v.fields.values().all(|f| !f.required));
}
