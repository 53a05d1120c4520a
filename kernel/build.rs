//! Points the kernel build at the tables `bulkhead-sysgen` generated.
//!
//! The kernel is not buildable on its own: it is one half of a system whose
//! other half is the system description. `cargo xtask build` runs the
//! generator and sets `BULKHEAD_GEN_DIR` to the directory holding `tables.rs`,
//! `memory.x` and the partition images.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BULKHEAD_GEN_DIR");
    let Some(dir) = std::env::var_os("BULKHEAD_GEN_DIR") else {
        eprintln!(
            "error: BULKHEAD_GEN_DIR is not set.\n\
             The kernel is built from a system description: run `cargo xtask build` \
             (or `bulkhead-sysgen kernel` and set BULKHEAD_GEN_DIR to its output)."
        );
        std::process::exit(1);
    };
    let dir = PathBuf::from(dir);
    for file in ["tables.rs", "memory.x", "kernel.x"] {
        let path = dir.join(file);
        if !path.exists() {
            eprintln!("error: {} is missing; rerun `cargo xtask build`", path.display());
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rustc-link-search={}", dir.display());
    println!("cargo:rustc-env=BULKHEAD_TABLES={}", dir.join("tables.rs").display());
}
