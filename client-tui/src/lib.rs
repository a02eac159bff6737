//! `vigil-client`: the client side of Vigil. In this build it holds the member's home
//! directory, certificate requests and the connection to the relay; the engine (store,
//! sessions, sync) and the TUI arrive with their issues.

pub mod cli;
pub mod client;
pub mod engine;
pub mod export;
pub mod home;
pub mod request;
pub mod store;
pub mod transport;
pub mod trust;
pub mod worker;
