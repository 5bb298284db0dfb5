//! Argon2id's memory filling (RFC 9106, version 0x13): blocks, the compression function G and
//! segments, and with the `hash` feature the hash around them ([`hash`]). The filling is `no_std`
//! so that one small WebAssembly module (`client/lanes`) can run it in the browser's lane
//! workers, over one shared memory, as well as on the vault's own thread.
//!
//! The compression function works on pairs of 64-bit words, which become SIMD128 vectors in a
//! WebAssembly build with the `simd128` target feature and plain `[u64; 2]` elsewhere (see
//! [`lanes`]). Everything around it is the same code on every target, so the native tests check
//! it against the RustCrypto crate and the reference C's vectors.
#![no_std]

#[cfg(feature = "hash")]
pub mod hash;

use core::marker::PhantomData;

use lanes::W;

/// Argon2's sync points per pass: a lane's memory is cut into this many segments.
pub const SYNC_POINTS: usize = 4;
const ARGON2ID: u64 = 2;
/// 64-bit words in a block, and 128-bit pairs of them.
const WORDS: usize = 128;
const PAIRS: usize = WORDS / 2;
/// Bytes in a block.
pub const BLOCK_BYTES: usize = 1024;
/// Bytes in a processor's cache line (64 on the x86 and Arm cores browsers run on).
const CACHE_LINE_BYTES: usize = 64;

/// One 1 KiB block, as 64 pairs of words: row `i` of the 8×8 pair matrix is `pairs[8i..8i+8]`.
#[derive(Clone, Copy)]
pub struct Block([W; PAIRS]);

impl Default for Block {
    fn default() -> Self {
        Self([lanes::ZERO; PAIRS])
    }
}

impl core::fmt::Debug for Block {
    // Blocks hold values derived from a password: never printed.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Block(..)")
    }
}

// Blocks are plain data whose zero value is all zero bits, so the memory can be wiped with zeroize.
impl zeroize::DefaultIsZeroes for Block {}

impl Block {
    pub fn from_bytes(bytes: &[u8; BLOCK_BYTES]) -> Self {
        let mut block = Self::default();
        for (pair, chunk) in block.0.iter_mut().zip(bytes.chunks_exact(16)) {
            let word = |i: usize| {
                let mut le = [0u8; 8];
                le.copy_from_slice(&chunk[i..i + 8]);
                u64::from_le_bytes(le)
            };
            *pair = lanes::from_words(word(0), word(8));
        }
        block
    }

    fn from_words(words: &[u64; WORDS]) -> Self {
        let mut block = Self::default();
        for (pair, w) in block.0.iter_mut().zip(words.chunks_exact(2)) {
            *pair = lanes::from_words(w[0], w[1]);
        }
        block
    }

    pub fn to_bytes(self) -> [u8; BLOCK_BYTES] {
        let mut bytes = [0u8; BLOCK_BYTES];
        for (pair, chunk) in self.0.iter().zip(bytes.chunks_exact_mut(16)) {
            let [lo, hi] = lanes::to_words(*pair);
            chunk[..8].copy_from_slice(&lo.to_le_bytes());
            chunk[8..].copy_from_slice(&hi.to_le_bytes());
        }
        bytes
    }

    /// Word `k` of the 128.
    fn word(&self, k: usize) -> u64 {
        lanes::to_words(self.0[k / 2])[k % 2]
    }

    /// One pair from each of the block's cache lines, folded together: reading them asks the
    /// processor for the whole block at once (see [`Memory::compress_in`]).
    fn warm(&self) -> W {
        const PAIRS_PER_LINE: usize = CACHE_LINE_BYTES / 16;
        (0..BLOCK_BYTES / CACHE_LINE_BYTES).fold(lanes::ZERO, |acc, line| {
            lanes::xor(acc, self.0[line * PAIRS_PER_LINE])
        })
    }

    /// Only for the final XOR of the lanes' last blocks.
    pub fn xor_with(&mut self, other: &Block) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = lanes::xor(*a, *b);
        }
    }
}

/// The memory's layout and the pass count, which the address generator mixes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub lanes: usize,
    pub segment: usize,
    pub passes: u32,
}

impl Shape {
    /// The layout of `m_kib` KiB in `p` lanes (rounded down to whole segments, as Argon2 does)
    /// for `t` passes; the caller has checked that Argon2 defines these parameters.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Self {
        let lanes = p as usize;
        Self {
            lanes,
            segment: m_kib as usize / (lanes * SYNC_POINTS),
            passes: t,
        }
    }

    pub fn lane_len(&self) -> usize {
        self.segment * SYNC_POINTS
    }

    pub fn blocks(&self) -> usize {
        self.lane_len() * self.lanes
    }
}

/// The blocks of an Argon2 memory, as the segments fill them. It holds a pointer rather than a
/// slice so that threads may fill the lanes of one memory side by side (see
/// [`Memory::from_raw`]); made from a slice, it borrows that slice whole.
#[derive(Debug)]
pub struct Memory<'a> {
    base: *mut Block,
    len: usize,
    _blocks: PhantomData<&'a mut [Block]>,
}

#[allow(unsafe_code)] // The pointer and its length come from a slice, or from `from_raw`'s caller.
impl<'a> Memory<'a> {
    pub fn new(blocks: &'a mut [Block]) -> Self {
        Self {
            base: blocks.as_mut_ptr(),
            len: blocks.len(),
            _blocks: PhantomData,
        }
    }

    /// The memory of `len` blocks at `base`, which other threads may be filling at the same time.
    ///
    /// # Safety
    /// `base` points to `len` initialised blocks that stay valid for `'a`, and while this value
    /// fills a segment, other threads write only other lanes' segments of the same slice, and
    /// nothing else touches the memory. Argon2 guarantees that a segment reads no block that
    /// another lane writes in the same slice, so no block is ever read and written at once.
    pub unsafe fn from_raw(base: *mut Block, len: usize) -> Self {
        Self {
            base,
            len,
            _blocks: PhantomData,
        }
    }

    fn block(&self, i: usize) -> &Block {
        assert!(i < self.len);
        // SAFETY: in bounds, and no thread writes block `i` in this slice (see `from_raw`).
        unsafe { &*self.base.add(i) }
    }

    /// G of blocks `prev` and `reference` into block `next`, without copying the inputs out.
    ///
    /// Argon2's reference blocks are random reads over the whole memory, and most of them miss
    /// the caches. So G reads ahead: once column 0 of `next` is done, its first word is final,
    /// and with it the reference of the block after (`then`). That block's cache lines are read
    /// while the other columns are computed, and what was read comes back as `warm`, for the
    /// next call to depend on (as nothing at all) so that the reads are kept. Measured in
    /// Chromium at p = 1: about 3% faster.
    fn compress_in(
        &mut self,
        [prev, reference, next]: [usize; 3],
        xor_into: bool,
        warm: W,
        then: Option<NextReference<'_>>,
    ) -> W {
        assert!(prev < self.len && reference < self.len && next < self.len);
        // A segment never uses the block it writes as an input.
        assert!(next != prev && next != reference);
        // SAFETY: in bounds, `next` is distinct from both inputs, and only this segment touches
        // block `next` in this slice (see `from_raw`).
        let (x, y, out) = unsafe {
            (
                &*self.base.add(prev),
                &*self.base.add(reference),
                &mut *self.base.add(next),
            )
        };
        let ahead = then.map(|then| Ahead {
            memory: self,
            filling: next,
            then,
        });
        compress_into(x, y, out, xor_into, warm, ahead)
    }
}

/// The reference of the block after the one G fills, as far as it is known before G runs.
#[derive(Clone, Copy)]
enum NextReference<'a> {
    /// Known already: data-independent addressing.
    Known(usize),
    /// Picked by the first word of the block G fills: block `index` of `segment`.
    FromFirstWord(Segment<'a>, usize),
}

/// What G reads ahead (see [`Memory::compress_in`]): the block after `filling` references a
/// block of `memory` that `then` names.
struct Ahead<'a> {
    memory: &'a Memory<'a>,
    filling: usize,
    then: NextReference<'a>,
}

impl Ahead<'_> {
    /// The next reference block's cache lines, once the first word of block `filling` is final.
    #[inline(always)]
    fn warm(&self, first_word: u64) -> W {
        let block = match self.then {
            NextReference::Known(block) => block,
            NextReference::FromFirstWord(segment, index) => segment.reference(index, first_word),
        };
        // Argon2 never references the block just before the one it fills, which this is.
        if block == self.filling {
            return lanes::ZERO;
        }
        self.memory.block(block).warm()
    }
}

/// Fills the whole memory on this thread, lane after lane within each slice; the first two
/// blocks of every lane must hold its seeds.
pub fn fill(memory: &mut Memory<'_>, shape: &Shape) {
    for pass in 0..shape.passes {
        for slice in 0..SYNC_POINTS {
            for lane in 0..shape.lanes {
                fill_segment(memory, shape, pass, slice, lane);
            }
        }
    }
}

/// The compression function G of `x` and `y`: `P(x ^ y) ^ x ^ y`, written to `next`, or XORed
/// into what it held when `xor_into` (passes after the first, version 0x13). P runs on the rows of
/// `x ^ y` as each row is made, and each column's result goes straight into `next`, so the 1 KiB
/// intermediate is written and read once, not three times. The inputs' XOR is computed again at
/// the end rather than kept: keeping it would copy 1 KiB per block through `memory.copy`, which V8
/// runs as a call out to C.
///
/// `warm` is read and then ignored; `ahead` is read once the first word of `next` is final (see
/// [`Memory::compress_in`]).
///
/// Each row and column is reached through a slice that starts at it, so that its pairs lie at
/// constant offsets from one address, which the WebAssembly build folds into the loads and stores
/// (see scripts/build-web.sh for the other half of that); indices computed from the loop counter
/// cost an `i32.add` per access instead.
///
/// One copy for the blocks and the address blocks alike: a call per 1 KiB block costs nothing
/// measurable, and a second copy of P would cost about 2 KiB of compressed WebAssembly. The
/// read-ahead is data rather than a closure for the same reason; measured in Chromium at p = 1,
/// making it a `dyn` call cost about 3%, and splitting G in two functions around it about 4%.
#[inline(never)]
fn compress_into(
    x: &Block,
    y: &Block,
    next: &mut Block,
    xor_into: bool,
    warm: W,
    mut ahead: Option<Ahead<'_>>,
) -> W {
    let ctx = lanes::Ctx::new();
    let ignored = lanes::and(warm, ctx.zero());
    // Built element by element: an array made as zeros first costs a `memory.fill`.
    let rows: [[W; 8]; 8] = core::array::from_fn(|row| {
        let (xr, yr) = (&x.0[8 * row..][..8], &y.0[8 * row..][..8]);
        let mut pairs: [W; 8] = core::array::from_fn(|i| lanes::xor(xr[i], yr[i]));
        if row == 0 {
            pairs[0] = lanes::xor(pairs[0], ignored);
        }
        permute(pairs, ctx)
    });
    let mut warm_next = lanes::ZERO;
    // `col` picks a column across all eight rows, which no iterator over `rows` gives.
    for col in 0..8 {
        let (rc, xc, yc) = (&rows.as_flattened()[col..], &x.0[col..], &y.0[col..]);
        let nc = &mut next.0[col..];
        let column = permute(core::array::from_fn(|i| rc[8 * i]), ctx);
        for (i, q) in column.into_iter().enumerate() {
            let k = 8 * i;
            let fresh = lanes::xor(q, lanes::xor(xc[k], yc[k]));
            nc[k] = if xor_into {
                lanes::xor(nc[k], fresh)
            } else {
                fresh
            };
        }
        if let Some(ahead) = ahead.take() {
            warm_next = ahead.warm(next.word(0));
        }
    }
    warm_next
}

/// The BLAKE2b round with Argon2's multiplication (BlaMka) over sixteen words held as eight
/// pairs `[(v0 v1) (v2 v3) … (v14 v15)]`: columns first, then diagonals, which the pairs reach
/// by rotating the b, c and d rows by one, two and three words. Values, not references, so
/// that the compiler keeps them in registers.
#[inline(always)]
fn permute([a0, a1, b0, b1, c0, c1, d0, d1]: [W; 8], ctx: lanes::Ctx) -> [W; 8] {
    let (a0, b0, c0, d0) = half_round(a0, b0, c0, d0, ctx);
    let (a1, b1, c1, d1) = half_round(a1, b1, c1, d1, ctx);
    // Diagonals: b = (v5 v6)(v7 v4), c = (v10 v11)(v8 v9), d = (v15 v12)(v13 v14).
    let (b0, b1) = (lanes::hi_lo(b0, b1), lanes::hi_lo(b1, b0));
    let (d0, d1) = (lanes::hi_lo(d1, d0), lanes::hi_lo(d0, d1));
    let (a0, b0, c1, d0) = half_round(a0, b0, c1, d0, ctx);
    let (a1, b1, c0, d1) = half_round(a1, b1, c0, d1, ctx);
    // And back.
    let (b0, b1) = (lanes::hi_lo(b1, b0), lanes::hi_lo(b0, b1));
    let (d0, d1) = (lanes::hi_lo(d0, d1), lanes::hi_lo(d1, d0));
    [a0, a1, b0, b1, c0, c1, d0, d1]
}

/// Two BlaMka G functions side by side, one per half of each pair.
#[inline(always)]
fn half_round(a: W, b: W, c: W, d: W, ctx: lanes::Ctx) -> (W, W, W, W) {
    let a = lanes::blamka(a, b, ctx);
    let d = lanes::rotr32(lanes::xor(d, a));
    let c = lanes::blamka(c, d, ctx);
    let b = lanes::rotr24(lanes::xor(b, c));
    let a = lanes::blamka(a, b, ctx);
    let d = lanes::rotr16(lanes::xor(d, a));
    let c = lanes::blamka(c, d, ctx);
    let b = lanes::rotr63(lanes::xor(b, c));
    (a, b, c, d)
}

// Not inlined into its callers: V8 moves a WebAssembly function to its optimising tier only
// between calls (there is no on-stack replacement), so a page's first hash, the one a user waits
// for at unlock, would otherwise run all its passes in the baseline tier. Measured in Chromium at
// p = 1: a first hash took 2.0x a warm one as one function, 1.6x split like this.
/// Fills one segment: lane `lane`'s part of slice `slice` in pass `pass`.
#[inline(never)]
pub fn fill_segment(memory: &mut Memory<'_>, shape: &Shape, pass: u32, slice: usize, lane: usize) {
    // Argon2id: data-independent addresses for the first half of the first pass.
    let independent = pass == 0 && slice < SYNC_POINTS / 2;
    let mut address_input = [0u64; WORDS];
    address_input[..6].copy_from_slice(&[
        u64::from(pass),
        lane as u64,
        slice as u64,
        shape.blocks() as u64,
        u64::from(shape.passes),
        ARGON2ID,
    ]);
    let mut addresses = Block::default();
    let mut next_addresses = |addresses: &mut Block| {
        address_input[6] += 1;
        let zero = Block::default();
        let mut once = Block::default();
        let input = Block::from_words(&address_input);
        compress_into(&zero, &input, &mut once, false, lanes::ZERO, None);
        compress_into(&zero, &once, addresses, false, lanes::ZERO, None);
    };

    let first = if pass == 0 && slice == 0 { 2 } else { 0 };
    if independent && first != 0 {
        next_addresses(&mut addresses);
    }
    let lane_len = shape.lane_len();
    let lane_start = lane * lane_len;
    let segment = Segment {
        shape,
        pass,
        slice,
        lane,
    };
    let mut warm = lanes::ZERO;
    for index in first..shape.segment {
        let column = slice * shape.segment + index;
        let current = lane_start + column;
        let prev = if column == 0 {
            lane_start + lane_len - 1
        } else {
            current - 1
        };
        let pseudo_random = if independent {
            if index % WORDS == 0 {
                next_addresses(&mut addresses);
            }
            addresses.word(index % WORDS)
        } else {
            memory.block(prev).word(0)
        };
        let reference = segment.reference(index, pseudo_random);
        // The next block's reference: from the address block while it lasts, otherwise from
        // this block's first word; none at the end of the segment.
        let next = index + 1;
        let then = if next == shape.segment {
            None
        } else if !independent {
            Some(NextReference::FromFirstWord(segment, next))
        } else if next % WORDS != 0 {
            Some(NextReference::Known(
                segment.reference(next, addresses.word(next % WORDS)),
            ))
        } else {
            None // a new address block is due
        };
        warm = memory.compress_in([prev, reference, current], pass > 0, warm, then);
    }
}

/// Lane `lane`'s segment of slice `slice` in pass `pass`.
#[derive(Clone, Copy)]
struct Segment<'a> {
    shape: &'a Shape,
    pass: u32,
    slice: usize,
    lane: usize,
}

impl Segment<'_> {
    /// The reference block of this segment's block `index`, from its pseudo-random word.
    fn reference(&self, index: usize, pseudo_random: u64) -> usize {
        let Self {
            shape,
            pass,
            slice,
            lane,
        } = *self;
        let ref_lane = if pass == 0 && slice == 0 {
            lane
        } else {
            ((pseudo_random >> 32) % shape.lanes as u64) as usize
        };
        let same_lane = ref_lane == lane;
        let ref_column =
            reference_column(shape, pass, slice, index, pseudo_random as u32, same_lane);
        ref_lane * shape.lane_len() + ref_column
    }
}

/// The column of the reference block within its lane (RFC 9106, section 3.4.1.2).
fn reference_column(
    shape: &Shape,
    pass: u32,
    slice: usize,
    index: usize,
    j1: u32,
    same_lane: bool,
) -> usize {
    let lane_len = shape.lane_len();
    let done = if pass == 0 {
        slice * shape.segment
    } else {
        lane_len - shape.segment
    };
    // Blocks of this segment so far, less the previous one, in this lane only; elsewhere, all
    // finished segments, less the last block when this is the segment's first.
    let area = if same_lane {
        done + index - 1
    } else if index == 0 {
        done - 1
    } else {
        done
    } as u64;
    let x = (u64::from(j1) * u64::from(j1)) >> 32;
    let relative = area - 1 - ((area * x) >> 32);
    let start = if pass == 0 || slice == SYNC_POINTS - 1 {
        0
    } else {
        (slice + 1) * shape.segment
    };
    (start + relative as usize) % lane_len
}

/// Pairs of 64-bit words and the operations the round needs, as SIMD128 vectors where the
/// WebAssembly build enables them and as two plain words elsewhere.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[path = "lanes/simd128.rs"]
mod lanes;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[path = "lanes/portable.rs"]
mod lanes;
