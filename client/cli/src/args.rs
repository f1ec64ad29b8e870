//! The command line, as clap reads it: each subcommand's doc is its help.

use clap::{Args, Parser, Subcommand};
use quarks_client::{
	keystore::{DEFAULT_LOG_N, LOG_N_RANGE},
	BlockNumber,
};
use quarks_primitives::GroupId;
use sp_core::H256;
use std::path::PathBuf;

/// The Quarks chat client: end-to-end encrypted messages, anchored on chain.
#[derive(Parser)]
#[command(name = "quarks", version = env!("SUBSTRATE_CLI_IMPL_VERSION"))]
pub struct Cli {
	/// The node to talk to [default: $QUARKS_URL, or ws://127.0.0.1:9944].
	#[arg(long, global = true)]
	pub url: Option<String>,
	/// The identity's keystore file [default: $QUARKS_KEYSTORE, or quarks-keystore.json].
	/// The passphrase is read from $QUARKS_PASSPHRASE, or asked for.
	#[arg(long, global = true)]
	pub keystore: Option<PathBuf>,
	/// The network's raw chain spec (`quarks-node build-spec --raw`) [default:
	/// $QUARKS_CHAIN_SPEC]: finality is followed from its genesis, instead of trusting the
	/// node's first answer, by a device that has proven none yet; all an offline check
	/// trusts.
	#[arg(long, global = true)]
	pub chain_spec: Option<PathBuf>,
	#[command(subcommand)]
	pub command: Command,
}

impl Cli {
	pub fn url(&self) -> &str {
		self.url.as_deref().unwrap_or_default()
	}

	pub fn keystore(&self) -> &std::path::Path {
		self.keystore.as_deref().unwrap_or(std::path::Path::new(""))
	}
}

#[derive(Subcommand)]
pub enum Command {
	/// The interactive chat: your conversations, their messages with the state of each,
	/// and a compose line; `/help` inside lists its commands. Reads mail, acknowledges,
	/// syncs groups and anchors what you send while it runs.
	Chat(ChatArgs),
	/// Serve this identity to programs on this machine: a JSON API and a WebSocket event
	/// stream on 127.0.0.1 (docs/api.md), for bots and the web app. Prints the address and
	/// the secret token every request must carry.
	Serve(ServeArgs),
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
	/// Send QRK to an account (a newcomer needs some for the fees of registering a device
	/// and choosing hosts): shows the fee, then pays, keeping your account alive.
	Pay {
		/// The account to pay.
		to: String,
		/// How much, in QRK (`1`, `0.25`).
		amount: String,
	},
	/// Name accounts, from their invitation or address; list, verify and forget them.
	/// Wherever a command takes an account, a contact's name will do.
	#[command(subcommand)]
	Contact(ContactCommand),
	/// Your invitation: a `quarks:` link, and its QR code, with your account, hosts and
	/// fingerprint. Whoever adds it (`quarks contact add <name> <link>`) has you verified.
	Invite {
		/// Print the link only.
		#[arg(long)]
		link: bool,
	},
	/// Send a message to a person (your 1:1 conversation, started if needed) or a group:
	/// seal, hand to the node (which delivers it at once), then anchor it on chain.
	Send(SendArgs),
	/// List your conversations, the latest first: unread messages and the last one. Messages
	/// come in with `inbox` or `watch`.
	Chats {
		/// Print JSON, for scripts.
		#[arg(long)]
		json: bool,
	},
	/// Show a conversation's messages, oldest first, with the state of each (sending,
	/// pending, anchored, final, not notarized, failed); marks it read.
	History(HistoryArgs),
	/// Read the mail your hosts keep: check, decrypt, show with its notarization state,
	/// wait for it to settle, and acknowledge what is final.
	Inbox(InboxArgs),
	/// Have your hosts delete mail you do not want kept, without a delivery receipt (its
	/// sender's anchor stays on chain): these envelopes, or everything from one sender.
	/// Frees your mailbox quota, say after a flood from one sender.
	Delete(DeleteArgs),
	/// Follow your mailboxes live: each message shown as it arrives (pending), then as it is
	/// anchored and final; final messages acknowledged in batches.
	Watch(WatchArgs),
	/// Open an envelope file with this identity's keys, with every check.
	Open {
		/// The envelope file (raw SCALE bytes).
		file: PathBuf,
	},
	/// What the chain says of a message (anchor, sender, signing device, receipts), or of
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
	/// Check a proof against the chain, or with no node at all (`--offline`); needs no
	/// keystore and no secret.
	VerifyProof {
		/// The proof file.
		file: PathBuf,
		/// Check it from the network's chain spec (`--chain-spec`) alone, with no node.
		#[arg(long)]
		offline: bool,
	},
}

#[derive(Args)]
#[command(
	after_help = "Keys: Enter sends · Tab / Shift-Tab: next or previous chat · PgUp / PgDn: \
scroll · Esc: close · Ctrl-C: quit.\nTicks: … sending (or retrying) · ✓ pending · ✓ anchored #block · ✓✓ final #block · read.\nRead receipts: others see when you read their messages (--no-read-receipts: they do not).\n\
Commands: /to /group /contact /invite /verify /new /add /remove /leave /keys /help /quit."
)]
pub struct ChatArgs {
	/// Open the conversation with this person (a name or an account) first.
	#[arg(long)]
	pub with: Option<String>,
	/// Seconds between checks that your groups' devices are the chain's.
	#[arg(long, default_value_t = 10)]
	pub sync_every: u64,
	/// Do not tell others when you have read their messages.
	#[arg(long)]
	pub no_read_receipts: bool,
}

#[derive(Args)]
pub struct ServeArgs {
	/// Where to listen. Only a loopback address unless --allow-remote: anyone who can
	/// reach it and learns the token reads and sends as you.
	#[arg(long, default_value = "127.0.0.1:8740")]
	pub listen: std::net::SocketAddr,
	/// Listen on an address other machines reach (behind your own TLS and firewall).
	#[arg(long)]
	pub allow_remote: bool,
	/// A name and port others reach this service by (e.g. behind a TLS proxy): requests
	/// naming it are served too. Needed with --allow-remote.
	#[arg(long, value_name = "NAME:PORT")]
	pub public_host: Vec<String>,
	/// Also write the token to this file (readable by you only), for a bot to read.
	#[arg(long)]
	pub token_file: Option<std::path::PathBuf>,
	/// Seconds between checks that your groups' devices are the chain's.
	#[arg(long, default_value_t = 10)]
	pub sync_every: u64,
}

#[derive(Args)]
pub struct HistoryArgs {
	/// The conversation: the other person's account (your 1:1 conversation), or a group
	/// number.
	pub conversation: String,
	/// How many messages, at most.
	#[arg(long, default_value_t = 20)]
	pub limit: u32,
	/// Older messages: the cursor a previous page printed.
	#[arg(long)]
	pub before: Option<String>,
	/// Print JSON, for scripts.
	#[arg(long)]
	pub json: bool,
}

#[derive(Args)]
pub struct InitArgs {
	/// Use a development identity (Alice, Bob, Charlie, Dave) whose device the local chain
	/// bound at genesis. Its secrets are public: for testing only.
	#[arg(long, conflicts_with = "suri")]
	pub dev: Option<String>,
	/// Use an existing account (a secret phrase or URI) instead of generating one: a new
	/// device of that account.
	#[arg(long)]
	pub suri: Option<String>,
	/// scrypt cost as log2(N).
	#[arg(long, default_value_t = DEFAULT_LOG_N, hide = true,
		value_parser = clap::value_parser!(u8).range(*LOG_N_RANGE.start() as i64..=*LOG_N_RANGE.end() as i64))]
	pub kdf_log_n: u8,
}

#[derive(Subcommand)]
pub enum DeviceCommand {
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
	/// Drop the records of devices removed a week ago or more, returning their deposit
	/// (all of it once none is left).
	Forget,
}

#[derive(Subcommand)]
pub enum KeysCommand {
	/// Replace this device's keys in every conversation (or one): whoever stole its state
	/// before cannot read what follows.
	Update {
		/// Only this group.
		#[arg(long)]
		group: Option<GroupId>,
	},
}

#[derive(Subcommand)]
pub enum ContactCommand {
	/// Name an account. From an invitation link, its fingerprint and hosts are checked
	/// against the chain first, and the contact is marked verified.
	Add {
		/// The name (letters, digits, '-', '_', '.').
		name: String,
		/// Their invitation link (`quarks:…`) or account.
		who: String,
	},
	/// Your contacts, by name: account, and whether verified against the devices the
	/// chain binds to them now.
	List {
		/// Print JSON, for scripts.
		#[arg(long)]
		json: bool,
	},
	/// Forget a contact's name (your conversations with them stay).
	Remove {
		/// The name.
		name: String,
	},
	/// Block someone: leave the conversations they started that you did not accept,
	/// delete their mail at your hosts, and open nothing they send from now on.
	Block {
		/// Their name or account.
		who: String,
	},
	/// Unblock someone.
	Unblock {
		/// Their name or account.
		who: String,
	},
	/// Show the safety number of you and an account, from the devices the chain binds to
	/// each; compare it with theirs in person or over another channel.
	Verify {
		/// Their name or account.
		account: String,
		/// The numbers matched: mark the contact verified (until their devices change).
		#[arg(long)]
		matches: bool,
	},
}

#[derive(Subcommand)]
pub enum HostsCommand {
	/// Every admitted host: operator, endpoint, retention, quota; yours are marked.
	List,
	/// Choose the hosts (1 to 3 operators) that keep your mail.
	Choose {
		/// The hosts' operator accounts.
		#[arg(required = true, num_args = 1..=3)]
		operators: Vec<String>,
	},
	/// Clear your choice and get its deposit back: no host keeps your mail any more.
	Clear,
}

#[derive(Subcommand)]
pub enum GroupCommand {
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
pub struct SendArgs {
	/// The recipient's account.
	#[arg(long, required_unless_present = "group", conflicts_with = "group")]
	pub to: Option<String>,
	/// The group.
	#[arg(long)]
	pub group: Option<GroupId>,
	/// Wait until the anchor is final, not just in a block.
	#[arg(long)]
	pub finalized: bool,
	/// Also write the sealed envelope to this file.
	#[arg(long)]
	pub save_envelope: Option<PathBuf>,
	/// The message.
	pub text: String,
}

#[derive(Args)]
pub struct InboxArgs {
	/// Do not send delivery receipts (hosts keep the mail).
	#[arg(long)]
	pub no_ack: bool,
	/// Seconds to wait for pending messages to settle.
	#[arg(long, default_value_t = 60)]
	pub timeout: u64,
}

#[derive(Args)]
pub struct DeleteArgs {
	/// Every envelope from this account.
	#[arg(long, required_unless_present = "hashes")]
	pub from: Option<String>,
	/// Envelope hashes.
	pub hashes: Vec<H256>,
}

#[derive(Args)]
pub struct WatchArgs {
	/// Stop after this many messages.
	#[arg(long)]
	pub count: Option<usize>,
	/// Stop after this many seconds.
	#[arg(long)]
	pub timeout: Option<u64>,
	/// Do not send delivery receipts.
	#[arg(long)]
	pub no_ack: bool,
	/// Seconds between updates of this device's keys in every conversation (future
	/// secrecy); 0 for none.
	#[arg(long, default_value_t = 86_400)]
	pub update_every: u64,
	/// Seconds between checks that your groups' devices are the chain's (a member left, a
	/// device was added or removed).
	#[arg(long, default_value_t = 10)]
	pub sync_every: u64,
}

#[derive(Args)]
pub struct AuditArgs {
	/// An envelope hash.
	#[arg(required_unless_present_any = ["with", "group"])]
	pub hash: Option<H256>,
	/// Every message of your 1:1 conversation with this account in your local store.
	#[arg(long, conflicts_with_all = ["hash", "group"])]
	pub with: Option<String>,
	/// Every message of this group in your local store.
	#[arg(long, conflicts_with = "hash")]
	pub group: Option<GroupId>,
}
