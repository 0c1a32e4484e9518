//! Cost per million payments: pure arithmetic over the measured units and stated prices.

/// us-east-1 list prices, as verified on [`Prices::VERIFIED`].
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    /// API Gateway REST API, per million requests (first 333 million a month).
    pub api_per_million: f64,
    /// Lambda arm64, per GB-second (first 7.5 billion GB-s a month).
    pub lambda_per_gb_s: f64,
    /// Lambda, per million invocations.
    pub lambda_per_million: f64,
    /// DynamoDB on demand (Standard table class), per million read request units.
    pub rru_per_million: f64,
    /// DynamoDB on demand (Standard table class), per million write request units.
    pub wru_per_million: f64,
    /// Secrets Manager, per 10,000 API calls.
    pub secrets_per_10k: f64,
    /// CloudWatch Logs (Standard) ingestion, per GB.
    pub logs_per_gb: f64,
}

impl Prices {
    pub const VERIFIED: &str = "2026-11-23";
    pub const US_EAST_1: Self = Self {
        api_per_million: 3.50,
        lambda_per_gb_s: 0.000_013_333_4,
        lambda_per_million: 0.20,
        rru_per_million: 0.125,
        wru_per_million: 0.625,
        secrets_per_10k: 0.05,
        logs_per_gb: 0.50,
    };
}

/// Lambda memory of every function (`infra/template.yaml` Globals: 128 MB).
pub const LAMBDA_GB: f64 = 128.0 / 1024.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One kind of invocation, `per_payment` times per payment.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub per_payment: f64,
    /// A request through API Gateway (the authorizer's own invocations are not).
    pub api_request: bool,
    /// Billed Lambda duration, already rounded up to the millisecond.
    pub billed_ms: f64,
    pub rru: f64,
    /// Table and index writes.
    pub wru: f64,
    /// CloudWatch Logs bytes ingested for one invocation (function, platform and access log).
    pub log_bytes: f64,
}

/// Dollars per million payments, by component.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Breakdown {
    pub api: f64,
    pub lambda_requests: f64,
    pub lambda_duration: f64,
    pub reads: f64,
    pub writes: f64,
    pub secrets: f64,
    pub logs: f64,
}

impl Breakdown {
    pub fn total(&self) -> f64 {
        self.api
            + self.lambda_requests
            + self.lambda_duration
            + self.reads
            + self.writes
            + self.secrets
            + self.logs
    }
}

/// The cost of a million payments made of `lines`, plus `secrets_calls` Secrets Manager calls
/// (key-cache refreshes) spent while serving them.
pub fn per_million(prices: &Prices, lines: &[Line], secrets_calls: f64) -> Breakdown {
    let mut out = Breakdown {
        secrets: secrets_calls / 10_000.0 * prices.secrets_per_10k,
        ..Breakdown::default()
    };
    for line in lines {
        let n = line.per_payment * 1e6;
        if line.api_request {
            out.api += n / 1e6 * prices.api_per_million;
        }
        out.lambda_requests += n / 1e6 * prices.lambda_per_million;
        out.lambda_duration += n * line.billed_ms / 1e3 * LAMBDA_GB * prices.lambda_per_gb_s;
        out.reads += n * line.rru / 1e6 * prices.rru_per_million;
        out.writes += n * line.wru / 1e6 * prices.wru_per_million;
        out.logs += n * line.log_bytes / GB * prices.logs_per_gb;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computation() {
        // A million invocations of one API request, 20 ms billed, 2 RRU, 10 WRU, 1e9/1e6 = 1000
        // log bytes each, plus 10,000 Secrets Manager calls:
        //   API        1e6 × $3.50/1e6                          = 3.50
        //   requests   1e6 × $0.20/1e6                          = 0.20
        //   duration   1e6 × 0.020 s × 0.125 GB = 2500 GB-s × $0.0000133334 = 0.0333335
        //   reads      2e6 RRU × $0.125/1e6                     = 0.25
        //   writes     10e6 WRU × $0.625/1e6                    = 6.25
        //   logs       1e9 B = 0.931323 GiB × $0.50             = 0.4656613
        //   secrets    10,000 × $0.05/10,000                    = 0.05
        //   total                                               = 10.7489948
        let line = Line {
            per_payment: 1.0,
            api_request: true,
            billed_ms: 20.0,
            rru: 2.0,
            wru: 10.0,
            log_bytes: 1000.0,
        };
        let cost = per_million(&Prices::US_EAST_1, &[line], 10_000.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(cost.api, 3.50));
        assert!(close(cost.lambda_requests, 0.20));
        assert!(close(cost.lambda_duration, 0.033_333_5));
        assert!(close(cost.reads, 0.25));
        assert!(close(cost.writes, 6.25));
        assert!(close(cost.logs, 0.465_661_3), "{}", cost.logs);
        assert!(close(cost.secrets, 0.05));
        assert!(close(cost.total(), 10.748_994_8), "{}", cost.total());
    }

    #[test]
    fn an_authorizer_invocation_is_no_api_request() {
        let line = Line {
            per_payment: 0.5,
            api_request: false,
            billed_ms: 0.0,
            rru: 0.0,
            wru: 0.0,
            log_bytes: 0.0,
        };
        let cost = per_million(&Prices::US_EAST_1, &[line], 0.0);
        assert_eq!((cost.api, cost.lambda_requests), (0.0, 0.1));
    }
}
