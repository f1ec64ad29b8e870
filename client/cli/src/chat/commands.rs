//! The chat's `/commands`, and the worker that runs whatever waits on the network (a
//! send, a group change, a chain read) one at a time, off the screen's loop: the screen
//! never waits, and two messages to someone new start one conversation, not two.

use super::Event;
pub use quarks_client::engine::Target;
use quarks_client::{
	engine::{self, Engine},
	invitation::{Invitation, SCHEME},
	send::now_ms,
};
use quarks_primitives::GroupId;
use sp_core::crypto::AccountId32;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Work for the worker.
pub enum Job {
	/// Send a message.
	Send(Target, String),
	/// Name an account, from an invitation link or an address.
	Contact(String, String),
	/// Show this account's invitation.
	Invite,
	/// Show the safety number with an account (a name, or the conversation's peer).
	Verify(AccountId32, bool),
	/// Check whether a contact is still verified.
	CheckVerified(AccountId32),
	/// Create a group with these members.
	NewGroup(Vec<String>),
	/// Add a member to a group.
	Add(GroupId, String),
	/// Remove a member from a group.
	Remove(GroupId, String),
	/// Leave a group.
	Leave(GroupId),
	/// Update this device's keys in every group.
	Keys,
	/// Tell a group's other members what this device read there.
	Read(GroupId),
	/// Block someone (a name, or an account).
	Block(AccountId32),
}

/// What a job needs of the screen: the group and the peer it shows.
type Needs = Box<dyn FnOnce(Option<GroupId>, Option<AccountId32>) -> Result<Job, String>>;

/// A command as the screen runs it.
pub enum Local {
	/// Open the 1:1 conversation with someone.
	To(String),
	/// Open a group.
	Group(GroupId),
	/// Show the commands.
	Help,
	/// Leave the chat.
	Quit,
	/// Accept the request shown.
	Accept,
	/// Block whoever started the request shown (or the 1:1 conversation's peer).
	BlockShown,
	/// Block someone.
	Block(String),
	/// Hand work to the worker.
	Job(Needs),
}

/// The commands, as `/help` shows them.
pub fn help() -> Vec<String> {
	[
		"/to <name|account>          open your conversation with someone",
		"/group <number>             open a group",
		"/contact <name> <link|acct> name someone (an invitation link verifies them)",
		"/invite                     your invitation link",
		"/verify [--matches]         the safety number with this conversation's peer",
		"/new <name> [<name>...]     create a group",
		"/add <name>  /remove <name> change this group's members (admins)",
		"/leave                      leave this group",
		"/keys                       update your keys in every conversation",
		"/accept  /block [name]      accept a stranger's request, or block them",
		"/quit                       leave the chat (also Ctrl-C)",
		"",
		"Tab / Shift-Tab: next or previous chat · PgUp / PgDn: scroll · Esc: close",
		"Ticks: … sending/retrying · ✓ pending · ✓ anchored #N · ✓✓ final #N · read",
	]
	.map(String::from)
	.to_vec()
}

/// Reads a command line (without its `/`).
pub fn parse(line: &str) -> Result<Local, String> {
	let words: Vec<String> = line.split_whitespace().map(String::from).collect();
	let usage = |u: &str| Err(format!("usage: /{u}"));
	let command = words.first().map(String::as_str).unwrap_or_default();
	let args = words.get(1..).unwrap_or_default().to_vec();
	let in_group = |group: Option<GroupId>| group.ok_or_else(|| "open a group first".to_owned());
	Ok(match (command, args.as_slice()) {
		("to", [who]) => Local::To(who.clone()),
		("to", _) => return usage("to <name|account>"),
		("group", [n]) => Local::Group(n.parse().map_err(|_| format!("not a group: {n}"))?),
		("group", _) => return usage("group <number>"),
		("help", _) => Local::Help,
		("quit" | "exit", _) => Local::Quit,
		("contact", [name, who]) => {
			let (name, who) = (name.clone(), who.clone());
			Local::Job(Box::new(move |_, _| Ok(Job::Contact(name, who))))
		}
		("contact", _) => return usage("contact <name> <invitation link|account>"),
		("invite", []) => Local::Job(Box::new(|_, _| Ok(Job::Invite))),
		("verify", flags) if flags.iter().all(|f| f == "--matches") => {
			let matches = !flags.is_empty();
			Local::Job(Box::new(move |_, peer| {
				peer.map(|p| Job::Verify(p, matches))
					.ok_or_else(|| "open a 1:1 conversation first".into())
			}))
		}
		("new", members) if !members.is_empty() => {
			let members = members.to_vec();
			Local::Job(Box::new(move |_, _| Ok(Job::NewGroup(members))))
		}
		("new", _) => return usage("new <name> [<name>...]"),
		("add" | "remove", [who]) => {
			let (add, who) = (command == "add", who.clone());
			Local::Job(Box::new(move |group, _| {
				let group = in_group(group)?;
				Ok(if add { Job::Add(group, who) } else { Job::Remove(group, who) })
			}))
		}
		("add" | "remove", _) => return usage(&format!("{command} <name|account>")),
		("leave", []) => Local::Job(Box::new(move |group, _| Ok(Job::Leave(in_group(group)?)))),
		("keys", []) => Local::Job(Box::new(|_, _| Ok(Job::Keys))),
		("accept", []) => Local::Accept,
		("block", []) => Local::BlockShown,
		("block", [who]) => Local::Block(who.clone()),
		_ => return Err(format!("no such command: /{line} (/help lists them)")),
	})
}

/// Starts the worker; it runs until the chat ends.
pub fn start(
	engine: Arc<Engine>,
	events: mpsc::UnboundedSender<Event>,
) -> mpsc::UnboundedSender<Job> {
	let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
	tokio::spawn(async move {
		while let Some(job) = rx.recv().await {
			if let Err(e) = run(&engine, &events, job).await {
				let _ = events.send(Event::Engine(engine::Event::Notice(e)));
			}
			let _ = events.send(Event::Engine(engine::Event::Changed));
		}
	});
	jobs
}

async fn run(
	engine: &Engine,
	events: &mpsc::UnboundedSender<Event>,
	job: Job,
) -> Result<(), String> {
	let m = engine.messenger();
	let since = now_ms().saturating_sub(1);
	let say = |text: String| {
		let _ = events.send(Event::Engine(engine::Event::Notice(text)));
	};
	let resolve = |who: &str| m.resolve(who).map_err(|e| e.to_string());
	let (sent, text) = match job {
		Job::Send(Target::Person(peer), text) => {
			say(format!(
				"starting a conversation with {} (waits for the chain)…",
				m.display_name(&peer)
			));
			let sent = engine.send(&Target::Person(peer.clone()), &text).await;
			if let Ok(Some(group)) = m.database.direct(&peer) {
				let _ = events.send(Event::Open(group));
			}
			(sent, text)
		}
		Job::Send(target, text) => (engine.send(&target, &text).await, text),
		Job::Read(group) => return engine.send_read(group).await.map_err(|e| e.to_string()),
		Job::Block(who) => {
			say(format!("blocking {}…", m.display_name(&who)));
			let left = m.block(&who, &mut |_| {}).await.map_err(|e| e.to_string())?;
			say(format!(
				"blocked {}: left {} conversation(s) they started; nothing of theirs opens now",
				m.display_name(&who),
				left.len()
			));
			return Ok(());
		}
		Job::Contact(name, who) => {
			let contact = if who.starts_with(SCHEME) {
				let invitation: Invitation = who.parse().map_err(|e| format!("{e}"))?;
				m.accept_invitation(&name, &invitation).await
			} else {
				m.resolve(&who).and_then(|account| m.name_contact(&name, &account))
			}
			.map_err(|e| e.to_string())?;
			let verified = if contact.verified.is_some() { ", verified" } else { "" };
			say(format!("{} is {}{verified}", contact.name, contact.account));
			return Ok(());
		}
		Job::Invite => {
			let link = m.invitation().await.map_err(|e| e.to_string())?.to_string();
			let lines = vec![
				"Give them this link (`quarks invite` prints its QR code);".into(),
				"they add you with /contact <your name> <link>:".into(),
				String::new(),
				link,
			];
			let _ = events.send(Event::Info("your invitation".into(), lines));
			return Ok(());
		}
		Job::Verify(peer, matches) => {
			let contact = m.contact(&peer).await.map_err(|e| e.to_string())?;
			let mut lines = vec![format!("safety number of you and {}:", m.display_name(&peer))];
			for line in contact.safety_number.as_bytes().chunks(30) {
				let groups: Vec<&str> =
					line.chunks(5).map(|g| std::str::from_utf8(g).unwrap_or("?")).collect();
				lines.push(format!("  {}", groups.join(" ")));
			}
			lines.push(match contact.conversation_matches {
				Some(true) => "your conversation holds exactly their devices on chain".into(),
				Some(false) => {
					"WARNING: your conversation holds other devices than the chain binds to them"
						.into()
				}
				None => "no conversation with them yet".into(),
			});
			if matches {
				let named = m.mark_verified(&peer, &contact.devices).map_err(|e| e.to_string())?;
				lines.push(format!("{} is now verified", named.name));
				let _ = events.send(Event::Verified(peer, true));
			} else {
				lines.push("compare it with theirs; if it matches: /verify --matches".into());
			}
			let _ = events.send(Event::Info("verify".into(), lines));
			return Ok(());
		}
		Job::CheckVerified(peer) => {
			if let Ok(Some(contact)) = m.database.contact_of(&peer) {
				let verified = m.still_verified(&contact).await.map_err(|e| e.to_string())?;
				let _ = events.send(Event::Verified(peer, verified));
			}
			return Ok(());
		}
		Job::NewGroup(names) => {
			let members = names.iter().map(|n| resolve(n)).collect::<Result<Vec<_>, _>>()?;
			say("creating the group (waits for the chain)…".into());
			let group = m.create_group(&members, &mut |_| {}).await.map_err(|e| e.to_string())?;
			say(format!("created group {group}"));
			let _ = events.send(Event::Open(group));
			return Ok(());
		}
		Job::Add(group, who) => {
			let account = resolve(&who)?;
			say(format!("adding {who} (waits for the chain)…"));
			let epoch =
				m.add_member(group, &account, &mut |_| {}).await.map_err(|e| e.to_string())?;
			say(format!("added {who} to group {group} (epoch {epoch})"));
			return Ok(());
		}
		Job::Remove(group, who) => {
			let account = resolve(&who)?;
			say(format!("removing {who} (waits for the chain)…"));
			let epoch =
				m.remove_member(group, &account, &mut |_| {}).await.map_err(|e| e.to_string())?;
			say(format!("removed {who} from group {group} (epoch {epoch}): they read nothing new"));
			return Ok(());
		}
		Job::Leave(group) => {
			m.leave_group(group, &mut |_| {}).await.map_err(|e| e.to_string())?;
			say(format!("left group {group}"));
			return Ok(());
		}
		Job::Keys => {
			let results = m.sync_groups(true, &mut |_| {}).await;
			let failed = results.iter().filter(|(_, r)| r.is_err()).count();
			say(format!(
				"keys updated in {} conversation(s), {failed} failed",
				results.len().saturating_sub(failed)
			));
			return Ok(());
		}
	};
	match sent {
		Ok(_) => {}
		// Sealed and recorded: it is retried until a node takes it.
		Err(e) if m.database.unsent(since).is_ok_and(|unsent| !unsent.is_empty()) => {
			say(format!("not sent yet, retrying: {e}"))
		}
		// Not even sealed (the node is out of reach): the text goes back to the compose line.
		Err(e) => {
			let _ = events.send(Event::Restore(text));
			say(format!("not sent: {e}; your text is back in the compose line"))
		}
	}
	Ok(())
}
