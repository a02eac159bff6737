//! The requests the worker answers from the engine alone, without the relay: reading history,
//! channels, contacts, searching, exporting, the UI's saved state, and the changes that only
//! queue work for later (sending, creating a channel, marking a contact verified).
//!
//! They are answered even while the worker waits for the relay (see
//! [`crate::client::Client`]'s waits), so a relay that stops answering never holds up a local
//! action. Changes that race with what is in flight to the relay (removing a member, inviting
//! one) are not here: the worker answers those between network steps.

use tokio::sync::{mpsc, oneshot};
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::Label;
use vigil_protocol::{SafetyNumber, UserId};

use vigil_common::now;

use crate::client::ClientError;
use crate::engine::{ChannelSummary, Engine, EngineError, Entry, Event, Whois};
use crate::history::{self, Export, Hit};
use crate::trust::Contact;
use crate::ui_state::UiState;

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

/// A request answered from the engine alone; each carries the one-shot sender its answer goes
/// back on.
pub(crate) enum Local {
    Send {
        channel: ChannelId,
        text: String,
        reply: Reply<u64>,
    },
    Create {
        name: String,
        label: Label,
        reply: Reply<ChannelId>,
    },
    Verify {
        user: UserId,
        number: String,
        reply: Reply<()>,
    },
    Channels {
        reply: Reply<Vec<ChannelSummary>>,
    },
    History {
        channel: ChannelId,
        before: Option<u64>,
        limit: usize,
        reply: Reply<Vec<(u64, Entry)>>,
    },
    Contact {
        user: UserId,
        reply: Reply<Option<Contact>>,
    },
    Whois {
        user: UserId,
        reply: Reply<Whois>,
    },
    SafetyNumber {
        user: UserId,
        reply: Reply<(SafetyNumber, Option<Contact>)>,
    },
    Export {
        channel: ChannelId,
        reply: Reply<Export>,
    },
    Search {
        channel: Option<ChannelId>,
        text: String,
        limit: usize,
        reply: Reply<Vec<Hit>>,
    },
    UiState {
        reply: Reply<UiState>,
    },
    SaveUiState {
        state: Box<UiState>,
        reply: Reply<()>,
    },
}

/// Sends the answer to a query of the engine.
fn give<T>(reply: Reply<T>, result: Result<T, EngineError>) {
    let _ = reply.send(result.map_err(ClientError::from));
}

/// Forwards the events of an engine change and answers with its value.
fn keep<T>(
    reply: Reply<T>,
    events: &mpsc::UnboundedSender<Event>,
    result: Result<(T, Vec<Event>), EngineError>,
) {
    let value = result.map(|(value, new)| {
        for event in new {
            let _ = events.send(event);
        }
        value
    });
    give(reply, value);
}

impl Local {
    /// Answers the request from `engine`; events of a change go to `events`. Returns whether
    /// it queued something for the relay (the outbox is to be sent).
    pub(crate) fn answer(self, engine: &mut Engine, events: &mpsc::UnboundedSender<Event>) -> bool {
        let queued = matches!(self, Self::Send { .. } | Self::Create { .. });
        match self {
            Self::Send {
                channel,
                text,
                reply,
            } => {
                keep(reply, events, engine.send_text(channel, &text, now()));
                outbox_count(engine, events);
            }
            Self::Create { name, label, reply } => {
                keep(reply, events, engine.create_channel(&name, label, now()));
            }
            Self::Verify {
                user,
                number,
                reply,
            } => give(reply, engine.verify(&user, &number, now())),
            Self::Channels { reply } => give(reply, Ok(engine.channels())),
            Self::History {
                channel,
                before,
                limit,
                reply,
            } => give(reply, engine.history(channel, before, limit)),
            Self::Contact { user, reply } => give(reply, engine.contact(&user)),
            Self::Whois { user, reply } => give(reply, engine.whois(&user, now())),
            Self::SafetyNumber { user, reply } => give(reply, engine.safety_number(&user, now())),
            Self::Export { channel, reply } => give(reply, history::export(engine, channel)),
            Self::Search {
                channel,
                text,
                limit,
                reply,
            } => give(reply, history::search(engine, channel, &text, limit)),
            Self::UiState { reply } => give(reply, engine.ui_state()),
            Self::SaveUiState { state, reply } => give(reply, engine.save_ui_state(&state)),
        }
        queued
    }
}

/// Tells the UI how many of our messages wait in the outbox (after one was queued, online or
/// not: the count and the `(queued)` markers always agree).
pub(crate) fn outbox_count(engine: &Engine, events: &mpsc::UnboundedSender<Event>) {
    match engine.queued_messages() {
        Ok(n) => {
            let _ = events.send(Event::Outbox(n));
        }
        Err(e) => tracing::warn!(code = e.exit_code(), "counting the outbox failed"),
    }
}
