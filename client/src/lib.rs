//! The Quarks chat client library. The client holds every user key (the node never
//! does), seals and opens envelopes, and talks to nodes over JSON-RPC. One module per
//! concern; the front ends (the `quarks` command line and terminal chat, crate
//! `quarks-cli` in `client/cli`) only parse, print and draw, and this library carries none
//! of their dependencies.
//!
//! - [`keystore`]: the passphrase-encrypted identity file.
//! - [`mls`]: this device's MLS groups (openmls), whose commits the chain orders.
//! - [`seal`]: envelope bodies: letters under one-time keys that MLS carries, commits and
//!   welcomes.
//! - [`chain`]: chain access (subxt over a reconnecting WebSocket); [`queries`]: what the
//!   client reads from it.
//! - [`hosts`]: mail hosts, the user's choice of them, and mailbox access.
//! - [`messenger`]: one identity's session, and this device's registration.
//! - [`conversations`]: conversations (1:1 and groups), their members and devices, each
//!   change an MLS commit the chain orders.
//! - [`send`]: sending at once, notarizing after (one anchor per block); [`deliveries`]:
//!   which recipients' receipts for what was sent the chain holds.
//! - [`engine`]: what a long-running front end runs on: following mail, anchoring what is
//!   sent, resending what no node took.
//! - [`inbox`]: reading with every check, notarization states, receipts.
//! - [`proofs`]: audits and non-repudiation proofs.
//! - [`contacts`]: safety numbers; [`invitation`]: `quarks:` links that name and verify a
//!   contact.
//! - [`store`]: the local store of envelopes sent and read, and their message keys.
//! - [`database`]: the local message database: conversations and their history.
//! - [`error`]: the client's errors.
//! - [`dev`]: the development identities' devices, which the development chains bind.

#![deny(missing_docs)]

pub mod at_rest;
pub mod bounties;
pub mod chain;
pub mod contacts;
pub mod conversations;
pub mod database;
pub mod deliveries;
pub mod dev;
pub mod engine;
pub mod error;
pub mod files;
pub mod hosts;
pub mod inbox;
pub mod invitation;
pub mod keystore;
pub mod messenger;
pub mod mls;
pub mod proofs;
pub mod queries;
pub mod seal;
pub mod send;
pub mod store;

/// Block numbers of the Quarks runtime.
pub type BlockNumber = u32;

/// The SS58 prefix of Quarks addresses.
pub const SS58_PREFIX: u16 = 7777;
