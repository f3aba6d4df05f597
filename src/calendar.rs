//! Civil dates in UTC, for month codes, expiries, history bars and activation's weekend reset.
//! The bottom of the crate: it depends on nothing else in it.

use std::time::SystemTime;

/// Month names as IBKR writes them in `MMMYY` codes (`AUG25`).
pub const MONTH_CODES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Whole days since 1970-01-01 at `now` (UTC).
pub fn days(now: SystemTime) -> i64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64
}

/// The civil date of `now` in UTC.
pub fn civil(now: SystemTime) -> (i64, u32, u32) {
    civil_from_days(days(now))
}

/// Date and time of day in UTC: (year, month, day, hour, minute, second).
pub fn clock(at: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    let (year, month, day) = civil(at);
    (year, month, day, seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

/// Day of the week of a day count, 0 = Monday (1970-01-01 was a Thursday).
pub fn weekday_of(days: i64) -> u32 {
    (days + 3).rem_euclid(7) as u32
}

/// Day of the week of a civil date, 0 = Monday.
pub fn weekday(year: u32, month: u32, day: u32) -> u32 {
    weekday_of(days_from_civil(i64::from(year), month, day))
}

pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1, 0, 59, 10_957, 19_000, 20_787, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let at = |secs: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(civil(at(951_782_400)), (2000, 2, 29));
        assert_eq!(civil(at(1_795_507_200)), (2026, 11, 24));
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday(1970, 1, 1), 3);
        assert_eq!(weekday(2025, 8, 22), 4, "the guide's expiry is a Friday");
        assert_eq!(weekday(2026, 11, 30), 0);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
    }
}
