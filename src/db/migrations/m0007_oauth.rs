//! The Mastodon-compatible API's OAuth 2: registered apps, authorization codes, the tokens
//! apps get for themselves, and on `auth_tokens` the scopes and app of a token issued
//! through OAuth. On PostgreSQL, also the sequence that deals out each process's id node
//! (see `db::ids`).

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
enum AuthTokens {
    Table,
    Scopes,
    AppId,
}

#[derive(DeriveIden)]
enum OauthApps {
    Table,
    Id,
    ClientId,
    ClientSecretHash,
    Name,
    RedirectUris,
    Scopes,
    Website,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthCodes {
    Table,
    Digest,
    AppId,
    UserId,
    RedirectUri,
    Scopes,
    CodeChallenge,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum OauthAppTokens {
    Table,
    Digest,
    AppId,
    Scopes,
    CreatedAt,
    ExpiresAt,
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

/// Longest scope list stored: every scope Mastodon defines, spelled out, fits.
const SCOPES_LEN: u32 = 1024;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Kept until deleted: apps cache their client id for ever.
        manager
            .create_table(
                Table::create()
                    .table(OauthApps::Table)
                    .col(pk_uuid(OauthApps::Id))
                    .col(string_len_uniq(OauthApps::ClientId, 64))
                    // SHA-256 of the secret, as for tokens.
                    .col(string_len(OauthApps::ClientSecretHash, 64))
                    .col(string_len(OauthApps::Name, 200))
                    // One URI per line.
                    .col(text(OauthApps::RedirectUris))
                    .col(string_len(OauthApps::Scopes, SCOPES_LEN))
                    .col(string_len_null(OauthApps::Website, 2048))
                    .col(timestamp_with_time_zone(OauthApps::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Single use and short-lived; the digest of the code is its key.
        manager
            .create_table(
                Table::create()
                    .table(OauthCodes::Table)
                    .col(string_len(OauthCodes::Digest, 64).primary_key())
                    .col(uuid(OauthCodes::AppId))
                    .col(uuid(OauthCodes::UserId))
                    .col(text(OauthCodes::RedirectUri))
                    .col(string_len(OauthCodes::Scopes, SCOPES_LEN))
                    // PKCE S256: base64url(SHA-256(verifier)), when the app sent one.
                    .col(string_len_null(OauthCodes::CodeChallenge, 128))
                    .col(timestamp_with_time_zone(OauthCodes::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (OauthCodes::Table, OauthCodes::AppId),
                        (OauthApps::Table, OauthApps::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (OauthCodes::Table, OauthCodes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_oauth_codes_app_id", "app_id"),
            ("idx_oauth_codes_user_id", "user_id"),
            ("idx_oauth_codes_expires_at", "expires_at"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(OauthCodes::Table)
                        .col(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        // Client-credentials tokens: an app acting for no account.
        manager
            .create_table(
                Table::create()
                    .table(OauthAppTokens::Table)
                    .col(string_len(OauthAppTokens::Digest, 64).primary_key())
                    .col(uuid(OauthAppTokens::AppId))
                    .col(string_len(OauthAppTokens::Scopes, SCOPES_LEN))
                    .col(timestamp_with_time_zone(OauthAppTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(OauthAppTokens::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (OauthAppTokens::Table, OauthAppTokens::AppId),
                        (OauthApps::Table, OauthApps::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_oauth_app_tokens_app_id")
                    .table(OauthAppTokens::Table)
                    .col(OauthAppTokens::AppId)
                    .to_owned(),
            )
            .await?;
        // A token's scopes (NULL: a token of Roost's own API, which may do everything) and
        // the app it was issued to. One ALTER per column: SQLite takes one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(AuthTokens::Table)
                    .add_column(string_len_null(AuthTokens::Scopes, SCOPES_LEN))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuthTokens::Table)
                    .add_column(uuid_null(AuthTokens::AppId))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("CREATE SEQUENCE IF NOT EXISTS roost_id_nodes")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP SEQUENCE IF EXISTS roost_id_nodes")
                .await?;
        }
        for column in [AuthTokens::AppId, AuthTokens::Scopes] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuthTokens::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in ["oauth_app_tokens", "oauth_codes", "oauth_apps"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
