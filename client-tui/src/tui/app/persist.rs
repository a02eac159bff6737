//! What the TUI keeps across restarts ([`UiState`], sealed in the store by the worker): drafts
//! per channel (the open channel's is the compose box), what was sent, the read marks and the
//! unread counts. [`App::snapshot`] takes it; [`App::restore`] puts it back, keeping the
//! unread counts of channels not listed yet until the channel list arrives.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vigil_client::ui_state::UiState;
use vigil_protocol::channel::ChannelId;

use super::App;

/// What was restored and is not applied yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Restored {
    /// Whether the saved state was read (nothing is saved before it was: a save would
    /// replace what was kept with an empty state).
    pub(crate) done: bool,
    /// Unread counts and mentions of channels not in the list yet.
    pub(crate) unread: BTreeMap<ChannelId, (usize, bool)>,
}

impl App {
    /// Puts back a saved state: drafts (the open channel's into the compose box when it is
    /// empty), what was sent, read marks and unread counts (the open channel's stays read).
    pub fn restore(&mut self, state: UiState) {
        let UiState {
            drafts,
            sent,
            read_marks,
            unread,
        } = state;
        for (channel, text) in drafts {
            self.drafts.entry(channel).or_insert(text);
        }
        let mut earlier = sent;
        earlier.append(&mut self.sent);
        self.sent = earlier;
        let open = self.current_id();
        // The open channel's "new since you left" line, when it was opened before this arrived.
        if self.since.is_none() {
            self.since = open.and_then(|id| read_marks.get(&id).copied());
        }
        for (channel, seq) in read_marks {
            self.read_marks.entry(channel).or_insert(seq);
        }
        for (channel, counts) in unread {
            if Some(channel) == open {
                continue;
            }
            match self.channels.iter_mut().find(|c| c.summary.id == channel) {
                Some(item) => {
                    item.unread += counts.0;
                    item.mention |= counts.1;
                }
                None => {
                    self.restored.unread.insert(channel, counts);
                }
            }
        }
        self.restored.done = true;
        self.draft_into_compose();
    }

    /// The state to save: `None` until the saved one was read (saving before would replace it).
    #[must_use]
    pub fn snapshot(&self) -> Option<UiState> {
        if !self.restored.done {
            return None;
        }
        let drafts = self.drafts_to_keep();
        let mut unread = self.restored.unread.clone();
        unread.extend(
            self.channels
                .iter()
                .filter(|c| c.unread > 0 || c.mention)
                .map(|c| (c.summary.id, (c.unread, c.mention))),
        );
        Some(
            UiState {
                drafts,
                sent: self.sent.clone(),
                read_marks: self.read_marks.clone(),
                unread,
            }
            .bounded(),
        )
    }

    /// Moves the open channel's draft into the compose box when the box is empty.
    pub(super) fn draft_into_compose(&mut self) {
        let Some(open) = self.current_id() else {
            return;
        };
        if self.compose.is_empty()
            && let Some(text) = self.drafts.remove(&open)
        {
            self.cursor = text.chars().count();
            self.compose = text;
        }
    }
}

/// Saves happen at most this often while the state changes (each is a sealed write and a
/// flush).
pub const SAVE_EVERY: Duration = Duration::from_secs(2);

/// When to save the TUI's state: on a change, at most every [`SAVE_EVERY`]. Takes the time as
/// an argument (no clock here).
#[derive(Debug, Default)]
pub struct Saver {
    /// What was last saved (or handed out to be saved).
    saved: Option<UiState>,
    /// When it was.
    at: Option<Instant>,
    /// A change waits for the next turn.
    waiting: bool,
}

impl Saver {
    /// The state to save now, if it changed and the last save is [`SAVE_EVERY`] old.
    pub fn poll(&mut self, app: &App, now: Instant) -> Option<UiState> {
        let snapshot = app.snapshot()?;
        if self.saved.as_ref() == Some(&snapshot) {
            self.waiting = false;
            return None;
        }
        if self.at.is_some_and(|at| now < at + SAVE_EVERY) {
            self.waiting = true;
            return None;
        }
        self.waiting = false;
        self.at = Some(now);
        self.saved = Some(snapshot.clone());
        Some(snapshot)
    }

    /// When to look again for a change that had to wait.
    #[must_use]
    pub fn wake_at(&self) -> Option<Instant> {
        self.at.filter(|_| self.waiting).map(|at| at + SAVE_EVERY)
    }

    /// The state to save on the way out, if anything changed since the last save.
    #[must_use]
    pub fn last(&self, app: &App) -> Option<UiState> {
        app.snapshot().filter(|s| self.saved.as_ref() != Some(s))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test"
    )]

    use std::time::{Duration, Instant};

    use vigil_client::engine::ChannelSummary;
    use vigil_client::ui_state::UiState;
    use vigil_protocol::UserId;
    use vigil_protocol::channel::ChannelId;
    use vigil_protocol::label::Label;
    use vigil_protocol::policy::ClassificationPolicy;

    use super::{App, SAVE_EVERY, Saver};
    use crate::config::Config;
    use crate::tui::app::Update;

    fn channel(n: u8, name: &str) -> ChannelSummary {
        ChannelSummary {
            id: ChannelId([n; 32]),
            name: name.into(),
            label: Label::new(
                "TLP:AMBER",
                "EU RESTRICTED",
                &[],
                ClassificationPolicy::eu(),
            )
            .unwrap(),
            owner: UserId::new("lead@cert-at").unwrap(),
            admins: vec![],
            alert: None,
            members: vec![],
            epoch: 0,
            member: true,
        }
    }

    fn app() -> App {
        let me = UserId::new("officer@cert-at").unwrap();
        App::new(me, "Anna Huber".into(), &Config::default())
    }

    fn listed(app: &mut App) {
        let _ = app.on_update(Update::Channels(vec![
            channel(1, "incident-42"),
            channel(2, "red-team"),
            channel(3, "public"),
        ]));
    }

    /// Defect 10 of issue 22 (unread counts lost on restart) and drafts kept per channel.
    #[test]
    fn drafts_sent_marks_and_unread_counts_survive_a_restart() {
        let mut before = app();
        listed(&mut before);
        let _ = before.on_update(Update::UiState(UiState::default()));
        before.compose = "half-typed reply to the open channel".into();
        before
            .drafts
            .insert(ChannelId([2; 32]), "draft for red-team".into());
        before.sent = vec!["first".into(), "second".into()];
        before.read_marks.insert(ChannelId([1; 32]), 41);
        before.channels[1].unread = 7;
        before.channels[2].unread = 2;
        before.channels[2].mention = true;
        let saved = before.snapshot().unwrap();
        assert_eq!(saved.drafts.len(), 2);
        assert_eq!(saved.unread.len(), 2);

        // Restored before the channel list arrives (the usual order at start).
        let mut after = app();
        let _ = after.on_update(Update::UiState(saved.clone()));
        assert!(after.compose.is_empty());
        listed(&mut after);
        assert_eq!(after.compose, "half-typed reply to the open channel");
        assert_eq!(after.cursor, after.compose.chars().count());
        assert_eq!(after.drafts[&ChannelId([2; 32])], "draft for red-team");
        assert_eq!(after.sent, ["first", "second"]);
        assert_eq!(after.read_marks[&ChannelId([1; 32])], 41);
        assert_eq!((after.channels[1].unread, after.channels[2].unread), (7, 2));
        assert!(after.channels[2].mention);
        assert_eq!(after.snapshot().unwrap(), saved);

        // Restored after the list arrived: the same.
        let mut late = app();
        listed(&mut late);
        let _ = late.on_update(Update::UiState(saved.clone()));
        assert_eq!(late.compose, "half-typed reply to the open channel");
        assert_eq!(late.snapshot().unwrap(), saved);
    }

    #[test]
    fn nothing_is_saved_before_the_saved_state_was_read_and_saves_are_spaced() {
        let mut app = app();
        listed(&mut app);
        let mut saver = Saver::default();
        let t0 = Instant::now();
        assert_eq!(
            saver.poll(&app, t0),
            None,
            "not read yet: would overwrite it"
        );
        let _ = app.on_update(Update::UiState(UiState::default()));
        assert!(saver.poll(&app, t0).is_some());
        assert_eq!(saver.poll(&app, t0), None, "unchanged");
        app.compose = "a".into();
        let soon = t0 + Duration::from_millis(100);
        assert_eq!(saver.poll(&app, soon), None, "too soon after the last save");
        assert_eq!(saver.wake_at(), Some(t0 + SAVE_EVERY));
        assert!(saver.last(&app).is_some(), "quitting saves what waited");
        let saved = saver.poll(&app, t0 + SAVE_EVERY).unwrap();
        assert_eq!(saved.drafts[&ChannelId([1; 32])], "a");
        assert_eq!(saver.wake_at(), None);
        assert_eq!(saver.last(&app), None);
    }
}
