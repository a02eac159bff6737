//! One module per subcommand.

pub mod inspect;
pub mod issue;
pub mod org;
pub mod relay;
pub mod revoke;
pub mod trust;
