//! The client engine in process, several members, and a relay simulated in memory that can
//! reorder, duplicate, lose and inject: what each member's engine does with what it gets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod basics;
mod logging;
mod net;
mod receipts;
mod security;
mod sim;
