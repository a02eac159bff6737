//! `vigil send`, `vigil read [--follow] [--json]` and `vigil export`: a channel's messages in
//! and out. Every text another member wrote is printed through [`vigil_client::sanitize`] or
//! the export's escaping.

use std::io::{Read as _, Write};
use std::path::Path;
use vigil_protocol::channel::ChannelId;

use vigil_client::client::{Client, ClientError};
use vigil_client::engine::{Connection, Entry, Event, Place};
use vigil_client::history::{Marks, all_history, entry_mark};
use vigil_client::sanitize::line;
use vigil_common::now;

use super::session::report_warning;
use super::{CliError, Notes};
use crate::export::{self, Format};

/// `send`: `text`, or standard input when it is not given; queued when offline.
pub(super) fn send(
    client: &mut Client,
    channel: &str,
    text: Option<String>,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let text = match text {
        Some(text) => text,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(CliError::Input)?;
            text
        }
    };
    client.engine_mut().send_text(id, &text, now())?;
    Ok(())
}

/// `read`: the channel's history (the newest `last`), between label banners unless `json`;
/// with `follow` the closing banner waits for [`follow`].
pub(super) fn read(
    client: &mut Client,
    channel: &str,
    follow: bool,
    json: bool,
    last: Option<usize>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let summary = client.engine().channel(id)?;
    let entries = all_history(client.engine(), id, last)?;
    let banner = format!("==== {} ====", line(&summary.label.to_string()));
    let output = CliError::Output;
    if !json {
        writeln!(out, "{banner}").map_err(output)?;
        let members = summary.members.len();
        writeln!(out, "{} ({members} members)", line(&summary.name)).map_err(output)?;
    }
    let mut marks = Marks::new(client.engine());
    for (seq, entry) in &entries {
        print_line(id, *seq, entry, marks.of_entry(entry), json, out)?;
    }
    let waiting = client.engine().waiting(id);
    if waiting > 0 && !json {
        writeln!(
            out,
            "[{waiting} message(s) waiting for their sender's key; they appear when it arrives]"
        )
        .map_err(output)?;
    }
    if !json && !follow {
        writeln!(out, "{banner}").map_err(output)?;
    }
    out.flush().map_err(output)
}

/// `read --follow` after the history is printed: the network worker keeps the connection (and
/// reconnects), and new messages of the channel are printed as they arrive, until Ctrl-C.
/// Gives the client back unless the worker failed.
pub(super) async fn follow(
    client: Client,
    channel: &str,
    json: bool,
    out: &mut dyn Write,
    notes: &mut dyn Notes,
) -> (Option<Client>, Result<(), CliError>) {
    let id = match client.engine().find_channel(channel) {
        Ok(id) => id,
        Err(e) => return (Some(client), Err(e.into())),
    };
    let me = client.engine().user().clone();
    let banner = client
        .engine()
        .channel(id)
        .map(|c| format!("==== {} ====", line(&c.label.to_string())))
        .unwrap_or_default();
    let (handle, mut events, task) = vigil_client::worker::spawn(client);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut result = Ok(());
    loop {
        let event = tokio::select! {
            _ = &mut stop => break,
            event = events.recv() => event,
        };
        let Some(event) = event else { break };
        match event {
            Event::Message { place, seq, entry } if place == Place::Channel(id) => {
                let contact = handle.contact(entry.sender.clone()).await.ok().flatten();
                let trust = entry_mark(&me, &entry, contact.as_ref());
                if let Err(e) = print_line(id, seq, &entry, trust, json, out) {
                    result = Err(e);
                    break;
                }
            }
            Event::Connection(Connection::Offline(why)) => {
                notes.note(&format!("offline ({why}); reconnecting"));
            }
            Event::Connection(Connection::Refused(why)) => {
                result = Err(ClientError::LoginRefused(why).into());
                break;
            }
            other => report_warning(&other, notes),
        }
    }
    handle.shutdown().await;
    let client = match task.await {
        Ok(client) => client,
        Err(e) => return (None, Err(CliError::Worker(e))),
    };
    if result.is_ok() && !json {
        result = writeln!(out, "{banner}").map_err(CliError::Output);
    }
    (Some(client), result)
}

/// One history entry: a text line, or a JSON object with `json`.
fn print_line(
    channel: ChannelId,
    seq: u64,
    entry: &Entry,
    trust: &str,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if json {
        writeln!(out, "{}", json_line(channel, seq, entry, trust)).map_err(CliError::Output)?;
    } else {
        writeln!(out, "{}", export::text_line(entry, trust)).map_err(CliError::Output)?;
    }
    out.flush().map_err(CliError::Output)
}

/// The JSON object of `read --json`.
fn json_line(channel: ChannelId, seq: u64, entry: &Entry, trust: &str) -> String {
    let (kind, text) = entry.body.kind_and_text();
    let delivery = entry.delivery.as_ref().map_or_else(
        || "null".to_owned(),
        |d| vigil_common::json::string(&d.to_string()),
    );
    let channel = vigil_common::json::string(&channel.to_string());
    format!(
        "{{\"channel\":{channel},\"seq\":{seq},\"at\":{},\"sender\":{},\"name\":{},\
         \"trust\":{},\"kind\":{},\"text\":{},\"delivery\":{delivery}}}",
        vigil_common::json::string(&entry.at.to_string()),
        vigil_common::json::string(entry.sender.as_str()),
        vigil_common::json::string(&entry.sender_name),
        vigil_common::json::string(trust),
        vigil_common::json::string(kind),
        vigil_common::json::string(text),
    )
}

/// `export`: the channel's history in `format` to a new `file` (refused for `TLP:RED`).
pub(super) fn export(
    client: &Client,
    channel: &str,
    file: &Path,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let id = client.engine().find_channel(channel)?;
    let written = export::export(client.engine(), id, format, now())?;
    vigil_common::fs::write_new(file, written.as_bytes())?;
    writeln!(out, "Exported {channel} to {}", file.display()).map_err(CliError::Output)
}
