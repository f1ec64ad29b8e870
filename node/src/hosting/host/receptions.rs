//! What the recipients' devices have: a host keeps a recipient's copy until each device of
//! the recipient that counts for it said it has it (`MailboxAction::Received`), and looks
//! again, now and then, at accounts whose devices changed or who are no longer its users.

use super::{chain_error, Host, QuarksError, Reception};
use quarks_primitives::{hosting::HostingApi, Destination, DeviceKey, DeviceRecord};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sp_api::ProvideRuntimeApi;
use sp_core::H256;

/// Every this many finalized blocks, the host looks again at some accounts: at mail some
/// devices have (a device removed meanwhile no longer counts), and at whose contact lists
/// it keeps (a former user's are forgotten).
const SWEEP_EVERY: BlockNumber = 20;
/// Accounts of each kind one look covers; the next look goes on from the last.
const SWEEP_ACCOUNTS: usize = 256;

/// The finalized block of the last look, and the last account of each kind it covered.
#[derive(Default)]
pub(super) struct Sweep {
	at: BlockNumber,
	receiving: Option<AccountId>,
	listing: Option<AccountId>,
}

/// Where the next look starts after one that covered `accounts`: after the last, or over
/// again once a look came short of [`SWEEP_ACCOUNTS`].
fn next_start(accounts: &[AccountId]) -> Option<AccountId> {
	accounts.last().filter(|_| accounts.len() == SWEEP_ACCOUNTS).cloned()
}

impl<C> Host<C>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ BlockchainEvents<Block>
		+ Send
		+ Sync
		+ 'static,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
{
	/// Records that `device` of `who` has `envelopes`, and stops keeping for `who` those
	/// every device that counts now has; returns how many of them were kept for `who`.
	/// Refused (9044) unless `device` is bound to `who` now.
	pub fn received(
		&self,
		who: &AccountId,
		device: DeviceKey,
		envelopes: Vec<H256>,
	) -> Result<u32, QuarksError> {
		let view = self.view();
		let records = view.device_records(who)?;
		if !records.iter().any(|r| r.key == device && r.is_bound_at(&view.best)) {
			return Err(QuarksError::DeviceNotBound);
		}
		let until = view.best.saturating_add(self.retention(&view)?);
		let receptions = self.store.mark_received(who, device, &envelopes)?;
		let kept = receptions.len() as u32;
		// Who counts is read at the finalized block, and only final mail is let go: a
		// reorganisation cannot undo a removal or move an anchor under a deletion.
		let (at, finalized) = {
			let info = self.client.info();
			(info.finalized_hash, info.finalized_number)
		};
		let records =
			self.client.runtime_api().device_records(at, who.clone()).map_err(chain_error)?;
		self.let_go(who, &records, finalized, receptions, until)?;
		Ok(kept)
	}

	/// Stops keeping for `who` what every device of `who` that counts has, as of block
	/// `now`, tombstoned until `until`.
	fn let_go(
		&self,
		who: &AccountId,
		records: &[DeviceRecord<BlockNumber>],
		now: BlockNumber,
		receptions: Vec<Reception>,
		until: BlockNumber,
	) -> Result<(), QuarksError> {
		let delivered: Vec<H256> = receptions
			.into_iter()
			.filter(|reception| reception.is_delivered(records, now))
			.map(|reception| reception.hash)
			.collect();
		if delivered.is_empty() {
			return Ok(());
		}
		let pairs = delivered.into_iter().map(|hash| (hash, who.clone()));
		let deleted = self.store.stop_keeping(pairs, until)?;
		if deleted > 0 {
			log::debug!(target: "quarks-host", "deleted {deleted} envelope(s) for {who}: every device has them");
			if let Some(metrics) = &self.metrics {
				metrics.deleted_delivered.inc_by(u64::from(deleted));
			}
			self.report();
		}
		Ok(())
	}

	/// Every [`SWEEP_EVERY`] finalized blocks, looks again at the next
	/// [`SWEEP_ACCOUNTS`] accounts some of whose mail some devices have (a device removed
	/// since they said so no longer counts), and at the next that gave contact lists (a
	/// former user's are forgotten). A failing account is logged and the look goes on.
	pub(super) fn sweep(&self, at: H256, finalized: BlockNumber, until: BlockNumber) {
		let (receiving, listing) = {
			let mut sweep = self.sweep.lock();
			if finalized < sweep.at.saturating_add(SWEEP_EVERY) {
				return;
			}
			sweep.at = finalized;
			let receiving = self.store.receiving_accounts(sweep.receiving.as_ref(), SWEEP_ACCOUNTS);
			let listing = self.store.listing_accounts(sweep.listing.as_ref(), SWEEP_ACCOUNTS);
			(sweep.receiving, sweep.listing) = (next_start(&receiving), next_start(&listing.0));
			(receiving, listing)
		};
		self.let_go_of(&receiving, at, finalized, until);
		self.forget_former_users(&listing.0, listing.1, at);
	}

	/// Forgets the contact lists given before time `before` of those of `accounts` that
	/// chose this host neither at finalized block `at` nor at the best block (one who just
	/// chose it, not final yet, is a user) and keep no mail here: whom a former user
	/// accepted is none of its business.
	fn forget_former_users(&self, accounts: &[AccountId], before: u64, at: H256) {
		let api = self.client.runtime_api();
		let best = self.client.info().best_hash;
		for who in accounts.iter().filter(|who| !self.store.keeps_mail_for(who)) {
			let chosen_at = |block| {
				let direct = Destination::Direct(who.clone());
				let users = api.hosted_recipients(block, direct, self.operator.clone());
				users.map(|users| !users.is_empty()).map_err(chain_error)
			};
			let outcome = chosen_at(at).and_then(|chosen| match chosen {
				true => Ok(true),
				false => chosen_at(best),
			});
			let outcome = outcome.and_then(|chosen| match chosen {
				true => Ok(()),
				false => self.store.forget_contacts(who, before).map_err(QuarksError::from),
			});
			if let Err(error) = outcome {
				log::warn!(target: "quarks-host", "looking again at {who}'s contact lists failed: {error}");
			}
		}
	}

	/// Looks again at what some devices of each of `accounts` have, as of finalized block
	/// `at` (number `finalized`); a failure is logged and the next account looked at.
	pub(super) fn let_go_of(
		&self,
		accounts: &[AccountId],
		at: H256,
		finalized: BlockNumber,
		until: BlockNumber,
	) {
		let api = self.client.runtime_api();
		for who in accounts {
			let outcome =
				api.device_records(at, who.clone()).map_err(chain_error).and_then(|records| {
					self.let_go(who, &records, finalized, self.store.receptions(who), until)
				});
			if let Err(error) = outcome {
				log::warn!(target: "quarks-host", "looking again at {who}'s delivered mail failed: {error}");
			}
		}
	}
}
