//! A short `throughput` run in CI: every scenario at 1 and 4 connections through the in-process
//! gateway on the embedded store. It proves the benchmark measures what it says (each request
//! answered 2xx, the pay-confirm pairs captured) rather than timing anything.

use paygate_load::{
    setup::StoreChoice,
    throughput::{self, Scenario, ThroughputOptions},
};

#[test]
fn every_scenario_answers_2xx_at_every_concurrency() {
    let options = ThroughputOptions {
        store: StoreChoice::Memory,
        concurrency: vec![1, 4],
        seconds: 0.3,
        warmup: 0.1,
        scenarios: Scenario::ALL.to_vec(),
        gateway_threads: 1,
        load_threads: 1,
        gateway_bin: None,
    };
    let (setting, cells) = throughput::run(&options).expect("the gateway starts and is seeded");
    println!("{}", throughput::markdown(&setting, &cells));
    assert_eq!(cells.len(), Scenario::ALL.len() * 2);
    for cell in &cells {
        let what = format!("{} x{}", cell.scenario.name(), cell.concurrency);
        assert!(cell.requests > 0, "{what}: no request recorded");
        assert_eq!(cell.errors, 0, "{what}: non-2xx answers");
    }
}
