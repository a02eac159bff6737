//! HKDF-SHA256 (RFC 5869) and the HMAC-SHA256 chain step.

use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF-SHA256 extract-then-expand into `N` bytes, zeroized when dropped.
///
/// `N` is at most 255 * 32 bytes (RFC 5869); all our callers ask for 32 or 64, a compile-time
/// constant, so expansion cannot fail. Should it, the output stays zero and every key derived
/// from it fails to decrypt rather than panic.
pub(crate) fn hkdf_sha256<const N: usize>(
    salt: &[u8],
    ikm: &[u8],
    info: &[&[u8]],
) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand_multi_info(info, out.as_mut_slice());
    out
}

/// HMAC-SHA256 of each of `inputs` under the same `key`: one key schedule, several MACs.
pub(crate) fn hmac_sha256_many<const N: usize>(
    key: &[u8; 32],
    inputs: [&[u8]; N],
) -> [Zeroizing<[u8; 32]>; N] {
    // A 32-byte key is always a valid HMAC key; `new_from_slice` only fails for other MACs.
    let Ok(mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return std::array::from_fn(|_| Zeroizing::new([0u8; 32]));
    };
    inputs.map(|input| {
        let mut m = mac.clone();
        m.update(input);
        Zeroizing::new(m.finalize().into_bytes().into())
    })
}

/// The symmetric chain step shared by the Double Ratchet and Sender Keys:
/// `(MK, CK') = (HMAC-SHA256(CK, 0x01), HMAC-SHA256(CK, 0x02))`.
pub(crate) fn chain_step(chain_key: &super::Secret32) -> (super::Secret32, super::Secret32) {
    let [message, next] = hmac_sha256_many(chain_key.expose(), [&[0x01], &[0x02]]);
    (
        super::Secret32::from_slice(&message),
        super::Secret32::from_slice(&next),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kat::{Vectors, hex_bytes};

    /// RFC 5869 test cases 1-3 (SHA-256), through `hkdf_sha256`.
    #[test]
    fn rfc5869_known_answers() {
        let vectors = Vectors::parse(include_str!("../../tests/data/kat/rfc5869-hkdf.txt"));
        assert_eq!(vectors.len(), 3);
        for v in vectors.iter() {
            let ikm = hex_bytes(v.get("IKM"));
            let salt = hex_bytes(v.get("SALT"));
            let info = hex_bytes(v.get("INFO"));
            let okm = hex_bytes(v.get("OKM"));
            let got: Zeroizing<[u8; 82]> = hkdf_sha256(&salt, &ikm, &[&info]);
            assert_eq!(&got[..okm.len()], okm.as_slice(), "{}", v.name);
        }
    }
}
