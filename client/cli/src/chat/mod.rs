//! `quarks chat`: the interactive terminal chat. One window: the conversations with their
//! unread counts, the selected one's messages with the state of each, and a compose line;
//! `/commands` for what the other commands do. Underneath, the same library as the
//! rest: the library's [`Engine`] follows mail (receipts, group sync, key updates) and
//! anchors what is sent, and the screen is a view of the message database.
//!
//! Nothing on the screen waits for a block: a letter is shown the moment it arrives
//! (pending, held in memory: unpaid mail is not written to disk) and then follows its
//! anchor to final.

mod commands;
mod view;

use crate::{args::ChatArgs, input::*};
use commands::{Job, Target};
use crossterm::event::{
	Event as Terminal, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures::StreamExt;
use quarks_client::{
	database::{Conversation, Message, MAX_PAGE},
	engine::{self, Engine},
	messenger::Messenger,
};
use quarks_primitives::GroupId;
use sp_core::crypto::AccountId32;
use std::{collections::HashMap, io::Write, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// What the screen reacts to, besides keys.
pub enum Event {
	/// What the engine tells.
	Engine(engine::Event),
	/// A page of text to show over the messages until Esc.
	Info(String, Vec<String>),
	/// Show this conversation.
	Open(GroupId),
	/// A message that could not even be sealed: its text, back to the compose line.
	Restore(String),
	/// Whether this contact is verified against the devices the chain binds now.
	Verified(AccountId32, bool),
}

/// The screen's state.
pub struct App {
	m: Arc<Messenger>,
	jobs: mpsc::UnboundedSender<Job>,
	conversations: Vec<Conversation>,
	target: Option<Target>,
	messages: Vec<Message>,
	/// Letters shown before their anchor: not in the database yet.
	arrived: Vec<Message>,
	names: HashMap<AccountId32, String>,
	verified: HashMap<AccountId32, bool>,
	input: String,
	/// Lines scrolled back from the latest.
	scroll: usize,
	/// Messages of the selected conversation read from the database.
	loaded: u32,
	status: String,
	info: Option<(String, Vec<String>)>,
	/// Whether to tell others what this device read.
	read_receipts: bool,
}

const FIRST_PAGE: u32 = 200;

pub async fn run(cli: &crate::args::Cli, args: &ChatArgs) -> Fallible<()> {
	let m = Arc::new(messenger(cli).await?);
	let (engine, mut told) = Engine::start(m.clone(), Duration::from_secs(args.sync_every.max(1)));
	let (events, mut rx) = mpsc::unbounded_channel();
	let forward = events.clone();
	tokio::spawn(async move {
		while let Some(event) = told.recv().await {
			let _ = forward.send(Event::Engine(event));
		}
	});
	let jobs = commands::start(engine, events);
	let mut app = App {
		m,
		jobs,
		conversations: Vec::new(),
		target: None,
		messages: Vec::new(),
		arrived: Vec::new(),
		names: HashMap::new(),
		verified: HashMap::new(),
		input: String::new(),
		scroll: 0,
		loaded: FIRST_PAGE,
		status: "Tab: next chat · PgUp/PgDn: scroll · /help · Ctrl-C: quit".into(),
		info: None,
		read_receipts: !args.no_read_receipts,
	};
	if let Some(to) = &args.with {
		app.open_with(to)?;
	}
	let mut terminal = ratatui::init();
	let result = app.run(&mut terminal, &mut rx).await;
	ratatui::restore();
	result
}

enum Flow {
	Go,
	Quit,
}

impl App {
	async fn run(
		&mut self,
		terminal: &mut ratatui::DefaultTerminal,
		rx: &mut mpsc::UnboundedReceiver<Event>,
	) -> Fallible<()> {
		let mut keys = EventStream::new();
		// States change on chain without an event here (an anchor turns final).
		let mut tick = tokio::time::interval(Duration::from_millis(500));
		loop {
			self.refresh()?;
			terminal.draw(|frame| view::draw(frame, self))?;
			tokio::select! {
				key = keys.next() => match key {
					Some(Ok(Terminal::Key(key))) if key.kind == KeyEventKind::Press => {
						if let Flow::Quit = self.key(key) {
							return Ok(());
						}
					}
					Some(Err(e)) => return Err(e.into()),
					None => return Ok(()),
					_ => {}
				},
				Some(event) = rx.recv() => self.event(event),
				_ = tick.tick() => {}
			}
		}
	}

	fn group(&self) -> Option<GroupId> {
		match self.target {
			Some(Target::Group(group)) => Some(group),
			_ => None,
		}
	}

	/// Reads the screen's state from the database.
	fn refresh(&mut self) -> Fallible<()> {
		let m = self.m.clone();
		let db = &m.database;
		self.names = db.contacts()?.into_iter().map(|c| (c.account, c.name)).collect();
		self.conversations = db.conversations()?;
		if self.target.is_none() {
			if let Some(first) = self.conversations.first().map(|c| c.group) {
				self.select(Target::Group(first));
			}
		}
		// Letters shown before their anchor leave the list once the database has them.
		self.arrived.retain(|a| !db.has_message(&a.hash).unwrap_or(false));
		self.messages = match self.group() {
			Some(group) => {
				if self.conversations.iter().any(|c| c.group == group && c.unread > 0) {
					db.mark_read(group)?;
					self.report_read(group);
				}
				db.history(group, None, self.loaded)?
			}
			None => Vec::new(),
		};
		Ok(())
	}

	/// Tells `group`'s other members what this device read there, unless told not to.
	fn report_read(&self, group: GroupId) {
		if self.read_receipts {
			let _ = self.jobs.send(Job::Read(group));
		}
	}

	/// Shows `target`, from its latest message.
	fn select(&mut self, target: Target) {
		if let Target::Group(group) = target {
			self.report_read(group);
			let peer =
				self.conversations.iter().find(|c| c.group == group).and_then(|c| c.peer.clone());
			if let Some(peer) = peer.filter(|p| self.names.contains_key(p)) {
				let _ = self.jobs.send(Job::CheckVerified(peer));
			}
		}
		self.target = Some(target);
		self.scroll = 0;
		self.loaded = FIRST_PAGE;
	}

	/// Opens the 1:1 conversation with `who` (a name or an account), or a new one that its
	/// first message starts.
	fn open_with(&mut self, who: &str) -> Fallible<()> {
		let peer = self.m.resolve(who)?;
		match self.m.database.direct(&peer)? {
			Some(group) => self.select(Target::Group(group)),
			None => self.select(Target::Person(peer)),
		}
		Ok(())
	}

	fn name(&self, account: &AccountId32) -> String {
		self.names.get(account).cloned().unwrap_or_else(|| view::short(account))
	}

	fn key(&mut self, key: KeyEvent) -> Flow {
		let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
		match key.code {
			KeyCode::Char('c' | 'd') if ctrl => return Flow::Quit,
			KeyCode::Char('n') if ctrl => self.step(1),
			KeyCode::Char('p') if ctrl => self.step(-1),
			KeyCode::Tab => self.step(1),
			KeyCode::BackTab => self.step(-1),
			KeyCode::PageUp => {
				self.scroll = self.scroll.saturating_add(10);
				if self.scroll >= self.messages.len() && self.loaded < MAX_PAGE {
					self.loaded = self.loaded.saturating_mul(2).min(MAX_PAGE);
				}
			}
			KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
			KeyCode::Esc if self.info.is_some() => self.info = None,
			KeyCode::Esc => self.input.clear(),
			KeyCode::Backspace => {
				self.input.pop();
			}
			KeyCode::Enter => {
				let line = std::mem::take(&mut self.input);
				return self.submit(line.trim());
			}
			KeyCode::Char(c) if !ctrl => self.input.push(c),
			_ => {}
		}
		Flow::Go
	}

	/// Moves to the next (1) or previous (-1) conversation.
	fn step(&mut self, by: isize) {
		let count = self.conversations.len() as isize;
		if count == 0 {
			return;
		}
		let at = self
			.group()
			.and_then(|g| self.conversations.iter().position(|c| c.group == g))
			.map_or(0, |i| i as isize);
		let next = at.saturating_add(by).rem_euclid(count) as usize;
		self.select(Target::Group(self.conversations[next].group));
		self.info = None;
	}

	fn submit(&mut self, line: &str) -> Flow {
		if line.is_empty() {
			return Flow::Go;
		}
		if let Some(command) = line.strip_prefix('/') {
			return match commands::parse(command) {
				Ok(commands::Local::Quit) => Flow::Quit,
				Ok(local) => {
					if let Err(e) = self.local(local) {
						self.status = e.to_string();
					}
					Flow::Go
				}
				Err(message) => {
					self.status = message;
					Flow::Go
				}
			};
		}
		match self.target.clone() {
			Some(target) => {
				self.scroll = 0;
				let _ = self.jobs.send(Job::Send(target, line.to_owned()));
			}
			None => self.status = "no conversation: `/to <name>` opens one".into(),
		}
		Flow::Go
	}

	fn local(&mut self, command: commands::Local) -> Fallible<()> {
		use commands::Local;
		match command {
			Local::To(who) => self.open_with(&who)?,
			Local::Group(group) => self.select(Target::Group(group)),
			Local::Help => self.info = Some(("help".into(), commands::help())),
			Local::Accept => {
				let group = self.group().ok_or("open the request first")?;
				if !self.m.database.accept(group)? {
					return Err("this conversation is not a request".into());
				}
				self.status = "accepted: they see when you read their messages now".into();
				self.report_read(group);
			}
			Local::BlockShown => {
				let group = self.group();
				let conversation = self.conversations.iter().find(|c| Some(c.group) == group);
				let who = conversation
					.and_then(|c| c.request.clone().or_else(|| c.peer.clone()))
					.ok_or("/block <name|account> in a group")?;
				let _ = self.jobs.send(Job::Block(who));
			}
			Local::Block(who) => {
				let who = self.m.resolve(&who)?;
				let _ = self.jobs.send(Job::Block(who));
			}
			Local::Job(job) => {
				let job = job(self.group(), self.peer());
				match job {
					Ok(job) => {
						let _ = self.jobs.send(job);
					}
					Err(message) => self.status = message,
				}
			}
			Local::Quit => {}
		}
		Ok(())
	}

	/// The other account of the conversation shown, if it is 1:1.
	fn peer(&self) -> Option<AccountId32> {
		match &self.target {
			Some(Target::Person(peer)) => Some(peer.clone()),
			Some(Target::Group(group)) => {
				self.conversations.iter().find(|c| c.group == *group).and_then(|c| c.peer.clone())
			}
			None => None,
		}
	}

	fn event(&mut self, event: Event) {
		match event {
			Event::Engine(engine::Event::Arrived(message)) => {
				if !message.outgoing {
					// The bell: the terminal (or tmux, or the SSH client's) says so.
					let _ = std::io::stdout().write_all(b"\x07");
				}
				if !self.arrived.iter().any(|m| m.hash == message.hash) {
					self.arrived.push(message);
				}
			}
			Event::Engine(engine::Event::Dropped(hash)) => self.arrived.retain(|m| m.hash != hash),
			Event::Engine(engine::Event::Changed) => {}
			Event::Engine(engine::Event::Notice(notice)) => self.status = notice,
			Event::Info(title, lines) => self.info = Some((title, lines)),
			Event::Open(group) => {
				self.refresh().ok();
				self.select(Target::Group(group));
			}
			Event::Restore(text) if self.input.is_empty() => self.input = text,
			Event::Restore(_) => {}
			Event::Verified(peer, verified) => {
				self.verified.insert(peer, verified);
			}
		}
	}
}
