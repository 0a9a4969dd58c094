//! Maps and charts of one indicator over the areas of a level: the glue between an
//! indicator table and the drawing specs, shared by the API and `paicha render`.

use std::collections::HashMap;

use super::{BarSpec, ChoroplethSpec, Classing, LineSpec, MapArea, NoticeSpec, ValueFormat};
use crate::domain::AreaLevel;
use crate::indicators::table::Table;
use crate::indicators::{Catalog, Indicator};
use crate::model::Snapshot;

/// How a map's classes are chosen, as users name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The indicator's own breaks from the catalog, as the web map colours.
    Catalog,
    /// Equal numbers of areas per class (分位数).
    Quantile,
    /// Classes of equal width (等间距).
    EqualInterval,
    /// Jenks natural breaks (自然断点).
    NaturalBreaks,
}

impl Method {
    /// Parses `catalog`, `quantile`, `equal` or `natural`.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "catalog" => Some(Self::Catalog),
            "quantile" => Some(Self::Quantile),
            "equal" => Some(Self::EqualInterval),
            "natural" => Some(Self::NaturalBreaks),
            _ => None,
        }
    }
}

/// The words of a table's level in titles: 各乡镇, 各村; none when the table's one
/// row is the area itself.
fn level_words(level: AreaLevel, within: AreaLevel) -> &'static str {
    if level == within {
        return "";
    }
    match level {
        AreaLevel::Province => "各省",
        AreaLevel::City => "各市",
        AreaLevel::County => "各县（市、区）",
        AreaLevel::Township => "各乡镇",
        AreaLevel::Village | AreaLevel::Community => "各村",
    }
}

/// The source line of a map.
fn source_line(demo: bool) -> String {
    if demo {
        "数据来源：paicha 演示数据（合成数据，非真实农户）".to_owned()
    } else {
        "数据来源：paicha 排查数据".to_owned()
    }
}

/// The image in place of a map or chart of `indicator` over an area the person may
/// not see: titled with `label` instead of the area's name (nothing tells whether it
/// exists), saying there is nothing to show.
#[must_use]
pub fn outside_notice(
    snapshot: &Snapshot,
    indicator: &Indicator,
    label: &str,
    (width, height): (u32, u32),
) -> NoticeSpec {
    NoticeSpec {
        title: format!("{label}{}比例", indicator.name_zh),
        note: "所选范围不在您的权限范围内，没有可显示的数据".to_owned(),
        data_date: format!(
            "数据日期：{}",
            snapshot.data_date.as_deref().unwrap_or("未知")
        ),
        source: source_line(snapshot.demo),
        width,
        height,
    }
}

/// A choropleth of the rate of `indicator` (the table's column `column`) over the
/// table's rows, with their boundaries from the snapshot.
#[must_use]
pub fn choropleth(
    snapshot: &Snapshot,
    catalog: &Catalog,
    table: &Table,
    column: usize,
    method: Method,
    classes: usize,
    demo: bool,
) -> ChoroplethSpec {
    let indicator: &Indicator = &table.indicators[column];
    let mut shapes: HashMap<&str, &geo::MultiPolygon<f64>> = snapshot
        .cities
        .iter()
        .chain(&snapshot.counties)
        .chain(&snapshot.townships)
        .map(|(c, g)| (c.as_str(), g))
        .collect();
    shapes.extend(
        snapshot
            .villages
            .areas()
            .iter()
            .map(|a| (a.code.as_str(), &a.geometry)),
    );
    let areas = table
        .rows
        .iter()
        .filter_map(|r| {
            Some(MapArea {
                code: r.area.code.clone(),
                name: crate::domain::short_name(&r.area.name),
                geometry: (*shapes.get(r.area.code.as_str())?).clone(),
                value: r.cells[column].value.rate,
            })
        })
        .collect();
    let classing = match method {
        Method::Catalog => Classing::Fixed(indicator.breaks.clone()),
        Method::Quantile => Classing::Quantile,
        Method::EqualInterval => Classing::EqualInterval,
        Method::NaturalBreaks => Classing::NaturalBreaks,
    };
    ChoroplethSpec {
        title: format!(
            "{}{}{}比例",
            table.within.name,
            level_words(table.level, table.within.level),
            indicator.name_zh
        ),
        legend_title: format!("{}比例", indicator.name_zh),
        areas,
        classing,
        classes,
        palette: catalog.palette.clone(),
        no_data_color: catalog.no_data_color.clone(),
        value_format: ValueFormat::Percent,
        data_date: format!(
            "数据日期：{}",
            snapshot.data_date.as_deref().unwrap_or("未知")
        ),
        source: source_line(demo),
        // Every area is named where its name fits; names that would collide are left out.
        label_areas: true,
        width: 1200,
        height: 900,
    }
}

/// A ranking bar chart of the rate of `indicator` (column `column`), highest first,
/// at most `top` bars; areas without data last.
#[must_use]
pub fn ranking(
    snapshot: &Snapshot,
    catalog: &Catalog,
    table: &Table,
    column: usize,
    top: usize,
    demo: bool,
) -> BarSpec {
    let indicator = &table.indicators[column];
    let mut bars: Vec<(String, f64)> = table
        .rows
        .iter()
        .map(|r| {
            (
                crate::domain::short_name(&r.area.name),
                r.cells[column].value.rate.unwrap_or(f64::NAN),
            )
        })
        .collect();
    bars.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => b.1.total_cmp(&a.1),
    });
    bars.truncate(top);
    let height = (160 + 28 * bars.len() as u32).clamp(300, 8192);
    BarSpec {
        title: format!(
            "{}{}{}比例排名（前{}）",
            table.within.name,
            level_words(table.level, table.within.level),
            indicator.name_zh,
            bars.len()
        ),
        bars,
        value_format: ValueFormat::Percent,
        color: catalog
            .palette
            .get(3)
            .cloned()
            .unwrap_or_else(|| "#d94801".into()),
        data_date: format!(
            "数据日期：{}",
            snapshot.data_date.as_deref().unwrap_or("未知")
        ),
        source: source_line(demo),
        width: 1000,
        height,
    }
}

/// The trend of an indicator's rate in an area over the registry's versions, for
/// reports: one point per version (its data date, or its name), oldest first.
#[must_use]
pub fn trend_spec(
    indicator: &Indicator,
    within_name: &str,
    points: Vec<(String, f64)>,
    (data_date, demo): (Option<&str>, bool),
) -> LineSpec {
    LineSpec {
        title: format!("{within_name}{}比例 历次数据", indicator.name_zh),
        points,
        value_format: ValueFormat::Percent,
        color: "#b3261e".into(),
        data_date: format!("数据日期：{}", data_date.unwrap_or("未知")),
        source: source_line(demo),
        width: 1200,
        height: 700,
    }
}
