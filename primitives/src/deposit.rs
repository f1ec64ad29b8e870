//! Sizing the state a deposit pays for.

use codec::MaxEncodedLen;

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
