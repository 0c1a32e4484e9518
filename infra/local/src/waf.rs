//! AWS WAF in front of the stage, as the template's web ACL associated with the API's stage
//! declares it: its rate-based rules count each source IP's requests over their evaluation
//! window and block the IP (API Gateway's `WAF_FILTERED` answer) while its count is over the
//! limit. WAF sees a request before API Gateway does, so this runs before the route, the
//! authorizer, the API key and the usage plan.
//!
//! An approximation of WAF's rate limiting, which estimates each IP's rate about every 10
//! seconds and so starts and stops blocking up to tens of seconds late, near but not exactly at
//! the limit. Here every request is counted when it arrives, per whole second: the first
//! request over the limit is blocked, and blocking ends as soon as the window holds `limit`
//! requests or fewer again. Blocked requests count too (WAF counts every request the rule
//! sees), so a client that keeps sending stays blocked.
//!
//! Only rules that count per source IP, without a scope-down statement, and block are
//! emulated; every other rule (the managed rule groups) is named once at start.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use paygate_template::{AggregateKey, RateRule, Template, WafAction, WafStatement, WebAcl};
use time::OffsetDateTime;

/// A request a rate-based rule blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The rule's name.
    pub rule: String,
}

/// The emulated rate-based rules of the stage's web ACL, with their counts.
#[derive(Debug, Default)]
pub struct Waf {
    /// In priority order: the first to block ends the evaluation, as in WAF.
    rules: Vec<RateCounter>,
}

#[derive(Debug)]
struct RateCounter {
    name: String,
    limit: u64,
    window_s: i64,
    sources: Mutex<Sources>,
}

/// The sources with requests in the window; a source whose window is empty is forgotten at
/// the next sweep (at most one a second), so the state holds only recent callers.
#[derive(Debug, Default)]
struct Sources {
    by_ip: HashMap<String, Window>,
    swept_at: i64,
}

/// One source's requests: `(unix second, requests)`, oldest first, and their sum. At most one
/// entry per second of the window.
#[derive(Debug, Default)]
struct Window {
    seconds: VecDeque<(i64, u64)>,
    total: u64,
}

impl Window {
    fn forget_before(&mut self, start: i64) {
        while let Some(&(second, requests)) = self.seconds.front()
            && second < start
        {
            self.total -= requests;
            self.seconds.pop_front();
        }
    }

    /// Counts one request at `second`; the count in the window, this request included.
    fn count(&mut self, second: i64) -> u64 {
        match self.seconds.back_mut() {
            // A clock that went back counts in the latest second.
            Some((last, requests)) if *last >= second => *requests += 1,
            _ => self.seconds.push_back((second, 1)),
        }
        self.total += 1;
        self.total
    }
}

impl Waf {
    /// The emulated rules of the web ACL associated with `template`'s API stage (none without
    /// one).
    pub fn of_template(template: &Template) -> Self {
        template
            .api_web_acl()
            .map_or_else(Self::default, |acl| Self::new(&acl.rate_rules))
    }

    /// The emulated ones of `rules` ([`not_emulated_because`] says why the others are not).
    pub fn new(rules: &[RateRule]) -> Self {
        let mut emulated: Vec<&RateRule> = rules
            .iter()
            .filter(|rule| not_emulated_because(rule).is_none())
            .collect();
        emulated.sort_by_key(|rule| rule.priority);
        Self {
            rules: emulated
                .into_iter()
                .map(|rule| RateCounter {
                    name: rule.name.clone(),
                    limit: rule.limit,
                    window_s: i64::try_from(rule.window_seconds).unwrap_or(i64::MAX),
                    sources: Mutex::new(Sources::default()),
                })
                .collect(),
        }
    }

    /// Whether no rule is emulated.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Counts one request of `source_ip` at `now` against each rule, in priority order.
    ///
    /// # Errors
    /// [`Blocked`] by the first rule whose count for the source is over its limit (the rules
    /// after it do not see the request).
    pub fn admit(&self, source_ip: &str, now: OffsetDateTime) -> Result<(), Blocked> {
        let second = now.unix_timestamp();
        for rule in &self.rules {
            let start = second.saturating_sub(rule.window_s - 1);
            let mut sources = rule.sources.lock().expect("WAF counts lock");
            if second > sources.swept_at {
                sources.swept_at = second;
                sources.by_ip.retain(|_, window| {
                    window.forget_before(start);
                    window.total > 0
                });
            }
            // The address is copied only the first time it is seen in the window.
            if !sources.by_ip.contains_key(source_ip) {
                sources
                    .by_ip
                    .insert(source_ip.to_owned(), Window::default());
            }
            let Some(window) = sources.by_ip.get_mut(source_ip) else {
                unreachable!("inserted above");
            };
            window.forget_before(start);
            if window.count(second) > rule.limit {
                return Err(Blocked {
                    rule: rule.name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Why the local gateway does not emulate a rate-based rule, or `None` when it does.
pub fn not_emulated_because(rule: &RateRule) -> Option<&'static str> {
    if rule.aggregate_key != AggregateKey::Ip {
        Some("it does not count per source IP")
    } else if rule.scoped_down {
        Some("it has a scope-down statement")
    } else if rule.action != WafAction::Block {
        Some("its action is not Block")
    } else {
        None
    }
}

/// The rules of `acl` the local gateway does not emulate: managed rule groups by their name,
/// other rules by theirs and their statement, rate-based rules with the reason.
pub fn not_emulated(acl: &WebAcl) -> Vec<String> {
    let rate = acl
        .rate_rules
        .iter()
        .filter_map(|rule| not_emulated_because(rule).map(|why| format!("{} ({why})", rule.name)));
    let others = acl.other_rules.iter().map(|rule| match &rule.statement {
        WafStatement::ManagedRuleGroup { name, .. } => name.clone(),
        WafStatement::Other(kind) => format!("{} ({kind})", rule.name),
    });
    rate.chain(others).collect()
}

/// Logs, once at start, what of the template's WAF set-up the local gateway applies and what
/// it does not.
pub fn log_emulation(template: &Template) {
    let Some(acl) = template.api_web_acl() else {
        for acl in template.web_acls() {
            tracing::info!(web_acl = %acl.logical_id, "web ACL not on the API's stage: not emulated");
        }
        return;
    };
    for rule in acl
        .rate_rules
        .iter()
        .filter(|r| not_emulated_because(r).is_none())
    {
        tracing::info!(web_acl = %acl.logical_id, rule = %rule.name, limit = rule.limit, window_s = rule.window_seconds, "WAF rate-based rule emulated per source IP");
    }
    let missing = not_emulated(acl);
    if !missing.is_empty() {
        tracing::info!(web_acl = %acl.logical_id, rules = %missing.join(", "), "WAF rules not emulated: requests they would block are served");
    }
    if acl.default_action == WafAction::Block {
        tracing::warn!(web_acl = %acl.logical_id, "the web ACL blocks by default: not emulated, requests are served");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, macros::datetime};

    fn rule(limit: u64, window_seconds: u64) -> RateRule {
        RateRule {
            name: "PerIp".into(),
            priority: 0,
            limit,
            window_seconds,
            aggregate_key: AggregateKey::Ip,
            action: WafAction::Block,
            scoped_down: false,
        }
    }

    fn tracked(waf: &Waf) -> usize {
        waf.rules[0].sources.lock().expect("lock").by_ip.len()
    }

    #[test]
    fn sources_whose_window_emptied_are_forgotten() {
        let waf = Waf::new(&[rule(10, 60)]);
        let t = datetime!(2026-11-23 10:00 UTC);
        for i in 0..1000 {
            assert_eq!(
                waf.admit(&format!("10.0.{}.{}", i / 256, i % 256), t),
                Ok(())
            );
        }
        assert_eq!(tracked(&waf), 1000);
        // 59 s later the window still holds them; at 60 s it no longer does.
        assert_eq!(waf.admit("10.9.9.9", t + Duration::seconds(59)), Ok(()));
        assert_eq!(tracked(&waf), 1001);
        assert_eq!(waf.admit("10.9.9.9", t + Duration::seconds(60)), Ok(()));
        assert_eq!(
            tracked(&waf),
            1,
            "only the source with requests in the window"
        );
    }

    #[test]
    fn a_window_keeps_one_entry_per_second() {
        let waf = Waf::new(&[rule(1_000, 60)]);
        let t = datetime!(2026-11-23 10:00 UTC);
        for ms in 0..300 {
            let now = t + Duration::milliseconds(ms * 10);
            assert_eq!(waf.admit("10.0.0.1", now), Ok(()));
        }
        let sources = waf.rules[0].sources.lock().expect("lock");
        let window = &sources.by_ip["10.0.0.1"];
        assert_eq!((window.seconds.len(), window.total), (3, 300));
    }

    #[test]
    fn the_first_blocking_rule_ends_the_evaluation() {
        let strict = RateRule {
            name: "Strict".into(),
            ..rule(10, 60)
        };
        let loose = RateRule {
            name: "Loose".into(),
            priority: 1,
            ..rule(15, 60)
        };
        // Declared out of order: priority decides.
        let waf = Waf::new(&[loose, strict]);
        let t = datetime!(2026-11-23 10:00 UTC);
        for _ in 0..10 {
            assert_eq!(waf.admit("10.0.0.1", t), Ok(()));
        }
        for _ in 0..10 {
            let blocked = waf.admit("10.0.0.1", t).expect_err("over 10");
            assert_eq!(blocked.rule, "Strict");
        }
        // Loose saw only the 10 requests Strict let through.
        let loose = waf.rules[1].sources.lock().expect("lock");
        assert_eq!(loose.by_ip["10.0.0.1"].total, 10);
    }

    #[test]
    fn rules_that_are_not_per_ip_blocking_and_unscoped_are_named() {
        let count = RateRule {
            action: WafAction::Count,
            ..rule(10, 60)
        };
        let scoped = RateRule {
            scoped_down: true,
            ..rule(10, 60)
        };
        let forwarded = RateRule {
            aggregate_key: AggregateKey::ForwardedIp,
            ..rule(10, 60)
        };
        assert!(Waf::new(&[count.clone(), scoped.clone(), forwarded.clone()]).is_empty());
        assert_eq!(
            [count, scoped, forwarded].map(|r| not_emulated_because(&r)),
            [
                Some("its action is not Block"),
                Some("it has a scope-down statement"),
                Some("it does not count per source IP"),
            ]
        );
    }

    #[test]
    fn the_bundled_templates_managed_rule_groups_are_not_emulated() {
        let template = Template::bundled().expect("bundled template");
        let acl = template.api_web_acl().expect("a web ACL on the stage");
        assert_eq!(
            not_emulated(acl),
            [
                "AWSManagedRulesAmazonIpReputationList",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesCommonRuleSet",
            ]
        );
        assert!(!Waf::of_template(&template).is_empty());
    }
}
