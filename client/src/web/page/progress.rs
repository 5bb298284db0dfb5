//! The progress line and bar for long steps the vault worker reports.

use crate::dom_ids as id;
use crate::transport::Progress;

/// What to say about `progress`, and how far along the bar is (mining only).
fn describe(progress: Progress) -> (String, Option<f64>) {
    match progress {
        Progress::DerivingKey => (
            "Deriving the encryption key from your password (Argon2id)…".into(),
            None,
        ),
        Progress::Mining { hashes, expected } => {
            let (hashes, expected) = (hashes as f64, expected as f64);
            let percent = (hashes / expected.max(1.0) * 100.0).min(99.0).floor();
            let text = format!(
                "Proof of work against spam: {:.1} of about {:.1} million hashes…",
                hashes / 1e6,
                expected / 1e6
            );
            (text, Some(percent))
        }
        Progress::Sending => ("Sending to the server…".into(), None),
        Progress::ServerBusy(seconds) => (
            format!("The server is busy; trying again in {seconds} s…"),
            None,
        ),
        Progress::MoreWorkRequired(difficulty) => (
            format!(
                "The server is under load and asks for more proof of work ({difficulty} bits); working on it…"
            ),
            None,
        ),
    }
}

/// Shows a progress step the vault worker sent.
pub(super) fn show(progress: Progress) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (message, percent) = describe(progress);
    if let Some(bar) = document.get_element_by_id(id::PROGRESS) {
        let _ = match percent {
            Some(percent) => bar
                .set_attribute("value", &percent.to_string())
                .and_then(|()| bar.remove_attribute("hidden")),
            None => bar.set_attribute("hidden", ""),
        };
    }
    if let Some(status) = document.get_element_by_id(id::STATUS) {
        status.set_text_content(Some(&message));
    }
}
