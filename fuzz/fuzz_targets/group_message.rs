//! cargo-fuzz target `group_message`: see `vigil_tests::fuzz::group_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::group_message(data));
