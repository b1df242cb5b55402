//! Registering an app (`POST /api/v1/apps`) and asking which app a token belongs to
//! (`GET /api/v1/apps/verify_credentials`).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::Deserialize;
use uuid::Uuid;

use super::entity::app;
use super::{OUT_OF_BAND, store};
use crate::auth::{MaybeAuthUser, token};
use crate::db::new_id;
use crate::error::{AppError, FieldError};
use crate::mastodon::entities::Application;
use crate::mastodon::params::{Params, lenient};
use crate::mastodon::scopes;
use crate::state::AppState;

/// Longest app name.
const NAME_MAX: usize = 200;
/// Most redirect URIs one app may register, and the longest each may be.
const REDIRECT_URIS_MAX: usize = 20;
const URI_MAX: usize = 2000;
/// Longest website URL (the column's size).
const WEBSITE_MAX: usize = 2048;

#[derive(Debug, Default, Deserialize)]
pub struct CreateAppRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_name: Option<String>,
    /// One string (URIs separated by spaces or new lines) or an array.
    #[serde(default, deserialize_with = "lenient::strings")]
    redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scopes: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    website: Option<String>,
}

/// An app as registered, its rules checked.
struct NewApp {
    name: String,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    website: Option<String>,
}

impl NewApp {
    /// Checks every field, listing each broken rule.
    fn parse(request: CreateAppRequest) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let name = request.client_name.unwrap_or_default().trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new("client_name", "can't be blank"));
        } else if name.chars().count() > NAME_MAX {
            errors.push(FieldError::new(
                "client_name",
                "is too long (maximum is 200 characters)",
            ));
        }
        let redirect_uris: Vec<String> = request
            .redirect_uris
            .iter()
            .flat_map(|text| text.split_whitespace())
            .map(str::to_owned)
            .collect();
        if redirect_uris.is_empty() {
            errors.push(FieldError::new("redirect_uris", "can't be blank"));
        } else if redirect_uris.len() > REDIRECT_URIS_MAX {
            errors.push(FieldError::new("redirect_uris", "may list at most 20 URIs"));
        }
        for uri in &redirect_uris {
            if let Err(message) = check_redirect_uri(uri) {
                errors.push(FieldError::new("redirect_uris", message));
            }
        }
        let scopes = scopes::parse(request.scopes.as_deref().unwrap_or(""), "read")
            .map_err(|message| errors.push(FieldError::new("scopes", message)))
            .unwrap_or_default();
        let website = request
            .website
            .map(|website| website.trim().to_owned())
            .filter(|website| !website.is_empty());
        if let Some(website) = &website
            && let Err(message) = check_website(website)
        {
            errors.push(FieldError::new("website", message));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            name,
            redirect_uris,
            scopes,
            website,
        })
    }
}

/// A redirect URI must be absolute, without a fragment (RFC 6749 §3.1.2), and not one a
/// browser would run or read locally; apps' own schemes (`com.example.app://…`) are fine.
fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri == OUT_OF_BAND {
        return Ok(());
    }
    if uri.len() > URI_MAX {
        return Err("must be at most 2000 characters");
    }
    let parsed = url::Url::parse(uri).map_err(|_| "must be an absolute URI")?;
    if parsed.fragment().is_some() {
        return Err("must not contain a fragment");
    }
    if matches!(
        parsed.scheme(),
        "javascript" | "data" | "vbscript" | "file" | "blob" | "about"
    ) {
        return Err("must not use this scheme");
    }
    Ok(())
}

fn check_website(website: &str) -> Result<(), &'static str> {
    if website.chars().count() > WEBSITE_MAX {
        return Err("must be at most 2048 characters");
    }
    match url::Url::parse(website) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err("must be an http:// or https:// URL"),
    }
}

/// `POST /api/v1/apps`: registers an app and answers with its client id and secret (shown
/// this once; only the secret's digest is kept).
pub async fn create_app(
    State(state): State<AppState>,
    // Nobody needs a token to register an app, but one that is presented must be valid.
    _caller: MaybeAuthUser,
    Params(request): Params<CreateAppRequest>,
) -> Result<Json<Application>, AppError> {
    let new_app = NewApp::parse(request)?;
    let client_id = token::generate()?.token;
    let secret = token::generate()?;
    let model = app::Model {
        id: new_id(),
        client_id,
        client_secret_hash: secret.digest,
        name: new_app.name,
        redirect_uris: new_app.redirect_uris.join("\n"),
        scopes: new_app.scopes.join(" "),
        website: new_app.website,
        created_at: state.clock.now(),
    };
    store::insert_app(&state.db, model.clone()).await?;
    Ok(Json(Application::credential(&model, &secret.token)))
}

/// The app whose token a request presents: a token issued through OAuth to an account, or
/// the app's own.
pub struct AppCaller(pub Uuid);

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        crate::auth::extract::presented_app(state, parts)
            .await?
            .map(AppCaller)
            .ok_or_else(|| {
                AppError::forbidden("not_an_app_token", "This token was not issued to an app")
            })
    }
}

/// `GET /api/v1/apps/verify_credentials`: the app the token belongs to, without its
/// credentials.
pub async fn verify_app_credentials(
    State(state): State<AppState>,
    AppCaller(app_id): AppCaller,
) -> Result<Json<Application>, AppError> {
    let app = store::find_app(&state.db, app_id)
        .await?
        .ok_or_else(crate::auth::invalid_token)?;
    Ok(Json(Application::from_app(&app)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_absolute_without_fragments_or_script_schemes() {
        assert!(check_redirect_uri(OUT_OF_BAND).is_ok());
        assert!(check_redirect_uri("https://app.example/callback?x=1").is_ok());
        assert!(check_redirect_uri("com.example.app://oauth").is_ok());
        assert!(check_redirect_uri("/callback").is_err());
        assert!(check_redirect_uri("https://app.example/#token").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    #[test]
    fn redirect_uris_may_be_one_string_or_many() {
        let request = CreateAppRequest {
            client_name: Some(" Toot ".into()),
            redirect_uris: vec!["https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob".into()],
            scopes: Some("read write".into()),
            website: Some(String::new()),
        };
        let app = NewApp::parse(request).unwrap();
        assert_eq!(app.name, "Toot");
        assert_eq!(app.redirect_uris, ["https://a.example/cb", OUT_OF_BAND]);
        assert_eq!(app.scopes, ["read", "write"]);
        assert_eq!(app.website, None);
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let request = CreateAppRequest {
            client_name: None,
            redirect_uris: vec!["nowhere".into()],
            scopes: Some("admin:read".into()),
            website: Some("ftp://x.example".into()),
        };
        let Err(AppError::Validation(errors)) = NewApp::parse(request) else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            ["client_name", "redirect_uris", "scopes", "website"]
        );
    }
}
