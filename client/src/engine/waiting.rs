//! What waits, and what the member is told about it.
//!
//! A received item that cannot be processed yet (its sender key, the state it names, the chain
//! before a state) is parked, sealed in the store, within limits per sender, so that no member
//! of any trusted organisation can fill it with items for channels that do not exist. An item
//! that waits longer than [`STALL_WARNING_SECS`] raises an alert in its channel (the relay may
//! be withholding a change); one that waits longer than [`PARKED_EXPIRY_SECS`] becomes a
//! visible placeholder. A fork of a channel's history raises an alert that stays until the
//! channel moves on.

use bincode::{Decode, Encode};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::SignedChannelState;
use vigil_protocol::{UnixTime, UserId};

use super::inbound::Progress;
use super::records::{Body, Event, Parked, ParkedEntry};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind, Store};

/// Received items kept while waiting, in all: past it the oldest becomes a placeholder.
pub const MAX_PARKED: usize = 10_000;

/// Items kept waiting from one sender: a member can fill at most this share of the waiting
/// list (past it their oldest becomes a placeholder), whatever channels they invent.
pub const MAX_PARKED_PER_SENDER: usize = 1_000;

/// Bytes kept waiting from one sender (a channel message may be up to 1 MiB).
pub const MAX_PARKED_BYTES_PER_SENDER: u64 = 16 * 1024 * 1024;

/// Bytes kept waiting in all: the relay names the sender of every channel message, so the
/// per-sender limits alone do not bound what a lying relay (or many colluding members) can
/// make a device hold, in memory as on disk. Past it, the oldest item of whoever holds the
/// most bytes becomes a placeholder.
pub const MAX_PARKED_BYTES: u64 = 64 * 1024 * 1024;

/// How long an item may wait before it becomes a placeholder: a key or change that has not
/// come in a week is not coming.
pub const PARKED_EXPIRY_SECS: u64 = 7 * 86_400;

/// How long an item may wait before the member is alerted: a change or key on its way
/// arrives in seconds when both sides are online; a quarter of an hour of waiting means a
/// sender offline, or a relay withholding something.
pub const STALL_WARNING_SECS: u64 = 15 * 60;

/// A fork alert, kept until the channel applies a new state.
#[derive(Debug, Encode, Decode)]
struct ForkAlert {
    text: String,
}

fn alert_key(channel: &ChannelId) -> Vec<u8> {
    let mut key = b"alert/".to_vec();
    key.extend_from_slice(channel.as_bytes());
    key
}

/// The channel a parked item is for; none for a part of a history without states.
fn parked_channel(item: &Parked) -> Option<ChannelId> {
    match item {
        Parked::Message { message, .. } => Some(message.header.channel),
        Parked::SenderKey { key, .. } => Some(key.channel),
        Parked::State { state, .. } => Some(state.state().channel),
        Parked::History { history, .. } => history.states.first().map(|s| s.channel()),
    }
}

fn parked_sender(item: &Parked) -> &UserId {
    match item {
        Parked::Message { from, .. }
        | Parked::SenderKey { from, .. }
        | Parked::State { from, .. }
        | Parked::History { from, .. } => from,
    }
}

fn describe(item: &Parked) -> &'static str {
    match item {
        Parked::Message { .. } => "a message",
        Parked::SenderKey { .. } => "a sender key",
        Parked::State { .. } => "a channel change",
        Parked::History { .. } => "a channel's history",
    }
}

impl Engine {
    /// How many received messages of `channel` wait for their sender's key or a state.
    #[must_use]
    pub fn waiting(&self, channel: ChannelId) -> usize {
        self.parked
            .iter()
            .filter(|(_, p)| {
                matches!(p.item, Parked::Message { .. }) && parked_channel(&p.item) == Some(channel)
            })
            .count()
    }

    /// What needs the member's attention in `channel`: a fork, or items waiting too long.
    pub(super) fn alert(&self, channel: ChannelId) -> Option<String> {
        if let Ok(Some(fork)) = self
            .store
            .get::<ForkAlert>(Kind::Meta, &alert_key(&channel))
        {
            return Some(fork.text);
        }
        self.parked
            .iter()
            .find(|(_, p)| p.warned && parked_channel(&p.item) == Some(channel))
            .map(|(_, p)| stall_text(&p.item))
    }

    pub(super) fn clear_alert(&self, batch: &mut Batch, channel: ChannelId) {
        Store::stage_remove(batch, Kind::Meta, &alert_key(&channel));
    }

    /// Records that `channel`'s history forked: `ours` is the state we hold, `theirs` another
    /// one claiming the same place.
    pub(super) fn fork_alert(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        ours: &SignedChannelState,
        theirs: &SignedChannelState,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let text = format!(
            "The history of this channel has forked: {} signed a change at version {} that does \
             not follow the one you hold (by {}). Someone (the relay, or an admin whose key was \
             stolen) is showing members different histories; the other branch's changes and \
             messages are refused. Tell the channel's owner by phone or in person, and compare \
             `vigil channel history` with them.",
            theirs.state().author,
            theirs.state().version,
            ours.state().author,
        );
        let author = theirs.state().author.clone();
        if self.alert(channel).as_deref() != Some(text.as_str()) {
            self.store.stage(
                batch,
                Kind::Meta,
                &alert_key(&channel),
                &ForkAlert { text: text.clone() },
            );
            self.notice(
                batch,
                events,
                channel,
                author,
                Body::Alert(text.clone()),
                now,
            )?;
            events.push(Event::Alert { channel, text });
        }
        Ok(())
    }

    /// Parks `item` (of `size` bytes), keeping within the limits per sender and in all.
    pub(super) fn park(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        item: Parked,
        size: usize,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let key = self.store.next_id()?.to_be_bytes().to_vec();
        let sender = parked_sender(&item).clone();
        let entry = ParkedEntry {
            at: now,
            bytes: u64::try_from(size).unwrap_or(u64::MAX),
            warned: false,
            item,
        };
        self.store.stage(batch, Kind::Parked, &key, &entry);
        self.parked.push((key, entry));
        loop {
            let (count, bytes) = self.parked_by(&sender);
            let over_sender = count > MAX_PARKED_PER_SENDER || bytes > MAX_PARKED_BYTES_PER_SENDER;
            let total: u64 = self
                .parked
                .iter()
                .fold(0, |b, (_, p)| b.saturating_add(p.bytes));
            let over_count = self.parked.len() > MAX_PARKED;
            let over_bytes = total > MAX_PARKED_BYTES;
            // Over a limit for all: whoever holds the largest share gives way, so a flood in
            // many names does not push out the few items of members who are not flooding.
            let largest = || -> Option<UserId> {
                let mut shares: std::collections::HashMap<&UserId, (u64, u64)> =
                    std::collections::HashMap::new();
                for (_, p) in &self.parked {
                    let (n, b) = shares.entry(parked_sender(&p.item)).or_default();
                    *n = n.saturating_add(1);
                    *b = b.saturating_add(p.bytes);
                }
                shares
                    .into_iter()
                    .max_by_key(|&(_, (n, b))| if over_bytes { (b, n) } else { (n, b) })
                    .map(|(user, _)| user.clone())
            };
            let victim = if over_sender {
                Some(sender.clone())
            } else if over_count || over_bytes {
                largest()
            } else {
                None
            };
            let Some(index) = victim.and_then(|v| {
                self.parked
                    .iter()
                    .position(|(_, p)| parked_sender(&p.item) == &v)
            }) else {
                return Ok(());
            };
            let why = if over_sender {
                "dropped: its sender has too many items waiting"
            } else {
                "dropped: too many items waiting"
            };
            self.drop_parked(batch, events, index, why, now)?;
        }
    }

    /// How many items, and bytes, `sender` has waiting.
    fn parked_by(&self, sender: &UserId) -> (usize, u64) {
        self.parked
            .iter()
            .filter(|(_, p)| parked_sender(&p.item) == sender)
            .fold((0usize, 0u64), |(n, b), (_, p)| {
                (n + 1, b.saturating_add(p.bytes))
            })
    }

    /// Removes the parked item at `index`, recording it as a placeholder with `why`.
    fn drop_parked(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        index: usize,
        why: &str,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        if index >= self.parked.len() {
            return Ok(());
        }
        let (key, entry) = self.parked.remove(index);
        Store::stage_remove(batch, Kind::Parked, &key);
        let channel = parked_channel(&entry.item).filter(|c| self.channels.contains_key(c));
        let from = parked_sender(&entry.item).clone();
        let why = format!(
            "{} whose key or state never arrived ({why})",
            describe(&entry.item)
        );
        self.undecryptable(batch, events, channel, &from, why, now)
    }

    /// Processes parked items until none makes progress.
    pub(super) fn retry_parked(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        loop {
            let mut progressed = false;
            // A channel we are in whose states made no progress in this pass is not tried again
            // for its other states (each try looks at all of them from our head, so junk cannot
            // make a pass quadratic). Not for a channel we are not in: each of its states tries
            // the chains that contain it, so junk must not hide the invitation.
            let mut stalled: std::collections::BTreeSet<Option<ChannelId>> =
                std::collections::BTreeSet::new();
            let mut i = 0;
            while i < self.parked.len() {
                let item = match self.parked.get(i) {
                    Some((_, entry)) => entry.item.clone(),
                    None => break,
                };
                let state = matches!(item, Parked::State { .. })
                    && parked_channel(&item).is_some_and(|c| self.channels.contains_key(&c));
                if state && stalled.contains(&parked_channel(&item)) {
                    i += 1;
                    continue;
                }
                match self.handle(batch, events, &item, now)? {
                    Progress::Wait => {
                        if state {
                            stalled.insert(parked_channel(&item));
                        }
                        i += 1;
                    }
                    Progress::WaitUnblocked => {
                        progressed = true;
                        i += 1;
                    }
                    Progress::Done | Progress::Unblocked => {
                        let (key, _) = self.parked.remove(i);
                        Store::stage_remove(batch, Kind::Parked, &key);
                        progressed = true;
                    }
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    /// Alerts once per channel about items waiting longer than [`STALL_WARNING_SECS`], and
    /// turns items older than [`PARKED_EXPIRY_SECS`] into placeholders.
    pub(super) fn check_waiting(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        // A state of a channel we are in, signed by an owner or admin, does not expire: the
        // chain needs it (a state held as too old waits for a fresh change, however long);
        // the limits per sender bound what is kept. Anyone's junk expires like the rest.
        let expired: Vec<Vec<u8>> = self
            .parked
            .iter()
            .filter(|(_, p)| {
                now.secs_since(p.at) > PARKED_EXPIRY_SECS && !self.needed_by_chain(&p.item)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            if let Some(index) = self.parked.iter().position(|(k, _)| *k == key) {
                self.drop_parked(batch, events, index, "it waited more than a week", now)?;
            }
        }
        let mut alerted: Vec<ChannelId> = Vec::new();
        for i in 0..self.parked.len() {
            let Some((key, entry)) = self.parked.get(i) else {
                break;
            };
            if entry.warned || now.secs_since(entry.at) <= STALL_WARNING_SECS {
                continue;
            }
            let channel = parked_channel(&entry.item);
            let (key, mut entry) = (key.clone(), entry.clone());
            entry.warned = true;
            self.store.stage(batch, Kind::Parked, &key, &entry);
            if let Some(channel) = channel
                && self.channels.contains_key(&channel)
                && !alerted.contains(&channel)
            {
                alerted.push(channel);
                let text = stall_text(&entry.item);
                let from = parked_sender(&entry.item).clone();
                self.notice(batch, events, channel, from, Body::Alert(text.clone()), now)?;
                events.push(Event::Alert { channel, text });
            }
            if let Some(slot) = self.parked.get_mut(i) {
                slot.1 = entry;
            }
        }
        Ok(())
    }

    /// Whether `item` is a state of a channel we are in, signed by an owner or admin of the
    /// state we hold: one the chain may need however long it waits (held until a fresh change
    /// confirms it, or after a gap). A state nobody with authority signed is anyone's junk.
    fn needed_by_chain(&self, item: &Parked) -> bool {
        let Parked::State { state, .. } = item else {
            return false;
        };
        self.channels
            .get(&state.state().channel)
            .is_some_and(|view| state.signed_by_authority_of(view.head().state()))
    }

    /// Tries parked channel states again and checks what waits (see [`Self::check_waiting`]),
    /// and commits: for the worker to call now and then, so a state held until its time is
    /// applied, and an alert comes, even when nothing else arrives.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn check_waiting_now(&mut self, now: UnixTime) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            // A state held until its time (signed by a clock ahead of ours) applies when that
            // time comes, though nothing else arrives: parked states are tried again.
            if engine
                .parked
                .iter()
                .any(|(_, p)| matches!(p.item, Parked::State { .. }))
            {
                engine.retry_parked(batch, events, now)?;
            }
            engine.check_waiting(batch, events, now)
        })
    }
}

fn stall_text(item: &Parked) -> String {
    format!(
        "{} from {} has waited more than {} minutes for a channel change or key that has not \
         arrived: its sender may be offline, or the relay may be withholding it. If this \
         stays, tell the channel's owner.",
        describe(item),
        parked_sender(item),
        STALL_WARNING_SECS / 60
    )
}
