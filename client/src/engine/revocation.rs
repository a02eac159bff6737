//! Revocation lists from the relay, and the removal of revoked and expired members.
//!
//! When the lists change, the member of each channel who acts for it (the owner while their
//! certificate is valid, else the first admin by user id whose certificate is valid) removes
//! every member no longer valid in one change, taking over ownership when the owner is among
//! them. States held because their author or a member they add was not valid are retried
//! with the new lists.

use vigil_protocol::cert::RevocationUpdate;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::{ChannelState, Proposal};
use vigil_protocol::{RevocationList, Text, UnixTime, UserId};

use vigil_protocol::content::DirectContent;

use super::records::{Body, Event, keys};
use super::{Engine, EngineError, truncate};
use crate::store::{Batch, Kind};

impl Engine {
    /// Puts newer revocation lists from the relay in force (each verified against its org
    /// root; older or forged lists are ignored), removes revoked and expired members from the
    /// channels we act for, and retries what waited for the lists. Returns the events.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn update_revocations(
        &mut self,
        lists: Vec<RevocationList>,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            let mut changed = false;
            for list in lists {
                if let Ok(RevocationUpdate::Applied) = engine.trust.update_revocations(list) {
                    changed = true;
                }
            }
            if changed {
                let lists: Vec<RevocationList> = engine
                    .trust
                    .roots()
                    .filter_map(|r| engine.trust.revocations(r.org()).cloned())
                    .chain(engine.trust.former_revocations().cloned())
                    .collect();
                engine
                    .store
                    .stage(batch, Kind::Meta, keys::REVOCATIONS, &lists);
            }
            engine.remove_invalid_members(batch, events, now)?;
            if changed {
                engine.retry_parked(batch, events, now)?;
            }
            engine.check_waiting(batch, events, now)
        })
    }

    /// Who acts for a channel on revocations: the owner while valid, else the first valid
    /// admin by user id (one member, so two admins do not fork the channel).
    fn acts_for(&mut self, state: &ChannelState, now: UnixTime) -> Option<UserId> {
        let mut candidates = vec![state.owner.clone()];
        let mut admins = state.admins.clone();
        admins.sort();
        candidates.extend(admins);
        candidates.into_iter().find(|user| {
            state
                .member(user)
                .cloned()
                .is_some_and(|c| self.check_certificate(&c, now).is_ok())
        })
    }

    /// Removes every member whose certificate is no longer valid from each channel we act
    /// for, in one change per channel.
    pub(super) fn remove_invalid_members(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let ids: Vec<ChannelId> = self.channels.keys().copied().collect();
        for id in ids {
            let Some(view) = self.channels.get(&id) else {
                continue;
            };
            if !view.is_member() {
                continue;
            }
            let state = view.head().state().clone();
            let invalid = view.invalid_members(&self.trust, now);
            if invalid.is_empty() {
                continue;
            }
            if self.acts_for(&state, now).as_ref() == Some(self.local.user())
                && self.remove_all(batch, events, id, &state, invalid.clone(), now)?
            {
                continue;
            }
            // Until someone who may removes them: what we seal from now on, they cannot read.
            self.rotate_against(batch, events, id, &state, &invalid, now)?;
        }
        Ok(())
    }

    /// Removes `invalid` from `channel` in one change; `false` (with an alert) when that fails.
    fn remove_all(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        id: ChannelId,
        state: &ChannelState,
        invalid: Vec<UserId>,
        now: UnixTime,
    ) -> Result<bool, EngineError> {
        let Ok(reason) = self.removal_reason(state, &invalid, now) else {
            return Ok(false);
        };
        let proposal = Proposal::Remove {
            users: invalid,
            reason,
        };
        let Err(e) = self.change_channel(batch, events, id, proposal, now) else {
            return Ok(true);
        };
        let text = format!(
            "The automatic removal of members no longer valid failed: {e}. Remove them with \
             `vigil channel remove`."
        );
        let me = self.local.user().clone();
        self.notice(batch, events, id, me, Body::Alert(text.clone()), now)?;
        events.push(Event::Alert { channel: id, text });
        Ok(false)
    }

    /// Starts a new generation of our sender key in `channel` and gives it to its valid
    /// members only, once per set of members known to be invalid in the epoch; our queued
    /// messages are sealed again with it.
    fn rotate_against(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        id: ChannelId,
        state: &ChannelState,
        invalid: &[UserId],
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let record = rotated_key(&id);
        let done: Option<(u64, Vec<(UserId, u64)>)> = self.store.get(Kind::Meta, &record)?;
        let against: Vec<(UserId, u64)> = invalid
            .iter()
            .filter_map(|u| state.member(u).map(|c| (u.clone(), c.body().serial)))
            .collect();
        let known = done.filter(|(epoch, _)| *epoch == state.epoch);
        if known.is_some_and(|(_, seen)| against.iter().all(|a| seen.contains(a))) {
            return Ok(());
        }
        let view = self
            .channels
            .get_mut(&id)
            .ok_or(EngineError::UnknownChannel(id))?;
        let key = view.rotate_own_sender_key(&mut self.rng)?;
        self.stage_channel(batch, id);
        for to in self.valid_others(state, now) {
            if let Some(member) = state.member(&to) {
                let content = DirectContent::SenderKey(Box::new(key.clone()));
                self.enqueue_direct(batch, member, content)?;
            }
        }
        self.store
            .stage(batch, Kind::Meta, &record, &(state.epoch, against));
        self.reseal_outbox(batch, events, id, now)
    }

    /// Why `users` are removed: each one's certificate refusal, shortened to fit.
    fn removal_reason(
        &self,
        state: &ChannelState,
        users: &[UserId],
        now: UnixTime,
    ) -> Result<Text, vigil_protocol::IdError> {
        let reasons: Vec<String> = users
            .iter()
            .filter_map(|u| state.member(u))
            .filter_map(|c| self.trust.verify_certificate(c, now).err())
            .map(|e| e.to_string())
            .collect();
        let text = match reasons.as_slice() {
            [one] => one.clone(),
            _ => format!("certificates no longer valid: {}", reasons.join("; ")),
        };
        let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
        Text::new(truncate(&cleaned, vigil_protocol::MAX_TEXT_LEN))
            .or_else(|_| Text::new("certificates no longer valid"))
    }
}

/// The record of the members a channel's sender key was last rotated against, in
/// [`Kind::Meta`].
fn rotated_key(channel: &ChannelId) -> Vec<u8> {
    let mut key = b"rotated/".to_vec();
    key.extend_from_slice(channel.as_bytes());
    key
}
