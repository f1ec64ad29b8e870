//! Benchmarks of the groups pallet, each call at its worst case (a full group).

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{Consideration, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::Saturating;

const GROUP: GroupId = 0;

/// Gives `creator` enough to hold a group's deposit and `members` members' places.
fn fund_group<T: Config>(creator: &T::AccountId, members: u32) {
	T::Consideration::ensure_successful(creator, Pallet::<T>::group_footprint());
	fund_members::<T>(creator, members);
}

/// Gives `admin` enough to hold `n` members' places.
fn fund_members<T: Config>(admin: &T::AccountId, n: u32) {
	for _ in 0..n {
		T::Consideration::ensure_successful(admin, Pallet::<T>::member_footprint());
	}
}

/// Creates group 0 of `admin` and `n - 1` more members, and returns the members.
fn group_of<T: Config>(admin: &T::AccountId, n: u32) -> Vec<T::AccountId> {
	fund_group::<T>(admin, n);
	let others: Vec<T::AccountId> = (1..n).map(|i| account("member", i, 0)).collect();
	Pallet::<T>::create_group(RawOrigin::Signed(admin.clone()).into(), others.clone())
		.expect("benchmark setup creates the group");
	let mut all = others;
	all.push(admin.clone());
	all
}

/// A device key whose order is `i`'s.
fn device(i: u32) -> DeviceKey {
	let mut key = [7u8; 32];
	key[..4].copy_from_slice(&i.to_be_bytes());
	key
}

/// `MaxKeptCommits` records of `group`'s epochs `1..=MaxKeptCommits`, each with a member
/// set of its own of `members` (sorted), recorded at block 0.
fn full_history<T: Config>(members: &[T::AccountId]) -> Epoch {
	let mut sorted = members.to_vec();
	sorted.sort();
	let set = EpochMembersOf::<T>::try_from(sorted).expect("at most MaxMembers");
	let kept = T::MaxKeptCommits::get();
	for epoch in 1..=kept {
		EpochMembers::<T>::insert(GROUP, epoch, set.clone());
		let record = CommitRecord {
			commit: H256::repeat_byte(1),
			size: 0,
			roster: H256::repeat_byte(2),
			welcome: None,
			restart: epoch == 1,
			authenticator: H256::repeat_byte(3),
			committer: members[0].clone(),
			members_since: epoch,
			at: 0u32.into(),
			extrinsic: 0,
		};
		Commits::<T>::insert(GROUP, epoch, record);
	}
	OldestCommit::<T>::insert(GROUP, 1);
	kept
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_group(n: Linear<0, { T::MaxMembers::get().saturating_sub(1) }>) {
		let creator: T::AccountId = whitelisted_caller();
		let members: Vec<T::AccountId> = (0..n).map(|i| account("member", i, 0)).collect();
		fund_group::<T>(&creator, n.saturating_add(1));

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), members);

		assert_eq!(Groups::<T>::get(GROUP).map(|g| g.members), Some(n.saturating_add(1)));
	}

	#[benchmark]
	fn add_member() {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, T::MaxMembers::get().saturating_sub(1));
		// A committed epoch: the addition opens the next one.
		let committed =
			GroupInfo { members: members.len() as u32, admins: 1, epoch: 1, committed: true };
		Groups::<T>::insert(GROUP, committed);
		let new: T::AccountId = account("new", 0, 0);
		fund_members::<T>(&admin, 1);

		#[extrinsic_call]
		_(RawOrigin::Signed(admin), GROUP, new.clone());

		assert!(Members::<T>::contains_key(GROUP, &new));
	}

	#[benchmark]
	fn remove_member() {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, T::MaxMembers::get());
		let gone = members[0].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(admin), GROUP, gone.clone());

		assert!(!Members::<T>::contains_key(GROUP, &gone));
	}

	#[benchmark]
	fn leave() {
		let admin: T::AccountId = account("admin", 0, 0);
		let members = group_of::<T>(&admin, T::MaxMembers::get());
		let who = members[0].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), GROUP);

		assert!(!Members::<T>::contains_key(GROUP, &who));
	}

	#[benchmark]
	fn set_admin() {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, T::MaxMembers::get());
		let who = members[0].clone();

		#[extrinsic_call]
		_(RawOrigin::Signed(admin), GROUP, who.clone(), true);

		assert!(Members::<T>::get(GROUP, &who).is_some_and(|m| m.admin));
	}

	/// A membership change's commit with a roster of `n` devices over as many members as
	/// fit and a message of `b` bytes, in a group whose full history has two records old
	/// enough to drop.
	#[benchmark]
	fn commit(n: Linear<1, { T::MaxLeaves::get() }>, b: Linear<0, { T::MaxCommitBytes::get() }>) {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, n.min(T::MaxMembers::get()));
		let roster: Vec<DeviceKey> = (0..n).map(device).collect();
		for (i, key) in roster.iter().enumerate() {
			T::BenchmarkHelper::bind_device(&members[i % members.len()], *key);
		}
		let latest = full_history::<T>(&members);
		let epoch = latest.saturating_add(1);
		let pending =
			GroupInfo { members: members.len() as u32, admins: 1, epoch, committed: false };
		Groups::<T>::insert(GROUP, pending);
		frame_system::Pallet::<T>::set_block_number(
			T::CommitRetention::get().saturating_add(10u32.into()),
		);
		let message = BoundedVec::truncate_from(alloc::vec![9u8; b as usize]);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(admin),
			GROUP,
			epoch,
			message,
			roster,
			Some(H256::repeat_byte(9)),
			true,
			H256::repeat_byte(3),
		);

		assert_eq!(Pallet::<T>::usable_epoch(GROUP), Some(epoch));
		assert_eq!(OldestCommit::<T>::get(GROUP), Some(3));
	}

	/// The last member leaves a group that keeps a full history, each record with a full
	/// member set of its own.
	#[benchmark]
	fn dissolve() {
		let admin: T::AccountId = whitelisted_caller();
		group_of::<T>(&admin, 1);
		let full: Vec<T::AccountId> =
			(0..T::MaxMembers::get()).map(|i| account("member", i, 0)).collect();
		let latest = full_history::<T>(&full);
		Groups::<T>::insert(
			GROUP,
			GroupInfo { members: 1, admins: 1, epoch: latest, committed: true },
		);

		#[extrinsic_call]
		leave(RawOrigin::Signed(admin), GROUP);

		assert!(Groups::<T>::get(GROUP).is_none());
		assert_eq!(Commits::<T>::iter_prefix(GROUP).count(), 0);
		assert_eq!(EpochMembers::<T>::iter_prefix(GROUP).count(), 0);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
