use sigil_client::flow::AfterVerify;

use crate::helpers::spawn_app;

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
    let app = spawn_app().await;
    for path in [
        "/.well-known/sigil.json",
        "/",
        "/no/such/page",
        "/api/v1/events",
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("get");
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(
            headers.get("referrer-policy").map(|v| v.as_bytes()),
            Some(&b"no-referrer"[..]),
            "{path}"
        );
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert!(headers.get("set-cookie").is_none(), "{path}");
    }
}
