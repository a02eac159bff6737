//! What a key does: the configured bindings first, then the overlay, then the pane that has
//! the keyboard (the compose box's keys are in [`super::compose`]).

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Focus, Mode};
use crate::config::CHANNEL_LIST_WIDTHS;

impl App {
    /// Applies a key: the configured bindings first, then the overlay, then the focused pane.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if self.keys.quit.matches(&key) {
            self.quit = true;
            return vec![Action::Quit];
        }
        if self.keys.redraw.matches(&key) {
            return vec![Action::Redraw];
        }
        if self.mode != Mode::Normal {
            return self.on_key_overlay(key);
        }
        if let Some(actions) = self.on_key_layout(key) {
            return actions;
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
            KeyCode::PageUp => return self.page_up(),
            KeyCode::PageDown => {
                self.page_down();
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

    /// The keys that move through the history or change the layout, wherever the keyboard is.
    fn on_key_layout(&mut self, key: KeyEvent) -> Option<Vec<Action>> {
        if self.keys.jump_to_new.matches(&key) {
            return Some(self.jump_to_new());
        }
        if self.keys.toggle_channels.matches(&key) {
            self.list_hidden = !self.list_hidden;
        } else if self.keys.narrower_channels.matches(&key) {
            self.list_width = self
                .list_width
                .saturating_sub(4)
                .max(*CHANNEL_LIST_WIDTHS.start());
        } else if self.keys.wider_channels.matches(&key) {
            self.list_width = (self.list_width + 4).min(*CHANNEL_LIST_WIDTHS.end());
        } else {
            return None;
        }
        Some(Vec::new())
    }

    /// Up, Down, PageUp, PageDown, Home and End scroll an overlay's lines.
    fn on_key_overlay_scroll(&mut self, key: KeyEvent) -> bool {
        if !matches!(self.mode, Mode::Info { .. } | Mode::Help) {
            return false;
        }
        let page = isize::try_from(self.geometry.get().overlay_rows.max(2)).unwrap_or(2) - 1;
        let by = match key.code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            KeyCode::PageUp => -page,
            KeyCode::PageDown | KeyCode::Char(' ') => page,
            KeyCode::Home | KeyCode::Char('g') => isize::MIN / 2,
            KeyCode::End | KeyCode::Char('G') => isize::MAX / 2,
            _ => return false,
        };
        self.scroll_overlay(by);
        true
    }

    fn on_key_overlay(&mut self, key: KeyEvent) -> Vec<Action> {
        if self.on_key_overlay_scroll(key) {
            return Vec::new();
        }
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
            self.overlay_scroll = 0;
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
                self.scroll_down(1);
                Vec::new()
            }
            KeyCode::Char('g') | KeyCode::Home => self.scroll_to_oldest(),
            KeyCode::Char('G') | KeyCode::End => {
                self.scroll_to_newest();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
