//! `bulkhead-insn-plugin`: exact guest instruction counts from QEMU, for
//! `cargo xtask bench`.
//!
//! This crate owns two things:
//!
//! * a QEMU TCG plugin (the `cdylib`, `libbulkhead_insn_plugin.so`) that counts
//!   every guest instruction executed on one vCPU (0 unless `vcpu=` says) and writes an event whenever
//!   execution reaches a watched address or crosses into or out of a watched
//!   address range;
//! * the Rust side of its interface (the `rlib`): [`Config`] builds and parses
//!   the plugin's arguments, [`parse_events`] reads its output.
//!
//! It must never change guest behaviour: it only observes (no register or
//! memory access, no time control) and writes nothing but its own output file.
//! It has no opinion on what the counts mean; `cargo xtask bench` decides which
//! addresses to watch and how to turn events into numbers.
//!
//! # Building and loading
//!
//! ```text
//! cargo build -p bulkhead-insn-plugin --release
//! qemu-system-arm -M mps3-an536 ... \
//!     -plugin target/release/libbulkhead_insn_plugin.so,out=/tmp/ev.txt,pc=0x08002138,range=0x08000000-0x08020000
//! ```
//!
//! [`Config::plugin_arg`] builds that `-plugin` argument. The plugin declares
//! QEMU plugin API version 4 (QEMU 10.0; QEMU accepts plugins declaring 2 to
//! 4) and uses only calls that exist unchanged in all of them. It supports the
//! 32-bit `arm` target only.
//!
//! # Arguments
//!
//! QEMU passes everything after the library path as `key=value` strings:
//!
//! | argument | meaning |
//! | --- | --- |
//! | `out=PATH` | required, once: the file to write events to (created or truncated) |
//! | `pc=0xHEX` | any number: an instruction address to watch |
//! | `range=0xLO-0xHI` | up to [`MAX_RANGES`]: an address range `LO..HI` (inclusive-exclusive) to watch; ranges are numbered from 0 in argument order and may overlap |
//! | `vcpu=N` or `vcpu=all` | at most once: the vCPU to count and watch (default 0), or every vCPU in one count |
//! | `profile=0xLO-0xHI` | at most one, at most [`MAX_PROFILE_BYTES`] long: count executions of every instruction in `LO..HI` and write `ADDR COUNT` lines to `<out>.profile` at exit (for finding where a path spends its instructions) |
//!
//! Addresses are hexadecimal with a `0x` prefix. A Thumb instruction's address
//! is its real (even) address, without the interworking bit.
//!
//! # Output
//!
//! One event per line, in execution order, `\n`-terminated; counts decimal,
//! addresses `0x` and eight hex digits:
//!
//! ```text
//! enter <count> <addr> <range>
//! leave <count> <addr> <range>
//! pc <count> <addr>
//! ```
//!
//! `count` is the number of instructions the tracked vCPU executed before the one at
//! `addr` (so the first instruction has count 0, and the difference between
//! two events' counts is the number of instructions executed from the first
//! event's instruction up to, not including, the second's).
//!
//! * `pc`: the watched instruction at `addr` is about to execute.
//! * `enter`: `addr` is the first instruction executed inside range `range`
//!   after one executed outside it (or after none: an initial entry at count 0
//!   is reported too).
//! * `leave`: `addr` is the first instruction executed outside range `range`
//!   after one executed inside it.
//!
//! Several events at the same instruction come in this order: all `leave`s
//! (by ascending range index), then all `enter`s (ascending), then `pc`.
//!
//! Output grows with what is watched: a range around kernel text yields two
//! lines per kernel entry (about 26 bytes each), so a guest looping on
//! hypercalls writes tens of megabytes a second. Keep such runs short.
//!
//! # Exactness
//!
//! Every instruction gets its own execution callback, registered when QEMU
//! translates it and run each time it executes, so a translation block left
//! early (an exception, an interrupt taken between instructions, an I/O access
//! replayed under `-icount`) counts exactly the instructions that ran. An
//! instruction that raises a synchronous exception (SVC, a faulting load,
//! an undefined instruction) counts once, when it is attempted; if it is
//! re-executed after the exception returns, it counts again. `WFI` counts once.
//!
//! The file is buffered and flushed when QEMU exits normally (guest exit
//! through semihosting, `quit`, SIGINT or SIGTERM). If QEMU is killed
//! (SIGKILL) the file may end mid-line; [`parse_events`] rejects that.
//!
//! One vCPU is tracked: vCPU 0, or the one `vcpu=N` names, or all of them in
//! one count (`vcpu=all`). Other vCPUs' instructions are not counted in
//! events; their total is logged at exit through QEMU's log (`-d plugin`).
//!
//! With `-smp 2` QEMU 10 does not attribute every instruction to the vCPU
//! that ran it: with `vcpu=1`, core 1's IRQ vector is never seen and its
//! first instructions after reset are counted on vCPU 0 (seen on
//! `bench-smp.toml`: kernel entries in the middle of functions, on both
//! cores). Per-core counts under `-smp` are therefore not trusted;
//! `vcpu=all` is exact whatever the attribution.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod plugin;

/// One line of the plugin's output. See the crate documentation for the
/// format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A watched instruction is about to execute.
    Pc {
        /// Instructions executed before this one.
        count: u64,
        /// Address of the watched instruction.
        addr: u32,
    },
    /// Execution moved into a watched range.
    Enter {
        /// Instructions executed before `addr`.
        count: u64,
        /// First instruction executed inside the range.
        addr: u32,
        /// Index of the range, in argument order.
        range: usize,
    },
    /// Execution moved out of a watched range.
    Leave {
        /// Instructions executed before `addr`.
        count: u64,
        /// First instruction executed outside the range.
        addr: u32,
        /// Index of the range, in argument order.
        range: usize,
    },
}

impl Event {
    /// Instructions executed before this event's instruction.
    pub fn count(&self) -> u64 {
        match *self {
            Event::Pc { count, .. } | Event::Enter { count, .. } | Event::Leave { count, .. } => count,
        }
    }

    /// Address of this event's instruction.
    pub fn addr(&self) -> u32 {
        match *self {
            Event::Pc { addr, .. } | Event::Enter { addr, .. } | Event::Leave { addr, .. } => addr,
        }
    }
}

/// Formats the event exactly as the plugin writes it (without the newline).
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::Pc { count, addr } => write!(f, "pc {count} {addr:#010x}"),
            Event::Enter { count, addr, range } => write!(f, "enter {count} {addr:#010x} {range}"),
            Event::Leave { count, addr, range } => write!(f, "leave {count} {addr:#010x} {range}"),
        }
    }
}

/// Parses the plugin's output file.
///
/// Every line must be a well-formed event, terminated by `\n`; empty lines are
/// skipped. A last line without its `\n` means the file was cut short (QEMU
/// was killed before the plugin flushed it) and is an error. Errors name the
/// line number (from 1).
pub fn parse_events(text: &str) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    let mut rest = text;
    let mut number = 0usize;
    while !rest.is_empty() {
        number += 1;
        let Some((line, tail)) = rest.split_once('\n') else {
            return Err(format!("line {number}: `{rest}` has no line end: the output was cut short"));
        };
        rest = tail;
        if line.is_empty() {
            continue;
        }
        events.push(parse_line(line).map_err(|e| format!("line {number}: `{line}`: {e}"))?);
    }
    Ok(events)
}

fn parse_line(line: &str) -> Result<Event, String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let count = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| format!("`{s}` is not a decimal instruction count"))
    };
    match fields.as_slice() {
        ["pc", c, a] => Ok(Event::Pc { count: count(c)?, addr: parse_addr(a)? }),
        [kind @ ("enter" | "leave"), c, a, r] => {
            let count = count(c)?;
            let addr = parse_addr(a)?;
            let range = r
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| r.parse::<usize>().ok())
                .flatten()
                .ok_or_else(|| format!("`{r}` is not a decimal range index"))?;
            Ok(if *kind == "enter" { Event::Enter { count, addr, range } } else { Event::Leave { count, addr, range } })
        }
        ["pc", ..] => Err("expected `pc <count> <addr>`".into()),
        ["enter" | "leave", ..] => Err("expected `enter|leave <count> <addr> <range>`".into()),
        [kind, ..] => Err(format!("unknown event `{kind}`")),
        [] => Err("empty event".into()),
    }
}

/// Parses `0x` followed by one to eight hex digits.
fn parse_addr(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0x").ok_or_else(|| format!("address `{s}` must start with 0x"))?;
    if digits.is_empty() || digits.starts_with('+') {
        return Err(format!("`{s}` is not a hex address"));
    }
    u32::from_str_radix(digits, 16).map_err(|_| format!("`{s}` is not a 32-bit hex address"))
}

/// [`Config::vcpu`] for `vcpu=all`.
pub const ALL_VCPUS: u32 = u32::MAX;

/// The most ranges one plugin instance watches (membership is a bitmask).
pub const MAX_RANGES: usize = 31;

/// Longest `profile=` range.
pub const MAX_PROFILE_BYTES: u32 = 4 << 20;

/// The plugin's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// File the events go to (`out=`).
    pub out: PathBuf,
    /// Watched instruction addresses (`pc=`), in argument order.
    pub pcs: Vec<u32>,
    /// Watched address ranges (`range=`); the index here is the range index
    /// in `enter` and `leave` events.
    pub ranges: Vec<Range<u32>>,
    /// Addresses to count every execution of (`profile=`).
    pub profile: Option<Range<u32>>,
    /// The vCPU (core) whose instructions are counted and watched (`vcpu=`,
    /// default 0), or [`ALL_VCPUS`] (`vcpu=all`): every vCPU's, in one count,
    /// which under `-icount` is virtual time while any core runs.
    pub vcpu: u32,
}

impl Config {
    /// Parses the plugin's `key=value` arguments, as QEMU passes them.
    pub fn parse<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Config, String> {
        let mut out = None;
        let mut pcs = Vec::new();
        let mut ranges = Vec::new();
        let mut profile = None;
        let mut vcpu = 0;
        for arg in args {
            let (key, value) = arg.split_once('=').ok_or_else(|| format!("argument `{arg}` is not key=value"))?;
            match key {
                "out" => {
                    if value.is_empty() {
                        return Err("out= needs a file path".into());
                    }
                    if out.replace(PathBuf::from(value)).is_some() {
                        return Err("out= given more than once".into());
                    }
                }
                "pc" => pcs.push(parse_addr(value).map_err(|e| format!("pc={value}: {e}"))?),
                "range" => {
                    let (lo, hi) = value.split_once('-').ok_or_else(|| format!("range={value}: expected 0xLO-0xHI"))?;
                    let lo = parse_addr(lo).map_err(|e| format!("range={value}: {e}"))?;
                    let hi = parse_addr(hi).map_err(|e| format!("range={value}: {e}"))?;
                    if lo >= hi {
                        return Err(format!("range={value}: empty range (LO must be below HI)"));
                    }
                    ranges.push(lo..hi);
                }
                "profile" => {
                    let (lo, hi) =
                        value.split_once('-').ok_or_else(|| format!("profile={value}: expected 0xLO-0xHI"))?;
                    let lo = parse_addr(lo).map_err(|e| format!("profile={value}: {e}"))?;
                    let hi = parse_addr(hi).map_err(|e| format!("profile={value}: {e}"))?;
                    if lo >= hi || hi - lo > MAX_PROFILE_BYTES {
                        return Err(format!(
                            "profile={value}: LO must be below HI, at most {MAX_PROFILE_BYTES} bytes apart"
                        ));
                    }
                    if profile.replace(lo..hi).is_some() {
                        return Err("profile= given more than once".into());
                    }
                }
                "vcpu" if value == "all" => vcpu = ALL_VCPUS,
                "vcpu" => {
                    vcpu = value
                        .parse()
                        .ok()
                        .filter(|n| *n != ALL_VCPUS)
                        .ok_or_else(|| format!("vcpu={value}: expected a vCPU number or `all`"))?
                }
                _ => {
                    return Err(format!("unknown argument `{key}` (expected out, pc, range, profile or vcpu)"));
                }
            }
        }
        if ranges.len() > MAX_RANGES {
            return Err(format!("{} ranges given, at most {MAX_RANGES} are supported", ranges.len()));
        }
        let out = out.ok_or("missing out=PATH")?;
        Ok(Config { out, pcs, ranges, profile, vcpu })
    }

    /// The argument for QEMU's `-plugin` option that loads `library` (the
    /// built `libbulkhead_insn_plugin.so`) with this configuration.
    ///
    /// Commas in paths are doubled, as QEMU's option syntax requires.
    pub fn plugin_arg(&self, library: &Path) -> String {
        let escape = |p: &Path| p.to_string_lossy().replace(',', ",,");
        let mut arg = format!("{},out={}", escape(library), escape(&self.out));
        for pc in &self.pcs {
            arg.push_str(&format!(",pc={pc:#010x}"));
        }
        for r in &self.ranges {
            arg.push_str(&format!(",range={:#010x}-{:#010x}", r.start, r.end));
        }
        if let Some(r) = &self.profile {
            arg.push_str(&format!(",profile={:#010x}-{:#010x}", r.start, r.end));
        }
        match self.vcpu {
            0 => {}
            ALL_VCPUS => arg.push_str(",vcpu=all"),
            n => arg.push_str(&format!(",vcpu={n}")),
        }
        arg
    }

    /// Bitmask of the ranges containing `addr` (bit `i` for range `i`).
    fn range_mask(&self, addr: u32) -> u32 {
        self.ranges.iter().enumerate().filter(|(_, r)| r.contains(&addr)).fold(0, |mask, (i, _)| mask | 1 << i)
    }
}

/// The events for the instruction at `addr`, about to execute after `count`
/// others, given the range bitmasks of the previous instruction (`before`) and
/// this one (`now`), in output order.
fn events_at(count: u64, addr: u32, before: u32, now: u32, watched: bool, mut emit: impl FnMut(Event)) {
    let left = before & !now;
    let entered = now & !before;
    for range in bits(left) {
        emit(Event::Leave { count, addr, range });
    }
    for range in bits(entered) {
        emit(Event::Enter { count, addr, range });
    }
    if watched {
        emit(Event::Pc { count, addr });
    }
}

/// Indices of the set bits of `mask`, ascending.
fn bits(mut mask: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let i = mask.trailing_zeros();
        mask &= mask - 1;
        Some(i as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_event_kind() {
        let text = "enter 0 0x08000000 0\npc 12 0x08002138\nleave 40 0x08020010 0\n";
        assert_eq!(
            parse_events(text).unwrap(),
            vec![
                Event::Enter { count: 0, addr: 0x0800_0000, range: 0 },
                Event::Pc { count: 12, addr: 0x0800_2138 },
                Event::Leave { count: 40, addr: 0x0802_0010, range: 0 },
            ]
        );
    }

    #[test]
    fn empty_output_has_no_events() {
        assert_eq!(parse_events("").unwrap(), vec![]);
        assert_eq!(parse_events("\n\n").unwrap(), vec![]);
    }

    #[test]
    fn display_round_trips() {
        let events = [
            Event::Pc { count: u64::MAX, addr: u32::MAX },
            Event::Enter { count: 7, addr: 0x10, range: 30 },
            Event::Leave { count: 8, addr: 0, range: 0 },
        ];
        let text: String = events.iter().map(|e| format!("{e}\n")).collect();
        assert_eq!(text, "pc 18446744073709551615 0xffffffff\nenter 7 0x00000010 30\nleave 8 0x00000000 0\n");
        assert_eq!(parse_events(&text).unwrap(), events);
    }

    #[test]
    fn the_tracked_vcpu_round_trips_through_the_argument() {
        let config = Config::parse(["out=/tmp/e", "pc=0x10", "vcpu=1"]).unwrap();
        assert_eq!(config.vcpu, 1);
        let arg = config.plugin_arg(Path::new("/p.so"));
        assert!(arg.ends_with(",vcpu=1"), "{arg}");
        let back = Config::parse(arg.split(',').skip(1)).unwrap();
        assert_eq!(back, config);
        assert_eq!(Config::parse(["out=/tmp/e"]).unwrap().vcpu, 0);
        assert!(Config::parse(["out=/tmp/e", "vcpu=x"]).is_err());
        let all = Config::parse(["out=/tmp/e", "vcpu=all"]).unwrap();
        assert_eq!(all.vcpu, ALL_VCPUS);
        assert!(all.plugin_arg(Path::new("/p.so")).ends_with(",vcpu=all"));
    }

    #[test]
    fn rejects_cut_short_output() {
        let err = parse_events("pc 1 0x08000000\npc 2 0x0800").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(err.contains("cut short"), "{err}");
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            "pc 1\n",
            "pc 1 0x10 0\n",
            "pc -1 0x10\n",
            "pc +1 0x10\n",
            "enter 1 0x10 +0\n",
            "pc 1 10\n",
            "pc 1 0x\n",
            "pc 1 0x+10\n",
            "pc 1 0x100000000\n",
            "enter 1 0x10\n",
            "leave 1 0x10 x\n",
            "jump 1 0x10\n",
            "pc  1 0x10\n",
            "pc 1 0x10 \n",
        ] {
            assert!(parse_events(bad).is_err(), "{bad:?} should not parse");
        }
        let err = parse_events("pc 1 0x10\nfoo\n").unwrap_err();
        assert!(err.starts_with("line 2: `foo`: unknown event"), "{err}");
    }

    #[test]
    fn accessors() {
        let e = Event::Leave { count: 5, addr: 0x20, range: 1 };
        assert_eq!((e.count(), e.addr()), (5, 0x20));
    }

    #[test]
    fn parses_arguments() {
        let c = Config::parse([
            "range=0x08000000-0x08020000",
            "pc=0x08002138",
            "out=/tmp/ev.txt",
            "pc=0x080001a8",
            "range=0x08000184-0x080001a8",
        ])
        .unwrap();
        assert_eq!(c.out, PathBuf::from("/tmp/ev.txt"));
        assert_eq!(c.pcs, vec![0x0800_2138, 0x0800_01a8]);
        assert_eq!(c.ranges, vec![0x0800_0000..0x0802_0000, 0x0800_0184..0x0800_01a8]);
        assert_eq!(c.range_mask(0x0800_0184), 0b11);
        assert_eq!(c.range_mask(0x0800_01a8), 0b01);
        assert_eq!(c.range_mask(0x0802_0000), 0);
        assert_eq!(c.range_mask(0x07ff_fffe), 0);
    }

    #[test]
    fn rejects_bad_arguments() {
        for bad in [
            &["pc=0x10"][..],
            &["out="],
            &["out=a", "out=b"],
            &["out=a", "pc=16"],
            &["out=a", "range=0x10"],
            &["out=a", "range=0x20-0x10"],
            &["out=a", "range=0x10-0x10"],
            &["out=a", "verbose"],
            &["out=a", "trace=on"],
        ] {
            assert!(Config::parse(bad.iter().copied()).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_RANGES).map(|i| format!("range={:#x}-{:#x}", i * 4, i * 4 + 4)).collect();
        let args = std::iter::once("out=a").chain(many.iter().map(String::as_str));
        assert!(Config::parse(args).is_err());
    }

    #[test]
    fn plugin_arg_round_trips() {
        let c = Config {
            out: PathBuf::from("/tmp/a,b.txt"),
            pcs: vec![0x0800_2138],
            ranges: vec![0x0800_0000..0x0802_0000, 0x0800_0184..0x0800_01a8],
            profile: Some(0x0802_0000..0x0803_0000),
            vcpu: 0,
        };
        let arg = c.plugin_arg(Path::new("/x/libbulkhead_insn_plugin.so"));
        assert_eq!(
            arg,
            "/x/libbulkhead_insn_plugin.so,out=/tmp/a,,b.txt,pc=0x08002138,\
             range=0x08000000-0x08020000,range=0x08000184-0x080001a8,profile=0x08020000-0x08030000"
        );
        // QEMU splits on single commas and turns ",," back into ",".
        let parts: Vec<String> = arg.replace(",,", "\0").split(',').skip(1).map(|p| p.replace('\0', ",")).collect();
        assert_eq!(Config::parse(parts.iter().map(String::as_str)).unwrap(), c);
    }

    fn collect(before: u32, now: u32, watched: bool) -> Vec<Event> {
        let mut v = Vec::new();
        events_at(9, 0x40, before, now, watched, |e| v.push(e));
        v
    }

    #[test]
    fn transitions_leave_then_enter_then_pc() {
        assert_eq!(collect(0b01, 0b01, false), vec![]);
        assert_eq!(
            collect(0b011, 0b110, true),
            vec![
                Event::Leave { count: 9, addr: 0x40, range: 0 },
                Event::Enter { count: 9, addr: 0x40, range: 2 },
                Event::Pc { count: 9, addr: 0x40 },
            ]
        );
        assert_eq!(bits(1 << 30 | 0b101).collect::<Vec<_>>(), vec![0, 2, 30]);
    }
}
