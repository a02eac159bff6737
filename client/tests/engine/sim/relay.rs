//! The simulated relay's state: mailboxes (kept until acknowledged) and each member's live
//! connection (the pushes on their way and the deliveries not yet acknowledged).

use std::collections::VecDeque;
use std::ops::Index;

use vigil_protocol::UserId;

/// A member's mailbox at the relay: what was stored for them and not yet acknowledged, in the
/// order it was stored (sender, payload), each under its message id. A test that plays a
/// lying relay takes entries out of it: they are then withheld for good.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    ids: VecDeque<u64>,
    items: VecDeque<(UserId, Vec<u8>)>,
}

impl Mailbox {
    pub(crate) fn push(&mut self, id: u64, sender: UserId, payload: Vec<u8>) {
        self.ids.push_back(id);
        self.items.push_back((sender, payload));
    }

    pub(crate) fn iter(&self) -> std::collections::vec_deque::Iter<'_, (UserId, Vec<u8>)> {
        self.items.iter()
    }

    pub(crate) fn pop_front(&mut self) -> Option<(UserId, Vec<u8>)> {
        self.ids.pop_front();
        self.items.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Entries stored after message `after`, with their ids.
    pub(crate) fn after(&self, after: u64) -> impl Iterator<Item = (u64, &(UserId, Vec<u8>))> {
        self.ids
            .iter()
            .copied()
            .zip(self.items.iter())
            .filter(move |(id, _)| *id > after)
    }

    /// Removes message `id` (acknowledged); false when it is not here.
    pub(crate) fn ack(&mut self, id: u64) -> bool {
        let Some(at) = self.ids.iter().position(|i| *i == id) else {
            return false;
        };
        self.ids.remove(at);
        self.items.remove(at);
        true
    }
}

impl Index<usize> for Mailbox {
    type Output = (UserId, Vec<u8>);

    fn index(&self, index: usize) -> &Self::Output {
        &self.items[index]
    }
}

impl From<Mailbox> for Vec<(UserId, Vec<u8>)> {
    fn from(mailbox: Mailbox) -> Self {
        mailbox.items.into()
    }
}

/// A push on its way to a member: a mailbox entry, by value (the payload travels).
#[derive(Clone, Debug)]
pub(crate) struct Push {
    pub(crate) id: u64,
    pub(crate) from: UserId,
    pub(crate) payload: Vec<u8>,
}

/// A member's live connection to the relay (absent while offline).
#[derive(Debug, Default)]
pub(crate) struct Link {
    /// Pushes sent and not yet processed, in the order they travel.
    pub(crate) in_flight: VecDeque<Push>,
    /// Processed (durable) and not yet acknowledged: lost with the connection, so redelivered.
    pub(crate) to_ack: Vec<u64>,
    /// The last message id pushed on this connection (the relay pushes each entry once per
    /// connection, and everything unacknowledged again after a new login).
    pub(crate) pushed: u64,
}
