//! The sealed envelope as it travels between clients, nodes and hosts.
//!
//! Nodes and hosts see only this outer shape: who sent it (the anchor's signer), where it
//! goes, and a body of exactly one size class holding the ciphertext. Its hash, what the
//! chain anchors, is BLAKE2-256 of its SCALE encoding. The body's inner layout belongs to
//! the client (docs/protocol.md).

use crate::{merkle::AnchorLeaf, Destination, SizeClass, SIZE_CLASSES};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash};

/// The envelope format version this code reads and writes.
pub const ENVELOPE_VERSION: u8 = 1;

/// Room the outer fields take beyond the body: version, sender, destination, class and
/// the body's length prefix.
const HEADER_ROOM: usize = 128;

/// The longest encoded envelope: a body of the largest size class plus its header.
pub const MAX_ENVELOPE_LEN: usize = SIZE_CLASSES[SIZE_CLASSES.len() - 1] as usize + HEADER_ROOM;

/// A sealed envelope.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct Envelope<AccountId> {
	/// Format version: [`ENVELOPE_VERSION`].
	pub version: u8,
	/// The sender, who signs the anchor.
	pub sender: AccountId,
	/// Where it goes.
	pub destination: Destination<AccountId>,
	/// Index into [`SIZE_CLASSES`]; the body is exactly that long.
	pub size_class: SizeClass,
	/// The ciphertext, padded to the size class.
	pub body: Vec<u8>,
}

/// Why bytes are not a well-formed envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EnvelopeError {
	/// Longer than [`MAX_ENVELOPE_LEN`].
	TooLarge,
	/// Not a SCALE-encoded envelope, or bytes left over after it.
	Malformed,
	/// A version this code does not know.
	UnknownVersion,
	/// The size class is not one of [`SIZE_CLASSES`], or the body is not exactly that long.
	NotPadded,
}

impl EnvelopeError {
	/// A sentence for error messages.
	pub fn describe(&self) -> &'static str {
		match self {
			Self::TooLarge => "envelope longer than the largest size class allows",
			Self::Malformed => "bytes are not a SCALE-encoded envelope",
			Self::UnknownVersion => "unknown envelope version",
			Self::NotPadded => "body is not exactly one size class long",
		}
	}
}

impl<AccountId: Decode + Encode> Envelope<AccountId> {
	/// Decodes `bytes` as one well-formed envelope, and nothing else.
	pub fn decode_checked(bytes: &[u8]) -> Result<Self, EnvelopeError> {
		if bytes.len() > MAX_ENVELOPE_LEN {
			return Err(EnvelopeError::TooLarge);
		}
		let mut input = bytes;
		let envelope = Self::decode(&mut input).map_err(|_| EnvelopeError::Malformed)?;
		if !input.is_empty() {
			return Err(EnvelopeError::Malformed);
		}
		if envelope.version != ENVELOPE_VERSION {
			return Err(EnvelopeError::UnknownVersion);
		}
		let class_len = SIZE_CLASSES.get(envelope.size_class as usize).copied();
		if class_len != Some(envelope.body.len() as u32) {
			return Err(EnvelopeError::NotPadded);
		}
		Ok(envelope)
	}

	/// The hash the chain anchors.
	pub fn hash(&self) -> H256 {
		hash_of(&self.encode())
	}

	/// This envelope's leaf in an anchor, given its hash.
	pub fn leaf(&self, hash: H256) -> AnchorLeaf<AccountId>
	where
		AccountId: Clone,
	{
		AnchorLeaf {
			envelope: hash,
			destination: self.destination.clone(),
			size_class: self.size_class,
		}
	}
}

/// The hash of an encoded envelope.
pub fn hash_of(encoded: &[u8]) -> H256 {
	<BlakeTwo256 as Hash>::hash(encoded)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn envelope(class: SizeClass, body_len: usize) -> Envelope<[u8; 32]> {
		Envelope {
			version: ENVELOPE_VERSION,
			sender: [1; 32],
			destination: Destination::Direct([2; 32]),
			size_class: class,
			body: alloc::vec![7; body_len],
		}
	}

	#[test]
	fn every_size_class_round_trips_within_the_length_bound() {
		for (class, len) in SIZE_CLASSES.iter().enumerate() {
			let original = envelope(class as u8, *len as usize);
			let bytes = original.encode();
			assert!(bytes.len() <= MAX_ENVELOPE_LEN);
			assert_eq!(Envelope::decode_checked(&bytes), Ok(original.clone()));
			assert_eq!(hash_of(&bytes), original.hash());
		}
	}

	#[test]
	fn bad_shapes_are_rejected_with_their_reason() {
		let unpadded = envelope(0, 1000).encode();
		assert_eq!(Envelope::<[u8; 32]>::decode_checked(&unpadded), Err(EnvelopeError::NotPadded));
		let no_class = envelope(9, 1024).encode();
		assert_eq!(Envelope::<[u8; 32]>::decode_checked(&no_class), Err(EnvelopeError::NotPadded));
		let mut future = envelope(0, 1024);
		future.version = 2;
		assert_eq!(
			Envelope::<[u8; 32]>::decode_checked(&future.encode()),
			Err(EnvelopeError::UnknownVersion)
		);
		let mut trailing = envelope(0, 1024).encode();
		trailing.push(0);
		assert_eq!(Envelope::<[u8; 32]>::decode_checked(&trailing), Err(EnvelopeError::Malformed));
		let truncated = &envelope(0, 1024).encode()[..500];
		assert_eq!(Envelope::<[u8; 32]>::decode_checked(truncated), Err(EnvelopeError::Malformed));
		let huge = alloc::vec![0u8; MAX_ENVELOPE_LEN + 1];
		assert_eq!(Envelope::<[u8; 32]>::decode_checked(&huge), Err(EnvelopeError::TooLarge));
	}
}
