//! Exporting a channel's history to a labelled file: the label banner on top and at the
//! bottom, each message with its sender, time and verification state. `TLP:RED` channels are
//! never exported.

use vigil_protocol::UnixTime;

use crate::cli::{Marks, all_history};
use crate::engine::{Body, Engine, EngineError, Entry};

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown, message texts as indented blocks (pasted logs and indicators stay intact).
    Markdown,
    /// One JSON document.
    Json,
}

/// A JSON string literal for `s`.
#[must_use]
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One line of text for a history entry (`read` without `--json`).
#[must_use]
pub fn text_line(entry: &Entry, trust: &str) -> String {
    let who = format!("{} <{}> ({trust})", entry.sender_name, entry.sender);
    let delivery = entry
        .delivery
        .as_ref()
        .map(|d| format!(" [{d}]"))
        .unwrap_or_default();
    match &entry.body {
        Body::Text(text) => {
            let text = text.trim_end().replace('\n', "\n    ");
            format!("{}  {who}{delivery}: {text}", entry.at)
        }
        Body::Notice(text) => format!("{}  * {text}", entry.at),
        Body::Alert(text) => format!("{}  !! {text}", entry.at),
        Body::Undecryptable(why) => {
            format!("{}  {who}: [could not decrypt or verify: {why}]", entry.at)
        }
    }
}

/// The export of `channel` in `format`.
///
/// # Errors
///
/// [`EngineError::Refused`] for a `TLP:RED` channel (rule: no export).
pub fn export(
    engine: &Engine,
    channel: [u8; 32],
    format: Format,
    now: UnixTime,
) -> Result<String, EngineError> {
    let summary = engine.channel(channel)?;
    if !summary.label.allows_export() {
        return Err(EngineError::Refused(format!(
            "{}: {} channels are never exported or forwarded",
            summary.name, summary.label.tlp
        )));
    }
    let entries = all_history(engine, channel, None).map_err(|f| EngineError::Usage(f.message))?;
    let label = summary.label.to_string();
    let me = engine.user();
    let mut marks = Marks::new(engine);
    Ok(match format {
        Format::Markdown => {
            let mut out = format!(
                "> **{label}**\n\n# {}\n\nExported by {me} at {now}. Channel {}, owner {}, {} \
                 members. Every message below is under the label above.\n\n",
                summary.name,
                hex::encode(channel),
                summary.owner,
                summary.members.len()
            );
            for (_, entry) in &entries {
                let trust = marks.of(&entry.sender);
                match &entry.body {
                    Body::Text(text) => {
                        out.push_str(&format!(
                            "**{}** {} <{}> ({trust})\n\n",
                            entry.at, entry.sender_name, entry.sender
                        ));
                        for line in text.lines() {
                            out.push_str("    ");
                            out.push_str(line);
                            out.push('\n');
                        }
                        out.push('\n');
                    }
                    Body::Notice(text) => out.push_str(&format!("*{} {text}*\n\n", entry.at)),
                    Body::Alert(text) => {
                        out.push_str(&format!("**{} ALERT: {text}**\n\n", entry.at));
                    }
                    Body::Undecryptable(why) => out.push_str(&format!(
                        "**{}** {} <{}>: *could not decrypt or verify: {why}*\n\n",
                        entry.at, entry.sender_name, entry.sender
                    )),
                }
            }
            out.push_str(&format!("> **{label}**\n"));
            out
        }
        Format::Json => {
            let messages: Vec<String> = entries
                .iter()
                .map(|(seq, entry)| {
                    let (kind, text) = match &entry.body {
                        Body::Text(t) => ("text", t),
                        Body::Notice(t) => ("notice", t),
                        Body::Alert(t) => ("alert", t),
                        Body::Undecryptable(t) => ("undecryptable", t),
                    };
                    format!(
                        "{{\"seq\":{seq},\"at\":{},\"sender\":{},\"name\":{},\"trust\":{},\
                         \"kind\":{},\"text\":{}}}",
                        json_string(&entry.at.to_string()),
                        json_string(entry.sender.as_str()),
                        json_string(&entry.sender_name),
                        json_string(marks.of(&entry.sender)),
                        json_string(kind),
                        json_string(text)
                    )
                })
                .collect();
            format!(
                "{{\"label\":{},\"channel\":{},\"name\":{},\"exported_by\":{},\
                 \"exported_at\":{},\"messages\":[\n{}\n],\"label_end\":{}}}\n",
                json_string(&label),
                json_string(&hex::encode(channel)),
                json_string(&summary.name),
                json_string(me.as_str()),
                json_string(&now.to_string()),
                messages.join(",\n"),
                json_string(&label)
            )
        }
    })
}
