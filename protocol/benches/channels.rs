//! Channel costs: sealing and opening next to raw ChaCha20-Poly1305 + Ed25519, for 3 and 1000
//! members; and what adding or removing a member of a 100-member channel produces.
//!
//! `cargo bench -p vigil-protocol --bench channels`; numbers go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmark code: a failed unwrap is a broken benchmark; it prints its counts"
)]

use std::hint::black_box;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng as _};
use vigil_protocol::channel::{ChannelView, Proposal, SignedChannelState};
use vigil_protocol::keys::{IdentityKeyPair, OrgRootKeyPair, SignatureContext};
use vigil_protocol::label::Label;
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::{LocalIdentity, OrgRoot, TrustStore, UnixTime};

mod support;

use support::NOW;
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

struct Org {
    rng: ChaCha20Rng,
    root: OrgRootKeyPair,
    trust: TrustStore,
    serial: u64,
}

impl Org {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let root = OrgRootKeyPair::generate(&mut rng);
        let mut trust = TrustStore::new();
        trust
            .add_root(OrgRoot::create(
                &root,
                "CERT-AT".parse().unwrap(),
                "AT".parse().unwrap(),
                UnixTime(0),
            ))
            .unwrap();
        Self {
            rng,
            root,
            trust,
            serial: 0,
        }
    }

    fn member(&mut self, n: usize) -> LocalIdentity {
        self.serial += 1;
        let user = format!("officer{n:04}@cert-at");
        support::certified(&mut self.rng, &self.root, self.serial, &user, 3)
    }
}

/// A channel of `n` members: the owner's view and one reader's, with the owner's sender key
/// delivered to the reader.
fn channel(org: &mut Org, n: usize) -> (ChannelView, ChannelView, Vec<LocalIdentity>) {
    let members: Vec<LocalIdentity> = (0..n).map(|i| org.member(i)).collect();
    let label = Label::parse("TLP:AMBER | EU SECRET", ClassificationPolicy::eu()).unwrap();
    let certs = members.iter().map(|m| m.certificate().clone()).collect();
    let owner = &members[0];
    let (mut owner_view, created) = ChannelView::create(
        &mut org.rng,
        owner,
        "bench".parse().unwrap(),
        label,
        certs,
        vec![],
        &org.trust,
        NOW,
    )
    .unwrap();
    let mut reader = ChannelView::join(
        members[1].user(),
        std::slice::from_ref(&created),
        &org.trust,
        NOW,
    )
    .unwrap();
    let key = owner_view.own_sender_key(&mut org.rng).unwrap();
    reader
        .add_sender_key(owner.user(), &owner.identity().public(), &key)
        .unwrap();
    (owner_view, reader, members)
}

/// The bare primitives a channel message needs: XChaCha20-Poly1305 under a random nonce, and an
/// Ed25519 signature (or verification) over 160 bytes of associated data, the nonce and the
/// ciphertext.
fn raw(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let signer = IdentityKeyPair::generate(&mut rng);
    let public = signer.public();
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let ad = [1u8; 160];
    let signed_bytes = |nonce: &[u8], ct: &[u8]| {
        let mut signed = ad.to_vec();
        signed.extend_from_slice(nonce);
        signed.extend_from_slice(ct);
        signed
    };
    let mut seal = c.benchmark_group("raw/xchacha20poly1305 seal + ed25519 sign");
    for size in SIZES {
        let plaintext = vec![0x42; size];
        seal.throughput(Throughput::Bytes(size as u64));
        seal.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let mut nonce = [0u8; 24];
                rng.fill_bytes(&mut nonce);
                let payload = Payload {
                    msg: &plaintext,
                    aad: &ad,
                };
                let ct = cipher.encrypt(XNonce::from_slice(&nonce), payload).unwrap();
                let signed = signed_bytes(&nonce, &ct);
                black_box(signer.sign(SignatureContext::GroupMessage, &signed))
            });
        });
    }
    seal.finish();
    let mut open = c.benchmark_group("raw/ed25519 verify + xchacha20poly1305 open");
    for size in SIZES {
        let plaintext = vec![0x42; size];
        let nonce = [9u8; 24];
        let payload = Payload {
            msg: &plaintext,
            aad: &ad,
        };
        let ct = cipher.encrypt(XNonce::from_slice(&nonce), payload).unwrap();
        let signature = signer.sign(SignatureContext::GroupMessage, &signed_bytes(&nonce, &ct));
        open.throughput(Throughput::Bytes(size as u64));
        open.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let to_check = signed_bytes(&nonce, &ct);
                public
                    .verify(SignatureContext::GroupMessage, &to_check, &signature)
                    .unwrap();
                let payload = Payload { msg: &ct, aad: &ad };
                black_box(cipher.decrypt(XNonce::from_slice(&nonce), payload).unwrap())
            });
        });
    }
    open.finish();
}

fn seal_open(c: &mut Criterion) {
    let mut org = Org::new();
    for members in [3, 1000] {
        let (mut owner, _, ids) = channel(&mut org, members);
        let reader_id = ids[1].user().clone();
        let mut seal = c.benchmark_group(format!("group/seal+sign, {members} members"));
        for size in SIZES {
            let plaintext = vec![0x42; size];
            seal.throughput(Throughput::Bytes(size as u64));
            seal.bench_function(format!("{size}"), |b| {
                b.iter(|| black_box(owner.seal(&mut org.rng, &plaintext).unwrap()));
            });
        }
        seal.finish();
        let mut open = c.benchmark_group(format!("group/verify+open, {members} members"));
        for size in SIZES {
            // A reader whose copy of the owner's chain is at the owner's current position.
            let key = owner.own_sender_key(&mut org.rng).unwrap();
            let chain = std::slice::from_ref(owner.head());
            let mut reader = ChannelView::join(&reader_id, chain, &org.trust, NOW).unwrap();
            let identity = owner
                .head()
                .state()
                .member(&key.sender)
                .unwrap()
                .body()
                .identity_key;
            reader.add_sender_key(&key.sender, &identity, &key).unwrap();
            let plaintext = vec![0x42; size];
            open.throughput(Throughput::Bytes(size as u64));
            open.bench_function(format!("{size}"), |b| {
                b.iter_batched(
                    || owner.seal(&mut org.rng, &plaintext).unwrap(),
                    |message| black_box(reader.open(&message, NOW).unwrap()),
                    BatchSize::SmallInput,
                );
            });
        }
        open.finish();
    }
}

/// Adding and removing a member of a 100-member channel: the state each produces (one signed
/// state to every member) and the sender keys that must then travel over 1:1 sessions.
fn membership_changes(c: &mut Criterion) {
    let mut org = Org::new();
    let (view, _, members) = channel(&mut org, 100);
    let owner = &members[0];
    let newcomer = org.member(100);
    let invite = view
        .propose(
            owner,
            Proposal::Invite(Box::new(newcomer.certificate().clone())),
            &org.trust,
            NOW,
        )
        .unwrap();
    let removal = view
        .propose(
            owner,
            Proposal::Remove {
                users: vec![members[99].user().clone()],
                reason: "bench".parse().unwrap(),
            },
            &org.trust,
            NOW,
        )
        .unwrap();
    let key_len = {
        let chain = std::slice::from_ref(view.head());
        let mut v = ChannelView::join(members[1].user(), chain, &org.trust, NOW).unwrap();
        v.own_sender_key(&mut org.rng).unwrap().to_bytes().len()
    };
    let report = |what: &str, state: &SignedChannelState, keys: usize| {
        let state_bytes = state.to_bytes().len();
        eprintln!(
            "{what}: 1 state of {state_bytes} bytes to each of {} members ({} bytes), then {keys} \
             sender-key distributions of {key_len} bytes each before 1:1 encryption ({} bytes)",
            state.state().members.len(),
            state_bytes * state.state().members.len(),
            keys * key_len
        );
    };
    // Invite: the 100 members send their current key to the newcomer, who sends theirs to 100.
    report("invite into 100", &invite, 100 + 100);
    // Removal: a new epoch; each of the 99 remaining members sends a fresh key to the 98 others.
    report("remove from 100", &removal, 99 * 98);
    c.bench_function(
        "group/propose invite (100 members; sign + check 101 certificates)",
        |b| {
            b.iter(|| {
                black_box(
                    view.propose(
                        owner,
                        Proposal::Invite(Box::new(newcomer.certificate().clone())),
                        &org.trust,
                        NOW,
                    )
                    .unwrap(),
                )
            });
        },
    );
    c.bench_function(
        "group/apply removal at one member (100 members; verify + check 99 certificates)",
        |b| {
            b.iter_batched(
                || {
                    ChannelView::join(
                        members[1].user(),
                        std::slice::from_ref(view.head()),
                        &org.trust,
                        NOW,
                    )
                    .unwrap()
                },
                |mut member| black_box(member.apply(&removal, &org.trust, NOW).unwrap()),
                BatchSize::LargeInput,
            );
        },
    );
}

criterion_group!(benches, raw, seal_open, membership_changes);
criterion_main!(benches);
