//! The slash commands: parsing a line, and what each command shows or asks the runner for,
//! one function per command. A command that cannot run says why on the status line.

use vigil_client::engine::{Candidate, NoPick, pick_channel};
use vigil_client::sanitize::line;
use vigil_protocol::UserId;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::label::{Label, Tlp};
use vigil_protocol::policy::ClassificationPolicy;

use super::confirm::Pending;
use super::create::CreateError;
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
    (
        "/relabel --tlp TLP --level LEVEL [--caveat TEXT]",
        "change the channel's label (asks first when lowering or where care is needed)",
    ),
    ("/members", "members with organisation, clearance and trust"),
    (
        "/whois USER",
        "certificate, organisation, clearance, fingerprint, verified or not",
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
    (
        "/open NAME|ID",
        "open a channel by name, or by its id (the first 6+ hex digits)",
    ),
    (
        "/jump YYYY-MM-DD [HH:MM]",
        "scroll to the first message from that time on",
    ),
    ("/help", "this screen"),
    ("/quit", "leave vigil"),
];

/// Why a command did nothing; the line stays in the compose box and this is shown.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The first word is not a command (a path such as `/var/log/auth.log`, a typo).
    #[error(
        "{0} is not a command: press Enter again to send the line as text (a line starting \
         with // is sent as text at once); /help lists the commands"
    )]
    Unknown(String),
    /// The command was given the wrong words: its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// The command acts on the open channel and none is open.
    #[error("no channel open: create one with /create NAME --tlp TLP --level LEVEL")]
    NoChannel,
    /// `/open` names no channel of ours.
    #[error("no channel {0:?} (by name or id)")]
    NoSuchChannel(String),
    /// `/open` names several channels (other members' channels can share a name): each one,
    /// to open by its id.
    #[error(
        "{} channels are called {:?}; open one by its id: {}",
        .1.len(),
        line(.0),
        .1.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    AmbiguousChannel(String, Vec<Candidate>),
    /// `/create` names a channel we hold already.
    #[error("you already have a channel called {:?}: choose another name", line(.0))]
    DuplicateName(String),
    /// `/relabel` to the label the channel has.
    #[error("the channel is labelled {0} already")]
    SameLabel(String),
    /// Members cannot leave by themselves: whom to ask.
    #[error("only the owner or an admin changes the membership: ask {0} to remove you")]
    Leave(String),
    /// `/create` with a bad line or label.
    #[error(transparent)]
    Create(#[from] CreateError),
}

/// Whether adding or removing a member of a channel labelled `label` asks first, whatever
/// came before: `TLP:RED`, `TLP:AMBER+STRICT` or a classified level.
#[must_use]
pub fn membership_needs_care(label: &Label) -> bool {
    matches!(label.tlp, Tlp::Red | Tlp::AmberStrict) || label.level.level > 0
}

impl App {
    /// Runs the slash command `line` (the compose box's text).
    ///
    /// # Errors
    ///
    /// [`CommandError`] when the command did nothing: the caller keeps the line in the box.
    pub(super) fn command(&mut self, line: &str) -> Result<Vec<Action>, CommandError> {
        let words = split_args(line);
        let name = words.first().map(String::as_str).unwrap_or_default();
        let args = words.get(1..).unwrap_or_default();
        match name {
            "/quit" | "/q" => {
                self.quit = true;
                Ok(vec![Action::Quit])
            }
            "/help" => {
                self.open_overlay(Mode::Help);
                Ok(Vec::new())
            }
            "/create" => self.create(&words),
            "/relabel" => self.relabel(&words, line),
            "/whois" => Ok(vec![Action::Whois(one_user(args, "/whois USER")?)]),
            "/verify" => Ok(vec![Action::SafetyNumber(one_user(args, "/verify USER")?)]),
            "/open" => self.open(&args.join(" ")),
            "/jump" => self.jump(&args.join(" ")),
            "/invite" | "/remove" | "/leave" | "/label" | "/members" | "/export" | "/search" => {
                self.in_channel(name, args, line)
            }
            other => Err(CommandError::Unknown(other.to_owned())),
        }
    }

    /// The commands on the channel in view; refused when none is open.
    fn in_channel(
        &mut self,
        name: &str,
        args: &[String],
        line: &str,
    ) -> Result<Vec<Action>, CommandError> {
        let channel = self.current_id().ok_or(CommandError::NoChannel)?;
        let actions = match name {
            "/invite" => {
                let user = one_user(args, "/invite USER (to the channel in view)")?;
                return Ok(self.membership(Membership::Invite, channel, user, line));
            }
            "/remove" => {
                let user = one_user(args, "/remove USER (from the channel in view)")?;
                return Ok(self.membership(Membership::Remove, channel, user, line));
            }
            "/leave" => return Err(self.leave()),
            "/label" => self.label(),
            "/members" => self.members(),
            "/export" => match args {
                [path] => vec![Action::Export(channel, path.clone())],
                _ => {
                    return Err(CommandError::Usage(
                        "/export FILE (.md for Markdown, .json for JSON)",
                    ));
                }
            },
            "/search" if args.is_empty() => return Err(CommandError::Usage("/search TEXT")),
            "/search" => vec![Action::Search(channel, args.join(" "))],
            other => return Err(CommandError::Unknown(other.to_owned())),
        };
        self.input.last_target = Some(channel);
        Ok(actions)
    }

    /// `/invite` and `/remove`: they name the channel and its label, and ask first when the
    /// label needs care ([`membership_needs_care`]) or the channel is not the one the previous
    /// command or message went to.
    fn membership(
        &mut self,
        what: Membership,
        channel: ChannelId,
        user: UserId,
        line: &str,
    ) -> Vec<Action> {
        let Some(item) = self.current() else {
            return Vec::new();
        };
        let (verb, doing, to, action) = match what {
            Membership::Invite => (
                "Invite",
                "inviting",
                "to",
                Action::Invite(channel, user.clone()),
            ),
            Membership::Remove => (
                "Remove",
                "removing",
                "from",
                Action::Remove(channel, user.clone()),
            ),
        };
        let place = format!("{to} {} [{}]", item.summary.name, item.summary.label);
        let done = format!("{doing} {user} {place}");
        if membership_needs_care(&item.summary.label) || self.input.last_target != Some(channel) {
            let question = format!("{verb} {user} {place}?");
            let actions = vec![action];
            let line = line.to_owned();
            self.ask(
                question,
                Pending::Run {
                    line,
                    actions,
                    done,
                    target: channel,
                },
            );
            return Vec::new();
        }
        self.status = Some((done, false));
        self.input.last_target = Some(channel);
        vec![action]
    }

    /// `/leave`: members cannot leave by themselves; says whom to ask.
    fn leave(&self) -> CommandError {
        let owner = self.current().map(|c| c.summary.owner.clone());
        CommandError::Leave(owner.map_or_else(|| "the owner".to_owned(), |o| o.to_string()))
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
            let title = format!("Label of {}", item.summary.name);
            self.open_overlay(Mode::Info { title, lines });
        }
        Vec::new()
    }

    /// `/members`: each member with organisation, clearance, trust marker and who owns the
    /// channel.
    fn members(&mut self) -> Vec<Action> {
        if let Some(item) = self.current() {
            let lines = item
                .summary
                .members
                .iter()
                .map(|m| {
                    let owner = if m.user == item.summary.owner {
                        " (owner)"
                    } else {
                        ""
                    };
                    format!(
                        "{} <{}>  {}  clearance {}  [{}]{owner}",
                        m.display_name,
                        m.user,
                        m.org,
                        m.clearance,
                        self.mark(&m.user).text()
                    )
                })
                .collect();
            let title = format!("Members of {}", item.summary.name);
            self.open_overlay(Mode::Info { title, lines });
        }
        Vec::new()
    }

    /// `/open NAME|ID`: the channel of exactly that name, else the one whose id starts with
    /// the hex given; never one of several (see [`pick_channel`]).
    fn open(&mut self, wanted: &str) -> Result<Vec<Action>, CommandError> {
        let candidates: Vec<Candidate> = self
            .channels
            .iter()
            .map(|c| Candidate {
                id: c.summary.id,
                name: c.summary.name.clone(),
                owner: c.summary.owner.clone(),
                label: c.summary.label.clone(),
            })
            .collect();
        let id = pick_channel(&candidates, wanted).map_err(|no| match no {
            NoPick::Unknown => CommandError::NoSuchChannel(wanted.to_owned()),
            NoPick::Ambiguous(several) => {
                CommandError::AmbiguousChannel(wanted.to_owned(), several)
            }
        })?;
        let index = self
            .channels
            .iter()
            .position(|c| c.summary.id == id)
            .ok_or_else(|| CommandError::NoSuchChannel(wanted.to_owned()))?;
        let actions = self.select(index);
        self.input.last_target = self.current_id();
        if let Some(item) = self.current() {
            let opened = format!("opened {} [{}]", item.summary.name, item.summary.label);
            self.status = Some((opened, false));
        }
        Ok(actions)
    }
}

/// Adding or removing a member.
#[derive(Clone, Copy, Debug)]
enum Membership {
    Invite,
    Remove,
}

/// The one user id (`@` allowed in front) a command takes, or its `usage`: extra words (a
/// channel name) are refused, since commands act on the channel in view.
fn one_user(args: &[String], usage: &'static str) -> Result<UserId, CommandError> {
    match args {
        [user] => UserId::new(user.trim_start_matches('@')).map_err(|_| CommandError::Usage(usage)),
        _ => Err(CommandError::Usage(usage)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_args(line)
    }

    #[test]
    fn quotes_keep_spaces() {
        assert_eq!(
            words(r#"/create x --level "EU RESTRICTED""#)[3],
            "EU RESTRICTED"
        );
    }
}
