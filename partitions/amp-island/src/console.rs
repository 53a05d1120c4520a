//! The island's console on the `tty` service: lines in, answers out.
//!
//! Input arrives as whatever bytes the other side's tty sends; complete
//! lines (ended by CR or LF) are commands. Output is collected into a small
//! buffer and sent as one message per 496 bytes.

use bulkhead_virtio::device::Stats;
use bulkhead_virtio::rpmsg::MAX_PAYLOAD;
use core::fmt::Write;

/// What `status` reports besides the link counters.
pub struct Facts {
    /// Link counters.
    pub stats: Stats,
    /// Times the kernel restarted the island.
    pub restarts: u32,
}

/// A console line editor.
pub struct Console {
    line: [u8; 128],
    length: usize,
    overflow: bool,
    /// `crash` is a command (a demo build only).
    demo: bool,
}

/// Output of one batch of input.
pub struct Output {
    bytes: [u8; 2 * MAX_PAYLOAD],
    length: usize,
}

impl Output {
    /// Empty.
    pub fn new() -> Output {
        Output { bytes: [0; 2 * MAX_PAYLOAD], length: 0 }
    }

    /// The output, in message-sized pieces.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes[..self.length].chunks(MAX_PAYLOAD)
    }
}

impl Write for Output {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let room = self.bytes.len() - self.length;
        let take = text.len().min(room);
        self.bytes[self.length..self.length + take].copy_from_slice(&text.as_bytes()[..take]);
        self.length += take;
        Ok(())
    }
}

impl Console {
    /// An empty line; with `demo`, the `crash` command too.
    pub const fn new(demo: bool) -> Console {
        Console { line: [0; 128], length: 0, overflow: false, demo }
    }

    /// Takes typed bytes; answers every completed line into `out`.
    pub fn input(&mut self, bytes: &[u8], facts: Facts, out: &mut Output) {
        for &byte in bytes {
            match byte {
                b'\r' | b'\n' => {
                    if self.length > 0 || self.overflow {
                        self.command(&facts, out);
                    }
                    self.length = 0;
                    self.overflow = false;
                }
                _ if self.length < self.line.len() => {
                    self.line[self.length] = byte;
                    self.length += 1;
                }
                _ => self.overflow = true,
            }
        }
    }

    fn command(&mut self, facts: &Facts, out: &mut Output) {
        if self.overflow {
            let _ = write!(out, "line too long (at most {} bytes)\r\n", self.line.len());
            return;
        }
        let line = core::str::from_utf8(&self.line[..self.length]).unwrap_or("");
        let (word, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        match word {
            "help" if self.demo => {
                let _ = write!(
                    out,
                    "commands: help, status, echo TEXT, crash (fault on purpose; the kernel restarts the island)\r\n"
                );
            }
            "help" => {
                let _ = write!(out, "commands: help, status, echo TEXT\r\n");
            }
            "status" => {
                let time = bulkhead_sdk::hypercall::partition_time();
                let _ = write!(
                    out,
                    "island: {} us of partition time, {} restarts, {} handshakes, {} received, {} sent, {} dropped\r\n",
                    time.micros(),
                    facts.restarts,
                    facts.stats.handshakes,
                    facts.stats.received,
                    facts.stats.sent,
                    facts.stats.dropped
                );
            }
            "echo" => {
                let _ = write!(out, "{rest}\r\n");
            }
            // Only where the description says this is a demo: anywhere
            // else it would let the less trusted side restart the island.
            "crash" if self.demo => {
                bulkhead_sdk::println!("island: crashing on request from the console");
                // SAFETY: deliberately touches memory the partition was not
                // given (address 0: the kernel's): a stage-2 fault, which
                // the kernel answers with this partition's fault policy.
                unsafe { core::ptr::read_volatile(core::ptr::null::<u32>()) };
            }
            "" => {}
            other => {
                let _ = write!(out, "unknown command `{other}`; try help\r\n");
            }
        }
    }
}
