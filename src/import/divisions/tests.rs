use super::*;

fn sheet_of(csv: &str) -> Vec<Sheet> {
    read(csv.as_bytes()).unwrap()
}

fn stored(code: &str, name: &str, level: AreaLevel) -> AreaSummary {
    AreaSummary {
        code: code.to_owned(),
        name: name.to_owned(),
        level,
        parent_code: crate::domain::parent_code(code).map(str::to_owned),
        poverty_village: false,
        households: 3,
        area_km2: 0.0,
        boundary: None,
    }
}

fn errors(plan: &Plan) -> Vec<(Option<usize>, String)> {
    plan.report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| (p.row, p.reason.clone()))
        .collect()
}

fn count(plan: &Plan, label: &str) -> i64 {
    plan.report
        .counts
        .iter()
        .find(|c| c.label == label)
        .map_or(-1, |c| c.value as i64)
}

#[test]
fn codes_lose_the_bureaus_padding_and_keep_their_level() {
    for (text, code) in [
        ("210422000000", "210422"),
        ("210400000000", "2104"),
        ("210000000000", "21"),
        ("210422100000", "210422100"),
        ("210422100201", "210422100201"),
        ("'210422100201", "210422100201"),
        ("２１０４２２", "210422"),
        ("210400", "2104"),
        ("210422100", "210422100"),
    ] {
        assert_eq!(normalize_code(text).as_deref(), Ok(code), "{text}");
    }
    assert!(normalize_code("21042210020").unwrap_err().contains("11 位"));
    assert_eq!(normalize_code("新宾").unwrap_err(), "不是数字代码");
    assert_eq!(normalize_code("000000").unwrap_err(), "代码全为零");
}

#[test]
fn the_bureaus_table_without_a_header_reads_with_its_urban_rural_class() {
    let plan = plan(
        "villages.csv",
        &sheet_of(
            "210422000000,新宾满族自治县\n\
             210422100000,新宾镇\n\
             210422100001,城区社区居民委员会\n\
             210422100201,五副甲村民委员会\n\
             210422100202,121,下营子\n",
        ),
        &[],
        &Options::default(),
    );
    // Village rows carry the urban-rural class between code and name.
    assert_eq!(plan.report.problems[0].severity, Severity::Warning);
    assert!(plan.report.problems[0].reason.contains("没有表头"));
    let levels: Vec<(&str, AreaLevel)> = plan
        .divisions
        .iter()
        .map(|d| (d.code.as_str(), d.level))
        .collect();
    assert_eq!(
        levels,
        [
            ("210422", AreaLevel::County),
            ("210422100", AreaLevel::Township),
            ("210422100001", AreaLevel::Community),
            ("210422100201", AreaLevel::Village),
            ("210422100202", AreaLevel::Village),
        ]
    );
    assert_eq!(plan.divisions[3].parent_code.as_deref(), Some("210422100"));
    assert_eq!(plan.divisions[4].name, "下营子");
    assert_eq!(
        plan.kept[4].attributes[1],
        ("B".to_owned(), Some("121".to_owned()))
    );
    // The county's parent, the city, is in neither the file nor the store: a note.
    assert!(errors(&plan).is_empty(), "{:?}", errors(&plan));
    assert_eq!(count(&plan, "新增"), 5);
}

#[test]
fn title_rows_and_the_bureaus_three_column_header_are_found() {
    let plan = plan(
        "x.csv",
        &sheet_of(
            "2023年统计用区划代码和城乡划分代码,,\n\
             数据时间：2023年6月30日,,\n\
             统计用区划代码,城乡分类代码,名称\n\
             210422100000,,新宾镇\n\
             210422100201,220,五副甲村民委员会\n\
             210422100001,111,城区社区居委会\n",
        ),
        &[stored("210422", "新宾满族自治县", AreaLevel::County)],
        &Options::default(),
    );
    assert!(errors(&plan).is_empty(), "{:?}", errors(&plan));
    assert_eq!(plan.divisions.len(), 3);
    assert_eq!(plan.divisions[2].level, AreaLevel::Community);
    // Rows are numbered as the spreadsheet shows them, and every cell is kept.
    assert_eq!(plan.kept[1].row, 5);
    assert_eq!(
        plan.kept[1].attributes,
        [
            ("统计用区划代码".to_owned(), Some("210422100201".to_owned())),
            ("城乡分类代码".to_owned(), Some("220".to_owned())),
            ("名称".to_owned(), Some("五副甲村民委员会".to_owned())),
        ]
    );
}

#[test]
fn gbk_text_with_level_and_parent_columns_reads() {
    let text = "code,name,level,parent_code\n210422,新宾满族自治县,县,2104\n210422100,新宾镇,乡镇,210422\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let plan = plan("gbk.csv", &read(&gbk).unwrap(), &[], &Options::default());
    assert!(errors(&plan).is_empty(), "{:?}", errors(&plan));
    assert_eq!(plan.divisions[1].name, "新宾镇");
    assert_eq!(count(&plan, "其中县"), 1);
}

#[test]
fn each_broken_row_is_named_with_its_reason() {
    let plan = plan(
        "bad.csv",
        &sheet_of(
            "代码,名称,级别,上级代码\n\
             210422,新宾满族自治县,县,\n\
             21042210,坏代码,,\n\
             210422100,新宾镇,村,\n\
             210422101,旺清门镇,,210423\n\
             210422,新宾县,,\n\
             210499100201,无上级村,,\n\
             ,没有代码,,\n\
             210422102,,,\n\
             210422103,平顶山镇,区县乡,\n",
        ),
        &[],
        &Options::default(),
    );
    let found = errors(&plan);
    let reasons: Vec<(usize, &str)> = found
        .iter()
        .map(|(row, reason)| (row.unwrap_or(0), reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 8, "{reasons:?}");
    assert!(reasons[0].0 == 3 && reasons[0].1.contains("8 位"));
    assert!(reasons[1].0 == 4 && reasons[1].1.contains("级别“村”与 9 位代码"));
    assert!(reasons[2].0 == 5 && reasons[2].1.contains("应为 210422"));
    assert_eq!(reasons[3], (6, "代码 210422 与第 2 行重复"));
    assert_eq!(reasons[4], (8, "缺少代码"));
    assert_eq!(reasons[5], (9, "缺少名称"));
    assert!(reasons[6].0 == 10 && reasons[6].1.contains("无法识别的级别"));
    // The orphan village is found once every row is read.
    assert_eq!(reasons[7].0, 7);
    assert!(reasons[7].1.starts_with("村的上级 210499100 不在文件中"));
}

#[test]
fn stored_divisions_are_renamed_reported_or_left_alone() {
    let plan = plan(
        "x.csv",
        &sheet_of("代码,名称\n210422,新宾满族自治县\n210422100,新宾镇\n210422101,旺清门镇\n"),
        &[
            stored("210422", "新宾满族自治县", AreaLevel::County),
            stored("210422100", "新宾乡", AreaLevel::Township),
            stored("210422102", "永陵镇", AreaLevel::Township),
            stored("210423", "清原满族自治县", AreaLevel::County),
        ],
        &Options::default(),
    );
    let codes: Vec<&str> = plan.divisions.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["210422100", "210422101"]);
    assert_eq!(count(&plan, "新增"), 1);
    assert_eq!(count(&plan, "更名或改级"), 1);
    assert_eq!(count(&plan, "不变"), 1);
    // 永陵镇 is under the file's county and missing from it; 清原 is outside the file.
    assert_eq!(count(&plan, "库中有而文件中没有（保留）"), 1);
    let notes: Vec<&str> = plan
        .report
        .problems
        .iter()
        .map(|p| p.reason.as_str())
        .collect();
    assert!(
        notes.contains(&"库中为“新宾乡”（乡镇，上级 210422），将改为“新宾镇”（乡镇，上级 210422）"),
        "{notes:?}"
    );
    assert!(
        notes.contains(&"库中的乡镇“永陵镇”不在文件中：保留不删（3 户）"),
        "{notes:?}"
    );
}

#[test]
fn a_file_without_code_and_name_columns_is_refused_with_what_was_looked_for() {
    let plan = plan(
        "x.csv",
        &sheet_of("村,户数\n五副甲,12\n"),
        &[],
        &Options::default(),
    );
    let found = errors(&plan);
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("找不到表头"), "{}", found[0].1);
    let named = super::plan(
        "x.csv",
        &sheet_of("村代码,村名\n210422100201,五副甲村\n"),
        &[stored("210422100", "新宾镇", AreaLevel::Township)],
        &Options {
            code_column: Some("村代码".into()),
            name_column: Some("村名".into()),
        },
    );
    assert!(errors(&named).is_empty());
    assert_eq!(named.divisions[0].level, AreaLevel::Village);
}

#[test]
fn every_sheet_of_a_workbook_is_read_and_a_notes_sheet_skipped() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let notes = book.add_worksheet().set_name("说明").unwrap();
    notes.write_string(0, 0, "本表为各县区划代码").unwrap();
    for (name, rows) in [
        (
            "新宾",
            vec![("210422", "新宾满族自治县"), ("210422100", "新宾镇")],
        ),
        (
            "清原",
            vec![("210423", "清原满族自治县"), ("210422100", "新宾镇")],
        ),
    ] {
        let sheet = book.add_worksheet().set_name(name).unwrap();
        sheet.write_string(0, 0, "代码").unwrap();
        sheet.write_string(0, 1, "名称").unwrap();
        for (i, (code, n)) in rows.into_iter().enumerate() {
            let r = u32::try_from(i).unwrap() + 1;
            // Codes as number cells, as Excel keeps what is typed as digits.
            sheet
                .write_number(r, 0, code.parse::<f64>().unwrap())
                .unwrap();
            sheet.write_string(r, 1, n).unwrap();
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let sheets = read(&bytes).unwrap();
    assert_eq!(sheets.len(), 3);
    let plan = plan("区划.xlsx", &sheets, &[], &Options::default());
    let codes: Vec<&str> = plan.divisions.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["210422", "210422100", "210423"]);
    let notes: Vec<(&str, Severity, &str)> = plan
        .report
        .problems
        .iter()
        .map(|p| (p.file.as_str(), p.severity, p.reason.as_str()))
        .collect();
    assert!(notes[0].0 == "区划.xlsx!说明" && notes[0].1 == Severity::Warning);
    assert!(notes[0].2.ends_with("此表未导入"), "{notes:?}");
    assert_eq!(
        errors(&plan),
        [(
            Some(3),
            "代码 210422100 与区划.xlsx!新宾 第 3 行重复".to_owned()
        )]
    );
    assert_eq!(plan.kept[2].file, "区划.xlsx!清原");
}
