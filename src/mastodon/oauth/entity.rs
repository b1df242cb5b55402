//! The `oauth_apps` and `oauth_codes` tables (an app's own tokens are
//! [`crate::auth::entity::app_token`], since the extractors read them).

pub mod app {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_apps")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub client_id: String,
        /// Hex SHA-256 of the client secret.
        pub client_secret_hash: String,
        pub name: String,
        /// One URI per line.
        pub redirect_uris: String,
        /// Space-separated scopes the app may ask for.
        pub scopes: String,
        pub website: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// The registered redirect URIs.
        pub fn redirect_uris(&self) -> Vec<&str> {
            self.redirect_uris
                .lines()
                .filter(|uri| !uri.is_empty())
                .collect()
        }
    }
}

pub mod code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_codes")]
    pub struct Model {
        /// Hex SHA-256 of the code.
        #[sea_orm(primary_key, auto_increment = false)]
        pub digest: String,
        pub app_id: Uuid,
        pub user_id: Uuid,
        pub redirect_uri: String,
        /// Space-separated scopes granted.
        pub scopes: String,
        /// PKCE S256: base64url(SHA-256(verifier)), when the app sent one.
        pub code_challenge: Option<String>,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
