//! The [`App`] and what it knows: who we are, the channels and their loaded history, the
//! trust markers, which pane has the keyboard, the overlay, the connection and the warnings;
//! and the moves every other part makes on it (selecting a channel, scrolling, refusing).

use std::collections::{BTreeMap, BTreeSet};
use vigil_protocol::channel::ChannelId;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use vigil_client::engine::{ChannelSummary, Connection, Entry};
use vigil_protocol::UserId;
use vigil_protocol::keys::IdentityPublicKey;

use super::Action;
use crate::config::Config;
use crate::tui::keys::{Binding, parse};

/// Entries loaded per history page.
pub const PAGE: usize = 200;

/// Entries one PageUp/PageDown moves.
pub const SCROLL_STEP: usize = 10;

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Up and down move between channels; Enter goes to the compose box.
    Channels,
    /// The message pane (scrolling).
    Messages,
    /// Keys type into the compose box.
    Compose,
}

/// A full-screen overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No overlay.
    Normal,
    /// Every key and command.
    Help,
    /// Information (label, members, whois, search results).
    Info { title: String, lines: Vec<String> },
    /// The safety number with a contact.
    Verify {
        user: UserId,
        /// The number, in groups.
        number: String,
        /// What we know of them.
        status: String,
    },
}

/// How far we trust a sender (the marker shown beside their name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustMark {
    /// Our own messages.
    Own,
    /// The safety number was compared.
    Verified,
    /// Pinned on first use, not compared.
    Unverified,
    /// Keys changed since first seen, not verified again.
    Changed,
}

impl TrustMark {
    /// The marker as drawn beside a name, e.g. `KEY CHANGED`.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::Own => "you",
            Self::Verified => "verified",
            Self::Unverified => "unverified",
            Self::Changed => "KEY CHANGED",
        }
    }
}

/// A channel in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelItem {
    /// What the engine says of it.
    pub summary: ChannelSummary,
    /// Messages not seen yet.
    pub unread: usize,
    /// A message named us.
    pub mention: bool,
}

/// The configured keys, each parsed once (a bad one falls back to its default).
pub(super) struct Bindings {
    pub(super) next_channel: Binding,
    pub(super) previous_channel: Binding,
    pub(super) next_unread: Binding,
    pub(super) help: Binding,
    pub(super) quit: Binding,
}

/// What the TUI shows and knows; changed only by keys ([`App::on_key`]) and updates
/// ([`App::on_update`]).
pub struct App {
    /// Our user id; messages naming it are mentions.
    pub me: UserId,
    /// Our display name from our certificate; naming it is a mention too.
    pub my_name: String,
    /// The channels, sorted by name.
    pub channels: Vec<ChannelItem>,
    /// The open channel (index into `channels`).
    pub selected: usize,
    /// Loaded history per channel, oldest first.
    pub messages: BTreeMap<ChannelId, Vec<(u64, Entry)>>,
    /// Channels whose oldest entry is loaded.
    pub complete: BTreeSet<ChannelId>,
    /// Entries scrolled up from the newest.
    pub scroll: usize,
    /// The compose box's text.
    pub compose: String,
    /// The cursor in the compose box (a char index).
    pub cursor: usize,
    /// Which pane has the keyboard.
    pub focus: Focus,
    /// The overlay, if any.
    pub mode: Mode,
    /// What the status line says of the relay.
    pub connection: Connection,
    /// Messages queued and not yet sent.
    pub outbox: usize,
    /// Warnings that stay until dismissed (Esc): key changes, gaps.
    pub warnings: Vec<String>,
    /// The last status line message, and whether it is a refusal.
    pub status: Option<(String, bool)>,
    /// Trust markers by contact: that of the key pinned for them now.
    pub trust: BTreeMap<UserId, TrustMark>,
    /// The identity key each marker in `trust` is about; a message signed by another key
    /// never shows `verified` ([`Self::entry_mark`]).
    pub trust_keys: BTreeMap<UserId, IdentityPublicKey>,
    /// Whether to draw in colour (`colours` in the settings, `NO_COLOR`).
    pub colour: bool,
    /// Ring the bell on mentions.
    pub bell: bool,
    /// Set when the user asked to quit.
    pub quit: bool,
    /// Unsent drafts of the channels not in view (the open one's is `compose`); kept across
    /// restarts, sealed in the store.
    pub drafts: BTreeMap<ChannelId, String>,
    /// What we sent, oldest first (Up/Down in an empty compose box); kept across restarts.
    pub sent: Vec<String>,
    /// Per channel, the newest entry (its sequence number) the reader has seen: the "new since
    /// you left" line is drawn under it; kept across restarts.
    pub read_marks: BTreeMap<ChannelId, u64>,
    /// What was restored and not yet applied (see `persist.rs`).
    pub(super) restored: super::persist::Restored,
    pub(super) keys: Bindings,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("me", &self.me)
            .field("channels", &self.channels.len())
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

fn fallback(spec: &str, default: &str) -> Binding {
    parse(spec).or_else(|| parse(default)).unwrap_or(Binding {
        code: KeyCode::Null,
        modifiers: KeyModifiers::NONE,
    })
}

impl App {
    /// A new app for `me`.
    #[must_use]
    pub fn new(me: UserId, my_name: String, config: &Config) -> Self {
        let k = &config.keys;
        Self {
            me,
            my_name,
            channels: Vec::new(),
            selected: 0,
            messages: BTreeMap::new(),
            complete: BTreeSet::new(),
            scroll: 0,
            compose: String::new(),
            cursor: 0,
            focus: Focus::Compose,
            mode: Mode::Normal,
            connection: Connection::Connecting,
            outbox: 0,
            warnings: Vec::new(),
            status: None,
            trust: BTreeMap::new(),
            trust_keys: BTreeMap::new(),
            colour: config.colour(),
            bell: config.bell_on_mention,
            quit: false,
            drafts: BTreeMap::new(),
            sent: Vec::new(),
            read_marks: BTreeMap::new(),
            restored: super::persist::Restored::default(),
            keys: Bindings {
                next_channel: fallback(&k.next_channel, "ctrl-n"),
                previous_channel: fallback(&k.previous_channel, "ctrl-p"),
                next_unread: fallback(&k.next_unread, "alt-a"),
                help: fallback(&k.help, "?"),
                quit: fallback(&k.quit, "ctrl-c"),
            },
        }
    }

    /// The open channel, if there is one.
    #[must_use]
    pub fn current(&self) -> Option<&ChannelItem> {
        self.channels.get(self.selected)
    }

    pub(super) fn current_id(&self) -> Option<ChannelId> {
        self.current().map(|c| c.summary.id)
    }

    /// The trust marker of `user`.
    #[must_use]
    pub fn mark(&self, user: &UserId) -> TrustMark {
        if user == &self.me {
            return TrustMark::Own;
        }
        self.trust
            .get(user)
            .copied()
            .unwrap_or(TrustMark::Unverified)
    }

    /// The trust marker to draw beside `entry`: that of the key that signed it. It is the
    /// sender's marker when the key is the one pinned for them now; a message signed by
    /// another (earlier) key is `unverified` whatever happens to the new one; one stored before
    /// signers were kept, or whose sender's key is not known yet, is never `verified` (as
    /// `vigil_client::history::entry_mark`).
    #[must_use]
    pub fn entry_mark(&self, entry: &Entry) -> TrustMark {
        let of_sender = self.mark(&entry.sender);
        let current = self.trust_keys.get(&entry.sender);
        match (entry.signer, current) {
            (Some(signer), Some(key)) if signer == *key => of_sender,
            (Some(_), Some(_)) => TrustMark::Unverified,
            _ if of_sender == TrustMark::Verified => TrustMark::Unverified,
            _ => of_sender,
        }
    }

    /// Members of the open channel who are not verified, when its label asks for care
    /// (`TLP:RED` or a classified level): shown as a warning.
    #[must_use]
    pub fn unverified_in_sensitive_channel(&self) -> Option<String> {
        let item = self.current()?;
        let label = &item.summary.label;
        let sensitive = label.tlp == vigil_protocol::label::Tlp::Red || label.level.level > 0;
        if !sensitive {
            return None;
        }
        let unverified: Vec<&str> = item
            .summary
            .members
            .iter()
            .filter(|(u, _, _)| u != &self.me && self.mark(u) != TrustMark::Verified)
            .map(|(u, _, _)| u.as_str())
            .collect();
        if unverified.is_empty() {
            return None;
        }
        Some(format!(
            "Unverified in this {} channel: {} (compare safety numbers: /verify USER)",
            if label.tlp == vigil_protocol::label::Tlp::Red {
                "TLP:RED".to_owned()
            } else {
                label.level.marking()
            },
            unverified.join(", ")
        ))
    }

    /// Opens channel `index` (clamped to the list), clearing its unread count; its history is
    /// loaded the first time.
    pub(super) fn select(&mut self, index: usize) -> Vec<Action> {
        if self.channels.is_empty() {
            return Vec::new();
        }
        self.selected = index.min(self.channels.len() - 1);
        self.scroll = 0;
        let mut actions = Vec::new();
        if let Some(item) = self.channels.get_mut(self.selected) {
            item.unread = 0;
            item.mention = false;
            if !self.messages.contains_key(&item.summary.id) {
                actions.push(Action::LoadHistory(item.summary.id, None));
            }
        }
        actions
    }

    /// Scrolls up `by` entries; near the oldest loaded one, asks for the page before it.
    pub(super) fn scroll_up(&mut self, by: usize) -> Vec<Action> {
        let Some(id) = self.current_id() else {
            return Vec::new();
        };
        let loaded = self.messages.get(&id).map_or(0, Vec::len);
        self.scroll = (self.scroll + by).min(loaded.saturating_sub(1));
        if self.scroll + PAGE / 2 >= loaded && !self.complete.contains(&id) {
            let oldest = self
                .messages
                .get(&id)
                .and_then(|m| m.first())
                .map(|(seq, _)| *seq);
            if oldest.is_some() {
                return vec![Action::LoadHistory(id, oldest)];
            }
        }
        Vec::new()
    }

    /// Shows `why` on the status line as a refusal.
    pub(super) fn refuse(&mut self, why: &str) {
        self.status = Some((why.to_owned(), true));
    }

    /// Every user id we know (members of our channels).
    pub(super) fn known_users(&self) -> BTreeSet<String> {
        self.channels
            .iter()
            .flat_map(|c| c.summary.members.iter().map(|(u, _, _)| u.to_string()))
            .collect()
    }

    /// Selects `index` after the channel list changed, keeping the scroll when it is the same
    /// channel.
    pub(super) fn select_keep_scroll(&mut self, index: usize) -> Vec<Action> {
        let scroll = self.scroll;
        let same = self.selected == index;
        let actions = self.select(index);
        if same {
            self.scroll = scroll;
        }
        actions
    }

    /// The name of channel `id` as listed (empty when unknown).
    pub(super) fn channel_name(&self, id: ChannelId) -> String {
        self.channels
            .iter()
            .find(|c| c.summary.id == id)
            .map_or_else(String::new, |c| c.summary.name.clone())
    }
}
