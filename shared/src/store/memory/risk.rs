//! Risk control's state in the embedded store: velocity counters per source account and window,
//! and the new-payee records.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, OffsetDateTime};

use crate::{
    AccountId,
    risk::velocity::{Counts, VelocityLimits, Windows},
};

#[derive(Debug, Default)]
pub(super) struct RiskState {
    /// (payments, amount) per source account and UTC hour.
    hours: BTreeMap<(AccountId, OffsetDateTime), (i64, i64)>,
    /// Payments per source account and UTC day.
    days: BTreeMap<(AccountId, Date), i64>,
    /// (source, destination) pairs that have had a hold.
    pub payees: BTreeSet<(AccountId, AccountId)>,
}

impl RiskState {
    pub fn counts(&self, account: AccountId, windows: &Windows) -> Counts {
        let (hour_payments, hour_amount) = self
            .hours
            .get(&(account, windows.hour))
            .copied()
            .unwrap_or_default();
        Counts {
            hour_payments,
            hour_amount,
            day_payments: self
                .days
                .get(&(account, windows.day))
                .copied()
                .unwrap_or_default(),
        }
    }

    /// Counts a payment of `amount` in the windows `limits` keeps counters for (as the DynamoDB
    /// adapter does: no counter item without a limit on it).
    pub fn count(
        &mut self,
        account: AccountId,
        windows: &Windows,
        limits: &VelocityLimits,
        amount: i64,
    ) {
        if limits.counts_hour() {
            let hour = self.hours.entry((account, windows.hour)).or_default();
            hour.0 += 1;
            hour.1 += amount;
        }
        if limits.counts_day() {
            *self.days.entry((account, windows.day)).or_default() += 1;
        }
    }
}
