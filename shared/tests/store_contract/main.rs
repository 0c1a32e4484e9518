//! The store contract: one suite, run against both adapters. Every case is a generic async fn
//! over a [`Fixture`]; `contract_suite!` instantiates each one in `mod memory` and in
//! `mod dynamodb` (the latter against `PAYGATE_TEST_DYNAMODB_ENDPOINT`, or a moto server started
//! once per test binary, with fresh tables per test).
//!
//! Run one half with `cargo test -p paygate-shared --features dynamodb --test store_contract
//! memory` (or `dynamodb`). The concurrency case prints its seed; set `PAYGATE_TEST_SEED` to
//! replay the same choices.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod books;
mod capture;
mod concurrency;
mod entries;
mod event_pages;
mod events;
mod events_stream;
mod funding;
mod hold_failures;
mod holds;
mod listing;
mod listing_pages;
mod one_step;
mod partial_capture;
mod parties;
mod posting;
mod refund_concurrency;
mod refunds;
mod release;
mod risk;
mod round_trips;
mod webhooks;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use paygate_shared::{
    Account, AccountError, AccountId, AccountLimits, AccountStatus, ClientId, Currency, Direction,
    EntryCursor, EntryQuery, Event, EventId, EventType, Fingerprint, IdempotencyError,
    IdempotencyKey, IdempotencyRecord, InvalidCursor, LedgerEntry, MoneyError, NewPayment, Party,
    Payment, PaymentError, PaymentId, PaymentKind, PaymentStatus, Refund, RefundReason,
    ReleaseReason, StoreError, WebhookEndpointId,
    account::DailyOutflow,
    event::{
        Attempt, AttemptOutcome, Delivery, DeliveryStatus, EventCursor, EventQuery, OutboxRecord,
    },
    idempotency::RETENTION,
    store::{PaymentOutcome, RefundOutcome, Store, dynamodb::outbox_record_from_item},
    views::{PaymentView, RefundView},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use time::{Duration, OffsetDateTime};

use support::*;

use accounts::*;
use books::*;
use capture::*;
use concurrency::*;
use entries::*;
use event_pages::*;
use events::*;
use events_stream::*;
use funding::*;
use hold_failures::*;
use holds::*;
use listing::*;
use listing_pages::*;
use one_step::*;
use partial_capture::*;
use parties::*;
use posting::*;
use refund_concurrency::*;
use refunds::*;
use release::*;
use risk::*;
use round_trips::*;
use webhooks::*;

macro_rules! contract_suite {
    (
        both: [$($case:ident),* $(,)?],
        dynamodb_only: [$($dynamo_case:ident),* $(,)?] $(,)?
    ) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::Fixture::memory()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::Fixture::dynamodb().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $dynamo_case() {
                    super::$dynamo_case(crate::support::Fixture::dynamodb().await).await;
                }
            )*
        }
    };
}

contract_suite! {
    both: [
        accounts_round_trip_and_ids_are_unique,
        funding_moves_money_out_of_the_treasury,
        holds_reserve_funds_and_replay_idempotently,
        expired_idempotency_records_free_their_key,
        failed_holds_leave_no_trace,
        daily_limit_spans_holds_and_resets_each_utc_day,
        capture_posts_one_debit_and_one_credit_exactly_once,
        release_cancels_or_expires_exactly_once,
        overdue_payments_lists_overdue_pending_oldest_first,
        one_step_payments_post_at_once_and_replay,
        failed_one_step_payments_leave_no_trace,
        entries_page_newest_first_with_filters_and_cursors,
        concurrent_payments_keep_the_books_balanced,
        partial_capture_posts_n_and_releases_the_rest,
        the_payee_must_own_the_destination,
        refunds_post_back_to_the_payer_up_to_the_capture,
        concurrent_refunds_never_exceed_the_capture,
        refunds_and_captures_never_overdraw_the_payee,
        payments_list_for_each_party_with_filters_and_bound_cursors,
        payment_pages_are_bounded_and_filtered_pages_resume,
        accounts_list_an_owners_customer_accounts_in_pages,
        state_changes_write_their_events_in_the_same_write,
        replays_and_refusals_write_no_event,
        events_page_newest_first_by_type_with_bound_cursors,
        deliveries_are_recorded_in_attempt_order,
        resend_requests_reach_the_outbox,
        webhook_endpoints_are_owned_counted_rotated_and_deleted,
        a_client_never_has_more_than_16_endpoints,
        batched_credits_wait_as_incoming_and_post_in_order,
        incoming_credits_cannot_be_spent_or_refunded,
        racing_posters_post_each_credit_exactly_once,
        switching_posting_modes_keeps_every_credit,
        a_poster_that_dies_between_batches_loses_and_repeats_nothing,
        concurrent_payments_never_pass_a_velocity_limit,
        velocity_limits_count_payments_and_amounts_per_window,
        the_payee_record_is_checked_and_written_with_the_hold,
        at_the_limit_retries_replay_and_strangers_learn_nothing,
        declined_payments_are_kept_and_hold_nothing,
        reviews_hold_funds_and_are_decided_exactly_once,
        payments_in_review_expire_or_are_canceled_like_pending_ones,
    ],
    dynamodb_only: [
        operations_cost_the_documented_round_trips,
        listing_pages_cost_one_round_trip,
        event_operations_cost_one_round_trip,
        the_stream_carries_exactly_the_events_written,
        webhook_endpoint_operations_cost_one_round_trip,
        batched_posting_costs_the_documented_round_trips,
        risk_control_costs_the_documented_round_trips,
    ],
}

pub(crate) fn treasury() -> AccountId {
    Account::treasury_id(Currency::CNY)
}

pub(crate) async fn create(
    store: &dyn Store,
    payment: &Payment,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, StoreError> {
    store
        .create_payment(payment, &record(payment, key, request, now), now)
        .await
}

/// Creates `payment` under a key of its own and asserts it was created as given.
pub(crate) async fn must_create(store: &dyn Store, payment: &Payment, now: OffsetDateTime) {
    let key = format!("key-{}", payment.id);
    assert_eq!(
        create(store, payment, &key, &key, now).await,
        Ok(PaymentOutcome::Created(payment.clone())),
        "creating {payment:?}"
    );
}
