//! Sizing the state a deposit pays for.

use codec::{Decode, Encode, MaxEncodedLen};

/// Bytes a `Blake2_128Concat` key's hash adds before the key.
pub const BLAKE2_128_CONCAT: usize = 16;
/// Bytes a `Twox64Concat` key's hash adds before the key.
pub const TWOX_64_CONCAT: usize = 8;

/// Most bytes one entry of a storage map keeps: its 32-byte pallet and item prefix, the
/// key's hash (`hash_len` bytes) and the key, and the value at its longest.
pub fn map_entry<K: MaxEncodedLen, V: MaxEncodedLen>(hash_len: usize) -> usize {
	32usize
		.saturating_add(hash_len)
		.saturating_add(K::max_encoded_len())
		.saturating_add(V::max_encoded_len())
}

/// The amount a deposit's ticket holds, for the pallets' invariant checks: a
/// `HoldConsideration` encodes as its amount alone (pinned by the keys pallet's
/// `a_ticket_encodes_as_its_amount`), and a ticket that holds nothing (`()`) as nothing,
/// read as zero.
pub fn held<Balance: Decode + Default>(ticket: &impl Encode) -> Balance {
	Balance::decode(&mut &ticket.encode()[..]).unwrap_or_default()
}
