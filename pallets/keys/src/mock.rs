//! A minimal runtime for the keys pallet.

use crate as pallet_quarks_keys;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::HoldConsideration, ConstU64, LinearStoragePrice},
};
use sp_runtime::BuildStorage;

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
	pub type Keys = pallet_quarks_keys;
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

/// Every account the tests use starts with this much; [`POOR`] with too little to hold a
/// deposit.
pub const ENDOWMENT: u64 = 1_000_000;
/// An account that can pay fees but not a device's deposit.
pub const POOR: u64 = 99;
/// 10 per deposit and 1 per byte.
pub type Deposit = LinearStoragePrice<ConstU64<10>, ConstU64<1>, u64>;

parameter_types! {
	pub const MaxKeyLifetime: u64 = 1_000;
	pub const KeptAfterEnd: u64 = 50;
	pub const MaxDevices: u32 = 2;
	pub const MaxKeyPackageLen: u32 = 64;
	pub const DevicesHold: RuntimeHoldReason =
		RuntimeHoldReason::Keys(pallet_quarks_keys::HoldReason::Devices);
}

impl pallet_quarks_keys::Config for Test {
	type MaxKeyLifetime = MaxKeyLifetime;
	type KeptAfterEnd = KeptAfterEnd;
	type MaxDevices = MaxDevices;
	type MaxKeyPackageLen = MaxKeyPackageLen;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<u64, Balances, DevicesHold, Deposit>;
	type WeightInfo = ();
}

/// Runs `test` at block 1, then checks the pallet's invariants.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.expect("mock genesis builds");
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=9).map(|who| (who, ENDOWMENT)).chain([(POOR, 20)]).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	// The benchmarks make device keys in a keystore, as the benchmark CLI provides one.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Keys::do_try_state().expect("invariants hold after the test");
	})
}

pub fn run_to_block(n: u64) {
	System::set_block_number(n);
}
