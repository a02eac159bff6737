//! The client–relay protocol: frames, requests, responses and pushes, and the login proof.
//!
//! A client opens a QUIC connection (ALPN [`ALPN`]) to the relay, verified by its pin, and
//! sends requests, each on its own bidirectional stream: one [`Request`] frame, answered by one
//! [`Response`] frame. The first request must be [`Request::Login`]. The relay pushes
//! [`Push`] frames on unidirectional streams it opens. A frame is a 4-byte big-endian length
//! followed by that many bytes of codec encoding.

use bincode::{Decode, Encode};

use crate::cert::MemberCertificate;
use crate::ids::UserId;
use crate::keys::{DeviceKeyPair, DevicePublicKey, IdentityKeyPair, Signature, SignatureContext};
use crate::label::Classification;
use crate::prekey::{OneTimePrekey, PrekeyBundle, SignedPrekey};
use crate::time::UnixTime;

/// The QUIC ALPN protocol id.
pub const ALPN: &[u8] = b"vigil/1";

/// The TLS exporter label of the login proof (RFC 8446 section 7.5).
pub const LOGIN_EXPORTER_LABEL: &[u8] = b"EXPORTER-vigil/1 login";

/// Length of the exporter value the login proof signs.
pub const LOGIN_EXPORTER_LEN: usize = 32;

/// Largest frame any party accepts; a relay may configure a lower limit for what clients send.
pub const MAX_FRAME_LEN: usize = crate::codec::MAX_ENCODED_LEN;

/// A frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the limit.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced length.
        len: usize,
        max: usize,
    },
    /// The body is not a valid encoding.
    #[error(transparent)]
    Decode(#[from] crate::DecodeError),
}

/// Encodes `value` as a frame: 4-byte big-endian length, then the codec encoding.
#[must_use]
pub fn encode_frame<T: Encode>(value: &T) -> Vec<u8> {
    let body = crate::codec::encode(value);
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// The body length a frame header announces, checked against `max` before anything is read.
///
/// # Errors
///
/// [`FrameError::TooLarge`].
pub fn frame_len(header: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(len)
}

/// Decodes a frame body.
///
/// # Errors
///
/// [`FrameError::Decode`].
pub fn decode_frame<T: Decode<()> + Encode>(body: &[u8]) -> Result<T, FrameError> {
    Ok(crate::codec::decode(body)?)
}

/// Chosen by the sending client; sending again with the same id is a no-op at the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ClientMessageId(pub [u8; 16]);

/// The relay's id of a message in a recipient's mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct MessageId(pub u64);

/// The login proofs of one connection: the member's identity key signs the TLS exporter value
/// and the device key, and the device key signs the exporter value and the identity key. A
/// proof cannot be replayed on another connection, and the device key cannot be claimed without
/// its secret half (the relay binds a certificate to the first device that logs in with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginProofs {
    /// The identity key's signature ([`SignatureContext::RelayLogin`]).
    pub proof: Signature,
    /// The device key's signature ([`SignatureContext::DeviceLogin`]).
    pub device_proof: Signature,
}

/// `exporter ‖ key`: what each login proof signs, `key` being the other party's public key.
fn login_message(exporter: &[u8; LOGIN_EXPORTER_LEN], key: &[u8; 32]) -> [u8; 64] {
    let mut message = [0u8; 64];
    message[..LOGIN_EXPORTER_LEN].copy_from_slice(exporter);
    message[LOGIN_EXPORTER_LEN..].copy_from_slice(key);
    message
}

/// The login proofs of `identity` on `device` for the connection whose exporter value is
/// `exporter`.
#[must_use]
pub fn login_proofs(
    identity: &IdentityKeyPair,
    device: &DeviceKeyPair,
    exporter: &[u8; LOGIN_EXPORTER_LEN],
) -> LoginProofs {
    let device_key = device.public();
    let identity_key = identity.public();
    LoginProofs {
        proof: identity.sign(
            SignatureContext::RelayLogin,
            &login_message(exporter, device_key.as_bytes()),
        ),
        device_proof: device.sign(
            SignatureContext::DeviceLogin,
            &login_message(exporter, identity_key.as_bytes()),
        ),
    }
}

/// The login request of `identity` (holding `certificate`) on `device` for the connection
/// whose exporter value is `exporter`.
#[must_use]
pub fn login_request(
    certificate: &MemberCertificate,
    identity: &IdentityKeyPair,
    device: &DeviceKeyPair,
    exporter: &[u8; LOGIN_EXPORTER_LEN],
) -> Request {
    let proofs = login_proofs(identity, device, exporter);
    Request::Login {
        certificate: Box::new(certificate.clone()),
        device: device.public(),
        proof: proofs.proof,
        device_proof: proofs.device_proof,
    }
}

/// Checks both login proofs against the certificate's identity key and `device` (the caller
/// verifies the certificate itself against its trust store).
#[must_use]
pub fn login_proofs_valid(
    certificate: &MemberCertificate,
    device: &DevicePublicKey,
    exporter: &[u8; LOGIN_EXPORTER_LEN],
    proofs: &LoginProofs,
) -> bool {
    let identity_key = certificate.body().identity_key;
    let identity_signed = identity_key
        .verify(
            SignatureContext::RelayLogin,
            &login_message(exporter, device.as_bytes()),
            &proofs.proof,
        )
        .is_ok();
    let device_signed = device
        .verify(
            SignatureContext::DeviceLogin,
            &login_message(exporter, identity_key.as_bytes()),
            &proofs.device_proof,
        )
        .is_ok();
    identity_signed && device_signed
}

/// What a client asks of the relay.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// Log in: the certificate, this device's key, and the proofs over this connection's
    /// exporter value ([`login_request`]).
    Login {
        /// The member's certificate.
        certificate: Box<MemberCertificate>,
        /// This device's key: the relay binds the certificate to the first device key that
        /// logs in with it and refuses any other ([`ErrorCode::CertificateInUse`]).
        device: DevicePublicKey,
        /// [`LoginProofs::proof`] for this connection.
        proof: Signature,
        /// [`LoginProofs::device_proof`] for this connection.
        device_proof: Signature,
    },
    /// Publish the member's signed prekey and add one-time prekeys.
    PublishPrekeys {
        /// The current signed prekey.
        signed_prekey: SignedPrekey,
        /// One-time prekeys to add.
        one_time_prekeys: Vec<OneTimePrekey>,
    },
    /// A member's certificate and prekey bundle (with one one-time prekey, handed out once).
    FetchBundle { user: UserId },
    /// Store `payload` for every recipient; stored once, referenced by each mailbox.
    Send {
        /// The sender's id for this message; a resend with the same id is a no-op.
        id: ClientMessageId,
        recipients: Vec<UserId>,
        /// Routing metadata: the channel's level, when the payload is a channel message. The
        /// relay refuses recipients whose clearance does not dominate it.
        level: Option<Classification>,
        /// The ciphertext (an envelope or a channel message).
        payload: Vec<u8>,
    },
    /// Remove delivered messages from our mailbox (only after they are durable on our side).
    Ack { ids: Vec<MessageId> },
    /// The revocation lists the relay enforces (signed by each org root: a client verifies
    /// them against its own trust store; a relay can withhold a list, never forge one).
    Revocations,
    /// The trust lists the relay holds, one per organisation that published one (signed by
    /// each org root: a member applies only its own organisation's, and only a newer one).
    TrustLists,
}

/// Why the relay refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Log in first.
    NotLoggedIn,
    /// The certificate or the proof was refused.
    LoginRefused,
    /// The request could not be decoded.
    Malformed,
    /// The frame is larger than the relay accepts.
    TooLarge,
    /// A recipient is not known to the relay.
    UnknownRecipient,
    /// A recipient's certificate is revoked or expired.
    RevokedRecipient,
    /// A recipient's clearance does not dominate the declared level.
    InsufficientClearance,
    /// A recipient's mailbox is full.
    QuotaExceeded,
    /// Too many messages per second.
    RateLimited,
    /// Too many connections of this identity.
    TooManyConnections,
    /// The member has published no prekeys.
    NoPrekeys,
    /// The relay's storage failed (e.g. a full disk); nothing was stored.
    Storage,
    /// The certificate is bound to another device: an enrollment bundle enrols one device.
    /// The administrator reissues (`vigil-keytool revoke`, then `issue`) for a new device.
    CertificateInUse,
    /// Another live certificate of the same member is bound to another device: one device per
    /// member. The administrator revokes the other certificate first.
    OtherDeviceEnrolled,
}

/// A refusal: a code to act on and one line for a human.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RelayError {
    /// What kind of refusal.
    pub code: ErrorCode,
    /// Details for a human.
    pub message: String,
}

/// The relay's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Response {
    /// Logged in.
    LoggedIn {
        /// The member, as the certificate names them.
        user: UserId,
        /// Messages waiting in their mailbox (pushed next).
        pending: u64,
    },
    /// Prekeys stored.
    Published {
        /// One-time prekeys the relay now holds for the member.
        one_time_prekeys: u32,
    },
    /// A member's certificate and bundle.
    Bundle {
        /// Their certificate (verify it against your trust store).
        certificate: Box<MemberCertificate>,
        /// Their prekey bundle (verify it against the certificate).
        bundle: Box<PrekeyBundle>,
    },
    /// Stored durably for every recipient.
    Sent {
        /// True when this client id was already stored: nothing was stored again.
        duplicate: bool,
    },
    /// Removed from the mailbox.
    Acked {
        /// How many were removed.
        removed: u32,
    },
    Error(RelayError),
    /// The revocation lists in force at the relay, one per organisation that has one.
    Revocations {
        lists: Vec<crate::cert::RevocationList>,
    },
    /// The trust lists the relay holds, one per organisation that published one.
    TrustLists {
        lists: Vec<crate::cert::TrustList>,
    },
}

/// What the relay sends unasked.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Push {
    /// A message from our mailbox; it stays there until we acknowledge it.
    Deliver {
        /// Its id in our mailbox.
        id: MessageId,
        /// The authenticated sender (the relay's login view; the payload authenticates itself).
        sender: UserId,
        /// When the relay stored it.
        stored_at: UnixTime,
        payload: Vec<u8>,
    },
    /// Our one-time prekeys are running low: publish more.
    PrekeysLow {
        /// How many remain.
        remaining: u32,
    },
    /// The revocation lists the relay enforces changed: every list now in force, one per
    /// organisation that has one, as [`Response::Revocations`] carries them. Pushed to every
    /// live connection when the relay puts a newer list in force. Each list is signed by its
    /// organisation's root: verify it against your own trust store, and apply only newer ones.
    Revocations {
        lists: Vec<crate::cert::RevocationList>,
    },
    /// The trust lists the relay holds changed: every list it holds now, as
    /// [`Response::TrustLists`] carries them. Pushed to every live connection when the relay
    /// takes a newer list from its roots directory.
    TrustLists { lists: Vec<crate::cert::TrustList> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_oversized_lengths_are_refused_before_reading() {
        let request = Request::Ack {
            ids: vec![MessageId(1), MessageId(2)],
        };
        let frame = encode_frame(&request);
        let header: [u8; 4] = frame[..4].try_into().unwrap();
        let len = frame_len(header, MAX_FRAME_LEN).unwrap();
        assert_eq!(len, frame.len() - 4);
        assert_eq!(decode_frame::<Request>(&frame[4..]).unwrap(), request);
        assert_eq!(
            frame_len(u32::MAX.to_be_bytes(), MAX_FRAME_LEN),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize,
                max: MAX_FRAME_LEN
            })
        );
        assert!(decode_frame::<Request>(&frame[4..frame.len() - 1]).is_err());
    }

    #[test]
    fn push_variants_keep_their_wire_indices() {
        // A variant appended at the end leaves the ones clients already decode where they were.
        let version = crate::codec::WIRE_VERSION;
        assert_eq!(
            crate::codec::encode(&Push::PrekeysLow { remaining: 3 }),
            [version, 1, 3]
        );
        let lists = Push::Revocations { lists: Vec::new() };
        assert_eq!(crate::codec::encode(&lists), [version, 2, 0]);
        let frame = encode_frame(&lists);
        assert_eq!(decode_frame::<Push>(&frame[4..]).unwrap(), lists);
    }

    #[test]
    fn login_proofs_are_bound_to_the_exporter_value_and_the_device_key() {
        use rand_core::SeedableRng as _;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let root = crate::keys::OrgRootKeyPair::generate(&mut rng);
        let identity = IdentityKeyPair::generate(&mut rng);
        let body = crate::CertificateBody {
            serial: 1,
            org: "CERT-AT".parse().unwrap(),
            user: "a@cert-at".parse().unwrap(),
            display_name: "A".parse().unwrap(),
            roles: vec![],
            clearance: Classification {
                policy: "EU".parse().unwrap(),
                level: 0,
            },
            identity_key: identity.public(),
            agreement_key: crate::keys::AgreementKeyPair::generate(&mut rng).public(),
            not_before: UnixTime(0),
            not_after: UnixTime(10),
        };
        let cert = MemberCertificate::issue(&root, body).unwrap();
        let device = DeviceKeyPair::generate(&mut rng);
        let proofs = login_proofs(&identity, &device, &[1; 32]);
        assert!(login_proofs_valid(
            &cert,
            &device.public(),
            &[1; 32],
            &proofs
        ));
        assert!(!login_proofs_valid(
            &cert,
            &device.public(),
            &[2; 32],
            &proofs
        ));
        // Another device key cannot borrow the proofs, nor sign for a device it does not hold.
        let other = DeviceKeyPair::generate(&mut rng);
        assert!(!login_proofs_valid(
            &cert,
            &other.public(),
            &[1; 32],
            &proofs
        ));
        let forged = LoginProofs {
            device_proof: login_proofs(&identity, &other, &[1; 32]).device_proof,
            ..proofs
        };
        assert!(!login_proofs_valid(
            &cert,
            &device.public(),
            &[1; 32],
            &forged
        ));
    }
}
