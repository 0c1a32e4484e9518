//! The real `paygate-admin` binary against moto, which serves DynamoDB and Secrets Manager on
//! one endpoint: `PAYGATE_TEST_DYNAMODB_ENDPOINT`, set by `bash tests/run.sh`. Each test uses
//! its own table prefix and secret names, so tests run side by side on one moto.

use std::process::{Command, Output};

use paygate_shared::{
    ClientId,
    auth::{
        Jwks, KeySource, SecretsManagerPublicKeys, SecretsManagerSigningKeys, SigningKey,
        put_public_jwks,
    },
    store::{
        ClientStore,
        dynamodb::{DynamoStore, TableNames, sdk_config_for_endpoint},
    },
};
use serde_json::Value;

const REGION: &str = "us-east-1";

fn endpoint() -> String {
    match std::env::var("PAYGATE_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "PAYGATE_TEST_DYNAMODB_ENDPOINT is not set: these tests need moto; run them with \
             `bash tests/run.sh -- -p paygate-admin`"
        ),
    }
}

/// A table prefix (and secret-name stem) no other test run uses.
fn unique(name: &str) -> String {
    format!(
        "admin-{name}-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

/// Runs `paygate-admin` on moto with the tables `<prefix>-*`. The caller's environment may not
/// steer it: the table and endpoint variables are removed.
fn admin(prefix: &str, args: &[&str]) -> Output {
    let endpoint = endpoint();
    Command::new(env!("CARGO_BIN_EXE_paygate-admin"))
        .args(["--dynamodb-endpoint", &endpoint])
        .args(["--secrets-endpoint", &endpoint])
        .args(["--region", REGION, "--local-credentials"])
        .args(["--table-prefix", prefix])
        .args(args)
        .env_remove("PAYGATE_ACCOUNTS_TABLE")
        .env_remove("PAYGATE_TRANSACTIONS_TABLE")
        .env_remove("PAYGATE_DYNAMODB_ENDPOINT")
        .env_remove("PAYGATE_SECRETS_ENDPOINT")
        .output()
        .expect("the paygate-admin binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Runs a command that must succeed; returns its stdout.
fn ok(prefix: &str, args: &[&str]) -> String {
    let out = admin(prefix, args);
    assert!(
        out.status.success(),
        "paygate-admin {args:?} failed ({}): {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(
        stderr(&out),
        "",
        "a successful command prints nothing on stderr"
    );
    stdout(&out)
}

fn ok_json(prefix: &str, args: &[&str]) -> Value {
    let text = ok(prefix, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed `{text}`: {e}"))
}

/// Runs a command that must fail: nothing on stdout, one line on stderr. Returns the exit
/// status and the message.
fn fails(prefix: &str, args: &[&str]) -> (i32, String) {
    let out = admin(prefix, args);
    assert!(!out.status.success(), "paygate-admin {args:?} succeeded");
    assert_eq!(stdout(&out), "", "a failed command prints no result");
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(message.starts_with("paygate-admin: error: "), "{message}");
    (out.status.code().expect("an exit status"), message)
}

async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_for_endpoint(&endpoint(), REGION, true).await
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_flow_clients_accounts_funding_and_key_rotation() {
    let prefix = unique("flow");
    let tables = ok_json(&prefix, &["create-tables"]);
    assert_eq!(tables["accounts_table"], format!("{prefix}-accounts"));
    assert_eq!(
        tables["transactions_table"],
        format!("{prefix}-transactions")
    );
    // Idempotent: existing tables are left as they are.
    ok(&prefix, &["create-tables"]);

    // A client: the printed secret verifies against the hash stored in the table.
    let client = ok_json(
        &prefix,
        &[
            "create-client",
            "--scopes",
            "accounts:read payments:write payments:read",
        ],
    );
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    let secret = client["client_secret"].as_str().expect("client_secret");
    assert!(client_id.starts_with("cli_"), "{client_id}");
    assert!(secret.starts_with("pgs_"), "{secret}");
    assert_eq!(
        client["scopes"],
        serde_json::json!(["payments:write", "payments:read", "accounts:read"])
    );
    let store = DynamoStore::new(&sdk_config().await, TableNames::with_prefix(&prefix));
    let id: ClientId = client_id.parse().expect("a valid client id");
    let stored = ClientStore::client(&store, &id)
        .await
        .unwrap()
        .expect("the client is stored");
    assert!(stored.secret_hash.verify(secret));
    assert!(!stored.secret_hash.verify("pgs_not-the-secret"));
    assert!(!stored.secret_hash.as_str().contains(&secret[4..]));

    // An account for it, funded, then shown.
    let account = ok_json(
        &prefix,
        &[
            "create-account",
            "--owner",
            &client_id,
            "--currency",
            "CNY",
            "--daily-limit",
            "700000",
        ],
    );
    let account_id = account["account_id"]
        .as_str()
        .expect("account_id")
        .to_owned();
    assert!(account_id.starts_with("acc_"), "{account_id}");
    assert_eq!(account["owner"], client_id.as_str());
    assert_eq!(account["currency"], "CNY");
    assert_eq!(account["status"], "active");
    assert_eq!(
        (&account["balance"], &account["available"]),
        (&0.into(), &0.into())
    );
    assert_eq!(account["per_payment_limit"], 10_000_000);
    assert_eq!(account["daily_limit"], 700_000);

    let funded = ok_json(
        &prefix,
        &["fund", "--account", &account_id, "--amount", "12345"],
    );
    assert!(
        funded["payment_id"]
            .as_str()
            .is_some_and(|p| p.starts_with("pay_")),
        "{funded}"
    );
    assert_eq!(funded["amount"], 12_345);
    assert_eq!(funded["currency"], "CNY");
    assert_eq!(funded["balance"], 12_345);

    let shown = ok_json(&prefix, &["show-account", "--account", &account_id]);
    assert_eq!(shown["balance"], 12_345);
    assert_eq!(shown["available"], 12_345);

    let decimal = ok_json(
        &prefix,
        &["fund", "--account", &account_id, "--amount-decimal", "0.55"],
    );
    assert_eq!(
        (&decimal["amount"], &decimal["balance"]),
        (&55.into(), &12_400.into())
    );
    assert_ne!(decimal["payment_id"], funded["payment_id"]);

    // A busy merchant's account on DynamoDB: funding waits as incoming until switched back,
    // which posts it.
    let batched = ok_json(
        &prefix,
        &["set-posting", "--account", &account_id, "--mode", "batched"],
    );
    assert_eq!(
        (&batched["posting"], &batched["incoming"]),
        (&"batched".into(), &0.into())
    );
    let deferred = ok_json(
        &prefix,
        &["fund", "--account", &account_id, "--amount", "600"],
    );
    assert_eq!(
        (&deferred["balance"], &deferred["incoming"]),
        (&12_400.into(), &600.into())
    );
    let shown = ok_json(&prefix, &["show-account", "--account", &account_id]);
    assert_eq!(
        (&shown["balance"], &shown["incoming"]),
        (&12_400.into(), &600.into())
    );
    let immediate = ok_json(
        &prefix,
        &[
            "set-posting",
            "--account",
            &account_id,
            "--mode",
            "immediate",
        ],
    );
    // Risk control on DynamoDB: an operator, rules set from a file (a malformed one refused
    // naming its field, nothing stored), shown, and cleared.
    let desk = ok_json(
        &prefix,
        &[
            "create-client",
            "--scopes",
            "risk:review payments:read",
            "--operator",
        ],
    );
    assert_eq!(desk["operator"], true);
    let (code, message) = fails(&prefix, &["create-client", "--scopes", "risk:review"]);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("--operator"), "{message}");
    let dir = std::env::temp_dir().join(unique("rules"));
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad) = (dir.join("good.json"), dir.join("bad.json"));
    std::fs::write(
        &good,
        r#"{"review_amount": 50000, "blocked_clients": ["mallory"]}"#,
    )
    .unwrap();
    std::fs::write(
        &bad,
        r#"{"review_amount": 50000, "max_payments_per_day": 0}"#,
    )
    .unwrap();
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
    let (code, message) = fails(
        &prefix,
        &["set-risk-rules", "--client-id", &client_id, "--file", bad],
    );
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("`max_payments_per_day`"), "{message}");
    let shown = ok_json(&prefix, &["show-risk-rules", "--client-id", &client_id]);
    assert_eq!(shown["risk"], Value::Null, "nothing stored");
    let set = ok_json(
        &prefix,
        &["set-risk-rules", "--client-id", &client_id, "--file", good],
    );
    let rules = serde_json::json!({"review_amount": 50000, "blocked_clients": ["mallory"]});
    assert_eq!(set["risk"], rules);
    let shown = ok_json(&prefix, &["show-risk-rules", "--client-id", &client_id]);
    assert_eq!(
        (&shown["risk"], &shown["operator"]),
        (&rules, &false.into())
    );
    let stored = ClientStore::client(&store, &id).await.unwrap().unwrap();
    assert_eq!(stored.risk.map(|r| r.to_value()), Some(rules));
    let cleared = ok_json(
        &prefix,
        &["set-risk-rules", "--client-id", &client_id, "--clear"],
    );
    assert_eq!(cleared["risk"], Value::Null);
    let (_, missing) = fails(
        &prefix,
        &[
            "set-risk-rules",
            "--client-id",
            "nobody-here",
            "--file",
            good,
        ],
    );
    assert!(missing.contains("nobody-here"), "{missing}");
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(
        (
            &immediate["posting"],
            &immediate["balance"],
            &immediate["incoming"]
        ),
        (&"immediate".into(), &13_000.into(), &0.into())
    );

    // Two rotations: the public secret lists both keys, newest first; the second signs.
    let signing_id = format!("{prefix}-signing-key");
    let public_id = format!("{prefix}-public-keys");
    let rotate = [
        "create-signing-key",
        "--secret-id",
        &signing_id,
        "--public-secret-id",
        &public_id,
    ];
    let first = ok(&prefix, &rotate);
    let second = ok(&prefix, &rotate);
    for kid in [&first, &second] {
        assert!(kid.starts_with("key_") && kid.lines().count() == 1, "{kid}");
    }
    assert_ne!(first, second);

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let public = SecretsManagerPublicKeys::new(secrets.clone(), &public_id)
        .load()
        .await
        .unwrap();
    let kids: Vec<&str> = public.verifying.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, [second.as_str(), first.as_str()]);
    assert!(public.signing.is_none());

    let private = SecretsManagerSigningKeys::new(secrets, &signing_id)
        .load()
        .await
        .unwrap();
    let signing = private.signing.as_ref().expect("a current signing key");
    assert_eq!(signing.kid, second);
    assert_eq!(public.verifying[0], signing.verifying_key());
    assert_eq!(
        private.verifying[1].kid, first,
        "the previous key still verifies"
    );

    // A third rotation keeps two keys: the new one and the one that signed until now.
    let third = ok(&prefix, &rotate);
    assert_eq!(published(&public_id).await, [third.clone(), second]);

    // After a rotation that stopped once it had published (its key never signed), the next
    // one keeps the key that really signs, not whatever the JWKS listed first.
    let stray = SigningKey::generate(time::OffsetDateTime::now_utc())
        .unwrap()
        .verifying_key();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    put_public_jwks(&secrets, &public_id, &Jwks::from_keys([&stray]))
        .await
        .unwrap();
    let fourth = ok(&prefix, &rotate);
    assert_eq!(published(&public_id).await, [fourth, third]);
}

/// The key ids in the public JWKS secret, in order.
async fn published(public_id: &str) -> Vec<String> {
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let keys = SecretsManagerPublicKeys::new(secrets, public_id)
        .load()
        .await
        .unwrap();
    keys.verifying.into_iter().map(|k| k.kid).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_exit_non_zero_with_a_one_line_message() {
    let prefix = unique("refuse");
    ok(&prefix, &["create-tables"]);

    let unknown_account = "acc_01JD0000000000000000000000";
    let (code, message) = fails(
        &prefix,
        &["fund", "--account", unknown_account, "--amount", "100"],
    );
    assert_eq!(
        (code, message.as_str()),
        (
            1,
            "paygate-admin: error: account acc_01JD0000000000000000000000 was not found"
        )
    );

    let (code, message) = fails(
        &prefix,
        &["create-account", "--owner", "nobody", "--currency", "CNY"],
    );
    assert_eq!(code, 1);
    assert!(
        message.contains("client nobody does not exist"),
        "{message}"
    );

    let (code, message) = fails(
        &prefix,
        &[
            "create-client",
            "--client-id",
            ClientId::SYSTEM,
            "--scopes",
            "payments:read",
        ],
    );
    assert_eq!(
        (code, message.as_str()),
        (
            2,
            "paygate-admin: error: client id paygate-system is reserved for the treasury accounts"
        )
    );
    let store = DynamoStore::new(&sdk_config().await, TableNames::with_prefix(&prefix));
    assert_eq!(
        ClientStore::client(&store, &ClientId::system())
            .await
            .unwrap(),
        None
    );

    // Refused while parsing the command line, before anything is sent.
    let (code, message) = fails(
        &prefix,
        &["create-client", "--scopes", "payments:read payments:admin"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        message,
        "paygate-admin: error: invalid value 'payments:read payments:admin' for \
         '--scopes <SCOPES>': unknown scope `payments:admin` (see --help)"
    );

    // A named client that exists already is not overwritten.
    ok(
        &prefix,
        &[
            "create-client",
            "--client-id",
            "shop-1",
            "--scopes",
            "payments:read",
        ],
    );
    let (code, message) = fails(
        &prefix,
        &[
            "create-client",
            "--client-id",
            "shop-1",
            "--scopes",
            "payments:write",
        ],
    );
    assert_eq!(
        (code, message.as_str()),
        (2, "paygate-admin: error: client shop-1 already exists")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_that_do_not_exist_are_named_in_the_error() {
    let prefix = unique("missing");
    let (code, message) = fails(
        &prefix,
        &[
            "show-account",
            "--account",
            "acc_01JD0000000000000000000000",
        ],
    );
    assert_eq!(code, 1);
    assert!(message.contains(&format!("{prefix}-accounts")), "{message}");
    assert!(message.contains("create-tables"), "{message}");
}
