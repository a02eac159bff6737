//! Editing the compose box the way readline and emacs do: moving by character, word and line,
//! deleting and killing (the last kill comes back with Ctrl-Y). "Line" is the line of a
//! multi-line draft the cursor is on; a "word" is a run of letters and digits, except for
//! Ctrl-W, which like the shell's deletes back to the previous blank.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::App;

/// What an editing key does with the text between the cursor and a position.
enum Edit {
    /// The cursor goes there.
    Move(usize),
    /// The text up to there goes to the kill buffer.
    Kill(usize),
    /// The text up to there is deleted.
    Delete(usize),
}

/// Where the line holding char index `at` starts.
pub(super) fn line_start(text: &[char], at: usize) -> usize {
    text[..at.min(text.len())]
        .iter()
        .rposition(|c| *c == '\n')
        .map_or(0, |i| i + 1)
}

/// Where the line holding char index `at` ends (at its newline, or the end of the text).
pub(super) fn line_end(text: &[char], at: usize) -> usize {
    let at = at.min(text.len());
    text[at..]
        .iter()
        .position(|c| *c == '\n')
        .map_or(text.len(), |i| at + i)
}

/// The start of the word before `at` (Alt-B, Alt-Backspace).
pub(super) fn word_back(text: &[char], at: usize) -> usize {
    let mut i = at.min(text.len());
    while i > 0 && !text[i - 1].is_alphanumeric() {
        i -= 1;
    }
    while i > 0 && text[i - 1].is_alphanumeric() {
        i -= 1;
    }
    i
}

/// The end of the word after `at` (Alt-F, Alt-D).
pub(super) fn word_forward(text: &[char], at: usize) -> usize {
    let mut i = at.min(text.len());
    while i < text.len() && !text[i].is_alphanumeric() {
        i += 1;
    }
    while i < text.len() && text[i].is_alphanumeric() {
        i += 1;
    }
    i
}

/// The start of the blank-separated word before `at` (Ctrl-W).
pub(super) fn blank_word_back(text: &[char], at: usize) -> usize {
    let mut i = at.min(text.len());
    while i > 0 && text[i - 1].is_whitespace() {
        i -= 1;
    }
    while i > 0 && !text[i - 1].is_whitespace() {
        i -= 1;
    }
    i
}

impl App {
    /// The compose box's text as characters (the cursor is a char index into it).
    pub(super) fn chars(&self) -> Vec<char> {
        self.compose.chars().collect()
    }

    /// The byte offset of char index `at` in the compose box.
    fn byte_at(&self, at: usize) -> usize {
        self.compose
            .char_indices()
            .nth(at)
            .map_or(self.compose.len(), |(i, _)| i)
    }

    /// Inserts `text` at the cursor and moves the cursor after it.
    pub(super) fn insert(&mut self, text: &str) {
        let at = self.byte_at(self.cursor);
        self.compose.insert_str(at, text);
        self.cursor += text.chars().count();
    }

    /// Removes chars `from..to` and returns them; the cursor goes to `from`.
    fn cut(&mut self, from: usize, to: usize) -> String {
        let (from, to) = (from.min(to), from.max(to));
        let range = self.byte_at(from)..self.byte_at(to);
        self.cursor = from;
        self.compose.drain(range).collect()
    }

    /// Removes chars `from..to` into the kill buffer (nothing when the range is empty).
    fn kill(&mut self, from: usize, to: usize) {
        let killed = self.cut(from, to);
        if !killed.is_empty() {
            self.input.kill = killed;
        }
    }

    /// Replaces the compose box's text, the cursor at its end.
    pub(super) fn set_compose(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.compose = text;
    }

    /// A readline key in the compose box; `false` when `key` is not one.
    pub(super) fn on_edit_key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let text = self.chars();
        let at = self.cursor.min(text.len());
        use Edit::{Delete, Kill, Move};
        let target = match key.code {
            KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
                'a' => Move(line_start(&text, at)),
                'e' => Move(line_end(&text, at)),
                'b' => Move(at.saturating_sub(1)),
                'f' => Move((at + 1).min(text.len())),
                'w' => Kill(blank_word_back(&text, at)),
                'u' => Kill(line_start(&text, at)),
                'k' if line_end(&text, at) == at => Kill((at + 1).min(text.len())),
                'k' => Kill(line_end(&text, at)),
                'd' => Delete((at + 1).min(text.len())),
                'h' => Delete(at.saturating_sub(1)),
                'y' => return self.yank(),
                _ => return false,
            },
            KeyCode::Char(c) if alt => match c.to_ascii_lowercase() {
                'b' => Move(word_back(&text, at)),
                'f' => Move(word_forward(&text, at)),
                'd' => Kill(word_forward(&text, at)),
                _ => return false,
            },
            KeyCode::Backspace if alt || ctrl => Kill(word_back(&text, at)),
            KeyCode::Backspace => Delete(at.saturating_sub(1)),
            KeyCode::Delete => Delete((at + 1).min(text.len())),
            KeyCode::Left if ctrl || alt => Move(word_back(&text, at)),
            KeyCode::Right if ctrl || alt => Move(word_forward(&text, at)),
            KeyCode::Left => Move(at.saturating_sub(1)),
            KeyCode::Right => Move((at + 1).min(text.len())),
            KeyCode::Home if ctrl => Move(0),
            KeyCode::End if ctrl => Move(text.len()),
            KeyCode::Home => Move(line_start(&text, at)),
            KeyCode::End => Move(line_end(&text, at)),
            _ => return false,
        };
        match target {
            Move(to) => self.cursor = to,
            Kill(to) => self.kill(at, to),
            Delete(to) => {
                self.cut(at, to);
            }
        }
        true
    }

    /// Ctrl-Y: the last kill, inserted at the cursor.
    fn yank(&mut self) -> bool {
        let kill = self.input.kill.clone();
        self.insert(&kill);
        true
    }

    /// Up in a draft: the same column on the line above (the start of the text on the first).
    pub(super) fn line_up(&mut self) {
        let text = self.chars();
        let start = line_start(&text, self.cursor);
        if start == 0 {
            self.cursor = 0;
            return;
        }
        let column = self.cursor - start;
        let above = line_start(&text, start - 1);
        self.cursor = above + column.min(start - 1 - above);
    }

    /// Down in a draft: the same column on the line below (the end of the text on the last).
    pub(super) fn line_down(&mut self) {
        let text = self.chars();
        let end = line_end(&text, self.cursor);
        if end == text.len() {
            self.cursor = end;
            return;
        }
        let column = self.cursor - line_start(&text, self.cursor);
        let below = end + 1;
        self.cursor = below + column.min(line_end(&text, below) - below);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "test code")]

    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn words_and_lines_are_found_in_chars() {
        let t = chars("grep -i 'évil' /var/log\nsecond line");
        assert_eq!(line_start(&t, 5), 0);
        assert_eq!(line_end(&t, 5), 23);
        assert_eq!(line_start(&t, 30), 24);
        assert_eq!(line_end(&t, 30), t.len());
        // From after "évil'": back over the quote, then the word (accents are letters).
        assert_eq!(word_back(&t, 14), 9);
        assert_eq!(word_forward(&t, 8), 13);
        assert_eq!(blank_word_back(&t, 14), 8);
        assert_eq!(word_back(&t, 0), 0);
        assert_eq!(word_forward(&t, t.len()), t.len());
    }
}
