//! Where a history entry is kept.

use vigil_protocol::channel::ChannelId;

/// Where a history entry is kept: in a channel's history, or in the member's own history of
/// what belongs to no channel (a payload that is not even addressed to a channel we could
/// name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// The member's own history, outside every channel.
    System,
    /// A channel's history.
    Channel(ChannelId),
}

impl Place {
    /// The channel, unless the entry is in the member's own history.
    #[must_use]
    pub fn channel(self) -> Option<ChannelId> {
        match self {
            Self::System => None,
            Self::Channel(id) => Some(id),
        }
    }

    /// The prefix of the record keys of this history. The member's own history is kept under
    /// 32 zero bytes, an id the engine refuses for a channel.
    pub(super) fn key_prefix(self) -> [u8; 32] {
        match self {
            Self::System => [0; 32],
            Self::Channel(id) => *id.as_bytes(),
        }
    }

    /// Whether `id` is the id under which the member's own history is kept (and so may not
    /// be a channel's).
    #[must_use]
    pub fn is_reserved(id: ChannelId) -> bool {
        id.as_bytes() == &Self::System.key_prefix()
    }
}

impl From<ChannelId> for Place {
    fn from(id: ChannelId) -> Self {
        Self::Channel(id)
    }
}
