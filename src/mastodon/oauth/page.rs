//! The HTML of `/oauth/authorize`: the sign-in and consent form, the page that shows an
//! out-of-band code, and the error pages. Server-rendered, without scripts, with a small
//! inline style; every value is escaped, and each page sets its own
//! `Content-Security-Policy`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::OwnErrorBody;

/// What the sign-in and consent form shows and carries.
pub struct Form<'a> {
    pub app_name: &'a str,
    pub website: Option<&'a str>,
    pub scopes: &'a [String],
    /// Where the browser goes once the person decides: `None` for a code shown on the page.
    pub destination: Option<&'a str>,
    /// The request's parameters and the CSRF token, as hidden fields.
    pub hidden: &'a [(&'static str, String)],
    /// The address typed before, when the form is shown again.
    pub email: &'a str,
    /// Why the form is shown again.
    pub message: Option<&'a str>,
}

/// The sign-in and consent form.
pub fn form(form: &Form<'_>) -> String {
    let app = escape(form.app_name);
    let mut body = format!(
        "<h1>Authorize <strong>{app}</strong></h1>\n\
         <p><strong>{app}</strong> would like to use your Roost account. Sign in to allow it to:</p>\n<ul class=\"scopes\">\n"
    );
    for scope in form.scopes {
        body.push_str(&format!(
            "<li><code>{}</code> {}</li>\n",
            escape(scope),
            escape(describe(scope))
        ));
    }
    body.push_str("</ul>\n");
    if let Some(website) = form.website {
        body.push_str(&format!(
            "<p class=\"note\">The app's website: {}</p>\n",
            escape(website)
        ));
    }
    if let Some(message) = form.message {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n",
            escape(message)
        ));
    }
    body.push_str("<form method=\"post\" action=\"/oauth/authorize\">\n");
    for (name, value) in form.hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
            escape(value)
        ));
    }
    body.push_str(&format!(
        "<label for=\"email\">Email address</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{}\">\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
         <div class=\"buttons\">\n\
         <button type=\"submit\" id=\"authorize\" name=\"decision\" value=\"authorize\">Authorize</button>\n\
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\" class=\"secondary\" formnovalidate>Deny</button>\n\
         </div>\n</form>\n",
        escape(form.email)
    ));
    let after = match form.destination {
        Some(destination) => format!("You will then be sent back to {}.", escape(destination)),
        None => "You will then be shown a code to copy into the app.".to_owned(),
    };
    body.push_str(&format!("<p class=\"note\">{after}</p>\n"));
    document(&format!("Authorize {}", form.app_name), &body)
}

/// The page that shows an out-of-band code.
pub fn code(app_name: &str, code: &str) -> String {
    let code = escape(code);
    document(
        "Authorization code",
        &format!(
            "<h1>Authorization code</h1>\n\
             <p>Copy this code and paste it into <strong>{}</strong>:</p>\n\
             <p><code id=\"code\">{code}</code></p>\n\
             <input class=\"oauth-code\" aria-label=\"Authorization code\" readonly value=\"{code}\">\n\
             <p class=\"note\">It works once, within ten minutes.</p>\n",
            escape(app_name)
        ),
    )
}

/// The page shown when the person denied an out-of-band request.
pub fn denied(app_name: &str) -> String {
    document(
        "Authorization denied",
        &format!(
            "<h1>Authorization denied</h1>\n<p><strong>{}</strong> was not given access to your account.</p>\n",
            escape(app_name)
        ),
    )
}

/// An error page; `retry` links to a fresh copy of the form.
pub fn error(title: &str, message: &str, retry: Option<&str>) -> String {
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"error\" id=\"error\" role=\"alert\">{}</p>\n",
        escape(title),
        escape(message)
    );
    if let Some(retry) = retry {
        body.push_str(&format!(
            "<p><a href=\"{}\">Start again</a></p>\n",
            escape(retry)
        ));
    }
    document(title, &body)
}

/// A page as a response: HTML, never cached, under a policy that lets it load nothing but
/// its inline style and submit forms only to this server (and, after the redirect that
/// answers them, to `redirect_source`).
pub fn respond(status: StatusCode, html: String, redirect_source: Option<&str>) -> Response {
    let form_action = match redirect_source {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (status, html).into_response();
    response.extensions_mut().insert(OwnErrorBody);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{} · Roost</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <p class=\"brand\">Roost</p>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

const STYLE: &str = "\
body{margin:0;background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,sans-serif}\
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}\
.brand{margin:0 0 1rem;font-weight:700;color:#6d28d9;letter-spacing:.05em;text-transform:uppercase;font-size:.8rem}\
h1{font-size:1.4rem;margin:0 0 1rem}\
ul.scopes{padding-left:1.2rem}\
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}\
#code{display:inline-block;font-size:1.1rem;word-break:break-all;padding:.5rem}\
label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input{box-sizing:border-box;width:100%;padding:.6rem;border:1px solid #d1d5db;border-radius:.4rem;font:inherit}\
.buttons{display:flex;gap:.75rem;margin-top:1.4rem}\
button{flex:1;padding:.65rem;border:0;border-radius:.4rem;background:#6d28d9;color:#fff;font:inherit;font-weight:600;cursor:pointer}\
button.secondary{background:#e5e7eb;color:#111827}\
.error{color:#b91c1c;background:#fef2f2;padding:.6rem;border-radius:.4rem}\
.note{color:#6b7280;font-size:.9rem}";

/// What a scope lets an app do, in words.
fn describe(scope: &str) -> &'static str {
    match scope {
        "read" => "read all your account's data",
        "write" => "change all your account's data",
        "follow" => "follow, block and mute accounts",
        "push" => "receive your push notifications",
        "profile" => "read your profile only",
        "read:accounts" => "see accounts' information",
        "read:blocks" => "see your blocks",
        "read:bookmarks" => "see your bookmarks",
        "read:favourites" => "see your favourites",
        "read:filters" => "see your filters",
        "read:follows" => "see your follows",
        "read:lists" => "see your lists",
        "read:mutes" => "see your mutes",
        "read:notifications" => "see your notifications",
        "read:search" => "search on your behalf",
        "read:statuses" => "see all posts",
        "write:accounts" => "change your profile",
        "write:blocks" => "block and unblock accounts",
        "write:bookmarks" => "bookmark posts",
        "write:conversations" => "mute and delete conversations",
        "write:favourites" => "favourite posts",
        "write:filters" => "create filters",
        "write:follows" => "follow and unfollow accounts",
        "write:lists" => "create lists",
        "write:media" => "upload media files",
        "write:mutes" => "mute and unmute accounts",
        "write:notifications" => "clear your notifications",
        "write:reports" => "report other people",
        "write:statuses" => "publish and delete posts",
        _ => "",
    }
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let hidden = [("state", "\"><script>x</script>".to_owned())];
        let html = form(&Form {
            app_name: "<b>App</b>",
            website: Some("https://x.example/?a=1&b=2"),
            scopes: &["read".to_owned()],
            destination: Some("https://x.example"),
            hidden: &hidden,
            email: "a\"@example.com",
            message: Some("<wrong>"),
        });
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>App"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
        assert!(html.contains("a=1&amp;b=2"));
        assert!(html.contains("&lt;wrong&gt;"));
    }

    #[test]
    fn every_known_scope_is_described() {
        for scope in crate::mastodon::scopes::KNOWN {
            assert!(!describe(scope).is_empty(), "{scope}");
        }
    }
}
