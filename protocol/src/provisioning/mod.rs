//! File formats for provisioning: text armour, passphrase-sealed files (the org root key, the
//! enrollment bundle), and certificate requests. Shared by `vigil-keytool` and `vigil`.

mod armor;
mod bundle;
mod request;
mod sealed;

pub use armor::{ArmorError, FileKind, armor, dearmor};
pub use bundle::{BundleContents, BundleHeader, RelayInfo, TrustedRoot};
pub use request::{CertificateRequest, RequestBody, RequestError};
pub use sealed::{KdfParams, SealError, SealedFile};
