//! The Mastodon-compatible client API, on its own listener: one file per area.

mod accounts;
mod instance;
mod listener;
mod notifications;
mod oauth;
mod statuses;
mod streaming;
