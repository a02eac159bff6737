//! cargo-fuzz target `channel_state`: see `vigil_tests::fuzz::channel_state`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::channel_state(data));
