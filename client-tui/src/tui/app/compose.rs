//! The compose box: which key does what in it, pasting, Tab completion of commands, users and
//! channels (Tab only ever completes), and Enter: a message, or a `/command` whose line stays
//! in the box when it did nothing. A line that starts with `/` but is no command is offered
//! as text: Enter again sends it as it is; `//` at the start sends the rest as text at once.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::commands::CommandError;
use super::{Action, App, COMMANDS, Focus};

impl App {
    /// Pasted text arrives intact (bracketed paste): newlines and all.
    pub fn on_paste(&mut self, text: &str) {
        self.focus = Focus::Compose;
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        self.insert(&text);
    }

    /// A key in the compose box: new line, Enter, Tab completion, the editing keys, the
    /// history, or a character typed.
    pub(super) fn on_key_compose(&mut self, key: KeyEvent) -> Vec<Action> {
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter if alt || shift => self.insert("\n"),
            KeyCode::Char('j') if ctrl => self.insert("\n"),
            KeyCode::Enter => return self.submit(),
            KeyCode::Tab => self.complete_word(),
            KeyCode::Up => self.on_up(),
            KeyCode::Down => self.on_down(),
            _ if self.on_edit_key(&key) => {}
            KeyCode::Char(c) if !ctrl && !alt => {
                let mut buf = [0u8; 4];
                self.insert(c.encode_utf8(&mut buf));
            }
            _ => {}
        }
        Vec::new()
    }

    /// Tab completion of the word before the cursor: a command, a user id after `@` (a
    /// mention), then a user id or a channel name as the command takes.
    pub fn complete_word(&mut self) {
        let before: String = self.compose.chars().take(self.cursor).collect();
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = before.get(start..).unwrap_or_default();
        let candidates: Vec<String> = if start == 0 && word.starts_with('/') {
            COMMANDS
                .iter()
                .filter_map(|(usage, _)| usage.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        } else if word.starts_with('@') {
            self.known_users().iter().map(|u| format!("@{u}")).collect()
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

    /// Enter: the line as a message, or as a command; the box keeps the text of a command
    /// that did nothing, with the reason on the status line.
    fn submit(&mut self) -> Vec<Action> {
        let text = self.compose.clone();
        let trimmed = text.trim_start();
        if trimmed.trim_end().is_empty() {
            return Vec::new();
        }
        let offered = self.input.offered.as_ref() == Some(&text);
        if trimmed.starts_with('/') && !trimmed.starts_with("//") && !offered {
            return self.run_command(text);
        }
        let body = if offered {
            self.status = Some(("sent as text: it was not a command".into(), false));
            text.clone()
        } else if trimmed.starts_with("//") {
            let at = text.len() - trimmed.len();
            format!("{}{}", &text[..at], &text[at + 1..])
        } else {
            text.clone()
        };
        let Some(id) = self.current_id() else {
            self.refuse("no channel open: create one with /create NAME --tlp TLP --level LEVEL");
            return Vec::new();
        };
        self.remember(&text);
        self.set_compose(String::new());
        self.input.last_target = Some(id);
        self.scroll = 0;
        vec![Action::Send(id, body)]
    }

    /// The editor's text in the box ([`Action::Editor`]); an empty text leaves a draft as it
    /// was, so a failed or aborted edit never loses it.
    pub(super) fn on_edited(&mut self, text: String) {
        self.focus = Focus::Compose;
        if text.trim().is_empty() && !self.compose.trim().is_empty() {
            self.status = Some((
                "the editor returned no text: the draft is unchanged (Ctrl-U clears it)".into(),
                false,
            ));
            return;
        }
        self.set_compose(text);
    }

    /// A `/command` line: out of the box while it runs (a command that opens another channel
    /// must not leave it there as a draft), back in it when the command did nothing or asks
    /// first.
    fn run_command(&mut self, text: String) -> Vec<Action> {
        self.set_compose(String::new());
        match self.command(&text) {
            Ok(actions) if self.input.question.is_some() => {
                self.set_compose(text);
                actions
            }
            Ok(actions) => {
                self.remember(&text);
                actions
            }
            Err(why) => {
                if matches!(why, CommandError::Unknown(_)) {
                    self.input.offered = Some(text.clone());
                }
                self.set_compose(text);
                self.refuse(&why.to_string());
                Vec::new()
            }
        }
    }
}
