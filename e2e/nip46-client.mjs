// A NIP-46 client someone else wrote (nostr-tools' BunkerSigner), driven from Node against Sigil's
// signer: connects by the bunker:// URI given as the argument, then uses every method an app
// would, and prints what it got as one JSON line. With `--then-wait`, it then waits for a line
// on its input and tries to sign once more (after the user revoked it), printing a second line.
// Run by server/tests/api/signer.rs and e2e/tests/signer.spec.mjs.
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import WebSocket from "ws";

// Node 20 has no WebSocket of its own; nostr-tools' NIP-46 bundle looks for the global one.
globalThis.WebSocket ??= WebSocket;
const { BunkerSigner, parseBunkerInput } = await import("nostr-tools/nip46");
const pointer = await parseBunkerInput(process.argv[2]);
if (!pointer) throw new Error("nostr-tools could not read the bunker URI");
const signer = BunkerSigner.fromBunker(generateSecretKey(), pointer);
const outcome = {};
await signer.connect();
outcome.pubkey = await signer.getPublicKey();
outcome.event = await signer.signEvent({ kind: 1, content: "signed through NIP-46", tags: [["t", "sigil"]], created_at: Math.floor(Date.now() / 1000) });
outcome.verified = verifyEvent(outcome.event);
const peer = getPublicKey(generateSecretKey());
outcome.nip44 = await signer.nip44Decrypt(peer, await signer.nip44Encrypt(peer, "round trip 44"));
outcome.nip04 = await signer.nip04Decrypt(peer, await signer.nip04Encrypt(peer, "round trip 04"));
try {
  await signer.sendRequest("sign_message", ["x"]);
  outcome.unknown = "answered";
} catch (error) {
  outcome.unknown = String(error);
}
// Asked twice: a user who denied once may allow the next time.
const attempt = async (content) => {
  try {
    const event = await signer.signEvent({ kind: 4, content, tags: [], created_at: Math.floor(Date.now() / 1000) });
    return verifyEvent(event) ? "signed" : "bad signature";
  } catch (error) {
    return String(error);
  }
};
outcome.denied = await attempt("denied");
outcome.again = await attempt("asked again");
console.log(JSON.stringify(outcome));
if (process.argv[3] === "--then-wait") {
  for await (const _ of (await import("node:readline")).createInterface({ input: process.stdin })) break;
  outcome.afterRevoke = await signer
    .signEvent({ kind: 1, content: "after revoke", tags: [], created_at: Math.floor(Date.now() / 1000) })
    .then(() => "signed", (error) => String(error));
  console.log(JSON.stringify({ afterRevoke: outcome.afterRevoke }));
}
await signer.close();
process.exit(0);
