//! The JSON API (docs/api.md): one handler per route, each a few calls into the library.
//! Answers use the shapes `--json` prints ([`crate::json`]); every error is a status and a
//! sentence (`{"error": …}`).

use super::{events, Refusal, Served};
use crate::{
	json::*,
	output::{address, device},
};
use axum::{
	extract::{Path, Query, State},
	http::StatusCode,
	routing::{delete, get, post},
	Json, Router,
};
use quarks_client::{
	chain::ChainError,
	engine::Target,
	error::ClientError,
	hosts,
	invitation::{Invitation, SCHEME},
	messenger::Messenger,
	proofs, queries,
};
use quarks_primitives::GroupId;
use serde::Deserialize;
use serde_json::{json, Value};
use sp_core::{crypto::AccountId32, H256};
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
		.route("/api/messages/{hash}/audit", get(audit))
		.route("/api/messages/{hash}/proof", get(proof))
		.route("/api/devices", get(devices))
		.route("/api/devices/{key}", delete(remove_device))
		.route("/api/keys/update", post(update_keys))
		.route("/api/hosts", get(hosts).put(choose_hosts))
		.route("/api/contacts", get(contacts).post(add_contact))
		.route("/api/contacts/{who}/safety-number", get(safety_number))
		.route("/api/contacts/{who}/block", post(block).delete(unblock))
		.route("/api/invitation", get(invitation))
		.route("/api/groups", post(create_group))
		.route("/api/groups/{group}/members", post(add_member))
		.route("/api/groups/{group}/members/{who}", delete(remove_member))
		.route("/api/groups/{group}/leave", post(leave))
		.route(events::PATH, get(events::open))
}

/// The status an error of the library (or of a part it nests) answers with.
fn failed(error: impl Into<ClientError>) -> Refusal {
	let error = error.into();
	let status = match &error {
		ClientError::Unknown(_)
		| ClientError::Unnamed(_)
		| ClientError::BlockingSelf
		| ClientError::RetiringSelf
		| ClientError::HostChoice(_)
		| ClientError::NoDevice(_)
		| ClientError::Invitation(_) => StatusCode::BAD_REQUEST,
		ClientError::NoGroup(_)
		| ClientError::NotInGroup(_)
		| ClientError::NotInStore(_)
		| ClientError::NotOwnDevice(_) => StatusCode::NOT_FOUND,
		// The node did not answer, or answered what cannot be read; a refusal on chain is
		// the request's own (a conflict, below).
		ClientError::Chain(e) if e.is_transport() || matches!(e, ChainError::Decode(_)) => {
			StatusCode::BAD_GATEWAY
		}
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

/// Runs `work` to its end even if the caller goes away meanwhile (axum drops a handler
/// whose connection closed): a change left half made — a conversation on chain but not in
/// the database — would be made, and paid for, again.
async fn to_the_end<T: Send + 'static>(
	work: impl std::future::Future<Output = Result<T, ClientError>> + Send + 'static,
) -> Result<T, Refusal> {
	tokio::spawn(work)
		.await
		.map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
		.map_err(failed)
}

/// `group` if this device has that conversation.
fn known(served: &Served, group: GroupId) -> Result<GroupId, Refusal> {
	match m(served).database.knows(group) {
		Ok(true) => Ok(group),
		Ok(false) => Err(Refusal(StatusCode::NOT_FOUND, format!("no conversation {group} here"))),
		Err(e) => Err(failed(e)),
	}
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
		"device": device(&m.device_key()),
	})))
}

/// `GET /api/conversations`: every conversation, the latest first.
async fn conversations(State(served): Shared) -> Answer {
	let m = m(&served);
	let list = m.database.conversations().map_err(failed)?;
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
	let group = known(&served, group)?;
	let before = page.before.as_deref().map(parse_cursor).transpose().map_err(bad)?;
	let limit = page.limit.unwrap_or(50).clamp(1, quarks_client::database::MAX_PAGE);
	let messages = m(&served).database.history(group, before.as_ref(), limit).map_err(failed)?;
	Ok(Json(history_page_json(&messages, limit)))
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
	let group = known(&served, group)?;
	m(&served).database.mark_read(group).map_err(failed)?;
	if options.receipt.unwrap_or(true) {
		to_the_end(async move { served.engine.send_read(group).await }).await?;
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
	let engine = served.engine.clone();
	let to = target.clone();
	let sent = to_the_end(async move { engine.send(&to, &outgoing.text).await }).await?;
	let group = match &target {
		Target::Group(group) => Some(*group),
		Target::Person(peer) => m(&served).database.direct(peer).ok().flatten(),
	};
	Ok(Json(json!({ "hash": format!("{:?}", sent.hash), "group": group })))
}

fn parse_hash(text: &str) -> Result<H256, Refusal> {
	array_bytes::hex2array::<_, 32>(text).map(H256).map_err(|_| bad(format!("not a hash: {text}")))
}

/// `GET /api/messages/{hash}/audit`: what the finalized chain says of a message this
/// device sent or read.
async fn audit(State(served): Shared, Path(hash): Path<String>) -> Answer {
	let hash = parse_hash(&hash)?;
	let m = m(&served);
	let envelope = m.store.get(&hash).map_err(failed)?;
	let envelope = envelope.ok_or_else(|| failed(ClientError::NotInStore(hash)))?;
	let membership = m.store.membership(&hash).map_err(failed)?;
	let key = m.store.message_key(&hash).map_err(failed)?;
	let audit = proofs::audit(&m.chain, &envelope, membership, key)
		.await
		.map_err(failed)?
		.ok_or_else(|| {
			Refusal(
				StatusCode::CONFLICT,
				"no final anchor yet (or pruned after its retention)".into(),
			)
		})?;
	Ok(Json(audit_json(&audit)))
}

/// `GET /api/messages/{hash}/proof`: the proof of a message this device read, that anyone
/// can check against the chain without a key (`quarks verify-proof`).
async fn proof(State(served): Shared, Path(hash): Path<String>) -> Answer {
	let proof = proofs::prove(m(&served), &parse_hash(&hash)?).await.map_err(failed)?;
	serde_json::to_value(proof)
		.map(Json)
		.map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `GET /api/devices`: this account's devices the chain binds, this one marked.
async fn devices(State(served): Shared) -> Answer {
	let m = m(&served);
	let own = m.device_key();
	let bound = queries::devices(&m.chain, m.account()).await.map_err(failed)?;
	let list: Vec<Value> =
		bound.iter().map(|key| json!({ "key": device(key), "this_device": *key == own })).collect();
	Ok(Json(Value::Array(list)))
}

/// `DELETE /api/devices/{key}`: unbinds another of this account's devices and removes it
/// from every conversation this account accepted (waits for the chain); per group, the
/// epoch opened.
async fn remove_device(State(served): Shared, Path(key): Path<String>) -> Answer {
	let key = crate::input::parse_device(&key).map_err(|e| bad(e.to_string()))?;
	let engine = served.engine.clone();
	let outcomes =
		to_the_end(async move { engine.messenger().retire_device(&key, &mut |_| {}).await })
			.await?;
	Ok(Json(group_outcomes_json(&outcomes)))
}

#[derive(Deserialize)]
struct KeysUpdate {
	/// One group; every conversation this account accepted if none.
	group: Option<GroupId>,
}

/// `POST /api/keys/update`: new keys for this device in one group or all (waits for the
/// chain); per group, the epoch opened or why not.
async fn update_keys(State(served): Shared, Json(update): Json<KeysUpdate>) -> Answer {
	if let Some(group) = update.group {
		known(&served, group)?;
	}
	let engine = served.engine.clone();
	let outcomes =
		to_the_end(
			async move { Ok(engine.messenger().update_keys(update.group, &mut |_| {}).await) },
		)
		.await?;
	Ok(Json(group_outcomes_json(&outcomes)))
}

/// `GET /api/hosts`: the admitted mail hosts, this account's marked.
async fn hosts(State(served): Shared) -> Answer {
	let m = m(&served);
	let block_ms = m.chain.block_time_ms().await.map_err(failed)?;
	let list = hosts::admitted_marking(&m.chain, m.account()).await.map_err(failed)?;
	let list = list.iter().map(|(host, chosen)| host_json(host, *chosen, block_ms));
	Ok(Json(Value::Array(list.collect())))
}

#[derive(Deserialize)]
struct HostChoice {
	/// Operators' accounts (or contacts' names), in order.
	hosts: Vec<String>,
}

/// `PUT /api/hosts`: the hosts that keep this account's mail from now on (waits for the
/// chain); mail is read from them at once.
async fn choose_hosts(State(served): Shared, Json(choice): Json<HostChoice>) -> Answer {
	let operators =
		choice.hosts.iter().map(|who| resolve(&served, who)).collect::<Result<Vec<_>, _>>()?;
	let engine = served.engine.clone();
	to_the_end(async move { engine.choose_hosts(&operators).await }).await?;
	Ok(Json(json!({ "hosts": choice.hosts.len() })))
}

/// `POST /api/contacts/{who}/block`: blocks someone: their requests this account did not
/// accept are left, their mail at its hosts deleted, and nothing they send is opened
/// (waits for the chain); the groups left.
async fn block(State(served): Shared, Path(who): Path<String>) -> Answer {
	let account = resolve(&served, &who)?;
	let engine = served.engine.clone();
	let left =
		to_the_end(async move { engine.messenger().block(&account, &mut |_| {}).await }).await?;
	Ok(Json(json!({ "left": left })))
}

/// `DELETE /api/contacts/{who}/block`: unblocks someone blocked.
async fn unblock(State(served): Shared, Path(who): Path<String>) -> Answer {
	let account = resolve(&served, &who)?;
	let m = m(&served);
	if !m.database.unblock(&account).map_err(failed)? {
		let name = m.display_name(&account);
		return Err(Refusal(StatusCode::NOT_FOUND, format!("{name} was not blocked")));
	}
	Ok(Json(json!({})))
}

/// `GET /api/contacts`: named contacts and whether each is still verified.
async fn contacts(State(served): Shared) -> Answer {
	let m = m(&served);
	let mut list = Vec::new();
	for contact in m.database.contacts().map_err(failed)? {
		let still = m.still_verified(&contact).await.map_err(failed)?;
		let blocked = m.database.is_blocked(&contact.account).map_err(failed)?;
		list.push(contact_json(&contact, still, blocked));
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
	let blocked = m.database.is_blocked(&contact.account).map_err(failed)?;
	Ok(Json(contact_json(&contact, verified, blocked)))
}

/// `GET /api/contacts/{who}/safety-number`: the safety number with someone, their devices
/// on chain, and whether the conversation with them holds exactly those.
async fn safety_number(State(served): Shared, Path(who): Path<String>) -> Answer {
	let peer = resolve(&served, &who)?;
	let contact = m(&served).contact(&peer).await.map_err(failed)?;
	let devices: Vec<String> = contact.devices.iter().map(device).collect();
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
	let engine = served.engine.clone();
	let group =
		to_the_end(async move { engine.messenger().create_group(&members, &mut |_| {}).await })
			.await?;
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
	let engine = served.engine.clone();
	let epoch =
		to_the_end(
			async move { engine.messenger().add_member(group, &account, &mut |_| {}).await },
		)
		.await?;
	Ok(Json(json!({ "epoch": epoch })))
}

/// `DELETE /api/groups/{group}/members/{who}`: removes someone (waits for the chain);
/// they read nothing sent after.
async fn remove_member(
	State(served): Shared,
	Path((group, who)): Path<(GroupId, String)>,
) -> Answer {
	let account = resolve(&served, &who)?;
	let engine = served.engine.clone();
	let epoch =
		to_the_end(
			async move { engine.messenger().remove_member(group, &account, &mut |_| {}).await },
		)
		.await?;
	Ok(Json(json!({ "epoch": epoch })))
}

/// `POST /api/groups/{group}/leave`: leaves a group.
async fn leave(State(served): Shared, Path(group): Path<GroupId>) -> Answer {
	let engine = served.engine.clone();
	to_the_end(async move { engine.messenger().leave_group(group, &mut |_| {}).await }).await?;
	Ok(Json(json!({})))
}
