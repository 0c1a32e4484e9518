//! The template's scheduled functions (`Type: Schedule` / `ScheduleV2` events), fired on their
//! `rate(…)` as EventBridge would: in-process on the gateway's store, or posted to the
//! upstream as a `Scheduled Event`.

use std::{sync::Arc, time::Duration};

use paygate_shared::poster::SWEEP_MIN_AGE;
use paygate_template::Schedule;
use serde_json::json;

use crate::Gateway;

/// The period of `rate(value unit)`; `None` for `cron(…)` and anything malformed.
pub fn rate_period(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (value, unit) = inner.trim().split_once(' ')?;
    let value: u64 = value.parse().ok().filter(|v| *v > 0)?;
    // EventBridge wants the singular for 1 and the plural otherwise.
    let seconds = match (unit.trim(), value) {
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(value.checked_mul(seconds)?))
}

/// A schedule with its period.
pub type Planned = (Schedule, Duration);
/// A schedule with why it is not run.
pub type Skipped = (Schedule, String);

/// The schedules the gateway can fire, with their periods; the rest (disabled, `cron(…)`, a
/// function the local gateway cannot run) with the reason they are skipped.
pub fn plan(schedules: &[Schedule]) -> (Vec<Planned>, Vec<Skipped>) {
    let (mut fire, mut skip) = (Vec::new(), Vec::new());
    for schedule in schedules {
        if !schedule.enabled {
            skip.push((schedule.clone(), "disabled".to_owned()));
        } else if ![Some(EXPIRE_BINARY), Some(crate::posting::POST_BINARY)]
            .contains(&schedule.binary.as_deref())
        {
            skip.push((
                schedule.clone(),
                "not a function the local gateway runs on a schedule".to_owned(),
            ));
        } else if let Some(period) = rate_period(&schedule.expression) {
            fire.push((schedule.clone(), period));
        } else {
            skip.push((
                schedule.clone(),
                format!("`{}` is not a rate(…) expression", schedule.expression),
            ));
        }
    }
    (fire, skip)
}

/// The scheduled sweep of overdue payments.
pub const EXPIRE_BINARY: &str = "expire";

/// Fires one schedule now: the sweep in-process, or the EventBridge event to the upstream.
pub async fn fire(gateway: &Gateway, schedule: &Schedule) {
    let binary = schedule.binary.as_deref().unwrap_or_default();
    match &gateway.backend().upstream {
        None if binary == crate::posting::POST_BINARY => {
            let poster = &gateway.backend().poster;
            match poster.sweep(SWEEP_MIN_AGE, Duration::from_secs(40)).await {
                Ok(swept) => tracing::info!(
                    function = %schedule.function,
                    accounts = swept.accounts,
                    drained = swept.drained,
                    credits = swept.credits,
                    "scheduled run"
                ),
                Err(err) => {
                    tracing::warn!(function = %schedule.function, error = %err, "scheduled run failed")
                }
            }
        }
        None => match paygate_expire::sweep(&gateway.backend().expire_deps()).await {
            Ok(sweep) => tracing::info!(
                function = %schedule.function,
                expired = sweep.expired,
                already_settled = sweep.already_settled,
                more = sweep.more,
                "scheduled run"
            ),
            Err(err) => {
                tracing::warn!(function = %schedule.function, error = %err, "scheduled run failed")
            }
        },
        Some(upstream) => {
            let now = gateway.backend().clock.now();
            let time = paygate_shared::timefmt::format_rfc3339_millis(now);
            let event = json!({
                "version": "0",
                "id": crate::server::request_id(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": crate::event::ACCOUNT_ID,
                "time": time,
                "region": crate::event::REGION,
                "resources": [format!("arn:aws:events:{}:{}:rule/{}-{}", crate::event::REGION, crate::event::ACCOUNT_ID, schedule.function, schedule.event)],
                "detail": {}
            });
            match upstream.invoke(binary, &event).await {
                Ok(result) => {
                    tracing::info!(function = %schedule.function, result = %result, "scheduled run");
                }
                Err(err) => {
                    tracing::warn!(function = %schedule.function, error = %err, "scheduled run failed");
                }
            }
        }
    }
}

/// Fires every plannable schedule of the gateway's template on its period (the first run one
/// period after start-up, as a new EventBridge rule does), until the task is dropped.
pub fn spawn(gateway: Arc<Gateway>, schedules: Vec<Planned>) -> Vec<tokio::task::JoinHandle<()>> {
    schedules
        .into_iter()
        .map(|(schedule, period)| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let mut ticks =
                    tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    ticks.tick().await;
                    fire(&gateway, &schedule).await;
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::rate_period;

    #[test]
    fn rates_follow_eventbridge_spelling() {
        assert_eq!(rate_period("rate(1 minute)"), Some(Duration::from_secs(60)));
        assert_eq!(
            rate_period("rate(5 minutes)"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            rate_period("rate(2 hours)"),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            rate_period("rate(1 day)"),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(rate_period("rate(1 minutes)"), None);
        assert_eq!(rate_period("rate(5 minute)"), None);
        assert_eq!(rate_period("rate(0 minutes)"), None);
        assert_eq!(rate_period("cron(0 12 * * ? *)"), None);
    }
}
