//! A channel's chain of states in compact form, for sending it to an invitee: each state
//! without its member list, with only the certificates it adds (every member's at the
//! creation, the invitee's, a renewed one). The invitee rebuilds every full state from the one
//! before it and verifies the signatures over the rebuilt states, so it proves exactly what
//! the full chain proves, in a size that grows with the changes and the members, not with
//! their product.

use bincode::{Decode, Encode};

use super::change::added_certificates;
use super::error::ChannelError;
use super::state::{Change, ChannelId, ChannelState, MAX_MEMBERS, SignedChannelState, StateHash};
use crate::cert::MemberCertificate;
use crate::keys::Signature;

/// One state of a chain without its member list: what it says besides the members, the
/// certificates it adds, and its author's signature over the full state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CompactState {
    /// The state with an empty member list.
    state: ChannelState,
    /// The certificates the state adds to the members of the state before it.
    added: Vec<MemberCertificate>,
    /// The author's signature over the full state.
    signature: Signature,
}

impl CompactState {
    /// The compact form of `signed`, which follows `previous` (`None` for the creation).
    #[must_use]
    pub fn of(signed: &SignedChannelState, previous: Option<&ChannelState>) -> Self {
        let full = signed.state();
        let added = added_certificates(previous, full)
            .into_iter()
            .cloned()
            .collect();
        let mut state = full.clone();
        state.members = Vec::new();
        Self {
            state,
            added,
            signature: *signed.signature(),
        }
    }

    #[must_use]
    pub fn channel(&self) -> ChannelId {
        self.state.channel
    }

    /// The state's version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// The hash of the state before it (`None` for the creation).
    #[must_use]
    pub fn previous(&self) -> Option<StateHash> {
        self.state.previous
    }

    /// Rebuilds the full state from `previous` (`None` for the creation): its members less
    /// those a removal names and those an added certificate replaces, plus the added
    /// certificates. Nothing is verified here: the rebuilt state is checked like any other,
    /// and its signature verifies only when it is exactly the state that was signed.
    ///
    /// # Errors
    ///
    /// [`ChannelError::Malformed`] for more members than a channel may hold.
    pub fn expand(
        &self,
        previous: Option<&ChannelState>,
    ) -> Result<SignedChannelState, ChannelError> {
        if self.added.len() > MAX_MEMBERS {
            return Err(ChannelError::Malformed("a channel has 1 to 2000 members"));
        }
        let removed: &[crate::ids::UserId] = match &self.state.change {
            Change::Remove { users, .. } => users,
            _ => &[],
        };
        let mut members: Vec<MemberCertificate> = previous
            .map(|p| p.members.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|m| {
                let user = &m.body().user;
                !removed.contains(user) && !self.added.iter().any(|a| &a.body().user == user)
            })
            .collect();
        members.extend(self.added.iter().cloned());
        members.sort_by(|a, b| a.body().user.cmp(&b.body().user));
        if members.len() > MAX_MEMBERS {
            return Err(ChannelError::Malformed("a channel has 1 to 2000 members"));
        }
        let mut state = self.state.clone();
        state.members = members;
        Ok(SignedChannelState::from_parts(state, self.signature))
    }
}

/// The compact forms of `chain`, a chain of states in order (the first one the creation, or
/// following `before`).
#[must_use]
pub fn compact_chain(
    before: Option<&ChannelState>,
    chain: &[SignedChannelState],
) -> Vec<CompactState> {
    let mut previous = before;
    let mut out = Vec::with_capacity(chain.len());
    for signed in chain {
        out.push(CompactState::of(signed, previous));
        previous = Some(signed.state());
    }
    out
}

/// Most bytes of full states (encoded) [`expand_chain`] rebuilds from one chain in compact form:
/// what one sender could have made a member hold by sending the full states themselves. A
/// compact state costs a few hundred bytes whatever the channel's size, and rebuilds into one
/// with every member's certificate, so without a bound a message of 512 KiB would rebuild into
/// hundreds of megabytes, before anything is verified.
pub const MAX_REBUILT_BYTES: usize = 16 * 1024 * 1024;

/// Rebuilds the full states of `compact`, in order after `before` (`None`: from the creation),
/// within [`MAX_REBUILT_BYTES`].
///
/// # Errors
///
/// [`ChannelError::Malformed`] as [`CompactState::expand`];
/// [`ChannelError::HistoryTooLarge`].
pub fn expand_chain(
    before: Option<&SignedChannelState>,
    compact: &[CompactState],
) -> Result<Vec<SignedChannelState>, ChannelError> {
    expand_chain_within(before, compact, MAX_REBUILT_BYTES).map(|(states, _)| states)
}

/// Rebuilds the full states of `compact` as [`expand_chain`], within `max_bytes` of full states
/// (encoded): for a caller that bounds what several chains rebuild into together. Returns the
/// states and the bytes they come to.
///
/// # Errors
///
/// [`ChannelError::Malformed`] as [`CompactState::expand`]; [`ChannelError::HistoryTooLarge`]
/// as soon as the states rebuilt so far come to more than `max_bytes`.
pub fn expand_chain_within(
    before: Option<&SignedChannelState>,
    compact: &[CompactState],
    max_bytes: usize,
) -> Result<(Vec<SignedChannelState>, usize), ChannelError> {
    let mut out: Vec<SignedChannelState> = Vec::new();
    let mut bytes: usize = 0;
    for state in compact {
        let previous = out.last().or(before).map(SignedChannelState::state);
        let next = state.expand(previous)?;
        bytes = bytes.saturating_add(crate::codec::encoded_len(&next));
        if bytes > max_bytes {
            return Err(ChannelError::HistoryTooLarge { max_bytes });
        }
        out.push(next);
    }
    Ok((out, bytes))
}
