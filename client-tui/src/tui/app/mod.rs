//! The TUI's state and what keys and events do to it. No I/O: the runner turns the returned
//! [`Action`]s into worker requests and feeds the answers back as [`Update`]s, so every
//! behaviour here is testable without a terminal.
//!
//! By job: [`App`] and what it knows (`state`), the keys (`input`), the compose box
//! (`compose`), the slash commands (`commands`) and the events and answers that come back
//! (`events`).

mod action;
mod commands;
mod compose;
mod events;
mod input;
mod persist;
mod state;

pub use action::{Action, Update};
pub use commands::{COMMANDS, CreateError, parse_create, split_args, tlp_rule};
pub use persist::{SAVE_EVERY, Saver};
pub use state::{App, ChannelItem, Focus, Mode, PAGE, SCROLL_STEP, TrustMark};
