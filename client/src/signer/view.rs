//! What the page shows of the signer, built from its kept state: the connected apps, the
//! activity, an app's invitation and a prompt, in words (the page only places them).

use sigil_shared::nostr::key::PublicKey;

use super::policy::{Grant, Permission};
use super::request::{Call, SignerRequest};
use super::session::Signer;
use super::uri::NostrConnect;
use crate::dates::utc;
use crate::worker_api::{AppView, Invitation, SignerPrompt, SignerView};

/// Lines of the activity log the page shows (the vault keeps more).
pub const ACTIVITY_SHOWN: usize = 50;
/// Characters of an event's content a prompt shows, and tags.
const CONTENT_SHOWN: usize = 280;
const TAGS_SHOWN: usize = 12;

/// A permission in words.
pub fn describe(permission: Permission) -> String {
    match permission {
        Permission::SignEvent(kind) => format!("sign events of kind {kind}{}", kind_name(kind)),
        Permission::Nip44Encrypt => "encrypt messages (NIP-44)".into(),
        Permission::Nip44Decrypt => "decrypt messages (NIP-44)".into(),
        Permission::Nip04Encrypt => "encrypt messages (NIP-04, older apps)".into(),
        Permission::Nip04Decrypt => "decrypt messages (NIP-04, older apps)".into(),
    }
}

/// The common kinds' names, so a prompt reads as more than a number.
fn kind_name(kind: u16) -> &'static str {
    match kind {
        0 => " (profile)",
        1 => " (short note)",
        3 => " (follow list)",
        4 => " (direct message, NIP-04)",
        5 => " (deletion)",
        6 => " (repost)",
        7 => " (reaction)",
        13 => " (sealed message)",
        1059 => " (gift wrap)",
        9734 => " (zap request)",
        10002 => " (relay list)",
        22242 => " (relay login)",
        27235 => " (HTTP login)",
        30023 => " (long-form article)",
        _ => "",
    }
}

/// An app's name, or the start of its key when it gave none (bunker connections).
fn name_of(signer: &Signer, key: &str) -> String {
    signer
        .apps()
        .find(|(k, _)| *k == key)
        .and_then(|(_, app)| app.name.clone())
        .unwrap_or_else(|| format!("App {}…", key.chars().take(8).collect::<String>()))
}

pub fn signer_view(signer: &Signer, active: bool) -> SignerView {
    let apps = signer
        .apps()
        .map(|(key, app)| {
            let (mut allowed, mut denied) = (Vec::new(), Vec::new());
            for (permission, grant) in app.permissions.grants() {
                match grant {
                    Grant::Always => allowed.push(describe(permission)),
                    Grant::Never => denied.push(describe(permission)),
                }
            }
            let mut lines = vec![name_of(signer, key)];
            lines.extend(app.url.clone());
            lines.push(if app.revoked {
                "Revoked".to_owned()
            } else {
                format!("Last active {}", utc(app.last_active))
            });
            if !allowed.is_empty() {
                lines.push(format!("Always allowed to {}.", allowed.join("; ")));
            }
            if !denied.is_empty() {
                lines.push(format!("Always denied: {}.", denied.join("; ")));
            }
            lines.push(format!("Relays: {}", app.relays.join(", ")));
            AppView(key.to_owned(), lines, app.revoked)
        })
        .collect();
    let activity = signer
        .log()
        .iter()
        .rev()
        .take(ACTIVITY_SHOWN)
        .map(|entry| {
            let permission = match entry.kind {
                Some(kind) => Some(Permission::SignEvent(kind)),
                None => Permission::parse(&entry.method),
            };
            let what = permission.map_or_else(|| entry.method.clone(), describe);
            let outcome = if entry.allowed { "" } else { " (refused)" };
            format!(
                "{}: {} asked to {what}{outcome}",
                utc(entry.at),
                name_of(signer, &entry.app)
            )
        })
        .collect();
    SignerView(active, apps, activity)
}

pub fn invitation_view(invitation: &NostrConnect) -> Invitation {
    let mut about = vec![
        invitation
            .name
            .clone()
            .unwrap_or_else(|| "An app with no name".into()),
    ];
    about.extend(invitation.url.clone());
    if let Some(image) = &invitation.image {
        // Not loaded: fetching it would tell its host this user's address.
        about.push(format!("Icon at {image} (not loaded)"));
    }
    about.push(format!("Through {}", invitation.relays.join(", ")));
    let mut asks: Vec<String> = invitation.perms.iter().copied().map(describe).collect();
    if asks.is_empty() {
        asks.push("nothing in advance: each use will be asked here".into());
    }
    Invitation(about, asks)
}

/// The prompt for `request` from `app`, which needs `permission`.
pub fn prompt_view(
    id: u32,
    signer: &Signer,
    app: &PublicKey,
    request: &SignerRequest,
    permission: Permission,
) -> SignerPrompt {
    let mut event = String::new();
    if let Call::SignEvent(template) = &request.call {
        let mut content: String = template.content.chars().take(CONTENT_SHOWN).collect();
        if content.len() < template.content.len() {
            content.push('…');
        }
        event = format!("Kind {}\nContent: {content}\n", template.kind);
        for tag in template.tags.iter().take(TAGS_SHOWN) {
            event.push_str(&format!("Tag: {}\n", tag.join(" ")));
        }
    }
    let asks = format!(
        "{} asks to {}.",
        name_of(signer, &app.to_hex()),
        describe(permission)
    );
    SignerPrompt(id, asks, event)
}

#[cfg(test)]
mod tests {
    use sigil_shared::nostr::key::Keys;

    use super::*;
    use crate::signer::uri::NostrConnect;

    fn invitation(client: &PublicKey) -> NostrConnect {
        NostrConnect::parse(&format!(
            "nostrconnect://{}?relay=wss%3A%2F%2Frelay.example&secret=s3&perms=sign_event%3A1%2Cnip44_decrypt&name=Notes&url=https%3A%2F%2Fnotes.example",
            client.to_hex()
        ))
        .expect("a valid link")
    }

    #[test]
    fn an_invitation_reads_in_words() {
        let app = Keys::generate().public_key();
        let Invitation(about, asks) = invitation_view(&invitation(&app));
        assert_eq!(about[..2], ["Notes", "https://notes.example"]);
        assert_eq!(about[2], "Through wss://relay.example");
        assert_eq!(
            asks,
            vec![
                "sign events of kind 1 (short note)",
                "decrypt messages (NIP-44)"
            ]
        );
    }

    #[test]
    fn the_view_lists_apps_with_their_decisions_and_the_newest_activity_first() {
        let app = Keys::generate().public_key();
        let account = sigil_shared::secret::AccountSecret::generate();
        let mut signer = Signer::default();
        let invite = invitation(&app);
        let _ = signer.accept(&invite, &invite.perms, "first", 10);
        let sign = |kind: u16, id: &str| {
            format!(
                r#"{{"id":"{id}","method":"sign_event","params":["{{\"kind\":{kind},\"content\":\"hi\",\"tags\":[],\"created_at\":1}}"]}}"#
            )
        };
        let _ = signer.handle(&app, &sign(1, "a"), &account, &[], 11);
        let asked = signer.handle(&app, &sign(7, "b"), &account, &[], 12);
        let super::super::session::Handled::Ask {
            request,
            permission,
        } = asked
        else {
            panic!("kind 7 was not granted: it asks");
        };
        let SignerPrompt(id, asks, event) = prompt_view(3, &signer, &app, &request, permission);
        assert_eq!(id, 3);
        assert_eq!(asks, "Notes asks to sign events of kind 7 (reaction).");
        assert_eq!(event, "Kind 7\nContent: hi\n");
        let _ = signer.resolve(
            &app,
            request,
            super::super::session::Choice::Never,
            &account,
            &[],
            13,
        );

        let SignerView(active, apps, activity) = signer_view(&signer, true);
        assert!(active);
        assert_eq!(apps.len(), 1);
        let AppView(key, lines, revoked) = &apps[0];
        assert_eq!(key, &app.to_hex());
        assert!(!revoked);
        assert_eq!(lines[0], "Notes");
        let has = |line: &str| lines.iter().any(|l| l == line);
        assert!(has("Last active 1970-01-01 00:00 UTC"));
        assert!(has(
            "Always allowed to sign events of kind 1 (short note); decrypt messages (NIP-44)."
        ));
        assert!(has("Always denied: sign events of kind 7 (reaction)."));
        assert_eq!(
            activity,
            vec![
                "1970-01-01 00:00 UTC: Notes asked to sign events of kind 7 (reaction) (refused)",
                "1970-01-01 00:00 UTC: Notes asked to sign events of kind 1 (short note)"
            ]
        );
    }

    #[test]
    fn a_long_event_is_cut_short_in_the_prompt() {
        let app = Keys::generate().public_key();
        let content = "x".repeat(1000);
        let request = SignerRequest::parse(&format!(
            r#"{{"id":"a","method":"sign_event","params":["{{\"kind\":1,\"content\":\"{content}\",\"tags\":[],\"created_at\":1}}"]}}"#
        ))
        .expect("a request");
        let SignerPrompt(_, asks, event) = prompt_view(
            1,
            &Signer::default(),
            &app,
            &request,
            Permission::SignEvent(1),
        );
        let content = event.lines().nth(1).unwrap_or_default();
        assert_eq!(
            content.chars().count(),
            "Content: ".len() + CONTENT_SHOWN + 1
        );
        assert!(asks.starts_with("App "));
    }
}
