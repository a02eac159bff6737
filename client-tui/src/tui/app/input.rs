//! What a key does: the configured bindings first, then the overlay, then the pane that has
//! the keyboard (the compose box's keys are in [`super::compose`]).

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{Action, App, Focus, Mode, SCROLL_STEP};

impl App {
    /// Applies a key: the configured bindings first, then the overlay, then the focused pane.
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
}
