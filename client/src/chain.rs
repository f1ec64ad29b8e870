//! Chain access over one reconnecting WebSocket: subxt (dynamic API) for extrinsics,
//! runtime APIs and events, and the same JSON-RPC connection for the
//! `quarks_*` methods of nodes and hosts.
//!
//! Reads default to the latest *finalized* block: what the client calls final or proven (an
//! anchor, a receipt, a key's validity) is never taken from a block that may be reverted.
//! An anchor in the best chain is read there ([`At::Best`]) and shown as such.

use crate::BlockNumber;
use codec::Decode;
use quarks_primitives::hosting::RATE_LIMITED;
use serde::de::DeserializeOwned;
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::{sync::Arc, time::Duration};
use subxt::{
	backend::LegacyBackend,
	client::OnlineClientAtBlock,
	config::SubstrateConfig,
	dynamic::Value,
	rpcs::{
		client::{
			reconnecting_rpc_client::ExponentialBackoff, rpc_params, RawRpcFuture,
			RawRpcSubscription, RawValue, ReconnectingRpcClient, RpcClient, RpcClientT, RpcParams,
			RpcSubscription,
		},
		Error as RpcError,
	},
	transactions::Signer,
	utils::MultiSignature,
	OnlineClient,
};

pub mod failover;
pub mod failures;
pub mod finality;
mod funds;
pub mod proven;
mod transactions;
pub mod vocabulary;
use failover::{Failover, Nodes};
pub use failures::Failure;
pub use funds::{Holdings, NotAnAmount, Qrk};
use vocabulary::{Constant, Event, RuntimeApi};

/// The subxt client type used throughout.
pub type Api = OnlineClient<SubstrateConfig>;

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// The node could not be reached.
	#[error("cannot connect to {url}: {reason}")]
	Connect {
		/// The endpoint.
		url: String,
		/// What went wrong.
		reason: String,
	},
	/// A request failed (transport, or an error answer from the node).
	#[error("{0}")]
	Rpc(String),
	/// The node runs a runtime that lacks what this client uses (docs/operations.md,
	/// "Which client speaks which runtime").
	#[error(
		"the node runs runtime version {spec_version}, which this quarks {} cannot speak: it lacks {}. Use the quarks release made for that runtime (docs/operations.md, \"Which client speaks which runtime\")",
		env!("CARGO_PKG_VERSION"),
		.missing.join(", ")
	)]
	Incompatible {
		/// The runtime's `spec_version`.
		spec_version: u32,
		/// What it lacks, as `kind Pallet::name`.
		missing: Vec<String>,
	},
	/// The transaction pool refused the transaction (bad nonce, invalid).
	#[error("transaction refused: {0}")]
	Refused(String),
	/// The signing account cannot pay the transaction's fee.
	#[error(
		"account {account} cannot pay for this: it holds {free} and needs about {needed} (the fee, and the least an account keeps). Ask someone on this network to send it some: `quarks pay {account} 1` from their account"
	)]
	NoFunds {
		/// The account, as an address.
		account: String,
		/// What it holds.
		free: Qrk,
		/// What the transaction needs it to hold.
		needed: Qrk,
	},
	/// The transaction was included but failed; or, for a deposit the account cannot
	/// hold, would have, and was not submitted.
	#[error("the chain refused this: {0}")]
	Dispatch(Failure),
	/// The chain answered with data this client cannot decode.
	#[error("unexpected answer from the chain: {0}")]
	Decode(String),
	/// The node's proof that a block is final does not check.
	#[error("the node did not prove finality: {0}")]
	Finality(#[from] finality::FinalityError),
	/// A value the node read does not match its Merkle proof against a final block.
	#[error("the node's answer does not match its proof: {0}")]
	Unproven(String),
}

impl ChainError {
	/// Whether the node could not be reached or did not answer (it may be restarting): the
	/// same request may succeed later, and nothing was refused.
	pub fn is_transport(&self) -> bool {
		matches!(self, Self::Connect { .. } | Self::Rpc(_))
	}

	/// Whether a transaction failed on chain with pallet error `error`
	/// ([`failures::ALREADY_ANCHORED_IN_BLOCK`], …).
	pub fn is_pallet_error(&self, error: failures::PalletError) -> bool {
		matches!(self, Self::Dispatch(failure) if failure.is(error))
	}
}

fn rpc_error(e: impl std::fmt::Display) -> ChainError {
	ChainError::Rpc(e.to_string())
}

/// How long a transaction submission waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
	/// Until it is in a best block.
	InBlock,
	/// Until that block is finalized.
	Finalized,
}

/// A step of a transaction's progress, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
	/// The envelope was handed to the node, which relays it once anchored.
	Relaying,
	/// Accepted by the node's pool.
	Submitted,
	/// Sent to peers.
	Broadcast,
	/// In a best block.
	InBlock(BlockNumber),
	/// In a finalized block.
	Finalized(BlockNumber),
}

/// Which block a read looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum At {
	/// The latest finalized block.
	Finalized,
	/// The node's best block, which may still be reverted.
	Best,
}

/// One event, with its fields SCALE-encoded.
#[derive(Clone, Debug)]
pub struct ChainEvent {
	/// The pallet's name in the runtime (`Messaging`, …).
	pub pallet: String,
	/// The event's name (`Anchored`, …).
	pub name: String,
	/// The encoded fields.
	pub fields: Vec<u8>,
}

impl ChainEvent {
	/// Whether this is `pallet::name`.
	pub fn is(&self, pallet: &str, name: &str) -> bool {
		self.pallet == pallet && self.name == name
	}

	/// The fields decoded as `T`.
	pub fn decode<T: Decode>(&self) -> Result<T, ChainError> {
		T::decode(&mut &self.fields[..])
			.map_err(|e| ChainError::Decode(format!("{}::{}: {e}", self.pallet, self.name)))
	}
}

/// A transaction in a block.
#[derive(Clone, Debug)]
pub struct Included {
	/// The block.
	pub block_hash: H256,
	/// Its number.
	pub block_number: BlockNumber,
	/// Whether the block was finalized when this returned.
	pub finalized: bool,
	/// The transaction's events.
	pub events: Vec<ChainEvent>,
}

impl Included {
	/// The first event `pallet::name`, decoded.
	pub fn event<T: Decode>(&self, event: Event) -> Result<T, ChainError> {
		let Event(pallet, name) = event;
		self.events
			.iter()
			.find(|e| e.is(pallet, name))
			.ok_or_else(|| ChainError::Decode(format!("no {pallet}::{name} event")))?
			.decode()
	}
}

/// Signs transactions with an account's sr25519 key.
struct AccountSigner<'a>(&'a sr25519::Pair);

impl Signer<SubstrateConfig> for AccountSigner<'_> {
	fn account_id(&self) -> subxt::utils::AccountId32 {
		subxt::utils::AccountId32(self.0.public().0)
	}

	fn sign(&self, payload: &[u8]) -> MultiSignature {
		MultiSignature::Sr25519(self.0.sign(payload).0)
	}
}

/// The longest wait between two attempts to reach a node again.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(8);
/// How long the first connection to a node may take, attempts included.
const FIRST_CONNECT_WAIT: Duration = Duration::from_secs(15);

/// A JSON-RPC connection to one node (a host's, for mailbox access), re-established
/// with exponential backoff when it drops; a call refused for its caller's rate is
/// made again after a pause ([`Paced`]).
#[derive(Clone)]
pub struct NodeRpc {
	rpc: RpcClient,
}

impl NodeRpc {
	/// Connects to `url` (`ws://…` or `wss://…`).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		Ok(Self { rpc: RpcClient::new(Paced::new(Self::reconnecting(url).await?)) })
	}

	async fn reconnecting(url: &str) -> Result<ReconnectingRpcClient, ChainError> {
		// Tries again after 0.5 s, doubling up to 8 s: subxt's default
		// (10 ms, 100 ms, 1 s, 10 s, then 60 s) leaves a client blind for a minute after its
		// node restarts.
		let retries = ExponentialBackoff::from_millis(2).factor(250).max_delay(MAX_RECONNECT_WAIT);
		// The policy governs the first connection too: one that cannot be made in time is
		// an error, not a wait for ever.
		// No redirects: a host that passed the check of where it resolves could otherwise
		// send the client on to an address on the client's own network. (jsonrpsee counts
		// the first connection among its "redirections".)
		let connecting = ReconnectingRpcClient::builder()
			.retry_policy(retries)
			.max_redirections(1)
			.connection_timeout(Duration::from_secs(10))
			.request_timeout(Duration::from_secs(60))
			.build(url);
		let failed = |reason: String| ChainError::Connect { url: url.to_owned(), reason };
		tokio::time::timeout(FIRST_CONNECT_WAIT, connecting)
			.await
			.map_err(|_| failed(format!("no answer within {FIRST_CONNECT_WAIT:?}")))?
			.map_err(|e| failed(e.to_string()))
	}

	/// Calls JSON-RPC `method`.
	pub async fn request<R: DeserializeOwned>(
		&self,
		method: &str,
		params: RpcParams,
	) -> Result<R, ChainError> {
		self.rpc.request(method, params).await.map_err(rpc_error)
	}

	/// Whether the node says it is still catching up with its peers.
	pub async fn is_syncing(&self) -> Result<bool, ChainError> {
		let health: serde_json::Value = self.request("system_health", rpc_params![]).await?;
		Ok(health["isSyncing"].as_bool().unwrap_or(false))
	}

	/// Subscribes to JSON-RPC `method`, cancelled with `unsubscribe`.
	pub async fn subscribe<R: DeserializeOwned>(
		&self,
		method: &str,
		params: RpcParams,
		unsubscribe: &str,
	) -> Result<RpcSubscription<R>, ChainError> {
		self.rpc.subscribe(method, params, unsubscribe).await.map_err(rpc_error)
	}
}

/// Makes a call refused for its caller's rate again after a pause, doubling from
/// `first_pause` up to `attempts` times, then answers what the node last said: a budget
/// refills within a second or so, and a user should not see a refusal that waiting ends.
struct Paced<C> {
	inner: C,
	first_pause: Duration,
	attempts: u32,
}

impl<C> Paced<C> {
	fn new(inner: C) -> Self {
		Self { inner, first_pause: Duration::from_millis(250), attempts: 5 }
	}

	async fn again<T, F>(&self, mut call: impl FnMut() -> F) -> Result<T, RpcError>
	where
		F: std::future::Future<Output = Result<T, RpcError>>,
	{
		let mut pause = self.first_pause;
		for _ in 0..self.attempts {
			match call().await {
				Err(RpcError::User(refused)) if refused.code == RATE_LIMITED => {
					tokio::time::sleep(pause).await;
					pause = pause.saturating_mul(2);
				}
				answer => return answer,
			}
		}
		call().await
	}
}

impl<C: RpcClientT> RpcClientT for Paced<C> {
	fn request_raw<'a>(
		&'a self,
		method: &'a str,
		params: Option<Box<RawValue>>,
	) -> RawRpcFuture<'a, Box<RawValue>> {
		Box::pin(self.again(move || self.inner.request_raw(method, params.clone())))
	}

	fn subscribe_raw<'a>(
		&'a self,
		sub: &'a str,
		params: Option<Box<RawValue>>,
		unsub: &'a str,
	) -> RawRpcFuture<'a, RawRpcSubscription> {
		Box::pin(self.again(move || self.inner.subscribe_raw(sub, params.clone(), unsub)))
	}
}

/// A connection to one node, for chain state and transactions.
#[derive(Clone)]
pub struct Chain {
	api: Api,
	rpc: NodeRpc,
	/// Held from reading an account's next nonce until the pool took the transaction that
	/// uses it: two transactions through this connection (or its clones) at once take two
	/// nonces.
	submitting: Arc<tokio::sync::Mutex<()>>,
	/// What this connection proved final, and the checkpoint it proves from.
	finality: Arc<proven::Finality>,
	/// The nodes it may ask.
	nodes: Arc<Nodes>,
}

impl Chain {
	/// Connects to the node at `url` (`ws://…` or `wss://…`), or to several given as
	/// `url,url,…`: each call goes to one that answers, and what one node's answer failed
	/// to prove is asked of the next.
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let urls: Vec<&str> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
		if let [one] = urls[..] {
			let rpc = NodeRpc::connect(one).await?;
			let nodes = Nodes::new(vec![one.to_owned()]);
			return Self::over(rpc, nodes).await.map_err(|e| match e {
				ChainError::Rpc(reason) => ChainError::Connect { url: url.to_owned(), reason },
				e => e,
			});
		}
		let connecting = urls.iter().map(|url| NodeRpc::reconnecting(url));
		let mut reached = Vec::new();
		let mut failed = Vec::new();
		for (url, client) in urls.iter().zip(futures::future::join_all(connecting).await) {
			match client {
				Ok(client) => reached.push(((*url).to_owned(), client)),
				Err(e) => failed.push(e.to_string()),
			}
		}
		if reached.is_empty() {
			let reason = if failed.is_empty() { "no URL given".into() } else { failed.join("; ") };
			return Err(ChainError::Connect { url: url.to_owned(), reason });
		}
		let (urls, clients): (Vec<String>, Vec<_>) = reached.into_iter().unzip();
		let clients = clients.into_iter().map(|c| Box::new(c) as Box<dyn RpcClientT>).collect();
		Self::over_clients(urls, clients).await
	}

	/// Talks to a node through `client`: a connection of the caller's making (a proxy, or
	/// a test's node that lies).
	pub async fn over_client(client: impl RpcClientT) -> Result<Self, ChainError> {
		Self::over_clients(vec!["node".into()], vec![Box::new(client)]).await
	}

	/// Talks to several nodes through `clients`, named by `urls`, failing over in order.
	pub async fn over_clients(
		urls: Vec<String>,
		clients: Vec<Box<dyn RpcClientT>>,
	) -> Result<Self, ChainError> {
		let nodes = Nodes::new(urls);
		let failover = Failover { nodes: nodes.clone(), clients };
		Self::over(NodeRpc { rpc: RpcClient::new(Paced::new(failover)) }, nodes).await
	}

	async fn over(rpc: NodeRpc, nodes: Arc<Nodes>) -> Result<Self, ChainError> {
		// The legacy backend (state_call, author_submitAndWatchExtrinsic): runtime calls
		// over the chainHead backend did not answer on stable2609 nodes.
		let backend = LegacyBackend::<SubstrateConfig>::builder().build(rpc.rpc.clone());
		let api = Api::from_backend(Arc::new(backend)).await.map_err(rpc_error)?;
		// The runtime transactions are built for: the best block's.
		let best: H256 = rpc.request("chain_getBlockHash", rpc_params![]).await?;
		let now = api.at_block(subxt::utils::H256(best.0)).await.map_err(rpc_error)?;
		let missing = vocabulary::missing(now.metadata_ref());
		if !missing.is_empty() {
			if rpc.is_syncing().await? {
				return Err(ChainError::Rpc(
					"the node is still catching up with its peers, at a runtime this client cannot speak: try again once it has".into(),
				));
			}
			return Err(ChainError::Incompatible { spec_version: now.spec_version(), missing });
		}
		Ok(Self { api, rpc, submitting: Arc::default(), finality: Arc::default(), nodes })
	}

	/// The nodes this connection may ask, and the answers of theirs it refused.
	pub fn nodes(&self) -> &Arc<Nodes> {
		&self.nodes
	}

	/// The JSON-RPC connection, for the `quarks_*` methods.
	pub fn rpc(&self) -> &NodeRpc {
		&self.rpc
	}

	/// The genesis hash, which signed mailbox requests and proofs name.
	pub fn genesis(&self) -> H256 {
		H256(self.api.genesis_hash().0)
	}

	/// Whether the node says it is still catching up with its peers (it just started).
	pub async fn is_syncing(&self) -> Result<bool, ChainError> {
		self.rpc.is_syncing().await
	}

	/// The chain's block time (its Aura slot), in milliseconds.
	pub async fn block_time_ms(&self) -> Result<u64, ChainError> {
		self.runtime_api(vocabulary::SLOT_DURATION, &[]).await
	}

	/// The latest finalized block number.
	pub async fn finalized(&self) -> Result<BlockNumber, ChainError> {
		let at = self.at(At::Finalized).await?;
		block_number(at.block_number())
	}

	/// The hash of block `number` on the finalized chain, proven, if it exists yet.
	pub async fn finalized_hash(&self, number: BlockNumber) -> Result<Option<H256>, ChainError> {
		Ok(self.proven_final(number).await?.map(|block| block.hash))
	}

	/// The encoded extrinsics of finalized block `number`, if the node serves its body,
	/// checked against the proven header's extrinsics root.
	pub async fn block_extrinsics(
		&self,
		number: BlockNumber,
	) -> Result<Option<Vec<Vec<u8>>>, ChainError> {
		let Some(block) = self.proven_final(number).await? else { return Ok(None) };
		let (hash, extrinsics_root) = (block.hash, block.extrinsics_root);
		let block: serde_json::Value =
			self.rpc.request("chain_getBlock", rpc_params![hash]).await?;
		let Some(extrinsics) = block["block"]["extrinsics"].as_array() else { return Ok(None) };
		let malformed = || ChainError::Rpc(format!("block {number}: a malformed extrinsic"));
		let extrinsics: Vec<Vec<u8>> = extrinsics
			.iter()
			.map(|hex| {
				hex.as_str().and_then(|hex| array_bytes::hex2bytes(hex).ok()).ok_or_else(malformed)
			})
			.collect::<Result<_, _>>()?;
		proven::check_extrinsics(&extrinsics, &extrinsics_root)?;
		Ok(Some(extrinsics))
	}

	/// The latest block number of `at`.
	pub async fn block_number(&self, at: At) -> Result<BlockNumber, ChainError> {
		match at {
			At::Finalized => self.finalized().await,
			At::Best => {
				let header: serde_json::Value =
					self.rpc.request("chain_getHeader", rpc_params![]).await?;
				header["number"]
					.as_str()
					.and_then(|n| BlockNumber::from_str_radix(n.trim_start_matches("0x"), 16).ok())
					.ok_or_else(|| ChainError::Decode(format!("best header: {header}")))
			}
		}
	}

	/// Calls runtime API `method` (`HostingApi_anchor`, …) with encoded `args` at the
	/// finalized block, and decodes the answer.
	pub async fn runtime_api<R: Decode>(
		&self,
		api: RuntimeApi,
		args: &[u8],
	) -> Result<R, ChainError> {
		self.runtime_api_at(At::Finalized, api, args).await
	}

	/// As [`Self::runtime_api`], at block `at`.
	pub async fn runtime_api_at<R: Decode>(
		&self,
		at: At,
		api: RuntimeApi,
		args: &[u8],
	) -> Result<R, ChainError> {
		let method = api.method();
		let block = self.at(at).await?;
		let bytes = block.runtime_apis().call_raw(&method, Some(args)).await.map_err(rpc_error)?;
		R::decode(&mut &bytes[..]).map_err(|e| ChainError::Decode(format!("{method}: {e}")))
	}

	/// The chain as of the latest finalized or best block.
	async fn at(&self, at: At) -> Result<OnlineClientAtBlock<SubstrateConfig>, ChainError> {
		match at {
			At::Finalized => self.api.at_current_block().await.map_err(rpc_error),
			At::Best => {
				let best: H256 = self.rpc.request("chain_getBlockHash", rpc_params![]).await?;
				self.api.at_block(subxt::utils::H256(best.0)).await.map_err(rpc_error)
			}
		}
	}

	/// Runtime constant `pallet::name`, decoded.
	pub async fn constant<R: Decode>(&self, constant: Constant) -> Result<R, ChainError> {
		let Constant(pallet, name) = constant;
		let at = self.at(At::Finalized).await?;
		let address = subxt::dynamic::constant::<Value>(pallet, name);
		let bytes = at.constants().entry_bytes(address).map_err(rpc_error)?;
		R::decode(&mut &bytes[..]).map_err(|e| ChainError::Decode(format!("{pallet}::{name}: {e}")))
	}
}

fn block_number(number: u64) -> Result<BlockNumber, ChainError> {
	BlockNumber::try_from(number).map_err(|_| ChainError::Decode(format!("block number {number}")))
}

/// An account as a dynamic value.
pub fn account_value(account: &AccountId32) -> Value {
	Value::from_bytes(<[u8; 32]>::from(account.clone()))
}

/// A hash as a dynamic value.
pub fn hash_value(hash: &H256) -> Value {
	Value::from_bytes(hash.0)
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::sync::atomic::{AtomicU32, Ordering};
	use subxt::rpcs::UserError;

	/// A node that refuses the first `refusals` calls with `code`, then answers.
	struct Node {
		refusals: u32,
		code: i32,
		calls: AtomicU32,
	}

	impl RpcClientT for Node {
		fn request_raw<'a>(
			&'a self,
			_method: &'a str,
			_params: Option<Box<RawValue>>,
		) -> RawRpcFuture<'a, Box<RawValue>> {
			let call = self.calls.fetch_add(1, Ordering::SeqCst);
			let answer = if call < self.refusals {
				Err(RpcError::User(UserError { code: self.code, message: "no".into(), data: None }))
			} else {
				Ok(RawValue::from_string("\"answer\"".into()).expect("JSON"))
			};
			Box::pin(async move { answer })
		}

		fn subscribe_raw<'a>(
			&'a self,
			_sub: &'a str,
			_params: Option<Box<RawValue>>,
			_unsub: &'a str,
		) -> RawRpcFuture<'a, RawRpcSubscription> {
			Box::pin(async { Err(RpcError::Client("this node only answers calls".into())) })
		}
	}

	fn paced(refusals: u32, code: i32) -> Paced<Node> {
		let node = Node { refusals, code, calls: AtomicU32::new(0) };
		Paced { inner: node, first_pause: Duration::from_millis(1), attempts: 5 }
	}

	#[tokio::test]
	async fn a_call_refused_for_its_rate_is_made_again_until_answered() {
		let client = paced(3, RATE_LIMITED);
		let answer = client.request_raw("system_name", None).await.expect("answered");
		assert_eq!(answer.get(), "\"answer\"");
		assert_eq!(client.inner.calls.load(Ordering::SeqCst), 4);
	}

	#[tokio::test]
	async fn the_refusal_is_answered_once_the_attempts_are_spent() {
		let client = paced(u32::MAX, RATE_LIMITED);
		let refused = client.request_raw("system_name", None).await.expect_err("refused");
		assert!(matches!(refused, RpcError::User(e) if e.code == RATE_LIMITED));
		assert_eq!(client.inner.calls.load(Ordering::SeqCst), 6);
	}

	/// A server that answers the WebSocket handshake with a redirect is not followed where
	/// it points: a host would otherwise send the client past the check of where the
	/// host's own name resolves, on to an address of the client's network.
	#[tokio::test(flavor = "multi_thread")]
	async fn a_redirect_is_not_followed() {
		use std::{
			io::{Read, Write},
			net::TcpListener,
		};
		let target = TcpListener::bind("127.0.0.1:0").expect("binds");
		target.set_nonblocking(true).expect("non-blocking");
		let location = format!("ws://{}/", target.local_addr().expect("bound"));
		let redirecting = TcpListener::bind("127.0.0.1:0").expect("binds");
		let url = format!("ws://{}", redirecting.local_addr().expect("bound"));
		let asked = Arc::new(AtomicU32::new(0));
		let counted = asked.clone();
		std::thread::spawn(move || {
			for mut connection in redirecting.incoming().flatten() {
				counted.fetch_add(1, Ordering::SeqCst);
				let _ = connection.read(&mut [0; 4096]);
				let answer = format!(
					"HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
				);
				let _ = connection.write_all(answer.as_bytes());
			}
		});
		assert!(NodeRpc::connect(&url).await.is_err(), "a redirect is no node");
		assert!(asked.load(Ordering::SeqCst) > 0, "the client tried the server it was given");
		assert!(target.accept().is_err(), "the client followed the redirect");
	}

	#[tokio::test]
	async fn other_refusals_are_answered_at_once() {
		let client = paced(1, 9041);
		let refused = client.request_raw("quarks_fetchMailbox", None).await.expect_err("refused");
		assert!(matches!(refused, RpcError::User(e) if e.code == 9041));
		assert_eq!(client.inner.calls.load(Ordering::SeqCst), 1);
	}
}
