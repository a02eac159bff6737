//! The client engine: the member's identity, sessions, channels, history and outbox, kept in
//! the sealed store; no I/O other than the store. The network worker ([`crate::worker`]) feeds
//! it what the relay delivers and sends what its outbox holds.
//!
//! Every change the engine makes for one input (a delivered payload, a typed message, an
//! invite) is staged in one [`Batch`] and committed atomically and durably before the engine
//! returns: the worker acknowledges a delivery to the relay only after that, and a crash
//! leaves either all of the change or none of it. When a commit fails (a full disk), the
//! engine reloads what the disk holds, so memory never runs ahead of it and a redelivery is
//! processed again.

mod chain;
mod channels;
mod confirm;
mod contacts;
mod error;
mod inbound;
mod listing;
mod outbox;
mod prekeys;
mod receipts;
mod records;
mod revocation;
mod sending;
mod sessions;
mod states;
pub mod trust_lists;
mod ui;
mod waiting;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rand_core::CryptoRngCore;
use vigil_protocol::channel::ChannelId;
use vigil_protocol::channel::ChannelView;
use vigil_protocol::keys::DeviceKeyPair;
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::provisioning::{BundleContents, FileKind, RelayInfo, SealedFile, dearmor};
use vigil_protocol::{
    LocalIdentity, MemberCertificate, RevocationList, TrustList, TrustStore, UnixTime, UserId,
    VerifiedCertificate,
};

pub use crate::store::Place;
use crate::store::{Batch, Kind, Store, StoreError};

pub use channels::Invitee;
pub use confirm::{MAX_RESENDS, MAX_UNCONFIRMED, RESEND_AFTER_SECS};
pub use contacts::Whois;
pub use error::EngineError;
pub use listing::{Candidate, ChannelSummary, MIN_ID_PREFIX, MemberSummary, NoPick, pick_channel};
pub use outbox::{Outgoing, SendOutcome};
pub use receipts::{MAX_OWED_RECEIPTS, MAX_REPORTS_PER_PEER};
pub use records::{Body, Connection, Delivery, Entry, Event, TrustWarning};
use records::{ParkedEntry, keys};
pub use trust_lists::describe_trust_change;
pub use waiting::{
    MAX_PARKED, MAX_PARKED_BYTES, MAX_PARKED_BYTES_PER_SENDER, MAX_PARKED_PER_SENDER,
    PARKED_EXPIRY_SECS, STALL_WARNING_SECS,
};

/// One-time prekeys a client keeps published at the relay.
pub const ONE_TIME_PREKEY_TARGET: u32 = 100;

/// Signed prekeys are replaced after a week (they are refused after
/// [`vigil_protocol::prekey::MAX_SIGNED_PREKEY_AGE_SECS`]).
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 86_400;

/// Sessions kept per contact: the current one and those a simultaneous start or a reinstall
/// left behind, tried in turn.
pub const MAX_SESSIONS_PER_CONTACT: usize = 5;

/// What the engine holds in memory, read from the store at open (and again after a failed
/// commit).
struct Loaded {
    trust: TrustStore,
    prekeys: PrekeyStore,
    channels: BTreeMap<ChannelId, ChannelView>,
    parked: Vec<(Vec<u8>, ParkedEntry)>,
}

/// Where the engine draws its protocol randomness from (keys, nonces, channel ids, sender
/// keys, outbox ids): the OS in the client, a seeded generator in tests and simulations.
pub type EngineRng = Box<dyn CryptoRngCore + Send + Sync>;

/// A member's device: identity, channels, sessions and outbox over the sealed store, changed
/// by one atomic commit per input (see the module documentation).
pub struct Engine {
    store: Store,
    /// The protocol's randomness. The sealed store draws its own nonces from the OS: they never
    /// change what the engine does, only the bytes on disk.
    rng: EngineRng,
    local: LocalIdentity,
    /// This device's key: the relay binds the certificate to it at the first login.
    device: DeviceKeyPair,
    relay: RelayInfo,
    trust: TrustStore,
    prekeys: PrekeyStore,
    channels: BTreeMap<ChannelId, ChannelView>,
    parked: Vec<(Vec<u8>, ParkedEntry)>,
    /// Certificates whose signature was checked, by (user, serial): later checks only look at
    /// what can change (validity, revocation).
    verified: HashMap<(UserId, u64), VerifiedCertificate>,
    /// The time of the last [`Self::next_outgoing`]: when what the relay accepts next was sent.
    outgoing_at: UnixTime,
    /// When [`Self::queue_resends`] last read what is kept unconfirmed.
    resends_checked: UnixTime,
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

/// Reads and opens an enrollment bundle file.
///
/// # Errors
///
/// [`EngineError::ReadBundle`], [`EngineError::BundleArmor`], [`EngineError::NotABundle`] or
/// [`EngineError::BundleEncoding`] for a file that is not a bundle;
/// [`EngineError::BundlePassphrase`] for a wrong bundle passphrase.
pub fn open_bundle(path: &Path, passphrase: &str) -> Result<BundleContents, EngineError> {
    let path_buf = || path.to_owned();
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::ReadBundle {
        path: path_buf(),
        source,
    })?;
    let (kind, bytes) = dearmor(&text).map_err(|source| EngineError::BundleArmor {
        path: path_buf(),
        source,
    })?;
    if kind != FileKind::EnrollmentBundle {
        return Err(EngineError::NotABundle {
            path: path_buf(),
            kind,
        });
    }
    let sealed = SealedFile::from_bytes(&bytes).map_err(|source| EngineError::BundleEncoding {
        path: path_buf(),
        source,
    })?;
    BundleContents::open(&sealed, passphrase.as_bytes())
        .map_err(|_| EngineError::BundlePassphrase { path: path_buf() })
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
        Self::enroll_with_rng(home, bundle, passphrase, now, Box::new(rand_core::OsRng))
    }

    /// [`Self::enroll`], drawing the protocol's randomness from `rng` (a seeded generator
    /// makes a simulated run reproducible).
    ///
    /// # Errors
    ///
    /// As [`Self::enroll`].
    pub fn enroll_with_rng(
        home: &Path,
        bundle: BundleContents,
        passphrase: &str,
        now: UnixTime,
        mut rng: EngineRng,
    ) -> Result<Self, EngineError> {
        let local = bundle
            .local_identity()
            .map_err(EngineError::BundleIdentity)?;
        let trust = trust_store(&bundle, Vec::new(), bundle.revocations())?;
        trust
            .verify_certificate(local.certificate(), now)
            .map_err(EngineError::BundleCertificate)?;
        let store = Store::create(home, passphrase)?;
        let mut prekeys = PrekeyStore::new(&mut rng, &local, now);
        prekeys.generate_one_time_prekeys(
            &mut rng,
            local.identity(),
            ONE_TIME_PREKEY_TARGET as usize,
        );
        let device = DeviceKeyPair::generate(&mut rng);
        let mut batch = Batch::default();
        store.stage(&mut batch, Kind::Identity, keys::BUNDLE, &bundle);
        store.stage_raw(
            &mut batch,
            Kind::Identity,
            keys::DEVICE,
            device.to_seed().as_slice(),
        );
        store.stage(
            &mut batch,
            Kind::Meta,
            keys::REVOCATIONS,
            &bundle.revocations().to_vec(),
        );
        let lists: Vec<TrustList> = bundle.trust_list().cloned().into_iter().collect();
        store.stage(&mut batch, Kind::Meta, keys::TRUST_LISTS, &lists);
        store.stage_raw(
            &mut batch,
            Kind::Prekeys,
            keys::PREKEYS,
            &prekeys.to_bytes(),
        );
        store.commit(batch)?;
        Ok(Self {
            store,
            rng,
            relay: bundle.relay().clone(),
            local,
            device,
            trust,
            prekeys,
            channels: BTreeMap::new(),
            parked: Vec::new(),
            verified: HashMap::new(),
            outgoing_at: UnixTime(0),
            resends_checked: UnixTime(0),
        })
    }

    /// Opens the engine in `home`.
    ///
    /// # Errors
    ///
    /// [`EngineError`]: not enrolled, wrong passphrase, a damaged store.
    pub fn open(home: &Path, passphrase: &str) -> Result<Self, EngineError> {
        Self::open_with_rng(home, passphrase, Box::new(rand_core::OsRng))
    }

    /// [`Self::open`], drawing the protocol's randomness from `rng`.
    ///
    /// # Errors
    ///
    /// As [`Self::open`].
    pub fn open_with_rng(
        home: &Path,
        passphrase: &str,
        mut rng: EngineRng,
    ) -> Result<Self, EngineError> {
        let store = Store::open(home, passphrase)?;
        let bundle = load_bundle(&store)?;
        let local = bundle
            .local_identity()
            .map_err(|_| StoreError::Missing("the identity"))?;
        let device = load_device(&store, &mut rng)?;
        let loaded = load(&store, &bundle)?;
        Ok(Self {
            store,
            rng,
            relay: bundle.relay().clone(),
            local,
            device,
            trust: loaded.trust,
            prekeys: loaded.prekeys,
            channels: loaded.channels,
            parked: loaded.parked,
            verified: HashMap::new(),
            outgoing_at: UnixTime(0),
            resends_checked: UnixTime(0),
        })
    }

    /// Commits `batch`; when that fails, reloads what the store holds (the batch's changes to
    /// memory are then undone) before returning the error.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub(super) fn commit(&mut self, batch: Batch) -> Result<(), EngineError> {
        let Err(e) = self.store.commit(batch) else {
            return Ok(());
        };
        tracing::warn!(error = %e, "commit failed; reloading the engine's state from the store");
        self.reload();
        Err(e.into())
    }

    /// Replaces what the engine holds in memory by what the store holds.
    fn reload(&mut self) {
        match load_bundle(&self.store).and_then(|bundle| load(&self.store, &bundle)) {
            Ok(loaded) => {
                self.trust = loaded.trust;
                self.prekeys = loaded.prekeys;
                self.channels = loaded.channels;
                self.parked = loaded.parked;
                self.verified.clear();
            }
            Err(e) => tracing::error!(error = %e, "cannot reload the store"),
        }
    }

    /// Runs `change` on one batch and commits it atomically and durably: the engine's unit of
    /// work (one per input). Returns the events it produced. On any error nothing is kept.
    pub(super) fn transact(
        &mut self,
        change: impl FnOnce(&mut Self, &mut Batch, &mut Vec<Event>) -> Result<(), EngineError>,
    ) -> Result<Vec<Event>, EngineError> {
        let mut batch = Batch::default();
        let mut events = Vec::new();
        if let Err(e) = change(self, &mut batch, &mut events) {
            // Memory may hold part of the change: go back to what the store says.
            self.reload();
            return Err(e);
        }
        self.commit(batch)?;
        Ok(events)
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

    /// This device's key (for logging in: the relay binds the certificate to it).
    #[must_use]
    pub fn device(&self) -> &DeviceKeyPair {
        &self.device
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

    /// Stages the view of `channel` as it is now.
    fn stage_channel(&self, batch: &mut Batch, channel: ChannelId) {
        if let Some(view) = self.channels.get(&channel) {
            self.store
                .stage_raw(batch, Kind::Channel, channel.as_bytes(), &view.to_bytes());
        }
    }

    fn append(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        place: Place,
        entry: Entry,
    ) -> Result<u64, EngineError> {
        let seq = self.store.next_id()?;
        self.store.stage(
            batch,
            Kind::History,
            &Store::history_key(place, seq),
            &entry,
        );
        events.push(Event::Message { place, seq, entry });
        Ok(seq)
    }

    fn notice(
        &self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        channel: ChannelId,
        sender: UserId,
        body: Body,
        now: UnixTime,
    ) -> Result<u64, EngineError> {
        let sender_name = self.display_name(Some(channel), &sender);
        self.append(
            batch,
            events,
            Place::Channel(channel),
            Entry {
                sender,
                sender_name,
                at: now,
                body,
                delivery: None,
                signer: None,
            },
        )
    }

    /// `user`'s display name as the certificate in `channel` gives it, else their id.
    fn display_name(&self, channel: Option<ChannelId>, user: &UserId) -> String {
        channel
            .and_then(|c| self.channels.get(&c))
            .and_then(|v| v.head().state().member(user))
            .map_or_else(|| user.to_string(), |c| c.body().display_name.to_string())
    }
}

fn load_bundle(store: &Store) -> Result<BundleContents, EngineError> {
    Ok(store
        .get(Kind::Identity, keys::BUNDLE)?
        .ok_or(StoreError::Missing("identity"))?)
}

/// This device's key; a store enrolled before devices had keys gets one now (the relay binds
/// the certificate to it at the next login).
fn load_device(store: &Store, rng: &mut EngineRng) -> Result<DeviceKeyPair, EngineError> {
    if let Some(seed) = store.get_raw(Kind::Identity, keys::DEVICE)? {
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Missing("the device key"))?;
        return Ok(DeviceKeyPair::from_seed(&seed));
    }
    let device = DeviceKeyPair::generate(rng);
    let mut batch = Batch::default();
    store.stage_raw(
        &mut batch,
        Kind::Identity,
        keys::DEVICE,
        device.to_seed().as_slice(),
    );
    store.commit(batch)?;
    Ok(device)
}

/// Reads what the engine keeps in memory from the store.
fn load(store: &Store, bundle: &BundleContents) -> Result<Loaded, EngineError> {
    let corrupt = StoreError::Missing;
    let revocations: Vec<RevocationList> = store
        .get(Kind::Meta, keys::REVOCATIONS)?
        .unwrap_or_default();
    let kept: Vec<TrustList> = store
        .get(Kind::Meta, keys::TRUST_LISTS)?
        .unwrap_or_default();
    let trust = trust_store(bundle, kept, &revocations)?;
    let prekeys = store
        .get_raw(Kind::Prekeys, keys::PREKEYS)?
        .ok_or_else(|| corrupt("prekeys"))?;
    let prekeys = PrekeyStore::from_bytes(&prekeys).map_err(|_| corrupt("prekeys"))?;
    let mut channels = BTreeMap::new();
    for (key, bytes) in store.scan_raw(Kind::Channel, &[])? {
        let view = ChannelView::from_bytes(&bytes).map_err(|_| corrupt("a channel"))?;
        let id = ChannelId(key.try_into().map_err(|_| corrupt("a channel key"))?);
        channels.insert(id, view);
    }
    let parked = store.scan(Kind::Parked, &[])?;
    Ok(Loaded {
        trust,
        prekeys,
        channels,
        parked,
    })
}

/// The trust store of a device: the own organisation's root without limit, each partner's
/// within the limits the bundle carries for it, then the trust list of the bundle and those
/// applied since, in order (the newest decides the partners; the older ones say until when a
/// removed partner was trusted), then the revocation lists.
fn trust_store(
    bundle: &BundleContents,
    kept: Vec<TrustList>,
    revocations: &[RevocationList],
) -> Result<TrustStore, EngineError> {
    let mut trust = bundle.trust_store().map_err(EngineError::BundleRoot)?;
    let own = bundle.certificate().body().org.clone();
    // Revocations after each list, as they were in force while it was: a partner a later list
    // removes keeps its revocations for what it signed while trusted.
    let apply_revocations = |trust: &mut TrustStore| {
        for list in revocations {
            // A list of an organisation not trusted (now) is simply not in force.
            let _ = trust.update_revocations(list.clone());
        }
    };
    apply_revocations(&mut trust);
    for list in bundle.trust_list().cloned().into_iter().chain(kept) {
        // A list already applied (the bundle's is usually the first kept) changes nothing; one
        // that does not apply leaves the partners as they were.
        if let Err(e) = trust.apply_trust_list(list, &own) {
            tracing::debug!(reason = %e, "trust list not applied at open");
        }
        apply_revocations(&mut trust);
    }
    Ok(trust)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
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
