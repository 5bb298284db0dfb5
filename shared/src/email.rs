//! Email addresses as the vault treats them: normalised once, on both sides.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// RFC 5321 limits a forward path to 256 octets including the angle brackets.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("that email address is too long")]
    TooLong,
    #[error("an email address looks like name@example.org")]
    Shape,
    #[error("an email address cannot contain spaces or control characters")]
    ForbiddenCharacter,
}

/// A syntactically plausible, normalised email address (NFKC, trimmed, lower-cased).
///
/// Lower-casing the local part is technically lossy, but no mail provider people use treats
/// `Alice@` and `alice@` as different mailboxes, and two accounts for one person would be worse.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let normalised: String = input.trim().nfkc().collect::<String>().to_lowercase();
        if normalised.is_empty() {
            return Err(EmailError::Empty);
        }
        if normalised.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::ForbiddenCharacter);
        }
        let (local, domain) = normalised.rsplit_once('@').ok_or(EmailError::Shape)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > MAX_LOCAL_LEN || local.contains('@') || !domain_ok {
            return Err(EmailError::Shape);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a***@example.org`: enough for an operator to match a console code to a person at the
    /// keyboard, without writing the address out in full.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

/// Redacted: addresses never reach logs by accident.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_whitespace_and_compatibility_forms() {
        let email = EmailAddress::parse("  Alice@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "alice@example.org");
        // Fullwidth letters fold to ASCII under NFKC.
        let email = EmailAddress::parse("ａlice@example.org").unwrap();
        assert_eq!(email.as_str(), "alice@example.org");
    }

    #[test]
    fn rejects_bad_shapes_with_a_reason() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("alice", EmailError::Shape),
            ("alice@", EmailError::Shape),
            ("@example.org", EmailError::Shape),
            ("alice@localhost", EmailError::Shape),
            ("alice@example..org", EmailError::Shape),
            ("a b@example.org", EmailError::ForbiddenCharacter),
            ("alice@exa\u{7}mple.org", EmailError::ForbiddenCharacter),
        ];
        for (input, expected) in cases {
            assert_eq!(EmailAddress::parse(input), Err(expected), "input {input:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn masks_and_redacts() {
        let email = EmailAddress::parse("alice@example.org").unwrap();
        assert_eq!(email.masked(), "a***@example.org");
        assert!(!format!("{email:?}").contains("alice"));
    }
}
