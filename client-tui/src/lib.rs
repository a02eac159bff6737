//! `vigil-client`: the client side of Vigil. In this build it holds the member's home
//! directory and certificate requests; the engine (store, sessions, sync) and the TUI arrive
//! with their issues.

pub mod home;
pub mod request;
