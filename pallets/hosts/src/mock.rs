//! A minimal runtime for the hosts pallet.

use crate as pallet_quarks_hosts;
use frame_support::{
	derive_impl, parameter_types,
	traits::{fungible::HoldConsideration, ConstU64, LinearStoragePrice},
};
use frame_system::EnsureRoot;
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
	pub type Hosts = pallet_quarks_hosts;
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
/// An account that cannot hold a choice's deposit.
pub const POOR: u64 = 999;
/// 10 per deposit and 1 per byte.
pub type Deposit = LinearStoragePrice<ConstU64<10>, ConstU64<1>, u64>;

parameter_types! {
	pub const MaxEndpointLen: u32 = 64;
	pub const MaxHostsPerUser: u32 = 3;
	pub const MaxRetention: u64 = 10_000;
	pub const ChoiceHold: RuntimeHoldReason =
		RuntimeHoldReason::Hosts(pallet_quarks_hosts::HoldReason::Choice);
}

impl pallet_quarks_hosts::Config for Test {
	type AdminOrigin = EnsureRoot<u64>;
	type MaxEndpointLen = MaxEndpointLen;
	type MaxHostsPerUser = MaxHostsPerUser;
	type MaxRetention = MaxRetention;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<u64, Balances, ChoiceHold, Deposit>;
	type WeightInfo = ();
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.expect("mock genesis builds");
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..100).map(|who| (who, ENDOWMENT)).chain([(POOR, 20)]).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("balances genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		// The tests' hosts are on 127.0.0.1, as on the development chains.
		crate::AllowPrivateEndpoints::<Test>::put(true);
	});
	ext
}

/// Runs `test`, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Hosts::do_try_state().expect("invariants hold after the test");
	})
}
