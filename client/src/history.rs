//! Reading a channel's history whole, and the trust mark shown beside each sender: what the
//! headless `read`, the export and the terminal UI all show the same way.

use std::collections::BTreeMap;

use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;

use crate::engine::{Engine, EngineError, Entry};
use crate::trust::Contact;

/// Entries read from the store per page.
const PAGE: usize = 500;

/// The history of `channel`, oldest first (the newest `last` only, if given), paged from the
/// store so no page holds more than [`PAGE`] entries at once.
///
/// # Errors
///
/// [`EngineError`] for an unknown channel or a store that fails.
pub fn all_history(
    engine: &Engine,
    channel: ChannelId,
    last: Option<usize>,
) -> Result<Vec<(u64, Entry)>, EngineError> {
    let mut entries = Vec::new();
    let mut before = None;
    loop {
        let want = last.map_or(PAGE, |l| l.saturating_sub(entries.len()).min(PAGE));
        if want == 0 {
            break;
        }
        let page = engine.history(channel, before, want)?;
        let done = page.len() < want;
        before = page.last().map(|(seq, _)| *seq);
        entries.extend(page);
        if done {
            break;
        }
    }
    entries.reverse();
    Ok(entries)
}

/// How much we trust senders, as words; each contact is read from the store once (a history
/// of a million messages has a handful of senders).
#[derive(Debug)]
pub struct Marks<'a> {
    engine: &'a Engine,
    known: BTreeMap<UserId, &'static str>,
}

impl<'a> Marks<'a> {
    /// Marks for senders as `engine`'s member sees them.
    #[must_use]
    pub fn new(engine: &'a Engine) -> Self {
        Self {
            engine,
            known: BTreeMap::new(),
        }
    }

    /// The word for `user`: see [`mark`].
    pub fn of(&mut self, user: &UserId) -> &'static str {
        let engine = self.engine;
        self.known.entry(user.clone()).or_insert_with(|| {
            let contact = engine.contact(user).ok().flatten();
            mark(engine.user(), user, contact.as_ref())
        })
    }
}

/// How much `me` trusts `user`, knowing what was pinned of them: `you`, `KEY CHANGED` (the
/// identity key differs from the one pinned), `verified` (safety number compared) or
/// `unverified`.
#[must_use]
pub fn mark(me: &UserId, user: &UserId, contact: Option<&Contact>) -> &'static str {
    if user == me {
        return "you";
    }
    match contact {
        Some(c) if c.changed.is_some() => "KEY CHANGED",
        Some(c) if c.verified => "verified",
        _ => "unverified",
    }
}
