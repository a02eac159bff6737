//! `vigil`: the duty officer's client over the [`vigil_client`] engine: the terminal UI
//! ([`tui`]) with its settings ([`config`]), the headless commands ([`cli`]), history export
//! formats ([`export`]) and `vigil demo` ([`demo`]).

pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod tui;
