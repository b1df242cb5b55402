//! Notifications: every rule of the contract's "Notifications" section.
