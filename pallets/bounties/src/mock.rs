//! A minimal runtime for the bounties pallet, with anchors kept in a test table.

use crate as pallet_quarks_bounties;
use frame_support::{derive_impl, parameter_types};
use quarks_primitives::{AnchorInspect, AnchorRecord};
use sp_core::H256;
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
	pub type Bounties = pallet_quarks_bounties;
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

/// Accounts 1 to 99 start with this much; [`POOR`] with little.
pub const ENDOWMENT: u64 = 1_000_000;
/// An account that cannot hold much.
pub const POOR: u64 = 999;
/// Blocks an anchor (so a bounty) is kept.
pub const RETENTION: u64 = 10;

parameter_types! {
	pub const Retention: u64 = RETENTION;
	pub const MaxAnchorsPerBlock: u32 = 8;
	pub const MaxReceiptsPerLeaf: u32 = 4;
	pub const MinBounty: u64 = 5;
}

thread_local! {
	static ANCHORS: RefCell<BTreeMap<(u64, H256), AnchorRecord<u64>>> = RefCell::default();
}

/// The anchors the tests record, as the messaging pallet would keep them.
pub struct TestAnchors;

impl TestAnchors {
	/// Records `sender`'s anchor of `count` leaves under `root` at the current block.
	pub fn record(sender: u64, root: H256, count: u32) {
		let anchored_at = System::block_number();
		ANCHORS
			.with(|a| a.borrow_mut().insert((sender, root), AnchorRecord { count, anchored_at }));
	}

	/// Forgets what was recorded `RETENTION` blocks before `now`, as pruning does.
	pub fn prune(now: u64) {
		ANCHORS.with(|a| a.borrow_mut().retain(|_, r| r.anchored_at + RETENTION > now));
	}
}

impl AnchorInspect<u64, u64> for TestAnchors {
	fn anchor(sender: &u64, root: &H256) -> Option<AnchorRecord<u64>> {
		ANCHORS.with(|a| a.borrow().get(&(*sender, *root)).cloned())
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for TestAnchors {
	fn anchor(sender: &u64, root: H256, count: u32) {
		Self::record(*sender, root, count);
	}
}

impl pallet_quarks_bounties::Config for Test {
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Anchors = TestAnchors;
	type Retention = Retention;
	type MaxAnchorsPerBlock = MaxAnchorsPerBlock;
	type MaxReceiptsPerLeaf = MaxReceiptsPerLeaf;
	type MinBounty = MinBounty;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TestAnchors;
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	ANCHORS.with(|a| a.borrow_mut().clear());
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
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test`, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Bounties::do_try_state().expect("invariants hold after the test");
	})
}

/// Moves to block `n`, running the pallet's `on_initialize` (anchors pruned first, as the
/// messaging pallet, before this one in the runtime, does).
pub fn run_to(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		TestAnchors::prune(next);
		Bounties::on_initialize(next);
	}
}
