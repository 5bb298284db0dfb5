// Starts what a test needs: a real SMTP server (aiosmtpd) capturing mail into a Maildir, and the
// real sigil-server with a fresh SQLite database serving the built web client.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

// Whatever a test leaves running (it failed before its clean-up) ends with the test process.
const started = new Set();
process.on("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where a program the test needs was installed: PATH, or cargo's bin directory. */
function tool(name) {
  for (const dir of [...(process.env.PATH ?? "").split(":"), join(process.env.HOME ?? "", ".cargo/bin")]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} not found: run scripts/setup.sh --test`);
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => socket.end(() => resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** A real relay (nostr-rs-relay) on a free loopback port, with its own database. */
export async function startRelay() {
  const work = mkdtempSync(join(tmpdir(), "sigil-relay-"));
  const port = await freePort();
  const config = join(work, "config.toml");
  writeFileSync(
    config,
    `[info]\nrelay_url = "ws://127.0.0.1:${port}/"\n\n[database]\ndata_directory = "${work}"\n\n` +
      `[network]\naddress = "127.0.0.1"\nport = ${port}\n`,
  );
  let child;
  const launch = async () => {
    child = spawn(tool("nostr-rs-relay"), ["--config", config, "--db", work], {
      stdio: "ignore",
      env: { ...process.env, RUST_LOG: "warn" },
    });
    started.add(child);
    child.once("exit", () => started.delete(child));
    await waitFor(() => portOpen(port), "nostr-rs-relay");
  };
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  await launch();
  return {
    url: `ws://127.0.0.1:${port}`,
    /** Stops the relay, dropping every connection, and starts it again on the same port. */
    async restart() {
      await stop();
      await launch();
    },
    async stop() {
      await stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export async function startSigil({ serverArgs = [], resendGap = 0 } = {}) {
  const work = mkdtempSync(join(tmpdir(), "sigil-e2e-"));
  const maildir = join(work, "mail");
  for (const sub of ["tmp", "new", "cur"]) mkdirSync(join(maildir, sub), { recursive: true });
  const logs = [];
  const children = [];
  const run = (command, args) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => logs.push(d.toString()));
    child.stderr.on("data", (d) => logs.push(d.toString()));
    children.push(child);
    started.add(child);
    child.once("exit", () => started.delete(child));
    return child;
  };

  const smtpPort = await freePort();
  let server;
  const python = process.env.SIGIL_TEST_PYTHON ?? join(ROOT, ".tools/venv/bin/python");
  run(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", maildir]);

  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  // Tests run offline: unless a test brings its own relay, the account's relays are a closed
  // loopback port, which refuses at once instead of leaving the browser to resolve public names.
  const relayDefaults = serverArgs.includes("--default-relays") ? [] : ["--default-relays", `ws://127.0.0.1:${await freePort()}`];
  // The same port and data directory each time, so a restart is the same server coming back.
  const launch = async () => {
    server = run(join(ROOT, "target/debug/sigil-server"), [
      "--listen", `127.0.0.1:${port}`,
      "--data-dir", join(work, "data"),
      "--web-dir", join(ROOT, "dist"),
      "--smtp-host", "127.0.0.1",
      "--smtp-port", String(smtpPort),
      "--smtp-tls", "none",
      "--code-resend-gap", String(resendGap),
      ...relayDefaults,
      ...serverArgs,
    ]);
    return waitFor(async () => (await fetch(`${baseURL}/.well-known/sigil.json`)).json(), "sigil-server");
  };
  const info = await launch();

  const read = new Set();
  return {
    baseURL,
    info,
    logs,
    /** The code in the next unread mail to `email`. */
    async codeFor(email) {
      return waitFor(() => {
        for (const name of readdirSync(join(maildir, "new")).sort()) {
          if (read.has(name)) continue;
          const message = readFileSync(join(maildir, "new", name), "utf8");
          const to = message.split("\n").find((l) => l.toLowerCase().startsWith("to:")) ?? "";
          if (!to.toLowerCase().includes(email.toLowerCase())) continue;
          read.add(name);
          return message.match(/Your Sigil code is ([\d ]+)/)?.[1].replaceAll(" ", "");
        }
        return undefined;
      }, `mail to ${email}`);
    },
    /** Moves every pending code's expiry into the past, as if ten minutes had gone by. */
    expireCodes() {
      this.database("c.execute('UPDATE sessions SET expires_at = 1'); c.execute('UPDATE throttles SET code_expires_at = 1')");
    },
    /**
     * Runs Python on the server's database, as an operator with a shell would: `c` is the open
     * sqlite3 connection, `args` the extra arguments (sys.argv[2:]); what it prints is returned.
     */
    database(code, ...args) {
      const path = join(work, "data", "sigil.db");
      const script = `import json, sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nargs = sys.argv[2:]\n${code}\nc.commit()`;
      const result = spawnSync(python, ["-c", script, path, ...args], { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`database script failed: ${result.stderr}`);
      return result.stdout.trim();
    },
    /** Stops only the server, as if the network went away. */
    async stopServer() {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      // The server stops within its 5 s drain; if it does not, that is a bug, but the test goes on.
      const timer = setTimeout(() => server.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
    /** Starts the server again after `stopServer`, with the same port and database. */
    async restartServer() {
      await launch();
    },
    async stop() {
      for (const child of children) child.kill("SIGTERM");
      rmSync(work, { recursive: true, force: true });
    },
  };
}
