//! The directory in sled: `certs` (user → certificate), `devices` (user → the certificate and
//! device key it is bound to), `signed_prekeys` (user → signed prekey), `otks` (user ‖ 0 ‖ id → one-time prekey), `revocations` (org → the newest list
//! seen). Writes here are not yet durable; [`super::SledStore`] flushes before it answers.

use vigil_protocol::prekey::{OneTimePrekey, SignedPrekey};
use vigil_protocol::{MemberCertificate, RevocationList, UserId, codec};

use super::{decode, key, prefix};
use crate::store::{DeviceBinding, StoreError};

#[derive(Clone, Debug)]
pub(super) struct DirectoryTrees {
    certs: sled::Tree,
    devices: sled::Tree,
    signed_prekeys: sled::Tree,
    otks: sled::Tree,
    revocations: sled::Tree,
}

impl DirectoryTrees {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            certs: db.open_tree("certs")?,
            devices: db.open_tree("devices")?,
            signed_prekeys: db.open_tree("signed_prekeys")?,
            otks: db.open_tree("otks")?,
            revocations: db.open_tree("revocations")?,
        })
    }

    /// `certs`, `devices`, `signed_prekeys`, `otks`, `revocations`.
    pub(super) fn trees(&self) -> [&sled::Tree; 5] {
        [
            &self.certs,
            &self.devices,
            &self.signed_prekeys,
            &self.otks,
            &self.revocations,
        ]
    }

    pub(super) fn put_revocations(&self, lists: &[RevocationList]) -> Result<(), StoreError> {
        for list in lists {
            self.revocations
                .insert(list.body().org.as_str(), list.to_bytes())?;
        }
        Ok(())
    }

    pub(super) fn revocations(&self) -> Result<Vec<RevocationList>, StoreError> {
        self.revocations
            .iter()
            .map(|item| {
                let (_, v) = item?;
                Ok(RevocationList::from_bytes(&v)?)
            })
            .collect()
    }

    /// Records a member's certificate; returns whether it changed what was stored (then
    /// flush before relying on it).
    pub(super) fn put_certificate(
        &self,
        certificate: &MemberCertificate,
    ) -> Result<bool, StoreError> {
        let bytes = certificate.to_bytes();
        let previous = self
            .certs
            .insert(certificate.body().user.as_str(), bytes.as_slice())?;
        Ok(previous.is_none_or(|p| p.as_ref() != bytes.as_slice()))
    }

    pub(super) fn certificate(
        &self,
        user: &UserId,
    ) -> Result<Option<MemberCertificate>, StoreError> {
        self.certs
            .get(user.as_str())?
            .map(|b| Ok(MemberCertificate::from_bytes(&b)?))
            .transpose()
    }

    pub(super) fn device_binding(
        &self,
        user: &UserId,
    ) -> Result<Option<DeviceBinding>, StoreError> {
        self.devices
            .get(user.as_str())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Binds the member to `binding` if `previous` is what is bound now; returns whether it
    /// did (not yet durable).
    pub(super) fn bind_device(
        &self,
        binding: &DeviceBinding,
        previous: Option<&DeviceBinding>,
    ) -> Result<bool, StoreError> {
        let user = binding.certificate.body().user.as_str();
        let previous = previous.map(codec::encode);
        let swapped = self.devices.compare_and_swap(
            user,
            previous.as_deref(),
            Some(codec::encode(binding)),
        )?;
        Ok(swapped.is_ok())
    }

    /// Stores the signed prekey and adds the one-time prekeys not held yet, or nothing when
    /// that would be more than [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`]; returns how
    /// many one-time prekeys the member now holds.
    pub(super) fn publish_prekeys(
        &self,
        user: &UserId,
        signed: &SignedPrekey,
        one_time: &[OneTimePrekey],
    ) -> Result<usize, StoreError> {
        let max = vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS;
        let held = self.otks.scan_prefix(prefix(user)).count();
        let mut new = 0;
        for otk in one_time {
            if !self.otks.contains_key(key(user, &otk.id.to_be_bytes()))? {
                new += 1;
            }
        }
        if held + new > max {
            return Err(StoreError::PrekeyQuota {
                user: user.clone(),
                would: held + new,
                max,
            });
        }
        self.signed_prekeys
            .insert(user.as_str(), codec::encode(signed))?;
        for otk in one_time {
            self.otks
                .insert(key(user, &otk.id.to_be_bytes()), codec::encode(otk))?;
        }
        Ok(self.otks.scan_prefix(prefix(user)).count())
    }

    pub(super) fn signed_prekey(&self, user: &UserId) -> Result<Option<SignedPrekey>, StoreError> {
        self.signed_prekeys
            .get(user.as_str())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// How many one-time prekeys a member has (at most
    /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`] to count).
    pub(super) fn one_time_prekeys_held(&self, user: &UserId) -> usize {
        self.otks.scan_prefix(prefix(user)).count()
    }

    /// Takes one of a member's one-time prekeys, atomically: concurrent callers never get the
    /// same one. Returns it and how many remain.
    pub(super) fn take_one_time_prekey(
        &self,
        user: &UserId,
    ) -> Result<(Option<OneTimePrekey>, usize), StoreError> {
        loop {
            let Some(entry) = self.otks.scan_prefix(prefix(user)).next() else {
                return Ok((None, 0));
            };
            let (k, v) = entry?;
            if self
                .otks
                .compare_and_swap(&k, Some(&v), None::<&[u8]>)?
                .is_ok()
            {
                let remaining = self.otks.scan_prefix(prefix(user)).count();
                return Ok((Some(decode(&v)?), remaining));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_protocol::UnixTime;

    use super::*;
    use crate::store::Directory as _;
    use crate::store::sled::SledStore;

    #[tokio::test]
    async fn one_time_prekeys_are_capped_per_member() {
        use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair};
        use vigil_protocol::prekey::{MAX_ONE_TIME_PREKEYS, PrekeyStore};
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let mut rng = rand_core::OsRng;
        // Keys and signatures are not checked here (the relay checks them before storing).
        let identity = IdentityKeyPair::generate(&mut rng);
        let agreement = AgreementKeyPair::generate(&mut rng);
        let root = vigil_protocol::keys::OrgRootKeyPair::generate(&mut rng);
        let body = vigil_protocol::CertificateBody {
            serial: 1,
            org: "X".parse().unwrap(),
            user: "a@x".parse().unwrap(),
            display_name: "A".parse().unwrap(),
            roles: vec![],
            clearance: vigil_protocol::Clearance {
                policy: "EU".parse().unwrap(),
                level: 0,
            },
            identity_key: identity.public(),
            agreement_key: agreement.public(),
            not_before: UnixTime(0),
            not_after: UnixTime(u64::MAX),
        };
        let cert = MemberCertificate::issue(&root, body).unwrap();
        let local = vigil_protocol::LocalIdentity::new(cert, identity, agreement).unwrap();
        let mut prekeys = PrekeyStore::new(&mut rng, &local, UnixTime(1));
        let batch =
            prekeys.generate_one_time_prekeys(&mut rng, local.identity(), MAX_ONE_TIME_PREKEYS);
        let signed = prekeys.signed_prekey().unwrap().clone();
        assert_eq!(
            store
                .publish_prekeys(local.user(), &signed, &batch)
                .await
                .unwrap(),
            MAX_ONE_TIME_PREKEYS
        );
        // The same keys again are not new; one more is refused and nothing changes.
        assert_eq!(
            store
                .publish_prekeys(local.user(), &signed, &batch)
                .await
                .unwrap(),
            MAX_ONE_TIME_PREKEYS
        );
        store.take_one_time_prekey(local.user()).await.unwrap();
        let more = prekeys.generate_one_time_prekeys(&mut rng, local.identity(), 2);
        assert_eq!(more.len(), 0, "the client's own store is full too");
        let mut extra = batch[..2].to_vec();
        extra[0].id = 60_000;
        extra[1].id = 60_001;
        let err = store
            .publish_prekeys(local.user(), &signed, &extra)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::PrekeyQuota { would: 201, .. }),
            "{err}"
        );
        assert_eq!(
            store
                .directory
                .otks
                .scan_prefix(prefix(local.user()))
                .count(),
            MAX_ONE_TIME_PREKEYS - 1
        );
    }
}
