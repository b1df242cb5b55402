//! Bearer tokens: 256 random bits from the OS, handed out once and stored only as a
//! SHA-256 digest, so a database leak does not leak usable tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Length of a token as handed out: 32 bytes in unpadded base64url.
pub const TOKEN_LEN: usize = 43;

/// A freshly minted token and the digest to store for it.
pub struct NewToken {
    pub token: String,
    pub digest: String,
}

/// Mints a new token.
pub fn generate() -> anyhow::Result<NewToken> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no OS randomness: {error}"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = digest(&token);
    Ok(NewToken { token, digest })
}

/// The stored form of a token: lower-case hex SHA-256.
pub fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in hash {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

/// Whether `candidate` has the shape of a token we issue (checked before any lookup).
pub fn looks_like_token(candidate: &str) -> bool {
    candidate.len() == TOKEN_LEN
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_well_formed() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert_ne!(first.token, second.token);
        assert!(looks_like_token(&first.token));
        assert_eq!(first.digest, digest(&first.token));
    }

    #[test]
    fn digest_is_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        assert!(!looks_like_token(""));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a".repeat(42)));
        assert!(!looks_like_token(&format!("{}=", "a".repeat(42))));
    }
}
