//! The stream: every rule of the contract's "The stream (real-time)" section.
