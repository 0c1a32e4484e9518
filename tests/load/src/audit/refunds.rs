//! The audit of partial captures and refunds (issue 13), over the whole store: per payment,
//! `0 ≤ refunded ≤ captured ≤ amount` (nothing captured or refunded unless it succeeded), its
//! refunds add up to what it says was refunded, each refund is exactly one debit of the payee's
//! account and one credit of the payer's, and captured − refunded is the net ledger movement
//! between its two accounts (the source down by it, the destination up by it, nothing else).

use std::collections::{BTreeMap, HashMap};

use super::{EntryRow, RefundRow, Snapshot};

/// What a run did with captures and refunds, as the store records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Succeeded transfers that captured less than they held.
    pub partial_captures: u64,
    pub refunds: u64,
    /// Minor units refunded, all currencies together.
    pub refunded: i64,
    /// Payments partly / fully refunded.
    pub partly_refunded: u64,
    pub fully_refunded: u64,
}

/// The counts of [`Summary`] over `snapshot` (funding payments excluded).
pub fn summary(snapshot: &Snapshot) -> Summary {
    let mut summary = Summary {
        refunds: snapshot.refunds.len() as u64,
        refunded: snapshot.refunds.iter().map(|r| r.amount).sum(),
        ..Summary::default()
    };
    for p in snapshot.payments.iter().filter(|p| !p.funding) {
        if p.status == "succeeded" && p.captured < p.amount {
            summary.partial_captures += 1;
        }
        if p.refunded > 0 && p.refunded < p.captured {
            summary.partly_refunded += 1;
        } else if p.refunded > 0 {
            summary.fully_refunded += 1;
        }
    }
    summary
}

/// One line per violation of the rules above (none is the pass).
pub fn check(snapshot: &Snapshot) -> Vec<String> {
    let mut violations = Vec::new();
    let mut refunds: HashMap<&str, Vec<&RefundRow>> = HashMap::new();
    for r in &snapshot.refunds {
        refunds.entry(r.payment.as_str()).or_default().push(r);
        if r.amount <= 0 {
            violations.push(format!("refund {} of {} is {}", r.id, r.payment, r.amount));
        }
    }
    let mut by_refund: HashMap<&str, Vec<&EntryRow>> = HashMap::new();
    let mut by_payment: HashMap<&str, Vec<&EntryRow>> = HashMap::new();
    for e in &snapshot.entries {
        by_payment.entry(e.payment.as_str()).or_default().push(e);
        if let Some(refund) = &e.refund {
            by_refund.entry(refund.as_str()).or_default().push(e);
        }
    }
    for p in &snapshot.payments {
        let amounts_valid = 0 <= p.refunded && p.refunded <= p.captured && p.captured <= p.amount;
        if !amounts_valid {
            violations.push(format!(
                "{}: amount {}, captured {}, refunded {}: not 0 ≤ refunded ≤ captured ≤ amount",
                p.id, p.amount, p.captured, p.refunded
            ));
        }
        let succeeded = p.status == "succeeded";
        if succeeded && p.captured == 0 || !succeeded && (p.captured != 0 || p.refunded != 0) {
            violations.push(format!(
                "{} payment {} records captured {} and refunded {}",
                p.status, p.id, p.captured, p.refunded
            ));
        }
        let own = refunds.remove(p.id.as_str()).unwrap_or_default();
        let sum: i64 = own.iter().map(|r| r.amount).sum();
        if sum != p.refunded {
            violations.push(format!(
                "{}: records {} refunded but its {} refunds add up to {sum}",
                p.id,
                p.refunded,
                own.len()
            ));
        }
        for r in &own {
            let entries = by_refund.remove(r.id.as_str()).unwrap_or_default();
            let debits: Vec<_> = entries.iter().filter(|e| e.debit).collect();
            let credits: Vec<_> = entries.iter().filter(|e| !e.debit).collect();
            let exact = debits.len() == 1
                && credits.len() == 1
                && debits[0].account == p.destination
                && credits[0].account == p.source
                && debits[0].amount == r.amount
                && credits[0].amount == r.amount
                && entries.iter().all(|e| e.payment == p.id);
            if !exact {
                violations.push(format!(
                    "refund {} of {}: {} debit(s) and {} credit(s), not one of {} each from {} to {}",
                    r.id,
                    p.id,
                    debits.len(),
                    credits.len(),
                    r.amount,
                    p.destination,
                    p.source
                ));
            }
        }
        // The brief's rule, over every entry of the payment whatever it claims to be.
        let mut net: BTreeMap<&str, i64> = BTreeMap::new();
        for e in by_payment.remove(p.id.as_str()).unwrap_or_default() {
            *net.entry(e.account.as_str()).or_default() +=
                if e.debit { -e.amount } else { e.amount };
        }
        let moved = p.captured - p.refunded;
        let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
        if moved != 0 {
            expected.insert(p.source.as_str(), -moved);
            expected.insert(p.destination.as_str(), moved);
        }
        net.retain(|_, v| *v != 0);
        if net != expected {
            violations.push(format!(
                "{}: captured {} − refunded {} = {moved}, but its entries move {net:?}",
                p.id, p.captured, p.refunded
            ));
        }
    }
    for (payment, rows) in refunds {
        violations.push(format!(
            "{} refunds of {payment}, which is not a payment",
            rows.len()
        ));
    }
    for (refund, entries) in by_refund {
        violations.push(format!(
            "{} entries of refund {refund}, which is not a refund of their payment",
            entries.len()
        ));
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AccountRow, PaymentRow};

    fn entry(
        id: &str,
        account: &str,
        debit: bool,
        amount: i64,
        after: i64,
        refund: Option<&str>,
    ) -> EntryRow {
        EntryRow {
            id: id.into(),
            account: account.into(),
            payment: "p".into(),
            debit,
            amount,
            balance_after: after,
            refund: refund.map(Into::into),
        }
    }

    /// `a` (opening 100 from the treasury) holds 50 for `b`, captures 30, and `b` refunds 10
    /// and then 5.
    fn consistent() -> Snapshot {
        let account = |id: &str, treasury, balance| AccountRow {
            id: String::from(id),
            treasury,
            currency: "CNY".into(),
            balance,
            available: balance,
        };
        let payment =
            |id: &str, source: &str, destination: &str, amount, captured, refunded| PaymentRow {
                id: id.into(),
                status: "succeeded".into(),
                funding: id == "f",
                source: source.into(),
                destination: destination.into(),
                amount,
                currency: "CNY".into(),
                description: None,
                captured,
                refunded,
            };
        let mut fund = [
            entry("txn_1", "t", true, 100, -100, None),
            entry("txn_1", "a", false, 100, 100, None),
        ];
        for e in &mut fund {
            e.payment = "f".into();
        }
        let refund = |id: &str, amount| RefundRow {
            id: id.into(),
            payment: "p".into(),
            amount,
        };
        Snapshot {
            accounts: vec![
                account("t", true, -100),
                account("a", false, 85),
                account("b", false, 15),
            ],
            payments: vec![
                payment("f", "t", "a", 100, 100, 0),
                payment("p", "a", "b", 50, 30, 15),
            ],
            refunds: vec![refund("re_1", 10), refund("re_2", 5)],
            entries: [
                fund.to_vec(),
                vec![
                    entry("txn_2", "a", true, 30, 70, None),
                    entry("txn_2", "b", false, 30, 30, None),
                    entry("txn_3", "b", true, 10, 20, Some("re_1")),
                    entry("txn_3", "a", false, 10, 80, Some("re_1")),
                    entry("txn_4", "b", true, 5, 15, Some("re_2")),
                    entry("txn_4", "a", false, 5, 85, Some("re_2")),
                ],
            ]
            .concat(),
            credits: vec![],
        }
    }

    #[test]
    fn partial_captures_and_refunds_that_add_up_pass_every_check() {
        let snapshot = consistent();
        assert_eq!(crate::audit::check(&snapshot), Vec::<String>::new());
        let s = summary(&snapshot);
        assert_eq!(
            (s.partial_captures, s.refunds, s.refunded, s.partly_refunded),
            (1, 2, 15, 1)
        );
    }

    #[test]
    fn a_refund_credit_waiting_to_be_posted_settles_the_refund() {
        // The payer `a` is batched: re_2's credit to it waits for the poster.
        let mut s = consistent();
        s.entries.remove(7);
        s.accounts[1].balance = 80;
        s.accounts[1].available = 80;
        s.credits.push(crate::audit::CreditRow {
            account: "a".into(),
            payment: "p".into(),
            refund: Some("re_2".into()),
            amount: 5,
            currency: "CNY".into(),
        });
        assert_eq!(crate::audit::check(&s), Vec::<String>::new());
        // Waiting on the payee instead: the refund was never paid back.
        s.credits[0].account = "b".into();
        let v = crate::audit::check(&s);
        assert!(v.iter().any(|v| v.contains("refund re_2 of p")), "{v:?}");
    }

    #[test]
    fn each_broken_refund_rule_is_found() {
        let found = |s: &Snapshot, what: &str| {
            let v = check(s);
            assert!(v.iter().any(|v| v.contains(what)), "{what}: {v:?}");
        };
        // A refund recorded on the payment but never written.
        let mut s = consistent();
        s.payments[1].refunded = 20;
        found(&s, "records 20 refunded but its 2 refunds add up to 15");
        found(&s, "captured 30 − refunded 20 = 10");
        // More refunded than captured.
        let mut s = consistent();
        s.payments[1].captured = 10;
        found(&s, "not 0 ≤ refunded ≤ captured ≤ amount");
        // A refund credited to the wrong account.
        let mut s = consistent();
        s.entries[5].account = "t".into();
        found(
            &s,
            "refund re_1 of p: 1 debit(s) and 1 credit(s), not one of 10 each",
        );
        found(&s, "but its entries move");
        // A refund whose debit is missing.
        let mut s = consistent();
        s.entries.remove(6);
        found(&s, "refund re_2 of p: 0 debit(s) and 1 credit(s)");
        // Refund entries naming a refund that does not exist.
        let mut s = consistent();
        s.refunds.pop();
        found(&s, "entries of refund re_2, which is not a refund");
        // A canceled payment with something captured.
        let mut s = consistent();
        s.payments[1].status = "canceled".into();
        found(&s, "canceled payment p records captured 30");
    }
}
