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
//! A commit's message travels in the call that orders it, so every member takes it from
//! the block at any node ([`queries::commit_message`]); its welcome goes to each new
//! member's account as mail, anchored in the same transaction, and is accepted only if it
//! is the one the chain recorded. A group whose next commit does not apply (a member
//! ordered bytes that are no commit, or one that does not open for this device), whose
//! records this device missed, or whose restart's welcome never came, is restarted by the
//! first member who finds it so: a new MLS group of the members' devices, ordered like any
//! commit ([`Messenger::ensure_current`]).

use crate::{
	chain::{
		account_value, failures, hash_value,
		vocabulary::{self, Call},
		At, Progress, Wait,
	},
	error::ClientError,
	messenger::Messenger,
	mls::DeviceId,
	queries::{self, GroupInfo},
	seal,
	send::{anchor_call, batch},
	BlockNumber,
};
use quarks_primitives::{DeviceKey, Epoch, GroupId};
use rand_core::RngCore;
use sp_core::crypto::AccountId32;
use std::{
	collections::BTreeMap,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;

/// Per group, what a change across groups did there: the epoch a commit opened (none if
/// the group needed none), or why it failed.
pub type GroupOutcomes = Vec<(GroupId, Result<Option<Epoch>, ClientError>)>;

/// Attempts at getting a commit ordered while other members' commits win.
const COMMIT_ATTEMPTS: u32 = 5;
/// How long a device waits for the commits and welcomes the chain ordered to reach it.
const CATCH_UP_FOR: Duration = Duration::from_secs(60);
/// How long a device waits for the welcome of a restart it is behind, or (a member's
/// bound device in no generation of the group) for any welcome, before it takes the
/// welcome for lost or withheld and restarts the group itself.
const WELCOME_WAIT: Duration = Duration::from_secs(30);
/// A device restarts one group at most this often: two devices that each miss the
/// other's welcome must not restart the group back and forth.
const RESTART_EVERY: Duration = Duration::from_secs(120);

/// A change of membership a commit goes with, in one transaction.
enum Membership {
	/// An admin adds the account.
	Add(AccountId32),
	/// An admin removes the accounts.
	Remove(Vec<AccountId32>),
}

impl Membership {
	fn calls(&self, group: GroupId) -> Vec<Value> {
		let call = |call: Call, who: &AccountId32| {
			call.value(vec![("group", Value::u128(group.into())), ("who", account_value(who))])
		};
		match self {
			Self::Add(who) => vec![call(vocabulary::ADD_MEMBER, who)],
			Self::Remove(gone) => {
				gone.iter().map(|who| call(vocabulary::REMOVE_MEMBER, who)).collect()
			}
		}
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

/// Why this device cannot follow a group's commits by waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stuck {
	/// The commit the chain ordered for the epoch does not apply here.
	Unapplicable {
		/// The epoch it opens.
		epoch: Epoch,
		/// Why.
		reason: String,
	},
	/// The chain no longer keeps the record of the next epoch.
	Pruned(Epoch),
	/// The welcome of the restart that opened the epoch did not come.
	NoWelcome(Epoch),
	/// This member's device is in no generation of the group, and no welcome came.
	NotWelcomed,
}

impl std::fmt::Display for Stuck {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Unapplicable { epoch, reason } => {
				write!(f, "the commit of epoch {epoch} does not apply: {reason}")
			}
			Self::Pruned(epoch) => write!(f, "the chain no longer keeps epoch {epoch}'s commit"),
			Self::NoWelcome(epoch) => write!(f, "the welcome of epoch {epoch} did not come"),
			Self::NotWelcomed => write!(f, "this device was never welcomed into it"),
		}
	}
}

impl Messenger {
	/// Starts a conversation of this account and `members`, each of whom needs a
	/// registered device: a group on chain, then the commit that starts its MLS group with
	/// every device. Returns once the commit is final.
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
			.transact(vocabulary::CREATE_GROUP, vec![members], Wait::Finalized, progress)
			.await?;
		let (group, _, _): (GroupId, AccountId32, u32) =
			included.event(vocabulary::GROUP_CREATED)?;
		self.commit_changes(group, None, true, progress).await?;
		// Listed at once, before its first message.
		self.database.add_conversation(group, None, crate::send::now_ms())?;
		Ok(group)
	}

	/// The 1:1 conversation with `peer`: the one this device is in, or a new one.
	pub async fn conversation_with(
		&self,
		peer: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupId, ClientError> {
		if let Some(group) = self.database.direct(peer)? {
			if self.device(|d| d.is_in(group)) {
				return Ok(group);
			}
		}
		let group = self.create_group(std::slice::from_ref(peer), progress).await?;
		self.database.add_conversation(group, Some(peer), crate::send::now_ms())?;
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
		self.commit_changes(group, change, false, progress).await
	}

	/// Removes `who` from `group`, with the commit that removes their devices, so they
	/// cannot read what follows (the signer must be an admin). Returns the epoch it opened.
	pub async fn remove_member(
		&self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.remove_members(group, std::slice::from_ref(who), progress).await
	}

	/// Removes every account of `gone` from `group` in one transaction, with one commit
	/// (the signer must be an admin). A group that cannot go on otherwise (members
	/// ordering useless commits, or publishing key packages nobody can use) is restarted
	/// without them. Returns the epoch it opened.
	pub async fn remove_members(
		&self,
		group: GroupId,
		gone: &[AccountId32],
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let change = Some(Membership::Remove(gone.to_vec()));
		match self.follow(group).await {
			Err(ClientError::Stuck { .. } | ClientError::NotInGroup(_)) => {
				self.commit_changes(group, change, true, progress).await
			}
			_ => self.commit_changes(group, change, false, progress).await,
		}
	}

	/// Leaves `group` and deletes this device's state of it; the next commit of any other
	/// member's device removes this account's devices.
	pub async fn leave_group(
		&self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<(), ClientError> {
		let fields = vec![Value::u128(group.into())];
		self.transact(vocabulary::LEAVE, fields, Wait::Finalized, progress).await?;
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
		self.commit_changes(group, None, false, progress).await
	}

	/// Brings every group this device is in in line with the chain — a membership change
	/// awaiting its commit, devices bound or unbound since — and with `update` updates this
	/// device's leaf in each. Returns, per group, the epoch a commit opened, if one was
	/// needed.
	pub async fn sync_groups(
		&self,
		update: bool,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> GroupOutcomes {
		self.sync(update, false, progress).await
	}

	/// Updates this device's keys in `group`, or in every conversation this account
	/// accepted ([`Self::update`]; a stranger's unanswered request is left alone: a commit
	/// there costs fees and welcomes whoever they added as if from this account). Returns,
	/// per group, the epoch a commit opened.
	pub async fn update_keys(
		&self,
		group: Option<GroupId>,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> GroupOutcomes {
		match group {
			Some(group) => vec![(group, self.update(group, progress).await.map(Some))],
			None => self.sync(true, true, progress).await,
		}
	}

	/// Unbinds `device`, one of this account's others, on chain, then commits its removal
	/// in every conversation this account accepted, so it reads nothing sent there after;
	/// returns, per group, the epoch that commit opened (none where the group needed none).
	pub async fn retire_device(
		&self,
		device: &DeviceKey,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupOutcomes, ClientError> {
		if *device == self.device_key() {
			return Err(ClientError::RetiringSelf);
		}
		if !queries::devices(&self.chain, self.account()).await?.contains(device) {
			return Err(ClientError::NotOwnDevice(*device));
		}
		self.remove_device(device, progress).await?;
		Ok(self.sync(false, true, progress).await)
	}

	/// [`Self::sync_groups`] as a following client runs it on its own: not in a stranger's
	/// group this account has not accepted, where a commit would cost this account fees
	/// and its welcomes would bring whoever the stranger added in as if from this account.
	pub(crate) async fn sync_accepted_groups(
		&self,
		update: bool,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> GroupOutcomes {
		self.sync(update, true, progress).await
	}

	async fn sync(
		&self,
		update: bool,
		accepted_only: bool,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> GroupOutcomes {
		let groups: Vec<GroupId> = self.device(|d| d.groups().collect());
		let mut out = Vec::new();
		for group in groups {
			if accepted_only && self.database.request(group).ok().flatten().is_some() {
				continue;
			}
			let outcome = match self.changes(group, None, false).await {
				Ok((info, changes)) if update || !info.committed || changes.is_some() => {
					self.commit_changes(group, None, false, progress).await.map(Some)
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
		Ok(self.device(|d| d.epoch(group).and_then(|epoch| Ok((epoch, d.members(group)?))))?)
	}

	/// A value every device of `group`'s current epoch derives alike: two devices that
	/// show the same share one group, unforked.
	pub fn epoch_authenticator(&self, group: GroupId) -> Result<Vec<u8>, ClientError> {
		Ok(self.device(|d| d.epoch_authenticator(group))?)
	}

	/// Brings this device to the epoch the finalized chain ordered last for `group`:
	/// applies the commits the chain carries, joins from the welcomes its hosts hold, and
	/// restarts the group if it cannot go on otherwise (this account being a member).
	/// Returns the chain's state of the group.
	pub async fn ensure_current(&self, group: GroupId) -> Result<GroupInfo, ClientError> {
		for _ in 0..COMMIT_ATTEMPTS {
			match self.follow(group).await {
				Err(stuck @ ClientError::Stuck { .. }) => {
					if !self.may_restart(group).await? {
						return Err(stuck);
					}
					// Another member may be restarting too: a moment's jitter, then look
					// again before sending welcomes of its own.
					tokio::time::sleep(Duration::from_millis(u64::from(
						rand_core::OsRng.next_u32() % 2000,
					)))
					.await;
					if self.follow_once(group).await? {
						continue;
					}
					// Boxed: a restart's commit does not come back here, but the compiler cannot
					// tell.
					match Box::pin(self.commit_changes(group, None, true, &mut |_| {})).await {
						// Restarted, or another member's commit came first: look again.
						Ok(_) | Err(ClientError::CommitContended(_)) => {}
						Err(e) => return Err(e),
					}
				}
				outcome => return outcome,
			}
		}
		Err(ClientError::CommitContended(group))
	}

	/// Whether this device may restart `group` now: its account is a member, the device
	/// is bound, and it has not restarted the group within [`RESTART_EVERY`] (counted here).
	async fn may_restart(&self, group: GroupId) -> Result<bool, ClientError> {
		if queries::member(&self.chain, group, self.account()).await?.is_none()
			|| !queries::devices(&self.chain, self.account()).await?.contains(&self.device_key())
		{
			return Ok(false);
		}
		Ok(self.restart_due(group, RESTART_EVERY))
	}

	/// One look at the chain for `group`: whether this device is at the epoch it ordered
	/// last, after applying whatever commits it can.
	async fn follow_once(&self, group: GroupId) -> Result<bool, ClientError> {
		let info =
			queries::group_info(&self.chain, group).await?.ok_or(ClientError::NoGroup(group))?;
		let _ = self.advance_group(group).await;
		let here = self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())?;
		Ok(here.is_some_and(|here| here >= info.ordered_epoch()))
	}

	/// [`Self::ensure_current`] without restarting: an error says why this device is stuck.
	async fn follow(&self, group: GroupId) -> Result<GroupInfo, ClientError> {
		let started = Instant::now();
		let mut waiting_for_welcome: Option<(Epoch, Instant)> = None;
		let mut pause = Duration::from_millis(250);
		loop {
			let info = queries::group_info(&self.chain, group)
				.await?
				.ok_or(ClientError::NoGroup(group))?;
			let ordered = info.ordered_epoch();
			let here = self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())?;
			match here {
				Some(here) if here >= ordered => return Ok(info),
				Some(_) => match self.advance_group(group).await {
					Ok(true) => continue,
					Ok(false) => {}
					Err(Stuck::NoWelcome(epoch)) => {
						let since = match waiting_for_welcome {
							Some((waited, since)) if waited == epoch => since,
							_ => waiting_for_welcome.insert((epoch, Instant::now())).1,
						};
						if since.elapsed() >= WELCOME_WAIT {
							return Err(ClientError::Stuck {
								group,
								stuck: Stuck::NoWelcome(epoch),
							});
						}
					}
					Err(stuck) => return Err(ClientError::Stuck { group, stuck }),
				},
				None => {
					// Removed (a commit this device applied dropped it), or never added: no
					// welcome is coming.
					if !queries::group_members(&self.chain, group).await?.contains(self.account()) {
						return Err(ClientError::NotInGroup(group));
					}
					// A member's device in no generation of a group that has one: its welcome
					// was withheld, forged or lost.
					if ordered > 0 && started.elapsed() >= WELCOME_WAIT {
						return Err(ClientError::Stuck { group, stuck: Stuck::NotWelcomed });
					}
				}
			}
			if started.elapsed() >= CATCH_UP_FOR {
				return Err(match here {
					Some(here) => ClientError::Behind { group, chain: ordered, device: here },
					None => ClientError::NotInGroup(group),
				});
			}
			for entry in self.fetch().await? {
				// Welcomes join; what does not open now is read again by the next pass or by
				// the inbox.
				let _ = self.open_mail(&entry).await;
			}
			tokio::time::sleep(pause).await;
			pause = (pause * 2).min(Duration::from_secs(4));
		}
	}

	/// Applies, in order, the commits the finalized chain ordered for `group` after this
	/// device's epoch, taking each message from its block. Returns whether this device
	/// moved; stops at a restart (whose welcome the inbox joins from, reported as
	/// [`Stuck::NoWelcome`] meanwhile) and at a commit that does not apply.
	pub(crate) async fn advance_group(&self, group: GroupId) -> Result<bool, Stuck> {
		let mut moved = false;
		loop {
			let Ok(Some(here)) =
				self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())
			else {
				return Ok(moved);
			};
			let next = here.saturating_add(1);
			let record = match queries::commit_at(&self.chain, group, next).await {
				Ok(Some(record)) => record,
				Ok(None) => {
					let ordered = queries::group_info(&self.chain, group)
						.await
						.ok()
						.flatten()
						.map(|info| info.ordered_epoch());
					// Not ordered yet, or pruned: the chain is past it but keeps no record.
					return match ordered {
						Some(ordered) if ordered >= next => Err(Stuck::Pruned(next)),
						_ => Ok(moved),
					};
				}
				Err(_) => return Ok(moved),
			};
			let ordered = (&record).into();
			if record.restart {
				// This device's own restart, if it won; another's is joined from its welcome.
				return match self.with_device(|d| d.apply_commit(group, next, &[], ordered)) {
					Ok(_) => {
						moved = true;
						continue;
					}
					Err(_) => Err(Stuck::NoWelcome(next)),
				};
			}
			let message = match queries::commit_message(&self.chain, &record).await {
				Ok(Some(message)) => message,
				// The node serves no body for the block (pruned, or warp-synced): another
				// node may; wait.
				Ok(None) => return Ok(moved),
				Err(crate::chain::ChainError::Decode(reason)) => {
					return Err(Stuck::Unapplicable { epoch: next, reason })
				}
				Err(_) => return Ok(moved),
			};
			match self.with_device(|d| d.apply_commit(group, next, &message, ordered)) {
				Ok(_) => moved = true,
				Err(e) if e.is_permanent_for_commit() => {
					return Err(Stuck::Unapplicable { epoch: next, reason: e.to_string() })
				}
				Err(_) => return Ok(moved),
			}
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
		let interval: BlockNumber = self.chain.constant(vocabulary::MIN_UPDATE_INTERVAL).await?;
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
	/// or `None` if the group's devices are the members' bound ones already. A restart
	/// adds every member's devices but this one, and needs this device to be current with
	/// nothing.
	async fn changes(
		&self,
		group: GroupId,
		membership: Option<&Membership>,
		restart: bool,
	) -> Result<(GroupInfo, Option<Changes>), ClientError> {
		let info = if restart {
			queries::group_info(&self.chain, group).await?.ok_or(ClientError::NoGroup(group))?
		} else {
			self.ensure_current(group).await?
		};
		let mut members = queries::group_members(&self.chain, group).await?;
		match membership {
			Some(Membership::Add(who)) => members.push(who.clone()),
			Some(Membership::Remove(gone)) => members.retain(|m| !gone.contains(m)),
			None => {}
		}
		let me = self.device_key();
		let in_group = if restart { Vec::new() } else { self.device(|d| d.members(group))? };
		let mut wanted: BTreeMap<DeviceKey, AccountId32> = BTreeMap::new();
		let mut changes = Changes::default();
		for member in &members {
			let mut covered = false;
			for device in queries::devices(&self.chain, member).await? {
				wanted.insert(device, member.clone());
				if device == me || in_group.iter().any(|d| d.signature_key == device) {
					covered = true;
				} else if let Some(record) = queries::key_package(&self.chain, &device)
					.await?
					.filter(|r| self.device(|d| d.usable_key_package(&r.package, member, &device)))
				{
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
		let any = restart || !changes.packages.is_empty() || !changes.removed.is_empty();
		Ok((info, any.then_some(changes)))
	}

	/// Stages and orders one commit of `group`: `membership`'s change (in the same
	/// transaction), the devices the chain's members have now, and (as every commit of
	/// this device) its own leaf — or, with `restart`, a new MLS group of all of them.
	/// Sends the welcome to the new devices' accounts, orders the commit on chain with its
	/// message, and applies it once final. A commit that lost to another is staged again
	/// on the winner. Returns the epoch it opened.
	async fn commit_changes(
		&self,
		group: GroupId,
		membership: Option<Membership>,
		restart: bool,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		for _ in 0..COMMIT_ATTEMPTS {
			let (info, changes) = self.changes(group, membership.as_ref(), restart).await?;
			if membership.is_none() && info.committed {
				self.wait_for_update_interval(group, info.epoch).await?;
			}
			let Changes { packages, joining, removed } = changes.unwrap_or_default();
			let opens = if info.committed { info.epoch.saturating_add(1) } else { info.epoch };
			let commit = self.with_device(|d| {
				if restart {
					d.restart(group, opens, &packages)
				} else {
					d.commit(group, &packages, &removed)
				}
			})?;
			let mut welcomes = Vec::new();
			if let Some(welcome) = &commit.welcome {
				for account in joining {
					welcomes.push(seal::seal_welcome(
						self.account(),
						account,
						group,
						opens,
						welcome.clone(),
					)?);
				}
			}
			// Every joiner's welcome in one call to the node.
			let mut leaves = Vec::new();
			for submitted in self.submit_all(welcomes).await {
				leaves.push(submitted?.leaf);
			}
			progress(Progress::Relaying);
			let ordered = commit.ordered();
			let mut calls: Vec<Value> = membership.iter().flat_map(|m| m.calls(group)).collect();
			calls.push(vocabulary::COMMIT.value(vec![
				("group", Value::u128(group.into())),
				("epoch", Value::u128(opens.into())),
				("commit", Value::from_bytes(&commit.message)),
				("roster", Value::unnamed_composite(commit.roster.iter().map(Value::from_bytes))),
				(
					"welcome",
					match &ordered.welcome {
						Some(hash) => Value::unnamed_variant("Some", [hash_value(hash)]),
						None => Value::unnamed_variant("None", []),
					},
				),
				("restart", Value::bool(restart)),
				("authenticator", hash_value(&ordered.authenticator)),
			]));
			if !leaves.is_empty() {
				let (root, memberships) = batch(&leaves);
				self.keep_memberships(&memberships).await?;
				calls.push(anchor_call(&root, leaves.len() as u32));
			}
			let fields = vec![Value::unnamed_composite(calls)];
			match self.transact(vocabulary::BATCH_ALL, fields, Wait::Finalized, progress).await {
				Ok(_) => {
					let applied = self
						.with_device(|d| d.apply_commit(group, opens, &commit.message, ordered))?;
					return Ok(applied.epoch);
				}
				// Another member's commit took the epoch, or the devices changed meanwhile,
				// or this account anchored in the block already, or another member's commit
				// just restarted the update interval: start again from the chain.
				Err(e)
					if [
						failures::WRONG_EPOCH,
						failures::ROSTER_MISMATCH,
						failures::DEVICE_NOT_BOUND,
						failures::ALREADY_ANCHORED_IN_BLOCK,
						failures::BLOCK_ANCHORS_FULL,
						failures::UPDATE_TOO_SOON,
					]
					.into_iter()
					.any(|error| e.is_pallet_error(error)) =>
				{
					self.with_device(|d| d.drop_staged(group))?;
					if restart {
						// Another member's commit may have been the way out: look again.
						return Err(ClientError::CommitContended(group));
					}
					tokio::time::sleep(Duration::from_secs(1)).await
				}
				// The chain refused it for another reason: nothing of it stands.
				Err(e @ crate::chain::ChainError::Dispatch(_)) => {
					self.with_device(|d| d.drop_staged(group))?;
					return Err(e.into());
				}
				// The node stopped answering: the commit may be ordered all the same, and is
				// kept staged, so this device applies it as its own if the chain shows it.
				Err(e) => return Err(e.into()),
			}
		}
		self.with_device(|d| d.drop_staged(group))?;
		Err(ClientError::CommitContended(group))
	}
}
