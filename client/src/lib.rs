//! `vigil-client`: the client side of Vigil without a user interface: the engine (sealed
//! store, sessions, channels, outbox; [`engine`]), the member's view of who is who
//! ([`trust`]), the connection to the relay ([`client`], [`transport`]), the network worker a
//! user interface talks to ([`worker`]), and enrolment ([`request`], [`home`]). Whatever
//! shows text from other members passes it through [`sanitize`] first.
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
pub mod worker;
