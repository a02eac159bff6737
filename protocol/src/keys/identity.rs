//! A member's long-term Ed25519 identity key.

super::signing::signing_key_type!(
    /// A member's long-term Ed25519 identity key pair. It signs the member's prekeys; its public
    /// half is bound to the member by their certificate.
    IdentityKeyPair,
    /// The public half of a member's identity key.
    IdentityPublicKey
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_public_half_only() {
        let pair = IdentityKeyPair::from_seed(&[0x42; 32]);
        let shown = format!("{pair:?}");
        assert!(shown.contains(&pair.public().to_hex()));
        assert!(!shown.contains(&crate::keys::hex(&[0x42; 32])));
        assert!(shown.contains("[secret elided]"));
    }
}
