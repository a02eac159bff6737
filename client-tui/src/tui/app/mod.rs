//! The TUI's state and what keys and events do to it. No I/O: the runner turns the returned
//! [`Action`]s into worker requests and feeds the answers back as [`Update`]s, so every
//! behaviour here is testable without a terminal.
//!
//! By job: [`App`] and what it knows (`state`), the keys (`input`), the compose box
//! (`compose`) with its editing keys (`editing`), history and drafts (`history`), the slash
//! commands (`commands`, `create`, `relabel`), questions asked first (`confirm`), mentions and the
//! unverified warning (`attention`), moving through the history (`scroll`), and the events and
//! answers that come back (`events`).

mod action;
mod attention;
mod commands;
mod compose;
mod confirm;
mod create;
mod editing;
mod events;
mod history;
mod input;
mod persist;
mod relabel;
mod scroll;
mod state;

pub use action::{Action, Update};
pub use attention::fold;
pub use commands::{COMMANDS, CommandError, membership_needs_care, split_args, tlp_rule};
pub use create::{CreateError, parse_create};
pub use history::MAX_SENT_HISTORY;
pub use persist::{SAVE_EVERY, Saver};
pub use relabel::relabel_needs_care;
pub use state::{App, ChannelItem, Focus, Geometry, Mode, PAGE, Seek, TrustMark, WHEEL_ROWS};
