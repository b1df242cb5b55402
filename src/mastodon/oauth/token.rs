//! `POST /oauth/token` (the `authorization_code`, `client_credentials` and `password`
//! grants), `POST /oauth/revoke`, and the server's metadata (RFC 8414).
//!
//! Errors here are OAuth's own (RFC 6749 §5.2): `{"error": "invalid_grant",
//! "error_description": "…"}` with 400, or 401 for a client that failed to authenticate.
//! The client authenticates with `client_id` and `client_secret` in the body or with HTTP
//! Basic.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::entity::app;
use super::{secret_matches, store, token_expiry};
use crate::accounts::service::check_credentials;
use crate::auth::store::{Grant, insert_app_token, insert_granted_token};
use crate::auth::{store as tokens, token};
use crate::error::{AppError, OwnErrorBody};
use crate::mastodon::params::{Params, lenient};
use crate::mastodon::scopes;
use crate::state::AppState;

/// The body of `/oauth/token` and `/oauth/revoke`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code_verifier: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
    /// The token to revoke.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    token: Option<String>,
}

/// A token as `/oauth/token` answers it.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    scope: String,
    /// Unix seconds.
    created_at: i64,
}

/// An error of RFC 6749, or any other error of this API.
pub enum OAuthError {
    Protocol {
        status: StatusCode,
        error: &'static str,
        description: &'static str,
        /// The client tried HTTP Basic: a 401 then challenges it.
        basic: bool,
    },
    App(AppError),
}

impl OAuthError {
    fn bad(error: &'static str, description: &'static str) -> Self {
        OAuthError::Protocol {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
            basic: false,
        }
    }

    fn invalid_grant() -> Self {
        Self::bad(
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )
    }

    fn invalid_scope() -> Self {
        Self::bad(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        )
    }

    fn missing(description: &'static str) -> Self {
        Self::bad("invalid_request", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        match self {
            OAuthError::Protocol {
                status,
                error,
                description,
                basic,
            } => {
                let body = json!({"error": error, "error_description": description});
                let mut response = (status, Json(body)).into_response();
                response.extensions_mut().insert(OwnErrorBody);
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if basic && status == StatusCode::UNAUTHORIZED {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"Roost\""),
                    );
                }
                response
            }
            OAuthError::App(error) => error.into_response(),
        }
    }
}

impl From<AppError> for OAuthError {
    fn from(error: AppError) -> Self {
        OAuthError::App(error)
    }
}

impl From<DbErr> for OAuthError {
    fn from(error: DbErr) -> Self {
        OAuthError::App(error.into())
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(error: anyhow::Error) -> Self {
        OAuthError::App(error.into())
    }
}

/// Client credentials sent with HTTP Basic (RFC 6749 §2.3.1), if any. Taking them marks
/// the `Authorization` header as dealt with: a bearer token sent here is not the caller's
/// credentials, and is ignored.
pub struct BasicCredentials(Option<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for BasicCredentials {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(None));
        };
        crate::auth::extract::authorization_handled(&parts.extensions);
        let Some(encoded) = value
            .to_str()
            .ok()
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .map(|(_, encoded)| encoded.trim())
        else {
            // Some libraries send their bearer token along (Mastodon.py, to revoke it):
            // the client then authenticates in the body.
            return Ok(Self(None));
        };
        let basic = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|decoded| {
                let (id, secret) = decoded.split_once(':')?;
                Some((form_decode(id), form_decode(secret)))
            });
        match basic {
            Some(credentials) => Ok(Self(Some(credentials))),
            None => Err(OAuthError::Protocol {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                description: "Client authentication failed: send the client id and secret with HTTP Basic or in the body.",
                basic: true,
            }),
        }
    }
}

/// Basic credentials are form-urlencoded before they are joined (RFC 6749 §2.3.1).
fn form_decode(text: &str) -> String {
    let query = format!("v={text}");
    url::form_urlencoded::parse(query.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// The app that authenticated with its client id and secret, or `invalid_client`.
async fn authenticate_client(
    state: &AppState,
    basic: BasicCredentials,
    request: &TokenRequest,
) -> Result<app::Model, OAuthError> {
    let used_basic = basic.0.is_some();
    let (client_id, secret) = match basic.0 {
        Some(credentials) => credentials,
        None => (
            request.client_id.clone().unwrap_or_default(),
            request.client_secret.clone().unwrap_or_default(),
        ),
    };
    let app = match client_id.len() {
        1..=64 => store::find_app_by_client_id(&state.db, &client_id).await?,
        _ => None,
    };
    app.filter(|app| secret_matches(app, &secret))
        .ok_or(OAuthError::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            basic: used_basic,
        })
}

/// `POST /oauth/token`.
pub async fn issue_token(
    State(state): State<AppState>,
    basic: BasicCredentials,
    Params(request): Params<TokenRequest>,
) -> Result<Json<TokenResponse>, OAuthError> {
    let grant_type = request
        .grant_type
        .clone()
        .ok_or_else(|| OAuthError::missing("The grant_type is missing."))?;
    if !matches!(
        grant_type.as_str(),
        "authorization_code" | "client_credentials" | "password"
    ) {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ));
    }
    let app = authenticate_client(&state, basic, &request).await?;
    let response = match grant_type.as_str() {
        "authorization_code" => exchange_code(&state, &app, &request).await?,
        "client_credentials" => {
            let scopes = requested_scopes(&app, &request)?;
            issue_app_token(&state, &app, scopes).await?
        }
        _ => {
            let scopes = requested_scopes(&app, &request)?;
            let (Some(username), Some(password)) =
                (request.username.as_deref(), request.password.clone())
            else {
                return Err(OAuthError::missing(
                    "The username and password are required.",
                ));
            };
            let account = match check_credentials(&state, username, password).await {
                Ok(account) => account,
                Err(AppError::Unauthorized { .. }) => return Err(OAuthError::invalid_grant()),
                Err(error) => return Err(error.into()),
            };
            issue_user_token(&state, account.id, &app, scopes).await?
        }
    };
    Ok(Json(response))
}

/// The scopes asked for with the `client_credentials` and `password` grants: `read` by
/// default, and only ones the app registered.
fn requested_scopes(app: &app::Model, request: &TokenRequest) -> Result<String, OAuthError> {
    let scopes = scopes::parse(request.scope.as_deref().unwrap_or(""), "read")
        .map_err(|_| OAuthError::invalid_scope())?;
    if !scopes::all_allowed(&app.scopes, &scopes) {
        return Err(OAuthError::invalid_scope());
    }
    Ok(scopes.join(" "))
}

/// The `authorization_code` grant: the code is taken (deleted as it is read), then checked
/// against the client, the redirect URI, its expiry and PKCE.
async fn exchange_code(
    state: &AppState,
    app: &app::Model,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = request
        .code
        .as_deref()
        .filter(|code| !code.is_empty())
        .ok_or_else(|| OAuthError::missing("The code is missing."))?;
    let granted = store::take_code(&state.db, &token::digest(code))
        .await?
        .filter(|granted| granted.app_id == app.id)
        .filter(|granted| granted.expires_at > state.clock.now())
        .ok_or_else(OAuthError::invalid_grant)?;
    let redirect_matches = match request.redirect_uri.as_deref() {
        Some(uri) => uri == granted.redirect_uri,
        // RFC 6749 §4.1.3 lets it be left out only where it was left out when asking.
        None => app.redirect_uris() == [granted.redirect_uri.as_str()],
    };
    if !redirect_matches {
        return Err(OAuthError::invalid_grant());
    }
    match (&granted.code_challenge, request.code_verifier.as_deref()) {
        (Some(challenge), Some(verifier)) if pkce_s256(verifier) == *challenge => {}
        (None, None) => {}
        // A verifier without a challenge is refused too (a downgrade, RFC 9700 §2.1.1).
        _ => return Err(OAuthError::invalid_grant()),
    }
    issue_user_token(state, granted.user_id, app, granted.scopes).await
}

/// base64url-no-pad(SHA-256(verifier)), PKCE's `S256`.
fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn issue_user_token(
    state: &AppState,
    user_id: uuid::Uuid,
    app: &app::Model,
    scopes: String,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let minted = token::generate()?;
    let grant = Grant {
        app_id: app.id,
        scopes: scopes.clone(),
    };
    insert_granted_token(
        &state.db,
        user_id,
        minted.digest,
        now,
        token_expiry(state, now),
        grant,
    )
    .await?;
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        scope: scopes,
        created_at: now.timestamp(),
    })
}

async fn issue_app_token(
    state: &AppState,
    app: &app::Model,
    scopes: String,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let minted = token::generate()?;
    let grant = Grant {
        app_id: app.id,
        scopes: scopes.clone(),
    };
    let expires_at = state
        .config
        .oauth_token_ttl
        .map(|_| token_expiry(state, now));
    insert_app_token(&state.db, minted.digest, grant, now, expires_at).await?;
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        scope: scopes,
        created_at: now.timestamp(),
    })
}

/// `POST /oauth/revoke`: revokes a token the app holds (RFC 7009). A token that is
/// unknown, or already revoked, is fine; one issued to another app, or of Roost's own
/// API, is refused (403).
pub async fn revoke_token(
    State(state): State<AppState>,
    basic: BasicCredentials,
    Params(request): Params<TokenRequest>,
) -> Result<Json<Value>, OAuthError> {
    let app = authenticate_client(&state, basic, &request).await?;
    let presented = request
        .token
        .as_deref()
        .filter(|presented| !presented.is_empty())
        .ok_or_else(|| OAuthError::missing("The token is missing."))?;
    let digest = token::digest(presented);
    let owner = match tokens::find_token(&state.db, &digest).await? {
        Some(row) => Some(row.app_id),
        None => tokens::find_app_token(&state.db, &digest)
            .await?
            .map(|row| Some(row.app_id)),
    };
    if let Some(owner) = owner
        && owner != Some(app.id)
    {
        return Err(OAuthError::Protocol {
            status: StatusCode::FORBIDDEN,
            error: "unauthorized_client",
            description: "You are not authorized to revoke this token",
            basic: false,
        });
    }
    tokens::delete_app_tokens(&state.db, &digest, app.id).await?;
    Ok(Json(json!({})))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414, as Mastodon 4.3 gives it).
pub async fn server_metadata(State(state): State<AppState>) -> Json<Value> {
    let base = &state.config.mastodon_public_url;
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": scopes::KNOWN,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
    }
}
