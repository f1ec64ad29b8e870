//! `quarks`: the Quarks chat client's command line. The logic lives in the library; this
//! file parses arguments, asks for the passphrase and prints.

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use quarks_client::{
	chain::{Chain, Progress, Wait},
	error::ReadError,
	hosts,
	inbox::{CommitOutcome, Delivered, Notarization, ReadOptions, Received, Update},
	keystore::{Identity, Keystore, DEFAULT_LOG_N, LOG_N_RANGE},
	messenger::Messenger,
	proofs::{self, Proof},
	queries,
	seal::Content,
	BlockNumber, SS58_PREFIX,
};
use quarks_primitives::{Destination, DeviceKey, GroupId};
use sp_core::{
	crypto::{AccountId32, Ss58AddressFormat, Ss58Codec},
	H256,
};
use std::{
	io::IsTerminal,
	path::PathBuf,
	process::ExitCode,
	time::{Duration, Instant},
};

/// The Quarks chat client: end-to-end encrypted messages, anchored on chain.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
	/// The node to talk to [default: $QUARKS_URL, or ws://127.0.0.1:9944].
	#[arg(long, global = true)]
	url: Option<String>,
	/// The identity's keystore file [default: $QUARKS_KEYSTORE, or quarks-keystore.json].
	/// The passphrase is read from $QUARKS_PASSPHRASE, or asked for.
	#[arg(long, global = true)]
	keystore: Option<PathBuf>,
	#[command(subcommand)]
	command: Command,
}

impl Cli {
	fn url(&self) -> &str {
		self.url.as_deref().unwrap_or_default()
	}

	fn keystore(&self) -> &std::path::Path {
		self.keystore.as_deref().unwrap_or(std::path::Path::new(""))
	}
}

#[derive(Subcommand)]
enum Command {
	/// Create a new identity (account and this device) in a new keystore file; with the
	/// secret of an existing account, a new device of it.
	Init(InitArgs),
	/// Show this identity: account, this device, chosen hosts.
	Whoami,
	/// Register this device on chain, list this account's devices, or remove one.
	#[command(subcommand)]
	Device(DeviceCommand),
	/// Update this device's keys in your conversations (future secrecy).
	#[command(subcommand)]
	Keys(KeysCommand),
	/// List mail hosts, or choose which keep your mail.
	#[command(subcommand)]
	Hosts(HostsCommand),
	/// Create and manage groups; every change of members or devices is an MLS commit the
	/// chain orders.
	#[command(subcommand)]
	Group(GroupCommand),
	/// Verify a contact: the safety number to compare with them.
	#[command(subcommand)]
	Contact(ContactCommand),
	/// Send a message to a person (your 1:1 conversation, started if needed) or a group:
	/// seal, hand to the node (which delivers it at once), then anchor it on chain.
	Send(SendArgs),
	/// Read the mail your hosts keep: check, decrypt, show with its notarization state,
	/// wait for it to settle, and acknowledge what is final.
	Inbox(InboxArgs),
	/// Follow your mailboxes live: each message shown as it arrives (pending), then as it is
	/// anchored and final; final messages acknowledged in batches.
	Watch(WatchArgs),
	/// Open an envelope file with this identity's keys, with every check.
	Open {
		/// The envelope file (raw SCALE bytes).
		file: PathBuf,
	},
	/// What the chain says of a message (anchor, sender, receipts, key versions), or of
	/// every message of a conversation in the local store.
	Audit(AuditArgs),
	/// Export a non-repudiation proof of one received message.
	Prove {
		/// The envelope hash.
		hash: H256,
		/// Where to write the proof (JSON).
		#[arg(short, long)]
		output: PathBuf,
	},
	/// Check a proof against the chain; needs no keystore and no secret.
	VerifyProof {
		/// The proof file.
		file: PathBuf,
	},
}

#[derive(Args)]
struct InitArgs {
	/// Use a development identity (Alice, Bob, Charlie, Dave) whose device the local chain
	/// bound at genesis. Its secrets are public: for testing only.
	#[arg(long, conflicts_with = "suri")]
	dev: Option<String>,
	/// Use an existing account (a secret phrase or URI) instead of generating one: a new
	/// device of that account.
	#[arg(long)]
	suri: Option<String>,
	/// scrypt cost as log2(N).
	#[arg(long, default_value_t = DEFAULT_LOG_N, hide = true,
		value_parser = clap::value_parser!(u8).range(*LOG_N_RANGE.start() as i64..=*LOG_N_RANGE.end() as i64))]
	kdf_log_n: u8,
}

#[derive(Subcommand)]
enum DeviceCommand {
	/// Bind this device to the account on chain (a new identity's first step) and publish
	/// its key package, through which others add it to conversations; bound already, a
	/// fresh key package.
	Register {
		/// Days the key package stays valid (at most 180).
		#[arg(long, default_value_t = 90)]
		days: BlockNumber,
	},
	/// This account's devices on chain; this one is marked.
	List,
	/// Unbind a device of this account (a lost phone): it reads nothing sent after your
	/// conversations' next commit, which this command makes.
	Remove {
		/// The device key (0x hex), as `device list` shows it.
		device: String,
	},
}

#[derive(Subcommand)]
enum KeysCommand {
	/// Replace this device's keys in every conversation (or one): whoever stole its state
	/// before cannot read what follows.
	Update {
		/// Only this group.
		#[arg(long)]
		group: Option<GroupId>,
	},
}

#[derive(Subcommand)]
enum ContactCommand {
	/// Show the safety number of you and an account, from the devices the chain binds to
	/// each; compare it with theirs in person or over another channel.
	Verify {
		/// Their account.
		account: String,
	},
}

#[derive(Subcommand)]
enum HostsCommand {
	/// Every admitted host: operator, endpoint, retention, quota; yours are marked.
	List,
	/// Choose the hosts (1 to 3 operators) that keep your mail.
	Choose {
		/// The hosts' operator accounts.
		#[arg(required = true, num_args = 1..=3)]
		operators: Vec<String>,
	},
}

#[derive(Subcommand)]
enum GroupCommand {
	/// Create a group with you as admin: every member's devices are added by one commit.
	Create {
		/// The other members.
		members: Vec<String>,
	},
	/// Add a member, with the commit that adds their devices (admins only).
	Add {
		/// The group.
		group: GroupId,
		/// The new member.
		member: String,
	},
	/// Remove a member, with the commit that removes their devices, so they cannot read
	/// what follows (admins only).
	Remove {
		/// The group.
		group: GroupId,
		/// The member.
		member: String,
	},
	/// Leave a group; any other member's next commit removes your devices.
	Leave {
		/// The group.
		group: GroupId,
	},
	/// Commit what the chain asks of your groups: the removal of a member who left,
	/// devices bound or unbound since (`watch` does this on its own).
	Sync,
	/// Show a group: members and epoch on chain, and the devices this device sees in it.
	Show {
		/// The group.
		group: GroupId,
	},
}

#[derive(Args)]
struct SendArgs {
	/// The recipient's account.
	#[arg(long, required_unless_present = "group", conflicts_with = "group")]
	to: Option<String>,
	/// The group.
	#[arg(long)]
	group: Option<GroupId>,
	/// Wait until the anchor is final, not just in a block.
	#[arg(long)]
	finalized: bool,
	/// Also write the sealed envelope to this file.
	#[arg(long)]
	save_envelope: Option<PathBuf>,
	/// The message.
	text: String,
}

#[derive(Args)]
struct InboxArgs {
	/// Do not send delivery receipts (hosts keep the mail).
	#[arg(long)]
	no_ack: bool,
	/// Seconds to wait for pending messages to settle.
	#[arg(long, default_value_t = 60)]
	timeout: u64,
}

#[derive(Args)]
struct WatchArgs {
	/// Stop after this many messages.
	#[arg(long)]
	count: Option<usize>,
	/// Stop after this many seconds.
	#[arg(long)]
	timeout: Option<u64>,
	/// Do not send delivery receipts.
	#[arg(long)]
	no_ack: bool,
	/// Seconds between updates of this device's keys in every conversation (future
	/// secrecy); 0 for none.
	#[arg(long, default_value_t = 86_400)]
	update_every: u64,
	/// Seconds between checks that your groups' devices are the chain's (a member left, a
	/// device was added or removed).
	#[arg(long, default_value_t = 10)]
	sync_every: u64,
}

#[derive(Args)]
struct AuditArgs {
	/// An envelope hash.
	#[arg(required_unless_present_any = ["with", "group"])]
	hash: Option<H256>,
	/// Every message of your 1:1 conversation with this account in your local store.
	#[arg(long, conflicts_with_all = ["hash", "group"])]
	with: Option<String>,
	/// Every message of this group in your local store.
	#[arg(long, conflicts_with = "hash")]
	group: Option<GroupId>,
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> ExitCode {
	let mut cli = Cli::parse();
	cli.url = Some(
		cli.url
			.or_else(|| std::env::var("QUARKS_URL").ok())
			.unwrap_or_else(|| "ws://127.0.0.1:9944".into()),
	);
	cli.keystore = Some(
		cli.keystore
			.or_else(|| std::env::var_os("QUARKS_KEYSTORE").map(PathBuf::from))
			.unwrap_or_else(|| PathBuf::from("quarks-keystore.json")),
	);
	// Print addresses in the chain's own format; both it and the generic one are read.
	sp_core::crypto::set_default_ss58_version(Ss58AddressFormat::custom(SS58_PREFIX));
	match run(cli).await {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("error: {e}");
			ExitCode::FAILURE
		}
	}
}

fn address(account: &AccountId32) -> String {
	account.to_ss58check()
}

fn parse_account(text: &str) -> Fallible<AccountId32> {
	if let Ok(bytes) = array_bytes::hex2array::<_, 32>(text) {
		return Ok(AccountId32::from(bytes));
	}
	AccountId32::from_ss58check_with_version(text)
		.map(|(account, _)| account)
		.map_err(|e| format!("not an account (SS58 or 0x hex): {text}: {e:?}").into())
}

fn passphrase(confirm: bool) -> Fallible<String> {
	if let Ok(passphrase) = std::env::var("QUARKS_PASSPHRASE") {
		return Ok(passphrase);
	}
	let first = rpassword::prompt_password("Keystore passphrase: ")?;
	if confirm && rpassword::prompt_password("Repeat passphrase: ")? != first {
		return Err("the passphrases differ".into());
	}
	Ok(first)
}

/// Shows a transaction's progress: a spinner on a terminal, a line per step otherwise.
struct Steps(Option<ProgressBar>);

impl Steps {
	fn new(what: &str) -> Self {
		if !std::io::stderr().is_terminal() {
			eprintln!("{what}");
			return Self(None);
		}
		let bar = ProgressBar::new_spinner();
		bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid"));
		bar.enable_steady_tick(Duration::from_millis(120));
		bar.set_message(what.to_owned());
		Self(Some(bar))
	}

	fn step(&self, progress: Progress) {
		let text = match progress {
			Progress::Relaying => "envelope handed to the node for relay".to_owned(),
			Progress::Submitted => "transaction accepted by the node".to_owned(),
			Progress::Broadcast => "transaction broadcast".to_owned(),
			Progress::InBlock(n) => format!("in block #{n}"),
			Progress::Finalized(n) => format!("finalized in block #{n}"),
		};
		match &self.0 {
			Some(bar) => bar.set_message(text),
			None => eprintln!("  … {text}"),
		}
	}

	fn reporter(&self) -> impl FnMut(Progress) + Send + '_ {
		move |progress| self.step(progress)
	}

	fn done(self) {
		if let Some(bar) = self.0 {
			bar.finish_and_clear();
		}
	}
}

fn wait_for(finalized: bool) -> Wait {
	if finalized {
		Wait::Finalized
	} else {
		Wait::InBlock
	}
}

async fn messenger(cli: &Cli) -> Fallible<Messenger> {
	let keystore = Keystore::open(cli.keystore(), &passphrase(false)?)?;
	let chain = Chain::connect(cli.url()).await?;
	Ok(Messenger::new(chain, keystore)?)
}

fn describe(destination: &Destination<AccountId32>) -> String {
	match destination {
		Destination::Direct(to) => address(to),
		Destination::Group { group, epoch } => format!("group {group} (epoch {epoch})"),
	}
}

fn device(key: &DeviceKey) -> String {
	array_bytes::bytes2hex("0x", key)
}

fn notarization(state: Notarization) -> String {
	match state {
		Notarization::Pending => "pending".into(),
		Notarization::Anchored(block) => format!("anchored in block #{block}"),
		Notarization::Final(block) => format!("final, anchored in block #{block}"),
		Notarization::NotNotarized => "NOT NOTARIZED: no anchor came".into(),
	}
}

fn show(received: &Received) {
	let from = address(&received.sender);
	let state = notarization(received.notarization);
	match &received.delivered {
		Delivered::Letter { opened, content: Content::Text(text) } => println!(
			"[{state}] {from} → {}: {text}\n         hash {:?}",
			describe(&opened.destination),
			received.hash
		),
		Delivered::Commit { group, epoch, outcome: CommitOutcome::Applied(applied) } => {
			let list = |devices: &[quarks_client::mls::DeviceId]| {
				devices.iter().map(|d| address(&d.account)).collect::<Vec<_>>().join(", ")
			};
			let mut change = String::new();
			if !applied.added.is_empty() {
				change += &format!(", added device(s) of {}", list(&applied.added));
			}
			if !applied.removed.is_empty() {
				change += &format!(", removed device(s) of {}", list(&applied.removed));
			}
			if applied.self_removed {
				change += ": this device was removed and reads nothing of it from now on";
			}
			println!("[{state}] {from} committed group {group} epoch {epoch}{change}")
		}
		Delivered::Commit { .. } => {}
		Delivered::Welcome { group, epoch, joined: true } => {
			println!("[{state}] {from} added you to group {group} (epoch {epoch})")
		}
		Delivered::Welcome { .. } => {}
	}
}

fn report(update: &Update) {
	match update {
		Update::Shown(received) => show(received),
		Update::Notarized { hash, notarization: state } => {
			println!("  {hash:?} {}", notarization(*state))
		}
		// Another device's welcome, or mail from before this device joined, is not this
		// device's to read.
		Update::Rejected {
			error:
				ReadError::ForAnotherDevice
				| ReadError::BeforeJoined { .. }
				| ReadError::StaleWelcome { .. },
			..
		} => {}
		Update::Rejected { hash, error } => println!("{hash:?} rejected: {error}"),
		Update::Acknowledged(n) => eprintln!("acknowledged {n} message(s)"),
		Update::Committed { group, epoch } => eprintln!("committed group {group} epoch {epoch}"),
		Update::CommitFailed { group, error } => eprintln!("group {group}: commit failed: {error}"),
	}
}

fn parse_device(text: &str) -> Fallible<DeviceKey> {
	array_bytes::hex2array::<_, 32>(text)
		.map_err(|e| format!("not a device key (0x and 64 hex digits): {text}: {e:?}").into())
}

fn read_options(follow: bool, acknowledge: bool) -> ReadOptions {
	ReadOptions {
		follow,
		count: None,
		timeout: None,
		acknowledge,
		sync_every: None,
		update_every: None,
	}
}

async fn run(cli: Cli) -> Fallible<()> {
	match &cli.command {
		Command::Init(args) => {
			let identity = match (&args.dev, &args.suri) {
				(Some(name), _) => Identity::development(name),
				(None, Some(suri)) => Identity::from_suri(suri)?,
				(None, None) => Identity::generate(),
			};
			let keystore =
				Keystore::create(cli.keystore(), &passphrase(true)?, identity, args.kdf_log_n)?;
			println!("created {}", cli.keystore().display());
			println!("account {}", address(&keystore.identity.account()?));
			if args.dev.is_none() && args.suri.is_none() {
				println!(
					"secret phrase (write it down; it restores the account): {}",
					keystore.identity.suri
				);
			}
			let seed = keystore.identity.device_seed;
			let key = quarks_client::mls::Device::from_seed(keystore.identity.account()?, seed)?
				.signature_key();
			println!("device {} (register it with `quarks device register`)", device(&key));
		}
		Command::Whoami => {
			let m = messenger(&cli).await?;
			println!("account {}", address(m.account()));
			let this = m.device_key();
			let bound = queries::devices(&m.chain, m.account()).await?.contains(&this);
			let package = queries::key_package(&m.chain, &this).await?;
			match (bound, package) {
				(true, Some(p)) => println!(
					"device {} registered, key package valid until block #{}",
					device(&this),
					p.expires_at
				),
				(true, None) => println!(
					"device {} registered, its key package expired (run `quarks device register`)",
					device(&this)
				),
				(false, _) => println!(
					"device {} not registered (run `quarks device register`)",
					device(&this)
				),
			}
			for host in hosts::chosen(&m.chain, m.account()).await? {
				println!("host {} at {}", address(&host.operator), host.endpoint());
			}
		}
		Command::Device(command) => device_command(&cli, command).await?,
		Command::Keys(KeysCommand::Update { group }) => {
			let m = messenger(&cli).await?;
			let steps = Steps::new("updating this device's keys");
			let outcomes = match group {
				Some(group) => {
					vec![(*group, m.update(*group, &mut steps.reporter()).await.map(Some))]
				}
				None => m.sync_groups(true, &mut steps.reporter()).await,
			};
			steps.done();
			let mut failed = 0u32;
			for (group, outcome) in outcomes {
				match outcome {
					Ok(Some(epoch)) => println!("group {group}: keys updated, epoch {epoch}"),
					Ok(None) => {}
					Err(e) => {
						failed = failed.saturating_add(1);
						println!("group {group}: {e}");
					}
				}
			}
			if failed > 0 {
				return Err(format!("{failed} group(s) not updated").into());
			}
		}
		Command::Hosts(HostsCommand::List) => {
			let m = messenger(&cli).await?;
			let mine: Vec<_> = hosts::chosen(&m.chain, m.account())
				.await?
				.into_iter()
				.map(|h| h.operator)
				.collect();
			for host in hosts::admitted(&m.chain).await? {
				let marker = if mine.contains(&host.operator) { "*" } else { " " };
				println!(
					"{marker} {} {} retention {} blocks, quota {} bytes",
					address(&host.operator),
					host.endpoint(),
					host.info.retention,
					host.info.user_quota
				);
			}
		}
		Command::Hosts(HostsCommand::Choose { operators }) => {
			let m = messenger(&cli).await?;
			let operators =
				operators.iter().map(|o| parse_account(o)).collect::<Fallible<Vec<_>>>()?;
			let steps = Steps::new("recording your choice of hosts");
			hosts::choose(&m.chain, m.pair(), &operators, Wait::Finalized, &mut steps.reporter())
				.await?;
			steps.done();
			println!("your mail now goes to {} host(s)", operators.len());
		}
		Command::Group(command) => group(&cli, command).await?,
		Command::Contact(ContactCommand::Verify { account }) => {
			let m = messenger(&cli).await?;
			let peer = parse_account(account)?;
			let contact = m.contact(&peer).await?;
			println!("safety number of you and {}:", address(&peer));
			for line in contact.safety_number.as_bytes().chunks(30) {
				let groups: Vec<&str> =
					line.chunks(5).map(|g| std::str::from_utf8(g).unwrap_or("?")).collect();
				println!("  {}", groups.join(" "));
			}
			println!("their devices on chain:");
			for key in &contact.devices {
				println!("  {}", device(key));
			}
			match contact.conversation_matches {
				Some(true) => println!("your conversation with them holds exactly these devices"),
				Some(false) => println!(
					"WARNING: your conversation with them holds other devices than the chain binds to them (a commit may be on its way; run `quarks group sync`)"
				),
				None => println!("you have no conversation with them yet"),
			}
		}
		Command::Send(args) => {
			let m = messenger(&cli).await?;
			let sent = match (args.group, &args.to) {
				(Some(group), _) => m.send_group(group, &args.text).await?,
				(None, to) => {
					m.send_direct(&parse_account(to.as_deref().unwrap_or_default())?, &args.text)
						.await?
				}
			};
			println!(
				"sent {:?} to {}: handed to the node, which delivers it now",
				sent.hash,
				describe(&sent.leaf.destination)
			);
			if let Some(file) = &args.save_envelope {
				let bytes = m.store.get(&sent.hash)?.ok_or("envelope missing from the store")?;
				std::fs::write(file, bytes)?;
			}
			let steps = Steps::new("anchoring it on chain");
			let notarized = m
				.notarize(
					std::slice::from_ref(&sent),
					wait_for(args.finalized),
					&mut steps.reporter(),
				)
				.await?;
			steps.done();
			let state = if notarized.included.finalized { "finalized" } else { "included" };
			println!("anchored in block #{} ({state})", notarized.included.block_number);
		}
		Command::Inbox(args) => {
			let m = messenger(&cli).await?;
			let mut shown = 0usize;
			let options = ReadOptions {
				timeout: Some(Duration::from_secs(args.timeout)),
				..read_options(false, !args.no_ack)
			};
			m.read_mail(options, &mut |update| {
				shown += usize::from(matches!(update, Update::Shown(r) if r.letter().is_some()));
				report(update)
			})
			.await?;
			if shown == 0 {
				println!("no mail");
			}
		}
		Command::Watch(args) => watch(&cli, args).await?,
		Command::Open { file } => {
			let m = messenger(&cli).await?;
			let bytes = std::fs::read(file)?;
			let mut received = m
				.open_envelope(&bytes)
				.await
				.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
			// A fresh anchor may not be final yet; give finality half a minute.
			let deadline = Instant::now() + Duration::from_secs(30);
			while !received.notarization.is_settled() && Instant::now() < deadline {
				tokio::time::sleep(Duration::from_secs(1)).await;
				m.check_notarization(&mut received).await?;
			}
			show(&received);
		}
		Command::Audit(args) => audit(&cli, args).await?,
		Command::Prove { hash, output } => {
			let m = messenger(&cli).await?;
			let proof = proofs::prove(&m, hash).await?;
			std::fs::write(output, serde_json::to_vec_pretty(&proof)?)?;
			println!("proof of {hash:?} written to {}", output.display());
		}
		Command::VerifyProof { file } => {
			let proof: Proof = serde_json::from_slice(&std::fs::read(file)?)
				.map_err(|e| format!("{}: not a proof: {e}", file.display()))?;
			let chain = Chain::connect(cli.url()).await?;
			let verified = proofs::verify(&chain, &proof).await?;
			println!("valid proof: {:?}", verified.hash);
			println!(
				"  sender   {} (signature of its device {} verified)",
				address(&verified.sender),
				device(&verified.device)
			);
			println!("  to       {}", describe(&verified.destination));
			println!(
				"  anchored in finalized block #{}, the device bound to the sender then",
				verified.anchored_at
			);
			match verified.content {
				Some(Content::Text(text)) => println!("  message  {text}"),
				None => println!("  message  {} bytes", verified.letter.content.len()),
			}
		}
	}
	Ok(())
}

async fn device_command(cli: &Cli, command: &DeviceCommand) -> Fallible<()> {
	let m = messenger(cli).await?;
	match command {
		DeviceCommand::Register { days } => {
			let steps = Steps::new("registering this device");
			let blocks_per_day = 86_400_000 / m.chain.block_time_ms().await?.max(1);
			let expires = m
				.register_device(
					days.saturating_mul(BlockNumber::try_from(blocks_per_day)?),
					Wait::Finalized,
					&mut steps.reporter(),
				)
				.await?;
			steps.done();
			println!(
				"device {} registered, key package valid until block #{expires}",
				device(&m.device_key())
			);
		}
		DeviceCommand::List => {
			let this = m.device_key();
			for key in queries::devices(&m.chain, m.account()).await? {
				let marker = if key == this { "* " } else { "  " };
				println!("{marker}{}", device(&key));
			}
		}
		DeviceCommand::Remove { device: key } => {
			let key = parse_device(key)?;
			let steps = Steps::new("removing the device");
			m.remove_device(&key, &mut steps.reporter()).await?;
			let outcomes = m.sync_groups(false, &mut steps.reporter()).await;
			steps.done();
			println!("device {} removed", device(&key));
			for (group, outcome) in outcomes {
				match outcome {
					Ok(Some(epoch)) => println!("group {group}: without it from epoch {epoch}"),
					Ok(None) => {}
					Err(e) => println!("group {group}: {e}"),
				}
			}
		}
	}
	Ok(())
}

async fn group(cli: &Cli, command: &GroupCommand) -> Fallible<()> {
	let m = messenger(cli).await?;
	match command {
		GroupCommand::Create { members } => {
			let members = members.iter().map(|a| parse_account(a)).collect::<Fallible<Vec<_>>>()?;
			let steps = Steps::new("creating the group and adding its members' devices");
			let group = m.create_group(&members, &mut steps.reporter()).await?;
			steps.done();
			println!("created group {group} with {} member(s) besides you", members.len());
		}
		GroupCommand::Add { group, member } | GroupCommand::Remove { group, member } => {
			let who = parse_account(member)?;
			let adding = matches!(command, GroupCommand::Add { .. });
			let steps =
				Steps::new(if adding { "adding the member" } else { "removing the member" });
			let epoch = if adding {
				m.add_member(*group, &who, &mut steps.reporter()).await?
			} else {
				m.remove_member(*group, &who, &mut steps.reporter()).await?
			};
			steps.done();
			let verb = if adding { "added" } else { "removed" };
			println!("{verb} {} in group {group}; its commit opened epoch {epoch}", address(&who));
		}
		GroupCommand::Leave { group } => {
			let steps = Steps::new("leaving the group");
			m.leave_group(*group, &mut steps.reporter()).await?;
			steps.done();
			println!("left group {group}");
		}
		GroupCommand::Sync => {
			let steps = Steps::new("bringing your groups in line with the chain");
			let outcomes = m.sync_groups(false, &mut steps.reporter()).await;
			steps.done();
			for (group, outcome) in outcomes {
				match outcome {
					Ok(Some(epoch)) => println!("group {group}: committed epoch {epoch}"),
					Ok(None) => println!("group {group}: in line with the chain"),
					Err(e) => println!("group {group}: {e}"),
				}
			}
		}
		GroupCommand::Show { group } => {
			let info = queries::group_info(&m.chain, *group)
				.await?
				.ok_or_else(|| format!("group {group} does not exist"))?;
			let state = if info.committed { "committed" } else { "awaiting its commit" };
			println!("group {group}: epoch {} ({state}), {} members", info.epoch, info.members);
			for member in queries::group_members(&m.chain, *group).await? {
				println!("  {}", address(&member));
			}
			match m.group_devices(*group) {
				Ok((epoch, devices)) => {
					println!("this device is at epoch {epoch}; the group's devices:");
					for d in devices {
						println!("  {} of {}", device(&d.signature_key), address(&d.account));
					}
				}
				Err(e) => println!("this device: {e}"),
			}
		}
	}
	Ok(())
}

async fn audit(cli: &Cli, args: &AuditArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let items = match (&args.hash, &args.with, args.group) {
		(Some(hash), _, _) => vec![(*hash, m.store.get(hash)?.ok_or("not in the local store")?)],
		(None, Some(peer), _) => {
			let peer = parse_account(peer)?;
			let group = m.store.direct(&peer)?.ok_or("no conversation with them")?;
			proofs::conversation(&m, group)?
		}
		(None, None, Some(group)) => proofs::conversation(&m, group)?,
		_ => Vec::new(),
	};
	let mut reports = Vec::new();
	for (hash, envelope) in items {
		let (membership, key) = (m.store.membership(&hash)?, m.store.message_key(&hash)?);
		match proofs::audit(&m.chain, &envelope, membership, key).await? {
			Some(report) => reports.push(report),
			None => println!(
				"{hash:?}: no final anchor (not yet final, never anchored, or pruned after 7 days)"
			),
		}
	}
	reports.sort_by_key(|r| r.anchored_at);
	for r in reports {
		println!("{:?}", r.hash);
		println!(
			"  anchored in block #{} {} by {}, leaf {} of {} under root {:?}",
			r.anchored_at,
			r.anchor_block.map(|h| format!("{h:?}")).unwrap_or_default(),
			address(&r.sender),
			r.membership.proof.leaf_index + 1,
			r.membership.proof.leaf_count,
			r.membership.root,
		);
		match r.device {
			Some((key, true)) => {
				println!("  signed by device {}, bound to the sender then", device(&key))
			}
			Some((key, false)) => {
				println!("  signed by device {}, NOT bound to the sender then", device(&key))
			}
			None => {}
		}
		println!("  to {}, size class {}", describe(&r.leaf.destination), r.leaf.size_class);
		for recipient in r.recipients {
			println!(
				"  {}: {}",
				address(&recipient.account),
				recipient.receipt.map_or("not acknowledged".into(), |b| format!(
					"delivered, receipt in block #{b}"
				))
			);
		}
	}
	Ok(())
}

/// Follows every chosen host's mailbox until `--count` messages settled or `--timeout`,
/// keeping this device's groups in line with the chain meanwhile.
async fn watch(cli: &Cli, args: &WatchArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	eprintln!("watching for mail to {} (Ctrl-C to stop)", address(m.account()));
	let options = ReadOptions {
		count: args.count,
		timeout: args.timeout.map(Duration::from_secs),
		sync_every: Some(Duration::from_secs(args.sync_every.max(1))),
		update_every: (args.update_every > 0).then(|| Duration::from_secs(args.update_every)),
		..read_options(true, !args.no_ack)
	};
	m.read_mail(options, &mut report).await?;
	Ok(())
}
