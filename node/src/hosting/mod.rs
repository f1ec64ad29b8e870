//! Quarks off chain, in the node: delivery never waits for a block.
//!
//! - [`relay_queue`]: submissions the node accepted, kept in its offchain storage for the
//!   messaging pallet's relay worker, which guarantees delivery.
//! - [`direct_push`]: the fast path — each submission pushed at once to every host of
//!   every recipient.
//! - [`host`] and [`host_store`]: the mail host of a node started with `--host`, keeping
//!   envelopes pending, anchored and final, and telling subscribers as they change.
//! - [`sender_limits`]: per-sender admission rates, for nodes and hosts.
//! - [`rpc`] and [`error`]: the `quarks_*` methods and their error codes (docs/rpc.md).
//! - [`metrics`]: Quarks' Prometheus metrics.

pub mod direct_push;
pub mod error;
pub mod host;
pub mod host_store;
pub mod metrics;
pub mod relay_queue;
pub mod rpc;
pub mod sender_limits;

pub use host::{Host, HostConfig};
