use std::net::SocketAddr;

use sigil_client::flow::{AfterVerify, CodeSession};

use sigil_shared::nostr::types::Timestamp;

use crate::envelope_checks::sealed;
use crate::helpers::{TEST_POW, header, spawn_app, spawn_app_with};
use crate::relay_helpers::SocksProxy;

#[tokio::test]
async fn the_database_never_holds_an_email_address() {
    let app = spawn_app().await;
    let email = "private.person@example.org";
    let vault = app.sign_up(email, "a long private passphrase").await;
    let server = app.client().await;
    let (_session, after) = app.verify_email(&server, email).await;
    assert!(matches!(after, AfterVerify::Existing(_)));
    let stop = app.database.stolen_bytes();
    // What the thief has does hold the account: the search below is not looking at nothing.
    let pubkey = vault.public_key().to_hex();
    assert!(
        stop.windows(pubkey.len()).any(|w| w == pubkey.as_bytes()),
        "the stolen copy holds the account's backup"
    );
    for needle in [
        email,
        "private.person",
        "example.org",
        "a long private passphrase",
    ] {
        assert!(
            !stop.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "database contains {needle:?}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_cookie() {
    // A web client on disk, so the static routes serve real files.
    let web = tempfile::tempdir().expect("web dir");
    for (file, body) in [
        ("index.html", "<!doctype html><title>Sigil</title>"),
        ("app.js", "export {};"),
        ("sigil_bg.wasm", "\0asm"),
        ("relay-sockets.js", "self.onmessage = null;"),
    ] {
        std::fs::write(web.path().join(file), body).expect("web file");
    }
    let web_dir = web.path().to_owned();
    let app = spawn_app_with(|options| options.web_dir = Some(web_dir)).await;
    let server = app.client().await;
    let url = |path: &str| format!("{}{path}", app.base);
    let valid = sealed(server.pubkey(), TEST_POW, Timestamp::now()).as_json();
    let post = |body: String| {
        app.http
            .post(url("/api/v1/events"))
            .header("content-type", "application/json")
            .body(body)
    };
    let requests = [
        ("well-known", app.http.get(url("/.well-known/sigil.json"))),
        ("app shell", app.http.get(url("/"))),
        ("script", app.http.get(url("/app.js"))),
        ("wasm", app.http.get(url("/sigil_bg.wasm"))),
        (
            "the signer's socket worker",
            app.http.get(url(SOCKET_WORKER)),
        ),
        (
            "a miss under the worker's name, answered with the page",
            app.http.get(url(&format!("/elsewhere{SOCKET_WORKER}"))),
        ),
        ("client route", app.http.get(url("/no/such/page"))),
        ("GET on the API", app.http.get(url("/api/v1/events"))),
        ("a request", post(valid.clone())),
        ("a replay", post(valid)),
        ("a malformed body", post("{".into())),
        ("an oversize body", post("x".repeat(70_000))),
    ];
    for (label, request) in requests {
        let response = request.send().await.expect("send");
        let status = response.status();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{label} ({status}): {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{label}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{label}");
        for (name, value) in [
            ("referrer-policy", "no-referrer"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-embedder-policy", "require-corp"),
        ] {
            assert_eq!(
                headers.get(name).map(|v| v.as_bytes()),
                Some(value.as_bytes()),
                "{label}: {name}"
            );
        }
        assert!(headers.get("set-cookie").is_none(), "{label}");
        // Only the signer's socket worker may reach the relay its address names.
        let reaches_app_relay = csp.contains("connect-src ws://127.0.0.1:9;");
        assert_eq!(
            reaches_app_relay,
            label == "the signer's socket worker",
            "{label}: {csp}"
        );
    }
}

/// The signer's socket worker, for an app on a relay the server does not name.
const SOCKET_WORKER: &str = "/relay-sockets.js?connect=ws%3A%2F%2F127.0.0.1%3A9";

/// Issue 25 §1: mail must not undo the onion. The mail server records the client's address and
/// EHLO name in `Received:`; through the proxy it sees the proxy's connection, and the name is
/// the configured one.
#[tokio::test]
async fn code_mail_goes_through_the_proxy_and_names_no_machine() {
    let proxy = SocksProxy::start();
    let app = spawn_app_with(|o| {
        o.smtp_proxy = Some(SocketAddr::from(([127, 0, 0, 1], proxy.port)));
        o.smtp_hello_name = Some("mail.sigil.test".into());
    })
    .await;
    let server = app.client().await;
    CodeSession::request(&server, "hidden@example.org")
        .await
        .expect("a code through the proxy");
    let mail = app.smtp.messages_for("hidden@example.org");
    assert_eq!(mail.len(), 1);
    assert_eq!(header(&mail[0], "X-Ehlo"), Some("mail.sigil.test"));
    let log = proxy.log();
    assert!(
        log.contains(&format!(":{}", app.smtp.port)),
        "the proxy carried no connection to the mail server: {log}"
    );
}

/// Without a configured name, EHLO says `localhost`, never the machine's host name.
#[tokio::test]
async fn the_default_ehlo_name_is_not_the_machines() {
    let app = spawn_app().await;
    let server = app.client().await;
    CodeSession::request(&server, "plain@example.org")
        .await
        .expect("code");
    let mail = app.smtp.messages_for("plain@example.org");
    assert_eq!(header(&mail[0], "X-Ehlo"), Some("localhost"));
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    assert!(
        !mail[0].contains(machine.trim()) || machine.trim() == "localhost",
        "the mail names the machine"
    );
}
