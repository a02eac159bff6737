//! `vigil-server`: the relay. It authenticates members by their certificates, keeps the
//! directory of certificates and prekeys, and stores and forwards only ciphertext, durably.

pub mod admin;
pub mod check;
pub mod cli;
pub mod config;
mod connection;
mod handlers;
mod housekeeping;
mod limiter;
mod limits;
mod live;
mod login;
pub mod metrics;
pub mod notify;
mod reload;
mod revocation;
pub mod server;
pub mod store;
pub mod tls;
pub mod trust;
mod watermark;

pub use config::{Config, ConfigError, Limits};
pub use reload::Reloaded;
pub use server::{Relay, StartError};
