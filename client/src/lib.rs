//! `vigil-client`: the client side of Vigil without a user interface: the engine (sealed
//! store, sessions, channels, outbox; [`engine`]), the member's view of who is who
//! ([`trust`]), the connection to the relay ([`client`], [`transport`]), the network worker a
//! user interface talks to ([`worker`]), and enrolment ([`request`], [`home`]). Whatever
//! shows text from other members passes it through [`sanitize`] first.
//!
//! Logging: the library emits `tracing` events and installs no subscriber. Events at `info`
//! and above say what happened without saying who: no member id, channel name, reason text
//! or error message that could carry them (the member's home blinds contacts' ids on disk, and
//! a log beside it must not undo that); those details are at `debug` only.
//!
//! The `vigil` binary (terminal UI, headless commands, demo) is built on this crate; nothing
//! here depends on it, on a UI toolkit, or on the administrator's tool.

pub mod client;
pub mod engine;
pub mod history;
pub mod home;
pub mod request;
pub mod sanitize;
pub mod store;
pub mod transport;
pub mod trust;
pub mod ui_state;
pub mod worker;
