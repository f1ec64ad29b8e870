//! A harness for tests against real `quarks-node` processes on 127.0.0.1.
//!
//! Each node runs in its own temporary base path with fixed node keys, its output goes
//! to a log file kept in the test's temporary directory (printed when a test fails),
//! and every process is stopped with SIGINT, then killed, when its handle drops (or killed
//! at once by [`Node::kill`], for fault tests).

#![allow(dead_code)]

use codec::{Decode, Encode};
use jsonrpsee::{
	core::client::ClientT,
	http_client::{HttpClient, HttpClientBuilder},
	rpc_params,
};
use quarks_runtime::{
	AccountId, Runtime, RuntimeCall, SignedPayload, TxExtension, UncheckedExtrinsic, VERSION,
};
use sp_core::{crypto::Pair as _, sr25519, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, MultiAddress};
use std::{
	io::{BufRead, BufReader, Write},
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::{mpsc, Arc, Mutex, MutexGuard},
	time::{Duration, Instant},
};

/// Networks share two cores: one network at a time.
static NETWORK_LOCK: Mutex<()> = Mutex::new(());

/// Holds the machine for one test's network.
pub fn exclusive() -> MutexGuard<'static, ()> {
	NETWORK_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The secret node key `n` (1 = Alice … 4 = Dave in the `local` preset's allow-list).
pub fn node_key(n: u8) -> String {
	format!("{:064x}", n)
}

/// The ed25519 public key (and so the peer id) of node key `n`.
pub fn node_public_key(n: u8) -> [u8; 32] {
	let mut seed = [0u8; 32];
	seed[31] = n;
	sp_core::ed25519::Pair::from_seed(&seed).public().0
}

pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("a free loopback port")
}

/// A running node.
pub struct Node {
	pub name: String,
	child: Child,
	pub p2p_port: u16,
	pub rpc_port: u16,
	pub prometheus_port: Option<u16>,
	pub rpc: HttpClient,
	pub rpc_url: String,
	pub log_path: PathBuf,
	lines: Arc<Mutex<Vec<String>>>,
}

/// How to start a node. Starting one with the name of a stopped one restarts it on the
/// same base path (`<dir>/<name>`).
#[derive(Default)]
pub struct NodeConfig<'a> {
	pub name: &'a str,
	/// The chain spec: `local` when not given.
	pub chain: Option<&'a str>,
	/// Whether it authors blocks and votes on finality.
	pub validator: bool,
	/// A development key (`alice`, …) to validate with; otherwise a validator uses the
	/// keys in its base path's keystore.
	pub dev_key: Option<&'a str>,
	/// Node key `n` (see [`node_key`]); otherwise the node key file in its base path.
	pub node_key: Option<u8>,
	pub bootnodes: Vec<String>,
	/// A fixed RPC port (a host's endpoint is on chain); a free one otherwise.
	pub rpc_port: Option<u16>,
	/// Serve Prometheus metrics on this port (none otherwise).
	pub prometheus_port: Option<u16>,
	/// More command-line arguments.
	pub args: Vec<String>,
}

impl Node {
	pub fn start(dir: &Path, cfg: NodeConfig<'_>) -> Node {
		let base = dir.join(cfg.name);
		let log_path = dir.join(format!("{}.log", cfg.name));
		let p2p_port = free_port();
		let rpc_port = cfg.rpc_port.unwrap_or_else(free_port);
		let mut cmd = Command::new(env!("CARGO_BIN_EXE_quarks-node"));
		cmd.args(["--chain", cfg.chain.unwrap_or("local"), "--base-path"])
			.arg(&base)
			.args(["--name", cfg.name])
			.args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--no-telemetry", "--no-mdns"])
			.args(["--log", "info,runtime::node-authorization=debug,runtime::quarks-relay=debug"])
			.args(&cfg.args);
		match cfg.prometheus_port {
			Some(port) => cmd.args(["--prometheus-port", &port.to_string()]),
			None => cmd.arg("--no-prometheus"),
		};
		if let Some(n) = cfg.node_key {
			cmd.args(["--node-key", &node_key(n)]);
		}
		if cfg.validator {
			cmd.arg("--validator");
		}
		if let Some(key) = cfg.dev_key {
			cmd.arg(format!("--{key}"));
		}
		for bootnode in &cfg.bootnodes {
			cmd.args(["--bootnodes", bootnode]);
		}
		let mut child = cmd
			.stdout(Stdio::null())
			.stderr(Stdio::piped())
			.spawn()
			.expect("the quarks-node binary starts");

		let (ready_tx, ready_rx) = mpsc::channel();
		let lines = Arc::new(Mutex::new(Vec::new()));
		let stderr = child.stderr.take().expect("stderr is piped");
		let mut log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&log_path)
			.expect("log file");
		let sink = lines.clone();
		std::thread::spawn(move || {
			for line in BufReader::new(stderr).lines().map_while(Result::ok) {
				let _ = writeln!(log, "{line}");
				if line.contains("Running JSON-RPC server") {
					let _ = ready_tx.send(());
				}
				sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
			}
		});
		if ready_rx.recv_timeout(Duration::from_secs(120)).is_err() {
			let output = lines.lock().unwrap_or_else(|p| p.into_inner());
			let tail = output[output.len().saturating_sub(20)..].join("\n");
			panic!("{} did not start its RPC server; its last output:\n{tail}", cfg.name);
		}

		let rpc_url = format!("http://127.0.0.1:{rpc_port}");
		let rpc = HttpClientBuilder::default()
			.request_timeout(Duration::from_secs(30))
			.build(&rpc_url)
			.expect("RPC client");
		Node {
			name: cfg.name.to_string(),
			child,
			p2p_port,
			rpc_port,
			prometheus_port: cfg.prometheus_port,
			rpc,
			rpc_url,
			log_path,
			lines,
		}
	}

	/// The sum of the Prometheus series named `name` whose labels include `labels`, as
	/// this node serves them now (0 when there is none yet).
	pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
		use std::io::Read;
		let port = self.prometheus_port.expect("the node serves metrics");
		let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
		stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
		write!(stream, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
		let mut page = String::new();
		stream.read_to_string(&mut page).expect("metrics page");
		page.lines()
			.filter_map(|line| {
				let (series, value) = line.rsplit_once(' ')?;
				let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
				let wanted = series_name == name
					&& labels.iter().all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")));
				wanted.then(|| value.parse::<f64>().ok()).flatten()
			})
			.sum()
	}

	/// This node's multiaddr, for `--bootnodes`.
	pub async fn multiaddr(&self) -> String {
		let peer_id: String =
			self.rpc.request("system_localPeerId", rpc_params![]).await.expect("peer id");
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", self.p2p_port)
	}

	pub async fn finalized_number(&self) -> u32 {
		let hash: H256 = self
			.rpc
			.request("chain_getFinalizedHead", rpc_params![])
			.await
			.expect("finalized head");
		self.block_number(Some(hash)).await
	}

	pub async fn best_number(&self) -> u32 {
		self.block_number(None).await
	}

	async fn block_number(&self, at: Option<H256>) -> u32 {
		let header: serde_json::Value =
			self.rpc.request("chain_getHeader", rpc_params![at]).await.expect("header");
		let number = header["number"].as_str().expect("header has a number");
		u32::from_str_radix(number.trim_start_matches("0x"), 16).expect("hex block number")
	}

	pub async fn finalized_hash(&self) -> H256 {
		self.rpc.request("chain_getFinalizedHead", rpc_params![]).await.expect("finalized head")
	}

	pub async fn genesis_hash(&self) -> H256 {
		self.rpc.request("chain_getBlockHash", rpc_params![0]).await.expect("genesis hash")
	}

	/// Calls runtime API `method` at the finalized block and decodes the answer.
	pub async fn runtime_call<T: Decode>(&self, method: &str, args: impl Encode) -> T {
		let at = self.finalized_hash().await;
		let bytes: sp_core::Bytes = self
			.rpc
			.request("state_call", rpc_params![method, sp_core::Bytes(args.encode()), at])
			.await
			.expect("state_call");
		T::decode(&mut &bytes[..]).expect("runtime API answer decodes")
	}

	/// The value at storage `key` in the finalized state, decoded.
	pub async fn finalized_storage<T: Decode>(&self, key: Vec<u8>) -> Option<T> {
		let at = self.finalized_hash().await;
		let bytes: Option<sp_core::Bytes> = self
			.rpc
			.request("state_getStorage", rpc_params![sp_core::Bytes(key), at])
			.await
			.expect("state_getStorage");
		bytes.map(|b| T::decode(&mut &b[..]).expect("stored value decodes"))
	}

	/// Signs `call` with `signer`'s key, at its nonce in the finalized state, and submits it.
	pub async fn submit(&self, signer: impl Signer, call: RuntimeCall) -> H256 {
		let nonce: u32 = self.runtime_call("AccountNonceApi_account_nonce", signer.account()).await;
		self.submit_at(signer, call, nonce).await
	}

	/// Signs `call` with the signer's next nonce counting its transactions in the pool, so
	/// several can be in flight, and submits it.
	pub async fn submit_next(&self, signer: impl Signer, call: RuntimeCall) -> H256 {
		let nonce = self.next_nonce(&address(&signer.account())).await;
		self.submit_at(signer, call, nonce).await
	}

	/// The account's next nonce, counting its transactions in the pool, asked with its
	/// address as wallets write it (`system_accountNextIndex`).
	pub async fn next_nonce(&self, address: &str) -> u32 {
		self.rpc.request("system_accountNextIndex", rpc_params![address]).await.expect("next nonce")
	}

	/// Submits `xt` to the pool; the node's answer.
	pub async fn submit_extrinsic(
		&self,
		xt: UncheckedExtrinsic,
	) -> Result<H256, jsonrpsee::core::ClientError> {
		self.rpc.request("author_submitExtrinsic", rpc_params![sp_core::Bytes(xt.encode())]).await
	}

	async fn submit_at(&self, signer: impl Signer, call: RuntimeCall, nonce: u32) -> H256 {
		let xt = signed_extrinsic(call, &signer.pair(), nonce, self.genesis_hash().await);
		self.rpc
			.request("author_submitExtrinsic", rpc_params![sp_core::Bytes(xt.encode())])
			.await
			.expect("the extrinsic is accepted into the pool")
	}

	/// Every output line so far that contains `needle`.
	pub fn lines_containing(&self, needle: &str) -> Vec<String> {
		let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
		lines.iter().filter(|l| l.contains(needle)).cloned().collect()
	}

	/// Whether any output line so far contains `needle`.
	pub fn logged(&self, needle: &str) -> bool {
		self.lines.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|l| l.contains(needle))
	}

	/// Kills the node at once (SIGKILL: no shutdown, no flush) and waits for it.
	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	/// Stops the node (SIGINT, then kill) and waits for it.
	pub fn stop(&mut self) {
		if let Ok(Some(_)) = self.child.try_wait() {
			return;
		}
		let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
		let deadline = Instant::now() + Duration::from_secs(20);
		while Instant::now() < deadline {
			if let Ok(Some(_)) = self.child.try_wait() {
				return;
			}
			std::thread::sleep(Duration::from_millis(100));
		}
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if std::thread::panicking() {
			eprintln!("log of {}: {}", self.name, self.log_path.display());
		}
		self.stop();
	}
}

/// Who signs a transaction: a development key or any sr25519 key pair.
pub trait Signer {
	/// The key pair.
	fn pair(&self) -> sr25519::Pair;
	/// Its account.
	fn account(&self) -> AccountId {
		self.pair().public().into()
	}
}

impl Signer for Sr25519Keyring {
	fn pair(&self) -> sr25519::Pair {
		Sr25519Keyring::pair(*self)
	}
}

impl Signer for &sr25519::Pair {
	fn pair(&self) -> sr25519::Pair {
		(*self).clone()
	}
}

/// An account's address in the chain's own SS58 format (prefix 7777).
pub fn address(account: &AccountId) -> String {
	use sp_core::crypto::{Ss58AddressFormat, Ss58Codec};
	account.to_ss58check_with_version(Ss58AddressFormat::custom(
		quarks_runtime::configs::SS58Prefix::get(),
	))
}

/// A signed, immortal extrinsic for the `quarks-runtime` this test binary was built with.
pub fn signed_extrinsic(
	call: RuntimeCall,
	signer: &sr25519::Pair,
	nonce: u32,
	genesis: H256,
) -> UncheckedExtrinsic {
	signed_extrinsic_with(call, signer, nonce, genesis, (Era::Immortal, genesis), 0)
}

/// A signed extrinsic living in `era`, which starts at the block `era.1` (the genesis for an
/// immortal one), and tipping `tip`.
pub fn signed_extrinsic_with(
	call: RuntimeCall,
	signer: &sr25519::Pair,
	nonce: u32,
	genesis: H256,
	era: (Era, H256),
	tip: u128,
) -> UncheckedExtrinsic {
	let tx_ext: TxExtension = (
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(era.0),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
		frame_system::WeightReclaim::<Runtime>::new(),
	);
	let implicit =
		((), (), VERSION.spec_version, VERSION.transaction_version, genesis, era.1, (), (), (), ());
	let payload = SignedPayload::from_raw(call.clone(), tx_ext.clone(), implicit);
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(signer.public().into()),
		signature.into(),
		tx_ext,
	)
}

/// The account of a development key.
pub fn account(who: Sr25519Keyring) -> AccountId {
	who.to_account_id()
}

/// Polls `check` every 500 ms until it holds; fails the test after `limit` (a guard
/// against a hung network, not a timing assertion).
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = bool>,
{
	wait_for(what, limit, || {
		let fut = check();
		async move { fut.await.then_some(()) }
	})
	.await
}

/// Polls `probe` every 500 ms until it yields a value; fails the test after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Option<T>>,
{
	let deadline = Instant::now() + limit;
	loop {
		if let Some(value) = probe().await {
			return value;
		}
		assert!(Instant::now() < deadline, "gave up waiting: {what}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Waits until every node has finalized at least block `n`.
pub async fn wait_finalized(nodes: &[&Node], n: u32) {
	for node in nodes {
		wait_until(
			&format!("{} finalizes block {n}", node.name),
			Duration::from_secs(300),
			|| async { node.finalized_number().await >= n },
		)
		.await;
	}
}

/// Has `operator` point its host record at RPC port `port` of 127.0.0.1 with these terms,
/// and waits until the record is finalized.
pub async fn set_host_record(
	node: &Node,
	operator: Sr25519Keyring,
	port: u16,
	retention: quarks_runtime::BlockNumber,
	capacity: u64,
	user_quota: u64,
) {
	let endpoint = format!("ws://127.0.0.1:{port}").into_bytes();
	let update = pallet_quarks_hosts::Call::update_host {
		endpoint: endpoint.clone(),
		retention,
		capacity,
		user_quota,
	};
	node.submit(operator, RuntimeCall::Hosts(update)).await;
	wait_until("the host record is finalized", Duration::from_secs(300), || async {
		let record: Option<quarks_primitives::hosting::HostInfo<quarks_runtime::BlockNumber>> =
			node.runtime_call("HostingApi_host", operator.to_account_id()).await;
		record.is_some_and(|r| {
			r.endpoint == endpoint
				&& r.retention == retention
				&& r.capacity == capacity
				&& r.user_quota == user_quota
		})
	})
	.await;
}

/// The `local` network's three validators, Alice's node the bootnode of the others.
pub async fn start_validators(dir: &Path) -> Vec<Node> {
	let alice = Node::start(dir, validator_config("alice", 1, vec![]));
	let boot = vec![alice.multiaddr().await];
	let bob = Node::start(dir, validator_config("bob", 2, boot.clone()));
	let charlie = Node::start(dir, validator_config("charlie", 3, boot));
	vec![alice, bob, charlie]
}

/// How the `local` network's validator `name` starts.
pub fn validator_config(name: &str, node_key: u8, bootnodes: Vec<String>) -> NodeConfig<'_> {
	NodeConfig {
		name,
		validator: true,
		dev_key: Some(name),
		node_key: Some(node_key),
		bootnodes,
		..Default::default()
	}
}

/// How a mail host of `operator` starts (`--host`), at a fixed RPC `port` when its
/// on-chain endpoint names one.
pub fn host_config(
	name: &str,
	node_key: u8,
	operator: Sr25519Keyring,
	boot: &[String],
	port: Option<u16>,
) -> NodeConfig<'static> {
	let name: &'static str = Box::leak(name.to_string().into_boxed_str());
	NodeConfig {
		name,
		node_key: Some(node_key),
		bootnodes: boot.to_vec(),
		rpc_port: port,
		args: vec!["--host".into(), account(operator).to_string()],
		..Default::default()
	}
}

/// The `local` network's validators and the mail hosts of Dave and Ferdie at the
/// endpoints its genesis records (serving metrics), every node finalizing.
pub async fn start_local_network(dir: &Path) -> (Vec<Node>, Node, Node) {
	let validators = start_validators(dir).await;
	let boot = vec![validators[0].multiaddr().await];
	let with_metrics = |config| NodeConfig { prometheus_port: Some(free_port()), ..config };
	let dave = Node::start(
		dir,
		with_metrics(host_config("dave", 4, Sr25519Keyring::Dave, &boot, Some(9947))),
	);
	let ferdie = Node::start(
		dir,
		with_metrics(host_config("ferdie", 5, Sr25519Keyring::Ferdie, &boot, Some(9948))),
	);
	wait_finalized(&[&validators[0], &validators[1], &validators[2], &dave, &ferdie], 2).await;
	(validators, dave, ferdie)
}

/// A chat client session for development identity `name` through `node`, with a keystore
/// in `dir` (cheap scrypt: the format is the same at any cost).
pub async fn client_session(
	dir: &Path,
	node: &Node,
	name: &str,
) -> quarks_client::messenger::Messenger {
	session(dir, node, name, quarks_client::keystore::Identity::development(name)).await
}

/// A chat client session for `identity` through `node`, with keystore `<dir>/<file>.json`.
pub async fn session(
	dir: &Path,
	node: &Node,
	file: &str,
	identity: quarks_client::keystore::Identity,
) -> quarks_client::messenger::Messenger {
	let path = dir.join(format!("{file}.json"));
	let keystore = quarks_client::keystore::Keystore::create(&path, PASSPHRASE, identity, 10)
		.expect("keystore");
	connect(node, keystore).await
}

/// The session of keystore `<dir>/<file>.json` again, through `node`: what a restarted
/// client reads from disk.
pub async fn reopen(dir: &Path, node: &Node, file: &str) -> quarks_client::messenger::Messenger {
	let path = dir.join(format!("{file}.json"));
	let keystore =
		quarks_client::keystore::Keystore::open(&path, PASSPHRASE).expect("keystore opens");
	connect(node, keystore).await
}

/// The account of `reader` reading live for `for_`, sending receipts for what is final
/// if it is to `acknowledge`; records when each message is shown (opened, checked).
pub fn read_as(
	reader: quarks_client::messenger::Messenger,
	for_: Duration,
	acknowledge: bool,
) -> Arc<Mutex<std::collections::HashMap<H256, Instant>>> {
	use quarks_client::inbox::{ReadOptions, Update};
	let shown: Arc<Mutex<std::collections::HashMap<H256, Instant>>> = Arc::default();
	let record = shown.clone();
	tokio::spawn(async move {
		let options = ReadOptions {
			follow: true,
			count: None,
			timeout: Some(for_),
			acknowledge,
			sync_every: None,
			update_every: None,
		};
		let read = reader
			.read_mail(options, &mut |update| {
				if let Update::Shown(r) = update {
					if r.letter().is_some() {
						record.lock().expect("shown").insert(r.hash, Instant::now());
					}
				}
			})
			.await;
		// A reader that stops early is why messages go unshown: the failing test says so.
		if let Err(error) = read {
			eprintln!("the reader stopped: {error} ({error:?})");
		}
	});
	shown
}

/// Test keystores' passphrase.
pub const PASSPHRASE: &str = "test passphrase";

async fn connect(
	node: &Node,
	keystore: quarks_client::keystore::Keystore,
) -> quarks_client::messenger::Messenger {
	let url = format!("ws://127.0.0.1:{}", node.rpc_port);
	let chain = quarks_client::chain::Chain::connect(&url).await.expect("connects");
	quarks_client::messenger::Messenger::new(chain, keystore).expect("messenger")
}

/// The Aura slot of block `number` of `node`'s canonical chain.
pub async fn slot(node: &Node, number: u32) -> u64 {
	let hash: H256 =
		node.rpc.request("chain_getBlockHash", rpc_params![number]).await.expect("hash");
	let header: serde_json::Value =
		node.rpc.request("chain_getHeader", rpc_params![hash]).await.expect("header");
	let logs = header["digest"]["logs"].as_array().expect("digest logs");
	logs.iter()
		.filter_map(|log| {
			let bytes = array_bytes::hex2bytes(log.as_str()?).ok()?;
			let item = sp_runtime::DigestItem::decode(&mut &bytes[..]).ok()?;
			let (engine, data) = item.as_pre_runtime()?;
			(engine == *b"aura").then(|| u64::decode(&mut &data[..]).ok()).flatten()
		})
		.next()
		.expect("every block carries its Aura slot")
}

/// Missed slots between blocks `from` and `to` of the first node's chain (from their Aura
/// slots), and forks and reorgs the nodes logged (several blocks imported at one height).
pub async fn chain_health(nodes: &[&Node], from: u32, to: u32) -> String {
	use std::collections::{BTreeMap, BTreeSet};
	let slots = slot(nodes[0], to).await - slot(nodes[0], from).await + 1;
	let blocks = u64::from(to - from + 1);
	let mut heights: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
	for node in nodes {
		for line in node.lines_containing(" Imported #") {
			let Some(rest) = line.split(" Imported #").nth(1) else { continue };
			let (Some(height), Some(hash)) =
				(rest.split_whitespace().next(), rest.split("→ ").nth(1))
			else {
				continue;
			};
			heights
				.entry(height.to_owned())
				.or_default()
				.insert(hash.trim().trim_end_matches(')').to_owned());
		}
	}
	let forks = heights.values().filter(|hashes| hashes.len() > 1).count();
	let reorgs: usize = nodes.iter().map(|n| n.lines_containing("Reorg on").len()).sum();
	format!(
		"blocks {from}..={to}: {blocks} blocks in {slots} slots, {} missed ({:.1} %); heights with more than one block imported (forks): {forks}; reorgs logged: {reorgs}",
		slots - blocks,
		100.0 * (slots - blocks) as f64 / slots as f64
	)
}

/// The raw chain spec of network `chain` (`dev`, `local`), as its nodes build it.
pub fn raw_chain_spec(chain: &str) -> Vec<u8> {
	let output = Command::new(env!("CARGO_BIN_EXE_quarks-node"))
		.args(["build-spec", "--chain", chain, "--raw"])
		.output()
		.expect("quarks-node runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	output.stdout
}

/// The passphrase of the keystores the `quarks` command line makes in tests.
pub const CLI_PASSPHRASE: &str = "cli test passphrase";

/// The `quarks` client, built beside the node by `cargo build --workspace --bins`.
pub fn quarks_binary() -> std::path::PathBuf {
	let path = Path::new(env!("CARGO_BIN_EXE_quarks-node")).with_file_name("quarks");
	assert!(
		path.exists(),
		"{} is missing: build it with `cargo build -p quarks-cli`",
		path.display()
	);
	path
}

/// `quarks` as `who` (keystore `<dir>/<who>.json`) through `node`, not started yet.
pub fn quarks_command(dir: &Path, node: &Node, who: &str) -> Command {
	let mut command = Command::new(quarks_binary());
	command
		.current_dir(dir)
		.env("QUARKS_PASSPHRASE", CLI_PASSPHRASE)
		.env("QUARKS_KEYSTORE", dir.join(format!("{who}.json")))
		.env("QUARKS_URL", format!("ws://127.0.0.1:{}", node.rpc_port));
	command
}

/// `quarks chat` as `who` (keystore `<dir>/<who>.json`, opened with `passphrase`) through
/// `node`, in an 80×24 pseudo-terminal: the running chat and the terminal's master side.
pub fn chat_in_pty(
	dir: &Path,
	node: &Node,
	who: &str,
	passphrase: &str,
) -> (Box<dyn portable_pty::Child + Send + Sync>, Box<dyn portable_pty::MasterPty + Send>) {
	use portable_pty::{native_pty_system, CommandBuilder, PtySize};
	let pty = native_pty_system()
		.openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 })
		.expect("a pseudo-terminal");
	let mut command = CommandBuilder::new(quarks_binary());
	command.arg("chat");
	command.cwd(dir);
	command.env("TERM", "xterm-256color");
	command.env("QUARKS_PASSPHRASE", passphrase);
	command.env("QUARKS_KEYSTORE", dir.join(format!("{who}.json")));
	command.env("QUARKS_URL", format!("ws://127.0.0.1:{}", node.rpc_port));
	let child = pty.slave.spawn_command(command).expect("quarks chat starts");
	(child, pty.master)
}

/// Runs `quarks` with `args` as `who` to completion; returns its output.
pub fn quarks(dir: &Path, node: &Node, who: &str, args: &[&str]) -> String {
	let output = quarks_command(dir, node, who).args(args).output().expect("quarks runs");
	let text = String::from_utf8_lossy(&output.stdout).into_owned();
	assert!(
		output.status.success(),
		"quarks {args:?} failed: {text}{}",
		String::from_utf8_lossy(&output.stderr)
	);
	text
}

/// Keystores `<dir>/<file>.json` for development identities (file, identity) made with the
/// `quarks` command line, each device registered through `node`.
pub fn cli_identities(dir: &Path, node: &Node, identities: &[(&str, &str)]) {
	for (file, dev) in identities {
		quarks(dir, node, file, &["init", "--dev", dev, "--kdf-log-n", "10"]);
		quarks(dir, node, file, &["device", "register"]);
	}
}

/// A running `quarks serve`: its address and the token its requests carry.
pub struct Serving {
	child: Child,
	/// `http://127.0.0.1:<port>`.
	pub base: String,
	pub token: String,
}

impl Serving {
	/// `quarks serve` for `who` through `node`, on a free loopback port.
	pub fn start(dir: &Path, node: &Node, who: &str) -> Serving {
		let mut child = quarks_command(dir, node, who)
			.args(["serve", "--listen", "127.0.0.1:0"])
			.stdout(Stdio::piped())
			.spawn()
			.expect("quarks serve starts");
		let mut lines = BufReader::new(child.stdout.take().expect("its output")).lines();
		let first = lines.next().and_then(Result::ok).unwrap_or_default();
		let url = first.strip_prefix("serving on ").unwrap_or_else(|| panic!("{who}: {first}"));
		let (base, token) = url.split_once("/#token=").expect("a URL with its token");
		// The rest of its output is not read; the pipe stays open.
		std::thread::spawn(move || lines.for_each(drop));
		Serving { child, base: base.into(), token: token.into() }
	}

	/// The address a browser opens: the page with its token.
	pub fn page(&self) -> String {
		format!("{}/#token={}", self.base, self.token)
	}
}

impl Drop for Serving {
	fn drop(&mut self) {
		let _ = self.child.kill();
	}
}
