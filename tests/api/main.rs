//! Black-box HTTP tests: each one starts the real application on a fresh database and talks
//! to it over TCP. Every scenario runs on SQLite, and on PostgreSQL too when
//! `ROOST_TEST_POSTGRES_URL` is set.

mod helpers;
mod images;
mod ordered_json;
mod privacy_steps;
mod sse;

mod auth;
mod avatars;
mod comments;
mod dead_tokens;
mod docs;
mod early_answers;
mod errors;
mod faults;
mod feed;
mod follows;
mod guide;
mod hostile;
mod likes;
mod limits;
mod mastodon;
mod media;
mod migrations;
mod notifications;
mod object_storage;
mod ops;
mod posts;
mod privacy;
mod privacy_races;
mod queries;
mod scheduled;
mod shared_budgets;
mod stream;
mod stream_processes;
mod tags;
mod users;
mod visibility_walk;
