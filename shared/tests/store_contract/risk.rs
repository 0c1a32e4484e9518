//! Risk control in the store: velocity counters and the payee record move in the hold's own
//! write (concurrent payments never pass a limit together), declined payments are kept and hold
//! nothing, and payments in review are held, listed, and decided exactly once.

#[allow(unused_imports)]
use super::*;

use paygate_shared::{
    Decision, Money, PaymentQuery, ReviewDecision, ReviewOutcome, RiskAssessment, RiskError,
    RiskReason,
    listing::reviews::ReviewQuery,
    risk::{VelocityLimits, VelocityRule},
    store::{PayeeCheck, RiskWrite},
};

fn limits(per_hour: Option<i64>, per_day: Option<i64>, amount: Option<i64>) -> RiskWrite {
    RiskWrite {
        velocity: VelocityLimits {
            per_hour,
            per_day,
            amount_per_hour: amount,
        },
        payee: PayeeCheck::Unchecked,
    }
}

async fn create_risked(
    store: &dyn Store,
    payment: &Payment,
    risk: &RiskWrite,
    now: OffsetDateTime,
) -> Result<PaymentOutcome, StoreError> {
    let key = format!("key-{}", payment.id);
    store
        .create_assessed_payment(payment, &record(payment, &key, &key, now), risk, now)
        .await
}

fn assessed(payment: Payment, decision: Decision, confirm: bool) -> Payment {
    let at = payment.created_at;
    let risk = RiskAssessment {
        decision,
        score: 60,
        reasons: vec![RiskReason::ReviewAmount],
    };
    payment.assessed(risk, confirm, at).expect("a new payment")
}

fn new_payment(
    client: &ClientId,
    source: AccountId,
    destination: AccountId,
    amount: Money,
) -> NewPayment {
    NewPayment {
        client_id: client.clone(),
        payee: payee_of(destination),
        source,
        destination,
        amount,
        description: None,
    }
}

fn exceeded(result: &Result<PaymentOutcome, StoreError>) -> Option<VelocityRule> {
    match result {
        Err(StoreError::Risk(RiskError::VelocityLimitExceeded(e))) => Some(e.rule),
        _ => None,
    }
}

pub(crate) async fn concurrent_payments_never_pass_a_velocity_limit(fx: Fixture) {
    let s = fx.shared();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(&*s, &alice, GENEROUS, 1_000_000, T0).await;
    let b = open_funded(&*s, &bob, GENEROUS, 0, T0).await;
    let risk = limits(Some(10), None, None);
    let now = T0 + minutes(1);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        let p = transfer(&alice, a, b, cny(100 + i), now);
        tasks.push(tokio::spawn(async move {
            let outcome = create_risked(&*s, &p, &risk, now).await;
            (p, outcome)
        }));
    }
    let (mut held, mut refused) = (Vec::new(), 0);
    for task in tasks {
        let (p, outcome) = task.await.expect("task");
        match &outcome {
            Ok(PaymentOutcome::Created(_)) => held.push(p),
            other if exceeded(other) == Some(VelocityRule::MaxPaymentsPerHour) => refused += 1,
            other => panic!("neither held nor refused for velocity: {other:?}"),
        }
    }
    assert_eq!((held.len(), refused), (10, 22), "exactly the limit is held");
    let held_total: i64 = held.iter().map(|p| p.amount.amount).sum();
    assert_eq!(account(&*s, a).await.available, 1_000_000 - held_total);
    let alerts: Vec<Event> = events_of(&fx, &alice, now)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::RiskAlert)
        .collect();
    assert_eq!(alerts.len(), 1, "one alert, when the 8th of 10 was held");
    let alert = alerts[0].object();
    assert_eq!(alert["rule"], "max_payments_per_hour");
    assert_eq!(
        (alert["limit"].as_i64(), alert["used"].as_i64()),
        (Some(10), Some(8))
    );
    assert_eq!(alert["account_id"], a.to_string());

    // The next hour has a counter of its own.
    let later = T0 + Duration::hours(1);
    let p = transfer(&alice, a, b, cny(1), later);
    assert!(matches!(
        create_risked(&*s, &p, &risk, later).await,
        Ok(PaymentOutcome::Created(_))
    ));
}

pub(crate) async fn velocity_limits_count_payments_and_amounts_per_window(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(5);

    // Amount per hour: 1,000.
    let risk = limits(None, None, Some(1_000));
    let first = transfer(&alice, a, b, cny(700), now);
    assert!(create_risked(s, &first, &risk, now).await.is_ok());
    let before = account(s, a).await;
    let over = transfer(&alice, a, b, cny(301), now);
    let result = create_risked(s, &over, &risk, now).await;
    assert_eq!(
        exceeded(&result),
        Some(VelocityRule::MaxAmountPerHour),
        "{result:?}"
    );
    let Err(StoreError::Risk(RiskError::VelocityLimitExceeded(e))) = result else {
        unreachable!()
    };
    assert_eq!((e.limit, e.used, e.requested), (1_000, 700, 301));
    assert_eq!(account(s, a).await, before, "a refusal holds nothing");
    assert_eq!(s.payment(over.id).await, Ok(None), "and keeps nothing");
    let fits = transfer(&alice, a, b, cny(300), now);
    assert!(create_risked(s, &fits, &risk, now).await.is_ok());

    // Payments per day (one-step payments count too), across hours.
    let risk = limits(None, Some(3), None);
    let day = T0 + Duration::hours(3);
    for (i, at) in [day, day + Duration::hours(1), day + Duration::hours(2)]
        .into_iter()
        .enumerate()
    {
        let p = transfer(&alice, a, b, cny(10), at);
        let p = if i == 1 { one_step(p) } else { p };
        assert!(create_risked(s, &p, &risk, at).await.is_ok(), "payment {i}");
    }
    let at = day + Duration::hours(4);
    let fourth = one_step(transfer(&alice, a, b, cny(10), at));
    assert_eq!(
        exceeded(&create_risked(s, &fourth, &risk, at).await),
        Some(VelocityRule::MaxPaymentsPerDay)
    );
    let tomorrow = (T0 + Duration::days(1)).replace_hour(0).unwrap();
    let p = transfer(&alice, a, b, cny(10), tomorrow);
    assert!(create_risked(s, &p, &risk, tomorrow).await.is_ok());
}

pub(crate) async fn at_the_limit_retries_replay_and_strangers_learn_nothing(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, mallory) = (client("alice"), client("bob"), client("mallory"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(1);
    let risk = limits(Some(1), Some(1), Some(1_000));
    let first = transfer(&alice, a, b, cny(100), now);
    let first_record = record(&first, "limit-1", "pay bob 100", now);
    assert!(
        s.create_assessed_payment(&first, &first_record, &risk, now)
            .await
            .is_ok()
    );
    // The same request again (a new payment made of it, as the handler makes one per try).
    let retry = transfer(&alice, a, b, cny(100), now);
    let again = s
        .create_assessed_payment(
            &retry,
            &record(&retry, "limit-1", "pay bob 100", now),
            &risk,
            now,
        )
        .await;
    assert!(
        matches!(&again, Ok(PaymentOutcome::Replayed(r)) if r.payment_id == first.id),
        "a retry at the limit replays: {again:?}"
    );
    // Another client paying from alice's account learns nothing of its counters.
    let stranger = transfer(&mallory, a, b, cny(100), now);
    let refused = create_risked(s, &stranger, &risk, now).await;
    assert_eq!(refused, Err(AccountError::NotFound(a).into()));
    let mine = transfer(&alice, a, b, cny(100), now);
    assert!(exceeded(&create_risked(s, &mine, &risk, now).await).is_some());
}

pub(crate) async fn the_payee_record_is_checked_and_written_with_the_hold(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(1);
    let known = RiskWrite {
        payee: PayeeCheck::Known,
        ..RiskWrite::default()
    };
    let new = RiskWrite {
        payee: PayeeCheck::New,
        ..RiskWrite::default()
    };
    let before = account(s, a).await;
    let p = transfer(&alice, a, b, cny(100), now);
    assert_eq!(
        create_risked(s, &p, &known, now).await,
        Err(RiskError::PayeeAssumption { known: false }.into()),
        "bob was never paid from a"
    );
    assert_eq!(account(s, a).await, before, "nothing held");
    assert_eq!(s.payment(p.id).await, Ok(None));
    assert_eq!(
        create_risked(s, &p, &new, now).await,
        Ok(PaymentOutcome::Created(p.clone()))
    );
    let again = one_step(transfer(&alice, a, b, cny(100), now));
    assert_eq!(
        create_risked(s, &again, &new, now).await,
        Err(RiskError::PayeeAssumption { known: true }.into()),
        "the first payment recorded the payee"
    );
    assert_eq!(
        create_risked(s, &again, &known, now).await,
        Ok(PaymentOutcome::Created(again.clone()))
    );
    // Another destination of the same owner is another payee.
    let b2 = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let to_b2 = transfer(&alice, a, b2, cny(100), now);
    assert_eq!(
        create_risked(s, &to_b2, &known, now).await,
        Err(RiskError::PayeeAssumption { known: false }.into())
    );
}

pub(crate) async fn declined_payments_are_kept_and_hold_nothing(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(1);
    let mut watch = Watch::new(&fx, &[&alice, &bob]);
    skip(&fx, &mut watch, now).await;
    let before = account(s, a).await;
    // Declined even above the available balance: nothing is held, so nothing is checked.
    let p = assessed(
        transfer(&alice, a, b, cny(5_000), now),
        Decision::Decline,
        true,
    );
    assert_eq!(p.status(), PaymentStatus::Declined);
    assert_eq!(
        create_risked(s, &p, &limits(Some(1), None, None), now).await,
        Ok(PaymentOutcome::Created(p.clone()))
    );
    assert_eq!(account(s, a).await, before);
    assert_eq!(s.payment(p.id).await, Ok(Some(p.clone())));
    watch
        .expect(
            "declined",
            &[(EventType::PaymentDeclined, &alice)],
            &serde_json::to_value(PaymentView::from(&p)).unwrap(),
            now,
        )
        .await;
    // A retry (a new payment made of the same request) is answered as the first request was.
    let key = format!("key-{}", p.id);
    let retry = assessed(
        transfer(&alice, a, b, cny(5_000), now),
        Decision::Decline,
        true,
    );
    let again = s
        .create_payment(&retry, &record(&retry, &key, &key, now), now)
        .await;
    assert!(
        matches!(&again, Ok(PaymentOutcome::Replayed(first)) if first.payment_id == p.id),
        "{again:?}"
    );
    assert_eq!(s.payment(retry.id).await, Ok(None));
    // It did not count: a limit of one payment still lets one through.
    let next = transfer(&alice, a, b, cny(10), now);
    assert!(
        create_risked(s, &next, &limits(Some(1), None, None), now)
            .await
            .is_ok()
    );
    // Declined, but still only from the caller's own account to the payee's.
    let mallory = client("mallory");
    for (what, forged) in [
        (
            "another client's source",
            transfer(&mallory, a, b, cny(5), now),
        ),
        (
            "a destination of someone else than the payee",
            Payment::pending(
                NewPayment {
                    payee: client("carol"),
                    ..new_payment(&alice, a, b, cny(5))
                },
                now,
                TTL,
            )
            .unwrap(),
        ),
    ] {
        let forged = assessed(forged, Decision::Decline, false);
        let refused = create_risked(s, &forged, &RiskWrite::default(), now).await;
        assert!(
            matches!(refused, Err(StoreError::Account(AccountError::NotFound(_)))),
            "{what}: {refused:?}"
        );
        assert_eq!(s.payment(forged.id).await, Ok(None), "{what}: nothing kept");
    }
    let listed = s
        .payments(&PaymentQuery {
            statuses: vec![PaymentStatus::Declined],
            ..PaymentQuery::first(alice.clone(), Party::Payer)
        })
        .await
        .expect("list");
    assert_eq!(
        listed.payments.iter().map(|p| p.id).collect::<Vec<_>>(),
        [p.id]
    );
}

/// Takes the events written so far without checking them (and the embedded store's outbox).
async fn skip(fx: &Fixture, watch: &mut Watch<'_>, now: OffsetDateTime) {
    watch.fresh(now + Duration::days(1)).await;
    if let Some(memory) = fx.memory_store() {
        memory.take_outbox(usize::MAX);
    }
}

fn outcome(decision: ReviewDecision, at: OffsetDateTime) -> ReviewOutcome {
    ReviewOutcome {
        decision,
        note: Some("checked with the customer".into()),
        reviewer: client("risk-desk"),
        reviewed_at: at,
    }
}

pub(crate) async fn reviews_hold_funds_and_are_decided_exactly_once(fx: Fixture) {
    use EventType::*;
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(1);
    let mut watch = Watch::new(&fx, &[&alice, &bob]);
    skip(&fx, &mut watch, now).await;

    let held = assessed(
        transfer(&alice, a, b, cny(1_000), now),
        Decision::Review,
        false,
    );
    let captures = assessed(
        transfer(&alice, a, b, cny(2_000), now + minutes(1)),
        Decision::Review,
        true,
    );
    let declined = assessed(
        transfer(&alice, a, b, cny(3_000), now + minutes(2)),
        Decision::Review,
        false,
    );
    for p in [&held, &captures, &declined] {
        assert_eq!(p.status(), PaymentStatus::RequiresReview);
        assert_eq!(
            create_risked(s, p, &RiskWrite::default(), p.created_at).await,
            Ok(PaymentOutcome::Created(p.clone()))
        );
        if p.id == held.id {
            watch
                .expect(
                    "sent to review",
                    &[(PaymentCreated, &alice), (PaymentReviewRequired, &alice)],
                    &serde_json::to_value(PaymentView::from(&held)).unwrap(),
                    now,
                )
                .await;
        }
    }
    skip(&fx, &mut watch, now + minutes(3)).await;
    let a1 = account(s, a).await;
    assert_eq!(
        (a1.balance, a1.available),
        (10_000, 4_000),
        "review holds funds"
    );
    assert!(
        matches!(
            s.capture(&held, held.amount, now).await,
            Err(StoreError::Payment(PaymentError::NotPending(_)))
        ),
        "a payment in review cannot be confirmed"
    );

    // Listed oldest first, in pages.
    let first = s
        .reviews(&ReviewQuery {
            limit: 2,
            after: None,
        })
        .await
        .expect("reviews");
    assert_eq!(
        first.payments.iter().map(|p| p.id).collect::<Vec<_>>(),
        [held.id, captures.id]
    );
    let rest = s
        .reviews(&ReviewQuery {
            limit: 2,
            after: first.next,
        })
        .await
        .expect("reviews");
    assert_eq!(
        rest.payments.iter().map(|p| p.id).collect::<Vec<_>>(),
        [declined.id]
    );
    assert_eq!(rest.next, None);

    let at = now + minutes(5);
    let approved = s
        .review(&held, &outcome(ReviewDecision::Approve, at), at)
        .await
        .expect("approve");
    assert_eq!(approved.status(), PaymentStatus::Pending);
    assert_eq!(approved.review, Some(outcome(ReviewDecision::Approve, at)));
    assert_eq!(s.payment(held.id).await, Ok(Some(approved.clone())));
    watch
        .expect(
            "approved",
            &[(PaymentReviewApproved, &alice)],
            &serde_json::to_value(PaymentView::from(&approved)).unwrap(),
            at,
        )
        .await;
    let twice = s
        .review(&held, &outcome(ReviewDecision::Decline, at), at)
        .await;
    assert!(
        matches!(&twice, Err(StoreError::Payment(PaymentError::NotInReview(p))) if **p == approved),
        "a second decision is refused: {twice:?}"
    );
    let captured = s.capture(&approved, cny(1_000), at).await.expect("confirm");
    assert_eq!(captured.status(), PaymentStatus::Succeeded);
    skip(&fx, &mut watch, at).await;

    let captured_at_once = s
        .review(&captures, &outcome(ReviewDecision::Approve, at), at)
        .await
        .expect("approve and capture");
    assert_eq!(captured_at_once.status(), PaymentStatus::Succeeded);
    assert_eq!(captured_at_once.amount_captured, 2_000);
    watch
        .expect(
            "approved and captured",
            &[
                (PaymentReviewApproved, &alice),
                (PaymentSucceeded, &alice),
                (PaymentSucceeded, &bob),
            ],
            &serde_json::to_value(PaymentView::from(&captured_at_once)).unwrap(),
            at,
        )
        .await;

    let refused = s
        .review(&declined, &outcome(ReviewDecision::Decline, at), at)
        .await
        .expect("decline");
    assert_eq!(refused.status(), PaymentStatus::Declined);
    watch
        .expect(
            "declined in review",
            &[(PaymentDeclined, &alice)],
            &serde_json::to_value(PaymentView::from(&refused)).unwrap(),
            at,
        )
        .await;
    let a2 = account(s, a).await;
    assert_eq!((a2.balance, a2.available), (7_000, 7_000), "3,000 released");
    assert_eq!(account(s, b).await.balance, 3_000);
    assert_eq!(
        s.reviews(&ReviewQuery {
            limit: 10,
            after: None
        })
        .await
        .expect("reviews")
        .payments,
        []
    );
}

pub(crate) async fn payments_in_review_expire_or_are_canceled_like_pending_ones(fx: Fixture) {
    let s = fx.store();
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 10_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let late = assessed(
        transfer(&alice, a, b, cny(1_000), T0),
        Decision::Review,
        false,
    );
    let withdrawn = assessed(
        transfer(&alice, a, b, cny(500), T0),
        Decision::Review,
        false,
    );
    for p in [&late, &withdrawn] {
        assert!(create_risked(s, p, &RiskWrite::default(), T0).await.is_ok());
    }
    let canceled = s
        .release(&withdrawn, ReleaseReason::Canceled, T0 + minutes(1))
        .await
        .expect("the payer withdraws it");
    assert_eq!(canceled.status(), PaymentStatus::Canceled);
    let after = T0 + TTL + minutes(1);
    let overdue = s.overdue_payments(after, 10).await.expect("overdue");
    assert_eq!(overdue.iter().map(|p| p.id).collect::<Vec<_>>(), [late.id]);
    let approve_late = s
        .review(&late, &outcome(ReviewDecision::Approve, after), after)
        .await;
    assert_eq!(approve_late, Err(PaymentError::Expired(late.id).into()));
    assert_eq!(
        s.payment(late.id).await.expect("read").map(|p| p.status()),
        Some(PaymentStatus::Expired),
        "a late approval releases the hold"
    );
    let a1 = account(s, a).await;
    assert_eq!((a1.balance, a1.available), (10_000, 10_000));
}

/// What risk control costs on DynamoDB, counted: nothing on the common path.
pub(crate) async fn risk_control_costs_the_documented_round_trips(fx: Fixture) {
    let s = fx.store();
    let count = || {
        fx.round_trips()
            .expect("a DynamoDB fixture counts round trips")
    };
    let (alice, bob) = (client("alice"), client("bob"));
    let a = open_funded(s, &alice, GENEROUS, 1_000_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let now = T0 + minutes(1);
    let spend = async |p: &Payment, risk: &RiskWrite| {
        let before = count();
        let outcome = create_risked(s, p, risk, p.created_at).await;
        (count() - before, outcome)
    };
    let known = RiskWrite {
        velocity: VelocityLimits {
            per_hour: Some(10),
            per_day: Some(100),
            amount_per_hour: Some(1_000_000),
        },
        payee: PayeeCheck::Known,
    };
    let new = RiskWrite {
        payee: PayeeCheck::New,
        ..known
    };
    let (trips, result) = spend(&transfer(&alice, a, b, cny(10), now), &known).await;
    assert_eq!(
        (trips, result),
        (1, Err(RiskError::PayeeAssumption { known: false }.into())),
        "a wrong guess about the payee: the one write, refused"
    );
    let (trips, result) = spend(&transfer(&alice, a, b, cny(10), now), &new).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        trips, 1,
        "a hold with its counters and the new payee's record"
    );
    for i in 0..7 {
        let (trips, result) = spend(&transfer(&alice, a, b, cny(10), now), &known).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(
            trips, 1,
            "hold {i} to a known payee, counters guessed from the last"
        );
    }
    // The store's guess is the counters it last wrote; another sandbox's store guesses from
    // nothing and pays one failed write to learn them.
    let (trips, result) = spend(&one_step(transfer(&alice, a, b, cny(10), now)), &known).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        trips, 2,
        "a one-step payment reads the counters with the accounts"
    );
    let held = assessed(transfer(&alice, a, b, cny(10), now), Decision::Review, true);
    let (trips, result) = spend(&held, &known).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(trips, 1, "the 10th hold of the hour, sent to review");
    let declined = assessed(
        transfer(&alice, a, b, cny(10), now),
        Decision::Decline,
        false,
    );
    let (trips, result) = spend(&declined, &known).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(trips, 1, "a declined payment: one write");
    let (trips, result) = spend(&transfer(&alice, a, b, cny(10), now), &known).await;
    assert!(result.is_err(), "the 11th: {result:?}");
    assert_eq!(
        trips, 1,
        "over the limit by the store's own count: one read (the key, the source, the counters) \
         before refusing, no write"
    );

    let before = count();
    let page = s
        .reviews(&ReviewQuery {
            limit: 10,
            after: None,
        })
        .await
        .expect("reviews");
    assert_eq!(
        (count() - before, page.payments.len()),
        (1, 1),
        "a page of reviews"
    );
    let before = count();
    let captured = s
        .review(&held, &outcome(ReviewDecision::Approve, now), now)
        .await
        .expect("approve");
    assert_eq!(captured.status(), PaymentStatus::Succeeded);
    assert_eq!(
        count() - before,
        2,
        "an approval that captures: read both accounts, write"
    );
}
