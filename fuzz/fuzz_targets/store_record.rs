//! cargo-fuzz target `store_record`: see `vigil_tests::fuzz::store_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::store_record(data));
