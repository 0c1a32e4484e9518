//! The functions' log output, set up once at start-up as Lambda's advanced logging controls ask:
//! JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON` (text otherwise), at the level of
//! `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO). What `lambda_runtime`'s
//! `init_default_subscriber` does, without its `EnvFilter`: per-target directives are never used
//! here, and the filter's regex engine was a few hundred kilobytes of every bootstrap.

use tracing_subscriber::{
    filter::LevelFilter,
    fmt::{format::Writer, time::FormatTime},
};

/// The timer of the processes that stamp their own log lines (the local gateway; Lambda stamps
/// the functions'): the API's fixed-width UTC timestamps, `2026-11-22T20:06:09.930Z`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc3339Millis;

impl FormatTime for Rfc3339Millis {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(&crate::timefmt::format_rfc3339_millis(
            time::OffsetDateTime::now_utc(),
        ))
    }
}

/// Installs the global subscriber writing to stdout (which Lambda sends to CloudWatch).
pub fn init() {
    let variable = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    let level = variable("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| variable("RUST_LOG"))
        .map_or(LevelFilter::INFO, |value| parse_level(&value));
    let json = variable("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    install(json, level, std::io::stdout);
}

/// The subscriber [`init`] installs, writing to `writer`. JSON lines carry their own `timestamp`
/// (RFC 3339) beside `level`: Lambda's log-level filtering reads both, and files a line without
/// a valid timestamp as INFO whatever its level, so raising the level to WARN would drop errors.
/// Text lines are stamped by Lambda.
fn install<W>(json: bool, level: LevelFilter, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let subscriber = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(level)
        .with_writer(writer);
    if json {
        subscriber.with_timer(Rfc3339Millis).json().init();
    } else {
        subscriber.without_time().init();
    }
}

/// A level name (Lambda's `FATAL` is `ERROR` here); INFO for anything else.
fn parse_level(value: &str) -> LevelFilter {
    let value = value.trim();
    if value.eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    value.parse().unwrap_or(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_stamped_with_fixed_width_utc_times() {
        let mut line = String::new();
        Rfc3339Millis
            .format_time(&mut Writer::new(&mut line))
            .unwrap();
        let parsed = crate::timefmt::parse_rfc3339(&line).unwrap();
        assert_eq!(line, crate::timefmt::format_rfc3339_millis(parsed));
        assert_eq!((line.len(), &line[19..20], &line[23..]), (24, ".", "Z"));
    }

    /// The process-wide subscriber, installed once for the JSON test below: what it wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_the_level_and_an_rfc3339_timestamp_lambda_filters_on() {
        let captured = Captured::default();
        let writer = captured.clone();
        install(true, LevelFilter::INFO, move || writer.clone());
        tracing::error!(payment_id = "pay_1", "capture failed");
        tracing::debug!("below the level");
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["level"], "ERROR");
        assert_eq!(lines[0]["fields"]["message"], "capture failed");
        let stamp = lines[0]["timestamp"].as_str().expect("a timestamp");
        assert!(crate::timefmt::parse_rfc3339(stamp).is_ok(), "{stamp}");
    }

    #[test]
    fn levels_as_lambda_names_them() {
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level(" warn "), LevelFilter::WARN);
        assert_eq!(parse_level("FATAL"), LevelFilter::ERROR);
        assert_eq!(parse_level("paygate=debug"), LevelFilter::INFO);
    }
}
