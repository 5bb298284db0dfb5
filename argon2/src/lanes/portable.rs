//! Pairs of 64-bit words as two plain words, where SIMD128 is not enabled.

pub type W = [u64; 2];
pub const ZERO: W = [0, 0];

/// See the SIMD128 version: natively, only the opaque zero.
#[derive(Clone, Copy)]
pub struct Ctx {
    zero: W,
}

impl Ctx {
    #[inline(always)]
    pub fn new() -> Self {
        Self {
            zero: core::hint::black_box(ZERO),
        }
    }

    #[inline(always)]
    pub fn zero(self) -> W {
        self.zero
    }
}

#[inline(always)]
pub fn from_words(lo: u64, hi: u64) -> W {
    [lo, hi]
}
#[inline(always)]
pub fn to_words(x: W) -> [u64; 2] {
    x
}
#[inline(always)]
pub fn xor(a: W, b: W) -> W {
    [a[0] ^ b[0], a[1] ^ b[1]]
}
#[inline(always)]
pub fn and(a: W, b: W) -> W {
    [a[0] & b[0], a[1] & b[1]]
}
#[inline(always)]
fn blamka1(a: u64, b: u64) -> u64 {
    let product = (a & 0xFFFF_FFFF).wrapping_mul(b & 0xFFFF_FFFF);
    a.wrapping_add(b).wrapping_add(product.wrapping_mul(2))
}
/// `a + b + 2 · lo32(a) · lo32(b)` in each half.
#[inline(always)]
pub fn blamka(a: W, b: W, _: Ctx) -> W {
    [blamka1(a[0], b[0]), blamka1(a[1], b[1])]
}
#[inline(always)]
pub fn rotr32(x: W) -> W {
    [x[0].rotate_right(32), x[1].rotate_right(32)]
}
#[inline(always)]
pub fn rotr24(x: W) -> W {
    [x[0].rotate_right(24), x[1].rotate_right(24)]
}
#[inline(always)]
pub fn rotr16(x: W) -> W {
    [x[0].rotate_right(16), x[1].rotate_right(16)]
}
#[inline(always)]
pub fn rotr63(x: W) -> W {
    [x[0].rotate_right(63), x[1].rotate_right(63)]
}
/// `(a.hi, b.lo)`.
#[inline(always)]
pub fn hi_lo(a: W, b: W) -> W {
    [a[1], b[0]]
}
