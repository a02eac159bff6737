//! `vigil-server`: the relay. It authenticates members by their certificates, keeps the
//! directory of certificates and prekeys, and stores and forwards only ciphertext, durably.

mod commit;
pub mod config;
mod limiter;
mod live;
pub mod metrics;
mod revocation;
pub mod server;
pub mod store;
pub mod tls;

pub use config::{Config, ConfigError, Limits};
pub use server::Relay;
