//! Trust in contacts: keys pinned on first use, a loud and persistent warning when a contact's
//! keys change, and verification after comparing safety numbers. Kept in the sealed store,
//! under blinded record keys.

use bincode::{Decode, Encode};
use vigil_protocol::keys::{AgreementPublicKey, IdentityPublicKey};
use vigil_protocol::{SafetyNumber, UnixTime, UserId, VerifiedCertificate};

use crate::store::{Kind, Store, StoreError};

/// What we know of a contact.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Contact {
    pub user: UserId,
    /// The identity key pinned now.
    pub identity_key: IdentityPublicKey,
    /// The agreement key pinned now.
    pub agreement_key: AgreementPublicKey,
    /// When we first saw this contact.
    pub first_seen: UnixTime,
    /// Whether the member compared safety numbers for the pinned keys.
    pub verified: bool,
    /// Set when the keys changed and the member has not yet verified the new ones: the warning
    /// stays until they do.
    pub changed: Option<KeyChange>,
}

/// A key change not yet verified.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct KeyChange {
    /// The identity key pinned before.
    pub previous: IdentityPublicKey,
    /// When the new keys were first seen.
    pub at: UnixTime,
}

/// What seeing a contact's certificate means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// First contact: keys pinned now (trust on first use).
    New,
    /// The pinned keys.
    Known {
        /// Whether verified by safety number.
        verified: bool,
    },
    /// Different keys than pinned: shown loudly until verified again.
    KeyChanged {
        /// The identity key pinned before.
        previous: IdentityPublicKey,
    },
}

/// The member's trust decisions.
#[derive(Debug)]
pub struct TrustBook<'a> {
    store: &'a Store,
}

impl<'a> TrustBook<'a> {
    /// Trust decisions kept in `store`.
    #[must_use]
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    fn key(&self, user: &UserId) -> [u8; 16] {
        self.store.blind(Kind::Trust, user.as_str())
    }

    /// What we know of `user`.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn contact(&self, user: &UserId) -> Result<Option<Contact>, StoreError> {
        self.store.get(Kind::Trust, &self.key(user))
    }

    /// Records a verified certificate of a contact: pins its keys on first use, and notices
    /// (and persists) a change of keys. Durable before it returns.
    ///
    /// # Errors
    ///
    /// [`StoreError`].
    pub fn observe(
        &self,
        certificate: &VerifiedCertificate,
        now: UnixTime,
    ) -> Result<Verdict, StoreError> {
        let body = certificate.body();
        let key = self.key(&body.user);
        let (contact, verdict) = match self.contact(&body.user)? {
            None => (
                Contact {
                    user: body.user.clone(),
                    identity_key: body.identity_key,
                    agreement_key: body.agreement_key,
                    first_seen: now,
                    verified: false,
                    changed: None,
                },
                Verdict::New,
            ),
            Some(known)
                if known.identity_key == body.identity_key
                    && known.agreement_key == body.agreement_key =>
            {
                let verdict = match &known.changed {
                    Some(change) => Verdict::KeyChanged {
                        previous: change.previous,
                    },
                    None => Verdict::Known {
                        verified: known.verified,
                    },
                };
                return Ok(verdict);
            }
            Some(known) => {
                let previous = known.identity_key;
                let contact = Contact {
                    identity_key: body.identity_key,
                    agreement_key: body.agreement_key,
                    verified: false,
                    changed: Some(KeyChange { previous, at: now }),
                    ..known
                };
                (contact, Verdict::KeyChanged { previous })
            }
        };
        self.store.put(Kind::Trust, &key, &contact)?;
        self.store.flush()?;
        Ok(verdict)
    }

    /// Marks `user` verified when the safety number the member compared out of band matches
    /// ours for the pinned keys; clears a key-change warning.
    ///
    /// # Errors
    ///
    /// [`StoreError`]; `Ok(false)` when the numbers differ or the contact is unknown.
    pub fn verify(
        &self,
        ours: &VerifiedCertificate,
        theirs: &VerifiedCertificate,
        compared: &str,
    ) -> Result<bool, StoreError> {
        let user = &theirs.body().user;
        let Some(mut contact) = self.contact(user)? else {
            return Ok(false);
        };
        if contact.identity_key != theirs.body().identity_key {
            return Ok(false);
        }
        if !SafetyNumber::new(ours.certificate(), theirs.certificate()).matches(compared) {
            return Ok(false);
        }
        contact.verified = true;
        contact.changed = None;
        self.store.put(Kind::Trust, &self.key(user), &contact)?;
        self.store.flush()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair};
    use vigil_protocol::{CertificateBody, Clearance, MemberCertificate, OrgRoot, TrustStore};

    use super::*;

    const NOW: UnixTime = UnixTime(1_795_798_504);

    struct Org {
        key: OrgRootKeyPair,
        trust: TrustStore,
        serial: u64,
    }

    impl Org {
        fn new() -> Self {
            let key = OrgRootKeyPair::generate(&mut rand_core::OsRng);
            let mut trust = TrustStore::new();
            trust
                .add_root(OrgRoot::create(
                    &key,
                    "CERT-AT".parse().unwrap(),
                    "AT".parse().unwrap(),
                    NOW,
                ))
                .unwrap();
            Self {
                key,
                trust,
                serial: 0,
            }
        }

        fn member(&mut self, user: &str) -> VerifiedCertificate {
            self.serial += 1;
            let body = CertificateBody {
                serial: self.serial,
                org: "CERT-AT".parse().unwrap(),
                user: user.parse().unwrap(),
                display_name: user.parse().unwrap(),
                roles: vec![],
                clearance: Clearance {
                    policy: "EU".parse().unwrap(),
                    level: 1,
                },
                identity_key: IdentityKeyPair::generate(&mut rand_core::OsRng).public(),
                agreement_key: AgreementKeyPair::generate(&mut rand_core::OsRng).public(),
                not_before: UnixTime(0),
                not_after: NOW.plus_days(30),
            };
            let cert = MemberCertificate::issue(&self.key, body).unwrap();
            self.trust.verify_certificate(&cert, NOW).unwrap()
        }
    }

    #[test]
    fn first_use_pins_a_change_warns_until_verified_and_the_warning_survives_a_restart() {
        let home = tempfile::tempdir().unwrap();
        let mut org = Org::new();
        let me = org.member("me@cert-at");
        let bob = org.member("bob@cert-at");
        let new_bob = org.member("bob@cert-at");
        {
            let store = Store::create(home.path(), "correct horse battery").unwrap();
            let book = TrustBook::new(&store);
            assert_eq!(book.observe(&bob, NOW).unwrap(), Verdict::New);
            assert_eq!(
                book.observe(&bob, NOW).unwrap(),
                Verdict::Known { verified: false }
            );
            // A wrong number does not verify; the right one does.
            assert!(!book.verify(&me, &bob, "12345").unwrap());
            let number = SafetyNumber::new(me.certificate(), bob.certificate()).to_string();
            assert!(book.verify(&me, &bob, &number).unwrap());
            assert_eq!(
                book.observe(&bob, NOW).unwrap(),
                Verdict::Known { verified: true }
            );
            // Bob's keys change (new device, or an attack): loud, and unverified again.
            let verdict = book.observe(&new_bob, NOW.plus_secs(60)).unwrap();
            assert_eq!(
                verdict,
                Verdict::KeyChanged {
                    previous: bob.body().identity_key
                }
            );
        }
        // After a restart the warning is still there, however often the new keys are seen...
        let store = Store::open(home.path(), "correct horse battery").unwrap();
        let book = TrustBook::new(&store);
        let warned = Verdict::KeyChanged {
            previous: bob.body().identity_key,
        };
        assert_eq!(book.observe(&new_bob, NOW.plus_secs(120)).unwrap(), warned);
        let contact = book
            .contact(&"bob@cert-at".parse().unwrap())
            .unwrap()
            .unwrap();
        assert!(!contact.verified);
        assert_eq!(contact.changed.map(|c| c.at), Some(NOW.plus_secs(60)));
        // ...until the member verifies the new safety number. The old number no longer does.
        let old = SafetyNumber::new(me.certificate(), bob.certificate()).to_string();
        assert!(!book.verify(&me, &new_bob, &old).unwrap());
        let number = SafetyNumber::new(me.certificate(), new_bob.certificate()).to_string();
        assert!(book.verify(&me, &new_bob, &number).unwrap());
        assert_eq!(
            book.observe(&new_bob, NOW).unwrap(),
            Verdict::Known { verified: true }
        );
        // A certificate with the old keys now counts as a change too.
        assert!(matches!(
            book.observe(&bob, NOW).unwrap(),
            Verdict::KeyChanged { .. }
        ));
    }
}
