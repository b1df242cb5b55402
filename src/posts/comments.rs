//! Comments on posts: the list under a post (oldest first), and creating, reading, editing
//! and deleting one comment. Only a comment's author may edit or delete it — not even the
//! post's author may.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::domain::Content;
use super::routes::{existing_post, post_not_found};
use crate::app::AppState;
use crate::auth::{AuthUser, MaybeAuthUser, ensure_owner};
use crate::db::{self, new_id};
use crate::docs::examples;
use crate::error::{AppError, Problem, is_foreign_key_violation};
use crate::extract::AppJson;
use crate::pagination::{Page, PageQuery, PageRequest, PageResponse, encode_cursor};
use crate::users::UserSummary;
use queries::CommentRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_post_comments, create_comment))
        .routes(routes!(get_comment, update_comment, delete_comment))
}

/// A comment on a post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(examples::comment()))]
pub struct Comment {
    pub id: String,
    /// The post commented on.
    pub post_id: String,
    pub author: UserSummary,
    /// 1–500 characters.
    pub content: String,
    pub created_at: DateTime<Utc>,
    /// When the content was last edited, or `null`.
    pub edited_at: Option<DateTime<Utc>>,
}

impl Comment {
    fn from_row(row: CommentRow, state: &AppState) -> Self {
        Self {
            id: row.id.to_string(),
            post_id: row.post_id.to_string(),
            author: UserSummary::new(
                row.author_id,
                row.author_username,
                row.author_display_name,
                row.author_avatar_key.as_deref(),
                state,
            ),
            content: row.content,
            created_at: row.created_at,
            edited_at: row.edited_at,
        }
    }
}

/// Parses a comment id from a path: anything that is not one of our ids names no comment.
fn parse_comment_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| comment_not_found())
}

fn comment_not_found() -> AppError {
    AppError::not_found("There is no comment with this id.")
}

/// Comment content, or the 422 naming `content`.
fn parse_content(content: &str) -> Result<Content, AppError> {
    Content::parse(content).map_err(|message| AppError::validation("content", message))
}

/// The author of an existing comment (for the ownership check), or 404.
async fn comment_author(state: &AppState, id: Uuid) -> Result<Uuid, AppError> {
    queries::author_of(&state.db, id)
        .await?
        .ok_or_else(comment_not_found)
}

/// The comments of a post
///
/// The post's comments, oldest first, each with its author. Public.
#[utoipa::path(
    get,
    path = "/posts/{id}/comments",
    tag = "Comments",
    operation_id = "list_post_comments",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917"), PageQuery),
    responses(
        (status = 200, description = "One page of comments.", body = Page<Comment>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists.")),
            example = json!(examples::comment_page())),
        (status = 400, description = "Invalid `limit` or `cursor`.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::invalid_cursor())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
    )
)]
pub async fn list_post_comments(
    State(state): State<AppState>,
    _viewer: MaybeAuthUser,
    Path(id): Path<String>,
    page: PageRequest,
) -> Result<PageResponse<Comment>, AppError> {
    let post_id = existing_post(&state, &id).await?;
    let rows =
        queries::list_for_post(&state.db, post_id, page.after_id()?, page.fetch_limit()).await?;
    Ok(page.finish(
        rows,
        |row| encode_cursor(&[&row.id.to_string()]),
        |row| Comment::from_row(row, &state),
    ))
}

/// Body of `POST /posts/{id}/comments` and `PATCH /comments/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content": "What a heron! Which river is this?"}))]
pub struct CommentRequest {
    /// Trimmed; 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub content: String,
}

/// Comment on a post
///
/// Adds a comment to the post, as you. The content is trimmed and must then be 1–500
/// characters. 404 for an unknown post, including one deleted while the comment is being
/// written.
#[utoipa::path(
    post,
    path = "/posts/{id}/comments",
    tag = "Comments",
    operation_id = "create_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The post's id.", example = "019acc02-0a4d-7e61-9c3b-55e0f2d8a917")),
    request_body(content = CommentRequest, example = json!({"content": "What a heron! Which river is this?"})),
    responses(
        (status = 201, description = "The new comment.", body = Comment,
            headers(("Location" = String, description = "URL of the comment.")),
            example = json!(examples::comment())),
        (status = 404, description = "No post has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::post_not_found())),
        (status = 422, description = "The content is missing or breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("content", "must not be empty")]))),
    )
)]
pub async fn create_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<CommentRequest>,
) -> Result<(StatusCode, HeaderMap, AppJson<Comment>), AppError> {
    let post_id = existing_post(&state, &id).await?;
    let content = parse_content(&request.content)?;
    let id = new_id();
    let transaction = db::begin_write(&state.db).await?;
    queries::insert(
        &transaction,
        queries::NewComment {
            id,
            post_id,
            author_id: user.user_id,
            content: content.into_inner(),
            created_at: state.clock.now(),
        },
    )
    .await
    .map_err(|error| {
        // The post was deleted after it was looked up.
        if is_foreign_key_violation(&error) {
            post_not_found()
        } else {
            error.into()
        }
    })?;
    // Read back inside the transaction: the post cannot vanish before the answer is built.
    let row = queries::find(&transaction, id)
        .await?
        .ok_or_else(post_not_found)?;
    transaction.commit().await?;
    let comment = Comment::from_row(row, &state);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}/api/v1/comments/{}",
        state.config.public_url, comment.id
    )) {
        headers.insert(header::LOCATION, value);
    }
    Ok((StatusCode::CREATED, headers, AppJson(comment)))
}

/// A comment
///
/// One comment, with its author. Public.
#[utoipa::path(
    get,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "get_comment",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    responses(
        (status = 200, description = "The comment.", body = Comment, example = json!(examples::comment())),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
    )
)]
pub async fn get_comment(
    State(state): State<AppState>,
    _viewer: MaybeAuthUser,
    Path(id): Path<String>,
) -> Result<AppJson<Comment>, AppError> {
    let id = parse_comment_id(&id)?;
    let row = queries::find(&state.db, id)
        .await?
        .ok_or_else(comment_not_found)?;
    Ok(AppJson(Comment::from_row(row, &state)))
}

/// Edit a comment
///
/// Replaces the content of your own comment and sets `edited_at`. 403 on anyone else's
/// comment, even on your own post.
#[utoipa::path(
    patch,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "update_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    request_body(content = CommentRequest, example = json!({"content": "What a heron! Which river is this? (the Avon?)"})),
    responses(
        (status = 200, description = "The edited comment.", body = Comment, example = json!(examples::comment_edited())),
        (status = 403, description = "The comment is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("comment"))),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
        (status = 422, description = "The content is missing or breaks a rule.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::validation(&[("content", "must be at most 500 characters")]))),
    )
)]
pub async fn update_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<CommentRequest>,
) -> Result<AppJson<Comment>, AppError> {
    let id = parse_comment_id(&id)?;
    ensure_owner(comment_author(&state, id).await?, user, "comment")?;
    let content = parse_content(&request.content)?;
    let transaction = db::begin_write(&state.db).await?;
    if !queries::update_content(&transaction, id, content.into_inner(), state.clock.now()).await? {
        // Deleted (with the comment or its post) after it was looked up.
        return Err(comment_not_found());
    }
    let row = queries::find(&transaction, id)
        .await?
        .ok_or_else(comment_not_found)?;
    transaction.commit().await?;
    Ok(AppJson(Comment::from_row(row, &state)))
}

/// Delete a comment
///
/// Deletes your own comment. 403 on anyone else's comment, even on your own post; deleting
/// it again is a 404.
#[utoipa::path(
    delete,
    path = "/comments/{id}",
    tag = "Comments",
    operation_id = "delete_comment",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The comment's id.", example = "019acc05-7c21-7f3e-a4d8-1b9e6c2f0a53")),
    responses(
        (status = 204, description = "The comment is gone."),
        (status = 403, description = "The comment is someone else's.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::not_owner("comment"))),
        (status = 404, description = "No comment has this id.", body = Problem,
            content_type = "application/problem+json", example = json!(examples::comment_not_found())),
    )
)]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = parse_comment_id(&id)?;
    ensure_owner(comment_author(&state, id).await?, user, "comment")?;
    if !queries::delete(&state.db, id).await? {
        // A concurrent delete won.
        return Err(comment_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Queries on comments. A comment is always read with its author, joined in the same
/// statement, so a page of comments costs one query whatever its size.
mod queries {
    use chrono::{DateTime, Utc};
    use sea_orm::sea_query::Expr;
    use sea_orm::{
        ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
        QueryFilter, QuerySelect, Value,
    };
    use uuid::Uuid;

    use crate::db::statement;
    use crate::posts::entity::comment;

    /// A comment with its author's summary fields.
    #[derive(Debug, FromQueryResult)]
    pub struct CommentRow {
        pub id: Uuid,
        pub post_id: Uuid,
        pub author_id: Uuid,
        pub content: String,
        pub created_at: DateTime<Utc>,
        pub edited_at: Option<DateTime<Utc>>,
        pub author_username: String,
        pub author_display_name: String,
        pub author_avatar_key: Option<String>,
    }

    const SELECT_COMMENTS: &str = "SELECT c.id, c.post_id, c.author_id, c.content, \
         c.created_at, c.edited_at, u.username AS author_username, \
         u.display_name AS author_display_name, u.avatar_key AS author_avatar_key \
         FROM comments c JOIN users u ON u.id = c.author_id";

    /// One comment by id.
    pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<CommentRow>, DbErr> {
        let backend = db.get_database_backend();
        let sql = format!("{SELECT_COMMENTS} WHERE c.id = ?");
        CommentRow::find_by_statement(statement(backend, &sql, vec![id.into()]))
            .one(db)
            .await
    }

    /// One page of a post's comments, oldest first, after the comment `after`: a range scan
    /// of the `(post_id, id)` index.
    pub async fn list_for_post(
        db: &impl ConnectionTrait,
        post_id: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<CommentRow>, DbErr> {
        let backend = db.get_database_backend();
        let mut sql = format!("{SELECT_COMMENTS} WHERE c.post_id = ?");
        let mut values: Vec<Value> = vec![post_id.into()];
        if let Some(after) = after {
            sql.push_str(" AND c.id > ?");
            values.push(after.into());
        }
        sql.push_str(" ORDER BY c.id ASC LIMIT ?");
        values.push((limit as i64).into());
        CommentRow::find_by_statement(statement(backend, &sql, values))
            .all(db)
            .await
    }

    /// The author of a comment, if the comment exists (for ownership checks).
    pub async fn author_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Uuid>, DbErr> {
        comment::Entity::find_by_id(id)
            .select_only()
            .column(comment::Column::AuthorId)
            .into_tuple()
            .one(db)
            .await
    }

    /// A new comment's fields.
    pub struct NewComment {
        pub id: Uuid,
        pub post_id: Uuid,
        pub author_id: Uuid,
        pub content: String,
        pub created_at: DateTime<Utc>,
    }

    /// Inserts a comment; a foreign-key violation means the post (or author) is gone.
    pub async fn insert(db: &impl ConnectionTrait, new: NewComment) -> Result<(), DbErr> {
        comment::Entity::insert(comment::ActiveModel {
            id: Set(new.id),
            post_id: Set(new.post_id),
            author_id: Set(new.author_id),
            content: Set(new.content),
            created_at: Set(new.created_at),
            edited_at: Set(None),
        })
        .exec_without_returning(db)
        .await?;
        Ok(())
    }

    /// Replaces a comment's content and marks it edited; returns whether it still existed.
    pub async fn update_content(
        db: &impl ConnectionTrait,
        id: Uuid,
        content: String,
        edited_at: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let updated = comment::Entity::update_many()
            .col_expr(comment::Column::Content, Expr::value(content))
            .col_expr(comment::Column::EditedAt, Expr::value(Some(edited_at)))
            .filter(comment::Column::Id.eq(id))
            .exec(db)
            .await?
            .rows_affected;
        Ok(updated == 1)
    }

    /// Deletes a comment; returns whether it existed.
    pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
        let deleted = comment::Entity::delete_by_id(id)
            .exec(db)
            .await?
            .rows_affected;
        Ok(deleted == 1)
    }
}
