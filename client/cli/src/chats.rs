//! The conversations and their history, from the local message database: `chats`,
//! `history`.

use crate::{args::*, input::*, json::*, output::*};
use quarks_client::{
	database::{Message, MessageState},
	messenger::Messenger,
};
use serde_json::Value;

/// Lists the conversations, the latest first.
pub async fn list(cli: &Cli, json: bool) -> Fallible<()> {
	let m = messenger(cli).await?;
	let conversations = m.database.conversations()?;
	if json {
		let list: Vec<Value> = conversations.iter().map(|c| conversation_json(&m, c)).collect();
		println!("{}", serde_json::to_string_pretty(&list)?);
		return Ok(());
	}
	if conversations.is_empty() {
		println!("no conversations yet: `quarks send --to <account> <text>` starts one");
	}
	for c in &conversations {
		let with = match &c.peer {
			Some(peer) => format!("with {}", m.display_name(peer)),
			None => format!("group {}", c.group),
		};
		let mut unread =
			if c.unread > 0 { format!(" · {} unread", c.unread) } else { String::new() };
		if let Some(from) = &c.request {
			unread += &format!(
				" · a request from {}: answer or `contact add` to accept, `contact block` to refuse",
				m.display_name(from)
			);
		}
		println!("{with}{unread}");
		if let Some(last) = &c.last {
			println!("  {}", line(&m, last));
		}
	}
	Ok(())
}

/// Shows a page of a conversation's messages and marks it read.
pub async fn history(cli: &Cli, args: &HistoryArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let group = match args.conversation.parse::<u64>() {
		Ok(group) => group,
		Err(_) => {
			let peer = m.resolve(&args.conversation)?;
			m.database.direct(&peer)?.ok_or("no conversation with them yet")?
		}
	};
	let before = args.before.as_deref().map(parse_cursor).transpose()?;
	// Receipts the chain took since the last look; a node away leaves the ticks as known.
	let _ = m.check_deliveries().await;
	let page = m.database.history(group, before.as_ref(), args.limit)?;
	m.database.mark_read(group)?;
	if args.json {
		println!("{}", serde_json::to_string_pretty(&history_page_json(&page, args.limit))?);
		return Ok(());
	}
	if page.is_empty() {
		println!("no messages");
	}
	for message in &page {
		println!("{}", line(&m, message));
	}
	if let Some(older) = older_cursor(&page, args.limit) {
		println!("older: --before {older}");
	}
	Ok(())
}

/// One message on one line: time, sender, text, state.
fn line(m: &Messenger, message: &Message) -> String {
	let from = if message.outgoing { "you".into() } else { m.display_name(&message.sender) };
	let read = match (message.read_by, message.delivered_to) {
		(0, 0) => String::new(),
		(0, 1) => ", delivered".into(),
		(0, n) => format!(", delivered to {n}"),
		(1, _) => ", read".into(),
		(n, _) => format!(", read by {n}"),
	};
	format!("{} {from}: {} [{}{read}]", time(message.at), message.text, state(&message.state))
}

fn state(state: &MessageState) -> String {
	match state {
		MessageState::Sending => "sending".into(),
		MessageState::Pending => "pending".into(),
		MessageState::Anchored(block) => format!("anchored in block #{block}"),
		MessageState::Final(block) => format!("final, block #{block}"),
		MessageState::NotNotarized => "NOT NOTARIZED".into(),
		MessageState::Failed(reason) => format!("failed: {reason}"),
	}
}
