//! Invitations: what one person hands another (pasted, or scanned from a QR code) so that
//! the other can name them and check the chain's view of them at once. A `quarks:` link
//! carries the account, the hosts it chose and its fingerprint (its half of every safety
//! number, over the devices the chain binds to it):
//!
//! `quarks:<account>?hosts=<operator>,<operator>&fp=<30 digits>`
//!
//! Accepting one ([`Messenger::accept_invitation`]) compares the fingerprint with the
//! devices the chain binds now: equal, the contact is saved as verified, as if the two had
//! compared safety numbers; different (a node that lies about their devices, a link
//! someone altered, or a device they added since), it is refused.

use crate::{
	contacts::fingerprint,
	database::{check_name, Contact},
	error::ClientError,
	hosts,
	messenger::Messenger,
	queries,
};
use quarks_primitives::DeviceKey;
use sp_core::crypto::{AccountId32, Ss58Codec};
use std::{fmt, str::FromStr};

/// The link's scheme.
pub const SCHEME: &str = "quarks:";

/// An invitation, as its link carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
	/// Who invites.
	pub account: AccountId32,
	/// The operators of the hosts they chose.
	pub hosts: Vec<AccountId32>,
	/// Their fingerprint over the devices the chain bound to them.
	pub fingerprint: String,
}

/// Why a link is not an invitation.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
	/// Not a `quarks:` link with an account, hosts and a 30-digit fingerprint.
	#[error("not a Quarks invitation (quarks:<account>?hosts=…&fp=<30 digits>): {0}")]
	Malformed(String),
	/// The chain binds other devices to the account than the link names.
	#[error("the invitation's fingerprint does not match the devices the chain binds to {0}: the link is old (they added or removed a device since) or was altered; ask them for a new one")]
	Fingerprint(String),
	/// The account chose other hosts than the link names.
	#[error("{0} chose other hosts than the invitation names: the link is old or was altered; ask them for a new one")]
	Hosts(String),
}

impl fmt::Display for Invitation {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let hosts: Vec<String> = self.hosts.iter().map(|h| h.to_ss58check()).collect();
		write!(
			f,
			"{SCHEME}{}?hosts={}&fp={}",
			self.account.to_ss58check(),
			hosts.join(","),
			self.fingerprint
		)
	}
}

fn account(text: &str) -> Option<AccountId32> {
	AccountId32::from_ss58check_with_version(text).ok().map(|(account, _)| account)
}

impl FromStr for Invitation {
	type Err = InvitationError;

	fn from_str(link: &str) -> Result<Self, Self::Err> {
		let malformed = || InvitationError::Malformed(link.into());
		let rest = link.trim().strip_prefix(SCHEME).ok_or_else(malformed)?;
		let (who, query) = rest.split_once('?').ok_or_else(malformed)?;
		let (mut hosts, mut fp) = (None, None);
		for pair in query.split('&') {
			match pair.split_once('=').ok_or_else(malformed)? {
				("hosts", list) if hosts.is_none() => {
					let list: Option<Vec<AccountId32>> =
						list.split(',').filter(|h| !h.is_empty()).map(account).collect();
					hosts = Some(list.filter(|l| l.len() <= 3).ok_or_else(malformed)?);
				}
				("fp", digits)
					if fp.is_none()
						&& digits.len() == 30
						&& digits.bytes().all(|b| b.is_ascii_digit()) =>
				{
					fp = Some(digits.to_owned())
				}
				_ => return Err(malformed()),
			}
		}
		Ok(Invitation {
			account: account(who).ok_or_else(malformed)?,
			hosts: hosts.ok_or_else(malformed)?,
			fingerprint: fp.ok_or_else(malformed)?,
		})
	}
}

impl Invitation {
	/// Checks the invitation's fingerprint against the `devices` the chain binds to its
	/// account; returns it if they match.
	pub fn check_devices(&self, devices: &[DeviceKey]) -> Result<String, InvitationError> {
		let seen = fingerprint(&self.account, devices);
		if devices.is_empty() || seen != self.fingerprint {
			return Err(InvitationError::Fingerprint(self.account.to_ss58check()));
		}
		Ok(seen)
	}

	/// Checks the invitation's hosts against the `hosts` its account chose on chain.
	pub fn check_hosts(&self, hosts: &[AccountId32]) -> Result<(), InvitationError> {
		if hosts != self.hosts {
			return Err(InvitationError::Hosts(self.account.to_ss58check()));
		}
		Ok(())
	}
}

impl Messenger {
	/// This account's invitation, from the finalized chain: its hosts and the fingerprint
	/// of its devices.
	pub async fn invitation(&self) -> Result<Invitation, ClientError> {
		let devices = queries::devices(&self.chain, self.account()).await?;
		let hosts = hosts::chosen(&self.chain, self.account()).await?;
		Ok(Invitation {
			account: self.account().clone(),
			hosts: hosts.into_iter().map(|h| h.operator).collect(),
			fingerprint: fingerprint(self.account(), &devices),
		})
	}

	/// Checks `invitation` against the finalized chain and saves its account as the
	/// contact `name`, verified.
	pub async fn accept_invitation(
		&self,
		name: &str,
		invitation: &Invitation,
	) -> Result<Contact, ClientError> {
		check_name(name).map_err(crate::database::DatabaseError::from)?;
		let devices = queries::devices(&self.chain, &invitation.account).await?;
		let seen = invitation.check_devices(&devices)?;
		let hosts = hosts::chosen(&self.chain, &invitation.account).await?;
		let operators: Vec<AccountId32> = hosts.into_iter().map(|h| h.operator).collect();
		invitation.check_hosts(&operators)?;
		let contact = Contact {
			name: name.into(),
			account: invitation.account.clone(),
			verified: Some(seen),
		};
		self.database.save_contact(&contact, crate::send::now_ms())?;
		self.database.accept_from(&contact.account)?;
		Ok(contact)
	}

	/// Names `account` `name`, unverified (or keeps its verification if it had one).
	pub fn name_contact(&self, name: &str, account: &AccountId32) -> Result<Contact, ClientError> {
		let verified = self.database.contact_of(account)?.and_then(|c| c.verified);
		let contact = Contact { name: name.into(), account: account.clone(), verified };
		self.database.save_contact(&contact, crate::send::now_ms())?;
		// Naming someone accepts the conversations they asked for.
		self.database.accept_from(account)?;
		Ok(contact)
	}

	/// Blocks `who`: the conversations they started and this account did not accept are
	/// left (on chain: their next commit drops this account's devices), their mail at this
	/// account's hosts is deleted, and nothing they send later is opened, so they cannot
	/// drop this account into a conversation again. Returns the groups left.
	pub async fn block(
		&self,
		who: &AccountId32,
		progress: &mut (dyn FnMut(crate::chain::Progress) + Send),
	) -> Result<Vec<quarks_primitives::GroupId>, ClientError> {
		if who == self.account() {
			return Err(ClientError::BlockingSelf);
		}
		self.database.block(who)?;
		let mut left = Vec::new();
		let mut failed = None;
		for conversation in self.database.conversations()? {
			if conversation.request.as_ref() != Some(who) {
				continue;
			}
			// One conversation that cannot be left (the last admin, no funds) does not keep
			// the others: its device state goes, and the first such error is returned.
			if self.device(|d| d.is_in(conversation.group)) {
				if let Err(e) = self.leave_group(conversation.group, progress).await {
					self.with_device(|d| d.forget(conversation.group))?;
					failed.get_or_insert(e);
				}
			}
			self.database.accept(conversation.group)?;
			left.push(conversation.group);
		}
		let mail = self.mail_from(who).await?;
		self.delete_mail(&mail).await?;
		match failed {
			Some(e) => Err(e),
			None => Ok(left),
		}
	}

	/// Records that the safety number with `peer`, over `devices` (theirs, as shown),
	/// matched: the contact is verified until their devices change.
	pub fn mark_verified(
		&self,
		peer: &AccountId32,
		devices: &[quarks_primitives::DeviceKey],
	) -> Result<Contact, ClientError> {
		let mut contact =
			self.database.contact_of(peer)?.ok_or_else(|| ClientError::Unnamed(peer.clone()))?;
		contact.verified = Some(fingerprint(peer, devices));
		self.database.save_contact(&contact, crate::send::now_ms())?;
		Ok(contact)
	}

	/// The account `text` names: a contact's name, an SS58 address or 0x hex.
	pub fn resolve(&self, text: &str) -> Result<AccountId32, ClientError> {
		if let Some(contact) = self.database.contact_named(text)? {
			return Ok(contact.account);
		}
		if let Ok(bytes) = array_bytes::hex2array::<_, 32>(text) {
			return Ok(AccountId32::from(bytes));
		}
		account(text).ok_or_else(|| ClientError::Unknown(text.into()))
	}

	/// What to call `account`: its contact name, or its address.
	pub fn display_name(&self, account: &AccountId32) -> String {
		match self.database.contact_of(account) {
			Ok(Some(contact)) => contact.name,
			_ => account.to_ss58check(),
		}
	}

	/// Whether `contact` is verified against the devices the chain binds to it now.
	pub async fn still_verified(&self, contact: &Contact) -> Result<bool, ClientError> {
		let Some(verified) = &contact.verified else { return Ok(false) };
		let devices = queries::devices(&self.chain, &contact.account).await?;
		Ok(&fingerprint(&contact.account, &devices) == verified)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn invitation() -> Invitation {
		Invitation {
			account: AccountId32::new([1; 32]),
			hosts: vec![AccountId32::new([2; 32]), AccountId32::new([3; 32])],
			fingerprint: "012345678901234567890123456789".into(),
		}
	}

	#[test]
	fn a_link_reads_back_as_the_invitation_it_was_made_from() {
		let link = invitation().to_string();
		assert!(link.starts_with(SCHEME));
		assert_eq!(link.parse::<Invitation>(), Ok(invitation()));
		assert_eq!(format!("  {link}\n").parse::<Invitation>(), Ok(invitation()), "pasted");
	}

	/// Accepted only while the chain shows the devices the link's fingerprint covers and
	/// the hosts it names: any device added, removed or swapped, or another host list,
	/// refuses it.
	#[test]
	fn an_invitation_holds_only_for_the_devices_and_hosts_it_names() {
		let account = AccountId32::new([1; 32]);
		let devices = [[7u8; 32], [8u8; 32]];
		let hosts = vec![AccountId32::new([2; 32])];
		let invitation = Invitation {
			account: account.clone(),
			hosts: hosts.clone(),
			fingerprint: fingerprint(&account, &devices),
		};
		assert_eq!(invitation.check_devices(&devices), Ok(invitation.fingerprint.clone()));
		assert_eq!(invitation.check_hosts(&hosts), Ok(()));
		let refused = Err(InvitationError::Fingerprint(account.to_ss58check()));
		for other in [&devices[..1], &[[7; 32], [8; 32], [9; 32]], &[[7; 32], [6; 32]], &[]] {
			assert_eq!(invitation.check_devices(other), refused, "devices {other:?}");
		}
		let longer = [hosts.clone(), vec![AccountId32::new([3; 32])]].concat();
		for other in [&longer[..], &[], &[AccountId32::new([3; 32])]] {
			let refused = Err(InvitationError::Hosts(account.to_ss58check()));
			assert_eq!(invitation.check_hosts(other), refused, "hosts {other:?}");
		}
	}

	#[test]
	fn a_damaged_link_is_refused() {
		let link = invitation().to_string();
		let (head, fp) = link.split_once("&fp=").expect("has a fingerprint");
		let four_hosts = format!("{0},{0},{0},{0}", AccountId32::new([2; 32]).to_ss58check());
		for bad in [
			link.replacen("quarks:", "http:", 1),
			format!("{head}&fp={}", &fp[1..]),
			format!("{head}&fp={}x", &fp[1..]),
			format!("{head}&fp={fp}&fp={fp}"),
			head.to_owned(),
			format!("quarks:notanaccount?hosts=&fp={fp}"),
			format!(
				"quarks:{}?hosts={four_hosts}&fp={fp}",
				AccountId32::new([1; 32]).to_ss58check()
			),
			format!("{link}&extra=1"),
		] {
			assert!(
				matches!(bad.parse::<Invitation>(), Err(InvitationError::Malformed(_))),
				"{bad}"
			);
		}
	}
}
