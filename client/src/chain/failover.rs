//! Several nodes behind one connection: calls go to the node in use, and to the next one
//! when it cannot be reached. A node whose answer fails its proof is left for the next one
//! too, and the disagreement kept for the user to see: the client believes only what it
//! proved, whichever node said it.

use parking_lot::Mutex;
use std::{
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::Duration,
};
use subxt::rpcs::{
	client::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClientT},
	Error as RpcError,
};

/// A node whose answer this client refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
	/// The node.
	pub url: String,
	/// What its answer failed.
	pub reason: String,
}

impl std::fmt::Display for Disagreement {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "node {} was not believed: {}", self.url, self.reason)
	}
}

/// Disagreements kept, the latest ones.
const MAX_DISAGREEMENTS: usize = 64;

/// How long a node may take to answer before the next one is asked: a node that went down
/// holds calls while its connection tries again.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The nodes one connection may use, and which one it uses now.
pub struct Nodes {
	urls: Vec<String>,
	current: AtomicUsize,
	/// The latest disagreements, and how many there were in all.
	disagreements: Mutex<(u64, Vec<Disagreement>)>,
}

impl Nodes {
	/// `urls`, the first in use.
	pub(super) fn new(urls: Vec<String>) -> Arc<Self> {
		Arc::new(Self { urls, current: AtomicUsize::new(0), disagreements: Mutex::default() })
	}

	/// How many there are.
	pub fn len(&self) -> usize {
		self.urls.len()
	}

	/// Whether there are none (never: a connection has at least one).
	pub fn is_empty(&self) -> bool {
		self.urls.is_empty()
	}

	/// The node in use.
	pub fn current(&self) -> &str {
		&self.urls[self.current.load(Ordering::SeqCst) % self.urls.len()]
	}

	/// Moves from node `from` to the next, unless another call moved already.
	fn next(&self, from: usize) {
		let to = (from + 1) % self.urls.len();
		let _ = self.current.compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst);
	}

	/// Records that the node in use answered what failed its proof, and moves on.
	pub(super) fn distrust(&self, reason: String) {
		let from = self.current.load(Ordering::SeqCst);
		let url = self.urls[from % self.urls.len()].clone();
		let mut kept = self.disagreements.lock();
		kept.0 += 1;
		kept.1.push(Disagreement { url, reason });
		if kept.1.len() > MAX_DISAGREEMENTS {
			kept.1.remove(0);
		}
		self.next(from);
	}

	/// The nodes whose answers failed their proofs, oldest first (the latest 64).
	pub fn disagreements(&self) -> Vec<Disagreement> {
		self.disagreements.lock().1.clone()
	}

	/// How many disagreements there were in all, and those of them after the first
	/// `seen` that are still kept: what a front end has not told its user yet.
	pub fn disagreements_since(&self, seen: u64) -> (u64, Vec<Disagreement>) {
		let (total, kept) = &*self.disagreements.lock();
		let new = total.saturating_sub(seen).min(kept.len() as u64) as usize;
		(*total, kept[kept.len() - new..].to_vec())
	}
}

/// One JSON-RPC client over several nodes' clients, in the order of [`Nodes`].
pub(super) struct Failover {
	pub(super) nodes: Arc<Nodes>,
	pub(super) clients: Vec<Box<dyn RpcClientT>>,
}

/// Whether `error` says the node could not be reached, rather than answering.
fn unreachable(error: &RpcError) -> bool {
	matches!(error, RpcError::Client(_) | RpcError::DisconnectedWillReconnect(_))
}

impl Failover {
	/// `call` to the node in use; to the next one while a node cannot be reached or, with
	/// another node to ask, does not answer within [`ANSWER_WITHIN`].
	async fn ask<'a, T>(
		&'a self,
		call: impl Fn(&'a dyn RpcClientT) -> RawRpcFuture<'a, T>,
	) -> Result<T, RpcError> {
		let mut failed = None;
		for _ in 0..self.clients.len() {
			let at = self.nodes.current.load(Ordering::SeqCst) % self.clients.len();
			let answer = if self.clients.len() < 2 {
				call(&*self.clients[at]).await
			} else {
				tokio::time::timeout(ANSWER_WITHIN, call(&*self.clients[at]))
					.await
					.unwrap_or_else(|_| Err(RpcError::Client("no answer in time".into())))
			};
			match answer {
				Err(error) if unreachable(&error) => {
					self.nodes.next(at);
					failed = Some(error);
				}
				answer => return answer,
			}
		}
		Err(failed.unwrap_or_else(|| RpcError::Client("no node to ask".into())))
	}
}

impl RpcClientT for Failover {
	fn request_raw<'a>(
		&'a self,
		method: &'a str,
		params: Option<Box<RawValue>>,
	) -> RawRpcFuture<'a, Box<RawValue>> {
		Box::pin(self.ask(move |client| client.request_raw(method, params.clone())))
	}

	fn subscribe_raw<'a>(
		&'a self,
		sub: &'a str,
		params: Option<Box<RawValue>>,
		unsub: &'a str,
	) -> RawRpcFuture<'a, RawRpcSubscription> {
		Box::pin(self.ask(move |client| client.subscribe_raw(sub, params.clone(), unsub)))
	}
}
