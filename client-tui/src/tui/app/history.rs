//! What the compose box remembers: the history of what was sent (Up/Down in an empty box walk
//! it, oldest first in [`App::sent`]) and a draft per channel (the box's text is kept for the
//! channel you leave and comes back when you return, in [`App::drafts`]).

use std::collections::BTreeMap;

use vigil_protocol::channel::ChannelId;

use super::App;

/// Entries kept in the sent history: enough for a shift, small enough to seal and load at
/// once; the oldest go first.
pub const MAX_SENT_HISTORY: usize = 500;

impl App {
    /// Whether Up/Down are walking the history: the box shows the entry they recalled,
    /// unedited.
    fn recalling(&self) -> Option<usize> {
        match &self.input.recall {
            Some((index, text)) if *text == self.compose => Some(*index),
            _ => None,
        }
    }

    /// Up: the previous entry of the history when the box is empty or shows one, else the
    /// line above in the draft.
    pub(super) fn on_up(&mut self) {
        let index = match self.recalling() {
            Some(index) => index.checked_sub(1),
            None if self.compose.is_empty() => self.sent.len().checked_sub(1),
            None => return self.line_up(),
        };
        if let Some(index) = index {
            self.recall(index);
        }
    }

    /// Down: the next entry of the history (past the newest, an empty box) when the box shows
    /// one, else the line below in the draft.
    pub(super) fn on_down(&mut self) {
        match self.recalling() {
            Some(index) if index + 1 < self.sent.len() => self.recall(index + 1),
            Some(_) => {
                self.input.recall = None;
                self.set_compose(String::new());
            }
            None => self.line_down(),
        }
    }

    fn recall(&mut self, index: usize) {
        let text = self.sent.get(index).cloned().unwrap_or_default();
        self.input.recall = Some((index, text.clone()));
        self.set_compose(text);
    }

    /// Keeps `line` (a message sent or a command run) in the history, once in a row.
    pub(super) fn remember(&mut self, line: &str) {
        if self.sent.last().is_none_or(|last| last != line) {
            self.sent.push(line.to_owned());
        }
        if self.sent.len() > MAX_SENT_HISTORY {
            let excess = self.sent.len() - MAX_SENT_HISTORY;
            self.sent.drain(..excess);
        }
        self.input.recall = None;
        self.input.offered = None;
    }

    /// After the open channel changed: the box's text is kept as the draft of the channel it
    /// was typed in and the new channel's draft comes back. Text typed before any channel was
    /// open stays in the box (after the channel's own draft, if it has one).
    pub(super) fn switch_draft(&mut self) {
        let Some(now) = self.current_id() else {
            return;
        };
        let before = self.input.compose_channel.replace(now);
        if before == Some(now) {
            return;
        }
        let typed = std::mem::take(&mut self.compose);
        let draft = self.drafts.remove(&now).unwrap_or_default();
        self.input.recall = None;
        self.input.offered = None;
        match before {
            Some(left) => {
                if !typed.is_empty() {
                    // A draft restored for that channel while the box held text is kept too.
                    let kept = self.drafts.entry(left).or_default();
                    if !kept.is_empty() {
                        kept.push('\n');
                    }
                    kept.push_str(&typed);
                }
                self.set_compose(draft);
            }
            None if draft.is_empty() => self.set_compose(typed),
            None if typed.is_empty() => self.set_compose(draft),
            None => self.set_compose(format!("{draft}\n{typed}")),
        }
    }

    /// Every unsent draft, the open channel's (the compose box) included: what to keep when
    /// vigil stops.
    #[must_use]
    pub fn drafts_to_keep(&self) -> BTreeMap<ChannelId, String> {
        let mut drafts = self.drafts.clone();
        if let Some(id) = self.input.compose_channel
            && !self.compose.is_empty()
        {
            drafts.insert(id, self.compose.clone());
        }
        drafts
    }
}
