//! Handshake and ratchet costs next to the raw primitives they are built from.
//!
//! `cargo bench -p vigil-protocol --bench protocol`; numbers go to `docs/performance.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark code: a failed unwrap is a broken benchmark"
)]

use std::hint::black_box;

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng as _};
use vigil_protocol::keys::{AgreementKeyPair, IdentityKeyPair, OrgRootKeyPair, SignatureContext};
use vigil_protocol::message::Envelope;
use vigil_protocol::prekey::PrekeyStore;
use vigil_protocol::{LocalIdentity, OrgRoot, Session, TrustStore, UnixTime};

mod support;

use support::NOW;
const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

struct Member {
    local: LocalIdentity,
    prekeys: PrekeyStore,
}

fn member(rng: &mut ChaCha20Rng, root: &OrgRootKeyPair, serial: u64, user: &str) -> Member {
    let local = support::certified(rng, root, serial, user, 0);
    let prekeys = PrekeyStore::new(rng, &local, NOW);
    Member { local, prekeys }
}

struct Fixture {
    rng: ChaCha20Rng,
    trust: TrustStore,
    alice: Member,
    bob: Member,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
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
    let alice = member(&mut rng, &root, 1, "alice@cert-at");
    let bob = member(&mut rng, &root, 2, "bob@cert-at");
    Fixture {
        rng,
        trust,
        alice,
        bob,
    }
}

fn established(f: &mut Fixture) -> (Session, Session) {
    let bob_cert = f
        .trust
        .verify_certificate(f.bob.local.certificate(), NOW)
        .unwrap();
    let bundle = f
        .bob
        .prekeys
        .bundle(f.bob.local.identity().public(), false)
        .unwrap();
    let mut alice = Session::initiate(&mut f.rng, &f.alice.local, &bob_cert, &bundle, NOW).unwrap();
    let Envelope::Prekey(first) = alice.encrypt(&mut f.rng, b"hi").unwrap() else {
        panic!()
    };
    let (mut bob, _) =
        Session::accept(&f.bob.local, &mut f.bob.prekeys, &f.trust, &first, NOW).unwrap();
    let reply = bob.encrypt(&mut f.rng, b"ho").unwrap();
    alice.decrypt(&reply).unwrap();
    (alice, bob)
}

fn handshake(c: &mut Criterion) {
    let f = std::cell::RefCell::new(fixture());
    let bob_cert = {
        let f = f.borrow();
        f.trust
            .verify_certificate(f.bob.local.certificate(), NOW)
            .unwrap()
    };
    c.bench_function(
        "handshake/initiate+accept (X3DH, both sides, with one-time prekey)",
        |b| {
            b.iter_batched(
                || {
                    let f = &mut *f.borrow_mut();
                    f.bob
                        .prekeys
                        .generate_one_time_prekeys(&mut f.rng, f.bob.local.identity(), 1);
                    f.bob
                        .prekeys
                        .bundle(f.bob.local.identity().public(), true)
                        .unwrap()
                },
                |bundle| {
                    let f = &mut *f.borrow_mut();
                    let mut alice =
                        Session::initiate(&mut f.rng, &f.alice.local, &bob_cert, &bundle, NOW)
                            .unwrap();
                    let Envelope::Prekey(first) = alice.encrypt(&mut f.rng, b"hi").unwrap() else {
                        panic!()
                    };
                    black_box(
                        Session::accept(&f.bob.local, &mut f.bob.prekeys, &f.trust, &first, NOW)
                            .unwrap(),
                    );
                },
                BatchSize::PerIteration,
            );
        },
    );
}

fn raw_aead(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw/chacha20poly1305 seal+open");
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let nonce = Nonce::from_slice(&[0; 12]);
    let ad = [1u8; 200];
    for size in SIZES {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let ct = cipher
                    .encrypt(
                        nonce,
                        Payload {
                            msg: &plaintext,
                            aad: &ad,
                        },
                    )
                    .unwrap();
                black_box(
                    cipher
                        .decrypt(nonce, Payload { msg: &ct, aad: &ad })
                        .unwrap(),
                )
            });
        });
    }
    group.finish();
}

/// The AEAD ratchet messages use (XChaCha20-Poly1305, a random 24-byte nonce per message, drawn
/// here too): the floor under a ratchet message of the stream benchmark.
fn raw_xaead(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw/xchacha20poly1305 random nonce, seal+open");
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let ad = [1u8; 200];
    for size in SIZES {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let mut nonce = [0u8; 24];
                rng.fill_bytes(&mut nonce);
                let nonce = XNonce::from_slice(&nonce);
                let payload = Payload {
                    msg: &plaintext,
                    aad: &ad,
                };
                let ct = cipher.encrypt(nonce, payload).unwrap();
                black_box(
                    cipher
                        .decrypt(nonce, Payload { msg: &ct, aad: &ad })
                        .unwrap(),
                )
            });
        });
    }
    group.finish();
}

/// The primitives alone, one direction at a time: seal at 64 B to 16 KiB, and an Ed25519
/// signature and verification over 1 KiB (through our key types, as every signature is made).
fn primitives(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw/chacha20poly1305 seal");
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let nonce = Nonce::from_slice(&[0; 12]);
    let ad = [1u8; 200];
    for size in [64, 256, 1024, 4096, 16 * 1024] {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                black_box(
                    cipher
                        .encrypt(
                            nonce,
                            Payload {
                                msg: &plaintext,
                                aad: &ad,
                            },
                        )
                        .unwrap(),
                )
            });
        });
    }
    group.finish();
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let signer = IdentityKeyPair::generate(&mut rng);
    let public = signer.public();
    let message = vec![0x42; 1024];
    let signature = signer.sign(SignatureContext::GroupMessage, &message);
    c.bench_function("raw/ed25519 sign 1 KiB", |b| {
        b.iter(|| black_box(signer.sign(SignatureContext::GroupMessage, &message)));
    });
    c.bench_function("raw/ed25519 verify 1 KiB", |b| {
        b.iter(|| {
            public
                .verify(SignatureContext::GroupMessage, &message, &signature)
                .unwrap();
        });
    });
}

fn raw_dh(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let theirs = AgreementKeyPair::generate(&mut rng).public();
    let mine = AgreementKeyPair::generate(&mut rng);
    c.bench_function("raw/x25519 keygen", |b| {
        b.iter(|| black_box(AgreementKeyPair::generate(&mut rng)));
    });
    c.bench_function("raw/x25519 dh", |b| {
        b.iter(|| black_box(mine.diffie_hellman(&theirs)));
    });
}

/// One direction, no reply in between: a chain step per message, no Diffie-Hellman.
fn ratchet_stream(c: &mut Criterion) {
    let mut f = fixture();
    let (mut alice, mut bob) = established(&mut f);
    let mut group = c.benchmark_group("ratchet/stream encrypt+decrypt");
    for size in SIZES {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let envelope = alice.encrypt(&mut f.rng, &plaintext).unwrap();
                black_box(bob.decrypt(&envelope).unwrap())
            });
        });
    }
    group.finish();
}

/// Alternating directions: every message starts a new ratchet step (a key generation and two
/// Diffie-Hellman operations in all), the worst case of a conversation.
fn ratchet_ping_pong(c: &mut Criterion) {
    let mut f = fixture();
    let (mut alice, mut bob) = established(&mut f);
    let mut group = c.benchmark_group("ratchet/ping-pong encrypt+decrypt");
    for size in SIZES {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let envelope = alice.encrypt(&mut f.rng, &plaintext).unwrap();
                black_box(bob.decrypt(&envelope).unwrap());
                std::mem::swap(&mut alice, &mut bob);
            });
        });
    }
    group.finish();
}

/// The floor under a ping-pong message: seal+open (XChaCha20-Poly1305, as ratchet messages use)
/// plus the key generation and the two Diffie-Hellman operations a ratchet step needs.
fn raw_ping_pong_floor(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let theirs = AgreementKeyPair::generate(&mut rng);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let nonce = XNonce::from_slice(&[0; 24]);
    let ad = [1u8; 200];
    let mut group = c.benchmark_group("raw/ping-pong floor (keygen + 2 DH + seal + open)");
    for size in SIZES {
        let plaintext = vec![0x42; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}"), |b| {
            b.iter(|| {
                let ours = AgreementKeyPair::generate(&mut rng);
                black_box(ours.diffie_hellman(&theirs.public()).unwrap());
                black_box(theirs.diffie_hellman(&ours.public()).unwrap());
                let ct = cipher
                    .encrypt(
                        nonce,
                        Payload {
                            msg: &plaintext,
                            aad: &ad,
                        },
                    )
                    .unwrap();
                black_box(
                    cipher
                        .decrypt(nonce, Payload { msg: &ct, aad: &ad })
                        .unwrap(),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    primitives,
    raw_aead,
    raw_xaead,
    raw_dh,
    raw_ping_pong_floor,
    ratchet_stream,
    ratchet_ping_pong,
    handshake
);
criterion_main!(benches);
