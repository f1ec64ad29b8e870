//! Conversations: MLS groups whose membership and key schedule the chain orders.
//!
//! A conversation, 1:1 or not, is a group on chain (members, admins) and an MLS group on
//! its members' devices. Every change of its devices — a member added or removed, a device
//! bound or unbound, a member updating its own leaf — is one MLS commit, which the groups
//! pallet orders: it takes a commit only for the epoch that builds on its current one, and
//! only if the group's devices after it are bound to exactly its current members. Members
//! apply the commit the chain recorded, so they never fork; a member whose commit lost
//! applies the winner and tries again, without its user doing anything.
//!
//! A commit travels like mail to the members of the epoch it builds on, and its welcome
//! to each new member's account, both anchored in the transaction that orders the commit.

use crate::{
	chain::{account_value, hash_value, At, Progress, Wait},
	error::ClientError,
	messenger::Messenger,
	mls::DeviceId,
	queries::{self, GroupInfo},
	seal::{self, Body},
	send::{anchor_call, batch, chain_epoch},
	BlockNumber,
};
use quarks_primitives::{Destination, DeviceKey, Epoch, GroupId};
use sp_core::crypto::AccountId32;
use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;

/// Attempts at getting a commit ordered while other members' commits win.
const COMMIT_ATTEMPTS: u32 = 5;
/// How long a device waits for the commits the chain ordered to reach it.
const CATCH_UP_FOR: Duration = Duration::from_secs(60);

/// A change of membership a commit goes with, in one transaction.
enum Membership {
	/// An admin adds the account.
	Add(AccountId32),
	/// An admin removes the account.
	Remove(AccountId32),
}

impl Membership {
	fn call(&self, group: GroupId) -> Value {
		let (name, who) = match self {
			Self::Add(who) => ("add_member", who),
			Self::Remove(who) => ("remove_member", who),
		};
		groups_call(name, vec![("group", Value::u128(group.into())), ("who", account_value(who))])
	}
}

/// What a commit changes of a group's devices.
#[derive(Default)]
struct Changes {
	/// The key packages of the devices it adds.
	packages: Vec<Vec<u8>>,
	/// The accounts those devices belong to, each once: who gets the welcome.
	joining: Vec<AccountId32>,
	/// The devices it removes.
	removed: Vec<DeviceId>,
}

fn groups_call(name: &str, fields: Vec<(&str, Value)>) -> Value {
	Value::unnamed_variant("Groups", [Value::named_variant(name, fields)])
}

impl Messenger {
	/// Starts a conversation of this account and `members`, each of whom needs a
	/// registered device: a group on chain, then the commit that adds every device.
	/// Returns once the commit is final.
	pub async fn create_group(
		&self,
		members: &[AccountId32],
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupId, ClientError> {
		if !queries::devices(&self.chain, self.account()).await?.contains(&self.device_key()) {
			return Err(ClientError::DeviceNotRegistered);
		}
		for member in members {
			if self.addable_devices(member).await?.is_empty() {
				return Err(ClientError::NoDevice(member.clone()));
			}
		}
		let members = Value::unnamed_composite(members.iter().map(account_value));
		let included = self
			.transact("Groups", "create_group", vec![members], Wait::Finalized, progress)
			.await?;
		let (group, _, _): (GroupId, AccountId32, u32) =
			included.event("Groups", "GroupCreated")?;
		self.with_device(|d| d.create_group(group))?;
		self.commit_changes(group, None, progress).await?;
		Ok(group)
	}

	/// The 1:1 conversation with `peer`: the one this device is in, or a new one.
	pub async fn conversation_with(
		&self,
		peer: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupId, ClientError> {
		if let Some(group) = self.store.direct(peer)? {
			if self.device(|d| d.is_in(group)) {
				return Ok(group);
			}
		}
		let group = self.create_group(std::slice::from_ref(peer), progress).await?;
		self.store.set_direct(peer, group)?;
		Ok(group)
	}

	/// Adds `who` (who needs a registered device) to `group`, with the commit that adds
	/// their devices (the signer must be an admin). Returns the epoch it opened.
	pub async fn add_member(
		&self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let change = Some(Membership::Add(who.clone()));
		self.commit_changes(group, change, progress).await
	}

	/// Removes `who` from `group`, with the commit that removes their devices, so they
	/// cannot read what follows (the signer must be an admin). Returns the epoch it opened.
	pub async fn remove_member(
		&self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let change = Some(Membership::Remove(who.clone()));
		self.commit_changes(group, change, progress).await
	}

	/// Leaves `group` and deletes this device's state of it; the next commit of any other
	/// member's device removes this account's devices.
	pub async fn leave_group(
		&self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<(), ClientError> {
		let fields = vec![Value::u128(group.into())];
		self.transact("Groups", "leave", fields, Wait::Finalized, progress).await?;
		self.with_device(|d| d.forget(group))?;
		Ok(())
	}

	/// Updates this device's leaf in `group` (future secrecy: whoever stole its state
	/// before cannot follow the group past this commit), with whatever device changes the
	/// chain asks for. Returns the epoch it opened.
	pub async fn update(
		&self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.commit_changes(group, None, progress).await
	}

	/// Brings every group this device is in in line with the chain — a membership change
	/// awaiting its commit, devices bound or unbound since — and with `update` updates this
	/// device's leaf in each. Returns, per group, the epoch a commit opened, if one was
	/// needed.
	pub async fn sync_groups(
		&self,
		update: bool,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Vec<(GroupId, Result<Option<Epoch>, ClientError>)> {
		let groups: Vec<GroupId> = self.device(|d| d.groups().collect());
		let mut out = Vec::new();
		for group in groups {
			let outcome = match self.changes(group, None).await {
				Ok((info, changes)) if update || !info.committed || changes.is_some() => {
					self.commit_changes(group, None, progress).await.map(Some)
				}
				Ok(_) => Ok(None),
				Err(e) => Err(e),
			};
			out.push((group, outcome));
		}
		out
	}

	/// This device's epoch of `group` and the devices it holds in it.
	pub fn group_devices(&self, group: GroupId) -> Result<(Epoch, Vec<DeviceId>), ClientError> {
		if !self.device(|d| d.is_in(group)) {
			return Err(ClientError::NotInGroup(group));
		}
		let epoch = chain_epoch(self.device(|d| d.epoch(group))?);
		Ok((epoch, self.device(|d| d.members(group))?))
	}

	/// A value every device of `group`'s current epoch derives alike: two devices that
	/// show the same share one group, unforked.
	pub fn epoch_authenticator(&self, group: GroupId) -> Result<Vec<u8>, ClientError> {
		Ok(self.device(|d| d.epoch_authenticator(group))?)
	}

	/// Brings this device to the epoch the finalized chain ordered last for `group`,
	/// applying the commits its hosts hold (and opening whatever else they hold, whose keys
	/// the store then keeps). Returns the chain's state of the group.
	pub(crate) async fn ensure_current(&self, group: GroupId) -> Result<GroupInfo, ClientError> {
		let started = Instant::now();
		loop {
			let info = queries::group_info(&self.chain, group)
				.await?
				.ok_or(ClientError::NoGroup(group))?;
			let ordered = if info.committed { info.epoch } else { info.epoch.saturating_sub(1) };
			let here = self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())?;
			let here = here.map(chain_epoch);
			match here {
				Some(here) if here >= ordered => return Ok(info),
				_ if started.elapsed() >= CATCH_UP_FOR => {
					return Err(match here {
						Some(here) => ClientError::Behind { group, chain: ordered, device: here },
						None => ClientError::NotInGroup(group),
					})
				}
				_ => {}
			}
			for entry in self.fetch().await? {
				// What does not open now is read again by the next pass or by the inbox.
				let _ = self.open_mail(&entry).await;
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	/// Waits until the chain takes a commit of `group` that changes no membership: the
	/// groups pallet's `MinUpdateInterval` blocks after the commit of `epoch`, its last.
	async fn wait_for_update_interval(
		&self,
		group: GroupId,
		epoch: Epoch,
	) -> Result<(), ClientError> {
		let Some(last) = queries::commit_at(&self.chain, group, epoch).await? else {
			return Ok(());
		};
		let interval: BlockNumber = self.chain.constant("Groups", "MinUpdateInterval").await?;
		let due = last.at.saturating_add(interval);
		let block_ms = self.chain.block_time_ms().await?.max(1);
		loop {
			let best = self.chain.block_number(At::Best).await?;
			if best >= due {
				return Ok(());
			}
			let wait = u64::from(due.saturating_sub(best)).saturating_mul(block_ms);
			tokio::time::sleep(Duration::from_millis(wait)).await;
		}
	}

	/// The devices of `who` a commit can add now: bound, with an unexpired key package.
	async fn addable_devices(
		&self,
		who: &AccountId32,
	) -> Result<Vec<(DeviceKey, Vec<u8>)>, ClientError> {
		let mut out = Vec::new();
		for device in queries::devices(&self.chain, who).await? {
			if let Some(record) = queries::key_package(&self.chain, &device).await? {
				out.push((device, record.package));
			}
		}
		Ok(out)
	}

	/// What a commit to `group` would change for the chain's members (after `membership`),
	/// or `None` if the group's devices are the members' bound ones already.
	async fn changes(
		&self,
		group: GroupId,
		membership: Option<&Membership>,
	) -> Result<(GroupInfo, Option<Changes>), ClientError> {
		let info = self.ensure_current(group).await?;
		let mut members = queries::group_members(&self.chain, group).await?;
		match membership {
			Some(Membership::Add(who)) => members.push(who.clone()),
			Some(Membership::Remove(who)) => members.retain(|m| m != who),
			None => {}
		}
		let in_group = self.device(|d| d.members(group))?;
		let mut wanted: BTreeMap<DeviceKey, AccountId32> = BTreeMap::new();
		let mut changes = Changes::default();
		for member in &members {
			let mut covered = false;
			for device in queries::devices(&self.chain, member).await? {
				wanted.insert(device, member.clone());
				if in_group.iter().any(|d| d.signature_key == device) {
					covered = true;
				} else if let Some(record) = queries::key_package(&self.chain, &device).await? {
					changes.packages.push(record.package);
					if !changes.joining.contains(member) {
						changes.joining.push(member.clone());
					}
					covered = true;
				}
			}
			if !covered {
				return Err(ClientError::NoDevice(member.clone()));
			}
		}
		changes.removed = in_group
			.into_iter()
			.filter(|d| wanted.get(&d.signature_key) != Some(&d.account))
			.collect();
		let any = !changes.packages.is_empty() || !changes.removed.is_empty();
		Ok((info, any.then_some(changes)))
	}

	/// Stages and orders one commit of `group`: `membership`'s change (in the same
	/// transaction), the devices the chain's members have now, and (as every commit of
	/// this device) its own leaf. Sends the commit to the members and the welcome to the new ones,
	/// orders it on chain, and applies it once final. A commit that lost to another is
	/// staged again on the winner. Returns the epoch it opened.
	async fn commit_changes(
		&self,
		group: GroupId,
		membership: Option<Membership>,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		for _ in 0..COMMIT_ATTEMPTS {
			let (info, changes) = self.changes(group, membership.as_ref()).await?;
			if membership.is_none() && info.committed {
				self.wait_for_update_interval(group, info.epoch).await?;
			}
			let Changes { packages, joining, removed } = changes.unwrap_or_default();
			let commit = self.with_device(|d| d.commit(group, &packages, &removed))?;
			let me = self.account().clone();
			let mut sealed = Vec::new();
			// At epoch 0 the group is this device alone: nobody to tell.
			if commit.epoch > 0 {
				let to = Destination::Group { group, epoch: chain_epoch(commit.epoch) };
				sealed.push(seal::seal_handshake(
					&me,
					to,
					&Body::Commit { mls: commit.message.clone() },
				)?);
			}
			if let Some(welcome) = &commit.welcome {
				let epoch = chain_epoch(commit.epoch.saturating_add(1));
				for account in joining {
					let body = Body::Welcome { group, epoch, mls: welcome.clone() };
					sealed.push(seal::seal_handshake(&me, Destination::Direct(account), &body)?);
				}
			}
			let mut leaves = Vec::new();
			for envelope in sealed {
				leaves.push(self.submit(envelope).await?.leaf);
			}
			progress(Progress::Relaying);
			let mut calls: Vec<Value> = membership.iter().map(|m| m.call(group)).collect();
			calls.push(groups_call(
				"commit",
				vec![
					("group", Value::u128(group.into())),
					("epoch", Value::u128(commit.epoch.saturating_add(1).into())),
					("commit", hash_value(&commit.hash)),
					(
						"roster",
						Value::unnamed_composite(commit.roster.iter().map(Value::from_bytes)),
					),
				],
			));
			if !leaves.is_empty() {
				let (root, memberships) = batch(&leaves);
				self.keep_memberships(&memberships).await?;
				calls.push(anchor_call(&root, leaves.len() as u32));
			}
			let fields = vec![Value::unnamed_composite(calls)];
			match self.transact("Utility", "batch_all", fields, Wait::Finalized, progress).await {
				Ok(_) => {
					let applied = self.with_device(|d| {
						d.apply_commit(group, &commit.message, commit.ordered())
					})?;
					return Ok(chain_epoch(applied.epoch));
				}
				// Another member's commit took the epoch, or the devices changed meanwhile,
				// or this account anchored in the block already, or another member's commit
				// just restarted the update interval: start again from the chain.
				Err(e)
					if [
						"WrongEpoch",
						"RosterMismatch",
						"DeviceNotBound",
						"AlreadyAnchoredInBlock",
						"UpdateTooSoon",
					]
					.iter()
					.any(|name| e.is_pallet_error(name)) =>
				{
					tokio::time::sleep(Duration::from_secs(1)).await
				}
				Err(e) => {
					self.with_device(|d| d.drop_staged(group))?;
					return Err(e.into());
				}
			}
		}
		self.with_device(|d| d.drop_staged(group))?;
		Err(ClientError::CommitContended(group))
	}
}
