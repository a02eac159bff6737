//! Group channels: a signed, hash-chained channel state whose label every member enforces,
//! Sender Keys distributed over the 1:1 sessions, and messages whose associated data binds the
//! channel, epoch, state, membership, label, sender and counter.

pub mod change;
mod compact;
mod error;
mod judge;
mod message;
mod pickle;
pub mod rules;
mod sender;
mod state;
mod view;

pub use compact::{
    CompactState, MAX_REBUILT_BYTES, compact_chain, expand_chain, expand_chain_within,
};
pub use error::{ChannelError, PolicyRefusal};
pub use judge::MAX_STATE_AGE_SECS;
pub use message::{GroupHeader, GroupMessage, GroupPlaintext, SenderKeyDistribution};
pub use sender::{EPOCH_GRACE_SECS, MAX_GENERATIONS_KEPT, MAX_GROUP_GAP, MAX_SKIPPED_PER_SENDER};
pub use state::{Change, ChannelId, ChannelState, MAX_MEMBERS, SignedChannelState, StateHash};
pub use view::{Applied, ChannelView, MAX_KEPT_STATES, MAX_PAST_EPOCHS, Proposal};
