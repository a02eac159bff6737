//! cargo-fuzz target `certificate`: see `vigil_tests::fuzz::certificate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::certificate(data));
