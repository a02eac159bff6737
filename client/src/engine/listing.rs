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
    /// Members, with display name and organisation.
    pub members: Vec<(UserId, String, String)>,
    pub epoch: u64,
    /// Whether we are still a member.
    pub member: bool,
    /// What needs the member's attention (a fork, a change or key that does not arrive).
    pub alert: Option<String>,
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

    /// The channel called `name` (or whose id starts with the hex `name`).
    ///
    /// # Errors
    ///
    /// [`EngineError::NoChannelNamed`] when none matches, [`EngineError::AmbiguousChannel`]
    /// when several do.
    pub fn find_channel(&self, name: &str) -> Result<ChannelId, EngineError> {
        let matches: Vec<ChannelId> = self
            .channels
            .iter()
            .filter(|(id, view)| {
                view.head().state().name.as_str() == name
                    || (name.len() >= 8 && id.to_string().starts_with(&name.to_lowercase()))
            })
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(EngineError::NoChannelNamed(name.to_owned())),
            several => Err(EngineError::AmbiguousChannel {
                name: name.to_owned(),
                ids: several.to_vec(),
            }),
        }
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
                    (
                        b.user.clone(),
                        b.display_name.to_string(),
                        b.org.to_string(),
                    )
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
