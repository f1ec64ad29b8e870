//! Tests of the groups pallet.

use crate::{mock::*, Error, Event, GroupInfo, GroupInspect, Members, Rotations, WrappedKey};
use frame_support::{assert_noop, assert_ok};
use sp_core::H256;
use sp_runtime::DispatchError;

const ADMIN: u64 = 1;
const BOB: u64 = 2;
const CAROL: u64 = 3;
const DAVE: u64 = 4;
const EVE: u64 = 5;
const GROUP: u64 = 0;

fn wrapped(members: &[u64]) -> Vec<WrappedKey<u64>> {
	members
		.iter()
		.map(|&member| WrappedKey {
			member,
			key_version: 1,
			commitment: H256::repeat_byte(member as u8),
		})
		.collect()
}

fn create(members: Vec<u64>) {
	assert_ok!(Groups::create_group(RuntimeOrigin::signed(ADMIN), members));
}

fn rotate(epoch: u32, members: &[u64]) {
	assert_ok!(Groups::rotate_key(RuntimeOrigin::signed(ADMIN), GROUP, epoch, wrapped(members)));
}

fn info() -> GroupInfo {
	Groups::group(GROUP).expect("group exists")
}

#[test]
fn create_opens_a_pending_epoch_one() {
	build_and_execute(|| {
		create(vec![BOB, CAROL]);
		assert_eq!(info(), GroupInfo { members: 3, admins: 1, epoch: 1, rotated: false });
		assert!(Members::<Test>::get(GROUP, ADMIN).is_some_and(|m| m.admin));
		assert_eq!(Groups::usable_epoch(GROUP), None, "no messages before the first key");
		System::assert_last_event(
			Event::GroupCreated { group: GROUP, creator: ADMIN, members: 3 }.into(),
		);

		rotate(1, &[ADMIN, BOB, CAROL]);
		assert_eq!(Groups::usable_epoch(GROUP), Some(1));
		let mut at_one = Groups::members_at(GROUP, 1);
		at_one.sort();
		assert_eq!(at_one, vec![ADMIN, BOB, CAROL]);
		System::assert_last_event(Event::KeyRotated { group: GROUP, epoch: 1, by: ADMIN }.into());
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
fn every_membership_change_needs_a_rotation() {
	build_and_execute(|| {
		create(vec![BOB]);
		rotate(1, &[ADMIN, BOB]);

		assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, CAROL));
		assert_eq!((info().epoch, info().rotated), (2, false));
		assert_eq!(Groups::usable_epoch(GROUP), None);
		System::assert_last_event(Event::MemberAdded { group: GROUP, who: CAROL, epoch: 2 }.into());
		// A second change before the rotation joins the open epoch.
		assert_ok!(Groups::add_member(RuntimeOrigin::signed(ADMIN), GROUP, DAVE));
		assert_eq!(info().epoch, 2);
		rotate(2, &[ADMIN, BOB, CAROL, DAVE]);
		assert_eq!(Groups::usable_epoch(GROUP), Some(2));

		assert_ok!(Groups::remove_member(RuntimeOrigin::signed(ADMIN), GROUP, BOB));
		assert_eq!((info().epoch, info().members), (3, 3));
		System::assert_last_event(Event::MemberRemoved { group: GROUP, who: BOB, epoch: 3 }.into());
		rotate(3, &[ADMIN, CAROL, DAVE]);

		// Bob received epochs 1 and 2 only; Carol and Dave epochs 2 and 3 only.
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
			Groups::rotate_key(RuntimeOrigin::signed(BOB), GROUP, 1, wrapped(&[ADMIN, BOB])),
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
fn rotation_must_cover_exactly_the_current_members_with_valid_keys() {
	build_and_execute(|| {
		create(vec![BOB, CAROL]);
		let rotate_with =
			|epoch, w| Groups::rotate_key(RuntimeOrigin::signed(ADMIN), GROUP, epoch, w);
		assert_noop!(rotate_with(2, wrapped(&[ADMIN, BOB, CAROL])), Error::<Test>::WrongEpoch);
		assert_noop!(
			rotate_with(1, wrapped(&[ADMIN, BOB])),
			Error::<Test>::RotationMembersMismatch
		);
		assert_noop!(
			rotate_with(1, wrapped(&[ADMIN, BOB, EVE])),
			Error::<Test>::RotationMembersMismatch
		);
		assert_noop!(
			rotate_with(1, wrapped(&[ADMIN, BOB, BOB])),
			Error::<Test>::RotationMembersMismatch
		);
		let mut stale = wrapped(&[ADMIN, BOB, CAROL]);
		stale[2].key_version = 7;
		assert_noop!(rotate_with(1, stale), Error::<Test>::StaleMemberKey);
		MockKeys::set(CAROL, None);
		assert_noop!(rotate_with(1, wrapped(&[ADMIN, BOB, CAROL])), Error::<Test>::MemberHasNoKey);
		MockKeys::set(CAROL, Some(1));

		rotate(1, &[ADMIN, BOB, CAROL]);
		assert!(Rotations::<Test>::contains_key(GROUP, 1));
		assert_noop!(rotate_with(1, wrapped(&[ADMIN, BOB, CAROL])), Error::<Test>::AlreadyRotated);
	});
}

#[test]
fn leaving_opens_an_epoch_and_the_last_member_dissolves() {
	build_and_execute(|| {
		create(vec![BOB]);
		rotate(1, &[ADMIN, BOB]);
		assert_noop!(Groups::leave(RuntimeOrigin::signed(ADMIN), GROUP), Error::<Test>::LastAdmin);
		assert_noop!(Groups::leave(RuntimeOrigin::signed(CAROL), GROUP), Error::<Test>::NotMember);

		assert_ok!(Groups::leave(RuntimeOrigin::signed(BOB), GROUP));
		assert_eq!((info().epoch, info().members, info().rotated), (2, 1, false));
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
		assert_eq!(info(), GroupInfo { members: 1, admins: 1, epoch: 1, rotated: false });
		assert_noop!(
			Groups::set_admin(RuntimeOrigin::signed(BOB), GROUP, EVE, true),
			Error::<Test>::NotMember
		);
	});
}
