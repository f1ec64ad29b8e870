//! Which host endpoints this node connects to.
//!
//! The chain refuses an endpoint that names a private address unless the network allows
//! them, but it cannot resolve names: a host's operator could name one that resolves to
//! 127.0.0.1 or 10.0.0.5 and aim every node's pushes at the services there. So this node
//! resolves every admitted host's endpoint (a new one at the block that admits it, then
//! every 30 s) and records in its offchain storage whether it may connect there: only if
//! every address the name resolves to is public, or the network allows private endpoints.
//! The direct push and the relay worker post only to endpoints allowed by a check at most
//! [`ENDPOINT_CHECK_MS`] old.
//!
//! [`ENDPOINT_CHECK_MS`]: quarks_primitives::relay_queue::ENDPOINT_CHECK_MS

use super::relay_queue::RelayQueue;
use crate::client::FullClient;
use codec::Decode;
use futures::StreamExt;
use quarks_primitives::{
	endpoint::{endpoint_host, resolves_public},
	relay_queue::EndpointCheck,
};
use quarks_runtime::Runtime;
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_blockchain::HeaderBackend;
use sp_core::{offchain::OffchainStorage, storage::StorageKey};
use std::{
	collections::{BTreeSet, HashMap},
	sync::Arc,
	time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// How often every host's endpoint is checked again.
const CHECK_EVERY: Duration = Duration::from_secs(30);
/// How long one name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Milliseconds since the Unix epoch, the offchain worker's clock.
pub fn unix_millis() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Whether this node may connect to `endpoint`: its host is a public address, or a name
/// whose every address is public; `None` if its name does not resolve now (a failed lookup
/// says nothing of where it points).
pub async fn is_public_endpoint(endpoint: &[u8]) -> Option<bool> {
	let endpoint = endpoint.to_vec();
	let lookup = tokio::task::spawn_blocking(move || resolves_public(&endpoint));
	tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await.ok()?.ok()?
}

/// Checks every admitted host's endpoint, recording each check in `queue`'s storage: an
/// endpoint new at the best block at once (a host that moved is pushed to within a block),
/// the others every [`CHECK_EVERY`]. A name that does not resolve gets no new check: its
/// last one ages out, and the worker waits for it without counting attempts.
pub async fn check_endpoints<S: OffchainStorage>(
	client: Arc<FullClient>,
	queue: Arc<RelayQueue<S>>,
) {
	let mut blocks = client.import_notification_stream();
	let mut checked: HashMap<Vec<u8>, Instant> = HashMap::new();
	let mut refused = BTreeSet::new();
	loop {
		let (allow_private, endpoints) = admitted_endpoints(&client);
		checked.retain(|endpoint, _| endpoints.contains(endpoint));
		refused.retain(|endpoint| endpoints.contains(endpoint));
		let due = endpoints
			.into_iter()
			.filter(|endpoint| checked.get(endpoint).is_none_or(|at| at.elapsed() >= CHECK_EVERY));
		// Stamped before the names resolve, and all at once: slow names delay no check.
		let checked_at = unix_millis();
		let checks: Vec<(Vec<u8>, Option<bool>)> = futures::stream::iter(due)
			.map(|endpoint| async move {
				let allowed = match endpoint_host(&endpoint) {
					None => Some(false),
					Some(_) if allow_private => Some(true),
					Some(_) => is_public_endpoint(&endpoint).await,
				};
				(endpoint, allowed)
			})
			.buffer_unordered(16)
			.collect()
			.await;
		for (endpoint, allowed) in checks {
			checked.insert(endpoint.clone(), Instant::now());
			let shown = String::from_utf8_lossy(&endpoint).into_owned();
			let Some(allowed) = allowed else {
				log::debug!(target: "quarks-push", "host endpoint {shown} does not resolve now");
				continue;
			};
			if !allowed && refused.insert(endpoint.clone()) {
				log::warn!(target: "quarks-push", "not connecting to host endpoint {shown}: it is malformed or resolves to an address that is not public");
			} else if allowed && refused.remove(&endpoint) {
				log::info!(target: "quarks-push", "host endpoint {shown} may be connected to again");
			}
			queue.record_endpoint_check(&endpoint, EndpointCheck { allowed, checked_at });
		}
		// The next block, or the next round of checks if blocks stop.
		let _ = tokio::time::timeout(CHECK_EVERY, blocks.next()).await;
	}
}

/// Whether the network allows private endpoints, and every admitted host's endpoint, at the
/// best block.
fn admitted_endpoints(client: &FullClient) -> (bool, BTreeSet<Vec<u8>>) {
	use frame_support::storage::StoragePrefixedMap;
	let best = client.info().best_hash;
	let read = |key: Vec<u8>| client.storage(best, &StorageKey(key)).ok().flatten();
	let allow_private =
		read(pallet_quarks_hosts::AllowPrivateEndpoints::<Runtime>::hashed_key().to_vec())
			.and_then(|data| bool::decode(&mut &data.0[..]).ok())
			.unwrap_or(false);
	let prefix = StorageKey(pallet_quarks_hosts::Hosts::<Runtime>::final_prefix().to_vec());
	let endpoints = client
		.storage_pairs(best, Some(&prefix), None)
		.map(|pairs| {
			pairs
				// The endpoint leads the record: read alone, it outlives changes to the rest.
				.filter_map(|(key, data)| {
					let endpoint = Vec::<u8>::decode(&mut &data.0[..]);
					endpoint
						.map_err(
							|e| log::warn!(target: "quarks-push", "host record {key:?} unread: {e}"),
						)
						.ok()
				})
				.collect()
		})
		.map_err(|e| log::warn!(target: "quarks-push", "host endpoints unread: {e}"))
		.unwrap_or_default();
	(allow_private, endpoints)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn a_name_that_resolves_to_loopback_is_not_public() {
		assert_eq!(is_public_endpoint(b"ws://localhost:9944").await, Some(false));
		assert_eq!(is_public_endpoint(b"http://127.0.0.1:9944").await, Some(false));
		assert_eq!(is_public_endpoint(b"https://[::1]/").await, Some(false));
		assert_eq!(is_public_endpoint(b"http://no-such-name.invalid").await, None, "unresolved");
		assert_eq!(is_public_endpoint(b"https://93.184.216.34/rpc").await, Some(true));
	}
}
