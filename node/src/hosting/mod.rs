//! Quarks off chain, in the node: the relay queue every node offers its clients, and the
//! mail host a node runs when started with `--host`.
//!
//! A host keeps only envelopes anchored on chain whose recipients chose it, within the
//! quota and capacity of its on-chain record; it deletes an envelope for a recipient once
//! that recipient's receipt is finalized, and drops envelopes past its retention.

pub mod error;
pub mod relay;
pub mod rpc;
pub mod store;

use codec::Decode;
use error::QuarksError;
use futures::StreamExt;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{BatchMembership, HostingApi, SignedMailboxRequest},
};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sp_api::ProvideRuntimeApi;
use sp_core::{crypto::Pair as _, sr25519, H256};
use std::{path::PathBuf, sync::Arc};
use store::{HostStore, Limits, StoredEnvelope};
use tokio::sync::broadcast;

/// How long a host waits for the next block when an envelope's anchor is not in its best
/// block yet; below the relay's 2-second request timeout.
const ANCHOR_GRACE: std::time::Duration = std::time::Duration::from_millis(1500);

/// How a node hosts mail, from the command line.
#[derive(Clone, Debug)]
pub struct HostConfig {
	/// The operator account of the admitted host this node serves.
	pub operator: AccountId,
	/// Where the store lives; `None` keeps mail in memory only.
	pub path: Option<PathBuf>,
}

/// An envelope handed to its recipient.
#[derive(serde::Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
	/// The envelope hash.
	pub hash: H256,
	/// The encoded envelope.
	pub envelope: sp_core::Bytes,
	/// The block that anchored it.
	pub anchored_at: BlockNumber,
	/// Recipients this host keeps it for (`quarks_subscribeMailbox` filters on these).
	#[serde(skip)]
	pub recipients: Vec<AccountId>,
}

/// A running mail host.
pub struct Host<C> {
	client: Arc<C>,
	operator: AccountId,
	genesis: H256,
	store: HostStore,
	new_mail: broadcast::Sender<Arc<Mail>>,
}

impl<C> Host<C>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ BlockchainEvents<Block>
		+ Send
		+ Sync
		+ 'static,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
{
	/// Opens the store and serves as `config.operator`'s host.
	pub fn new(client: Arc<C>, config: HostConfig) -> Result<Arc<Self>, QuarksError> {
		let store = match &config.path {
			Some(path) => HostStore::open(path)?,
			None => HostStore::in_memory(),
		};
		let genesis = client.info().genesis_hash;
		let (new_mail, _) = broadcast::channel(1024);
		Ok(Arc::new(Host { client, operator: config.operator, genesis, store, new_mail }))
	}

	fn chain_error(error: impl std::fmt::Display) -> QuarksError {
		QuarksError::Chain(error.to_string())
	}

	/// As [`Self::accept`], but an envelope whose anchor is not in this node's best block
	/// yet gets one more chance at the next imported block: relays run on the block that
	/// holds the anchor, often before this node imported it.
	pub async fn accept_soon(
		&self,
		bytes: Vec<u8>,
		batch: Option<BatchMembership>,
	) -> Result<H256, QuarksError> {
		let mut imports = self.client.import_notification_stream();
		match self.accept(bytes.clone(), batch.clone()) {
			Err(QuarksError::NotAnchored) => {
				let next_block = tokio::time::timeout(ANCHOR_GRACE, imports.next()).await;
				if matches!(next_block, Ok(Some(_))) {
					self.accept(bytes, batch)
				} else {
					Err(QuarksError::NotAnchored)
				}
			}
			done => done,
		}
	}

	/// Stores an envelope relayed here, after every check; returns its hash.
	pub fn accept(
		&self,
		bytes: Vec<u8>,
		batch: Option<BatchMembership>,
	) -> Result<H256, QuarksError> {
		let envelope =
			Envelope::<AccountId>::decode_checked(&bytes).map_err(QuarksError::Malformed)?;
		let hash = hash_of(&bytes);
		let info = self.client.info();
		let (at, best) = (info.best_hash, info.best_number);
		let api = self.client.runtime_api();
		let host = api.host(at, self.operator.clone()).map_err(Self::chain_error)?;
		let host = host.ok_or(QuarksError::HostNotAdmitted)?;
		let anchor_key = batch.as_ref().map_or(hash, |b| b.root);
		let anchor = api.anchor(at, anchor_key).map_err(Self::chain_error)?;
		let anchor = anchor.ok_or(QuarksError::NotAnchored)?;
		if !anchor.covers(&anchor_key, &hash, batch.as_ref().map(|b| &b.proof)) {
			return Err(QuarksError::NotAnchored);
		}
		if !envelope.matches(&anchor) {
			return Err(QuarksError::AnchorMismatch);
		}
		if anchor.anchored_at.saturating_add(host.retention) <= best {
			return Err(QuarksError::Expired);
		}
		let recipients = api
			.hosted_recipients(at, envelope.destination, self.operator.clone())
			.map_err(Self::chain_error)?;
		if recipients.is_empty() {
			return Err(QuarksError::NotChosen);
		}
		let stored =
			StoredEnvelope { envelope: bytes, recipients, anchored_at: anchor.anchored_at };
		let limits = Limits { capacity: host.capacity, user_quota: host.user_quota };
		if !self.store.insert(hash, stored.clone(), limits)? {
			return Ok(hash);
		}
		log::info!(target: "quarks-host", "stored envelope {hash:?} for {} recipient(s)", stored.recipients.len());
		let _ = self.new_mail.send(Arc::new(Mail {
			hash,
			envelope: stored.envelope.into(),
			anchored_at: stored.anchored_at,
			recipients: stored.recipients,
		}));
		Ok(hash)
	}

	/// Checks a signed mailbox request (owner's signature, this host, a fresh nonce) and
	/// returns the account it is for.
	pub fn authorize(&self, request: &[u8]) -> Result<AccountId, QuarksError> {
		let signed = SignedMailboxRequest::<AccountId>::decode(&mut &request[..])
			.map_err(|_| QuarksError::MalformedRequest("mailbox request"))?;
		let request = &signed.request;
		if request.host != self.operator {
			return Err(QuarksError::WrongHost);
		}
		let public = sr25519::Public::from_raw(request.account.clone().into());
		let signature = sr25519::Signature::from_raw(signed.signature);
		if !sr25519::Pair::verify(&signature, request.signing_payload(&self.genesis), &public) {
			return Err(QuarksError::BadSignature);
		}
		self.store.use_nonce(&request.account, request.nonce)?;
		Ok(request.account.clone())
	}

	/// The mail kept for `who`, oldest first.
	pub fn mailbox(&self, who: &AccountId) -> Vec<Mail> {
		self.store
			.mailbox(who)
			.into_iter()
			.map(|(hash, stored)| Mail {
				hash,
				envelope: stored.envelope.into(),
				anchored_at: stored.anchored_at,
				recipients: stored.recipients,
			})
			.collect()
	}

	/// New mail as it is stored.
	pub fn subscribe(&self) -> broadcast::Receiver<Arc<Mail>> {
		self.new_mail.subscribe()
	}

	/// The operator account this host serves.
	pub fn operator(&self) -> &AccountId {
		&self.operator
	}

	/// The store's usage.
	pub fn usage(&self) -> (store::Usage, std::collections::BTreeMap<AccountId, store::Usage>) {
		self.store.usage()
	}

	/// Applies receipts and retention for every block finalized since the last run.
	fn catch_up(&self) -> Result<(), QuarksError> {
		let info = self.client.info();
		let (at, finalized) = (info.finalized_hash, info.finalized_number);
		let api = self.client.runtime_api();
		let Some(host) = api.host(at, self.operator.clone()).map_err(Self::chain_error)? else {
			return Ok(());
		};
		// Receipts of a block stay in state for the message retention; older ones can
		// only concern envelopes past retention, which expire below anyway.
		let first = match self.store.cursor() {
			Some(done) => done.saturating_add(1),
			None => finalized,
		}
		.max(finalized.saturating_sub(host.retention));
		for block in first..=finalized {
			for (envelope, recipient) in api.receipts_at(at, block).map_err(Self::chain_error)? {
				if self.store.acknowledged(&envelope, &recipient)? {
					log::info!(target: "quarks-host", "deleted {envelope:?} for {recipient}: delivered");
				}
			}
		}
		self.store.set_cursor(finalized)?;
		let expired = self.store.expire(finalized.saturating_sub(host.retention))?;
		if expired > 0 {
			log::info!(target: "quarks-host", "dropped {expired} envelope(s) past retention");
		}
		Ok(())
	}

	/// Follows finality, deleting delivered and expired mail; runs for the node's life.
	pub async fn run(self: Arc<Self>) {
		let mut finality = self.client.finality_notification_stream();
		loop {
			if let Err(error) = self.catch_up() {
				log::warn!(target: "quarks-host", "applying receipts failed: {error}");
			}
			if finality.next().await.is_none() {
				return;
			}
		}
	}
}
