//! Pairs of 64-bit words and the operations the round needs, as SIMD128 vectors where the
//! WebAssembly build enables them and as two plain words elsewhere.

use core::arch::wasm32::*;

pub type W = v128;
pub const ZERO: W = u64x2(0, 0);

/// Values the compiler cannot see through, made once per call of the compression function.
///
/// `low_halves`: the byte indices that gather each word's low half into the low two 32-bit
/// lanes. With a constant shuffle, LLVM rewrites the widening multiply as a 64-bit one,
/// which V8 has no instruction for. As a variable swizzle, V8 adds a range fix-up to each;
/// so the build (scripts/lane-shuffles.mjs) rewrites every swizzle of the lane module into
/// the constant shuffle with these indices, one `pshufd` in V8. This must stay the only
/// swizzle mask in the module.
///
/// `zero`: ANDed with values read only to warm the caches, so that they are kept.
#[derive(Clone, Copy)]
pub struct Ctx {
    low_halves: v128,
    zero: v128,
}

impl Ctx {
    #[inline(always)]
    pub fn new() -> Self {
        let low_halves = u8x16(0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11);
        let (low_halves, zero) = core::hint::black_box((low_halves, ZERO));
        Self { low_halves, zero }
    }

    #[inline(always)]
    pub fn zero(self) -> W {
        self.zero
    }
}

#[inline(always)]
pub fn from_words(lo: u64, hi: u64) -> W {
    u64x2(lo, hi)
}
#[inline(always)]
pub fn to_words(x: W) -> [u64; 2] {
    [u64x2_extract_lane::<0>(x), u64x2_extract_lane::<1>(x)]
}
#[inline(always)]
pub fn xor(a: W, b: W) -> W {
    v128_xor(a, b)
}
#[inline(always)]
pub fn and(a: W, b: W) -> W {
    v128_and(a, b)
}
/// `a + b + 2 · lo32(a) · lo32(b)` in each half.
#[inline(always)]
pub fn blamka(a: W, b: W, ctx: Ctx) -> W {
    let lo_a = i8x16_swizzle(a, ctx.low_halves);
    let lo_b = i8x16_swizzle(b, ctx.low_halves);
    let product = u64x2_extmul_low_u32x4(lo_a, lo_b);
    u64x2_add(u64x2_add(a, b), u64x2_add(product, product))
}
#[inline(always)]
pub fn rotr32(x: W) -> W {
    i32x4_shuffle::<1, 0, 3, 2>(x, x)
}
#[inline(always)]
pub fn rotr24(x: W) -> W {
    i8x16_shuffle::<3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10>(x, x)
}
#[inline(always)]
pub fn rotr16(x: W) -> W {
    i8x16_shuffle::<2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9>(x, x)
}
#[inline(always)]
pub fn rotr63(x: W) -> W {
    v128_xor(u64x2_shr(x, 63), u64x2_add(x, x))
}
/// `(a.hi, b.lo)`.
#[inline(always)]
pub fn hi_lo(a: W, b: W) -> W {
    i64x2_shuffle::<1, 2>(a, b)
}
