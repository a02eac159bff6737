//! cargo-fuzz target `revocation_list`: see `vigil_tests::fuzz::revocation_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::revocation_list(data));
