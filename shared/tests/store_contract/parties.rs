//! Parties: a payment's payee is the owner of its destination, verified in the same write as
//! the hold (or the one-step payment), so no payment can name a payee that does not own it.

#[allow(unused_imports)]
use super::*;

pub(crate) async fn the_payee_must_own_the_destination(fx: Fixture) {
    let s = fx.store();
    let (alice, bob, mallory) = (client("alice"), client("bob"), client("mallory"));
    let a = open_funded(s, &alice, GENEROUS, 1_000, T0).await;
    let b = open_funded(s, &bob, GENEROUS, 0, T0).await;
    let before = snapshot(s, &[a, b], PaymentId::generate(T0)).await;
    for one_step_mode in [false, true] {
        let honest = transfer(&alice, a, b, cny(100), T0);
        // The same payment, naming someone else as the destination's owner.
        let mut forged = honest;
        forged.payee = mallory.clone();
        let forged = if one_step_mode {
            one_step(forged)
        } else {
            forged
        };
        let key = format!("forged-{one_step_mode}");
        assert_eq!(
            create(s, &forged, &key, &key, T0).await,
            Err(AccountError::NotFound(b).into()),
            "one step: {one_step_mode}"
        );
        assert_eq!(s.payment(forged.id).await, Ok(None));
    }
    assert_eq!(
        snapshot(s, &[a, b], PaymentId::generate(T0)).await.0,
        before.0
    );

    let honest = transfer(&alice, a, b, cny(100), T0);
    assert_eq!(honest.payee, bob);
    must_create(s, &honest, T0).await;
    let stored = s.payment(honest.id).await.unwrap().expect("stored");
    assert_eq!(stored.party(&alice), Some(Party::Payer));
    assert_eq!(stored.party(&bob), Some(Party::Payee));
    assert_eq!(stored.party(&mallory), None);
    assert_books(s, &[a, b]).await;
}
