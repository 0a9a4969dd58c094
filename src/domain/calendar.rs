//! The calendar the campaigns run on: dates as `YYYY-MM-DD` text, today's date in
//! China (UTC+8), and UTC timestamps for the records of who changed what.
//!
//! Dates stay text because that is how the store, the API and the seed documents
//! write them, and text of this one shape sorts in calendar order. DuckDB's
//! `current_date` would need the ICU extension, which an offline server cannot
//! load, so "today" is computed here.

/// Whether `text` is a calendar date `YYYY-MM-DD`.
#[must_use]
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if leap => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days).contains(&d)
        }
        _ => false,
    }
}

/// Seconds since 1970-01-01 UTC, by the system clock.
fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Today's date in China (UTC+8), `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    with_today(str::to_owned)
}

/// Calls `f` with today's date in China, `YYYY-MM-DD`, without making the text anew:
/// every signed-in request asks it to check its grants' last days.
pub fn with_today<T>(f: impl FnOnce(&str) -> T) -> T {
    thread_local! {
        static TODAY: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let days = (unix_seconds() + 8 * 3600) / 86_400;
    TODAY.with_borrow_mut(|(day, text)| {
        if *day != days {
            *day = days;
            *text = civil_date(days as i64);
        }
        f(text)
    })
}

/// The current UTC time as RFC 3339, `YYYY-MM-DDTHH:MM:SSZ`: when a change was made.
#[must_use]
pub fn utc_timestamp() -> String {
    let secs = unix_seconds();
    let rest = secs % 86_400;
    // today() is in China time; a timestamp is UTC, so its date comes from UTC too.
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        civil_date((secs / 86_400) as i64),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The date `days` after 1970-01-01, `YYYY-MM-DD` (Howard Hinnant's days-to-civil
/// algorithm).
#[must_use]
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days from 1970-01-01 to a date `YYYY-MM-DD` (Howard Hinnant's days-from-civil
/// algorithm); `None` when `date` is not one.
#[must_use]
pub fn days_from_civil(date: &str) -> Option<i64> {
    if !is_date(date) {
        return None;
    }
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: i64 = date.get(5..7)?.parse().ok()?;
    let d: i64 = date.get(8..10)?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The date `days` after `date` (`YYYY-MM-DD`); `None` when `date` is not one.
#[must_use]
pub fn add_days(date: &str, days: usize) -> Option<String> {
    Some(civil_date(
        days_from_civil(date)? + i64::try_from(days).ok()?,
    ))
}

/// The date in China (UTC+8) of a UTC timestamp `YYYY-MM-DDTHH:MM:SSZ` (as
/// [`utc_timestamp`] writes them): a change made at 17:00 UTC counts for the next day
/// in China. `None` when `timestamp` is not one.
#[must_use]
pub fn china_date(timestamp: &str) -> Option<String> {
    let date = timestamp.get(..10)?;
    let hour: u32 = timestamp.get(11..13)?.parse().ok()?;
    if timestamp.get(10..11) != Some("T") || hour > 23 {
        return None;
    }
    add_days(date, usize::from(hour >= 16))
}

/// The ISO weekday of a date, 1 (Monday) to 7 (Sunday); `None` when `date` is not one.
#[must_use]
pub fn weekday(date: &str) -> Option<u8> {
    // 1970-01-01 was a Thursday (4).
    Some((days_from_civil(date)? + 3).rem_euclid(7) as u8 + 1)
}

/// The ISO 8601 week a date lies in, `YYYY-Www` (weeks start on Monday; week 1 holds
/// the year's first Thursday, so early January may belong to the year before).
#[must_use]
pub fn iso_week(date: &str) -> Option<String> {
    let days = days_from_civil(date)?;
    let thursday = days - i64::from(weekday(date)?) + 4;
    let year_text = civil_date(thursday);
    let jan1 = days_from_civil(&format!("{}-01-01", year_text.get(..4)?))?;
    Some(format!(
        "{}-W{:02}",
        year_text.get(..4)?,
        (thursday - jan1) / 7 + 1
    ))
}

/// The Monday and Sunday (`YYYY-MM-DD`) of an ISO week `YYYY-Www`; `None` when
/// `week` is not one (a malformed text, or week 53 of a year with 52).
#[must_use]
pub fn week_days(week: &str) -> Option<(String, String)> {
    let (year, w) = week.split_once("-W")?;
    if year.len() != 4
        || w.len() != 2
        || !(year.bytes().chain(w.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: i64 = w.parse().ok()?;
    let jan4 = format!("{year}-01-04");
    let monday1 = days_from_civil(&jan4)? - i64::from(weekday(&jan4)?) + 1;
    let monday = civil_date(monday1 + (n - 1) * 7);
    // Week 0, or 53 of a 52-week year, names another week: refused, not wrapped.
    if n < 1 || iso_week(&monday)? != week {
        return None;
    }
    let sunday = add_days(&monday, 6)?;
    Some((monday, sunday))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_computed() {
        assert!(is_date("2019-07-01") && is_date("2020-02-29"));
        assert!(!is_date("2019-02-29") && !is_date("2019-13-01") && !is_date("2019-7-1"));
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(18_078), "2019-07-01");
        assert!(is_date(&today()));
        assert_eq!(days_from_civil("2019-07-01"), Some(18_078));
        assert_eq!(add_days("2019-02-27", 2).as_deref(), Some("2019-03-01"));
        assert_eq!(add_days("2019-02-30", 1), None);
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let t = utc_timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(
            is_date(&t[..10]) && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
    }
    #[test]
    fn iso_weeks_start_on_monday_and_hold_the_first_thursday() {
        assert_eq!(weekday("2019-07-01"), Some(1));
        assert_eq!(weekday("2019-07-07"), Some(7));
        assert_eq!(iso_week("2019-07-03").as_deref(), Some("2019-W27"));
        // 2018-12-31 is a Monday of the week holding 2019-01-03.
        assert_eq!(iso_week("2018-12-31").as_deref(), Some("2019-W01"));
        // 2021-01-03 is a Sunday of 2020's week 53.
        assert_eq!(iso_week("2021-01-03").as_deref(), Some("2020-W53"));
        assert_eq!(
            week_days("2019-W27"),
            Some(("2019-07-01".to_owned(), "2019-07-07".to_owned()))
        );
        assert_eq!(
            week_days("2020-W53").map(|w| w.0).as_deref(),
            Some("2020-12-28")
        );
        assert_eq!(week_days("2019-W53"), None);
        assert_eq!(week_days("2019-W00"), None);
        assert_eq!(week_days("2019-27"), None);
        assert_eq!(week_days("2019-W7"), None);
        assert_eq!(
            china_date("2019-07-07T15:59:59Z").as_deref(),
            Some("2019-07-07")
        );
        assert_eq!(
            china_date("2019-07-07T16:00:00Z").as_deref(),
            Some("2019-07-08")
        );
        assert_eq!(china_date("2019-07-07"), None);
    }
}
