//! Group commit: one writer thread applies the mailbox writes of every request waiting, in one
//! transaction, and flushes once for all of them.
//!
//! The relay answers a request only after what it wrote is on disk. In sled 0.34 an atomic
//! write (a transaction or a batch) is not only a flush away from disk: it writes and syncs
//! the log buffer when it starts and again when it ends (`pin_log`), so each one costs
//! `pwrite` + `sync_file_range` twice, and a flush a third time. On a virtual machine each of
//! them is a trip to the hypervisor: with requests one transaction and one flush each, the relay
//! spent more CPU syncing than serving (docs/performance.md). Here a request hands its write
//! to the writer thread and waits; the thread takes every write queued while it was busy
//! (up to [`MAX_BATCH`]), applies them in one transaction, flushes once, and answers each.
//! A lone request waits for one transaction and one flush, as before, never for a timer;
//! under load, one of each serves every request that arrived meanwhile. Nothing is
//! acknowledged earlier than before: a request is answered after the flush that covers it.
//!
//! The thread calls the blocking `Db::flush`, never `flush_async`: that one waits on sled's own
//! I/O pool, which enough concurrent flushes fill with waiters while the write they wait for
//! needs a thread of it (a deadlock, seen with 30 bundle fetches at once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::mailbox::MailTrees;
use super::write::{Applied, Write};
use crate::store::StoreError;

/// Most requests one transaction and flush serve (bounds a transaction's size and the time
/// the first of them waits).
pub(super) const MAX_BATCH: usize = 256;

/// A request's write (or none: "flush what I wrote elsewhere") and where its answer goes.
#[derive(Debug)]
struct Job {
    write: Option<Write>,
    reply: oneshot::Sender<Result<Option<Applied>, StoreError>>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Transactions-and-flushes made.
    flushes: AtomicU64,
    /// Requests served by them.
    jobs: AtomicU64,
}

/// The writer thread. Dropping it lets the thread finish what is queued, and waits for it (so
/// the data directory is released when the store is).
#[derive(Debug)]
pub(super) struct GroupCommit {
    /// `None` only while dropping (closing the queue ends the thread).
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    counts: Arc<Counts>,
    /// Held by the writer thread for each batch, and by a backup for its whole export
    /// (`backup.rs`): while a backup holds it, mailbox writes wait.
    pub(super) pause: Arc<Mutex<()>>,
}

fn stopped() -> StoreError {
    StoreError::Sled(sled::Error::ReportableBug(
        "the relay's writer thread stopped".into(),
    ))
}

impl GroupCommit {
    /// Starts the writer thread for `db` and its mailbox trees.
    pub(super) fn start(db: sled::Db, trees: MailTrees) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        let counts = Arc::new(Counts::default());
        let pause = Arc::new(Mutex::new(()));
        let thread = {
            let (counts, pause) = (Arc::clone(&counts), Arc::clone(&pause));
            std::thread::Builder::new()
                .name("vigil-writer".into())
                .spawn(move || run(&queue, &db, &trees, &counts, &pause))?
        };
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
            counts,
            pause,
        })
    }

    /// Transactions-and-flushes made, and requests they served (their ratio is how many
    /// requests one served on average).
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.counts.flushes.load(Ordering::Relaxed),
            self.counts.jobs.load(Ordering::Relaxed),
        )
    }

    /// Applies `write` (if any) with the others queued, and returns once it, and everything
    /// written before this call, is on disk.
    pub(super) async fn submit(&self, write: Option<Write>) -> Result<Option<Applied>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Job { write, reply }).is_ok());
        if !sent {
            return Err(stopped());
        }
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer: takes what is queued, applies it in one transaction, flushes, answers.
fn run(
    queue: &mpsc::Receiver<Job>,
    db: &sled::Db,
    trees: &MailTrees,
    counts: &Counts,
    pause: &Mutex<()>,
) {
    while let Ok(first) = queue.recv() {
        // A backup in progress holds this: the batch waits for it.
        let _batch = pause.lock().unwrap_or_else(PoisonError::into_inner);
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<Option<Write>>, Vec<_>) =
            jobs.into_iter().map(|job| (job.write, job.reply)).unzip();
        let has_write: Vec<bool> = writes.iter().map(Option::is_some).collect();
        let writes: Vec<Write> = writes.into_iter().flatten().collect();
        let applied = if writes.is_empty() {
            Ok(Vec::new())
        } else {
            trees.apply(&writes)
        };
        // Every write of this batch, and everything written before its requests were queued,
        // is in sled now: one flush makes all of it durable.
        let flushed = db.flush();
        counts.flushes.fetch_add(1, Ordering::Relaxed);
        counts
            .jobs
            .fetch_add(replies.len() as u64, Ordering::Relaxed);
        let (mut results, failed) = match applied {
            Ok(results) => (results.into_iter(), flushed.err().map(StoreError::Sled)),
            Err(e) => (Vec::new().into_iter(), Some(e)),
        };
        for (reply, wrote) in replies.into_iter().zip(has_write) {
            let answer = match (&failed, wrote) {
                (Some(e), _) => Err(e.clone()),
                (None, true) => results.next().map(Some).ok_or_else(stopped),
                (None, false) => Ok(None),
            };
            let _ = reply.send(answer);
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has answered what is queued.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_protocol::relay::ClientMessageId;
    use vigil_protocol::{UnixTime, UserId};

    use super::super::SledStore;
    use super::super::write::{Applied, Write};
    use crate::store::{MailboxStore as _, NewMessage, Quota, StoreError};

    fn quota(messages: u64) -> Quota {
        Quota {
            messages,
            bytes: 1 << 30,
        }
    }

    /// The write that stores `payload` from `sender` for `recipients`.
    fn enqueue(
        sender: &UserId,
        id: ClientMessageId,
        recipients: &[UserId],
        payload: Vec<u8>,
        quota: Quota,
    ) -> Write {
        Write::Enqueue(Box::new(NewMessage {
            sender: sender.clone(),
            id,
            recipients: recipients.to_vec(),
            payload,
            stored_at: UnixTime(1),
            quota,
        }))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_flushes_and_all_are_on_disk_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (alice, bob): (UserId, UserId) = (
            "alice@cert-at".parse().unwrap(),
            "bob@cert-at".parse().unwrap(),
        );
        let mut tasks = Vec::new();
        for i in 0u8..200 {
            let (store, alice, bob) = (store.clone(), alice.clone(), bob.clone());
            tasks.push(tokio::spawn(async move {
                let write = enqueue(
                    &alice,
                    ClientMessageId([i; 16]),
                    &[bob],
                    vec![i; 100],
                    quota(1000),
                );
                store.write(write).await.unwrap()
            }));
        }
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Applied::Enqueued(Ok(false))));
        }
        let (flushes, served) = store.flush_counts();
        assert_eq!(served, 200);
        assert!((1..=200).contains(&flushes), "{flushes} flushes");
        drop(store); // joins the writer once the tasks' clones are gone too
        // sled releases the directory's lock when the last handle goes (a spawned task's
        // clone may outlive its join for a moment): try again briefly.
        let mut reopened = SledStore::open(dir.path());
        for _ in 0..100 {
            if !matches!(reopened, Err(StoreError::Sled(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            reopened = SledStore::open(dir.path());
        }
        let reopened = reopened.unwrap();
        assert_eq!(reopened.stored_count().await.unwrap(), 200);
        let pending = reopened
            .pending(&"bob@cert-at".parse().unwrap(), None, 1000)
            .await
            .unwrap();
        assert_eq!(pending.len(), 200);
    }

    #[tokio::test]
    async fn a_full_mailbox_refuses_its_own_message_not_the_others_in_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let alice: UserId = "alice@cert-at".parse().unwrap();
        let (full, free): (UserId, UserId) = (
            "full@cert-at".parse().unwrap(),
            "free@cert-at".parse().unwrap(),
        );
        let write = |n: u8, to, q| enqueue(&alice, ClientMessageId([n; 16]), &[to], vec![n], q);
        // One transaction: the first fills `full`, the second is over its quota, the third goes
        // to someone else, the fourth is a resend of the first.
        let writes = [
            write(1, full.clone(), quota(1)),
            write(2, full.clone(), quota(1)),
            write(3, free, quota(1)),
            write(1, full.clone(), quota(1)),
        ];
        let results = store.mail.apply(&writes).unwrap();
        assert!(matches!(results[0], Applied::Enqueued(Ok(false))));
        assert!(
            matches!(&results[1], Applied::Enqueued(Err(StoreError::QuotaExceeded(u))) if *u == full)
        );
        assert!(matches!(results[2], Applied::Enqueued(Ok(false))));
        assert!(matches!(results[3], Applied::Enqueued(Ok(true))));
        assert_eq!(store.stored_count().await.unwrap(), 2);
        assert_eq!(store.usage(&full).messages, 1);
    }

    #[tokio::test]
    async fn a_write_committed_later_is_never_behind_what_was_already_pushed() {
        // A pusher remembers the last entry it sent and reads on from there. Writes made in
        // one order and committed in the other must still come after it.
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (alice, bob): (UserId, UserId) = (
            "alice@cert-at".parse().unwrap(),
            "bob@cert-at".parse().unwrap(),
        );
        let write = |n: u8| {
            enqueue(
                &alice,
                ClientMessageId([n; 16]),
                std::slice::from_ref(&bob),
                vec![n],
                quota(10),
            )
        };
        let (first, second) = (write(1), write(2));
        store.write(second).await.unwrap();
        let pushed = store.pending(&bob, None, 10).await.unwrap();
        assert_eq!(pushed.len(), 1);
        store.write(first).await.unwrap();
        let next = store.pending(&bob, Some(pushed[0].id), 10).await.unwrap();
        assert_eq!(next.len(), 1, "the later commit is after the pushed entry");
        assert_eq!(next[0].payload, vec![1]);
    }
}
