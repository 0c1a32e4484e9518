//! Secrets, sealing and rotation.

use base64::{Engine, engine::general_purpose::STANDARD};
use time::{Duration, macros::datetime};

use super::*;

const T0: OffsetDateTime = datetime!(2026-11-30 04:00 UTC);

fn endpoint_id() -> WebhookEndpointId {
    WebhookEndpointId::generate(T0)
}

fn endpoint(sealer: &AesGcmSealer, secret: &WebhookSecret) -> WebhookEndpoint {
    let id = endpoint_id();
    WebhookEndpoint {
        id,
        owner: "alice".parse().unwrap(),
        url: "https://hooks.example.com/paygate".to_owned(),
        events: Vec::new(),
        description: None,
        status: EndpointStatus::Enabled,
        secrets: vec![SealedSecret {
            sealed: sealer.seal(secret, id).unwrap(),
            created_at: T0,
            expires_at: None,
        }],
        created_at: T0,
        updated_at: T0,
    }
}

#[test]
fn a_secret_is_whsec_and_base64_of_32_random_bytes_and_never_debug_printed() {
    let secret = WebhookSecret::generate();
    let text = secret.expose();
    let encoded = text.strip_prefix("whsec_").expect("prefix");
    assert_eq!(STANDARD.decode(encoded).unwrap().len(), 32);
    assert_ne!(WebhookSecret::generate(), secret);
    assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
}

#[test]
fn a_sealed_secret_opens_for_its_endpoint_under_its_key_only() {
    let sealer = AesGcmSealer::generate();
    let secret = WebhookSecret::generate();
    let id = endpoint_id();
    let sealed = sealer.seal(&secret, id).unwrap();
    assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
    assert!(!sealed.contains(secret.expose()));
    assert_eq!(sealer.open(&sealed, id).unwrap(), secret);
    // A fresh nonce per seal: sealing twice never gives the same text.
    assert_ne!(sealer.seal(&secret, id).unwrap(), sealed);

    let opens = |sealer: &AesGcmSealer, sealed: &str, id| sealer.open(sealed, id).is_ok();
    // Another endpoint's id (a sealed secret copied onto another item).
    assert!(!opens(&sealer, &sealed, endpoint_id()));
    // Another key.
    assert!(!opens(&AesGcmSealer::generate(), &sealed, id));
    // The same key material is the same key (a new sandbox reading the same secret).
    let material = b"key material from Secrets Manager";
    let again = AesGcmSealer::from_material(material)
        .seal(&secret, id)
        .unwrap();
    assert!(opens(&AesGcmSealer::from_material(material), &again, id));
    // Every single bit flipped anywhere in nonce, ciphertext or tag.
    let raw = STANDARD.decode(&sealed[SEALED_PREFIX.len()..]).unwrap();
    for byte in 0..raw.len() {
        for bit in 0..8 {
            let mut tampered = raw.clone();
            tampered[byte] ^= 1 << bit;
            let tampered = format!("{SEALED_PREFIX}{}", STANDARD.encode(tampered));
            assert!(!opens(&sealer, &tampered, id), "byte {byte} bit {bit}");
        }
    }
    // Truncated, unprefixed, not base64.
    for bad in [
        "",
        "v1.",
        "v1.AAAA",
        &sealed[SEALED_PREFIX.len()..],
        "v1.!!!",
        &sealed[..sealed.len() - 4],
    ] {
        let refused = sealer.open(bad, id).unwrap_err();
        assert!(matches!(refused, WebhookError::Sealing(_)), "{bad:?}");
        assert!(!refused.to_string().contains(secret.expose()));
    }
}

#[test]
fn rotation_keeps_the_old_secret_signing_for_24_hours() {
    let sealer = AesGcmSealer::generate();
    let first = WebhookSecret::generate();
    let created = endpoint(&sealer, &first);
    let open = |e: &WebhookEndpoint, now| -> Vec<WebhookSecret> {
        e.signing_secrets(now)
            .map(|s| sealer.open(&s.sealed, e.id).unwrap())
            .collect()
    };
    assert_eq!(open(&created, T0), std::slice::from_ref(&first));

    let second = WebhookSecret::generate();
    let t1 = T0 + Duration::hours(1);
    let rotated = created
        .rotated(sealer.seal(&second, created.id).unwrap(), t1)
        .unwrap();
    assert_eq!(rotated.updated_at, t1);
    assert_eq!(rotated.secrets[0].expires_at, None);
    assert_eq!(rotated.secrets[1].expires_at, Some(t1 + ROTATION_OVERLAP));
    // The new one first, the old one beside it until its 24 hours are up, then alone.
    assert_eq!(open(&rotated, t1), [second.clone(), first.clone()]);
    let last_moment = t1 + ROTATION_OVERLAP - Duration::milliseconds(1);
    assert_eq!(open(&rotated, last_moment), [second.clone(), first.clone()]);
    assert_eq!(
        open(&rotated, t1 + ROTATION_OVERLAP),
        std::slice::from_ref(&second)
    );
    // The creation's secret is still the one a replay of the creation answers.
    let initial = rotated.initial_secret().unwrap();
    assert_eq!(sealer.open(&initial.sealed, rotated.id).unwrap(), first);

    // Rotating again a day later drops what expired and keeps only what still signs.
    let t2 = t1 + ROTATION_OVERLAP + Duration::hours(1);
    let third = WebhookSecret::generate();
    let again = rotated
        .rotated(sealer.seal(&third, created.id).unwrap(), t2)
        .unwrap();
    assert_eq!(again.secrets.len(), 2);
    assert_eq!(open(&again, t2), [third, second]);
    assert_eq!(again.initial_secret(), None);
}

#[test]
fn rotations_beyond_four_live_secrets_are_refused_not_dropped() {
    let sealer = AesGcmSealer::generate();
    let mut e = endpoint(&sealer, &WebhookSecret::generate());
    for minute in 1..MAX_SECRETS as i64 {
        let sealed = sealer.seal(&WebhookSecret::generate(), e.id).unwrap();
        e = e.rotated(sealed, T0 + Duration::minutes(minute)).unwrap();
    }
    assert_eq!(e.secrets.len(), MAX_SECRETS);
    let sealed = sealer.seal(&WebhookSecret::generate(), e.id).unwrap();
    let late = T0 + Duration::minutes(10);
    assert_eq!(
        e.rotated(sealed.clone(), late),
        Err(WebhookError::TooManyRotations)
    );
    // Once the first rotated-out secret's 24 hours are over, there is room again.
    let next_day = T0 + Duration::minutes(1) + ROTATION_OVERLAP;
    assert_eq!(
        e.rotated(sealed, next_day).unwrap().secrets.len(),
        MAX_SECRETS
    );
}
