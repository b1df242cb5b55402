//! Argon2id password hashing, run on the blocking pool and bounded to the number of cores
//! so that a burst of logins queues here instead of stalling the async executor or
//! exhausting memory (each hash holds `memory_kib` of RAM while it runs).

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::PasswordHashConfig;

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Semaphore,
    /// A hash of a random password, verified against when an email has no account so that
    /// "no such account" costs the same time as "wrong password".
    dummy_hash: OnceCell<String>,
}

impl PasswordHasher {
    pub fn new(config: PasswordHashConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|error| anyhow::anyhow!("invalid Argon2 parameters: {error}"))?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(cores),
                dummy_hash: OnceCell::new(),
            }),
        })
    }

    /// Hashes `password` into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let params = self.inner.params.clone();
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .context("hasher closed")?;
        tokio::task::spawn_blocking(move || hash_blocking(&params, password.as_bytes()))
            .await
            .context("password hashing task failed")?
    }

    /// Checks `password` against `stored`; with no stored hash, spends the same effort on
    /// a dummy hash and answers `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy_hash().await?, false),
        };
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .context("hasher closed")?;
        let matches =
            tokio::task::spawn_blocking(move || verify_blocking(&hash, password.as_bytes()))
                .await
                .context("password verification task failed")?;
        Ok(real && matches)
    }

    async fn dummy_hash(&self) -> anyhow::Result<String> {
        self.inner
            .dummy_hash
            .get_or_try_init(|| async {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random)
                    .map_err(|error| anyhow::anyhow!("no OS randomness: {error}"))?;
                self.hash(String::from_utf8_lossy(&random).into_owned())
                    .await
            })
            .await
            .cloned()
    }
}

fn hash_blocking(params: &Params, password: &[u8]) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|error| anyhow::anyhow!("no OS randomness: {error}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|error| anyhow::anyhow!("salt: {error}"))?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let hash = hasher
        .hash_password(password, &salt)
        .map_err(|error| anyhow::anyhow!("hashing failed: {error}"))?;
    Ok(hash.to_string())
}

/// Verifies with the parameters recorded in the hash itself, so hashes made under an
/// older cost setting keep working.
fn verify_blocking(stored: &str, password: &[u8]) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordHashConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = cheap();
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn salts_differ_between_hashes() {
        let hasher = cheap();
        let first = hasher.hash("same password".into()).await.unwrap();
        let second = hasher.hash("same password".into()).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_missing_account_never_verifies() {
        assert!(!cheap().verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn the_default_cost_is_owasps() {
        let hasher = PasswordHasher::new(PasswordHashConfig::default()).unwrap();
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[test]
    fn garbage_hashes_do_not_verify() {
        assert!(!verify_blocking("not a phc string", b"x"));
    }
}
