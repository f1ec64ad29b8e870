//! Reads this client proves instead of believing its node: a block is final only with a
//! GRANDPA proof ([`super::finality`]) from the client's checkpoint, and a value read at a
//! final block only with a Merkle proof against that block's state root
//! (`state_getReadProof`). A node that lies is refused with [`ChainError::Finality`] or
//! [`ChainError::Unproven`]; one that withholds is not believed either way.
//!
//! The checkpoint is pinned on first use (the node's finalized block and the authority set
//! its runtime names there, as SSH trusts a host key) or from a chain spec, and kept in a
//! file beside the keystore so a restart does not trust anew.

use super::{
	finality::{Checkpoint, FinalityError, Header},
	rpc_error,
	vocabulary::{Hasher, Keyed, Storage},
	Chain, ChainError,
};
use crate::BlockNumber;
use codec::{Decode, Encode};
use serde::Deserialize;
use sp_consensus_grandpa::AuthorityList;
use sp_core::{Bytes, H256};
use sp_io::hashing::{blake2_128, twox_128, twox_64};
use sp_runtime::traits::{BlakeTwo256, Header as _};
use std::{
	collections::BTreeMap,
	path::PathBuf,
	time::{Duration, Instant},
};
use subxt::rpcs::client::rpc_params;

/// A block proven final, with the state root its reads are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinalBlock {
	/// Its number.
	pub number: BlockNumber,
	/// Its hash, computed here from its header.
	pub hash: H256,
	/// Its state root.
	pub state_root: H256,
	/// The root of its extrinsics.
	pub extrinsics_root: H256,
}

impl FinalBlock {
	fn of(header: &Header) -> Self {
		Self {
			number: *header.number(),
			hash: header.hash(),
			state_root: header.state_root,
			extrinsics_root: header.extrinsics_root,
		}
	}
}

/// Final blocks one connection remembers having proven.
const MAX_PROVEN: usize = 4096;

/// How long the latest proven final block is reused before the node is asked again.
const LATEST_FOR: Duration = Duration::from_millis(500);

/// Most warp proofs one catch-up follows (each up to 8 MiB of hand-offs).
const MAX_CATCH_UP: usize = 16;

/// How far below the runtime's GRANDPA set id a pin looks for the voters' (one per forced
/// recovery that dropped a pending change).
const MAX_SET_ID_DRIFT: u64 = 8;

/// One connection's proven view of finality.
#[derive(Default)]
pub struct Finality {
	checkpoint: tokio::sync::Mutex<Option<Checkpoint>>,
	file: parking_lot::Mutex<Option<PathBuf>>,
	proven: parking_lot::Mutex<BTreeMap<BlockNumber, FinalBlock>>,
	latest: parking_lot::Mutex<Option<(Instant, FinalBlock)>>,
}

/// The key of storage map `item` under `parts`, one per hasher it declares; with fewer
/// parts, the prefix of the keys that start with them.
pub fn storage_key(item: &Keyed, parts: &[&[u8]]) -> Vec<u8> {
	let Keyed(Storage(pallet, entry), hashers) = item;
	debug_assert!(parts.len() <= hashers.len(), "{pallet}::{entry} takes one part per hasher");
	let mut key = [twox_128(pallet.as_bytes()), twox_128(entry.as_bytes())].concat();
	for (hasher, part) in hashers.iter().zip(parts) {
		match hasher {
			Hasher::Blake2_128Concat => key.extend(blake2_128(part)),
			Hasher::Twox64Concat => key.extend(twox_64(part)),
			Hasher::Identity => {}
		}
		key.extend_from_slice(part);
	}
	key
}

#[derive(Deserialize)]
struct ReadProof {
	proof: Vec<Bytes>,
}

impl Chain {
	/// Keeps this connection's checkpoint in `file`, trusting the one already there.
	pub fn keep_checkpoint(&self, file: PathBuf) -> Result<(), ChainError> {
		let unreadable = |e: String| ChainError::Decode(format!("{}: {e}", file.display()));
		match std::fs::read(&file) {
			Ok(bytes) => {
				let checkpoint =
					Checkpoint::decode(&mut &bytes[..]).map_err(|e| unreadable(e.to_string()))?;
				if checkpoint.sets.is_empty() {
					return Err(unreadable("a checkpoint with no authority set".into()));
				}
				let mut held = self.finality.checkpoint.try_lock().map_err(|_| busy())?;
				*held = Some(checkpoint);
				self.finality.proven.lock().clear();
				*self.finality.latest.lock() = None;
			}
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
			Err(e) => return Err(unreadable(e.to_string())),
		}
		*self.finality.file.lock() = Some(file);
		Ok(())
	}

	/// Trusts `checkpoint` from now on (a chain spec's genesis set, or one the user pinned).
	pub async fn trust(&self, checkpoint: Checkpoint) -> Result<(), ChainError> {
		let mut held = self.finality.checkpoint.lock().await;
		self.save(&checkpoint)?;
		*held = Some(checkpoint);
		self.finality.proven.lock().clear();
		*self.finality.latest.lock() = None;
		Ok(())
	}

	/// The checkpoint this connection trusts, if it has one yet.
	pub async fn checkpoint(&self) -> Option<Checkpoint> {
		self.finality.checkpoint.lock().await.clone()
	}

	fn save(&self, checkpoint: &Checkpoint) -> Result<(), ChainError> {
		let Some(file) = self.finality.file.lock().clone() else { return Ok(()) };
		let mut temporary = file.clone().into_os_string();
		temporary.push(".new");
		let written = std::fs::write(&temporary, checkpoint.encode())
			.and_then(|()| std::fs::rename(&temporary, &file));
		written.map_err(|e| ChainError::Decode(format!("cannot keep {}: {e}", file.display())))
	}

	/// The header whose hash is `hash`: the node's answer is checked, not believed.
	async fn header_of(&self, hash: H256) -> Result<Header, ChainError> {
		let header: Option<Header> = self.rpc.request("chain_getHeader", rpc_params![hash]).await?;
		header
			.filter(|header| header.hash() == hash)
			.ok_or_else(|| ChainError::Unproven(format!("no header for block {hash:?}")))
	}

	/// The header of block `number` on the node's chain, if it has one.
	async fn header(&self, number: BlockNumber) -> Result<Option<Header>, ChainError> {
		let hash: Option<H256> =
			self.rpc.request("chain_getBlockHash", rpc_params![number]).await?;
		let Some(hash) = hash else { return Ok(None) };
		let header: Option<Header> = self.rpc.request("chain_getHeader", rpc_params![hash]).await?;
		match header {
			Some(header) if *header.number() != number => Err(ChainError::Unproven(format!(
				"asked for block {number}'s header, given block {}'s",
				header.number()
			))),
			header => Ok(header),
		}
	}

	/// Block `number` proven final; `None` while the node does not prove it (not final
	/// yet, or withheld). With several nodes, one whose proof fails is recorded and the
	/// next one asked.
	pub async fn proven_final(
		&self,
		number: BlockNumber,
	) -> Result<Option<FinalBlock>, ChainError> {
		self.refusing(|| self.prove_final(number)).await
	}

	/// `attempt`'s answer; with several nodes, one whose answer failed its proof is
	/// recorded and `attempt` made again with the next, once per node.
	pub async fn refusing<T, F: std::future::Future<Output = Result<T, ChainError>>>(
		&self,
		mut attempt: impl FnMut() -> F,
	) -> Result<T, ChainError> {
		let mut left = self.nodes.len();
		loop {
			match attempt().await {
				Err(refused) if is_refusal(&refused) && left > 1 => {
					self.nodes.distrust(refused.to_string());
					left -= 1;
				}
				answer => return answer,
			}
		}
	}

	async fn prove_final(&self, number: BlockNumber) -> Result<Option<FinalBlock>, ChainError> {
		if let Some(block) = self.finality.proven.lock().get(&number) {
			return Ok(Some(*block));
		}
		let Some(header) = self.header(number).await? else { return Ok(None) };
		if number == 0 {
			// Genesis is final by definition, and no justification names it: it is the
			// chain this connection follows, or the node lies.
			if header.hash() != self.genesis() {
				return Err(ChainError::Unproven("a genesis header of another chain".into()));
			}
			return Ok(Some(FinalBlock::of(&header)));
		}
		let proof: Option<Bytes> =
			self.rpc.request("quarks_finalityProof", rpc_params![number]).await?;
		let Some(proof) = proof else { return Ok(None) };
		let mut held = self.finality.checkpoint.lock().await;
		let checkpoint = match held.take() {
			Some(checkpoint) => checkpoint,
			None => {
				let pinned = self.pin().await?;
				self.save(&pinned)?;
				pinned
			}
		};
		let checkpoint = held.insert(checkpoint);
		match checkpoint.verify(&header, &proof) {
			// Signed by a set after the ones this client knows: follow the hand-offs.
			Err(FinalityError::BadJustification { .. }) => {
				self.catch_up(checkpoint).await?;
				checkpoint.verify(&header, &proof)?;
			}
			verified => {
				verified?;
			}
		}
		let block = FinalBlock::of(&header);
		// Under the checkpoint's lock: `trust` clears what an older checkpoint proved.
		let mut proven = self.finality.proven.lock();
		proven.insert(number, block);
		if proven.len() > MAX_PROVEN {
			proven.pop_first();
		}
		drop(held);
		Ok(Some(block))
	}

	/// Block `number` proven final, with its header.
	pub async fn final_header(
		&self,
		number: BlockNumber,
	) -> Result<Option<(FinalBlock, Header)>, ChainError> {
		let Some(block) = self.proven_final(number).await? else { return Ok(None) };
		Ok(Some((block, self.header_of(block.hash).await?)))
	}

	/// Follows the node's authority-set hand-offs from `checkpoint`, keeping each step.
	async fn catch_up(&self, checkpoint: &mut Checkpoint) -> Result<(), ChainError> {
		for _ in 0..MAX_CATCH_UP {
			let proof: Bytes =
				self.rpc.request("quarks_authorityChanges", rpc_params![checkpoint.hash]).await?;
			let (next, finished) = checkpoint.advance(&proof)?;
			let moved = next != *checkpoint;
			if moved {
				self.save(&next)?;
				*checkpoint = next;
			}
			if finished || !moved {
				break;
			}
		}
		Ok(())
	}

	/// Trust on first use: the node's finalized block and the GRANDPA set its runtime names
	/// before it (the set that finalized it), under the set id whose signatures its
	/// justification bears: the runtime counts a standard change that GRANDPA later dropped
	/// for a forced one, so its id may run ahead of the voters'.
	async fn pin(&self) -> Result<Checkpoint, ChainError> {
		let hash: H256 = self.rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
		let header = self.header_of(hash).await?;
		let number = *header.number();
		let before = if number == 0 { hash } else { *header.parent_hash() };
		let authorities: AuthorityList =
			self.state_call("GrandpaApi_grandpa_authorities", before).await?;
		let id: u64 = self.state_call("GrandpaApi_current_set_id", before).await?;
		if number == 0 {
			// Nothing finalized since genesis: its voters are set 0, and nothing proves them
			// but the genesis itself.
			return Ok(Checkpoint::pinned(id, authorities, number, hash));
		}
		let proof: Bytes = self
			.rpc
			.request::<Option<Bytes>>("quarks_finalityProof", rpc_params![number])
			.await?
			.ok_or_else(|| {
				ChainError::Unproven(format!(
					"the node calls block {number} final and proves nothing"
				))
			})?;
		let mut refused = None;
		for candidate in (id.saturating_sub(MAX_SET_ID_DRIFT)..=id).rev() {
			let checkpoint = Checkpoint::pinned(candidate, authorities.clone(), number, hash);
			match checkpoint.verify(&header, &proof) {
				Ok(_) => return Ok(checkpoint.handing_off_at(&header)),
				Err(e) => refused = refused.or(Some(e)),
			}
		}
		Err(refused.map_or_else(|| rpc_error("no set to pin"), ChainError::Finality))
	}

	async fn state_call<T: Decode>(&self, method: &str, at: H256) -> Result<T, ChainError> {
		let answer: Bytes =
			self.rpc.request("state_call", rpc_params![method, Bytes(Vec::new()), at]).await?;
		T::decode(&mut &answer[..]).map_err(|e| ChainError::Decode(format!("{method}: {e}")))
	}

	/// The node's latest finalized block, proven (reused for half a second).
	pub async fn proven_latest(&self) -> Result<FinalBlock, ChainError> {
		if let Some((when, block)) = *self.finality.latest.lock() {
			if when.elapsed() < LATEST_FOR {
				return Ok(block);
			}
		}
		// Never behind the latest already proven: a node that names an older final block
		// (or a node behind the others) would have the client read a past state as now.
		let floor = self.finality.latest.lock().map_or(0, |(_, block)| block.number);
		let number = self.finalized().await?.max(floor);
		let block = self.proven_final(number).await?.ok_or_else(|| {
			ChainError::Finality(FinalityError::Malformed(format!(
				"the node calls block {number} final and proves nothing"
			)))
		})?;
		*self.finality.latest.lock() = Some((Instant::now(), block));
		Ok(block)
	}

	/// The node's list of the keys under `prefix` at `block`, at most `expected` + 1 of
	/// them (one more shows it named too many). Unproven: each is for the caller to prove.
	pub async fn keys_at(
		&self,
		block: &FinalBlock,
		prefix: &[u8],
		expected: u32,
	) -> Result<Vec<Vec<u8>>, ChainError> {
		const PAGE: u32 = 256;
		let most = expected.saturating_add(1) as usize;
		let mut keys: Vec<Vec<u8>> = Vec::new();
		let mut after: Option<Bytes> = None;
		// Each page adds keys or ends the list: at most `most` of them are asked for.
		while keys.len() < most {
			let count = PAGE.min((most - keys.len()) as u32);
			let asked = rpc_params![Bytes(prefix.to_vec()), count, after, block.hash];
			let mut page: Vec<Bytes> = self.rpc.request("state_getKeysPaged", asked).await?;
			page.truncate(count as usize);
			let full = page.len() as u32 >= count;
			after = page.last().cloned();
			for key in page {
				if !key.0.starts_with(prefix) {
					return Err(ChainError::Unproven("a key outside the prefix asked for".into()));
				}
				keys.push(key.0);
			}
			if !full {
				break;
			}
		}
		Ok(keys)
	}

	/// Proves that one of this client's transactions is final in block `number`, `hash`,
	/// and makes that block the latest, so that no read after it comes from before it (the
	/// group just created, the commit just ordered) whatever the cache held. The node's
	/// word alone moves nothing: a block it cannot prove is left for the next read.
	pub(crate) async fn saw_final(&self, number: BlockNumber, hash: H256) {
		let Ok(Some(block)) = self.proven_final(number).await else { return };
		let mut latest = self.finality.latest.lock();
		if block.hash == hash && latest.is_none_or(|(_, held)| held.number < number) {
			*latest = Some((Instant::now(), block));
		}
	}

	/// The values under `keys` at final `block`, each checked against its state root; with
	/// several nodes, one whose proof fails is recorded and the next one asked. No keys
	/// ask nothing: a node's proof of none is empty, and proves no root.
	pub async fn proven_read(
		&self,
		block: &FinalBlock,
		keys: &[Vec<u8>],
	) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
		if keys.is_empty() {
			return Ok(Vec::new());
		}
		self.refusing(|| self.read_proven(block, keys)).await
	}

	async fn read_proven(
		&self,
		block: &FinalBlock,
		keys: &[Vec<u8>],
	) -> Result<Vec<Option<Vec<u8>>>, ChainError> {
		let asked: Vec<Bytes> = keys.iter().cloned().map(Bytes).collect();
		let answer: ReadProof =
			self.rpc.request("state_getReadProof", rpc_params![asked, block.hash]).await?;
		let proof = sp_trie::StorageProof::new(answer.proof.into_iter().map(|node| node.0));
		let values =
			sp_state_machine::read_proof_check::<BlakeTwo256, _>(block.state_root, proof, keys)
				.map_err(|e| ChainError::Unproven(e.to_string()))?;
		keys.iter()
			.map(|key| {
				values.get(key).cloned().ok_or_else(|| {
					ChainError::Unproven(format!(
						"no proof of key {}",
						array_bytes::bytes2hex("0x", key)
					))
				})
			})
			.collect()
	}

	/// The value under `key` at the latest proven final block, decoded.
	pub async fn proven_value<T: Decode>(&self, key: Vec<u8>) -> Result<Option<T>, ChainError> {
		let block = self.proven_latest().await?;
		self.proven_value_at(&block, key).await
	}

	/// The value under `key` at final `block`, proven and decoded.
	pub async fn proven_value_at<T: Decode>(
		&self,
		block: &FinalBlock,
		key: Vec<u8>,
	) -> Result<Option<T>, ChainError> {
		let Some(Some(bytes)) = self.proven_read(block, &[key]).await?.pop() else {
			return Ok(None);
		};
		T::decode(&mut &bytes[..]).map(Some).map_err(|e| ChainError::Decode(e.to_string()))
	}
}

/// Checks that `extrinsics` are a block's whose header names `root`. The trie's layout
/// follows the runtime's `system_version` (V0 through 1, V1 after), which an upgrade may
/// change: either layout commits to the list as firmly.
pub fn check_extrinsics(extrinsics: &[Vec<u8>], root: &H256) -> Result<(), ChainError> {
	use sp_runtime::{traits::Hash, StateVersion};
	let under = |version| BlakeTwo256::ordered_trie_root(extrinsics.to_vec(), version);
	if under(StateVersion::V0) != *root && under(StateVersion::V1) != *root {
		return Err(ChainError::Unproven(format!(
			"a block body that is not the one its header {root:?} commits to"
		)));
	}
	Ok(())
}

/// Whether `error` is a node's answer that failed its proof.
fn is_refusal(error: &ChainError) -> bool {
	matches!(error, ChainError::Finality(_) | ChainError::Unproven(_))
}

fn busy() -> ChainError {
	rpc_error("the checkpoint is in use")
}
