//! `/create`: the line parsed and the label checked here (the rest by the engine), and the
//! new channel opened as soon as it appears in the channel list, so the next command acts on
//! it and not on the channel that was open before.

use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::{Label, LabelError};
use vigil_protocol::policy::ClassificationPolicy;

use super::commands::CommandError;
use super::{Action, App};

/// Why `/create` asks for nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// A name, `--tlp` or `--level` is missing, or a word is not understood.
    #[error(
        "usage: /create NAME --tlp TLP --level LEVEL [--caveat TEXT] (e.g. /create incident-42 \
         --tlp TLP:AMBER --level \"EU RESTRICTED\")"
    )]
    Usage,
    /// The policy does not accept the label.
    #[error(transparent)]
    Label(#[from] LabelError),
}

/// Parses `/create NAME --tlp TLP --level LEVEL [--caveat TEXT]...`.
///
/// # Errors
///
/// [`CreateError::Usage`] for a missing or unknown word, [`CreateError::Label`] for a label
/// the policy refuses.
pub fn parse_create(words: &[String]) -> Result<(String, Label), CreateError> {
    match parse_label_words(words, true)? {
        (Some(name), label) => Ok((name, label)),
        (None, _) => Err(CreateError::Usage),
    }
}

/// The label of `--tlp TLP --level LEVEL [--caveat TEXT]...` after the command word, and the
/// one other word (a channel's name) when `named`.
pub(super) fn parse_label_words(
    words: &[String],
    named: bool,
) -> Result<(Option<String>, Label), CreateError> {
    let mut name = None;
    let mut tlp = None;
    let mut level = None;
    let mut caveats = Vec::new();
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--tlp" => tlp = rest.next().cloned(),
            "--level" => level = rest.next().cloned(),
            "--caveat" => caveats.extend(rest.next().cloned()),
            other if other.starts_with("--") => return Err(CreateError::Usage),
            other if named && name.is_none() => name = Some(other.to_owned()),
            _ => return Err(CreateError::Usage),
        }
    }
    let (Some(tlp), Some(level)) = (tlp, level) else {
        return Err(CreateError::Usage);
    };
    let caveats: Vec<&str> = caveats.iter().map(String::as_str).collect();
    let label = Label::new(&tlp, &level, &caveats, ClassificationPolicy::eu())?;
    Ok((name, label))
}

impl App {
    /// `/create`: asks for the channel and remembers its name, to open it when it exists.
    pub(super) fn create(&mut self, words: &[String]) -> Result<Vec<Action>, CommandError> {
        let (name, label) = parse_create(words)?;
        if self.channels.iter().any(|c| c.summary.name == name) {
            return Err(CommandError::DuplicateName(name));
        }
        self.status = Some((
            format!("creating {name} [{label}]: it opens when it exists"),
            false,
        ));
        self.input.creating = Some(name.clone());
        self.input.last_target = None;
        Ok(vec![Action::Create(name, label)])
    }

    /// After a new channel list: the channel we asked to create, if it is new in the list,
    /// is opened. `was_listed` says which channels the previous list had.
    pub(super) fn open_created(&mut self, was_listed: impl Fn(&ChannelId) -> bool) -> Vec<Action> {
        let Some(name) = self.input.creating.clone() else {
            return Vec::new();
        };
        let Some(index) = self.channels.iter().position(|c| {
            c.summary.name == name && c.summary.owner == self.me && !was_listed(&c.summary.id)
        }) else {
            return Vec::new();
        };
        self.input.creating = None;
        let left = self.current().map(|c| c.summary.name.clone());
        let had_draft = !self.compose.is_empty();
        let actions = self.select(index);
        self.input.last_target = self.current_id();
        let label = self
            .current()
            .map(|c| c.summary.label.to_string())
            .unwrap_or_default();
        let mut status = format!("opened {name} [{label}], the channel you created");
        if let Some(left) = left.filter(|_| had_draft) {
            status.push_str(&format!("; your draft stays with {left}"));
        }
        self.status = Some((status, false));
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::split_args;
    use vigil_protocol::label::Tlp;

    #[test]
    fn create_needs_its_label() {
        let words = split_args;
        assert_eq!(
            parse_create(&words("/create x --tlp TLP:AMBER")),
            Err(CreateError::Usage)
        );
        assert!(matches!(
            parse_create(&words("/create x --tlp TLP:PINK --level UNCLASSIFIED")),
            Err(CreateError::Label(_))
        ));
        let parsed = parse_create(&words("/create x --tlp TLP:AMBER --level UNCLASSIFIED"));
        assert!(matches!(parsed, Ok((name, label)) if name == "x" && label.tlp == Tlp::Amber));
    }
}
