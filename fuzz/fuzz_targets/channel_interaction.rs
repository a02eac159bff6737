//! cargo-fuzz target `channel_interaction`: see `vigil_tests::fuzz::channel_interaction`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::channel_interaction(data));
