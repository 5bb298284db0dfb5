//! Argon2id's memory, filled by the lane module (`www/argon2-lanes.js`), with lane workers side
//! by side where the page allows it: the hash stays in this module, the lane module fills the
//! memory between its first and last blocks. Other threads never see the password, only blocks
//! derived from it, and the JavaScript side wipes those after each hash.

use sigil_shared::argon2id::{self, BLOCK_BYTES, Block, LaneWorkers, Shape};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

#[wasm_bindgen]
extern "C" {
    /// `LaneModule` in `www/argon2-lanes.js`: the lane module, with its lane workers if any.
    #[derive(Debug)]
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

struct JsLanes(LaneModule);

impl LaneWorkers for JsLanes {
    fn fill(&self, shape: &Shape, seeds: &[Block]) -> Option<Block> {
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
            self.0.fill(&seed_bytes, segment, passes, lanes, &mut last),
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

/// Hands the lane module started by `startLanes` to this thread's Argon2id, which needs it.
#[wasm_bindgen]
pub fn use_lane_module(lanes: LaneModule) {
    argon2id::use_lane_workers(Box::new(JsLanes(lanes)));
}
