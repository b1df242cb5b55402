//! Scheduled posts, the media they reserve, and idempotency keys that name a schedule.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ScheduledPosts {
    Table,
    Id,
    AuthorId,
    Content,
    PublishAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    ScheduledPostId,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    ScheduledPostId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScheduledPosts::Table)
                    .col(pk_uuid(ScheduledPosts::Id))
                    .col(uuid(ScheduledPosts::AuthorId))
                    .col(text(ScheduledPosts::Content))
                    .col(timestamp_with_time_zone(ScheduledPosts::PublishAt))
                    .col(timestamp_with_time_zone(ScheduledPosts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScheduledPosts::Table, ScheduledPosts::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The publisher's "what is due next" and its claim walk this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_scheduled_posts_publish_at")
                    .table(ScheduledPosts::Table)
                    .col(ScheduledPosts::PublishAt)
                    .to_owned(),
            )
            .await?;
        // "My schedules, soonest first."
        manager
            .create_index(
                Index::create()
                    .name("idx_scheduled_posts_author_publish_at")
                    .table(ScheduledPosts::Table)
                    .col(ScheduledPosts::AuthorId)
                    .col(ScheduledPosts::PublishAt)
                    .col(ScheduledPosts::Id)
                    .to_owned(),
            )
            .await?;
        // Media reserved by a schedule (released when it is cancelled or edited, moved to
        // the post when it publishes). No foreign key: SQLite cannot add one to an existing
        // table, and the schedule code releases reservations itself.
        manager
            .alter_table(
                Table::alter()
                    .table(Media::Table)
                    .add_column(uuid_null(Media::ScheduledPostId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_scheduled_post_id")
                    .table(Media::Table)
                    .col(Media::ScheduledPostId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(uuid_null(IdempotencyKeys::ScheduledPostId))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .drop_column(IdempotencyKeys::ScheduledPostId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_media_scheduled_post_id")
                    .table(Media::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Media::Table)
                    .drop_column(Media::ScheduledPostId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ScheduledPosts::Table).to_owned())
            .await
    }
}
