//! The chain as admission sees it: the hosting runtime API's answers that decide whether a
//! node accepts a submission and a host keeps an envelope — whether a sender may send
//! there, where a destination's mail goes, where a leaf is anchored.
//!
//! One [`ChainCache`] per node serves its `quarks_*` methods and its mail host alike: each
//! answer is asked once per best block (a runtime call was most of a submission's cost,
//! and a sender's messages in one block ask the same), outside the cache's lock. The cache
//! follows the newest best block any request read (a request still reading an older one
//! reads through it, so requests do not empty it in turn), and each kind of answer keeps
//! at most [`MAX_ANSWERS_PER_KIND`]: past that it is asked, not kept, so a flood of one
//! kind (signatures of throwaway keys, each a `has_device` answer) evicts no other.

use super::error::{chain_error, QuarksError};
use parking_lot::Mutex;
use quarks_primitives::{
	hosting::{BatchMembership, HostInfo, HostingApi, MAX_ANCHOR_QUERIES},
	merkle::{single_proof, single_root},
	AnchorRecord, Destination, DeviceRecord,
};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::HeaderBackend;
use sp_api::{ApiRef, ProvideRuntimeApi};
use sp_core::H256;
use std::{
	collections::{HashMap, HashSet},
	hash::Hash,
};

/// Most answers of one kind kept for one best block.
const MAX_ANSWERS_PER_KIND: usize = 4096;

/// Where a destination's mail goes: each host operator and its record.
pub type DeliveryHosts = Vec<(AccountId, HostInfo<BlockNumber>)>;

/// The runtime's answers at one best block.
#[derive(Default)]
pub struct ChainCache(Mutex<Answers>);

#[derive(Default)]
struct Answers {
	at: H256,
	best: BlockNumber,
	devices: HashMap<AccountId, bool>,
	/// Groups' members at an epoch (who may send there).
	members: HashMap<Destination<AccountId>, Vec<AccountId>>,
	hosts: HashMap<Destination<AccountId>, DeliveryHosts>,
	/// (destination, host operator) → the destination's recipients who chose that host.
	hosted: HashMap<(Destination<AccountId>, AccountId), Vec<AccountId>>,
	anchors: HashMap<(AccountId, H256), Option<AnchorRecord<BlockNumber>>>,
}

/// The chain at the best block, as one request reads it.
pub struct ChainView<'a, C: ProvideRuntimeApi<Block>> {
	api: ApiRef<'a, C::Api>,
	cache: &'a ChainCache,
	/// The best block read.
	pub at: H256,
	/// Its number.
	pub best: BlockNumber,
	/// Anchors this request asked for all at once ([`Self::prefetch_anchors`]).
	prefetched: HashMap<(AccountId, H256), Option<AnchorRecord<BlockNumber>>>,
}

impl<'a, C> ChainView<'a, C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
{
	/// The chain at `client`'s best block, answers shared through `cache`.
	pub fn at_best(client: &'a C, cache: &'a ChainCache) -> Self {
		let info = client.info();
		ChainView {
			api: client.runtime_api(),
			cache,
			at: info.best_hash,
			best: info.best_number,
			prefetched: HashMap::new(),
		}
	}

	/// Reads the anchors under each (sender, root) in one runtime call per
	/// [`MAX_ANCHOR_QUERIES`], for [`Self::anchored`] to find: the envelopes of one host
	/// request each have their own root, and a runtime call apiece (a wasm instance set up
	/// and torn down) was a fifth of a host's time. A call that fails leaves its keys to
	/// be asked one by one.
	pub fn prefetch_anchors(&mut self, keys: impl IntoIterator<Item = (AccountId, H256)>) {
		let mut seen = HashSet::new();
		let keys: Vec<_> = keys.into_iter().filter(|key| seen.insert(key.clone())).collect();
		for chunk in keys.chunks(MAX_ANCHOR_QUERIES) {
			match self.api.anchors(self.at, chunk.to_vec()) {
				Ok(records) if records.len() == chunk.len() => {
					self.prefetched.extend(chunk.iter().cloned().zip(records))
				}
				Ok(records) => log::debug!(
					target: "quarks-host",
					"{} anchors answered for {} asked", records.len(), chunk.len()
				),
				Err(error) => {
					log::debug!(target: "quarks-host", "anchors not read at once: {error}")
				}
			}
		}
	}

	/// The cached answer to `key` in the map `pick` chooses, or `ask`'s, remembered.
	fn cached<K: Eq + Hash, V: Clone>(
		&self,
		pick: fn(&mut Answers) -> &mut HashMap<K, V>,
		key: K,
		ask: impl FnOnce(&ApiRef<'a, C::Api>) -> Result<V, sp_api::ApiError>,
	) -> Result<V, QuarksError> {
		{
			let mut answers = self.cache.0.lock();
			if answers.at != self.at && self.best >= answers.best {
				*answers = Answers { at: self.at, best: self.best, ..Default::default() };
			}
			if answers.at == self.at {
				if let Some(value) = pick(&mut answers).get(&key) {
					return Ok(value.clone());
				}
			}
		}
		// Asked outside the lock: runtime calls are the slow part.
		let value = ask(&self.api).map_err(chain_error)?;
		let mut answers = self.cache.0.lock();
		if answers.at == self.at {
			let kind = pick(&mut answers);
			if kind.len() < MAX_ANSWERS_PER_KIND {
				kind.insert(key, value.clone());
			}
		}
		Ok(value)
	}

	/// Whether `sender` may send to `destination`: an account with a bound device, to any
	/// account, or to a group it is a member of at the destination's epoch. The one rule
	/// by which a node accepts a submission and a host keeps an envelope.
	pub fn admit(
		&self,
		sender: &AccountId,
		destination: &Destination<AccountId>,
	) -> Result<(), QuarksError> {
		let at = self.at;
		let has_device = self.cached(
			|a| &mut a.devices,
			sender.clone(),
			|api| api.has_device(at, sender.clone()),
		)?;
		if !has_device {
			return Err(QuarksError::SenderHasNoDevice);
		}
		if let Destination::Group { .. } = destination {
			let members = self.cached(
				|a| &mut a.members,
				destination.clone(),
				|api| api.recipients(at, destination.clone()),
			)?;
			if !members.contains(sender) {
				return Err(QuarksError::NotAGroupMember);
			}
		}
		Ok(())
	}

	/// Every host `destination`'s mail goes to.
	pub fn delivery_hosts(
		&self,
		destination: &Destination<AccountId>,
	) -> Result<DeliveryHosts, QuarksError> {
		let at = self.at;
		self.cached(
			|a| &mut a.hosts,
			destination.clone(),
			|api| api.delivery_hosts(at, destination.clone()),
		)
	}

	/// The recipients of `destination` who chose host `operator`.
	pub fn hosted_recipients(
		&self,
		destination: &Destination<AccountId>,
		operator: &AccountId,
	) -> Result<Vec<AccountId>, QuarksError> {
		let at = self.at;
		self.cached(
			|a| &mut a.hosted,
			(destination.clone(), operator.clone()),
			|api| api.hosted_recipients(at, destination.clone(), operator.clone()),
		)
	}

	/// Where `leaf` of `sender` is anchored, going by `membership` (or by its own root, for
	/// an envelope anchored alone): `None` while no such anchor is in this block's state.
	pub fn anchored(
		&self,
		sender: &AccountId,
		leaf: &H256,
		membership: Option<&BatchMembership>,
	) -> Result<Option<(BlockNumber, BatchMembership)>, QuarksError> {
		let membership = membership
			.cloned()
			.unwrap_or_else(|| BatchMembership { root: single_root(leaf), proof: single_proof() });
		let at = self.at;
		let root = membership.root;
		let key = (sender.clone(), root);
		let anchor = match self.prefetched.get(&key) {
			Some(anchor) => anchor.clone(),
			None => {
				self.cached(|a| &mut a.anchors, key, |api| api.anchor(at, sender.clone(), root))?
			}
		};
		match anchor {
			Some(anchor) if anchor.covers(&membership.root, leaf, &membership.proof) => {
				Ok(Some((anchor.anchored_at, membership)))
			}
			Some(_) => Err(QuarksError::AnchorMismatch),
			None => Ok(None),
		}
	}

	/// `operator`'s host record now (not cached: it decides what a host keeps).
	pub fn host(&self, operator: &AccountId) -> Result<HostInfo<BlockNumber>, QuarksError> {
		self.api
			.host(self.at, operator.clone())
			.map_err(chain_error)?
			.ok_or(QuarksError::HostNotAdmitted)
	}

	/// The records of `who`'s devices the chain keeps, removed ones included.
	pub fn device_records(
		&self,
		who: &AccountId,
	) -> Result<Vec<DeviceRecord<BlockNumber>>, QuarksError> {
		self.api.device_records(self.at, who.clone()).map_err(chain_error)
	}
}
