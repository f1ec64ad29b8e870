//! Mail hosts: the admitted hosts and their records, a user's choice, and mailbox access
//! with requests signed by the mailbox owner (docs/rpc.md, `quarks_fetchMailbox`): pages
//! of mail, a subscription to mail and its notarization as they happen, and deletion.

use crate::{
	chain::{
		account_value,
		proven::{storage_key, FinalBlock},
		vocabulary, Chain, ChainError, Included, NodeRpc, Progress, Wait,
	},
	BlockNumber,
};
use codec::{Decode, Encode};
use quarks_primitives::{
	endpoint::resolves_public,
	hosting::HostInfo,
	mailbox::{
		MailEntry, MailEvent, MailboxAction, MailboxPage, MailboxRequest, SignedMailboxRequest,
		MAX_PAGE_ENTRIES,
	},
	DeviceKey,
};
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::{
	sync::atomic::{AtomicU64, Ordering},
	time::{Duration, SystemTime, UNIX_EPOCH},
};
use subxt::{dynamic::Value, rpcs::rpc_params};

/// An admitted host.
#[derive(Clone, Debug)]
pub struct Host {
	/// The operator's account, which names the host.
	pub operator: AccountId32,
	/// Its on-chain record.
	pub info: HostInfo<BlockNumber>,
}

impl Host {
	/// The JSON-RPC endpoint.
	pub fn endpoint(&self) -> String {
		String::from_utf8_lossy(&self.info.endpoint).into_owned()
	}
}

/// One envelope kept for the account, as a host lists it.
pub type MailboxEntry = MailEntry<BlockNumber>;

/// Most admitted hosts listed.
const MAX_LISTED_HOSTS: u32 = 1024;
/// How long a host's name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Every admitted host (up to 1,024), each record proven at the latest final block. The
/// list is the node's (a listing has no proof): it could leave a host out, not make one up.
pub async fn admitted(chain: &Chain) -> Result<Vec<Host>, ChainError> {
	chain.refusing(|| admitted_listed(chain)).await
}

async fn admitted_listed(chain: &Chain) -> Result<Vec<Host>, ChainError> {
	let block = chain.proven_latest().await?;
	let prefix = storage_key(&vocabulary::HOST_RECORDS, &[]);
	let mut operators: Vec<AccountId32> = Vec::new();
	for key in chain.keys_at(&block, &prefix, MAX_LISTED_HOSTS - 1).await? {
		let operator = last_account(&key)?;
		if !operators.contains(&operator) {
			operators.push(operator);
		}
	}
	let hosts = records_at(chain, &block, operators).await?;
	if hosts.iter().any(|(_, host)| host.is_none()) {
		return Err(ChainError::Unproven("the node listed a host that has no record".into()));
	}
	Ok(hosts.into_iter().filter_map(|(_, host)| host).collect())
}

/// The proven record of each of `operators` at `block`, `None` where none is admitted.
async fn records_at(
	chain: &Chain,
	block: &FinalBlock,
	operators: Vec<AccountId32>,
) -> Result<Vec<(AccountId32, Option<Host>)>, ChainError> {
	let keys: Vec<Vec<u8>> = operators
		.iter()
		.map(|operator| storage_key(&vocabulary::HOST_RECORDS, &[operator.as_ref()]))
		.collect();
	let records = chain.proven_read(block, &keys).await?;
	operators
		.into_iter()
		.zip(records)
		.map(|(operator, record)| {
			let Some(record) = record else { return Ok((operator, None)) };
			let info = HostInfo::decode(&mut &record[..])
				.map_err(|e| ChainError::Decode(format!("host record: {e}")))?;
			Ok((operator.clone(), Some(Host { operator, info })))
		})
		.collect()
}

/// Every admitted host, each with whether `who` chose it.
pub async fn admitted_marking(
	chain: &Chain,
	who: &AccountId32,
) -> Result<Vec<(Host, bool)>, ChainError> {
	let chosen: Vec<AccountId32> =
		chosen(chain, who).await?.into_iter().map(|host| host.operator).collect();
	let marked = admitted(chain).await?.into_iter().map(|host| {
		let mine = chosen.contains(&host.operator);
		(host, mine)
	});
	Ok(marked.collect())
}

/// The admitted hosts `who` chose, in their order, proven at the latest final block: a
/// node cannot send someone's mail to a host they never chose, nor hide one they did.
pub async fn chosen(chain: &Chain, who: &AccountId32) -> Result<Vec<Host>, ChainError> {
	let block = chain.proven_latest().await?;
	let choice: Vec<AccountId32> = chain
		.proven_value_at(&block, storage_key(&vocabulary::CHOICES, &[who.as_ref()]))
		.await?
		.unwrap_or_default();
	// A chosen host no longer admitted has no record, and is skipped, as the runtime does.
	let hosts = records_at(chain, &block, choice).await?;
	Ok(hosts.into_iter().filter_map(|(_, host)| host).collect())
}

/// Whether the network lets hosts name private addresses (the development and local
/// networks do), proven at the latest final block.
pub async fn private_endpoints_allowed(chain: &Chain) -> Result<bool, ChainError> {
	let block = chain.proven_latest().await?;
	let key = storage_key(&vocabulary::ALLOW_PRIVATE_ENDPOINTS, &[]);
	Ok(chain.proven_value_at(&block, key).await?.unwrap_or(false))
}

/// Refuses `host` unless every address its endpoint resolves to now is public. On a
/// network of public hosts, an operator could otherwise name an address on the client's
/// own network and aim its mailbox requests at a service there (docs/security.md).
pub async fn check_public(host: &Host) -> Result<(), ChainError> {
	let endpoint = host.info.endpoint.clone();
	let lookup = tokio::task::spawn_blocking(move || resolves_public(&endpoint));
	let public = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await.ok().and_then(Result::ok);
	let reason = match public.flatten() {
		Some(true) => return Ok(()),
		Some(false) => "it is not a public address, and this network has public hosts only",
		None => "its name does not resolve",
	};
	Err(ChainError::Connect { url: host.endpoint(), reason: reason.into() })
}

/// Records `hosts` (1 to 3 admitted operators) as the signer's choice.
pub async fn choose(
	chain: &Chain,
	signer: &sr25519::Pair,
	hosts: &[AccountId32],
	wait: Wait,
	progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Included, ChainError> {
	let hosts = Value::unnamed_composite(hosts.iter().map(account_value));
	chain.submit(signer, vocabulary::CHOOSE_HOSTS, vec![hosts], wait, progress).await
}

/// Clears the signer's choice of hosts, which returns its deposit.
pub async fn clear(
	chain: &Chain,
	signer: &sr25519::Pair,
	wait: Wait,
	progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Included, ChainError> {
	chain.submit(signer, vocabulary::CLEAR_HOSTS, vec![], wait, progress).await
}

/// The account in the last 32 bytes of a `Blake2_128Concat` map key.
pub(crate) fn last_account(key: &[u8]) -> Result<AccountId32, ChainError> {
	let start = key.len().checked_sub(32).ok_or_else(|| ChainError::Decode("short key".into()))?;
	let bytes: [u8; 32] = key[start..].try_into().map_err(|_| ChainError::Decode("key".into()))?;
	Ok(AccountId32::from(bytes))
}

/// The mailbox of one account at one host.
pub struct Mailbox {
	host: Host,
	rpc: NodeRpc,
	owner: sr25519::Pair,
	genesis: H256,
	/// Held from signing a request until its answer: a host takes an account's nonces only
	/// in increasing order, and would refuse a request overtaken by a later one (9042).
	turn: tokio::sync::Mutex<()>,
}

/// The last mailbox request nonce this process used, for any host: two connections to one
/// mailbox (a follower's and a one-off fetch) never sign the same nonce.
static LAST_NONCE: AtomicU64 = AtomicU64::new(0);

impl Mailbox {
	/// Connects to `host` for `owner`'s mail on the chain with `genesis`.
	pub async fn connect(
		host: Host,
		owner: sr25519::Pair,
		genesis: H256,
	) -> Result<Self, ChainError> {
		let rpc = NodeRpc::connect(&host.endpoint()).await?;
		Ok(Self { host, rpc, owner, genesis, turn: tokio::sync::Mutex::new(()) })
	}

	/// A request good once, at this host only: the nonce is the time in milliseconds,
	/// kept strictly increasing across the process.
	fn request(&self, action: MailboxAction<AccountId32>) -> String {
		let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
		let previous = LAST_NONCE
			.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1)))
			.unwrap_or(0);
		let request = MailboxRequest {
			account: AccountId32::from(self.owner.public()),
			host: self.host.operator.clone(),
			nonce: now.max(previous + 1),
			action,
		};
		let signature = self.owner.sign(&request.signing_payload(&self.genesis)).0;
		array_bytes::bytes2hex("0x", SignedMailboxRequest { request, signature }.encode())
	}

	/// The host this mailbox is at.
	pub fn host(&self) -> &Host {
		&self.host
	}

	/// One page of the mail the host keeps for the owner, after position `after`.
	pub async fn page(&self, after: Option<u64>) -> Result<MailboxPage<BlockNumber>, ChainError> {
		self.page_without(after, None).await
	}

	/// The same, leaving out what `device` said it has, if named.
	async fn page_without(
		&self,
		after: Option<u64>,
		device: Option<DeviceKey>,
	) -> Result<MailboxPage<BlockNumber>, ChainError> {
		let _turn = self.turn.lock().await;
		let limit = MAX_PAGE_ENTRIES;
		let request = self.request(match device {
			Some(device) => MailboxAction::FetchFor { device, after, limit },
			None => MailboxAction::Fetch { after, limit },
		});
		self.rpc.request("quarks_fetchMailbox", rpc_params![request]).await
	}

	/// Every envelope the host keeps for the owner, oldest first, page by page.
	pub async fn fetch(&self) -> Result<Vec<MailboxEntry>, ChainError> {
		self.fetch_without(None).await
	}

	/// The envelopes the host keeps for the owner that `device` did not say it has
	/// ([`Mailbox::received`]): what the host keeps only for the owner's other devices is
	/// not downloaded again.
	pub async fn fetch_new(&self, device: DeviceKey) -> Result<Vec<MailboxEntry>, ChainError> {
		self.fetch_without(Some(device)).await
	}

	/// Every page, leaving out what `device` said it has, if named. A host cannot keep a
	/// client paging for ever: each page must start after the last, and the mailbox may not
	/// hold more than the owner's quota at this host (its on-chain record).
	async fn fetch_without(
		&self,
		device: Option<DeviceKey>,
	) -> Result<Vec<MailboxEntry>, ChainError> {
		let lying = |what: &str| {
			ChainError::Rpc(format!(
				"host {}: {what}; its mailbox is not read further",
				self.host.operator
			))
		};
		let mut mail = Vec::new();
		let mut bytes = 0u64;
		let mut after = None;
		loop {
			let page = self.page_without(after, device).await?;
			bytes = page
				.mail
				.iter()
				.fold(bytes, |sum, entry| sum.saturating_add(entry.envelope.len() as u64));
			if bytes > self.host.info.user_quota {
				return Err(lying("it lists more mail than its quota for one user"));
			}
			mail.extend(page.mail);
			match page.next {
				Some(next) if after.is_some_and(|after| next <= after) => {
					return Err(lying("its pages do not advance"))
				}
				Some(next) => after = Some(next),
				None => return Ok(mail),
			}
		}
	}

	/// Has the host stop keeping `envelopes` (at most [`MAX_PAGE_ENTRIES`]) for the owner;
	/// returns how many it kept.
	pub async fn delete(&self, envelopes: Vec<H256>) -> Result<u32, ChainError> {
		let _turn = self.turn.lock().await;
		let request = self.request(MailboxAction::Delete { envelopes });
		self.rpc.request("quarks_deleteMail", rpc_params![request]).await
	}

	/// Tells the host that the owner's `device` has `envelopes` (at most
	/// [`MAX_PAGE_ENTRIES`]) for good: the host keeps each until every device of the owner
	/// that counts for it said so. Returns how many it kept for the owner.
	pub async fn received(
		&self,
		device: DeviceKey,
		envelopes: Vec<H256>,
	) -> Result<u32, ChainError> {
		let _turn = self.turn.lock().await;
		let request = self.request(MailboxAction::Received { device, envelopes });
		self.rpc.request("quarks_receivedMail", rpc_params![request]).await
	}

	/// Tells the host the accounts whose mail the owner accepted on `device` (at most
	/// [`MAX_CONTACTS`](quarks_primitives::mailbox::MAX_CONTACTS)), in place of those that
	/// device named before; returns how many the host keeps.
	pub async fn set_contacts(
		&self,
		device: DeviceKey,
		accounts: Vec<AccountId32>,
	) -> Result<u32, ChainError> {
		let _turn = self.turn.lock().await;
		let request = self.request(MailboxAction::Contacts { device, accounts });
		self.rpc.request("quarks_setContacts", rpc_params![request]).await
	}

	/// Mail as the host stores it, and its notarization as it advances.
	pub async fn subscribe(
		&self,
	) -> Result<subxt::rpcs::client::RpcSubscription<MailEvent<BlockNumber>>, ChainError> {
		let _turn = self.turn.lock().await;
		self.rpc
			.subscribe(
				"quarks_subscribeMailbox",
				rpc_params![self.request(MailboxAction::Subscribe)],
				"quarks_unsubscribeMailbox",
			)
			.await
	}
}
