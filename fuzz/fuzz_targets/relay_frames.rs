//! cargo-fuzz target `relay_frames`: see `vigil_tests::fuzz::relay_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_tests::fuzz::relay_frames(data));
