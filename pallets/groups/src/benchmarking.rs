//! Benchmarks of the groups pallet, each call at its worst case (a full group).

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::Get;
use frame_system::RawOrigin;
use sp_core::H256;

const GROUP: GroupId = 0;

/// Creates group 0 of `admin` and `n - 1` more members, and returns the members.
fn group_of<T: Config>(admin: &T::AccountId, n: u32) -> Vec<T::AccountId> {
	let others: Vec<T::AccountId> = (1..n).map(|i| account("member", i, 0)).collect();
	Pallet::<T>::create_group(RawOrigin::Signed(admin.clone()).into(), others.clone())
		.expect("benchmark setup creates the group");
	let mut all = others;
	all.push(admin.clone());
	all
}

fn wrapped_for<T: Config>(members: &[T::AccountId]) -> Vec<WrappedKey<T::AccountId>> {
	members
		.iter()
		.map(|m| WrappedKey {
			member: m.clone(),
			key_version: T::BenchmarkHelper::ensure_valid_key(m),
			commitment: H256::repeat_byte(7),
		})
		.collect()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_group(n: Linear<0, { T::MaxMembers::get().saturating_sub(1) }>) {
		let creator: T::AccountId = whitelisted_caller();
		let members: Vec<T::AccountId> = (0..n).map(|i| account("member", i, 0)).collect();

		#[extrinsic_call]
		_(RawOrigin::Signed(creator), members);

		assert_eq!(Groups::<T>::get(GROUP).map(|g| g.members), Some(n.saturating_add(1)));
	}

	#[benchmark]
	fn add_member() {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, T::MaxMembers::get().saturating_sub(1));
		Pallet::<T>::rotate_key(
			RawOrigin::Signed(admin.clone()).into(),
			GROUP,
			1,
			wrapped_for::<T>(&members),
		)
		.expect("benchmark setup rotates");
		let new: T::AccountId = account("new", 0, 0);

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

	#[benchmark]
	fn rotate_key(n: Linear<1, { T::MaxMembers::get() }>) {
		let admin: T::AccountId = whitelisted_caller();
		let members = group_of::<T>(&admin, n);
		let wrapped = wrapped_for::<T>(&members);

		#[extrinsic_call]
		_(RawOrigin::Signed(admin), GROUP, 1, wrapped);

		assert_eq!(Pallet::<T>::usable_epoch(GROUP), Some(1));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
