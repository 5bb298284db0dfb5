//! The module's memory comes from the page (one memory shared by every lane worker), and each
//! worker points the stack pointer at its own stack within it.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for arg in [
            "--import-memory",
            // 1 GiB: over the vault's 256 MiB ceiling and any benchmark's memory.
            "--max-memory=1073741824",
            "--export=__stack_pointer",
            "--export=__heap_base",
            // A segment needs a few KiB; every worker's stack is carved from the shared memory.
            "-zstack-size=65536",
        ] {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
    }
}
