//! The functions' log output, set up once at start-up as Lambda's advanced logging controls ask:
//! JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON` (text otherwise), at the level of
//! `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO). What `lambda_runtime`'s
//! `init_default_subscriber` does, without its `EnvFilter`: per-target directives are never used
//! here, and the filter's regex engine was a few hundred kilobytes of every bootstrap.

use tracing_subscriber::filter::LevelFilter;

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
    fn levels_as_lambda_names_them() {
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level(" warn "), LevelFilter::WARN);
        assert_eq!(parse_level("FATAL"), LevelFilter::ERROR);
        assert_eq!(parse_level("paygate=debug"), LevelFilter::INFO);
    }
}
