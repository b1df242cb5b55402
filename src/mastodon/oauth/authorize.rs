//! `/oauth/authorize`: the page where a person signs in and lets an app use their account.
//!
//! `GET` checks the request against the app (its client id, a registered redirect URI, the
//! scopes it registered, PKCE `S256`) and shows the form; a request that fails a check
//! gets an error page (400), and never a redirect to a URI the app did not register.
//! `POST` checks the form's CSRF token ([`super::csrf`]), signs in by Roost's login rule
//! (a wrong address or password shows the form again, 401), then hands the app a code:
//! on the page for the out-of-band URI, otherwise by a 303 to the redirect URI with
//! `code` and `state`. "Deny" sends `error=access_denied` instead.
//!
//! The form's fields are `email`, `password`, `decision` (`authorize` or `deny`), and, as
//! hidden fields, the request's parameters and `csrf_token`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Deserialize;

use super::entity::{app, code};
use super::{CODE_LIFETIME, OUT_OF_BAND, csrf, page, store};
use crate::accounts::service::check_credentials;
use crate::auth::token;
use crate::error::AppError;
use crate::mastodon::params::{Params, QueryParams, lenient};
use crate::mastodon::scopes;
use crate::state::AppState;

/// Longest `state` carried through.
const STATE_MAX: usize = 2048;

/// The request's parameters, and the form's fields when it is submitted.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    response_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code_challenge: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    code_challenge_method: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    csrf_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    decision: Option<String>,
}

/// A request for a code that passed every check against its app.
struct Checked {
    app: app::Model,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: Option<String>,
}

impl Checked {
    fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// The values the CSRF token is bound to.
    fn signed(&self) -> [String; 5] {
        [
            self.app.client_id.clone(),
            self.redirect_uri.clone(),
            self.scope(),
            self.state.clone().unwrap_or_default(),
            self.code_challenge.clone().unwrap_or_default(),
        ]
    }

    fn csrf_token(&self, secret: &str, state: &AppState) -> String {
        let signed = self.signed();
        let fields: Vec<&str> = signed.iter().map(String::as_str).collect();
        csrf::sign(secret, state.clock.now(), &fields)
    }

    fn csrf_holds(&self, secret: &str, state: &AppState, presented: &str) -> bool {
        let signed = self.signed();
        let fields: Vec<&str> = signed.iter().map(String::as_str).collect();
        csrf::verify(secret, state.clock.now(), &fields, presented)
    }

    /// The request's parameters, as the form carries them and as a link to the form.
    fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut parameters = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.app.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope()),
        ];
        if let Some(state) = &self.state {
            parameters.push(("state", state.clone()));
        }
        if let Some(challenge) = &self.code_challenge {
            parameters.push(("code_challenge", challenge.clone()));
            parameters.push(("code_challenge_method", "S256".to_owned()));
        }
        parameters
    }

    /// A link to a fresh copy of the form.
    fn restart_link(&self) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.parameters())
            .finish();
        format!("/oauth/authorize?{query}")
    }

    fn is_out_of_band(&self) -> bool {
        self.redirect_uri == OUT_OF_BAND
    }

    /// Where the browser is sent after the form, as a CSP source (`None`: out of band).
    fn redirect_source(&self) -> Option<String> {
        if self.is_out_of_band() {
            return None;
        }
        let url = url::Url::parse(&self.redirect_uri).ok()?;
        match url.scheme() {
            "http" | "https" => Some(url.origin().ascii_serialization()),
            scheme => Some(format!("{scheme}:")),
        }
    }

    /// The redirect URI with `pairs` and `state` added to its query.
    fn redirect(&self, pairs: &[(&str, &str)]) -> Response {
        let Ok(mut url) = url::Url::parse(&self.redirect_uri) else {
            return page_error(StatusCode::BAD_REQUEST, "The redirect URI is not valid.")
                .into_response();
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        let mut response = StatusCode::SEE_OTHER.into_response();
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(url.as_str()) {
            headers.insert(header::LOCATION, location);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// The form, with `message` when it is shown again.
    fn form(
        &self,
        state: &AppState,
        secret: &str,
        status: StatusCode,
        email: &str,
        message: Option<&str>,
    ) -> Response {
        let mut hidden = self.parameters();
        hidden.push(("csrf_token", self.csrf_token(secret, state)));
        let destination = (!self.is_out_of_band()).then(|| self.destination());
        let html = page::form(&page::Form {
            app_name: &self.app.name,
            website: self.app.website.as_deref(),
            scopes: &self.scopes,
            destination: destination.as_deref(),
            hidden: &hidden,
            email,
            message,
        });
        page::respond(status, html, self.redirect_source().as_deref())
    }

    /// The redirect URI as shown to the person: its host, or the app's own scheme.
    fn destination(&self) -> String {
        match url::Url::parse(&self.redirect_uri) {
            Ok(url) => url
                .host_str()
                .map_or_else(|| format!("{}:", url.scheme()), str::to_owned),
            Err(_) => self.redirect_uri.clone(),
        }
    }
}

/// Why the page answers with an error rather than the form.
pub enum PageError {
    /// An error page with this status.
    Page {
        status: StatusCode,
        message: String,
        restart: Option<String>,
    },
    /// Anything else, answered as every other error of this API.
    App(AppError),
}

fn page_error(status: StatusCode, message: impl Into<String>) -> PageError {
    PageError::Page {
        status,
        message: message.into(),
        restart: None,
    }
}

fn invalid(message: impl Into<String>) -> PageError {
    page_error(StatusCode::BAD_REQUEST, message)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Page {
                status,
                message,
                restart,
            } => {
                let html = page::error("Authorization failed", &message, restart.as_deref());
                page::respond(status, html, None)
            }
            PageError::App(error) => error.into_response(),
        }
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError::App(error)
    }
}

impl From<DbErr> for PageError {
    fn from(error: DbErr) -> Self {
        PageError::App(error.into())
    }
}

impl From<anyhow::Error> for PageError {
    fn from(error: anyhow::Error) -> Self {
        PageError::App(error.into())
    }
}

/// Checks a request for a code against its app.
async fn check(state: &AppState, params: &AuthorizeParams) -> Result<Checked, PageError> {
    let client_id = params
        .client_id
        .as_deref()
        .filter(|client_id| !client_id.is_empty())
        .ok_or_else(|| invalid("The request names no app (client_id is missing)."))?;
    let app = match client_id.len() {
        0..=64 => store::find_app_by_client_id(&state.db, client_id).await?,
        _ => None,
    }
    .ok_or_else(|| invalid("No app is registered with this client_id."))?;
    let registered = app.redirect_uris();
    let redirect_uri = match params.redirect_uri.as_deref().filter(|uri| !uri.is_empty()) {
        Some(uri) if registered.contains(&uri) => uri.to_owned(),
        Some(_) => {
            return Err(invalid("The redirect_uri is not one the app registered."));
        }
        None if registered.len() == 1 => registered[0].to_owned(),
        None => return Err(invalid("The request names no redirect_uri.")),
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(invalid("The response_type must be code."));
    }
    let scopes = scopes::parse(params.scope.as_deref().unwrap_or(""), "read")
        .map_err(|message| invalid(format!("The request asks for an {message}.")))?;
    if !scopes::all_allowed(&app.scopes, &scopes) {
        return Err(invalid(
            "The request asks for scopes the app did not register.",
        ));
    }
    let state_value = params.state.clone().filter(|value| !value.is_empty());
    if state_value
        .as_ref()
        .is_some_and(|value| value.len() > STATE_MAX)
    {
        return Err(invalid("The state is too long."));
    }
    let code_challenge = params
        .code_challenge
        .clone()
        .filter(|challenge| !challenge.is_empty());
    if let Some(challenge) = &code_challenge {
        if params.code_challenge_method.as_deref() != Some("S256") {
            return Err(invalid("The code_challenge_method must be S256."));
        }
        if !token::looks_like_token(challenge) {
            return Err(invalid(
                "The code_challenge must be the base64url SHA-256 of the code verifier.",
            ));
        }
    }
    Ok(Checked {
        app,
        redirect_uri,
        scopes,
        state: state_value,
        code_challenge,
    })
}

/// `GET /oauth/authorize`: the sign-in and consent form.
pub async fn show_authorize_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(params): QueryParams<AuthorizeParams>,
) -> Result<Response, PageError> {
    let checked = check(&state, &params).await?;
    // A second tab keeps the first one's secret, so both forms stay valid.
    let secret = match csrf::secret_from(&headers) {
        Some(secret) => secret,
        None => csrf::new_secret()?,
    };
    let mut response = checked.form(&state, &secret, StatusCode::OK, "", None);
    let secure = state.config.mastodon_public_url.starts_with("https://");
    response
        .headers_mut()
        .append(header::SET_COOKIE, csrf::cookie(&secret, secure));
    Ok(response)
}

/// `POST /oauth/authorize`: signs in and grants (or denies) the app a code.
pub async fn submit_authorize_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(params): Params<AuthorizeParams>,
) -> Result<Response, PageError> {
    let checked = check(&state, &params).await?;
    let secret = csrf::secret_from(&headers)
        .filter(|secret| {
            params
                .csrf_token
                .as_deref()
                .is_some_and(|presented| checked.csrf_holds(secret, &state, presented))
        })
        .ok_or_else(|| PageError::Page {
            status: StatusCode::FORBIDDEN,
            message: "This form has expired or did not come from this page. Please start again."
                .to_owned(),
            restart: Some(checked.restart_link()),
        })?;
    if params.decision.as_deref() == Some("deny") {
        if checked.is_out_of_band() {
            let html = page::denied(&checked.app.name);
            return Ok(page::respond(StatusCode::OK, html, None));
        }
        return Ok(checked.redirect(&[
            ("error", "access_denied"),
            (
                "error_description",
                "The resource owner or authorization server denied the request.",
            ),
        ]));
    }
    let email = params.email.unwrap_or_default();
    let password = params.password.unwrap_or_default();
    if email.trim().is_empty() || password.is_empty() {
        let message = "Enter your email address and your password.";
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(checked.form(&state, &secret, status, &email, Some(message)));
    }
    let account = match check_credentials(&state, &email, password).await {
        Ok(account) => account,
        Err(AppError::Unauthorized { .. }) => {
            let message = "The email address or the password is wrong.";
            let status = StatusCode::UNAUTHORIZED;
            return Ok(checked.form(&state, &secret, status, &email, Some(message)));
        }
        Err(AppError::TooManyRequests {
            detail,
            retry_after_secs,
            ..
        }) => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut response = checked.form(&state, &secret, status, &email, Some(&detail));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return Ok(response);
        }
        Err(error) => return Err(error.into()),
    };
    let now = state.clock.now();
    let minted = token::generate()?;
    let granted = code::Model {
        digest: minted.digest,
        app_id: checked.app.id,
        user_id: account.id,
        redirect_uri: checked.redirect_uri.clone(),
        scopes: checked.scope(),
        code_challenge: checked.code_challenge.clone(),
        expires_at: now + CODE_LIFETIME,
    };
    store::insert_code(&state.db, granted, now).await?;
    if checked.is_out_of_band() {
        let html = page::code(&checked.app.name, &minted.token);
        return Ok(page::respond(StatusCode::OK, html, None));
    }
    Ok(checked.redirect(&[("code", &minted.token)]))
}
