//! What a client takes from a server or from its own storage before any Argon2 run: a backup
//! envelope's structure, the well-known announcement, and the saved copy of a vault.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_client::session::LocalVault;
use sigil_shared::envelope::BackupEnvelope;
use sigil_shared::info::ServerInfo;

fuzz_target!(|json: &[u8]| {
    if let Ok(envelope) = serde_json::from_slice::<BackupEnvelope>(json) {
        let _ = envelope.validate();
    }
    if let Ok(info) = serde_json::from_slice::<ServerInfo>(json) {
        let _ = info.validate();
    }
    if let Ok(text) = std::str::from_utf8(json) {
        let _ = LocalVault::from_json(text);
    }
});
