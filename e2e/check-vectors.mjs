// Checks Sigil's protocol known answers (shared/tests/vectors/protocol-v3.json) with nostr-tools,
// an implementation of NIP-01, NIP-13 and NIP-44 independent of Sigil's: the conversation key,
// the padded plaintexts, the NIP-44 payloads, the ids, the signatures and the proof of work.
// Run by scripts/test.sh; fails with a message naming the first value that differs.
import { readFileSync } from "node:fs";
import { getEventHash, verifyEvent } from "nostr-tools/pure";
import { v2 as nip44 } from "nostr-tools/nip44";
import { getPow } from "nostr-tools/nip13";
import { hexToBytes, bytesToHex } from "nostr-tools/utils";

const file = new URL("../shared/tests/vectors/protocol-v3.json", import.meta.url);
const v = JSON.parse(readFileSync(file, "utf8"));

function same(what, got, expected) {
  if (got !== expected) {
    throw new Error(`${what}: nostr-tools gives ${got}, the vector says ${expected}`);
  }
}

const conversation = nip44.utils.getConversationKey(hexToBytes(v.client_secret_key), v.server_pubkey);
same("conversation key", bytesToHex(conversation), v.conversation_key);
same(
  "conversation key, from the server's side",
  bytesToHex(nip44.utils.getConversationKey(hexToBytes(v.server_secret_key), v.client_pubkey)),
  v.conversation_key,
);

for (const [name, length] of [["request", 4096], ["reply", 4096]]) {
  const { plaintext, nip44_nonce, event } = v[name];
  same(`${name} plaintext length`, new TextEncoder().encode(plaintext).length, length);
  JSON.parse(plaintext); // trailing spaces are JSON whitespace
  same(`${name} payload`, nip44.encrypt(plaintext, conversation, hexToBytes(nip44_nonce)), event.content);
  same(`${name} decrypted`, nip44.decrypt(event.content, conversation), plaintext);
  same(`${name} id`, getEventHash(event), event.id);
  same(`${name} signature`, verifyEvent({ ...event }), true);
}

const request = v.request.event;
const nonceTag = request.tags.find((tag) => tag[0] === "nonce");
same("nonce tag length", nonceTag.length, 3);
same("committed target", Number(nonceTag[2]), v.request.difficulty);
same("nonce digits", nonceTag[1].length, 13);
same("proof of work", getPow(request.id) >= v.request.difficulty, true);
same("reply e tag", v.reply.event.tags.find((tag) => tag[0] === "e")[1], request.id);
console.log("protocol vectors: nostr-tools agrees on every value");
