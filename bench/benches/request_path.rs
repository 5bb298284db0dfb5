//! Micro-benchmarks of what the server spends on each request: the envelope checks as a whole,
//! the Schnorr verification and NIP-44 decryption inside them, the ECDH, opening the request,
//! sealing the reply, and all of it together.
//! `cargo bench -p sigil-bench`.
#![allow(clippy::expect_used)] // a benchmark of valid inputs fails loudly if one is not

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use sigil_bench::RequestCrypto;
use sigil_shared::dvm::{Exchange, ServerKeys, seal_request};
use sigil_shared::method::Request;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::nips::nip44;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::{CheckedRequest, check_request};

fn request_path(c: &mut Criterion) {
    let server = ServerKeys::new(Keys::generate());
    let client = Keys::generate();
    let now = Timestamp::now();
    let event = seal_request(
        &client,
        &server.public_key(),
        &Request::GetBackup { version: None },
        16,
        now,
    )
    .expect("seal");
    let body = event.as_json();
    let crypto = RequestCrypto::new(&server, 16);
    let (policy, reply) = (&crypto.policy, &crypto.reply);

    c.bench_function("check_request (all envelope checks)", |b| {
        b.iter(|| check_request(black_box(body.as_bytes()), policy, now).expect("valid"));
    });
    c.bench_function("schnorr verify (event signature)", |b| {
        b.iter(|| black_box(&event).verify_signature());
    });
    c.bench_function("nip44 decrypt (request content)", |b| {
        b.iter(|| {
            nip44::decrypt(
                server.keys().secret_key(),
                &client.public_key(),
                black_box(&event.content),
            )
            .expect("decrypt")
        });
    });
    let checked = CheckedRequest::verify(event.clone()).expect("signed");
    c.bench_function("exchange (ECDH: the conversation key)", |b| {
        b.iter(|| Exchange::new(&server, black_box(&checked)));
    });
    let exchange = Exchange::new(&server, &checked);
    c.bench_function("open (decrypt + parse)", |b| {
        b.iter(|| black_box(&exchange).open().expect("open"));
    });
    c.bench_function("seal (encrypt + sign the reply)", |b| {
        b.iter(|| black_box(&exchange).seal(reply).expect("seal"));
    });
    c.bench_function("whole request (check, exchange, open, seal)", |b| {
        b.iter(|| {
            crypto
                .answer(black_box(body.as_bytes()), now)
                .expect("answered")
        });
    });
}

criterion_group!(benches, request_path);
criterion_main!(benches);
