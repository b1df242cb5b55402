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

/// Checks a free-text profile field: trimmed, at most `max` Unicode scalar values, and free
/// of control characters (line breaks are allowed where `multiline`).
pub fn profile_text(input: &str, max: usize, multiline: bool) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\r' || c == '\t'));
    if !trimmed.chars().all(allowed) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

/// Case-folds text for search: lower-cases it and maps the word-final sigma to the plain
/// one, so "ΣΊΣΥΦΟΣ" and "σίσυφος" meet however each was written.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase().replace('ς', "σ")
}

pub const DISPLAY_NAME_MAX: usize = 50;
pub const BIO_MAX: usize = 500;
pub const LOCATION_MAX: usize = 100;
pub const WEBSITE_MAX: usize = 200;

/// Checks a website: empty, or an absolute `http`/`https` URL with a host, at most 200 characters.
pub fn website(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.chars().count() > WEBSITE_MAX {
        return Err(format!("must be at most {WEBSITE_MAX} characters"));
    }
    // The URL parser would silently drop or escape these; refuse them instead.
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    match url::Url::parse(trimmed) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err("must be an http or https URL".into()),
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
    fn profile_text_counts_characters_and_trims() {
        assert_eq!(profile_text("  Alice  ", 50, false).unwrap(), "Alice");
        assert!(profile_text(&"é".repeat(50), 50, false).is_ok());
        assert!(profile_text(&"é".repeat(51), 50, false).is_err());
        assert!(profile_text("a\u{0}b", 50, false).is_err());
        assert!(profile_text("line\nbreak", 50, false).is_err());
        assert!(profile_text("line\nbreak", 500, true).is_ok());
    }

    #[test]
    fn folding_unifies_case_and_final_sigma() {
        assert_eq!(fold_case("ΣΊΣΥΦΟΣ"), fold_case("σίσυφος"));
        assert_eq!(fold_case("ΊΣ"), "ίσ");
        assert_eq!(fold_case("Ålice"), "ålice");
    }

    #[test]
    fn websites_refuse_control_characters() {
        for bad in [
            "https://alice.example/a\nb",
            "https://alice.example/\tx",
            "https://alice.example/\u{0}",
            "https://a.example/\u{7f}",
            "https://a.example/a b",
        ] {
            assert!(website(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn websites_must_be_http_urls() {
        assert_eq!(website("").unwrap(), "");
        assert_eq!(
            website("https://alice.example").unwrap(),
            "https://alice.example"
        );
        assert!(website("http://x.example/path?q=1").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://x.example",
            "alice.example",
            "https://",
            "https:// spaces.example",
        ] {
            assert!(website(bad).is_err(), "{bad:?}");
        }
        assert!(website(&format!("https://x.example/{}", "a".repeat(200))).is_err());
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

#[cfg(test)]
mod properties {
    //! Property tests: any input is accepted or refused without panicking, whatever is
    //! accepted obeys the documented rules, and normalising twice changes nothing.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn accepted_usernames_are_3_to_30_of_a_z_digits_and_underscore(
            input in prop_oneof![any::<String>(), "[a-zA-Z0-9_ .\u{212a}\u{e5}-]{0,32}"],
        ) {
            let rule = |name: &str| {
                (Username::MIN_LEN..=Username::MAX_LEN).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            };
            match Username::parse(&input) {
                Ok(username) => {
                    prop_assert!(rule(username.as_str()), "{username:?}");
                    prop_assert_eq!(username.as_str(), input.to_ascii_lowercase());
                    prop_assert_eq!(Username::parse(username.as_str()), Ok(username.clone()));
                    prop_assert_eq!(Username::parse(&input.to_ascii_uppercase()), Ok(username));
                }
                Err(_) => prop_assert!(!rule(&input.to_ascii_lowercase()), "{input:?} was refused"),
            }
        }

        #[test]
        fn profile_text_is_trimmed_bounded_and_idempotent(
            input in any::<String>(),
            max in 0usize..60,
            multiline in any::<bool>(),
        ) {
            if let Ok(value) = profile_text(&input, max, multiline) {
                prop_assert_eq!(value.as_str(), value.trim());
                prop_assert!(value.chars().count() <= max);
                prop_assert!(value.chars().all(|c| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'))));
                prop_assert_eq!(profile_text(&value, max, multiline), Ok(value.clone()));
            }
        }

        #[test]
        fn accepted_websites_are_short_http_urls(
            input in prop_oneof![any::<String>(), "(https?|ftp|javascript)?:?/{0,3}[a-z0-9.@:%/ \t\u{0}-]{0,30}"],
        ) {
            if let Ok(value) = website(&input) {
                if !value.is_empty() {
                    let scheme = value.to_ascii_lowercase();
                    prop_assert!(scheme.starts_with("http:") || scheme.starts_with("https:"), "{value:?}");
                    prop_assert!(value.chars().count() <= WEBSITE_MAX);
                    prop_assert!(!value.chars().any(|c| c.is_control() || c.is_whitespace()));
                }
                prop_assert_eq!(website(&value), Ok(value.clone()));
            }
        }

        #[test]
        fn case_folding_is_idempotent(input in any::<String>()) {
            let folded = fold_case(&input);
            prop_assert_eq!(fold_case(&folded), folded.clone());
            prop_assert!(!folded.contains('ς'));
        }
    }

    #[test]
    fn case_folding_is_idempotent_for_every_character() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let folded = fold_case(&c.to_string());
            assert_eq!(fold_case(&folded), folded, "U+{:04X}", u32::from(c));
        }
    }
}
