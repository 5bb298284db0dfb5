//! The DVM over a real relay (nostr-rs-relay on loopback): the signup and login journeys with
//! the client on the relay transport, a relay restart in the middle of a login, one request
//! seen on two relays (or on a relay and over HTTP) handled once, the NIP-89 announcement, and
//! relays reached through a SOCKS5 proxy.

use sigil_shared::argon2id::ThisThread;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use sigil_client::Vault;
use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_client::relay::{RelayExchange, call_over_relays};
use sigil_server::Options;
use sigil_shared::dvm;
use sigil_shared::info::RequestTransport;
use sigil_shared::kinds;
use sigil_shared::method::Request;
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::relay::{HANDLER_INFO_KIND, RELAY_LIST_KIND};
use sigil_shared::secret::Password;

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};
use crate::relay_helpers::{NativeSockets, SocksProxy, TestRelay, query};

/// A server on the relay transport, listening on `relays`, with other options set by `adjust`.
pub(crate) async fn relay_app(
    relays: &[&TestRelay],
    proxy: Option<&SocksProxy>,
    adjust: impl FnOnce(&mut Options),
) -> TestApp {
    let urls: Vec<String> = relays.iter().map(|relay| relay.url()).collect();
    let proxy = proxy.map(|proxy| SocketAddr::from(([127, 0, 0, 1], proxy.port)));
    let app = spawn_app_with(|options| {
        options.default_relays = Some(urls.clone());
        options.dvm_relays = Some(urls);
        options.client_transport = Some(RequestTransport::Relays);
        options.relay_proxy = proxy;
        // Behind a relay proxy the server refuses to dial its mail server directly.
        options.smtp_proxy = proxy;
        adjust(options);
    })
    .await;
    for relay in relays {
        announcement(relay, &app).await;
    }
    app
}

/// The server's NIP-89 announcement on `relay`, once it is there. The server subscribes to
/// requests before it announces, so from then on it is listening.
async fn announcement(relay: &TestRelay, app: &TestApp) -> serde_json::Value {
    let server = app.client().await.pubkey().to_hex();
    let filter = json!({ "kinds": [HANDLER_INFO_KIND], "authors": [server] });
    for _ in 0..200 {
        if let Some(event) = query(&relay.url(), filter.clone()).await.pop() {
            return event;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not announce itself on {}", relay.url());
}

#[tokio::test]
async fn signup_and_login_over_a_relay_survive_a_relay_restart() {
    let mut relay = TestRelay::start();
    let app = relay_app(&[&relay], None, |_| {}).await;

    let announced = announcement(&relay, &app).await;
    let tags = announced["tags"].as_array().expect("tags");
    assert!(
        tags.contains(&json!(["k", kinds::REQUEST.to_string()])),
        "{announced}"
    );
    assert!(tags.contains(&json!(["d", "sigil"])), "{announced}");
    assert!(
        Event::from_json(announced.to_string())
            .expect("event")
            .verify()
            .is_ok()
    );

    let email = "relay@example.org";
    let vault = app.sign_up(email, PASSWORD).await;

    // A new device logs in; the relay restarts between the code request and its check, so
    // both the server and the client must reconnect.
    let server = app.client().await;
    let session = CodeSession::request(&server, email)
        .await
        .expect("request code");
    relay.restart();
    let code = app.smtp.code_for(email).await;
    let after = session
        .verify(&server, &code)
        .await
        .expect("verify over the restarted relay");
    let AfterVerify::Existing(backup) = after else {
        panic!("{email} should have an account");
    };
    let unlocked = Vault::unlock(backup, &Password::new(PASSWORD), &ThisThread).expect("unlock");
    assert_eq!(unlocked.public_key(), vault.public_key());
    assert_eq!(
        server.transport().posts.load(Ordering::Relaxed),
        0,
        "every request went over the relay"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_relay_list_is_published_once_after_activation() {
    let relay = TestRelay::start();
    let app = relay_app(&[&relay], None, |_| {}).await;
    let mut session = app.verified_session("nip65@example.org").await;
    let password = Password::new(PASSWORD);
    let (pubkey, _) = session
        .create_account(&password, &password)
        .await
        .expect("activate");
    assert_eq!(session.publish_relay_list().await.expect("publish"), 1);
    // Published: a later call (another unlock) does not send it again.
    assert_eq!(session.publish_relay_list().await.expect("publish"), 0);
    assert!(session.local().expect("kept").relay_list_published);

    let filter = json!({ "kinds": [RELAY_LIST_KIND], "authors": [pubkey.to_hex()] });
    let lists = query(&relay.url(), filter).await;
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert_eq!(lists[0]["tags"], json!([["r", relay.url()]]));
    assert!(
        Event::from_json(lists[0].to_string())
            .expect("event")
            .verify()
            .is_ok()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_seen_on_two_relays_is_handled_once() {
    let (first, second) = (TestRelay::start(), TestRelay::start());
    let app = relay_app(&[&first, &second], None, |_| {}).await;
    let server = app.client().await;
    let request = dvm::seal_request(
        &Keys::generate(),
        server.pubkey(),
        &Request::RequestCode {
            email: "twice@example.org".into(),
        },
        server.info().pow_difficulty,
        Timestamp::now(),
    )
    .expect("seal");
    let exchange = RelayExchange::new(*server.pubkey(), request);

    let mut replies = Vec::new();
    for relay in [&first, &second, &first] {
        let reply = call_over_relays(&mut NativeSockets::new(), &[relay.url()], &exchange)
            .await
            .expect("a reply on every relay");
        replies.push(Event::from_json(reply).expect("reply event").id);
    }
    // The same reply event each time: made once, then sent again for the copies.
    assert!(replies.iter().all(|id| *id == replies[0]), "{replies:?}");
    app.smtp.code_for("twice@example.org").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.smtp.message_count(), 1, "one code email, not three");
    app.stop().await;
}

/// A copy of a request taken off a relay and posted over HTTP (by anyone watching the relay)
/// gets the reply already made, and so does a copy of an HTTP request published on a relay:
/// the real client is answered whichever copy the server saw first.
#[tokio::test]
async fn a_request_seen_on_both_transports_gets_one_reply() {
    let relay = TestRelay::start();
    let app = relay_app(&[&relay], None, |_| {}).await;
    let server = app.client().await;
    for (first_over_http, email) in [
        (false, "relay-first@example.org"),
        (true, "http-first@example.org"),
    ] {
        let request = dvm::seal_request(
            &Keys::generate(),
            server.pubkey(),
            &Request::RequestCode {
                email: email.into(),
            },
            server.info().pow_difficulty,
            Timestamp::now(),
        )
        .expect("seal");
        let over_http = || async {
            let response = app.post_event(request.as_json()).await;
            assert_eq!(response.status(), 200, "{email}");
            response.text().await.expect("reply")
        };
        let exchange = RelayExchange::new(*server.pubkey(), request.clone());
        let over_relay = || async {
            call_over_relays(&mut NativeSockets::new(), &[relay.url()], &exchange)
                .await
                .expect("a reply on the relay")
        };
        let (first, second) = if first_over_http {
            (over_http().await, over_relay().await)
        } else {
            (over_relay().await, over_http().await)
        };
        let id = |json: &str| Event::from_json(json).expect("reply event").id;
        assert_eq!(id(&first), id(&second), "{email}: one reply");
        app.smtp.code_for(email).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.smtp.message_count(), 2, "each request handled once");
    app.stop().await;
}

/// A flood through a real relay, faster than the server answers: copies of one request (which
/// the server answers at once from memory, if the relay passes them on) among fresh ones. The connection goes on answering: an
/// ordinary request made after the flood gets its reply (issue 25 §5; the loop's own test,
/// `relay::tests`, shows pings go on with the reply queue full).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_through_a_relay_does_not_wedge_the_connection() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let relay = TestRelay::start();
    let app = relay_app(&[&relay], None, |_| {}).await;
    let server = app.client().await;
    let seal = |email: String| {
        dvm::seal_request(
            &Keys::generate(),
            server.pubkey(),
            &Request::RequestCode { email },
            server.info().pow_difficulty,
            Timestamp::now(),
        )
        .expect("seal")
    };
    let copied = seal("copied@example.org".into());
    let (mut flood, _) = tokio_tungstenite::connect_async(relay.url())
        .await
        .expect("relay");
    for n in 0..600 {
        let event = if n % 4 == 0 {
            seal(format!("fresh{n}@example.org"))
        } else {
            copied.clone()
        };
        let message = json!(["EVENT", event]).to_string();
        flood.send(Message::text(message)).await.expect("publish");
    }

    let exchange = RelayExchange::new(*server.pubkey(), seal("after@example.org".into()));
    let reply = tokio::time::timeout(
        Duration::from_secs(60),
        call_over_relays(&mut NativeSockets::new(), &[relay.url()], &exchange),
    )
    .await
    .expect("answered within a minute of the flood");
    reply.expect("a reply on the relay");
    app.stop().await;
}

#[tokio::test]
async fn relays_can_be_reached_through_a_socks5_proxy() {
    let relay = TestRelay::start();
    let proxy = SocksProxy::start();
    let app = relay_app(&[&relay], Some(&proxy), |_| {}).await;
    let vault = app.sign_up("socks@example.org", PASSWORD).await;
    assert_eq!(vault.backup().version, 1);
    let log = proxy.log();
    assert!(
        log.contains(&format!(":{}", relay.port)),
        "the proxy carried no connection to the relay: {log}"
    );
    assert!(
        log.contains(&format!(":{}", app.smtp.port)),
        "the proxy carried no connection to the mail server: {log}"
    );
    app.stop().await;
}
