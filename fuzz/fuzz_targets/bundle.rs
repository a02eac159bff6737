//! cargo-fuzz target `bundle`: see `vigil_tests::fuzz::bundle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::bundle(data));
