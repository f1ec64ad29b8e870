//! Why the chain refused a transaction, as a user reads it: every error of the runtime a
//! user or an operator can cause is one sentence that says what to do; the rest (errors
//! this client handles itself, by trying again or by building its calls right) is named
//! here too, so a test can hold the list to the runtime's metadata.

use super::ChainError;
use std::fmt;
use subxt::error::{DispatchError, TokenError, TransactionEventsError};

/// A transaction that was included but failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
	/// A pallet's error, by the names the runtime's metadata gives it.
	Pallet {
		/// The pallet (`"Groups"`).
		pallet: String,
		/// The error (`"NotAdmin"`).
		error: String,
		/// The runtime's own description of it.
		docs: String,
	},
	/// Any other dispatch error (a bad origin, a token or arithmetic error), in subxt's
	/// words.
	Other(String),
}

impl Failure {
	/// What a transaction's events say: the failure it reports, or (its events could not
	/// be read) a transport error — the transaction may well stand.
	pub(super) fn of(error: TransactionEventsError) -> ChainError {
		let TransactionEventsError::ExtrinsicFailed(failed) = error else {
			return ChainError::Rpc(error.to_string());
		};
		ChainError::Dispatch(Self::of_dispatch(&failed))
	}

	/// A dispatch error, named by the runtime's metadata.
	pub(super) fn of_dispatch(failed: &DispatchError) -> Self {
		match failed {
			DispatchError::Module(module) => match module.details() {
				Ok(details) => Self::Pallet {
					pallet: details.pallet.name().to_owned(),
					error: details.variant.name.clone(),
					docs: details.variant.docs.join(" "),
				},
				Err(_) => Self::Other(failed.to_string()),
			},
			DispatchError::Token(token) => {
				Self::Other(token_sentence(token).map_or_else(|| failed.to_string(), Into::into))
			}
			_ => Self::Other(failed.to_string()),
		}
	}

	/// Whether this is a pallet's refusal of a deposit (or bounty) the account cannot hold.
	pub fn is_unpayable_deposit(&self) -> bool {
		matches!(self, Self::Pallet { error, .. } if error == "CannotPayDeposit")
			|| self.is(BOUNTY_UNPAYABLE)
	}

	/// Whether this is pallet error `expected`.
	pub fn is(&self, expected: PalletError) -> bool {
		matches!(self, Self::Pallet { pallet, error, .. } if (pallet.as_str(), error.as_str()) == (expected.0, expected.1))
	}
}

impl fmt::Display for Failure {
	fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
		match self {
			Self::Pallet { pallet, error, docs } => match sentence(pallet, error) {
				Some(sentence) => write!(f, "{sentence} ({pallet}::{error})"),
				None => write!(f, "{} ({pallet}::{error})", docs.trim()),
			},
			Self::Other(message) => f.write_str(message),
		}
	}
}

/// A pallet's error, by name: (pallet, error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PalletError(pub &'static str, pub &'static str);

/// Another member's commit took the epoch: the commit starts again from the chain.
pub const WRONG_EPOCH: PalletError = PalletError("Groups", "WrongEpoch");
/// The members' devices changed meanwhile: the commit starts again from the chain.
pub const ROSTER_MISMATCH: PalletError = PalletError("Groups", "RosterMismatch");
/// A device in the commit was unbound meanwhile: the commit starts again from the chain.
pub const DEVICE_NOT_BOUND: PalletError = PalletError("Groups", "DeviceNotBound");
/// Another member's commit restarted the update interval: the commit waits and retries.
pub const UPDATE_TOO_SOON: PalletError = PalletError("Groups", "UpdateTooSoon");
/// This account anchored in this block already: the next block.
pub const ALREADY_ANCHORED_IN_BLOCK: PalletError =
	PalletError("Messaging", "AlreadyAnchoredInBlock");
/// This block's anchor slots are full: the next block.
pub const BLOCK_ANCHORS_FULL: PalletError = PalletError("Messaging", "BlockAnchorsFull");
/// This root is anchored already: by an attempt reported failed that stood all the same.
pub const ALREADY_ANCHORED: PalletError = PalletError("Messaging", "AlreadyAnchored");
/// The account cannot hold the bounty it offers: refused before submitting, as a deposit.
pub const BOUNTY_UNPAYABLE: PalletError = PalletError("Bounties", "CannotPay");
/// Another device of this account acknowledged some of them first: the rest again.
pub const ALREADY_ACKNOWLEDGED: PalletError = PalletError("Messaging", "AlreadyAcknowledged");
/// This account acknowledged in this block already: the next block.
pub const ALREADY_ACKNOWLEDGED_IN_BLOCK: PalletError =
	PalletError("Messaging", "AlreadyAcknowledgedInBlock");
/// This block's receipt slots are full: the next block.
pub const BLOCK_RECEIPTS_FULL: PalletError = PalletError("Messaging", "BlockReceiptsFull");

/// Every error above: the client answers each by name, so the test that holds the
/// vocabulary to the runtime's metadata holds these too.
pub const ANSWERED: &[PalletError] = &[
	WRONG_EPOCH,
	ROSTER_MISMATCH,
	DEVICE_NOT_BOUND,
	UPDATE_TOO_SOON,
	ALREADY_ANCHORED_IN_BLOCK,
	BLOCK_ANCHORS_FULL,
	ALREADY_ACKNOWLEDGED,
	ALREADY_ACKNOWLEDGED_IN_BLOCK,
	BLOCK_RECEIPTS_FULL,
];

/// What a token error (a transfer's) means to whoever sent it.
fn token_sentence(error: &TokenError) -> Option<&'static str> {
	match error {
		TokenError::FundsUnavailable => sentence("Balances", "InsufficientBalance"),
		TokenError::BelowMinimum => sentence("Balances", "ExistentialDeposit"),
		TokenError::NotExpendable | TokenError::OnlyProvider => {
			sentence("Balances", "Expendability")
		}
		_ => None,
	}
}

/// What pallet error `pallet::error` means to whoever caused it, and what to do.
pub fn sentence(pallet: &str, error: &str) -> Option<&'static str> {
	SENTENCES.iter().find(|(p, e, _)| *p == pallet && *e == error).map(|(_, _, s)| *s)
}

/// Devices, host choices, groups and members' places each hold a deposit.
const CANNOT_PAY_DEPOSIT: &str = "Your account cannot hold the deposit this needs (state on chain is paid for while it is kept, and returned when it goes): `quarks whoami` shows what you hold; ask someone to `quarks pay` you.";

/// The errors a user (through `quarks`) or an operator can cause, each in a sentence (the
/// validator set's come through the privileged origin, whose own call reports them).
pub const SENTENCES: &[(&str, &str, &str)] = &[
	("Groups", "UnknownGroup", "There is no such group: `quarks chats` lists yours."),
	("Groups", "NotMember", "You are not a member of this group (any more): `quarks chats` lists your conversations."),
	("Groups", "NotAdmin", "Only an admin of this group can do that: ask one of them (`quarks group show` lists the members)."),
	("Groups", "AlreadyMember", "They are a member of this group already."),
	("Groups", "GroupFull", "This group has as many members as a group may: remove one before adding another."),
	("Groups", "DuplicateMember", "You named someone twice: name each member once."),
	("Groups", "LastAdmin", "The group would be left with members but no admin: remove the other members first, or leave it to another admin."),
	("Groups", "CannotRemoveSelf", "To leave a group, use `quarks group leave` (or /leave in the chat)."),
	("Groups", "RosterTooLarge", "The group would hold more devices than a group may: it cannot take this member."),
	("Groups", "UpdateTooSoon", "This group changed moments ago: try again in a few seconds."),
	("Groups", "CannotPayDeposit", CANNOT_PAY_DEPOSIT),
	("Hosts", "AlreadyHost", "This account runs an admitted host already: update its record instead."),
	("Hosts", "NotHost", "This account runs no admitted host: the network's operators admit hosts."),
	("Hosts", "EndpointTooLong", "The endpoint is longer than this network allows: give a shorter URL."),
	("Hosts", "InvalidEndpoint", "The endpoint must be a ws://, wss://, http:// or https:// URL, without \\, @ or % before its path, naming a host by its name or address."),
	("Hosts", "PrivateEndpoint", "The endpoint names a loopback or private address, which this network does not allow: give the host's public address."),
	("Hosts", "ZeroRetention", "A host must keep mail for at least one block: give a longer retention."),
	("Hosts", "RetentionTooLong", "That retention is longer than this network allows: give a shorter one."),
	("Hosts", "InvalidQuota", "Capacity and quota must both be positive, and the quota at most the capacity."),
	("Hosts", "NoHosts", "Choose at least one host: `quarks hosts list` shows them."),
	("Hosts", "TooManyHosts", "You chose more hosts than this network allows one account: choose fewer."),
	("Hosts", "DuplicateHost", "You named the same host twice: name each once."),
	("Hosts", "UnknownHost", "One of the accounts you named runs no admitted host: `quarks hosts list` shows those that do."),
	("Hosts", "CannotPayDeposit", CANNOT_PAY_DEPOSIT),
	("Hosts", "NoChoice", "You have not chosen hosts: there is nothing to clear."),
	("Keys", "ExpiryInPast", "That validity has already ended: give a number of days from now."),
	("Keys", "LifetimeTooLong", "That validity is longer than this network allows: give fewer days."),
	("Keys", "DeviceKeyTaken", "This device is bound to an account already, or was recently: make a new device of your account with `quarks init --suri <your account's secret>`."),
	("Keys", "TooManyDevices", "Your account has as many devices as it may keep: remove one you no longer use (`quarks device remove`), and try again once its record may go."),
	("Keys", "NoSuchDevice", "Your account has no such device: `quarks device list` shows them."),
	("Keys", "CannotPayDeposit", CANNOT_PAY_DEPOSIT),
	("Keys", "NothingToDrop", "No record of yours is of a device removed a week ago or more: there is nothing to drop."),
	("Messaging", "SenderHasNoDevice", "This account has no device on chain yet: run `quarks device register` first."),
	("Messaging", "BlockAnchorsFull", "The chain is busy (this block holds as many anchors as it may): send again in a moment; what you sent stays pending until then."),
	("Messaging", "BlockReceiptsFull", "The chain is busy (this block holds as many receipts as it may): the receipts go again in a moment."),
	("Bounties", "UnknownAnchor", "No anchor of yours has that root (never anchored, or pruned a week after): a bounty goes on an anchor of yours the chain keeps."),
	("Bounties", "AlreadyOffered", "That anchor has a bounty already."),
	("Bounties", "InvalidReceipts", "A bounty pays 1 to 256 receipts for each message under its anchor: give a number in that range."),
	("Bounties", "BelowMinimum", "Each receipt must pay at least the network's least share: offer more for each."),
	("Bounties", "CannotPay", "Your account cannot hold this bounty (what each receipt pays, times the receipts): `quarks whoami` shows what you hold."),
	("Balances", "InsufficientBalance", "You do not hold that much, with what your account must keep: `quarks whoami` shows what you hold."),
	("Balances", "ExistentialDeposit", "That is less than the least an account may hold: send more."),
	("Balances", "Expendability", "That would leave your account below the least it must keep: send a little less."),
	("ValidatorSet", "AlreadyValidator", "That account is a validator already."),
	("ValidatorSet", "NotValidator", "That account is not a validator."),
	("ValidatorSet", "AuraKeyInUse", "Another validator uses this Aura key: generate new session keys for this validator."),
	("ValidatorSet", "GrandpaKeyInUse", "Another validator uses this GRANDPA key: generate new session keys for this validator."),
	("ValidatorSet", "TooManyValidators", "The network has as many validators as it may: remove one first."),
	("ValidatorSet", "TooFewValidators", "The network would be left with fewer validators than it needs: add one first."),
	("ValidatorSet", "FinalityRecoveryRefused", "GRANDPA refused the forced change: another change is pending or the last one was too recent; wait and try again."),
];

/// The errors of Quarks' own pallets that no user causes by what they ask: this client
/// builds its calls so they should not happen, or handles them itself (tries again, starts
/// the commit again from the chain); one that happens all the same (a record pruned under
/// a late receipt) reads as the runtime's own words.
pub const HANDLED: &[(&str, &str)] = &[
	("Groups", "WrongEpoch"),
	("Groups", "RosterNotSorted"),
	("Groups", "DeviceNotBound"),
	("Groups", "RosterMismatch"),
	("Groups", "FirstCommitRestarts"),
	("Groups", "RestartWithoutWelcome"),
	("Keys", "BadDeviceProof"),
	("Keys", "EmptyKeyPackage"),
	("Messaging", "InvalidBatchSize"),
	("Messaging", "AlreadyAnchored"),
	("Messaging", "AlreadyAnchoredInBlock"),
	("Messaging", "UnknownAnchor"),
	("Messaging", "NotInAnchor"),
	("Messaging", "NotRecipient"),
	("Messaging", "AlreadyAcknowledged"),
	("Messaging", "AlreadyAcknowledgedInBlock"),
	("Messaging", "InvalidReceiptBatch"),
];

/// The pallets whose every error is in [`SENTENCES`] or [`HANDLED`].
pub const QUARKS_PALLETS: &[&str] =
	&["Bounties", "Groups", "Hosts", "Keys", "Messaging", "ValidatorSet"];

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_known_error_reads_as_its_sentence_and_an_unknown_one_as_the_runtimes_words() {
		let failure = |pallet: &str, error: &str| Failure::Pallet {
			pallet: pallet.into(),
			error: error.into(),
			docs: "The runtime's words.".into(),
		};
		assert_eq!(
			failure("Groups", "NotAdmin").to_string(),
			"Only an admin of this group can do that: ask one of them (`quarks group show` \
			 lists the members). (Groups::NotAdmin)"
		);
		assert_eq!(
			failure("Groups", "WrongEpoch").to_string(),
			"The runtime's words. (Groups::WrongEpoch)"
		);
		assert!(failure("Messaging", "AlreadyAnchoredInBlock").is(ALREADY_ANCHORED_IN_BLOCK));
		assert!(!failure("Messaging", "AlreadyAcknowledgedInBlock").is(ALREADY_ACKNOWLEDGED));
		assert!(!failure("Groups", "AlreadyAnchoredInBlock").is(ALREADY_ANCHORED_IN_BLOCK));
	}

	#[test]
	fn every_error_is_named_once() {
		let mut named: Vec<(&str, &str)> = SENTENCES.iter().map(|(p, e, _)| (*p, *e)).collect();
		named.extend(HANDLED.iter().copied());
		let count = named.len();
		named.sort();
		named.dedup();
		assert_eq!(named.len(), count, "an error named twice");
		for (_, _, sentence) in SENTENCES {
			assert!(sentence.ends_with('.') && !sentence.contains("  "), "{sentence}");
		}
	}
}
