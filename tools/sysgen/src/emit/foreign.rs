//! What a foreign toolchain (GCC, Arm Compiler, TASKING, GHS, clang) needs to
//! build a partition. So far:
//!
//! - `bulkhead.h` ([`bulkhead_h`]): the hypercall ABI for C, rendered from
//!   `bulkhead-abi` and checked in as `kernel/abi/include/bulkhead.h`.

mod bulkhead_h;

pub use bulkhead_h::bulkhead_h;

/// Text made safe for a `/* ... */` comment.
fn comment_text(text: &str) -> String {
    text.replace("*/", "* /")
}
