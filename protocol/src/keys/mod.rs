//! Key types. Secret halves live in boxed newtypes that zeroize on drop, have no `Clone`,
//! `PartialEq` or serde impls, and whose `Debug` prints only the public half.

mod agreement;
mod device;
mod identity;
mod org_root;
mod root_signer;
mod signing;

pub use agreement::{AgreementKeyPair, AgreementPublicKey, NonContributoryError};
pub use device::{DeviceKeyPair, DevicePublicKey};
pub use identity::{IdentityKeyPair, IdentityPublicKey};
pub use org_root::{OrgRootKeyPair, OrgRootPublicKey};
pub use root_signer::{RootSigner, signing_input};
pub use signing::{Signature, SignatureContext, SignatureError};

/// Lower-case hex of `bytes`, for fingerprints and `Debug` of public keys.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of `bytes` as 16 groups of 4 lower-case hex digits separated by spaces.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    hex(&digest)
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
