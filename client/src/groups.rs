//! Groups: create, add, remove, leave, and key rotation.
//!
//! Group keys travel as 1:1 envelopes ([`Content::GroupKey`]) delivered like any mail and
//! anchored in the same transaction as the rotation, whose on-chain commitment for each
//! member is the hash of that member's key envelope: a member accepts a group key only if
//! the chain commits to exactly the envelope that carried it.

use crate::{
	chain::{account_value, hash_value, Included, Progress, Wait},
	error::ClientError,
	keystore::GroupKey,
	messenger::Messenger,
	queries::{self, group_info, group_members},
	seal::{self, Content, Letter, SealFor},
	send::{anchor_call, batch, now_ms},
};
use codec::Encode;
use quarks_primitives::{merkle::AnchorLeaf, Epoch, GroupId};
use rand_core::{OsRng, RngCore};
use sp_core::crypto::AccountId32;
use subxt::dynamic::Value;

impl Messenger {
	/// Creates a group of the signer and `members` (each needs a valid key) and posts its
	/// first key. Waits for finality so the group can be used at once.
	pub async fn create_group(
		&mut self,
		members: &[AccountId32],
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupId, ClientError> {
		let members = Value::unnamed_composite(members.iter().map(account_value));
		let included = self
			.transact("Groups", "create_group", vec![members], Wait::Finalized, progress)
			.await?;
		let (group, _, _): (GroupId, AccountId32, u32) =
			included.event("Groups", "GroupCreated")?;
		self.rotate_group(group, progress).await?;
		Ok(group)
	}

	/// Adds `who` to `group` and rotates its key (the signer must be an admin).
	pub async fn add_member(
		&mut self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.change_membership("add_member", group, who, progress).await
	}

	/// Removes `who` from `group` and rotates its key, so `who` cannot read what follows.
	pub async fn remove_member(
		&mut self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.change_membership("remove_member", group, who, progress).await
	}

	async fn change_membership(
		&mut self,
		call: &str,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let fields = vec![Value::u128(group.into()), account_value(who)];
		self.transact("Groups", call, fields, Wait::Finalized, progress).await?;
		self.rotate_group(group, progress).await
	}

	/// Leaves `group`; an admin must then rotate its key for the others.
	pub async fn leave_group(
		&self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ClientError> {
		let fields = vec![Value::u128(group.into())];
		Ok(self.transact("Groups", "leave", fields, Wait::Finalized, progress).await?)
	}

	/// Posts a fresh key for `group`'s open epoch: one key envelope per current member,
	/// delivered at once and anchored in the same transaction as the rotation that commits
	/// to them. Returns the epoch; an epoch already rotated is left alone.
	pub async fn rotate_group(
		&mut self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let info = group_info(&self.chain, group).await?.ok_or(ClientError::NoGroup(group))?;
		if info.rotated {
			return Ok(info.epoch);
		}
		let epoch = info.epoch;
		let mut key = [0u8; 32];
		OsRng.fill_bytes(&mut key);
		let letter =
			Letter { sent_at: now_ms(), content: Content::GroupKey { group, epoch, key }.encode() };

		let mut wrapped = Vec::new();
		let mut sealed = Vec::new();
		for member in group_members(&self.chain, group).await? {
			let record = queries::current_key(&self.chain, &member)
				.await?
				.ok_or_else(|| ClientError::NoKey(member.clone()))?;
			let to =
				SealFor::Direct { account: &member, key: &record.key, version: record.version };
			let envelope = seal::seal(self.pair(), to, &letter)?;
			wrapped.push(Value::named_composite([
				("member", account_value(&member)),
				("key_version", Value::u128(record.version.into())),
				("commitment", hash_value(&envelope.hash)),
			]));
			sealed.push(envelope);
		}

		// Kept before anything is sent: a rotation the chain accepts is never unreadable.
		self.keystore.identity.add_group_key(GroupKey { group, epoch, key });
		self.keystore.save()?;
		let mut leaves: Vec<AnchorLeaf<AccountId32>> = Vec::new();
		for envelope in sealed {
			leaves.push(self.submit(envelope).await?.leaf);
		}
		let (root, memberships) = batch(&leaves);
		self.keep_memberships(&memberships).await?;
		progress(Progress::Relaying);
		let rotation = Value::unnamed_variant(
			"Groups",
			[Value::named_variant(
				"rotate_key",
				[
					("group", Value::u128(group.into())),
					("epoch", Value::u128(epoch.into())),
					("wrapped", Value::unnamed_composite(wrapped)),
				],
			)],
		);
		let calls = vec![rotation, anchor_call(&root, leaves.len() as u32)];
		self.transact(
			"Utility",
			"batch_all",
			vec![Value::unnamed_composite(calls)],
			Wait::Finalized,
			progress,
		)
		.await?;
		Ok(epoch)
	}
}
