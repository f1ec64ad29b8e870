//! Quarks off chain, in the node: delivery never waits for a block.
//!
//! - [`relay_queue`]: submissions the node accepted, kept in its offchain storage for the
//!   messaging pallet's relay worker, which guarantees delivery.
//! - [`direct_push`]: the fast path — each submission pushed at once to every host of
//!   every recipient.
//! - [`endpoints`]: which host endpoints the node connects to: names that resolve to
//!   public addresses only, unless the network allows private ones.
//! - [`host`] and [`host_store`]: the mail host of a node started with `--host`, keeping
//!   envelopes pending, anchored and final, and telling subscribers as they change.
//! - [`chain_view`]: the runtime's answers admission rests on, one rule and one cache for
//!   the node's submissions and the host's envelopes.
//! - [`sender_limits`]: per-sender admission rates, for nodes and hosts.
//! - [`submissions`]: submissions opened, their signatures checked a request at a time.
//! - [`rpc`] and [`error`]: the `quarks_*` methods and their error codes (docs/rpc.md).
//! - [`metrics`]: Quarks' Prometheus metrics.
//!
//! [`start`] starts them for the node's service.

pub mod chain_view;
pub mod direct_push;
pub mod endpoints;
pub mod error;
pub mod host;
pub mod host_store;
pub mod metrics;
pub mod relay_queue;
pub mod rpc;
pub mod sender_limits;
pub mod submissions;

pub use host::{Host, HostConfig};

use crate::client::{FullBackend, FullClient, OffchainStorage};
use sc_client_api::Backend as _;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use std::sync::Arc;

/// Starts the node's Quarks services: on a node with offchain storage, the relay queue
/// (journaled beside the chain's database) and the direct push, with their metrics; on a
/// node started with `--host`, the mail host. Returns them for the `quarks_*` methods.
pub fn start(
	config: &Configuration,
	client: Arc<FullClient>,
	backend: &FullBackend,
	host: Option<HostConfig>,
	task_manager: &TaskManager,
) -> Result<rpc::Services<FullClient, OffchainStorage>, ServiceError> {
	let spawner = task_manager.spawn_handle();
	let metrics = config.prometheus_registry().and_then(|registry| {
		metrics::Metrics::register(registry)
			.map(Arc::new)
			.map_err(|e| log::warn!("Quarks metrics not registered: {e}"))
			.ok()
	});
	let journal = config.base_path.config_dir(config.chain_spec.id()).join("quarks-relay");
	let best = client.chain_info().best_number;
	let relay = backend
		.offchain_storage()
		.map(|storage| relay_queue::RelayQueue::open(storage, &journal, best))
		.transpose()
		.map_err(|e| ServiceError::Other(e.to_string()))?
		.map(Arc::new);
	let push = relay.clone().map(|relay| {
		Arc::new(direct_push::DirectPush::new(relay, metrics.clone(), spawner.clone()))
	});
	if let Some(relay) = &relay {
		let checks = endpoints::check_endpoints(client.clone(), relay.clone());
		spawner.spawn("quarks-endpoint-checks", Some("quarks"), checks);
	}
	if let (Some(relay), Some(metrics)) = (&relay, &metrics) {
		let report = relay_queue::report_metrics(relay.clone(), client.clone(), metrics.clone());
		spawner.spawn("quarks-relay-metrics", Some("quarks"), report);
	}
	let chain = Arc::new(chain_view::ChainCache::default());
	let host = match host {
		Some(config) => {
			let host = Host::new(client, config, chain.clone(), metrics.clone())
				.map_err(|e| ServiceError::Other(e.to_string()))?;
			spawner.spawn("quarks-host", Some("quarks"), host.clone().run());
			Some(host)
		}
		None => None,
	};
	Ok(rpc::Services::new(relay, push, host, chain, metrics))
}
