//! Bounties: what a sender offers the hosts that deliver its mail (the bounties pallet).
//! Each receipt this client sends names the host its message came from
//! ([`crate::inbox::Received::fetched_from`]), which a bounty on the anchor pays.

use crate::{
	chain::{hash_value, vocabulary, ChainError, Included, Progress, Qrk, Wait},
	messenger::Messenger,
};
use sp_core::H256;
use subxt::dynamic::Value;

impl Messenger {
	/// Offers `per_receipt` for each of up to `receipts` receipts of the messages under
	/// this account's anchor `root`: held until paid to the hosts that deliver them, the
	/// rest returned when the anchor is pruned.
	pub async fn offer_bounty(
		&self,
		root: &H256,
		per_receipt: Qrk,
		receipts: u32,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		let fields =
			vec![hash_value(root), Value::u128(per_receipt.0), Value::u128(receipts.into())];
		self.transact(vocabulary::OFFER_BOUNTY, fields, wait, progress).await
	}
}
