//! The TUI's state and what keys and events do to it. No I/O: the runner turns the returned
//! [`Action`]s into worker commands and feeds the answers back as [`Update`]s, so every
//! behaviour here is testable without a terminal.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;

use super::keys::{Binding, parse};
use crate::config::Config;
use vigil_client::engine::{
    Body, ChannelSummary, Connection, Delivery, Entry, Event, TrustWarning,
};

/// Entries loaded per history page.
pub const PAGE: usize = 200;

/// Entries one PageUp/PageDown moves.
pub const SCROLL_STEP: usize = 10;

/// The slash commands, for `/help` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "/create NAME --tlp TLP --level LEVEL [--caveat TEXT]",
        "create a channel (the label is mandatory)",
    ),
    ("/invite USER", "invite a member (rules checked first)"),
    ("/remove USER", "remove a member (new keys for the others)"),
    ("/leave", "leave the channel (ask its owner to remove you)"),
    ("/label", "the channel's full label, policy and caveats"),
    ("/members", "members with organisation, clearance and trust"),
    (
        "/whois USER",
        "certificate, organisation, clearance, fingerprint, trust",
    ),
    (
        "/verify USER",
        "the safety number screen; mark the contact verified",
    ),
    (
        "/export FILE",
        "export the history to a labelled file (.md or .json)",
    ),
    ("/search TEXT", "search the open channel's local history"),
    ("/open NAME", "open a channel by name"),
    ("/help", "this screen"),
    ("/quit", "leave vigil"),
];

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The channel list.
    Channels,
    /// The message pane (scrolling).
    Messages,
    /// The compose box.
    Compose,
}

/// A full-screen overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The normal screen.
    Normal,
    /// Every key and command.
    Help,
    /// Information (label, members, whois, search results).
    Info {
        /// The title.
        title: String,
        /// The lines.
        lines: Vec<String>,
    },
    /// The safety number with a contact.
    Verify {
        /// The contact.
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
    /// Ourselves.
    Own,
    /// Safety number compared.
    Verified,
    /// Pinned on first use, not compared.
    Unverified,
    /// Keys changed since first seen, not verified again.
    Changed,
}

impl TrustMark {
    /// The marker's text.
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

/// What the runner must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send text to a channel.
    Send(ChannelId, String),
    /// Create a channel.
    Create(String, Label),
    /// Invite a member.
    Invite(ChannelId, UserId),
    /// Remove a member.
    Remove(ChannelId, UserId),
    /// Load a page of history older than `before` (or the newest).
    LoadHistory(ChannelId, Option<u64>),
    /// Ask for the channel list again.
    RefreshChannels,
    /// Ask what we know of a contact's keys.
    Contact(UserId),
    /// Show a member's certificate details.
    Whois(UserId),
    /// Show the safety number with a contact.
    SafetyNumber(UserId),
    /// Mark a contact verified with the number shown.
    MarkVerified(UserId, String),
    /// Export a channel.
    Export(ChannelId, String),
    /// Search a channel's history.
    Search(ChannelId, String),
    /// Ring the bell.
    Bell,
    /// Leave vigil.
    Quit,
}

/// What comes back to the app.
#[derive(Clone, Debug)]
pub enum Update {
    /// An engine event.
    Event(Event),
    /// The channel list.
    Channels(Vec<ChannelSummary>),
    /// A page of history, newest first.
    History(ChannelId, Option<u64>, Vec<(u64, Entry)>),
    /// What we know of a contact.
    Trust(UserId, TrustMark),
    /// An action succeeded: a short confirmation.
    Done(String),
    /// An action was refused: the reason (shown so it cannot be missed).
    Refused(String),
    /// Information to show.
    Info(String, Vec<String>),
    /// A safety number to show.
    Safety(UserId, String, String),
}

struct Bindings {
    next_channel: Binding,
    previous_channel: Binding,
    next_unread: Binding,
    help: Binding,
    quit: Binding,
}

/// The TUI's state.
pub struct App {
    /// Who we are.
    pub me: UserId,
    /// Our display name.
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
    /// The compose box.
    pub compose: String,
    /// The cursor in the compose box (a char index).
    pub cursor: usize,
    /// Which pane has the keyboard.
    pub focus: Focus,
    /// The overlay.
    pub mode: Mode,
    /// Connection state.
    pub connection: Connection,
    /// Outbox entries waiting.
    pub outbox: usize,
    /// Warnings that stay until dismissed (Esc): key changes, gaps.
    pub warnings: Vec<String>,
    /// The last status line message, and whether it is a refusal.
    pub status: Option<(String, bool)>,
    /// Trust markers by contact.
    pub trust: BTreeMap<UserId, TrustMark>,
    /// Draw in colour.
    pub colour: bool,
    /// Ring the bell on mentions.
    pub bell: bool,
    /// Set when the user asked to quit.
    pub quit: bool,
    keys: Bindings,
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
            colour: config.colour(),
            bell: config.bell_on_mention,
            quit: false,
            keys: Bindings {
                next_channel: fallback(&k.next_channel, "ctrl-n"),
                previous_channel: fallback(&k.previous_channel, "ctrl-p"),
                next_unread: fallback(&k.next_unread, "alt-a"),
                help: fallback(&k.help, "?"),
                quit: fallback(&k.quit, "ctrl-c"),
            },
        }
    }

    /// The open channel.
    #[must_use]
    pub fn current(&self) -> Option<&ChannelItem> {
        self.channels.get(self.selected)
    }

    fn current_id(&self) -> Option<ChannelId> {
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

    fn select(&mut self, index: usize) -> Vec<Action> {
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

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if self.keys.quit.matches(&key) {
            self.quit = true;
            return vec![Action::Quit];
        }
        if self.mode != Mode::Normal {
            return self.on_key_overlay(key);
        }
        if self.keys.next_channel.matches(&key) {
            return self.select((self.selected + 1) % self.channels.len().max(1));
        }
        if self.keys.previous_channel.matches(&key) {
            let n = self.channels.len().max(1);
            return self.select((self.selected + n - 1) % n);
        }
        if self.keys.next_unread.matches(&key) {
            let n = self.channels.len();
            if let Some(i) = (1..=n)
                .map(|d| (self.selected + d) % n.max(1))
                .find(|i| self.channels.get(*i).is_some_and(|c| c.unread > 0))
            {
                return self.select(i);
            }
            return Vec::new();
        }
        if (self.compose.is_empty() || self.focus != Focus::Compose) && self.keys.help.matches(&key)
        {
            self.mode = Mode::Help;
            return Vec::new();
        }
        match key.code {
            KeyCode::PageUp => return self.scroll_up(SCROLL_STEP),
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(SCROLL_STEP);
                return Vec::new();
            }
            KeyCode::Esc => {
                self.warnings.clear();
                self.status = None;
                return Vec::new();
            }
            KeyCode::Tab if !(self.focus == Focus::Compose && self.compose.starts_with('/')) => {
                self.focus = match self.focus {
                    Focus::Channels => Focus::Messages,
                    Focus::Messages => Focus::Compose,
                    Focus::Compose => Focus::Channels,
                };
                return Vec::new();
            }
            _ => {}
        }
        match self.focus {
            Focus::Channels => self.on_key_list(key),
            Focus::Messages => self.on_key_messages(key),
            Focus::Compose => self.on_key_compose(key),
        }
    }

    fn scroll_up(&mut self, by: usize) -> Vec<Action> {
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

    fn on_key_overlay(&mut self, key: KeyEvent) -> Vec<Action> {
        if let Mode::Verify { user, number, .. } = &self.mode
            && matches!(key.code, KeyCode::Char('v' | 'V'))
        {
            let action = Action::MarkVerified(user.clone(), number.clone());
            self.mode = Mode::Normal;
            return vec![action];
        }
        if matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::Enter
        ) {
            self.mode = Mode::Normal;
        }
        Vec::new()
    }

    fn on_key_list(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.select(self.selected.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.select(self.selected + 1),
            KeyCode::Char('g') | KeyCode::Home => self.select(0),
            KeyCode::Char('G') | KeyCode::End => self.select(usize::MAX),
            KeyCode::Enter => {
                self.focus = Focus::Compose;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_key_messages(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.scroll_up(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll = self.scroll.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Char('g') | KeyCode::Home => self.scroll_up(usize::MAX / 2),
            KeyCode::Char('G') | KeyCode::End => {
                self.scroll = 0;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn insert(&mut self, text: &str) {
        let at = self
            .compose
            .char_indices()
            .nth(self.cursor)
            .map_or(self.compose.len(), |(i, _)| i);
        self.compose.insert_str(at, text);
        self.cursor += text.chars().count();
    }

    /// Pasted text arrives intact (bracketed paste): newlines and all.
    pub fn on_paste(&mut self, text: &str) {
        self.focus = Focus::Compose;
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.insert(&text);
    }

    fn on_key_compose(&mut self, key: KeyEvent) -> Vec<Action> {
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if alt || shift => {
                self.insert("\n");
                Vec::new()
            }
            KeyCode::Char('j') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.insert("\n");
                Vec::new()
            }
            KeyCode::Enter => self.submit(),
            KeyCode::Tab => {
                self.complete_word();
                Vec::new()
            }
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    if let Some((i, _)) = self.compose.char_indices().nth(self.cursor) {
                        self.compose.remove(i);
                    }
                }
                Vec::new()
            }
            KeyCode::Delete => {
                if let Some((i, _)) = self.compose.char_indices().nth(self.cursor) {
                    self.compose.remove(i);
                }
                Vec::new()
            }
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.compose.chars().count());
                Vec::new()
            }
            KeyCode::Home => {
                self.cursor = 0;
                Vec::new()
            }
            KeyCode::End => {
                self.cursor = self.compose.chars().count();
                Vec::new()
            }
            KeyCode::Up if self.compose.is_empty() => self.scroll_up(1),
            KeyCode::Down if self.compose.is_empty() => {
                self.scroll = self.scroll.saturating_sub(1);
                Vec::new()
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) && !alt => {
                let mut buf = [0u8; 4];
                self.insert(c.encode_utf8(&mut buf));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Every user id we know (members of our channels).
    fn known_users(&self) -> BTreeSet<String> {
        self.channels
            .iter()
            .flat_map(|c| c.summary.members.iter().map(|(u, _, _)| u.to_string()))
            .collect()
    }

    /// Tab completion of the word before the cursor: a command, then a user id or a channel
    /// name as the command takes.
    pub fn complete_word(&mut self) {
        let before: String = self.compose.chars().take(self.cursor).collect();
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let candidates: Vec<String> = if start == 0 && word.starts_with('/') {
            COMMANDS
                .iter()
                .filter_map(|(usage, _)| usage.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        } else {
            let command = before.split_whitespace().next().unwrap_or_default();
            match command {
                "/invite" | "/remove" | "/whois" | "/verify" => {
                    self.known_users().into_iter().collect()
                }
                "/open" => self
                    .channels
                    .iter()
                    .map(|c| c.summary.name.clone())
                    .collect(),
                _ => Vec::new(),
            }
        };
        let matches: Vec<&String> = candidates.iter().filter(|c| c.starts_with(word)).collect();
        let Some(first) = matches.first() else {
            return;
        };
        // Complete to the longest common prefix; a single match gets a trailing space.
        let mut common = (*first).clone();
        for m in &matches[1..] {
            while !m.starts_with(&common) {
                common.pop();
            }
        }
        let suffix: String = common.chars().skip(word.chars().count()).collect();
        self.insert(&suffix);
        if matches.len() == 1 {
            self.insert(" ");
        } else {
            let shown: Vec<&str> = matches.iter().map(|s| s.as_str()).collect();
            self.status = Some((shown.join("  "), false));
        }
    }

    fn submit(&mut self) -> Vec<Action> {
        let text = std::mem::take(&mut self.compose);
        self.cursor = 0;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Vec::new();
        }
        if trimmed.starts_with('/') && !trimmed.starts_with("//") {
            return self.command(trimmed);
        }
        let text = text.strip_prefix('/').map_or(text.clone(), str::to_owned);
        match self.current_id() {
            Some(id) => {
                self.scroll = 0;
                vec![Action::Send(id, text)]
            }
            None => {
                self.refuse(
                    "no channel open: create one with /create NAME --tlp TLP --level LEVEL",
                );
                Vec::new()
            }
        }
    }

    fn refuse(&mut self, why: &str) {
        self.status = Some((why.to_owned(), true));
    }

    fn command(&mut self, line: &str) -> Vec<Action> {
        let words = split_args(line);
        let name = words.first().map(String::as_str).unwrap_or_default();
        let arg = words.get(1).cloned();
        let needs_channel = matches!(
            name,
            "/invite" | "/remove" | "/leave" | "/label" | "/members" | "/export" | "/search"
        );
        let channel = self.current_id();
        if needs_channel && channel.is_none() {
            self.refuse("no channel open");
            return Vec::new();
        }
        let user =
            |arg: Option<String>| arg.and_then(|a| UserId::new(a.trim_start_matches('@')).ok());
        match name {
            "/quit" | "/q" => {
                self.quit = true;
                vec![Action::Quit]
            }
            "/help" => {
                self.mode = Mode::Help;
                Vec::new()
            }
            "/create" => match parse_create(&words) {
                Ok((name, label)) => vec![Action::Create(name, label)],
                Err(why) => {
                    self.refuse(&why);
                    Vec::new()
                }
            },
            "/invite" | "/remove" | "/whois" | "/verify" => match user(arg) {
                Some(user) => match name {
                    "/invite" => Vec::from_iter(channel.map(|c| Action::Invite(c, user))),
                    "/remove" => Vec::from_iter(channel.map(|c| Action::Remove(c, user))),
                    "/whois" => vec![Action::Whois(user)],
                    _ => vec![Action::SafetyNumber(user)],
                },
                None => {
                    self.refuse(&format!("usage: {name} USER (a user id, NAME@ORG)"));
                    Vec::new()
                }
            },
            "/leave" => {
                let owner = self.current().map(|c| c.summary.owner.clone());
                self.refuse(&format!(
                    "only the owner or an admin changes the membership: ask {} to remove you",
                    owner.map_or_else(|| "the owner".to_owned(), |o| o.to_string())
                ));
                Vec::new()
            }
            "/label" => {
                if let Some(item) = self.current() {
                    let label = &item.summary.label;
                    let policy = ClassificationPolicy::eu();
                    let mut lines = vec![
                        format!("Label:    {label}"),
                        format!("TLP:      {}", label.tlp),
                        format!("Level:    {}", policy.describe(label.level.level)),
                    ];
                    if label.caveats.is_empty() {
                        lines.push("Caveats:  none".into());
                    }
                    for caveat in &label.caveats {
                        lines.push(format!("Caveat:   {caveat}"));
                    }
                    lines.push(String::new());
                    lines.push(tlp_rule(label));
                    lines.push(format!(
                        "Every member's clearance must be at least {}.",
                        label.level.marking()
                    ));
                    self.mode = Mode::Info {
                        title: format!("Label of {}", item.summary.name),
                        lines,
                    };
                }
                Vec::new()
            }
            "/members" => {
                if let Some(item) = self.current() {
                    let lines = item
                        .summary
                        .members
                        .iter()
                        .map(|(u, display, org)| {
                            let owner = if u == &item.summary.owner {
                                " (owner)"
                            } else {
                                ""
                            };
                            format!("{display} <{u}>  {org}  [{}]{owner}", self.mark(u).text())
                        })
                        .collect();
                    self.mode = Mode::Info {
                        title: format!("Members of {}", item.summary.name),
                        lines,
                    };
                }
                Vec::new()
            }
            "/export" => match arg {
                Some(path) => Vec::from_iter(channel.map(|c| Action::Export(c, path))),
                None => {
                    self.refuse("usage: /export FILE (.md for Markdown, .json for JSON)");
                    Vec::new()
                }
            },
            "/search" => {
                let text = words[1..].join(" ");
                if text.is_empty() {
                    self.refuse("usage: /search TEXT");
                    return Vec::new();
                }
                Vec::from_iter(channel.map(|c| Action::Search(c, text)))
            }
            "/open" => {
                let wanted = words[1..].join(" ");
                match self.channels.iter().position(|c| c.summary.name == wanted) {
                    Some(i) => self.select(i),
                    None => {
                        self.refuse(&format!("no channel {wanted:?}"));
                        Vec::new()
                    }
                }
            }
            other => {
                self.refuse(&format!("unknown command {other}: see /help"));
                Vec::new()
            }
        }
    }

    /// Applies an update.
    pub fn on_update(&mut self, update: Update) -> Vec<Action> {
        match update {
            Update::Event(event) => self.on_event(event),
            Update::Channels(list) => {
                let selected = self.current_id();
                let old: BTreeMap<ChannelId, (usize, bool)> = self
                    .channels
                    .iter()
                    .map(|c| (c.summary.id, (c.unread, c.mention)))
                    .collect();
                let mut actions = Vec::new();
                let known = self.trust.keys().cloned().collect::<BTreeSet<_>>();
                for c in &list {
                    for (u, _, _) in &c.members {
                        if u != &self.me && !known.contains(u) {
                            actions.push(Action::Contact(u.clone()));
                        }
                    }
                }
                self.channels = list
                    .into_iter()
                    .map(|summary| {
                        let (unread, mention) = old.get(&summary.id).copied().unwrap_or((0, false));
                        ChannelItem {
                            summary,
                            unread,
                            mention,
                        }
                    })
                    .collect();
                actions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
                actions.dedup();
                let index = selected
                    .and_then(|id| self.channels.iter().position(|c| c.summary.id == id))
                    .unwrap_or(0);
                actions.extend(self.select_keep_scroll(index));
                actions
            }
            Update::History(channel, before, page) => {
                let entries = self.messages.entry(channel).or_default();
                if page.len() < PAGE {
                    self.complete.insert(channel);
                }
                let mut older: Vec<(u64, Entry)> = page.into_iter().rev().collect();
                if before.is_none() {
                    // The newest page: keep entries that arrived while it loaded.
                    let newest = older.last().map(|(s, _)| *s);
                    entries.retain(|(s, _)| newest.is_none_or(|n| *s > n));
                }
                older.append(entries);
                *entries = older;
                Vec::new()
            }
            Update::Trust(user, mark) => {
                self.trust.insert(user, mark);
                Vec::new()
            }
            Update::Done(text) => {
                self.status = Some((text, false));
                Vec::new()
            }
            Update::Refused(text) => {
                self.status = Some((text, true));
                Vec::new()
            }
            Update::Info(title, lines) => {
                self.mode = Mode::Info { title, lines };
                Vec::new()
            }
            Update::Safety(user, number, status) => {
                self.mode = Mode::Verify {
                    user,
                    number,
                    status,
                };
                Vec::new()
            }
        }
    }

    fn select_keep_scroll(&mut self, index: usize) -> Vec<Action> {
        let scroll = self.scroll;
        let same = self.selected == index;
        let actions = self.select(index);
        if same {
            self.scroll = scroll;
        }
        actions
    }

    /// The name of channel `id` as listed (empty when unknown).
    fn channel_name(&self, id: ChannelId) -> String {
        self.channels
            .iter()
            .find(|c| c.summary.id == id)
            .map_or_else(String::new, |c| c.summary.name.clone())
    }

    fn on_event(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Message { place, seq, entry } => {
                let channel = place.channel();
                let open = channel.is_some() && self.current_id() == channel;
                let mention = matches!(&entry.body, Body::Text(t)
                    if t.contains(self.me.as_str()) || (!self.my_name.is_empty() && t.contains(&self.my_name)))
                    && entry.sender != self.me;
                let mut actions = Vec::new();
                if entry.sender != self.me && !self.trust.contains_key(&entry.sender) {
                    actions.push(Action::Contact(entry.sender.clone()));
                }
                if let Some(list) = channel.and_then(|c| self.messages.get_mut(&c)) {
                    // Events and history pages travel separately: an entry may already be
                    // here from a page loaded after it was stored.
                    match list.binary_search_by_key(&seq, |(s, _)| *s) {
                        Ok(_) => {}
                        Err(at) => list.insert(at, (seq, entry.clone())),
                    }
                }
                if let Some(item) = self
                    .channels
                    .iter_mut()
                    .find(|c| Some(c.summary.id) == channel)
                {
                    if !open && entry.sender != self.me {
                        item.unread += 1;
                        item.mention |= mention;
                    }
                } else {
                    actions.push(Action::RefreshChannels);
                }
                if open && self.scroll > 0 {
                    self.scroll += 1; // keep the view where the reader is
                }
                if mention && self.bell {
                    actions.push(Action::Bell);
                }
                actions
            }
            Event::ChannelChanged { .. } => vec![Action::RefreshChannels],
            Event::Trust { user, warning } => {
                if warning == TrustWarning::KeyChanged {
                    self.warnings.push(format!(
                        "The keys of {user} CHANGED. Do not trust their messages until you have \
                         compared safety numbers: /verify {user}"
                    ));
                    self.trust.insert(user, TrustMark::Changed);
                    Vec::new()
                } else {
                    vec![Action::Contact(user)]
                }
            }
            Event::Delivery {
                channel,
                seq,
                state,
            } => {
                if let Delivery::Failed(why) = &state {
                    self.status = Some((format!("not sent: {why}"), true));
                }
                if let Some(entry) = self
                    .messages
                    .get_mut(&channel)
                    .and_then(|l| l.iter_mut().find(|(s, _)| *s == seq))
                {
                    entry.1.delivery = Some(state);
                }
                Vec::new()
            }
            Event::Gap {
                channel,
                sender,
                missing,
            } => {
                let name = self.channel_name(channel);
                self.warnings.push(format!(
                    "{missing} message(s) from {sender} in {name} are missing (lost or withheld)"
                ));
                Vec::new()
            }
            Event::DecryptFailed { .. } => Vec::new(), // shown as a placeholder entry
            Event::Alert { channel, text } => {
                let name = self.channel_name(channel);
                self.warnings.push(format!("{name}: {text}"));
                vec![Action::RefreshChannels]
            }
            Event::Connection(state) => {
                self.connection = state;
                Vec::new()
            }
            Event::Outbox(n) => {
                self.outbox = n;
                Vec::new()
            }
        }
    }
}

/// What a label's TLP means for members, in one line.
#[must_use]
pub fn tlp_rule(label: &Label) -> String {
    use vigil_protocol::label::Tlp;
    match label.tlp {
        Tlp::Clear => "TLP:CLEAR: no restriction beyond membership.".into(),
        Tlp::Green => "TLP:GREEN: members of trusted organisations, by invitation.".into(),
        Tlp::Amber => "TLP:AMBER: members of trusted organisations, by invitation.".into(),
        Tlp::AmberStrict => "TLP:AMBER+STRICT: members of the owner's organisation only.".into(),
        Tlp::Red => "TLP:RED: named members only; no history for later joiners; never exported or \
             forwarded."
            .into(),
    }
}

/// Splits a command line into words; "double quotes" keep spaces.
#[must_use]
pub fn split_args(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Parses `/create NAME --tlp TLP --level LEVEL [--caveat TEXT]...`.
///
/// # Errors
///
/// A usage line or the label's error.
pub fn parse_create(words: &[String]) -> Result<(String, Label), String> {
    const USAGE: &str = "usage: /create NAME --tlp TLP --level LEVEL [--caveat TEXT] \
                         (e.g. /create incident-42 --tlp TLP:AMBER --level \"EU RESTRICTED\")";
    let mut name = None;
    let mut tlp = None;
    let mut level = None;
    let mut caveats = Vec::new();
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--tlp" => tlp = rest.next().cloned(),
            "--level" => level = rest.next().cloned(),
            "--caveat" => caveats.extend(rest.next().cloned()),
            other if other.starts_with("--") => return Err(USAGE.into()),
            other if name.is_none() => name = Some(other.to_owned()),
            _ => return Err(USAGE.into()),
        }
    }
    let (Some(name), Some(tlp), Some(level)) = (name, tlp, level) else {
        return Err(USAGE.into());
    };
    let caveats: Vec<&str> = caveats.iter().map(String::as_str).collect();
    let label = Label::new(&tlp, &level, &caveats, ClassificationPolicy::eu())
        .map_err(|e| e.to_string())?;
    Ok((name, label))
}
