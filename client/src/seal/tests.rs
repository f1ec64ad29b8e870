use super::*;
use sp_keyring::Sr25519Keyring::{Alice, Bob};

const GROUP: GroupId = 7;

fn letter(len: usize) -> Letter {
	Letter { sent_at: 1_700_000_000_000, content: vec![b'q'; len] }
}

/// Alice's device, alone in `GROUP` at epoch 1.
fn alice() -> Device {
	let mut device = Device::new(Alice.to_account_id()).expect("a device");
	let start = device.restart(GROUP, 1, &[]).expect("a group");
	device.apply_commit(GROUP, 1, &start.message, start.ordered()).expect("applied");
	device
}

fn seal(device: &mut Device, letter: &Letter) -> (Sealed, MessageKey) {
	seal_letter(device, GROUP, letter).expect("fits")
}

fn open(bytes: &[u8], key: &MessageKey) -> Result<Opened, SealError> {
	let (envelope, body) = parse(bytes)?;
	open_letter(&envelope, &body, key)
}

#[test]
fn letters_round_trip_in_every_size_class() {
	let mut device = alice();
	for content_len in [0, 400, 600, 3000, 15_000, 64_500] {
		let (sealed, key) = seal(&mut device, &letter(content_len));
		let opened = open(&sealed.bytes, &key).expect("opens with its key");
		assert_eq!(opened.letter, letter(content_len));
		assert_eq!(opened.sender, Alice.to_account_id());
		assert_eq!(opened.device, device.signature_key());
		assert_eq!(opened.destination, Destination::Group { group: GROUP, epoch: 1 });
		let envelope = Envelope::<AccountId32>::decode_checked(&sealed.bytes).expect("well formed");
		assert!(SIZE_CLASSES.contains(&(envelope.body.len() as u32)));
		assert_eq!(sealed.hash, hash_of(&sealed.bytes));
	}
	assert!(matches!(
		seal_letter(&mut device, GROUP, &letter(70_000)),
		Err(SealError::TooLong(70_000))
	));
}

#[test]
fn sizes_reveal_only_the_class() {
	let mut device = alice();
	let short = seal(&mut device, &letter(1)).0.bytes;
	let longer = seal(&mut device, &letter(400)).0.bytes;
	assert_eq!(short.len(), longer.len());
	let next = seal(&mut device, &letter(700)).0.bytes;
	assert!(next.len() > short.len(), "700 bytes no longer fit the 1 KiB class");
}

#[test]
fn random_letters_round_trip_and_any_flipped_bit_is_refused() {
	// Property check over random lengths, contents and bit positions.
	let mut device = alice();
	let mut rng = OsRng;
	for round in 0..64 {
		let len = (rng.next_u32() % 20_000) as usize;
		let mut content = vec![0u8; len];
		rng.fill_bytes(&mut content);
		let letter = Letter { sent_at: u64::from(rng.next_u32()), content };
		let (sealed, key) = seal(&mut device, &letter);
		assert_eq!(open(&sealed.bytes, &key).expect("opens").letter, letter);
		let bit = rng.next_u32() as usize % (sealed.bytes.len() * 8);
		let mut altered = sealed.bytes.clone();
		altered[bit / 8] ^= 1 << (bit % 8);
		// A flipped bit in the MLS part is MLS's to refuse; every other one is refused here.
		let (_, body) = parse(&sealed.bytes).expect("parses");
		let Body::Letter { mls, .. } = &body else { panic!("a letter") };
		let mls_at = sealed.bytes.windows(mls.len()).position(|w| w == mls.as_slice());
		let in_mls = mls_at.is_some_and(|at| (at..at + mls.len()).contains(&(bit / 8)));
		assert!(
			in_mls || open(&altered, &key).is_err(),
			"round {round}: bit {bit} flipped and accepted"
		);
	}
}

#[test]
fn an_envelope_opens_only_under_the_key_it_commits_to() {
	let mut device = alice();
	let (first, first_key) = seal(&mut device, &letter(10));
	let (second, second_key) =
		seal(&mut device, &Letter { sent_at: 1, content: b"other".to_vec() });
	assert!(matches!(open(&first.bytes, &second_key), Err(SealError::KeyCommitment)));

	// A two-letter envelope: the first's commitment and MLS part, the second's ciphertext.
	// Whoever the MLS part gives the second key (a sender can hand members different
	// ones) is refused before decrypting; the committed key does not open it.
	let (envelope, first_body) = parse(&first.bytes).expect("parses");
	let (_, second_body) = parse(&second.bytes).expect("parses");
	let (Body::Letter { mls, commitment, .. }, Body::Letter { ciphertext, .. }) =
		(first_body, second_body)
	else {
		panic!("letters")
	};
	let spliced = Body::Letter { mls, commitment, ciphertext };
	assert!(matches!(open_letter(&envelope, &spliced, &second_key), Err(SealError::KeyCommitment)));
	assert!(matches!(open_letter(&envelope, &spliced, &first_key), Err(SealError::Tampered)));
}

#[test]
fn a_letter_signed_by_another_device_is_refused() {
	let mut device = alice();
	let impostor = Device::new(Alice.to_account_id()).expect("a device");
	let letter = letter(10);
	let (sealed, key) = seal(&mut device, &letter);
	let (envelope, body) = parse(&sealed.bytes).expect("parses");
	let Body::Letter { mls, commitment, .. } = body else { panic!("a letter") };
	// The impostor's signature under the first device's name.
	let header = header(&envelope.sender, &envelope.destination, envelope.size_class);
	let signature = impostor.sign(&signing_payload(&header, &commitment, &letter)).expect("signs");
	let signed = Signed { letter, device: device.signature_key(), signature }.encode();
	let ciphertext = Aes256Gcm::new(&key.into())
		.encrypt(
			Nonce::from_slice(&[0; 12]),
			Payload { msg: &signed, aad: &aad(&header, &commitment) },
		)
		.expect("encrypts");
	let forged = Body::Letter { mls, commitment, ciphertext };
	assert!(matches!(open_letter(&envelope, &forged, &key), Err(SealError::BadSignature)));
}

#[test]
fn bodies_go_only_where_they_may() {
	let bob = Bob.to_account_id();
	let welcome = Body::Welcome { group: GROUP, epoch: 1, mls: vec![2; 100] };
	let sealed = seal_welcome(&bob, bob.clone(), GROUP, 1, vec![2; 100]).expect("sealed");
	let (envelope, body) = parse(&sealed.bytes).expect("parses");
	assert_eq!(body, welcome);
	assert!(matches!(open_letter(&envelope, &body, &[0; 32]), Err(SealError::NotA("letter"))));
	// A welcome to a group, and the retired commit mail (body index 1), are refused.
	let to_group =
		Envelope { destination: Destination::Group { group: GROUP, epoch: 1 }, ..envelope.clone() };
	assert!(matches!(parse(&to_group.encode()), Err(SealError::WrongDestination("welcome"))));
	let mut commit_mail = envelope.clone();
	commit_mail.body = vec![0; commit_mail.body.len()];
	commit_mail.body[0] = 1;
	assert!(parse(&commit_mail.encode()).is_err());

	// Anything but zeroes after the body is refused.
	let mut envelope = envelope;
	let last = envelope.body.len() - 1;
	envelope.body[last] = 1;
	assert!(matches!(parse(&envelope.encode()), Err(SealError::BadPadding)));
	assert!(matches!(
		parse(&sealed.bytes[1..]),
		Err(SealError::Malformed(EnvelopeError::Malformed))
	));
}

/// The format's test vector (docs/protocol.md): a fixed message key gives a fixed
/// commitment, and a fixed signed letter a fixed ciphertext.
#[test]
fn test_vector() {
	let key = [0x11; 32];
	assert_eq!(
		array_bytes::bytes2hex("", key_commitment(&key)),
		"83c74e6ee8c3fed6d619a7587c9630772da7da874d29dac3ff6f02fc7612b560",
		"BLAKE2-256 of \"quarks/v2/key\" and the key, computed independently with Python's hashlib"
	);
	let aad = [0x22; 8];
	let ciphertext = Aes256Gcm::new(&key.into())
		.encrypt(Nonce::from_slice(&[0; 12]), Payload { msg: b"hi Bob", aad: &aad })
		.expect("encrypts");
	assert_eq!(
		array_bytes::bytes2hex("", &ciphertext),
		"aca33e258ecdce45a557b2ed6ab5c0f35619b584ac6e",
		"AES-256-GCM, nonce zero, computed independently with Python's `cryptography`"
	);
}
