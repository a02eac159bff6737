//! cargo-fuzz target `envelope`: see `vigil_tests::fuzz::envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::envelope(data));
