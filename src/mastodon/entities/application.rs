//! The Application entity, and the CredentialApplication that registering an app answers
//! with (the same with its client id and secret).

use serde::Serialize;

use super::id;
use crate::mastodon::oauth::entity::app;

#[derive(Debug, Clone, Serialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub scopes: Vec<String>,
    /// The registered URIs, one per line (deprecated by Mastodon 4.3 for `redirect_uris`).
    pub redirect_uri: String,
    pub redirect_uris: Vec<String>,
    /// Roost has no Web Push.
    pub vapid_key: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// 0: the secret never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
}

impl Application {
    /// An app as `verify_credentials` shows it: without its credentials.
    pub fn from_app(app: &app::Model) -> Self {
        let redirect_uris: Vec<String> =
            app.redirect_uris().into_iter().map(str::to_owned).collect();
        Self {
            id: id(app.id),
            name: app.name.clone(),
            website: app.website.clone(),
            scopes: app.scopes.split(' ').map(str::to_owned).collect(),
            redirect_uri: redirect_uris.join("\n"),
            redirect_uris,
            vapid_key: "",
            client_id: None,
            client_secret: None,
            client_secret_expires_at: None,
        }
    }

    /// A newly registered app, with its client id and its secret (shown this once).
    pub fn credential(app: &app::Model, client_secret: &str) -> Self {
        Self {
            client_id: Some(app.client_id.clone()),
            client_secret: Some(client_secret.to_owned()),
            client_secret_expires_at: Some(0),
            ..Self::from_app(app)
        }
    }
}
