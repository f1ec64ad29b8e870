//! The `quarks_*` JSON-RPC methods (docs/rpc.md). Status methods reveal who has mail
//! here, so they are unsafe: only for the operator (`--rpc-methods unsafe` or localhost).

use super::{
	chain_view::{ChainCache, ChainView},
	direct_push::DirectPush,
	error::{chain_error, QuarksError},
	host::{check_membership, Host},
	metrics::Metrics,
	relay_queue::{QueuedEnvelope, RelayQueue},
	sender_limits::SenderLimits,
	submissions::{check_signatures, Opened},
};
use codec::{Compact, Decode, DecodeAll, Encode};
use jsonrpsee::{
	core::{async_trait, RpcResult, SubscriptionResult},
	proc_macros::rpc,
	Extensions, PendingSubscriptionSink, SubscriptionMessage,
};
use parking_lot::Mutex;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{
		HostItem, HostingApi, SignedMembership, Submission, SubmitAnswer, MAX_HOST_ITEMS,
		MAX_HOST_REQUEST_BYTES, MAX_SUBMISSIONS,
	},
	mailbox::{MailEvent, MailboxAction, MailboxPage},
};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sp_api::ProvideRuntimeApi;
use sp_core::{offchain::OffchainStorage, Bytes, H256};
use std::{
	collections::{HashMap, HashSet},
	sync::Arc,
	time::Instant,
};
use tokio::sync::broadcast::error::RecvError;

/// Envelopes per second one sender may submit to a node, and its burst.
const SUBMIT_RATE: (f64, f64) = (100.0, 1000.0);

/// Open subscriptions one mailbox may have on a host: a few devices, not a flood.
pub const MAX_SUBSCRIPTIONS_PER_MAILBOX: u32 = 8;

/// Open subscriptions per mailbox, shared by every connection.
pub type OpenSubscriptions = Arc<Mutex<HashMap<AccountId, u32>>>;

/// What a host keeps.
#[derive(serde::Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
	/// The operator account this host serves.
	pub operator: AccountId,
	/// Envelopes kept, in all.
	pub envelopes: u32,
	/// Their bytes.
	pub bytes: u64,
	/// Of them, pending their anchor: (envelopes, bytes).
	pub pending: (u32, u64),
	/// Anchored, not yet final.
	pub anchored: (u32, u64),
	/// Anchored in a final block.
	pub finalized: (u32, u64),
	/// Per recipient: (account, envelopes, bytes).
	pub users: Vec<(AccountId, u32, u64)>,
	/// Per account that named the senders it accepts: (account, how many).
	pub contacts: Vec<(AccountId, u32)>,
}

/// The Quarks methods.
#[rpc(server, namespace = "quarks")]
pub trait QuarksApi {
	/// Hands a signed envelope (SCALE `Submission`) to this node, which pushes it at once to
	/// every host of every recipient and keeps it for the relay worker; returns its hash.
	#[method(name = "submitEnvelope", blocking)]
	fn submit_envelope(&self, submission: Bytes) -> RpcResult<H256>;

	/// Hands this node many signed envelopes at once (SCALE `Vec<Submission>`, at most 256
	/// and 4 MiB), each checked as `submitEnvelope` checks one, those accepted journaled in
	/// one durable write; answers one `SubmitAnswer` per envelope, in order.
	#[method(name = "submitEnvelopes", blocking)]
	fn submit_envelopes(&self, submissions: Bytes) -> RpcResult<Vec<SubmitAnswer>>;

	/// Tells this node where envelopes it accepted sit in their sender's anchor (SCALE
	/// `Vec<(H256, BatchMembership)>`); returns how many of them it holds.
	#[method(name = "submitMemberships", blocking)]
	fn submit_memberships(&self, memberships: Bytes) -> RpcResult<u32>;

	/// Hands this host envelopes or memberships (SCALE `Vec<HostItem>`); answers one
	/// `HostAnswer` per item (SCALE `Vec<HostAnswer>`).
	#[method(name = "hostEnvelopes", blocking)]
	fn host_envelopes(&self, items: Bytes) -> RpcResult<Bytes>;

	/// A page of the mail kept for the account that signed `request` (a SCALE-encoded
	/// `SignedMailboxRequest` asking `Fetch`, or `FetchFor` a device: without what that
	/// device said it has), oldest first.
	#[method(name = "fetchMailbox", blocking)]
	fn fetch_mailbox(&self, request: Bytes) -> RpcResult<MailboxPage<BlockNumber>>;

	/// Mail for the account that signed `request` (asking `Subscribe`) as it arrives, and
	/// its notarization as it advances.
	#[subscription(name = "subscribeMailbox" => "mailbox", unsubscribe = "unsubscribeMailbox", item = MailEvent<BlockNumber>)]
	async fn subscribe_mailbox(&self, request: Bytes) -> SubscriptionResult;

	/// Stops keeping envelopes for the account that signed `request` (asking `Delete`);
	/// returns how many were kept for it.
	#[method(name = "deleteMail", blocking)]
	fn delete_mail(&self, request: Bytes) -> RpcResult<u32>;

	/// Says that a device of the account that signed `request` (asking `Received`) has the
	/// envelopes it names; returns how many of them were kept for the account. The host
	/// keeps an envelope until every device that counts for it said so.
	#[method(name = "receivedMail", blocking)]
	fn received_mail(&self, request: Bytes) -> RpcResult<u32>;

	/// Makes the accounts `request` names (asking `Contacts`) the senders its signer accepts
	/// mail from at this host, in place of those named before; returns how many it names.
	#[method(name = "setContacts", blocking)]
	fn set_contacts(&self, request: Bytes) -> RpcResult<u32>;

	/// What this host keeps, by state and per user (unsafe).
	#[method(name = "hostStatus", with_extensions)]
	fn host_status(&self) -> RpcResult<HostStatus>;

	/// The envelopes this node is still relaying, and to which hosts (unsafe).
	#[method(name = "relayStatus", with_extensions)]
	fn relay_status(&self) -> RpcResult<Vec<QueuedEnvelope>>;
}

/// The Quarks services of one node, which the RPC methods use.
pub struct Services<C, S> {
	/// The relay queue, on every node with offchain storage.
	pub relay: Option<Arc<RelayQueue<S>>>,
	/// The direct push, beside the relay queue.
	pub push: Option<Arc<DirectPush<S>>>,
	/// The mail host, on nodes started with `--host`.
	pub host: Option<Arc<Host<C>>>,
	/// How fast each sender may submit here.
	pub senders: Arc<SenderLimits>,
	/// Open subscriptions per mailbox.
	pub subscribers: OpenSubscriptions,
	/// The runtime's answers at the best block, shared with the host.
	pub chain: Arc<ChainCache>,
	/// Quarks' metrics, if the node exports any.
	pub metrics: Option<Arc<Metrics>>,
}

impl<C, S> Clone for Services<C, S> {
	fn clone(&self) -> Self {
		Services {
			relay: self.relay.clone(),
			push: self.push.clone(),
			host: self.host.clone(),
			senders: self.senders.clone(),
			subscribers: self.subscribers.clone(),
			chain: self.chain.clone(),
			metrics: self.metrics.clone(),
		}
	}
}

impl<C, S> Services<C, S> {
	/// The services, with the node's submission rate per sender.
	pub fn new(
		relay: Option<Arc<RelayQueue<S>>>,
		push: Option<Arc<DirectPush<S>>>,
		host: Option<Arc<Host<C>>>,
		chain: Arc<ChainCache>,
		metrics: Option<Arc<Metrics>>,
	) -> Self {
		let senders = Arc::new(SenderLimits::new(SUBMIT_RATE.0, SUBMIT_RATE.1));
		Services { relay, push, host, senders, subscribers: Arc::default(), chain, metrics }
	}
}

/// The Quarks methods of one node.
pub struct Quarks<C, S> {
	client: Arc<C>,
	relay: Option<Arc<RelayQueue<S>>>,
	push: Option<Arc<DirectPush<S>>>,
	host: Option<Arc<Host<C>>>,
	senders: Arc<SenderLimits>,
	subscribers: OpenSubscriptions,
	chain: Arc<ChainCache>,
	metrics: Option<Arc<Metrics>>,
}

impl<C, S> Quarks<C, S> {
	/// The methods, backed by `services`.
	pub fn new(client: Arc<C>, services: Services<C, S>) -> Self {
		let Services { relay, push, host, senders, subscribers, chain, metrics } = services;
		Quarks { client, relay, push, host, senders, subscribers, chain, metrics }
	}

	fn host(&self) -> Result<&Arc<Host<C>>, QuarksError> {
		self.host.as_ref().ok_or(QuarksError::NotAHost)
	}

	fn relay(&self) -> Result<(&Arc<RelayQueue<S>>, &Arc<DirectPush<S>>), QuarksError> {
		match (&self.relay, &self.push) {
			(Some(relay), Some(push)) => Ok((relay, push)),
			_ => Err(QuarksError::Chain("this node keeps no offchain storage".into())),
		}
	}
}

impl<C, S> Quarks<C, S>
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
	fn submit(&self, bytes: &[u8]) -> Result<H256, QuarksError> {
		let (relay, _) = self.relay()?;
		let submission = Submission::decode_all(&mut &bytes[..])
			.map_err(|_| QuarksError::MalformedRequest("submission"))?;
		let view = ChainView::at_best(&*self.client, &self.chain);
		let mut opened = Opened::of(&submission, hash_of(&submission.envelope))?;
		check_signatures(&self.client.info().genesis_hash, [(&mut opened, &submission.signature)]);
		let hash = self.take(&view, &submission, opened)?;
		relay.accept(hash, &submission, view.best)?;
		Ok(hash)
	}

	/// [`Self::submit`] for many envelopes: each checked and pushed on its own, those
	/// accepted journaled in one durable write; one answer per envelope, in order. A
	/// submission listed again gets the first one's answer and is neither checked nor
	/// pushed again.
	fn submit_all(&self, bytes: &[u8]) -> Result<Vec<SubmitAnswer>, QuarksError> {
		let (relay, _) = self.relay()?;
		let malformed = || QuarksError::MalformedRequest("submissions");
		// Bounded before any submission is decoded.
		let count = Compact::<u32>::decode(&mut &bytes[..]).map_err(|_| malformed())?.0;
		if bytes.len() > MAX_HOST_REQUEST_BYTES || count as usize > MAX_SUBMISSIONS {
			return Err(malformed());
		}
		let submissions =
			Vec::<Submission>::decode_all(&mut &bytes[..]).map_err(|_| malformed())?;
		let view = ChainView::at_best(&*self.client, &self.chain);
		let mut first_listed = HashMap::new();
		// For each submission, where its outcome is: its own, or the first copy's.
		let mut shares = Vec::with_capacity(submissions.len());
		let mut opened = Vec::new();
		for (at, submission) in submissions.iter().enumerate() {
			let hash = hash_of(&submission.envelope);
			let first = *first_listed.entry((hash, submission.signature)).or_insert(at);
			if first == at {
				opened.push((at, Opened::of(submission, hash)));
			}
			shares.push(first);
		}
		check_signatures(
			&self.client.info().genesis_hash,
			opened.iter_mut().filter_map(|(at, opened)| {
				Some((opened.as_mut().ok()?, &submissions[*at].signature))
			}),
		);
		let outcomes: Vec<(usize, Result<H256, QuarksError>)> = opened
			.into_iter()
			.map(|(at, opened)| {
				(at, opened.and_then(|opened| self.take(&view, &submissions[at], opened)))
			})
			.collect();
		let accepted: Vec<(H256, &Submission)> = outcomes
			.iter()
			.filter_map(|(at, outcome)| {
				outcome.as_ref().ok().map(|hash| (*hash, &submissions[*at]))
			})
			.collect();
		let held: HashSet<H256> =
			accepted.iter().map(|(hash, _)| *hash).filter(|hash| relay.contains(hash)).collect();
		let journaled = relay.accept_all(&accepted, view.best).map_err(QuarksError::from);
		let refused = |error: &QuarksError| SubmitAnswer::Refused {
			code: error.code(),
			message: error.to_string(),
			retry: error.may_succeed_later(),
		};
		let outcomes: HashMap<usize, Result<H256, QuarksError>> = outcomes.into_iter().collect();
		Ok(shares
			.into_iter()
			.map(|first| match (&outcomes[&first], &journaled) {
				(Ok(hash), Ok(_)) => SubmitAnswer::Accepted(*hash),
				// Journaled by an earlier call: accepted whatever this write did.
				(Ok(hash), Err(_)) if held.contains(hash) => SubmitAnswer::Accepted(*hash),
				(Ok(_), Err(error)) | (Err(error), _) => refused(error),
			})
			.collect())
	}

	/// Checks one opened submission (its signature checked with the request's others) as
	/// every submit method does and pushes it at once to its recipients' hosts, unless this
	/// node holds it already; returns its hash. The caller
	/// journals it: delivery does not wait for the journal's fsync (hosts keep an envelope
	/// once, however often it comes), the answer "accepted" does.
	fn take(
		&self,
		view: &ChainView<'_, C>,
		submission: &Submission,
		opened: Opened,
	) -> Result<H256, QuarksError> {
		let (relay, push) = self.relay()?;
		if !opened.is_signed() {
			return Err(QuarksError::BadSignature);
		}
		let Opened { envelope, hash, .. } = opened;
		view.admit(&envelope.sender, &envelope.destination)?;
		let hosts = view.delivery_hosts(&envelope.destination)?;
		if hosts.is_empty() {
			return Err(QuarksError::NoHostChosen);
		}
		// Every envelope counts against its sender's rate, a resubmission included.
		if !self.senders.admit(&envelope.sender) {
			return Err(QuarksError::RateLimited);
		}
		// Accepted before, so journaled, queued and pushed: asking again changes nothing.
		if !relay.contains(&hash) {
			let item = HostItem::Envelope { submission: submission.clone(), membership: None };
			push.push(hash, &item, &hosts, Instant::now());
		}
		Ok(hash)
	}

	/// Records and pushes where accepted envelopes are anchored, each as its sender
	/// signed it (`check_membership`); the whole request is refused, unchanged, if any is
	/// not. Returns how many envelopes this node holds of those named.
	fn memberships(&self, bytes: &[u8]) -> Result<u32, QuarksError> {
		let (relay, push) = self.relay()?;
		let memberships = Vec::<(H256, SignedMembership)>::decode_all(&mut &bytes[..])
			.ok()
			.filter(|list| list.len() <= MAX_HOST_ITEMS)
			.ok_or(QuarksError::MalformedRequest("memberships"))?;
		let info = self.client.info();
		let mut vouched = HashSet::new();
		let mut held = Vec::new();
		for (hash, signed) in memberships {
			// Checked whether held or not, so an answer never depends on what is held.
			let item = relay.item(&hash);
			if let Some(item) = &item {
				let envelope = Envelope::<AccountId>::decode_checked(&item.submission.envelope)
					.map_err(QuarksError::Malformed)?;
				let leaf = envelope.leaf(hash).value();
				let genesis = &info.genesis_hash;
				check_membership(genesis, &envelope.sender, &leaf, &signed, &mut vouched)?;
				held.push((hash, signed));
			} else if signed.membership.proof.siblings.len()
				> quarks_primitives::merkle::MAX_PROOF_DEPTH
			{
				return Err(QuarksError::MalformedRequest("memberships"));
			}
		}
		relay.record_memberships(&held)?;
		let api = self.client.runtime_api();
		let count = held.len() as u32;
		for (hash, membership) in held {
			// Hosts that took the direct push can mark it anchored as soon as they see the
			// anchor; the others get the whole envelope from the worker.
			let mut hosts = Vec::new();
			for operator in relay.pushed(&hash) {
				if let Some(record) =
					api.host(info.best_hash, operator.clone()).map_err(chain_error)?
				{
					hosts.push((operator, record));
				}
			}
			push.push(
				hash,
				&HostItem::Membership { envelope: hash, membership },
				&hosts,
				Instant::now(),
			);
		}
		Ok(count)
	}
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
	fn submit_envelope(&self, submission: Bytes) -> RpcResult<H256> {
		let result = self.submit(&submission);
		if let Some(metrics) = &self.metrics {
			metrics.submission(result.as_ref().map_or_else(QuarksError::code, |_| 0));
		}
		Ok(result?)
	}

	fn submit_envelopes(&self, submissions: Bytes) -> RpcResult<Vec<SubmitAnswer>> {
		let answers = self.submit_all(&submissions);
		if let (Some(metrics), Err(error)) = (&self.metrics, &answers) {
			metrics.submission(error.code());
		}
		let answers = answers?;
		if let Some(metrics) = &self.metrics {
			for answer in &answers {
				metrics.submission(match answer {
					SubmitAnswer::Accepted(_) => 0,
					SubmitAnswer::Refused { code, .. } => *code,
				});
			}
		}
		Ok(answers)
	}

	fn submit_memberships(&self, memberships: Bytes) -> RpcResult<u32> {
		Ok(self.memberships(&memberships)?)
	}

	fn host_envelopes(&self, items: Bytes) -> RpcResult<Bytes> {
		let host = self.host()?;
		// The documented bound, whatever the RPC server lets through.
		if items.len() > MAX_HOST_REQUEST_BYTES {
			return Err(QuarksError::MalformedRequest("host items").into());
		}
		let items = Vec::<HostItem>::decode_all(&mut &items[..])
			.ok()
			.filter(|items| items.len() <= MAX_HOST_ITEMS)
			.ok_or(QuarksError::MalformedRequest("host items"))?;
		Ok(Bytes(host.take(items).encode()))
	}

	fn fetch_mailbox(&self, request: Bytes) -> RpcResult<MailboxPage<BlockNumber>> {
		let host = self.host()?;
		match host.authorize(&request)? {
			(who, MailboxAction::Fetch { after, limit }) => {
				Ok(host.page(&who, after, limit, None)?)
			}
			(who, MailboxAction::FetchFor { device, after, limit }) => {
				Ok(host.page(&who, after, limit, Some(&device))?)
			}
			_ => Err(QuarksError::MalformedRequest("mailbox request: not a fetch").into()),
		}
	}

	fn delete_mail(&self, request: Bytes) -> RpcResult<u32> {
		let host = self.host()?;
		match host.authorize(&request)? {
			(who, MailboxAction::Delete { envelopes }) => Ok(host.delete(&who, envelopes)?),
			_ => Err(QuarksError::MalformedRequest("mailbox request: not a delete").into()),
		}
	}

	fn received_mail(&self, request: Bytes) -> RpcResult<u32> {
		let host = self.host()?;
		match host.authorize(&request)? {
			(who, MailboxAction::Received { device, envelopes }) => {
				Ok(host.received(&who, device, envelopes)?)
			}
			_ => Err(QuarksError::MalformedRequest("mailbox request: not a reception").into()),
		}
	}

	fn set_contacts(&self, request: Bytes) -> RpcResult<u32> {
		let host = self.host()?;
		match host.authorize(&request)? {
			(who, MailboxAction::Contacts { device, accounts }) => {
				Ok(host.set_contacts(&who, device, accounts)?)
			}
			_ => Err(QuarksError::MalformedRequest("mailbox request: not a contact list").into()),
		}
	}

	async fn subscribe_mailbox(
		&self,
		pending: PendingSubscriptionSink,
		request: Bytes,
	) -> SubscriptionResult {
		let authorized = self.host().and_then(|host| match host.authorize(&request)? {
			(who, MailboxAction::Subscribe) => {
				let slot = Subscriber::open(&self.subscribers, &who)?;
				Ok((host.clone(), who, slot))
			}
			_ => Err(QuarksError::MalformedRequest("mailbox request: not a subscription")),
		});
		let (host, who, _slot) = match authorized {
			Ok(ok) => ok,
			Err(error) => {
				pending.reject(error).await;
				return Ok(());
			}
		};
		let mut notices = host.subscribe();
		// Counted before the subscriber hears it is open, so the gauge never lags it.
		let _open = host.metrics().map(|m| SubscriptionCount::open(&m.subscriptions));
		let sink = pending.accept().await?;
		loop {
			tokio::select! {
				_ = sink.closed() => return Ok(()),
				notice = notices.recv() => match notice {
					Ok(notice) if notice.recipients.contains(&who) => {
						sink.send(SubscriptionMessage::from_json(&notice.event)?).await?;
					},
					Ok(_) => {},
					// A slow subscriber missed events: its mail stays in the mailbox; it is told
					// to fetch.
					Err(RecvError::Lagged(_)) => {
						sink.send(SubscriptionMessage::from_json(&MailEvent::<BlockNumber>::Missed)?).await?;
					},
					Err(RecvError::Closed) => return Ok(()),
				},
			}
		}
	}

	fn host_status(&self, ext: &Extensions) -> RpcResult<HostStatus> {
		sc_rpc_api::check_if_safe(ext)?;
		let host = self.host()?;
		let (totals, users) = host.usage();
		let pair = |u: super::host_store::Usage| (u.envelopes, u.bytes);
		Ok(HostStatus {
			operator: host.operator().clone(),
			envelopes: totals.pending.envelopes
				+ totals.anchored.envelopes
				+ totals.finalized.envelopes,
			bytes: totals.pending.bytes + totals.anchored.bytes + totals.finalized.bytes,
			pending: pair(totals.pending),
			anchored: pair(totals.anchored),
			finalized: pair(totals.finalized),
			users: users.into_iter().map(|(who, u)| (who, u.envelopes, u.bytes)).collect(),
			contacts: host.contact_counts(),
		})
	}

	fn relay_status(&self, ext: &Extensions) -> RpcResult<Vec<QueuedEnvelope>> {
		sc_rpc_api::check_if_safe(ext)?;
		let best = self.client.info().best_number;
		Ok(self.relay.as_ref().map(|relay| relay.status(best)).unwrap_or_default())
	}
}

/// One of a mailbox's open subscriptions, counted while it lives.
struct Subscriber {
	open: OpenSubscriptions,
	who: AccountId,
}

impl Subscriber {
	fn open(open: &OpenSubscriptions, who: &AccountId) -> Result<Self, QuarksError> {
		let mut counts = open.lock();
		let count = counts.entry(who.clone()).or_default();
		if *count >= MAX_SUBSCRIPTIONS_PER_MAILBOX {
			return Err(QuarksError::TooManySubscriptions);
		}
		*count += 1;
		Ok(Subscriber { open: open.clone(), who: who.clone() })
	}
}

impl Drop for Subscriber {
	fn drop(&mut self) {
		let mut counts = self.open.lock();
		if let Some(count) = counts.get_mut(&self.who) {
			*count = count.saturating_sub(1);
			if *count == 0 {
				counts.remove(&self.who);
			}
		}
	}
}

/// Counts an open subscription while it lives.
struct SubscriptionCount<'a>(
	&'a substrate_prometheus_endpoint::Gauge<substrate_prometheus_endpoint::U64>,
);

impl<'a> SubscriptionCount<'a> {
	fn open(
		gauge: &'a substrate_prometheus_endpoint::Gauge<substrate_prometheus_endpoint::U64>,
	) -> Self {
		gauge.inc();
		SubscriptionCount(gauge)
	}
}

impl Drop for SubscriptionCount<'_> {
	fn drop(&mut self) {
		self.0.dec();
	}
}
