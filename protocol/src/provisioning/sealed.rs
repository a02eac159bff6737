//! Files sealed under a passphrase: Argon2id derives a key, ChaCha20-Poly1305 seals the
//! contents. The KDF parameters are stored in the file so they can be raised later without
//! breaking old files; a public header (what the file is for) is authenticated, not encrypted.

use bincode::{Decode, Encode};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::{DecryptError, aead};

const SEAL_LABEL: &[u8] = b"vigil/1 sealed-file\0";

/// Argon2id cost parameters, stored in each sealed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// What Vigil seals with: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option).
    /// About a quarter of a second on a laptop; raise it here and new files get it.
    pub const DEFAULT: Self = Self {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Least memory a file may ask for: below this a stolen file is cheap to brute-force.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;

    /// Most memory a file may ask for: a hostile file must not make us allocate gigabytes.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;

    /// Most passes a file may ask for.
    pub const MAX_ITERATIONS: u32 = 32;

    /// Most lanes a file may ask for.
    pub const MAX_PARALLELISM: u32 = 16;

    fn check(self) -> Result<argon2::Params, SealError> {
        let in_range = (Self::MIN_MEMORY_KIB..=Self::MAX_MEMORY_KIB).contains(&self.memory_kib)
            && (1..=Self::MAX_ITERATIONS).contains(&self.iterations)
            && (1..=Self::MAX_PARALLELISM).contains(&self.parallelism);
        if !in_range {
            return Err(SealError::Params(self));
        }
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|_| SealError::Params(self))
    }
}

/// A sealed file could not be sealed or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Wrong passphrase, or the file was altered (opaque on purpose).
    #[error("wrong passphrase, or the file is corrupt")]
    WrongPassphraseOrCorrupt,
    /// KDF parameters outside the accepted range.
    #[error("key-derivation parameters out of range: {0:?}")]
    Params(KdfParams),
    /// The sealed bytes do not decode.
    #[error(transparent)]
    Decode(#[from] crate::DecodeError),
}

impl From<DecryptError> for SealError {
    fn from(_: DecryptError) -> Self {
        Self::WrongPassphraseOrCorrupt
    }
}

/// A file sealed under a passphrase.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SealedFile {
    /// Argon2id parameters.
    pub kdf: KdfParams,
    /// Argon2id salt.
    pub salt: [u8; 16],
    /// ChaCha20-Poly1305 nonce.
    pub nonce: [u8; 12],
    /// Public, authenticated metadata (e.g. a bundle's user id), readable without the passphrase.
    pub header: Vec<u8>,
    /// The sealed contents with their tag.
    pub ciphertext: Vec<u8>,
}

fn derive_key(
    passphrase: &[u8],
    salt: &[u8; 16],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        kdf.check()?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut_slice())
        .map_err(|_| SealError::Params(kdf))?;
    Ok(key)
}

impl SealedFile {
    fn associated_data(kdf: KdfParams, salt: &[u8; 16], header: &[u8]) -> Vec<u8> {
        let mut ad = SEAL_LABEL.to_vec();
        ad.extend_from_slice(&crate::codec::encode(&(kdf, *salt, header.to_vec())));
        ad
    }

    /// Seals `contents` under `passphrase`, with `header` readable by anyone but authenticated.
    ///
    /// # Errors
    ///
    /// [`SealError::Params`] when `kdf` is outside the accepted range.
    pub fn seal(
        rng: &mut impl CryptoRngCore,
        passphrase: &[u8],
        kdf: KdfParams,
        header: Vec<u8>,
        contents: &[u8],
    ) -> Result<Self, SealError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let key = derive_key(passphrase, &salt, kdf)?;
        let ad = Self::associated_data(kdf, &salt, &header);
        let ciphertext = aead::seal(&key, &nonce, &ad, contents);
        Ok(Self {
            kdf,
            salt,
            nonce,
            header,
            ciphertext,
        })
    }

    /// Opens the file with `passphrase`.
    ///
    /// # Errors
    ///
    /// [`SealError::WrongPassphraseOrCorrupt`]; [`SealError::Params`] for a file asking for
    /// parameters outside the accepted range.
    pub fn open(&self, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let key = derive_key(passphrase, &self.salt, self.kdf)?;
        let ad = Self::associated_data(self.kdf, &self.salt, &self.header);
        Ok(Zeroizing::new(aead::open(
            &key,
            &self.nonce,
            &ad,
            &self.ciphertext,
        )?))
    }

    /// The codec encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }

    /// Decodes a sealed file (without opening it).
    ///
    /// # Errors
    ///
    /// [`crate::DecodeError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::DecodeError> {
        crate::codec::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng as _;

    const FAST: KdfParams = KdfParams {
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn seals_and_opens_and_refuses_wrong_passphrase_or_tampering() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let sealed =
            SealedFile::seal(&mut rng, b"correct horse", FAST, b"hdr".to_vec(), b"secret").unwrap();
        let decoded = SealedFile::from_bytes(&sealed.to_bytes()).unwrap();
        assert_eq!(
            decoded.open(b"correct horse").unwrap().as_slice(),
            b"secret"
        );
        assert_eq!(
            decoded.open(b"wrong").unwrap_err(),
            SealError::WrongPassphraseOrCorrupt
        );
        let mut header = decoded.clone();
        header.header = b"HDR".to_vec();
        assert_eq!(
            header.open(b"correct horse").unwrap_err(),
            SealError::WrongPassphraseOrCorrupt
        );
        let mut weaker = decoded.clone();
        weaker.kdf.iterations = 2;
        assert_eq!(
            weaker.open(b"correct horse").unwrap_err(),
            SealError::WrongPassphraseOrCorrupt
        );
    }

    #[test]
    fn hostile_parameters_are_refused_before_any_work() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut sealed = SealedFile::seal(&mut rng, b"p", FAST, vec![], b"x").unwrap();
        sealed.kdf.memory_kib = u32::MAX;
        assert!(matches!(sealed.open(b"p"), Err(SealError::Params(_))));
        sealed.kdf.memory_kib = 1;
        assert!(matches!(sealed.open(b"p"), Err(SealError::Params(_))));
    }
}
