//! Times as people read them in listings, audit trails and exported files.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-12-01 18:30:00`: a time in UTC to the second, the way the admin's audit pages and
/// `plugins export` print it (civil-from-days, so no date crate is needed for one format).
pub fn utc_text(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(utc_text(UNIX_EPOCH), "1970-01-01 00:00:00");
        let at = UNIX_EPOCH + Duration::from_secs(1_795_305_600 + 3661);
        assert_eq!(utc_text(at), "2026-11-22 01:01:01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_text(leap), "2000-02-29 00:00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
        assert_eq!(utc_text(leap), "2000-02-29 01:01:01");
    }
}
