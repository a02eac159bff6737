//! One module per subcommand.

pub mod bulk;
pub mod inspect;
pub mod issue;
pub mod members;
pub mod org;
pub mod relay;
pub mod revoke;
pub mod trust;
