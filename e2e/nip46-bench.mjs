// Measures the NIP-46 signer from an app's side (issue 26): nostr-tools' BunkerSigner connects by
// the bunker:// URI given as the first argument, has one kind-1 event signed (the page grants
// kind 1 always), then times `count` sign_event round trips one after another (p50, p99), then
// the sustained rate with `parallel` requests in flight, and, for the relay's own share, the time
// an event takes through the same relay from this process back to itself. Prints one JSON line.
// Run by bench/web/run.mjs.
import { performance } from "node:perf_hooks";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import WebSocket from "ws";

// Node 20 has no WebSocket of its own; nostr-tools looks for the global one.
globalThis.WebSocket ??= WebSocket;
const { BunkerSigner, parseBunkerInput } = await import("nostr-tools/nip46");
const { Relay } = await import("nostr-tools/relay");

const [uri, countText = "300", parallelText = "8"] = process.argv.slice(2);
const count = Number(countText);
const parallel = Number(parallelText);
const pointer = await parseBunkerInput(uri);
const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer);
await signer.connect();
const note = (i) => ({ kind: 1, content: `bench ${i}`, tags: [], created_at: Math.floor(Date.now() / 1000) });
if (!verifyEvent(await signer.signEvent(note(-1)))) throw new Error("bad signature");

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const summary = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { n: sorted.length, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), max_ms: sorted.at(-1) };
};

const roundTrips = [];
for (let i = 0; i < count; i++) {
  const start = performance.now();
  const event = await signer.signEvent(note(i));
  roundTrips.push(performance.now() - start);
  if (i === 0 && !verifyEvent(event)) throw new Error("bad signature");
}

let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < count) {
      next += 1;
      await signer.signEvent(note(next));
    }
  }),
);
const rate = count / ((performance.now() - started) / 1000);

// The relay's share: one event from this process through the relay back to it, the way each
// request and each answer travels.
const relay = await Relay.connect(pointer.relays[0]);
const me = generateSecretKey();
const echoes = [];
for (let i = 0; i < count; i++) {
  const event = finalizeEvent({ kind: 24133, content: `echo ${i}`, tags: [["p", getPublicKey(me)]], created_at: Math.floor(Date.now() / 1000) }, me);
  await new Promise((resolve) => {
    let start;
    const sub = relay.subscribe([{ ids: [event.id] }], {
      onevent() {
        echoes.push(performance.now() - start);
        sub.close();
        resolve();
      },
      oneose() {
        start = performance.now();
        relay.publish(event);
      },
    });
  });
}
relay.close();
await signer.close();
console.log(JSON.stringify({ sign_event: summary(roundTrips), sustained: { parallel, requests: count, per_second: rate }, relay_hop: summary(echoes) }));
process.exit(0);
