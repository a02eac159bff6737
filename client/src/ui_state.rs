//! What a user interface keeps across restarts: unsent drafts per channel, what the member sent
//! (to recall it), how far they read each channel, and the unread counts. Sealed in the store
//! like every other record (one record, `Kind::Meta` / `ui-state`), never written in clear.
//!
//! Everything in it is bounded ([`MAX_SENT`], [`MAX_SENT_BYTES`], [`MAX_DRAFTS`],
//! [`MAX_DRAFT_BYTES`], [`MAX_CHANNELS`]) so the record always fits the codec's limit (a test
//! encodes the largest state the bounds allow); [`UiState::bounded`] keeps the newest.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use vigil_protocol::channel::ChannelId;

/// Sent messages kept for recall at most: a shift's worth.
pub const MAX_SENT: usize = 200;

/// Bytes of sent messages kept at most (the oldest go first): well under the codec's 1 MiB
/// record limit together with the drafts.
pub const MAX_SENT_BYTES: usize = 256 * 1024;

/// Bytes of drafts kept at most, all channels together (a draft is at most one message, but a
/// member may start many).
pub const MAX_DRAFT_BYTES: usize = 384 * 1024;

/// Drafts kept at most (the largest go first past it).
pub const MAX_DRAFTS: usize = 256;

/// Channels with a read mark, and channels with an unread count, kept at most each (a member
/// removed from many channels leaves their marks behind).
pub const MAX_CHANNELS: usize = 2048;

/// The saved state of a user interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct UiState {
    /// Unsent text per channel (the open channel's included).
    pub drafts: BTreeMap<ChannelId, String>,
    /// What the member sent, oldest first.
    pub sent: Vec<String>,
    /// Per channel, the sequence number of the newest entry the member has seen.
    pub read_marks: BTreeMap<ChannelId, u64>,
    /// Per channel, messages not seen yet and whether one of them named the member.
    pub unread: BTreeMap<ChannelId, (usize, bool)>,
}

impl UiState {
    /// The state within the bounds: empty drafts dropped, the oldest sent messages dropped
    /// past [`MAX_SENT`] or [`MAX_SENT_BYTES`], drafts past [`MAX_DRAFT_BYTES`] dropped (the
    /// largest first, so the many small ones survive).
    #[must_use]
    pub fn bounded(mut self) -> Self {
        self.drafts.retain(|_, text| !text.is_empty());
        let mut total = 0;
        let mut keep = 0;
        for text in self.sent.iter().rev() {
            if keep == MAX_SENT || total + text.len() > MAX_SENT_BYTES {
                break;
            }
            total += text.len();
            keep += 1;
        }
        self.sent.drain(..self.sent.len() - keep);
        while self.drafts.len() > MAX_DRAFTS
            || self.drafts.values().map(String::len).sum::<usize>() > MAX_DRAFT_BYTES
        {
            let largest = self
                .drafts
                .iter()
                .max_by_key(|(_, text)| text.len())
                .map(|(id, _)| *id);
            if let Some(id) = largest {
                self.drafts.remove(&id);
            }
        }
        while self.read_marks.len() > MAX_CHANNELS {
            self.read_marks.pop_first();
        }
        while self.unread.len() > MAX_CHANNELS {
            self.unread.pop_first();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_keep_the_newest_sent_and_drop_empty_drafts() {
        let mut state = UiState {
            sent: (0..MAX_SENT + 50).map(|i| format!("message {i}")).collect(),
            ..UiState::default()
        };
        state.drafts.insert(ChannelId([1; 32]), String::new());
        state
            .drafts
            .insert(ChannelId([2; 32]), "half a thought".into());
        let bounded = state.bounded();
        assert_eq!(bounded.sent.len(), MAX_SENT);
        assert_eq!(bounded.sent.last().map(String::as_str), Some("message 249"));
        assert_eq!(bounded.drafts.len(), 1);

        let huge = UiState {
            sent: vec!["x".repeat(MAX_SENT_BYTES + 1), "last".into()],
            drafts: [(ChannelId([3; 32]), "y".repeat(MAX_DRAFT_BYTES + 1))].into(),
            ..UiState::default()
        }
        .bounded();
        assert_eq!(huge.sent, ["last"]);
        assert!(huge.drafts.is_empty());
        let encoded = vigil_protocol::codec::encode(&huge);
        assert!(encoded.len() < vigil_protocol::codec::MAX_ENCODED_LEN);
    }

    /// The largest state the bounds let through still decodes: many channels, many drafts,
    /// a full sent history.
    #[test]
    fn the_largest_bounded_state_fits_the_codec() {
        let id = |i: usize| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
            ChannelId(bytes)
        };
        let state = UiState {
            drafts: (0..10_000).map(|i| (id(i), "d".repeat(1500))).collect(),
            sent: (0..1000).map(|_| "s".repeat(1300)).collect(),
            read_marks: (0..100_000).map(|i| (id(i), u64::MAX)).collect(),
            unread: (0..100_000).map(|i| (id(i), (usize::MAX, true))).collect(),
        }
        .bounded();
        assert_eq!(state.read_marks.len(), MAX_CHANNELS);
        assert!(state.drafts.len() <= MAX_DRAFTS);
        let encoded = vigil_protocol::codec::encode(&state);
        assert!(
            encoded.len() < vigil_protocol::codec::MAX_ENCODED_LEN,
            "{} bytes",
            encoded.len()
        );
        let back: UiState = vigil_protocol::codec::decode(&encoded).unwrap();
        assert_eq!(back, state);
    }
}
