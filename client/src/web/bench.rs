//! Entry points for the browser benchmarks (`bench/web`): the same code the vault runs, with the
//! inputs in the benchmark's hands. Nothing here touches a user's secrets.

use sigil_shared::argon2id;

use super::lanes::JsLanes;
use wasm_bindgen::prelude::*;

/// Argon2id of `password` and `salt` at `m_kib`, `t`, `p` into 32 bytes: the function that
/// derives a vault key, so the benchmark times what a user waits for at unlock.
#[wasm_bindgen]
pub fn argon2id_hash(
    password: &[u8],
    salt: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
) -> Result<Vec<u8>, JsError> {
    let mut out = vec![0u8; 32];
    argon2id::hash(password, salt, m_kib, t, p, &mut out, &JsLanes::given())
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(out)
}
