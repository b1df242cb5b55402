//! The `media` table: uploaded images, attached to at most one post.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    /// `None` until attached to a post.
    pub post_id: Option<Uuid>,
    /// Place among the post's media.
    pub position: Option<i32>,
    /// Storage key of the full-size image.
    pub file_key: String,
    /// Storage key of the preview (at most 400 px on its longest side).
    pub preview_key: String,
    pub width: i32,
    pub height: i32,
    /// Alt text; empty when none was given.
    pub description: String,
    pub created_at: DateTimeUtc,
    /// The schedule that reserved this upload, until it publishes or lets go.
    pub scheduled_post_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
