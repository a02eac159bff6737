//! `vigil-client`: the client side of Vigil: the engine (sealed store, sessions, channels,
//! outbox; [`engine`]), its connection to the relay ([`client`], [`transport`]), the network
//! worker the UI talks to ([`worker`]), the terminal UI ([`tui`]), the headless commands
//! ([`cli`]) and `vigil demo` ([`demo`]). Whatever shows text from other members passes it
//! through [`sanitize`].

pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod engine;
pub mod export;
pub mod home;
pub mod request;
pub mod sanitize;
pub mod store;
pub mod transport;
pub mod trust;
pub mod tui;
pub mod worker;
