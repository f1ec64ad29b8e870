//! Tests of the hosts pallet.

use crate::{mock::*, Choices, Error, Event, HostRecord, Hosts as HostsStorage};
use frame_support::{assert_noop, assert_ok};
use sp_runtime::{BuildStorage, DispatchError};

const H1: u64 = 101;
const H2: u64 = 102;
const H3: u64 = 103;
const H4: u64 = 104;
const USER: u64 = 1;

fn admit(operator: u64) {
	assert_ok!(Hosts::admit_host(
		RuntimeOrigin::root(),
		operator,
		format!("ws://127.0.0.1:{}", 9000 + operator).into_bytes(),
		100,
		1 << 30,
		1 << 20,
	));
}

#[test]
fn admit_stores_the_record() {
	build_and_execute(|| {
		admit(H1);
		let record = Hosts::host(H1).expect("admitted");
		assert_eq!(record.endpoint.to_vec(), b"ws://127.0.0.1:9101".to_vec());
		assert_eq!((record.retention, record.capacity, record.user_quota), (100, 1 << 30, 1 << 20));
		System::assert_last_event(Event::HostAdmitted { operator: H1, record }.into());
	});
}

#[test]
fn admission_needs_the_admin_origin() {
	build_and_execute(|| {
		assert_noop!(
			Hosts::admit_host(RuntimeOrigin::signed(H1), H1, b"ws://h".to_vec(), 1, 1, 1),
			DispatchError::BadOrigin
		);
		admit(H1);
		assert_noop!(Hosts::remove_host(RuntimeOrigin::signed(H1), H1), DispatchError::BadOrigin);
	});
}

#[test]
fn invalid_records_are_rejected() {
	build_and_execute(|| {
		let admit = |endpoint: &[u8], retention, capacity, quota| {
			Hosts::admit_host(
				RuntimeOrigin::root(),
				H1,
				endpoint.to_vec(),
				retention,
				capacity,
				quota,
			)
		};
		assert_noop!(admit(&[b'w'; 65], 1, 1, 1), Error::<Test>::EndpointTooLong);
		assert_noop!(admit(b"ftp://host", 1, 1, 1), Error::<Test>::InvalidEndpoint);
		assert_noop!(admit(b"ws://", 1, 1, 1), Error::<Test>::InvalidEndpoint);
		assert_noop!(admit(b"ws://a b", 1, 1, 1), Error::<Test>::InvalidEndpoint);
		assert_noop!(admit(b"wss://h", 0, 1, 1), Error::<Test>::ZeroRetention);
		assert_noop!(
			admit(b"wss://h", MaxRetention::get() + 1, 1, 1),
			Error::<Test>::RetentionTooLong
		);
		assert_noop!(admit(b"https://h", 1, 0, 0), Error::<Test>::InvalidQuota);
		assert_noop!(admit(b"https://h", 1, 10, 11), Error::<Test>::InvalidQuota);
		assert_ok!(admit(b"http://h", MaxRetention::get(), 10, 10));
		assert_noop!(admit(b"http://h", 1, 10, 10), Error::<Test>::AlreadyHost);
	});
}

/// Issue 26, item 10: on a network that does not allow private endpoints, no record
/// names a loopback, private or link-local address, or localhost: a host operator cannot
/// aim every node's pushes at services behind it.
#[test]
fn private_endpoints_only_where_the_network_allows_them() {
	build_and_execute(|| {
		crate::AllowPrivateEndpoints::<Test>::put(false);
		let admit = |endpoint: &str| {
			Hosts::admit_host(RuntimeOrigin::root(), H1, endpoint.as_bytes().to_vec(), 1, 10, 10)
		};
		for private in [
			"ws://127.0.0.1:9944",
			"http://10.1.2.3",
			"https://192.168.0.1:443/rpc",
			"wss://172.16.5.4",
			"ws://169.254.169.254/latest",
			"ws://100.64.0.1",
			"ws://0.0.0.0:80",
			"ws://localhost:9944",
			"ws://rpc.localhost",
			"wss://[::1]:9944",
			"wss://[fd00::1]",
			"wss://[fe80::1]",
			"wss://[::ffff:127.0.0.1]",
			"wss://[2002:7f00:1::]",
		] {
			assert_noop!(admit(private), Error::<Test>::PrivateEndpoint);
		}
		// Parsers disagree on the host of these, so no one may check what nodes connect to.
		for ambiguous in ["ws://user@127.0.0.1:1", "http://127.0.0.1:6379\\@mail.example.org/"] {
			assert_noop!(admit(ambiguous), Error::<Test>::InvalidEndpoint);
		}
		for public in
			["wss://host.example.org:443/rpc", "ws://8.8.8.8:9944", "wss://[2001:4860::8888]"]
		{
			assert_ok!(admit(public));
			assert_ok!(Hosts::remove_host(RuntimeOrigin::root(), H1));
		}
		assert_ok!(admit("wss://host.example.org"));
		assert_noop!(
			Hosts::update_host(RuntimeOrigin::signed(H1), b"ws://127.0.0.1:1".to_vec(), 1, 10, 10),
			Error::<Test>::PrivateEndpoint
		);
	});
}

#[test]
fn operator_updates_its_own_record_only() {
	build_and_execute(|| {
		admit(H1);
		assert_ok!(Hosts::update_host(
			RuntimeOrigin::signed(H1),
			b"wss://mail.example".to_vec(),
			50,
			10,
			5
		));
		let record = HostRecord {
			endpoint: b"wss://mail.example".to_vec().try_into().expect("fits"),
			retention: 50,
			capacity: 10,
			user_quota: 5,
		};
		assert_eq!(HostsStorage::<Test>::get(H1), Some(record.clone()));
		System::assert_last_event(Event::HostUpdated { operator: H1, record }.into());

		assert_noop!(
			Hosts::update_host(RuntimeOrigin::signed(H2), b"wss://x".to_vec(), 50, 10, 5),
			Error::<Test>::NotHost
		);
		assert_noop!(
			Hosts::update_host(RuntimeOrigin::signed(H1), b"wss://x".to_vec(), 0, 10, 5),
			Error::<Test>::ZeroRetention
		);
	});
}

#[test]
fn users_choose_one_to_k_admitted_hosts() {
	build_and_execute(|| {
		for h in [H1, H2, H3, H4] {
			admit(h);
		}
		assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H2, H1]));
		assert_eq!(
			Hosts::hosts_of(USER).into_iter().map(|(h, _)| h).collect::<Vec<_>>(),
			vec![H2, H1]
		);
		System::assert_last_event(
			Event::HostsChosen { who: USER, hosts: vec![H2, H1].try_into().expect("fits") }.into(),
		);

		// Choosing again replaces the choice.
		assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H3]));
		assert_eq!(Choices::<Test>::get(USER).map(|c| c.to_vec()), Some(vec![H3]));
	});
}

#[test]
fn bad_choices_are_rejected() {
	build_and_execute(|| {
		for h in [H1, H2, H3, H4] {
			admit(h);
		}
		let choose = |hosts: Vec<u64>| Hosts::choose_hosts(RuntimeOrigin::signed(USER), hosts);
		assert_noop!(choose(vec![]), Error::<Test>::NoHosts);
		assert_noop!(choose(vec![H1, H2, H3, H4]), Error::<Test>::TooManyHosts);
		assert_noop!(choose(vec![H1, H1]), Error::<Test>::DuplicateHost);
		assert_noop!(choose(vec![H1, 999]), Error::<Test>::UnknownHost);
		assert_noop!(
			Hosts::choose_hosts(RuntimeOrigin::none(), vec![H1]),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn removed_host_is_announced_and_leaves_users_lists() {
	build_and_execute(|| {
		admit(H1);
		admit(H2);
		assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H1, H2]));

		assert_ok!(Hosts::remove_host(RuntimeOrigin::root(), H1));
		System::assert_last_event(Event::HostRemoved { operator: H1 }.into());
		assert_eq!(Hosts::host(H1), None);
		assert_eq!(Hosts::hosts_of(USER).into_iter().map(|(h, _)| h).collect::<Vec<_>>(), vec![H2]);
		assert_noop!(Hosts::remove_host(RuntimeOrigin::root(), H1), Error::<Test>::NotHost);
		assert_noop!(
			Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H1]),
			Error::<Test>::UnknownHost
		);
	});
}

#[test]
fn genesis_admits_hosts_and_records_choices() {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("system genesis");
	crate::GenesisConfig::<Test> {
		hosts: vec![(H1, b"ws://127.0.0.1:9947".to_vec(), 100, 1 << 30, 1 << 20)],
		choices: vec![(USER, vec![H1])],
		allow_private_endpoints: true,
	}
	.assimilate_storage(&mut storage)
	.expect("hosts genesis");
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(Hosts::hosts_of(USER).into_iter().map(|(h, _)| h).collect::<Vec<_>>(), vec![H1]);
		Hosts::do_try_state().expect("invariants hold");
	});
}

mod deposits {
	use super::*;
	use crate::HoldReason;
	use frame_support::traits::fungible::{InspectHold, MutateHold};

	fn held(who: u64) -> u64 {
		Balances::balance_on_hold(&HoldReason::Choice.into(), &who)
	}

	// A choice of up to 3 hosts keeps 81 bytes and its deposit's entry 64 (accounts are 8
	// bytes in the mock); a deposit is 10 and 1 a byte.
	const CHOICE: u64 = 10 + 81 + 64;

	#[test]
	fn a_choice_holds_one_deposit_however_often_it_changes_and_clearing_returns_it() {
		build_and_execute(|| {
			admit(H1);
			admit(H2);
			assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H1]));
			assert_eq!(held(USER), CHOICE);
			assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H2, H1]));
			assert_eq!(held(USER), CHOICE, "the longest choice was paid for already");
			assert_eq!(Balances::free_balance(USER), ENDOWMENT - CHOICE);

			assert_ok!(Hosts::clear_hosts(RuntimeOrigin::signed(USER)));
			System::assert_last_event(Event::HostsCleared { who: USER }.into());
			assert_eq!(held(USER), 0);
			assert_eq!(Balances::free_balance(USER), ENDOWMENT);
			assert!(Hosts::hosts_of(USER).is_empty());
			assert!(Choices::<Test>::get(USER).is_none());
			assert_noop!(Hosts::clear_hosts(RuntimeOrigin::signed(USER)), Error::<Test>::NoChoice);
		});
	}

	#[test]
	fn a_user_that_cannot_pay_chooses_nothing() {
		build_and_execute(|| {
			admit(H1);
			assert_noop!(
				Hosts::choose_hosts(RuntimeOrigin::signed(POOR), vec![H1]),
				Error::<Test>::CannotPayDeposit
			);
		});
	}

	#[test]
	fn a_choice_made_before_deposits_is_cleared_free_or_pays_when_made_again() {
		let mut storage =
			frame_system::GenesisConfig::<Test>::default().build_storage().expect("system");
		pallet_balances::GenesisConfig::<Test> {
			balances: vec![(USER, ENDOWMENT), (2, ENDOWMENT)],
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
		crate::GenesisConfig::<Test> {
			hosts: vec![(H1, b"ws://127.0.0.1:9947".to_vec(), 100, 1 << 30, 1 << 20)],
			choices: vec![(USER, vec![H1]), (2, vec![H1])],
			allow_private_endpoints: true,
		}
		.assimilate_storage(&mut storage)
		.expect("hosts genesis");
		sp_io::TestExternalities::new(storage).execute_with(|| {
			assert_ok!(Hosts::clear_hosts(RuntimeOrigin::signed(USER)));
			assert_eq!(Balances::free_balance(USER), ENDOWMENT);
			assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(2), vec![H1]));
			assert_eq!(held(2), CHOICE);
			Hosts::do_try_state().expect("invariants hold");
		});
	}

	#[test]
	fn try_state_finds_a_hold_that_is_not_the_deposit_or_a_deposit_without_a_choice() {
		new_test_ext().execute_with(|| {
			admit(H1);
			assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(USER), vec![H1]));
			Hosts::do_try_state().expect("holds match");
			assert_ok!(Balances::hold(&HoldReason::Choice.into(), &USER, 5));
			assert!(Hosts::do_try_state().is_err());
			assert_ok!(Balances::release(
				&HoldReason::Choice.into(),
				&USER,
				5,
				frame_support::traits::tokens::Precision::Exact
			));
			Hosts::do_try_state().expect("holds match again");
			Choices::<Test>::remove(USER);
			assert!(Hosts::do_try_state().is_err());
		});
	}
}

mod migrations {
	use super::*;
	use crate::{migrations::v1::MigrateV0ToV1, Deposits, HoldReason};
	use frame_support::traits::{
		fungible::InspectHold, ConstU64, GetStorageVersion, OnRuntimeUpgrade, StorageVersion,
	};
	use sp_runtime::traits::Convert;

	/// What a user must keep spendable after paying at the migration.
	type KeepFree = ConstU64<100>;
	type Migration = MigrateV0ToV1<Test, KeepFree>;
	/// A choice's deposit in the mock (see `deposits`).
	const CHOICE: u64 = 10 + 81 + 64;
	/// Could pay, but would keep 49 spendable (the existential deposit is 1), under 100.
	const SCRAPING: u64 = 3;
	/// Would keep 100 spendable: pays.
	const COMFORTABLE: u64 = 4;

	fn held(who: u64) -> u64 {
		Balances::balance_on_hold(&HoldReason::Choice.into(), &who)
	}

	/// A chain at version 0 whose choices were made without deposits: [`USER`]'s, 2's
	/// (who already paid, choosing again after deposits), [`POOR`]'s, [`SCRAPING`]'s and
	/// [`COMFORTABLE`]'s.
	fn chain_from_before_deposits() -> sp_io::TestExternalities {
		let mut storage =
			frame_system::GenesisConfig::<Test>::default().build_storage().expect("system");
		pallet_balances::GenesisConfig::<Test> {
			balances: vec![
				(USER, ENDOWMENT),
				(2, ENDOWMENT),
				(POOR, 20),
				(SCRAPING, CHOICE + 50),
				(COMFORTABLE, CHOICE + 101),
			],
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.expect("balances genesis");
		crate::GenesisConfig::<Test> {
			hosts: vec![(H1, b"ws://127.0.0.1:9947".to_vec(), 100, 1 << 30, 1 << 20)],
			choices: [USER, 2, POOR, SCRAPING, COMFORTABLE].map(|who| (who, vec![H1])).to_vec(),
			allow_private_endpoints: true,
		}
		.assimilate_storage(&mut storage)
		.expect("hosts genesis");
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			System::set_block_number(1);
			assert_ok!(Hosts::choose_hosts(RuntimeOrigin::signed(2), vec![H1]));
			StorageVersion::new(0).put::<Hosts>();
		});
		ext
	}

	#[test]
	fn choices_made_before_deposits_pay_for_them_at_version_1() {
		chain_from_before_deposits().execute_with(|| {
			assert_eq!(Deposit::convert(Hosts::choice_footprint()), CHOICE);
			assert_eq!((held(USER), held(2)), (0, CHOICE));

			Migration::on_runtime_upgrade();
			assert_eq!(Hosts::on_chain_storage_version(), 1);
			assert_eq!(held(USER), CHOICE);
			assert_eq!(Balances::free_balance(USER), ENDOWMENT - CHOICE);
			assert_eq!(held(COMFORTABLE), CHOICE);
			assert_eq!(held(2), CHOICE, "a deposit already held is not taken twice");
			for who in [POOR, SCRAPING] {
				assert_eq!((held(who), Deposits::<Test>::get(who)), (0, None));
				assert!(Choices::<Test>::contains_key(who), "its choice stays, unpaid");
			}
			Hosts::do_try_state().expect("every hold is its deposit");

			Migration::on_runtime_upgrade();
			assert_eq!(held(USER), CHOICE, "once at version 1 it does nothing");
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
		chain_from_before_deposits().execute_with(|| {
			let state = Inner::pre_upgrade().expect("pre");
			Inner::on_runtime_upgrade();
			let ticket = Deposits::<Test>::take(USER).expect("held");
			frame_support::traits::Consideration::drop(ticket, &USER).expect("released");
			let skipped = Other("a user who could pay its deposit holds none");
			assert_eq!(Inner::post_upgrade(state), Err(skipped));
		});
		chain_from_before_deposits().execute_with(|| {
			let state = Inner::pre_upgrade().expect("pre");
			Inner::on_runtime_upgrade();
			assert_ok!(Balances::hold(&HoldReason::Choice.into(), &USER, 5));
			let wrong = Other("a user paid other than it holds");
			assert_eq!(Inner::post_upgrade(state), Err(wrong));
		});
	}
}
