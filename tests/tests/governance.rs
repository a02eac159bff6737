//! The channel governance invariants (see `vigil_tests::governance`) under random sequences of
//! signed changes, revocations at random times and expiries: every member who reads the
//! current epoch is in the state and passes every rule; a revoked member reads no epoch begun
//! after the revocation was known; the owner or an admin can always repair the channel.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_sequence_of_changes_keeps_the_channel_invariants(
        steps in proptest::collection::vec(any::<u8>(), 0..96)
    ) {
        vigil_tests::governance::channel_governance(&steps);
    }
}

#[test]
fn the_seeds_keep_the_invariants() {
    for seed in vigil_tests::governance::seeds() {
        vigil_tests::governance::channel_governance(&seed);
    }
}
