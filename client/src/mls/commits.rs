//! Commits, restarts and welcomes: what a device stages for the chain to order, and how
//! it applies what the chain ordered.

use super::*;

/// A staged commit, to be ordered by the chain before anyone applies it.
#[derive(Clone, Debug)]
pub struct Commit {
	/// The epoch the commit builds on; the chain accepts it only while that epoch is the
	/// group's current one, and it opens the next.
	pub epoch: Epoch,
	/// The commit message, which the call ordering it carries (empty for a restart: its
	/// members join from the welcome).
	pub message: Vec<u8>,
	/// The group's devices after it, in ascending order, which the chain checks.
	pub roster: Vec<DeviceKey>,
	/// The welcome for the devices it adds, if any (for a restart, every device but this
	/// one).
	pub welcome: Option<Vec<u8>>,
	/// Whether it restarts the group: a new MLS group, a new generation.
	pub restart: bool,
	/// [`authenticator_hash`] of the epoch authenticator it leads to.
	pub authenticator: H256,
}

impl Commit {
	/// What the chain records if it orders this commit.
	pub fn ordered(&self) -> OrderedCommit {
		OrderedCommit {
			commit: commit_hash(&self.message),
			roster: roster_hash(&self.roster),
			welcome: self.welcome.as_deref().map(welcome_hash),
			restart: self.restart,
			authenticator: self.authenticator,
		}
	}
}

/// What the chain recorded for an epoch, which every commit and welcome is checked
/// against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderedCommit {
	/// The commit's hash ([`commit_hash`]).
	pub commit: H256,
	/// The roster's hash ([`roster_hash`]).
	pub roster: H256,
	/// The welcome's hash ([`welcome_hash`]), if the commit adds devices.
	pub welcome: Option<H256>,
	/// Whether the commit restarts the group.
	pub restart: bool,
	/// The hash of the epoch authenticator it leads to ([`authenticator_hash`]).
	pub authenticator: H256,
}

impl<AccountId, BlockNumber> From<&CommitRecord<AccountId, BlockNumber>> for OrderedCommit {
	fn from(record: &CommitRecord<AccountId, BlockNumber>) -> Self {
		Self {
			commit: record.commit,
			roster: record.roster,
			welcome: record.welcome,
			restart: record.restart,
			authenticator: record.authenticator,
		}
	}
}

/// The authenticator hash of `mls`'s current epoch.
fn authenticator_of(mls: &MlsGroup) -> H256 {
	authenticator_hash(mls.epoch_authenticator().as_slice())
}

/// Checks that `mls` reached the epoch authenticator the chain recorded for `epoch`.
fn check_authenticator(
	mls: &MlsGroup,
	ordered: &OrderedCommit,
	epoch: Epoch,
) -> Result<(), MlsError> {
	if authenticator_of(mls) == ordered.authenticator {
		Ok(())
	} else {
		Err(MlsError::AuthenticatorMismatch(epoch))
	}
}

/// What applying an ordered commit changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
	/// The group's epoch now.
	pub epoch: Epoch,
	/// Devices the commit added.
	pub added: Vec<DeviceId>,
	/// Devices the commit removed.
	pub removed: Vec<DeviceId>,
	/// This device had staged a different commit for the same epoch; it was dropped and
	/// has to be staged again on the new epoch.
	pub own_commit_lost: bool,
	/// This device was removed and can read nothing of the group from now on.
	pub self_removed: bool,
}

/// What this device staged in a group and awaits the chain's order for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub(super) struct Staged {
	/// What the chain records if it orders it.
	pub(super) commit: H256,
	/// Its welcome's hash, which tells this device's restart from another's.
	pub(super) welcome: Option<H256>,
	/// For a restart, the generation (epoch) of the new MLS group it staged.
	pub(super) restart: Option<Epoch>,
}

impl Staged {
	/// Whether the chain ordered this one.
	fn is(&self, ordered: &OrderedCommit) -> bool {
		self.commit == ordered.commit
			&& self.welcome == ordered.welcome
			&& self.restart.is_some() == ordered.restart
	}
}

/// Stages a commit of `adds` and `removals` on `mls` (always with a fresh leaf of this
/// device); returns its message, welcome and the authenticator hash of the epoch it
/// leads to.
fn stage(
	provider: &Provider,
	signer: &SignatureKeyPair,
	mls: &mut MlsGroup,
	adds: Vec<KeyPackage>,
	removals: Vec<LeafNodeIndex>,
) -> Result<(Vec<u8>, Option<Vec<u8>>, H256), MlsError> {
	let bundle = mls
		.commit_builder()
		.force_self_update(true)
		.propose_adds(adds)
		.propose_removals(removals)
		.load_psks(provider.storage())
		.map_err(refused("committing"))?
		.build(provider.rand(), provider.crypto(), signer, |_| true)
		.map_err(refused("committing"))?
		.stage_commit(provider)
		.map_err(refused("committing"))?;
	let authenticator = mls
		.pending_commit()
		.and_then(|staged| staged.epoch_authenticator())
		.map(|authenticator| authenticator_hash(authenticator.as_slice()))
		.ok_or_else(|| MlsError::State("the staged commit has no epoch secrets".into()))?;
	let (message, welcome, _) = bundle.into_messages();
	Ok((to_bytes(&message)?, welcome.as_ref().map(to_bytes).transpose()?, authenticator))
}

/// The roster of `mls` without the devices `gone` and with those of `adds`, in ascending
/// order.
fn roster_with(
	mls: &MlsGroup,
	gone: &[DeviceKey],
	adds: &[KeyPackage],
) -> Result<Vec<DeviceKey>, MlsError> {
	let mut roster: Vec<DeviceKey> =
		roster_of(mls)?.into_iter().filter(|key| !gone.contains(key)).collect();
	for add in adds {
		let key = add.leaf_node().signature_key().as_slice();
		roster.push(<[u8; 32]>::try_from(key).map_err(|_| MlsError::Credential)?);
	}
	roster.sort();
	Ok(roster)
}

/// The devices a staged commit adds and removes.
fn changes(
	mls: &MlsGroup,
	staged: &openmls::prelude::StagedCommit,
) -> (Vec<DeviceId>, Vec<DeviceId>) {
	let added = staged
		.add_proposals()
		.filter_map(|add| {
			let leaf = add.add_proposal().key_package().leaf_node();
			device_id(leaf.credential(), leaf.signature_key().as_slice()).ok()
		})
		.collect();
	let removed = staged
		.remove_proposals()
		.filter_map(|remove| mls.member_at(remove.remove_proposal().removed()))
		.filter_map(|m| device_id(&m.credential, &m.signature_key).ok())
		.collect();
	(added, removed)
}

impl Device {
	/// Stages a restart of `group` opening `epoch`: a new MLS group (generation `epoch`) of
	/// this device and the devices of `key_packages`, who join from its welcome. A group's
	/// first commit is one (at epoch 1); so is any member's way out of a group whose last
	/// commit does not apply.
	pub fn restart(
		&mut self,
		group: GroupId,
		epoch: Epoch,
		key_packages: &[Vec<u8>],
	) -> Result<Commit, MlsError> {
		let adds = self.validated(key_packages)?;
		if self.groups.get(&group).is_some_and(|m| m.generation == epoch) {
			return Err(MlsError::AlreadyIn { group, epoch });
		}
		let signer = &self.signer;
		let credential = self.credential();
		let staged = self.staged.get(&group).copied();
		let commit = self.provider.atomically(|provider| {
			// An earlier attempt's new group gives way to this one.
			if let Some(generation) = staged.and_then(|s| s.restart) {
				provider.delete(group, generation)?;
			}
			provider.delete(group, epoch)?;
			let mut mls = MlsGroup::new_with_group_id(
				provider,
				signer,
				&Self::create_config(),
				mls_id(group, epoch),
				credential,
			)
			.map_err(refused("restarting a group"))?;
			let roster = roster_with(&mls, &[], &adds)?;
			let (_, welcome, authenticator) = stage(provider, signer, &mut mls, adds, Vec::new())?;
			Ok(Commit {
				epoch: epoch.saturating_sub(1),
				message: Vec::new(),
				roster,
				welcome,
				restart: true,
				authenticator,
			})
		})?;
		// A plain commit staged earlier is replaced too.
		if staged.is_some_and(|s| s.restart.is_none()) {
			if let Ok((mut mls, _)) = self.current(group) {
				mls.clear_pending_commit(self.provider.storage()).map_err(state)?;
			}
		}
		let ordered = commit.ordered();
		self.staged.insert(
			group,
			Staged { commit: ordered.commit, welcome: ordered.welcome, restart: Some(epoch) },
		);
		Ok(commit)
	}

	/// Stages a commit adding the devices of `key_packages` and removing `removed`; it
	/// always updates this device's own leaf too.
	pub fn commit(
		&mut self,
		group: GroupId,
		key_packages: &[Vec<u8>],
		removed: &[DeviceId],
	) -> Result<Commit, MlsError> {
		let adds = self.validated(key_packages)?;
		let membership = self.membership(group)?;
		let signer = &self.signer;
		let staged = self.staged.get(&group).copied();
		let commit = self.provider.atomically(|provider| {
			if let Some(generation) = staged.and_then(|s| s.restart) {
				provider.delete(group, generation)?;
			}
			let mut mls = provider.load(group, membership.generation)?;
			let removals = removed
				.iter()
				.map(|device| {
					leaf_of(&mls, device).ok_or_else(|| MlsError::NotAMember(device.clone()))
				})
				.collect::<Result<Vec<_>, _>>()?;
			// A commit left staged by an earlier attempt is replaced by this one.
			mls.clear_pending_commit(provider.storage()).map_err(state)?;
			let epoch = membership.chain_epoch(mls.epoch().as_u64());
			let gone: Vec<DeviceKey> = removed.iter().map(|d| d.signature_key).collect();
			let roster = roster_with(&mls, &gone, &adds)?;
			let (message, welcome, authenticator) =
				stage(provider, signer, &mut mls, adds, removals)?;
			Ok(Commit { epoch, message, roster, welcome, restart: false, authenticator })
		})?;
		let ordered = commit.ordered();
		self.staged.insert(
			group,
			Staged { commit: ordered.commit, welcome: ordered.welcome, restart: None },
		);
		Ok(commit)
	}

	/// Stages a commit that only replaces this device's leaf keys (future secrecy).
	pub fn update(&mut self, group: GroupId) -> Result<Commit, MlsError> {
		self.commit(group, &[], &[])
	}

	fn validated(&self, key_packages: &[Vec<u8>]) -> Result<Vec<KeyPackage>, MlsError> {
		key_packages
			.iter()
			.map(|bytes| {
				KeyPackageIn::tls_deserialize_exact(bytes.as_slice())
					.map_err(malformed("key package"))?
					.validate(self.provider.crypto(), ProtocolVersion::Mls10)
					.map_err(refused("checking a key package"))
			})
			.collect()
	}

	/// Applies the commit the chain `ordered` to open `epoch` of `group`: this device's
	/// own staged commit or restart if it won, or another member's commit (dropping this
	/// device's own). The group's devices after it must be the roster the chain checked;
	/// otherwise nothing changes. Another member's restart is joined from its welcome
	/// ([`Self::join`]), not applied.
	pub fn apply_commit(
		&mut self,
		group: GroupId,
		epoch: Epoch,
		message: &[u8],
		ordered: OrderedCommit,
	) -> Result<Applied, MlsError> {
		let got = commit_hash(message);
		if got != ordered.commit {
			return Err(MlsError::NotOrdered { got, ordered: ordered.commit });
		}
		let staged = self.staged.get(&group).copied();
		let own = staged.filter(|s| s.is(&ordered));
		if ordered.restart {
			let generation = own
				.and_then(|s| s.restart)
				.filter(|generation| *generation == epoch)
				.ok_or(MlsError::RestartNeedsWelcome(epoch))?;
			return self.apply_own_restart(group, generation, ordered);
		}
		let membership = self.membership(group)?;
		let applied = self.provider.atomically(|provider| {
			let mut mls = provider.load(group, membership.generation)?;
			let at = membership.chain_epoch(mls.epoch().as_u64());
			if at.saturating_add(1) != epoch {
				return Err(MlsError::WrongEpoch { commit: epoch, device: at });
			}
			let mut applied = if own.is_some() {
				let pending = mls
					.pending_commit()
					.ok_or_else(|| MlsError::State("the staged commit is missing".into()))?;
				let (added, removed) = changes(&mls, pending);
				mls.merge_pending_commit(provider).map_err(refused("applying a commit"))?;
				Applied { added, removed, ..Default::default() }
			} else {
				// openmls processes nothing while a commit of ours is staged: the chain chose
				// another, so ours is dropped (and staged again by the caller).
				let own_commit_lost = staged.is_some();
				if let Some(generation) = staged.and_then(|s| s.restart) {
					provider.delete(group, generation)?;
				}
				mls.clear_pending_commit(provider.storage()).map_err(state)?;
				let processed = mls
					.process_message(provider, protocol_message(message)?)
					.map_err(refused("applying a commit"))?;
				let ProcessedMessageContent::StagedCommitMessage(commit) = processed.into_content()
				else {
					return Err(MlsError::Malformed {
						what: "commit",
						reason: "not a commit".into(),
					});
				};
				let (added, removed) = changes(&mls, &commit);
				let self_removed = commit.self_removed();
				mls.merge_staged_commit(provider, *commit).map_err(refused("applying a commit"))?;
				Applied { added, removed, own_commit_lost, self_removed, ..Default::default() }
			};
			applied.epoch = membership.chain_epoch(mls.epoch().as_u64());
			if applied.self_removed {
				// Nothing of the group is readable now; a later welcome starts afresh.
				mls.delete(provider.storage()).map_err(state)?;
				if let Some(previous) = membership.previous {
					provider.delete(group, previous)?;
				}
			} else if roster_hash(&roster_of(&mls)?) != ordered.roster {
				return Err(MlsError::RosterMismatch(applied.epoch));
			} else {
				check_authenticator(&mls, &ordered, applied.epoch)?;
			}
			Ok(applied)
		})?;
		self.staged.remove(&group);
		if applied.self_removed {
			self.groups.remove(&group);
		}
		Ok(applied)
	}

	/// Merges this device's restart, which the chain ordered: the new generation replaces
	/// the old one.
	fn apply_own_restart(
		&mut self,
		group: GroupId,
		generation: Epoch,
		ordered: OrderedCommit,
	) -> Result<Applied, MlsError> {
		let previous = self.groups.get(&group).copied();
		let applied = self.provider.atomically(|provider| {
			let mut mls = provider.load(group, generation)?;
			let pending = mls
				.pending_commit()
				.ok_or_else(|| MlsError::State("the staged restart is missing".into()))?;
			let (added, _) = changes(&mls, pending);
			mls.merge_pending_commit(provider).map_err(refused("restarting a group"))?;
			if roster_hash(&roster_of(&mls)?) != ordered.roster {
				return Err(MlsError::RosterMismatch(generation));
			}
			check_authenticator(&mls, &ordered, generation)?;
			if let Some(older) = previous.and_then(|p| p.previous) {
				provider.delete(group, older)?;
			}
			Ok(Applied { epoch: generation, added, ..Default::default() })
		})?;
		self.staged.remove(&group);
		self.groups.insert(group, restarted(previous, generation));
		Ok(applied)
	}

	/// Joins `group` at `epoch` from `welcome`, only if it is the welcome the chain
	/// `ordered` for that epoch (by hash), opens that group and epoch with the roster the
	/// chain recorded, and this device is not in the group already — unless the epoch
	/// restarts the group and this device is behind it. Another member cannot move this
	/// device into an epoch of their own making.
	pub fn join(
		&mut self,
		welcome: &[u8],
		group: GroupId,
		epoch: Epoch,
		ordered: OrderedCommit,
	) -> Result<(), MlsError> {
		if ordered.welcome != Some(welcome_hash(welcome)) {
			return Err(MlsError::UnorderedWelcome(epoch));
		}
		if self.is_in(group) {
			let at = self.epoch(group)?;
			if !ordered.restart || at >= epoch {
				return Err(MlsError::AlreadyIn { group, epoch: at });
			}
		}
		let message = MlsMessageIn::tls_deserialize_exact(welcome).map_err(malformed("welcome"))?;
		let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
			return Err(MlsError::Malformed { what: "welcome", reason: "not a welcome".into() });
		};
		let previous = self.groups.get(&group).copied();
		let staged = self.staged.get(&group).copied();
		let generation = self.provider.atomically(|provider| {
			// A restart this device staged for the same epoch lost: its group gives way.
			if let Some(generation) = staged.and_then(|s| s.restart) {
				provider.delete(group, generation)?;
			}
			let staged = StagedWelcome::new_from_welcome(
				provider,
				Self::create_config().join_config(),
				welcome,
				None,
			)
			.map_err(|e| match e {
				openmls::prelude::WelcomeError::NoMatchingKeyPackage => MlsError::NotForThisDevice,
				e => MlsError::Refused { operation: "joining", reason: e.to_string() },
			})?;
			let mls = staged.into_group(provider).map_err(refused("joining"))?;
			let (joined, generation) = quarks_id(mls.group_id().as_slice())?;
			let at = chain_epoch(generation, mls.epoch().as_u64());
			if (joined, at) != (group, epoch) || (ordered.restart && generation != epoch) {
				return Err(MlsError::WrongWelcome { group: joined, epoch: at });
			}
			if roster_hash(&roster_of(&mls)?) != ordered.roster {
				return Err(MlsError::RosterMismatch(epoch));
			}
			check_authenticator(&mls, &ordered, epoch)?;
			if let Some(older) = previous.and_then(|p| p.previous) {
				provider.delete(group, older)?;
			}
			Ok(generation)
		})?;
		self.staged.remove(&group);
		let membership = match previous {
			Some(previous) => restarted(Some(previous), generation),
			None => Membership { joined: epoch, generation, previous: None },
		};
		self.groups.insert(group, membership);
		Ok(())
	}
}

/// A device's membership once `generation` restarted the group it had as `previous`
/// (if any): it joined when it first did, and keeps the generation before to read late
/// letters of.
fn restarted(previous: Option<Membership>, generation: Epoch) -> Membership {
	match previous {
		Some(previous) => {
			Membership { joined: previous.joined, generation, previous: Some(previous.generation) }
		}
		None => Membership { joined: generation, generation, previous: None },
	}
}
