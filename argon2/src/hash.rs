//! Argon2id (RFC 9106, version 0x13) around the memory filling of this crate: the inputs hashed
//! into the lanes' first blocks, and the lanes' last blocks into the tag. Needs std (the `hash`
//! feature); the filling itself stays `no_std` for the browser's lane module.
//!
//! Who fills the memory is the caller's choice, passed to [`hash`] as [`FillLanes`]:
//! [`ThisThread`] fills the lanes one after another on the calling thread; in the browser, the
//! lane module (`client/lanes`) fills them, side by side in lane workers where the page allows it
//! (within a slice lanes are independent). The browser's vault module passes that one and never
//! names [`ThisThread`], so it holds no filling code of its own: one copy of the compression
//! function, in the lane module, keeps the WebAssembly under its size budget.

extern crate alloc;
extern crate std;

use alloc::vec;
use alloc::vec::Vec;

use blake2::digest::{Digest, Update, VariableOutput};
use blake2::{Blake2b512, Blake2bVar};
use zeroize::{Zeroize, Zeroizing};

use crate::Memory;
pub use crate::{BLOCK_BYTES, Block, Shape};

/// Why a hash could not be computed: parameters outside what Argon2 defines, or (in the browser)
/// no lane module to fill the memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Argon2Error {
    #[error("Argon2id needs at least 1 pass, 1 lane (at most 2^24 - 1) and 8 KiB per lane")]
    Params,
    #[error("Argon2id output must be 4 bytes or more")]
    OutputLength,
    #[error("Argon2id needs a salt of 8 bytes or more, and inputs under 4 GiB")]
    Input,
    #[error(
        "Argon2id could not fill its memory: the lane module is not loaded or ran out of memory"
    )]
    Unavailable,
}

const VERSION: u32 = 0x13;
const ARGON2ID: u32 = 2;

/// Who fills the memory of a hash: this thread, or the browser's lane module with its lane
/// workers.
pub trait FillLanes {
    /// Fills the memory of `shape` whose lanes start with `seeds` (each lane's first two blocks,
    /// lane by lane) and returns the XOR of the lanes' last blocks, or `None` when it could not
    /// (the hash then fails with [`Argon2Error::Unavailable`]).
    fn fill(&self, shape: &Shape, seeds: &[Block]) -> Option<Block>;
}

/// Fills the lanes one after another on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThisThread;

impl FillLanes for ThisThread {
    fn fill(&self, shape: &Shape, seeds: &[Block]) -> Option<Block> {
        let mut memory = seeded_memory(shape, seeds);
        crate::fill(&mut Memory::new(&mut memory), shape);
        Some(xor_of_last_blocks(&memory, shape))
    }
}

/// H′, Argon2's variable-length hash over BLAKE2b.
fn blake2b_long(parts: &[&[u8]], out: &mut [u8]) {
    let len = u32::try_from(out.len()).unwrap_or(u32::MAX).to_le_bytes();
    if out.len() <= 64 {
        // 1 to 64 bytes, which BLAKE2b gives directly.
        if let Ok(mut h) = Blake2bVar::new(out.len()) {
            h.update(&len);
            for part in parts {
                h.update(part);
            }
            let _ = h.finalize_variable(out);
        }
        return;
    }
    // Longer: the first 32 bytes of each 64-byte hash in a chain, then the last hash whole,
    // at the length left.
    let mut h = Blake2b512::new();
    Digest::update(&mut h, len);
    for part in parts {
        Digest::update(&mut h, part);
    }
    let mut v = h.finalize();
    let mut rest = out;
    loop {
        rest[..32].copy_from_slice(&v[..32]);
        rest = &mut rest[32..];
        if rest.len() <= 64 {
            break;
        }
        v = Blake2b512::digest(v);
    }
    if let Ok(mut h) = Blake2bVar::new(rest.len()) {
        h.update(&v);
        let _ = h.finalize_variable(rest);
    }
    v.zeroize();
}

/// Argon2id of `password` and `salt` with `m_kib` KiB of memory, `t` passes and `p` lanes, into
/// `out` (its length is the tag length), the memory filled by `lanes`.
pub fn hash(
    password: &[u8],
    salt: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
    out: &mut [u8],
    lanes: &dyn FillLanes,
) -> Result<(), Argon2Error> {
    if t < 1 || !(1..=0x00FF_FFFF).contains(&p) || u64::from(m_kib) < 8 * u64::from(p) {
        return Err(Argon2Error::Params);
    }
    if out.len() < 4 || u32::try_from(out.len()).is_err() {
        return Err(Argon2Error::OutputLength);
    }
    if salt.len() < 8 || u32::try_from(password.len().max(salt.len())).is_err() {
        return Err(Argon2Error::Input);
    }
    let shape = Shape::new(m_kib, t, p);

    let le = |x: u32| x.to_le_bytes();
    let len = |b: &[u8]| le(u32::try_from(b.len()).unwrap_or(u32::MAX));
    let mut h0 = Blake2b512::new();
    for part in [
        &le(p)[..],
        &le(out.len() as u32),
        &le(m_kib),
        &le(t),
        &le(VERSION),
        &le(ARGON2ID),
        &len(password),
        password,
        &len(salt),
        salt,
        &le(0), // no secret
        &le(0), // no associated data
    ] {
        Digest::update(&mut h0, part);
    }
    let mut h0 = h0.finalize();

    // Each lane's first two blocks, lane by lane.
    let mut seeds = Zeroizing::new(vec![Block::default(); 2 * shape.lanes]);
    let mut seed = Zeroizing::new([0u8; BLOCK_BYTES]);
    for (i, block) in seeds.iter_mut().enumerate() {
        let (lane, column) = ((i / 2) as u32, (i % 2) as u32);
        blake2b_long(&[&h0, &le(column), &le(lane)], seed.as_mut_slice());
        *block = Block::from_bytes(&seed);
    }
    h0.zeroize();

    let filled = lanes.fill(&shape, &seeds);
    let mut last = Zeroizing::new(filled.ok_or(Argon2Error::Unavailable)?);
    let bytes = Zeroizing::new(last.to_bytes());
    blake2b_long(&[bytes.as_slice()], out);
    last.zeroize();
    Ok(())
}

/// A zeroed memory of `shape` with each lane's first two blocks from `seeds`.
pub fn seeded_memory(shape: &Shape, seeds: &[Block]) -> Zeroizing<Vec<Block>> {
    let lane_len = shape.lane_len();
    let mut memory = Zeroizing::new(vec![Block::default(); shape.blocks()]);
    for (lane, pair) in seeds.chunks_exact(2).enumerate() {
        memory[lane * lane_len..][..2].copy_from_slice(pair);
    }
    memory
}

/// The XOR of every lane's last block, which the tag is a hash of.
pub fn xor_of_last_blocks(memory: &[Block], shape: &Shape) -> Block {
    let lane_len = shape.lane_len();
    let mut last = memory[lane_len - 1];
    for lane in 1..shape.lanes {
        last.xor_with(&memory[lane * lane_len + lane_len - 1]);
    }
    last
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use std::cell::Cell;
    use std::vec;
    use std::vec::Vec;

    use argon2::{Algorithm, Argon2, Params, Version};
    use proptest::prelude::*;

    use super::*;

    /// The RustCrypto crate's answer for the same inputs.
    fn rustcrypto(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, len: usize) -> Vec<u8> {
        let params = Params::new(m, t, p, Some(len)).expect("valid parameters");
        let mut out = vec![0u8; len];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(password, salt, &mut out)
            .expect("hash");
        out
    }

    fn ours(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        hash(password, salt, m, t, p, &mut out, &ThisThread).expect("hash");
        out
    }

    #[test]
    fn matches_the_reference_c() {
        // argon2-cffi 25.1.0 (the reference C), hash_secret_raw(b"password", b"somesalt",
        // time_cost=2, memory_cost=65536, parallelism=1, hash_len=32, type=ID): the vector
        // from the reference implementation's own test suite.
        let expected = "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7";
        assert_eq!(
            hex::encode(ours(b"password", b"somesalt", 65536, 2, 1, 32)),
            expected
        );
    }

    #[test]
    fn matches_rustcrypto_on_the_vault_defaults() {
        let (m, t, p) = (64 * 1024, 3, 4);
        assert_eq!(
            ours(b"correct horse", b"0123456789abcdef", m, t, p, 32),
            rustcrypto(b"correct horse", b"0123456789abcdef", m, t, p, 32)
        );
    }

    #[test]
    fn refuses_what_argon2_does_not_define() {
        let mut out = [0u8; 32];
        assert_eq!(
            hash(b"pw", b"saltsalt", 8, 0, 1, &mut out, &ThisThread),
            Err(Argon2Error::Params)
        );
        assert_eq!(
            hash(b"pw", b"saltsalt", 8, 1, 0, &mut out, &ThisThread),
            Err(Argon2Error::Params)
        );
        assert_eq!(
            hash(b"pw", b"saltsalt", 15, 1, 2, &mut out, &ThisThread),
            Err(Argon2Error::Params)
        );
        assert_eq!(
            hash(b"pw", b"saltsalt", 8, 1, 1, &mut out[..3], &ThisThread),
            Err(Argon2Error::OutputLength)
        );
        assert_eq!(
            hash(b"pw", b"salt", 8, 1, 1, &mut out, &ThisThread),
            Err(Argon2Error::Input)
        );
    }

    /// Lanes filled by one thread each, meeting at every sync point, as the browser's lane
    /// workers fill them over their shared memory.
    struct Threads {
        calls: Cell<usize>,
    }

    /// The memory's address, for the threads that fill it.
    #[derive(Clone, Copy)]
    struct Base(*mut Block);
    // SAFETY: the threads only pass it to `Memory::from_raw`, whose contract they keep.
    #[allow(unsafe_code)]
    unsafe impl Send for Base {}
    #[allow(unsafe_code)]
    unsafe impl Sync for Base {}

    impl FillLanes for Threads {
        fn fill(&self, shape: &Shape, seeds: &[Block]) -> Option<Block> {
            self.calls.set(self.calls.get() + 1);
            let mut memory = seeded_memory(shape, seeds);
            let (base, len) = (Base(memory.as_mut_ptr()), memory.len());
            let barrier = std::sync::Barrier::new(shape.lanes);
            std::thread::scope(|scope| {
                for lane in 0..shape.lanes {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        let base = base;
                        // SAFETY: `memory` outlives the scope, and each thread fills only its
                        // own lane, one slice at a time between the barriers.
                        #[allow(unsafe_code)]
                        let mut memory = unsafe { Memory::from_raw(base.0, len) };
                        for pass in 0..shape.passes {
                            for slice in 0..crate::SYNC_POINTS {
                                crate::fill_segment(&mut memory, shape, pass, slice, lane);
                                barrier.wait();
                            }
                        }
                    });
                }
            });
            Some(xor_of_last_blocks(&memory, shape))
        }
    }

    /// Workers that never manage to fill anything.
    struct Refusing;

    impl FillLanes for Refusing {
        fn fill(&self, _: &Shape, _: &[Block]) -> Option<Block> {
            None
        }
    }

    fn hashed_with(lanes: &dyn FillLanes, m: u32, t: u32, p: u32) -> Result<Vec<u8>, Argon2Error> {
        let mut out = vec![0u8; 32];
        hash(
            b"correct horse",
            b"0123456789abcdef",
            m,
            t,
            p,
            &mut out,
            lanes,
        )?;
        Ok(out)
    }

    #[test]
    fn lanes_filled_side_by_side_give_the_same_hash() {
        let threads = Threads {
            calls: Cell::new(0),
        };
        for (m, t, p) in [
            (64 * 1024, 3, 4),
            (8 * 3 + 100, 2, 3),
            (16, 1, 2),
            (37, 3, 2),
        ] {
            assert_eq!(
                hashed_with(&threads, m, t, p),
                Ok(rustcrypto(
                    b"correct horse",
                    b"0123456789abcdef",
                    m,
                    t,
                    p,
                    32
                )),
                "m={m} t={t} p={p}"
            );
        }
        assert_eq!(threads.calls.get(), 4);
    }

    #[test]
    fn lanes_that_cannot_fill_fail_the_hash_rather_than_fall_back() {
        assert_eq!(
            hashed_with(&Refusing, 256, 2, 4),
            Err(Argon2Error::Unavailable)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every shape of memory (lanes, segments not a multiple of 128 addresses, several
        /// passes) and every output length (short, one BLAKE2b, chained).
        #[test]
        fn matches_rustcrypto(
            password in proptest::collection::vec(any::<u8>(), 0..40),
            salt in proptest::collection::vec(any::<u8>(), 8..24),
            p in 1u32..5,
            extra in 0u32..600,
            t in 1u32..4,
            len in 4usize..200,
        ) {
            let m = 8 * p + extra;
            prop_assert_eq!(ours(&password, &salt, m, t, p, len), rustcrypto(&password, &salt, m, t, p, len));
        }
    }
}
