//! Applying what comes back to the state: the answers to the runner's requests and the
//! engine's events (messages, deliveries, trust warnings, gaps, alerts, the connection), one
//! function per kind.

use std::collections::{BTreeMap, BTreeSet};
use vigil_protocol::channel::ChannelId;

use vigil_client::engine::{
    Body, ChannelSummary, Delivery, Entry, Event, Place, TrustWarning, describe_trust_change,
};
use vigil_protocol::UserId;

use super::{Action, App, ChannelItem, Mode, PAGE, TrustMark, Update};

impl App {
    /// Applies an answer or an engine event; returns what the runner should ask next.
    pub fn on_update(&mut self, update: Update) -> Vec<Action> {
        match update {
            Update::Event(event) => return self.on_event(event),
            Update::Channels(list) => return self.on_channels(list),
            Update::History(channel, before, page) => {
                return self.on_history(channel, before, page);
            }
            Update::Trust(user, key, mark) => {
                match key {
                    Some(key) => self.trust_keys.insert(user.clone(), key),
                    None => self.trust_keys.remove(&user),
                };
                self.trust.insert(user, mark);
            }
            Update::UiState(state) => self.restore(state),
            Update::Done(text) => self.status = Some((text, false)),
            Update::Refused(text) => self.status = Some((text, true)),
            Update::Info(title, lines) => self.open_overlay(Mode::Info { title, lines }),
            Update::Safety(user, number, status) => {
                self.open_overlay(Mode::Verify {
                    user,
                    number,
                    status,
                });
            }
            Update::Edited(text) => self.on_edited(text),
        }
        Vec::new()
    }

    /// A new channel list: unread counts and mentions carry over, the open channel stays open,
    /// and members we know nothing of yet are looked up.
    fn on_channels(&mut self, list: Vec<ChannelSummary>) -> Vec<Action> {
        let selected = self.current_id();
        let old: BTreeMap<ChannelId, (usize, bool)> = self
            .channels
            .iter()
            .map(|c| (c.summary.id, (c.unread, c.mention)))
            .collect();
        let mut actions = Vec::new();
        let known = self.trust.keys().cloned().collect::<BTreeSet<_>>();
        for c in &list {
            for m in &c.members {
                if m.user != self.me && !known.contains(&m.user) {
                    actions.push(Action::Contact(m.user.clone()));
                }
            }
        }
        self.channels = list
            .into_iter()
            .map(|summary| {
                let (unread, mention) = old
                    .get(&summary.id)
                    .copied()
                    .or_else(|| self.restored.unread.remove(&summary.id))
                    .unwrap_or((0, false));
                ChannelItem {
                    summary,
                    unread,
                    mention,
                }
            })
            .collect();
        actions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        actions.dedup();
        let index = selected
            .and_then(|id| self.channels.iter().position(|c| c.summary.id == id))
            .unwrap_or(0);
        actions.extend(self.select_keep_scroll(index));
        actions.extend(self.open_created(|id| old.contains_key(id)));
        self.draft_into_compose();
        actions
    }

    /// A page of history (newest first) older than `before`, or the newest page; then on
    /// towards where the pane is moving, if anywhere.
    fn on_history(
        &mut self,
        channel: ChannelId,
        before: Option<u64>,
        page: Vec<(u64, Entry)>,
    ) -> Vec<Action> {
        let open = self.current_id() == Some(channel);
        let newest_before = self
            .messages
            .get(&channel)
            .and_then(|m| m.last())
            .map(|(seq, _)| *seq);
        let entries = self.messages.entry(channel).or_default();
        if page.len() < PAGE {
            self.complete.insert(channel);
        } else if before.is_none() {
            // A full newest page: there may be older history than we knew of.
            self.complete.remove(&channel);
        }
        let mut older: Vec<(u64, Entry)> = page.into_iter().rev().collect();
        if before.is_none() {
            // The newest page: keep entries that arrived while it loaded.
            let newest = older.last().map(|(s, _)| *s);
            entries.retain(|(s, _)| newest.is_none_or(|n| *s > n));
        } else if let Some((oldest, _)) = entries.first() {
            // The same page asked for twice arrives twice: keep only what is older.
            older.retain(|(s, _)| s < oldest);
        }
        older.append(entries);
        *entries = older;
        if !open {
            return Vec::new();
        }
        if before.is_none() {
            self.mark_read();
            // Entries newer than what was loaded arrived with the page: below the reader.
            let added: Vec<u64> = self
                .messages
                .get(&channel)
                .map(|m| m.iter().map(|(seq, _)| *seq))
                .into_iter()
                .flatten()
                .filter(|seq| newest_before.is_some_and(|n| *seq > n))
                .collect();
            for seq in added {
                self.keep_place(seq);
            }
        }
        self.continue_seek()
    }

    fn on_event(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::Message { place, seq, entry } => return self.on_message(place, seq, entry),
            Event::ChannelChanged { .. } => return vec![Action::RefreshChannels],
            Event::Trust { user, warning } => return self.on_trust(user, warning),
            Event::Delivery {
                channel,
                seq,
                state,
            } => self.on_delivery(channel, seq, state),
            Event::Gap {
                channel,
                sender,
                missing,
            } => {
                let name = self.channel_name(channel);
                self.warnings.push(format!(
                    "{missing} message(s) from {sender} in {name} are missing (lost or withheld)"
                ));
            }
            Event::DecryptFailed { .. } => {} // shown as a placeholder entry
            Event::Alert { channel, text } => {
                let name = self.channel_name(channel);
                self.warnings.push(format!("{name}: {text}"));
                return vec![Action::RefreshChannels];
            }
            Event::Connection(state) => self.connection = state,
            Event::Outbox(n) => self.outbox = n,
            Event::Partners(change) => {
                self.warnings.push(describe_trust_change(&change));
                return vec![Action::RefreshChannels];
            }
        }
        Vec::new()
    }

    /// A message stored in a channel (or the member's own history): into its loaded history,
    /// counted unread elsewhere, the bell on a mention when asked for.
    fn on_message(&mut self, place: Place, seq: u64, entry: Entry) -> Vec<Action> {
        let channel = place.channel();
        let open = channel.is_some() && self.current_id() == channel;
        let mention =
            entry.sender != self.me && matches!(&entry.body, Body::Text(t) if self.names_me(t));
        let mut actions = Vec::new();
        if entry.sender != self.me && !self.trust.contains_key(&entry.sender) {
            actions.push(Action::Contact(entry.sender.clone()));
        }
        let from_me = entry.sender == self.me;
        let mut added = false;
        if let Some(list) = channel.and_then(|c| self.messages.get_mut(&c)) {
            // Events and history pages travel separately: an entry may already be here from a
            // page loaded after it was stored.
            if let Err(at) = list.binary_search_by_key(&seq, |(s, _)| *s) {
                list.insert(at, (seq, entry));
                added = true;
            }
        }
        if let Some(item) = self
            .channels
            .iter_mut()
            .find(|c| Some(c.summary.id) == channel)
        {
            if !open && !from_me {
                item.unread += 1;
                item.mention |= mention;
            }
        } else {
            actions.push(Action::RefreshChannels);
        }
        if open {
            if added {
                self.keep_place(seq);
            }
            self.mark_read();
        }
        if mention && self.bell {
            actions.push(Action::Bell);
        }
        actions
    }

    /// A key change stays on screen until dismissed; other trust news is looked up.
    fn on_trust(&mut self, user: UserId, warning: TrustWarning) -> Vec<Action> {
        if warning == TrustWarning::KeyChanged {
            self.warnings.push(format!(
                "The keys of {user} CHANGED. Do not trust their messages until you have \
                 compared safety numbers: /verify {user}"
            ));
            self.trust.insert(user.clone(), TrustMark::Changed);
            // The new key's marker comes with it; until then no message is `verified`.
            self.trust_keys.remove(&user);
            vec![Action::Contact(user)]
        } else {
            vec![Action::Contact(user)]
        }
    }

    /// A message of ours was queued, sent, or not sent (the reason on the status line).
    fn on_delivery(&mut self, channel: ChannelId, seq: u64, state: Delivery) {
        if let Delivery::Failed(why) = &state {
            self.status = Some((format!("not sent: {why}"), true));
        }
        if let Some(entry) = self
            .messages
            .get_mut(&channel)
            .and_then(|l| l.iter_mut().find(|(s, _)| *s == seq))
        {
            entry.1.delivery = Some(state);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test"
    )]

    use vigil_client::engine::{Body, Entry};
    use vigil_protocol::keys::IdentityPublicKey;
    use vigil_protocol::{UnixTime, UserId};

    use super::{App, TrustMark, Update};
    use crate::config::Config;

    fn message(signer: Option<IdentityPublicKey>) -> Entry {
        Entry {
            sender: UserId::new("lead@cert-at").unwrap(),
            sender_name: "Markus Gruber".into(),
            at: UnixTime(1_795_798_504),
            body: Body::Text("hello".into()),
            delivery: None,
            signer,
        }
    }

    /// Defect 9 of issue 22: markers followed the sender's current state, so messages signed
    /// by an old key showed `[verified]` once the new key was verified. Each keeps its key's.
    #[test]
    fn each_message_keeps_the_marker_of_the_key_that_signed_it() {
        let me = UserId::new("officer@cert-at").unwrap();
        let lead = UserId::new("lead@cert-at").unwrap();
        let mut app = App::new(me, "Anna Huber".into(), &Config::default());
        let (old_key, new_key) = (IdentityPublicKey([1; 32]), IdentityPublicKey([2; 32]));
        let (old, new, legacy) = (
            message(Some(old_key)),
            message(Some(new_key)),
            message(None),
        );

        let trust = |key, mark| Update::Trust(lead.clone(), Some(key), mark);
        let _ = app.on_update(trust(old_key, TrustMark::Unverified));
        assert_eq!(app.entry_mark(&old), TrustMark::Unverified);
        let _ = app.on_update(trust(old_key, TrustMark::Verified));
        assert_eq!(app.entry_mark(&old), TrustMark::Verified);
        // Stored before signers were kept: the key is unknown, so never `verified`.
        assert_eq!(app.entry_mark(&legacy), TrustMark::Unverified);

        // The keys change: the new key's messages say so; the old ones are not vouched for.
        let _ = app.on_update(trust(new_key, TrustMark::Changed));
        assert_eq!(app.entry_mark(&new), TrustMark::Changed);
        assert_eq!(app.entry_mark(&old), TrustMark::Unverified);

        // The new key is verified: only its messages become `verified`.
        let _ = app.on_update(trust(new_key, TrustMark::Verified));
        assert_eq!(app.entry_mark(&new), TrustMark::Verified);
        assert_eq!(app.entry_mark(&old), TrustMark::Unverified);
        assert_eq!(app.entry_mark(&legacy), TrustMark::Unverified);
        assert_eq!(app.mark(&lead), TrustMark::Verified);

        // A key change announced by the engine: nothing is `verified` until the key is known.
        let _ = app.on_update(Update::Event(vigil_client::engine::Event::Trust {
            user: lead.clone(),
            warning: vigil_client::engine::TrustWarning::KeyChanged,
        }));
        assert_eq!(app.entry_mark(&new), TrustMark::Changed);
    }
}
