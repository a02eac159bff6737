//! An organisation's root signing key.

super::signing::signing_key_type!(
    /// An organisation's Ed25519 root key pair. It signs member certificates and revocation
    /// lists; `vigil-keytool` keeps it sealed under the administrator's passphrase.
    OrgRootKeyPair,
    /// The public half of an org root key: what partners import and members trust.
    OrgRootPublicKey
);
