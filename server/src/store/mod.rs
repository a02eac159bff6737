//! The relay's storage, behind two small traits: [`MailboxStore`] (one durable queue per
//! recipient) and [`Directory`] (certificates, the devices they are bound to, prekeys, revocation lists). Only ciphertext and
//! routing metadata reach either. The relay calls them through `Arc<dyn …>`, so the engine is
//! chosen at start; [`sled::SledStore`] is the embedded default and implements both.
//!
//! What an engine promises, whatever it is built on:
//!
//! - a write the relay acknowledges to anyone (a stored message, an ack, published or handed
//!   out prekeys, a login's certificate) is durable when its future completes;
//! - a message is stored once, however often its sender resends it (same sender, same client
//!   message id, within [`DEDUP_RETENTION_SECS`]), and once for all its recipients;
//! - a mailbox is read in the order its entries were committed: a reader that has seen entry
//!   `n` never misses a later-committed entry below `n`;
//! - a one-time prekey is handed out at most once.
//!
//! Methods that may wait for a disk or a network return a [`StoreFuture`]; those that answer
//! from memory, and are called per login or per metrics scrape, do not.

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use vigil_protocol::keys::DevicePublicKey;
use vigil_protocol::prekey::{OneTimePrekey, SignedPrekey};
use vigil_protocol::relay::{ClientMessageId, MessageId};
use vigil_protocol::{MemberCertificate, RevocationList, UnixTime, UserId};

pub mod sled;

pub use self::sled::SledStore;

/// The embedded default engine, under the name the load generator and older callers use.
pub type Store = SledStore;

/// How long a (sender, client message id) is remembered to make a resend a no-op: a client
/// resends only until the relay acknowledged, so a week covers a laptop closed over a long
/// weekend with room to spare.
pub const DEDUP_RETENTION_SECS: u64 = 7 * 86_400;

/// What a storage call returns when it may wait (for a flush, a disk, a network).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An answer that is ready at once, for engines that have it without waiting.
pub(crate) fn ready<'a, T: Send + 'a>(result: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

/// A storage operation failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed (I/O, a full disk, corruption).
    #[error("storage: {0}")]
    Sled(#[from] ::sled::Error),
    /// A stored value does not decode: the data directory is damaged.
    #[error("storage holds a damaged record: {0}")]
    Corrupt(#[from] vigil_protocol::DecodeError),
    /// The data directory cannot be opened at all.
    #[error(
        "the data directory {0} is damaged and cannot be opened; restore it from a backup \
         (docs/operations.md, Backups)"
    )]
    Damaged(PathBuf),
    /// The data directory was written by a relay of another wire version (section 16 of
    /// docs/protocol.md): its records cannot be read, and are not migrated.
    #[error(
        "the data directory {dir} was written by a relay of {found}; this relay speaks wire \
         version {expected}: move it aside and start with an empty one (docs/operations.md, \
         upgrading)"
    )]
    OtherVersion {
        dir: PathBuf,
        /// What wrote it: a wire version, or "an unknown version".
        found: String,
        /// [`vigil_protocol::WIRE_VERSION`].
        expected: u8,
    },
    /// A recipient's mailbox is full; nothing of the message was stored.
    #[error("mailbox of {0} is full")]
    QuotaExceeded(UserId),
    /// A member would hold more one-time prekeys than allowed; nothing was stored.
    #[error("{user} would hold {would} one-time prekeys; at most {max} are kept")]
    PrekeyQuota {
        user: UserId,
        /// How many they would hold with the new ones.
        would: usize,
        /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`].
        max: usize,
    },
}

/// Messages and bytes a mailbox holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub messages: u64,
    /// Payload bytes.
    pub bytes: u64,
}

/// The most a mailbox may hold; a message that would take any recipient's mailbox past it is
/// refused for all of them.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub messages: u64,
    /// Payload bytes.
    pub bytes: u64,
}

/// A message to store for its recipients.
#[derive(Debug)]
pub struct NewMessage {
    pub sender: UserId,
    /// The sender's id for it: a resend with the same id is stored once.
    pub id: ClientMessageId,
    /// Sorted, without duplicates, at least one.
    pub recipients: Vec<UserId>,
    pub payload: Vec<u8>,
    pub stored_at: UnixTime,
    /// Each recipient's mailbox quota.
    pub quota: Quota,
}

/// A message waiting in a mailbox, as it is pushed to its recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Its place in the mailbox (what the recipient acknowledges).
    pub id: MessageId,
    pub sender: UserId,
    pub stored_at: UnixTime,
    pub payload: Vec<u8>,
}

/// The device a member's certificate is bound to: the first device key that logged in with
/// it (an enrollment bundle enrols one device, see `login.rs`).
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct DeviceBinding {
    /// The certificate the device logged in with.
    pub certificate: MemberCertificate,
    /// The device's key.
    pub device: DevicePublicKey,
}

/// The mailboxes: one durable queue per recipient, a message stored once and referenced by
/// each recipient's queue.
pub trait MailboxStore: Send + Sync + Debug {
    /// Stores `message` for every recipient, durably, unless its sender already sent its id.
    /// Returns whether it was a duplicate (then nothing was stored again). The sled engine
    /// commits it together with whatever else is being written at the moment.
    ///
    /// # Errors
    ///
    /// [`StoreError::QuotaExceeded`] (nothing stored) or a storage error.
    fn enqueue(&self, message: NewMessage) -> StoreFuture<'_, bool>;

    /// Removes the messages `ids` from `user`'s mailbox, durably (a payload goes when the
    /// last mailbox holding it lets go). Returns how many were there.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn ack<'a>(&'a self, user: &'a UserId, ids: &'a [MessageId]) -> StoreFuture<'a, u32>;

    /// Up to `limit` messages of `user`'s mailbox after `after` (exclusive), oldest first.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn pending<'a>(
        &'a self,
        user: &'a UserId,
        after: Option<MessageId>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Pending>>;

    /// What `user`'s mailbox holds (read at every login: from memory).
    fn usage(&self, user: &UserId) -> Usage;

    /// Non-empty mailboxes and what they hold together, over all members (for metrics: from
    /// memory).
    fn totals(&self) -> (u64, Usage);

    /// How many messages were ever stored (and so acknowledged): it only grows, with each
    /// message. A store that recovers a smaller count than one seen earlier has lost
    /// acknowledged messages.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn stored_count(&self) -> StoreFuture<'_, u64>;

    /// Forgets client message ids stored more than [`DEDUP_RETENTION_SECS`] before `now`;
    /// returns how many.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn prune_dedup(&self, now: UnixTime) -> StoreFuture<'_, usize>;

    /// Waits until everything written so far, mailboxes and directory, is durable.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn flush(&self) -> StoreFuture<'_, ()>;

    /// Flushes made since the store was opened, and the requests that waited for one (their
    /// ratio is how many requests one flush served).
    fn flush_counts(&self) -> (u64, u64);
}

/// The directory: members' certificates as they last logged in, their prekeys, and the
/// revocation lists in force.
pub trait Directory: Send + Sync + Debug {
    /// `user`'s certificate, as they last logged in with it.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn certificate<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<MemberCertificate>>;

    /// Records the certificate a member logged in with, durably: other members' sends name
    /// them by it.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn put_certificate<'a>(&'a self, certificate: &'a MemberCertificate) -> StoreFuture<'a, ()>;

    /// The device `user`'s certificate is bound to, if one logged in.
    ///
    /// # Errors
    ///
    /// A storage error, or a damaged record.
    fn device_binding<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<DeviceBinding>>;

    /// Binds the member `binding` names to it, durably, if what is bound now is still
    /// `previous` (compare and swap: of two first logins at once, one binds). Returns whether
    /// it did.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn bind_device<'a>(
        &'a self,
        binding: &'a DeviceBinding,
        previous: Option<&'a DeviceBinding>,
    ) -> StoreFuture<'a, bool>;

    /// Replaces `user`'s signed prekey and adds `one_time` prekeys, durably; returns how many
    /// one-time prekeys they now hold. A member holds at most
    /// [`vigil_protocol::prekey::MAX_ONE_TIME_PREKEYS`], as their own client does: more would
    /// only let one member fill the relay's disk. Signatures are the caller's to check.
    ///
    /// # Errors
    ///
    /// [`StoreError::PrekeyQuota`] (nothing stored), or a storage error.
    fn publish_prekeys<'a>(
        &'a self,
        user: &'a UserId,
        signed: &'a SignedPrekey,
        one_time: &'a [OneTimePrekey],
    ) -> StoreFuture<'a, usize>;

    /// `user`'s signed prekey, if they published one.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn signed_prekey<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, Option<SignedPrekey>>;

    /// How many one-time prekeys `user` holds at the relay.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn one_time_prekeys_held<'a>(&'a self, user: &'a UserId) -> StoreFuture<'a, usize>;

    /// Takes one of `user`'s one-time prekeys, durably: it is never handed out twice, to
    /// concurrent callers either. Returns it (none when the stock is empty) and how many
    /// remain.
    ///
    /// # Errors
    ///
    /// A storage error.
    fn take_one_time_prekey<'a>(
        &'a self,
        user: &'a UserId,
    ) -> StoreFuture<'a, (Option<OneTimePrekey>, usize)>;

    /// Remembers the revocation lists in force, one per organisation, so a restart never
    /// falls back to an older list left in the revocations directory. Called while the lists
    /// are being swapped, so it does not wait: what it wrote is durable with the next durable
    /// write or flush (the lists are acknowledged to nobody; the files stay the source).
    ///
    /// # Errors
    ///
    /// A storage error.
    fn remember_revocations(&self, lists: &[RevocationList]) -> Result<(), StoreError>;

    /// The lists remembered by [`Self::remember_revocations`].
    ///
    /// # Errors
    ///
    /// A storage error, or a damaged list.
    fn revocations(&self) -> StoreFuture<'_, Vec<RevocationList>>;
}
