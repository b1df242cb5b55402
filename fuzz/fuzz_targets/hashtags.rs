//! Post content: trimming, hashtag extraction, search words and tag names from URLs.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::posts::domain::{Content, hashtags, normalize_tag, parse_tag_name, search_text, words};

fuzz_target!(|text: &str| {
    let _ = Content::parse(text);
    if let Ok(content) = Content::parse_allow_empty(text) {
        assert!(content.as_str().chars().count() <= Content::MAX_LEN);
    }

    let tags = hashtags(text);
    for (index, tag) in tags.iter().enumerate() {
        assert!(!tag.is_empty());
        assert!(!tags[..index].contains(tag), "{tag:?} listed twice");
        assert_eq!(&normalize_tag(tag), tag);
        if tag.chars().count() <= Content::MAX_LEN {
            assert_eq!(parse_tag_name(tag).as_ref(), Some(tag), "{tag:?} cannot be looked up");
        }
    }

    for word in words(text) {
        assert!(!word.is_empty());
    }
    let _ = search_text(text);

    if let Some(name) = parse_tag_name(text) {
        assert_eq!(parse_tag_name(&name).as_ref(), Some(&name));
    }
});
