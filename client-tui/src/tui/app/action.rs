//! What the app asks the runner to do ([`Action`]) and what comes back ([`Update`]).

use vigil_client::engine::{ChannelSummary, Entry, Event};
use vigil_client::ui_state::UiState;
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::keys::IdentityPublicKey;
use vigil_protocol::label::Label;

use super::TrustMark;

/// What the app asks the runner for; each becomes one worker request ([`crate::tui`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Sends the text to the channel (queued while offline).
    Send(ChannelId, String),
    /// Creates a channel of that name and label, owned by us.
    Create(String, Label),
    /// Invites the member to the channel (the label's rules are checked first).
    Invite(ChannelId, UserId),
    /// Removes the member from the channel (new keys for the others).
    Remove(ChannelId, UserId),
    /// Changes the channel's label (a new epoch; the label's rules are checked first).
    Relabel(ChannelId, Label),
    /// Load a page of history older than `before` (or the newest).
    LoadHistory(ChannelId, Option<u64>),
    /// Ask for the channel list again.
    RefreshChannels,
    /// Ask what we know of a contact's keys.
    Contact(UserId),
    /// Show a member's certificate details.
    Whois(UserId),
    /// Show the safety number with a contact.
    SafetyNumber(UserId),
    /// Mark a contact verified with the number shown.
    MarkVerified(UserId, String),
    /// Exports the channel to the file (JSON for `.json`, else Markdown).
    Export(ChannelId, String),
    /// Searches the channel's local history for the text (any case).
    Search(ChannelId, String),
    /// Reads the TUI's saved state (drafts, sent messages, read marks, unread counts).
    LoadUiState,
    /// Saves the TUI's state, sealed in the store (see [`crate::tui::app::App::snapshot`]).
    SaveUiState(UiState),
    /// Rings the terminal bell (a mention, when configured).
    Bell,
    /// Clears the terminal and draws the whole screen again (Ctrl-L).
    Redraw,
    /// Opens the compose box's text in the user's editor (`$VISUAL`, `$EDITOR`, else `vi`);
    /// the text comes back as [`Update::Edited`], a failure as [`Update::Refused`].
    Editor,
    /// Ends the TUI.
    Quit,
}

/// What comes back to the app: an engine event, or the answer to an [`Action`].
#[derive(Clone, Debug)]
pub enum Update {
    /// Something the worker saw (a message, a delivery, a warning, the connection).
    Event(Event),
    /// Every channel of ours, sorted by name.
    Channels(Vec<ChannelSummary>),
    /// A page of history, newest first.
    History(ChannelId, Option<u64>, Vec<(u64, Entry)>),
    /// What we know of a contact: the mark of the identity key pinned for them now, and that
    /// key (none when we have not pinned one).
    Trust(UserId, Option<IdentityPublicKey>, TrustMark),
    /// The TUI's saved state, read at start (see [`crate::tui::app::App::restore`]).
    UiState(UiState),
    /// An action succeeded: a short confirmation.
    Done(String),
    /// An action was refused: the reason (shown so it cannot be missed).
    Refused(String),
    /// An overlay to show: its title and lines.
    Info(String, Vec<String>),
    /// The safety number with a contact, in groups, and what we know of them.
    Safety(UserId, String, String),
    /// The text the editor returned for the compose box ([`Action::Editor`]).
    Edited(String),
}
