//! cargo-fuzz target `payload`: see `vigil_tests::fuzz::payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::payload(data));
