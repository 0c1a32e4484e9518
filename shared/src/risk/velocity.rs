//! Velocity limits: how many payments (and how much money) a source account may commit per
//! fixed UTC hour and day. Counters are moved by the hold's own atomic write, each under a
//! condition on its value before the write, so that concurrent payments can never pass a limit
//! together.
//!
//! A counter's condition is a range of values before the write, chosen so that every value in it
//! leads to the same outcome ([`plan`]): under 80 % of the limit after this payment, crossing
//! 80 % with this payment (which raises a `risk.alert`, so the range is the exact value), or
//! between 80 % and the limit. A write whose guess of the counters was wrong fails its condition
//! and is planned again from the values read; nothing is written meanwhile.

use time::{Date, OffsetDateTime, Time};

use crate::{AccountId, spelling::spelled};

spelled! {
    /// A velocity rule, by its name in the rules.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum VelocityRule {
        MaxPaymentsPerHour => "max_payments_per_hour",
        MaxPaymentsPerDay => "max_payments_per_day",
        MaxAmountPerHour => "max_amount_per_hour",
    }
}

/// The velocity limits of a client's rules (none: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VelocityLimits {
    pub per_hour: Option<i64>,
    pub per_day: Option<i64>,
    pub amount_per_hour: Option<i64>,
}

impl VelocityLimits {
    /// Whether the hour's counters are kept (a limit on them is set).
    pub fn counts_hour(&self) -> bool {
        self.per_hour.is_some() || self.amount_per_hour.is_some()
    }

    /// Whether the day's counter is kept.
    pub fn counts_day(&self) -> bool {
        self.per_day.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.counts_hour() && !self.counts_day()
    }

    fn limit(&self, rule: VelocityRule) -> Option<i64> {
        match rule {
            VelocityRule::MaxPaymentsPerHour => self.per_hour,
            VelocityRule::MaxPaymentsPerDay => self.per_day,
            VelocityRule::MaxAmountPerHour => self.amount_per_hour,
        }
    }
}

/// The fixed UTC windows a payment made at some instant counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Windows {
    /// The start of the hour.
    pub hour: OffsetDateTime,
    pub day: Date,
}

impl Windows {
    pub fn at(at: OffsetDateTime) -> Self {
        let at = at.to_offset(time::UtcOffset::UTC);
        let hour = at.replace_time(Time::from_hms(at.hour(), 0, 0).unwrap_or(Time::MIDNIGHT));
        Self {
            hour,
            day: at.date(),
        }
    }

    /// When `rule`'s window started.
    pub fn start(&self, rule: VelocityRule) -> OffsetDateTime {
        match rule {
            VelocityRule::MaxPaymentsPerDay => self.day.midnight().assume_utc(),
            _ => self.hour,
        }
    }

    /// `2026113016` and `20261130`: the windows as they name counter items.
    pub fn hour_key(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}",
            self.hour.year(),
            u8::from(self.hour.month()),
            self.hour.day(),
            self.hour.hour()
        )
    }

    pub fn day_key(&self) -> String {
        format!(
            "{:04}{:02}{:02}",
            self.day.year(),
            u8::from(self.day.month()),
            self.day.day()
        )
    }
}

/// A source account's counters in one hour and its day, before a payment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub hour_payments: i64,
    pub hour_amount: i64,
    pub day_payments: i64,
}

impl Counts {
    pub fn get(&self, rule: VelocityRule) -> i64 {
        match rule {
            VelocityRule::MaxPaymentsPerHour => self.hour_payments,
            VelocityRule::MaxPaymentsPerDay => self.day_payments,
            VelocityRule::MaxAmountPerHour => self.hour_amount,
        }
    }

    /// The counters once a payment of `amount` is counted in the windows `limits` keeps
    /// counters for (the others stay as they were: nothing counts there).
    pub fn after(&self, amount: i64, limits: &VelocityLimits) -> Self {
        let (hour, day) = (limits.counts_hour(), limits.counts_day());
        Self {
            hour_payments: self.hour_payments + i64::from(hour),
            hour_amount: self.hour_amount + if hour { amount } else { 0 },
            day_payments: self.day_payments + i64::from(day),
        }
    }
}

/// One counter's condition: its value before the write is within `lo..=hi` (a counter not
/// written yet counts as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub rule: VelocityRule,
    pub lo: i64,
    pub hi: i64,
}

/// A counter crossed 80 % of its limit with this payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    pub rule: VelocityRule,
    pub limit: i64,
    /// The counter after the payment.
    pub used: i64,
    pub window_start: OffsetDateTime,
}

/// How the hold's write moves the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VelocityPlan {
    pub bounds: Vec<Bound>,
    pub alerts: Vec<Alert>,
}

/// A payment would take a source account over a velocity limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "account {account} is limited to {limit} by {rule} in the window that started at {start}; \
     {used} used, this payment adds {requested}",
    rule = rule.as_str(),
    start = crate::timefmt::format_rfc3339_millis(*window_start)
)]
pub struct VelocityExceeded {
    pub account: AccountId,
    pub rule: VelocityRule,
    pub limit: i64,
    pub used: i64,
    pub requested: i64,
    pub window_start: OffsetDateTime,
}

/// The value at which a counter raises its alert: 80 % of the limit, rounded up.
pub fn alert_threshold(limit: i64) -> i64 {
    ((limit * 4 + 4) / 5).max(1)
}

/// Plans the counters' moves for a payment of `amount` from `account`, given their values
/// `before`.
///
/// # Errors
/// [`VelocityExceeded`] for the first limit the payment would pass (count per hour, per day,
/// then amount per hour).
pub fn plan(
    limits: &VelocityLimits,
    account: AccountId,
    before: Counts,
    amount: i64,
    windows: &Windows,
) -> Result<VelocityPlan, VelocityExceeded> {
    let mut plan = VelocityPlan::default();
    for rule in VelocityRule::ALL.iter().copied() {
        let Some(limit) = limits.limit(rule) else {
            continue;
        };
        let (b, x) = (
            before.get(rule),
            match rule {
                VelocityRule::MaxAmountPerHour => amount,
                _ => 1,
            },
        );
        if b + x > limit {
            return Err(VelocityExceeded {
                account,
                rule,
                limit,
                used: b,
                requested: x,
                window_start: windows.start(rule),
            });
        }
        let threshold = alert_threshold(limit);
        let (lo, hi) = if b + x < threshold {
            (0, threshold - x - 1)
        } else if b < threshold {
            plan.alerts.push(Alert {
                rule,
                limit,
                used: b + x,
                window_start: windows.start(rule),
            });
            (b, b)
        } else {
            (threshold, limit - x)
        };
        plan.bounds.push(Bound { rule, lo, hi });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn windows() -> Windows {
        Windows::at(datetime!(2026-11-30 16:42:10.5 UTC))
    }

    fn account() -> AccountId {
        AccountId::from_ulid(ulid::Ulid(7))
    }

    #[test]
    fn windows_are_fixed_utc_hours_and_days() {
        let w = windows();
        assert_eq!(w.hour, datetime!(2026-11-30 16:00 UTC));
        assert_eq!(
            (w.hour_key(), w.day_key()),
            ("2026113016".into(), "20261130".into())
        );
        assert_eq!(
            w.start(VelocityRule::MaxPaymentsPerDay),
            datetime!(2026-11-30 00:00 UTC)
        );
    }

    #[test]
    fn the_alert_fires_once_at_eighty_percent() {
        let limits = VelocityLimits {
            per_hour: Some(10),
            ..VelocityLimits::default()
        };
        assert_eq!(alert_threshold(10), 8);
        assert_eq!(alert_threshold(1), 1);
        assert_eq!(alert_threshold(3), 3);
        let alerts: Vec<usize> = (0..10)
            .map(|b| {
                let before = Counts {
                    hour_payments: b,
                    ..Counts::default()
                };
                plan(&limits, account(), before, 5, &windows())
                    .unwrap()
                    .alerts
                    .len()
            })
            .collect();
        assert_eq!(alerts, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        let over = plan(
            &limits,
            account(),
            Counts {
                hour_payments: 10,
                ..Counts::default()
            },
            5,
            &windows(),
        )
        .unwrap_err();
        assert_eq!(
            (over.rule, over.limit, over.used),
            (VelocityRule::MaxPaymentsPerHour, 10, 10)
        );
    }

    #[test]
    fn every_value_in_a_bound_leads_to_the_same_outcome() {
        let limits = VelocityLimits {
            per_hour: Some(10),
            per_day: Some(25),
            amount_per_hour: Some(1_000),
        };
        for hour_payments in 0..10 {
            for hour_amount in (0..=1_000).step_by(50) {
                for amount in [1, 100, 400, 1_000] {
                    let before = Counts {
                        hour_payments,
                        hour_amount,
                        day_payments: hour_payments + 3,
                    };
                    let Ok(planned) = plan(&limits, account(), before, amount, &windows()) else {
                        continue;
                    };
                    for bound in &planned.bounds {
                        assert!((bound.lo..=bound.hi).contains(&before.get(bound.rule)));
                        for v in [bound.lo, bound.hi] {
                            let mut other = before;
                            match bound.rule {
                                VelocityRule::MaxPaymentsPerHour => other.hour_payments = v,
                                VelocityRule::MaxPaymentsPerDay => other.day_payments = v,
                                VelocityRule::MaxAmountPerHour => other.hour_amount = v,
                            }
                            let again = plan(&limits, account(), other, amount, &windows())
                                .expect("a value in the bound passes too");
                            assert_eq!(
                                again.alerts.iter().any(|a| a.rule == bound.rule),
                                planned.alerts.iter().any(|a| a.rule == bound.rule),
                                "{bound:?} {before:?} {amount}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_amount_limit_counts_the_amount() {
        let limits = VelocityLimits {
            amount_per_hour: Some(1_000),
            ..VelocityLimits::default()
        };
        let before = Counts {
            hour_amount: 700,
            ..Counts::default()
        };
        let planned = plan(&limits, account(), before, 200, &windows()).unwrap();
        assert_eq!(planned.alerts[0].used, 900);
        let over = plan(&limits, account(), before, 301, &windows()).unwrap_err();
        assert_eq!((over.used, over.requested), (700, 301));
    }
}
