//! Tests of the keys pallet.

use crate::{mock::*, DeviceInspect, Error, Event};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::BuildStorage;

const ALICE: u64 = 1;
const BOB: u64 = 2;

#[test]
fn genesis_devices_are_bound_from_block_zero() {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("system genesis");
	crate::GenesisConfig::<Test> { devices: vec![(ALICE, [7; 32])] }
		.assimilate_storage(&mut storage)
		.expect("keys genesis");
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert!(Keys::device_at(ALICE, [7; 32], 0).is_some());
		assert!(Keys::has_device(&ALICE));
		assert!(!Keys::has_device(&BOB));
		assert_eq!(Keys::device_owner(&[7; 32]), Some(ALICE));
		assert!(Keys::key_package([7; 32]).is_none(), "its owner publishes one");
		Keys::do_try_state().expect("invariants hold");
	});
}

mod devices {
	use super::*;
	use crate::{DeviceOwner, DeviceProof, KeyPackageOf, KeyPackages, DEVICE_PROOF_TAG};
	use codec::Encode;
	use sp_core::{ed25519, Pair};

	fn device(seed: u8) -> ed25519::Pair {
		ed25519::Pair::from_seed(&[seed; 32])
	}

	fn proof(device: &ed25519::Pair, who: u64) -> DeviceProof {
		let mut message = DEVICE_PROOF_TAG.to_vec();
		who.encode_to(&mut message);
		device.sign(&message).0
	}

	fn package(byte: u8) -> KeyPackageOf<Test> {
		KeyPackageOf::<Test>::truncate_from(vec![byte; 40])
	}

	fn add(who: u64, seed: u8) -> [u8; 32] {
		let pair = device(seed);
		assert_ok!(Keys::add_device(
			RuntimeOrigin::signed(who),
			pair.public().0,
			proof(&pair, who),
			package(seed),
			100
		));
		pair.public().0
	}

	#[test]
	fn a_device_is_bound_with_its_own_proof_and_publishes_a_key_package() {
		build_and_execute(|| {
			let phone = add(ALICE, 1);
			System::assert_has_event(Event::DeviceAdded { who: ALICE, device: phone }.into());
			assert!(Keys::device_at(ALICE, phone, 1).is_some());
			assert!(Keys::device_at(BOB, phone, 1).is_none());
			assert_eq!(Keys::key_package(phone).map(|r| r.package), Some(package(1)));

			assert_ok!(Keys::publish_key_package(
				RuntimeOrigin::signed(ALICE),
				phone,
				package(9),
				200
			));
			assert_eq!(
				Keys::key_package(phone).map(|r| (r.package, r.expires_at)),
				Some((package(9), 200))
			);
			run_to_block(200);
			assert!(Keys::key_package(phone).is_none(), "an expired package is not offered");
		});
	}

	#[test]
	fn no_account_binds_a_key_it_does_not_hold_or_that_is_taken() {
		build_and_execute(|| {
			let pair = device(1);
			let key = pair.public().0;
			// Bob replays Alice's proof, or signs with another key.
			assert_noop!(
				Keys::add_device(
					RuntimeOrigin::signed(BOB),
					key,
					proof(&pair, ALICE),
					package(1),
					100
				),
				Error::<Test>::BadDeviceProof
			);
			assert_noop!(
				Keys::add_device(
					RuntimeOrigin::signed(BOB),
					key,
					proof(&device(2), BOB),
					package(1),
					100
				),
				Error::<Test>::BadDeviceProof
			);
			add(ALICE, 1);
			assert_noop!(
				Keys::add_device(
					RuntimeOrigin::signed(BOB),
					key,
					proof(&pair, BOB),
					package(1),
					100
				),
				Error::<Test>::DeviceKeyTaken
			);
			assert_noop!(
				Keys::add_device(
					RuntimeOrigin::signed(ALICE),
					key,
					proof(&pair, ALICE),
					package(1),
					100
				),
				Error::<Test>::DeviceKeyTaken
			);
		});
	}

	#[test]
	fn bad_key_packages_and_expiries_are_refused() {
		build_and_execute(|| {
			let pair = device(1);
			let call = |package: KeyPackageOf<Test>, expires_at| {
				Keys::add_device(
					RuntimeOrigin::signed(ALICE),
					pair.public().0,
					proof(&pair, ALICE),
					package,
					expires_at,
				)
			};
			assert_noop!(
				call(KeyPackageOf::<Test>::default(), 100),
				Error::<Test>::EmptyKeyPackage
			);
			assert_noop!(call(package(1), 1), Error::<Test>::ExpiryInPast);
			assert_noop!(call(package(1), 1_002), Error::<Test>::LifetimeTooLong);
			assert!(
				KeyPackageOf::<Test>::try_from(vec![0u8; 65]).is_err(),
				"a package over MaxKeyPackageLen does not even decode"
			);
			assert_noop!(
				Keys::publish_key_package(
					RuntimeOrigin::signed(ALICE),
					pair.public().0,
					package(1),
					100
				),
				Error::<Test>::NoSuchDevice
			);
		});
	}

	#[test]
	fn a_removed_device_stays_provable_for_its_past_until_its_record_may_go() {
		build_and_execute(|| {
			let phone = add(ALICE, 1);
			let laptop = add(ALICE, 2);
			run_to_block(10);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), laptop));
			System::assert_last_event(Event::DeviceRemoved { who: ALICE, device: laptop }.into());
			assert!(Keys::device_at(ALICE, laptop, 9).is_some(), "bound before its removal");
			assert!(Keys::device_at(ALICE, laptop, 10).is_none());
			assert!(KeyPackages::<Test>::get(laptop).is_none());
			assert_eq!(Keys::device_owner(&laptop), None, "a removed device is nobody's now");
			assert_eq!(Keys::device_owner(&phone), Some(ALICE));
			assert_eq!(Keys::devices(ALICE), vec![phone]);
			assert!(Keys::has_device(&ALICE));
			assert_noop!(
				Keys::remove_device(RuntimeOrigin::signed(ALICE), laptop),
				Error::<Test>::NoSuchDevice
			);
			assert_noop!(
				Keys::publish_key_package(RuntimeOrigin::signed(ALICE), laptop, package(1), 100),
				Error::<Test>::NoSuchDevice
			);

			// Records are full (2): the removed one goes only `KeptAfterEnd` (50) after.
			let tablet = device(3);
			let add_tablet = || {
				Keys::add_device(
					RuntimeOrigin::signed(ALICE),
					tablet.public().0,
					proof(&tablet, ALICE),
					package(3),
					100,
				)
			};
			run_to_block(59);
			assert_noop!(add_tablet(), Error::<Test>::TooManyDevices);
			run_to_block(60);
			assert_ok!(add_tablet());
			assert!(Keys::device_at(ALICE, laptop, 9).is_none(), "dropped after its keeping");
			assert_eq!(DeviceOwner::<Test>::get(laptop), None, "its key may be bound again");
			assert!(Keys::device_at(ALICE, phone, 60).is_some());
		});
	}

	#[test]
	fn an_account_without_a_bound_device_cannot_send() {
		build_and_execute(|| {
			assert!(!Keys::has_device(&ALICE));
			let phone = add(ALICE, 1);
			assert!(Keys::has_device(&ALICE));
			run_to_block(5);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), phone));
			assert!(!Keys::has_device(&ALICE), "its only device is unbound");
			assert!(Keys::devices(ALICE).is_empty());
			assert!(Keys::device_at(ALICE, phone, 4).is_some(), "its past stays provable");
		});
	}
}

mod deposits {
	use super::*;
	use crate::{Deposits, HoldReason, TicketOf};
	use codec::Encode;
	use frame_support::traits::{
		fungible::{InspectHold, MutateHold},
		Consideration,
	};
	use sp_core::{ed25519, Pair};
	use sp_runtime::traits::Convert;

	fn held(who: u64) -> u64 {
		Balances::balance_on_hold(&HoldReason::Devices.into(), &who)
	}

	/// What the mock charges for `who`'s records as they are now.
	fn deposit_for(who: u64) -> u64 {
		Deposit::convert(Keys::footprint(&crate::Devices::<Test>::get(who)))
	}

	fn add(who: u64, seed: u8) -> Result<[u8; 32], sp_runtime::DispatchError> {
		let pair = ed25519::Pair::from_seed(&[seed; 32]);
		let mut message = crate::DEVICE_PROOF_TAG.to_vec();
		who.encode_to(&mut message);
		Keys::add_device(
			RuntimeOrigin::signed(who),
			pair.public().0,
			pair.sign(&message).0,
			crate::KeyPackageOf::<Test>::truncate_from(vec![seed; 40]),
			100,
		)
		.map(|_| pair.public().0)
	}

	// In the mock a record keeps 137 bytes (49 its own, 88 its owner entry), a key package
	// at its longest 154 and the account's two entries 125; a deposit is 10 and 1 a byte.
	const ONE_BOUND: u64 = 10 + 137 + 154 + 125;
	const ONE_REMOVED: u64 = 10 + 137 + 125;

	#[test]
	fn binding_a_device_holds_its_deposit_from_the_account() {
		build_and_execute(|| {
			add(ALICE, 1).expect("binds");
			assert_eq!(held(ALICE), ONE_BOUND);
			assert_eq!(deposit_for(ALICE), ONE_BOUND);
			assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - ONE_BOUND);
			assert_eq!(held(BOB), 0, "nobody else pays");
		});
	}

	#[test]
	fn removing_a_device_returns_its_key_packages_part_and_publishing_costs_nothing() {
		build_and_execute(|| {
			let phone = add(ALICE, 1).expect("binds");
			let pkg = crate::KeyPackageOf::<Test>::truncate_from(vec![9; 64]);
			assert_ok!(Keys::publish_key_package(RuntimeOrigin::signed(ALICE), phone, pkg, 200));
			assert_eq!(held(ALICE), ONE_BOUND, "the longest package was paid for already");
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), phone));
			assert_eq!(held(ALICE), ONE_REMOVED, "the record stays, for anchors");
			assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - ONE_REMOVED);
		});
	}

	#[test]
	fn a_dropped_record_returns_its_part() {
		build_and_execute(|| {
			add(ALICE, 1).expect("binds");
			let laptop = add(ALICE, 2).expect("binds");
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), laptop));
			run_to_block(60);
			add(ALICE, 3).expect("takes the dropped record's place");
			assert_eq!(held(ALICE), 10 + 2 * 137 + 2 * 154 + 125);
			assert_eq!(held(ALICE), deposit_for(ALICE));
		});
	}

	#[test]
	fn a_record_past_its_keeping_goes_at_the_next_removal_too() {
		build_and_execute(|| {
			let phone = add(ALICE, 1).expect("binds");
			let laptop = add(ALICE, 2).expect("binds");
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), laptop));
			run_to_block(51);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), phone));
			assert!(Keys::device_at(ALICE, laptop, 1).is_none(), "kept 50 blocks, then dropped");
			assert!(crate::DeviceOwner::<Test>::get(laptop).is_none());
			assert_eq!(held(ALICE), ONE_REMOVED, "only the phone's record is paid for");
		});
	}

	#[test]
	fn a_removal_never_takes_more_than_was_held() {
		build_and_execute(|| {
			let phone = add(ALICE, 1).expect("binds");
			// As if the price rose after the binding: Alice holds less than her records'.
			let paid = Deposits::<Test>::take(ALICE).expect("held");
			assert_ok!(paid.drop(&ALICE));
			let cheap = <TicketOf<Test> as Consideration<u64, _>>::new(
				&ALICE,
				frame_support::traits::Footprint::from_parts(1, 100),
			)
			.expect("alice can pay");
			Deposits::<Test>::insert(ALICE, cheap);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), phone));
			assert_eq!(held(ALICE), 110, "nothing more taken to unbind");
			assert!(ONE_REMOVED > 110);
		});
	}

	#[test]
	fn dropping_records_kept_long_enough_returns_the_deposit_at_last_in_full() {
		build_and_execute(|| {
			let phone = add(ALICE, 1).expect("binds");
			let laptop = add(ALICE, 2).expect("binds");
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), laptop));
			run_to_block(30);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), phone));
			assert_noop!(
				Keys::drop_records(RuntimeOrigin::signed(ALICE)),
				Error::<Test>::NothingToDrop
			);
			run_to_block(51);
			assert_ok!(Keys::drop_records(RuntimeOrigin::signed(ALICE)));
			System::assert_last_event(Event::RecordsDropped { who: ALICE, count: 1 }.into());
			assert_eq!(held(ALICE), ONE_REMOVED, "the phone's record is kept till block 80");
			run_to_block(80);
			assert_ok!(Keys::drop_records(RuntimeOrigin::signed(ALICE)));
			assert_eq!(held(ALICE), 0);
			assert_eq!(Balances::free_balance(ALICE), ENDOWMENT);
			assert!(crate::Devices::<Test>::get(ALICE).is_empty());
			assert!(Deposits::<Test>::get(ALICE).is_none());
			assert!(crate::DeviceOwner::<Test>::get(phone).is_none());
		});
	}

	#[test]
	fn an_account_that_cannot_pay_binds_nothing() {
		build_and_execute(|| {
			assert_noop!(add(POOR, 1), Error::<Test>::CannotPayDeposit);
		});
	}

	#[test]
	fn a_device_bound_before_deposits_is_removed_free_and_the_next_one_pays_for_all() {
		let mut storage =
			frame_system::GenesisConfig::<Test>::default().build_storage().expect("system");
		pallet_balances::GenesisConfig::<Test> {
			balances: vec![(ALICE, ENDOWMENT)],
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
		crate::GenesisConfig::<Test> { devices: vec![(ALICE, [7; 32])] }
			.assimilate_storage(&mut storage)
			.expect("keys genesis");
		sp_io::TestExternalities::new(storage).execute_with(|| {
			System::set_block_number(1);
			assert_ok!(Keys::remove_device(RuntimeOrigin::signed(ALICE), [7; 32]));
			assert_eq!(held(ALICE), 0);
			assert!(Deposits::<Test>::get(ALICE).is_none());
			add(ALICE, 1).expect("binds");
			assert_eq!(held(ALICE), 10 + 2 * 137 + 154 + 125, "the kept record is paid for too");
			Keys::do_try_state().expect("invariants hold");
		});
	}

	#[test]
	fn a_ticket_encodes_as_its_amount() {
		build_and_execute(|| {
			add(ALICE, 1).expect("binds");
			let ticket: TicketOf<Test> = Deposits::<Test>::get(ALICE).expect("held");
			assert_eq!(ticket.encode(), ONE_BOUND.encode());
			assert_eq!(quarks_primitives::deposit::held::<u64>(&ticket), ONE_BOUND);
		});
	}

	#[test]
	fn try_state_finds_a_hold_that_is_not_the_deposit() {
		new_test_ext().execute_with(|| {
			add(ALICE, 1).expect("binds");
			Keys::do_try_state().expect("holds match");
			assert_ok!(Balances::hold(&HoldReason::Devices.into(), &ALICE, 5));
			assert!(Keys::do_try_state().is_err());
		});
	}

	#[test]
	fn try_state_finds_a_deposit_without_devices() {
		new_test_ext().execute_with(|| {
			let ticket = <TicketOf<Test> as Consideration<u64, _>>::new(&BOB, Keys::footprint(&[]))
				.expect("bob can pay");
			Deposits::<Test>::insert(BOB, ticket);
			assert!(Keys::do_try_state().is_err());
		});
	}
}

mod migrations {
	use super::*;
	use crate::{migrations::v1::MigrateV0ToV1, Deposits, HoldReason};
	use frame_support::traits::{
		fungible::InspectHold, ConstU64, GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
	};

	/// What an account must keep spendable after paying at the migration.
	type KeepFree = ConstU64<100>;
	type Migration = MigrateV0ToV1<Test, KeepFree>;
	/// One bound device's deposit in the mock (see `deposits`).
	const ONE_BOUND: u64 = 10 + 137 + 154 + 125;
	/// Could pay, but would keep 49 spendable (the existential deposit is 1), under 100.
	const SCRAPING: u64 = 3;
	/// Would keep 100 spendable: pays.
	const COMFORTABLE: u64 = 4;

	fn held(who: u64) -> u64 {
		Balances::balance_on_hold(&HoldReason::Devices.into(), &who)
	}

	/// A chain at version 0 whose devices were bound without deposits: Alice's two, Bob's
	/// one (Bob already paid, for a device added after deposits), [`POOR`]'s, and one of
	/// each of [`SCRAPING`] and [`COMFORTABLE`].
	fn chain_from_before_deposits() -> sp_io::TestExternalities {
		let mut storage =
			frame_system::GenesisConfig::<Test>::default().build_storage().expect("system");
		pallet_balances::GenesisConfig::<Test> {
			balances: vec![
				(ALICE, ENDOWMENT),
				(BOB, ENDOWMENT),
				(POOR, 20),
				(SCRAPING, ONE_BOUND + 50),
				(COMFORTABLE, ONE_BOUND + 101),
			],
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
		crate::GenesisConfig::<Test> {
			devices: vec![
				(ALICE, [1; 32]),
				(ALICE, [2; 32]),
				(BOB, [3; 32]),
				(POOR, [4; 32]),
				(SCRAPING, [5; 32]),
				(COMFORTABLE, [6; 32]),
			],
		}
		.assimilate_storage(&mut storage)
		.expect("keys genesis");
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			System::set_block_number(1);
			let bob = <crate::TicketOf<Test> as frame_support::traits::Consideration<u64, _>>::new(
				&BOB,
				Keys::footprint(&crate::Devices::<Test>::get(BOB)),
			)
			.expect("bob pays");
			Deposits::<Test>::insert(BOB, bob);
			StorageVersion::new(0).put::<Keys>();
		});
		ext
	}

	#[test]
	fn devices_bound_before_deposits_pay_for_them_at_version_1() {
		chain_from_before_deposits().execute_with(|| {
			let bob = held(BOB);
			assert_eq!(held(ALICE), 0);

			Migration::on_runtime_upgrade();
			assert_eq!(Keys::on_chain_storage_version(), 1);
			let two_bound = ONE_BOUND + 137 + 154;
			assert_eq!(held(ALICE), two_bound, "both records and packages");
			assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - two_bound);
			assert_eq!(held(COMFORTABLE), ONE_BOUND);
			assert_eq!(held(BOB), bob, "a deposit already held is not taken twice");
			// Those who cannot pay, or would keep too little for the fees of giving their
			// state back, keep their devices, unpaid.
			for who in [POOR, SCRAPING] {
				assert_eq!((held(who), Deposits::<Test>::get(who)), (0, None));
				assert_eq!(Keys::devices(who).len(), 1);
			}
			assert_eq!(Balances::free_balance(SCRAPING), ONE_BOUND + 50);
			Keys::do_try_state().expect("every hold is its deposit");

			// Once at version 1 it does nothing.
			Migration::on_runtime_upgrade();
			assert_eq!(held(ALICE), two_bound);
		});
	}

	/// The checks `try-runtime` runs around the migration (`scripts/test.sh` runs this
	/// module with the feature): they pass, and each catches what it is for.
	#[cfg(feature = "try-runtime")]
	#[test]
	fn the_upgrade_checks_pass_and_catch_a_skipped_or_wrong_payment() {
		use crate::migrations::v1::InnerMigrateV0ToV1;
		use frame_support::traits::{fungible::MutateHold, UncheckedOnRuntimeUpgrade};
		use sp_runtime::DispatchError::Other;
		type Inner = InnerMigrateV0ToV1<Test, KeepFree>;
		chain_from_before_deposits().execute_with(|| {
			Migration::try_on_runtime_upgrade(true).expect("checked as try-runtime does");
		});
		// Alice's deposit given back, as if the migration had skipped her.
		chain_from_before_deposits().execute_with(|| {
			let state = Inner::pre_upgrade().expect("pre");
			Inner::on_runtime_upgrade();
			let ticket = Deposits::<Test>::take(ALICE).expect("held");
			frame_support::traits::Consideration::drop(ticket, &ALICE).expect("released");
			let skipped = Other("an account that could pay its deposit holds none");
			assert_eq!(Inner::post_upgrade(state), Err(skipped));
		});
		// More taken from Alice than her deposit holds.
		chain_from_before_deposits().execute_with(|| {
			let state = Inner::pre_upgrade().expect("pre");
			Inner::on_runtime_upgrade();
			assert_ok!(Balances::hold(&HoldReason::Devices.into(), &ALICE, 5));
			let wrong = Other("an account paid other than it holds");
			assert_eq!(Inner::post_upgrade(state), Err(wrong));
		});
	}
}
