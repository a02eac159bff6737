//! The organisation's trust list from the relay: which partner organisations this device
//! trusts, and within which limits. A newer list signed by the own root is put in force (an
//! older, forged or another organisation's list changes nothing), kept in the sealed store, and
//! then everything that waited for a partner's trust is retried; members of a partner no
//! longer trusted are removed from the channels we act for, as revoked members are.

use vigil_protocol::cert::{TrustChange, TrustListUpdate};
use vigil_protocol::channel::{ChannelError, SignedChannelState};
use vigil_protocol::{CertError, OrgId, RevocationList, TrustList, UnixTime, UserId};

use super::records::{Body, Entry, Event, keys};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind, Place};

/// The organisation a refusal is about when the refusal comes from what this device trusts
/// (a partner's root it does not know, or limits lower than the signer's): such a change may
/// be accepted once this device's trust list catches up, or once a later state builds on it
/// (the removal of a partner's members that follows a partner's removal), so it waits instead
/// of being dropped.
pub(super) fn trust_difference(error: &ChannelError) -> Option<&OrgId> {
    match error {
        ChannelError::Certificate(
            CertError::UntrustedRoot { org, .. }
            | CertError::ClearanceAboveLimit { org, .. }
            | CertError::RoleNotAllowed { org, .. },
        ) => Some(org),
        _ => None,
    }
}

/// Trust lists kept in the store, oldest dropped first: replayed at open, they rebuild which
/// partners were trusted until when (a state signed while a partner was trusted still applies
/// after it was removed). Far more versions than an organisation signs in a device's life.
pub const TRUST_LISTS_KEPT: usize = 64;

impl Engine {
    /// Puts a newer trust list of our own organisation in force (verified against our root;
    /// older, forged and other organisations' lists are ignored), then removes members of
    /// partners no longer trusted from the channels we act for and retries what waited.
    /// Returns the events.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn update_trust_lists(
        &mut self,
        lists: Vec<TrustList>,
        now: UnixTime,
    ) -> Result<Vec<Event>, EngineError> {
        self.transact(|engine, batch, events| {
            let own = engine.local.certificate().body().org.clone();
            let mut changes = Vec::new();
            let mut kept: Vec<TrustList> = engine
                .store
                .get(Kind::Meta, keys::TRUST_LISTS)?
                .unwrap_or_default();
            for list in lists.into_iter().filter(|l| l.org() == &own) {
                match engine.trust.apply_trust_list(list.clone(), &own) {
                    Ok(TrustListUpdate::Applied(change)) => {
                        changes.push(change);
                        if kept.len() >= TRUST_LISTS_KEPT {
                            kept.remove(0);
                        }
                        kept.push(list);
                    }
                    Ok(TrustListUpdate::Unchanged) => {}
                    Err(e) => tracing::warn!(reason = %e, "trust list not applied"),
                }
            }
            if changes.is_empty() {
                return Ok(());
            }
            engine.trust_changed(batch, &kept);
            for change in changes {
                events.push(Event::Partners(change));
            }
            engine.remove_invalid_members(batch, events, now)?;
            engine.retry_parked(batch, events, now)?;
            engine.check_waiting(batch, events, now)
        })
    }

    /// Keeps the trust lists applied and the revocation lists now in force (a partner no
    /// longer trusted takes its list with it) and forgets which certificates were checked.
    fn trust_changed(&mut self, batch: &mut Batch, kept: &Vec<TrustList>) {
        self.verified.clear();
        self.store.stage(batch, Kind::Meta, keys::TRUST_LISTS, kept);
        // Former partners' lists too: replayed at open, they are in force again while each
        // partner was trusted, and kept when it is removed.
        let lists: Vec<RevocationList> = self
            .trust
            .roots()
            .filter_map(|r| self.trust.revocations(r.org()).cloned())
            .chain(self.trust.former_revocations().cloned())
            .collect();
        self.store
            .stage(batch, Kind::Meta, keys::REVOCATIONS, &lists);
    }

    /// The version of our organisation's trust list in force, if we have one.
    #[must_use]
    pub fn trust_list_version(&self) -> Option<u64> {
        self.trust
            .trust_list(&self.local.certificate().body().org)
            .map(TrustList::version)
    }

    /// Says once, loudly, that `signed` (a change, or an invitation when we are not in its
    /// channel) waits because this device does not (yet) trust `org` as its signer needs: other
    /// members may already show it, so this view differs from theirs until the list arrives.
    pub(super) fn trust_wait_alert(
        &mut self,
        batch: &mut Batch,
        events: &mut Vec<Event>,
        (from, signed): (&UserId, &SignedChannelState),
        org: &OrgId,
        error: &ChannelError,
        now: UnixTime,
    ) -> Result<(), EngineError> {
        if self.trust.was_removed(org) {
            // A partner the organisation removed: the change waits for the one that removes
            // its members; there is nothing to ask anyone.
            return Ok(());
        }
        let channel = signed.state().channel;
        let joined = self.channels.contains_key(&channel);
        let what = if joined {
            "a change waits".to_owned()
        } else {
            format!("an invitation to {} from {from} waits", signed.state().name)
        };
        let version = self
            .trust_list_version()
            .map_or_else(|| "none yet".to_owned(), |v| format!("version {v}"));
        let text = format!(
            "{what}: this device does not trust {org} as it needs ({error}); it is applied if \
             your organisation's trust list, fetched from the relay at every connection, comes \
             to trust it (this device has {version}). Other members may see it already. Trust \
             a partner only on your administrator's word, never on a message's."
        );
        let author = self.local.user().clone();
        let body = Body::Alert(text.clone());
        if joined {
            self.notice(batch, events, channel, author, body, now)?;
        } else {
            let entry = Entry {
                sender_name: author.to_string(),
                sender: author,
                at: now,
                body,
                delivery: None,
                signer: None,
            };
            self.append(batch, events, Place::System, entry)?;
        }
        events.push(Event::Alert { channel, text });
        Ok(())
    }
}

/// What a [`TrustChange`] means for a person, e.g. "now trusting CERT-SK; no longer trusting
/// CERT-CZ (trust list version 4)".
#[must_use]
pub fn describe_trust_change(change: &TrustChange) -> String {
    let mut parts = Vec::new();
    let names = |orgs: &[OrgId]| {
        orgs.iter()
            .map(OrgId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !change.added.is_empty() {
        parts.push(format!("now trusting {}", names(&change.added)));
    }
    if !change.removed.is_empty() {
        parts.push(format!("no longer trusting {}", names(&change.removed)));
    }
    if !change.rotated.is_empty() {
        parts.push(format!("new root key for {}", names(&change.rotated)));
    }
    if !change.limits_changed.is_empty() {
        parts.push(format!("new limits for {}", names(&change.limits_changed)));
    }
    if parts.is_empty() {
        parts.push("no change in partners".to_owned());
    }
    format!(
        "Your organisation's trust list changed: {} (trust list version {})",
        parts.join("; "),
        change.version
    )
}
