//! The `quarks_*` JSON-RPC methods (docs/rpc.md). Status methods reveal who has mail
//! here, so they are unsafe: only for the operator (`--rpc-methods unsafe` or localhost).

use super::{
	error::QuarksError,
	relay::{QueuedEnvelope, RelayQueue},
	Host, Mail,
};
use codec::Decode;
use jsonrpsee::{
	core::{async_trait, RpcResult, SubscriptionResult},
	proc_macros::rpc,
	Extensions, PendingSubscriptionSink, SubscriptionMessage,
};
use parking_lot::Mutex;
use quarks_primitives::hosting::{BatchMembership, HostingApi};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sp_api::ProvideRuntimeApi;
use sp_core::{offchain::OffchainStorage, Bytes, H256};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// What a host keeps, in all and per user.
#[derive(serde::Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
	/// The operator account this host serves.
	pub operator: AccountId,
	/// Envelopes kept.
	pub envelopes: u32,
	/// Their bytes.
	pub bytes: u64,
	/// Per recipient: (account, envelopes, bytes).
	pub users: Vec<(AccountId, u32, u64)>,
}

/// The Quarks methods.
#[rpc(server, namespace = "quarks")]
pub trait QuarksApi {
	/// Hands a sealed envelope to this node for relay to its recipients' hosts; returns its
	/// hash. `batch` is the SCALE-encoded batch membership for a batch-anchored envelope.
	#[method(name = "submitEnvelope")]
	fn submit_envelope(&self, envelope: Bytes, batch: Option<Bytes>) -> RpcResult<H256>;

	/// Stores an anchored envelope on this host for its recipients who chose it; returns
	/// its hash, which is what relays take as confirmation.
	#[method(name = "hostEnvelope")]
	async fn host_envelope(&self, envelope: Bytes, batch: Option<Bytes>) -> RpcResult<H256>;

	/// The mail kept for the account that signed `request` (a SCALE-encoded
	/// `SignedMailboxRequest`), oldest first.
	#[method(name = "fetchMailbox")]
	fn fetch_mailbox(&self, request: Bytes) -> RpcResult<Vec<Mail>>;

	/// New mail for the account that signed `request`, as it arrives.
	#[subscription(name = "subscribeMailbox" => "mailbox", unsubscribe = "unsubscribeMailbox", item = Mail)]
	async fn subscribe_mailbox(&self, request: Bytes) -> SubscriptionResult;

	/// What this host keeps, in all and per user (unsafe).
	#[method(name = "hostStatus", with_extensions)]
	fn host_status(&self) -> RpcResult<HostStatus>;

	/// The envelopes this node is still relaying, and to which hosts (unsafe).
	#[method(name = "relayStatus", with_extensions)]
	fn relay_status(&self) -> RpcResult<Vec<QueuedEnvelope>>;
}

/// The Quarks methods of one node.
pub struct Quarks<C, S> {
	client: Arc<C>,
	relay: Option<Mutex<RelayQueue<S>>>,
	host: Option<Arc<Host<C>>>,
}

impl<C, S> Quarks<C, S> {
	/// Methods backed by `relay` (every node with offchain storage) and `host` (nodes
	/// started with `--host`).
	pub fn new(client: Arc<C>, relay: Option<RelayQueue<S>>, host: Option<Arc<Host<C>>>) -> Self {
		Quarks { client, relay: relay.map(Mutex::new), host }
	}

	fn host(&self) -> Result<&Arc<Host<C>>, QuarksError> {
		self.host.as_ref().ok_or(QuarksError::NotAHost)
	}
}

fn decode_batch(batch: Option<Bytes>) -> Result<Option<BatchMembership>, QuarksError> {
	batch
		.map(|bytes| BatchMembership::decode(&mut &bytes[..]))
		.transpose()
		.map_err(|_| QuarksError::MalformedRequest("batch membership"))
}

#[async_trait]
impl<C, S> QuarksApiServer for Quarks<C, S>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ BlockchainEvents<Block>
		+ Send
		+ Sync
		+ 'static,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
	S: OffchainStorage + 'static,
{
	fn submit_envelope(&self, envelope: Bytes, batch: Option<Bytes>) -> RpcResult<H256> {
		let relay = self.relay.as_ref().ok_or(QuarksError::Chain("no offchain storage".into()))?;
		let batch = decode_batch(batch)?;
		let best = self.client.info().best_number;
		Ok(relay.lock().submit(envelope.0, batch, best)?)
	}

	async fn host_envelope(&self, envelope: Bytes, batch: Option<Bytes>) -> RpcResult<H256> {
		let batch = decode_batch(batch)?;
		Ok(self.host()?.accept_soon(envelope.0, batch).await?)
	}

	fn fetch_mailbox(&self, request: Bytes) -> RpcResult<Vec<Mail>> {
		let host = self.host()?;
		let who = host.authorize(&request)?;
		Ok(host.mailbox(&who))
	}

	async fn subscribe_mailbox(
		&self,
		pending: PendingSubscriptionSink,
		request: Bytes,
	) -> SubscriptionResult {
		let authorized = self.host().and_then(|host| Ok((host.clone(), host.authorize(&request)?)));
		let (host, who) = match authorized {
			Ok(ok) => ok,
			Err(error) => {
				pending.reject(error).await;
				return Ok(());
			}
		};
		let mut new_mail = host.subscribe();
		let sink = pending.accept().await?;
		loop {
			tokio::select! {
				_ = sink.closed() => return Ok(()),
				mail = new_mail.recv() => match mail {
					Ok(mail) if mail.recipients.contains(&who) => {
						sink.send(SubscriptionMessage::from_json(&*mail)?).await?;
					},
					Ok(_) => {},
					// A slow subscriber missed mail; it stays in the mailbox for a fetch.
					Err(RecvError::Lagged(_)) => {},
					Err(RecvError::Closed) => return Ok(()),
				},
			}
		}
	}

	fn host_status(&self, ext: &Extensions) -> RpcResult<HostStatus> {
		sc_rpc_api::check_if_safe(ext)?;
		let host = self.host()?;
		let (total, users) = host.usage();
		Ok(HostStatus {
			operator: host.operator().clone(),
			envelopes: total.envelopes,
			bytes: total.bytes,
			users: users.into_iter().map(|(who, u)| (who, u.envelopes, u.bytes)).collect(),
		})
	}

	fn relay_status(&self, ext: &Extensions) -> RpcResult<Vec<QueuedEnvelope>> {
		sc_rpc_api::check_if_safe(ext)?;
		Ok(self.relay.as_ref().map(|relay| relay.lock().status()).unwrap_or_default())
	}
}
