//! Sealing of stored records (for the client's local store): one secret store key, a fresh
//! random nonce per write, and associated data naming the key, the record kind and the record's
//! own key, so a record cannot be moved to another place or kind undetected.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::{DecryptError, Secret32, aead, kdf};

const RECORD_LABEL: &[u8] = b"vigil/1 store-record\0";
const BLIND_LABEL: &[u8] = b"vigil/1 store-blind\0";

/// Nonce length at the front of every sealed record.
pub const NONCE_LEN: usize = 12;

/// The key that seals every record of a local store. Wrapped under the user's passphrase on
/// disk (see [`crate::provisioning::SealedFile`]); zeroized on drop; never printed.
pub struct StoreKey(Secret32);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey([secret elided])")
    }
}

impl StoreKey {
    /// A fresh random key.
    #[must_use]
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut_slice());
        Self(Secret32::from_slice(&bytes))
    }

    /// Rebuilds a key from its bytes (as unwrapped from the key file).
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Secret32::from_slice(bytes))
    }

    /// The key bytes, to wrap under the passphrase.
    ///
    /// # Security
    ///
    /// Never write them anywhere unencrypted.
    #[must_use]
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.0.expose())
    }

    /// An 8-byte identifier of the key (not secret): bound into every record.
    #[must_use]
    pub fn id(&self) -> [u8; 8] {
        let [digest] = kdf::hmac_sha256_many(self.0.expose(), [b"vigil/1 store-key-id\0"]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        id
    }

    fn associated_data(&self, kind: u8, key: &[u8]) -> Vec<u8> {
        let mut ad = Vec::with_capacity(RECORD_LABEL.len() + 9 + key.len());
        ad.extend_from_slice(RECORD_LABEL);
        ad.extend_from_slice(&self.id());
        ad.push(kind);
        ad.extend_from_slice(key);
        ad
    }

    /// Seals `plaintext` as the record of `kind` stored under `key`: `nonce || ciphertext`.
    #[must_use]
    pub fn seal(
        &self,
        rng: &mut impl CryptoRngCore,
        kind: u8,
        key: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(aead::seal(
            self.0.expose(),
            &nonce,
            &self.associated_data(kind, key),
            plaintext,
        ));
        out
    }

    /// Opens a record sealed by [`Self::seal`] for the same `kind` and `key`.
    ///
    /// # Errors
    ///
    /// [`DecryptError`] for another key, kind or place, or any alteration.
    pub fn open(
        &self,
        kind: u8,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or(DecryptError)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        aead::open(
            self.0.expose(),
            &nonce,
            &self.associated_data(kind, key),
            ciphertext,
        )
        .map(Zeroizing::new)
    }

    /// A keyed 16-byte digest of `name`, to use as a record key instead of a name that must not
    /// appear on disk (a contact's user id, say).
    #[must_use]
    pub fn blind(&self, kind: u8, name: &[u8]) -> [u8; 16] {
        let mut input = BLIND_LABEL.to_vec();
        input.push(kind);
        input.extend_from_slice(name);
        let [digest] = kdf::hmac_sha256_many(self.0.expose(), [input.as_slice()]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng as _;

    #[test]
    fn records_open_only_with_their_key_kind_and_place() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = StoreKey::generate(&mut rng);
        let sealed = key.seal(&mut rng, 3, b"history/1", b"text");
        assert_eq!(
            key.open(3, b"history/1", &sealed).unwrap().as_slice(),
            b"text"
        );
        assert_eq!(key.open(4, b"history/1", &sealed), Err(DecryptError));
        assert_eq!(key.open(3, b"history/2", &sealed), Err(DecryptError));
        assert_eq!(
            StoreKey::generate(&mut rng).open(3, b"history/1", &sealed),
            Err(DecryptError)
        );
        assert_eq!(key.open(3, b"history/1", &sealed[..5]), Err(DecryptError));
        let again = key.seal(&mut rng, 3, b"history/1", b"text");
        assert_ne!(again, sealed, "a fresh nonce per write");
        assert_eq!(key.blind(1, b"bob@cert-at"), key.blind(1, b"bob@cert-at"));
        assert_ne!(key.blind(1, b"bob@cert-at"), key.blind(2, b"bob@cert-at"));
        assert!(!format!("{key:?}").contains(&crate::keys::hex(&*key.to_bytes())));
    }
}
