//! The Quarks chat client library. The client holds every user key (the node never
//! does), seals and opens envelopes, and talks to nodes over JSON-RPC.
//!
//! - [`seal`]: sealing and opening envelopes (end-to-end encryption and signatures).
//! - [`dev`]: the development identities the `local` and `development` chains register.

#![deny(missing_docs)]

pub mod dev;
pub mod seal;
