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
    let subscriber = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    if json {
        subscriber.json().init();
    } else {
        subscriber.init();
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

    #[test]
    fn levels_as_lambda_names_them() {
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level(" warn "), LevelFilter::WARN);
        assert_eq!(parse_level("FATAL"), LevelFilter::ERROR);
        assert_eq!(parse_level("paygate=debug"), LevelFilter::INFO);
    }
}
