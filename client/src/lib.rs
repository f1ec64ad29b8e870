//! The Quarks chat client library. The client holds every user key (the node never
//! does), seals and opens envelopes, and talks to nodes over JSON-RPC.
//!
//! - [`keystore`]: the passphrase-encrypted identity file.
//! - [`seal`]: sealing and opening envelopes (end-to-end encryption and signatures).
//! - [`chain`]: chain access (subxt over a reconnecting WebSocket).
//! - [`hosts`]: mail hosts, the user's choice of them, and mailbox access.
//! - [`messenger`]: sending, groups with key rotation, reading with every check, receipts.
//! - [`audit`]: audits of anchors and receipts, and non-repudiation proofs.
//! - [`store`]: the local store of envelopes sent and read.
//! - [`dev`]: the development identities the `local` and `development` chains register.

#![deny(missing_docs)]

pub mod audit;
pub mod chain;
pub mod dev;
pub mod hosts;
pub mod keystore;
pub mod messenger;
pub mod seal;
pub mod store;

/// Block numbers of the Quarks runtime.
pub type BlockNumber = u32;
