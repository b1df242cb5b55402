//! Validating newtypes for profile fields.

use std::fmt;

/// A username: 3–30 characters of `a-z`, `0-9` and `_`. Input is lower-cased first, so
/// `Alice` and `alice` are the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 30;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        // ASCII-only lower-casing: Unicode case mapping would turn e.g. the Kelvin sign into `k`.
        let normalized = input.to_ascii_lowercase();
        let length = normalized.chars().count();
        if length < Self::MIN_LEN {
            return Err("must be at least 3 characters");
        }
        if length > Self::MAX_LEN {
            return Err("must be at most 30 characters");
        }
        if !normalized
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err("may contain only letters a-z, digits 0-9 and _");
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_cased() {
        assert_eq!(Username::parse("Alice_99").unwrap().as_str(), "alice_99");
    }

    #[test]
    fn username_lengths_are_enforced() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(30)).is_ok());
        assert!(Username::parse(&"a".repeat(31)).is_err());
    }

    #[test]
    fn usernames_refuse_other_characters() {
        for input in [
            "al ice",
            "al-ice",
            "alice!",
            "ålice",
            "al.ice",
            "ａｌｉｃｅ",
            "\u{212A}elvin",
            " alice",
        ] {
            assert!(
                Username::parse(input).is_err(),
                "{input:?} should be refused"
            );
        }
    }
}
