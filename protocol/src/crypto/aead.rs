//! ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and a 96-bit nonce.

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::DecryptError;

/// The nonce of a message key used exactly once: its counter, big-endian, in the last four
/// bytes. The key alone already makes it unique; the counter documents which message it was.
pub(crate) fn counter_nonce(counter: u32) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

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

#[cfg(test)]
mod tests {
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
}
