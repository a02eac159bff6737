//! Exporting a channel's history to a labelled file: the label banner on top and at the
//! bottom, each message with its sender, time and verification state. `TLP:RED` channels are
//! never exported. What members wrote is escaped ([`vigil_client::sanitize`]): in Markdown as `\u{…}`,
//! in JSON as `\uXXXX`, so neither the file nor a terminal showing it carries a raw control or
//! bidirectional character.

use vigil_protocol::UnixTime;
use vigil_protocol::channel::ChannelId;

use vigil_client::engine::{Body, Engine, EngineError, Entry};
use vigil_client::history::{self, Export, Marked};
use vigil_client::sanitize::{line, multiline};

/// How `vigil export` and `/export` write a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown, message texts as indented blocks (pasted logs and indicators stay intact).
    Markdown,
    /// One JSON document.
    Json,
}

/// One line of text for a history entry (`read` without `--json`): a message's further lines
/// indented, every control and bidirectional character escaped.
#[must_use]
pub fn text_line(entry: &Entry, trust: &str) -> String {
    let who = format!("{} <{}> ({trust})", line(&entry.sender_name), entry.sender);
    let delivery = entry
        .delivery
        .as_ref()
        .map(|d| format!(" [{}]", line(&d.to_string())))
        .unwrap_or_default();
    match &entry.body {
        Body::Text(text) => {
            let text = multiline(text.trim_end()).replace('\n', "\n    ");
            format!("{}  {who}{delivery}: {text}", entry.at)
        }
        Body::Notice(text) => format!("{}  * {}", entry.at, line(text)),
        Body::Alert(text) => format!("{}  !! {}", entry.at, line(text)),
        Body::Undecryptable(why) => format!(
            "{}  {who}: [could not decrypt or verify: {}]",
            entry.at,
            line(why)
        ),
    }
}

/// One history entry in the Markdown export (escaped).
fn markdown_entry(out: &mut String, entry: &Entry, trust: &str) {
    match &entry.body {
        Body::Text(text) => {
            out.push_str(&format!(
                "**{}** {} <{}> ({trust})\n\n",
                entry.at,
                line(&entry.sender_name),
                entry.sender
            ));
            for text_line in multiline(text).lines() {
                out.push_str("    ");
                out.push_str(text_line);
                out.push('\n');
            }
            out.push('\n');
        }
        Body::Notice(text) => out.push_str(&format!("*{} {}*\n\n", entry.at, line(text))),
        Body::Alert(text) => {
            out.push_str(&format!("**{} ALERT: {}**\n\n", entry.at, line(text)));
        }
        Body::Undecryptable(why) => out.push_str(&format!(
            "**{}** {} <{}>: *could not decrypt or verify: {}*\n\n",
            entry.at,
            line(&entry.sender_name),
            entry.sender,
            line(why)
        )),
    }
}

/// The export of `channel` in `format`.
///
/// # Errors
///
/// [`EngineError::NoExport`] for a `TLP:RED` channel (rule: no export); as
/// [`vigil_client::history::export`].
pub fn export(
    engine: &Engine,
    channel: ChannelId,
    format: Format,
    now: UnixTime,
) -> Result<String, EngineError> {
    Ok(render(&history::export(engine, channel)?, format, now))
}

/// What the library gave for an export, written in `format`.
#[must_use]
pub fn render(export: &Export, format: Format, now: UnixTime) -> String {
    let summary = &export.channel;
    let label = summary.label.to_string();
    let name = line(&summary.name);
    let me = &export.exported_by;
    match format {
        Format::Markdown => {
            let label = line(&label);
            let mut out = format!(
                "> **{label}**\n\n# {name}\n\nExported by {me} at {now}. Channel {}, owner {}, {} \
                 members. Every message below is under the label above.\n\n",
                summary.id,
                summary.owner,
                summary.members.len()
            );
            for marked in &export.entries {
                markdown_entry(&mut out, &marked.entry, marked.mark);
            }
            out.push_str(&format!("> **{label}**\n"));
            out
        }
        Format::Json => {
            let messages: Vec<String> = export
                .entries
                .iter()
                .map(|Marked { seq, entry, mark }| {
                    let (kind, text) = entry.body.kind_and_text();
                    format!(
                        "{{\"seq\":{seq},\"at\":{},\"sender\":{},\"name\":{},\"trust\":{},\
                         \"kind\":{},\"text\":{}}}",
                        vigil_common::json::string(&entry.at.to_string()),
                        vigil_common::json::string(entry.sender.as_str()),
                        vigil_common::json::string(&entry.sender_name),
                        vigil_common::json::string(mark),
                        vigil_common::json::string(kind),
                        vigil_common::json::string(text)
                    )
                })
                .collect();
            format!(
                "{{\"label\":{},\"channel\":{},\"name\":{},\"exported_by\":{},\
                 \"exported_at\":{},\"messages\":[\n{}\n],\"label_end\":{}}}\n",
                vigil_common::json::string(&label),
                vigil_common::json::string(&summary.id.to_string()),
                vigil_common::json::string(&summary.name),
                vigil_common::json::string(me.as_str()),
                vigil_common::json::string(&now.to_string()),
                messages.join(",\n"),
                vigil_common::json::string(&label)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_protocol::{UnixTime, UserId};

    use super::*;
    use vigil_client::engine::Delivery;

    const HOSTILE: &str = "ok\u{1b}]0;pwned\u{7}\r\u{202e}fdp.exe\u{9b}";

    fn entry(body: Body) -> Entry {
        Entry {
            sender: UserId::new("mallory@cert-at").unwrap(),
            sender_name: format!("Mallory{HOSTILE}"),
            at: UnixTime(1_795_798_504),
            body,
            delivery: Some(Delivery::Failed(HOSTILE.into())),
            signer: None,
        }
    }

    fn raw_control_or_bidi(text: &str) -> Option<char> {
        text.chars()
            .find(|&c| c != '\n' && vigil_client::sanitize::must_escape(c))
    }

    #[test]
    fn json_strings_escape_controls_and_bidi_as_unicode_escapes() {
        assert_eq!(
            vigil_common::json::string(HOSTILE),
            r#""ok\u001b]0;pwned\u0007\r\u202efdp.exe\u009b""#
        );
        assert_eq!(
            vigil_common::json::string("a\"b\\c\u{2028}"),
            r#""a\"b\\c\u2028""#
        );
        assert_eq!(
            vigil_common::json::string("Jana Nováková"),
            "\"Jana Nováková\""
        );
    }

    #[test]
    fn text_lines_show_hostile_text_escaped_and_keep_message_lines() {
        for body in [
            Body::Text(format!("first {HOSTILE}\nsecond {HOSTILE}")),
            Body::Notice(HOSTILE.into()),
            Body::Undecryptable(HOSTILE.into()),
        ] {
            let shown = text_line(&entry(body), "unverified");
            assert_eq!(raw_control_or_bidi(&shown), None, "{shown:?}");
            assert!(
                shown.contains(r"\u{1b}]0;pwned\u{7}\u{d}\u{202e}"),
                "{shown}"
            );
        }
        let two = text_line(&entry(Body::Text("one\ntwo".into())), "you");
        assert!(two.ends_with(": one\n    two"), "{two}");
    }
}
