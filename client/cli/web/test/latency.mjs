// Send → shown from page to page, for docs/performance.md (node/benches/web.rs runs it):
// Alice's page sends COUNT messages to Bob, one every EVERY_MS; each is timed from the
// moment her compose form is submitted to the moment Bob's open conversation shows it.
// Both pages are in one Chromium on one machine, so their clocks are one
// (performance.timeOrigin + performance.now()). Prints one JSON line.
import { chromium } from "playwright-core";

const { ALICE_URL, BOB_URL, BOB_ACCOUNT } = process.env;
const COUNT = Number(process.env.COUNT ?? 100);
const EVERY_MS = Number(process.env.EVERY_MS ?? 1000);
const LIMIT = 120_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = async () => (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
const alice = await page();
const bob = await page();
await alice.goto(ALICE_URL);
await bob.goto(BOB_URL);
for (const p of [alice, bob]) await p.locator("#me").filter({ hasText: /\w{40,}/ }).waitFor({ timeout: LIMIT });

// The conversation first: Alice's first message starts it, Bob opens it.
await alice.click("#new-chat");
await alice.fill("#panel #to", BOB_ACCOUNT);
await alice.fill("#panel #text", "hello");
await alice.click("#panel-body form button[type=submit]");
await alice.locator("#messages li.mine", { hasText: "hello" }).waitFor({ timeout: LIMIT });
await bob.locator("#conversations li", { hasText: "hello" }).click({ timeout: LIMIT });
await bob.locator("#messages li.theirs", { hasText: "hello" }).waitFor({ timeout: LIMIT });

await bob.evaluate(() => {
  window.seen = {};
  const note = () => {
    const now = performance.timeOrigin + performance.now();
    for (const text of document.querySelectorAll("#messages li.theirs .text")) {
      window.seen[text.textContent] ??= now;
    }
  };
  new MutationObserver(note).observe(document.getElementById("messages"), { childList: true, subtree: true });
});

const sent = {};
for (let i = 0; i < COUNT; i++) {
  const text = `timed ${i}`;
  sent[text] = await alice.evaluate((text) => {
    document.getElementById("text").value = text;
    const at = performance.timeOrigin + performance.now();
    document.getElementById("compose").requestSubmit();
    return at;
  }, text);
  await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
}
await new Promise((resolve) => setTimeout(resolve, 5000));
const seen = await bob.evaluate(() => window.seen);
const times = Object.keys(sent)
  .filter((text) => seen[text] !== undefined)
  .map((text) => seen[text] - sent[text])
  .sort((a, b) => a - b);
const rank = (p) => times[Math.min(times.length, Math.max(1, Math.ceil((p / 100) * times.length))) - 1];
console.log(JSON.stringify({
  count: COUNT,
  shown: times.length,
  p50_ms: Number(rank(50)?.toFixed(1)),
  p99_ms: Number(rank(99)?.toFixed(1)),
  max_ms: Number(times.at(-1)?.toFixed(1)),
}));
await browser.close();
