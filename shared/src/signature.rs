//! Schnorr signature checks (BIP-340) that both the request checks ([`crate::validation`]) and
//! the sealing of events ([`crate::dvm`]) use, on one blinded context.

use std::sync::LazyLock;

use nostr::event::{EventId, Signature};
use secp256k1::{All, Secp256k1, XOnlyPublicKey};

/// One context for the server's signing and checks, blinded once against side channels.
pub(crate) static SECP256K1: LazyLock<Secp256k1<All>> = LazyLock::new(|| {
    let mut context = Secp256k1::new();
    context.seeded_randomize(&rand::random());
    context
});

/// BIP-340's check of `sig` on `id` by a key already lifted to its point.
pub(crate) fn signature_holds(sig: &Signature, id: &EventId, key: &XOnlyPublicKey) -> bool {
    let sig = secp256k1::schnorr::Signature::from_byte_array(*sig.as_bytes());
    SECP256K1.verify_schnorr(&sig, id.as_bytes(), key).is_ok()
}
