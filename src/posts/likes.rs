//! Likes: liking and unliking a post (idempotent), and who liked it. Like counts and the
//! viewer's `liked` are computed by the post queries, so a like is just its row.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::routes::{existing_post, post_not_found};
use crate::app::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::db;
use crate::docs::examples;
use crate::error::{AppError, Problem, is_foreign_key_violation};
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse, encode_cursor};
use crate::users::{self, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(like_post, unlike_post))
        .routes(routes!(list_post_likes))
}

/// Like a post
///
/// Idempotent: liking a post you already like is still 204 and keeps the original like
/// (and its place in `GET /me/likes` and the post's likers). 404 for an unknown post.
#[utoipa::path(
    put,
    path = "/posts/{id}/like",
    tag = "Likes",
    operation_id = "like_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 204, description = "You like this post."),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn like_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let post_id = existing_post(&state, &id).await?;
    let transaction = db::begin_write(&state.db).await?;
    queries::like(&transaction, post_id, user.user_id, state.clock.now())
        .await
        .map_err(|error| {
            // The post was deleted after it was looked up.
            if is_foreign_key_violation(&error) {
                post_not_found()
            } else {
                error.into()
            }
        })?;
    transaction.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlike a post
///
/// Idempotent: unliking a post you do not like is still 204. 404 for an unknown post.
#[utoipa::path(
    delete,
    path = "/posts/{id}/like",
    tag = "Likes",
    operation_id = "unlike_post",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    responses(
        (status = 204, description = "You do not like this post."),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn unlike_post(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let post_id = existing_post(&state, &id).await?;
    queries::unlike(&state.db, post_id, user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who liked a post
///
/// Users who liked the post, most recent like first. Public; an authenticated viewer also
/// gets `following` / `followed_by` on each user.
#[utoipa::path(
    get,
    path = "/posts/{id}/likes",
    tag = "Likes",
    operation_id = "list_post_likes",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917"), PageQuery),
    responses(
        (status = 200, description = "One page of users.", body = Page<User>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::user_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn list_post_likes(
    State(state): State<AppState>,
    viewer: MaybeAuthUser,
    Path(id): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<User>, AppError> {
    let post_id = existing_post(&state, &id).await?;
    let rows = queries::likers(&state.db, post_id, page.after_id()?, page.fetch_limit()).await?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.user.id).collect();
    let relations = users::store::relations(&state.db, viewer.0.map(|v| v.user_id), &ids).await?;
    Ok(page.finish(
        rows,
        |row| encode_cursor(&[&row.like_id.to_string()]),
        |row| User::from_model(row.user, &relations, &state),
    ))
}

/// Queries on likes.
mod queries {
    use chrono::{DateTime, Utc};
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{
        ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
        JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef,
    };
    use uuid::Uuid;

    use crate::db::new_id;
    use crate::posts::entity::like;
    use crate::users::entity::user;

    /// Records that `user_id` likes `post_id`, once: a repeat changes nothing, so the first
    /// like keeps its id (its place in lists). The unique `(post_id, user_id)` index decides
    /// between concurrent likes.
    pub async fn like(
        db: &impl ConnectionTrait,
        post_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let inserted = like::Entity::insert(like::ActiveModel {
            id: Set(new_id()),
            post_id: Set(post_id),
            user_id: Set(user_id),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([like::Column::PostId, like::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
        match inserted {
            Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Removes the like if there is one.
    pub async fn unlike(
        db: &impl ConnectionTrait,
        post_id: Uuid,
        user_id: Uuid,
    ) -> Result<(), DbErr> {
        like::Entity::delete_many()
            .filter(like::Column::PostId.eq(post_id))
            .filter(like::Column::UserId.eq(user_id))
            .exec(db)
            .await?;
        Ok(())
    }

    /// A user who liked a post, with the like's id (the list's sort key).
    #[derive(Debug, FromQueryResult)]
    pub struct Liker {
        pub like_id: Uuid,
        #[sea_orm(nested)]
        pub user: user::Model,
    }

    /// One page of the users who liked `post_id`, most recent like first, in one query on
    /// the `(post_id, id)` index joined to users.
    pub async fn likers(
        db: &impl ConnectionTrait,
        post_id: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<Liker>, DbErr> {
        let liked_by: RelationDef = like::Entity::belongs_to(user::Entity)
            .from(like::Column::UserId)
            .to(user::Column::Id)
            .into();
        let mut query = user::Entity::find()
            .column_as(like::Column::Id, "like_id")
            .join_rev(JoinType::InnerJoin, liked_by)
            .filter(like::Column::PostId.eq(post_id));
        if let Some(after) = after {
            query = query.filter(like::Column::Id.lt(after));
        }
        query
            .order_by_desc(like::Column::Id)
            .limit(limit)
            .into_model::<Liker>()
            .all(db)
            .await
    }
}
