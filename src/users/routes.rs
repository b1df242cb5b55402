//! HTTP handlers for the own profile (`/me`).

use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Me, store};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::docs::examples;
use crate::error::{AppError, Problem};
use crate::extract::AppJson;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_me))
}

/// Your own account
///
/// Returns the account the token belongs to, including its email address, which no other
/// endpoint reveals. `following` and `followed_by` are always `null` here.
#[utoipa::path(
    get,
    path = "/me",
    tag = "Profile",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account.", body = Me, example = json!(examples::me())),
        (status = 401, description = "Missing, malformed, expired or revoked token.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::unauthorized())),
    )
)]
pub async fn get_me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<AppJson<Me>, AppError> {
    let account = store::find_by_id(&state.db, user.user_id)
        .await?
        // The token's account was deleted between the token check and now.
        .ok_or(AppError::Unauthorized {
            code: "invalid_token",
            detail: "The token is malformed, expired or revoked.",
        })?;
    Ok(AppJson(Me::from_model(account, &state)))
}
