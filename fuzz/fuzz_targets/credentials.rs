//! Registration and profile fields: emails, usernames, passwords, free text and websites.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::auth::domain::{Email, Password};
use roost::users::domain::{Username, fold_case, profile_text, website};

fuzz_target!(|text: &str| {
    if let Ok(email) = Email::parse(text) {
        let value = email.as_str();
        assert!(value.chars().count() <= Email::MAX_LEN);
        assert!(!value.chars().any(char::is_control), "{value:?}");
        assert_eq!(Email::parse(value).as_ref(), Ok(&email));
        assert_eq!(Email::throttle_key(text), value);
    }
    let key = Email::throttle_key(text);
    assert!(!key.contains('\0') && key.chars().count() <= Email::MAX_LEN);

    if let Ok(username) = Username::parse(text) {
        let value = username.as_str();
        assert!((Username::MIN_LEN..=Username::MAX_LEN).contains(&value.len()));
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }

    if let Ok(password) = Password::parse(text.to_owned()) {
        assert_eq!(password.expose(), text);
    }

    for multiline in [false, true] {
        if let Ok(value) = profile_text(text, 500, multiline) {
            assert_eq!(profile_text(&value, 500, multiline), Ok(value.clone()));
        }
    }
    if let Ok(value) = website(text) {
        assert_eq!(website(&value), Ok(value.clone()));
    }

    let folded = fold_case(text);
    assert_eq!(fold_case(&folded), folded);
});
