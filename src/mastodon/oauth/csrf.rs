//! The authorize form's defence against cross-site request forgery, which holds across
//! every server process without shared state: signed double submit.
//!
//! The page's `GET` keeps a random secret in a cookie (`HttpOnly`, `SameSite=Strict`, only
//! sent to `/oauth/authorize`), and the form carries a token that is an HMAC-SHA256, keyed
//! by that secret, over the request's parameters and an expiry. A `POST` is accepted only
//! when its token verifies with the secret of the cookie it came with: another site can
//! neither read the cookie nor make a browser send it, so it cannot produce a token that
//! matches, and a token cannot be moved to other parameters or used after it expires.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::token;

/// The cookie's name.
pub const COOKIE: &str = "roost_oauth_csrf";
/// How long a form may be submitted after it was shown.
const LIFETIME: TimeDelta = TimeDelta::hours(1);

/// The secret of the request's cookie, if it has one of the right shape.
pub fn secret_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| token::looks_like_token(value))
}

/// A new random secret.
pub fn new_secret() -> anyhow::Result<String> {
    Ok(token::generate()?.token)
}

/// The `Set-Cookie` value that keeps `secret` (`Secure` when the API is served over HTTPS).
pub fn cookie(secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={secret}; Path=/oauth/authorize; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME.num_seconds()
    );
    // The secret is base64url: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The form's token for `fields`, keyed by `secret`, valid for [`LIFETIME`] from `now`:
/// `<expiry as unix seconds>.<base64url HMAC>`.
pub fn sign(secret: &str, now: DateTime<Utc>, fields: &[&str]) -> String {
    let expires = (now + LIFETIME).timestamp();
    format!("{expires}.{}", mac(secret, expires, fields))
}

/// Whether `presented` is a token [`sign`] made for `fields` with `secret` that has not
/// expired at `now`.
pub fn verify(secret: &str, now: DateTime<Utc>, fields: &[&str], presented: &str) -> bool {
    let Some((expires, signature)) = presented.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    expires > now.timestamp()
        && keyed(secret, expires, fields)
            .verify_slice(&signature)
            .is_ok()
}

/// The HMAC-SHA256 over the expiry and each field, each length-prefixed so that no two
/// lists of fields encode alike.
fn keyed(secret: &str, expires: i64, fields: &[&str]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("roost-oauth-authorize\n{expires}\n").as_bytes());
    for field in fields {
        mac.update(format!("{}:", field.len()).as_bytes());
        mac.update(field.as_bytes());
        mac.update(b"\n");
    }
    mac
}

fn mac(secret: &str, expires: i64, fields: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(keyed(secret, expires, fields).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_fields_and_time() {
        let now = Utc::now();
        let secret = new_secret().unwrap();
        let token = sign(&secret, now, &["client", "https://a.example/cb", "read"]);
        assert!(verify(
            &secret,
            now,
            &["client", "https://a.example/cb", "read"],
            &token
        ));
        assert!(!verify(
            &secret,
            now,
            &["client", "https://a.example/cb", "read write"],
            &token
        ));
        assert!(!verify(
            &new_secret().unwrap(),
            now,
            &["client", "https://a.example/cb", "read"],
            &token
        ));
        assert!(!verify(
            &secret,
            now + LIFETIME,
            &["client", "https://a.example/cb", "read"],
            &token
        ));
        assert!(!verify(
            &secret,
            now,
            &["client", "https://a.example/cb", "read"],
            "garbage"
        ));
        // Fields are length-prefixed: moving a boundary changes the token.
        assert!(!verify(
            &secret,
            now,
            &["clienthttps://a.example/cb", "", "read"],
            &token
        ));
    }

    #[test]
    fn the_secret_is_read_from_any_cookie_header() {
        let secret = new_secret().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=b"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE}={secret}")).unwrap(),
        );
        assert_eq!(secret_from(&headers), Some(secret));
        let mut forged = HeaderMap::new();
        forged.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}=short")).unwrap(),
        );
        assert_eq!(secret_from(&forged), None);
    }
}
