//! End-to-end receipts (issue 21): the recipient's client confirms every payload it committed
//! (a light [`ReceiptKind::Delivered`]) and reports the 1:1 payloads it could not decrypt
//! ([`ReceiptKind::Undecryptable`]); the sender keeps what it sent until confirmed (see
//! [`super::confirm`]). Receipts are owed in the same commit as the payload they are about,
//! and batched into the outbox by [`Engine::queue_receipts`].

use vigil_protocol::UserId;
use vigil_protocol::content::{MAX_RECEIPT_REFS, MessageRef, Receipt, ReceiptKind};

use super::records::{Job, OwedReceipt, keys};
use super::{Engine, EngineError};
use crate::store::{Batch, Kind};

/// Most receipts owed at once (about 100 KiB sealed): beyond, the oldest are forgotten (their
/// senders send again and are confirmed then).
pub const MAX_OWED_RECEIPTS: usize = 4096;

/// Most failure reports owed to one peer at once: a relay that feeds us garbage in a peer's
/// name makes us send that peer at most this many references per batch.
pub const MAX_REPORTS_PER_PEER: usize = 64;

impl Engine {
    fn owed(&self) -> Result<Vec<OwedReceipt>, EngineError> {
        Ok(self
            .store
            .get(Kind::Meta, keys::RECEIPTS)?
            .unwrap_or_default())
    }

    /// Owes `to` a receipt of `kind` for the payload `message`, in `batch` (durable with what
    /// it is about).
    pub(super) fn owe_receipt(
        &self,
        batch: &mut Batch,
        to: &UserId,
        kind: ReceiptKind,
        message: MessageRef,
    ) -> Result<(), EngineError> {
        let mut owed = self.owed()?;
        if owed
            .iter()
            .any(|o| &o.to == to && o.kind == kind && o.message == message)
        {
            return Ok(());
        }
        if kind == ReceiptKind::Undecryptable
            && owed
                .iter()
                .filter(|o| &o.to == to && o.kind == kind)
                .count()
                >= MAX_REPORTS_PER_PEER
        {
            tracing::debug!(%to, "failure report not owed: too many for this peer");
            return Ok(());
        }
        owed.push(OwedReceipt {
            to: to.clone(),
            kind,
            message,
        });
        if owed.len() > MAX_OWED_RECEIPTS {
            let excess = owed.len() - MAX_OWED_RECEIPTS;
            owed.drain(..excess);
        }
        self.store.stage(batch, Kind::Meta, keys::RECEIPTS, &owed);
        Ok(())
    }

    /// Queues the receipts owed, batched per peer and kind, behind what the outbox holds.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`].
    pub fn queue_receipts(&mut self) -> Result<(), EngineError> {
        let owed = self.owed()?;
        if owed.is_empty() {
            return Ok(());
        }
        let mut batches: Vec<(UserId, ReceiptKind, Vec<MessageRef>)> = Vec::new();
        for o in owed {
            match batches.iter_mut().find(|(to, kind, messages)| {
                to == &o.to && *kind == o.kind && messages.len() < MAX_RECEIPT_REFS
            }) {
                Some((_, _, messages)) => messages.push(o.message),
                None => batches.push((o.to, o.kind, vec![o.message])),
            }
        }
        self.transact(|engine, batch, _| {
            for (to, kind, messages) in batches {
                let fresh = kind == ReceiptKind::Undecryptable;
                let receipt = Receipt { kind, messages };
                engine.enqueue(batch, Job::Receipt { to, receipt, fresh }, None)?;
            }
            crate::store::Store::stage_remove(batch, Kind::Meta, keys::RECEIPTS);
            Ok(())
        })
        .map(|_| ())
    }
}
