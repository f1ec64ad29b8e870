//! Sealing and opening envelopes: the body inside the outer [`Envelope`] that nodes and
//! hosts see (docs/protocol.md, "Envelope body").
//!
//! Every conversation, 1:1 included, is an MLS group ([`crate::mls`]); its envelopes go to
//! `Destination::Group { group, epoch }`, except welcomes, which go to each new member's
//! account. A body is one [`Body`], SCALE-encoded and zero-padded to its size class:
//!
//! - **Letter**: a fresh 32-byte message key travels as the MLS application message, so
//!   forward and future secrecy are MLS's. The letter is AES-256-GCM under that key (nonce
//!   zero: the key is used once), with the header and the key's commitment as associated
//!   data; the commitment, BLAKE2-256 of [`KEY_COMMITMENT_TAG`] and the key, travels in
//!   clear, so one envelope opens to one letter only (AES-GCM alone is not key-committing).
//!   The letter is signed by the sender's device (Ed25519) over the header, commitment and
//!   letter: disclosing the message key proves that one message and nothing else.
//! - **Commit**: an MLS commit, which the chain orders before anyone applies it.
//! - **Welcome**: an MLS welcome into a group at an epoch, for the devices a commit adds.

use crate::mls::{Device, MlsError};
use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use codec::{Compact, CompactLen, Decode, Encode};
use quarks_primitives::{
	envelope::{hash_of, Envelope, EnvelopeError, ENVELOPE_VERSION},
	merkle::AnchorLeaf,
	Destination, DeviceKey, Epoch, GroupId, SizeClass, SIZE_CLASSES,
};
use rand_core::RngCore;
use sp_core::{crypto::AccountId32, ed25519, Blake2Hasher, Hasher, Pair as _, H256};
use zeroize::Zeroizing;

/// What a message key's commitment hashes before the key.
pub const KEY_COMMITMENT_TAG: &[u8] = b"quarks/v2/key";
/// What a device's letter signature covers first.
pub const SIGNING_CONTEXT: &[u8] = b"quarks/v2/letter";

const TAG_LEN: usize = 16;

/// A letter's one-time AES-256-GCM key; disclosing it proves that one letter.
pub type MessageKey = [u8; 32];

/// What a sender writes.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Letter {
	/// When it was written, in milliseconds since the Unix epoch (the sender's claim; the
	/// anchor's block is the chain's).
	pub sent_at: u64,
	/// The message: a SCALE-encoded [`Content`].
	pub content: Vec<u8>,
}

/// What a letter carries.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum Content {
	/// A text message.
	Text(String),
	/// The sender read these messages of the conversation (a read receipt).
	Read(Vec<H256>),
}

/// An envelope's body, before its zero padding.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum Body {
	/// A letter to a group.
	Letter {
		/// The MLS application message carrying the message key.
		mls: Vec<u8>,
		/// BLAKE2-256 of [`KEY_COMMITMENT_TAG`] and the message key.
		commitment: H256,
		/// The signed letter, AES-256-GCM under the message key.
		ciphertext: Vec<u8>,
	},
	// Index 1 was an MLS commit, sent as mail until commits travelled in the call that
	// orders them.
	/// An MLS welcome into `group` at `epoch`.
	#[codec(index = 2)]
	Welcome {
		/// The group.
		group: GroupId,
		/// The epoch the welcome opens.
		epoch: Epoch,
		/// The welcome message.
		mls: Vec<u8>,
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

/// The plaintext under the message key.
#[derive(Encode, Decode)]
struct Signed {
	letter: Letter,
	device: DeviceKey,
	signature: [u8; 64],
}

/// A letter opened with its message key, its device signature checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Opened {
	/// The sender's account (the envelope's, which anchors it).
	pub sender: AccountId32,
	/// The sender's device that signed the letter.
	pub device: DeviceKey,
	/// Where it went.
	pub destination: Destination<AccountId32>,
	/// What the sender wrote.
	pub letter: Letter,
	/// The device's signature over the header, commitment and letter.
	pub signature: [u8; 64],
	/// The key that opened it.
	pub message_key: MessageKey,
}

/// Why an envelope could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
	/// The letter does not fit the largest size class.
	#[error("message too long: {0} bytes do not fit the largest size class")]
	TooLong(usize),
	/// Not a well-formed envelope.
	#[error("malformed envelope: {}", .0.describe())]
	Malformed(EnvelopeError),
	/// The body is not a [`Body`] followed by zero padding.
	#[error("bad padding or body encoding")]
	BadPadding,
	/// A body sent where it cannot go: a letter or commit to one person, a welcome to a
	/// group.
	#[error("a {0} cannot go to this destination")]
	WrongDestination(&'static str),
	/// A letter was expected and the body is a commit or welcome, or the other way round.
	#[error("expected a {0}")]
	NotA(&'static str),
	/// The message key does not match the envelope's commitment.
	#[error("the message key is not the one the envelope commits to")]
	KeyCommitment,
	/// Decryption failed: the envelope was altered.
	#[error("envelope was tampered with")]
	Tampered,
	/// The device's signature does not verify.
	#[error("bad signature: the letter is not signed by the device it names")]
	BadSignature,
	/// MLS refused the message or could not make it.
	#[error(transparent)]
	Mls(#[from] MlsError),
}

fn header(
	sender: &AccountId32,
	destination: &Destination<AccountId32>,
	class: SizeClass,
) -> Vec<u8> {
	(ENVELOPE_VERSION, sender, destination, class).encode()
}

fn signing_payload(header: &[u8], commitment: &H256, letter: &Letter) -> Vec<u8> {
	(SIGNING_CONTEXT, header, commitment, letter).encode()
}

/// The commitment an envelope carries to its message key.
pub fn key_commitment(key: &MessageKey) -> H256 {
	Blake2Hasher::hash(&[KEY_COMMITMENT_TAG, &key[..]].concat())
}

fn aad(header: &[u8], commitment: &H256) -> Vec<u8> {
	[header, commitment.as_bytes()].concat()
}

/// The smallest size class a body of `len` bytes fits.
fn class_for(len: usize, letter_len: usize) -> Result<SizeClass, SealError> {
	SIZE_CLASSES
		.iter()
		.position(|class| len <= *class as usize)
		.map(|class| class as SizeClass)
		.ok_or(SealError::TooLong(letter_len))
}

fn envelope(
	sender: &AccountId32,
	destination: Destination<AccountId32>,
	class: SizeClass,
	body: &Body,
) -> Sealed {
	let mut padded = body.encode();
	padded.resize(SIZE_CLASSES[class as usize] as usize, 0);
	let bytes = Envelope {
		version: ENVELOPE_VERSION,
		sender: sender.clone(),
		destination: destination.clone(),
		size_class: class,
		body: padded,
	}
	.encode();
	let hash = hash_of(&bytes);
	Sealed { bytes, hash, leaf: AnchorLeaf { envelope: hash, destination, size_class: class } }
}

/// Seals `letter` from `sender`'s `device` to `group` at the device's current `epoch` of
/// it, under a fresh message key; returns the envelope and the key.
pub fn seal_letter(
	device: &mut Device,
	group: GroupId,
	letter: &Letter,
) -> Result<(Sealed, MessageKey), SealError> {
	let epoch = device.epoch(group)?;
	let mut key = Zeroizing::new([0u8; 32]);
	OsRng.fill_bytes(key.as_mut());
	// Refused before MLS spends a generation of its ratchet on it.
	let signed_len =
		Signed { letter: letter.clone(), device: [0; 32], signature: [0; 64] }.encoded_size();
	class_for(signed_len.saturating_add(TAG_LEN), letter.content.len())?;
	let mls = device.encrypt(group, key.as_ref())?;
	let sender = device.account().clone();
	seal_letter_with(&sender, device, group, epoch, letter, *key, mls).map(|sealed| (sealed, *key))
}

/// [`seal_letter`] with a given key and MLS message (for test vectors and tests).
fn seal_letter_with(
	sender: &AccountId32,
	device: &Device,
	group: GroupId,
	epoch: Epoch,
	letter: &Letter,
	key: MessageKey,
	mls: Vec<u8>,
) -> Result<Sealed, SealError> {
	let destination = Destination::Group { group, epoch };
	let commitment = key_commitment(&key);
	let signed_len =
		Signed { letter: letter.clone(), device: [0; 32], signature: [0; 64] }.encoded_size();
	// Every length is known before signing, so the class (in the header) is too.
	let ciphertext_len = signed_len.saturating_add(TAG_LEN);
	let body_len = [
		1,
		Compact::<u32>::compact_len(&(mls.len() as u32)),
		mls.len(),
		32,
		Compact::<u32>::compact_len(&(ciphertext_len as u32)),
		ciphertext_len,
	]
	.iter()
	.fold(0usize, |len, part| len.saturating_add(*part));
	let class = class_for(body_len, letter.content.len())?;
	let header = header(sender, &destination, class);
	let signature = device.sign(&signing_payload(&header, &commitment, letter))?;
	let signed = Zeroizing::new(
		Signed { letter: letter.clone(), device: device.signature_key(), signature }.encode(),
	);
	let ciphertext = Aes256Gcm::new(&key.into())
		.encrypt(
			Nonce::from_slice(&[0; 12]),
			Payload { msg: &signed, aad: &aad(&header, &commitment) },
		)
		.map_err(|_| SealError::Tampered)?;
	Ok(envelope(sender, destination, class, &Body::Letter { mls, commitment, ciphertext }))
}

/// Seals an MLS welcome into `group` at `epoch` from `sender` to one member's account.
pub fn seal_welcome(
	sender: &AccountId32,
	to: AccountId32,
	group: GroupId,
	epoch: Epoch,
	mls: Vec<u8>,
) -> Result<Sealed, SealError> {
	let len = mls.len();
	let body = Body::Welcome { group, epoch, mls };
	let class = class_for(body.encoded_size(), len)?;
	Ok(envelope(sender, Destination::Direct(to), class, &body))
}

fn check_destination(body: &Body, destination: &Destination<AccountId32>) -> Result<(), SealError> {
	match (body, destination) {
		(Body::Letter { .. }, Destination::Direct(_)) => Err(SealError::WrongDestination("letter")),
		(Body::Welcome { .. }, Destination::Group { .. }) => {
			Err(SealError::WrongDestination("welcome"))
		}
		_ => Ok(()),
	}
}

/// Decodes a well-formed envelope and its body: one [`Body`], zero padding after it, sent
/// where such a body may go.
pub fn parse(bytes: &[u8]) -> Result<(Envelope<AccountId32>, Body), SealError> {
	let envelope = Envelope::<AccountId32>::decode_checked(bytes).map_err(SealError::Malformed)?;
	let mut input = &envelope.body[..];
	let body = Body::decode(&mut input).map_err(|_| SealError::BadPadding)?;
	if input.iter().any(|b| *b != 0) {
		return Err(SealError::BadPadding);
	}
	check_destination(&body, &envelope.destination)?;
	Ok((envelope, body))
}

/// Opens the letter of `envelope` (whose body is `body`) with its message `key` and checks
/// the device's signature. Whether that device was the sender's at the anchoring block is
/// the caller's to check on chain.
pub fn open_letter(
	envelope: &Envelope<AccountId32>,
	body: &Body,
	key: &MessageKey,
) -> Result<Opened, SealError> {
	let Body::Letter { commitment, ciphertext, .. } = body else {
		return Err(SealError::NotA("letter"));
	};
	if key_commitment(key) != *commitment {
		return Err(SealError::KeyCommitment);
	}
	let header = header(&envelope.sender, &envelope.destination, envelope.size_class);
	let plaintext = Aes256Gcm::new(&(*key).into())
		.decrypt(
			Nonce::from_slice(&[0; 12]),
			Payload { msg: ciphertext, aad: &aad(&header, commitment) },
		)
		.map(Zeroizing::new)
		.map_err(|_| SealError::Tampered)?;
	let signed = Signed::decode(&mut &plaintext[..]).map_err(|_| SealError::BadPadding)?;
	if signed.encoded_size() != plaintext.len() {
		return Err(SealError::BadPadding);
	}
	let public = ed25519::Public::from_raw(signed.device);
	let signature = ed25519::Signature::from_raw(signed.signature);
	if !ed25519::Pair::verify(
		&signature,
		signing_payload(&header, commitment, &signed.letter),
		&public,
	) {
		return Err(SealError::BadSignature);
	}
	Ok(Opened {
		sender: envelope.sender.clone(),
		device: signed.device,
		destination: envelope.destination.clone(),
		letter: signed.letter,
		signature: signed.signature,
		message_key: *key,
	})
}

#[cfg(test)]
mod tests;
