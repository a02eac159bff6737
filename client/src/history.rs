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
            mark: marks.of(&entry.sender),
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
