//! Writes the seed corpus: one valid message of each kind, made with the fuzzing keys and clock,
//! so the fuzzer starts from inputs that pass every check and mutates inward from there.
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds` (the seeds are committed).

use sigil_shared::argon2id::ThisThread;
use std::fs;
use std::path::Path;

use sigil_client::flow::StoredBackup;
use sigil_client::session::LocalVault;
use sigil_fuzz::{client_keys, fixed_request, now, server_keys};
use sigil_shared::dvm::{Exchange, ServerKeys, seal_request};
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::{ErrorBody, ErrorCode};
use sigil_shared::info::ServerInfo;
use sigil_shared::method::{CodeSent, Reply, Request};
use sigil_shared::secret::{AccountSecret, Password};
use sigil_shared::validation::CheckedRequest;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed");
}

fn main() {
    let (server, client) = (server_keys(), client_keys());
    let server_side = ServerKeys::new(server.clone());
    let entropy = Entropy::generate();
    let account = AccountSecret::generate();
    let envelope = BackupEnvelope::seal(
        &account,
        &Password::new("correct horse battery staple"),
        &entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .expect("seal backup");

    let requests = [
        (
            "request_code",
            Request::RequestCode {
                email: "seed@example.org".into(),
            },
        ),
        (
            "verify_code",
            Request::VerifyCode {
                code: "123456".into(),
            },
        ),
        (
            "update_backup",
            Request::UpdateBackup {
                backup: envelope.clone(),
                base_version: 1,
            },
        ),
        ("get_backup", Request::GetBackup { version: None }),
    ];
    let replies = [
        (
            "code_sent",
            Reply::ok(&CodeSent {
                expires_in: 600,
                resend_after: 60,
            })
            .expect("reply"),
        ),
        (
            "error",
            Reply::Error(ErrorBody::new(ErrorCode::VersionConflict).current_version(2)),
        ),
    ];
    for (name, request) in &requests {
        let event = seal_request(&client, &server.public_key(), request, 0, now()).expect("seal");
        write("request_envelope", name, event.as_json().as_bytes());
        write("event_json", name, event.as_json().as_bytes());
        write("nip44_payload", name, event.content.as_bytes());
        let params = serde_json::to_vec(request).expect("json");
        write("method_params", name, &params);
        let checked = CheckedRequest::verify(event.clone()).expect("signed request");
        let exchange = Exchange::new(&server_side, &checked);
        for (reply_name, reply) in &replies {
            let sealed = exchange.seal(reply).expect("seal reply");
            let mut input = event.id.to_bytes().to_vec();
            input.extend_from_slice(sealed.as_json().as_bytes());
            write("reply_open", &format!("{name}-{reply_name}"), &input);
        }
    }
    let request = fixed_request();
    let checked = CheckedRequest::verify(request.clone()).expect("signed request");
    let reply = Exchange::new(&server_side, &checked)
        .seal(&replies[0].1)
        .expect("seal reply");
    let (id, subscription) = (
        request.id.to_hex(),
        format!("sigil-{}", &request.id.to_hex()[..16]),
    );
    let relay_messages = [
        (
            "reply",
            format!(r#"["EVENT","{subscription}",{}]"#, reply.as_json()),
        ),
        ("refused", format!(r#"["OK","{id}",false,"blocked: no"]"#)),
        ("end", format!(r#"["EOSE","{subscription}"]"#)),
        (
            "closed",
            format!(r#"["CLOSED","{subscription}","error: bye"]"#),
        ),
        ("notice", r#"["NOTICE","hello"]"#.to_owned()),
    ];
    for (name, message) in &relay_messages {
        write("relay_message", name, message.as_bytes());
    }
    for (name, reply) in &replies {
        write(
            "method_params",
            &format!("reply-{name}"),
            &serde_json::to_vec(reply).expect("json"),
        );
    }

    let info = ServerInfo::new(&server.public_key(), 16, 300, 65_536, KdfParams::FLOOR);
    write(
        "backup_envelope",
        "envelope",
        &serde_json::to_vec(&envelope).expect("json"),
    );
    write(
        "backup_envelope",
        "well_known",
        &serde_json::to_vec(&info).expect("json"),
    );
    let saved = LocalVault {
        format: 1,
        server: info,
        email: "seed@example.org".into(),
        relays: vec!["wss://relay.example.org".into()],
        relay_list_published: false,
        backup: StoredBackup {
            entropy,
            envelope,
            version: 1,
        },
        unsynced: false,
        conflict: None,
        kit_unconfirmed: false,
    };
    write("backup_envelope", "saved_vault", saved.to_json().as_bytes());
}
