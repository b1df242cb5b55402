//! Validating newtypes for account credentials: `Email` and `Password`.

use std::fmt;

/// A syntactically valid email address, lower-cased (emails are case-insensitive here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let normalized = input.trim().to_lowercase();
        if normalized.is_empty() {
            return Err("is required");
        }
        if normalized.chars().count() > Self::MAX_LEN {
            return Err("must be at most 254 characters");
        }
        // The crate checks RFC 5322 syntax; we additionally require a dotted domain and
        // refuse display-name forms ("Name <a@b>") and quoted local parts.
        // The crate lets control characters through in internationalised domains.
        let valid = email_address::EmailAddress::is_valid(&normalized)
            && !normalized.contains(['<', '>', '"', ' '])
            && !normalized
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
            && normalized.rsplit_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.ends_with('.')
            });
        if !valid {
            return Err("is not a valid email address");
        }
        Ok(Self(normalized))
    }

    /// The key failed logins are counted under: the lower-cased input, whether or not it is
    /// a valid address (throttling applies to any address an attacker tries).
    pub fn throttle_key(input: &str) -> String {
        // NUL cannot be stored in PostgreSQL text; no real address contains one.
        input
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| *c != '\0')
            .take(Self::MAX_LEN)
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the length rule (8–128 Unicode scalar values). Its `Debug` never
/// shows the value, so it cannot leak into logs.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: String) -> Result<Self, &'static str> {
        let length = input.chars().count();
        if length < Self::MIN_LEN {
            return Err("must be at least 8 characters");
        }
        if length > Self::MAX_LEN {
            return Err("must be at most 128 characters");
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_trimmed() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
    }

    #[test]
    fn invalid_emails_are_refused() {
        for input in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "a b@example.com",
            "Alice <alice@example.com>",
            "alice@@example.com",
            "alice@example.com.",
            "a@l.kk\u{8e}kkk.com",
            "a@exa\u{0}mple.com",
            "a@exa\u{2028}mple.com",
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} should be refused");
        }
    }

    #[test]
    fn overlong_emails_are_refused() {
        let input = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&input), Err("must be at most 254 characters"));
    }

    #[test]
    fn unicode_domains_and_plus_addresses_are_accepted() {
        assert!(Email::parse("alice+roost@example.co.uk").is_ok());
    }

    #[test]
    fn password_lengths_count_characters_not_bytes() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("éééééééé".into()).is_ok());
        assert!(Password::parse("x".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("ü".repeat(128)).is_ok());
    }

    #[test]
    fn passwords_do_not_show_in_debug_output() {
        let password = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}

#[cfg(test)]
mod properties {
    //! Property tests: any input is accepted or refused without panicking, and whatever is
    //! accepted obeys the documented rules.

    use proptest::prelude::*;

    use super::*;

    /// Strings shaped like addresses, dense in the characters that matter.
    fn address_like() -> impl Strategy<Value = String> {
        "[ ]?[a-zA-Z0-9._+\"<> \u{0}\u{7f}\n-]{0,12}@{1,2}[a-zA-Z0-9.\u{e9}\u{0}-]{0,12}\\.?[a-zA-Z]{0,4}[ ]?"
    }

    proptest! {
        #[test]
        fn accepted_emails_obey_the_rules(input in prop_oneof![any::<String>(), address_like()]) {
            if let Ok(email) = Email::parse(&input) {
                let value = email.as_str();
                prop_assert_eq!(value, value.trim());
                prop_assert_eq!(value.to_owned(), value.to_lowercase());
                prop_assert!(value.chars().count() <= Email::MAX_LEN);
                prop_assert!(!value.chars().any(char::is_control), "{value:?}");
                prop_assert!(!value.contains(['<', '>', '"', ' ']));
                let (local, domain) = value.rsplit_once('@').unwrap();
                prop_assert!(!local.is_empty());
                prop_assert!(domain.contains('.') && !domain.ends_with('.'));
                // Parsing is idempotent: the stored form is its own canonical form.
                prop_assert_eq!(Email::parse(value), Ok(email.clone()));
                // Throttling counts the address under the same key as it is stored.
                prop_assert_eq!(Email::throttle_key(&input), value);
            }
        }

        #[test]
        fn emails_are_case_insensitive(input in address_like()) {
            prop_assert_eq!(
                Email::parse(&input.to_ascii_uppercase()),
                Email::parse(&input.to_ascii_lowercase())
            );
        }

        #[test]
        fn throttle_keys_are_bounded_and_storable(input in any::<String>()) {
            let key = Email::throttle_key(&input);
            prop_assert!(key.chars().count() <= Email::MAX_LEN);
            prop_assert!(!key.contains('\0'));
            prop_assert_eq!(Email::throttle_key(&input.to_ascii_uppercase()), Email::throttle_key(&input.to_ascii_lowercase()));
        }

        #[test]
        fn passwords_are_kept_verbatim_within_the_length_rule(input in any::<String>()) {
            let length = input.chars().count();
            match Password::parse(input.clone()) {
                Ok(password) => {
                    prop_assert!((Password::MIN_LEN..=Password::MAX_LEN).contains(&length));
                    prop_assert_eq!(password.expose(), input.as_str());
                    prop_assert_eq!(format!("{password:?}"), "Password(***)");
                }
                Err(_) => prop_assert!(!(Password::MIN_LEN..=Password::MAX_LEN).contains(&length)),
            }
        }
    }
}
