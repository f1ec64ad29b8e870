//! What a proof carries so that it checks with no node at all: the anchoring block's header,
//! its GRANDPA finality proof, the chain of authority-set hand-offs from genesis, and the
//! Merkle proof of the anchor and the sender's device records in that block's state. The
//! verifier's only trust is the network's chain spec: its genesis (whose hash the proof
//! names) and the GRANDPA voters it starts with.

use super::ProofError;
use crate::{
	chain::{
		finality::{Checkpoint, Header},
		proven::storage_key,
		vocabulary, Chain, ChainError,
	},
	BlockNumber,
};
use codec::{Decode, DecodeAll, Encode};
use quarks_primitives::{AnchorRecord, DeviceRecord};
use serde::{Deserialize, Serialize};
use sp_consensus_grandpa::AuthorityList;
use sp_core::{crypto::AccountId32, Bytes, H256};
use sp_runtime::{
	traits::{BlakeTwo256, Hash as _, Header as _},
	StateVersion,
};
use subxt::rpcs::client::rpc_params;

/// The node-free part of a proof.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
	/// The anchoring block's header (SCALE).
	pub header: Bytes,
	/// Its finality: `quarks_finalityProof`'s answer (SCALE `FinalityProof`).
	pub finality: Bytes,
	/// The GRANDPA hand-offs from genesis: `quarks_authorityChanges`' answer (SCALE
	/// warp-sync proof).
	pub hand_offs: Bytes,
	/// The trie nodes proving the sender's anchor and device records in the anchoring
	/// block's state.
	pub state: Vec<Bytes>,
}

/// What the evidence shows: the anchor and device records the sender had at the block.
pub struct Proven {
	/// The anchor under the proof's root, if the block's state holds one.
	pub anchor: Option<AnchorRecord<BlockNumber>>,
	/// The sender's device records in that state.
	pub devices: Vec<DeviceRecord<BlockNumber>>,
}

/// The anchor, the sender's devices, and the hash of block 0 — which ties the state to one
/// chain: GRANDPA's signatures name no genesis, and two chains may share their voters.
fn keys(sender: &AccountId32, root: &H256) -> [Vec<u8>; 3] {
	[
		storage_key(&vocabulary::ANCHORS, &[sender.as_ref(), root.as_bytes()]),
		storage_key(&vocabulary::DEVICE_RECORDS, &[sender.as_ref()]),
		storage_key(&vocabulary::BLOCK_HASH, &[&BlockNumber::default().encode()]),
	]
}

/// Gathers from `chain` the evidence of `sender`'s anchor under `root` in final block
/// `number`, each part proven by this client first.
pub async fn gather(
	chain: &Chain,
	sender: &AccountId32,
	root: &H256,
	number: BlockNumber,
) -> Result<Option<Evidence>, ChainError> {
	let Some((block, header)) = chain.final_header(number).await? else { return Ok(None) };
	let Some(finality) =
		chain.rpc().request::<Option<Bytes>>("quarks_finalityProof", rpc_params![number]).await?
	else {
		return Ok(None);
	};
	let hand_offs: Bytes =
		chain.rpc().request("quarks_authorityChanges", rpc_params![chain.genesis()]).await?;
	let keys = keys(sender, root);
	chain.proven_read(&block, &keys).await?;
	let asked: Vec<Bytes> = keys.into_iter().map(Bytes).collect();
	let read: serde_json::Value =
		chain.rpc().request("state_getReadProof", rpc_params![asked, block.hash]).await?;
	let state = serde_json::from_value(read["proof"].clone())
		.map_err(|e| ChainError::Decode(format!("a read proof: {e}")))?;
	Ok(Some(Evidence { header: header.encode().into(), finality, hand_offs, state }))
}

/// What an offline check trusts: a network's genesis, from its raw chain spec.
#[derive(Clone, Debug)]
pub struct Genesis {
	/// The genesis block's hash under either trie layout (state version 1, then 0): the
	/// runtime's version picks one, and a proof's genesis hash must be one of them.
	hashes: [H256; 2],
	/// GRANDPA's voters at genesis: set 0.
	voters: AuthorityList,
}

impl Genesis {
	/// The genesis of raw chain spec `spec` (`quarks-node build-spec --raw`), its block
	/// rebuilt from the spec's storage as a node builds it.
	pub fn from_spec(spec: &serde_json::Value) -> Result<Self, ProofError> {
		let bad = |why: &str| ProofError::Format(format!("chain spec: {why}"));
		let raw = &spec["genesis"]["raw"];
		let top = raw["top"].as_object().ok_or_else(|| bad("no raw genesis (use --raw)"))?;
		if raw["childrenDefault"].as_object().is_some_and(|children| !children.is_empty()) {
			return Err(bad("child tries in genesis are not supported"));
		}
		let hex = |text: &str| array_bytes::hex2bytes(text).map_err(|_| bad("not hex"));
		let mut storage = Vec::with_capacity(top.len());
		for (key, value) in top {
			storage.push((hex(key)?, hex(value.as_str().ok_or_else(|| bad("not a string"))?)?));
		}
		let voters_key = storage_key(&vocabulary::GRANDPA_VOTERS, &[]);
		let voters = storage
			.iter()
			.find(|(key, _)| *key == voters_key)
			.and_then(|(_, value)| AuthorityList::decode_all(&mut &value[..]).ok())
			.ok_or_else(|| bad("no GRANDPA voters"))?;
		let built = |version: StateVersion| {
			let state_root = BlakeTwo256::trie_root(storage.clone(), version);
			let extrinsics_root = BlakeTwo256::trie_root(Vec::new(), version);
			Header::new(0, extrinsics_root, state_root, H256::zero(), Default::default()).hash()
		};
		Ok(Self { hashes: [built(StateVersion::V1), built(StateVersion::V0)], voters })
	}

	/// A checkpoint at this genesis, for a client to follow the node's finality from
	/// instead of trusting it on first use; the node's `genesis` must be this one.
	pub fn checkpoint(&self, genesis: H256) -> Result<Checkpoint, ProofError> {
		Ok(Checkpoint::pinned(0, self.voters_of(genesis)?.clone(), 0, genesis))
	}

	/// GRANDPA's first voters, if `genesis` is this network's.
	fn voters_of(&self, genesis: H256) -> Result<&AuthorityList, ProofError> {
		if !self.hashes.contains(&genesis) {
			return Err(ProofError::OtherChain { expected: self.hashes[0], found: genesis });
		}
		Ok(&self.voters)
	}
}

/// Checks `evidence` from genesis `trusted` (the proof names `genesis`), for `sender`'s
/// anchor under `root` in block `number` with hash `hash`: what that block's state held.
pub fn check(
	trusted: &Genesis,
	genesis: H256,
	evidence: &Evidence,
	(sender, root): (&AccountId32, &H256),
	(number, hash): (BlockNumber, H256),
) -> Result<Proven, ProofError> {
	let authorities = trusted.voters_of(genesis)?.clone();
	let malformed = |e: codec::Error| ProofError::Format(e.to_string());
	let header = Header::decode_all(&mut &evidence.header[..]).map_err(malformed)?;
	if header.hash() != hash || *header.number() != number {
		return Err(ProofError::AnchorMismatch);
	}
	let mut checkpoint = Checkpoint::pinned(0, authorities, 0, genesis);
	(checkpoint, _) = checkpoint.advance(&evidence.hand_offs).map_err(ChainError::Finality)?;
	checkpoint.verify(&header, &evidence.finality).map_err(ChainError::Finality)?;
	let proof = sp_trie::StorageProof::new(evidence.state.iter().map(|node| node.0.clone()));
	let keys = keys(sender, root);
	let mut values =
		sp_state_machine::read_proof_check::<BlakeTwo256, _>(header.state_root, proof, &keys)
			.map_err(|e| ChainError::Unproven(e.to_string()))?;
	let mut value = |key: &Vec<u8>| {
		values.remove(key).ok_or_else(|| ChainError::Unproven("a key the state proof lacks".into()))
	};
	let (anchor, devices, first) = (value(&keys[0])?, value(&keys[1])?, value(&keys[2])?);
	let decoded = |e: codec::Error| ChainError::Decode(e.to_string());
	let first = first.map(|hash| H256::decode(&mut &hash[..])).transpose().map_err(decoded)?;
	if first != Some(genesis) {
		let found = first.unwrap_or_default();
		return Err(ProofError::OtherChain { expected: genesis, found });
	}
	Ok(Proven {
		anchor: anchor.map(|a| AnchorRecord::decode(&mut &a[..])).transpose().map_err(decoded)?,
		devices: devices
			.map(|d| Vec::<DeviceRecord<BlockNumber>>::decode(&mut &d[..]))
			.transpose()
			.map_err(decoded)?
			.unwrap_or_default(),
	})
}

#[cfg(test)]
mod tests;
