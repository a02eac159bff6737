//! Replays the committed fuzz corpus (`fuzz/corpus/TARGET/*`) through every target on the
//! stable toolchain, then mutates each input a bounded number of times (bit flips,
//! truncations, insertions): not coverage-guided, but every decoder and state machine sees
//! hostile bytes in every `cargo test`. `VIGIL_SOAK=1` mutates far longer;
//! `VIGIL_BLESS=1` rewrites the seed files from valid encodings.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test code: a failed unwrap is a failed test; it prints its counts"
)]

use std::path::PathBuf;

use rand_core::{RngCore as _, SeedableRng as _};
use vigil_tests::fuzz::{TARGETS, seeds};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

fn mutate(rng: &mut rand_chacha::ChaCha20Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=(rng.next_u32() % 4) {
        let len = out.len().max(1);
        let at = usize::try_from(rng.next_u32()).unwrap() % len;
        match rng.next_u32() % 5 {
            0 => {
                if let Some(b) = out.get_mut(at) {
                    *b ^= 1 << (rng.next_u32() % 8);
                }
            }
            1 => out.truncate(at),
            2 => out.insert(
                at.min(out.len()),
                u8::try_from(rng.next_u32() % 256).unwrap(),
            ),
            3 => {
                if at < out.len() {
                    out.remove(at);
                }
            }
            _ => {
                if let Some(b) = out.get_mut(at) {
                    *b = [0, 0xFF, 0x7F, 0x80][usize::try_from(rng.next_u32() % 4).unwrap()];
                }
            }
        }
    }
    out
}

#[test]
fn the_corpus_replays_and_mutations_never_break_an_invariant() {
    if std::env::var_os("VIGIL_BLESS").is_some() {
        for (target, inputs) in seeds() {
            let dir = corpus().join(target);
            std::fs::create_dir_all(&dir).unwrap();
            for (i, input) in inputs.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i}")), input).unwrap();
            }
        }
    }
    let rounds = if std::env::var_os("VIGIL_SOAK").is_some() {
        20_000
    } else {
        150
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    for (target, run) in TARGETS {
        let dir = corpus().join(target);
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (run with VIGIL_BLESS=1 once)", dir.display()))
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!inputs.is_empty(), "{target}: empty corpus");
        inputs.sort();
        for input in &inputs {
            run(input);
        }
        let mut mutated = 0;
        for input in &inputs {
            for _ in 0..rounds {
                run(&mutate(&mut rng, input));
                mutated += 1;
            }
        }
        println!(
            "{target}: {} corpus inputs replayed, {mutated} mutations",
            inputs.len()
        );
    }
}
