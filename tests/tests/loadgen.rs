//! The load generator runs every scenario end to end: a `--quick` run (short phases, small
//! counts, its figures mean nothing) against the real relay binary, whose table must hold a row
//! for each run. The figures themselves are measured by hand and kept in docs/performance.md.

#![allow(clippy::expect_used, reason = "test code")]

use std::process::Command;

#[test]
fn a_quick_run_measures_every_scenario_against_the_real_relay() {
    // Without --relay, the load generator builds vigil-relay with the cargo running this test
    // (`cargo test -p vigil-tests` alone builds no other package's binaries) and runs it.
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--quick")
        .arg("--no-pin")
        .output()
        .expect("loadgen runs");
    let table = String::from_utf8_lossy(&out.stdout);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "loadgen failed:\n{progress}\n{table}");
    for row in [
        "| R1 | 256 B | max throughput |",
        "| R2 | 256 B | max throughput |",
        "| R2 | 256 B | relay CPU per message |",
        "| R2 | 256 B, 10 % load | latency p50 |",
        "| R2 | 16 KiB, 50 % load | latency p99 |",
        "| R2 | 16 KiB, 100 % load | latency p99.9 |",
        "| R3 | 256 B | stored durably (senders answered) |",
        "| R3 | 16 KiB | drained on reconnect (delivered and acknowledged) |",
        "| R4 | 1 KiB to 1 | relay CPU per message |",
        "| R4 | 1 KiB to 40 | relay CPU per extra recipient, % of one message's |",
        "| R4 | 1 KiB, all fan-outs | bytes stored per recipient (mailbox reference) |",
        "| R5 | 40 connections | relay memory per connection |",
        "| R5 | 40 connections | logins per second |",
    ] {
        assert!(table.contains(row), "no row {row:?} in:\n{table}");
    }
    // Every R2 row compares with R1: a ratio was printed.
    let r2 = table
        .lines()
        .find(|l| l.starts_with("| R2 | 256 B | max throughput |"))
        .expect("R2 row");
    let ratio: f64 = r2
        .trim_end_matches('|')
        .rsplit('|')
        .next()
        .and_then(|r| r.trim().parse().ok())
        .expect("a ratio to R1");
    assert!(ratio > 0.0, "{r2}");
}
