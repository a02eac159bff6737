//! ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and a 96-bit nonce, and XChaCha20-Poly1305
//! (draft-irtf-cfrg-xchacha) with a 192-bit nonce drawn at random for every message.
//!
//! Keys derived from stored state (ratchet chain keys) use the random-nonce pair
//! [`seal_random`] / [`open_x`]: a store rolled back to an earlier copy re-derives the same
//! message key, but a fresh random nonce still never repeats a (key, nonce) pair. 192 random
//! bits make a collision negligible (below 2^-64 even after 2^64 messages under one key), which
//! 96 bits would not.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;

use super::DecryptError;

/// Length of an XChaCha20-Poly1305 nonce: 192 bits, large enough to draw at random.
pub(crate) const XNONCE_LEN: usize = 24;

/// Encrypts `plaintext` and appends the tag.
///
/// # Security
///
/// A (key, nonce) pair must never be used twice; every caller derives a fresh key per message.
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    // Encryption fails only for plaintexts longer than 2^38 bytes, far above any limit of ours;
    // an empty result then makes the receiver fail to decrypt rather than us panic.
    cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// Checks the tag and decrypts.
///
/// # Errors
///
/// [`DecryptError`] for any failure, without saying which.
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| DecryptError)
}

/// Encrypts `plaintext` with XChaCha20-Poly1305 under `key` and a nonce drawn from `rng`;
/// returns the nonce (to send with the message) and the ciphertext with its tag appended.
///
/// # Security
///
/// Safe for a key that may be derived again after a rollback of stored state: the random
/// nonce makes a repeated (key, nonce) pair negligible. `rng` must be a CSPRNG.
pub(crate) fn seal_random(
    key: &[u8; 32],
    rng: &mut impl CryptoRngCore,
    aad: &[u8],
    plaintext: &[u8],
) -> ([u8; XNONCE_LEN], Vec<u8>) {
    let mut nonce = [0u8; XNONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ciphertext = seal_x(key, &nonce, aad, plaintext);
    (nonce, ciphertext)
}

/// XChaCha20-Poly1305 encryption under a given nonce: [`seal_random`]'s core, and what the
/// known-answer test checks.
fn seal_x(key: &[u8; 32], nonce: &[u8; XNONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    // As in `seal`: fails only past 2^38 bytes; an empty result then fails to decrypt.
    cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// Checks the tag and decrypts what [`seal_random`] sealed, with the nonce sent beside it.
///
/// # Errors
///
/// [`DecryptError`] for any failure, without saying which.
pub(crate) fn open_x(
    key: &[u8; 32],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| DecryptError)
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng as _;

    use super::*;
    use crate::crypto::kat::{Vectors, hex_bytes, hex32};

    /// RFC 8439 section 2.8.2 and appendix A.5, through `seal` and `open`.
    #[test]
    fn rfc8439_known_answers() {
        let vectors = Vectors::parse(include_str!("../../tests/data/kat/rfc8439-aead.txt"));
        assert!(vectors.len() >= 2);
        for v in vectors.iter() {
            let key = hex32(v.get("KEY"));
            let nonce: [u8; 12] = hex_bytes(v.get("NONCE")).try_into().unwrap();
            let aad = hex_bytes(v.get("AAD"));
            let plaintext = hex_bytes(v.get("PLAINTEXT"));
            let mut expected = hex_bytes(v.get("CIPHERTEXT"));
            expected.extend(hex_bytes(v.get("TAG")));
            assert_eq!(seal(&key, &nonce, &aad, &plaintext), expected, "{}", v.name);
            assert_eq!(
                open(&key, &nonce, &aad, &expected).unwrap(),
                plaintext,
                "{}",
                v.name
            );
            let mut tampered = expected.clone();
            tampered[0] ^= 1;
            assert_eq!(open(&key, &nonce, &aad, &tampered), Err(DecryptError));
        }
    }

    /// draft-irtf-cfrg-xchacha-03 appendix A.3.1, through `seal_x` and `open_x`.
    #[test]
    fn xchacha20poly1305_known_answer() {
        let vectors = Vectors::parse(include_str!("../../tests/data/kat/xchacha20poly1305.txt"));
        assert!(vectors.len() >= 1);
        for v in vectors.iter() {
            let key = hex32(v.get("KEY"));
            let nonce: [u8; XNONCE_LEN] = hex_bytes(v.get("NONCE")).try_into().unwrap();
            let aad = hex_bytes(v.get("AAD"));
            let plaintext = hex_bytes(v.get("PLAINTEXT"));
            let mut expected = hex_bytes(v.get("CIPHERTEXT"));
            expected.extend(hex_bytes(v.get("TAG")));
            assert_eq!(
                seal_x(&key, &nonce, &aad, &plaintext),
                expected,
                "{}",
                v.name
            );
            assert_eq!(open_x(&key, &nonce, &aad, &expected).unwrap(), plaintext);
            let mut tampered = expected.clone();
            tampered[0] ^= 1;
            assert_eq!(open_x(&key, &nonce, &aad, &tampered), Err(DecryptError));
        }
    }

    /// The same key sealed twice gets two nonces and two unrelated ciphertexts; the wrong nonce,
    /// key or associated data fails opaquely.
    #[test]
    fn random_nonces_never_repeat_a_key_nonce_pair() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        let key = [9u8; 32];
        let plaintext = [0u8; 64];
        let (n1, c1) = seal_random(&key, &mut rng, b"ad", &plaintext);
        let (n2, c2) = seal_random(&key, &mut rng, b"ad", &plaintext);
        assert_ne!(n1, n2);
        // With a repeated nonce, c1 XOR c2 would equal the plaintexts' XOR (all zero here).
        assert!(
            c1.iter()
                .zip(&c2)
                .take(plaintext.len())
                .any(|(a, b)| a != b)
        );
        assert_eq!(open_x(&key, &n1, b"ad", &c1).unwrap(), plaintext);
        assert_eq!(open_x(&key, &n2, b"ad", &c1), Err(DecryptError));
        assert_eq!(open_x(&[8; 32], &n1, b"ad", &c1), Err(DecryptError));
        assert_eq!(open_x(&key, &n1, b"da", &c1), Err(DecryptError));
    }
}
