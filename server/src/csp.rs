//! The content security policies the server sends: one for the page and its workers, and one for
//! the worker that holds the NIP-46 signer's connections to the relays of the user's apps.
//!
//! The page (and the vault worker, which holds the key) may open WebSockets to the server's DVM
//! relays and default relays, and nowhere else. Apps a user connects name relays of their own;
//! the signer reaches them through a worker of its own (`www/relay-sockets.js`) that never sees
//! a secret, only NIP-44-encrypted events. That worker's address carries the relays it needs
//! (`relay-sockets.js?connect=<space-separated URLs>`), and its policy allows exactly those.

use sigil_shared::info::ServerInfo;

/// The file name of the signer's socket worker, wherever the build puts it.
const RELAY_SOCKETS_SCRIPT: &str = "relay-sockets.js";

/// At most this many relays in one socket worker's policy (an app names a handful).
const MAX_RELAY_SOURCES: usize = 32;

/// A relay URL longer than this is not taken into a policy.
const MAX_RELAY_URL: usize = 256;

/// What every policy shares; only `connect-src` differs.
fn policy(connect: &[String]) -> String {
    let connect = if connect.is_empty() {
        "'none'".to_owned()
    } else {
        connect.join(" ")
    };
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src {connect}; \
         img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; \
         worker-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// The page's policy: its own origin, the server's DVM relays (relay transport) and its default
/// relays (the account's NIP-65 list). Relay URLs were checked at start-up to hold no separators.
pub fn page_policy(info: &ServerInfo) -> String {
    let mut connect = vec!["'self'".to_owned()];
    for relay in info.dvm_relays.iter().chain(&info.default_relays) {
        if !connect.contains(relay) {
            connect.push(relay.clone());
        }
    }
    policy(&connect)
}

/// Whether `path` names the socket worker's script (in whichever build directory).
pub fn is_relay_sockets_script(path: &str) -> bool {
    path.rsplit('/').next() == Some(RELAY_SOCKETS_SCRIPT)
}

/// The socket worker's policy, from its address's query: exactly the relays it names that can be
/// written as a CSP source; anything else (another scheme, a wildcard, a separator that would
/// start a directive of its own) is left out, so it cannot be reached.
pub fn relay_sockets_policy(query: Option<&str>) -> String {
    let named = query
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "connect")
                .map(|(_, value)| value.into_owned())
        })
        .unwrap_or_default();
    let mut connect: Vec<String> = Vec::new();
    for relay in named
        .split_ascii_whitespace()
        .filter(|r| is_relay_source(r))
    {
        if connect.len() == MAX_RELAY_SOURCES {
            break;
        }
        if !connect.iter().any(|known| known == relay) {
            connect.push(relay.to_owned());
        }
    }
    policy(&connect)
}

/// A `ws://` or `wss://` URL made only of characters a CSP source may hold (host, port, path):
/// no wildcard, quote, comma, semicolon, query or user name.
fn is_relay_source(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
    else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    url.len() <= MAX_RELAY_URL
        && !host.is_empty()
        && !host.starts_with(':')
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/[]%".contains(c))
}

#[cfg(test)]
mod tests {
    use sigil_shared::envelope::KdfParams;
    use sigil_shared::nostr::key::Keys;

    use super::*;

    fn connect_src(policy: &str) -> &str {
        policy
            .split("; ")
            .find_map(|d| d.strip_prefix("connect-src "))
            .expect("connect-src")
    }

    #[test]
    fn the_page_may_connect_to_its_own_origin_and_the_named_relays_only() {
        let mut info = ServerInfo::new(
            &Keys::generate().public_key(),
            16,
            300,
            65536,
            KdfParams::DEFAULT,
        );
        assert_eq!(connect_src(&page_policy(&info)), "'self'");
        info.dvm_relays = vec!["wss://dvm.example".into()];
        info.default_relays = vec!["wss://a.example".into(), "wss://dvm.example".into()];
        let csp = page_policy(&info);
        assert_eq!(
            connect_src(&csp),
            "'self' wss://dvm.example wss://a.example"
        );
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn the_socket_worker_may_connect_to_exactly_the_relays_its_address_names() {
        let query = "connect=wss%3A%2F%2Frelay.example%20ws%3A%2F%2F127.0.0.1%3A7777%2F";
        let csp = relay_sockets_policy(Some(query));
        assert_eq!(
            connect_src(&csp),
            "wss://relay.example ws://127.0.0.1:7777/",
            "not even its own origin"
        );
        assert!(csp.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval';"));
        // `+` is a space in a query, as browsers' URLSearchParams write it.
        let csp = relay_sockets_policy(Some("connect=wss://a.example+wss://a.example"));
        assert_eq!(connect_src(&csp), "wss://a.example", "once each");
        for nothing in [None, Some(""), Some("other=wss://a.example")] {
            assert_eq!(connect_src(&relay_sockets_policy(nothing)), "'none'");
        }
    }

    /// What an attacker could put in the address: each is left out whole, and no directive
    /// other than the shared ones appears.
    #[test]
    fn a_source_that_is_not_a_plain_relay_url_is_left_out() {
        let hostile = [
            "wss://a.example;script-src%20*",
            "wss://a.example,wss://b.example",
            "https://a.example",
            "*",
            "wss://*",
            "wss://*.example",
            "'self'",
            "'unsafe-inline'",
            "wss://",
            "ws://:80",
            "wss://user@a.example",
            "wss://a.example/?q=1",
            "wss://a.example/'x'",
            "data:",
        ];
        for source in hostile {
            let csp = relay_sockets_policy(Some(&format!("connect={source}")));
            assert_eq!(connect_src(&csp), "'none'", "{source}");
            assert_eq!(csp.matches("script-src").count(), 1, "{source}");
        }
        let long = format!("wss://{}.example", "a".repeat(MAX_RELAY_URL));
        assert_eq!(
            connect_src(&relay_sockets_policy(Some(&format!("connect={long}")))),
            "'none'"
        );
        let many: Vec<String> = (0..100).map(|i| format!("wss://r{i}.example")).collect();
        let csp = relay_sockets_policy(Some(&format!("connect={}", many.join("+"))));
        assert_eq!(connect_src(&csp).split(' ').count(), MAX_RELAY_SOURCES);
    }
}
