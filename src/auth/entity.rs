//! The `auth_tokens`, `login_failures` and `oauth_app_tokens` tables.

pub mod token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        /// Hex SHA-256 of the bearer token.
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        /// Space-separated OAuth scopes; `None` for a token of Roost's own API, which may
        /// do everything.
        pub scopes: Option<String>,
        /// The OAuth app the token was issued to, if any.
        pub app_id: Option<Uuid>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod login_failure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_failures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Lower-cased address as typed, whether or not an account has it.
        pub email: String,
        pub failed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod app_token {
    //! `oauth_app_tokens`: tokens an OAuth app holds for itself (the client-credentials
    //! grant), which act for no account.

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_app_tokens")]
    pub struct Model {
        /// Hex SHA-256 of the bearer token.
        #[sea_orm(primary_key, auto_increment = false)]
        pub digest: String,
        pub app_id: Uuid,
        /// Space-separated OAuth scopes.
        pub scopes: String,
        pub created_at: DateTimeUtc,
        /// `None`: until revoked.
        pub expires_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
