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
    #[error("enter the address alone, like name@example.org, without a name, quotes or brackets")]
    NotBare,
    #[error("the part before @ may hold letters, digits and . _ + - ' and similar signs only")]
    LocalPart,
    #[error(
        "the part after @ is not a domain name (internationalised names are not supported yet)"
    )]
    Domain,
}

/// Signs a local part may hold besides ASCII letters and digits: RFC 5322's `atext`, which
/// leaves out every character of a display name, quoted string, comment or angle bracket.
const LOCAL_SIGNS: &str = "!#$%&'*+-/=?^_`{|}~";
/// Characters that only a display name, quoted string, comment or route can bring.
const NOT_BARE: &str = "<>\"()[],;:\\";

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
        if normalised.chars().any(|c| NOT_BARE.contains(c)) {
            return Err(EmailError::NotBare);
        }
        let (local, domain) = normalised.rsplit_once('@').ok_or(EmailError::Shape)?;
        if local.is_empty()
            || domain.is_empty()
            || local.len() > MAX_LOCAL_LEN
            || local.contains('@')
        {
            return Err(EmailError::Shape);
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || LOCAL_SIGNS.contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(EmailError::LocalPart);
        }
        // UTS 46 with the STD3 rules: letters, digits and hyphens in each label. The string
        // kept is the one hashed and the one mailed to, so one mailbox has one spelling.
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Domain)?;
        let domain_ok = domain.contains('.')
            && domain.len() <= 253
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63)
            && !domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
        if !domain_ok {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The mailbox the address reaches, with a `+tag` taken off the local part: limits on the
    /// mail one inbox receives count this, so plus-addressing cannot multiply them.
    pub fn mailbox(&self) -> Self {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => Self(format!("{base}@{domain}")),
            _ => self.clone(),
        }
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
            ("alice@localhost", EmailError::Domain),
            ("alice@example..org", EmailError::Domain),
            ("a b@example.org", EmailError::ForbiddenCharacter),
            ("alice@exa\u{7}mple.org", EmailError::ForbiddenCharacter),
        ];
        for (input, expected) in cases {
            assert_eq!(EmailAddress::parse(input), Err(expected), "input {input:?}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    /// Only a bare address: every form that carries other text to the mail's `To:` header, or
    /// spells one mailbox another way, is refused (issue 25 §2).
    #[test]
    fn only_a_bare_address_is_accepted() {
        let refused = [
            ("x<v@example.com>", EmailError::NotBare),
            ("<v@example.com>", EmailError::NotBare),
            ("\"anything\"<v@example.com>", EmailError::NotBare),
            ("\"v\"@example.com", EmailError::NotBare),
            ("v(comment)@example.com", EmailError::NotBare),
            ("v@[127.0.0.1]", EmailError::NotBare),
            ("v@example.com,w@example.com", EmailError::NotBare),
            ("v;w@example.com", EmailError::NotBare),
            ("v\\w@example.com", EmailError::NotBare),
            (".v@example.com", EmailError::LocalPart),
            ("v.@example.com", EmailError::LocalPart),
            ("v..w@example.com", EmailError::LocalPart),
            ("vé@example.com", EmailError::LocalPart),
            ("v@exa_mple.com", EmailError::Domain),
            ("v@-example.com", EmailError::Domain),
            ("v@example.com.", EmailError::Domain),
            ("v@.example.com", EmailError::Domain),
            ("v@1.2.3.4", EmailError::Domain),
            ("v@bücher.example", EmailError::Domain),
        ];
        for (input, expected) in refused {
            assert_eq!(EmailAddress::parse(input), Err(expected), "input {input:?}");
        }
        for accepted in [
            "v@example.com",
            "o'brien@example.com",
            "v.w+tag@sub.example.co.uk",
            "v_w-x@xn--bcher-kva.example",
        ] {
            let email = EmailAddress::parse(accepted).unwrap();
            assert_eq!(email.as_str(), accepted);
        }
    }

    #[test]
    fn a_tag_does_not_make_another_mailbox() {
        let mailbox = |input: &str| EmailAddress::parse(input).unwrap().mailbox();
        assert_eq!(mailbox("v+1@example.com").as_str(), "v@example.com");
        assert_eq!(mailbox("v+a+b@example.com").as_str(), "v@example.com");
        assert_eq!(mailbox("v@example.com").as_str(), "v@example.com");
        assert_eq!(mailbox("+v@example.com").as_str(), "+v@example.com");
    }

    #[test]
    fn masks_and_redacts() {
        let email = EmailAddress::parse("alice@example.org").unwrap();
        assert_eq!(email.masked(), "a***@example.org");
        assert!(!format!("{email:?}").contains("alice"));
    }
}
