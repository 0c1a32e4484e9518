//! Webhook endpoints: owner-scoped reads, at most 16 live per client however many creations
//! race, idempotent creation, rotation only from the endpoint as it stands, disabling and
//! deleting.

#[allow(unused_imports)]
use super::*;

use paygate_shared::{
    WebhookEndpointId,
    store::{EndpointOutcome, WebhookStore},
    webhook::{
        EndpointStatus, MAX_ENDPOINTS_PER_CLIENT, SealedSecret, WebhookEndpoint, WebhookError,
    },
};

/// An enabled endpoint of `owner` created at `now`, with one (fake) sealed secret.
pub(crate) fn endpoint_of(owner: &ClientId, now: OffsetDateTime) -> WebhookEndpoint {
    let id = WebhookEndpointId::generate(now);
    WebhookEndpoint {
        id,
        owner: owner.clone(),
        url: format!("https://hooks.example.com/{id}"),
        events: vec![
            paygate_shared::EventType::PaymentSucceeded,
            paygate_shared::EventType::RefundSucceeded,
        ],
        description: Some("orders".to_owned()),
        status: EndpointStatus::Enabled,
        secrets: vec![sealed(&format!("sealed-{id}"), now)],
        created_at: now,
        updated_at: now,
    }
}

fn sealed(text: &str, now: OffsetDateTime) -> SealedSecret {
    SealedSecret {
        sealed: text.to_owned(),
        created_at: now,
        expires_at: None,
    }
}

/// The idempotency record of `endpoint`'s creation under `key` for `request`.
pub(crate) fn endpoint_record(
    endpoint: &WebhookEndpoint,
    key: &str,
    request: &str,
    now: OffsetDateTime,
) -> IdempotencyRecord {
    IdempotencyRecord {
        key: IdempotencyKey::new(endpoint.owner.clone(), key).expect("a valid key"),
        fingerprint: fingerprint(request),
        payment_id: PaymentId::from_ulid(ulid::Ulid::nil()),
        response_status: 201,
        response_body: format!(r#"{{"id":"{}"}}"#, endpoint.id),
        created_at: now,
        expires_at: now + RETENTION,
    }
}

async fn create_endpoint(
    s: &dyn WebhookStore,
    endpoint: &WebhookEndpoint,
    now: OffsetDateTime,
) -> Result<EndpointOutcome, StoreError> {
    let key = format!("key-{}", endpoint.id);
    let record = endpoint_record(endpoint, &key, &key, now);
    s.create_endpoint(endpoint, &record, now).await
}

pub(crate) async fn webhook_endpoints_are_owned_counted_rotated_and_deleted(fx: Fixture) {
    let s = fx.webhooks();
    let (alice, bob) = (client("alice"), client("bob"));
    let first = endpoint_of(&alice, T0);
    let record = endpoint_record(&first, "k-1", "create one", T0);
    assert_eq!(
        s.create_endpoint(&first, &record, T0).await,
        Ok(EndpointOutcome::Created(first.clone()))
    );
    assert_eq!(s.endpoint(&alice, first.id).await, Ok(Some(first.clone())));
    // Another client's is not there for bob: no way to tell it from a missing one.
    assert_eq!(s.endpoint(&bob, first.id).await, Ok(None));
    assert_eq!(s.endpoints_of(&bob).await, Ok(vec![]));

    // The same request again is replayed; the key with another request is refused.
    let retry = endpoint_of(&alice, T0 + minutes(1));
    let again = endpoint_record(&retry, "k-1", "create one", T0 + minutes(1));
    assert_eq!(
        s.create_endpoint(&retry, &again, T0 + minutes(1)).await,
        Ok(EndpointOutcome::Replayed(record.clone()))
    );
    let other = endpoint_record(&retry, "k-1", "create another", T0 + minutes(1));
    assert_eq!(
        s.create_endpoint(&retry, &other, T0 + minutes(1)).await,
        Err(IdempotencyError::KeyReused.into())
    );
    let second = endpoint_of(&alice, T0 + minutes(2));
    create_endpoint(s, &second, T0 + minutes(2)).await.unwrap();
    let bobs = endpoint_of(&bob, T0 + minutes(3));
    create_endpoint(s, &bobs, T0 + minutes(3)).await.unwrap();
    assert_eq!(
        s.endpoints_of(&alice).await,
        Ok(vec![first.clone(), second.clone()]),
        "oldest first, only alice's"
    );

    // A rotation is stored only if made from the endpoint as it stands.
    let t = T0 + minutes(10);
    let mut rotated = first.clone();
    rotated.secrets = vec![sealed("sealed-new", t), {
        let mut old = first.secrets[0].clone();
        old.expires_at = Some(t + Duration::hours(24));
        old
    }];
    rotated.updated_at = t;
    assert_eq!(s.rotate_secret(&rotated, t).await, Ok(rotated.clone()));
    assert_eq!(
        s.endpoint(&alice, first.id).await,
        Ok(Some(rotated.clone()))
    );
    // The same rotation again was made from a read that is no longer current.
    assert_eq!(
        s.rotate_secret(&rotated, t).await,
        Err(StoreError::Conflict)
    );
    let mut foreign = rotated.clone();
    foreign.owner = bob.clone();
    assert_eq!(
        s.rotate_secret(&foreign, t).await,
        Err(WebhookError::NotFound(first.id).into())
    );

    // Disabled by a 410, idempotently; a missing endpoint is no error.
    let t = T0 + minutes(20);
    s.disable_endpoint(&alice, second.id, t).await.unwrap();
    s.disable_endpoint(&alice, second.id, t + minutes(1))
        .await
        .unwrap();
    s.disable_endpoint(&bob, second.id, t).await.unwrap();
    let disabled = s.endpoint(&alice, second.id).await.unwrap().unwrap();
    assert_eq!(
        (disabled.status, disabled.updated_at, disabled.secrets),
        (EndpointStatus::Disabled, t, second.secrets.clone())
    );

    // Deleted once, by its owner only.
    assert_eq!(s.delete_endpoint(&bob, first.id, t).await, Ok(false));
    assert_eq!(s.delete_endpoint(&alice, first.id, t).await, Ok(true));
    assert_eq!(s.delete_endpoint(&alice, first.id, t).await, Ok(false));
    assert_eq!(s.endpoint(&alice, first.id).await, Ok(None));
    assert_eq!(s.endpoints_of(&alice).await.unwrap().len(), 1);
    assert_eq!(s.endpoints_of(&bob).await, Ok(vec![bobs]));
}

pub(crate) async fn a_client_never_has_more_than_16_endpoints(fx: Fixture) {
    let alice = client("alice");
    // More creations than the limit, all at once: exactly 16 are written.
    let mut tasks = Vec::new();
    for n in 0..MAX_ENDPOINTS_PER_CLIENT + 8 {
        let s = fx.shared_webhooks();
        let endpoint = endpoint_of(&alice, T0 + Duration::milliseconds(n as i64));
        tasks.push(tokio::spawn(async move {
            create_endpoint(s.as_ref(), &endpoint, T0).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(EndpointOutcome::Created(_)) => created += 1,
            Err(StoreError::Webhook(WebhookError::TooManyEndpoints)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, MAX_ENDPOINTS_PER_CLIENT);
    let s = fx.webhooks();
    let live = s.endpoints_of(&alice).await.unwrap();
    assert_eq!(live.len(), MAX_ENDPOINTS_PER_CLIENT);
    // Another client has its own 16.
    let bobs = endpoint_of(&client("bob"), T0);
    assert!(create_endpoint(s, &bobs, T0).await.is_ok());
    // Deleting frees exactly one place.
    let later = T0 + minutes(1);
    assert_eq!(s.delete_endpoint(&alice, live[0].id, later).await, Ok(true));
    let one = endpoint_of(&alice, later);
    assert!(matches!(
        create_endpoint(s, &one, later).await,
        Ok(EndpointOutcome::Created(_))
    ));
    let two = endpoint_of(&alice, later + minutes(1));
    assert_eq!(
        create_endpoint(s, &two, later).await,
        Err(WebhookError::TooManyEndpoints.into())
    );
}

pub(crate) async fn webhook_endpoint_operations_cost_one_round_trip(fx: Fixture) {
    let s = fx.webhooks();
    let count = || {
        fx.round_trips()
            .expect("a DynamoDB fixture counts round trips")
    };
    let alice = client("alice");
    let e = endpoint_of(&alice, T0);
    let mut spent = Vec::new();
    let before = count();
    create_endpoint(s, &e, T0).await.unwrap();
    spent.push(("create", count() - before));
    let before = count();
    s.endpoint(&alice, e.id).await.unwrap().unwrap();
    spent.push(("endpoint", count() - before));
    let before = count();
    assert_eq!(s.endpoints_of(&alice).await.unwrap().len(), 1);
    spent.push(("endpoints_of", count() - before));
    let mut rotated = e.clone();
    rotated
        .secrets
        .insert(0, sealed("sealed-new", T0 + minutes(1)));
    let before = count();
    s.rotate_secret(&rotated, T0 + minutes(1)).await.unwrap();
    spent.push(("rotate_secret", count() - before));
    let before = count();
    s.disable_endpoint(&alice, e.id, T0 + minutes(2))
        .await
        .unwrap();
    spent.push(("disable_endpoint", count() - before));
    let before = count();
    assert_eq!(
        s.delete_endpoint(&alice, e.id, T0 + minutes(3)).await,
        Ok(true)
    );
    spent.push(("delete_endpoint", count() - before));
    for (operation, trips) in spent {
        assert_eq!(trips, 1, "{operation}");
    }
}
