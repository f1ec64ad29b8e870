//! What the client reads from the chain: keys, anchors, receipts, groups. Reads are at the
//! finalized block unless they say otherwise.

use crate::{
	chain::{account_value, hash_value, At, Chain, ChainError},
	hosts, BlockNumber,
};
use codec::{Decode, Encode};
use quarks_primitives::{
	hosting::{BatchMembership, MAX_ANCHOR_QUERIES},
	merkle::AnchorLeaf,
	AnchorRecord, Destination, Epoch, GroupId, KeyRecord, KeyVersion,
};
use sp_core::{crypto::AccountId32, H256};
use subxt::dynamic::Value;

/// A group's state on chain.
#[derive(Decode, Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
	/// Current members.
	pub members: u32,
	/// Current admins.
	pub admins: u32,
	/// The open epoch.
	pub epoch: Epoch,
	/// Whether its key was posted.
	pub rotated: bool,
}

/// One member's entry in a key rotation.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
	/// The member.
	pub member: AccountId32,
	/// The member's key version the group key was sealed to.
	pub key_version: KeyVersion,
	/// The hash of the envelope carrying the group key to the member.
	pub commitment: H256,
}

/// The encryption key `who` has at the finalized block.
pub async fn current_key(
	chain: &Chain,
	who: &AccountId32,
) -> Result<Option<KeyRecord<BlockNumber>>, ChainError> {
	chain.view("Keys", "current_key", vec![account_value(who)]).await
}

/// The encryption key `who` had at block `at`.
pub async fn key_at(
	chain: &Chain,
	who: &AccountId32,
	at: BlockNumber,
) -> Result<Option<KeyRecord<BlockNumber>>, ChainError> {
	chain.view("Keys", "key_at", vec![account_value(who), Value::u128(at.into())]).await
}

/// The anchor `sender` recorded under `root`, at block `at`.
pub async fn anchor(
	chain: &Chain,
	sender: &AccountId32,
	root: &H256,
	at: At,
) -> Result<Option<AnchorRecord<BlockNumber>>, ChainError> {
	chain.runtime_api_at(at, "HostingApi_anchor", &(sender, root).encode()).await
}

/// The anchors recorded under each (sender, root), at block `at`, in one read per
/// [`MAX_ANCHOR_QUERIES`].
pub async fn anchors(
	chain: &Chain,
	keys: &[(AccountId32, H256)],
	at: At,
) -> Result<Vec<Option<AnchorRecord<BlockNumber>>>, ChainError> {
	let mut out = Vec::with_capacity(keys.len());
	for chunk in keys.chunks(MAX_ANCHOR_QUERIES) {
		let answers: Vec<Option<AnchorRecord<BlockNumber>>> =
			chain.runtime_api_at(at, "HostingApi_anchors", &chunk.to_vec().encode()).await?;
		out.extend(answers);
	}
	Ok(out)
}

/// The block of the anchor of `sender` covering `leaf` by `membership`, at block `at`;
/// `None` if there is no such anchor there.
pub async fn anchored_at(
	chain: &Chain,
	sender: &AccountId32,
	leaf: &AnchorLeaf<AccountId32>,
	membership: &BatchMembership,
	at: At,
) -> Result<Option<BlockNumber>, ChainError> {
	Ok(anchor(chain, sender, &membership.root, at)
		.await?
		.filter(|a| a.covers(&membership.root, &leaf.value(), &membership.proof))
		.map(|a| a.anchored_at))
}

/// The block at which `recipient` acknowledged `envelope`, if the chain keeps it.
pub async fn receipt_of(
	chain: &Chain,
	envelope: &H256,
	recipient: &AccountId32,
) -> Result<Option<BlockNumber>, ChainError> {
	chain
		.view("Messaging", "receipt_of", vec![hash_value(envelope), account_value(recipient)])
		.await
}

/// The accounts an envelope for `destination` is for.
pub async fn recipients(
	chain: &Chain,
	destination: &Destination<AccountId32>,
) -> Result<Vec<AccountId32>, ChainError> {
	chain.runtime_api("HostingApi_recipients", &destination.encode()).await
}

/// A group's state.
pub async fn group_info(chain: &Chain, group: GroupId) -> Result<Option<GroupInfo>, ChainError> {
	chain.view("Groups", "group", vec![Value::u128(group.into())]).await
}

/// The current members of `group`.
pub async fn group_members(chain: &Chain, group: GroupId) -> Result<Vec<AccountId32>, ChainError> {
	chain
		.storage_entries("Groups", "Members", vec![Value::u128(group.into())])
		.await?
		.iter()
		.map(|(key, _)| hosts::last_account(key))
		.collect()
}

/// The rotation record of `group`'s `epoch`.
pub async fn rotation(
	chain: &Chain,
	group: GroupId,
	epoch: Epoch,
) -> Result<Vec<WrappedKey>, ChainError> {
	let keys = vec![Value::u128(group.into()), Value::u128(epoch.into())];
	match chain.storage_value("Groups", "Rotations", keys).await? {
		Some(value) => Vec::<WrappedKey>::decode(&mut &value[..])
			.map_err(|e| ChainError::Decode(format!("rotation: {e}"))),
		None => Ok(Vec::new()),
	}
}
