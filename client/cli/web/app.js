// The Quarks web app: a face over `quarks serve`'s API (docs/api.md). It keeps no state
// of its own: what it shows is read from the API, again whenever the event stream says
// something changed. Text from others is only ever set as text, never as markup.

const token = takeToken();
let open = null; // the group shown
let conversations = [];
let arrived = []; // letters shown before their anchor, not in the history yet
let listed = []; // the open conversation's messages, as last read
let refreshing = null;
let headed = null; // the group whose title and actions are drawn
let detailed = null; // the message whose notarization the panel shows, and its tick then
let reconnectWait = 1000; // before the event stream is opened again
const PAUSED = "live updates paused";
let drawing = 0; // the latest drawing of that panel: an older one that ends later is dropped

function takeToken() {
  const match = location.hash.match(/token=([0-9a-f]+)/);
  if (match) {
    sessionStorage.setItem("quarks-token", match[1]);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("quarks-token");
}

class Refused extends Error {}

async function api(path, body, method) {
  const answer = await fetch(path, {
    method: method ?? (body ? "POST" : "GET"),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const json = await answer.json().catch(() => ({}));
  if (answer.status === 401) throw new Refused(json.error);
  if (!answer.ok) throw new Error(json.error ?? `${answer.status}`);
  return json;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const $ = (id) => document.getElementById(id);
const say = (text) => ($("status").textContent = text);

function refuse() {
  $("app").hidden = true;
  $("refused").hidden = false;
}

function tick(m) {
  const block = m.block ? ` #${m.block}` : "";
  let text = {
    sending: "… sending",
    pending: "✓ pending",
    anchored: `✓ anchored${block}`,
    final: `✓✓ final${block}`,
    not_notarized: "✗ not notarized",
    failed: `✗ failed: ${m.reason}`,
  }[m.state] ?? m.state;
  if (m.read_by > 0) text += m.read_by > 1 ? ` · read by ${m.read_by}` : " · read";
  else if (m.delivered_to > 0) text += " · delivered";
  return text;
}

function title(c) {
  return c.name ?? `group ${c.group}`;
}

function nameOf(account) {
  const c = conversations.find((c) => c.peer === account);
  return c?.name ?? account.slice(0, 8) + "…";
}

async function refresh() {
  try {
    conversations = await api("/api/conversations");
    drawConversations();
    if (open !== null) {
      // A conversation just made is listed once it has a message.
      if (headed !== open) drawHeader(open);
      await drawMessages();
      // What arrives in the open conversation is read once someone looks: the others are
      // told (a receipt is a transaction; a tab in the background reads nothing).
      const looking = document.visibilityState === "visible" && document.hasFocus();
      if (looking && conversations.some((c) => c.group === open && c.unread > 0)) {
        await api(`/api/conversations/${open}/read`, {}).catch(() => {});
      }
    }
  } catch (e) {
    if (e instanceof Refused) refuse();
    else say(`could not read your conversations: ${e.message}`);
  }
}

// Many events in a burst make one refresh.
function soon() {
  clearTimeout(refreshing);
  refreshing = setTimeout(refresh, 50);
}

function drawConversations() {
  const list = $("conversations");
  list.replaceChildren(
    ...conversations.map((c) =>
      el(
        "li",
        {
          tabindex: 0,
          role: "button",
          "aria-current": c.group === open ? "true" : "false",
          "data-group": c.group,
          onclick: () => show(c.group),
          onkeydown: (e) => e.key === "Enter" && show(c.group),
        },
        el("span", { class: "name" }, title(c)),
        c.unread > 0 ? el("span", { class: "unread", "aria-label": `${c.unread} unread` }, `${c.unread}`) : null,
        c.request_from ? el("span", { class: "request" }, "request") : null,
        el("div", { class: "last" }, c.last ? c.last.text : ""),
      ),
    ),
  );
  if (conversations.length === 0) list.append(el("li", {}, "No conversations yet: start one with New chat."));
}

async function show(group) {
  open = group;
  arrived = [];
  listed = [];
  $("app").classList.add("open");
  $("compose").hidden = false;
  drawHeader(group);
  drawConversations();
  await drawMessages();
  await api(`/api/conversations/${group}/read`, {}).catch(() => {});
  $("text").focus();
}

function drawHeader(group) {
  const c = conversations.find((c) => c.group === group);
  $("title").textContent = c ? title(c) : `group ${group}`;
  headed = c ? group : null;
  const actions = $("conversation-actions");
  actions.replaceChildren();
  if (!c) return;
  if (c.peer) {
    actions.append(el("button", { type: "button", onclick: () => safetyNumber(c.peer) }, "Safety number"));
  } else {
    actions.append(
      el("button", { type: "button", onclick: () => member(c.group, true) }, "Add member"),
      el("button", { type: "button", onclick: () => member(c.group, false) }, "Remove member"),
      el("button", { type: "button", onclick: () => leave(c.group) }, "Leave"),
    );
  }
}

async function drawMessages() {
  const group = open;
  const page = await api(`/api/conversations/${group}/messages?limit=200`);
  if (group !== open) return;
  listed = page.messages;
  const kept = new Set(listed.map((m) => m.hash));
  arrived = arrived.filter((m) => !kept.has(m.hash));
  render();
}

// The open conversation from what was last read and what arrived since: a letter is on
// screen the moment its event comes, before any request.
function render() {
  const all = [...listed, ...arrived.filter((m) => m.group === open)];
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(
    ...all.map((m) =>
      el(
        "li",
        {
          class: m.outgoing ? "mine" : "theirs",
          tabindex: 0,
          "data-hash": m.hash,
          onclick: () => detail(m),
          onkeydown: (e) => e.key === "Enter" && detail(m),
        },
        el("div", { class: "who" }, m.outgoing ? "you" : nameOf(m.sender)),
        el("div", { class: "text" }, m.text),
        el("div", { class: "tick" }, tick(m)),
      ),
    ),
  );
  if (atBottom) list.scrollTop = list.scrollHeight;
  // An open notarization panel follows its message: anchored, then final, then read.
  const shown = detailed && $("panel").open && all.find((m) => m.hash === detailed.hash);
  if (shown && tick(shown) !== detailed.tick) detail(shown, true);
}

// Draws a panel again after a change, unless the person closed it meanwhile.
async function again(draw) {
  if ($("panel").open) await draw();
}

function panel(heading, ...body) {
  if (heading !== NOTARIZATION) detailed = null;
  $("panel-title").textContent = heading;
  $("panel-body").replaceChildren(...body);
  if (!$("panel").open) $("panel").showModal();
}

function field(label, id, attributes = {}) {
  return [el("label", { for: id }, label), el("input", { id, name: id, autocomplete: "off", ...attributes })];
}

function form(submit, label, ...fields) {
  return el(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const values = Object.fromEntries(new FormData(e.target));
        const button = e.target.querySelector("button");
        button.disabled = true;
        try {
          await submit(values);
        } catch (error) {
          say(error.message);
        } finally {
          button.disabled = false;
        }
      },
    },
    ...fields.flat(),
    el("button", { type: "submit" }, label),
  );
}

const NOTARIZATION = "Notarization";

// `redraw`: the panel is open already, and stays closed if the person closes it meanwhile.
async function detail(m, redraw = false) {
  detailed = { hash: m.hash, tick: tick(m) };
  const mine = ++drawing;
  const rows = [
    ["From", m.outgoing ? "you" : m.sender],
    ["Sent or received", new Date(m.at).toLocaleString()],
    ["State", tick(m)],
    ["Anchor block", m.block ?? "not yet"],
    ["Envelope hash", m.hash],
  ];
  const extra = [];
  if (m.state === "final") {
    // What the finalized chain says, read now: not what this device remembers.
    try {
      const audit = await api(`/api/messages/${m.hash}/audit`);
      rows.push(["Place in the anchor", `leaf ${audit.leaf_index + 1} of ${audit.leaf_count}, root ${audit.root}`]);
      if (audit.device) {
        rows.push(["Signed by device", `${audit.device.key} (${audit.device.bound ? "bound to the sender then" : "NOT bound to the sender then"})`]);
      }
      for (const r of audit.recipients) {
        rows.push([`Receipt of ${nameOf(r.account)}`, r.receipt_block ? `block #${r.receipt_block}` : "none yet"]);
      }
    } catch (error) {
      rows.push(["Audit", error.message]);
    }
    if (!m.outgoing) {
      extra.push(el("button", { type: "button", onclick: () => downloadProof(m.hash) }, "Download proof"));
    }
  }
  if (m.outgoing) rows.push(["Read by", `${m.read_by}`]);
  // A newer drawing, another message or another panel came meanwhile.
  if (mine !== drawing || detailed?.hash !== m.hash) return;
  if (redraw && !$("panel").open) return;
  panel(
    NOTARIZATION,
    el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, `${v}`)])),
    el("p", {}, "The anchor is the sender's signed record of this message on chain; final once its block is."),
    ...extra,
  );
}

// A proof anyone can check without a key: `quarks verify-proof <file>`.
async function downloadProof(hash) {
  try {
    const proof = await api(`/api/messages/${hash}/proof`);
    const file = new Blob([JSON.stringify(proof, null, 2)], { type: "application/json" });
    const link = el("a", { href: URL.createObjectURL(file), download: `proof-${hash.slice(2, 10)}.json` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    say(`no proof: ${error.message}`);
  }
}

async function devices() {
  const list = await api("/api/devices");
  const remove = async (key) => {
    if (!confirm(`Remove device ${key}? It reads nothing sent after, in any conversation.`)) return;
    say("removing the device (waits for the chain)…");
    const outcomes = await api(`/api/devices/${key}`, null, "DELETE").catch((e) => say(e.message));
    await again(devices);
    if (outcomes) say(`device removed; ${changed(outcomes)}`);
  };
  const renew = async (e) => {
    e.target.disabled = true; // one round of commits at a time
    say("new keys for this device in every conversation (waits for the chain)…");
    const outcomes = await api("/api/keys/update", {}).catch((e) => say(e.message));
    if (outcomes) say(`keys updated; ${changed(outcomes)}`);
    e.target.disabled = false;
  };
  panel(
    "Your devices",
    el("p", {}, "The devices the chain binds to your account; each reads your conversations. Add one with `quarks init --suri` on it."),
    el(
      "ul",
      { id: "devices" },
      ...list.map((d) =>
        el(
          "li",
          {},
          d.key,
          d.this_device
            ? " (this device)"
            : el("button", { type: "button", onclick: () => remove(d.key) }, "Remove"),
        ),
      ),
    ),
    el("p", {}, "New keys for this device: whoever stole a copy of its state stops reading there."),
    el("button", { type: "button", id: "update-keys", onclick: renew }, "Update keys"),
  );
}

// What a change across conversations did: how many moved on, and any that failed.
function changed(outcomes) {
  const failed = outcomes.filter((o) => o.error);
  const moved = outcomes.filter((o) => o.epoch !== undefined && o.epoch !== null).length;
  const why = failed.map((o) => `group ${o.group}: ${o.error}`).join("; ");
  return `${moved} conversation(s) moved to a new epoch` + (why ? `; not in ${why}` : "");
}

async function hosts() {
  const list = await api("/api/hosts");
  const days = (seconds) => `${Math.round(seconds / 86_400)} day(s)`;
  const mib = (bytes) => `${Math.round(bytes / 1_048_576)} MiB`;
  panel(
    "Your mail hosts",
    el("p", {}, "The hosts that keep your mail until you fetch it. Mail sent to you goes to every one you choose."),
    form(
      async () => {
        const chosen = [...document.querySelectorAll("#hosts input:checked")].map((i) => i.value);
        if (chosen.length === 0) throw new Error("choose at least one host");
        say("recording your choice (waits for the chain)…");
        await api("/api/hosts", { hosts: chosen }, "PUT");
        await again(hosts);
        say(`your mail now goes to ${chosen.length} host(s)`);
      },
      "Save",
      el(
        "ul",
        { id: "hosts" },
        ...list.map((h, i) =>
          el(
            "li",
            {},
            el("input", { type: "checkbox", id: `host-${i}`, value: h.operator, checked: h.chosen }),
            el("label", { for: `host-${i}` }, `${h.endpoint} — keeps mail ${days(h.retention_seconds)}, up to ${mib(h.user_quota)} each`),
          ),
        ),
      ),
    ),
  );
}

function newChat() {
  panel(
    "New chat",
    form(
      async ({ to, text }) => {
        say(`starting a conversation with ${to} (waits for the chain)…`);
        const sent = await api("/api/messages", { to, text });
        $("panel").close();
        await refresh();
        if (sent.group !== null) await show(sent.group);
        say("");
      },
      "Send",
      field("To (a contact's name or an account)", "to", { required: true }),
      field("Message", "text", { required: true }),
    ),
  );
}

function newGroup() {
  panel(
    "New group",
    form(
      async ({ members }) => {
        say("creating the group (waits for the chain)…");
        const names = members.split(",").map((m) => m.trim()).filter(Boolean);
        const { group } = await api("/api/groups", { members: names });
        $("panel").close();
        await refresh();
        await show(group);
        say(`created group ${group}`);
      },
      "Create",
      field("Members (names or accounts, separated by commas)", "members", { required: true }),
    ),
  );
}

function member(group, add) {
  panel(
    add ? "Add a member" : "Remove a member",
    form(
      async ({ who }) => {
        say(`${add ? "adding" : "removing"} ${who} (waits for the chain)…`);
        const path = `/api/groups/${group}/members`;
        const { epoch } = add
          ? await api(path, { who })
          : await api(`${path}/${encodeURIComponent(who)}`, null, "DELETE");
        $("panel").close();
        say(`${add ? "added" : "removed"} ${who} (epoch ${epoch})`);
        soon();
      },
      add ? "Add" : "Remove",
      field("Who (a name or an account)", "who", { required: true }),
    ),
  );
}

async function leave(group) {
  if (!confirm(`Leave group ${group}? You will read nothing sent there after.`)) return;
  await api(`/api/groups/${group}/leave`, {}).catch((e) => say(e.message));
  say(`left group ${group}`);
  soon();
}

async function contacts() {
  const [list, invitation] = await Promise.all([api("/api/contacts"), api("/api/invitation")]);
  const qr = el("div", { class: "qr", role: "img", "aria-label": "your invitation as a QR code" });
  qr.innerHTML = invitation.qr_svg; // made by quarks serve from the link, not by anyone else
  panel(
    "Contacts",
    el("h3", {}, "Your invitation"),
    el("p", {}, "Give this link to people; adding it checks your devices on chain, so they see you verified."),
    el("input", { id: "invitation", readonly: true, value: invitation.link, "aria-label": "your invitation link" }),
    qr,
    el("h3", {}, "Add someone"),
    form(
      async ({ name, who }) => {
        const contact = await api("/api/contacts", { name, who });
        say(`${contact.name} is ${contact.account}, ${contact.status}`);
        await contacts();
      },
      "Add",
      field("Name", "name", { required: true }),
      field("Their invitation link or account", "who", { required: true }),
    ),
    el("h3", {}, "Your contacts"),
    el(
      "ul",
      { id: "contacts" },
      ...list.map((c) =>
        el(
          "li",
          {},
          `${c.name} — ${c.status}${c.blocked ? ", blocked" : ""} `,
          el("button", { type: "button", onclick: () => safetyNumber(c.account) }, "Safety number"),
          el("button", { type: "button", onclick: () => block(c, !c.blocked) }, c.blocked ? "Unblock" : "Block"),
        ),
      ),
    ),
  );
}

async function block(contact, blocking) {
  const path = `/api/contacts/${encodeURIComponent(contact.account)}/block`;
  if (blocking && !confirm(`Block ${contact.name}? Nothing they send is opened, their requests you did not accept are left, and their mail at your hosts is deleted.`)) return;
  say(blocking ? `blocking ${contact.name} (waits for the chain)…` : `unblocking ${contact.name}…`);
  try {
    await (blocking ? api(path, {}) : api(path, null, "DELETE"));
    await again(contacts);
    say(`${contact.name} ${blocking ? "blocked" : "unblocked"}`);
  } catch (error) {
    say(error.message);
  }
  soon();
}

async function safetyNumber(who) {
  const s = await api(`/api/contacts/${encodeURIComponent(who)}/safety-number`);
  const groups = s.safety_number.match(/.{1,5}/g) ?? [];
  const matches = {
    true: "Your conversation holds exactly the devices the chain binds to them.",
    false: "WARNING: your conversation holds other devices than the chain binds to them.",
  }[s.conversation_matches] ?? "No conversation with them yet.";
  panel(
    `Safety number with ${nameOf(s.account)}`,
    el("p", { class: "safety" }, groups.join(" ")),
    el("p", {}, "Compare it with theirs, in person or on a call you trust. " + matches),
    el("h3", {}, "Their devices on chain"),
    el("ul", {}, ...s.devices.map((d) => el("li", {}, d))),
  );
}

function follow() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const events = new WebSocket(`${scheme}://${location.host}/api/events?token=${token}`);
  events.onmessage = ({ data }) => {
    const event = JSON.parse(data);
    if (event.type === "message") {
      const known = (m) => m.hash === event.message.hash;
      if (!arrived.some(known) && !listed.some(known)) {
        arrived.push(event.message);
        // Held until the history has them; a flood from strangers is not held for ever.
        if (arrived.length > 500) arrived.shift();
        if (event.message.group === open) render();
      }
      soon();
    } else if (event.type === "dropped") {
      arrived = arrived.filter((m) => m.hash !== event.hash);
      render();
      soon();
    } else if (event.type === "notice") {
      say(event.text);
    } else {
      soon();
    }
  };
  events.onopen = () => {
    reconnectWait = 1000;
    if ($("status").textContent.startsWith(PAUSED)) say("");
  };
  // Opened again after a pause that doubles (to 30 s) while it fails: the service may be
  // restarting, or have every stream slot taken (docs/api.md).
  events.onclose = () => {
    say(`${PAUSED}; trying again in ${reconnectWait / 1000} s`);
    setTimeout(follow, reconnectWait);
    reconnectWait = Math.min(reconnectWait * 2, 30000);
  };
}

async function start() {
  if (!token) return refuse();
  try {
    const me = await api("/api/me");
    $("me").textContent = me.account;
  } catch (e) {
    if (e instanceof Refused) return refuse();
    say(e.message);
  }
  $("app").hidden = false;
  $("new-chat").onclick = newChat;
  $("new-group").onclick = newGroup;
  $("show-contacts").onclick = () => contacts().catch((e) => say(e.message));
  $("show-devices").onclick = () => devices().catch((e) => say(e.message));
  $("show-hosts").onclick = () => hosts().catch((e) => say(e.message));
  $("back").onclick = () => {
    open = null;
    $("app").classList.remove("open");
  };
  $("compose").onsubmit = async (e) => {
    e.preventDefault();
    const input = $("text");
    const text = input.value;
    input.value = "";
    try {
      await api("/api/messages", { group: open, text });
      soon();
    } catch (error) {
      input.value = text; // nothing was sent: the text stays
      say(`not sent: ${error.message}`);
    }
  };
  addEventListener("focus", soon);
  follow();
  await refresh();
  // States advance on chain (an anchor turns final) without an event of their own.
  setInterval(refresh, 2000);
}

start();
