//! Our prekeys: published at enrollment, the signed one rotated weekly, one-time ones refilled
//! when the relay says they run low.

use vigil_protocol::UnixTime;
use vigil_protocol::prekey::{OneTimePrekey, SignedPrekey};

use super::records::keys;
use super::{Engine, EngineError, ONE_TIME_PREKEY_TARGET, SIGNED_PREKEY_ROTATION_SECS};
use crate::store::{Batch, Kind, StoreError};

impl Engine {
    /// The prekeys to publish: the current signed prekey (rotated when older than
    /// [`SIGNED_PREKEY_ROTATION_SECS`]) and new one-time prekeys up to
    /// [`ONE_TIME_PREKEY_TARGET`] beyond the `remaining` the relay holds (`None`: publish all
    /// we hold, as after enrollment). Durable before it returns.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn prekeys_to_publish(
        &mut self,
        remaining: Option<u32>,
        now: UnixTime,
    ) -> Result<(SignedPrekey, Vec<OneTimePrekey>), EngineError> {
        let stale = self
            .prekeys
            .signed_prekey()
            .is_none_or(|s| now.secs_since(s.created) >= SIGNED_PREKEY_ROTATION_SECS);
        if stale {
            self.prekeys
                .rotate_signed_prekey(&mut self.rng, self.local.identity(), now);
        }
        let one_time = match remaining {
            None => self.prekeys.one_time_prekeys(),
            Some(left) => {
                let want = ONE_TIME_PREKEY_TARGET.saturating_sub(left) as usize;
                self.prekeys
                    .generate_one_time_prekeys(&mut self.rng, self.local.identity(), want)
            }
        };
        let mut batch = Batch::default();
        self.store.stage_raw(
            &mut batch,
            Kind::Prekeys,
            keys::PREKEYS,
            &self.prekeys.to_bytes(),
        );
        self.store.commit(batch)?;
        let signed = self
            .prekeys
            .signed_prekey()
            .cloned()
            .ok_or(StoreError::Missing("the signed prekey"))?;
        Ok((signed, one_time))
    }

    /// What to publish at login: everything after enrollment, a new signed prekey when the
    /// current one is due for rotation, nothing otherwise.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn prekeys_for_login(
        &mut self,
        now: UnixTime,
    ) -> Result<Option<(SignedPrekey, Vec<OneTimePrekey>)>, EngineError> {
        let published: Option<u32> = self.store.get(Kind::Meta, keys::PUBLISHED)?;
        let due = self
            .prekeys
            .signed_prekey()
            .is_none_or(|s| now.secs_since(s.created) >= SIGNED_PREKEY_ROTATION_SECS);
        match published {
            None => self.prekeys_to_publish(None, now).map(Some),
            Some(_) if due => self
                .prekeys_to_publish(Some(ONE_TIME_PREKEY_TARGET), now)
                .map(Some),
            Some(_) => Ok(None),
        }
    }

    /// Records that the relay stored the signed prekey `id`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn published(&mut self, id: u32) -> Result<(), EngineError> {
        let mut batch = Batch::default();
        self.store
            .stage(&mut batch, Kind::Meta, keys::PUBLISHED, &id);
        self.store.commit(batch)?;
        Ok(())
    }
}
