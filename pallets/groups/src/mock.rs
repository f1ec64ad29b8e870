//! A runtime for the groups pallet with a settable key registry.

use crate as pallet_quarks_groups;
use frame_support::{derive_impl, parameter_types};
use quarks_primitives::{KeyInspect, KeyVersion};
use sp_runtime::BuildStorage;
use std::{cell::RefCell, collections::BTreeMap};

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Groups = pallet_quarks_groups;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

thread_local! {
	static KEYS: RefCell<BTreeMap<u64, KeyVersion>> = RefCell::new(BTreeMap::new());
}

/// Accounts' valid key versions, set by the tests.
pub struct MockKeys;
impl MockKeys {
	pub fn set(who: u64, version: Option<KeyVersion>) {
		KEYS.with(|k| match version {
			Some(v) => k.borrow_mut().insert(who, v),
			None => k.borrow_mut().remove(&who),
		});
	}
}
impl KeyInspect<u64, u64> for MockKeys {
	fn valid_key(who: &u64) -> Option<KeyVersion> {
		KEYS.with(|k| k.borrow().get(who).copied())
	}
}

parameter_types! {
	pub const MaxMembers: u32 = 4;
}

impl pallet_quarks_groups::Config for Test {
	type Keys = MockKeys;
	type MaxMembers = MaxMembers;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = MockKeys;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for MockKeys {
	fn ensure_valid_key(who: &u64) -> KeyVersion {
		MockKeys::set(*who, Some(1));
		1
	}
}

/// Accounts 1..=9 have valid key version 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.expect("mock genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		KEYS.with(|k| k.borrow_mut().clear());
		(1..=9).for_each(|who| MockKeys::set(who, Some(1)));
	});
	ext
}

/// Runs `test`, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Groups::do_try_state().expect("invariants hold after the test");
	})
}
