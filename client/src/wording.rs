//! Every error message the page shows, worded here and only here. Text the server wrote is
//! never shown as is: a server names an error by its code, and the words are the client's.

use sigil_shared::envelope::EnvelopeError;
use sigil_shared::error::{BackupProblem, ErrorBody, ErrorCode};

use crate::error::ClientError;
use crate::session::{MIN_PASSWORD_CHARS, SessionError, UnlockNotice};
use crate::worker_api::Failure;

/// What the page shows for a failed vault command.
pub fn session_failure(error: &SessionError) -> Failure {
    Failure::new(session_message(error))
}

fn session_message(error: &SessionError) -> String {
    match error {
        SessionError::Client(ClientError::Server(body)) => server_message(body),
        SessionError::Client(ClientError::Envelope(EnvelopeError::WrongPasswordOrTampered)) => {
            "That password does not unlock this vault. Check it and try again.".into()
        }
        SessionError::Client(ClientError::Envelope(EnvelopeError::SlotsAltered)) => {
            "This backup was altered by someone without your key: its ways to unlock were changed. Nothing was opened. Unlock on a device that has its own copy.".into()
        }
        SessionError::Client(ClientError::RolledBack) => {
            "The server sent an older backup than the one this device has, which could bring back a removed password, code or passkey. This device keeps its own copy.".into()
        }
        SessionError::Client(ClientError::Transport(_)) => {
            "The server could not be reached. Check your connection and try again.".into()
        }
        SessionError::Client(ClientError::Email(_)) => "That email address is not valid.".into(),
        SessionError::PasswordsDiffer => "The two passwords do not match.".into(),
        SessionError::PasswordTooShort => {
            format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.")
        }
        SessionError::PasswordNeeded => {
            "Enter the password that was set on the other device.".into()
        }
        // The rest are faults of a server, a browser or this code, each worded in its own
        // error type; none carries text a server wrote.
        other => sentence(&other.to_string()),
    }
}

/// A typed recovery code that cannot be one: said before any key is derived.
pub fn recovery_code(error: &sigil_shared::recovery::RecoveryCodeError) -> Failure {
    Failure::new(sentence(&error.to_string()))
}

/// A method's error, by its code; `retry_after` is the only thing taken from the server.
fn server_message(body: &ErrorBody) -> String {
    if let (ErrorCode::InvalidBackup, Some(problem)) = (body.code, body.problem) {
        return backup_problem(problem).into();
    }
    let words = match body.code {
        ErrorCode::InvalidRequest => "The server did not understand the request.",
        ErrorCode::InvalidEmail => "That email address is not valid.",
        ErrorCode::RateLimited => "Too many codes for this address. Wait, then try again.",
        ErrorCode::KeyRateLimited => "Too many requests in a short time. Wait, then try again.",
        ErrorCode::InvalidCode => "That code is not correct.",
        ErrorCode::CodeExpired => "That code no longer works. Request a new one.",
        ErrorCode::TooManyAttempts => "Too many wrong tries with this code. Request a new one.",
        ErrorCode::NotVerified => "Verify your email address first.",
        ErrorCode::AccountExists => "This address already has an account.",
        ErrorCode::UnknownAccount => "This key has no account on this server.",
        ErrorCode::InvalidProof => "The server could not check that the key is yours.",
        ErrorCode::InvalidBackup => "The server refused the backup as not valid for this key.",
        ErrorCode::VersionConflict => "The backup was changed elsewhere in the meantime.",
        ErrorCode::UnknownVersion => "The server no longer keeps that backup.",
        ErrorCode::WrongSigner => "This request was signed by the wrong key.",
        ErrorCode::MailFailed => "The email could not be sent. Try again later.",
        ErrorCode::Internal => "The server had a problem. Nothing was changed.",
    };
    let waited = match body.code {
        ErrorCode::RateLimited => "Too many codes for this address.",
        ErrorCode::KeyRateLimited => "Too many requests in a short time.",
        _ => words,
    };
    match body.retry_after {
        Some(seconds) => format!("{waited} Try again in {}.", human_duration(seconds)),
        None => words.into(),
    }
}

/// Why the server refused a backup this device made: each is a fault of this app or of an
/// outdated copy of it, never of the user, so each says what to do.
fn backup_problem(problem: BackupProblem) -> &'static str {
    match problem {
        BackupProblem::Malformed | BackupProblem::ForeignKey => {
            "The server refused the backup this app made. Nothing was changed; reload the page and try again."
        }
        BackupProblem::OutdatedVersion => {
            "This copy of the app seals backups in an old format. Reload the page, then unlock again."
        }
        BackupProblem::WeakKdf => {
            "The server now asks for stronger protection of backups. Change your password to seal the backup again."
        }
    }
}

/// What an unlock did beyond opening the backup.
pub fn unlock_notice(notice: UnlockNotice) -> String {
    match notice {
        UnlockNotice::Upgraded => {
            "Your backup was in an older format; it has been sealed again in the current one."
                .into()
        }
        UnlockNotice::Recovered(version) => format!(
            "The newest backup on the server did not open with this password, but an earlier \
             one (version {version}) did. Your key is safe and has been sealed again under this \
             password."
        ),
    }
}

fn human_duration(seconds: u64) -> String {
    match seconds {
        0..=90 => format!("{seconds} s"),
        _ => format!("{} min", seconds.div_ceil(60)),
    }
}

/// An error type's lowercase text as a sentence.
fn sentence(text: &str) -> String {
    // ASCII only: the messages are English, and Unicode's case tables would cost WebAssembly.
    let mut out = text.to_owned();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

// Failures of the vault worker itself, before a command reaches the session.
pub fn password_missing() -> Failure {
    Failure::new("A password is needed.")
}

pub fn password_not_text() -> Failure {
    Failure::new("The password is not valid text.")
}

pub fn busy() -> Failure {
    Failure::new("Another action is still running, or the server is not connected yet.")
}

/// What went wrong with a passkey in the browser, before the vault was asked anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyTrouble {
    /// The user cancelled, or the browser's prompt timed out (WebAuthn's `NotAllowedError`).
    Cancelled,
    /// This authenticator already holds one of this vault's passkeys (`InvalidStateError`).
    AlreadyAdded,
    /// The authenticator made a passkey but gave no PRF output: it cannot unlock.
    NoPrf,
    /// Any other refusal, with the browser's error name.
    Refused,
}

pub fn passkey_trouble(trouble: PasskeyTrouble) -> Failure {
    Failure::new(match trouble {
        PasskeyTrouble::Cancelled => {
            "The passkey request was cancelled or timed out. Nothing was changed."
        }
        PasskeyTrouble::AlreadyAdded => {
            "This authenticator already holds a passkey for this vault."
        }
        PasskeyTrouble::NoPrf => {
            "This passkey cannot unlock Sigil: your browser or authenticator does not support the PRF extension that passkey unlock needs. You can delete it from your passkey manager."
        }
        PasskeyTrouble::Refused => "The browser refused the passkey request.",
    })
}

/// What the page says of a key brought for the new account.
pub fn imported_key(npub: &str, handled_insecurely: bool) -> String {
    let mut words = format!(
        "Your account will use this key: {npub}. Choose the password that seals it above, then \"Create my key\"."
    );
    if handled_insecurely {
        words.push_str(
            " Warning: this ncryptsec says the key was handled insecurely before (stored or copied unencrypted). Anyone who saw it then can sign as you; a new key may be safer.",
        );
    }
    words
}

/// A passkey command came without its PRF output.
pub fn passkey_failed() -> Failure {
    passkey_trouble(PasskeyTrouble::NoPrf)
}

pub fn not_understood() -> Failure {
    Failure::new("The vault did not understand the page.")
}

pub fn no_saved_server() -> Failure {
    Failure::new("No saved server.")
}

pub fn not_saved(reason: &str) -> Failure {
    Failure::new(format!("This device could not save your vault: {reason}"))
}

pub fn not_removed(reason: &str) -> Failure {
    Failure::new(format!("This device's copy could not be removed: {reason}"))
}

// Failures the page finds itself.
pub fn vault_unavailable() -> Failure {
    Failure::new("The vault is not available.")
}

pub fn vault_did_not_start() -> Failure {
    Failure::new("The vault could not start in this browser.")
}

pub fn unexpected_answer() -> Failure {
    Failure::new("Unexpected answer from the vault.")
}

pub fn too_easy_to_guess(advice: Option<&str>) -> Failure {
    Failure::new(format!(
        "This password is too easy to guess. {}",
        advice.unwrap_or("Add another word or two.")
    ))
}

pub fn not_a_web_address() -> Failure {
    Failure::new("That is not a web address (http://… or https://…).")
}

pub fn not_http() -> Failure {
    Failure::new("Only http:// and https:// addresses can be opened.")
}

pub fn same_server() -> Failure {
    Failure::new("That is the server you are using now.")
}

pub fn address_refused() -> Failure {
    Failure::new("The browser refused to open that address.")
}

pub fn signer_did_not_start(reason: &str) -> Failure {
    Failure::new(format!("The signer could not start: {reason}"))
}

pub fn vault_locked() -> Failure {
    Failure::new("Unlock the vault first.")
}

pub fn signer_locked() -> Failure {
    Failure::new("Unlock the vault first: apps are answered only while it is open.")
}

pub fn not_an_invitation(why: &str) -> Failure {
    Failure::new(format!("That link cannot connect an app: {why}."))
}

pub fn already_connected() -> Failure {
    Failure::new("That app is already connected with this link.")
}

pub fn prompt_gone() -> Failure {
    Failure::new(
        "That request is no longer waiting: the app may have given up, or the vault locked.",
    )
}

pub fn unknown_app() -> Failure {
    Failure::new("No such app is connected.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_never_shown() {
        let mut body = ErrorBody::new(ErrorCode::InvalidCode);
        body.message = "<script>visit evil.example</script>".into();
        let failure = session_failure(&SessionError::Client(ClientError::Server(body)));
        assert_eq!(failure.message, "That code is not correct.");
    }

    #[test]
    fn unlock_notices_name_the_version_in_plain_sentences() {
        let recovered = unlock_notice(UnlockNotice::Recovered(3));
        assert!(
            recovered.contains("an earlier one (version 3) did."),
            "{recovered}"
        );
        let upgraded = unlock_notice(UnlockNotice::Upgraded);
        for text in [recovered, upgraded] {
            assert!(!text.contains("  ") && text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn a_wait_is_given_in_words() {
        let body = ErrorBody::new(ErrorCode::RateLimited).retry_after(600);
        let failure = session_failure(&SessionError::Client(ClientError::Server(body)));
        assert_eq!(
            failure.message,
            "Too many codes for this address. Try again in 10 min."
        );
    }

    #[test]
    fn local_errors_read_as_sentences() {
        let failure = session_failure(&SessionError::PasswordsDiffer);
        assert_eq!(failure.message, "The two passwords do not match.");
        assert_eq!(
            sentence("the key could not be exported"),
            "The key could not be exported."
        );
    }
}
