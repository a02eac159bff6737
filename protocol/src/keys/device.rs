//! A device's own Ed25519 key, made when the device enrolls.

super::signing::signing_key_type!(
    /// A device's Ed25519 key pair, generated at enrolment and kept in the device's sealed
    /// store. It is in no certificate: the relay binds a certificate to the first device key
    /// that logs in with it, so an enrollment bundle enrols one device.
    DeviceKeyPair,
    /// The public half of a device key: what the relay binds a certificate to.
    DevicePublicKey
);
