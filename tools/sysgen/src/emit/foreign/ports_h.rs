//! The ports half of `bulkhead.h`: `bulkhead-ports`' window layout and its
//! sampling and queuing protocols for C guests.
//!
//! Every offset, limit and alignment is rendered from
//! `bulkhead_ports::layout` (and `READ_ATTEMPTS` from `sampling`), so the C
//! layout cannot drift from the Rust one; the protocols themselves are
//! `ports.h.in`, a transliteration of `sampling.rs` and `queuing.rs` that
//! uses only those macros. `tools/sysgen/tests/c_ports.rs` runs the C code
//! against the Rust crate, operation by operation, on the same windows.
//!
//! The status codes the C functions return stand for the Rust errors; the
//! `status_of_*` functions are that mapping (exhaustive matches, so a new
//! Rust error does not compile until it has a C code).

use bulkhead_ports::layout::{self, GeometryError};
use bulkhead_ports::queuing::{ReceiveError, SendError};
use bulkhead_ports::sampling::{self, ReadError, WriteError};
use std::fmt::Write;

/// The protocols, in C, over the macros [`ports`] defines.
const PROTOCOLS: &str = include_str!("ports.h.in");

/// The C status codes of the port functions: name (after `BULKHEAD_PORT_`),
/// value, meaning.
pub const STATUS: [(&str, u32, &str); 13] = [
    ("OK", 0, "success"),
    ("EMPTY", 1, "no message: sampling, none written yet; queuing, none unread (ReadError/ReceiveError::Empty)"),
    ("RACED", 2, "every try found the writer rewriting the slot: try later (ReadError::Raced)"),
    ("CORRUPT", 3, "the window holds what no honest writer writes (ReadError/ReceiveError::Corrupt)"),
    (
        "BUFFER_TOO_SMALL",
        4,
        "the message is longer than the buffer; it is still there (ReadError/ReceiveError::BufferTooSmall)",
    ),
    ("TOO_LONG", 5, "the payload is longer than message_size: sent to nobody (WriteError/SendError::TooLong)"),
    ("FULL", 6, "some readers' queues were full: they missed it, their overflows went up (SendError::Full)"),
    ("KERNEL", 7, "the kernel refused the QueueAck (its BULKHEAD_ERROR_* code is returned beside)"),
    ("NOT_OPEN", 8, "the port was never opened, or its open failed"),
    ("GEOMETRY_MESSAGE_SIZE", 9, "open: message_size is 0 or above the limit (GeometryError::MessageSize)"),
    ("GEOMETRY_DEPTH", 10, "open: depth is 0 or above the limit (GeometryError::Depth)"),
    ("GEOMETRY_READERS", 11, "open: no reader, too many, or a reader index out of range (GeometryError::Readers)"),
    ("GEOMETRY_WINDOW", 12, "open: the window is smaller than the layout, or misaligned (GeometryError::Window)"),
];

/// The value of status `name`.
const fn code(name: &str) -> u32 {
    let mut index = 0;
    while index < STATUS.len() {
        if str_eq(STATUS[index].0, name) {
            return STATUS[index].1;
        }
        index += 1;
    }
    panic!("no such status")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

/// `BULKHEAD_PORT_OK`.
pub const OK: u32 = code("OK");

/// The C code for a sampling read error.
pub const fn status_of_read_error(error: ReadError) -> u32 {
    match error {
        ReadError::Empty => code("EMPTY"),
        ReadError::Raced => code("RACED"),
        ReadError::Corrupt => code("CORRUPT"),
        ReadError::BufferTooSmall => code("BUFFER_TOO_SMALL"),
    }
}

/// The C code for a sampling write error.
pub const fn status_of_write_error(error: WriteError) -> u32 {
    match error {
        WriteError::TooLong => code("TOO_LONG"),
    }
}

/// The C code for a send error (the readers of `Full` are returned beside it).
pub const fn status_of_send_error(error: SendError) -> u32 {
    match error {
        SendError::TooLong => code("TOO_LONG"),
        SendError::Full { .. } => code("FULL"),
    }
}

/// The C code for a receive error.
pub const fn status_of_receive_error(error: ReceiveError) -> u32 {
    match error {
        ReceiveError::Empty => code("EMPTY"),
        ReceiveError::Corrupt => code("CORRUPT"),
        ReceiveError::BufferTooSmall => code("BUFFER_TOO_SMALL"),
    }
}

/// The C code for a refused geometry.
pub const fn status_of_geometry_error(error: GeometryError) -> u32 {
    match error {
        GeometryError::MessageSize => code("GEOMETRY_MESSAGE_SIZE"),
        GeometryError::Depth => code("GEOMETRY_DEPTH"),
        GeometryError::Readers => code("GEOMETRY_READERS"),
        GeometryError::Window => code("GEOMETRY_WINDOW"),
    }
}

/// The layout macros: name (after `BULKHEAD_PORTS_`), value, meaning.
pub fn layout_constants() -> Vec<(&'static str, u32, &'static str)> {
    vec![
        ("HEADER_SIZE", layout::HEADER_SIZE, "offset of the first sampling slot or queuing ring"),
        ("SAMPLING_LATEST", layout::SAMPLING_LATEST, "sampling: `latest`, the number of the latest complete message"),
        (
            "SLOT_SEQUENCE",
            layout::SLOT_SEQUENCE,
            "sampling slot: `sequence` (2n + 1 while message n is written, 2n once complete)",
        ),
        ("SLOT_LENGTH", layout::SLOT_LENGTH, "sampling slot: `length` in bytes"),
        ("SLOT_STAMP", layout::SLOT_STAMP, "sampling slot: the stamp's low word (high word at +4)"),
        ("SLOT_PAYLOAD", layout::SLOT_PAYLOAD, "sampling slot: the payload"),
        ("RING_WRITTEN", layout::RING_WRITTEN, "queuing ring: `written` (by the writer)"),
        ("RING_OVERFLOWS", layout::RING_OVERFLOWS, "queuing ring: `overflows` (by the writer)"),
        ("RING_CONSUMED", layout::RING_CONSUMED, "queuing ring: `consumed` (by the kernel, on QueueAck)"),
        ("RING_SLOTS", layout::RING_SLOTS, "queuing ring: the first slot"),
        ("QUEUE_SLOT_LENGTH", layout::QUEUE_SLOT_LENGTH, "queuing slot: `length` in bytes"),
        ("QUEUE_SLOT_PAYLOAD", layout::QUEUE_SLOT_PAYLOAD, "queuing slot: the payload"),
        ("SLOT_ALIGN", layout::SLOT_ALIGN, "slot strides are rounded up to this"),
        ("RING_ALIGN", layout::RING_ALIGN, "the ring stride is rounded up to this"),
        ("MAX_MESSAGE_SIZE", layout::MAX_MESSAGE_SIZE, "largest message_size"),
        ("MAX_DEPTH", layout::MAX_DEPTH, "largest queuing depth"),
        ("MAX_READERS", layout::MAX_READERS, "most readers of one channel"),
        ("READ_ATTEMPTS", sampling::READ_ATTEMPTS, "tries of one sampling read before it reports RACED"),
    ]
}

/// The macros, the protocols and the open macros: what needs no hypercall.
pub fn ports(out: &mut String) {
    out.push_str(
        "\n/*\n * Ports: channel windows (bulkhead_ports::layout; docs/ports.md). All fields are little-endian\n \
         * 32-bit words at these offsets; the geometry (message_size, depth, readers) comes from partition.h's\n \
         * BULKHEAD_CHANNEL_<NAME>_*, never from the window.\n */\n",
    );
    for (name, value, meaning) in layout_constants() {
        let _ = writeln!(out, "#define BULKHEAD_PORTS_{name} {value:#x}U /* {meaning} */");
    }
    out.push_str("\n/* What the port functions return. */\n");
    for (name, value, meaning) in STATUS {
        let _ = writeln!(out, "#define BULKHEAD_PORT_{name} {value}U /* {meaning} */");
    }
    out.push_str(
        "\n/*\n * The fence the protocols need between their accesses: `dmb ish` on Arm. Another compiler (or a\n \
         * host, a simulator) may define BULKHEAD_PORTS_FENCE() before including this file, with the same\n \
         * effect: a full barrier for the compiler and for every core that maps a window.\n */\n\
         #if !defined(BULKHEAD_PORTS_FENCE)\n\
         #if (defined(__GNUC__) || defined(__clang__)) && defined(__arm__)\n\
         #define BULKHEAD_PORTS_FENCE() __asm__ volatile(\"dmb ish\" : : : \"memory\")\n\
         #elif defined(__GNUC__) || defined(__clang__)\n\
         #define BULKHEAD_PORTS_FENCE() __atomic_thread_fence(__ATOMIC_SEQ_CST)\n\
         #endif\n\
         #endif\n\n\
         #if defined(BULKHEAD_PORTS_FENCE)\n\
         #define BULKHEAD_HAVE_PORTS 1U\n\n",
    );
    out.push_str(PROTOCOLS);
    out.push_str(
        "\n/*\n * Opening a port by its channel's name in partition.h (upper-cased, every other character '_': \
         channel\n * `c-speed` is C_SPEED), for this partition's role in it: a role or kind it does not have does not\n \
         * compile (its BULKHEAD_CHANNEL_<NAME>_WRITER, _READER_INDEX, _SAMPLING or _QUEUING is undefined).\n */\n\
         #define BULKHEAD_SAMPLING_WRITER_OPEN(port, NAME)                                                       \\\n    \
         bulkhead_sampling_writer_open((port),                                                               \\\n        \
         BULKHEAD_CHANNEL_##NAME##_ID + 0U * (BULKHEAD_CHANNEL_##NAME##_WRITER + BULKHEAD_CHANNEL_##NAME##_SAMPLING), \\\n        \
         (uintptr_t)BULKHEAD_CHANNEL_##NAME##_BASE, BULKHEAD_CHANNEL_##NAME##_SIZE, BULKHEAD_CHANNEL_##NAME##_MESSAGE_SIZE)\n\
         #define BULKHEAD_SAMPLING_READER_OPEN(port, NAME)                                                       \\\n    \
         bulkhead_sampling_reader_open((port),                                                               \\\n        \
         BULKHEAD_CHANNEL_##NAME##_ID + 0U * (BULKHEAD_CHANNEL_##NAME##_READER_INDEX + BULKHEAD_CHANNEL_##NAME##_SAMPLING), \\\n        \
         (uintptr_t)BULKHEAD_CHANNEL_##NAME##_BASE, BULKHEAD_CHANNEL_##NAME##_SIZE, BULKHEAD_CHANNEL_##NAME##_MESSAGE_SIZE, \\\n        \
         BULKHEAD_CHANNEL_##NAME##_REFRESH_TICKS)\n\
         #define BULKHEAD_QUEUE_SENDER_OPEN(port, NAME)                                                          \\\n    \
         bulkhead_queue_sender_open((port),                                                                  \\\n        \
         BULKHEAD_CHANNEL_##NAME##_ID + 0U * (BULKHEAD_CHANNEL_##NAME##_WRITER + BULKHEAD_CHANNEL_##NAME##_QUEUING), \\\n        \
         (uintptr_t)BULKHEAD_CHANNEL_##NAME##_BASE, BULKHEAD_CHANNEL_##NAME##_SIZE, BULKHEAD_CHANNEL_##NAME##_MESSAGE_SIZE, \\\n        \
         BULKHEAD_CHANNEL_##NAME##_DEPTH, BULKHEAD_CHANNEL_##NAME##_READERS)\n\
         #define BULKHEAD_QUEUE_RECEIVER_OPEN(port, NAME)                                                        \\\n    \
         bulkhead_queue_receiver_open((port),                                                                \\\n        \
         BULKHEAD_CHANNEL_##NAME##_ID + 0U * BULKHEAD_CHANNEL_##NAME##_QUEUING,                              \\\n        \
         (uintptr_t)BULKHEAD_CHANNEL_##NAME##_BASE, BULKHEAD_CHANNEL_##NAME##_SIZE, BULKHEAD_CHANNEL_##NAME##_MESSAGE_SIZE, \\\n        \
         BULKHEAD_CHANNEL_##NAME##_DEPTH, BULKHEAD_CHANNEL_##NAME##_READER_INDEX)\n\
         #endif /* BULKHEAD_PORTS_FENCE */\n",
    );
}

/// The port functions that make hypercalls (after the wrappers).
pub const PORT_CALLS: &str = "
#if defined(BULKHEAD_HAVE_PORTS)
/* ---- Ports: the calls they make ---- */

/* System time in ticks (SystemTime), as the ports stamp and age messages. */
static inline uint64_t bulkhead_system_ticks(void)
{
    uint32_t low = 0U;
    uint32_t high = 0U;
    (void)bulkhead_system_time(&low, &high, 0);
    return ((uint64_t)high << 32) | low;
}

/* bulkhead_sampling_write_stamped, stamped with system time now. */
static inline uint32_t bulkhead_sampling_write(const bulkhead_sampling_writer_t *port, const void *payload, uint32_t length,
                                               uint32_t *number)
{
    return bulkhead_sampling_write_stamped(port, payload, length, bulkhead_system_ticks(), number);
}

/* Raises the readers' notify interrupt (PortNotify): a BULKHEAD_OK or BULKHEAD_ERROR_* code. */
static inline uint32_t bulkhead_sampling_notify(const bulkhead_sampling_writer_t *port)
{
    return bulkhead_port_notify(port->channel);
}

static inline uint32_t bulkhead_queue_notify(const bulkhead_queue_sender_t *port)
{
    return bulkhead_port_notify(port->channel);
}

/*
 * Takes the oldest message into `out[0..*length)`: bulkhead_queue_peek, then QueueAck. Returns as
 * bulkhead_queue_peek, or BULKHEAD_PORT_KERNEL with the kernel's BULKHEAD_ERROR_* code in
 * `*kernel_error` (unless NULL) if it refused the QueueAck (the message then stays).
 */
static inline uint32_t bulkhead_queue_receive(const bulkhead_queue_receiver_t *port, void *out, uint32_t capacity,
                                              uint32_t *length, uint32_t *kernel_error)
{
    uint32_t consumed_after = 0U;
    uint32_t status = bulkhead_queue_peek(port, out, capacity, length, &consumed_after);
    uint32_t error;
    if (status != BULKHEAD_PORT_OK) {
        return status;
    }
    error = bulkhead_queue_ack(port->channel, consumed_after);
    if (error != BULKHEAD_OK) {
        if (kernel_error != 0) {
            *kernel_error = error;
        }
        return BULKHEAD_PORT_KERNEL;
    }
    return BULKHEAD_PORT_OK;
}
#endif /* BULKHEAD_HAVE_PORTS */
";
