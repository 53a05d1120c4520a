//! Points a partition's link at the `memory.x` and `layout.rs` that
//! `bulkhead-sysgen` generated for it.
//!
//! `cargo xtask build` builds each partition with `BULKHEAD_PARTITION_DIR`
//! set to that partition's generated directory. The same image crate used by
//! two partitions is simply built twice, once per directory.

fn main() {
    println!("cargo:rerun-if-env-changed=BULKHEAD_PARTITION_DIR");
    let Some(dir) = std::env::var_os("BULKHEAD_PARTITION_DIR") else {
        eprintln!(
            "error: BULKHEAD_PARTITION_DIR is not set.\n\
             Partitions are linked for the place the system description gives them: \
             build them with `cargo xtask build`."
        );
        std::process::exit(1);
    };
    let dir = std::path::PathBuf::from(dir);
    for file in ["memory.x", "partition.x", "layout.rs"] {
        println!("cargo:rerun-if-changed={}", dir.join(file).display());
    }
    println!("cargo:rustc-link-search={}", dir.display());
    println!("cargo:rustc-env=BULKHEAD_LAYOUT={}", dir.join("layout.rs").display());
}
