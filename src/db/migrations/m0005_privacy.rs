//! Privacy and safety: locked accounts, follow requests, blocks, mutes, the visibility of
//! posts and scheduled posts, and the mentions of posts and comments.
//!
//! Existing rows keep their meaning: every account starts unlocked and every post and
//! scheduled post public, so a database migrated in place shows what it showed before.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Locked,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    Visibility,
}

#[derive(DeriveIden)]
enum ScheduledPosts {
    Table,
    Visibility,
}

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
}

/// The three tables that relate one account to another (`follow_requests`, `blocks`,
/// `mutes`) share one shape: a time-ordered id, the two accounts, and when.
#[derive(DeriveIden)]
enum Relation {
    Id,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostMentions {
    Table,
    PostId,
    UserId,
    Position,
}

#[derive(DeriveIden)]
enum CommentMentions {
    Table,
    CommentId,
    UserId,
    Position,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create()
        .name(name)
        .table(Alias::new(table))
        .to_owned();
    for column in columns {
        index.col(Alias::new(*column));
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::Locked).default(false))
                    .to_owned(),
            )
            .await?;
        // `public` or `followers`: what the author chose. Whether a post is visible also
        // depends on whether its author is locked, which is read with it.
        manager
            .alter_table(
                Table::alter()
                    .table(Posts::Table)
                    .add_column(string_len(Posts::Visibility, 16).default("public"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ScheduledPosts::Table)
                    .add_column(string_len(ScheduledPosts::Visibility, 16).default("public"))
                    .to_owned(),
            )
            .await?;

        // `source` asks to follow, blocks or mutes `target`.
        for (table, source, target) in [
            ("follow_requests", "requester_id", "target_id"),
            ("blocks", "blocker_id", "blocked_id"),
            ("mutes", "muter_id", "muted_id"),
        ] {
            let (source, target) = (Alias::new(source), Alias::new(target));
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new(table))
                        // Time-ordered: lists sort on it.
                        .col(pk_uuid(Relation::Id))
                        .col(uuid(source.clone()))
                        .col(uuid(target.clone()))
                        .col(timestamp_with_time_zone(Relation::CreatedAt))
                        .foreign_key(&mut cascade(
                            (Alias::new(table), source.clone()),
                            (Users::Table, Users::Id),
                        ))
                        .foreign_key(&mut cascade(
                            (Alias::new(table), target.clone()),
                            (Users::Table, Users::Id),
                        ))
                        .to_owned(),
                )
                .await?;
            let (source, target) = (source.to_string(), target.to_string());
            // One row per pair; the visibility rule probes it by (source, target).
            manager
                .create_index(
                    index(&format!("idx_{table}_pair"), table, &[&source, &target])
                        .unique()
                        .to_owned(),
                )
                .await?;
            // The reverse direction (a block of the viewer by an author; requests to me).
            manager
                .create_index(index(
                    &format!("idx_{table}_{target}"),
                    table,
                    &[&target, &source],
                ))
                .await?;
            // The lists, by the id.
            manager
                .create_index(index(
                    &format!("idx_{table}_{source}_id"),
                    table,
                    &[&source, "id"],
                ))
                .await?;
            manager
                .create_index(index(
                    &format!("idx_{table}_{target}_id"),
                    table,
                    &[&target, "id"],
                ))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PostMentions::Table)
                    .col(uuid(PostMentions::PostId))
                    .col(uuid(PostMentions::UserId))
                    // Order of first appearance in the post.
                    .col(integer(PostMentions::Position))
                    .primary_key(
                        Index::create()
                            .col(PostMentions::PostId)
                            .col(PostMentions::UserId),
                    )
                    .foreign_key(&mut cascade(
                        (PostMentions::Table, PostMentions::PostId),
                        (Posts::Table, Posts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (PostMentions::Table, PostMentions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The posts mentioning an account, and the foreign key's deletes.
        manager
            .create_index(index(
                "idx_post_mentions_user_id",
                "post_mentions",
                &["user_id", "post_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommentMentions::Table)
                    .col(uuid(CommentMentions::CommentId))
                    .col(uuid(CommentMentions::UserId))
                    .col(integer(CommentMentions::Position))
                    .primary_key(
                        Index::create()
                            .col(CommentMentions::CommentId)
                            .col(CommentMentions::UserId),
                    )
                    .foreign_key(&mut cascade(
                        (CommentMentions::Table, CommentMentions::CommentId),
                        (Comments::Table, Comments::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CommentMentions::Table, CommentMentions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_comment_mentions_user_id",
                "comment_mentions",
                &["user_id", "comment_id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "comment_mentions",
            "post_mentions",
            "mutes",
            "blocks",
            "follow_requests",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        for (table, column) in [
            (
                ScheduledPosts::Table.into_iden(),
                ScheduledPosts::Visibility.into_iden(),
            ),
            (Posts::Table.into_iden(), Posts::Visibility.into_iden()),
            (Users::Table.into_iden(), Users::Locked.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
