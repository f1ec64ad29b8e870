//! Delivery receipts: one per leaf, on chain, once its anchor is final.

use super::{Notarization, Received};
use crate::{
	chain::{account_value, failures, hash_value, vocabulary, Chain, Included, Progress, Wait},
	error::ClientError,
	messenger::Messenger,
	queries,
	store::MailStore,
};
use quarks_primitives::Destination;
use sp_core::{crypto::AccountId32, sr25519, H256};
use std::time::Duration;
use subxt::dynamic::Value;

/// Most receipts in one transaction.
pub const MAX_RECEIPTS: usize = 256;

/// What sending receipts takes, owned: a reading loop hands it to a task of its own, so
/// mail keeps being shown while receipts wait for their block. A batch already submitted
/// finishes and is recorded even if the reading stops; a reading started meanwhile may
/// send some of the same receipts, which the chain refuses as already acknowledged and
/// [`Receipts::acknowledge`] sends again without them.
pub(crate) struct Receipts {
	chain: Chain,
	pair: sr25519::Pair,
	account: AccountId32,
	store: MailStore,
}

impl Messenger {
	/// Records delivery receipts for final messages not acknowledged before, per leaf, at
	/// most [`MAX_RECEIPTS`] per transaction and one transaction per block, and remembers
	/// them so none is sent twice.
	pub async fn acknowledge(
		&self,
		received: &[&Received],
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Vec<Included>, ClientError> {
		self.receipts().acknowledge(received, wait, progress).await
	}

	/// This account's receipts sender.
	pub(crate) fn receipts(&self) -> Receipts {
		Receipts {
			chain: self.chain.clone(),
			pair: self.pair().clone(),
			account: self.account().clone(),
			store: self.store.clone(),
		}
	}
}

impl Receipts {
	/// As [`Messenger::acknowledge`].
	pub(crate) async fn acknowledge(
		&self,
		received: &[&Received],
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Vec<Included>, ClientError> {
		let mut fresh: Vec<&Received> = received
			.iter()
			.copied()
			.filter(|r| matches!(r.notarization, Notarization::Final(_)) && r.membership.is_some())
			.filter(|r| !self.store.acknowledged(&r.hash))
			.collect();
		// What another device of this account acknowledged already is not sent again: the
		// chain would refuse it, and a refused receipt still pays its fee.
		let hashes: Vec<H256> = fresh.iter().map(|r| r.hash).collect();
		let done = queries::acknowledged_of(&self.chain, &hashes, &self.account).await?;
		for hash in &done {
			self.store.mark_acknowledged(hash)?;
		}
		fresh.retain(|r| !done.contains(&r.hash));
		let mut out = Vec::new();
		for chunk in fresh.chunks(MAX_RECEIPTS) {
			let mut due: Vec<&Received> = chunk.to_vec();
			let mut attempts = 0u32;
			while !due.is_empty() {
				let items: Vec<Value> = due.iter().filter_map(|r| receipt_item(r)).collect();
				let fields = vec![Value::unnamed_composite(items)];
				let submitted =
					self.chain.submit(&self.pair, vocabulary::ACKNOWLEDGE, fields, wait, progress);
				match submitted.await {
					Ok(included) => {
						out.push(included);
						break;
					}
					// Another device of this account acknowledged some of them first (the
					// batch is all or nothing), or this account acknowledged in this block.
					// Or the block's receipt slots are full: the next block has room.
					Err(e)
						if (e.is_pallet_error(failures::ALREADY_ACKNOWLEDGED)
							|| e.is_pallet_error(failures::ALREADY_ACKNOWLEDGED_IN_BLOCK)
							|| e.is_pallet_error(failures::BLOCK_RECEIPTS_FULL))
							&& attempts < 8 =>
					{
						attempts = attempts.saturating_add(1);
						tokio::time::sleep(Duration::from_secs(1)).await;
						let hashes: Vec<H256> = due.iter().map(|r| r.hash).collect();
						let done =
							queries::acknowledged_of(&self.chain, &hashes, &self.account).await?;
						due.retain(|r| !done.contains(&r.hash));
					}
					Err(e) => return Err(e.into()),
				}
			}
			for r in chunk {
				self.store.mark_acknowledged(&r.hash)?;
			}
		}
		Ok(out)
	}
}

/// A receipt for `received`'s leaf, as a dynamic value; `None` without a membership.
fn receipt_item(received: &Received) -> Option<Value> {
	let membership = received.membership.as_ref()?;
	let leaf = &received.leaf;
	let proof = &membership.proof;
	Some(Value::named_composite([
		("sender", account_value(&received.sender)),
		("root", hash_value(&membership.root)),
		(
			"leaf",
			Value::named_composite([
				("envelope", hash_value(&leaf.envelope)),
				("destination", destination_value(&leaf.destination)),
				("size_class", Value::u128(leaf.size_class.into())),
			]),
		),
		(
			"proof",
			Value::named_composite([
				("leaf_index", Value::u128(proof.leaf_index.into())),
				("leaf_count", Value::u128(proof.leaf_count.into())),
				("siblings", Value::unnamed_composite(proof.siblings.iter().map(hash_value))),
			]),
		),
		(
			"host",
			match &received.fetched_from {
				Some(operator) => Value::unnamed_variant("Some", [account_value(operator)]),
				None => Value::unnamed_variant("None", []),
			},
		),
	]))
}

/// A destination as a dynamic value.
fn destination_value(destination: &Destination<AccountId32>) -> Value {
	match destination {
		Destination::Direct(account) => Value::unnamed_variant("Direct", [account_value(account)]),
		Destination::Group { group, epoch } => Value::named_variant(
			"Group",
			[("group", Value::u128((*group).into())), ("epoch", Value::u128((*epoch).into()))],
		),
	}
}
