//! The writes operations are made of, one builder per kind of change: an account's hold,
//! release, debit and credit (combined when one write makes several, as a one-step payment's
//! hold-and-debit does), a payment's state change, an idempotency record's put. Each condition
//! restates the domain rule the change must not break.

use aws_sdk_dynamodb::types::TransactWriteItem;
use time::{Date, Duration, OffsetDateTime};

use super::{
    attrs::{attr_number, attr_string, outflow_attribute, timestamp},
    expr::Expr,
    items::idempotency_item,
    keys::{account_key, payment_key},
};
use crate::{
    Account, AccountId, AccountKind, AccountStatus, ClientId, IdempotencyRecord, LedgerEntry,
    Payment, PaymentId, PaymentStatus, StoreError, unposted::CreditBatch,
};

/// Days of stale outflow attributes dropped by each hold. Starting two days back (not one) means
/// that a release on the hold's day always finds that day's attribute, even across a clock skew
/// of a day between sandboxes.
const OUTFLOW_PRUNE_FROM_DAYS_AGO: i64 = 2;
const OUTFLOW_PRUNE_DAYS: i64 = 7;

/// Every rule of [`Account::check_hold`].
const HOLD_CONDITION: &str = "attribute_exists(#pk) AND #owner = :client AND #kind = :customer \
    AND #currency = :currency AND #status = :active AND #per_payment_limit >= :amount \
    AND #available >= :amount \
    AND ((attribute_not_exists(#out) AND #daily_limit >= :amount) OR #out >= :amount)";
/// Every rule of [`Account::check_receive`].
const RECEIVE_CONDITION: &str =
    "attribute_exists(#pk) AND #kind = :customer AND #currency = :currency AND #status = :active";
/// What [`Account::check_refund`] adds to the receiving rules: the refund is covered.
const REFUND_CONDITION: &str = "#available >= :amount";

/// One account's write in a transaction, assembled from the changes it makes.
#[derive(Debug)]
pub(crate) struct AccountUpdate {
    id: AccountId,
    set: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
    expr: Expr,
}

impl AccountUpdate {
    pub fn of(id: AccountId) -> Self {
        Self {
            id,
            set: Vec::new(),
            remove: Vec::new(),
            conditions: Vec::new(),
            expr: Expr::new(),
        }
    }

    /// Places `payment`'s hold: `available` and the day's outflow budget (first drawn from the
    /// daily limit) go down by the amount, stale days' budgets are dropped, and every rule of
    /// [`Account::check_hold`] is a condition.
    pub fn hold(mut self, payment: &Payment, today: Date) -> Self {
        self = self.customer_values(payment.amount.currency.code());
        self.expr = self
            .expr
            .value(":client", attr_string(payment.client_id.as_str()))
            .value(":amount", attr_number(payment.amount.amount))
            .alias("#out", outflow_attribute(today));
        for i in 0..OUTFLOW_PRUNE_DAYS {
            let placeholder = format!("#stale{i}");
            let day = today - Duration::days(OUTFLOW_PRUNE_FROM_DAYS_AGO + i);
            self.expr = self.expr.alias(&placeholder, outflow_attribute(day));
            self.remove.push(placeholder);
        }
        self.set.push("#available = #available - :amount".into());
        self.set
            .push("#out = if_not_exists(#out, #daily_limit) - :amount".into());
        self.conditions.push(HOLD_CONDITION.into());
        self
    }

    /// Gives `payment`'s hold back: `available`, and the budget of the hold's day when
    /// `restore_budget` (the hold was placed today).
    pub fn release(mut self, payment: &Payment, restore_budget: bool) -> Self {
        self.expr = self
            .expr
            .value(":amount", attr_number(payment.amount.amount))
            .alias("#out", outflow_attribute(payment.created_at.date()));
        self.set.push("#available = #available + :amount".into());
        if restore_budget {
            self.set.push("#out = #out + :amount".into());
        }
        self.conditions.push("attribute_exists(#pk)".into());
        self
    }

    /// Gives back `rest` of a hold placed on `hold_day` that a capture did not take:
    /// `available`, and the budget of the hold's day when `restore_budget` (the hold was placed
    /// today), as a release does.
    pub fn release_rest(mut self, rest: i64, hold_day: Date, restore_budget: bool) -> Self {
        if rest == 0 {
            return self;
        }
        self.expr = self
            .expr
            .value(":rest", attr_number(rest))
            .alias("#out", outflow_attribute(hold_day));
        self.set.push("#available = #available + :rest".into());
        if restore_budget {
            self.set.push("#out = #out + :rest".into());
        }
        self
    }

    /// Posts a debit of funds already held: only `balance` goes down (the hold lowered
    /// `available`).
    pub fn debit_held(self, entry: &LedgerEntry, account: &Account) -> Self {
        self.post(entry, account, None)
    }

    /// Posts a refund's debit of the payee's account: `balance` and `available` go down, on
    /// every rule of [`Account::check_refund`] (available funds cover it).
    pub fn debit_refund(mut self, entry: &LedgerEntry, account: &Account) -> Self {
        self = self.customer_values(entry.amount.currency.code());
        self.expr = self.expr.value(":amount", attr_number(entry.amount.amount));
        self.conditions.push(RECEIVE_CONDITION.into());
        self.conditions.push(REFUND_CONDITION.into());
        self.post(entry, account, Some("#available = #available - :amount"))
    }

    /// Posts a treasury's debit: a treasury holds nothing back, its `available` is its balance.
    pub fn debit_treasury(self, entry: &LedgerEntry, account: &Account) -> Self {
        self.post(entry, account, Some("#available = :balance"))
    }

    /// Posts a credit: `balance` and `available` grow by the amount. Only into an immediate
    /// account: a credit planned on a read from before the account became batched fails, and
    /// the retry defers it.
    pub fn credit(mut self, entry: &LedgerEntry, account: &Account) -> Self {
        self.expr = self.expr.value(":amount", attr_number(entry.amount.amount));
        self.conditions
            .push("attribute_not_exists(#posting)".into());
        self.post(entry, account, Some("#available = #available + :amount"))
    }

    /// Posts a batch of unposted credits: `balance` to the last entry's, `available` up by the
    /// batch's total, the head to the last entry (whatever the posting mode now is).
    pub fn credit_batch(mut self, batch: &CreditBatch, account: &Account) -> Self {
        let Some(last) = batch.last() else {
            return self;
        };
        self.expr = self.expr.value(":amount", attr_number(batch.total));
        self.conditions.push("attribute_exists(#pk)".into());
        self.post(last, account, Some("#available = #available + :amount"))
    }

    /// Requires the account to accept payments in `currency`: every rule of
    /// [`Account::check_receive`].
    pub fn receiving(mut self, currency: &str) -> Self {
        self = self.customer_values(currency);
        self.conditions.push(RECEIVE_CONDITION.into());
        self
    }

    /// Requires the account to belong to `owner` (a destination, to the payment's payee).
    pub fn owned_by(mut self, owner: &ClientId) -> Self {
        self.expr = self.expr.value(":owner", attr_string(owner.as_str()));
        self.conditions.push("#owner = :owner".into());
        self
    }

    /// The update, in `table`.
    pub fn update(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let mut update = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        let condition = self.conditions.join(" AND ");
        self.expr
            .update(table, account_key(self.id), &update, &condition)
    }

    /// Only the conditions, as a check that writes nothing.
    pub fn check(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        debug_assert!(self.set.is_empty() && self.remove.is_empty());
        let condition = self.conditions.join(" AND ");
        self.expr.check(table, account_key(self.id), &condition)
    }

    /// The values the customer-account rules compare with.
    fn customer_values(mut self, currency: &str) -> Self {
        self.expr = self
            .expr
            .value(":customer", attr_string(AccountKind::Customer.as_str()))
            .value(":currency", attr_string(currency))
            .value(":active", attr_string(AccountStatus::Active.as_str()));
        self
    }

    /// Posts `entry` to `account` (as read): the new balance and ledger head, conditioned on the
    /// ledger head being where it was read, so `balance_after` stays exact.
    fn post(mut self, entry: &LedgerEntry, account: &Account, available: Option<&str>) -> Self {
        debug_assert_eq!(entry.account_id, account.id);
        debug_assert_eq!(self.id, account.id);
        let (head, head_value) = match account.ledger_head {
            Some(head) => ("#ledger_head = :head", attr_string(head.to_string())),
            // Every placeholder given must be used: `:head = :head` uses it.
            None => (
                "attribute_not_exists(#ledger_head) AND :head = :head",
                attr_string(""),
            ),
        };
        self.expr = self
            .expr
            .value(":balance", attr_number(entry.balance_after))
            .value(":entry", attr_string(entry.id.to_string()))
            .value(":head", head_value);
        self.set.push("#balance = :balance".into());
        self.set.extend(available.map(str::to_owned));
        self.set.push("#ledger_head = :entry".into());
        self.conditions.push(head.into());
        self
    }
}

/// A hold's state change to `to` (a release), conditioned on it still holding funds (pending,
/// or in review) and on `extra_condition`; it leaves the pending-payments index.
pub(crate) fn payment_transition(
    table: &str,
    id: PaymentId,
    to: PaymentStatus,
    now: OffsetDateTime,
    extra_condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    let expr = Expr::new().value(
        ":review",
        attr_string(PaymentStatus::RequiresReview.as_str()),
    );
    transition(
        expr,
        table,
        id,
        to,
        now,
        "",
        &format!("(#status = :pending OR #status = :review){extra_condition}"),
    )
}

/// A pending payment's capture of `captured` minor units.
pub(crate) fn payment_capture(
    table: &str,
    id: PaymentId,
    captured: i64,
    now: OffsetDateTime,
) -> Result<TransactWriteItem, StoreError> {
    let expr = Expr::new().value(":captured", attr_number(captured));
    transition(
        expr,
        table,
        id,
        PaymentStatus::Succeeded,
        now,
        ", #amount_captured = :captured",
        "#status = :pending",
    )
}

/// A payment in review as the review left it (`reviewed`: pending, captured, or declined),
/// conditioned on it still being in review: a second decision fails.
pub(crate) fn payment_review(
    table: &str,
    reviewed: &Payment,
    now: OffsetDateTime,
) -> Result<TransactWriteItem, StoreError> {
    let review = serde_json::to_string(&reviewed.review).unwrap_or_default();
    let expr = Expr::new()
        .value(
            ":review",
            attr_string(PaymentStatus::RequiresReview.as_str()),
        )
        .value(":captured", attr_number(reviewed.amount_captured))
        .value(":outcome", attr_string(review));
    let expr = expr
        .value(":to", attr_string(reviewed.status().as_str()))
        .value(":now", attr_string(timestamp(now)));
    let mut update = "SET #status = :to, #updated_at = :now, #amount_captured = :captured, \
                      #review = :outcome REMOVE #review_pk, #review_sk"
        .to_owned();
    // Approved (still a hold), it stays in the pending index; otherwise it leaves it.
    if !reviewed.holds_funds() {
        update.push_str(", #gsi1pk, #gsi1sk");
    }
    expr.update(
        table,
        payment_key(reviewed.id),
        &update,
        "#status = :review",
    )
}

fn transition(
    expr: Expr,
    table: &str,
    id: PaymentId,
    to: PaymentStatus,
    now: OffsetDateTime,
    extra_set: &str,
    condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    expr.value(":pending", attr_string(PaymentStatus::Pending.as_str()))
        .value(":to", attr_string(to.as_str()))
        .value(":now", attr_string(timestamp(now)))
        .update(
            table,
            payment_key(id),
            &format!(
                "SET #status = :to, #updated_at = :now{extra_set} \
                 REMOVE #gsi1pk, #gsi1sk, #review_pk, #review_sk"
            ),
            condition,
        )
}

/// Adds `refund` minor units to a succeeded payment's refunded total, conditioned on the total
/// staying within `captured`: concurrent refunds can never refund more than was captured.
/// (Payments stored before refunds existed have no total yet: it starts at 0.)
pub(crate) fn payment_refund(
    table: &str,
    id: PaymentId,
    captured: i64,
    refund: i64,
    now: OffsetDateTime,
) -> Result<TransactWriteItem, StoreError> {
    Expr::new()
        .value(":succeeded", attr_string(PaymentStatus::Succeeded.as_str()))
        .value(":refund", attr_number(refund))
        .value(":zero", attr_number(0))
        .value(":most", attr_number(captured - refund))
        .value(":now", attr_string(timestamp(now)))
        .update(
            table,
            payment_key(id),
            "SET #amount_refunded = if_not_exists(#amount_refunded, :zero) + :refund, \
             #updated_at = :now",
            "#status = :succeeded AND (attribute_not_exists(#amount_refunded) \
             OR #amount_refunded <= :most)",
        )
}

/// The idempotency record's put: refused while a live record holds the key.
pub(crate) fn idempotency_put(
    table: &str,
    record: &IdempotencyRecord,
    now: OffsetDateTime,
) -> Result<TransactWriteItem, StoreError> {
    Expr::new().value(":now", attr_string(timestamp(now))).put(
        table,
        idempotency_item(record),
        "attribute_not_exists(#pk) OR #expires_at <= :now",
    )
}
