//! The lane workers' WebAssembly module: Argon2id's segment filling (`sigil_argon2`) and nothing
//! else, over a memory that the vault's worker and its lane workers share. Each of them runs an
//! instance of this module, takes some of the lanes, and meets the others at every sync point
//! (`www/argon2-lanes.js`); the vault's own module hashes the inputs and the result.
//!
//! It has no allocator and no imports but the memory, so instances in several workers share
//! nothing but the blocks; each worker sets `__stack_pointer` to a stack of its own.
#![cfg_attr(target_arch = "wasm32", no_std)]
// The export must keep its name, and builds a `Memory` from a raw pointer.
#![allow(unsafe_code)]

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A trap. In a lane worker, the vault's worker goes on alone; in the vault's worker, the
    // hash fails with a clear error (`Argon2Error::Unavailable`).
    core::arch::wasm32::unreachable()
}

/// Fills lane `lane`'s segment of slice `slice` in pass `pass`, in the memory at byte `base`
/// whose `p` lanes hold `segment` blocks per slice, for a hash of `t` passes. Returns 0, or 1
/// when the arguments describe no segment of such a memory (nothing is written then).
///
/// The caller keeps Argon2's order: every segment of a slice is finished, by whichever worker,
/// before any segment of the next one starts.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn fill_segment(
    base: usize,
    segment: u32,
    t: u32,
    p: u32,
    pass: u32,
    slice: u32,
    lane: u32,
) -> u32 {
    use sigil_argon2::{Block, Memory, SYNC_POINTS, Shape};

    let valid = segment >= 2
        && p >= 1
        && pass < t
        && (slice as usize) < SYNC_POINTS
        && lane < p
        && base.is_multiple_of(core::mem::align_of::<Block>());
    let Some(m_kib) = segment
        .checked_mul(p * SYNC_POINTS as u32)
        .filter(|_| valid)
    else {
        return 1;
    };
    let shape = Shape::new(m_kib, t, p);
    let bytes = shape.blocks() * core::mem::size_of::<Block>();
    if base
        .checked_add(bytes)
        .is_none_or(|end| end > memory_bytes())
    {
        return 1;
    }
    // SAFETY: the blocks lie within this instance's memory, checked just above; the workers fill
    // only their own lanes' segments of one slice at a time, as `from_raw` requires.
    let mut memory = unsafe { Memory::from_raw(base as *mut Block, shape.blocks()) };
    sigil_argon2::fill_segment(&mut memory, &shape, pass, slice as usize, lane as usize);
    0
}

#[cfg(target_arch = "wasm32")]
fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size::<0>() * 65536
}
