//! Decrypted plaintexts: a request's method and parameters (server side), and a reply's result
//! or error as each client flow reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, CodeSent, Reply, Request, Verified,
};

fuzz_target!(|json: &[u8]| {
    let _ = serde_json::from_slice::<Request>(json);
    if let Ok(reply) = serde_json::from_slice::<Reply>(json) {
        let _ = reply.clone().into_result::<CodeSent>();
        let _ = reply.clone().into_result::<Verified>();
        let _ = reply.clone().into_result::<BackupStored>();
        let _ = reply.clone().into_result::<BackupRecord>();
        let _ = reply.into_result::<AccountDeleted>();
    }
});
