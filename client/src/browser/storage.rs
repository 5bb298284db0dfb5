//! This device's saved vault in IndexedDB, from the vault worker: two records, as JSON. Neither
//! holds a secret key: the vault's holds the sealed backup and public values, the signer's the
//! connected apps, their permissions and the activity log.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode, WorkerGlobalScope};

const DATABASE: &str = "sigil";
const STORE: &str = "vault";

/// The records kept.
#[derive(Debug, Clone, Copy)]
pub enum Record {
    /// The account ([`crate::local_vault::LocalVault`]).
    Vault,
    /// The NIP-46 signer's state (`super::signer`).
    Signer,
}

impl Record {
    fn key(self) -> JsValue {
        match self {
            Self::Vault => "local",
            Self::Signer => "signer",
        }
        .into()
    }
}

#[derive(Debug)]
pub struct StorageError(pub String);

impl From<JsValue> for StorageError {
    fn from(value: JsValue) -> Self {
        Self(
            value
                .as_string()
                .or_else(|| js_sys::JSON::stringify(&value).ok().map(String::from))
                .unwrap_or_else(|| "IndexedDB failed".into()),
        )
    }
}

/// Waits for an IndexedDB request; `onsuccess` and `onerror` settle a promise.
async fn settled(request: &IdbRequest) -> Result<JsValue, StorageError> {
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await?;
    Ok(request.result()?)
}

async fn open() -> Result<IdbDatabase, StorageError> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let factory = scope
        .indexed_db()?
        .ok_or_else(|| StorageError("IndexedDB is not available".into()))?;
    let request = factory.open_with_u32(DATABASE, 1)?;
    let upgrade = Closure::once(move |event: web_sys::Event| {
        let created = event
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|db| db.dyn_into::<IdbDatabase>().ok())
            .map(|db| db.create_object_store(STORE));
        if !matches!(created, Some(Ok(_))) {
            web_sys::console::error_1(&"could not create the vault store".into());
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let database = settled(&request).await?;
    request.set_onupgradeneeded(None);
    drop(upgrade);
    Ok(database.unchecked_into())
}

/// The saved record, if any.
pub async fn load(record: Record) -> Result<Option<String>, StorageError> {
    let database = open().await?;
    let store = database.transaction_with_str(STORE)?.object_store(STORE)?;
    let value = settled(&store.get(&record.key())?).await?;
    database.close();
    Ok(value.as_string())
}

/// Replaces the record; returns once the transaction is committed.
pub async fn save(record: Record, json: &str) -> Result<(), StorageError> {
    write(|store| store.put_with_key(&json.into(), &record.key())).await
}

/// Removes every record: the vault and what its signer kept.
pub async fn clear() -> Result<(), StorageError> {
    write(|store| store.clear()).await
}

async fn write(
    change: impl FnOnce(&web_sys::IdbObjectStore) -> Result<IdbRequest, JsValue>,
) -> Result<(), StorageError> {
    let database = open().await?;
    let transaction =
        database.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
    let committed = Promise::new(&mut |resolve: Function, reject: Function| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    change(&transaction.object_store(STORE)?)?;
    JsFuture::from(committed).await?;
    database.close();
    Ok(())
}
