//! Questions asked before what cannot be taken back: quitting with a draft in the compose box,
//! and adding or removing a member where the rule in [`super::commands`] asks for care. The
//! question is an overlay; the next key answers it: `y` is yes (for quitting, the quit key
//! again is yes too), any other key is no and does nothing else. Answers that arrive while a
//! question is open wait behind it.

use ratatui::crossterm::event::KeyEvent;
use vigil_protocol::channel::ChannelId;

use super::input::plain_char;
use super::{Action, App, Mode};

/// What a yes does.
#[derive(Debug)]
pub(super) enum Pending {
    /// Leave vigil.
    Quit,
    /// Run `actions`, the command `line` typed in the compose box, on channel `target`;
    /// `done` is the status line.
    Run {
        line: String,
        actions: Vec<Action>,
        done: String,
        target: ChannelId,
    },
}

/// A question waiting for its answer, and the overlay it covers.
#[derive(Debug)]
pub(crate) struct Question {
    pub(super) pending: Pending,
    /// What was on screen when it was asked, or arrived since: shown again after the answer.
    pub(super) behind: Mode,
}

impl App {
    /// Asks `question` (a sentence ending in `?`); the next key answers it.
    pub(super) fn ask(&mut self, question: String, pending: Pending) {
        let lines = vec![
            question,
            String::new(),
            "y: yes      any other key: no".into(),
        ];
        let title = "Confirm".to_owned();
        let behind = std::mem::replace(&mut self.mode, Mode::Info { title, lines });
        self.overlay_scroll = 0;
        self.input.question = Some(Question { pending, behind });
    }

    /// The key answering the open question.
    pub(super) fn answer(&mut self, key: &KeyEvent) -> Vec<Action> {
        let Some(Question { pending, behind }) = self.input.question.take() else {
            return Vec::new();
        };
        self.mode = behind;
        self.overlay_scroll = 0;
        let yes = matches!(plain_char(key), Some('y' | 'Y'));
        match pending {
            Pending::Quit if yes || self.keys.quit.matches(key) => {
                self.quit = true;
                vec![Action::Quit]
            }
            Pending::Quit => {
                self.status = Some(("not quitting: your draft is still in the box".into(), false));
                Vec::new()
            }
            Pending::Run {
                line,
                actions,
                done,
                target,
            } if yes => {
                self.remember(&line);
                if self.compose == line {
                    self.set_compose(String::new());
                }
                self.input.last_target = Some(target);
                self.status = Some((done, false));
                actions
            }
            Pending::Run { .. } => {
                self.status = Some((
                    "cancelled: nothing was done (the command is still in the box)".into(),
                    false,
                ));
                Vec::new()
            }
        }
    }

    /// The quit key: at once with an empty compose box, else after asking.
    pub(super) fn quit_or_ask(&mut self) -> Vec<Action> {
        if self.compose.trim().is_empty() {
            self.quit = true;
            return vec![Action::Quit];
        }
        self.ask(
            "Quit vigil? The message box holds a draft (y or the quit key again: quit).".into(),
            Pending::Quit,
        );
        Vec::new()
    }
}
