//! Which NIP-46 requests from a connected app the vault answers without asking (issue 26): the
//! user's standing decisions per app and per event kind, and a cap on how often one app may put a
//! prompt in front of the user. Pure: the signer asks it, the page shows what it says.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A NIP-46 method, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Signing an event of this kind.
    SignEvent(u16),
    Nip44Encrypt,
    Nip44Decrypt,
    Nip04Encrypt,
    Nip04Decrypt,
}

impl Permission {
    /// One entry of a `nostrconnect://` URI's `perms` (`sign_event:1`, `nip44_encrypt`, …);
    /// `None` for what needs no permission or is not known.
    pub fn parse(text: &str) -> Option<Self> {
        let (method, kind) = match text.trim().split_once(':') {
            Some((method, kind)) => (method, Some(kind.parse::<u16>().ok()?)),
            None => (text.trim(), None),
        };
        match (method, kind) {
            ("sign_event", Some(kind)) => Some(Self::SignEvent(kind)),
            ("nip44_encrypt", None) => Some(Self::Nip44Encrypt),
            ("nip44_decrypt", None) => Some(Self::Nip44Decrypt),
            ("nip04_encrypt", None) => Some(Self::Nip04Encrypt),
            ("nip04_decrypt", None) => Some(Self::Nip04Decrypt),
            _ => None,
        }
    }

    /// The permissions an app asks for in its URI's `perms`, each once, unknown ones left out.
    pub fn parse_list(perms: &str) -> Vec<Self> {
        let mut list: Vec<Self> = perms.split(',').filter_map(Self::parse).collect();
        list.sort();
        list.dedup();
        list
    }
}

/// What the user decided, for good, about one permission of one app. ("Allow once" is an answer
/// to one prompt and is not kept.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    Always,
    Never,
}

/// What the signer does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Show the user a prompt.
    Ask,
}

/// One connected app's standing decisions. A permission never decided asks. Kept as a list of
/// pairs (JSON object keys could not hold `sign_event`'s kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<(Permission, Grant)>", into = "Vec<(Permission, Grant)>")]
pub struct AppPermissions {
    grants: BTreeMap<Permission, Grant>,
}

impl From<Vec<(Permission, Grant)>> for AppPermissions {
    fn from(pairs: Vec<(Permission, Grant)>) -> Self {
        Self {
            grants: pairs.into_iter().collect(),
        }
    }
}

impl From<AppPermissions> for Vec<(Permission, Grant)> {
    fn from(app: AppPermissions) -> Self {
        app.grants.into_iter().collect()
    }
}

impl AppPermissions {
    /// What to do with a request that needs `permission`.
    pub fn decide(&self, permission: Permission) -> Decision {
        match self.grants.get(&permission) {
            Some(Grant::Always) => Decision::Allow,
            Some(Grant::Never) => Decision::Deny,
            None => Decision::Ask,
        }
    }

    pub fn remember(&mut self, permission: Permission, grant: Grant) {
        self.grants.insert(permission, grant);
    }

    /// Back to asking.
    pub fn forget(&mut self, permission: Permission) {
        self.grants.remove(&permission);
    }

    /// The decisions kept, for the list of connected apps.
    pub fn grants(&self) -> impl Iterator<Item = (Permission, Grant)> + '_ {
        self.grants.iter().map(|(p, g)| (*p, *g))
    }
}

/// At most `max` prompts per app within `window_secs`: past that, the app's requests that would
/// ask are refused at once, so a connected app cannot bury the user in prompts.
#[derive(Debug, Clone)]
pub struct PromptLimit {
    max: usize,
    window_secs: u64,
    shown: VecDeque<u64>,
}

impl PromptLimit {
    pub fn new(max: usize, window_secs: u64) -> Self {
        Self {
            max,
            window_secs,
            shown: VecDeque::new(),
        }
    }

    /// Whether a prompt may be shown at `now` (seconds); if so, it is counted.
    pub fn try_prompt(&mut self, now: u64) -> bool {
        while self
            .shown
            .front()
            .is_some_and(|&at| now.saturating_sub(at) >= self.window_secs)
        {
            self.shown.pop_front();
        }
        if self.shown.len() >= self.max {
            return false;
        }
        self.shown.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uris_perms_are_read_each_once_and_unknown_ones_left_out() {
        assert_eq!(
            Permission::parse_list(
                "sign_event:1,nip44_encrypt, sign_event:1,sign_event:x,get_public_key,nip04_decrypt,sign_event"
            ),
            vec![
                Permission::SignEvent(1),
                Permission::Nip44Encrypt,
                Permission::Nip04Decrypt,
            ]
        );
        assert_eq!(Permission::parse_list(""), vec![]);
        assert_eq!(Permission::parse("sign_event:70000"), None);
    }

    #[test]
    fn new_kinds_ask_and_decisions_are_kept_per_kind() {
        let mut app = AppPermissions::default();
        assert_eq!(app.decide(Permission::SignEvent(1)), Decision::Ask);
        app.remember(Permission::SignEvent(1), Grant::Always);
        app.remember(Permission::Nip04Decrypt, Grant::Never);
        assert_eq!(app.decide(Permission::SignEvent(1)), Decision::Allow);
        assert_eq!(app.decide(Permission::SignEvent(4)), Decision::Ask);
        assert_eq!(app.decide(Permission::Nip04Decrypt), Decision::Deny);
        // Kept as JSON in the local vault: the same decisions after a reload.
        let saved = serde_json::to_string(&app).expect("JSON");
        let read: AppPermissions = serde_json::from_str(&saved).expect("read back");
        assert_eq!(read, app);
        app.forget(Permission::SignEvent(1));
        assert_eq!(app.decide(Permission::SignEvent(1)), Decision::Ask);
    }

    #[test]
    fn an_app_cannot_flood_the_user_with_prompts() {
        let mut limit = PromptLimit::new(3, 60);
        assert!((0..3).all(|i| limit.try_prompt(10 + i)));
        assert!(!limit.try_prompt(20), "the fourth within a minute");
        assert!(!limit.try_prompt(69));
        assert!(limit.try_prompt(70), "the first has left the window");
        assert!(!limit.try_prompt(70));
    }
}
