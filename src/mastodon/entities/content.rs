//! A post's plain text as Mastodon's sanitised HTML: escaped, paragraphs in `<p>`, line
//! breaks as `<br>`, links for mentions (of the accounts the post names), hashtags and
//! `http(s)` URLs, with the classes Mastodon clients style.
//!
//! Nothing of the text is ever markup: every character is escaped, and the only tags are
//! the ones written here. Mentions and hashtags are recognised by the same rules as
//! [`crate::posts::domain::mentions`] and [`crate::posts::domain::hashtags`].

use std::fmt::Write as _;

use crate::posts::domain::normalize_tag;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    push_escaped(&mut escaped, text);
    escaped
}

/// Appends `text` to `html`, escaped.
fn push_escaped(html: &mut String, text: &str) {
    for c in text.chars() {
        push_escaped_char(html, c);
    }
}

fn push_escaped_char(html: &mut String, c: char) {
    match c {
        '&' => html.push_str("&amp;"),
        '<' => html.push_str("&lt;"),
        '>' => html.push_str("&gt;"),
        '"' => html.push_str("&quot;"),
        '\'' => html.push_str("&#39;"),
        c => html.push(c),
    }
}

/// `text` as HTML. `base` is the public URL profiles and tags are linked under;
/// `mentioned` lists the (lower-cased) usernames that name accounts: only those become
/// mention links.
pub fn to_html(text: &str, base: &str, mentioned: &[String]) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    let paragraphs = text
        .split("\n\n")
        .map(|paragraph| paragraph.trim_matches('\n'))
        .filter(|paragraph| !paragraph.trim().is_empty());
    for paragraph in paragraphs {
        html.push_str("<p>");
        for (index, line) in paragraph.split('\n').enumerate() {
            if index > 0 {
                html.push_str("<br>");
            }
            line_to_html(line, base, mentioned, &mut html);
        }
        html.push_str("</p>");
    }
    html
}

fn line_to_html(line: &str, base: &str, mentioned: &[String], html: &mut String) {
    let mut previous: Option<char> = None;
    let mut index = 0;
    while index < line.len() {
        let rest = &line[index..];
        let c = rest.chars().next().unwrap_or_default();
        if let Some(taken) = link(rest, previous, base, mentioned, html) {
            previous = line[..index + taken].chars().next_back();
            index += taken;
            continue;
        }
        push_escaped_char(html, c);
        previous = Some(c);
        index += c.len_utf8();
    }
}

/// Writes the link starting at `rest` (a mention, a hashtag or a URL), if one does, and
/// returns how many bytes it took.
fn link(
    rest: &str,
    previous: Option<char>,
    base: &str,
    mentioned: &[String],
    html: &mut String,
) -> Option<usize> {
    if let Some(after) = rest.strip_prefix('@') {
        if previous.is_some_and(|p| is_word_char(p) || p == '@') {
            return None;
        }
        let length = after
            .find(|c: char| !is_username_char(c))
            .unwrap_or(after.len());
        let name = &after[..length];
        let lower = name.to_ascii_lowercase();
        if !(3..=30).contains(&length) || !mentioned.contains(&lower) {
            return None;
        }
        let _ = write!(
            html,
            "<span class=\"h-card\"><a href=\"{}/@{lower}\" class=\"u-url mention\">@<span>{}</span></a></span>",
            escape(base),
            escape(name)
        );
        return Some(1 + length);
    }
    if let Some(after) = rest.strip_prefix('#') {
        if previous.is_some_and(is_word_char) {
            return None;
        }
        let length = after
            .find(|c: char| !is_word_char(c))
            .unwrap_or(after.len());
        if length == 0 {
            return None;
        }
        let name = &after[..length];
        let _ = write!(
            html,
            "<a href=\"{}/tags/{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
            escape(base),
            escape(&url_component(&normalize_tag(name))),
            escape(name)
        );
        return Some(1 + length);
    }
    if (rest.starts_with("https://") || rest.starts_with("http://"))
        && !previous.is_some_and(is_word_char)
    {
        let mut length = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(rest.len());
        // A sentence's closing punctuation is not part of the URL.
        while length > 0 && rest[..length].ends_with(['.', ',', ';', ':', '!', '?', ')']) {
            length -= 1;
        }
        let url = &rest[..length];
        if url.len() <= "https://".len() || url::Url::parse(url).is_err() {
            return None;
        }
        let _ = write!(
            html,
            "<a href=\"{0}\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">{0}</a>",
            escape(url)
        );
        return Some(length);
    }
    None
}

/// Percent-encodes a path segment (tags may be non-ASCII).
fn url_component(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://social.example";

    #[test]
    fn text_is_escaped_and_split_into_paragraphs_and_lines() {
        assert_eq!(
            to_html("a <b> & \"c\"\nnext\n\nsecond", BASE, &[]),
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br>next</p><p>second</p>"
        );
        assert_eq!(to_html("", BASE, &[]), "");
    }

    #[test]
    fn mentions_of_known_accounts_and_hashtags_are_links() {
        let html = to_html(
            "Hi @Alice and @nobody, see #Rust! mail a@alice.example",
            BASE,
            &["alice".to_owned()],
        );
        assert_eq!(
            html,
            "<p>Hi <span class=\"h-card\"><a href=\"https://social.example/@alice\" \
             class=\"u-url mention\">@<span>Alice</span></a></span> and @nobody, see \
             <a href=\"https://social.example/tags/rust\" class=\"mention hashtag\" \
             rel=\"tag\">#<span>Rust</span></a>! mail a@alice.example</p>"
        );
    }

    #[test]
    fn urls_are_links_without_trailing_punctuation() {
        assert_eq!(
            to_html("see https://example.com/a?b=1&c=2.", BASE, &[]),
            "<p>see <a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow noopener \
             noreferrer\" target=\"_blank\">https://example.com/a?b=1&amp;c=2</a>.</p>"
        );
    }

    #[test]
    fn markup_in_text_never_becomes_markup() {
        let html = to_html("<script>alert(1)</script> #<img>", BASE, &[]);
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
    }
}
