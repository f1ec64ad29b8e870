// Alice and Bob, each in their own browser page over their own `quarks serve`, as
// node/tests/serve.rs starts them: Bob adds Alice from her invitation, they exchange
// messages, a tick reaches final, Bob blocks and unblocks Alice, Alice renews her keys and
// keeps her hosts, Alice makes a group with Bob and removes him, and a page without the
// token is refused. Bob's page is phone-sized. Screenshots go to SCREENSHOTS.
// The proof of a message downloaded from Alice's page goes to DOWNLOADS, for the caller
// to verify. Exits non-zero, saying what never appeared, on any failure.
import { chromium } from "playwright-core";

const { ALICE_URL, BOB_URL, SCREENSHOTS, DOWNLOADS } = process.env;
const LIMIT = 90_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // Loopback only: nothing of Chromium's own reaches out.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = async (viewport) => (await browser.newContext({ viewport })).newPage();
const pages = {}; // by name, for what a failure shows

async function shot(p, name) {
  if (SCREENSHOTS) await p.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
}

async function step(what, action) {
  try {
    return await action();
  } catch (error) {
    console.error(`FAILED: ${what}: ${error.message.split("\n")[0]}`);
    for (const [name, p] of Object.entries(pages)) {
      console.error(`${name}'s status line: ${await p.locator("#status").textContent().catch(() => "?")}`);
      await shot(p, `failed-${name}`).catch(() => {});
    }
    await browser.close();
    process.exit(1);
  }
}

const text = (p, selector, wanted) =>
  p.locator(selector, { hasText: wanted }).first().waitFor({ timeout: LIMIT });

// A page without the token is refused, and so is its API call.
const stranger = await page({ width: 800, height: 600 });
await step("a page without the token is refused", async () => {
  await stranger.goto(new URL("/", ALICE_URL).href);
  await stranger.locator("#refused").waitFor({ state: "visible", timeout: LIMIT });
  const status = await stranger.evaluate(async () => (await fetch("/api/conversations")).status);
  if (status !== 401) throw new Error(`the API answered ${status}`);
});

const alice = await page({ width: 1100, height: 700 });
const bob = await page({ width: 390, height: 780 });
Object.assign(pages, { alice, bob });
await alice.goto(ALICE_URL);
await bob.goto(BOB_URL);
const account = async (p) => {
  await p.locator("#me").filter({ hasText: /\w{40,}/ }).waitFor({ timeout: LIMIT });
  return (await p.locator("#me").textContent()).trim();
};
const bobAccount = await step("Bob's page shows his account", () => account(bob));
await step("Alice's page shows her account", () => account(alice));

// Bob adds Alice from her invitation: checked against the chain, so verified.
const link = await step("Alice's invitation", async () => {
  await alice.click("#show-contacts");
  await alice.locator("#invitation").waitFor({ timeout: LIMIT });
  await alice.locator(".qr svg").waitFor({ timeout: LIMIT });
  await shot(alice, "invitation");
  const value = await alice.inputValue("#invitation");
  await alice.click("#panel form[method=dialog] button");
  return value;
});
await step("Bob adds Alice, verified", async () => {
  await bob.click("#show-contacts");
  await bob.fill("#panel #name", "alice");
  await bob.fill("#panel #who", link);
  await bob.click("#panel-body form button[type=submit]");
  await text(bob, "#contacts li", "alice — verified");
  await bob.click("#panel form[method=dialog] button");
});

// Bob starts the conversation; Alice answers; ticks advance.
await step("Bob's first message", async () => {
  await bob.click("#new-chat");
  await bob.fill("#panel #to", "alice");
  await bob.fill("#panel #text", "Hi Alice, lunch at noon?");
  await bob.click("#panel-body form button[type=submit]");
  await text(bob, "#messages li.mine", "Hi Alice, lunch at noon?");
});
await step("Alice sees it and answers", async () => {
  await text(alice, "#conversations li", "Hi Alice, lunch at noon?");
  await alice.locator("#conversations li", { hasText: "lunch at noon" }).click();
  await text(alice, "#messages li.theirs", "Hi Alice, lunch at noon?");
  await alice.fill("#text", "Noon works.");
  await alice.press("#text", "Enter");
  await text(alice, "#messages li.mine", "Noon works.");
});
await step("the notarization panel follows a message to final", async () => {
  // Opened at once, while the message is still on its way to a block.
  await alice.locator("#messages li.mine", { hasText: "Noon works." }).click();
  await text(alice, "#panel dd", "final #");
  await alice.click("#panel form[method=dialog] button");
});
await step("Bob sees the answer", () => text(bob, "#messages li.theirs", "Noon works."));
await step("markup from others is shown as text, never run", async () => {
  const markup = `<img src=x onerror="document.title='owned'"><b>bold</b>`;
  await alice.fill("#text", markup);
  await alice.press("#text", "Enter");
  await text(bob, "#messages li.theirs .text", markup);
  if ((await bob.locator("#messages img, #messages b").count()) > 0) throw new Error("markup rendered");
  if ((await bob.title()) === "owned") throw new Error("a script from a message ran");
});
await step("Bob's message reaches final", () =>
  bob.locator("#messages li.mine", { hasText: "lunch at noon" }).locator(".tick", { hasText: "final #" })
    .waitFor({ timeout: LIMIT }));
await shot(bob, "chat-phone");
await shot(alice, "chat");
await step("the notarization of a message, from the chain", async () => {
  // The panel shows the message as Alice's page holds it when clicked: final first.
  const lunch = alice.locator("#messages li.theirs", { hasText: "lunch at noon" });
  await lunch.locator(".tick", { hasText: "final #" }).waitFor({ timeout: LIMIT });
  await lunch.click();
  await text(alice, "#panel dd", "final #");
  await text(alice, "#panel dd", "bound to the sender then");
  await shot(alice, "notarization");
  const [download] = await Promise.all([
    alice.waitForEvent("download", { timeout: LIMIT }),
    alice.click("#panel-body button:has-text('Download proof')"),
  ]);
  if (!download.suggestedFilename().startsWith("proof-")) throw new Error(download.suggestedFilename());
  await download.saveAs(`${DOWNLOADS}/proof.json`);
  await alice.click("#panel form[method=dialog] button");
});
await step("this device among the account's", async () => {
  await bob.click("#back");
  await bob.click("#show-devices");
  await text(bob, "#devices li", "(this device)");
  await bob.click("#panel form[method=dialog] button");
  await bob.locator("#conversations li", { hasText: "alice" }).click();
});

// Bob blocks Alice and unblocks her (a confirmation first); Alice renews her keys.
bob.on("dialog", (dialog) => dialog.accept());
await step("Bob blocks and unblocks Alice", async () => {
  await bob.click("#back");
  await bob.click("#show-contacts");
  await bob.click("#contacts li:has-text('alice') button:has-text('Block')");
  await text(bob, "#status", "alice blocked");
  await text(bob, "#contacts li", "alice — verified, blocked");
  await bob.click("#contacts li:has-text('alice') button:has-text('Unblock')");
  await text(bob, "#status", "alice unblocked");
  await bob.locator("#contacts li", { hasText: "blocked" }).waitFor({ state: "detached", timeout: LIMIT });
  await bob.click("#panel form[method=dialog] button");
  await bob.locator("#conversations li", { hasText: "alice" }).click();
});
await step("Alice updates her keys; the conversation goes on", async () => {
  await alice.click("#show-devices");
  await alice.click("#update-keys");
  await text(alice, "#status", "keys updated; 1 conversation(s) moved to a new epoch");
  await alice.click("#panel form[method=dialog] button");
  await alice.fill("#text", "New keys, same chat");
  await alice.press("#text", "Enter");
  await text(bob, "#messages li.theirs", "New keys, same chat");
});
await step("Alice's hosts, hers checked", async () => {
  await alice.click("#show-hosts");
  await alice.locator("#hosts input:checked").first().waitFor({ timeout: LIMIT });
  await shot(alice, "hosts");
  await alice.click("#panel-body form button[type=submit]");
  await text(alice, "#status", "your mail now goes to");
  await alice.click("#panel form[method=dialog] button");
});

// A group of two, then Bob removed: he reads nothing written after.
const group = await step("Alice makes a group with Bob", async () => {
  await alice.click("#new-group");
  await alice.fill("#panel #members", bobAccount);
  await alice.click("#panel-body form button[type=submit]");
  await text(alice, "#status", "created group");
  const said = await alice.locator("#status").textContent();
  return said.match(/created group (\d+)/)[1];
});
await step("Alice writes to the group", async () => {
  await alice.fill("#text", "Welcome to the group");
  await alice.press("#text", "Enter");
  await text(alice, "#messages li.mine", "Welcome to the group");
});
await step("Bob reads it in the group", async () => {
  await bob.click("#back");
  await text(bob, "#conversations li", `group ${group}`);
  await bob.locator("#conversations li", { hasText: `group ${group}` }).click();
  await text(bob, "#messages li.theirs", "Welcome to the group");
});
await step("Alice removes Bob", async () => {
  await alice.click("#conversation-actions button:has-text('Remove member')");
  await alice.fill("#panel #who", bobAccount);
  await alice.click("#panel-body form button[type=submit]");
  await text(alice, "#status", "removed ");
  await alice.fill("#text", "Bob is gone now");
  await alice.press("#text", "Enter");
  await alice.locator("#messages li.mine", { hasText: "Bob is gone now" }).locator(".tick", { hasText: "anchored" })
    .or(alice.locator("#messages li.mine", { hasText: "Bob is gone now" }).locator(".tick", { hasText: "final" }))
    .waitFor({ timeout: LIMIT });
});
await step("Bob is told, and reads nothing after", async () => {
  await text(bob, "#status", `no longer a member of group ${group}`);
  const shown = await bob.locator("#messages").textContent();
  if (shown.includes("Bob is gone now")) throw new Error("Bob read a message sent after his removal");
});
await shot(alice, "group");

await browser.close();
console.log("the web app works");
