//! What a key does. In order: a pending question takes the next key; the quit key (which asks
//! first when the compose box holds a draft); an overlay's own keys (Esc closes it, the
//! arrows and PageUp/PageDown scroll it), every other key going to the compose box, so a
//! window that opens while the user types never swallows what they type; then the configured
//! bindings; then the pane that has the keyboard (the compose box's keys are in
//! [`super::compose`] and [`super::editing`]).

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;

use super::confirm::Question;
use super::{Action, App, Focus, Mode};
use crate::config::CHANNEL_LIST_WIDTHS;

/// Columns Alt-Left / Alt-Right take from or give to the channel list.
const LIST_STEP: u16 = 4;

/// What the keyboard side of the app remembers between keys.
#[derive(Debug, Default)]
pub(crate) struct InputState {
    /// The question waiting for its answer (y, or anything else for no).
    pub(super) question: Option<Question>,
    /// The channel whose draft is in the compose box.
    pub(super) compose_channel: Option<ChannelId>,
    /// The last text cut by a kill key (Ctrl-W, Ctrl-U, Ctrl-K, Alt-D), for Ctrl-Y.
    pub(super) kill: String,
    /// The entry of `sent` shown in the compose box, and the text shown, while Up/Down walk
    /// the history; an edit ends the walk.
    pub(super) recall: Option<(usize, String)>,
    /// A line refused as an unknown command, offered to be sent as text by a second Enter.
    pub(super) offered: Option<String>,
    /// The channel the last command or message acted on.
    pub(super) last_target: Option<ChannelId>,
    /// The name of the channel we asked to create, opened when it appears in the list.
    pub(super) creating: Option<String>,
    /// Per channel, the members and the text of the unverified warning when Esc dismissed it.
    pub(super) dismissed: BTreeMap<ChannelId, (Vec<UserId>, String)>,
}

/// Whether `key` is a character typed without Ctrl or Alt.
pub(super) fn plain_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

impl App {
    /// Applies a key: a pending question first, then the quit key, the overlay, the configured
    /// bindings and the focused pane.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if self.input.question.is_some() {
            return self.answer(&key);
        }
        if self.keys.quit.matches(&key) {
            return self.quit_or_ask();
        }
        if self.keys.redraw.matches(&key) {
            return vec![Action::Redraw];
        }
        if self.mode != Mode::Normal {
            return self.on_key_overlay(key);
        }
        if let Some(actions) = self.on_key_layout(&key) {
            return actions;
        }
        if let Some(actions) = self.on_bound_key(&key) {
            return actions;
        }
        match self.focus {
            Focus::Channels => self.on_key_list(key),
            Focus::Messages => self.on_key_messages(key),
            Focus::Compose => self.on_key_compose(key),
        }
    }

    /// Whether `key` is the help key here: a plain character bound to help types itself in
    /// the compose box.
    fn is_help_key(&self, key: &KeyEvent) -> bool {
        self.keys.help.matches(key) && !(self.focus == Focus::Compose && plain_char(key).is_some())
    }

    /// The keys that work in every pane: channels, panes, the editor, help, scrolling, Esc.
    fn on_bound_key(&mut self, key: &KeyEvent) -> Option<Vec<Action>> {
        let n = self.channels.len().max(1);
        if self.keys.next_channel.matches(key) {
            return Some(self.select((self.selected + 1) % n));
        }
        if self.keys.previous_channel.matches(key) {
            return Some(self.select((self.selected + n - 1) % n));
        }
        if self.keys.next_unread.matches(key) {
            let next = (1..=n)
                .map(|d| (self.selected + d) % n)
                .find(|i| self.channels.get(*i).is_some_and(|c| c.unread > 0));
            return Some(next.map(|i| self.select(i)).unwrap_or_default());
        }
        if self.keys.next_pane.matches(key) {
            self.next_pane();
            return Some(Vec::new());
        }
        if self.keys.editor.matches(key) {
            self.focus = Focus::Compose;
            return Some(vec![Action::Editor]);
        }
        if self.is_help_key(key) {
            self.open_overlay(Mode::Help);
            return Some(Vec::new());
        }
        match key.code {
            KeyCode::PageUp => Some(self.page_up()),
            KeyCode::PageDown => {
                self.page_down();
                Some(Vec::new())
            }
            KeyCode::Esc => {
                self.dismiss();
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// The keys that move through the history or change the layout, wherever the keyboard is.
    fn on_key_layout(&mut self, key: &KeyEvent) -> Option<Vec<Action>> {
        if self.keys.jump_to_new.matches(key) {
            return Some(self.jump_to_new());
        }
        if self.keys.toggle_channels.matches(key) {
            self.list_hidden = !self.list_hidden;
        } else if self.keys.narrower_channels.matches(key) {
            self.list_width = self
                .list_width
                .saturating_sub(LIST_STEP)
                .max(*CHANNEL_LIST_WIDTHS.start());
        } else if self.keys.wider_channels.matches(key) {
            self.list_width = (self.list_width + LIST_STEP).min(*CHANNEL_LIST_WIDTHS.end());
        } else {
            return None;
        }
        Some(Vec::new())
    }

    /// Esc: the warnings, the status message and the open channel's unverified warning go.
    fn dismiss(&mut self) {
        self.warnings.clear();
        self.status = None;
        self.dismiss_unverified();
    }

    /// Channel list, then messages, then the compose box.
    fn next_pane(&mut self) {
        self.focus = match self.focus {
            Focus::Channels => Focus::Messages,
            Focus::Messages => Focus::Compose,
            Focus::Compose => Focus::Channels,
        };
    }

    /// Shows `mode` (opened by the user, or by an answer that arrived), scrolled to its top;
    /// behind a pending question until it is answered.
    pub(super) fn open_overlay(&mut self, mode: Mode) {
        match &mut self.input.question {
            Some(question) => question.behind = mode,
            None => {
                self.mode = mode;
                self.overlay_scroll = 0;
            }
        }
    }

    /// Under an overlay: Esc closes it, the arrows, PageUp/PageDown and Home scroll it, Alt-V
    /// marks a safety number verified, the help key closes help, Enter with an empty box
    /// closes it. Opened from the channel list or the message pane, it also takes j/k, g and
    /// q (or ?); every other key goes to the compose box.
    fn on_key_overlay(&mut self, key: KeyEvent) -> Vec<Action> {
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let not_typing = self.focus != Focus::Compose && plain_char(&key).is_some();
        let page = isize::try_from(self.geometry.get().overlay_rows.max(2)).unwrap_or(2) - 1;
        match key.code {
            KeyCode::Esc => return self.close_overlay(),
            KeyCode::Enter if self.compose.trim().is_empty() && !alt => {
                return self.close_overlay();
            }
            KeyCode::Up => self.nudge_overlay(-1),
            KeyCode::Char('k') if not_typing => self.nudge_overlay(-1),
            KeyCode::Down => self.nudge_overlay(1),
            KeyCode::Char('j') if not_typing => self.nudge_overlay(1),
            KeyCode::PageUp => self.nudge_overlay(-page),
            KeyCode::PageDown => self.nudge_overlay(page),
            KeyCode::Home => self.overlay_scroll = 0,
            KeyCode::Char('g') if not_typing => self.overlay_scroll = 0,
            KeyCode::End => self.nudge_overlay(isize::MAX / 2),
            KeyCode::Char('G') if not_typing => self.nudge_overlay(isize::MAX / 2),
            KeyCode::Char('q' | '?') if not_typing => return self.close_overlay(),
            KeyCode::Char('v' | 'V') if alt => return self.mark_verified(),
            _ if self.mode == Mode::Help && self.is_help_key(&key) => return self.close_overlay(),
            _ => {
                self.focus = Focus::Compose;
                return self.on_key_compose(key);
            }
        }
        Vec::new()
    }

    /// Scrolls the overlay by `rows` (up when negative), within its text as last drawn.
    fn nudge_overlay(&mut self, rows: isize) {
        self.scroll_overlay(rows);
    }

    fn close_overlay(&mut self) -> Vec<Action> {
        self.mode = Mode::Normal;
        self.overlay_scroll = 0;
        Vec::new()
    }

    /// Alt-V on the safety number screen: the contact is marked verified.
    fn mark_verified(&mut self) -> Vec<Action> {
        if let Mode::Verify { user, number, .. } = &self.mode {
            let action = Action::MarkVerified(user.clone(), number.clone());
            self.close_overlay();
            return vec![action];
        }
        Vec::new()
    }

    /// A printable key in the channel list or the message pane that is not theirs: it was
    /// meant for the compose box, so it goes there.
    fn type_instead(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Char('?') if plain_char(&key).is_some() => {
                self.open_overlay(Mode::Help);
                Vec::new()
            }
            KeyCode::Tab => {
                self.next_pane();
                Vec::new()
            }
            KeyCode::Enter => {
                self.focus = Focus::Compose;
                Vec::new()
            }
            _ if plain_char(&key).is_some() => {
                self.focus = Focus::Compose;
                self.on_key_compose(key)
            }
            _ => Vec::new(),
        }
    }

    fn on_key_list(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.select(self.selected.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.select(self.selected + 1),
            KeyCode::Char('g') | KeyCode::Home => self.select(0),
            KeyCode::Char('G') | KeyCode::End => self.select(usize::MAX),
            _ => self.type_instead(key),
        }
    }

    fn on_key_messages(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.scroll_up(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.scroll_down(1);
                Vec::new()
            }
            KeyCode::Char('g') | KeyCode::Home => self.scroll_to_oldest(),
            KeyCode::Char('G') | KeyCode::End => {
                self.scroll_to_newest();
                Vec::new()
            }
            _ => self.type_instead(key),
        }
    }
}
