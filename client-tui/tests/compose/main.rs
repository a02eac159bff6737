//! The compose box and what keys do to it (issue 22), keys sent through `App::on_key` as the
//! terminal sends them: the defects where typed text was lost or a command went to the wrong
//! channel (`defects`), and the habits of terminal chat (`habits`: mentions, the unverified
//! warning's Esc, readline keys, the sent history, the editor key).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod defects;
mod fixture;
mod habits;
#[path = "../support/mod.rs"]
mod support;
mod traps;
