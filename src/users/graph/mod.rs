//! The follow graph and the other relations between two accounts: follows, follow requests
//! to locked accounts, blocks and mutes, with the rules of [`crate::privacy`] on who may
//! follow whom.
//!
//! Every change to the relations of a pair of accounts locks the pair's two rows first, in
//! id order, and decides on what it reads afterwards: so a follow racing a block, or an
//! accepted request racing its cancellation, run one after the other, and the counters
//! move exactly with the rows.

pub mod routes;
pub mod service;
pub mod store;

pub use store::relations;
