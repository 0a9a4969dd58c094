//! The printable visit sheet (入户核查走访单): one A4 page per group and day, blank
//! columns for findings and signatures; and the list of the targets not planned, a page
//! of its own.

use super::*;

/// The style of the visit sheet: A4 landscape, one group-day per page, rows tall enough
/// to write findings and sign in.
const SHEET_CSS: &str = "\
@page { size: A4 landscape; margin: 10mm 12mm; }
body { font-family: \"Songti SC\", \"SimSun\", \"Noto Serif CJK SC\", \"Source Han Serif SC\", serif; font-size: 11pt; color: #000; margin: 0 auto; max-width: 277mm; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 2mm; }
h2 { font-size: 13pt; text-align: center; margin: 0 0 3mm; font-weight: normal; }
section { padding: 4mm 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
th { background: #eee; font-weight: bold; }
table.meta { margin-bottom: 3mm; }
table.meta th { width: 10%; }
table.stops tbody tr { height: 20mm; }
td.order { text-align: center; white-space: nowrap; }
td.nw, table.stops th { white-space: nowrap; }
td.reasons { min-width: 45mm; }
th.write, td.write { width: 24%; }
th.sign, td.sign { width: 8%; }
td ul { margin: 0; padding-left: 4mm; }
small { color: #333; font-weight: normal; }
p.note { font-size: 9pt; margin: 2mm 0; }
.signature { margin-top: 8mm; display: flex; justify-content: space-between; font-size: 12pt; }
.blank { display: inline-block; border-bottom: 1px solid #000; min-width: 50mm; }
.blank.short { min-width: 35mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { max-width: none; }
  section + section { break-before: page; page-break-before: always; }
  th { background: none; }
  .nav { display: none; }
  a { color: #000; text-decoration: none; }
}
";

/// The visit sheets in HTML, for printing (入户核查走访单), in Simplified Chinese.
///
/// One section per group-day with stops, each printed on its own page: the plan title,
/// the group, the day and date, start and end, the totals (stops, 路程 km, 行车 minutes,
/// 工作 minutes), a table of the stops (顺序, 预计到达 as a clock time, 村,
/// 类型 with the 选取方式, 户编号, 户主, 核查内容 as a list, an Amap 导航 link shown on screen and hidden on
/// paper, and blank 核查发现 and 签字 columns to write in), and a line for the group
/// leader's signature (督查组组长签字) and the date. `group` and `day` (1-based numbers)
/// keep only that group's or that day's sheets. The targets not planned are not here:
/// see [`unplanned_html`].
///
/// The page is self-contained: inline CSS, no script, no image, font or style sheet to
/// load; the only links are the Amap navigation links.
#[must_use]
pub fn html(plan: &Plan, group: Option<usize>, day: Option<usize>) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · 入户核查走访单</title>\n<style>\n{SHEET_CSS}</style>\n</head>\n<body>\n",
        escape(&plan.title)
    );
    let mut sections = 0;
    for (g, d) in planned_days(plan)
        .filter(|(g, d)| group.is_none_or(|n| g.group == n) && day.is_none_or(|n| d.day == n))
    {
        out.push_str(&html_day(plan, g, d));
        sections += 1;
    }
    if sections == 0 {
        let _ = write!(
            out,
            "<section class=\"sheet\">\n<h1>{}</h1>\n<p>没有符合条件的走访安排。</p>\n</section>\n",
            escape(&plan.title)
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The targets not planned and why (未安排的对象), as a printable page of their own:
/// a county's plan may leave a thousand, which have no place in the visit sheets.
#[must_use]
pub fn unplanned_html(plan: &Plan) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · 未安排的对象</title>\n<style>\n{SHEET_CSS}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        escape(&plan.title),
        html_dropped(plan)
    )
}

/// The reasons of a target as an HTML list, or nothing.
fn html_reasons(t: &Target) -> String {
    if t.reasons.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul>");
    for r in &t.reasons {
        let _ = write!(out, "<li>{}</li>", escape(r));
    }
    out.push_str("</ul>");
    out
}

/// One group-day's sheet of [`html`].
fn html_day(plan: &Plan, group: &Group, day: &Day) -> String {
    let households = day
        .stops
        .iter()
        .filter(|s| s.target.kind == TargetKind::Household)
        .count();
    let mut out = format!(
        "<section class=\"sheet\">\n<h1>{}</h1>\n<h2>入户核查走访单 · {} · {}</h2>\n\
         <table class=\"meta\">\n\
         <tr><th>起点</th><td>{}</td><th>终点</th><td>{}</td></tr>\n\
         <tr><th>点位</th><td>{} 个（入户 {}，村级 {}）</td><th>路程</th><td>{} 公里</td></tr>\n\
         <tr><th>行车</th><td>{} 分钟</td><th>工作</th><td>{} 分钟（含走访 {} 分钟）</td></tr>\n\
         </table>\n",
        escape(&plan.title),
        escape(&group.name),
        escape(&day_title(day)),
        escape(&day.start.name),
        escape(&day.end.name),
        day.stops.len(),
        households,
        day.stops.len() - households,
        km(day.travel_metres),
        whole(day.travel_minutes),
        whole(day.total_minutes),
        whole(day.service_minutes),
    );
    out.push_str(
        "<table class=\"stops\">\n<thead><tr><th>顺序</th><th>预计到达</th>\
         <th>村</th><th>类型</th><th>户编号</th><th>户主</th><th>核查内容</th>\
         <th class=\"nav\">导航</th><th class=\"write\">核查发现</th><th class=\"sign\">签字</th></tr></thead>\n<tbody>\n",
    );
    for stop in &day.stops {
        let t = &stop.target;
        let uri = amap_uri(t);
        let nav = if uri.is_empty() {
            String::new()
        } else {
            format!("<a href=\"{}\">高德导航</a>", escape(&uri))
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"order\">{}</td><td class=\"nw\">{}</td><td class=\"nw\">{}<br><small>{}</small></td>\
             <td class=\"nw\">{}<br><small>{}</small></td><td class=\"nw\">{}</td><td class=\"nw\">{}</td>\
             <td class=\"reasons\">{}</td><td class=\"nav\">{nav}</td>\
             <td class=\"write\"></td><td class=\"sign\"></td></tr>",
            stop.order,
            hhmm(plan, stop.arrive_minutes),
            escape(&t.village_name),
            escape(&t.township_name),
            t.kind.label(),
            t.selection.label(),
            escape(&t.id),
            escape(&t.label),
            html_reasons(t),
        );
    }
    let _ = write!(
        out,
        "</tbody>\n</table>\n\
         <p class=\"note\">预计到达为当日 {} 出发时的预计时间。户主姓名已脱敏，核查时以户编号为准。</p>\n\
         <div class=\"signature\"><span>督查组组长签字：<span class=\"blank\"></span></span>\
         <span>日期：<span class=\"blank short\"></span></span></div>\n</section>\n",
        escape(&plan.request.day_start)
    );
    out
}

/// The section of [`unplanned_html`]: the targets not planned and why.
fn html_dropped(plan: &Plan) -> String {
    let mut out = format!(
        "<section class=\"dropped\">\n<h1>{}</h1>\n<h2>未安排的对象（{} 个）</h2>\n",
        escape(&plan.title),
        plan.dropped.len()
    );
    if plan.dropped.is_empty() {
        out.push_str("<p>全部对象均已安排。</p>\n</section>\n");
        return out;
    }
    out.push_str(
        "<table class=\"dropped\">\n<thead><tr><th>序号</th><th>乡镇</th><th>村</th><th>类型</th>\
         <th>户编号/村代码</th><th>户主/名称</th><th>选取方式</th><th>核查内容</th><th>未安排原因</th></tr></thead>\n<tbody>\n",
    );
    for (i, d) in plan.dropped.iter().enumerate() {
        let t = &d.target;
        let _ = writeln!(
            out,
            "<tr><td class=\"order\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            escape(&t.township_name),
            escape(&t.village_name),
            t.kind.label(),
            escape(&t.id),
            escape(&t.label),
            t.selection.label(),
            html_reasons(t),
            escape(&d.reason),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
    out
}
