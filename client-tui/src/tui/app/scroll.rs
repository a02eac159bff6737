//! Moving through the open channel's history by rows of the screen, not by messages: a line
//! or a page at a time (a page is the pane's height less one row, so no row is ever skipped),
//! to the oldest entry, to the "new since you left" line or to a date. Older history loads as
//! the reader nears it; a target not loaded yet is reached page by page ([`Seek`]). The mouse
//! scrolls and picks channels here too.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use vigil_client::engine::Entry;

use super::{Action, App, CommandError, Focus, Seek, WHEEL_ROWS};
use crate::tui::view::rows;

/// Older history is asked for when the view is within this many pages of the oldest loaded
/// row.
const PREFETCH_PAGES: usize = 2;

impl App {
    fn loaded(&self) -> &[(u64, Entry)] {
        self.current_id()
            .and_then(|id| self.messages.get(&id))
            .map_or(&[], Vec::as_slice)
    }

    /// The message pane's width and height in cells, as last drawn.
    fn pane(&self) -> (usize, usize) {
        let area = self.geometry.get().messages;
        (
            usize::from(area.width).max(1),
            usize::from(area.height).max(1),
        )
    }

    /// Rows a PageUp or PageDown moves: the pane less one row, which stays in view.
    #[must_use]
    pub fn page_rows(&self) -> usize {
        self.pane().1.saturating_sub(1).max(1)
    }

    /// Rows the open channel's loaded history takes at the pane's width.
    #[must_use]
    pub fn total_rows(&self) -> usize {
        let entries = self.loaded();
        rows::count(self, entries, self.pane().0, entries.len())
    }

    /// How far up the pane can scroll, as far as `wanted` needs to know: `wanted` itself when
    /// there are rows enough above it (they are not all counted), and whether the answer is
    /// the real top.
    fn max_scroll_near(&self, wanted: usize) -> (usize, bool) {
        let (width, height) = self.pane();
        let limit = wanted.saturating_add((PREFETCH_PAGES + 1) * height);
        let (rows, all) = rows::count_from_newest(self, self.loaded(), width, limit);
        (rows.saturating_sub(height), all)
    }

    /// The request for the page of history before the oldest loaded entry, unless all of it
    /// is loaded.
    fn older_page(&self) -> Option<Action> {
        let id = self.current_id()?;
        if self.complete.contains(&id) {
            return None;
        }
        let oldest = self.messages.get(&id)?.first().map(|(seq, _)| *seq)?;
        Some(Action::LoadHistory(id, Some(oldest)))
    }

    /// Scrolls up `by` rows (no further than the oldest loaded row); within two pages of it,
    /// asks for the page of history before it.
    pub(super) fn scroll_up(&mut self, by: usize) -> Vec<Action> {
        self.seek = None;
        let wanted = self.scroll.saturating_add(by);
        let (max, top) = self.max_scroll_near(wanted);
        self.scroll = wanted.min(max);
        // Rows above the view: counted only near the top of what is loaded.
        if top && max - self.scroll < PREFETCH_PAGES * self.pane().1 {
            return self.older_page().into_iter().collect();
        }
        Vec::new()
    }

    /// Scrolls down `by` rows, towards the newest.
    pub(super) fn scroll_down(&mut self, by: usize) {
        self.seek = None;
        let (max, _) = self.max_scroll_near(self.scroll);
        self.scroll = self.scroll.min(max).saturating_sub(by);
    }

    /// PageUp.
    pub(super) fn page_up(&mut self) -> Vec<Action> {
        self.scroll_up(self.page_rows())
    }

    /// PageDown.
    pub(super) fn page_down(&mut self) {
        self.scroll_down(self.page_rows());
    }

    /// The newest entry in view (End).
    pub(super) fn scroll_to_newest(&mut self) {
        self.seek = None;
        self.scroll = 0;
    }

    /// The oldest entry of the channel in view (Home): all of its history is loaded first.
    pub(super) fn scroll_to_oldest(&mut self) -> Vec<Action> {
        self.seek_to(Seek::Top)
    }

    /// The "new since you left" line at the top of the pane; says so when there is none.
    pub(super) fn jump_to_new(&mut self) -> Vec<Action> {
        match self.since {
            Some(mark) => self.seek_to(Seek::After(mark)),
            None => {
                self.status = Some(("nothing new since you were last here".into(), false));
                Vec::new()
            }
        }
    }

    /// `/jump DATE [HH:MM]`: the first entry at or after that time at the top of the pane.
    ///
    /// # Errors
    ///
    /// [`CommandError::Usage`] when `when` is not a date.
    pub(super) fn jump(&mut self, when: &str) -> Result<Vec<Action>, CommandError> {
        let at = self.clock.parse(when).ok_or(CommandError::Usage(
            "/jump YYYY-MM-DD [HH:MM] (in the time shown beside messages)",
        ))?;
        Ok(self.seek_to(Seek::Time(at)))
    }

    fn seek_to(&mut self, seek: Seek) -> Vec<Action> {
        self.seek = Some(seek);
        self.continue_seek()
    }

    /// After a page of history arrived: goes on towards the target, or shows it.
    pub(super) fn continue_seek(&mut self) -> Vec<Action> {
        let Some(seek) = self.seek else {
            return Vec::new();
        };
        let entries = self.loaded();
        let found = match seek {
            Seek::Top => Some(0),
            Seek::After(mark) => entries.iter().position(|(seq, _)| *seq > mark),
            Seek::Time(at) => entries.iter().position(|(_, e)| e.at >= at),
        };
        // The target may be older than what is loaded: load on until it is not.
        let before_loaded = found == Some(0) || (found.is_none() && seek == Seek::Top);
        if before_loaded && let Some(older) = self.older_page() {
            return vec![older];
        }
        self.seek = None;
        match found {
            Some(index) => {
                let (width, height) = self.pane();
                let above = rows::count(self, self.loaded(), width, index);
                let total = self.total_rows();
                self.scroll = total.saturating_sub(above + height);
            }
            None if matches!(seek, Seek::Time(_)) => {
                self.status = Some(("nothing that late: showing the newest".into(), false));
                self.scroll = 0;
            }
            None => self.scroll = 0,
        }
        Vec::new()
    }

    /// The mouse: the wheel scrolls the pane under it, a click picks a channel or the pane.
    /// While a question waits for its answer, the mouse changes nothing (a click could open
    /// another channel under a question that names one).
    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Action> {
        if !self.mouse || self.input.question.is_some() {
            return Vec::new();
        }
        let geometry = self.geometry.get();
        let at = ratatui::layout::Position::new(event.column, event.row);
        match event.kind {
            MouseEventKind::ScrollUp if geometry.messages.contains(at) => {
                self.scroll_up(WHEEL_ROWS)
            }
            MouseEventKind::ScrollDown if geometry.messages.contains(at) => {
                self.scroll_down(WHEEL_ROWS);
                Vec::new()
            }
            MouseEventKind::Down(MouseButton::Left) if geometry.list.contains(at) => {
                let height = usize::from(geometry.list.height).max(1);
                let offset = (self.selected + 1).saturating_sub(height);
                let row = usize::from(event.row - geometry.list.y) + offset;
                if row < self.channels.len() {
                    self.focus = Focus::Channels;
                    return self.select(row);
                }
                Vec::new()
            }
            MouseEventKind::Down(MouseButton::Left) if geometry.messages.contains(at) => {
                self.focus = Focus::Messages;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Keeps the rows in view where they are when the entry of sequence number `seq` was
    /// added below them: the view moves up by that entry's rows.
    pub(super) fn keep_place(&mut self, seq: u64) {
        if self.scroll == 0 {
            return;
        }
        let entries = self.loaded();
        if let Ok(index) = entries.binary_search_by_key(&seq, |(s, _)| *s) {
            self.scroll += rows::rows_of(self, entries, index, self.pane().0);
        }
    }

    /// Scrolls the overlay by `by` rows (negative: up), within its text as last drawn.
    pub(super) fn scroll_overlay(&mut self, by: isize) {
        let geometry = self.geometry.get();
        let rows = usize::from(geometry.overlay_rows).max(1);
        let max = geometry.overlay_total.saturating_sub(rows);
        self.overlay_scroll = self.overlay_scroll.saturating_add_signed(by).min(max);
    }
}
