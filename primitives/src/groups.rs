//! What the chain keeps of a conversation (an MLS group), as the groups pallet stores it
//! and clients decode it: one definition for both.

use crate::Epoch;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash};

/// A group's counters and epoch.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct GroupInfo {
	/// Current members.
	pub members: u32,
	/// Current admins (a subset of the members).
	pub admins: u32,
	/// The open epoch.
	pub epoch: Epoch,
	/// Whether the open epoch's commit was ordered, so messages may use it.
	pub committed: bool,
}

impl GroupInfo {
	/// The latest epoch whose commit the chain ordered (0 before the first).
	pub fn ordered_epoch(&self) -> Epoch {
		if self.committed {
			self.epoch
		} else {
			self.epoch.saturating_sub(1)
		}
	}
}

/// A member's role.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct MemberInfo {
	/// Whether the member administers the group.
	pub admin: bool,
	/// The epoch the member (last) joined in; it cannot read earlier ones.
	pub joined: Epoch,
}

/// What the chain recorded of the MLS commit that opened an epoch.
///
/// The commit's message itself is in the body of block `at`, in its extrinsic number
/// `extrinsic` (the call that ordered it carries it), so every member can get it from any
/// node: the chain never orders a commit nobody can read.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct CommitRecord<AccountId, BlockNumber> {
	/// [`commit_hash`] of the commit's MLS message: the only commit for the epoch.
	pub commit: H256,
	/// The message's length in bytes.
	pub size: u32,
	/// [`roster_hash`] of the group's devices after it.
	pub roster: H256,
	/// [`welcome_hash`] of the MLS welcome for the devices it adds, if it adds any: the
	/// only welcome into the epoch a device accepts.
	pub welcome: Option<H256>,
	/// Whether it restarts the group (MLS's re-initialisation): a new MLS group of the
	/// current members' devices, every one of which joins from the welcome. A group's first
	/// commit is one; any member may order one when the group cannot go on otherwise.
	pub restart: bool,
	/// [`authenticator_hash`] of the MLS epoch authenticator the commit leads to: every
	/// member who applies the commit and every device that joins from the welcome must
	/// reach it, so a welcome cannot lead elsewhere than the commit, nor a commit lead its
	/// members to different secrets.
	pub authenticator: H256,
	/// The member who committed.
	pub committer: AccountId,
	/// The epoch whose member set holds for this one: the members changed last in that
	/// epoch.
	pub members_since: Epoch,
	/// The block that recorded it.
	pub at: BlockNumber,
	/// The index, in block `at`, of the extrinsic that carries the commit's message.
	pub extrinsic: u32,
}

/// What the chain records of a commit's MLS message: its BLAKE2-256.
pub fn commit_hash(message: &[u8]) -> H256 {
	BlakeTwo256::hash(message)
}

/// What the chain records of a welcome: its BLAKE2-256.
pub fn welcome_hash(welcome: &[u8]) -> H256 {
	BlakeTwo256::hash(welcome)
}

/// What the chain records of an MLS epoch authenticator (a secret every member of the
/// epoch derives): its BLAKE2-256 under a tag, which reveals nothing of it.
pub fn authenticator_hash(authenticator: &[u8]) -> H256 {
	BlakeTwo256::hash(&(b"quarks/epoch/1", authenticator).encode())
}

/// What the chain records of a roster (a group's devices, in ascending order): the
/// BLAKE2-256 of its SCALE encoding.
pub fn roster_hash(roster: &[crate::DeviceKey]) -> H256 {
	BlakeTwo256::hash(&roster.encode())
}

/// Most places [`find_message`] tries: an honest extrinsic holds the message's length
/// prefix once, and by chance a few times more; a crafted one cannot make a client hash
/// its whole block.
pub const MAX_MESSAGE_CANDIDATES: usize = 16;

/// The commit message of `size` bytes hashing to `commit` in `extrinsic`, the encoded
/// extrinsic that ordered it: the call carries it SCALE-encoded (its compact length, then
/// its bytes), inside whatever batch it came in. `None` if it is not among the first
/// [`MAX_MESSAGE_CANDIDATES`] places its length prefix appears.
pub fn find_message<'a>(extrinsic: &'a [u8], size: u32, commit: &H256) -> Option<&'a [u8]> {
	let prefix = codec::Compact(size).encode();
	let size = size as usize;
	extrinsic
		.windows(prefix.len())
		.enumerate()
		.filter(|(_, window)| *window == prefix.as_slice())
		.take(MAX_MESSAGE_CANDIDATES)
		.filter_map(|(at, _)| {
			let start = at.checked_add(prefix.len())?;
			extrinsic.get(start..start.checked_add(size)?)
		})
		.find(|message| commit_hash(message) == *commit)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_message_is_found_wherever_the_call_carries_it() {
		let message = vec![0xab; 300];
		let hash = commit_hash(&message);
		let mut extrinsic = vec![1, 2, 3];
		// A decoy of the same length before it.
		(vec![0xcd; 300], 9u8).encode_to(&mut extrinsic);
		(7u64, 3u32, message.clone(), vec![[5u8; 32]]).encode_to(&mut extrinsic);
		assert_eq!(find_message(&extrinsic, 300, &hash), Some(&message[..]));
		assert_eq!(find_message(&extrinsic, 299, &hash), None, "another length");
		assert_eq!(find_message(&extrinsic[..extrinsic.len() - 40], 300, &hash), None, "cut");
		assert_eq!(find_message(&[], 0, &commit_hash(&[])), None);
	}

	#[test]
	fn a_crafted_extrinsic_costs_a_bounded_search() {
		let message = vec![0xab; 64];
		let hash = commit_hash(&message);
		let mut extrinsic = Vec::new();
		for _ in 0..MAX_MESSAGE_CANDIDATES {
			vec![0u8; 64].encode_to(&mut extrinsic);
		}
		message.encode_to(&mut extrinsic);
		assert_eq!(find_message(&extrinsic, 64, &hash), None);
		assert_eq!(find_message(&extrinsic[64 + 2..], 64, &hash), Some(&message[..]));
	}
}
