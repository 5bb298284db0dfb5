//! SHA-256 compression of four blocks at once, one per 32-bit lane: SIMD128 in the browser, where
//! WebAssembly has no SHA instructions and one hash at a time leaves three quarters of each
//! vector idle; plain `[u32; 4]` natively, so the same code is tested everywhere. The miner feeds
//! it four nonces per call.

/// Four SHA-256 states, word by word: `state[i]` holds word `i` of each of the four.
pub type State4 = [lanes::X; 8];

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The same state in all four lanes.
pub fn splat(state: &[u32; 8]) -> State4 {
    state.map(lanes::splat)
}

/// Lane `lane`'s state.
pub fn extract(state: &State4, lane: usize) -> [u32; 8] {
    state.map(|word| lanes::extract(word, lane))
}

/// Compresses `blocks[k]` into lane `k` of `state`.
#[inline(always)]
pub fn compress(state: &mut State4, blocks: [&[u8; 64]; 4]) {
    use lanes::*;
    let word = |i: usize| {
        let at = |k: usize| {
            u32::from_be_bytes([
                blocks[k][4 * i],
                blocks[k][4 * i + 1],
                blocks[k][4 * i + 2],
                blocks[k][4 * i + 3],
            ])
        };
        from_lanes([at(0), at(1), at(2), at(3)])
    };
    let mut w: [X; 16] = core::array::from_fn(word);
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (i, &k) in K.iter().enumerate() {
        let wi = if i < 16 {
            w[i]
        } else {
            let (w15, w2) = (w[(i + 1) % 16], w[(i + 14) % 16]);
            let s0 = xor(xor(rotr(w15, 7), rotr(w15, 18)), shr(w15, 3));
            let s1 = xor(xor(rotr(w2, 17), rotr(w2, 19)), shr(w2, 10));
            let next = add(add(w[i % 16], s0), add(w[(i + 9) % 16], s1));
            w[i % 16] = next;
            next
        };
        let s1 = xor(xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
        let ch = xor(and(e, f), andnot(g, e));
        let t1 = add(add(add(h, s1), add(ch, splat(k))), wi);
        let s0 = xor(xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
        let maj = xor(xor(and(a, b), and(a, c)), and(b, c));
        let t2 = add(s0, maj);
        h = g;
        g = f;
        f = e;
        e = add(d, t1);
        d = c;
        c = b;
        b = a;
        a = add(t1, t2);
    }
    for (word, new) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word = add(*word, new);
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    pub type X = v128;

    #[inline(always)]
    pub fn splat(x: u32) -> X {
        u32x4_splat(x)
    }
    #[inline(always)]
    pub fn from_lanes(x: [u32; 4]) -> X {
        u32x4(x[0], x[1], x[2], x[3])
    }
    #[inline(always)]
    pub fn extract(x: X, lane: usize) -> u32 {
        match lane {
            0 => u32x4_extract_lane::<0>(x),
            1 => u32x4_extract_lane::<1>(x),
            2 => u32x4_extract_lane::<2>(x),
            _ => u32x4_extract_lane::<3>(x),
        }
    }
    #[inline(always)]
    pub fn add(a: X, b: X) -> X {
        i32x4_add(a, b)
    }
    #[inline(always)]
    pub fn xor(a: X, b: X) -> X {
        v128_xor(a, b)
    }
    #[inline(always)]
    pub fn and(a: X, b: X) -> X {
        v128_and(a, b)
    }
    /// `b & !a`.
    #[inline(always)]
    pub fn andnot(b: X, a: X) -> X {
        v128_andnot(b, a)
    }
    #[inline(always)]
    pub fn shr(x: X, n: u32) -> X {
        u32x4_shr(x, n)
    }
    #[inline(always)]
    pub fn rotr(x: X, n: u32) -> X {
        v128_or(u32x4_shr(x, n), i32x4_shl(x, 32 - n))
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    pub type X = [u32; 4];

    #[inline(always)]
    pub fn splat(x: u32) -> X {
        [x; 4]
    }
    #[inline(always)]
    pub fn from_lanes(x: [u32; 4]) -> X {
        x
    }
    #[inline(always)]
    pub fn extract(x: X, lane: usize) -> u32 {
        x[lane]
    }
    #[inline(always)]
    fn map2(a: X, b: X, f: impl Fn(u32, u32) -> u32) -> X {
        [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
    }
    #[inline(always)]
    pub fn add(a: X, b: X) -> X {
        map2(a, b, u32::wrapping_add)
    }
    #[inline(always)]
    pub fn xor(a: X, b: X) -> X {
        map2(a, b, |a, b| a ^ b)
    }
    #[inline(always)]
    pub fn and(a: X, b: X) -> X {
        map2(a, b, |a, b| a & b)
    }
    /// `b & !a`.
    #[inline(always)]
    pub fn andnot(b: X, a: X) -> X {
        map2(b, a, |b, a| b & !a)
    }
    #[inline(always)]
    pub fn shr(x: X, n: u32) -> X {
        x.map(|x| x >> n)
    }
    #[inline(always)]
    pub fn rotr(x: X, n: u32) -> X {
        x.map(|x| x.rotate_right(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lane_compresses_as_sha256_does() {
        let initial: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let blocks: [[u8; 64]; 4] =
            core::array::from_fn(|k| core::array::from_fn(|i| (i * 7 + k * 31) as u8));
        let mut four = splat(&initial);
        compress(&mut four, [&blocks[0], &blocks[1], &blocks[2], &blocks[3]]);
        compress(&mut four, [&blocks[3], &blocks[2], &blocks[1], &blocks[0]]);
        for k in 0..4 {
            let mut one = initial;
            sha2::block_api::compress256(&mut one, &[blocks[k], blocks[3 - k]]);
            assert_eq!(extract(&four, k), one, "lane {k}");
        }
    }
}
