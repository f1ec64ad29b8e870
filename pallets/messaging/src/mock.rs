//! A runtime for the messaging pallet with settable keys and groups.

use crate as pallet_quarks_messaging;
use frame_support::{derive_impl, parameter_types, traits::Hooks};
use quarks_primitives::{
	hosting::{HostInfo, HostInspect},
	DeviceInspect, DeviceKey, Epoch, GroupId, GroupInspect,
};
use sp_runtime::BuildStorage;
use std::{
	cell::RefCell,
	collections::{BTreeMap, BTreeSet},
};

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
	pub type Messaging = pallet_quarks_messaging;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// A group as the tests set it up: current members, usable epoch, members per epoch.
#[derive(Default, Clone)]
pub struct MockGroup {
	pub members: BTreeSet<u64>,
	pub usable: Option<Epoch>,
	pub epochs: BTreeMap<Epoch, BTreeSet<u64>>,
}

thread_local! {
	static SENDERS: RefCell<BTreeSet<u64>> = RefCell::new(BTreeSet::new());
	static GROUPS: RefCell<BTreeMap<GroupId, MockGroup>> = RefCell::new(BTreeMap::new());
	static HOST_COUNT: RefCell<u64> = const { RefCell::new(1) };
}

/// Accounts with devices, and groups, set by the tests.
pub struct World;
impl World {
	pub fn set_device(who: u64, bound: bool) {
		SENDERS
			.with(|s| if bound { s.borrow_mut().insert(who) } else { s.borrow_mut().remove(&who) });
	}

	pub fn set_group(id: GroupId, group: MockGroup) {
		GROUPS.with(|g| g.borrow_mut().insert(id, group));
	}

	/// Every account chose `count` hosts: [`HOST`] and the operators after it.
	pub fn set_hosts(count: u64) {
		HOST_COUNT.with(|c| *c.borrow_mut() = count);
	}

	/// How many hosts every account chose.
	pub fn hosts() -> u64 {
		HOST_COUNT.with(|c| *c.borrow())
	}

	fn group(id: GroupId) -> Option<MockGroup> {
		GROUPS.with(|g| g.borrow().get(&id).cloned())
	}
}
impl DeviceInspect<u64> for World {
	fn has_device(who: &u64) -> bool {
		SENDERS.with(|s| s.borrow().contains(who))
	}
	fn device_owner(_device: &DeviceKey) -> Option<u64> {
		None
	}
}
impl GroupInspect<u64> for World {
	fn is_member(group: GroupId, who: &u64) -> bool {
		Self::group(group).is_some_and(|g| g.members.contains(who))
	}
	fn usable_epoch(group: GroupId) -> Option<Epoch> {
		Self::group(group).and_then(|g| g.usable)
	}
	fn was_member(group: GroupId, epoch: Epoch, who: &u64) -> bool {
		Self::group(group).is_some_and(|g| g.epochs.get(&epoch).is_some_and(|m| m.contains(who)))
	}
	fn members_at(group: GroupId, epoch: Epoch) -> Vec<u64> {
		Self::group(group)
			.and_then(|g| g.epochs.get(&epoch).cloned())
			.map(|m| m.into_iter().collect())
			.unwrap_or_default()
	}
}
/// Every account chose the hosts from [`HOST`] on (one unless a test sets more); host
/// `HOST + i` listens at port `9950 + i`; other operators are unknown.
impl HostInspect<u64, u64> for World {
	fn host(operator: &u64) -> Option<HostInfo<u64>> {
		let index = operator.checked_sub(HOST).filter(|i| *i < HOST_COUNT.with(|c| *c.borrow()))?;
		Some(HostInfo {
			endpoint: host_endpoint(index).into_bytes(),
			retention: 10,
			capacity: 1 << 20,
			user_quota: 1 << 16,
		})
	}
	fn hosts_of(_user: &u64) -> Vec<u64> {
		(HOST..HOST + HOST_COUNT.with(|c| *c.borrow())).collect()
	}
}

/// Where the relay reaches host `HOST + index`.
pub fn host_endpoint(index: u64) -> String {
	format!("ws://127.0.0.1:{}", 9950 + index)
}

/// The first host in the mock, the only one unless a test sets more.
pub const HOST: u64 = 100;

parameter_types! {
	pub const MaxBatchSize: u32 = 8;
	pub const MaxReceiptBatch: u32 = 4;
	pub const MaxAnchorsPerBlock: u32 = 3;
	pub const MaxReceiptsPerBlock: u32 = 5;
	pub const Retention: u64 = 1000;
}

/// The deliveries receipts reported, as a bounties pallet would be told them.
pub struct Deliveries;

thread_local! {
	static DELIVERIES: RefCell<Vec<(u64, sp_core::H256, u64)>> = RefCell::default();
}

impl Deliveries {
	/// What was reported so far: sender, root, host operator.
	pub fn taken() -> Vec<(u64, sp_core::H256, u64)> {
		DELIVERIES.with(|d| d.take())
	}
}

impl quarks_primitives::OnDelivered<u64> for Deliveries {
	fn delivered(
		sender: &u64,
		root: &sp_core::H256,
		operator: &u64,
	) -> frame_support::weights::Weight {
		DELIVERIES.with(|d| d.borrow_mut().push((*sender, *root, *operator)));
		Self::weight()
	}
	fn weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::from_parts(1_000, 0)
	}
}

impl pallet_quarks_messaging::Config for Test {
	type Devices = World;
	type Groups = World;
	type Hosts = World;
	type OnDelivered = Deliveries;
	type MaxBatchSize = MaxBatchSize;
	type MaxReceiptBatch = MaxReceiptBatch;
	type MaxAnchorsPerBlock = MaxAnchorsPerBlock;
	type MaxReceiptsPerBlock = MaxReceiptsPerBlock;
	type Retention = Retention;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = World;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for World {
	fn setup_sender_and_recipient(sender: &u64, recipient: &u64) {
		World::set_device(*sender, true);
		World::set_device(*recipient, true);
	}
	fn choose_hosts(_user: &u64) -> u64 {
		// Every user chose every host here.
		World::set_hosts(3);
		HOST + 2
	}
}

/// Accounts 1..=9 have devices; group 7 has members 1, 2, 3 at usable epoch 2,
/// after epoch 1 of members 1, 2, 4.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.expect("mock genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		SENDERS.with(|s| s.borrow_mut().clear());
		GROUPS.with(|g| g.borrow_mut().clear());
		World::set_hosts(1);
		(1..=9).for_each(|who| World::set_device(who, true));
		World::set_group(
			7,
			MockGroup {
				members: [1, 2, 3].into(),
				usable: Some(2),
				epochs: [(1, [1, 2, 4].into()), (2, [1, 2, 3].into())].into(),
			},
		);
	});
	ext
}

/// Runs `test`, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Messaging::do_try_state().expect("invariants hold after the test");
	})
}

/// Advances to block `n`, running the pallet's `on_initialize` for every block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Messaging::on_initialize(next);
	}
}
