//! The sans-IO core of Vigil.
//!
//! This crate holds every cryptographic and wire-format decision of Vigil: identities and
//! certificates, the X3DH-style handshake, the Double Ratchet for 1:1 sessions, safety numbers
//! and the codec. It performs no I/O, reads no clock and owns no randomness: callers pass the
//! current time ([`UnixTime`]) and a cryptographic RNG to every function that needs one, so the
//! relay, the client, the tests and the fuzzers all drive the same state machines.
//!
//! The specification another team can implement from is `docs/protocol.md`.
#![forbid(unsafe_code)]

pub mod cert;
pub mod channel;
pub mod codec;
pub mod content;
mod crypto;
mod handshake;
mod ids;
pub mod keys;
pub mod label;
pub mod message;
pub mod policy;
pub mod prekey;
pub mod provisioning;
pub mod ratchet;
pub mod relay;
pub mod safety;
pub mod storage;
mod time;

pub use cert::{
    CertError, CertificateBody, Clearance, LocalIdentity, MemberCertificate, OrgRoot,
    RevocationError, RevocationList, RevokedCertificate, TrustList, TrustListError, TrustStore,
    VerifiedCertificate,
};
pub use codec::{DecodeError, WIRE_VERSION};
pub use crypto::DecryptError;
pub use handshake::HandshakeError;
pub use ids::{
    CountryCode, IdError, MAX_ID_LEN, MAX_TEXT_LEN, OrgId, Role, Text, UserId, is_bidi_control,
};
pub use message::Envelope;
pub use ratchet::{Session, SessionError};
pub use safety::SafetyNumber;
pub use time::UnixTime;

/// The protocol version this crate speaks. It is the first byte of every encoding and part of
/// every associated data; there is no negotiation and no downgrade.
pub const PROTOCOL_VERSION: u8 = WIRE_VERSION;
