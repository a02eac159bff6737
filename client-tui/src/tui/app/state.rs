//! The [`App`] and what it knows: who we are, the channels and their loaded history, the
//! trust markers, which pane has the keyboard, the overlay, the connection and the warnings;
//! and the moves every other part makes on it (selecting a channel, scrolling, refusing).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use vigil_protocol::channel::ChannelId;

use ratatui::layout::Rect;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use vigil_client::engine::{ChannelSummary, Connection, Entry};
use vigil_protocol::UserId;
use vigil_protocol::keys::IdentityPublicKey;

use super::Action;
use super::input::InputState;
use crate::config::{CHANNEL_LIST_WIDTHS, ColourDepth, Config, TimeZoneChoice};
use crate::tui::keys::{Binding, parse};
use crate::tui::view::clock::Clock;

/// Entries loaded per history page.
pub const PAGE: usize = 200;

/// Rows the mouse wheel scrolls.
pub const WHEEL_ROWS: usize = 3;

/// Where the last frame put the parts the keys and the mouse act on (written by the view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// The message pane, inside its border.
    pub messages: Rect,
    /// The channel list, inside its border (empty when hidden).
    pub list: Rect,
    /// Rows an overlay shows, inside its border.
    pub overlay_rows: u16,
    /// Rows the overlay's text takes, wrapped.
    pub overlay_total: usize,
}

/// What an entry's row count depends on besides its text: the pane's width, the entry's trust
/// marker and its delivery state.
pub(crate) type RowShape = (usize, TrustMark, Option<String>);

/// Rows each entry took when last laid out, by channel and sequence number, with the shape it
/// was laid out in (counting a long history again on every key would be slow).
pub(crate) type RowCache = RefCell<BTreeMap<(Option<ChannelId>, u64), (RowShape, usize)>>;

/// A place in the history the pane is moving to, page by page as older history loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    /// The oldest entry (Home).
    Top,
    /// The first entry after this sequence number (the "new since you left" line).
    After(u64),
    /// The first entry at or after this time (`/jump DATE`).
    Time(vigil_protocol::UnixTime),
}

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
    pub(super) redraw: Binding,
    pub(super) jump_to_new: Binding,
    pub(super) toggle_channels: Binding,
    pub(super) narrower_channels: Binding,
    pub(super) wider_channels: Binding,
    pub(super) next_pane: Binding,
    pub(super) editor: Binding,
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
    /// Rows of the message pane scrolled up from the newest (0: the newest in view).
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
    /// How many colours the terminal has.
    pub depth: ColourDepth,
    /// Local time or UTC.
    pub clock: Clock,
    /// Whether mouse clicks and the wheel are taken.
    pub mouse: bool,
    /// Columns of the channel list.
    pub list_width: u16,
    /// The channel list is hidden (more room for messages).
    pub list_hidden: bool,
    /// Rows the open overlay is scrolled down by (Up/Down, PageUp/PageDown, Home/End).
    pub overlay_scroll: usize,
    /// In the open channel, the entry read last before it was opened: the "new since you
    /// left" line is drawn under it.
    pub since: Option<u64>,
    /// Where the pane is moving to as older history loads.
    pub seek: Option<Seek>,
    /// What the last frame drew where.
    pub(crate) geometry: Cell<Geometry>,
    /// Rows each entry takes, as last laid out.
    pub(crate) row_cache: RowCache,
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
    pub(super) input: InputState,
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
            depth: config.depth(),
            clock: match config.time {
                TimeZoneChoice::Local => Clock::local(),
                TimeZoneChoice::Utc => Clock::utc(),
            },
            mouse: config.mouse,
            list_width: config
                .channel_list_width
                .clamp(*CHANNEL_LIST_WIDTHS.start(), *CHANNEL_LIST_WIDTHS.end()),
            list_hidden: false,
            overlay_scroll: 0,
            since: None,
            seek: None,
            geometry: Cell::new(Geometry::default()),
            row_cache: RefCell::new(BTreeMap::new()),
            bell: config.bell_on_mention,
            quit: false,
            drafts: BTreeMap::new(),
            sent: Vec::new(),
            read_marks: BTreeMap::new(),
            input: InputState::default(),
            restored: super::persist::Restored::default(),
            keys: Bindings {
                next_channel: fallback(&k.next_channel, "ctrl-n"),
                previous_channel: fallback(&k.previous_channel, "ctrl-p"),
                next_unread: fallback(&k.next_unread, "alt-a"),
                help: fallback(&k.help, "f1"),
                quit: fallback(&k.quit, "ctrl-c"),
                redraw: fallback(&k.redraw, "ctrl-l"),
                jump_to_new: fallback(&k.jump_to_new, "alt-n"),
                toggle_channels: fallback(&k.toggle_channels, "f9"),
                narrower_channels: fallback(&k.narrower_channels, "alt-left"),
                wider_channels: fallback(&k.wider_channels, "alt-right"),
                next_pane: fallback(&k.next_pane, "f6"),
                editor: fallback(&k.editor, "alt-e"),
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

    /// Opens channel `index` (clamped to the list), clearing its unread count; its history is
    /// loaded the first time.
    pub(super) fn select(&mut self, index: usize) -> Vec<Action> {
        if self.channels.is_empty() {
            return Vec::new();
        }
        self.mark_read();
        self.selected = index.min(self.channels.len() - 1);
        self.scroll = 0;
        self.seek = None;
        self.since = self
            .current_id()
            .and_then(|id| self.read_marks.get(&id).copied());
        self.mark_read();
        self.switch_draft();
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

    /// Shows `why` on the status line as a refusal.
    pub(super) fn refuse(&mut self, why: &str) {
        self.status = Some((why.to_owned(), true));
    }

    /// Every user id we know (members of our channels).
    pub(super) fn known_users(&self) -> BTreeSet<String> {
        self.channels
            .iter()
            .flat_map(|c| c.summary.members.iter().map(|m| m.user.to_string()))
            .collect()
    }

    /// Selects `index` after the channel list changed, keeping the scroll and the "new since
    /// you left" line when it is the same channel.
    pub(super) fn select_keep_scroll(&mut self, index: usize) -> Vec<Action> {
        let (scroll, since, seek) = (self.scroll, self.since, self.seek);
        let same = self.selected == index;
        let actions = self.select(index);
        if same {
            (self.scroll, self.since, self.seek) = (scroll, since, seek);
        }
        actions
    }

    /// Records that the open channel has been read up to its newest loaded entry.
    pub(super) fn mark_read(&mut self) {
        let Some(id) = self.current_id() else {
            return;
        };
        if let Some((seq, _)) = self.messages.get(&id).and_then(|m| m.last()) {
            self.read_marks.insert(id, *seq);
        }
    }

    /// Records where the message pane was drawn (the keys scroll by its height).
    pub(crate) fn record_pane(&self, messages: Rect) {
        let mut g = self.geometry.get();
        g.messages = messages;
        self.geometry.set(g);
    }

    /// The name of channel `id` as listed (empty when unknown).
    pub(super) fn channel_name(&self, id: ChannelId) -> String {
        self.channels
            .iter()
            .find(|c| c.summary.id == id)
            .map_or_else(String::new, |c| c.summary.name.clone())
    }
}
