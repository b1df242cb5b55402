//! Rules on post and comment values: `Content` (trimmed, 1–500 characters), `Draft` (what a
//! new post or scheduled post says) and the hashtag parser.

use uuid::Uuid;

use crate::error::FieldError;
use crate::privacy::Visibility;

/// Post or comment text: leading and trailing white space trimmed, at most 500 characters
/// (Unicode scalar values). Empty content is representable because a post with media may
/// have none; comments require `non_empty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content(String);

impl Content {
    pub const MAX_LEN: usize = 500;

    /// Parses content that may be empty (posts with media).
    pub fn parse_allow_empty(input: &str) -> Result<Self, &'static str> {
        let trimmed = input.trim();
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err("must be at most 500 characters");
        }
        if trimmed.contains('\0') {
            return Err("must not contain NUL characters");
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Parses content that must have at least one character after trimming.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let content = Self::parse_allow_empty(input)?;
        if content.0.is_empty() {
            return Err("must not be empty");
        }
        Ok(content)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a new post, or a scheduled post, says: its content and the uploads it carries, in
/// order. Posts and scheduled posts are both written from one ([`super::service::create`],
/// [`crate::scheduler::service::create`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub content: Content,
    pub media_ids: Vec<Uuid>,
    pub visibility: Visibility,
}

impl Draft {
    /// Parses content and `media_ids` together: content may be empty only when media ids
    /// are given. Every broken rule is added to `errors` (media first, then content).
    pub fn parse(
        content: &str,
        media_ids: Option<&[String]>,
        visibility: Option<Visibility>,
        errors: &mut Vec<FieldError>,
    ) -> Option<Self> {
        let raw_ids = media_ids.unwrap_or_default();
        let media_ids = crate::media::parse_media_ids(raw_ids, errors);
        let content = if raw_ids.is_empty() {
            Content::parse(content)
        } else {
            Content::parse_allow_empty(content)
        };
        match content {
            Ok(content) => Some(Self {
                content,
                media_ids,
                visibility: visibility.unwrap_or_default(),
            }),
            Err(message) => {
                errors.push(FieldError::new("content", message));
                None
            }
        }
    }

    /// The parts an idempotent retry must repeat: the content, the media, in order, and a
    /// visibility other than the default.
    pub fn fingerprint_parts(&self) -> Vec<&[u8]> {
        let mut parts = vec![self.content.as_str().as_bytes()];
        parts.extend(self.media_ids.iter().map(|id| id.as_bytes().as_slice()));
        if self.visibility != Visibility::Public {
            parts.push(self.visibility.as_str().as_bytes());
        }
        parts
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A character of a username, in a mention (either case).
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The usernames `text` mentions: `@` followed by 3–30 characters of `a-z 0-9 _` (either
/// case) that another such character does not follow, at the start of the text or after a
/// character that is neither a word character nor `@` (so `a@b.example` mentions nobody);
/// lower-cased, de-duplicated in order of first appearance. Whether each names an account
/// is for the caller to find out.
pub fn mentions(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (index, c) in text.char_indices() {
        let starts = c == '@' && !previous.is_some_and(|p| is_word_char(p) || p == '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[index + 1..];
        let length = rest
            .find(|next: char| !is_username_char(next))
            .unwrap_or(rest.len());
        if (3..=30).contains(&length) {
            let name = rest[..length].to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The hashtags of `text`: `#` followed by letters, digits or `_` (Unicode-aware), at the
/// start of the text or after a non-word character; lower-cased, without `#`, de-duplicated
/// in order of first appearance.
pub fn hashtags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let starts_tag = c == '#' && !previous.is_some_and(is_word_char);
        previous = Some(c);
        if !starts_tag {
            continue;
        }
        let start = index + c.len_utf8();
        let mut end = start;
        while let Some(&(next_index, next)) = chars.peek() {
            if !is_word_char(next) {
                break;
            }
            end = next_index + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        if end > start {
            let tag = normalize_tag(&text[start..end]);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

/// The words of `text` for full-text search: runs of letters, digits and `_`, case-folded.
/// Posts and queries are both split by this one function, so "example.com" in a post is
/// found by `example` and by `example.com` on either database.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !is_word_char(c))
        .filter(|word| !word.is_empty())
        .map(crate::users::domain::fold_case)
        .collect()
}

/// What full-text search indexes for a post: its words, space-separated.
pub fn search_text(content: &str) -> String {
    words(content).join(" ")
}

/// The stored form of a tag name: lower-cased.
pub fn normalize_tag(name: &str) -> String {
    name.to_lowercase()
}

/// A tag name as given in a URL or query (`#` optional): letters, digits and `_` only, in
/// any case, or a tag exactly as posts list it.
pub fn parse_tag_name(input: &str) -> Option<String> {
    let name = input.strip_prefix('#').unwrap_or(input);
    // The lower case of `İ` (U+0130) is `i` and a combining dot (U+0307), which is not a
    // word character itself: read it back as the letter it came from, so that a stored tag
    // such as `i̇stanbul` (from `#İstanbul`) names its own tag.
    let written = name.replace("i\u{307}", "İ");
    (!written.is_empty()
        && written.chars().count() <= Content::MAX_LEN
        && written.chars().all(is_word_char))
    .then(|| normalize_tag(&written))
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_follow_the_username_rules() {
        assert_eq!(
            mentions("@Alice and @bob_2, (@carol) @alice"),
            ["alice", "bob_2", "carol"]
        );
        // After a word character or `@`: an email address, `@@`.
        assert!(mentions("a@b.example mail@bob.example @@bob").is_empty());
        // Too short, too long, or followed by a username character.
        assert!(mentions("@ab").is_empty());
        assert!(mentions(&format!("@{}", "a".repeat(31))).is_empty());
        assert_eq!(mentions(&format!("@{}", "a".repeat(30))), ["a".repeat(30)]);
        // Punctuation and non-ASCII letters end a username.
        assert_eq!(mentions("hi @bob. @carolé"), ["bob", "carol"]);
        // Unicode word characters before `@` block a mention, as for hashtags.
        assert!(mentions("é@bob").is_empty());
        assert_eq!(mentions("—@bob"), ["bob"]);
    }

    use super::*;

    #[test]
    fn content_is_trimmed_and_counted_in_characters() {
        assert_eq!(Content::parse("  hello \n").unwrap().as_str(), "hello");
        assert!(Content::parse(&"é".repeat(500)).is_ok());
        assert!(Content::parse(&"é".repeat(501)).is_err());
        assert!(Content::parse(&format!("  {}  ", "a".repeat(500))).is_ok());
    }

    #[test]
    fn empty_content_is_refused_unless_allowed() {
        assert!(Content::parse("   ").is_err());
        assert!(Content::parse_allow_empty("   ").unwrap().is_empty());
    }

    #[test]
    fn tags_are_found_at_the_start_and_after_non_word_characters() {
        assert_eq!(hashtags("#rust is fun"), ["rust"]);
        assert_eq!(
            hashtags("I like #rust, (#tokio) and x#not"),
            ["rust", "tokio"]
        );
        assert_eq!(hashtags("email@host#frag a#b"), Vec::<String>::new());
        assert_eq!(hashtags("##double"), ["double"]);
    }

    #[test]
    fn tags_are_unicode_aware() {
        assert_eq!(
            hashtags("#café #日本語 #Ünïcode_42"),
            ["café", "日本語", "ünïcode_42"]
        );
        assert_eq!(hashtags("#١٢٣ #tag_"), ["١٢٣", "tag_"]);
    }

    #[test]
    fn tags_are_lower_cased_and_deduplicated_in_order_of_first_appearance() {
        assert_eq!(hashtags("#B #a #b #A #c"), ["b", "a", "c"]);
    }

    #[test]
    fn a_lone_hash_is_not_a_tag() {
        assert_eq!(hashtags("# #! #-x"), Vec::<String>::new());
    }

    #[test]
    fn tags_end_at_the_first_non_word_character() {
        assert_eq!(hashtags("#rust-lang #c++ #end."), ["rust", "c", "end"]);
    }

    #[test]
    fn search_words_split_on_punctuation_and_fold_case() {
        assert_eq!(
            words("Docs at example.com, 3.14!"),
            ["docs", "at", "example", "com", "3", "14"]
        );
        assert_eq!(search_text("ΣΊΣΥΦΟΣ rust_lang"), "σίσυφοσ rust_lang");
        assert!(words("!!! ...").is_empty());
    }

    #[test]
    fn tag_names_in_urls_are_checked() {
        assert_eq!(parse_tag_name("Rust").as_deref(), Some("rust"));
        assert_eq!(parse_tag_name("#rust").as_deref(), Some("rust"));
        assert_eq!(parse_tag_name("no spaces"), None);
        assert_eq!(parse_tag_name(""), None);
        assert_eq!(parse_tag_name("#"), None);
    }

    #[test]
    fn tags_lower_cased_to_a_combining_dot_can_be_looked_up() {
        // `İ` lower-cases to `i` + U+0307, which is not a word character on its own.
        assert_eq!(hashtags("#İstanbul"), ["i\u{307}stanbul"]);
        assert_eq!(
            parse_tag_name("i\u{307}stanbul").as_deref(),
            Some("i\u{307}stanbul")
        );
        assert_eq!(
            parse_tag_name("İstanbul").as_deref(),
            Some("i\u{307}stanbul")
        );
        assert_eq!(parse_tag_name("\u{307}x"), None);
        assert_eq!(parse_tag_name("x\u{307}"), None);
    }
}

#[cfg(test)]
mod properties {
    //! Property tests: invariants that must hold for any input, not just the examples above.
    //! `PROPTEST_CASES` raises the number of cases (256 by default).

    use proptest::prelude::*;

    use super::*;
    use crate::users::domain::fold_case;

    /// Text dense in the characters that matter to the parser: `#`, word characters of
    /// several scripts (including ones whose lower case is special), punctuation, spaces.
    fn tagged_text() -> impl Strategy<Value = String> {
        "[#a-zA-Z0-9_ .,!'@éÉİıΣσςß日本١\u{307}\u{301}-]{0,60}"
    }

    /// A tag as a writer types it: one or more word characters, any case.
    fn tag_word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_éÉİΣß日١]{1,12}"
    }

    /// Where a tag may legitimately start: at the start of the text or after a non-word
    /// character.
    fn tag_starts(text: &str) -> Vec<usize> {
        let mut starts = Vec::new();
        let mut previous: Option<char> = None;
        for (index, c) in text.char_indices() {
            if c == '#' && !previous.is_some_and(is_word_char) {
                starts.push(index + 1);
            }
            previous = Some(c);
        }
        starts
    }

    proptest! {
        #[test]
        fn extracted_tags_obey_the_tag_rules(text in prop_oneof![any::<String>(), tagged_text()]) {
            let tags = hashtags(&text);
            let mut seen = std::collections::HashSet::new();
            for tag in &tags {
                prop_assert!(!tag.is_empty());
                prop_assert!(seen.insert(tag.clone()), "{tag:?} listed twice in {tags:?}");
                // Stored lower-case, and a name the tag endpoints accept as it is.
                prop_assert_eq!(&normalize_tag(tag), tag);
                prop_assert_eq!(parse_tag_name(tag), Some(tag.clone()));
                // It was written in the text after a `#` that may start a tag.
                let written = tag_starts(&text).into_iter().any(|start| {
                    let rest = &text[start..];
                    let end = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
                    fold_case(&normalize_tag(&rest[..end])) == fold_case(tag)
                });
                prop_assert!(written, "{tag:?} does not follow a `#` in {text:?}");
            }
        }

        #[test]
        fn every_written_tag_is_found_once_in_order(
            words in prop::collection::vec(tag_word(), 0..8),
            separators in prop::collection::vec("[ ,.!()\n-]{1,3}", 8),
        ) {
            let mut text = String::from("start");
            for (word, separator) in words.iter().zip(&separators) {
                text.push_str(separator);
                text.push('#');
                text.push_str(word);
            }
            let mut expected: Vec<String> = Vec::new();
            for word in &words {
                let tag = normalize_tag(word);
                if !expected.contains(&tag) {
                    expected.push(tag);
                }
            }
            prop_assert_eq!(hashtags(&text), expected, "in {:?}", text);
        }

        #[test]
        fn a_hash_after_a_word_character_starts_no_tag(
            before in "[a-zA-Z0-9_é日]", word in tag_word(),
        ) {
            let text = format!("{before}#{word}");
            prop_assert!(hashtags(&text).is_empty(), "{:?}", text);
        }

        #[test]
        fn tag_names_parse_to_canonical_names(input in prop_oneof![any::<String>(), tagged_text()]) {
            if let Some(name) = parse_tag_name(&input) {
                prop_assert!(!name.is_empty());
                prop_assert_eq!(&normalize_tag(&name), &name);
                // Parsing is idempotent: the canonical name names the same tag.
                prop_assert_eq!(parse_tag_name(&name), Some(name.clone()));
                // And a post saying `#name` carries exactly that tag.
                let bare = input.strip_prefix('#').unwrap_or(&input);
                if bare.chars().all(is_word_char) {
                    prop_assert_eq!(hashtags(&format!("#{bare}")), vec![name]);
                }
            } else {
                let bare = input.strip_prefix('#').unwrap_or(&input);
                prop_assert!(
                    bare.is_empty()
                        || bare.chars().count() > Content::MAX_LEN
                        || !bare.chars().all(is_word_char),
                    "{input:?} was refused"
                );
            }
        }

        #[test]
        fn search_words_are_folded_non_empty_runs(text in prop_oneof![any::<String>(), tagged_text()]) {
            let words = words(&text);
            for word in &words {
                prop_assert!(!word.is_empty());
                prop_assert_eq!(&fold_case(word), word);
            }
            // Upper-casing ASCII letters finds the same words: case never matters.
            prop_assert_eq!(super::words(&text.to_ascii_uppercase()), words.clone());
            prop_assert_eq!(search_text(&text), words.join(" "));
        }

        #[test]
        fn content_is_trimmed_bounded_and_idempotent(input in any::<String>()) {
            match Content::parse_allow_empty(&input) {
                Ok(content) => {
                    let value = content.as_str();
                    prop_assert_eq!(value, value.trim());
                    prop_assert!(value.chars().count() <= Content::MAX_LEN);
                    prop_assert!(!value.contains('\0'));
                    prop_assert_eq!(Content::parse_allow_empty(value), Ok(content.clone()));
                    prop_assert_eq!(Content::parse(&input).is_ok(), !content.is_empty());
                }
                Err(_) => prop_assert!(
                    input.trim().chars().count() > Content::MAX_LEN || input.contains('\0')
                ),
            }
        }
    }

    #[test]
    fn the_lower_case_of_a_word_character_is_a_tag_name() {
        // Exhaustive over Unicode: whatever a writer's tag is lower-cased to must still be
        // accepted by the tag endpoints.
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            if is_word_char(c) {
                let tag = normalize_tag(&c.to_string());
                assert_eq!(
                    parse_tag_name(&tag).as_deref(),
                    Some(tag.as_str()),
                    "{c:?} (U+{:04X}) lower-cases to {tag:?}",
                    u32::from(c)
                );
            }
        }
    }
}
