// WebAuthn for the page: passkeys with the PRF extension, whose output a passkey's slot in the
// backup is wrapped under. Imported on first use (boot.js's sigilPasskeys), so the first screen
// carries none of it; the page's module (client/src/web/page/passkeys.rs) calls these functions.
//
// WebAuthn exists only in the page, not in workers, so the PRF output arrives here, in a buffer
// the browser made. It is returned as that buffer's view, never as text; the page transfers the
// buffer to the vault worker, which detaches it here (SECURITY.md).

const PROMPT_MS = 120_000;

/** Base64url (as the vault names credentials and salts) to bytes. */
const bytes = (text) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
const descriptor = (id) => ({ type: "public-key", id: bytes(id) });
// Nothing verifies a signature (the PRF output is what opens the vault); WebAuthn wants a challenge.
const challenge = () => crypto.getRandomValues(new Uint8Array(32));

/** Whether passkey unlock may work here: WebAuthn (a secure context), PRF not known to be missing. */
export async function supported() {
  if (typeof PublicKeyCredential === "undefined") return false;
  if (typeof PublicKeyCredential.getClientCapabilities !== "function") return true;
  try {
    return (await PublicKeyCredential.getClientCapabilities())["extension:prf"] !== false;
  } catch {
    return true;
  }
}

/** What the page needs of a credential: its id, whether PRF is on, and the PRF output if given. */
function outcome(credential) {
  const prf = credential.getClientExtensionResults().prf;
  const first = prf?.results?.first;
  return { id: credential.id, enabled: prf?.enabled ?? null, prf: first ? new Uint8Array(first) : null };
}

/**
 * Registers a passkey for the account (`user`, base64url: its public key, so one passkey per
 * account per authenticator) named `email` in the passkey manager, asking for the PRF output of
 * `salt`; the `exclude`d credentials are the vault's others.
 */
export async function register(user, email, salt, exclude) {
  const credential = await navigator.credentials.create({
    publicKey: {
      rp: { name: "Sigil" },
      user: { id: bytes(user), name: email, displayName: email },
      challenge: challenge(),
      pubKeyCredParams: [-7, -8, -257].map((alg) => ({ type: "public-key", alg })),
      excludeCredentials: exclude.map(descriptor),
      // PRF outputs differ with and without user verification: always required.
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
      timeout: PROMPT_MS,
      extensions: { prf: { eval: { first: bytes(salt) } } },
    },
  });
  return outcome(credential);
}

/** Asks for any of the credentials `ids`, each with the PRF output of its own salt in `salts`. */
export async function authenticate(ids, salts) {
  const evalByCredential = Object.fromEntries(ids.map((id, i) => [id, { first: bytes(salts[i]) }]));
  const credential = await navigator.credentials.get({
    publicKey: {
      challenge: challenge(),
      allowCredentials: ids.map(descriptor),
      userVerification: "required",
      timeout: PROMPT_MS,
      extensions: { prf: { evalByCredential } },
    },
  });
  return outcome(credential);
}
