//! The Quarks chat client library. The client holds every user key (the node never
//! does), seals and opens envelopes, and talks to nodes over JSON-RPC.
//!
//! Modules arrive with the capabilities they serve; see the project's issues.

#![deny(missing_docs)]

pub mod dev;
