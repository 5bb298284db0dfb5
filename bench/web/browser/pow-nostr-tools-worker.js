// nostr-tools' minePow as a web app would call it. It loops until it finds a nonce, so the
// event's `kind` is a getter: minePow reads it once per hash, which both counts the hashes and,
// after the fixed time, stops the loop by throwing. Its cost is a function call next to a
// JSON.stringify, a UTF-8 encode and a SHA-256.
importScripts("/node_modules/nostr-tools/lib/nostr.bundle.js");

const STOP = Symbol("stop");
self.postMessage({ ready: true });

self.onmessage = ({ data: { event, difficulty, seconds } }) => {
  const started = performance.now();
  const end = started + seconds * 1000;
  let hashes = 0;
  const fresh = () => {
    const copy = { ...event, tags: event.tags.map((t) => [...t]) };
    delete copy.kind;
    Object.defineProperty(copy, "kind", {
      enumerable: true,
      get() {
        hashes++;
        if ((hashes & 1023) === 0 && performance.now() >= end) throw STOP;
        return event.kind;
      },
    });
    return copy;
  };
  try {
    for (;;) NostrTools.nip13.minePow(fresh(), difficulty);
  } catch (error) {
    if (error !== STOP) {
      self.postMessage({ error: String(error) });
      return;
    }
  }
  self.postMessage({ hashes, elapsed_ms: performance.now() - started });
};
