//! `vigil`: the duty officer's client over the [`vigil_client`] engine: the terminal UI
//! ([`tui`]) with its settings ([`config`]), the headless commands ([`cli`]), history export
//! formats ([`export`]), `vigil demo` ([`demo`]) and the log file ([`log`]).

pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod log;
pub mod tui;
