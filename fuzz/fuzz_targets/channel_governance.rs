//! cargo-fuzz target `channel_governance`: see `vigil_tests::governance::channel_governance`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::governance::channel_governance(data));
