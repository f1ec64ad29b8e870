//! Signing, submitting and following transactions; and bidding for a block when shared
//! slots are contested.
//!
//! Of transactions of equal priority the pool takes first those that expire first, so
//! accounts that keep a block's anchor slots full with short-lived transactions would
//! keep an honest one waiting until it is about to expire: longer than hosts hold pending
//! mail. A transaction that bids ([`Bidding`]) is signed again with the same nonce and a
//! tip, replacing itself, whenever it waits too long for a block: any tip outranks every
//! untipped transaction, and an attacker who tips too pays that tip on every slot it fills.

use super::{
	block_number, rpc_error, AccountSigner, At, Chain, ChainError, ChainEvent, Failure, Included,
	Progress, Wait,
};
use crate::chain::vocabulary::{self, Call};
use codec::Encode;
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::time::{Duration, Instant};
use subxt::{
	client::{OnlineClientAtBlock, OnlineClientAtBlockImpl},
	config::{SubstrateConfig, SubstrateExtrinsicParamsBuilder},
	dynamic::Value,
	rpcs::client::rpc_params,
	transactions::{TransactionProgress, TransactionStatus},
};

/// How a transaction bids for a block: after each `stall` without being in one, it is
/// signed again with a higher tip (its fee at first, then twice the last), at most
/// `raises` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bidding {
	/// How long it may wait for a block before it raises its tip.
	pub stall: Duration,
	/// How many times it may raise its tip.
	pub raises: u32,
}

type Watch = TransactionProgress<SubstrateConfig, OnlineClientAtBlockImpl<SubstrateConfig>>;

impl Chain {
	/// Signs `call(fields)` with `signer`, submits it and waits as `wait` says, reporting
	/// each step to `progress`. A transaction that fails on chain is an error naming the
	/// pallet error.
	pub async fn submit(
		&self,
		signer: &sr25519::Pair,
		call: Call,
		fields: Vec<Value>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		self.submit_bidding(signer, call, fields, wait, None, progress).await
	}

	/// As [`Chain::submit`], raising its tip as `bidding` says while it waits for a block.
	pub async fn submit_bidding(
		&self,
		signer: &sr25519::Pair,
		call: Call,
		fields: Vec<Value>,
		wait: Wait,
		bidding: Option<Bidding>,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		// Built at the best block: a transaction is mortal (32 blocks) from the block it is
		// built at, and built at the finalized one it would be refused as too old whenever
		// finality lags that far behind (a validator down). Every raise is built at the same
		// block: one the pool may not have caught up with yet would be refused.
		let at = self.at(At::Best).await?;
		let (nonce, mut watch) =
			match self.sign_and_watch(&at, signer, call, &fields, None, 0).await? {
				Ok(submitted) => submitted,
				Err(message) => return Err(self.refusal(signer, call, fields, message).await),
			};
		progress(Progress::Submitted);
		let (mut tip, mut raises) = (0u128, 0u32);
		// When to raise next; statuses other than a block's do not put it off.
		let mut raise_at = bidding.map(|b| Instant::now() + b.stall);
		loop {
			let next = match raise_at {
				Some(at) => tokio::time::timeout_at(at.into(), watch.next()).await,
				None => Ok(watch.next().await),
			};
			let status = match next {
				Ok(Some(status)) => status.map_err(rpc_error)?,
				Ok(None) => break,
				// No block yet by its status, which comes late from a loaded pool: unless
				// its nonce is taken already, the same nonce, a higher tip, replacing it.
				Err(_) => {
					let account = AccountId32::from(signer.public()).encode();
					let next_nonce: u32 =
						self.runtime_api_at(At::Best, vocabulary::ACCOUNT_NONCE, &account).await?;
					let bidding =
						bidding.filter(|b| u64::from(next_nonce) <= nonce && raises < b.raises);
					let Some(bidding) = bidding else {
						raise_at = None;
						continue;
					};
					tip = match tip {
						0 => self.fee(signer, call, fields.clone()).await?.0.max(1),
						tip => tip.saturating_mul(2),
					};
					raises += 1;
					raise_at = Some(Instant::now() + bidding.stall);
					let raised = self.sign_and_watch(&at, signer, call, &fields, Some(nonce), tip);
					watch = match raised.await? {
						Ok((_, watch)) => watch,
						// Most likely it was just included: the caller can tell by its effect.
						Err(message) => return Err(ChainError::Refused(message)),
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
				TransactionStatus::Invalid { message }
				| TransactionStatus::Dropped { message }
				| TransactionStatus::Error { message } => {
					return Err(self.refusal(signer, call, fields, message).await)
				}
				TransactionStatus::Validated | TransactionStatus::NoLongerInBestBlock => continue,
			};
			raise_at = None;
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
			return Ok(Included { block_hash, block_number: number, finalized, events });
		}
		Err(ChainError::Rpc("the node stopped reporting the transaction's status".into()))
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
	) -> Result<Result<(u64, Watch), String>, ChainError> {
		let payload = subxt::dynamic::transaction(call.0, call.1, fields.to_vec());
		let _one_at_a_time = self.submitting.lock().await;
		// The pool's next nonce: the finalized state's would repeat one still in the pool.
		let nonce = match nonce {
			Some(nonce) => nonce,
			None => {
				self.rpc
					.request(
						"system_accountNextIndex",
						rpc_params![AccountId32::from(signer.public()).to_string()],
					)
					.await?
			}
		};
		let params =
			SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(nonce).tip(tip).build();
		Ok(at
			.transactions()
			.sign_and_submit_then_watch(&payload, &AccountSigner(signer), params)
			.await
			.map(|watch| (nonce, watch))
			.map_err(|e| e.to_string()))
	}
}
