//! Safety numbers: what two members compare out of band to know their session is not
//! intercepted.

use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;

use crate::cert::MemberCertificate;

/// Hash iterations per fingerprint half, as in Signal's numeric fingerprints: makes finding a
/// colliding key pair 5200 times more expensive.
const ITERATIONS: usize = 5200;

/// Version of the safety-number derivation, hashed in so a future change cannot collide.
const SAFETY_NUMBER_VERSION: u16 = 1;

/// A 60-digit safety number for a pair of members: 30 digits per member, the smaller first, so
/// both see the same number. Stable while neither's identity or agreement key changes.
#[derive(Clone)]
pub struct SafetyNumber([u8; 60]);

impl SafetyNumber {
    /// The safety number of `a` and `b` (order does not matter).
    #[must_use]
    pub fn new(a: &MemberCertificate, b: &MemberCertificate) -> Self {
        let (x, y) = (half(a), half(b));
        let (first, second) = if x <= y { (x, y) } else { (y, x) };
        let mut digits = [0u8; 60];
        digits[..30].copy_from_slice(&first);
        digits[30..].copy_from_slice(&second);
        Self(digits)
    }

    /// The digits as twelve groups of five, e.g. `12345 67890 ...`.
    #[must_use]
    pub fn display_groups(&self) -> String {
        self.0
            .chunks(5)
            .map(|group| {
                group
                    .iter()
                    .map(|&d| char::from(b'0' + d))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Compares against digits a human typed or scanned (spaces ignored), in constant time.
    #[must_use]
    pub fn matches(&self, typed: &str) -> bool {
        let digits: Vec<u8> = typed
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| {
                c.to_digit(10)
                    .and_then(|d| u8::try_from(d).ok())
                    .unwrap_or(0xFF)
            })
            .collect();
        digits.len() == self.0.len() && bool::from(digits.ct_eq(&self.0))
    }
}

impl PartialEq for SafetyNumber {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SafetyNumber {}

impl std::fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_groups())
    }
}

impl std::fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SafetyNumber({})", self.display_groups())
    }
}

/// 30 digits for one member: iterated SHA-512 over their user id and both public keys, then
/// six 5-byte chunks, each taken modulo 100000.
fn half(certificate: &MemberCertificate) -> [u8; 30] {
    let body = certificate.body();
    let mut input = Vec::new();
    input.extend_from_slice(&SAFETY_NUMBER_VERSION.to_be_bytes());
    input.extend_from_slice(body.identity_key.as_bytes());
    input.extend_from_slice(body.agreement_key.as_bytes());
    input.extend_from_slice(body.user.as_str().as_bytes());
    let mut hash = Sha512::digest(&input);
    for _ in 1..ITERATIONS {
        let mut hasher = Sha512::new();
        hasher.update(hash);
        hasher.update(body.identity_key.as_bytes());
        hash = hasher.finalize();
    }
    let mut digits = [0u8; 30];
    for (chunk, out) in hash.chunks(5).zip(digits.chunks_mut(5)) {
        let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) % 100_000;
        let mut rest = value;
        for d in out.iter_mut().rev() {
            *d = u8::try_from(rest % 10).unwrap_or(0);
            rest /= 10;
        }
    }
    digits
}
