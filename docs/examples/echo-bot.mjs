// An echo bot over `quarks serve` (docs/api.md): it answers every message it receives —
// strangers' too (answering accepts their request, and each answer's anchor costs a fee).
//
//   quarks serve --token-file token &
//   QUARKS_API=http://127.0.0.1:8740 QUARKS_TOKEN=$(cat token) \
//     node --experimental-websocket echo-bot.mjs     # Node.js 22 and later: no flag
const api = process.env.QUARKS_API ?? "http://127.0.0.1:8740";
const token = process.env.QUARKS_TOKEN;

async function call(path, body) {
  const answer = await fetch(api + path, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
  return answer.json();
}

const events = new WebSocket(`${api.replace(/^http/, "ws")}/api/events?token=${token}`);
events.onopen = () => console.log("echo bot ready");
events.onmessage = async ({ data }) => {
  const event = JSON.parse(data);
  if (event.type !== "message" || event.message.outgoing) return;
  const { group, text } = event.message;
  // Two echo bots in one group would answer each other for ever.
  if (text.startsWith("echo: ")) return;
  try {
    await call("/api/messages", { group, text: `echo: ${text}` });
  } catch (error) {
    console.error(`not answered: ${error.message}`); // e.g. too long to echo
  }
};
events.onclose = () => process.exit(1);
