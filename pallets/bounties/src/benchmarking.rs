//! Benchmarks of the bounties pallet, each at its worst case.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Get, Hooks,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_core::H256;
use sp_runtime::traits::Saturating;

/// Gives `who` enough for the largest bounty, many times over.
fn fund<T: Config>(who: &T::AccountId) {
	let plenty = T::MinBounty::get().saturating_mul(T::MaxReceiptsPerLeaf::get().into());
	let plenty = plenty.saturating_mul(100u32.into());
	T::Currency::set_balance(who, plenty.saturating_add(T::Currency::minimum_balance()));
}

/// A funded sender with an anchor under `root` and a bounty of `receipts` shares on it.
fn sender_with_bounty<T: Config>(index: u32, root: H256, receipts: u32) -> T::AccountId {
	let sender: T::AccountId = account("sender", index, 0);
	fund::<T>(&sender);
	T::BenchmarkHelper::anchor(&sender, root, 1);
	let receipts = receipts.min(T::MaxReceiptsPerLeaf::get());
	Pallet::<T>::offer(
		RawOrigin::Signed(sender.clone()).into(),
		root,
		T::MinBounty::get(),
		receipts,
	)
	.expect("benchmark setup offers");
	sender
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn offer() {
		let sender: T::AccountId = account("sender", 0, 0);
		fund::<T>(&sender);
		let root = H256::repeat_byte(1);
		T::BenchmarkHelper::anchor(&sender, root, 1);
		let receipts = T::MaxReceiptsPerLeaf::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(sender.clone()), root, T::MinBounty::get(), receipts);

		assert!(Bounties::<T>::contains_key(&sender, root));
	}

	/// The last share paid, to an operator account the payment creates: the bounty and
	/// its expiry entry removed.
	#[benchmark]
	fn pay() {
		let root = H256::repeat_byte(1);
		let sender = sender_with_bounty::<T>(0, root, 1);
		let operator: T::AccountId = account("operator", 0, 0);

		#[block]
		{
			<Pallet<T> as OnDelivered<T::AccountId>>::delivered(&sender, &root, &operator);
		}

		assert_eq!(T::Currency::balance(&operator), T::MinBounty::get());
		assert!(!Bounties::<T>::contains_key(&sender, root));
	}

	/// `n` bounties expiring at once.
	#[benchmark]
	fn expire(n: Linear<0, { T::MaxAnchorsPerBlock::get() }>) {
		let now = frame_system::Pallet::<T>::block_number();
		for i in 0..n {
			let mut root = [0u8; 32];
			root[..4].copy_from_slice(&i.to_le_bytes());
			sender_with_bounty::<T>(i, H256(root), 2);
		}
		let expires: BlockNumberFor<T> = now.saturating_add(T::Retention::get());

		#[block]
		{
			Pallet::<T>::on_initialize(expires);
		}

		assert_eq!(Bounties::<T>::iter().count(), 0);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
