//! cargo-fuzz target `session_interaction`: see `vigil_tests::fuzz::session_interaction`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::session_interaction(data));
