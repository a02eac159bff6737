//! `/relabel --tlp TLP --level LEVEL [--caveat TEXT]`: a new label for the channel in view.
//! Lowering it, a label that needs care ([`membership_needs_care`]) before or after, or a
//! channel other than the one the previous command or message went to asks first. The engine
//! checks the rules (a label that would exclude a current member, a lowering by someone other
//! than the owner) and its refusal is shown.

use vigil_protocol::label::Label;

use super::commands::{CommandError, membership_needs_care};
use super::confirm::Pending;
use super::create::{CreateError, parse_label_words};
use super::{Action, App};

/// The usage line of `/relabel`.
pub(super) const USAGE: &str =
    "/relabel --tlp TLP --level LEVEL [--caveat TEXT] (the channel in view)";

/// Whether changing `from` to `to` asks first: lowering (the new label does not dominate the
/// old one), or either label needs care.
#[must_use]
pub fn relabel_needs_care(from: &Label, to: &Label) -> bool {
    !to.dominates(from) || membership_needs_care(from) || membership_needs_care(to)
}

impl App {
    /// `/relabel`: the new label parsed and compared with the current one.
    pub(super) fn relabel(
        &mut self,
        words: &[String],
        line: &str,
    ) -> Result<Vec<Action>, CommandError> {
        let channel = self.current_id().ok_or(CommandError::NoChannel)?;
        let label = match parse_label_words(words, false) {
            Ok((_, label)) => label,
            Err(CreateError::Usage) => return Err(CommandError::Usage(USAGE)),
            Err(e) => return Err(e.into()),
        };
        let Some(item) = self.current() else {
            return Err(CommandError::NoChannel);
        };
        let from = item.summary.label.clone();
        if from == label {
            return Err(CommandError::SameLabel(label.to_string()));
        }
        let name = item.summary.name.clone();
        let lowering = !label.dominates(&from);
        let done = format!("relabelling {name} from [{from}] to [{label}]");
        let action = Action::Relabel(channel, label.clone());
        if relabel_needs_care(&from, &label) || self.input.last_target != Some(channel) {
            let what = if lowering { "Lower" } else { "Change" };
            let question = format!("{what} the label of {name} from [{from}] to [{label}]?");
            let pending = Pending::Run {
                line: line.to_owned(),
                actions: vec![action],
                done,
                target: channel,
            };
            self.ask(question, pending);
            return Ok(Vec::new());
        }
        self.status = Some((done, false));
        self.input.last_target = Some(channel);
        Ok(vec![action])
    }
}
