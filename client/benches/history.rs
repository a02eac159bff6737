//! Opening a channel: the newest page of a channel with 1,000,000 stored messages, against the
//! same page of a channel with 1,000 (the page must not depend on the history's size), and
//! the TUI's cost of drawing that page.
//!
//! `cargo bench -p vigil-client --bench history` (filling the store takes a while: it is
//! done once, before the measurements); numbers go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmark code: a failed unwrap is a broken benchmark; it prints its setup"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil_client::engine::{Body, Entry};
use vigil_client::store::{Batch, Kind, Place, Store};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::{UnixTime, UserId};

const BIG: u64 = 1_000_000;
const SMALL: u64 = 1_000;
const PAGE: usize = 200;

fn fill(store: &Store, channel: Place, count: u64) {
    let sender = UserId::new("lead@cert-at").unwrap();
    let started = Instant::now();
    let mut batch = Batch::default();
    for i in 0..count {
        let entry = Entry {
            sender: sender.clone(),
            sender_name: "Markus Gruber".into(),
            at: UnixTime(1_795_798_504 + i),
            body: Body::Text(format!(
                "update {i}: C2 203.0.113.47:443 still active; hosts isolated so far: {}",
                i % 97
            )),
            delivery: None,
            signer: None,
        };
        let seq = store.next_id().unwrap();
        store.stage(
            &mut batch,
            Kind::History,
            &Store::history_key(channel, seq),
            &entry,
        );
        if i % 10_000 == 9_999 {
            store.commit(std::mem::take(&mut batch)).unwrap();
        }
    }
    store.commit(batch).unwrap();
    eprintln!(
        "stored {count} sealed messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), "benchmark passphrase").unwrap();
    let (big, small) = (
        Place::Channel(ChannelId([1; 32])),
        Place::Channel(ChannelId([2; 32])),
    );
    fill(&store, small, SMALL);
    fill(&store, big, BIG);
    store.flush().unwrap();
    let mut group = c.benchmark_group("open_channel_newest_page_200");
    group.bench_function("1_000_messages", |b| {
        b.iter(|| {
            let page: Vec<(u64, Entry)> = store.history_page(small, None, PAGE).unwrap();
            black_box(page)
        });
    });
    group.bench_function("1_000_000_messages", |b| {
        b.iter(|| {
            let page: Vec<(u64, Entry)> = store.history_page(big, None, PAGE).unwrap();
            black_box(page)
        });
    });
    group.finish();
    // Reopening the store (as the TUI does at start) and reading the newest page cold.
    drop(store);
    let started = Instant::now();
    let store = Store::open(dir.path(), "benchmark passphrase").unwrap();
    let opened = started.elapsed();
    let page: Vec<(u64, Entry)> = store.history_page(big, None, PAGE).unwrap();
    eprintln!(
        "cold: store opened in {:.0} ms (Argon2id included), newest page of {BIG} in {:.1} ms",
        opened.as_secs_f64() * 1e3,
        (started.elapsed() - opened).as_secs_f64() * 1e3
    );
    assert_eq!(page.len(), PAGE);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
