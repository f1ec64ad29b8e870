//! Tests of the groups pallet.

use crate::{commit_hash, mock::*, Error, Event, GroupInfo, GroupInspect, Members, OldestCommit};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use quarks_primitives::DeviceKey;
use sp_core::H256;
use sp_runtime::DispatchError;

const ADMIN: u64 = 1;
const BOB: u64 = 2;
const CAROL: u64 = 3;
const DAVE: u64 = 4;
const EVE: u64 = 5;
const GROUP: u64 = 0;

fn create(members: Vec<u64>) {
	assert_ok!(Groups::create_group(RuntimeOrigin::signed(ADMIN), members));
}

/// One device per account, bound to it.
fn roster(members: &[u64]) -> Vec<DeviceKey> {
	let mut roster: Vec<DeviceKey> = members.iter().map(|&m| [m as u8; 32]).collect();
	for (device, member) in roster.iter().zip(members) {
		MockDevices::bind(*device, Some(*member));
	}
	roster.sort();
	roster
}

/// A commit's message: `n`, sixteen times.
fn message(n: u8) -> BoundedVec<u8, MaxCommitBytes> {
	BoundedVec::truncate_from(vec![n; 16])
}

/// What a commit's epoch authenticator hashes to, in these tests.
fn auth() -> H256 {
	H256::repeat_byte(0xaa)
}

/// What a welcome of commit `n` hashes to.
fn welcome(n: u8) -> H256 {
	H256::repeat_byte(n)
}

/// `who` commits message `n` for `epoch` with `roster`: a restart, with its welcome, if
/// it is the group's first commit.
fn commit_as(who: u64, epoch: u32, n: u8, roster: Vec<DeviceKey>) -> DispatchResult {
	let first = OldestCommit::<Test>::get(GROUP).is_none();
	Groups::commit(
		RuntimeOrigin::signed(who),
		GROUP,
		epoch,
		message(n),
		roster,
		first.then(|| welcome(n)),
		first,
		auth(),
	)
}

type DispatchResult = frame_support::dispatch::DispatchResult;

/// The admin commits `epoch` for `members`' devices.
fn commit_for(epoch: u32, members: &[u64]) {
	assert_ok!(commit_as(ADMIN, epoch, epoch as u8, roster(members)));
}

fn info() -> GroupInfo {
	Groups::group(GROUP).expect("group exists")
}

#[test]
fn create_opens_a_pending_epoch_one() {
	build_and_execute(|| {
		create(vec![BOB, CAROL]);
		assert_eq!(info(), GroupInfo { members: 3, admins: 1, epoch: 1, committed: false });
		assert!(Members::<Test>::get(GROUP, ADMIN).is_some_and(|m| m.admin));
		assert_eq!(Groups::usable_epoch(GROUP), None, "no messages before the first commit");
		System::assert_last_event(
			Event::GroupCreated { group: GROUP, creator: ADMIN, members: 3 }.into(),
		);

		commit_for(1, &[ADMIN, BOB, CAROL]);
		assert_eq!(Groups::usable_epoch(GROUP), Some(1));
		assert_eq!(Groups::members_at(GROUP, 1), vec![ADMIN, BOB, CAROL]);
		System::assert_last_event(
			Event::Committed {
				group: GROUP,
				epoch: 1,
				commit: commit_hash(&message(1)),
				by: ADMIN,
				restart: true,
			}
			.into(),
		);
	});
}

#[test]
fn bad_creations_are_rejected() {
	build_and_execute(|| {
		assert_noop!(
			Groups::create_group(RuntimeOrigin::signed(ADMIN), vec![BOB, BOB]),
			Error::<Test>::DuplicateMember
		);
		assert_noop!(
			Groups::create_group(RuntimeOrigin::signed(ADMIN), vec![ADMIN]),
			Error::<Test>::DuplicateMember
		);
		assert_noop!(
			Groups::create_group(RuntimeOrigin::signed(ADMIN), vec![BOB, CAROL, DAVE, EVE]),
			Error::<Test>::GroupFull
		);
		assert_noop!(Groups::create_group(RuntimeOrigin::none(), vec![]), DispatchError::BadOrigin);
	});
}

#[test]
fn every_membership_change_needs_a_commit() {
	build_and_execute(|| {
		create(vec![BOB]);
		commit_for(1, &[ADMIN, BOB]);

		assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
		assert_eq!((info().epoch, info().committed), (2, false));
		assert_eq!(Groups::usable_epoch(GROUP), None);
		System::assert_last_event(Event::MemberAdded { group: GROUP, who: CAROL, epoch: 2 }.into());
		// A second change before the commit joins the open epoch.
		assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, DAVE));
		assert_eq!(info().epoch, 2);
		commit_for(2, &[ADMIN, BOB, CAROL, DAVE]);
		assert_eq!(Groups::usable_epoch(GROUP), Some(2));

		assert_ok!(Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, BOB));
		assert_eq!((info().epoch, info().members), (3, 3));
		System::assert_last_event(Event::MemberRemoved { group: GROUP, who: BOB, epoch: 3 }.into());
		commit_for(3, &[ADMIN, CAROL, DAVE]);

		// Bob was a member of epochs 1 and 2 only; Carol and Dave of epochs 2 and 3 only.
		assert!(Groups::members_at(GROUP, 2).contains(&BOB));
		assert!(!Groups::members_at(GROUP, 3).contains(&BOB));
		assert!(!Groups::members_at(GROUP, 1).contains(&CAROL));
		assert_eq!(Members::<Test>::get(GROUP, CAROL).map(|m| m.joined), Some(2));
	});
}

#[test]
fn only_admins_manage_members() {
	build_and_execute(|| {
		create(vec![BOB]);
		assert_noop!(
			Groups::add_member(RuntimeOrigin::signed(BOB), GROUP, CAROL),
			Error::<Test>::NotAdmin
		);
		assert_noop!(
			Groups::add_member(RuntimeOrigin::signed(EVE), GROUP, CAROL),
			Error::<Test>::NotMember
		);
		assert_noop!(
			Groups::add_member(RuntimeOrigin::signed(ADMIN), 7, CAROL),
			Error::<Test>::UnknownGroup
		);
		assert_noop!(
			Groups::remove_member(RuntimeOrigin::signed(BOB), GROUP, ADMIN),
			Error::<Test>::NotAdmin
		);
		assert_noop!(
			Groups::set_admin(RuntimeOrigin::signed(BOB), GROUP, BOB, true),
			Error::<Test>::NotAdmin
		);
	});
}

#[test]
fn bad_member_changes_are_rejected() {
	build_and_execute(|| {
		create(vec![BOB, CAROL, DAVE]);
		assert_noop!(
			Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, BOB),
			Error::<Test>::AlreadyMember
		);
		assert_noop!(
			Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, EVE),
			Error::<Test>::GroupFull
		);
		assert_noop!(
			Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, EVE),
			Error::<Test>::NotMember
		);
		assert_noop!(
			Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, ADMIN),
			Error::<Test>::CannotRemoveSelf
		);
	});
}

#[test]
fn leaving_opens_an_epoch_and_the_last_member_dissolves() {
	build_and_execute(|| {
		create(vec![BOB]);
		commit_for(1, &[ADMIN, BOB]);
		assert_noop!(Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP), Error::<Test>::LastAdmin);
		assert_noop!(Groups::leave(RuntimeOrigin::signed(CAROL), GROUP), Error::<Test>::NotMember);

		assert_ok!(Groups::leave(RuntimeOrigin::signed(BOB), GROUP));
		assert_eq!((info().epoch, info().members, info().committed), (2, 1, false));
		System::assert_last_event(Event::MemberLeft { group: GROUP, who: BOB, epoch: 2 }.into());

		assert_ok!(Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP));
		assert_eq!(Groups::group(GROUP), None);
		System::assert_last_event(Event::GroupDissolved { group: GROUP }.into());
		assert_noop!(
			Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP),
			Error::<Test>::UnknownGroup
		);
	});
}

#[test]
fn admin_roles_keep_at_least_one_admin() {
	build_and_execute(|| {
		create(vec![BOB]);
		assert_ok!(Groups::set_admin(RuntimeOrigin::signed(ADMIN), GROUP, BOB, true));
		assert_eq!(info().admins, 2);
		System::assert_last_event(Event::AdminSet { group: GROUP, who: BOB, admin: true }.into());
		assert_eq!(info().epoch, 1, "roles are not membership: no new epoch");

		assert_ok!(Groups::set_admin(RuntimeOrigin::signed(BOB), GROUP, ADMIN, false));
		assert_noop!(
			Groups::set_admin(RuntimeOrigin::signed(BOB), GROUP, BOB, false),
			Error::<Test>::LastAdmin
		);
		// Now Bob is the only admin and may remove the former one.
		assert_ok!(Groups::remove_member(RuntimeOrigin::signed(BOB), GROUP, ADMIN));
		assert_eq!(info(), GroupInfo { members: 1, admins: 1, epoch: 1, committed: false });
		assert_noop!(
			Groups::set_admin(RuntimeOrigin::signed(BOB), GROUP, EVE, true),
			Error::<Test>::NotMember
		);
	});
}

mod commits {
	use super::*;
	use crate::{Commits, EpochMembers, OldestCommit};
	fn device(n: u8) -> DeviceKey {
		[n; 32]
	}

	/// Binds device `n` to `who`.
	fn bind(n: u8, who: u64) -> DeviceKey {
		MockDevices::bind(device(n), Some(who));
		device(n)
	}

	fn commit(who: u64, epoch: u32, n: u8, roster: &[DeviceKey]) -> DispatchResult {
		commit_as(who, epoch, n, roster.to_vec())
	}

	fn advance(blocks: u64) {
		System::set_block_number(System::block_number() + blocks);
	}

	#[test]
	fn the_chain_orders_one_commit_per_epoch() {
		build_and_execute(|| {
			create(vec![BOB]);
			let roster = [bind(1, ADMIN), bind(2, BOB)];
			assert_ok!(commit(ADMIN, 1, 0xa1, &roster));
			assert_eq!(Groups::usable_epoch(GROUP), Some(1));
			assert_eq!(Groups::members_at(GROUP, 1), vec![ADMIN, BOB]);
			let record = Groups::commit_at(GROUP, 1).expect("recorded");
			assert_eq!(record.commit, H256(sp_io::hashing::blake2_256(&[0xa1; 16])));
			assert_eq!(record.size, 16);
			assert_eq!(record.roster, H256(sp_io::hashing::blake2_256(&roster.to_vec().encode())));
			assert_eq!((record.welcome, record.restart), (Some(welcome(0xa1)), true));
			assert_eq!((record.committer, record.members_since, record.at), (ADMIN, 1, 1));
			System::assert_last_event(
				Event::Committed {
					group: GROUP,
					epoch: 1,
					commit: record.commit,
					by: ADMIN,
					restart: true,
				}
				.into(),
			);

			// Bob committed on epoch 0 at the same time: his lost, and nothing changed.
			assert_noop!(commit(BOB, 1, 0xb1, &roster), Error::<Test>::WrongEpoch);
			// An update builds on epoch 1, once the interval passed.
			assert_noop!(commit(BOB, 2, 0xb2, &roster), Error::<Test>::UpdateTooSoon);
			advance(5);
			assert_noop!(commit(BOB, 3, 0xb2, &roster), Error::<Test>::WrongEpoch);
			assert_ok!(commit(BOB, 2, 0xb2, &roster));
			assert_eq!(
				Groups::commit_at(GROUP, 2).map(|r| (r.committer, r.members_since)),
				Some((BOB, 1))
			);
			assert_eq!(
				EpochMembers::<Test>::iter_prefix(GROUP).count(),
				1,
				"an update shares the member set"
			);
			assert!(Groups::was_member(GROUP, 2, &BOB));
			assert!(!Groups::was_member(GROUP, 2, &CAROL));
		});
	}

	#[test]
	fn a_roster_must_be_the_current_members_bound_devices() {
		build_and_execute(|| {
			create(vec![BOB]);
			let (a, b) = (bind(1, ADMIN), bind(2, BOB));
			let carol = bind(3, CAROL);
			assert_noop!(commit(CAROL, 1, 1, &[a, b]), Error::<Test>::NotMember);
			assert_noop!(
				Groups::commit(
					RuntimeOrigin::signed(ADMIN),
					7,
					1,
					message(1),
					vec![a],
					None,
					true,
					auth()
				),
				Error::<Test>::UnknownGroup
			);
			assert_noop!(commit(ADMIN, 1, 1, &[b, a]), Error::<Test>::RosterNotSorted);
			assert_noop!(commit(ADMIN, 1, 1, &[a, a, b]), Error::<Test>::RosterNotSorted);
			assert_noop!(commit(ADMIN, 1, 1, &[a, b, device(9)]), Error::<Test>::DeviceNotBound);
			assert_noop!(commit(ADMIN, 1, 1, &[a]), Error::<Test>::RosterMismatch);
			assert_noop!(commit(ADMIN, 1, 1, &[a, b, carol]), Error::<Test>::RosterMismatch);
			let seven: Vec<DeviceKey> = (10..17).map(|n| bind(n, ADMIN)).collect();
			assert_noop!(commit(ADMIN, 1, 1, &seven), Error::<Test>::RosterTooLarge);
			// Several devices of one member are fine.
			let second = bind(4, BOB);
			assert_ok!(commit(ADMIN, 1, 1, &[a, b, second]));
		});
	}

	#[test]
	fn a_membership_change_needs_its_commit() {
		build_and_execute(|| {
			create(vec![BOB]);
			let (a, b, c) = (bind(1, ADMIN), bind(2, BOB), bind(3, CAROL));
			assert_ok!(commit(ADMIN, 1, 1, &[a, b]));

			assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
			assert_eq!(Groups::usable_epoch(GROUP), None, "epoch 2 awaits its commit");
			assert_noop!(commit(BOB, 2, 2, &[a, b]), Error::<Test>::RosterMismatch);
			// A membership change is never held back by the update interval.
			assert_ok!(commit(BOB, 2, 2, &[a, b, c]));
			assert_eq!(Groups::members_at(GROUP, 2), vec![ADMIN, BOB, CAROL]);
			assert_eq!(Groups::members_at(GROUP, 1), vec![ADMIN, BOB]);

			// Bob removes a device: the next commit cannot keep it.
			assert_ok!(Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
			MockDevices::bind(b, None);
			let b2 = bind(5, BOB);
			assert_noop!(commit(ADMIN, 3, 3, &[a, b, b2]), Error::<Test>::DeviceNotBound);
			assert_ok!(commit(ADMIN, 3, 3, &[a, b2]));
			assert_eq!(Groups::members_at(GROUP, 3), vec![ADMIN, BOB]);
			assert!(!Groups::was_member(GROUP, 3, &CAROL));
		});
	}

	#[test]
	fn records_are_kept_for_the_retention_and_at_most_max_kept() {
		build_and_execute(|| {
			create(vec![BOB]);
			let roster = [bind(1, ADMIN), bind(2, BOB)];
			assert_ok!(commit(ADMIN, 1, 1, &roster));
			assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
			let roster3 = [roster[0], roster[1], bind(3, CAROL)];
			assert_ok!(commit(ADMIN, 2, 2, &roster3));
			// Updates, each at the interval: at most four records stay.
			for epoch in 3..=6 {
				advance(5);
				assert_ok!(commit(BOB, epoch, epoch as u8, &roster3));
			}
			assert_eq!(OldestCommit::<Test>::get(GROUP), Some(3));
			assert_eq!(Commits::<Test>::iter_prefix(GROUP).count(), 4);
			assert_eq!(Groups::members_at(GROUP, 1), Vec::<u64>::new(), "dropped with its record");
			assert_eq!(Groups::members_at(GROUP, 3), vec![ADMIN, BOB, CAROL]);
			assert_eq!(EpochMembers::<Test>::iter_prefix(GROUP).count(), 1);

			// Once the retention passed, records whose epoch ended go two per commit.
			advance(100);
			assert_ok!(commit(BOB, 7, 7, &roster3));
			assert_eq!(OldestCommit::<Test>::get(GROUP), Some(5));
			assert_eq!(Commits::<Test>::iter_prefix(GROUP).count(), 3);
		});
	}

	/// The attack of issue 26: a member had the chain order a commit (a hash) whose message
	/// nobody held, and every later commit had to build on it. Now the message is in the
	/// call: what the chain records is the hash of bytes every node serves, and where.
	#[test]
	fn the_chain_orders_only_a_message_it_carries() {
		build_and_execute(|| {
			create(vec![BOB]);
			let roster = [bind(1, ADMIN), bind(2, BOB)];
			frame_support::storage::unhashed::put(
				sp_core::storage::well_known_keys::EXTRINSIC_INDEX,
				&3u32,
			);
			let bytes = b"the commit's MLS message".to_vec();
			assert_ok!(Groups::commit(
				RuntimeOrigin::signed(ADMIN),
				GROUP,
				1,
				BoundedVec::truncate_from(bytes.clone()),
				roster.to_vec(),
				Some(welcome(1)),
				true,
				auth(),
			));
			let record = Groups::commit_at(GROUP, 1).expect("recorded");
			assert_eq!(record.commit, commit_hash(&bytes));
			assert_eq!((record.size, record.at, record.extrinsic), (bytes.len() as u32, 1, 3));

			// A message over `MaxCommitBytes` (32 here) does not even decode as a call.
			let at_limit = RuntimeCall::Groups(crate::Call::commit {
				group: GROUP,
				epoch: 2,
				commit: BoundedVec::truncate_from(vec![7; 32]),
				roster: roster.to_vec(),
				welcome: None,
				restart: false,
				authenticator: auth(),
			})
			.encode();
			let mut message: Vec<u8> = vec![32 << 2];
			message.extend([7; 32]);
			let at = at_limit.windows(33).position(|w| w == message).expect("the message");
			let mut over = at_limit[..at].to_vec();
			over.push(33 << 2);
			over.extend([7; 33]);
			over.extend(&at_limit[at + 33..]);
			assert!(RuntimeCall::decode(&mut &at_limit[..]).is_ok());
			assert!(RuntimeCall::decode(&mut &over[..]).is_err());
		});
	}

	#[test]
	fn a_first_commit_restarts() {
		build_and_execute(|| {
			create(vec![BOB]);
			let roster = vec![bind(1, ADMIN), bind(2, BOB)];
			let signed = RuntimeOrigin::signed;
			assert_noop!(
				Groups::commit(
					signed(ADMIN),
					GROUP,
					1,
					message(1),
					roster.clone(),
					None,
					false,
					auth()
				),
				Error::<Test>::FirstCommitRestarts
			);
			// The group is its creator's to start: a member cannot take its first epoch.
			assert_noop!(
				Groups::commit(
					signed(BOB),
					GROUP,
					1,
					message(1),
					roster.clone(),
					Some(welcome(1)),
					true,
					auth()
				),
				Error::<Test>::NotAdmin
			);
			// Nobody could join a restart of several members without a welcome.
			assert_noop!(
				Groups::commit(
					signed(ADMIN),
					GROUP,
					1,
					message(1),
					roster.clone(),
					None,
					true,
					auth()
				),
				Error::<Test>::RestartWithoutWelcome
			);
			assert_ok!(Groups::commit(
				signed(ADMIN),
				GROUP,
				1,
				message(1),
				roster.clone(),
				Some(welcome(1)),
				true,
				auth()
			));
		});
	}

	/// A group whose last commit does not apply goes on: any member, not only an admin,
	/// restarts it, after the update interval like any commit that changes no member.
	#[test]
	fn any_member_may_restart_a_group() {
		build_and_execute(|| {
			create(vec![BOB, CAROL]);
			let roster = vec![bind(1, ADMIN), bind(2, BOB), bind(3, CAROL)];
			assert_ok!(commit(ADMIN, 1, 1, &roster));
			advance(5);
			// Carol's commit is junk; the chain cannot tell.
			assert_ok!(commit(CAROL, 2, 0xee, &roster));
			let restart = |who| {
				Groups::commit(
					RuntimeOrigin::signed(who),
					GROUP,
					3,
					message(3),
					roster.clone(),
					Some(welcome(3)),
					true,
					auth(),
				)
			};
			assert_noop!(restart(BOB), Error::<Test>::UpdateTooSoon);
			advance(5);
			assert_noop!(restart(DAVE), Error::<Test>::NotMember);
			assert_ok!(restart(BOB));
			let record = Groups::commit_at(GROUP, 3).expect("recorded");
			assert!(record.restart);
			assert_eq!((record.committer, record.welcome), (BOB, Some(welcome(3))));
			// The admin removes Carol with the removal's restart, at once.
			assert_ok!(Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
			assert_ok!(Groups::commit(
				RuntimeOrigin::signed(ADMIN),
				GROUP,
				4,
				message(4),
				roster[..2].to_vec(),
				Some(welcome(4)),
				true,
				auth(),
			));
			assert_eq!(Groups::members_at(GROUP, 4), vec![ADMIN, BOB]);
		});
	}

	#[test]
	fn dissolving_drops_every_record() {
		build_and_execute(|| {
			create(vec![BOB]);
			let (a, b) = (bind(1, ADMIN), bind(2, BOB));
			assert_ok!(commit(ADMIN, 1, 1, &[a, b]));
			assert_ok!(Groups::leave(RuntimeOrigin::signed(BOB), GROUP));
			assert_ok!(commit(ADMIN, 2, 2, &[a]));
			assert_ok!(Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP));
			assert_eq!(Commits::<Test>::iter_prefix(GROUP).count(), 0);
			assert_eq!(EpochMembers::<Test>::iter_prefix(GROUP).count(), 0);
			assert_eq!(OldestCommit::<Test>::get(GROUP), None);
		});
	}
}

mod migrations {
	use super::*;
	use crate::{
		migrations::v1::{CommitRecordV0, MigrateV0ToV1},
		CommitRecord, Commits,
	};
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

	#[test]
	fn version_0_records_become_version_1() {
		build_and_execute(|| {
			create(vec![BOB]);
			commit_for(1, &[ADMIN, BOB]);
			let record = Groups::commit_at(GROUP, 1).expect("recorded");
			// As version 0 kept it.
			let old = CommitRecordV0 {
				commit: record.commit,
				roster: record.roster,
				committer: record.committer,
				members_since: record.members_since,
				at: record.at,
			};
			frame_support::storage::unhashed::put(&Commits::<Test>::hashed_key_for(GROUP, 1), &old);
			StorageVersion::new(0).put::<Groups>();
			assert_eq!(
				Groups::commit_at(GROUP, 1),
				None,
				"a version-0 record is not a version-1 one"
			);

			MigrateV0ToV1::<Test>::on_runtime_upgrade();
			assert_eq!(Groups::on_chain_storage_version(), 1);
			let migrated = CommitRecord {
				size: 0,
				welcome: None,
				authenticator: H256::zero(),
				extrinsic: 0,
				..record
			};
			assert_eq!(Groups::commit_at(GROUP, 1), Some(migrated.clone()));
			// Once at version 1 it does nothing (translating again would garble the record).
			MigrateV0ToV1::<Test>::on_runtime_upgrade();
			assert_eq!(Groups::commit_at(GROUP, 1), Some(migrated));
		});
	}

	#[test]
	fn a_new_chain_starts_at_the_current_version() {
		build_and_execute(|| {
			assert_eq!(Groups::on_chain_storage_version(), crate::STORAGE_VERSION);
		});
	}
}

mod deposits {
	use super::*;
	use crate::{HoldReason, MemberDeposits};
	use frame_support::traits::{
		fungible::{InspectHold, MutateHold},
		Consideration,
	};
	use sp_runtime::traits::Convert;

	fn held(who: u64) -> u64 {
		Balances::balance_on_hold(&HoldReason::Group.into(), &who)
	}

	/// A group's records' deposit and a member's place's, in the mock.
	fn group() -> u64 {
		Deposit::convert(Groups::group_footprint())
	}
	fn member() -> u64 {
		Deposit::convert(Groups::member_footprint())
	}

	#[test]
	fn the_footprints_cover_what_a_group_keeps() {
		// In the mock (8-byte accounts and block numbers), a group keeps its entries (61,
		// 52 and 64 bytes) and 4 kept epochs of a commit record (60 + 158) and a member
		// set's entry (65); a member its entries (77 and 88) and its account in 4 sets.
		assert_eq!(group(), 10 + 61 + 52 + 64 + 4 * (60 + 158 + 65));
		assert_eq!(member(), 10 + 77 + 88 + 4 * 8);
	}

	#[test]
	fn the_creator_pays_for_the_group_and_its_first_members_and_commits_cost_nothing() {
		build_and_execute(|| {
			create(vec![BOB, CAROL]);
			assert_eq!(held(ADMIN), group() + 3 * member());
			assert_eq!(Balances::free_balance(ADMIN), ENDOWMENT - group() - 3 * member());
			assert_eq!((held(BOB), held(CAROL)), (0, 0), "joining costs nothing");
			commit_for(1, &[ADMIN, BOB, CAROL]);
			assert_ok!(Groups::set_admin(RuntimeOrigin::signed(ADMIN), GROUP, BOB, true));
			assert_eq!(held(ADMIN), group() + 3 * member());
		});
	}

	#[test]
	fn whoever_adds_a_member_pays_and_gets_it_back_when_the_member_goes() {
		build_and_execute(|| {
			create(vec![BOB]);
			assert_ok!(Groups::set_admin(RuntimeOrigin::signed(ADMIN), GROUP, BOB, true));
			assert_ok!(Groups::add_member(RuntimeOrigin::signed(BOB), GROUP, CAROL));
			assert_ok!(Groups::add_member(RuntimeOrigin::signed(BOB), GROUP, DAVE));
			assert_eq!(held(BOB), 2 * member());
			assert_eq!(held(ADMIN), group() + 2 * member());

			// Removed by another admin, or leaving: the adder is repaid either way.
			assert_ok!(Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
			assert_ok!(Groups::leave(RuntimeOrigin::signed(DAVE), GROUP));
			assert_eq!(held(BOB), 0);
			assert_eq!(Balances::free_balance(BOB), ENDOWMENT);
			assert_eq!(held(ADMIN), group() + 2 * member());
		});
	}

	#[test]
	fn dissolving_returns_the_creators_deposit_after_it_left() {
		build_and_execute(|| {
			create(vec![BOB]);
			assert_ok!(Groups::set_admin(RuntimeOrigin::signed(ADMIN), GROUP, BOB, true));
			assert_ok!(Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP));
			assert_eq!(held(ADMIN), group() + member(), "the group's and Bob's place");
			assert_ok!(Groups::leave(RuntimeOrigin::signed(BOB), GROUP));
			assert_eq!(held(ADMIN), 0);
			assert_eq!(Balances::free_balance(ADMIN), ENDOWMENT);
		});
	}

	#[test]
	fn whoever_cannot_pay_creates_or_adds_nothing() {
		build_and_execute(|| {
			assert_noop!(
				Groups::create_group(RuntimeOrigin::signed(POOR), vec![BOB]),
				Error::<Test>::CannotPayDeposit
			);
			create(vec![POOR]);
			assert_ok!(Groups::set_admin(RuntimeOrigin::signed(ADMIN), GROUP, POOR, true));
			assert_noop!(
				Groups::add_member(RuntimeOrigin::signed(POOR), GROUP, CAROL),
				Error::<Test>::CannotPayDeposit
			);
		});
	}

	#[test]
	fn a_member_from_before_deposits_leaves_freely() {
		build_and_execute(|| {
			create(vec![BOB]);
			let (payer, ticket) = MemberDeposits::<Test>::take(GROUP, BOB).expect("held");
			assert_ok!(ticket.drop(&payer));
			assert_ok!(Groups::leave(RuntimeOrigin::signed(BOB), GROUP));
			assert_eq!(held(ADMIN), group() + member());
		});
	}

	#[test]
	fn try_state_finds_a_hold_that_is_not_the_deposits_or_a_deposit_without_a_member() {
		new_test_ext().execute_with(|| {
			create(vec![BOB]);
			Groups::do_try_state().expect("holds match");
			assert_ok!(Balances::hold(&HoldReason::Group.into(), &ADMIN, 5));
			assert!(Groups::do_try_state().is_err());
			assert_ok!(Balances::release(
				&HoldReason::Group.into(),
				&ADMIN,
				5,
				frame_support::traits::tokens::Precision::Exact
			));
			Groups::do_try_state().expect("holds match again");
			let ticket = <crate::TicketOf<Test> as Consideration<u64, _>>::new(
				&CAROL,
				Groups::member_footprint(),
			)
			.expect("carol can pay");
			MemberDeposits::<Test>::insert(GROUP, EVE, (CAROL, ticket));
			assert!(Groups::do_try_state().is_err(), "Eve is no member");
		});
	}
}
