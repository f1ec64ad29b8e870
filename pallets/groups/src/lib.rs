//! # Quarks Groups Pallet
//!
//! Group conversations: members, admins and key epochs, on chain. Messages to a group are
//! encrypted with the group key of an epoch; the chain records which members were given
//! that key, so removed members cannot read later epochs and new members cannot read
//! earlier ones.
//!
//! ## Terminology
//!
//! - **Epoch**: a period with one group key. Creating a group opens epoch 1; every later
//!   membership change opens the next epoch, unless the current one still awaits its key,
//!   in which case the change joins it.
//! - **Rotation**: an admin posts, for the open epoch, one commitment per current member:
//!   the hash of the new group key wrapped for that member's valid encryption key version.
//!   Until then the epoch is *pending* and messages cannot use it.
//! - **Epoch members**: the members a rotation covered; [`Pallet::members_at`] answers
//!   "who was a member in epoch e".
//!
//! ## Calls
//!
//! By any signed account: [`Pallet::create_group`] (the caller becomes its first admin).
//! By a group's admins: [`Pallet::add_member`], [`Pallet::remove_member`],
//! [`Pallet::set_admin`], [`Pallet::rotate_key`].
//! By a member: [`Pallet::leave`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use quarks_primitives::{Epoch, GroupId, GroupInspect, KeyInspect, KeyVersion};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use scale_info::TypeInfo;
	use sp_core::H256;
	use sp_runtime::TryRuntimeError;

	/// A group's counters and key state.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
	)]
	pub struct GroupInfo {
		/// Current members.
		pub members: u32,
		/// Current admins (a subset of the members).
		pub admins: u32,
		/// The open epoch.
		pub epoch: Epoch,
		/// Whether the open epoch's key has been posted.
		pub rotated: bool,
	}

	/// A member's role.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
	)]
	pub struct MemberInfo {
		/// Whether the member administers the group.
		pub admin: bool,
		/// The epoch the member joined in; it cannot read earlier ones.
		pub joined: Epoch,
	}

	/// The group key of an epoch, wrapped for one member.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
	)]
	pub struct WrappedKey<AccountId> {
		/// The member.
		pub member: AccountId,
		/// The member's encryption key version the group key was wrapped for.
		pub key_version: KeyVersion,
		/// Hash of the wrapped group key, which travels off chain.
		pub commitment: H256,
	}

	/// The rotation record of an epoch.
	pub type RotationOf<T> =
		BoundedVec<WrappedKey<<T as frame_system::Config>::AccountId>, <T as Config>::MaxMembers>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Accounts' encryption keys, which group keys are wrapped for.
		type Keys: KeyInspect<Self::AccountId, BlockNumberFor<Self>>;

		/// Most members a group may have.
		#[pallet::constant]
		type MaxMembers: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;

		/// Gives accounts valid encryption keys for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Sets up what the benchmarks need from other pallets.
	#[cfg(feature = "runtime-benchmarks")]
	pub trait BenchmarkHelper<AccountId> {
		/// Make sure `who` has a valid encryption key; return its version.
		fn ensure_valid_key(who: &AccountId) -> KeyVersion;
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

	/// The rotation of each epoch whose key was posted: who received the key, for which
	/// of their key versions, and a commitment to what they received.
	#[pallet::storage]
	pub type Rotations<T: Config> =
		StorageDoubleMap<_, Twox64Concat, GroupId, Twox64Concat, Epoch, RotationOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A group was created; its epoch 1 awaits a key rotation.
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
			/// The epoch now open, which awaits a key rotation.
			epoch: Epoch,
		},
		/// A member was removed by an admin.
		MemberRemoved {
			/// The group.
			group: GroupId,
			/// The removed member.
			who: T::AccountId,
			/// The epoch now open, which awaits a key rotation.
			epoch: Epoch,
		},
		/// A member left.
		MemberLeft {
			/// The group.
			group: GroupId,
			/// The member who left.
			who: T::AccountId,
			/// The epoch now open, which awaits a key rotation.
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
		/// An admin posted the key of an epoch; messages may now use it.
		KeyRotated {
			/// The group.
			group: GroupId,
			/// The epoch.
			epoch: Epoch,
			/// The admin who posted it.
			by: T::AccountId,
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
		/// The rotation is not for the open epoch.
		WrongEpoch,
		/// The open epoch's key was already posted.
		AlreadyRotated,
		/// The rotation does not cover exactly the current members.
		RotationMembersMismatch,
		/// A member has no valid encryption key to wrap the group key for.
		MemberHasNoKey,
		/// A wrapped key names a key version that is not the member's valid one.
		StaleMemberKey,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxMembers::get() >= 2, "a group needs room for two members");
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
		/// and fit in `MaxMembers` with it. Epoch 1 opens and awaits a key rotation.
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
			NextGroupId::<T>::put(group.saturating_add(1));
			Groups::<T>::insert(
				group,
				GroupInfo { members: count, admins: 1, epoch: 1, rotated: false },
			);
			Members::<T>::insert(group, &creator, MemberInfo { admin: true, joined: 1 });
			for who in &members {
				Members::<T>::insert(group, who, MemberInfo { admin: false, joined: 1 });
			}
			Self::deposit_event(Event::GroupCreated { group, creator, members: count });
			Ok(())
		}

		/// Add `who` to `group`, opening a new epoch that awaits a key rotation.
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

			Self::open_epoch(&mut info);
			info.members = info.members.saturating_add(1);
			Members::<T>::insert(group, &who, MemberInfo { admin: false, joined: info.epoch });
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::MemberAdded { group, who, epoch: info.epoch });
			Ok(())
		}

		/// Remove `who` from `group`, opening a new epoch that awaits a key rotation.
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

			Self::drop_member(group, &who, &member, &mut info);
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::MemberRemoved { group, who, epoch: info.epoch });
			Ok(())
		}

		/// Leave `group`. The last member leaving dissolves it; otherwise a new epoch
		/// opens. The last admin may leave only as the last member.
		///
		/// The origin must be a member. Emits [`Event::MemberLeft`] or
		/// [`Event::GroupDissolved`].
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::leave())]
		pub fn leave(origin: OriginFor<T>, group: GroupId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Groups::<T>::get(group).ok_or(Error::<T>::UnknownGroup)?;
			let member = Members::<T>::get(group, &who).ok_or(Error::<T>::NotMember)?;

			if info.members == 1 {
				Members::<T>::remove(group, &who);
				Groups::<T>::remove(group);
				Self::deposit_event(Event::GroupDissolved { group });
				return Ok(());
			}
			ensure!(!(member.admin && info.admins == 1), Error::<T>::LastAdmin);

			Self::drop_member(group, &who, &member, &mut info);
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

		/// Post the key of `group`'s open `epoch`: one wrapped-key commitment per current
		/// member, for that member's valid encryption key version.
		///
		/// The origin must be an admin of the group. `wrapped` must cover exactly the
		/// current members. Emits [`Event::KeyRotated`]; messages may then use the epoch.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::rotate_key(wrapped.len() as u32))]
		pub fn rotate_key(
			origin: OriginFor<T>,
			group: GroupId,
			epoch: Epoch,
			wrapped: Vec<WrappedKey<T::AccountId>>,
		) -> DispatchResult {
			let admin = ensure_signed(origin)?;
			let mut info = Self::admin_group(group, &admin)?;
			ensure!(epoch == info.epoch, Error::<T>::WrongEpoch);
			ensure!(!info.rotated, Error::<T>::AlreadyRotated);
			ensure!(wrapped.len() as u32 == info.members, Error::<T>::RotationMembersMismatch);
			for (i, entry) in wrapped.iter().enumerate() {
				ensure!(
					Members::<T>::contains_key(group, &entry.member)
						&& !wrapped[..i].iter().any(|e| e.member == entry.member),
					Error::<T>::RotationMembersMismatch
				);
				let valid = T::Keys::valid_key(&entry.member).ok_or(Error::<T>::MemberHasNoKey)?;
				ensure!(valid == entry.key_version, Error::<T>::StaleMemberKey);
			}
			let rotation = RotationOf::<T>::try_from(wrapped)
				.map_err(|_| Error::<T>::RotationMembersMismatch)?;

			info.rotated = true;
			Rotations::<T>::insert(group, epoch, rotation);
			Groups::<T>::insert(group, &info);
			Self::deposit_event(Event::KeyRotated { group, epoch, by: admin });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The members that received the key of `group`'s `epoch`; empty if it was never
		/// rotated.
		pub fn members_at(group: GroupId, epoch: Epoch) -> Vec<T::AccountId> {
			Rotations::<T>::get(group, epoch)
				.map(|r| r.into_iter().map(|w| w.member).collect())
				.unwrap_or_default()
		}

		/// The group's counters and key state.
		pub fn group(group: GroupId) -> Option<GroupInfo> {
			Groups::<T>::get(group)
		}
	}

	impl<T: Config> GroupInspect<T::AccountId> for Pallet<T> {
		fn is_member(group: GroupId, who: &T::AccountId) -> bool {
			Members::<T>::contains_key(group, who)
		}

		fn usable_epoch(group: GroupId) -> Option<Epoch> {
			Groups::<T>::get(group).filter(|g| g.rotated).map(|g| g.epoch)
		}

		fn was_member(group: GroupId, epoch: Epoch, who: &T::AccountId) -> bool {
			Rotations::<T>::get(group, epoch).is_some_and(|r| r.iter().any(|w| &w.member == who))
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

		/// A membership change needs a new key: open the next epoch unless the open one
		/// still awaits its key.
		fn open_epoch(info: &mut GroupInfo) {
			if info.rotated {
				info.epoch = info.epoch.saturating_add(1);
				info.rotated = false;
			}
		}

		fn drop_member(
			group: GroupId,
			who: &T::AccountId,
			member: &MemberInfo,
			info: &mut GroupInfo,
		) {
			Self::open_epoch(info);
			info.members = info.members.saturating_sub(1);
			if member.admin {
				info.admins = info.admins.saturating_sub(1);
			}
			Members::<T>::remove(group, who);
		}

		/// Invariants: each group's counters match its members, it has an admin, no member
		/// joined after the open epoch, a rotated epoch has its rotation record, and no
		/// group id reaches `NextGroupId`.
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
					!info.rotated || Rotations::<T>::contains_key(group, info.epoch),
					"rotated epoch without a rotation record"
				);
			}
			Ok(())
		}
	}
}
