//! A runtime for the groups pallet with a settable device registry.

use crate as pallet_quarks_groups;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::HoldConsideration, ConstU64, LinearStoragePrice},
};
use quarks_primitives::{DeviceInspect, DeviceKey};
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
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
}

/// Accounts 1 to 99 start with this much; [`POOR`] with too little to hold a deposit.
pub const ENDOWMENT: u64 = 1_000_000;
/// An account that cannot hold a group's deposit.
pub const POOR: u64 = 999;
/// 10 per deposit and 1 per byte.
pub type Deposit = LinearStoragePrice<ConstU64<10>, ConstU64<1>, u64>;

thread_local! {
	static DEVICES: RefCell<BTreeMap<DeviceKey, u64>> = RefCell::new(BTreeMap::new());
}

/// Accounts' bound devices, set by the tests.
pub struct MockDevices;
impl MockDevices {
	/// Binds `device` to `who`, or with `None` unbinds it.
	pub fn bind(device: DeviceKey, who: Option<u64>) {
		DEVICES.with(|d| match who {
			Some(who) => d.borrow_mut().insert(device, who),
			None => d.borrow_mut().remove(&device),
		});
	}
}
impl DeviceInspect<u64> for MockDevices {
	fn has_device(who: &u64) -> bool {
		DEVICES.with(|d| d.borrow().values().any(|owner| owner == who))
	}
	fn device_owner(device: &DeviceKey) -> Option<u64> {
		DEVICES.with(|d| d.borrow().get(device).copied())
	}
}

parameter_types! {
	pub const MaxMembers: u32 = 4;
	pub const MaxLeaves: u32 = 6;
	pub const MaxCommitBytes: u32 = 32;
	pub const MaxKeptCommits: u32 = 4;
	pub const CommitRetention: u64 = 100;
	pub const MinUpdateInterval: u64 = 5;
	pub const GroupHold: RuntimeHoldReason =
		RuntimeHoldReason::Groups(pallet_quarks_groups::HoldReason::Group);
}

impl pallet_quarks_groups::Config for Test {
	type Devices = MockDevices;
	type MaxMembers = MaxMembers;
	type MaxLeaves = MaxLeaves;
	type MaxCommitBytes = MaxCommitBytes;
	type MaxKeptCommits = MaxKeptCommits;
	type CommitRetention = CommitRetention;
	type MinUpdateInterval = MinUpdateInterval;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<u64, Balances, GroupHold, Deposit>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = MockDevices;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for MockDevices {
	fn bind_device(who: &u64, device: DeviceKey) {
		MockDevices::bind(device, Some(*who));
	}
}

/// At block 1, with no device bound.
pub fn new_test_ext() -> sp_io::TestExternalities {
	// The whole runtime's genesis, so pallets start at their storage versions.
	let storage = RuntimeGenesisConfig {
		balances: pallet_balances::GenesisConfig {
			balances: (1..100).map(|who| (who, ENDOWMENT)).chain([(POOR, 20)]).collect(),
			..Default::default()
		},
		..Default::default()
	}
	.build_storage()
	.expect("mock genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		DEVICES.with(|d| d.borrow_mut().clear());
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
