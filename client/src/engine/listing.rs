//! What the member reads of their channels: the list, one channel by name or id, and pages of
//! a history.

use vigil_protocol::UserId;
use vigil_protocol::channel::{ChannelId, ChannelView};
use vigil_protocol::label::Label;

use super::{Engine, EngineError, Entry};
use crate::store::Place;

/// A channel as the UI lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSummary {
    pub id: ChannelId,
    pub name: String,
    pub label: Label,
    pub owner: UserId,
    pub admins: Vec<UserId>,
    /// Members, as their certificates in the channel name them.
    pub members: Vec<MemberSummary>,
    pub epoch: u64,
    /// Whether we are still a member.
    pub member: bool,
    /// What needs the member's attention (a fork, a change or key that does not arrive).
    pub alert: Option<String>,
}

/// A member of a channel, as the certificate the channel holds for them says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSummary {
    pub user: UserId,
    pub display_name: String,
    pub org: String,
    /// Their clearance, as a marking (e.g. `EU SECRET`).
    pub clearance: String,
}

/// A channel a name the member typed could mean: enough to tell two channels of the same name
/// apart (channels of other members can have any name, including one of ours).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: ChannelId,
    pub name: String,
    pub owner: UserId,
    pub label: Label,
}

/// `id name [label], owner USER`; the name, chosen by whoever created the channel, is
/// sanitized.
impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} [{}], owner {}",
            self.id.short(),
            crate::sanitize::line(&self.name),
            self.label,
            self.owner
        )
    }
}

/// Why [`pick_channel`] found no one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoPick {
    /// No channel has that name, id or id prefix.
    Unknown,
    /// Several channels have that name (or id prefix): every one of them.
    Ambiguous(Vec<Candidate>),
}

/// Shortest id prefix accepted for a channel (the lists show 12 hex digits).
pub const MIN_ID_PREFIX: usize = 6;

/// The channel `wanted` names among `candidates`: the one of exactly that name; else the one
/// whose id (lowercase hex) starts with `wanted` (at least [`MIN_ID_PREFIX`] digits). Never
/// picks one of several.
///
/// # Errors
///
/// [`NoPick::Unknown`] when none matches, [`NoPick::Ambiguous`] with every match when several
/// do.
pub fn pick_channel(candidates: &[Candidate], wanted: &str) -> Result<ChannelId, NoPick> {
    let named: Vec<&Candidate> = candidates.iter().filter(|c| c.name == wanted).collect();
    let matches = if named.is_empty() {
        let prefix = wanted.to_lowercase();
        let hex = prefix.len() >= MIN_ID_PREFIX && prefix.bytes().all(|b| b.is_ascii_hexdigit());
        candidates
            .iter()
            .filter(|c| hex && c.id.to_string().starts_with(&prefix))
            .collect()
    } else {
        named
    };
    match matches.as_slice() {
        [one] => Ok(one.id),
        [] => Err(NoPick::Unknown),
        several => Err(NoPick::Ambiguous(
            several.iter().map(|c| (*c).clone()).collect(),
        )),
    }
}

impl Engine {
    #[must_use]
    pub fn channels(&self) -> Vec<ChannelSummary> {
        let mut out: Vec<ChannelSummary> = self
            .channels
            .keys()
            .filter_map(|id| self.channel(*id).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    /// The channel called `name`, or whose id starts with the hex `name` (see
    /// [`pick_channel`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::NoChannelNamed`] when none matches, [`EngineError::AmbiguousChannel`]
    /// (naming every candidate) when several do.
    pub fn find_channel(&self, name: &str) -> Result<ChannelId, EngineError> {
        let candidates: Vec<Candidate> = self
            .channels
            .iter()
            .map(|(id, view)| {
                let state = view.head().state();
                Candidate {
                    id: *id,
                    name: state.name.to_string(),
                    owner: state.owner.clone(),
                    label: state.label.clone(),
                }
            })
            .collect();
        pick_channel(&candidates, name).map_err(|no| match no {
            NoPick::Unknown => EngineError::NoChannelNamed(name.to_owned()),
            NoPick::Ambiguous(candidates) => EngineError::AmbiguousChannel {
                name: name.to_owned(),
                candidates,
            },
        })
    }

    /// The channel of ours called `name`, if any.
    pub(super) fn channel_named(&self, name: &str) -> Option<ChannelId> {
        self.channels
            .iter()
            .find(|(_, view)| view.head().state().name.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// The channel's summary.
    ///
    /// # Errors
    ///
    /// [`EngineError::UnknownChannel`].
    pub fn channel(&self, id: ChannelId) -> Result<ChannelSummary, EngineError> {
        let view = self.view(id)?;
        let state = view.head().state();
        Ok(ChannelSummary {
            id,
            name: state.name.to_string(),
            label: state.label.clone(),
            owner: state.owner.clone(),
            admins: state.admins.clone(),
            members: state
                .members
                .iter()
                .map(|m| {
                    let b = m.body();
                    MemberSummary {
                        user: b.user.clone(),
                        display_name: b.display_name.to_string(),
                        org: b.org.to_string(),
                        clearance: b.clearance.marking(),
                    }
                })
                .collect(),
            epoch: state.epoch,
            member: state.is_member(self.local.user()),
            alert: self.alert(id),
        })
    }

    pub(super) fn view(&self, channel: ChannelId) -> Result<&ChannelView, EngineError> {
        self.channels
            .get(&channel)
            .ok_or(EngineError::UnknownChannel(channel))
    }

    /// A page of a channel's history, newest first: up to `limit` entries older than
    /// `before`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn history(
        &self,
        channel: ChannelId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Entry)>, EngineError> {
        self.history_at(Place::Channel(channel), before, limit)
    }

    /// A page of the history at `place` (a channel's, or the member's own: placeholders of
    /// payloads that named no channel we hold), newest first.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn history_at(
        &self,
        place: Place,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Entry)>, EngineError> {
        Ok(self.store.history_page(place, before, limit)?)
    }
}
