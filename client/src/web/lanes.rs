//! Argon2id's memory, filled by the lane module (`www/argon2-lanes.js`), with lane workers side
//! by side where the page allows it: the hash stays in this module, the lane module fills the
//! memory between its first and last blocks. Other threads never see the password, only blocks
//! derived from it, and the JavaScript side wipes those after each hash.

use std::cell::RefCell;

use sigil_shared::argon2id::{BLOCK_BYTES, Block, FillLanes, Shape};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

#[wasm_bindgen]
extern "C" {
    /// `LaneModule` in `www/argon2-lanes.js`: the lane module, with its lane workers if any.
    #[derive(Debug, Clone)]
    pub type LaneModule;

    /// Fills the memory from `seeds` and copies each lane's last block into `last`; false when
    /// the memory cannot grow that far.
    #[wasm_bindgen(method, catch)]
    fn fill(
        this: &LaneModule,
        seeds: &[u8],
        segment: u32,
        passes: u32,
        lanes: u32,
        last: &mut [u8],
    ) -> Result<bool, JsValue>;
}

/// The lane module this worker was given, or none (then every hash fails as unavailable: the
/// vault's module has no filling code of its own).
#[derive(Debug, Clone)]
pub struct JsLanes(Option<LaneModule>);

thread_local! {
    /// What `vault-worker.js` handed over once, before the first command.
    static GIVEN: RefCell<Option<LaneModule>> = const { RefCell::new(None) };
}

impl JsLanes {
    /// The lane module handed to this worker, for the hashes its vault runs.
    pub fn given() -> Self {
        Self(GIVEN.with(|given| given.borrow().clone()))
    }
}

impl FillLanes for JsLanes {
    fn fill(&self, shape: &Shape, seeds: &[Block]) -> Option<Block> {
        let module = self.0.as_ref()?;
        let mut seed_bytes = Zeroizing::new(Vec::with_capacity(seeds.len() * BLOCK_BYTES));
        for block in seeds {
            seed_bytes.extend_from_slice(&Zeroizing::new(block.to_bytes())[..]);
        }
        let mut last = Zeroizing::new(vec![0u8; shape.lanes * BLOCK_BYTES]);
        let numbers = [shape.segment, shape.passes as usize, shape.lanes].map(u32::try_from);
        let [Ok(segment), Ok(passes), Ok(lanes)] = numbers else {
            return None;
        };
        if !matches!(
            module.fill(&seed_bytes, segment, passes, lanes, &mut last),
            Ok(true)
        ) {
            return None;
        }
        let mut blocks = last
            .chunks_exact(BLOCK_BYTES)
            .filter_map(|b| b.try_into().ok());
        let mut xor = Block::from_bytes(blocks.next()?);
        for bytes in blocks {
            xor.xor_with(&Block::from_bytes(bytes));
        }
        Some(xor)
    }
}

/// Hands the lane module started by `startLanes` to this worker: the vault's transport passes
/// it to each hash (see [`JsLanes::given`]).
#[wasm_bindgen]
pub fn use_lane_module(lanes: LaneModule) {
    GIVEN.with(|given| *given.borrow_mut() = Some(lanes));
}
