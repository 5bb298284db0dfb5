// An app that connects to Sigil by showing a nostrconnect:// URI, with nostr-tools: prints the URI
// (for the user to paste into Sigil) on the first line, waits for the signer's first answer,
// then signs an event through it and prints the outcome as a second JSON line. The relay is the
// argument. Run by server/tests/api/signer.rs.
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import WebSocket from "ws";

// Node 20 has no WebSocket of its own; nostr-tools' NIP-46 bundle looks for the global one.
globalThis.WebSocket ??= WebSocket;
const { BunkerSigner, createNostrConnectURI } = await import("nostr-tools/nip46");

const clientSecret = generateSecretKey();
const uri = createNostrConnectURI({
  clientPubkey: getPublicKey(clientSecret),
  relays: [process.argv[2]],
  secret: Math.random().toString(36).slice(2),
  perms: ["sign_event:1", "nip44_encrypt"],
  name: "Node test app",
});
// Listening before the URI is shown, as an app does; the signer also sends its first answer
// again until the app's first request shows it arrived.
const connecting = BunkerSigner.fromURI(clientSecret, uri, {}, 60_000);
console.log(uri);
const signer = await connecting;
const outcome = { pubkey: await signer.getPublicKey() };
outcome.event = await signer.signEvent({ kind: 1, content: "via nostrconnect", tags: [], created_at: Math.floor(Date.now() / 1000) });
outcome.verified = verifyEvent(outcome.event);
console.log(JSON.stringify(outcome));
await signer.close();
process.exit(0);
