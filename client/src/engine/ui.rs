//! What the engine keeps for a user interface: its saved state ([`UiState`], sealed like every
//! record) and the count of our messages still waiting in the outbox.

use super::records::OutboxEntry;
use super::{Engine, EngineError};
use crate::store::Kind;
use crate::ui_state::UiState;

/// The record key of the user interface's state, in [`Kind::Meta`].
const UI_STATE: &[u8] = b"ui-state";

impl Engine {
    /// The user interface's saved state (empty before the first save).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn ui_state(&self) -> Result<UiState, EngineError> {
        Ok(self.store.get(Kind::Meta, UI_STATE)?.unwrap_or_default())
    }

    /// Saves the user interface's state (within its bounds, see [`UiState::bounded`]), sealed
    /// and durable before it returns.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn save_ui_state(&self, state: &UiState) -> Result<(), EngineError> {
        let state = state.clone().bounded();
        self.store.put(Kind::Meta, UI_STATE, &state)?;
        self.store.flush()?;
        Ok(())
    }

    /// How many of our messages wait in the outbox: the entries shown `(queued)` in history
    /// (the outbox also holds channel changes and keys for members, which are not counted).
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn queued_messages(&self) -> Result<usize, EngineError> {
        let entries = self.store.scan::<OutboxEntry>(Kind::Outbox, &[])?;
        Ok(entries.iter().filter(|(_, e)| e.history.is_some()).count())
    }
}
