// Sigil's service worker: keeps the app shell so the page opens with no network. It caches only
// the shell's own files; API calls and the well-known document always go to the network, and the
// vault itself lives in IndexedDB, not here.
//
// VERSION is the build's hash, set by scripts/version-assets.mjs: the shell's files then live in
// /v/VERSION/ and never change, so they are answered from the cache first. "dev" (an unversioned
// build) keeps them at the root and goes to the network first.
const VERSION = "dev";
const BASE = VERSION === "dev" ? "/" : `/v/${VERSION}/`;
const CACHE = `sigil-shell-${VERSION}`;
// Fetched at install: what the first screen and the vault need.
const SHELL = ["style.css", "boot.js", "vault-worker.js", "pow-worker.js", "argon2-lanes.js", "argon2-lane-worker.js", "passkeys.js", "sigil-lanes.wasm", "sigil-client.js", "sigil-client_bg.wasm"].map((f) => BASE + f);
// Kept once used: the strength meter's word lists, fetched when a new password is first typed.
const LATER = [`${BASE}strength-words.txt`];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(["/", ...SHELL])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const old = caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))));
  event.waitUntil(old.then(() => self.clients.claim()));
});

const keep = (event, path, response) => {
  if (response.ok) {
    const copy = response.clone();
    event.waitUntil(caches.open(CACHE).then((cache) => cache.put(path, copy)));
  }
  return response;
};

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = request.mode === "navigate" ? "/" : url.pathname;
  const immutable = VERSION !== "dev" && (SHELL.includes(path) || LATER.includes(path));
  if (immutable) {
    event.respondWith(caches.match(path).then((cached) => cached ?? fetch(request).then((r) => keep(event, path, r))));
  } else if (path === "/" || SHELL.includes(path) || LATER.includes(path)) {
    // The page (and an unversioned shell) from the network first, so an online visit runs the
    // server's current build; the cached copy answers only when the server cannot be reached.
    event.respondWith(
      fetch(request)
        .then((response) => keep(event, path, response))
        .catch(() => caches.match(path).then((cached) => cached ?? Response.error())),
    );
  }
});
