//! Sealing and opening envelopes: the body inside the outer [`Envelope`] that nodes and
//! hosts see (docs/protocol.md, "Envelope body").
//!
//! - 1:1: ephemeral-static X25519 → HKDF-SHA256 → AES-256-GCM. The body carries the
//!   recipient's key version, so old mail opens with the secret of its time.
//! - Groups: AES-256-GCM under the epoch's 32-byte group key.
//! - Both: the associated data is the envelope header (version, sender, destination, size
//!   class) and the body's clear prefix; the plaintext is the [`Letter`] with the sender's
//!   sr25519 signature over it and the header, zero-padded so the body fills its size class.

use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use codec::{Decode, Encode};
use hkdf::Hkdf;
use quarks_primitives::{
	envelope::{hash_of, Envelope, EnvelopeError, ENVELOPE_VERSION},
	merkle::AnchorLeaf,
	Destination, Epoch, GroupId, KeyVersion, SizeClass, SIZE_CLASSES,
};
use rand_core::RngCore;
use sha2::Sha256;
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use x25519_dalek::{PublicKey, StaticSecret};

/// HKDF info for 1:1 message keys.
pub const DIRECT_INFO: &[u8] = b"quarks/v1/direct";
/// Signing context of a letter.
pub const SIGNING_CONTEXT: &[u8] = b"quarks/v1/letter";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Key version, ephemeral public key and nonce before a 1:1 ciphertext.
const DIRECT_PREFIX: usize = 4 + 32 + NONCE_LEN;
/// The nonce before a group ciphertext.
const GROUP_PREFIX: usize = NONCE_LEN;

/// What a sender writes.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Letter {
	/// When it was written, in milliseconds since the Unix epoch (the sender's claim; the
	/// anchor's block is the chain's).
	pub sent_at: u64,
	/// The message.
	pub content: Vec<u8>,
}

/// What a letter carries (its `content`, SCALE-encoded).
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum Content {
	/// A text message.
	Text(String),
	/// The key of a group epoch, for one member.
	GroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
		/// The key.
		key: [u8; 32],
	},
}

/// A sealed envelope, with what sealing it computed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sealed {
	/// The encoded envelope.
	pub bytes: Vec<u8>,
	/// Its hash.
	pub hash: H256,
	/// Its leaf in an anchor: the hash, destination and size class.
	pub leaf: AnchorLeaf<AccountId32>,
}

/// The plaintext inside the ciphertext, before padding.
#[derive(Encode, Decode)]
struct Signed {
	letter: Letter,
	signature: [u8; 64],
}

/// Whom an envelope is sealed for.
pub enum SealFor<'a> {
	/// One person: their account and current encryption key.
	Direct {
		/// The recipient.
		account: &'a AccountId32,
		/// Their X25519 public key.
		key: &'a [u8; 32],
		/// Its on-chain version.
		version: KeyVersion,
	},
	/// A group at a key epoch.
	Group {
		/// The group.
		group: GroupId,
		/// The epoch whose key is used.
		epoch: Epoch,
		/// The epoch's group key.
		key: &'a [u8; 32],
	},
}

/// The key an envelope is opened with.
pub enum OpenWith<'a> {
	/// The recipient's account, and its X25519 secret for a key version (old versions
	/// open old mail).
	Direct {
		/// Who opens.
		me: &'a AccountId32,
		/// The secret of a key version, if still held.
		secret: &'a dyn Fn(KeyVersion) -> Option<StaticSecret>,
	},
	/// A group key for one epoch.
	Group {
		/// The group.
		group: GroupId,
		/// The epoch the key belongs to.
		epoch: Epoch,
		/// The key.
		key: &'a [u8; 32],
	},
	/// The envelope's AES-256-GCM key itself, as a recipient discloses it in a proof: it
	/// opens this one envelope (or, for a group, its epoch) and reveals no long-term secret.
	MessageKey(&'a [u8; 32]),
}

/// An opened, signature-checked envelope.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Opened {
	/// The sender, whose signature verified.
	pub sender: AccountId32,
	/// Where it went.
	pub destination: Destination<AccountId32>,
	/// What the sender wrote.
	pub letter: Letter,
	/// The sender's signature over the letter and header: the non-repudiation proof.
	pub signature: [u8; 64],
	/// The AES-256-GCM key that opened it (see [`OpenWith::MessageKey`]).
	pub message_key: [u8; 32],
}

/// Why an envelope could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
	/// The letter does not fit the largest size class.
	#[error("message too long: {0} bytes do not fit the largest size class")]
	TooLong(usize),
	/// Not a well-formed envelope.
	#[error("malformed envelope: {}", .0.describe())]
	Malformed(EnvelopeError),
	/// The envelope is for someone else (or for a group where a person was expected).
	#[error("envelope is not addressed to this recipient")]
	WrongRecipient,
	/// The envelope is for another group epoch than the key given.
	#[error("envelope is for epoch {found} of the group, not epoch {expected}")]
	WrongEpoch {
		/// The epoch of the key given.
		expected: Epoch,
		/// The envelope's epoch.
		found: Epoch,
	},
	/// No secret is held for the key version the envelope was sealed to.
	#[error("no secret for encryption key version {0}")]
	UnknownKeyVersion(KeyVersion),
	/// Decryption failed: the envelope was altered or sealed to another key.
	#[error("envelope was tampered with or sealed to another key")]
	Tampered,
	/// The sender's signature does not verify.
	#[error("bad signature: the letter is not signed by the claimed sender")]
	BadSignature,
	/// The decrypted plaintext is not a letter followed by zero padding.
	#[error("bad padding or letter encoding")]
	BadPadding,
	/// An X25519 public key of low order: the shared secret would not depend on our
	/// secret, so anyone could derive the message key.
	#[error("weak encryption key: a low-order X25519 point")]
	WeakKey,
}

fn header(
	sender: &AccountId32,
	destination: &Destination<AccountId32>,
	class: SizeClass,
) -> Vec<u8> {
	(ENVELOPE_VERSION, sender, destination, class).encode()
}

fn signing_payload(header: &[u8], letter: &Letter) -> Vec<u8> {
	(SIGNING_CONTEXT, header, letter).encode()
}

fn direct_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
	let salt = [&ephemeral[..], &recipient[..]].concat();
	let mut key = [0u8; 32];
	Hkdf::<Sha256>::new(Some(&salt), shared)
		.expand(DIRECT_INFO, &mut key)
		.expect("32 bytes is a valid HKDF-SHA256 output length");
	key
}

/// Seals `letter` from `sender` into an envelope of the smallest size class it fits; its
/// leaf is what the sender anchors.
pub fn seal(sender: &sr25519::Pair, to: SealFor<'_>, letter: &Letter) -> Result<Sealed, SealError> {
	let mut rng = OsRng;
	let mut ephemeral = [0u8; 32];
	let mut nonce = [0u8; NONCE_LEN];
	rng.fill_bytes(&mut ephemeral);
	rng.fill_bytes(&mut nonce);
	seal_with(sender, &AccountId32::from(sender.public()), to, letter, ephemeral, nonce)
}

/// [`seal`] with given randomness and claimed sender (for test vectors and tests).
fn seal_with(
	signer: &sr25519::Pair,
	sender: &AccountId32,
	to: SealFor<'_>,
	letter: &Letter,
	ephemeral: [u8; 32],
	nonce: [u8; NONCE_LEN],
) -> Result<Sealed, SealError> {
	let (destination, prefix_len) = match &to {
		SealFor::Direct { account, .. } => (Destination::Direct((*account).clone()), DIRECT_PREFIX),
		SealFor::Group { group, epoch, .. } => {
			(Destination::Group { group: *group, epoch: *epoch }, GROUP_PREFIX)
		}
	};
	// The signature's length is fixed, so the class can be chosen before signing.
	let signed_len = Signed { letter: letter.clone(), signature: [0; 64] }.encoded_size();
	let class = SIZE_CLASSES
		.iter()
		.position(|len| signed_len + prefix_len + TAG_LEN <= *len as usize)
		.ok_or(SealError::TooLong(letter.content.len()))? as SizeClass;
	let body_len = SIZE_CLASSES[class as usize] as usize;
	let header = header(sender, &destination, class);
	let signature = signer.sign(&signing_payload(&header, letter)).0;
	let mut plaintext = Signed { letter: letter.clone(), signature }.encode();
	plaintext.resize(body_len - prefix_len - TAG_LEN, 0);

	let (key, prefix) = match to {
		SealFor::Direct { key: recipient, version, .. } => {
			let secret = StaticSecret::from(ephemeral);
			let public = PublicKey::from(&secret).to_bytes();
			let shared = secret.diffie_hellman(&PublicKey::from(*recipient));
			if !shared.was_contributory() {
				return Err(SealError::WeakKey);
			}
			let shared = shared.to_bytes();
			let prefix = [&version.to_le_bytes()[..], &public, &nonce].concat();
			(direct_key(&shared, &public, recipient), prefix)
		}
		SealFor::Group { key, .. } => (*key, nonce.to_vec()),
	};
	let aad = [&header[..], &prefix].concat();
	let ciphertext = Aes256Gcm::new(&key.into())
		.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad })
		.map_err(|_| SealError::Tampered)?;
	let body = [prefix, ciphertext].concat();
	debug_assert_eq!(body.len(), body_len);
	let bytes = Envelope {
		version: ENVELOPE_VERSION,
		sender: sender.clone(),
		destination: destination.clone(),
		size_class: class,
		body,
	}
	.encode();
	let hash = hash_of(&bytes);
	Ok(Sealed { bytes, hash, leaf: AnchorLeaf { envelope: hash, destination, size_class: class } })
}

/// Opens an encoded envelope and checks the sender's signature. Chain checks (anchored,
/// sender's key valid at the anchoring block) are the caller's.
pub fn open(bytes: &[u8], with: OpenWith<'_>) -> Result<Opened, SealError> {
	let envelope = Envelope::<AccountId32>::decode_checked(bytes).map_err(SealError::Malformed)?;
	let header = header(&envelope.sender, &envelope.destination, envelope.size_class);
	let body = &envelope.body;
	let (key, prefix_len) = match (&with, &envelope.destination) {
		(OpenWith::Direct { me, secret }, Destination::Direct(to)) => {
			if to != *me {
				return Err(SealError::WrongRecipient);
			}
			let version = KeyVersion::from_le_bytes(body[..4].try_into().expect("4 bytes"));
			let ephemeral: [u8; 32] = body[4..36].try_into().expect("32 bytes");
			let secret = secret(version).ok_or(SealError::UnknownKeyVersion(version))?;
			let mine = PublicKey::from(&secret).to_bytes();
			let shared = secret.diffie_hellman(&PublicKey::from(ephemeral));
			if !shared.was_contributory() {
				return Err(SealError::WeakKey);
			}
			let shared = shared.to_bytes();
			(direct_key(&shared, &ephemeral, &mine), DIRECT_PREFIX)
		}
		(OpenWith::Group { group, epoch, key }, Destination::Group { group: g, epoch: e }) => {
			if g != group {
				return Err(SealError::WrongRecipient);
			}
			if e != epoch {
				return Err(SealError::WrongEpoch { expected: *epoch, found: *e });
			}
			(**key, GROUP_PREFIX)
		}
		(OpenWith::MessageKey(key), Destination::Direct(_)) => (**key, DIRECT_PREFIX),
		(OpenWith::MessageKey(key), Destination::Group { .. }) => (**key, GROUP_PREFIX),
		_ => return Err(SealError::WrongRecipient),
	};
	let (prefix, ciphertext) = body.split_at(prefix_len);
	let nonce = &prefix[prefix_len - NONCE_LEN..];
	let aad = [&header[..], prefix].concat();
	let plaintext = Aes256Gcm::new(&key.into())
		.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
		.map_err(|_| SealError::Tampered)?;
	let mut input = &plaintext[..];
	let signed = Signed::decode(&mut input).map_err(|_| SealError::BadPadding)?;
	if input.iter().any(|b| *b != 0) {
		return Err(SealError::BadPadding);
	}
	let public = sr25519::Public::from_raw(envelope.sender.clone().into());
	let signature = sr25519::Signature::from_raw(signed.signature);
	if !sr25519::Pair::verify(&signature, signing_payload(&header, &signed.letter), &public) {
		return Err(SealError::BadSignature);
	}
	Ok(Opened {
		sender: envelope.sender,
		destination: envelope.destination,
		letter: signed.letter,
		signature: signed.signature,
		message_key: key,
	})
}

/// The recipient key version a 1:1 envelope was sealed to (it travels in clear so the
/// recipient picks the right secret); `None` for group envelopes.
pub fn sealed_key_version(envelope: &Envelope<AccountId32>) -> Option<KeyVersion> {
	match envelope.destination {
		Destination::Direct(_) => {
			envelope.body.get(..4)?.try_into().ok().map(KeyVersion::from_le_bytes)
		}
		Destination::Group { .. } => None,
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::dev::{encryption_public, encryption_secret};
	use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie};

	fn letter(len: usize) -> Letter {
		Letter { sent_at: 1_700_000_000_000, content: vec![b'q'; len] }
	}

	fn bob_key() -> [u8; 32] {
		encryption_public("Bob")
	}

	fn to_bob(key: &[u8; 32]) -> SealFor<'_> {
		SealFor::Direct { account: Box::leak(Box::new(Bob.to_account_id())), key, version: 1 }
	}

	fn bob_secret(version: KeyVersion) -> Option<StaticSecret> {
		(version == 1).then(|| encryption_secret("Bob"))
	}

	fn as_bob(bytes: &[u8]) -> Result<Opened, SealError> {
		open(bytes, OpenWith::Direct { me: &Bob.to_account_id(), secret: &bob_secret })
	}

	const GROUP_KEY: [u8; 32] = [5; 32];

	fn to_group() -> SealFor<'static> {
		SealFor::Group { group: 7, epoch: 2, key: &GROUP_KEY }
	}

	#[test]
	fn direct_and_group_letters_round_trip_in_every_size_class() {
		let key = bob_key();
		for content_len in [0, 900, 1000, 4000, 16_000, 65_000] {
			let sealed =
				seal(&Alice.pair(), to_bob(&key), &letter(content_len)).expect("fits").bytes;
			let opened = as_bob(&sealed).expect("Bob opens");
			assert_eq!(opened.letter, letter(content_len));
			assert_eq!(opened.sender, Alice.to_account_id());
			let envelope = Envelope::<AccountId32>::decode_checked(&sealed).expect("well formed");
			assert!(SIZE_CLASSES.contains(&(envelope.body.len() as u32)));

			let sealed = seal(&Alice.pair(), to_group(), &letter(content_len)).expect("fits").bytes;
			let with = OpenWith::Group { group: 7, epoch: 2, key: &GROUP_KEY };
			assert_eq!(open(&sealed, with).expect("a member opens").letter, letter(content_len));
		}
	}

	#[test]
	fn low_order_keys_are_refused() {
		for point in quarks_primitives::LOW_ORDER_X25519 {
			assert_eq!(
				seal(&Alice.pair(), to_bob(&point), &letter(10)).map(|s| s.bytes),
				Err(SealError::WeakKey),
				"anyone could read a letter sealed to {point:?}"
			);
		}
		// An envelope whose ephemeral key is low-order carries no secret either.
		let mut sealed = seal(&Alice.pair(), to_bob(&bob_key()), &letter(10)).expect("fits").bytes;
		let body = sealed.len() - SIZE_CLASSES[0] as usize;
		sealed[body + 4..body + 36].copy_from_slice(&quarks_primitives::LOW_ORDER_X25519[2]);
		assert_eq!(as_bob(&sealed).map(|o| o.letter), Err(SealError::WeakKey));
	}

	#[test]
	fn sizes_reveal_only_the_class() {
		let key = bob_key();
		let short = seal(&Alice.pair(), to_bob(&key), &letter(1)).expect("fits").bytes;
		// 1024 bytes less the clear prefix, tag, signature, time and length prefix.
		let longer = seal(&Alice.pair(), to_bob(&key), &letter(886)).expect("fits").bytes;
		assert_eq!(short.len(), longer.len());
		let next = seal(&Alice.pair(), to_bob(&key), &letter(887)).expect("fits").bytes;
		assert!(next.len() > short.len(), "887 bytes no longer fit the 1 KiB class");
		assert_eq!(
			seal(&Alice.pair(), to_bob(&key), &letter(70_000)).map(|s| s.bytes),
			Err(SealError::TooLong(70_000))
		);
	}

	#[test]
	fn random_letters_round_trip_and_any_flipped_bit_is_refused() {
		// Property check over random lengths, contents, bit positions and destinations.
		let key = bob_key();
		let group_key = [3u8; 32];
		let mut rng = OsRng;
		for round in 0..64 {
			let len = (rng.next_u32() % 20_000) as usize;
			let mut content = vec![0u8; len];
			rng.fill_bytes(&mut content);
			let letter = Letter { sent_at: u64::from(rng.next_u32()), content };
			let group = round % 2 == 1;
			let to = if group {
				SealFor::Group { group: 7, epoch: 2, key: &group_key }
			} else {
				to_bob(&key)
			};
			let sealed = seal(&Alice.pair(), to, &letter).expect("fits the largest class").bytes;
			let open_it = |bytes: &[u8]| {
				if group {
					open(bytes, OpenWith::Group { group: 7, epoch: 2, key: &group_key })
				} else {
					as_bob(bytes)
				}
			};
			assert_eq!(open_it(&sealed).expect("opens").letter, letter);
			let bit = rng.next_u32() as usize % (sealed.len() * 8);
			let mut altered = sealed.clone();
			altered[bit / 8] ^= 1 << (bit % 8);
			assert!(open_it(&altered).is_err(), "round {round}: bit {bit} flipped and accepted");
		}
	}

	#[test]
	fn a_disclosed_message_key_opens_that_envelope_only() {
		let key = bob_key();
		let sealed = seal(&Alice.pair(), to_bob(&key), &letter(10)).expect("fits").bytes;
		let opened = as_bob(&sealed).expect("opens");
		let disclosed = open(&sealed, OpenWith::MessageKey(&opened.message_key)).expect("opens");
		assert_eq!(disclosed, opened);
		assert_eq!(sealed_key_version(&Envelope::decode_checked(&sealed).expect("ok")), Some(1));

		// Another message to Bob has another key: the disclosure reveals nothing else.
		let other = seal(&Alice.pair(), to_bob(&key), &letter(10)).expect("fits").bytes;
		assert_eq!(
			open(&other, OpenWith::MessageKey(&opened.message_key)),
			Err(SealError::Tampered)
		);
	}

	#[test]
	fn every_alteration_is_detected() {
		let key = bob_key();
		let sealed = seal(&Alice.pair(), to_bob(&key), &letter(10)).expect("fits").bytes;
		let body_start = sealed.len() - SIZE_CLASSES[0] as usize;
		// A flipped bit in the key version, the ephemeral key, the nonce, the ciphertext or
		// the tag.
		for at in [body_start + 40, body_start + 50, sealed.len() - 100, sealed.len() - 1] {
			let mut altered = sealed.clone();
			altered[at] ^= 1;
			assert_eq!(as_bob(&altered), Err(SealError::Tampered), "byte {at}");
		}
		let mut other_version = sealed.clone();
		other_version[body_start] = 2;
		assert_eq!(as_bob(&other_version), Err(SealError::UnknownKeyVersion(2)));
		// A header naming another sender: the associated data no longer matches.
		let mut envelope = Envelope::<AccountId32>::decode_checked(&sealed).expect("ok");
		envelope.sender = Charlie.to_account_id();
		assert_eq!(as_bob(&envelope.encode()), Err(SealError::Tampered));
		assert_eq!(as_bob(&sealed[1..]), Err(SealError::Malformed(EnvelopeError::Malformed)));
	}

	#[test]
	fn only_the_recipient_and_the_right_epoch_open() {
		let key = bob_key();
		let sealed = seal(&Alice.pair(), to_bob(&key), &letter(10)).expect("fits").bytes;
		let charlie = |_: KeyVersion| Some(encryption_secret("Charlie"));
		let as_charlie = OpenWith::Direct { me: &Charlie.to_account_id(), secret: &charlie };
		assert_eq!(open(&sealed, as_charlie), Err(SealError::WrongRecipient));
		// Charlie claiming to be Bob still lacks Bob's secret.
		let posing = OpenWith::Direct { me: &Bob.to_account_id(), secret: &charlie };
		assert_eq!(open(&sealed, posing), Err(SealError::Tampered));

		let sealed = seal(&Alice.pair(), to_group(), &letter(10)).expect("fits").bytes;
		let next_epoch = OpenWith::Group { group: 7, epoch: 3, key: &GROUP_KEY };
		assert_eq!(open(&sealed, next_epoch), Err(SealError::WrongEpoch { expected: 3, found: 2 }));
		let wrong_key = OpenWith::Group { group: 7, epoch: 2, key: &[6; 32] };
		assert_eq!(open(&sealed, wrong_key), Err(SealError::Tampered));
	}

	#[test]
	fn a_letter_signed_by_anyone_but_the_sender_is_refused() {
		let key = bob_key();
		let forged = seal_with(
			&Charlie.pair(),
			&Alice.to_account_id(),
			to_bob(&key),
			&letter(10),
			[1; 32],
			[2; NONCE_LEN],
		)
		.expect("fits")
		.bytes;
		assert_eq!(as_bob(&forged), Err(SealError::BadSignature));
	}

	/// The format's test vector (docs/protocol.md): fixed ephemeral key and nonce. The
	/// signature is randomised (sr25519), so the vector fixes everything but it and checks
	/// the parts a reimplementation must reproduce.
	#[test]
	fn test_vector() {
		let key = bob_key();
		let sealed = seal_with(
			&Alice.pair(),
			&Alice.to_account_id(),
			to_bob(&key),
			&Letter { sent_at: 0, content: b"hi Bob".to_vec() },
			[0x11; 32],
			[0x22; NONCE_LEN],
		)
		.expect("fits")
		.bytes;
		let envelope = Envelope::<AccountId32>::decode_checked(&sealed).expect("ok");
		let ephemeral = PublicKey::from(&StaticSecret::from([0x11; 32])).to_bytes();
		assert_eq!(
			array_bytes::bytes2hex("", ephemeral),
			"7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"
		);
		assert_eq!(&envelope.body[..4], &1u32.to_le_bytes());
		assert_eq!(&envelope.body[4..36], &ephemeral);
		assert_eq!(&envelope.body[36..48], &[0x22; NONCE_LEN]);
		let shared =
			StaticSecret::from([0x11; 32]).diffie_hellman(&PublicKey::from(key)).to_bytes();
		assert_eq!(
			array_bytes::bytes2hex("", direct_key(&shared, &ephemeral, &key)),
			"0d17eabb13b033fedcbcce41075610e3b7c5c7bbca447416ade250cba479a607",
			"message key, computed independently with Python's `cryptography`"
		);
		assert_eq!(as_bob(&sealed).expect("opens").letter.content, b"hi Bob");
		assert_ne!(
			hash_of(&sealed),
			seal(&Alice.pair(), to_bob(&key), &letter(6)).expect("fits").hash
		);
	}
}
