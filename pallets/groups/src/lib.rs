//! # Quarks Groups Pallet
//!
//! Conversations, 1:1 included: members, admins and epochs on chain, and the order of
//! every conversation's MLS (RFC 9420) commits. The chain is MLS's ordering service: a
//! commit is accepted only for the epoch that builds on the chain's current one, so two
//! members committing at once cannot fork the group — the first in block order wins, the
//! other's call fails with [`Error::WrongEpoch`] and its client applies the winner and
//! tries again. Message bodies and MLS secrets never touch the chain.
//!
//! ## Terminology
//!
//! - **Epoch**: the MLS epoch the chain ordered. Creating a group opens epoch 1; every
//!   later membership change opens the next epoch, unless the current one still awaits its
//!   commit, in which case the change joins it. Until its commit is ordered the epoch is
//!   *pending* and messages cannot use it.
//! - **Commit**: [`Pallet::commit`] carries the commit's MLS message and names the
//!   group's devices after it (its *roster*); the chain checks they are bound to exactly
//!   the current members and records the message's hash, where the message is (block and
//!   extrinsic: any node serves it from the block's body, so no member can have the chain
//!   order a commit the others cannot read), the roster's hash and the hash of the welcome
//!   for the devices it adds, which every client checks before applying a commit or
//!   joining from a welcome. A membership change therefore needs the matching commit. A
//!   commit that changes no membership (an *update*, for future secrecy) waits
//!   `MinUpdateInterval` blocks after the group's last commit.
//! - **Restart**: a commit that starts a new MLS group of the current members' devices,
//!   all of whom join from its welcome (MLS's re-initialisation). A group's first commit
//!   is one. Any member may order one, so a group whose last commit does not apply (its
//!   message is not a commit, or does not open for some devices) or whose records a member
//!   missed goes on without any privileged origin: the chain orders the restart like any
//!   other commit, and a member who keeps ordering useless ones pays a fee each time, waits
//!   `MinUpdateInterval` between them, and is removed by an admin with the removal's
//!   restart.
//! - **Epoch members**: the members of an epoch, which [`Pallet::members_at`] answers for
//!   the epochs whose records are kept: a record goes `CommitRetention` blocks after its
//!   epoch ended, or earlier once the group keeps `MaxKeptCommits`.
//! - **Deposits**: a group's creator holds [`Config::Consideration`] for the group's
//!   records ([`Pallet::group_footprint`]: `MaxKeptCommits` commit records and member sets)
//!   until the group dissolves, and whoever adds a member (its creator at creation, an
//!   admin after) holds one for that member's place ([`Pallet::member_footprint`]) until the
//!   member leaves or is removed. Groups and members from before deposits hold none.
//!
//! ## Calls
//!
//! By any signed account: [`Pallet::create_group`] (the caller becomes its first admin).
//! By a group's admins: [`Pallet::add_member`], [`Pallet::remove_member`],
//! [`Pallet::set_admin`].
//! By a member: [`Pallet::leave`], [`Pallet::commit`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use quarks_primitives::{
	groups::{commit_hash, roster_hash, welcome_hash, CommitRecord, GroupInfo, MemberInfo},
	DeviceInspect, DeviceKey, Epoch, GroupId, GroupInspect,
};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::{collections::BTreeSet, vec::Vec};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, InspectHold},
			Consideration, Footprint,
		},
	};
	use frame_system::pallet_prelude::*;
	use quarks_primitives::deposit::{held, map_entry, BLAKE2_128_CONCAT, TWOX_64_CONCAT};
	use sp_core::H256;
	use sp_runtime::{Saturating, TryRuntimeError};

	/// The members of an epoch, in ascending order.
	pub type EpochMembersOf<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxMembers>;

	/// What the chain recorded of the MLS commit that opened an epoch.
	pub type CommitRecordOf<T> =
		CommitRecord<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	/// A deposit held for a group or a member's place.
	pub type TicketOf<T> = <T as Config>::Consideration;

	/// A deposit and the account that holds it.
	pub type HeldBy<T> = (<T as frame_system::Config>::AccountId, TicketOf<T>);

	/// The balance type of [`Config::Currency`].
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;

	/// The in-code storage version: 1 added the commit's size, welcome, restart flag and
	/// extrinsic index to [`CommitRecord`] ([`migrations::v1`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Accounts' devices, which rosters name.
		type Devices: DeviceInspect<Self::AccountId>;

		/// Most members a group may have.
		#[pallet::constant]
		type MaxMembers: Get<u32>;

		/// Most devices a group's roster may list.
		#[pallet::constant]
		type MaxLeaves: Get<u32>;

		/// Most bytes of a commit's MLS message, which the call ordering it carries.
		#[pallet::constant]
		type MaxCommitBytes: Get<u32>;

		/// Most commit records a group keeps; a commit beyond drops the oldest.
		#[pallet::constant]
		type MaxKeptCommits: Get<u32>;

		/// Blocks a commit record is kept after its epoch ended, for the anchors and
		/// receipts of that epoch's messages.
		#[pallet::constant]
		type CommitRetention: Get<BlockNumberFor<Self>>;

		/// Blocks after a group's last commit before a commit that changes no membership
		/// is accepted, so no member can churn the group's records.
		#[pallet::constant]
		type MinUpdateInterval: Get<BlockNumberFor<Self>>;

		/// The overarching hold reason; this pallet's [`HoldReason`] is one of its variants.
		type RuntimeHoldReason: From<HoldReason>;

		/// The balances deposits are held in (read by `try_state`).
		type Currency: fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The deposit held for a group's records and for each member's place.
		type Consideration: Consideration<Self::AccountId, Footprint>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;

		/// Binds devices for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Sets up what the benchmarks need from other pallets.
	#[cfg(feature = "runtime-benchmarks")]
	pub trait BenchmarkHelper<AccountId> {
		/// Bind the device `device` to `who`.
		fn bind_device(who: &AccountId, device: DeviceKey);
	}

	/// The next group id.
	#[pallet::storage]
	pub type NextGroupId<T> = StorageValue<_, GroupId, ValueQuery>;

	/// Existing groups.
	#[pallet::storage]
	pub type Groups<T> = StorageMap<_, Twox64Concat, GroupId, GroupInfo>;

	/// Current members of each group.
	#[pallet::storage]
	pub type Members<T: Config> =
		StorageDoubleMap<_, Twox64Concat, GroupId, Blake2_128Concat, T::AccountId, MemberInfo>;

	/// The MLS commit of each epoch a commit opened, while kept.
	#[pallet::storage]
	pub type Commits<T: Config> =
		StorageDoubleMap<_, Twox64Concat, GroupId, Twox64Concat, Epoch, CommitRecordOf<T>>;

	/// The members of an MLS group from the epoch of a membership change on, in ascending
	/// order, while a kept commit record refers to them.
	#[pallet::storage]
	pub type EpochMembers<T: Config> =
		StorageDoubleMap<_, Twox64Concat, GroupId, Twox64Concat, Epoch, EpochMembersOf<T>>;

	/// The oldest epoch whose commit record each MLS group keeps; every later one up to
	/// the latest committed has one.
	#[pallet::storage]
	pub type OldestCommit<T> = StorageMap<_, Twox64Concat, GroupId, Epoch>;

	/// The deposit held for each group's records, by its creator.
	#[pallet::storage]
	pub type GroupDeposits<T: Config> = StorageMap<_, Twox64Concat, GroupId, HeldBy<T>>;

	/// The deposit held for each member's place, by whoever added the member.
	#[pallet::storage]
	pub type MemberDeposits<T: Config> =
		StorageDoubleMap<_, Twox64Concat, GroupId, Blake2_128Concat, T::AccountId, HeldBy<T>>;

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Held for a group's records or a member's place, returned when they go.
		Group,
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A group was created; its epoch 1 awaits its commit.
		GroupCreated {
			/// The new group.
			group: GroupId,
			/// Its creator and first admin.
			creator: T::AccountId,
			/// Its members, the creator included.
			members: u32,
		},
		/// A member was added.
		MemberAdded {
			/// The group.
			group: GroupId,
			/// The new member.
			who: T::AccountId,
			/// The epoch now open, which awaits its commit.
			epoch: Epoch,
		},
		/// A member was removed by an admin.
		MemberRemoved {
			/// The group.
			group: GroupId,
			/// The removed member.
			who: T::AccountId,
			/// The epoch now open, which awaits its commit.
			epoch: Epoch,
		},
		/// A member left.
		MemberLeft {
			/// The group.
			group: GroupId,
			/// The member who left.
			who: T::AccountId,
			/// The epoch now open, which awaits its commit.
			epoch: Epoch,
		},
		/// The last member left; the group no longer exists.
		GroupDissolved {
			/// The group.
			group: GroupId,
		},
		/// A member's admin role changed.
		AdminSet {
			/// The group.
			group: GroupId,
			/// The member.
			who: T::AccountId,
			/// Whether the member is now an admin.
			admin: bool,
		},
		/// The chain ordered an MLS commit; it opened `epoch`, which messages may use.
		Committed {
			/// The group.
			group: GroupId,
			/// The epoch it opened.
			epoch: Epoch,
			/// BLAKE2-256 of the commit's MLS message.
			commit: H256,
			/// The member who committed.
			by: T::AccountId,
			/// Whether it restarts the group: every member's devices join a new MLS group
			/// from its welcome.
			restart: bool,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such group.
		UnknownGroup,
		/// The caller is not a member of the group.
		NotMember,
		/// The caller is not an admin of the group.
		NotAdmin,
		/// The account is already a member.
		AlreadyMember,
		/// The group already has `MaxMembers` members.
		GroupFull,
		/// The member list repeats an account.
		DuplicateMember,
		/// The change would leave members but no admin.
		LastAdmin,
		/// Admins leave or are removed by others; they cannot remove themselves.
		CannotRemoveSelf,
		/// The commit does not build on the chain's current epoch of the group.
		WrongEpoch,
		/// The roster lists more than `MaxLeaves` devices.
		RosterTooLarge,
		/// The roster is not in strictly ascending order.
		RosterNotSorted,
		/// A roster device is not bound to any account now.
		DeviceNotBound,
		/// The roster's devices are not bound to exactly the current members.
		RosterMismatch,
		/// A commit that changes no membership came within `MinUpdateInterval` blocks of
		/// the group's last commit.
		UpdateTooSoon,
		/// A group's first commit starts its MLS group, so it is a restart.
		FirstCommitRestarts,
		/// A restart of a group of several members names no welcome: they could not join.
		RestartWithoutWelcome,
		/// The caller's free balance cannot hold the deposit the group or member needs.
		CannotPayDeposit,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxMembers::get() >= 2, "a group needs room for two members");
			assert!(
				T::MaxLeaves::get() >= T::MaxMembers::get(),
				"a full group's roster needs a device per member"
			);
			assert!(
				T::MaxKeptCommits::get() >= 2,
				"a commit must keep the record before it, for the member set it shares"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Create a group of the caller (its first admin) and `members`.
		///
		/// The origin must be signed; `members` must be distinct, not include the caller,
		/// and fit in `MaxMembers` with it. Epoch 1 opens and awaits its commit.
		/// Emits [`Event::GroupCreated`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_group(members.len() as u32))]
		pub fn create_group(origin: OriginFor<T>, members: Vec<T::AccountId>) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			let count = (members.len() as u32).saturating_add(1);
			ensure!(count <= T::MaxMembers::get(), Error::<T>::GroupFull);
			for (i, who) in members.iter().enumerate() {
				ensure!(
					*who != creator && !members[..i].contains(who),
					Error::<T>::DuplicateMember
				);
			}

			let group = NextGroupId::<T>::get();
			let deposit = Self::hold(&creator, Self::group_footprint())?;
			GroupDeposits::<T>::insert(group, deposit);
			NextGroupId::<T>::put(group.saturating_add(1));
			Groups::<T>::insert(
				group,
				GroupInfo { members: count, admins: 1, epoch: 1, committed: false },
			);
			for (who, admin) in
				core::iter::once((&creator, true)).chain(members.iter().map(|who| (who, false)))
			{
				let deposit = Self::hold(&creator, Self::member_footprint())?;
				MemberDeposits::<T>::insert(group, who, deposit);
				Members::<T>::insert(group, who, MemberInfo { admin, joined: 1 });
			}
			Self::deposit_event(Event::GroupCreated { group, creator, members: count });
			Ok(())
		}

		/// Add `who` to `group`, opening a new epoch that awaits its commit.
		///
		/// The origin must be an admin of the group. Emits [`Event::MemberAdded`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::add_member())]
		pub fn add_member(
			origin: OriginFor<T>,
			group: GroupId,
			who: T::AccountId,
		) -> DispatchResult {
			let admin = ensure_signed(origin)?;
			let mut info = Self::admin_group(group, &admin)?;
			ensure!(!Members::<T>::contains_key(group, &who), Error::<T>::AlreadyMember);
			ensure!(info.members < T::MaxMembers::get(), Error::<T>::GroupFull);

			let deposit = Self::hold(&admin, Self::member_footprint())?;
			Self::open_epoch(&mut info);
			info.members = info.members.saturating_add(1);
			MemberDeposits::<T>::insert(group, &who, deposit);
			Members::<T>::insert(group, &who, MemberInfo { admin: false, joined: info.epoch });
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::MemberAdded { group, who, epoch: info.epoch });
			Ok(())
		}

		/// Remove `who` from `group`, opening a new epoch that awaits its commit.
		///
		/// The origin must be an admin of the group, other than `who`; at least one admin
		/// must remain. Emits [`Event::MemberRemoved`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::remove_member())]
		pub fn remove_member(
			origin: OriginFor<T>,
			group: GroupId,
			who: T::AccountId,
		) -> DispatchResult {
			let admin = ensure_signed(origin)?;
			let mut info = Self::admin_group(group, &admin)?;
			ensure!(admin != who, Error::<T>::CannotRemoveSelf);
			let member = Members::<T>::get(group, &who).ok_or(Error::<T>::NotMember)?;

			Self::drop_member(group, &who, &member, &mut info)?;
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::MemberRemoved { group, who, epoch: info.epoch });
			Ok(())
		}

		/// Leave `group`. The last member leaving dissolves it, with its commit records;
		/// otherwise a new epoch opens. The last admin may leave only as the last member.
		///
		/// The origin must be a member. Emits [`Event::MemberLeft`] or
		/// [`Event::GroupDissolved`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::leave().max(T::WeightInfo::dissolve()))]
		pub fn leave(origin: OriginFor<T>, group: GroupId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Groups::<T>::get(group).ok_or(Error::<T>::UnknownGroup)?;
			let member = Members::<T>::get(group, &who).ok_or(Error::<T>::NotMember)?;

			if info.members == 1 {
				Self::release(MemberDeposits::<T>::take(group, &who))?;
				Self::release(GroupDeposits::<T>::take(group))?;
				Members::<T>::remove(group, &who);
				Groups::<T>::remove(group);
				// At most `MaxKeptCommits` of each.
				let kept = T::MaxKeptCommits::get();
				let _ = Commits::<T>::clear_prefix(group, kept, None);
				let _ = EpochMembers::<T>::clear_prefix(group, kept, None);
				OldestCommit::<T>::remove(group);
				Self::deposit_event(Event::GroupDissolved { group });
				return Ok(());
			}
			ensure!(!(member.admin && info.admins == 1), Error::<T>::LastAdmin);

			Self::drop_member(group, &who, &member, &mut info)?;
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::MemberLeft { group, who, epoch: info.epoch });
			Ok(())
		}

		/// Make `who` an admin of `group`, or not. Membership, and so the epoch, is unchanged.
		///
		/// The origin must be an admin of the group; at least one admin must remain.
		/// Emits [`Event::AdminSet`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_admin())]
		pub fn set_admin(
			origin: OriginFor<T>,
			group: GroupId,
			who: T::AccountId,
			admin: bool,
		) -> DispatchResult {
			let caller = ensure_signed(origin)?;
			let mut info = Self::admin_group(group, &caller)?;
			let mut member = Members::<T>::get(group, &who).ok_or(Error::<T>::NotMember)?;
			if member.admin == admin {
				return Ok(());
			}
			if admin {
				info.admins = info.admins.saturating_add(1);
			} else {
				ensure!(info.admins > 1, Error::<T>::LastAdmin);
				info.admins = info.admins.saturating_sub(1);
			}

			member.admin = admin;
			Members::<T>::insert(group, &who, member);
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::AdminSet { group, who, admin });
			Ok(())
		}

		/// Order the MLS commit `commit` of `group`: it opens `epoch`, and the group's
		/// devices after it are `roster`. The message travels in this call, so every member
		/// can take it from the block's body at any node; the chain records its hash and
		/// where it is ([`CommitRecord`]).
		///
		/// `welcome` is the hash of the MLS welcome for the devices the commit adds: the
		/// only welcome into `epoch` that devices accept; `authenticator` the hash of the
		/// epoch authenticator the commit leads to, which members who apply it and devices
		/// that join from the welcome must reach. With `restart`, the commit starts
		/// a new MLS group of the members' devices (MLS's re-initialisation), which all join
		/// from that welcome: a group's first commit does, and so may any member's when the
		/// group cannot go on otherwise (a commit that does not apply, records pruned).
		///
		/// The origin must be a current member (an admin for the group's first commit).
		/// `epoch` must build on the chain's: the open
		/// epoch if a membership change left it awaiting a key, else the next one (an
		/// update, at least `MinUpdateInterval` blocks after the last commit). `roster`
		/// must be in ascending order, each device bound now to a current member, every
		/// current member with at least one. Drops the records the group no longer keeps.
		/// Emits [`Event::Committed`].
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::commit(roster.len() as u32, commit.len() as u32))]
		pub fn commit(
			origin: OriginFor<T>,
			group: GroupId,
			epoch: Epoch,
			commit: BoundedVec<u8, T::MaxCommitBytes>,
			roster: Vec<DeviceKey>,
			welcome: Option<H256>,
			restart: bool,
			authenticator: H256,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Groups::<T>::get(group).ok_or(Error::<T>::UnknownGroup)?;
			let member = Members::<T>::get(group, &who).ok_or(Error::<T>::NotMember)?;
			let oldest = OldestCommit::<T>::get(group);
			ensure!(restart || oldest.is_some(), Error::<T>::FirstCommitRestarts);
			// The first commit starts the group its creator made: no member can take it.
			ensure!(oldest.is_some() || member.admin, Error::<T>::NotAdmin);
			ensure!(
				!restart || welcome.is_some() || info.members == 1,
				Error::<T>::RestartWithoutWelcome
			);
			let next = if info.committed { info.epoch.saturating_add(1) } else { info.epoch };
			ensure!(epoch == next, Error::<T>::WrongEpoch);
			let now = frame_system::Pallet::<T>::block_number();
			let last = info.committed.then(|| Commits::<T>::get(group, info.epoch)).flatten();
			if let Some(last) = &last {
				ensure!(
					last.at.saturating_add(T::MinUpdateInterval::get()) <= now,
					Error::<T>::UpdateTooSoon
				);
			}
			let members = Self::roster_members(group, &info, &roster)?;
			let kept_from = oldest.map(|oldest| Self::kept_after_commit(group, oldest, epoch, now));

			if let (Some(oldest), Some(kept_from)) = (oldest, kept_from) {
				for ended in oldest..kept_from {
					Self::drop_commit(group, ended);
				}
			}
			OldestCommit::<T>::insert(group, kept_from.unwrap_or(epoch));
			// An update keeps the member set of the last commit; a membership change (or
			// the first commit) starts a new one.
			let members_since = match last {
				Some(last) => last.members_since,
				None => {
					EpochMembers::<T>::insert(group, epoch, members);
					epoch
				}
			};
			let hash = commit_hash(&commit);
			let record = CommitRecord {
				commit: hash,
				size: commit.len() as u32,
				roster: roster_hash(&roster),
				welcome,
				restart,
				authenticator,
				committer: who.clone(),
				members_since,
				at: now,
				extrinsic: frame_system::Pallet::<T>::extrinsic_index().unwrap_or_default(),
			};
			Commits::<T>::insert(group, epoch, record);
			info.epoch = epoch;
			info.committed = true;
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::Committed { group, epoch, commit: hash, by: who, restart });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The members of `group` at `epoch`, in ascending order; empty if no kept commit
		/// record opened it.
		pub fn members_at(group: GroupId, epoch: Epoch) -> Vec<T::AccountId> {
			Self::committed_members(group, epoch).map(BoundedVec::into_inner).unwrap_or_default()
		}

		/// What the chain recorded of the MLS commit that opened `group`'s `epoch`, while
		/// it is kept.
		pub fn commit_at(group: GroupId, epoch: Epoch) -> Option<CommitRecordOf<T>> {
			Commits::<T>::get(group, epoch)
		}

		/// The group's counters and epoch.
		pub fn group(group: GroupId) -> Option<GroupInfo> {
			Groups::<T>::get(group)
		}
	}

	impl<T: Config> GroupInspect<T::AccountId> for Pallet<T> {
		fn is_member(group: GroupId, who: &T::AccountId) -> bool {
			Members::<T>::contains_key(group, who)
		}

		fn usable_epoch(group: GroupId) -> Option<Epoch> {
			Groups::<T>::get(group).filter(|g| g.committed).map(|g| g.epoch)
		}

		fn was_member(group: GroupId, epoch: Epoch, who: &T::AccountId) -> bool {
			Pallet::<T>::committed_members(group, epoch)
				.is_some_and(|members| members.binary_search(who).is_ok())
		}

		fn members_at(group: GroupId, epoch: Epoch) -> Vec<T::AccountId> {
			Pallet::<T>::members_at(group, epoch)
		}
	}

	impl<T: Config> Pallet<T> {
		fn admin_group(group: GroupId, who: &T::AccountId) -> Result<GroupInfo, Error<T>> {
			let info = Groups::<T>::get(group).ok_or(Error::<T>::UnknownGroup)?;
			let member = Members::<T>::get(group, who).ok_or(Error::<T>::NotMember)?;
			ensure!(member.admin, Error::<T>::NotAdmin);
			Ok(info)
		}

		/// The members `roster` covers, if its devices are in ascending order, bound now
		/// to current members of `group`, and cover every one of them.
		fn roster_members(
			group: GroupId,
			info: &GroupInfo,
			roster: &[DeviceKey],
		) -> Result<EpochMembersOf<T>, Error<T>> {
			ensure!(roster.len() as u32 <= T::MaxLeaves::get(), Error::<T>::RosterTooLarge);
			ensure!(roster.windows(2).all(|pair| pair[0] < pair[1]), Error::<T>::RosterNotSorted);
			let mut covered = BTreeSet::new();
			for device in roster {
				let owner = T::Devices::device_owner(device).ok_or(Error::<T>::DeviceNotBound)?;
				if !covered.contains(&owner) {
					ensure!(Members::<T>::contains_key(group, &owner), Error::<T>::RosterMismatch);
					covered.insert(owner);
				}
			}
			ensure!(covered.len() as u32 == info.members, Error::<T>::RosterMismatch);
			EpochMembersOf::<T>::try_from(covered.into_iter().collect::<Vec<_>>())
				.map_err(|_| Error::<T>::RosterMismatch)
		}

		/// The oldest epoch whose record `group` keeps once `epoch` is committed at `now`:
		/// up to two records whose epoch ended `CommitRetention` blocks ago go, and as many
		/// more as keep at most `MaxKeptCommits`.
		fn kept_after_commit(
			group: GroupId,
			oldest: Epoch,
			epoch: Epoch,
			now: BlockNumberFor<T>,
		) -> Epoch {
			let mut kept_from = oldest;
			// The epoch before `epoch` ends now, so it is never among these.
			for _ in 0..2 {
				let ended_at = Commits::<T>::get(group, kept_from.saturating_add(1)).map(|c| c.at);
				match ended_at {
					Some(at)
						if kept_from.saturating_add(1) < epoch
							&& at.saturating_add(T::CommitRetention::get()) <= now =>
					{
						kept_from = kept_from.saturating_add(1)
					}
					_ => break,
				}
			}
			kept_from.max(epoch.saturating_add(1).saturating_sub(T::MaxKeptCommits::get()))
		}

		/// Drops the record of `group`'s `epoch`, and its member set unless the next
		/// record shares it.
		fn drop_commit(group: GroupId, epoch: Epoch) {
			let Some(record) = Commits::<T>::take(group, epoch) else { return };
			let next = Commits::<T>::get(group, epoch.saturating_add(1));
			if next.is_none_or(|next| next.members_since != record.members_since) {
				EpochMembers::<T>::remove(group, record.members_since);
			}
		}

		/// The members of `group` at `epoch` if a kept commit record opened it.
		fn committed_members(group: GroupId, epoch: Epoch) -> Option<EpochMembersOf<T>> {
			let record = Commits::<T>::get(group, epoch)?;
			EpochMembers::<T>::get(group, record.members_since)
		}

		/// A membership change needs a commit: open the next epoch unless the open one
		/// still awaits its commit.
		fn open_epoch(info: &mut GroupInfo) {
			if info.committed {
				info.epoch = info.epoch.saturating_add(1);
				info.committed = false;
			}
		}

		/// Removes `who` from `group` and returns its place's deposit to whoever held it.
		fn drop_member(
			group: GroupId,
			who: &T::AccountId,
			member: &MemberInfo,
			info: &mut GroupInfo,
		) -> DispatchResult {
			Self::release(MemberDeposits::<T>::take(group, who))?;
			Self::open_epoch(info);
			info.members = info.members.saturating_sub(1);
			if member.admin {
				info.admins = info.admins.saturating_sub(1);
			}
			Members::<T>::remove(group, who);
			Ok(())
		}

		/// What a group's own records keep in state at most, paid by its creator: the
		/// group's entries and `MaxKeptCommits` commit records and member sets (their
		/// members are paid for with each member's place).
		pub fn group_footprint() -> Footprint {
			let group = map_entry::<GroupId, GroupInfo>(TWOX_64_CONCAT)
				.saturating_add(map_entry::<GroupId, Epoch>(TWOX_64_CONCAT))
				.saturating_add(map_entry::<GroupId, HeldBy<T>>(TWOX_64_CONCAT));
			let per_epoch =
				map_entry::<(GroupId, Epoch), CommitRecordOf<T>>(TWOX_64_CONCAT.saturating_mul(2))
					.saturating_add(map_entry::<(GroupId, Epoch), codec::Compact<u32>>(
						TWOX_64_CONCAT.saturating_mul(2),
					));
			let kept = T::MaxKeptCommits::get() as usize;
			Footprint::from_parts(1, group.saturating_add(per_epoch.saturating_mul(kept)))
		}

		/// What a member's place keeps in state at most, paid by whoever added it: its
		/// entry, its deposit's, and its place in `MaxKeptCommits` member sets.
		pub fn member_footprint() -> Footprint {
			let hash = TWOX_64_CONCAT.saturating_add(BLAKE2_128_CONCAT);
			let entries = map_entry::<(GroupId, T::AccountId), MemberInfo>(hash)
				.saturating_add(map_entry::<(GroupId, T::AccountId), HeldBy<T>>(hash));
			let in_sets =
				T::AccountId::max_encoded_len().saturating_mul(T::MaxKeptCommits::get() as usize);
			Footprint::from_parts(1, entries.saturating_add(in_sets))
		}

		/// Holds a deposit for `footprint` from `payer`.
		fn hold(payer: &T::AccountId, footprint: Footprint) -> Result<HeldBy<T>, Error<T>> {
			let ticket = T::Consideration::new(payer, footprint)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			Ok((payer.clone(), ticket))
		}

		/// Returns a deposit, if one was held, to whoever held it.
		fn release(deposit: Option<HeldBy<T>>) -> DispatchResult {
			match deposit {
				Some((payer, ticket)) => ticket.drop(&payer),
				None => Ok(()),
			}
		}

		/// Invariants: each group's counters match its members, it has an admin, no member
		/// joined after the open epoch, a committed epoch has its commit record, commit
		/// records are contiguous from the oldest kept to the latest, at most
		/// `MaxKeptCommits`, no group id reaches `NextGroupId`, and deposits are held.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			for (group, info) in Groups::<T>::iter() {
				ensure!(group < NextGroupId::<T>::get(), "group id not yet allocated");
				let (mut members, mut admins) = (0u32, 0u32);
				for (_, member) in Members::<T>::iter_prefix(group) {
					members = members.saturating_add(1);
					admins = admins.saturating_add(member.admin as u32);
					ensure!(member.joined <= info.epoch, "member joined a future epoch");
				}
				ensure!(members == info.members, "member count drifted");
				ensure!(admins == info.admins, "admin count drifted");
				ensure!(admins >= 1, "group without admin");
				ensure!(
					!info.committed || Commits::<T>::contains_key(group, info.epoch),
					"committed epoch without its record"
				);
				if let Some(oldest) = OldestCommit::<T>::get(group) {
					let latest =
						if info.committed { info.epoch } else { info.epoch.saturating_sub(1) };
					ensure!(
						latest.saturating_sub(oldest) < T::MaxKeptCommits::get(),
						"more commit records than MaxKeptCommits"
					);
					let mut since = 0;
					for epoch in oldest..=latest {
						let record =
							Commits::<T>::get(group, epoch).ok_or("commit record missing")?;
						ensure!(
							record.size <= T::MaxCommitBytes::get(),
							"a commit larger than MaxCommitBytes"
						);
						ensure!(epoch > 1 || record.restart, "a first commit that is no restart");
						ensure!(
							record.members_since >= since && record.members_since <= epoch,
							"member sets out of order"
						);
						since = record.members_since;
						let members = EpochMembers::<T>::get(group, since)
							.ok_or("commit record without its member set")?;
						ensure!(
							members.windows(2).all(|pair| pair[0] < pair[1]),
							"epoch members not in ascending order"
						);
					}
					ensure!(
						Commits::<T>::iter_key_prefix(group).all(|e| e >= oldest && e <= latest),
						"commit record outside the kept range"
					);
					ensure!(
						EpochMembers::<T>::iter_key_prefix(group).all(|since| {
							Commits::<T>::iter_prefix_values(group)
								.any(|c| c.members_since == since)
						}),
						"member set no kept record refers to"
					);
				}
			}
			for group in OldestCommit::<T>::iter_keys() {
				ensure!(Groups::<T>::contains_key(group), "records of a dissolved group");
			}
			Self::try_deposits()
		}

		/// Every deposit is a group's or a current member's, and each payer holds exactly
		/// the sum of its deposits.
		fn try_deposits() -> Result<(), TryRuntimeError> {
			let mut payers = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			for (group, (payer, ticket)) in GroupDeposits::<T>::iter() {
				ensure!(Groups::<T>::contains_key(group), "a deposit for no group");
				let sum = payers.entry(payer).or_default();
				*sum = sum.saturating_add(held::<BalanceOf<T>>(&ticket));
			}
			for (group, who, (payer, ticket)) in MemberDeposits::<T>::iter() {
				ensure!(Members::<T>::contains_key(group, &who), "a deposit for no member");
				let sum = payers.entry(payer).or_default();
				*sum = sum.saturating_add(held::<BalanceOf<T>>(&ticket));
			}
			for (payer, sum) in payers {
				ensure!(
					sum == T::Currency::balance_on_hold(&HoldReason::Group.into(), &payer),
					"a payer's hold is not its deposits"
				);
			}
			Ok(())
		}
	}
}
