//! The compose box: editing at the cursor, pasting, Tab completion of commands, users and
//! channels, and Enter (a message, or a `/command`).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, App, COMMANDS, Focus};

impl App {
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

    pub(super) fn on_key_compose(&mut self, key: KeyEvent) -> Vec<Action> {
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
                self.scroll_down(1);
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
}
