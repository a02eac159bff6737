//! Each channel's chain of states as this member verified it, from the creation: the audit
//! history a member can display, what an invitee is sent to verify before joining, and what a
//! fork is recognised against. Kept in the store by channel and version.

use std::collections::BTreeMap;

use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::{CompactState, SignedChannelState, expand_chain_within};
use vigil_protocol::content::History;

use super::records::Parked;
use super::waiting::{MAX_PARKED_BYTES, MAX_PARKED_BYTES_PER_SENDER};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind};

fn chain_key(channel: &ChannelId, version: u64) -> Vec<u8> {
    let mut key = channel.as_bytes().to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

impl Engine {
    /// Stages `signed` as the verified state of its channel at its version.
    pub(super) fn stage_chain(&self, batch: &mut Batch, signed: &SignedChannelState) {
        let state = signed.state();
        self.store.stage(
            batch,
            Kind::Chain,
            &chain_key(&state.channel, state.version),
            signed,
        );
    }

    /// The verified chain of states of `channel`, from the creation (or from where this
    /// member's history starts) to the head.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn chain(&self, channel: ChannelId) -> Result<Vec<SignedChannelState>, EngineError> {
        Ok(self
            .store
            .scan::<SignedChannelState>(Kind::Chain, channel.as_bytes())?
            .into_iter()
            .map(|(_, state)| state)
            .collect())
    }

    /// The channel's verified history, one line per state: version, date, epoch, the start of
    /// the state's hash, and what changed.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`]; [`EngineError::UnknownChannel`].
    pub fn audit_history(&self, channel: ChannelId) -> Result<Vec<String>, EngineError> {
        self.view(channel)?;
        let mut owner: Option<UserId> = None;
        let mut lines = Vec::new();
        for signed in self.chain(channel)? {
            let state = signed.state();
            let before = owner.take().unwrap_or_else(|| state.owner.clone());
            let (y, m, d) = state.timestamp.date();
            lines.push(format!(
                "v{:<4} {y:04}-{m:02}-{d:02} epoch {:<3} {}  {}",
                state.version,
                state.epoch,
                hex::encode(&signed.hash().0[..6]),
                super::channels::describe_change(state, &state.change, &before)
            ));
            owner = Some(state.owner.clone());
        }
        Ok(lines)
    }

    /// The verified state of `channel` at `version`, if we hold it.
    pub(super) fn chain_state(
        &self,
        channel: ChannelId,
        version: u64,
    ) -> Result<Option<SignedChannelState>, EngineError> {
        Ok(self.store.get(Kind::Chain, &chain_key(&channel, version))?)
    }

    /// The full states of the histories parked for `channel` (sent before an invitation),
    /// rebuilt from their compact form: each history from the creation, or from a state
    /// already rebuilt that it names by version and hash. Nothing here is verified; a joiner
    /// verifies the chain it takes from them. Every part is rebuilt from whichever state it
    /// names, so a part anyone sent that claims the same place as a genuine one (junk that
    /// names a genuine state) is rebuilt beside it and cannot hide it.
    ///
    /// What a sender's parts rebuild into is bounded like what it may make us park
    /// ([`MAX_PARKED_BYTES_PER_SENDER`] of full states, [`MAX_PARKED_BYTES`] in all): a compact
    /// state of a few hundred bytes rebuilds into one with every member's certificate, on every
    /// try to join.
    pub(super) fn history_states(&self, channel: ChannelId) -> Vec<SignedChannelState> {
        let mut parts: Vec<(&UserId, &History)> = self
            .parked
            .iter()
            .filter_map(|(_, entry)| match &entry.item {
                Parked::History { from, history }
                    if history
                        .states
                        .first()
                        .is_some_and(|s| s.channel() == channel) =>
                {
                    Some((from, history.as_ref()))
                }
                _ => None,
            })
            .collect();
        parts.sort_by_key(|(_, h)| h.states.first().map_or(0, CompactState::version));
        parts.dedup_by(|a, b| a.1 == b.1);
        let mut spent: BTreeMap<&UserId, u64> = BTreeMap::new();
        let mut total: u64 = 0;
        let mut rebuilt: Vec<SignedChannelState> = Vec::new();
        for (from, part) in parts {
            let used = spent.entry(from).or_default();
            let left = MAX_PARKED_BYTES_PER_SENDER
                .saturating_sub(*used)
                .min(MAX_PARKED_BYTES.saturating_sub(total));
            if let Some(bytes) = rebuild_part(&mut rebuilt, part, left) {
                *used = used.saturating_add(bytes);
                total = total.saturating_add(bytes);
            }
        }
        rebuilt
    }

    /// The parked states of `channel`, sorted by version.
    pub(super) fn parked_states(&self, channel: ChannelId) -> Vec<SignedChannelState> {
        let mut states: Vec<SignedChannelState> = self
            .parked
            .iter()
            .filter_map(|(_, entry)| match &entry.item {
                Parked::State { state, .. } if state.state().channel == channel => {
                    Some((**state).clone())
                }
                _ => None,
            })
            .collect();
        states.sort_by_key(|s| s.state().version);
        states
    }
}

/// Rebuilds `part` after the state of `rebuilt` it names (or from the creation) within
/// `max_bytes` of full states, and adds its states to `rebuilt`; the bytes they came to, or
/// `None` when it names no state we rebuilt or would come to more.
fn rebuild_part(
    rebuilt: &mut Vec<SignedChannelState>,
    part: &History,
    max_bytes: u64,
) -> Option<u64> {
    let first = part.states.first()?;
    let before = match first.version().checked_sub(1) {
        None => None,
        Some(version) => Some(
            rebuilt
                .iter()
                .find(|s| s.state().version == version && Some(s.hash()) == first.previous())?
                .clone(),
        ),
    };
    let max_bytes = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let (states, bytes) = expand_chain_within(before.as_ref(), &part.states, max_bytes).ok()?;
    rebuilt.extend(states);
    Some(u64::try_from(bytes).unwrap_or(u64::MAX))
}

/// The longest run of `candidates` that links on from `after`: each the next version, naming
/// the one before it by hash, and signed by an owner or admin of the one before it. Anyone can
/// send states that claim a place in a channel's chain (they are verified only when applied):
/// junk that nobody with authority signed is passed over, so it cannot hide the genuine state.
/// Of two candidates signed with authority (a fork) `preferred` (the state that just arrived)
/// is taken where it fits, else the first: a state held for ever (an admin's takeover of an
/// owner who can still act) cannot make the next genuine one be taken for the fork.
pub(super) fn linked_run(
    after: &SignedChannelState,
    candidates: &[SignedChannelState],
    preferred: &SignedChannelState,
) -> Vec<SignedChannelState> {
    let mut run: Vec<SignedChannelState> = Vec::new();
    let mut tip = after.clone();
    loop {
        let (version, hash) = (tip.state().version, tip.hash());
        let fits = |c: &&SignedChannelState| {
            let state = c.state();
            Some(state.version) == version.checked_add(1)
                && state.previous == Some(hash)
                && c.signed_by_authority_of(tip.state())
        };
        let next = std::iter::once(preferred).chain(candidates).find(fits);
        let Some(next) = next else {
            return run;
        };
        tip = next.clone();
        run.push(next.clone());
    }
}

/// The chain from a creation to `tip`, found backwards through `candidates` by the hash each
/// state names its predecessor by. `None` when a link is missing.
///
/// A joiner has no state of its own to start from, and anyone can send it a "creation" of the
/// channel it is invited to: going backwards from the state that lists it is unambiguous,
/// whatever else was sent.
pub(super) fn chain_back(
    tip: &SignedChannelState,
    candidates: &[SignedChannelState],
) -> Option<Vec<SignedChannelState>> {
    // Every version below the tip must be there before any state is hashed: a chain whose
    // start is still on its way costs a scan, not a hash of every state it has.
    let versions: std::collections::BTreeSet<u64> =
        candidates.iter().map(|c| c.state().version).collect();
    if versions.range(..tip.state().version).count() < usize::try_from(tip.state().version).ok()? {
        return None;
    }
    let mut run = vec![tip.clone()];
    let mut current = tip.clone();
    loop {
        let state = current.state();
        if state.version == 0 {
            return state.previous.is_none().then(|| {
                run.reverse();
                run
            });
        }
        let wanted = state.previous?;
        let before = state.version.checked_sub(1)?;
        let previous = candidates
            .iter()
            .filter(|c| c.state().version == before)
            .find(|c| c.hash() == wanted)?
            .clone();
        run.push(previous.clone());
        current = previous;
    }
}
