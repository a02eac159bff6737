//! The one wire codec: every byte Vigil puts on the wire or on disk goes through here.
//!
//! An encoding is the [`WIRE_VERSION`] byte followed by the value in bincode 2 with an explicit
//! configuration (little-endian, variable-length integers) and a hard byte limit
//! ([`MAX_ENCODED_LEN`]). Decoding refuses any other version (there is no negotiation, so no
//! downgrade), refuses trailing bytes, and never allocates more than the limit, whatever length
//! prefix an attacker writes.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::{Decode, Encode};

/// The version byte that starts every encoding and every associated data.
pub const WIRE_VERSION: u8 = 2;

/// Largest encoding we produce or accept: 1 MiB. Large enough for a message carrying
/// [`crate::message::MAX_PLAINTEXT_LEN`] plus its headers and certificate, small enough that a
/// hostile length prefix cannot make a decoder allocate more than this.
pub const MAX_ENCODED_LEN: usize = 1 << 20;

type WireConfig = Configuration<LittleEndian, Varint, Limit<MAX_ENCODED_LEN>>;

const fn config() -> WireConfig {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<MAX_ENCODED_LEN>()
}

/// Why bytes could not be decoded. Deliberately coarse about bincode internals; precise about
/// what a caller can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input was empty.
    #[error("empty input: expected a version byte")]
    Empty,
    /// The first byte names a version we do not speak.
    #[error("unknown wire version {got} (this build speaks version {expected})")]
    UnknownVersion {
        /// The version this build speaks.
        expected: u8,
        /// The version byte found.
        got: u8,
    },
    /// The input is longer than any encoding we accept.
    #[error("input of {len} bytes exceeds the limit of {max} bytes")]
    TooLong {
        /// Length of the input.
        len: usize,
        /// [`MAX_ENCODED_LEN`].
        max: usize,
    },
    /// The value decoded, but these bytes are not its one encoding (e.g. a varint written
    /// longer than needed). Refused so that every value has exactly one encoding.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// Bytes remain after a complete value.
    #[error("{extra} trailing bytes after the encoded value")]
    TrailingBytes {
        /// How many bytes were left over.
        extra: usize,
    },
    /// The bytes do not form a valid value of the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
}

impl From<bincode::error::DecodeError> for DecodeError {
    fn from(e: bincode::error::DecodeError) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// Encodes `value` behind the version byte.
///
/// Values larger than [`MAX_ENCODED_LEN`] are refused by every decoder, so producers check the
/// size of what they put in (see [`crate::message::MAX_PLAINTEXT_LEN`]).
#[must_use]
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    encode_into(value, &mut out);
    out
}

/// Appends the bincode form of `value` (without a version byte) to `out`.
pub(crate) fn encode_into<T: Encode>(value: &T, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail, and none of our Encode impls return errors, so the only
    // possible error is unreachable; we still refuse to panic and leave `out` as it was.
    let start = out.len();
    if bincode::encode_into_std_write(value, out, config()).is_err() {
        out.truncate(start);
    }
}

/// The length of [`encode`]'s output for `value`, without writing it anywhere: what a value
/// would weigh on the wire or on disk, for bounding what is built from smaller input.
#[must_use]
pub fn encoded_len<T: Encode>(value: &T) -> usize {
    let mut encoder =
        bincode::enc::EncoderImpl::new(bincode::enc::write::SizeWriter::default(), config());
    // As in `encode_into`: none of our Encode impls fail, and a size counter cannot.
    let body = match value.encode(&mut encoder) {
        Ok(()) => encoder.into_writer().bytes_written,
        Err(_) => 0,
    };
    body.saturating_add(1)
}

/// Decodes a value written by [`encode`]: checks the version byte, the length limit, that
/// nothing follows the value, and that the bytes are the value's one canonical encoding.
///
/// # Errors
///
/// [`DecodeError`] naming what was wrong; never panics, whatever the input.
pub fn decode<T: Decode<()> + Encode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(DecodeError::Empty);
    };
    if version != WIRE_VERSION {
        return Err(DecodeError::UnknownVersion {
            expected: WIRE_VERSION,
            got: version,
        });
    }
    if bytes.len() > MAX_ENCODED_LEN {
        return Err(DecodeError::TooLong {
            len: bytes.len(),
            max: MAX_ENCODED_LEN,
        });
    }
    let (value, used) = bincode::decode_from_slice::<T, _>(body, config())?;
    let extra = body.len().saturating_sub(used);
    if extra != 0 {
        return Err(DecodeError::TrailingBytes { extra });
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_is_the_length_of_the_encoding() {
        for value in [vec![], vec![7u64; 3], vec![u64::MAX; 1000]] {
            assert_eq!(encoded_len(&value), encode(&value).len());
        }
    }

    #[test]
    fn refuses_unknown_version_empty_and_trailing_bytes() {
        let mut bytes = encode(&7u32);
        assert_eq!(decode::<u32>(&bytes), Ok(7));
        bytes.push(0);
        assert_eq!(
            decode::<u32>(&bytes),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
        assert_eq!(decode::<u32>(&[]), Err(DecodeError::Empty));
        // Version 1 (before channel states carried their chain, multi-member removals,
        // transfers and renewals, organisations their country) is refused, not read.
        for old_or_new in [1, 3] {
            assert_eq!(
                decode::<u32>(&[old_or_new, 7]),
                Err(DecodeError::UnknownVersion {
                    expected: 2,
                    got: old_or_new
                })
            );
        }
    }

    #[test]
    fn refuses_non_canonical_varints() {
        // 7 written as a u16 varint (marker 251) instead of one byte.
        assert_eq!(
            decode::<u32>(&[WIRE_VERSION, 251, 7, 0]),
            Err(DecodeError::NonCanonical)
        );
    }

    #[test]
    fn hostile_length_prefix_does_not_allocate() {
        // Version, then a varint length of u64::MAX for a Vec<u8>.
        let bytes = [WIRE_VERSION, 253, 255, 255, 255, 255, 255, 255, 255, 255];
        assert!(matches!(
            decode::<Vec<u8>>(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }
}
