//! Backoff and Retry-After: how long to wait before trying again.

use std::time::{Duration, SystemTime};

use rand::RngExt;
use reqwest::header::{self, HeaderMap};

/// Delay before the first retry; doubled on each further one.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Exponential backoff with up to 50 % jitter: `BACKOFF_BASE · 2^attempt`, at
/// most `ceiling` (jitter included).
pub fn backoff(attempt: u32, ceiling: Duration) -> Duration {
    scaled_backoff(BACKOFF_BASE, attempt, ceiling)
}

/// Exponential backoff from `base`, with up to 50 % jitter, capped at `ceiling`.
pub fn scaled_backoff(base: Duration, attempt: u32, ceiling: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(20)).min(ceiling);
    let jitter_ms = rand::rng().random_range(0..=exp.as_millis() as u64 / 2);
    (exp + Duration::from_millis(jitter_ms)).min(ceiling)
}

/// Parses Retry-After: delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_and_stays_under_the_ceiling() {
        let ceiling = Duration::from_secs(10);
        assert!(backoff(0, ceiling) >= BACKOFF_BASE);
        assert!(backoff(0, ceiling) <= BACKOFF_BASE * 3 / 2);
        assert!(backoff(3, ceiling) >= BACKOFF_BASE * 8);
        for attempt in [10, 30, u32::MAX] {
            assert!(backoff(attempt, ceiling) <= ceiling);
        }
    }
}
