//! The JSON shapes of what the message database holds: `--json` output and the API of
//! `quarks serve` print the same ones.

use crate::output::{address, device};
use quarks_client::{
	conversations::GroupOutcomes,
	database::{Before, Contact, Conversation, Message, MessageState},
	hosts::Host,
	messenger::Messenger,
	proofs::Audit,
};
use serde_json::{json, Value};
use sp_core::H256;

/// Where a page ends, for `--before`.
pub fn cursor(message: &Message) -> String {
	format!("{}-{:?}", message.at, message.hash)
}

/// The cursor of the page before a history page: none when the page was not full (it
/// reached the conversation's start).
pub fn older_cursor(page: &[Message], limit: u32) -> Option<String> {
	page.first().filter(|_| page.len() as u32 >= limit).map(cursor)
}

/// A page of history, oldest first, and the cursor of the page before it.
pub fn history_page_json(page: &[Message], limit: u32) -> Value {
	let messages: Vec<Value> = page.iter().map(message_json).collect();
	json!({ "messages": messages, "older": older_cursor(page, limit) })
}

/// Per group, the epoch a change opened, or why it failed there.
pub fn group_outcomes_json(outcomes: &GroupOutcomes) -> Value {
	let list = outcomes.iter().map(|(group, outcome)| match outcome {
		Ok(epoch) => json!({ "group": group, "epoch": epoch }),
		Err(e) => json!({ "group": group, "error": e.to_string() }),
	});
	Value::Array(list.collect())
}

/// A mail host, with its retention in seconds at `block_ms` per block.
pub fn host_json(host: &Host, chosen: bool, block_ms: u64) -> Value {
	json!({
		"operator": address(&host.operator),
		"endpoint": host.endpoint(),
		"retention_seconds": u64::from(host.info.retention).saturating_mul(block_ms) / 1000,
		"user_quota": host.info.user_quota,
		"chosen": chosen,
	})
}

pub fn parse_cursor(text: &str) -> Result<Before, String> {
	let (at, hash) = text.split_once('-').ok_or("a cursor is <time>-<hash>")?;
	let hash = array_bytes::hex2array::<_, 32>(hash).map_err(|_| "not a cursor's hash")?;
	let at = at.parse().map_err(|_| "not a cursor's time")?;
	Ok(Before { at, hash: H256(hash) })
}

pub fn conversation_json(m: &Messenger, c: &Conversation) -> Value {
	json!({
		"group": c.group,
		"peer": c.peer.as_ref().map(address),
		"name": c.peer.as_ref().map(|peer| m.display_name(peer)),
		"request_from": c.request.as_ref().map(address),
		"unread": c.unread,
		"last_activity": c.last_activity,
		"last": c.last.as_ref().map(message_json),
	})
}

pub fn message_json(message: &Message) -> Value {
	let (state, block, reason) = match &message.state {
		MessageState::Sending => ("sending", None, None),
		MessageState::Pending => ("pending", None, None),
		MessageState::Anchored(block) => ("anchored", Some(*block), None),
		MessageState::Final(block) => ("final", Some(*block), None),
		MessageState::NotNotarized => ("not_notarized", None, None),
		MessageState::Failed(reason) => ("failed", None, Some(reason.clone())),
	};
	json!({
		"hash": format!("{:?}", message.hash),
		"group": message.group,
		"sender": address(&message.sender),
		"outgoing": message.outgoing,
		"text": message.text,
		"at": message.at,
		"state": state,
		"block": block,
		"reason": reason,
		"read_by": message.read_by,
		"delivered_to": message.delivered_to,
	})
}

/// A contact, with whether the devices the chain binds to them now are the ones verified,
/// and whether they are blocked.
pub fn contact_json(contact: &Contact, still_verified: bool, blocked: bool) -> Value {
	let status = match (&contact.verified, still_verified) {
		(None, _) => "not verified",
		(Some(_), true) => "verified",
		(Some(_), false) => "CHANGED since verified",
	};
	json!({
		"name": contact.name,
		"account": address(&contact.account),
		"status": status,
		"blocked": blocked,
	})
}

/// What the finalized chain says of one message: its anchor, the device that signed it and
/// whether the chain bound that device to the sender then, and each recipient's receipt.
pub fn audit_json(audit: &Audit) -> Value {
	let recipients: Vec<Value> = audit
		.recipients
		.iter()
		.map(|r| json!({ "account": address(&r.account), "receipt_block": r.receipt }))
		.collect();
	json!({
		"hash": format!("{:?}", audit.hash),
		"sender": address(&audit.sender),
		"anchored_at": audit.anchored_at,
		"anchor_block": audit.anchor_block.map(|h| format!("{h:?}")),
		"root": format!("{:?}", audit.membership.root),
		"leaf_index": audit.membership.proof.leaf_index,
		"leaf_count": audit.membership.proof.leaf_count,
		"device": audit.device.map(|(key, bound)| json!({ "key": device(&key), "bound": bound })),
		"recipients": recipients,
	})
}
