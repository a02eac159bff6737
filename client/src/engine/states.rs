//! Channel states as they arrive: applied in order when they link to the chain we hold,
//! joined from an invitation after the whole chain from the creation verifies, held when they
//! fork our view (an alert) or when they cannot be relied on yet, and parked until what they
//! need arrives.

use vigil_protocol::channel::{ChannelError, ChannelId, ChannelView, SignedChannelState};
use vigil_protocol::content::History;
use vigil_protocol::{UnixTime, UserId};

use super::chain::{chain_back, linked_run};
use super::channels::describe_change;
use super::inbound::Progress;
use super::records::{Body, Event};
use super::trust_lists::trust_difference;
use super::{Engine, EngineError};
use crate::store::Batch;
use crate::store::Place;

impl Engine {
    /// The states of channel `id` we may build a chain from: those parked, those of the
    /// histories parked (rebuilt), and `signed`.
    fn candidates(&self, id: ChannelId, signed: &SignedChannelState) -> Vec<SignedChannelState> {
        let mut candidates = self.parked_states(id);
        candidates.extend(self.history_states(id));
        if !candidates.contains(signed) {
            candidates.push(signed.clone());
        }
        candidates
    }

    /// A history (a chain sent with an invitation) is kept while it may still be needed: for a
    /// channel we are not in, until the invitation comes; for one we are in, while it goes
    /// past the state we hold (a member removed and invited again, after changes it was not
    /// sent, catches up through it).
    pub(super) fn history_progress(&self, history: &History) -> Progress {
        let (Some(first), Some(last)) = (history.states.first(), history.states.last()) else {
            return Progress::Done;
        };
        match self.channels.get(&first.channel()) {
            None => Progress::Wait,
            Some(view) if last.version() > view.head().state().version => Progress::Wait,
            Some(_) => Progress::Done,
        }
    }

    pub(super) fn handle_state(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        signed: &SignedChannelState,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let id = signed.state().channel;
        if Place::is_reserved(id) {
            let why = format!(
                "refused a channel from {from}: its id is the one this client keeps its own \
                 notices under"
            );
            self.undecryptable(batch, events, None, from, why, now)?;
            return Ok(Progress::Done);
        }
        let Some(view) = self.channels.get(&id) else {
            return self.try_join(batch, events, from, signed, now);
        };
        let head = view.head().clone();
        let (ours, offered) = (head.state().version, signed.state().version);
        if offered <= ours {
            return self.held_place(batch, events, id, from, signed, now);
        }
        let candidates = self.candidates(id, signed);
        let run = linked_run(&head, &candidates, signed);
        if !run.contains(signed) {
            if Some(offered) == ours.checked_add(1) {
                self.fork_or_junk(batch, events, id, (&head, &head), (from, signed), now)?;
                return Ok(Progress::Done);
            }
            if run.is_empty() {
                return Ok(Progress::Wait); // states before it are still on their way
            }
        }
        match self.apply_states(batch, events, id, &run, from, now)? {
            // Nothing applied: no progress to report (retrying would loop).
            Ok(0) => Ok(Progress::Wait),
            // Other states moved us on: this one is looked at again (it may follow them, or
            // be a fork of them).
            Ok(_) if !run.contains(signed) => Ok(Progress::WaitUnblocked),
            Ok(_) => {
                let head = self.view(id)?.head().state().version;
                Ok(if offered <= head {
                    Progress::Unblocked
                } else {
                    Progress::WaitUnblocked
                })
            }
            Err(ChannelError::Unconfirmed { .. }) => Ok(Progress::Wait),
            // The run refused is of other states that came before it: they are refused when
            // their own turn comes, and this one waits.
            Err(_) if !run.contains(signed) => Ok(Progress::Wait),
            Err(e) if trust_difference(&e).is_some() => {
                self.wait_for_trust(batch, events, (from, signed), &e, now)?;
                Ok(Progress::Wait)
            }
            Err(e) => {
                let first = run
                    .first()
                    .map_or(signed.state(), SignedChannelState::state);
                let why = format!(
                    "refused a change from {} ({}): {e}",
                    first.author,
                    describe_change(first, &first.change, &head.state().owner)
                );
                self.undecryptable(batch, events, Some(id), from, why, now)?;
                Ok(Progress::Done)
            }
        }
    }

    /// A state at a version we already hold: a redelivery, older than our history, or another
    /// state for that place (a fork only when someone who could sign the state before it did).
    fn held_place(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        id: ChannelId,
        from: &UserId,
        signed: &SignedChannelState,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        let offered = signed.state().version;
        let Some(known) = self.chain_state(id, offered)? else {
            return Ok(Progress::Done); // older than where our history starts
        };
        if known.hash() == signed.hash() {
            return Ok(Progress::Done); // already applied: a redelivery
        }
        let before = match offered.checked_sub(1) {
            Some(version) => self.chain_state(id, version)?,
            None => None,
        };
        let authority = before.as_ref().unwrap_or(&known);
        self.fork_or_junk(batch, events, id, (&known, authority), (from, signed), now)?;
        Ok(Progress::Done)
    }

    /// `theirs` (from `from`) claims the place of `ours`: a fork, alerted, when it is signed
    /// by the owner or an admin of `authority` (the state before it that we hold, or ours);
    /// otherwise junk that anyone could have sent, refused without an alert.
    fn fork_or_junk(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        id: ChannelId,
        (ours, authority): (&SignedChannelState, &SignedChannelState),
        (from, theirs): (&UserId, &SignedChannelState),
        now: UnixTime,
    ) -> Result<(), EngineError> {
        if theirs.signed_by_authority_of(authority.state()) {
            return self.fork_alert(batch, events, id, ours, theirs, now);
        }
        let why = format!(
            "refused a change of this channel from {from}: it claims to be signed by {}, who \
             may not change the channel or did not sign it",
            theirs.state().author
        );
        self.undecryptable(batch, events, Some(id), from, why, now)
    }

    /// A state of a channel we are not in: with the states parked for it, a chain from the
    /// creation through it to a state that lists us may now let us join (it must be confirmed
    /// now). Chains are found backwards from the states that list us, so states anyone sent
    /// for this channel cannot hide the genuine chain.
    fn try_join(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        from: &UserId,
        signed: &SignedChannelState,
        now: UnixTime,
    ) -> Result<Progress, EngineError> {
        /// Chains tried per state received: the one that ends at it, then the longest.
        const ATTEMPTS: usize = 3;
        let id = signed.state().channel;
        let candidates = self.candidates(id, signed);
        let me = self.local.user().clone();
        let mut tips: Vec<&SignedChannelState> = candidates
            .iter()
            .filter(|c| c.state().is_member(&me) && *c != signed)
            .collect();
        tips.sort_by_key(|t| std::cmp::Reverse(t.state().version));
        if signed.state().is_member(&me) {
            tips.insert(0, signed);
        }
        let mut refusal = None;
        let mut attempts = 0;
        for tip in tips {
            let Some(chain) = chain_back(tip, &candidates) else {
                continue;
            };
            if !chain.contains(signed) {
                continue;
            }
            attempts += 1;
            if attempts > ATTEMPTS {
                break;
            }
            match ChannelView::join(&me, &chain, &self.trust, now) {
                Ok(view) => {
                    self.joined(batch, events, view, &chain, now)?;
                    return Ok(Progress::Unblocked);
                }
                Err(e) if tip == signed => refusal = Some(e),
                Err(_) => {}
            }
        }
        match refusal {
            Some(e) if trust_difference(&e).is_some() => {
                self.wait_for_trust(batch, events, (from, signed), &e, now)?;
                Ok(Progress::Wait)
            }
            Some(e) if !matches!(e, ChannelError::Unconfirmed { .. }) => {
                let state = signed.state();
                let why = format!("refused an invitation to {} from {from}: {e}", state.name);
                self.undecryptable(batch, events, None, from, why, now)?;
                Ok(Progress::Done)
            }
            _ => Ok(Progress::Wait),
        }
    }

    /// We joined a channel from its verified `chain`.
    fn joined(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        view: ChannelView,
        chain: &[SignedChannelState],
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let state = view.head().state().clone();
        let id = state.channel;
        self.channels.insert(id, view);
        for signed in chain {
            self.stage_chain(batch, signed);
        }
        self.stage_channel(batch, id);
        let author = state.author.clone();
        let at = state.timestamp.min(now);
        let notice = format!(
            "{author} added you to {}, labelled {}",
            state.name, state.label
        );
        self.notice(batch, events, id, author.clone(), Body::Notice(notice), at)?;
        if !state.label.history_for_joiners() {
            let notice = format!("{}: you see only what is sent from now on", state.label.tlp);
            self.notice(batch, events, id, author, Body::Notice(notice), now)?;
        }
        let targets = self.valid_others(&state, now);
        self.distribute_sender_key(batch, id, &targets)?;
        events.push(Event::ChannelChanged { channel: id });
        Ok(())
    }

    /// A change refused only because this device's trust differs from its signer's: it waits
    /// (parked, retried when the trust list changes) and the member is told once, naming the
    /// organisation.
    fn wait_for_trust(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        (from, signed): (&UserId, &SignedChannelState),
        error: &ChannelError,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        if self.parked_states(signed.state().channel).contains(signed) {
            return Ok(()); // told when it was first parked
        }
        let Some(org) = trust_difference(error).cloned() else {
            return Ok(());
        };
        self.trust_wait_alert(batch, events, (from, signed), &org, error, now)
    }
}
