//! Usage plans per API key: a token bucket (rate, burst) and a quota per period, as the key's
//! plan in the template declares them.

use std::{collections::HashMap, sync::Mutex};

use paygate_template::{MethodThrottling, Quota, QuotaPeriod, Throttle};
use time::OffsetDateTime;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The bucket is empty: 429 `Too Many Requests`.
    Throttled,
    /// The period's quota is spent: 429 `Limit Exceeded`.
    QuotaExceeded,
}

/// A token bucket: `burst` capacity, refilled at `rate` tokens per second.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct Usage {
    period: i64,
    used: u64,
}

/// The state of every key's bucket and quota.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    usage: Mutex<HashMap<String, Usage>>,
}

impl Limiter {
    /// Counts one request of `key` against `throttle`, then `quota`; a throttled request does
    /// not count against the quota.
    pub fn admit(
        &self,
        key: &str,
        throttle: Option<&Throttle>,
        quota: Option<&Quota>,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        if let Some(throttle) = throttle {
            self.take_token(key, throttle, now)?;
        }
        if let Some(quota) = quota {
            let period = period_of(quota.period, now);
            let mut usage = self.usage.lock().expect("usage lock");
            // The key is copied only the first time it is seen.
            if !usage.contains_key(key) {
                let first = Usage {
                    period,
                    used: quota.offset,
                };
                usage.insert(key.to_owned(), first);
            }
            let Some(entry) = usage.get_mut(key) else {
                unreachable!("inserted above");
            };
            if entry.period != period {
                *entry = Usage { period, used: 0 };
            }
            if entry.used >= quota.limit {
                return Err(Refusal::QuotaExceeded);
            }
            entry.used += 1;
        }
        Ok(())
    }

    fn take_token(
        &self,
        key: &str,
        throttle: &Throttle,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let rate = throttle.rate_limit.unwrap_or(f64::INFINITY);
        // API Gateway: a burst of 0 with a rate lets nothing through; no burst means the rate.
        let burst = throttle
            .burst_limit
            .map(|b| b as f64)
            .unwrap_or_else(|| rate.max(1.0));
        if rate.is_infinite() && throttle.burst_limit.is_none() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().expect("bucket lock");
        if !buckets.contains_key(key) {
            let full = Bucket {
                tokens: burst,
                at: now,
            };
            buckets.insert(key.to_owned(), full);
        }
        let Some(bucket) = buckets.get_mut(key) else {
            unreachable!("inserted above");
        };
        let elapsed = (now - bucket.at).as_seconds_f64().max(0.0);
        let refill = if rate.is_finite() {
            elapsed * rate
        } else {
            burst
        };
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Refusal::Throttled)
        }
    }
}

/// The stage's throttle for one method (`MethodSettings`): the entry naming the method's
/// resource (written `/~1payments~1{payment_id}` or plainly) and method wins over wildcards.
pub fn method_throttle(
    settings: &[MethodThrottling],
    method: &str,
    resource: &str,
) -> Option<Throttle> {
    let fits = |s: &&MethodThrottling| {
        let path = s.resource_path.replace("~1", "/");
        (path == "/*" || path == resource)
            && (s.http_method == "*" || s.http_method.eq_ignore_ascii_case(method))
    };
    let specificity = |s: &&MethodThrottling| {
        usize::from(s.resource_path != "/*") * 2 + usize::from(s.http_method != "*")
    };
    settings
        .iter()
        .filter(fits)
        .max_by_key(specificity)
        .filter(|s| s.rate_limit.is_some() || s.burst_limit.is_some())
        .map(|s| Throttle {
            rate_limit: s.rate_limit,
            burst_limit: s.burst_limit,
        })
}

/// The period `now` falls in (UTC): days since the epoch, weeks starting Monday, or months.
fn period_of(period: QuotaPeriod, now: OffsetDateTime) -> i64 {
    let days = now.unix_timestamp().div_euclid(86_400);
    match period {
        QuotaPeriod::Day => days,
        // 1970-01-01 was a Thursday: shift so weeks start on Monday.
        QuotaPeriod::Week => (days + 3).div_euclid(7),
        QuotaPeriod::Month => i64::from(now.year()) * 12 + i64::from(u8::from(now.month())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, macros::datetime};

    #[test]
    fn the_bucket_refills_at_the_rate() {
        let limiter = Limiter::default();
        let t = datetime!(2026-11-23 10:00 UTC);
        let throttle = Throttle {
            rate_limit: Some(1.0),
            burst_limit: Some(2),
        };
        assert!(limiter.admit("k", Some(&throttle), None, t).is_ok());
        assert!(limiter.admit("k", Some(&throttle), None, t).is_ok());
        assert_eq!(
            limiter.admit("k", Some(&throttle), None, t),
            Err(Refusal::Throttled)
        );
        let later = t + Duration::seconds(1);
        assert!(limiter.admit("k", Some(&throttle), None, later).is_ok());
        assert!(limiter.admit("other", Some(&throttle), None, later).is_ok());
    }

    #[test]
    fn the_quota_resets_each_period() {
        let limiter = Limiter::default();
        let t = datetime!(2026-11-23 23:59 UTC);
        let quota = Quota {
            limit: 1,
            period: QuotaPeriod::Day,
            offset: 0,
        };
        assert!(limiter.admit("k", None, Some(&quota), t).is_ok());
        assert_eq!(
            limiter.admit("k", None, Some(&quota), t),
            Err(Refusal::QuotaExceeded)
        );
        assert!(
            limiter
                .admit("k", None, Some(&quota), t + Duration::minutes(1))
                .is_ok()
        );
        assert_eq!(
            period_of(QuotaPeriod::Week, datetime!(2026-11-23 0:00 UTC)),
            period_of(QuotaPeriod::Week, datetime!(2026-11-29 23:00 UTC))
        );
        assert_ne!(
            period_of(QuotaPeriod::Week, datetime!(2026-11-22 0:00 UTC)),
            period_of(QuotaPeriod::Week, datetime!(2026-11-23 0:00 UTC))
        );
    }
}
