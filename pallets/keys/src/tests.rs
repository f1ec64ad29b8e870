//! Tests of the keys pallet.

use crate::{mock::*, Error, Event, KeyInspect, Keys as KeysStorage};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::{BuildStorage, DispatchError};

const ALICE: u64 = 1;
const BOB: u64 = 2;

fn publish(who: u64, n: u8, expires_at: u64) {
	assert_ok!(Keys::publish_key(RuntimeOrigin::signed(who), key(n), expires_at));
}

#[test]
fn first_key_is_version_one_and_valid_until_expiry() {
	build_and_execute(|| {
		publish(ALICE, 1, 100);

		let current = Keys::current_key(ALICE).expect("a valid key");
		assert_eq!((current.version, current.key, current.valid_from), (1, key(1), 1));
		assert_eq!(Keys::valid_key(&ALICE), Some(1));
		System::assert_last_event(
			Event::KeyPublished {
				who: ALICE,
				version: 1,
				key: key(1),
				valid_from: 1,
				expires_at: 100,
			}
			.into(),
		);

		run_to_block(99);
		assert_eq!(Keys::valid_key(&ALICE), Some(1));
		run_to_block(100);
		assert_eq!(Keys::current_key(ALICE), None, "expired at its expiry block");
		assert_eq!(Keys::key_at(ALICE, 50).map(|r| r.version), Some(1));
	});
}

#[test]
fn rotation_adds_a_version_and_ends_the_previous_one() {
	build_and_execute(|| {
		publish(ALICE, 1, 500);
		run_to_block(10);
		publish(ALICE, 2, 500);

		assert_eq!(Keys::valid_key(&ALICE), Some(2));
		// The question an auditor asks: which key was valid at block N?
		assert_eq!(Keys::key_at(ALICE, 9).map(|r| r.key), Some(key(1)));
		assert_eq!(Keys::key_at(ALICE, 10).map(|r| r.key), Some(key(2)));
		assert_eq!(Keys::key_at(ALICE, 0), None, "nothing before the first key");
		assert_eq!(KeysStorage::<Test>::get(ALICE)[0].valid_until, 10);
	});
}

#[test]
fn revocation_ends_the_valid_version_now() {
	build_and_execute(|| {
		publish(ALICE, 1, 500);
		run_to_block(20);
		assert_ok!(Keys::revoke_key(RuntimeOrigin::signed(ALICE), 1));

		assert_eq!(Keys::valid_key(&ALICE), None);
		assert_eq!(Keys::key_at(ALICE, 19).map(|r| r.version), Some(1));
		let record = &KeysStorage::<Test>::get(ALICE)[0];
		assert!(record.revoked);
		assert_eq!(record.valid_until, 20);
		System::assert_last_event(Event::KeyRevoked { who: ALICE, version: 1 }.into());

		// A new key after a revocation continues the version sequence.
		publish(ALICE, 2, 500);
		assert_eq!(Keys::valid_key(&ALICE), Some(2));
	});
}

#[test]
fn keys_are_per_account() {
	build_and_execute(|| {
		publish(ALICE, 1, 500);
		assert_eq!(Keys::valid_key(&BOB), None);
		publish(BOB, 1, 500);
		assert_eq!(Keys::valid_key(&BOB), Some(1));
	});
}

#[test]
fn bad_publications_are_rejected() {
	build_and_execute(|| {
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::signed(ALICE), [0u8; 32], 100),
			Error::<Test>::InvalidKey
		);
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::signed(ALICE), key(1), 1),
			Error::<Test>::ExpiryInPast
		);
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::signed(ALICE), key(1), 1 + MaxKeyLifetime::get() + 1),
			Error::<Test>::LifetimeTooLong
		);
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::none(), key(1), 100),
			DispatchError::BadOrigin
		);
		publish(ALICE, 1, 100);
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::signed(ALICE), key(1), 200),
			Error::<Test>::KeyReused
		);
	});
}

#[test]
fn maximum_lifetime_is_accepted() {
	build_and_execute(|| {
		publish(ALICE, 1, 1 + MaxKeyLifetime::get());
	});
}

#[test]
fn full_history_drops_the_oldest_ended_version() {
	build_and_execute(|| {
		for n in 1..=MaxKeyVersions::get() as u8 {
			run_to_block(n as u64 * 10);
			publish(ALICE, n, 900);
		}
		run_to_block(100);
		publish(ALICE, 9, 900);

		let versions: Vec<_> = KeysStorage::<Test>::get(ALICE).iter().map(|r| r.version).collect();
		assert_eq!(versions, vec![2, 3, 4]);
		assert_eq!(Keys::key_at(ALICE, 10), None, "version 1 is no longer kept");
	});
}

#[test]
fn a_version_an_unpruned_anchor_may_need_is_kept() {
	build_and_execute(|| {
		// Versions 1..=3 at blocks 10, 20, 30: version 1 ended at 20.
		for n in 1..=MaxKeyVersions::get() as u8 {
			run_to_block(n as u64 * 10);
			publish(ALICE, n, 900);
		}
		// Rotating again would erase what an anchor made in blocks 10..20 is checked
		// against, while such anchors may still be in state.
		for at in [40, 20 + KeptAfterEnd::get() - 1] {
			run_to_block(at);
			assert_noop!(
				Keys::publish_key(RuntimeOrigin::signed(ALICE), key(9), 900),
				Error::<Test>::TooManyKeyVersions
			);
		}
		run_to_block(20 + KeptAfterEnd::get());
		publish(ALICE, 9, 900);
		assert_eq!(Keys::key_at(ALICE, 15), None, "version 1 is dropped once no anchor needs it");
	});
}

#[test]
fn low_order_keys_are_refused() {
	build_and_execute(|| {
		for point in quarks_primitives::LOW_ORDER_X25519 {
			let mut high = point;
			high[31] |= 0x80;
			for key in [point, high] {
				assert_noop!(
					Keys::publish_key(RuntimeOrigin::signed(ALICE), key, 900),
					Error::<Test>::InvalidKey
				);
			}
		}
	});
}

#[test]
fn full_history_whose_oldest_is_valid_is_refused() {
	build_and_execute(|| {
		// Publishing always ends the previous version, so a full history's oldest entry is
		// only still valid after a runtime upgrade shrank `MaxKeyVersions`; build that state.
		publish(ALICE, 1, 900);
		KeysStorage::<Test>::mutate(ALICE, |h| {
			let first = h[0].clone();
			let mut second = first.clone();
			second.version = 2;
			second.key = key(2);
			second.valid_from = 900;
			second.valid_until = 900;
			second.expires_at = 900;
			let mut third = second.clone();
			third.version = 3;
			third.key = key(3);
			h.try_push(second).expect("room");
			h.try_push(third).expect("room");
		});
		assert_noop!(
			Keys::publish_key(RuntimeOrigin::signed(ALICE), key(4), 900),
			Error::<Test>::TooManyKeyVersions
		);
	});
}

#[test]
fn bad_revocations_are_rejected() {
	build_and_execute(|| {
		assert_noop!(Keys::revoke_key(RuntimeOrigin::signed(ALICE), 1), Error::<Test>::NoValidKey);
		publish(ALICE, 1, 100);
		publish(ALICE, 2, 100);
		assert_noop!(
			Keys::revoke_key(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::NotValidVersion
		);
		run_to_block(100);
		assert_noop!(Keys::revoke_key(RuntimeOrigin::signed(ALICE), 2), Error::<Test>::NoValidKey);
	});
}

#[test]
fn genesis_keys_are_version_one_from_block_zero() {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("system genesis");
	crate::GenesisConfig::<Test> { keys: vec![(ALICE, key(1), 500)] }
		.assimilate_storage(&mut storage)
		.expect("keys genesis");
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(Keys::key_at(ALICE, 0).map(|r| (r.version, r.key)), Some((1, key(1))));
		assert_eq!(Keys::valid_key(&ALICE), Some(1));
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
}
