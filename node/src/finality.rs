//! Finality proofs for clients that trust no node (docs/rpc.md): the GRANDPA justification
//! of a block or of a near descendant with the headers that link the two
//! (`quarks_finalityProof`), and the chain of authority-set hand-offs since a block a
//! client verified (`quarks_authorityChanges`, the warp-sync proof light clients use).
//! The client checks both with sc-consensus-grandpa's own code against a checkpoint it
//! trusts, so a node that lies is caught, not believed.
//!
//! GRANDPA keeps a justification at every authority-set change and once every
//! [`crate::service::GRANDPA_JUSTIFICATION_PERIOD`] finalized blocks, and always the latest
//! one: a proof for any finalized block needs at most about that many headers.

use std::sync::Arc;

use codec::Encode;
use jsonrpsee::{core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned};
use quarks_runtime::{opaque::Block, BlockNumber};
use sc_client_api::Backend;
use sc_consensus_grandpa::{
	best_justification, warp_proof::NetworkProvider, FinalityProof, GrandpaJustification,
	GRANDPA_ENGINE_ID,
};
use sc_network_sync::strategy::warp::WarpSyncProvider;
use sp_blockchain::{Backend as _, HeaderBackend};
use sp_core::{Bytes, H256};

/// Most headers one finality proof carries between its block and the justified one.
pub const MAX_PROOF_HEADERS: u32 = 1024;

/// The error code of a block this node cannot prove final.
const NO_PROOF: i32 = 9050;

/// The finality methods.
#[rpc(server, namespace = "quarks")]
pub trait FinalityApi {
	/// SCALE `FinalityProof` of finalized block `number`: the GRANDPA justification of the
	/// first block at or after it that has one (at most [`MAX_PROOF_HEADERS`] later), and the
	/// headers after `number` up to that block. `null` while `number` is not final.
	#[method(name = "finalityProof", blocking)]
	fn finality_proof(&self, number: BlockNumber) -> RpcResult<Option<Bytes>>;

	/// SCALE warp-sync proof from finalized block `from`: the last header of each authority
	/// set since, with its justification (the header names the next set), then the latest
	/// justification; cut at 8 MiB (its flag says whether it is complete).
	#[method(name = "authorityChanges", blocking)]
	fn authority_changes(&self, from: H256) -> RpcResult<Bytes>;
}

/// Serves [`FinalityApiServer`] from the node's database.
pub struct Finality<BE: Backend<Block>> {
	backend: Arc<BE>,
	warp: Arc<NetworkProvider<Block, BE>>,
}

impl<BE: Backend<Block>> Clone for Finality<BE> {
	fn clone(&self) -> Self {
		Self { backend: self.backend.clone(), warp: self.warp.clone() }
	}
}

impl<BE: Backend<Block>> Finality<BE> {
	/// Proofs from `backend`, and the network's `warp` provider for the hand-offs.
	pub fn new(backend: Arc<BE>, warp: Arc<NetworkProvider<Block, BE>>) -> Self {
		Self { backend, warp }
	}

	fn prove(&self, number: BlockNumber) -> Result<Option<Vec<u8>>, String> {
		let chain = self.backend.blockchain();
		let finalized = chain.info().finalized_number;
		if number > finalized {
			return Ok(None);
		}
		// The first kept justification at or after `number` is from the set that finalized
		// it: the last block of every set keeps one.
		let last = finalized.min(number.saturating_add(MAX_PROOF_HEADERS));
		let mut kept = None;
		for at in number..=last {
			let hash = chain.hash(at).map_err(|e| e.to_string())?.ok_or("pruned")?;
			let justification = chain
				.justifications(hash)
				.map_err(|e| e.to_string())?
				.and_then(|all| all.into_justification(GRANDPA_ENGINE_ID));
			if let Some(justification) = justification {
				kept = Some((at, hash, justification));
				break;
			}
		}
		// Past the last periodic one: the latest finalized block's, which GRANDPA keeps
		// aside (its own finality proof provider finds none while no set has changed).
		let (justified, block, justification) = match kept {
			Some(kept) => kept,
			None => {
				// None yet (nothing finalized but genesis), or one behind `number` for a
				// moment: not provable yet.
				let best: Option<GrandpaJustification<Block>> =
					best_justification(&*self.backend).map_err(|e| e.to_string())?;
				let Some(best) = best.filter(|best| best.target().0 >= number) else {
					return Ok(None);
				};
				let (at, hash) = best.target();
				if at > last {
					return Err(format!("the latest justification is of block {at}"));
				}
				(at, hash, best.encode())
			}
		};
		let mut unknown_headers = Vec::new();
		for at in number.saturating_add(1)..=justified {
			let hash = chain.hash(at).map_err(|e| e.to_string())?.ok_or("pruned")?;
			unknown_headers.push(chain.header(hash).map_err(|e| e.to_string())?.ok_or("pruned")?);
		}
		Ok(Some(FinalityProof { block, justification, unknown_headers }.encode()))
	}
}

fn no_proof(reason: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(NO_PROOF, format!("cannot prove finality: {reason}"), None::<()>)
}

impl<BE: Backend<Block> + 'static> FinalityApiServer for Finality<BE> {
	fn finality_proof(&self, number: BlockNumber) -> RpcResult<Option<Bytes>> {
		Ok(self.prove(number).map_err(no_proof)?.map(Bytes))
	}

	fn authority_changes(&self, from: H256) -> RpcResult<Bytes> {
		Ok(Bytes(self.warp.generate(from).map_err(no_proof)?.0))
	}
}
