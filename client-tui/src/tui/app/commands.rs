//! The slash commands: parsing a line, and what each command shows or asks the runner for,
//! one function per command. A command that cannot run says why on the status line.

use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::{Label, LabelError, Tlp};
use vigil_protocol::policy::ClassificationPolicy;

use super::{Action, App, Mode};

/// The slash commands, for `/help` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "/create NAME --tlp TLP --level LEVEL [--caveat TEXT]",
        "create a channel (the label is mandatory)",
    ),
    ("/invite USER", "invite a member (rules checked first)"),
    ("/remove USER", "remove a member (new keys for the others)"),
    ("/leave", "leave the channel (ask its owner to remove you)"),
    ("/label", "the channel's full label, policy and caveats"),
    ("/members", "members with organisation, clearance and trust"),
    (
        "/whois USER",
        "certificate, organisation, clearance, fingerprint, trust",
    ),
    (
        "/verify USER",
        "the safety number screen; mark the contact verified",
    ),
    (
        "/export FILE",
        "export the history to a labelled file (.md or .json)",
    ),
    ("/search TEXT", "search the open channel's local history"),
    ("/open NAME", "open a channel by name"),
    (
        "/jump YYYY-MM-DD [HH:MM]",
        "scroll to the first message from that time on",
    ),
    ("/help", "this screen"),
    ("/quit", "leave vigil"),
];

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

impl App {
    /// Runs the slash command `line` (the compose box's text, trimmed).
    pub(super) fn command(&mut self, line: &str) -> Vec<Action> {
        let words = split_args(line);
        let name = words.first().map(String::as_str).unwrap_or_default();
        let args = words.get(1..).unwrap_or_default();
        match name {
            "/quit" | "/q" => {
                self.quit = true;
                vec![Action::Quit]
            }
            "/help" => {
                self.mode = Mode::Help;
                Vec::new()
            }
            "/create" => self.create(&words),
            "/whois" => self.with_user(name, args, Action::Whois),
            "/verify" => self.with_user(name, args, Action::SafetyNumber),
            "/open" => self.open(&args.join(" ")),
            "/jump" => self.jump(&args.join(" ")),
            "/invite" | "/remove" | "/leave" | "/label" | "/members" | "/export" | "/search" => {
                self.in_channel(name, args)
            }
            other => self.unknown(other),
        }
    }

    /// The commands on the open channel; refused when none is open.
    fn in_channel(&mut self, name: &str, args: &[String]) -> Vec<Action> {
        let Some(channel) = self.current_id() else {
            self.refuse("no channel open");
            return Vec::new();
        };
        match name {
            "/invite" => self.with_user(name, args, |user| Action::Invite(channel, user)),
            "/remove" => self.with_user(name, args, |user| Action::Remove(channel, user)),
            "/leave" => self.leave(),
            "/label" => self.label(),
            "/members" => self.members(),
            "/export" => self.export(channel, args.first()),
            "/search" => self.search(channel, &args.join(" ")),
            other => self.unknown(other),
        }
    }

    fn unknown(&mut self, name: &str) -> Vec<Action> {
        self.refuse(&format!("unknown command {name}: see /help"));
        Vec::new()
    }

    /// `/create`: the label is checked here, the rest by the engine.
    fn create(&mut self, words: &[String]) -> Vec<Action> {
        match parse_create(words) {
            Ok((name, label)) => vec![Action::Create(name, label)],
            Err(why) => {
                self.refuse(&why.to_string());
                Vec::new()
            }
        }
    }

    /// A command taking a user id (`@` allowed in front): `action` of it, or the usage.
    fn with_user(
        &mut self,
        name: &str,
        args: &[String],
        action: impl FnOnce(UserId) -> Action,
    ) -> Vec<Action> {
        match args
            .first()
            .and_then(|a| UserId::new(a.trim_start_matches('@')).ok())
        {
            Some(user) => vec![action(user)],
            None => {
                self.refuse(&format!("usage: {name} USER (a user id, NAME@ORG)"));
                Vec::new()
            }
        }
    }

    /// `/leave`: members cannot leave by themselves; says whom to ask.
    fn leave(&mut self) -> Vec<Action> {
        let owner = self.current().map(|c| c.summary.owner.clone());
        self.refuse(&format!(
            "only the owner or an admin changes the membership: ask {} to remove you",
            owner.map_or_else(|| "the owner".to_owned(), |o| o.to_string())
        ));
        Vec::new()
    }

    /// `/label`: the label in full, with what its TLP and level require of members.
    fn label(&mut self) -> Vec<Action> {
        if let Some(item) = self.current() {
            let label = &item.summary.label;
            let policy = ClassificationPolicy::eu();
            let mut lines = vec![
                format!("Label:    {label}"),
                format!("TLP:      {}", label.tlp),
                format!("Level:    {}", policy.describe(label.level.level)),
            ];
            if label.caveats.is_empty() {
                lines.push("Caveats:  none".into());
            }
            for caveat in &label.caveats {
                lines.push(format!("Caveat:   {caveat}"));
            }
            lines.push(String::new());
            lines.push(tlp_rule(label));
            lines.push(format!(
                "Every member's clearance must be at least {}.",
                label.level.marking()
            ));
            self.mode = Mode::Info {
                title: format!("Label of {}", item.summary.name),
                lines,
            };
        }
        Vec::new()
    }

    /// `/members`: each member with organisation, trust marker and who owns the channel.
    fn members(&mut self) -> Vec<Action> {
        if let Some(item) = self.current() {
            let lines = item
                .summary
                .members
                .iter()
                .map(|(u, display, org)| {
                    let owner = if u == &item.summary.owner {
                        " (owner)"
                    } else {
                        ""
                    };
                    format!("{display} <{u}>  {org}  [{}]{owner}", self.mark(u).text())
                })
                .collect();
            self.mode = Mode::Info {
                title: format!("Members of {}", item.summary.name),
                lines,
            };
        }
        Vec::new()
    }

    fn export(&mut self, channel: ChannelId, path: Option<&String>) -> Vec<Action> {
        match path {
            Some(path) => vec![Action::Export(channel, path.clone())],
            None => {
                self.refuse("usage: /export FILE (.md for Markdown, .json for JSON)");
                Vec::new()
            }
        }
    }

    fn search(&mut self, channel: ChannelId, text: &str) -> Vec<Action> {
        if text.is_empty() {
            self.refuse("usage: /search TEXT");
            return Vec::new();
        }
        vec![Action::Search(channel, text.to_owned())]
    }

    /// `/open NAME`: the channel of exactly that name.
    fn open(&mut self, wanted: &str) -> Vec<Action> {
        match self.channels.iter().position(|c| c.summary.name == wanted) {
            Some(i) => self.select(i),
            None => {
                self.refuse(&format!("no channel {wanted:?}"));
                Vec::new()
            }
        }
    }
}

/// What a label's TLP means for members, in one line.
#[must_use]
pub fn tlp_rule(label: &Label) -> String {
    match label.tlp {
        Tlp::Clear => "TLP:CLEAR: no restriction beyond membership.".into(),
        Tlp::Green => "TLP:GREEN: members of trusted organisations, by invitation.".into(),
        Tlp::Amber => "TLP:AMBER: members of trusted organisations, by invitation.".into(),
        Tlp::AmberStrict => "TLP:AMBER+STRICT: members of the owner's organisation only.".into(),
        Tlp::Red => "TLP:RED: named members only; no history for later joiners; never exported or \
             forwarded."
            .into(),
    }
}

/// Splits a command line into words; "double quotes" keep spaces.
#[must_use]
pub fn split_args(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Parses `/create NAME --tlp TLP --level LEVEL [--caveat TEXT]...`.
///
/// # Errors
///
/// [`CreateError::Usage`] for a missing or unknown word, [`CreateError::Label`] for a label
/// the policy refuses.
pub fn parse_create(words: &[String]) -> Result<(String, Label), CreateError> {
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
            other if name.is_none() => name = Some(other.to_owned()),
            _ => return Err(CreateError::Usage),
        }
    }
    let (Some(name), Some(tlp), Some(level)) = (name, tlp, level) else {
        return Err(CreateError::Usage);
    };
    let caveats: Vec<&str> = caveats.iter().map(String::as_str).collect();
    let label = Label::new(&tlp, &level, &caveats, ClassificationPolicy::eu())?;
    Ok((name, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_args(line)
    }

    #[test]
    fn quotes_keep_spaces_and_create_needs_its_label() {
        assert_eq!(
            words(r#"/create x --level "EU RESTRICTED""#)[3],
            "EU RESTRICTED"
        );
        assert_eq!(
            parse_create(&words("/create x --tlp TLP:AMBER")),
            Err(CreateError::Usage)
        );
        assert!(matches!(
            parse_create(&words("/create x --tlp TLP:PINK --level UNCLASSIFIED")),
            Err(CreateError::Label(_))
        ));
        let (name, label) =
            parse_create(&words("/create x --tlp TLP:AMBER --level UNCLASSIFIED")).unwrap();
        assert_eq!((name.as_str(), label.tlp), ("x", Tlp::Amber));
    }
}
