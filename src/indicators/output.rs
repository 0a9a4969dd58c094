//! Indicator tables as files: CSV (UTF-8 with a BOM and Chinese headers), XLSX with
//! percent cells, and GeoJSON with flat properties that GIS clients colour by.

use std::io::Write;

use super::table::{Table, TableRow};
use crate::domain::AreaRecord;
use crate::formats::csv_writer;
use crate::spatial::geojson::area_feature;

/// The headers of an indicator table: rank (when ranked), code, name, level,
/// households, then count, denominator and rate (%) per indicator, in Chinese.
fn table_headers(table: &Table) -> Vec<String> {
    let ranked = table.rows.iter().any(|r| r.rank.is_some());
    let mut headers: Vec<String> = Vec::new();
    if ranked {
        headers.push("排名".into());
    }
    headers.extend(["代码", "名称", "级别", "户数"].map(String::from));
    for ind in &table.indicators {
        let unit = if ind.unit == crate::domain::Unit::Persons {
            "人"
        } else {
            "户"
        };
        headers.push(format!("{}（{unit}）", ind.name_zh));
        headers.push(format!("{}·分母", ind.name_zh));
        headers.push(format!("{}·比例(%)", ind.name_zh));
    }
    headers
}

/// A table's rows then its total row (合计), for writers.
fn table_lines(table: &Table) -> impl Iterator<Item = (&TableRow, bool)> {
    table
        .rows
        .iter()
        .map(|r| (r, false))
        .chain(std::iter::once((&table.total, true)))
}

/// An indicator table as CSV with a BOM and Chinese headers; the last row is the
/// total (合计). Rates are percentages with 4 decimals, empty for no data.
///
/// # Errors
/// The I/O or CSV error that stopped the writing.
pub fn table_csv<W: Write>(table: &Table, out: W) -> Result<(), csv::Error> {
    let ranked = table.rows.iter().any(|r| r.rank.is_some());
    let mut w = csv_writer(out)?;
    w.write_record(table_headers(table))?;
    for (row, is_total) in table_lines(table) {
        let mut record: Vec<String> = Vec::new();
        if ranked {
            record.push(row.rank.map(|r| r.to_string()).unwrap_or_default());
        }
        record.push(row.area.code.clone());
        record.push(if is_total {
            format!("{}（合计）", row.area.name)
        } else {
            row.area.name.clone()
        });
        record.push(row.area.level.label_zh().into());
        record.push(row.households.to_string());
        for c in &row.cells {
            record.push(c.value.count.to_string());
            record.push(c.value.denominator.to_string());
            record.push(
                c.value
                    .rate
                    .map(|r| format!("{:.4}", r * 100.0))
                    .unwrap_or_default(),
            );
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

/// An indicator table as an XLSX workbook: a title row, bold headers, the rows, a
/// total row; rates as numbers with a percentage format, so that Excel sums and
/// sorts them.
///
/// # Errors
/// The writer's error.
pub fn table_xlsx(table: &Table, title: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let ranked = table.rows.iter().any(|r| r.rank.is_some());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("指标统计")?;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.00%");
    let total_format = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, title, &bold)?;
    let headers = table_headers(table);
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, h, &bold)?;
    }
    for (i, (row, is_total)) in table_lines(table).enumerate() {
        let r = (i + 2) as u32;
        let mut c: u16 = 0;
        if ranked {
            if let Some(rank) = row.rank {
                sheet.write_number(r, c, rank as f64)?;
            }
            c += 1;
        }
        sheet.write_string(r, c, &row.area.code)?;
        let name = if is_total {
            format!("{}（合计）", row.area.name)
        } else {
            row.area.name.clone()
        };
        if is_total {
            sheet.write_string_with_format(r, c + 1, &name, &total_format)?;
        } else {
            sheet.write_string(r, c + 1, &name)?;
        }
        sheet.write_string(r, c + 2, row.area.level.label_zh())?;
        sheet.write_number(r, c + 3, row.households as f64)?;
        c += 4;
        for cell in &row.cells {
            sheet.write_number(r, c, cell.value.count as f64)?;
            sheet.write_number(r, c + 1, cell.value.denominator as f64)?;
            if let Some(rate) = cell.value.rate {
                sheet.write_number_with_format(r, c + 2, rate, &percent)?;
            }
            c += 3;
        }
    }
    sheet.set_freeze_panes(2, 0)?;
    sheet.autofit();
    book.save_to_buffer()
}

/// An indicator table as GeoJSON: each row's area polygon with flat properties
/// (`code`, `name`, `level`, `households`, then `{id}_count`, `{id}_denominator`,
/// `{id}_rate`, `{id}_class` per indicator) that GIS clients colour by directly.
#[must_use]
pub fn table_geojson(table: &Table, records: &[AreaRecord]) -> geojson::FeatureCollection {
    let by_code: std::collections::HashMap<&str, &AreaRecord> = records
        .iter()
        .map(|r| (r.summary.code.as_str(), r))
        .collect();
    let features: Vec<geojson::Feature> = table
        .rows
        .iter()
        .filter_map(|row| {
            let record = by_code.get(row.area.code.as_str())?;
            let mut f = area_feature(record);
            let props = f.properties.get_or_insert_with(Default::default);
            props.insert("households".into(), row.households.into());
            if let Some(rank) = row.rank {
                props.insert("rank".into(), rank.into());
            }
            for (ind, c) in table.indicators.iter().zip(&row.cells) {
                props.insert(format!("{}_count", ind.id), c.value.count.into());
                props.insert(
                    format!("{}_denominator", ind.id),
                    c.value.denominator.into(),
                );
                props.insert(format!("{}_rate", ind.id), c.value.rate.into());
                props.insert(format!("{}_class", ind.id), c.class.into());
            }
            Some(f)
        })
        .collect();
    geojson::FeatureCollection::new(features)
}
