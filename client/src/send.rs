//! Sending. A letter is sealed for a conversation's current MLS epoch, signed by its
//! sender and handed to the node, which delivers it to every host of every member at once:
//! the message is out before any block. Notarization follows: one anchor per block covers
//! everything the sender sent since its last one ([`Messenger::notarize`], or a [`Notary`]
//! for a long-running client), each envelope a leaf binding it to its destination.

use crate::{
	chain::{failures, hash_value, vocabulary, At, ChainError, Included, Progress, Wait},
	database::{Message, MessageState},
	error::ClientError,
	messenger::Messenger,
	queries,
	seal::{self, Content, Letter, Sealed},
	BlockNumber,
};
use codec::Encode;
use quarks_primitives::{
	hosting::{
		batch_payload, submission_payload, BatchMembership, SignedMembership, Submission,
		SubmitAnswer, MAX_HOST_REQUEST_BYTES, MAX_SUBMISSIONS,
	},
	merkle::{self, AnchorLeaf},
	GroupId,
};
use sp_core::{crypto::AccountId32, Pair as _, H256};
use std::{
	sync::Arc,
	time::{Duration, SystemTime, UNIX_EPOCH},
};
use subxt::{dynamic::Value, rpcs::rpc_params};
use tokio::sync::{mpsc, oneshot};

/// Attempts at anchoring when the sender already anchored in the block, the block's
/// anchor slots are full, or the pool refused the transaction, a second apart. (Hosts keep
/// mail pending its anchor for 10 blocks from its arrival: the last attempts may come too
/// late for them.)
const ANCHOR_ATTEMPTS: u32 = 8;

/// Most messages one read receipt names.
pub const MAX_READ: u32 = 64;

/// How far back [`Messenger::resend_unsent`] looks: older messages stay failed, for the
/// user to send again if they still mean them.
pub const RESEND_WITHIN: Duration = Duration::from_secs(86_400);

/// An envelope handed to the node: delivered, not yet notarized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
	/// Its hash.
	pub hash: H256,
	/// Its leaf: hash, destination, size class.
	pub leaf: AnchorLeaf<AccountId32>,
}

/// An anchor of a batch of sent envelopes.
#[derive(Clone, Debug)]
pub struct Notarized {
	/// The root over the batch's leaves.
	pub root: H256,
	/// The anchoring transaction.
	pub included: Included,
	/// Each envelope's place in the batch.
	pub memberships: Vec<(H256, BatchMembership)>,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The root over `leaves` and each leaf's membership under it.
pub fn batch(leaves: &[AnchorLeaf<AccountId32>]) -> (H256, Vec<(H256, BatchMembership)>) {
	let values: Vec<H256> = leaves.iter().map(AnchorLeaf::value).collect();
	let root = merkle::batch_root(&values);
	let memberships = leaves
		.iter()
		.enumerate()
		.filter_map(|(i, leaf)| {
			let proof = merkle::inclusion_proof(&values, i as u32)?;
			Some((leaf.envelope, BatchMembership { root, proof }))
		})
		.collect();
	(root, memberships)
}

/// The `Messaging::anchor` call of `root` over `count` leaves, as a dynamic value.
pub(crate) fn anchor_call(root: &H256, count: u32) -> Value {
	vocabulary::ANCHOR.value(vec![("root", hash_value(root)), ("count", Value::u128(count.into()))])
}

impl Messenger {
	/// Sends `text` in the 1:1 conversation with `to`, starting it if there is none; the
	/// node delivers it at once. Notarize it with [`Self::notarize`].
	pub async fn send_direct(&self, to: &AccountId32, text: &str) -> Result<Sent, ClientError> {
		let group = self.conversation_with(to, &mut |_| {}).await?;
		self.send_group(group, text).await
	}

	/// Sends `text` to `group` under this device's current epoch of it, once the device
	/// has caught up with the epoch the chain ordered last, and once a membership change
	/// awaiting its commit has it (a member who left or was removed is still in the last
	/// committed epoch: nothing is sent there); the node delivers it at once.
	pub async fn send_group(&self, group: GroupId, text: &str) -> Result<Sent, ClientError> {
		let (sealed, sent_at) = self.seal_for(group, Content::Text(text.into())).await?;
		let hash = sealed.hash;
		// Answering a request accepts it.
		self.database.accept(group)?;
		self.database.add_conversation(group, None, sent_at)?;
		self.database.record(&Message {
			hash,
			group,
			sender: self.account().clone(),
			outgoing: true,
			text: text.into(),
			at: sent_at,
			state: MessageState::Sending,
			read_by: 0,
			delivered_to: 0,
		})?;
		match self.submit(sealed).await {
			Ok(sent) => {
				self.database.set_state(&hash, &MessageState::Pending)?;
				Ok(sent)
			}
			Err(error) => {
				self.database.set_state(&hash, &MessageState::Failed(error.to_string()))?;
				Err(error)
			}
		}
	}

	/// Tells the other members of `group` that this device read what it received there
	/// since it last told them (at most [`MAX_READ`] messages, the latest): a read receipt,
	/// sent and anchored like a letter. `None` if there is nothing new to tell.
	pub async fn send_read(&self, group: GroupId) -> Result<Option<Sent>, ClientError> {
		// A stranger does not learn that this account reads what they send until it accepts;
		// nothing goes to a conversation this device left (a blocked stranger's among them:
		// blocking ends its request, and a read of it may still be queued).
		if self.database.request(group)?.is_some() || !self.device(|d| d.is_in(group)) {
			return Ok(None);
		}
		let read = self.database.unreported_reads(group, MAX_READ)?;
		if read.is_empty() {
			return Ok(None);
		}
		let (sealed, _) = self.seal_for(group, Content::Read(read.clone())).await?;
		let sent = self.submit(sealed).await?;
		// Only what went, once it went: the rest goes with the next receipt.
		self.database.set_reported(&read)?;
		Ok(Some(sent))
	}

	/// Seals `content` for `group` under this device's current epoch of it, once the device
	/// has caught up with the chain and made any membership commit the chain awaits, and
	/// keeps the envelope and its message key (the sender's own device cannot open its MLS
	/// message) before anything else: whatever stops the send, it can go again.
	async fn seal_for(
		&self,
		group: GroupId,
		content: Content,
	) -> Result<(Sealed, u64), ClientError> {
		if !self.ensure_current(group).await?.committed {
			self.update(group, &mut |_| {}).await?;
		}
		let letter = Letter { sent_at: now_ms(), content: content.encode() };
		let (sealed, key) = self.with_device(|device| seal::seal_letter(device, group, &letter))?;
		self.store.put_message_key(&sealed.hash, &key)?;
		self.store.put(&sealed.bytes)?;
		Ok((sealed, letter.sent_at))
	}

	/// Hands to the node again what it never accepted from this device, sent in the last
	/// [`RESEND_WITHIN`] (a node or its connection was down, its limits refused it, the client
	/// stopped mid-send): the very envelopes, so nobody gets one twice. Returns each
	/// envelope's outcome; the database has each one's state.
	pub async fn resend_unsent(
		&self,
	) -> Result<Vec<(H256, Result<Sent, ClientError>)>, ClientError> {
		let since = now_ms().saturating_sub(RESEND_WITHIN.as_millis() as u64);
		let mut out = Vec::new();
		let mut kept = Vec::new();
		for hash in self.database.unsent(since)? {
			let parsed = match self.store.get(&hash)? {
				Some(bytes) => seal::parse(&bytes)
					.map(|(envelope, _)| Sealed { leaf: envelope.leaf(hash), hash, bytes })
					.map_err(ClientError::from),
				None => Err(ClientError::NotInStore(hash)),
			};
			match parsed {
				Ok(sealed) => {
					self.database.set_state(&hash, &MessageState::Sending)?;
					kept.push(sealed);
				}
				Err(error) => {
					let lost = format!("its envelope was not kept whole ({error}): type it again");
					self.database.set_state(&hash, &MessageState::Failed(lost))?;
					out.push((hash, Err(error)));
				}
			}
		}
		let hashes: Vec<H256> = kept.iter().map(|sealed| sealed.hash).collect();
		for (hash, outcome) in hashes.into_iter().zip(self.submit_all(kept).await) {
			let state = match &outcome {
				Ok(_) => MessageState::Pending,
				Err(error) => MessageState::Failed(error.to_string()),
			};
			self.database.set_state(&hash, &state)?;
			out.push((hash, outcome));
		}
		Ok(out)
	}

	/// Keeps `sealed` locally, signs it as this identity's submission and hands it to the
	/// node.
	pub(crate) async fn submit(&self, sealed: Sealed) -> Result<Sent, ClientError> {
		let submission = self.kept_and_signed(&sealed)?;
		let accepted: H256 = self
			.chain
			.rpc()
			.request(
				"quarks_submitEnvelope",
				rpc_params![array_bytes::bytes2hex("0x", submission.encode())],
			)
			.await?;
		accepted_as(&sealed, accepted)
	}

	/// Keeps `sealed` locally and signs it as this identity's submission.
	fn kept_and_signed(&self, sealed: &Sealed) -> Result<Submission, ClientError> {
		self.store.put(&sealed.bytes)?;
		let payload = submission_payload(&self.chain.genesis(), &sealed.hash);
		Ok(Submission { envelope: sealed.bytes.clone(), signature: self.pair().sign(&payload).0 })
	}

	/// [`Self::submit`] for several envelopes: one call to the node per
	/// [`MAX_SUBMISSIONS`] of them (and at most [`MAX_HOST_REQUEST_BYTES`]), each journaled
	/// there in one write. Each envelope's outcome, in order: a call that failed as a whole
	/// fails each of its envelopes. A node without the method (older than this client) is
	/// handed them one at a time.
	pub(crate) async fn submit_all(&self, sealed: Vec<Sealed>) -> Vec<Result<Sent, ClientError>> {
		let mut out = Vec::with_capacity(sealed.len());
		let mut one_at_a_time = sealed.len() == 1;
		for call in calls(sealed) {
			if !one_at_a_time {
				match self.submit_call(&call).await {
					Ok(answers) => {
						out.extend(answers);
						continue;
					}
					Err(error) if !is_unknown_method(&error) => {
						let failed = error.to_string();
						out.extend(
							call.iter().map(|_| Err(ChainError::Rpc(failed.clone()).into())),
						);
						continue;
					}
					Err(_) => one_at_a_time = true,
				}
			}
			for sealed in call {
				out.push(self.submit(sealed).await);
			}
		}
		out
	}

	/// One `quarks_submitEnvelopes` call: the node's answer for each of `call`.
	async fn submit_call(
		&self,
		call: &[Sealed],
	) -> Result<Vec<Result<Sent, ClientError>>, ClientError> {
		let submissions = call
			.iter()
			.map(|sealed| self.kept_and_signed(sealed))
			.collect::<Result<Vec<_>, _>>()?;
		let answers: Vec<SubmitAnswer> = self
			.chain
			.rpc()
			.request(
				"quarks_submitEnvelopes",
				rpc_params![array_bytes::bytes2hex("0x", submissions.encode())],
			)
			.await?;
		if answers.len() != call.len() {
			let counts = format!("{} answers for {} envelopes", answers.len(), call.len());
			return Err(ChainError::Decode(counts).into());
		}
		Ok(call
			.iter()
			.zip(answers)
			.map(|(sealed, answer)| match answer {
				SubmitAnswer::Accepted(hash) => accepted_as(sealed, hash),
				SubmitAnswer::Refused { code, message, .. } => {
					Err(ChainError::Rpc(format!("{message} (code {code})")).into())
				}
			})
			.collect())
	}

	/// Anchors `sent` in one transaction (a batch of one for a single envelope). For a
	/// larger batch, each envelope's membership goes to the node first, which hands it to
	/// the hosts. The memberships are kept locally for audits and proofs. If this identity
	/// already anchored in the current block, tries again in the next ones.
	pub async fn notarize(
		&self,
		sent: &[Sent],
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Notarized, ClientError> {
		let leaves: Vec<AnchorLeaf<AccountId32>> = sent.iter().map(|s| s.leaf.clone()).collect();
		let (root, memberships) = batch(&leaves);
		self.keep_memberships(&memberships).await?;
		let count = sent.len() as u32;
		let fields = vec![hash_value(&root), Value::u128(count.into())];
		let mut attempt = 1;
		let included = loop {
			match self.transact(vocabulary::ANCHOR, fields.clone(), wait, progress).await {
				// A refusal by the pool costs nothing and often passes built again at the
				// next block: a runtime upgrade between building and pooling (the signature
				// covers the spec version), or a nonce another process of this account took.
				Err(e)
					if (e.is_pallet_error(failures::ALREADY_ANCHORED_IN_BLOCK)
						|| e.is_pallet_error(failures::BLOCK_ANCHORS_FULL)
						|| matches!(e, ChainError::Refused(_)))
						&& attempt < ANCHOR_ATTEMPTS =>
				{
					attempt += 1;
					tokio::time::sleep(Duration::from_secs(1)).await;
					// An attempt reported failed may stand all the same (its answer was lost
					// with the connection): the root's anchor is what counts.
					if let Some(included) = self.anchored(&root).await {
						break included;
					}
				}
				// Such an attempt, found when the next one fails on it.
				Err(e) if e.is_pallet_error(failures::ALREADY_ANCHORED) => {
					break self.anchored(&root).await.ok_or(e)?
				}
				result => break result?,
			}
		};
		let block = included.block_number;
		let state = if included.finalized {
			MessageState::Final(block)
		} else {
			MessageState::Anchored(block)
		};
		for sent in sent {
			self.database.set_state(&sent.hash, &state)?;
		}
		Ok(Notarized { root, included, memberships })
	}
}

impl Messenger {
	/// This account's anchor of `root` on the best chain, as the transaction that made it
	/// would have reported it (not final: the notary proves that later).
	async fn anchored(&self, root: &H256) -> Option<Included> {
		let record = queries::anchor(&self.chain, self.account(), root, At::Best).await.ok()??;
		let block_hash: Option<H256> = self
			.chain
			.rpc()
			.request("chain_getBlockHash", rpc_params![record.anchored_at])
			.await
			.ok()?;
		Some(Included {
			block_hash: block_hash?,
			block_number: record.anchored_at,
			finalized: false,
			events: Vec::new(),
		})
	}

	/// Keeps where each envelope sits in its batch, and for a batch of more than one hands
	/// the memberships to the node, which tells the hosts (an envelope anchored alone
	/// needs none: its root is its own).
	pub(crate) async fn keep_memberships(
		&self,
		memberships: &[(H256, BatchMembership)],
	) -> Result<(), ClientError> {
		for (hash, membership) in memberships {
			self.store.put_membership(hash, membership)?;
		}
		let Some((_, first)) = memberships.first().filter(|_| memberships.len() > 1) else {
			return Ok(());
		};
		// One signature vouches for the batch's root: nodes and hosts take no other.
		let signature = self.pair().sign(&batch_payload(&self.chain.genesis(), &first.root)).0;
		let signed: Vec<(H256, SignedMembership)> = memberships
			.iter()
			.map(|(hash, membership)| {
				let membership = membership.clone();
				(*hash, SignedMembership { membership, signature: Some(signature) })
			})
			.collect();
		let _held: u32 = self
			.chain
			.rpc()
			.request(
				"quarks_submitMemberships",
				rpc_params![array_bytes::bytes2hex("0x", signed.encode())],
			)
			.await?;
		Ok(())
	}
}

/// How long a [`Notary`] waits for an anchor's block to be finalized.
const FINALITY_WAIT: Duration = Duration::from_secs(600);

impl Messenger {
	/// Marks `hashes` final once the block `included` their anchor is finalized; if
	/// another block is finalized at its height (the anchor was dropped with its fork),
	/// they stay anchored, which the user sees never turn final.
	async fn mark_final(self: Arc<Self>, hashes: Vec<H256>, included: Included) {
		let deadline = tokio::time::Instant::now() + FINALITY_WAIT;
		while tokio::time::Instant::now() < deadline {
			match self.chain.finalized_hash(included.block_number).await {
				Ok(Some(hash)) => {
					if hash == included.block_hash {
						let state = MessageState::Final(included.block_number);
						for hash in &hashes {
							let _ = self.database.set_state(hash, &state);
						}
					}
					return;
				}
				Ok(None) | Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
			}
		}
	}
}

/// What a [`Notary`] reports of one envelope: the block of its anchor.
pub type Notarization = Result<BlockNumber, String>;

/// Anchors what a long-running client sends, one transaction per block: envelopes handed
/// to it while an anchor is in flight go into the next one. Each envelope's state in the
/// database follows: anchored, then final once its block is.
#[derive(Clone)]
pub struct Notary {
	queue: mpsc::UnboundedSender<(Sent, oneshot::Sender<Notarization>)>,
}

impl Notary {
	/// A notary anchoring for `messenger`, running until every handle is dropped.
	pub fn start(messenger: Arc<Messenger>) -> Self {
		let (queue, mut rx) = mpsc::unbounded_channel::<(Sent, oneshot::Sender<Notarization>)>();
		tokio::spawn(async move {
			while let Some(first) = rx.recv().await {
				let mut batch = vec![first];
				while let Ok(next) = rx.try_recv() {
					batch.push(next);
				}
				let sent: Vec<Sent> = batch.iter().map(|(s, _)| s.clone()).collect();
				let outcome = messenger.notarize(&sent, Wait::InBlock, &mut |_| {}).await;
				if let Ok(notarized) = &outcome {
					let hashes = sent.iter().map(|s| s.hash).collect();
					tokio::spawn(messenger.clone().mark_final(hashes, notarized.included.clone()));
				}
				let outcome = outcome.map(|n| n.included.block_number).map_err(|e| e.to_string());
				for (_, reply) in batch {
					let _ = reply.send(outcome.clone());
				}
			}
		});
		Notary { queue }
	}

	/// Hands `sent` to the notary; the answer comes once its anchor is in a block.
	pub fn notarize(&self, sent: Sent) -> oneshot::Receiver<Notarization> {
		let (reply, answer) = oneshot::channel();
		if let Err(mpsc::error::SendError((_, reply))) = self.queue.send((sent, reply)) {
			let _ = reply.send(Err("the notary stopped".into()));
		}
		answer
	}
}

/// `sealed` as sent, if the node accepted it under its own hash.
fn accepted_as(sealed: &Sealed, accepted: H256) -> Result<Sent, ClientError> {
	if accepted != sealed.hash {
		let other = format!("the node accepted {accepted:?}, not {:?}", sealed.hash);
		return Err(ChainError::Decode(other).into());
	}
	Ok(Sent { hash: sealed.hash, leaf: sealed.leaf.clone() })
}

/// Whether `error` is a node's answer that it has no such method (JSON-RPC -32601).
fn is_unknown_method(error: &ClientError) -> bool {
	matches!(error, ClientError::Chain(ChainError::Rpc(message)) if message.contains("-32601") || message.contains("Method not found"))
}

/// `sealed` split into calls of at most [`MAX_SUBMISSIONS`] envelopes and (signatures and
/// framing included) [`MAX_HOST_REQUEST_BYTES`].
fn calls(sealed: Vec<Sealed>) -> Vec<Vec<Sealed>> {
	// An envelope's signature, its length prefix and the list's own prefix, with room.
	const FRAMING: usize = 80;
	let mut calls: Vec<Vec<Sealed>> = Vec::new();
	let mut bytes = 0;
	for envelope in sealed {
		let size = envelope.bytes.len() + FRAMING;
		let full = calls.last().is_none_or(|call| {
			call.len() >= MAX_SUBMISSIONS || bytes + size > MAX_HOST_REQUEST_BYTES
		});
		if full {
			calls.push(Vec::new());
			bytes = 0;
		}
		bytes += size;
		if let Some(call) = calls.last_mut() {
			call.push(envelope);
		}
	}
	calls
}

#[cfg(test)]
mod tests {
	use super::*;
	use quarks_primitives::Destination;

	fn sealed(len: usize) -> Sealed {
		let destination = Destination::Direct(AccountId32::new([1; 32]));
		let leaf = AnchorLeaf { envelope: H256::zero(), destination, size_class: 0 };
		Sealed { bytes: vec![0; len], hash: H256::zero(), leaf }
	}

	/// What subxt makes of a node's "no such method": the cue to submit one at a time.
	#[test]
	fn a_node_without_the_batch_method_is_recognised() {
		use subxt::rpcs::{Error, UserError};
		let answer = |error: UserError| ChainError::Rpc(Error::User(error).to_string()).into();
		assert!(is_unknown_method(&answer(UserError::method_not_found())));
		let refused = UserError { code: 9041, message: "bad signature".into(), data: None };
		assert!(!is_unknown_method(&answer(refused)));
	}

	#[test]
	fn calls_hold_at_most_256_envelopes_and_4_mib() {
		let sizes = |calls: Vec<Vec<Sealed>>| calls.iter().map(Vec::len).collect::<Vec<_>>();
		assert_eq!(sizes(calls((0..300).map(|_| sealed(1100)).collect())), vec![256, 44]);
		// 64 KiB envelopes: 63 fit in 4 MiB with their framing.
		assert_eq!(sizes(calls((0..70).map(|_| sealed(65_600)).collect())), vec![63, 7]);
		assert!(calls(Vec::new()).is_empty());
		// What the node measures: the encoded list of signed submissions.
		for call in calls((0..200).map(|i| sealed(1000 + 300 * i)).collect()) {
			let list: Vec<Submission> = call
				.iter()
				.map(|s| Submission { envelope: s.bytes.clone(), signature: [0; 64] })
				.collect();
			assert!(list.encoded_size() <= MAX_HOST_REQUEST_BYTES, "{}", list.encoded_size());
			assert!(call.len() <= MAX_SUBMISSIONS);
		}
	}
}
