use super::*;
use quarks_primitives::DEVICE_PROOF_TAG;
use std::collections::HashMap;

const GROUP: GroupId = 7;
const DAY: u64 = 24 * 60 * 60;

fn device(account: u8) -> Device {
	Device::new(AccountId32::new([account; 32])).expect("a device")
}

/// Stands in for the groups pallet's ordering: the first commit submitted for an epoch
/// is that epoch's.
#[derive(Default)]
struct Orderer(HashMap<Epoch, OrderedCommit>);

impl Orderer {
	fn submit(&mut self, commit: &Commit) -> OrderedCommit {
		*self.0.entry(commit.epoch + 1).or_insert(commit.ordered())
	}
}

/// `device` joins from `commit`'s welcome into the epoch the orderer recorded it for.
fn join(orderer: &Orderer, device: &mut Device, commit: &Commit) {
	let epoch = commit.epoch + 1;
	let welcome = commit.welcome.as_ref().expect("a welcome");
	device.join(welcome, GROUP, epoch, orderer.0[&epoch]).expect("joins");
}

/// `committer` stages a commit, the orderer records it, and every device in `members`
/// (the committer among them) applies it; returns the commit.
fn ordered(orderer: &mut Orderer, commit: Commit, members: &mut [&mut Device]) -> Commit {
	let ordered = orderer.submit(&commit);
	assert_eq!(ordered, commit.ordered(), "the commit was the first for its epoch");
	for member in members.iter_mut() {
		member
			.apply_commit(GROUP, commit.epoch + 1, &commit.message, ordered)
			.expect("an ordered commit applies");
	}
	commit
}

/// Alice's group with Bob in it, at epoch 1: Alice's restart, which every first commit is.
fn alice_and_bob(orderer: &mut Orderer) -> (Device, Device) {
	let mut alice = device(1);
	let mut bob = device(2);
	let bob_package = bob.key_package(DAY).expect("a key package");
	let start = alice.restart(GROUP, 1, &[bob_package]).expect("staged");
	assert!(!alice.is_in(GROUP), "not before the chain orders it");
	let start = ordered(orderer, start, &mut [&mut alice]);
	assert_eq!(start.roster, alice.roster(GROUP).unwrap());
	join(orderer, &mut bob, &start);
	assert!(bob.is_in(GROUP));
	(alice, bob)
}

fn is_refused(result: Result<Opened, MlsError>) -> bool {
	matches!(result, Err(MlsError::Refused { .. }))
}

#[test]
fn members_chat_in_one_epoch_and_see_each_others_devices() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);

	assert_eq!(alice.epoch(GROUP).unwrap(), 1);
	assert_eq!(bob.epoch(GROUP).unwrap(), 1);
	assert_eq!(alice.epoch_authenticator(GROUP).unwrap(), bob.epoch_authenticator(GROUP).unwrap());
	let mut members = bob.members(GROUP).unwrap();
	members.sort();
	assert_eq!(members, vec![alice.id(), bob.id()]);

	let hello = alice.encrypt(GROUP, b"hello Bob").unwrap();
	let opened = bob.decrypt(GROUP, &hello).unwrap();
	assert_eq!(opened, Opened { sender: alice.id(), epoch: 1, plaintext: b"hello Bob".to_vec() });
	let reply = bob.encrypt(GROUP, b"hi Alice").unwrap();
	assert_eq!(alice.decrypt(GROUP, &reply).unwrap().sender, bob.id());
	// Sizes reveal the padding class, not the letter's length.
	assert_eq!(
		alice.encrypt(GROUP, b"a").unwrap().len(),
		alice.encrypt(GROUP, &[b'a'; 100]).unwrap().len()
	);
}

#[test]
fn a_stolen_state_opens_no_message_read_before_nor_any_of_old_epochs() {
	// The documented window, written out: a configuration keeping more epochs fails here.
	const EPOCHS_KEPT: usize = 2;
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let dir = tempfile::tempdir().unwrap();
	let key = [9u8; 32];

	let too_old = alice.encrypt(GROUP, b"never read, epoch 1").unwrap();
	let mut update = |alice: &mut Device, bob: &mut Device| {
		let commit = alice.update(GROUP).unwrap();
		ordered(&mut orderer, commit, &mut [alice, bob]);
	};
	update(&mut alice, &mut bob);
	let late = alice.encrypt(GROUP, b"never read, epoch 2").unwrap();
	for _ in 0..EPOCHS_KEPT {
		update(&mut alice, &mut bob);
	}
	assert_eq!(bob.epoch(GROUP).unwrap(), 2 + EPOCHS_KEPT as Epoch);
	// In the current epoch: one letter read, the next one not yet.
	let read = alice.encrypt(GROUP, b"read before the theft").unwrap();
	bob.decrypt(GROUP, &read).unwrap();
	let unread = alice.encrypt(GROUP, b"current epoch").unwrap();

	bob.save(&dir.path().join("bob"), &key).unwrap();
	let mut thief = Device::open(&dir.path().join("bob"), &key).unwrap();
	assert!(is_refused(thief.decrypt(GROUP, &read)), "a used message key is deleted");
	assert!(
		is_refused(thief.decrypt(GROUP, &too_old)),
		"secrets of epochs more than {EPOCHS_KEPT} back are deleted"
	);
	// What the window keeps for late mail, and the current epoch, the stolen state opens:
	// until Bob updates (the next test).
	assert_eq!(thief.decrypt(GROUP, &late).unwrap().plaintext, b"never read, epoch 2");
	assert_eq!(thief.decrypt(GROUP, &unread).unwrap().plaintext, b"current epoch");
}

#[test]
fn an_update_locks_out_whoever_stole_the_state_before() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let dir = tempfile::tempdir().unwrap();
	let key = [9u8; 32];
	bob.save(&dir.path().join("bob"), &key).unwrap();
	let mut thief = Device::open(&dir.path().join("bob"), &key).unwrap();

	let update = bob.update(GROUP).unwrap();
	let update = ordered(&mut orderer, update, &mut [&mut bob, &mut alice]);
	assert!(
		thief.apply_commit(GROUP, update.epoch + 1, &update.message, update.ordered()).is_err(),
		"the update's new secrets were never in the stolen state"
	);
	let after = alice.encrypt(GROUP, b"after Bob's update").unwrap();
	assert!(is_refused(thief.decrypt(GROUP, &after)));
	assert_eq!(bob.decrypt(GROUP, &after).unwrap().plaintext, b"after Bob's update");
}

/// Not only an update: every commit a device makes carries a path that replaces its own
/// leaf's keys, so an add also leaves a copy of its state taken before with nothing the
/// next epoch derives from. Seen from Alice: Bob's leaf has a new encryption key.
#[test]
fn every_commit_replaces_the_committers_own_keys() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let bobs_leaf_key = |seen_by: &Device, bob: &Device| {
		let (mls, _) = seen_by.current(GROUP).unwrap();
		let key = bob.signature_key();
		let member = mls.members().find(|m| m.signature_key == key).expect("Bob is a member");
		member.encryption_key
	};
	let before = bobs_leaf_key(&alice, &bob);
	let dir = tempfile::tempdir().unwrap();
	bob.save(&dir.path().join("bob"), &[9u8; 32]).unwrap();
	let mut thief = Device::open(&dir.path().join("bob"), &[9u8; 32]).unwrap();

	let mut carol = device(3);
	let add = bob.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let add = ordered(&mut orderer, add, &mut [&mut bob, &mut alice]);
	join(&orderer, &mut carol, &add);
	assert_ne!(bobs_leaf_key(&alice, &bob), before, "Bob's add replaced his leaf's keys");
	assert!(thief.apply_commit(GROUP, add.epoch + 1, &add.message, add.ordered()).is_err());
	let after = alice.encrypt(GROUP, b"after Bob's add").unwrap();
	assert!(is_refused(thief.decrypt(GROUP, &after)));
	assert_eq!(carol.decrypt(GROUP, &after).unwrap().plaintext, b"after Bob's add");
}

#[test]
fn a_removed_member_reads_nothing_sent_after_its_removal() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);
	let add = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let add = ordered(&mut orderer, add, &mut [&mut alice, &mut bob]);
	join(&orderer, &mut carol, &add);

	// What Bob's device holds before its removal, kept whatever the client deletes (a
	// copy, or a client that never deletes).
	let dir = tempfile::tempdir().unwrap();
	bob.save(&dir.path().join("bob"), &[9u8; 32]).unwrap();
	let kept = Device::open(&dir.path().join("bob"), &[9u8; 32]).unwrap();

	let remove = alice.commit(GROUP, &[], &[bob.id()]).unwrap();
	let hash = orderer.submit(&remove);
	alice.apply_commit(GROUP, remove.epoch + 1, &remove.message, hash).unwrap();
	let seen = carol.apply_commit(GROUP, remove.epoch + 1, &remove.message, hash).unwrap();
	assert_eq!(seen.removed, vec![bob.id()]);
	let applied = bob.apply_commit(GROUP, remove.epoch + 1, &remove.message, hash).unwrap();
	assert!(applied.self_removed);

	let later = alice.encrypt(GROUP, b"without Bob").unwrap();
	assert_eq!(carol.decrypt(GROUP, &later).unwrap().plaintext, b"without Bob");
	assert!(matches!(bob.decrypt(GROUP, &later), Err(MlsError::NotInGroup(GROUP))));

	// The kept state, with the removing commit applied by openmls itself (nothing of
	// Quarks deletes anything): the commit brings no secret of the next epoch to Bob.
	let generation = kept.membership(GROUP).unwrap().generation;
	let mut mls = kept.provider.load(GROUP, generation).unwrap();
	let processed =
		mls.process_message(&kept.provider, protocol_message(&remove.message).unwrap()).unwrap();
	let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
		panic!("the removal is a commit");
	};
	assert!(staged.self_removed());
	mls.merge_staged_commit(&kept.provider, *staged).unwrap();
	let opened = mls.process_message(&kept.provider, protocol_message(&later).unwrap());
	assert!(opened.is_err(), "a removed member's kept state opened a later letter");
}

#[test]
fn of_two_concurrent_commits_one_wins_and_the_other_is_staged_again() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);

	// Both commit on epoch 1; the chain takes Alice's.
	let alices = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let bobs = bob.update(GROUP).unwrap();
	assert_eq!((alices.epoch, bobs.epoch), (1, 1));
	let winner = orderer.submit(&alices);
	assert_eq!(orderer.submit(&bobs), winner, "the epoch is taken");
	assert!(matches!(
		bob.apply_commit(GROUP, bobs.epoch + 1, &bobs.message, winner),
		Err(MlsError::NotOrdered { .. })
	));
	assert!(
		!alice
			.apply_commit(GROUP, alices.epoch + 1, &alices.message, winner)
			.unwrap()
			.own_commit_lost
	);
	let at_bob = bob.apply_commit(GROUP, alices.epoch + 1, &alices.message, winner).unwrap();
	assert!(at_bob.own_commit_lost);
	assert_eq!(at_bob.added, vec![carol.id()]);
	join(&orderer, &mut carol, &alices);

	// Bob stages his update again, on epoch 2, and it wins there.
	let again = bob.update(GROUP).unwrap();
	assert_eq!(again.epoch, 2);
	ordered(&mut orderer, again, &mut [&mut bob, &mut alice, &mut carol]);
	let authenticator = alice.epoch_authenticator(GROUP).unwrap();
	assert_eq!(bob.epoch_authenticator(GROUP).unwrap(), authenticator);
	assert_eq!(carol.epoch_authenticator(GROUP).unwrap(), authenticator);
	let message = bob.encrypt(GROUP, b"no fork").unwrap();
	assert_eq!(alice.decrypt(GROUP, &message).unwrap().plaintext, b"no fork");
	assert_eq!(carol.decrypt(GROUP, &message).unwrap().sender, bob.id());
}

#[test]
fn a_second_device_reads_everything_new_until_it_is_removed() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut bob_laptop = Device::new(bob.account().clone()).unwrap();
	assert_ne!(bob_laptop.signature_key(), bob.signature_key());

	let add = bob.commit(GROUP, &[bob_laptop.key_package(DAY).unwrap()], &[]).unwrap();
	let add = ordered(&mut orderer, add, &mut [&mut bob, &mut alice]);
	join(&orderer, &mut bob_laptop, &add);
	// The welcome is addressed to Bob's account, so his phone gets it too: it follows the
	// group's commits and takes no welcome.
	assert!(matches!(
		bob.join(add.welcome.as_ref().unwrap(), GROUP, 2, add.ordered()),
		Err(MlsError::AlreadyIn { group: GROUP, epoch: 2 })
	));
	let hello = alice.encrypt(GROUP, b"to both of Bob's devices").unwrap();
	assert_eq!(bob.decrypt(GROUP, &hello).unwrap().plaintext, b"to both of Bob's devices");
	assert_eq!(bob_laptop.decrypt(GROUP, &hello).unwrap().plaintext, b"to both of Bob's devices");
	let from_laptop = bob_laptop.encrypt(GROUP, b"from the laptop").unwrap();
	let opened = bob.decrypt(GROUP, &from_laptop).unwrap();
	assert_eq!(opened.sender.account, *bob.account());
	assert_eq!(opened.sender.signature_key, bob_laptop.signature_key());

	let remove = bob.commit(GROUP, &[], &[bob_laptop.id()]).unwrap();
	let remove = ordered(&mut orderer, remove, &mut [&mut bob, &mut alice]);
	assert!(
		bob_laptop
			.apply_commit(GROUP, remove.epoch + 1, &remove.message, remove.ordered())
			.unwrap()
			.self_removed
	);
	assert!(!bob_laptop.is_in(GROUP));
	let later = alice.encrypt(GROUP, b"phone only").unwrap();
	assert_eq!(bob.decrypt(GROUP, &later).unwrap().plaintext, b"phone only");
	assert!(bob_laptop.decrypt(GROUP, &later).is_err());
}

#[test]
fn refused_input_changes_nothing() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let message = alice.encrypt(GROUP, b"intact").unwrap();
	let mut tampered = message.clone();
	let last = tampered.len() - 1;
	tampered[last] ^= 1;
	assert!(is_refused(bob.decrypt(GROUP, &tampered)));
	assert!(matches!(
		bob.decrypt(GROUP, b"not mls"),
		Err(MlsError::Malformed { what: "MLS message", .. })
	));
	assert_eq!(bob.decrypt(GROUP, &message).unwrap().plaintext, b"intact");

	// A commit other than the ordered one, and garbage under the ordered hash.
	let update = alice.update(GROUP).unwrap();
	let other = OrderedCommit { commit: H256::repeat_byte(1), ..update.ordered() };
	assert!(matches!(
		bob.apply_commit(GROUP, update.epoch + 1, &update.message, other),
		Err(MlsError::NotOrdered { .. })
	));
	let garbage = b"garbage".to_vec();
	let ordered_garbage = OrderedCommit { commit: commit_hash(&garbage), ..update.ordered() };
	assert!(bob.apply_commit(GROUP, 2, &garbage, ordered_garbage).is_err());
	// Alice's staged commit survives garbage (openmls' work on it is undone).
	assert!(alice.apply_commit(GROUP, 2, &garbage, ordered_garbage).is_err());
	assert_eq!(bob.epoch(GROUP).unwrap(), 1);
	ordered(&mut orderer, update, &mut [&mut alice, &mut bob]);
	assert_eq!(bob.epoch(GROUP).unwrap(), 2);
}

#[test]
fn a_saved_state_resumes_the_conversation_and_needs_its_key() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("bob");
	let key = [5u8; 32];
	let staged = bob.update(GROUP).unwrap();
	bob.save(&path, &key).unwrap();
	drop(bob);

	assert!(matches!(Device::open(&path, &[6u8; 32]), Err(MlsError::State(_))));
	let file = std::fs::read(&path).unwrap();
	let mut bob = Device::open(&path, &key).unwrap();
	assert!(
		!file.windows(32).any(|w| w == bob.signature_key()),
		"nothing of the state is in the file in the clear"
	);
	// The commit staged before the restart is still this device's own.
	let applied = ordered(&mut orderer, staged, &mut [&mut bob, &mut alice]);
	assert_eq!(bob.epoch(GROUP).unwrap(), 2);
	let message = alice.encrypt(GROUP, b"after the restart").unwrap();
	assert_eq!(bob.decrypt(GROUP, &message).unwrap().plaintext, b"after the restart");
	assert_eq!(applied.epoch, 1);
}

#[test]
fn the_binding_proof_is_what_the_keys_pallet_checks() {
	use sp_core::{ed25519, Pair};
	let phone = device(1);
	let proof = phone.binding_proof().unwrap();
	let mut message = DEVICE_PROOF_TAG.to_vec();
	phone.account().encode_to(&mut message);
	let key = ed25519::Public::from_raw(phone.signature_key());
	assert!(ed25519::Pair::verify(&ed25519::Signature::from_raw(proof), &message, &key));
	let mut other_account = DEVICE_PROOF_TAG.to_vec();
	device(2).account().encode_to(&mut other_account);
	assert!(!ed25519::Pair::verify(&ed25519::Signature::from_raw(proof), &other_account, &key));
}

#[test]
fn a_commit_or_welcome_whose_roster_is_not_the_chains_is_refused() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);
	let add = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	// The committer told the chain a roster without Carol, but its commit adds her.
	let lied = OrderedCommit { roster: roster_hash(&bob.roster(GROUP).unwrap()), ..add.ordered() };
	assert!(matches!(
		bob.apply_commit(GROUP, add.epoch + 1, &add.message, lied),
		Err(MlsError::RosterMismatch(2))
	));
	assert_eq!(bob.epoch(GROUP).unwrap(), 1, "nothing changed");
	let welcome = add.welcome.as_ref().unwrap();
	assert!(matches!(carol.join(welcome, GROUP, 2, lied), Err(MlsError::RosterMismatch(2))));
	assert!(!carol.is_in(GROUP));
	assert!(matches!(
		carol.join(welcome, GROUP + 1, 2, add.ordered()),
		Err(MlsError::WrongWelcome { group: GROUP, epoch: 2 })
	));
	// The honest record applies.
	ordered(&mut orderer, add.clone(), &mut [&mut alice, &mut bob]);
	join(&orderer, &mut carol, &add);
	assert_eq!(carol.roster(GROUP).unwrap(), alice.roster(GROUP).unwrap());
}

/// Issue 26's second attack: a member (Carol) makes up a welcome into the next epoch,
/// built on secrets of her own with the roster the chain will record, and sends it to
/// Bob before he applies the real commit. Bob must not move into her epoch.
#[test]
fn a_welcome_the_chain_did_not_record_moves_no_one() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);
	let add = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let add = ordered(&mut orderer, add, &mut [&mut alice, &mut bob]);
	join(&orderer, &mut carol, &add);

	// Carol's forgery: an MLS group of her own making that opens epoch 3 of the group
	// with exactly the devices the chain will record (hers, Alice's and Bob's).
	let packages = [bob.key_package(DAY).unwrap(), alice.key_package(DAY).unwrap()];
	let forged = carol.restart(GROUP, 3, &packages).unwrap();
	let forged_welcome = forged.welcome.clone().unwrap();
	// The chain records Alice's honest update for epoch 3.
	let update = ordered(&mut orderer, alice.update(GROUP).unwrap(), &mut [&mut alice, &mut carol]);
	let recorded = orderer.0[&3];
	assert_eq!(roster_hash(&forged.roster), recorded.roster, "only the welcome differs");
	assert!(matches!(
		bob.join(&forged_welcome, GROUP, 3, recorded),
		Err(MlsError::UnorderedWelcome(3))
	));
	// Even under a record that named it, a welcome does not take a device out of a group
	// it is in, unless the epoch restarts the group.
	let named = OrderedCommit { welcome: Some(welcome_hash(&forged_welcome)), ..recorded };
	assert!(matches!(
		bob.join(&forged_welcome, GROUP, 3, named),
		Err(MlsError::AlreadyIn { group: GROUP, epoch: 2 })
	));
	// Bob stayed where he was and follows the real commit.
	bob.apply_commit(GROUP, 3, &update.message, recorded).unwrap();
	assert_eq!(bob.epoch_authenticator(GROUP).unwrap(), alice.epoch_authenticator(GROUP).unwrap());
	let hello = alice.encrypt(GROUP, b"one group").unwrap();
	assert_eq!(bob.decrypt(GROUP, &hello).unwrap().plaintext, b"one group");
}

/// Issue 26's first attack: a member has the chain order bytes that are no commit. Every
/// other member finds it cannot apply, for good, and one of them restarts the group; all
/// join the new generation from its welcome and talk again, the junk's author included.
#[test]
fn a_group_whose_commit_does_not_apply_restarts() {
	let mut orderer = Orderer::default();
	let (mut alice, mut bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);
	let add = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let add = ordered(&mut orderer, add, &mut [&mut alice, &mut bob]);
	join(&orderer, &mut carol, &add);
	let old = alice.encrypt(GROUP, b"before the junk").unwrap();

	let junk = b"no commit at all".to_vec();
	let roster = alice.roster(GROUP).unwrap();
	let recorded = OrderedCommit {
		commit: commit_hash(&junk),
		roster: roster_hash(&roster),
		welcome: None,
		restart: false,
		authenticator: H256::repeat_byte(1),
	};
	for member in [&mut alice, &mut bob] {
		let error = member.apply_commit(GROUP, 3, &junk, recorded).unwrap_err();
		assert!(error.is_permanent_for_commit(), "{error}");
		assert_eq!(member.epoch(GROUP).unwrap(), 2, "nothing changed");
	}

	// Alice and Bob both restart on epoch 4; the chain takes Bob's.
	let packages =
		|who: &[&Device]| who.iter().map(|d| d.key_package(DAY).unwrap()).collect::<Vec<_>>();
	let alices = alice.restart(GROUP, 4, &packages(&[&bob, &carol])).unwrap();
	let bobs = bob.restart(GROUP, 4, &packages(&[&alice, &carol])).unwrap();
	assert_eq!((alices.epoch, bobs.epoch), (3, 3));
	let winner = orderer.submit(&bobs);
	assert!(winner.restart);
	bob.apply_commit(GROUP, 4, &bobs.message, winner).unwrap();
	assert!(matches!(
		alice.apply_commit(GROUP, 4, &alices.message, winner),
		Err(MlsError::NotOrdered { .. } | MlsError::RestartNeedsWelcome(4))
	));
	// Alice, behind at epoch 2, and Carol join Bob's new generation from its welcome.
	let welcome = bobs.welcome.as_ref().unwrap();
	alice.join(welcome, GROUP, 4, winner).unwrap();
	carol.join(welcome, GROUP, 4, winner).unwrap();
	for member in [&alice, &carol] {
		assert_eq!(member.epoch(GROUP).unwrap(), 4);
		assert_eq!(
			member.epoch_authenticator(GROUP).unwrap(),
			bob.epoch_authenticator(GROUP).unwrap()
		);
	}
	let hello = carol.encrypt(GROUP, b"back together").unwrap();
	assert_eq!(
		alice.decrypt(GROUP, &hello).unwrap(),
		Opened { sender: carol.id(), epoch: 4, plaintext: b"back together".to_vec() }
	);
	assert_eq!(bob.decrypt(GROUP, &hello).unwrap().plaintext, b"back together");
	// A letter sent just before the restart still opens: the generation before is kept
	// (read only) until the next restart.
	assert_eq!(bob.decrypt(GROUP, &old).unwrap().plaintext, b"before the junk");
	assert!(bob.decrypt(GROUP, &old).is_err(), "and only once");
	// The generation goes on with ordinary commits.
	let update = carol.update(GROUP).unwrap();
	assert_eq!(update.epoch, 4);
	ordered(&mut orderer, update, &mut [&mut carol, &mut alice, &mut bob]);
	assert_eq!(alice.epoch(GROUP).unwrap(), 5);
	// A saved state keeps the generation.
	let dir = tempfile::tempdir().unwrap();
	alice.save(&dir.path().join("alice"), &[1; 32]).unwrap();
	let mut again = Device::open(&dir.path().join("alice"), &[1; 32]).unwrap();
	assert_eq!(again.epoch(GROUP).unwrap(), 5);
	let after = bob.encrypt(GROUP, b"after a reload").unwrap();
	assert_eq!(again.decrypt(GROUP, &after).unwrap().epoch, 5);
}

/// A welcome whose hash the chain recorded but that leads to other epoch secrets than the
/// chain's record of the commit: the committer cannot hand a new device a group of its
/// own making.
#[test]
fn a_welcome_must_lead_to_the_recorded_epoch_secrets() {
	let mut orderer = Orderer::default();
	let (mut alice, _bob) = alice_and_bob(&mut orderer);
	let mut carol = device(3);
	let add = alice.commit(GROUP, &[carol.key_package(DAY).unwrap()], &[]).unwrap();
	let lied = OrderedCommit { authenticator: H256::repeat_byte(9), ..add.ordered() };
	let welcome = add.welcome.as_ref().unwrap();
	assert!(matches!(carol.join(welcome, GROUP, 2, lied), Err(MlsError::AuthenticatorMismatch(2))));
	assert!(!carol.is_in(GROUP), "nothing changed");
	// Members applying a commit check the same record.
	let mut bob = _bob;
	assert!(matches!(
		bob.apply_commit(GROUP, 2, &add.message, lied),
		Err(MlsError::AuthenticatorMismatch(2))
	));
	assert_eq!(bob.epoch(GROUP).unwrap(), 1);
	carol.join(welcome, GROUP, 2, add.ordered()).unwrap();
	assert_eq!(carol.epoch_authenticator(GROUP).unwrap(), {
		alice.apply_commit(GROUP, 2, &add.message, add.ordered()).unwrap();
		alice.epoch_authenticator(GROUP).unwrap()
	});
}

/// The chain takes any bytes as a key package: only one of the bound device, naming its
/// account, that validates, is added — junk from one member stops nobody's commits.
#[test]
fn only_a_bound_devices_own_valid_key_package_is_usable() {
	let checker = device(1);
	let bob = device(2);
	let package = bob.key_package(DAY).unwrap();
	let key = bob.signature_key();
	assert!(checker.usable_key_package(&package, bob.account(), &key));
	assert!(!checker.usable_key_package(b"junk", bob.account(), &key));
	assert!(!checker.usable_key_package(&package, checker.account(), &key), "another account");
	assert!(!checker.usable_key_package(&package, bob.account(), &[7; 32]), "another device");
	let mut tampered = package.clone();
	let last = tampered.len() - 1;
	tampered[last] ^= 1;
	assert!(!checker.usable_key_package(&tampered, bob.account(), &key));
}
