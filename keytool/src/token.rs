//! An org root key on a PKCS#11 token (a smartcard or an HSM; SoftHSM in tests): generated on
//! the token, never extractable, used by signing on the token. `org init --pkcs11-module`
//! records which module, token and key in `org.toml`; every command that signs as the root then
//! asks for the token's PIN (from the passphrase source) instead of a passphrase.

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};
use vigil_protocol::keys::{OrgRootPublicKey, RootSigner, Signature, SignatureContext};

use crate::error::{Error, Result};

/// The DER encoding of the Ed25519 curve's object identifier (1.3.101.112), as `CKA_EC_PARAMS`.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// Where the root key lives, in `org.toml` (`[root_token]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// The PKCS#11 module (shared library) of the token's vendor.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's label on the token.
    pub key: String,
}

/// The org root key on a token, logged in.
pub struct TokenKey {
    /// Kept alive while the session is.
    _context: Pkcs11,
    session: Session,
    private: ObjectHandle,
    public: OrgRootPublicKey,
    token: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("token", &self.token)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// What failed, for the error message.
fn token_error(
    record: &TokenRecord,
    doing: &'static str,
) -> impl Fn(cryptoki::error::Error) -> Error {
    let token = record.token.clone();
    move |source| match source {
        cryptoki::error::Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _) => {
            Error::WrongPin(token.clone())
        }
        source => Error::Token {
            token: token.clone(),
            doing,
            source,
        },
    }
}

/// Loads the module, finds the token by label, opens a read-write session and logs in.
fn session(record: &TokenRecord, pin: &str) -> Result<(Pkcs11, Session)> {
    let fail = token_error(record, "opening the token");
    let context = Pkcs11::new(&record.module).map_err(|source| Error::Token {
        token: record.token.clone(),
        doing: "loading the PKCS#11 module",
        source,
    })?;
    context
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(&fail)?;
    let mut found = None;
    for slot in context.get_slots_with_token().map_err(&fail)? {
        if context.get_token_info(slot).map_err(&fail)?.label().trim() == record.token {
            found = Some(slot);
            break;
        }
    }
    let slot = found.ok_or_else(|| Error::NoToken(record.token.clone()))?;
    let session = context.open_rw_session(slot).map_err(&fail)?;
    session
        .login(UserType::User, Some(&AuthPin::from(pin.to_owned())))
        .map_err(token_error(record, "logging in"))?;
    Ok((context, session))
}

/// The key pair labelled `label`: its private handle and public key, if present.
fn find(
    session: &Session,
    record: &TokenRecord,
) -> Result<Option<(ObjectHandle, OrgRootPublicKey)>> {
    let fail = token_error(record, "finding the key");
    let label = Attribute::Label(record.key.as_bytes().to_vec());
    let private = session
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), label.clone()])
        .map_err(&fail)?;
    let public = session
        .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), label])
        .map_err(&fail)?;
    match (private.as_slice(), public.as_slice()) {
        ([], []) => Ok(None),
        ([private], [public]) => Ok(Some((*private, public_key(session, record, *public)?))),
        _ => Err(Error::TokenKeyAmbiguous {
            token: record.token.clone(),
            key: record.key.clone(),
        }),
    }
}

/// The Ed25519 public key of `handle`: `CKA_EC_POINT`, a DER OCTET STRING of 32 bytes (or the
/// 32 bytes bare, as some tokens give it).
fn public_key(
    session: &Session,
    record: &TokenRecord,
    handle: ObjectHandle,
) -> Result<OrgRootPublicKey> {
    let attributes = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(token_error(record, "reading the public key"))?;
    let point = attributes.into_iter().find_map(|a| match a {
        Attribute::EcPoint(point) => Some(point),
        _ => None,
    });
    let bytes = match point.as_deref() {
        Some([0x04, 0x20, key @ ..]) if key.len() == 32 => key,
        Some(key) if key.len() == 32 => key,
        _ => {
            return Err(Error::TokenKeyNotEd25519 {
                token: record.token.clone(),
                key: record.key.clone(),
            });
        }
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(bytes);
    Ok(OrgRootPublicKey(key))
}

impl TokenKey {
    /// Generates the root key pair on the token (never extractable); refused when a key with
    /// that label exists already.
    pub fn generate(record: &TokenRecord, pin: &str) -> Result<Self> {
        let (context, session) = session(record, pin)?;
        if find(&session, record)?.is_some() {
            return Err(Error::TokenKeyExists {
                token: record.token.clone(),
                key: record.key.clone(),
            });
        }
        let label = Attribute::Label(record.key.as_bytes().to_vec());
        let public_template = [
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::EcParams(ED25519_OID.to_vec()),
            label.clone(),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            label,
        ];
        let (public, private) = session
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(token_error(record, "generating the key"))?;
        let public = public_key(&session, record, public)?;
        Ok(Self {
            _context: context,
            session,
            private,
            public,
            token: record.token.clone(),
        })
    }

    /// Opens the root key on the token; it must be the key of `root`.
    pub fn open(
        record: &TokenRecord,
        pin: &str,
        root: &OrgRootPublicKey,
        org_dir: &Path,
    ) -> Result<Self> {
        let (context, session) = session(record, pin)?;
        let (private, public) = find(&session, record)?.ok_or_else(|| Error::NoTokenKey {
            token: record.token.clone(),
            key: record.key.clone(),
        })?;
        if &public != root {
            return Err(Error::TokenKeyNotRoot {
                token: record.token.clone(),
                key: record.key.clone(),
                org_dir: org_dir.to_owned(),
            });
        }
        Ok(Self {
            _context: context,
            session,
            private,
            public,
            token: record.token.clone(),
        })
    }
}

impl RootSigner for TokenKey {
    type Error = Error;

    fn root_public(&self) -> OrgRootPublicKey {
        self.public
    }

    fn sign_as_root(&self, context: SignatureContext, message: &[u8]) -> Result<Signature> {
        let input = vigil_protocol::keys::signing_input(context, message);
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let bytes = self
            .session
            .sign(&mechanism, self.private, &input)
            .map_err(|source| Error::Token {
                token: self.token.clone(),
                doing: "signing",
                source,
            })?;
        let signature: [u8; 64] = bytes
            .try_into()
            .map_err(|_| Error::TokenSignature(self.token.clone()))?;
        let signature = Signature(signature);
        // A token that signs something else than asked is caught here, not by every reader.
        self.public
            .verify(context, message, &signature)
            .map_err(|_| Error::TokenSignature(self.token.clone()))?;
        Ok(signature)
    }
}
