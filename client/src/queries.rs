//! What the client reads from the chain: devices and key packages, anchors, receipts,
//! groups and their commits. Reads are at the finalized block unless they say otherwise;
//! what makes a message final (its anchor, its device's binding, its receipts) is proven
//! ([`crate::chain::proven`]), not taken from the node's word.

use crate::{
	chain::{
		proven::{storage_key, FinalBlock},
		vocabulary, At, Chain, ChainError,
	},
	hosts, BlockNumber,
};
use codec::{Decode, Encode};
pub use quarks_primitives::groups::{GroupInfo, MemberInfo};
use quarks_primitives::{
	groups::find_message,
	hosting::{BatchMembership, MAX_ANCHOR_QUERIES},
	merkle::AnchorLeaf,
	AnchorRecord, Destination, DeviceKey, DeviceRecord, Epoch, GroupId, KeyPackageRecord,
};
use sp_core::{crypto::AccountId32, H256};

/// What the chain recorded of the MLS commit that opened an epoch.
pub type CommitRecord = quarks_primitives::groups::CommitRecord<AccountId32, BlockNumber>;

/// The devices bound to `who` at the latest final block, proven: a node cannot slip a
/// device of its own into someone's, nor hide one.
pub async fn devices(chain: &Chain, who: &AccountId32) -> Result<Vec<DeviceKey>, ChainError> {
	let block = chain.proven_latest().await?;
	let key = storage_key(&vocabulary::DEVICE_RECORDS, &[who.as_ref()]);
	let records: Vec<DeviceRecord<BlockNumber>> =
		chain.proven_value_at(&block, key).await?.unwrap_or_default();
	Ok(records.into_iter().filter(|r| r.is_bound_at(&block.number)).map(|r| r.key).collect())
}

/// The record of `device` if it was bound to `who` at block `at`, proven at the latest
/// final block (records stay 7 days after a removal).
pub async fn device_at(
	chain: &Chain,
	who: &AccountId32,
	device: &DeviceKey,
	at: BlockNumber,
) -> Result<Option<DeviceRecord<BlockNumber>>, ChainError> {
	let block = chain.proven_latest().await?;
	if block.number < at {
		return Err(ChainError::Unproven(format!("block {at} is not final yet")));
	}
	let key = storage_key(&vocabulary::DEVICE_RECORDS, &[who.as_ref()]);
	let records: Vec<DeviceRecord<BlockNumber>> =
		chain.proven_value_at(&block, key).await?.unwrap_or_default();
	Ok(records.into_iter().find(|r| &r.key == device && r.is_bound_at(&at)))
}

/// The unexpired key package of `device`, proven at the latest final block.
pub async fn key_package(
	chain: &Chain,
	device: &DeviceKey,
) -> Result<Option<KeyPackageRecord<Vec<u8>, BlockNumber>>, ChainError> {
	let block = chain.proven_latest().await?;
	let key = storage_key(&vocabulary::KEY_PACKAGES, &[device]);
	let record: Option<KeyPackageRecord<Vec<u8>, BlockNumber>> =
		chain.proven_value_at(&block, key).await?;
	Ok(record.filter(|r| r.expires_at > block.number))
}

/// The anchor `sender` recorded under `root`, at block `at`: proven at the final block, as
/// the node says at the best one.
pub async fn anchor(
	chain: &Chain,
	sender: &AccountId32,
	root: &H256,
	at: At,
) -> Result<Option<AnchorRecord<BlockNumber>>, ChainError> {
	match at {
		At::Finalized => Ok(anchors(chain, &[(sender.clone(), *root)], at).await?.pop().flatten()),
		At::Best => chain.runtime_api_at(at, vocabulary::ANCHOR_OF, &(sender, root).encode()).await,
	}
}

/// The anchors recorded under each (sender, root), at block `at` (proven at the final
/// block), in one read per [`MAX_ANCHOR_QUERIES`].
pub async fn anchors(
	chain: &Chain,
	keys: &[(AccountId32, H256)],
	at: At,
) -> Result<Vec<Option<AnchorRecord<BlockNumber>>>, ChainError> {
	if at == At::Finalized {
		return proven_anchors(chain, keys).await;
	}
	let mut out = Vec::with_capacity(keys.len());
	for chunk in keys.chunks(MAX_ANCHOR_QUERIES) {
		let answers: Vec<Option<AnchorRecord<BlockNumber>>> =
			chain.runtime_api_at(at, vocabulary::ANCHORS_OF, &chunk.to_vec().encode()).await?;
		out.extend(answers);
	}
	Ok(out)
}

/// The anchors under each (sender, root) at the latest final block, each proven.
async fn proven_anchors(
	chain: &Chain,
	keys: &[(AccountId32, H256)],
) -> Result<Vec<Option<AnchorRecord<BlockNumber>>>, ChainError> {
	let block = chain.proven_latest().await?;
	let mut out = Vec::with_capacity(keys.len());
	for chunk in keys.chunks(MAX_ANCHOR_QUERIES) {
		let storage_keys: Vec<Vec<u8>> = chunk
			.iter()
			.map(|(sender, root)| {
				storage_key(&vocabulary::ANCHORS, &[sender.as_ref(), root.as_bytes()])
			})
			.collect();
		for value in chain.proven_read(&block, &storage_keys).await? {
			let record = value
				.map(|bytes| AnchorRecord::decode(&mut &bytes[..]))
				.transpose()
				.map_err(|e| ChainError::Decode(format!("anchor: {e}")))?;
			out.push(record);
		}
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

/// The block at which `recipient` acknowledged `envelope`, if the chain keeps it, proven at
/// the latest final block.
pub async fn receipt_of(
	chain: &Chain,
	envelope: &H256,
	recipient: &AccountId32,
) -> Result<Option<BlockNumber>, ChainError> {
	let key = storage_key(&vocabulary::RECEIPTS, &[envelope.as_bytes(), recipient.as_ref()]);
	chain.proven_value(key).await
}

/// Those of `envelopes` whose receipt by `recipient` the latest final block keeps, in one
/// proven read.
pub async fn acknowledged_of(
	chain: &Chain,
	envelopes: &[H256],
	recipient: &AccountId32,
) -> Result<Vec<H256>, ChainError> {
	if envelopes.is_empty() {
		return Ok(Vec::new());
	}
	let block = chain.proven_latest().await?;
	let keys: Vec<Vec<u8>> = envelopes
		.iter()
		.map(|e| storage_key(&vocabulary::RECEIPTS, &[e.as_bytes(), recipient.as_ref()]))
		.collect();
	let receipts = chain.proven_read(&block, &keys).await?;
	Ok(envelopes.iter().zip(receipts).filter_map(|(e, receipt)| receipt.map(|_| *e)).collect())
}

/// Those of `recipients` whose receipts for `envelope` the latest final block keeps, in
/// one proven read.
pub async fn acknowledged_by(
	chain: &Chain,
	envelope: &H256,
	recipients: Vec<AccountId32>,
) -> Result<Vec<AccountId32>, ChainError> {
	let block = chain.proven_latest().await?;
	let keys: Vec<Vec<u8>> = recipients
		.iter()
		.map(|r| storage_key(&vocabulary::RECEIPTS, &[envelope.as_bytes(), r.as_ref()]))
		.collect();
	let receipts = chain.proven_read(&block, &keys).await?;
	Ok(recipients.into_iter().zip(receipts).filter_map(|(r, receipt)| receipt.map(|_| r)).collect())
}

/// The accounts an envelope for `destination` is for (a group's members at its epoch,
/// proven).
pub async fn recipients(
	chain: &Chain,
	destination: &Destination<AccountId32>,
) -> Result<Vec<AccountId32>, ChainError> {
	match destination {
		Destination::Direct(recipient) => Ok(vec![recipient.clone()]),
		Destination::Group { group, epoch } => members_at(chain, *group, *epoch).await,
	}
}

/// A group's state, proven at the latest final block.
pub async fn group_info(chain: &Chain, group: GroupId) -> Result<Option<GroupInfo>, ChainError> {
	chain.proven_value(storage_key(&vocabulary::GROUPS, &[&group.encode()])).await
}

/// The current members of `group` at the latest final block, proven: the node names
/// them, each membership is proven, and the group's proven count of members shows that
/// none was left out.
pub async fn group_members(chain: &Chain, group: GroupId) -> Result<Vec<AccountId32>, ChainError> {
	chain.refusing(|| members_listed(chain, group)).await
}

async fn members_listed(chain: &Chain, group: GroupId) -> Result<Vec<AccountId32>, ChainError> {
	let block = chain.proven_latest().await?;
	let group_key = group.encode();
	let info: Option<GroupInfo> =
		chain.proven_value_at(&block, storage_key(&vocabulary::GROUPS, &[&group_key])).await?;
	let Some(info) = info else { return Ok(Vec::new()) };
	let named = chain
		.keys_at(&block, &storage_key(&vocabulary::MEMBER, &[&group_key]), info.members)
		.await?;
	let mut members =
		named.iter().map(|key| hosts::last_account(key)).collect::<Result<Vec<_>, _>>()?;
	members.sort();
	members.dedup();
	let keys: Vec<Vec<u8>> = members
		.iter()
		.map(|member| storage_key(&vocabulary::MEMBER, &[&group_key, member.as_ref()]))
		.collect();
	let proven = chain.proven_read(&block, &keys).await?;
	if proven.iter().any(Option::is_none) || members.len() != info.members as usize {
		return Err(ChainError::Unproven(format!(
			"the node named {} members of group {group}, {} of them proven, where the chain counts {}",
			members.len(),
			proven.iter().flatten().count(),
			info.members
		)));
	}
	Ok(members)
}

/// `who`'s membership of `group` as of the latest final block, proven.
pub async fn member(
	chain: &Chain,
	group: GroupId,
	who: &AccountId32,
) -> Result<Option<MemberInfo>, ChainError> {
	chain.proven_value(storage_key(&vocabulary::MEMBER, &[&group.encode(), who.as_ref()])).await
}

/// The members of `group` at `epoch`, while the chain keeps its record, proven: the set
/// recorded at the epoch whose membership change the commit's record names.
pub async fn members_at(
	chain: &Chain,
	group: GroupId,
	epoch: Epoch,
) -> Result<Vec<AccountId32>, ChainError> {
	// Both read at one block: the record and the set it names are pruned together.
	let block = chain.proven_latest().await?;
	let Some(record) = commit_at_block(chain, &block, group, epoch).await? else {
		return Ok(Vec::new());
	};
	let key =
		storage_key(&vocabulary::EPOCH_MEMBERS, &[&group.encode(), &record.members_since.encode()]);
	Ok(chain.proven_value_at(&block, key).await?.unwrap_or_default())
}

/// What the chain recorded of the commit that opened `group`'s `epoch`, proven at the
/// latest final block: a node cannot pass off another epoch's record, or a record of its
/// own, to fork this member from its group.
pub async fn commit_at(
	chain: &Chain,
	group: GroupId,
	epoch: Epoch,
) -> Result<Option<CommitRecord>, ChainError> {
	commit_at_block(chain, &chain.proven_latest().await?, group, epoch).await
}

async fn commit_at_block(
	chain: &Chain,
	block: &FinalBlock,
	group: GroupId,
	epoch: Epoch,
) -> Result<Option<CommitRecord>, ChainError> {
	let key = storage_key(&vocabulary::COMMITS, &[&group.encode(), &epoch.encode()]);
	chain.proven_value_at(block, key).await
}

/// The MLS message of the commit `record` describes, from the body of the block that
/// ordered it, checked against the recorded hash: `None` if this node serves no body for
/// the block (it pruned it, or synced past it), an error if the extrinsic holds no such
/// message.
pub async fn commit_message(
	chain: &Chain,
	record: &CommitRecord,
) -> Result<Option<Vec<u8>>, ChainError> {
	let Some(extrinsics) = chain.block_extrinsics(record.at).await? else { return Ok(None) };
	let missing = || {
		ChainError::Decode(format!(
			"the commit ordered in block {} is not in its extrinsic {}",
			record.at, record.extrinsic
		))
	};
	let extrinsic = extrinsics.get(record.extrinsic as usize).ok_or_else(missing)?;
	find_message(extrinsic, record.size, &record.commit)
		.map(|message| Some(message.to_vec()))
		.ok_or_else(missing)
}
