//! Property tests of the codec: round trips, and no input makes a decoder panic.

use proptest::prelude::*;
use vigil_protocol::channel::{
    ChannelView, GroupMessage, SenderKeyDistribution, SignedChannelState,
};
use vigil_protocol::keys::AgreementPublicKey;
use vigil_protocol::label::{Classification, Label, Tlp};
use vigil_protocol::message::{Envelope, RatchetHeader, RatchetMessage};
use vigil_protocol::policy::ClassificationPolicy;
use vigil_protocol::prekey::{PrekeyBundle, PrekeyStore};
use vigil_protocol::provisioning::{
    BundleContents, BundleHeader, CertificateRequest, SealedFile, dearmor,
};
use vigil_protocol::relay;
use vigil_protocol::{MemberCertificate, OrgRoot, RevocationList, Session, codec};

use crate::fixtures::World;

fn ratchet_message() -> impl Strategy<Value = RatchetMessage> {
    (
        any::<[u8; 32]>(),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 24]>(),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(
            |(key, previous, counter, nonce, ciphertext)| RatchetMessage {
                header: RatchetHeader {
                    ratchet_key: AgreementPublicKey(key),
                    previous_chain_length: previous,
                    counter,
                },
                nonce,
                ciphertext,
            },
        )
}

/// A label's wire layout with caveats that are any string, to encode what `Label` cannot hold.
#[derive(bincode::Encode)]
struct RawLabel {
    tlp: Tlp,
    level: Classification,
    caveats: Vec<String>,
}

/// (TLP index, EU level, caveats) with the characters a caveat must not hold mixed in.
fn label_parts() -> impl Strategy<Value = (usize, u8, Vec<String>)> {
    let chars = prop::sample::select(vec![
        'a', 'Z', '0', ' ', ',', ';', '|', '\u{202E}', '\u{2066}', '\u{200F}', '\u{7}', '\u{1b}',
    ]);
    let caveat = proptest::collection::vec(chars, 0..6).prop_map(String::from_iter);
    (0..5usize, 0..7u8, proptest::collection::vec(caveat, 0..11))
}

/// Every decoder we expose, fed the same bytes; none may panic.
fn decode_everything(bytes: &[u8]) {
    let _ = Envelope::from_bytes(bytes);
    let _ = MemberCertificate::from_bytes(bytes);
    let _ = OrgRoot::from_bytes(bytes);
    let _ = RevocationList::from_bytes(bytes);
    let _ = codec::decode::<PrekeyBundle>(bytes);
    let _ = Session::from_bytes(bytes);
    let _ = PrekeyStore::from_bytes(bytes);
    let _ = SealedFile::from_bytes(bytes);
    let _ = CertificateRequest::from_bytes(bytes);
    let _ = codec::decode::<BundleContents>(bytes);
    let _ = codec::decode::<BundleHeader>(bytes);
    let _ = GroupMessage::from_bytes(bytes);
    let _ = SignedChannelState::from_bytes(bytes);
    let _ = SenderKeyDistribution::from_bytes(bytes);
    let _ = ChannelView::from_bytes(bytes);
    let _ = relay::decode_frame::<relay::Request>(bytes);
    let _ = relay::decode_frame::<relay::Response>(bytes);
    let _ = relay::decode_frame::<relay::Push>(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = dearmor(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ratchet_envelopes_round_trip(message in ratchet_message()) {
        let envelope = Envelope::Ratchet(message);
        let bytes = envelope.to_bytes();
        prop_assert_eq!(bytes[0], codec::WIRE_VERSION);
        prop_assert_eq!(Envelope::from_bytes(&bytes).unwrap(), envelope);
    }

    #[test]
    fn labels_decode_exactly_when_they_could_be_built((tlp, level, caveats) in label_parts()) {
        let eu = ClassificationPolicy::eu();
        let bytes = codec::encode(&RawLabel {
            tlp: Tlp::ALL[tlp],
            level: Classification { policy: eu.name().parse().unwrap(), level },
            caveats: caveats.clone(),
        });
        let decoded = codec::decode::<Label>(&bytes);
        let refs: Vec<&str> = caveats.iter().map(String::as_str).collect();
        let built = eu
            .level(level)
            .and_then(|l| Label::new(Tlp::ALL[tlp].as_str(), &l.marking, &refs, eu).ok());
        match (decoded, built) {
            (Ok(decoded), Some(built)) => prop_assert_eq!(decoded, built),
            (Err(_), None) => {}
            // The constructor trims what it is given; only the trimmed form is an encoding.
            (Err(_), Some(_)) => prop_assert!(caveats.iter().any(|c| c.trim() != c)),
            (Ok(decoded), None) => prop_assert!(false, "decoded {decoded:?}, which new refuses"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_everything(&bytes);
        let mut versioned = vec![codec::WIRE_VERSION];
        versioned.extend_from_slice(&bytes);
        decode_everything(&versioned);
    }

    #[test]
    fn mutated_valid_encodings_never_panic(
        seed in 0u64..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut w = World::new(400 + seed);
        let (mut alice, bob) = w.established();
        let samples = [
            alice.encrypt(&mut w.rng, b"sample").unwrap().to_bytes(),
            w.alice.certificate().to_bytes(),
            w.org.root.to_bytes(),
            bob.to_bytes().to_vec(),
            w.bob.prekeys.to_bytes().to_vec(),
            codec::encode(&w.bob.bundle(true)),
        ];
        for sample in samples {
            let mut bytes = sample.clone();
            for (index, value) in &flips {
                let i = index.index(bytes.len());
                bytes[i] ^= value | 1;
            }
            decode_everything(&bytes);
            decode_everything(&sample[..cut.index(sample.len())]);
        }
    }
}

#[test]
fn sessions_and_certificates_round_trip() {
    let mut w = World::new(450);
    let (alice, _bob) = w.established();
    let restored = Session::from_bytes(&alice.to_bytes()).unwrap();
    assert_eq!(restored.to_bytes().as_slice(), alice.to_bytes().as_slice());
    let bundle = w.bob.bundle(true);
    assert_eq!(
        codec::decode::<PrekeyBundle>(&codec::encode(&bundle)).unwrap(),
        bundle
    );
}
