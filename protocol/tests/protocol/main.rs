//! Integration tests of vigil-protocol: one binary, a module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: a failed unwrap is a failed test, and the harness prints its figures"
)]

mod certificates;
mod channel_security;
mod channels;
mod codec_props;
mod debug_leaks;
mod fixtures;
mod golden;
mod harness;
mod negative;
mod partners;
mod sessions;
mod trust_lists;
