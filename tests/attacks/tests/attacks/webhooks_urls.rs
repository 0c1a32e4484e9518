//! Server-side request forgery through a webhook URL: every address class that is not public
//! is refused at registration with 422 `webhook_url_not_allowed` (paygate-local allows `http`
//! to a loopback host, for a developer's receiver, and nothing else that is not public); so are
//! userinfo, other schemes and over-long URLs. Nothing is registered by any of them. With the
//! rules webhook URLs have on AWS ([`on_aws`]), loopback is refused too, over `http` or `https`.

use std::sync::Arc;

use serde_json::json;

use crate::support::{Client, Tally, Target, Watchlist, assert_problem};

/// `(case, url)`: each must be refused.
pub const REFUSED: &[(&str, &str)] = &[
    ("RFC 1918 10/8", "https://10.0.0.1/hook"),
    ("RFC 1918 172.16/12", "https://172.16.5.4/hook"),
    ("RFC 1918 192.168/16", "https://192.168.1.1/hook"),
    (
        "link-local, the instance metadata service",
        "http://169.254.169.254/latest/meta-data/",
    ),
    (
        "link-local, the instance metadata service (https)",
        "https://169.254.169.254/latest/meta-data/",
    ),
    ("CGNAT 100.64/10", "https://100.64.0.1/hook"),
    ("0/8", "https://0.0.0.0/hook"),
    ("0/8, not all zeros", "https://0.1.2.3/hook"),
    ("IPv4 multicast", "https://224.0.0.1/hook"),
    ("IPv4 broadcast", "https://255.255.255.255/hook"),
    ("documentation 192.0.2/24", "https://192.0.2.10/hook"),
    ("benchmarking 198.18/15", "https://198.18.0.1/hook"),
    ("IPv6 unspecified", "https://[::]/hook"),
    ("IPv6 ULA fc00::/7", "https://[fd12:3456::1]/hook"),
    ("IPv6 link-local fe80::/10", "https://[fe80::1]/hook"),
    ("IPv6 multicast", "https://[ff02::1]/hook"),
    ("IPv4-mapped IPv6 of 10/8", "https://[::ffff:10.0.0.1]/hook"),
    (
        "IPv4-mapped IPv6 of the metadata service",
        "https://[::ffff:169.254.169.254]/hook",
    ),
    ("10/8 written in hex", "https://0xa000001/hook"),
    (
        "10/8 written as one decimal number",
        "https://167772161/hook",
    ),
    ("http to a public host", "http://93.184.216.34/hook"),
    ("http to a name", "http://example.com/hook"),
    ("userinfo", "https://user:pass@example.com/hook"),
    ("userinfo on loopback", "http://user@127.0.0.1:9/hook"),
    ("another scheme (ftp)", "ftp://example.com/hook"),
    ("another scheme (file)", "file:///etc/passwd"),
    ("not a URL", "hook"),
];

pub async fn run(target: &Target, tally: &mut Tally, alice: &Client, token: &str) {
    let before = target.get(alice, "/v1/webhook_endpoints", token).await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    let long = format!("http://127.0.0.1:9/{}", "a".repeat(2_100));
    let mut cases: Vec<(String, String)> = REFUSED
        .iter()
        .map(|(case, url)| ((*case).to_owned(), (*url).to_owned()))
        .collect();
    cases.push(("a URL over 2048 bytes".to_owned(), long));
    for (case, url) in cases {
        let case = format!("webhook URL: {case}");
        let answer = target
            .post(
                alice,
                "/v1/webhook_endpoints",
                token,
                &json!({"url": url}).to_string(),
            )
            .await;
        assert_problem(&answer, 422, "webhook_url_not_allowed", &case);
        assert!(answer.body["secret"].is_null(), "{case}");
        tally.refused(case);
    }
    let after = target.get(alice, "/v1/webhook_endpoints", token).await;
    assert_eq!(after.body, before.body, "nothing registered");
}

/// A target whose webhook URLs follow the AWS rules: what paygate-local allows for a
/// developer's receiver (`http` to loopback) is refused there, and so is `https` to loopback.
pub async fn on_aws(watch: Arc<Watchlist>) -> Tally {
    let mut tally = Tally::new("webhook_urls_on_aws");
    let target = Target::start_with(watch, "premium", false).await;
    let alice = target.alice.clone();
    let token = target.token(&alice, None).await;
    for (case, url) in [
        ("http to 127.0.0.1", "http://127.0.0.1:9/hook"),
        ("https to 127.0.0.1", "https://127.0.0.1/hook"),
        (
            "https to 127.0.0.2 (all of 127/8)",
            "https://127.0.0.2/hook",
        ),
        ("https to [::1]", "https://[::1]/hook"),
        (
            "https to localhost (resolves to loopback)",
            "https://localhost/hook",
        ),
        ("http to a public address", "http://93.184.216.34/hook"),
    ] {
        let case = format!("webhook URL on AWS: {case}");
        let answer = target
            .post(
                &alice,
                "/v1/webhook_endpoints",
                &token,
                &json!({"url": url}).to_string(),
            )
            .await;
        assert_problem(&answer, 422, "webhook_url_not_allowed", &case);
        tally.refused(case);
    }
    let list = target.get(&alice, "/v1/webhook_endpoints", &token).await;
    assert_eq!(list.body["data"], json!([]), "nothing registered");
    tally
}
