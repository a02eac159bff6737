//! The client engine: the member's identity, sessions, channels, history and outbox, kept in
//! the sealed store; no I/O other than the store. The network worker ([`crate::worker`]) feeds
//! it what the relay delivers and sends what its outbox holds.
//!
//! Every change the engine makes for one input (a delivered payload, a typed message, an
//! invite) is staged in one [`Batch`] and committed atomically and durably before the engine
//! returns: the worker acknowledges a delivery to the relay only after that, and a crash
//! leaves either all of the change or none of it.

mod inbound;
mod outbox;
mod records;

use std::collections::BTreeMap;
use std::path::Path;

use vigil_protocol::channel::{ChannelView, Proposal, SignedChannelState};
use vigil_protocol::content::{ChannelContent, DirectContent, Payload};
use vigil_protocol::label::Label;
use vigil_protocol::prekey::{OneTimePrekey, PrekeyBundle, PrekeyStore, SignedPrekey};
use vigil_protocol::provisioning::{BundleContents, FileKind, RelayInfo, SealedFile, dearmor};
use vigil_protocol::{
    LocalIdentity, MemberCertificate, RevocationList, SafetyNumber, Session, Text, TrustStore,
    UnixTime, UserId, VerifiedCertificate,
};

use crate::store::{Batch, Kind, Store, StoreError};
use crate::trust::{Contact, TrustBook, Verdict};

pub use outbox::{Outgoing, SendOutcome};
pub use records::{Body, Connection, Delivery, Entry, Event, SYSTEM_CHANNEL, TrustWarning};
use records::{Job, Parked, Sessions, keys};

/// One-time prekeys a client keeps published at the relay.
pub const ONE_TIME_PREKEY_TARGET: u32 = 100;

/// Signed prekeys are replaced after a week (they are refused after
/// [`vigil_protocol::prekey::MAX_SIGNED_PREKEY_AGE_SECS`]).
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 86_400;

/// Sessions kept per contact: the current one and those a simultaneous start or a reinstall
/// left behind, tried in turn.
pub const MAX_SESSIONS_PER_CONTACT: usize = 5;

/// Received items kept while waiting for a key or state; past it the oldest is shown as
/// undecryptable and dropped from the waiting list.
pub const MAX_PARKED: usize = 10_000;

/// Why the engine refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed (a full disk, a damaged record, a wrong passphrase).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused by policy or verification (exit code 1): the reason names the rule.
    #[error("{0}")]
    Refused(String),
    /// A usage error (exit code 2): unknown channel, bad argument.
    #[error("{0}")]
    Usage(String),
}

impl EngineError {
    /// The process exit code for this error: 1 refused by policy or verification, 2 otherwise.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Store(_) | Self::Usage(_) => 2,
        }
    }
}

impl From<vigil_protocol::channel::ChannelError> for EngineError {
    fn from(e: vigil_protocol::channel::ChannelError) -> Self {
        Self::Refused(e.to_string())
    }
}

/// A channel as the UI lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSummary {
    /// Its id.
    pub id: [u8; 32],
    /// Its name.
    pub name: String,
    /// Its label.
    pub label: Label,
    /// The owner.
    pub owner: UserId,
    /// Members, with display name and organisation.
    pub members: Vec<(UserId, String, String)>,
    /// The epoch.
    pub epoch: u64,
    /// Whether we are still a member.
    pub member: bool,
}

/// The engine.
pub struct Engine {
    store: Store,
    local: LocalIdentity,
    relay: RelayInfo,
    trust: TrustStore,
    prekeys: PrekeyStore,
    channels: BTreeMap<[u8; 32], ChannelView>,
    parked: Vec<(Vec<u8>, Parked)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("user", self.local.user())
            .field("channels", &self.channels.len())
            .field("parked", &self.parked.len())
            .finish_non_exhaustive()
    }
}

fn rng() -> rand_core::OsRng {
    rand_core::OsRng
}

/// Reads and opens an enrollment bundle file.
///
/// # Errors
///
/// [`EngineError::Usage`] for a file that is not a bundle; [`EngineError::Refused`] for a
/// wrong bundle passphrase.
pub fn open_bundle(path: &Path, passphrase: &str) -> Result<BundleContents, EngineError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| EngineError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let (kind, bytes) =
        dearmor(&text).map_err(|e| EngineError::Usage(format!("{}: {e}", path.display())))?;
    if kind != FileKind::EnrollmentBundle {
        return Err(EngineError::Usage(format!(
            "{} is a {kind:?} file, not an enrollment bundle",
            path.display()
        )));
    }
    let sealed = SealedFile::from_bytes(&bytes)
        .map_err(|e| EngineError::Usage(format!("{}: {e}", path.display())))?;
    BundleContents::open(&sealed, passphrase.as_bytes()).map_err(|_| {
        EngineError::Refused(format!(
            "wrong bundle passphrase for {}, or the bundle was altered",
            path.display()
        ))
    })
}

impl Engine {
    /// Enrolls this device from an opened bundle: creates the sealed store in `home` under
    /// `passphrase` with the member's keys, trusted roots, revocation lists and fresh prekeys.
    /// Publishing the prekeys is the worker's job ([`Self::prekeys_to_publish`]).
    ///
    /// # Errors
    ///
    /// [`EngineError`]: a store already in `home`, a bundle whose certificate is not valid
    /// under its own roots, files that cannot be written.
    pub fn enroll(
        home: &Path,
        bundle: BundleContents,
        passphrase: &str,
        now: UnixTime,
    ) -> Result<Self, EngineError> {
        let local = bundle
            .local_identity()
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        let trust = trust_store(&bundle, bundle.revocations())?;
        trust
            .verify_certificate(local.certificate(), now)
            .map_err(|e| EngineError::Refused(format!("the bundle's certificate: {e}")))?;
        let store = Store::create(home, passphrase)?;
        let mut prekeys = PrekeyStore::new(&mut rng(), &local, now);
        prekeys.generate_one_time_prekeys(
            &mut rng(),
            local.identity(),
            ONE_TIME_PREKEY_TARGET as usize,
        );
        let mut batch = Batch::default();
        store.stage(&mut batch, Kind::Identity, keys::BUNDLE, &bundle);
        store.stage(
            &mut batch,
            Kind::Meta,
            keys::REVOCATIONS,
            &bundle.revocations().to_vec(),
        );
        store.stage_raw(
            &mut batch,
            Kind::Prekeys,
            keys::PREKEYS,
            &prekeys.to_bytes(),
        );
        store.commit(batch)?;
        Ok(Self {
            store,
            relay: bundle.relay().clone(),
            local,
            trust,
            prekeys,
            channels: BTreeMap::new(),
            parked: Vec::new(),
        })
    }

    /// Opens the engine in `home`.
    ///
    /// # Errors
    ///
    /// [`EngineError`]: not enrolled, wrong passphrase, a damaged store.
    pub fn open(home: &Path, passphrase: &str) -> Result<Self, EngineError> {
        let store = Store::open(home, passphrase)?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} missing or damaged"));
        let bundle: BundleContents = store
            .get(Kind::Identity, keys::BUNDLE)?
            .ok_or_else(|| corrupt("identity"))?;
        let local = bundle
            .local_identity()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let revocations: Vec<RevocationList> = store
            .get(Kind::Meta, keys::REVOCATIONS)?
            .unwrap_or_default();
        let trust = trust_store(&bundle, &revocations)?;
        let prekeys = store
            .get_raw(Kind::Prekeys, keys::PREKEYS)?
            .ok_or_else(|| corrupt("prekeys"))?;
        let prekeys = PrekeyStore::from_bytes(&prekeys).map_err(|_| corrupt("prekeys"))?;
        let mut channels = BTreeMap::new();
        for (key, bytes) in store.scan_raw(Kind::Channel, &[])? {
            let view = ChannelView::from_bytes(&bytes).map_err(|_| corrupt("a channel"))?;
            let id: [u8; 32] = key.try_into().map_err(|_| corrupt("a channel key"))?;
            channels.insert(id, view);
        }
        let parked = store.scan(Kind::Parked, &[])?;
        Ok(Self {
            store,
            relay: bundle.relay().clone(),
            local,
            trust,
            prekeys,
            channels,
            parked,
        })
    }

    /// The member this device is.
    #[must_use]
    pub fn user(&self) -> &UserId {
        self.local.user()
    }

    /// The member's certificate.
    #[must_use]
    pub fn certificate(&self) -> &MemberCertificate {
        self.local.certificate()
    }

    /// The member's identity (for logging in).
    #[must_use]
    pub fn identity(&self) -> &LocalIdentity {
        &self.local
    }

    /// How to reach the relay.
    #[must_use]
    pub fn relay(&self) -> &RelayInfo {
        &self.relay
    }

    /// The trust store (roots and revocation lists in force).
    #[must_use]
    pub fn trust_store(&self) -> &TrustStore {
        &self.trust
    }

    /// The sealed store (history pages, trust book).
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    // ----- prekeys -----

    /// The prekeys to publish: the current signed prekey (rotated when older than
    /// [`SIGNED_PREKEY_ROTATION_SECS`]) and new one-time prekeys up to
    /// [`ONE_TIME_PREKEY_TARGET`] beyond the `remaining` the relay holds (`None`: publish all
    /// we hold, as after enrollment). Durable before it returns.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn prekeys_to_publish(
        &mut self,
        remaining: Option<u32>,
        now: UnixTime,
    ) -> Result<(SignedPrekey, Vec<OneTimePrekey>), EngineError> {
        let stale = self
            .prekeys
            .signed_prekey()
            .is_none_or(|s| now.secs_since(s.created) >= SIGNED_PREKEY_ROTATION_SECS);
        if stale {
            self.prekeys
                .rotate_signed_prekey(&mut rng(), self.local.identity(), now);
        }
        let one_time = match remaining {
            None => self.prekeys.one_time_prekeys(),
            Some(left) => {
                let want = ONE_TIME_PREKEY_TARGET.saturating_sub(left) as usize;
                self.prekeys
                    .generate_one_time_prekeys(&mut rng(), self.local.identity(), want)
            }
        };
        let mut batch = Batch::default();
        self.store.stage_raw(
            &mut batch,
            Kind::Prekeys,
            keys::PREKEYS,
            &self.prekeys.to_bytes(),
        );
        self.store.commit(batch)?;
        let signed = self
            .prekeys
            .signed_prekey()
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("no signed prekey".into()))?;
        Ok((signed, one_time))
    }

    /// What to publish at login: everything after enrollment, a new signed prekey when the
    /// current one is due for rotation, nothing otherwise.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn prekeys_for_login(
        &mut self,
        now: UnixTime,
    ) -> Result<Option<(SignedPrekey, Vec<OneTimePrekey>)>, EngineError> {
        let published: Option<u32> = self.store.get(Kind::Meta, keys::PUBLISHED)?;
        let due = self
            .prekeys
            .signed_prekey()
            .is_none_or(|s| now.secs_since(s.created) >= SIGNED_PREKEY_ROTATION_SECS);
        match published {
            None => self.prekeys_to_publish(None, now).map(Some),
            Some(_) if due => self
                .prekeys_to_publish(Some(ONE_TIME_PREKEY_TARGET), now)
                .map(Some),
            Some(_) => Ok(None),
        }
    }

    /// Records that the relay stored the signed prekey `id`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn published(&mut self, id: u32) -> Result<(), EngineError> {
        let mut batch = Batch::default();
        self.store
            .stage(&mut batch, Kind::Meta, keys::PUBLISHED, &id);
        self.store.commit(batch)?;
        Ok(())
    }

    // ----- revocation -----

    /// Puts newer revocation lists from the relay in force (each verified against its org
    /// root; older or forged lists are ignored) and removes revoked members from the channels
    /// we own or administer. Returns the events.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn update_revocations(
        &mut self,
        lists: Vec<RevocationList>,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        let mut changed = false;
        for list in lists {
            if let Ok(vigil_protocol::cert::RevocationUpdate::Applied) =
                self.trust.update_revocations(list)
            {
                changed = true;
            }
        }
        let mut batch = Batch::default();
        let mut events = Vec::new();
        if changed {
            let lists: Vec<RevocationList> = self
                .trust
                .roots()
                .filter_map(|r| self.trust.revocations(r.org()).cloned())
                .collect();
            self.store
                .stage(&mut batch, Kind::Meta, keys::REVOCATIONS, &lists);
        }
        self.remove_invalid_members(&mut batch, &mut events, now)?;
        self.store.commit(batch)?;
        Ok(events)
    }

    /// Removes members whose certificates are revoked or expired from every channel we may
    /// change (a new epoch each: they read nothing sent after).
    fn remove_invalid_members(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let ids: Vec<[u8; 32]> = self.channels.keys().copied().collect();
        for id in ids {
            let Some(view) = self.channels.get(&id) else {
                continue;
            };
            if !view.is_member() || !view.head().state().may_change(self.local.user()) {
                continue;
            }
            for user in view.invalid_members(&self.trust, now) {
                let reason = match self
                    .channels
                    .get(&id)
                    .and_then(|v| v.head().state().member(&user).cloned())
                    .map(|c| self.trust.verify_certificate(&c, now))
                {
                    Some(Err(e)) => e.to_string(),
                    _ => "certificate no longer valid".to_owned(),
                };
                let Ok(reason) = Text::new(truncate(&reason, vigil_protocol::MAX_TEXT_LEN)) else {
                    continue;
                };
                if let Err(e) =
                    self.change_channel(batch, events, id, Proposal::Remove { user, reason }, now)
                {
                    events.push(Event::DecryptFailed {
                        channel: Some(id),
                        sender: self.local.user().clone(),
                        reason: format!("automatic removal failed: {e}"),
                    });
                }
            }
        }
        Ok(())
    }

    // ----- channels -----

    /// Our channels.
    #[must_use]
    pub fn channels(&self) -> Vec<ChannelSummary> {
        let mut out: Vec<ChannelSummary> = self
            .channels
            .iter()
            .map(|(id, view)| summary(*id, view, self.local.user()))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    /// The channel called `name` (or whose id starts with the hex `name`).
    ///
    /// # Errors
    ///
    /// [`EngineError::Usage`] when none or several match.
    pub fn find_channel(&self, name: &str) -> Result<[u8; 32], EngineError> {
        let matches: Vec<[u8; 32]> = self
            .channels
            .iter()
            .filter(|(id, view)| {
                view.head().state().name.as_str() == name
                    || (name.len() >= 8 && hex::encode(id).starts_with(&name.to_lowercase()))
            })
            .map(|(id, _)| *id)
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(EngineError::Usage(format!(
                "no channel {name:?}: see `vigil channel list`"
            ))),
            several => Err(EngineError::Usage(format!(
                "{} channels are called {name:?}; name one by its id: {}",
                several.len(),
                several
                    .iter()
                    .map(|id| hex::encode(&id[..6]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The channel's summary.
    ///
    /// # Errors
    ///
    /// [`EngineError::Usage`] for an unknown channel.
    pub fn channel(&self, id: [u8; 32]) -> Result<ChannelSummary, EngineError> {
        self.channels
            .get(&id)
            .map(|view| summary(id, view, self.local.user()))
            .ok_or_else(|| EngineError::Usage("unknown channel".into()))
    }

    /// Creates a channel with us as owner and only member.
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] when a rule forbids it (our clearance below the level).
    pub fn create_channel(
        &mut self,
        name: &str,
        label: Label,
        now: UnixTime,
    ) -> Result<([u8; 32], Vec<Event>), EngineError> {
        let name = Text::new(name).map_err(|e| EngineError::Usage(format!("channel name: {e}")))?;
        let (mut view, _) = ChannelView::create(
            &mut rng(),
            &self.local,
            name,
            label,
            Vec::new(),
            Vec::new(),
            &self.trust,
            now,
        )?;
        view.own_sender_key(&mut rng())?;
        let id = view.id().0;
        let mut batch = Batch::default();
        let mut events = Vec::new();
        let notice = format!(
            "{} created this channel, labelled {}",
            self.local.user(),
            view.label()
        );
        self.channels.insert(id, view);
        self.stage_channel(&mut batch, id);
        self.notice(
            &mut batch,
            &mut events,
            id,
            self.local.user().clone(),
            notice,
            now,
        )?;
        self.store.commit(batch)?;
        events.push(Event::ChannelChanged { channel: id });
        Ok((id, events))
    }

    /// Invites the member whose certificate the relay gave us (verified here, and their
    /// prekey bundle used to start a session when we have none). The channel's rules are
    /// checked before anything is signed: an uncleared member is refused with the reason.
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] with the rule's reason.
    pub fn invite(
        &mut self,
        channel: [u8; 32],
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        let proposal = Proposal::Invite(Box::new(certificate.clone()));
        self.transact(|engine, batch, events| {
            engine.start_session(batch, events, certificate, bundle, now)?;
            engine.change_channel(batch, events, channel, proposal, now)
        })
    }

    /// Removes a member (a new epoch: they read nothing sent after).
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] when we may not, [`EngineError::Usage`] for a non-member.
    pub fn remove(
        &mut self,
        channel: [u8; 32],
        user: &UserId,
        reason: &str,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        let view = self.view(channel)?;
        if !view.head().state().is_member(user) {
            return Err(EngineError::Usage(format!("{user} is not a member")));
        }
        let reason = Text::new(reason).map_err(|e| EngineError::Usage(format!("reason: {e}")))?;
        let proposal = Proposal::Remove {
            user: user.clone(),
            reason,
        };
        self.transact(|engine, batch, events| {
            engine.change_channel(batch, events, channel, proposal, now)
        })
    }

    /// Changes the channel's label (a new epoch). Raising is for the owner and admins;
    /// lowering only for the originating owner.
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] with the rule's reason.
    pub fn relabel(
        &mut self,
        channel: [u8; 32],
        label: Label,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            engine.change_channel(batch, events, channel, Proposal::Relabel(label), now)
        })
    }

    /// Runs `change` on one batch and commits it atomically and durably: the engine's unit of
    /// work (one per input). Returns the events it produced.
    pub(super) fn transact(
        &mut self,
        change: impl FnOnce(&mut Self, &mut Batch, &mut Vec<Event>) -> Result<(), EngineError>,
    ) -> Result<Vec<Event>, EngineError> {
        let mut batch = Batch::default();
        let mut events = Vec::new();
        change(self, &mut batch, &mut events)?;
        self.store.commit(batch)?;
        Ok(events)
    }

    fn view(&self, channel: [u8; 32]) -> Result<&ChannelView, EngineError> {
        self.channels
            .get(&channel)
            .ok_or_else(|| EngineError::Usage("unknown channel".into()))
    }

    /// Proposes, applies and distributes a change: the new state to every member of it (and
    /// to a removed member), then our sender key where the change needs one.
    fn change_channel(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: [u8; 32],
        proposal: Proposal,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let view = self.view(channel)?;
        let previous: Vec<UserId> = view
            .head()
            .state()
            .members
            .iter()
            .map(|m| m.body().user.clone())
            .collect();
        let signed = view.propose(&self.local, proposal, &self.trust, now)?;
        let mut recipients: Vec<UserId> = Vec::new();
        if let vigil_protocol::channel::Change::Invite { user } = &signed.state().change {
            recipients.push(user.clone()); // the invitee first: they join from this state
        }
        for user in previous
            .iter()
            .chain(signed.state().members.iter().map(|m| &m.body().user))
        {
            if user != self.local.user() && !recipients.contains(user) {
                recipients.push(user.clone());
            }
        }
        for to in recipients {
            self.enqueue_direct(
                batch,
                to,
                DirectContent::ChannelState(Box::new(signed.clone())),
                None,
            )?;
        }
        self.apply_state(
            batch,
            events,
            channel,
            &signed,
            self.local.user().clone(),
            now,
        )?;
        Ok(())
    }

    /// Applies a verified next state to our view and does what it asks of us.
    fn apply_state(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: [u8; 32],
        signed: &SignedChannelState,
        from: UserId,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or_else(|| EngineError::Usage("unknown channel".into()))?;
        let applied = view.apply(signed, &self.trust, now)?;
        let state = signed.state();
        let notice = describe_change(state, &applied.change);
        let mut targets: Vec<UserId> = Vec::new();
        if !applied.removed_us {
            if applied.new_epoch {
                targets = others(state, self.local.user());
            } else if let vigil_protocol::channel::Change::Invite { user } = &applied.change
                && user != self.local.user()
            {
                targets.push(user.clone());
            }
        }
        self.stage_channel(batch, channel);
        // Dated when the change was signed, not when it reached us.
        let at = state.timestamp.min(now);
        self.notice(batch, events, channel, from, notice, at)?;
        if applied.removed_us {
            self.notice(
                batch,
                events,
                channel,
                state.author.clone(),
                "You were removed from this channel: nothing sent from now on reaches you."
                    .to_owned(),
                at,
            )?;
        }
        if !targets.is_empty() {
            self.distribute_sender_key(batch, channel, &targets)?;
        }
        events.push(Event::ChannelChanged { channel });
        Ok(())
    }

    /// Sends our sender key for the current epoch of `channel` to `targets`.
    fn distribute_sender_key(
        &mut self,
        batch: &mut Batch,
        channel: [u8; 32],
        targets: &[UserId],
    ) -> Result<(), EngineError> {
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or_else(|| EngineError::Usage("unknown channel".into()))?;
        let key = view.own_sender_key(&mut rng())?;
        self.stage_channel(batch, channel);
        for to in targets {
            self.enqueue_direct(
                batch,
                to.clone(),
                DirectContent::SenderKey(Box::new(key.clone())),
                None,
            )?;
        }
        Ok(())
    }

    /// Encrypts `text` for the channel's current members and queues it; it goes out in
    /// order with everything queued before it, and is in our history at once (as queued).
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] when we are not a member; [`EngineError::Usage`] for empty
    /// or oversized text.
    pub fn send_text(
        &mut self,
        channel: [u8; 32],
        text: &str,
        now: UnixTime,
    ) -> Result<(u64, Vec<Event>), EngineError> {
        if text.trim().is_empty() {
            return Err(EngineError::Usage(
                "nothing to send: the message is empty".into(),
            ));
        }
        let view = self
            .channels
            .get_mut(&channel)
            .ok_or_else(|| EngineError::Usage("unknown channel".into()))?;
        if !view.is_member() {
            return Err(EngineError::Refused(
                "you are no longer a member of this channel".into(),
            ));
        }
        let content = ChannelContent::Text {
            text: text.to_owned(),
            sent_at: now,
        };
        let recipients = others(view.head().state(), self.local.user());
        // One transaction: a sender key made now (first message of an epoch) is queued before
        // the message it opens, and both are durable together.
        let mut batch = Batch::default();
        let mut events = Vec::new();
        let message = match view.seal(&content.to_bytes()) {
            Err(vigil_protocol::channel::ChannelError::NoOwnSenderKey) => {
                self.distribute_sender_key(&mut batch, channel, &recipients)?;
                self.channels
                    .get_mut(&channel)
                    .ok_or_else(|| EngineError::Usage("unknown channel".into()))?
                    .seal(&content.to_bytes())?
            }
            other => other?,
        };
        let level = self.view(channel)?.label().level.clone();
        let entry = Entry {
            sender: self.local.user().clone(),
            sender_name: self.local.certificate().body().display_name.to_string(),
            at: now,
            body: Body::Text(text.to_owned()),
            delivery: Some(if recipients.is_empty() {
                Delivery::Sent
            } else {
                Delivery::Queued
            }),
        };
        let seq = self.append(&mut batch, &mut events, channel, entry)?;
        self.stage_channel(&mut batch, channel);
        if !recipients.is_empty() {
            self.enqueue(
                &mut batch,
                Job::Sealed {
                    recipients,
                    level: Some(level),
                    payload: Payload::Channel(Box::new(message)).to_bytes(),
                    channel: Some(channel),
                },
                Some((channel, seq)),
            )?;
        }
        self.store.commit(batch)?;
        Ok((seq, events))
    }

    /// A page of a channel's history, newest first: up to `limit` entries older than
    /// `before`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn history(
        &self,
        channel: [u8; 32],
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Entry)>, EngineError> {
        Ok(self.store.history_page(&channel, before, limit)?)
    }

    // ----- trust -----

    /// The certificate of `user` as we know it (from our channels), verified now.
    ///
    /// # Errors
    ///
    /// [`EngineError::Usage`] when we share no channel with them; [`EngineError::Refused`]
    /// when their certificate is refused (untrusted root, expired, revoked: the reason).
    pub fn contact_certificate(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<VerifiedCertificate, EngineError> {
        let certificate = if user == self.local.user() {
            Some(self.local.certificate().clone())
        } else {
            self.channels
                .values()
                .filter_map(|v| v.head().state().member(user).cloned())
                .max_by_key(|c| c.body().serial)
        };
        let certificate = certificate.ok_or_else(|| {
            EngineError::Usage(format!(
                "no certificate of {user} known here: share a channel with them first"
            ))
        })?;
        self.trust
            .verify_certificate(&certificate, now)
            .map_err(|e| EngineError::Refused(e.to_string()))
    }

    /// The safety number with `user`, and what we know of them.
    ///
    /// # Errors
    ///
    /// As [`Self::contact_certificate`].
    pub fn safety_number(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<(SafetyNumber, Option<Contact>), EngineError> {
        let theirs = self.contact_certificate(user, now)?;
        let book = TrustBook::new(&self.store);
        if book.contact(user)?.is_none() {
            book.observe(&theirs, now)?;
        }
        Ok((
            SafetyNumber::new(self.local.certificate(), theirs.certificate()),
            book.contact(user)?,
        ))
    }

    /// Marks `user` verified when `compared` (the number read out by them) matches.
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] when it does not match.
    pub fn verify(&self, user: &UserId, compared: &str, now: UnixTime) -> Result<(), EngineError> {
        let theirs = self.contact_certificate(user, now)?;
        let ours = self
            .trust
            .verify_certificate(self.local.certificate(), now)
            .map_err(|e| EngineError::Refused(format!("our own certificate: {e}")))?;
        let book = TrustBook::new(&self.store);
        if book.contact(user)?.is_none() {
            book.observe(&theirs, now)?;
        }
        if book.verify(&ours, &theirs, compared)? {
            Ok(())
        } else {
            Err(EngineError::Refused(format!(
                "the safety number does not match the one for {user}: do not trust this \
                 contact until you have found out why"
            )))
        }
    }

    /// What we know of a contact's keys.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn contact(&self, user: &UserId) -> Result<Option<Contact>, EngineError> {
        Ok(TrustBook::new(&self.store).contact(user)?)
    }

    // ----- sessions -----

    fn load_sessions(&self, user: &UserId) -> Result<Vec<Session>, EngineError> {
        let key = self.store.blind(Kind::Session, user.as_str());
        let Some(bytes) = self.store.get_raw(Kind::Session, &key)? else {
            return Ok(Vec::new());
        };
        let list: Sessions = vigil_protocol::codec::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("sessions: {e}")))?;
        list.0
            .iter()
            .map(|b| {
                Session::from_bytes(b)
                    .map_err(|e| EngineError::Store(StoreError::Corrupt(format!("session: {e}"))))
            })
            .collect()
    }

    fn stage_sessions(&self, batch: &mut Batch, user: &UserId, sessions: &[Session]) {
        let key = self.store.blind(Kind::Session, user.as_str());
        let list = Sessions(
            sessions
                .iter()
                .take(MAX_SESSIONS_PER_CONTACT)
                .map(|s| s.to_bytes().to_vec())
                .collect(),
        );
        let bytes = zeroize::Zeroizing::new(vigil_protocol::codec::encode(&list));
        self.store.stage_raw(batch, Kind::Session, &key, &bytes);
    }

    /// Whether we have a session with `user`.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn has_session(&self, user: &UserId) -> Result<bool, EngineError> {
        Ok(!self.load_sessions(user)?.is_empty())
    }

    /// Starts a session with the owner of `certificate` from their `bundle`, after verifying
    /// both; pins their keys (a change is reported loudly).
    fn start_session(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let user = certificate.body().user.clone();
        let verified = self
            .trust
            .verify_certificate(certificate, now)
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        self.observe(events, &verified, now)?;
        if self.has_session(&user)? {
            return Ok(());
        }
        let session = Session::initiate(&mut rng(), &self.local, &verified, bundle, now)
            .map_err(|e| EngineError::Refused(format!("{user}'s prekeys: {e}")))?;
        self.stage_sessions(batch, &user, &[session]);
        Ok(())
    }

    /// Starts the session an outbox entry needs (see [`Self::next_outgoing`]).
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] for a certificate or bundle that does not verify.
    pub fn add_bundle(
        &mut self,
        certificate: &MemberCertificate,
        bundle: &PrekeyBundle,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            engine.start_session(batch, events, certificate, bundle, now)
        })
    }

    fn observe(
        &self,
        events: &mut Vec<Event>,
        verified: &VerifiedCertificate,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        let verdict = TrustBook::new(&self.store).observe(verified, now)?;
        let warning = match verdict {
            Verdict::New => Some(TrustWarning::New),
            Verdict::KeyChanged { .. } => Some(TrustWarning::KeyChanged),
            Verdict::Known { .. } => None,
        };
        if let Some(warning) = warning {
            events.push(Event::Trust {
                user: verified.body().user.clone(),
                warning,
            });
        }
        Ok(())
    }

    // ----- staging helpers -----

    fn stage_channel(&self, batch: &mut Batch, channel: [u8; 32]) {
        if let Some(view) = self.channels.get(&channel) {
            self.store
                .stage_raw(batch, Kind::Channel, &channel, &view.to_bytes());
        }
    }

    fn append(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: [u8; 32],
        entry: Entry,
    ) -> Result<u64, EngineError> {
        let seq = self.store.next_id()?;
        self.store.stage(
            batch,
            Kind::History,
            &Store::history_key(&channel, seq),
            &entry,
        );
        events.push(Event::Message {
            channel,
            seq,
            entry,
        });
        Ok(seq)
    }

    fn notice(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: [u8; 32],
        sender: UserId,
        text: String,
        now: UnixTime,
    ) -> Result<u64, EngineError> {
        let sender_name = self.display_name(channel, &sender);
        self.append(
            batch,
            events,
            channel,
            Entry {
                sender,
                sender_name,
                at: now,
                body: Body::Notice(text),
                delivery: None,
            },
        )
    }

    fn display_name(&self, channel: [u8; 32], user: &UserId) -> String {
        self.channels
            .get(&channel)
            .and_then(|v| v.head().state().member(user))
            .map_or_else(|| user.to_string(), |c| c.body().display_name.to_string())
    }
}

fn trust_store(
    bundle: &BundleContents,
    revocations: &[RevocationList],
) -> Result<TrustStore, EngineError> {
    // The own organisation's root without limit, each partner's within the limits the bundle
    // carries for it.
    let mut trust = bundle
        .trust_store()
        .map_err(|e| EngineError::Refused(format!("a trusted root in the bundle: {e}")))?;
    for list in revocations {
        // A list that no longer verifies (its org no longer trusted) is simply not in force.
        let _ = trust.update_revocations(list.clone());
    }
    Ok(trust)
}

/// The members of `state` other than `me`.
pub(super) fn others(state: &vigil_protocol::channel::ChannelState, me: &UserId) -> Vec<UserId> {
    state
        .members
        .iter()
        .map(|m| m.body().user.clone())
        .filter(|u| u != me)
        .collect()
}

fn summary(id: [u8; 32], view: &ChannelView, me: &UserId) -> ChannelSummary {
    let state = view.head().state();
    ChannelSummary {
        id,
        name: state.name.to_string(),
        label: state.label.clone(),
        owner: state.owner.clone(),
        members: state
            .members
            .iter()
            .map(|m| {
                let b = m.body();
                (
                    b.user.clone(),
                    b.display_name.to_string(),
                    b.org.to_string(),
                )
            })
            .collect(),
        epoch: state.epoch,
        member: state.is_member(me),
    }
}

fn describe_change(
    state: &vigil_protocol::channel::ChannelState,
    change: &vigil_protocol::channel::Change,
) -> String {
    use vigil_protocol::channel::Change;
    let author = &state.author;
    match change {
        Change::Create => format!("{author} created this channel, labelled {}", state.label),
        Change::Invite { user } => format!("{author} invited {user}"),
        Change::Remove { user, reason } => {
            format!("{author} removed {user} ({reason}); new sender keys for everyone else")
        }
        Change::Relabel => format!("{author} changed the label to {}", state.label),
        Change::SetAdmins => {
            let admins: Vec<&str> = state.admins.iter().map(UserId::as_str).collect();
            format!("{author} named the admins: {}", admins.join(", "))
        }
        Change::Rekey { reason } => format!("{author} renewed the channel keys ({reason})"),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
