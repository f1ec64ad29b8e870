//! Signing, submitting and following transactions; and bidding for a block when shared
//! slots are contested.
//!
//! Of transactions of equal priority the pool takes first those that expire first, so
//! accounts that keep a block's anchor slots full with short-lived transactions would
//! keep an honest one waiting until it is about to expire: longer than hosts hold pending
//! mail. So every transaction bids ([`BIDDING`]): it is signed again with the same nonce and a
//! tip, replacing itself, whenever blocks come without it: any tip outranks every untipped
//! transaction, and an attacker who tips too pays that tip on every slot it fills.

use super::{
	block_number, rpc_error, AccountSigner, At, Chain, ChainError, ChainEvent, Failure, Included,
	Progress, Wait,
};
use crate::{
	chain::vocabulary::{self, Call},
	BlockNumber,
};
use codec::{Decode, Encode};
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::time::{Duration, Instant};
use subxt::error::DispatchError;
use subxt::{
	client::{OnlineClientAtBlock, OnlineClientAtBlockImpl},
	config::{SubstrateConfig, SubstrateExtrinsicParamsBuilder},
	dynamic::Value,
	rpcs::client::rpc_params,
	transactions::{TransactionProgress, TransactionStatus},
};

/// How a transaction bids for a block: once `first` blocks (and as many slots) came
/// without it, it is signed again with a tip of its fee; after each `then` more, with twice
/// the last; at most `raises` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bidding {
	/// Blocks that may come without it before its first tip.
	first: BlockNumber,
	/// Blocks between later raises.
	then: BlockNumber,
	/// How many times it may raise its tip.
	raises: u32,
}

/// How every transaction bids: a tip of its fee once two blocks came without it, then
/// twice the last after each further block, at most five times: 16 times the fee from its
/// sixth block on, within the hosts' 10-block wait for an anchor.
const BIDDING: Bidding = Bidding { first: 2, then: 1, raises: 5 };

/// The pool's refusal of a transaction.
struct Refusal {
	message: String,
	/// The nonce it was signed with.
	nonce: u64,
	/// Refused as invalid, at submission or later, and never seen in a block: what a
	/// runtime upgrade does to a transaction signed for the runtime before it.
	invalid: bool,
}

/// How often a bidding transaction looks at the chain, and how long a block may take: a
/// slot.
const SLOT: Duration = Duration::from_secs(1);

/// Where a transaction's bidding stands.
struct Bid {
	tip: u128,
	raises: u32,
	/// The best block, and the time, when it was last signed or last waited for an earlier
	/// transaction of the account.
	since: (BlockNumber, Instant),
}

/// What a look at the chain decided for a bidding transaction.
enum Raise {
	/// Signed again with a higher tip: the new version's status stream.
	Raised(Watch),
	/// Not now: look again later.
	NotYet,
	/// No more raises: in a block already (its status comes late from a loaded pool), out
	/// of raises, or a raise refused (the tip cannot be paid, say): the transaction as it
	/// stands goes on.
	Done,
}

type Watch = TransactionProgress<SubstrateConfig, OnlineClientAtBlockImpl<SubstrateConfig>>;

impl Chain {
	/// Signs `call(fields)` with `signer`, submits it and waits as `wait` says, reporting
	/// each step to `progress`, bidding for a block ([`BIDDING`]) while blocks come without
	/// it. A transaction that fails on chain is an error naming the pallet error.
	///
	/// A runtime upgrade makes the pool refuse as invalid what was signed for the runtime
	/// before it (the signature covers the runtime's version), even once it took it. Such
	/// a transaction, never seen in a block, is signed once more for the new runtime, with
	/// the same nonce: at most one of the two can ever be taken.
	pub async fn submit(
		&self,
		signer: &sr25519::Pair,
		call: Call,
		fields: Vec<Value>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		// Built at the best block: a transaction is mortal (32 blocks) from the block it is
		// built at, and built at the finalized one it would be refused as too old whenever
		// finality lags that far behind (a validator down). Every raise is built at the same
		// block: one the pool may not have caught up with yet would be refused.
		let mut at = self.at(At::Best).await?;
		let mut signed_again = None;
		loop {
			if vocabulary::HOLD_DEPOSITS.contains(&call) {
				self.refuse_unpayable_deposit(&at, signer, call, &fields).await?;
			}
			let submitted =
				self.submit_at(&at, signer, call, &fields, signed_again, wait, progress);
			let refusal = match submitted.await? {
				Ok(included) => return Ok(included),
				Err(refusal) => refusal,
			};
			if let Some(nonce) = signed_again {
				if self.next_nonce(signer).await? > nonce {
					// Its nonce is used: by the first signing, perhaps, taken after all.
					return Err(ChainError::Rpc(format!(
						"a transaction signed again after a runtime upgrade was refused ({}), \
						 and its nonce is used: it may have been included; look at the chain",
						refusal.message
					)));
				}
			} else if refusal.invalid {
				if let Ok(now) = self.at(At::Best).await {
					if now.spec_version() > at.spec_version() {
						(at, signed_again) = (now, Some(refusal.nonce));
						continue;
					}
				}
			}
			return Err(self.refusal(signer, call, fields, refusal.message).await);
		}
	}

	/// [`Chain::submit`] of a transaction built at `at`, with `nonce` or the account's
	/// next; the pool's refusal, as `Ok(Err)`.
	#[allow(clippy::too_many_arguments)]
	async fn submit_at(
		&self,
		at: &OnlineClientAtBlock<SubstrateConfig>,
		signer: &sr25519::Pair,
		call: Call,
		fields: &[Value],
		nonce: Option<u64>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Result<Included, Refusal>, ChainError> {
		let (nonce, watch) = match self.sign_and_watch(at, signer, call, fields, nonce, 0).await? {
			Ok(submitted) => submitted,
			Err((nonce, message)) => return Ok(Err(Refusal { message, nonce, invalid: true })),
		};
		progress(Progress::Submitted);
		let since = (block_number(at.block_number())?, Instant::now());
		let mut bid = Bid { tip: 0, raises: 0, since };
		// Every version signed is followed: an earlier one may be the one a block takes.
		let mut versions = vec![watch];
		// When to look next; statuses other than a block's do not put it off.
		let mut look_at = Some(Instant::now() + SLOT);
		let mut seen_in_block = false;
		loop {
			let next = futures::future::select_all(versions.iter_mut().map(|v| Box::pin(v.next())));
			let next = match look_at {
				Some(at) => tokio::time::timeout_at(at.into(), next).await,
				None => Ok(next.await),
			}
			.map(|(status, version, _)| (status, version));
			let (status, version) = match next {
				Ok((Some(status), version)) => (status.map_err(rpc_error)?, version),
				Ok((None, version)) => {
					versions.swap_remove(version);
					if versions.is_empty() {
						break;
					}
					continue;
				}
				Err(_) => {
					look_at = match self.raise(at, signer, call, fields, nonce, &mut bid).await {
						Raise::Raised(raised) => {
							versions.push(raised);
							Some(Instant::now() + SLOT)
						}
						Raise::NotYet => Some(Instant::now() + SLOT),
						Raise::Done => None,
					};
					continue;
				}
			};
			let (in_block, finalized) = match status {
				TransactionStatus::Broadcasted => {
					progress(Progress::Broadcast);
					continue;
				}
				TransactionStatus::InBestBlock(in_block) => (in_block, false),
				TransactionStatus::InFinalizedBlock(in_block) => (in_block, true),
				// Replaced by a later version, or the version a block took: others go on.
				TransactionStatus::Invalid { .. }
				| TransactionStatus::Dropped { .. }
				| TransactionStatus::Error { .. }
					if versions.len() > 1 =>
				{
					versions.swap_remove(version);
					continue;
				}
				TransactionStatus::Invalid { message } => {
					return Ok(Err(Refusal { message, nonce, invalid: !seen_in_block }))
				}
				TransactionStatus::Dropped { message } | TransactionStatus::Error { message } => {
					return Ok(Err(Refusal { message, nonce, invalid: false }))
				}
				TransactionStatus::Validated | TransactionStatus::NoLongerInBestBlock => continue,
			};
			(look_at, seen_in_block) = (None, true);
			let block_hash = H256(in_block.block_hash().0);
			let header = self.api.at_block(in_block.block_hash()).await.map_err(rpc_error)?;
			let number = block_number(header.block_number())?;
			if finalized {
				self.saw_final(number, block_hash).await;
			}
			progress(if finalized {
				Progress::Finalized(number)
			} else {
				Progress::InBlock(number)
			});
			if !finalized && wait == Wait::Finalized {
				continue;
			}
			let events = in_block.wait_for_success().await.map_err(Failure::of)?;
			let events = events
				.iter()
				.map(|event| {
					let event = event.map_err(rpc_error)?;
					Ok(ChainEvent {
						pallet: event.pallet_name().to_owned(),
						name: event.event_name().to_owned(),
						fields: event.field_bytes().to_vec(),
					})
				})
				.collect::<Result<_, ChainError>>()?;
			return Ok(Ok(Included { block_hash, block_number: number, finalized, events }));
		}
		Err(ChainError::Rpc("the node stopped reporting the transaction's status".into()))
	}

	/// Raises the tip of `signer`'s transaction with `nonce` if blocks are contested: it is
	/// the account's next one at the best block, and blocks and slots came without it
	/// ([`BIDDING`]). An earlier transaction of the account waiting, or blocks not coming,
	/// or a node catching up, is no contest a tip wins; a look that fails is tried again.
	async fn raise(
		&self,
		at: &OnlineClientAtBlock<SubstrateConfig>,
		signer: &sr25519::Pair,
		call: Call,
		fields: &[Value],
		nonce: u64,
		bid: &mut Bid,
	) -> Raise {
		if bid.raises >= BIDDING.raises {
			return Raise::Done;
		}
		let Ok(best) = self.at(At::Best).await else { return Raise::NotYet };
		let account = AccountId32::from(signer.public()).encode();
		let (method, apis) = (vocabulary::ACCOUNT_NONCE.method(), best.runtime_apis());
		let Ok(bytes) = apis.call_raw(&method, Some(&account[..])).await else {
			return Raise::NotYet;
		};
		let (Ok(next_nonce), Ok(number)) =
			(u32::decode(&mut &bytes[..]), block_number(best.block_number()))
		else {
			return Raise::NotYet;
		};
		let next_nonce = u64::from(next_nonce);
		if next_nonce > nonce {
			return Raise::Done;
		}
		if next_nonce < nonce {
			bid.since = (number, Instant::now());
			return Raise::NotYet;
		}
		let blocks = if bid.raises == 0 { BIDDING.first } else { BIDDING.then };
		let (signed_at, signed_when) = bid.since;
		if number < signed_at.saturating_add(blocks) || signed_when.elapsed() < SLOT * blocks {
			return Raise::NotYet;
		}
		let tip = match bid.tip {
			0 => match self.fee(signer, call, fields.to_vec()).await {
				Ok(fee) => fee.0.max(1),
				Err(_) => return Raise::NotYet,
			},
			tip => tip.saturating_mul(2),
		};
		match self.sign_and_watch(at, signer, call, fields, Some(nonce), tip).await {
			Ok(Ok((_, watch))) => {
				*bid = Bid { tip, raises: bid.raises + 1, since: (number, Instant::now()) };
				Raise::Raised(watch)
			}
			Ok(Err(_)) => Raise::Done,
			Err(_) => Raise::NotYet,
		}
	}

	/// Applies `call(fields)` to block `at`'s state as a block would
	/// (`BlockBuilder_apply_extrinsic`), without submitting it, so that a call whose
	/// deposit the account cannot hold is refused before its fee is paid. Only that refusal
	/// counts: whatever else the run says may change with what the pool holds ahead of the
	/// call, and is the chain's to decide; a run that cannot be made stops nothing.
	async fn refuse_unpayable_deposit(
		&self,
		at: &OnlineClientAtBlock<SubstrateConfig>,
		signer: &sr25519::Pair,
		call: Call,
		fields: &[Value],
	) -> Result<(), ChainError> {
		let payload = subxt::dynamic::transaction(call.0, call.1, fields.to_vec());
		// The nonce of `at`'s state, as the run needs (the pool's may be ahead of it), and
		// immortal: `at`'s own hash is not in its state, so a transaction born there would
		// be refused as one of an unknown block.
		let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().immortal().build();
		let Ok(signed) =
			at.transactions().create_signed(&payload, &AccountSigner(signer), params).await
		else {
			return Ok(());
		};
		let (method, apis) = (vocabulary::APPLY_EXTRINSIC.method(), at.runtime_apis());
		let Ok(outcome) = apis.call_raw(&method, Some(signed.encoded())).await else {
			return Ok(());
		};
		// An `ApplyExtrinsicResult`: valid (0), dispatched with an error (1), the error.
		let [0, 1, error @ ..] = outcome.as_slice() else { return Ok(()) };
		match DispatchError::decode_from(error, at.metadata()).map(|e| Failure::of_dispatch(&e)) {
			Ok(failure) if failure.is_unpayable_deposit() => Err(ChainError::Dispatch(failure)),
			_ => Ok(()),
		}
	}

	/// Signs `call(fields)` at block `at` with `nonce` (the pool's next one if none) and
	/// `tip`, submits it and follows it: the nonce it took, or the pool's refusal in its
	/// words.
	async fn sign_and_watch(
		&self,
		at: &OnlineClientAtBlock<SubstrateConfig>,
		signer: &sr25519::Pair,
		call: Call,
		fields: &[Value],
		nonce: Option<u64>,
		tip: u128,
	) -> Result<Result<(u64, Watch), (u64, String)>, ChainError> {
		let payload = subxt::dynamic::transaction(call.0, call.1, fields.to_vec());
		let _one_at_a_time = self.submitting.lock().await;
		// The pool's next nonce: the finalized state's would repeat one still in the pool.
		let nonce = match nonce {
			Some(nonce) => nonce,
			None => self.next_nonce(signer).await?,
		};
		let params =
			SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(nonce).tip(tip).build();
		Ok(at
			.transactions()
			.sign_and_submit_then_watch(&payload, &AccountSigner(signer), params)
			.await
			.map(|watch| (nonce, watch))
			.map_err(|e| (nonce, e.to_string())))
	}

	/// `signer`'s next nonce, counting what the node's pool holds.
	async fn next_nonce(&self, signer: &sr25519::Pair) -> Result<u64, ChainError> {
		let account = AccountId32::from(signer.public()).to_string();
		self.rpc.request("system_accountNextIndex", rpc_params![account]).await
	}
}
