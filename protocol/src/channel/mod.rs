//! Group channels: a signed, hash-chained channel state whose label every member enforces,
//! Sender Keys distributed over the 1:1 sessions, and messages whose associated data binds the
//! channel, epoch, state, membership, label, sender and counter.

mod error;
mod message;
pub mod rules;
mod state;
mod view;

pub use error::{ChannelError, PolicyRefusal};
pub use message::{GroupHeader, GroupMessage, GroupPlaintext, SenderKeyDistribution};
pub use state::{Change, ChannelId, ChannelState, MAX_MEMBERS, SignedChannelState, StateHash};
pub use view::{
    Applied, ChannelView, MAX_GROUP_GAP, MAX_KEPT_STATES, MAX_PAST_EPOCHS, MAX_SKIPPED_PER_SENDER,
    Proposal,
};
