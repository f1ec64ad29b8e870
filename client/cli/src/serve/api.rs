//! The JSON API (docs/api.md): one handler per route, each a few calls into the library.
//! Answers use the shapes `--json` prints ([`crate::json`]); every error is a status and a
//! sentence (`{"error": …}`).

use super::{events, Refusal, Served};
use crate::{json::*, output::address};
use axum::{
	extract::{Path, Query, State},
	http::StatusCode,
	routing::{delete, get, post},
	Json, Router,
};
use quarks_client::{
	engine::Target,
	error::ClientError,
	invitation::{Invitation, SCHEME},
	messenger::Messenger,
};
use quarks_primitives::GroupId;
use serde::Deserialize;
use serde_json::{json, Value};
use sp_core::crypto::AccountId32;
use std::sync::Arc;

type Answer = Result<Json<Value>, Refusal>;
type Shared = State<Arc<Served>>;

pub fn routes() -> Router<Arc<Served>> {
	Router::new()
		.route("/api/me", get(me))
		.route("/api/conversations", get(conversations))
		.route("/api/conversations/{group}/messages", get(history))
		.route("/api/conversations/{group}/read", post(read))
		.route("/api/messages", post(send))
		.route("/api/contacts", get(contacts).post(add_contact))
		.route("/api/contacts/{who}/safety-number", get(safety_number))
		.route("/api/invitation", get(invitation))
		.route("/api/groups", post(create_group))
		.route("/api/groups/{group}/members", post(add_member))
		.route("/api/groups/{group}/members/{who}", delete(remove_member))
		.route("/api/groups/{group}/leave", post(leave))
		.route(events::PATH, get(events::open))
}

/// The status an error of the library answers with.
fn failed(error: ClientError) -> Refusal {
	let status = match &error {
		ClientError::Unknown(_)
		| ClientError::Unnamed(_)
		| ClientError::BlockingSelf
		| ClientError::NoDevice(_)
		| ClientError::Invitation(_) => StatusCode::BAD_REQUEST,
		ClientError::NoGroup(_) | ClientError::NotInGroup(_) => StatusCode::NOT_FOUND,
		ClientError::Chain(_) => StatusCode::BAD_GATEWAY,
		ClientError::Keystore(_) | ClientError::Store(_) | ClientError::Database(_) => {
			StatusCode::INTERNAL_SERVER_ERROR
		}
		_ => StatusCode::CONFLICT,
	};
	Refusal(status, error.to_string())
}

fn bad(why: impl Into<String>) -> Refusal {
	Refusal(StatusCode::BAD_REQUEST, why.into())
}

fn m(served: &Served) -> &Messenger {
	served.engine.messenger()
}

fn resolve(served: &Served, who: &str) -> Result<AccountId32, Refusal> {
	m(served).resolve(who).map_err(failed)
}

/// `GET /api/me`: this identity.
async fn me(State(served): Shared) -> Answer {
	let m = m(&served);
	Ok(Json(json!({
		"account": address(m.account()),
		"device": array_bytes::bytes2hex("0x", m.device_key()),
	})))
}

/// `GET /api/conversations`: every conversation, the latest first.
async fn conversations(State(served): Shared) -> Answer {
	let m = m(&served);
	let list = m.database.conversations().map_err(|e| failed(e.into()))?;
	Ok(Json(Value::Array(list.iter().map(|c| conversation_json(m, c)).collect())))
}

#[derive(Deserialize)]
struct Page {
	/// The `older` cursor of the page after.
	before: Option<String>,
	limit: Option<u32>,
}

/// `GET /api/conversations/{group}/messages?before=&limit=`: a page of history, oldest
/// first, and the cursor of the page before it.
async fn history(
	State(served): Shared,
	Path(group): Path<GroupId>,
	Query(page): Query<Page>,
) -> Answer {
	let before = page.before.as_deref().map(parse_cursor).transpose().map_err(bad)?;
	let limit = page.limit.unwrap_or(50).clamp(1, quarks_client::database::MAX_PAGE);
	let messages =
		m(&served).database.history(group, before.as_ref(), limit).map_err(|e| failed(e.into()))?;
	let older = messages.first().filter(|_| messages.len() as u32 >= limit).map(cursor);
	let messages: Vec<Value> = messages.iter().map(message_json).collect();
	Ok(Json(json!({ "messages": messages, "older": older })))
}

#[derive(Deserialize)]
struct ReadOptions {
	/// Whether to tell the others (read receipts); yes unless false.
	receipt: Option<bool>,
}

/// `POST /api/conversations/{group}/read`: marks it read, and tells the others unless
/// `receipt` is false.
async fn read(
	State(served): Shared,
	Path(group): Path<GroupId>,
	Query(options): Query<ReadOptions>,
) -> Answer {
	m(&served).database.mark_read(group).map_err(|e| failed(e.into()))?;
	if options.receipt.unwrap_or(true) {
		served.engine.send_read(group).await.map_err(failed)?;
	}
	Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct Outgoing {
	/// A conversation's group, or
	group: Option<GroupId>,
	/// a person (a contact's name or an account): their 1:1 conversation.
	to: Option<String>,
	text: String,
}

/// `POST /api/messages`: sends at once (the chain notarizes after); answers its hash and
/// conversation. Its state then follows on the event stream.
async fn send(State(served): Shared, Json(outgoing): Json<Outgoing>) -> Answer {
	let target = match (&outgoing.group, &outgoing.to) {
		(Some(group), None) => Target::Group(*group),
		(None, Some(who)) => Target::Person(resolve(&served, who)?),
		_ => return Err(bad("name the conversation: either \"group\" or \"to\"")),
	};
	if outgoing.text.is_empty() {
		return Err(bad("nothing to send"));
	}
	let sent = served.engine.send(&target, &outgoing.text).await.map_err(failed)?;
	let group = match &target {
		Target::Group(group) => Some(*group),
		Target::Person(peer) => m(&served).database.direct(peer).ok().flatten(),
	};
	Ok(Json(json!({ "hash": format!("{:?}", sent.hash), "group": group })))
}

/// `GET /api/contacts`: named contacts and whether each is still verified.
async fn contacts(State(served): Shared) -> Answer {
	let m = m(&served);
	let mut list = Vec::new();
	for contact in m.database.contacts().map_err(|e| failed(e.into()))? {
		let still = m.still_verified(&contact).await.map_err(failed)?;
		list.push(contact_json(&contact, still));
	}
	Ok(Json(Value::Array(list)))
}

#[derive(Deserialize)]
struct NewContact {
	name: String,
	/// An invitation link (checked against the chain: the contact is verified) or an
	/// account.
	who: String,
}

/// `POST /api/contacts`: names someone, from their invitation link or account.
async fn add_contact(State(served): Shared, Json(new): Json<NewContact>) -> Answer {
	let m = m(&served);
	let contact = if new.who.trim().starts_with(SCHEME) {
		let invitation: Invitation = new.who.parse().map_err(|e| bad(format!("{e}")))?;
		m.accept_invitation(&new.name, &invitation).await
	} else {
		resolve(&served, &new.who).map(|account| m.name_contact(&new.name, &account))?
	}
	.map_err(failed)?;
	let verified = contact.verified.is_some();
	Ok(Json(contact_json(&contact, verified)))
}

/// `GET /api/contacts/{who}/safety-number`: the safety number with someone, their devices
/// on chain, and whether the conversation with them holds exactly those.
async fn safety_number(State(served): Shared, Path(who): Path<String>) -> Answer {
	let peer = resolve(&served, &who)?;
	let contact = m(&served).contact(&peer).await.map_err(failed)?;
	let devices: Vec<String> =
		contact.devices.iter().map(|key| array_bytes::bytes2hex("0x", key)).collect();
	Ok(Json(json!({
		"account": address(&peer),
		"safety_number": contact.safety_number,
		"devices": devices,
		"conversation_matches": contact.conversation_matches,
	})))
}

/// `GET /api/invitation`: this account's invitation link, and its QR code as SVG.
async fn invitation(State(served): Shared) -> Answer {
	let link = m(&served).invitation().await.map_err(failed)?.to_string();
	let code = qrcode::QrCode::new(link.as_bytes())
		.map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
	let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
	Ok(Json(json!({ "link": link, "qr_svg": svg })))
}

#[derive(Deserialize)]
struct NewGroup {
	/// Contacts' names or accounts.
	members: Vec<String>,
}

/// `POST /api/groups`: creates a group with these members (waits for the chain).
async fn create_group(State(served): Shared, Json(new): Json<NewGroup>) -> Answer {
	let members =
		new.members.iter().map(|who| resolve(&served, who)).collect::<Result<Vec<_>, _>>()?;
	let group = m(&served).create_group(&members, &mut |_| {}).await.map_err(failed)?;
	Ok(Json(json!({ "group": group })))
}

#[derive(Deserialize)]
struct Member {
	who: String,
}

/// `POST /api/groups/{group}/members`: adds someone (waits for the chain).
async fn add_member(
	State(served): Shared,
	Path(group): Path<GroupId>,
	Json(member): Json<Member>,
) -> Answer {
	let account = resolve(&served, &member.who)?;
	let epoch = m(&served).add_member(group, &account, &mut |_| {}).await.map_err(failed)?;
	Ok(Json(json!({ "epoch": epoch })))
}

/// `DELETE /api/groups/{group}/members/{who}`: removes someone (waits for the chain);
/// they read nothing sent after.
async fn remove_member(
	State(served): Shared,
	Path((group, who)): Path<(GroupId, String)>,
) -> Answer {
	let account = resolve(&served, &who)?;
	let epoch = m(&served).remove_member(group, &account, &mut |_| {}).await.map_err(failed)?;
	Ok(Json(json!({ "epoch": epoch })))
}

/// `POST /api/groups/{group}/leave`: leaves a group.
async fn leave(State(served): Shared, Path(group): Path<GroupId>) -> Answer {
	m(&served).leave_group(group, &mut |_| {}).await.map_err(failed)?;
	Ok(Json(json!({})))
}
