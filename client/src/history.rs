//! Reading a channel's history whole, searching it, what an export holds, and the trust mark
//! shown beside each sender: what the headless `read`, the export and the terminal UI all show
//! the same way. Every reader here pages from the store, so none holds more than one page of a
//! long history at a time (an export holds the entries it writes).

use std::collections::BTreeMap;

use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;

use crate::engine::{Body, ChannelSummary, Engine, EngineError, Entry};
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

/// What an export of a channel holds: the channel, who exported it, and its history, oldest
/// first, each entry with its sender's trust mark. The binary writes it in a format.
#[derive(Clone, Debug)]
pub struct Export {
    pub channel: ChannelSummary,
    pub exported_by: UserId,
    pub entries: Vec<Marked>,
}

/// A history entry and the trust mark of its sender (see [`mark`]).
#[derive(Clone, Debug)]
pub struct Marked {
    pub seq: u64,
    pub entry: Entry,
    pub mark: &'static str,
}

/// What an export of `channel` holds.
///
/// # Errors
///
/// [`EngineError::NoExport`] for a channel whose label forbids export (`TLP:RED`);
/// [`EngineError::UnknownChannel`]; [`EngineError::Store`].
pub fn export(engine: &Engine, channel: ChannelId) -> Result<Export, EngineError> {
    let summary = engine.channel(channel)?;
    if !summary.label.allows_export() {
        return Err(EngineError::NoExport {
            name: summary.name,
            tlp: summary.label.tlp,
        });
    }
    let mut marks = Marks::new(engine);
    let entries = all_history(engine, channel, None)?
        .into_iter()
        .map(|(seq, entry)| Marked {
            seq,
            mark: marks.of_entry(&entry),
            entry,
        })
        .collect();
    Ok(Export {
        channel: summary,
        exported_by: engine.user().clone(),
        entries,
    })
}

/// A text message that a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub channel: ChannelId,
    pub seq: u64,
    pub entry: Entry,
}

/// The newest `limit` text messages containing `text` (ignoring case), in `channel` or, when
/// none is given, in each of our channels in turn; newest first within a channel. Reads the
/// store a page at a time and stops at `limit`.
///
/// # Errors
///
/// [`EngineError::UnknownChannel`]; [`EngineError::Store`].
pub fn search(
    engine: &Engine,
    channel: Option<ChannelId>,
    text: &str,
    limit: usize,
) -> Result<Vec<Hit>, EngineError> {
    let needle = text.to_lowercase();
    let channels = match channel {
        Some(id) => vec![engine.channel(id)?.id],
        None => engine.channels().into_iter().map(|c| c.id).collect(),
    };
    let mut hits = Vec::new();
    for channel in channels {
        let mut before = None;
        while hits.len() < limit {
            let page = engine.history(channel, before, PAGE)?;
            let done = page.len() < PAGE;
            before = page.last().map(|(seq, _)| *seq);
            let found = page.into_iter().filter(|(_, entry)| {
                matches!(&entry.body, Body::Text(t) if t.to_lowercase().contains(&needle))
            });
            hits.extend(
                found
                    .map(|(seq, entry)| Hit {
                        channel,
                        seq,
                        entry,
                    })
                    .take(limit - hits.len()),
            );
            if done {
                break;
            }
        }
    }
    Ok(hits)
}

/// How much we trust senders and the keys that signed their messages, as words; each contact
/// is read from the store once (a history of a million messages has a handful of senders).
#[derive(Debug)]
pub struct Marks<'a> {
    engine: &'a Engine,
    known: BTreeMap<UserId, Option<Contact>>,
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

    fn contact(&mut self, user: &UserId) -> Option<&Contact> {
        let engine = self.engine;
        self.known
            .entry(user.clone())
            .or_insert_with(|| engine.contact(user).ok().flatten())
            .as_ref()
    }

    /// The word for `user`: see [`mark`].
    pub fn of(&mut self, user: &UserId) -> &'static str {
        let me = self.engine.user().clone();
        mark(&me, user, self.contact(user))
    }

    /// The word for `entry`: that of the key that signed it (see [`entry_mark`]).
    pub fn of_entry(&mut self, entry: &Entry) -> &'static str {
        let me = self.engine.user().clone();
        entry_mark(&me, entry, self.contact(&entry.sender))
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

/// The mark of one message: that of the key that signed it. It is the sender's [`mark`] when
/// it was signed by the key pinned for them now; a message signed by another (earlier) key is
/// `unverified` (verifying a contact's new key vouches for nothing their old one signed); one
/// stored before signers were recorded is never `verified`.
#[must_use]
pub fn entry_mark(me: &UserId, entry: &Entry, contact: Option<&Contact>) -> &'static str {
    let of_sender = mark(me, &entry.sender, contact);
    match (entry.signer, contact) {
        (Some(signer), Some(c)) if signer == c.identity_key => of_sender,
        (Some(_), Some(_)) => "unverified",
        _ if of_sender == "verified" => "unverified",
        _ => of_sender,
    }
}
