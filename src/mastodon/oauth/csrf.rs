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
use sha2::{Digest, Sha256};

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
    expires > now.timestamp()
        && super::constant_time_eq(
            signature.as_bytes(),
            mac(secret, expires, fields).as_bytes(),
        )
}

/// The HMAC over the expiry and each field, each length-prefixed so that no two lists of
/// fields encode alike.
fn mac(secret: &str, expires: i64, fields: &[&str]) -> String {
    let mut message = format!("roost-oauth-authorize\n{expires}\n").into_bytes();
    for field in fields {
        message.extend_from_slice(format!("{}:", field.len()).as_bytes());
        message.extend_from_slice(field.as_bytes());
        message.push(b'\n');
    }
    URL_SAFE_NO_PAD.encode(hmac_sha256(secret.as_bytes(), &message))
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner);
    let mut mac = [0u8; 32];
    mac.copy_from_slice(&outer.finalize());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

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
