//! The NIP-46 signer's WebAssembly module (issue 26), loaded by the vault worker the first time
//! the signer is used (see `client/src/web/signer.rs`), so the first screen's module does not
//! carry it. While the vault is open it serves the connected apps on their relays
//! ([`sigil_client::signer::service`]), asks the page when a request needs the user, and keeps
//! its state in IndexedDB beside the vault. The vault's module hands it a copy of the key at
//! each unlock; locking stops it and drops that copy.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::secret::AccountSecret;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use sigil_client::browser::post;
use sigil_client::browser::relays::WorkerSockets;
use sigil_client::browser::storage::{self, Record};
use sigil_client::browser::timer::set_timeout;
use sigil_client::signer::policy::Permission;
use sigil_client::signer::request::{SignerRequest, SignerResponse};
use sigil_client::signer::service::{Serving, serve};
use sigil_client::signer::session::{Choice, Signer};
use sigil_client::signer::uri::NostrConnect;
use sigil_client::signer::view::{invitation_view, prompt_view, signer_view};
use sigil_client::wording;
use sigil_client::worker_api::{Answer, Command, Failure, FromWorker, Outcome, Private};
use zeroize::Zeroizing;

/// How long a prompt waits for the user before the request is left unanswered (apps give up
/// sooner or later; this only keeps the signer from waiting forever).
const PROMPT_WAIT_MS: i32 = 120_000;

/// The signer's state as saved: for one account only, so another account's apps never show.
#[derive(Serialize, Deserialize)]
struct Saved {
    account: String,
    signer: Signer,
}

/// The open vault the signer serves.
struct OpenVault {
    account: Rc<AccountSecret>,
    /// The user's relays, for `bunker://` links.
    relays: Vec<String>,
    /// Set to end this run of the loop.
    stop: Rc<Cell<bool>>,
}

/// Where the answer to a prompt goes.
struct Asked {
    answer: Rc<Cell<Option<Choice>>>,
    resolve: js_sys::Function,
}

thread_local! {
    static STATE: Rc<RefCell<Signer>> = Rc::default();
    /// The account whose state `STATE` holds.
    static LOADED_FOR: RefCell<Option<PublicKey>> = const { RefCell::new(None) };
    static RUNNING: RefCell<Option<OpenVault>> = const { RefCell::new(None) };
    static PROMPTS: RefCell<BTreeMap<u32, Asked>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_PROMPT: Cell<u32> = const { Cell::new(1) };
    /// First answers to approved `nostrconnect://` links, sent until the app is heard.
    static GREETINGS: RefCell<Vec<(PublicKey, SignerResponse)>> = const { RefCell::new(Vec::new()) };
    /// The newest state to write, and whether a write is under way (writes go one at a time).
    static UNSAVED: RefCell<Option<String>> = const { RefCell::new(None) };
    static WRITING: Cell<bool> = const { Cell::new(false) };
}

fn state() -> Rc<RefCell<Signer>> {
    STATE.with(Rc::clone)
}

fn unix_now() -> u64 {
    // Whole seconds: no float-to-integer code beyond this.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = (js_sys::Date::now() / 1000.0) as u64;
    seconds
}

fn is_active() -> bool {
    RUNNING.with(|r| r.borrow().is_some())
}

fn view() -> Answer {
    Answer::Signer(signer_view(&state().borrow(), is_active()))
}

/// Tells the page, and saves, after the state changed.
fn changed(signer: &Signer) {
    post(&FromWorker::Signer(signer_view(signer, is_active())));
    let Some(account) = LOADED_FOR.with(|l| *l.borrow()) else {
        return;
    };
    let saved = Saved {
        account: account.to_hex(),
        signer: signer.clone(),
    };
    let Ok(json) = serde_json::to_string(&saved) else {
        return;
    };
    UNSAVED.with(|u| *u.borrow_mut() = Some(json));
    if WRITING.with(|w| w.replace(true)) {
        return;
    }
    spawn_local(async {
        while let Some(json) = UNSAVED.with(|u| u.borrow_mut().take()) {
            if let Err(error) = storage::save(Record::Signer, &json).await {
                web_sys::console::warn_1(&format!("signer state not saved: {}", error.0).into());
            }
        }
        WRITING.with(|w| w.set(false));
    });
}

/// Loads the saved state of `account`'s signer (or starts empty), once per account.
async fn load(account: PublicKey) {
    if LOADED_FOR.with(|l| *l.borrow()) == Some(account) {
        return;
    }
    let saved = match storage::load(Record::Signer).await {
        Ok(Some(json)) => serde_json::from_str::<Saved>(&json).ok(),
        Ok(None) => None,
        Err(error) => {
            web_sys::console::warn_1(&format!("signer state not read: {}", error.0).into());
            None
        }
    };
    let signer = saved
        .filter(|saved| saved.account == account.to_hex())
        .map(|saved| saved.signer)
        .unwrap_or_default();
    *state().borrow_mut() = signer;
    GREETINGS.with(|g| g.borrow_mut().clear());
    LOADED_FOR.with(|l| *l.borrow_mut() = Some(account));
}

/// Starts answering apps for the vault just opened: `secret` is its key's 32 bytes (wiped here;
/// the caller wipes its own copy), `relays` the user's relays as a JSON array.
#[wasm_bindgen]
pub async fn signer_start(secret: Vec<u8>, relays: String) -> Result<(), JsValue> {
    let secret = Zeroizing::new(secret);
    let bytes: &[u8; 32] = secret[..]
        .try_into()
        .map_err(|_| JsValue::from_str("the key is not 32 bytes"))?;
    let account =
        AccountSecret::from_bytes(bytes).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let relays: Vec<String> =
        serde_json::from_str(&relays).map_err(|e| JsValue::from_str(&e.to_string()))?;
    start(Rc::new(account), relays).await;
    Ok(())
}

/// The vault locked.
/// `text` as an SVG QR code titled `title` (empty if it does not fit one). Here rather than in
/// the first screen's module: the QR encoder is about 15 KiB of compressed WebAssembly.
#[wasm_bindgen]
pub fn signer_qr(text: String, title: String) -> String {
    sigil_client::qr::svg(&text, &title).unwrap_or_default()
}

#[wasm_bindgen]
pub fn signer_stop() {
    stop();
}

/// The vault left this device.
#[wasm_bindgen]
pub fn signer_forget() {
    forget();
}

/// Runs one of the signer's [`Command`]s (as JSON) and returns its [`Outcome`] as JSON.
#[wasm_bindgen]
pub async fn signer_call(command: String) -> String {
    let outcome: Outcome = match serde_json::from_str::<Command>(&command) {
        Ok(Command::SignerState) => Ok(view()),
        Ok(Command::NewBunkerLink) => new_bunker_link(),
        Ok(Command::ReadInvitation(link)) => read_invitation(&link),
        Ok(Command::AcceptInvitation(link)) => accept_invitation(&link).await,
        Ok(Command::RevokeApp(app)) => revoke(&app),
        Ok(Command::AnswerPrompt(id, choice)) => answer_prompt(id, choice),
        Ok(_) | Err(_) => Err(wording::not_understood()),
    };
    serde_json::to_string(&outcome).unwrap_or_default()
}

/// Starts answering apps (again, when its relays changed).
async fn start(account: Rc<AccountSecret>, relays: Vec<String>) {
    stop();
    load(account.public_key()).await;
    let stop = Rc::new(Cell::new(false));
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(OpenVault {
            account: account.clone(),
            relays: relays.clone(),
            stop: stop.clone(),
        });
    });
    spawn_local(serve_until_stopped(account, relays, stop));
    changed(&state().borrow());
}

/// Stops answering (the vault locks, or is removed): prompts waiting are dropped unanswered,
/// and the loop lets go of the key.
fn stop() {
    if let Some(running) = RUNNING.with(|r| r.borrow_mut().take()) {
        running.stop.set(true);
    }
    let waiting = PROMPTS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for asked in waiting.into_values() {
        let _ = asked.resolve.call0(&JsValue::NULL);
    }
    post(&FromWorker::Prompt(None));
    post(&FromWorker::Signer(signer_view(&state().borrow(), false)));
}

/// Forgets the kept state, after the vault is removed from this device (storage is cleared by
/// the caller).
fn forget() {
    stop();
    *state().borrow_mut() = Signer::default();
    LOADED_FOR.with(|l| l.borrow_mut().take());
    GREETINGS.with(|g| g.borrow_mut().clear());
}

async fn serve_until_stopped(account: Rc<AccountSecret>, user: Vec<String>, stop: Rc<Cell<bool>>) {
    let signer = state();
    let relays = signer.borrow().relays_in_use(&user);
    let greetings = GREETINGS.with(|g| g.borrow().clone());
    let stopped = || stop.get();
    let serving = Serving {
        account: &account,
        relays: &relays,
        unix_now: &unix_now,
        greetings: &greetings,
        stopped: &stopped,
        changed: &|signer: &Signer| changed(signer),
    };
    let mut prompt = async |app: &PublicKey, request: &SignerRequest, permission: Permission| {
        ask(app, request, permission).await
    };
    // The apps' relays are reached from a worker whose policy names them (see WorkerSockets).
    let mut sockets = match WorkerSockets::new(&relays) {
        Ok(sockets) => sockets,
        Err(error) => {
            web_sys::console::error_2(&"the signer could not reach its relays:".into(), &error);
            return;
        }
    };
    // Until stopped: a century is as good as forever, without overflowing the clock.
    let forever = Duration::from_secs(100 * 365 * 24 * 3600);
    serve(&mut sockets, &signer, &serving, &mut prompt, forever).await;
}

/// Shows the page a prompt and waits for its answer; `None` when it expired or the vault locked.
async fn ask(app: &PublicKey, request: &SignerRequest, permission: Permission) -> Option<Choice> {
    let id = NEXT_PROMPT.with(|n| n.replace(n.get().wrapping_add(1)));
    let shown = prompt_view(id, &state().borrow(), app, request, permission);
    let answer = Rc::new(Cell::new(None));
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, PROMPT_WAIT_MS);
        PROMPTS.with(|p| {
            p.borrow_mut().insert(
                id,
                Asked {
                    answer: answer.clone(),
                    resolve,
                },
            );
        });
    });
    post(&FromWorker::Prompt(Some(shown)));
    let _ = JsFuture::from(promise).await;
    PROMPTS.with(|p| p.borrow_mut().remove(&id));
    post(&FromWorker::Prompt(None));
    answer.get()
}

/// The user answered prompt `id`.
fn answer_prompt(id: u32, choice: Choice) -> Result<Answer, Failure> {
    let asked = PROMPTS
        .with(|p| p.borrow_mut().remove(&id))
        .ok_or_else(wording::prompt_gone)?;
    asked.answer.set(Some(choice));
    let _ = asked.resolve.call0(&JsValue::NULL);
    Ok(Answer::Done)
}

/// The open vault's key and the user's relays, or why there are none.
fn open_vault() -> Result<(Rc<AccountSecret>, Vec<String>), Failure> {
    RUNNING
        .with(|r| {
            r.borrow()
                .as_ref()
                .map(|running| (running.account.clone(), running.relays.clone()))
        })
        .ok_or_else(wording::signer_locked)
}

/// A new `bunker://` link on the user's relays.
fn new_bunker_link() -> Result<Answer, Failure> {
    let (account, relays) = open_vault()?;
    let me = account.public_key();
    let link = state().borrow_mut().new_bunker_link(me, &relays);
    changed(&state().borrow());
    let qr = sigil_client::qr::svg(&link, "QR code of the bunker link").unwrap_or_default();
    Ok(Answer::BunkerLink(link, qr))
}

fn read(link: &Private) -> Result<NostrConnect, Failure> {
    NostrConnect::parse(link.trim()).map_err(|e| wording::not_an_invitation(&e.to_string()))
}

fn read_invitation(link: &Private) -> Result<Answer, Failure> {
    Ok(Answer::Invitation(invitation_view(&read(link)?)))
}

/// Connects the app of an approved `nostrconnect://` link, with what it asked for, and listens
/// on its relays too.
async fn accept_invitation(link: &Private) -> Result<Answer, Failure> {
    let invitation = read(link)?;
    let (account, relays) = open_vault()?;
    if state().borrow().knows(&invitation.client) {
        return Err(wording::already_connected());
    }
    // The first answer's id: NIP-46 leaves it to the signer; the app matches the secret.
    let id = format!("{:x}", rand_id());
    let first = state()
        .borrow_mut()
        .accept(&invitation, &invitation.perms, &id, unix_now());
    GREETINGS.with(|g| g.borrow_mut().push((invitation.client, first)));
    start(account, relays).await;
    Ok(view())
}

fn rand_id() -> u64 {
    rand::random()
}

fn revoke(app: &str) -> Result<Answer, Failure> {
    let key = PublicKey::from_hex(app).map_err(|_| wording::unknown_app())?;
    if !state().borrow().knows(&key) {
        return Err(wording::unknown_app());
    }
    state().borrow_mut().revoke(&key);
    GREETINGS.with(|g| g.borrow_mut().retain(|(client, _)| *client != key));
    changed(&state().borrow());
    Ok(view())
}
