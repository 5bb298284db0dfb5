// A second NIP-46 client library (NDK's NDKNip46Signer), driven from Node against Sigil's signer:
// connects by the bunker:// URI given as the argument, then signs and encrypts as an app would,
// and prints the outcome as one JSON line. Run by server/tests/api/signer.rs.
import WebSocket from "ws";

// Node 20 has no WebSocket of its own; NDK uses the global one.
globalThis.WebSocket ??= WebSocket;
const { default: NDK, NDKEvent, NDKNip46Signer, NDKPrivateKeySigner, NDKUser } = await import("@nostr-dev-kit/ndk");

const uri = process.argv[2];
const relays = new URL(uri.replace(/^bunker:/, "http:")).searchParams.getAll("relay");
const ndk = new NDK({ explicitRelayUrls: relays });
await ndk.connect(5_000);
const signer = NDKNip46Signer.bunker(ndk, uri, NDKPrivateKeySigner.generate());
const user = await signer.blockUntilReady();
const outcome = { pubkey: user.pubkey };
const event = new NDKEvent(ndk, { kind: 1, content: "signed through NDK", tags: [], created_at: Math.floor(Date.now() / 1000) });
await event.sign(signer);
outcome.event = event.rawEvent();
outcome.verified = event.verifySignature(false);
const peer = new NDKUser({ pubkey: NDKPrivateKeySigner.generate().pubkey });
outcome.nip44 = await signer.decrypt(peer, await signer.encrypt(peer, "round trip 44", "nip44"), "nip44");
outcome.nip04 = await signer.decrypt(peer, await signer.encrypt(peer, "round trip 04", "nip04"), "nip04");
console.log(JSON.stringify(outcome));
process.exit(0);
