//! What foreign toolchains get: `memory.ld`, `c-partition.ld`, `partition.h`
//! and `bulkhead.h`, checked against the model and the ABI crate, never
//! against a copy of the output.
//!
//! - `partition.h` and `memory.ld` are rendered for every partition of every
//!   description in the tree (the demo first) and of one written here with
//!   a shared region and channels, which none in the tree has; each define
//!   and symbol
//!   must be one the model predicts, with the model's value, and every
//!   predicted one must be there. A name that two facts would share is
//!   refused.
//! - `memory.ld` and `c-partition.ld` link a small ARM object with LLVM lld
//!   (rustup's `rust-lld`, always present) and, when installed, GNU ld; the
//!   linked symbols must hold the model's values and the generator's image
//!   check must accept the result. A `.bss` that runs into the stacks fails
//!   the link with the script's message.
//! - When `arm-none-eabi-gcc` is installed, a C guest including both headers
//!   is compiled (`-O2 -Wall -Wextra -Werror`) with `_Static_assert`s of the
//!   model's values, linked with both linkers and checked like a built
//!   partition, and `bulkhead.h` is compiled for A32 and T32 as C99 and
//!   C++17. Without gcc these tests say why they skipped.
//! - The checked-in `kernel/abi/include/bulkhead.h` equals the rendered one.

use bulkhead_abi::{Call, El1Exception, Error, OperandKind};
use bulkhead_sysgen::emit::{self, foreign};
use bulkhead_sysgen::model::{ChannelKind, Partition, PartitionRegion, RegionKind, System};
use bulkhead_sysgen::{image, load};
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const VIRTUAL_TIMER: u64 = bulkhead_kernel_core::vgic::VIRTUAL_TIMER as u64;

/// The mode stacks in `c-partition.ld`, as `linker/README.md` documents
/// them: SVC's at the top of the data region (the kernel's entry `sp`), the
/// main stack (SYS) lowest.
const STACKS_FROM_THE_TOP: [&str; 6] = ["svc", "irq", "abt", "und", "fiq", "sys"];

/// The flags a C guest for the AN536's Cortex-R52 (with its 32 D registers
/// and Advanced SIMD) is built with.
const GCC_FLAGS: &[&str] = &[
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-mcpu=cortex-r52",
    "-mfloat-abi=hard",
    "-mfpu=neon-fp-armv8",
    "-ffreestanding",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load_system(path: &Path) -> System {
    load(path, &workspace().join("boards"))
        .unwrap_or_else(|problems| panic!("{} rejected: {:?}", path.display(), problems.0))
}

/// A description with what no description in the tree has (a shared
/// region, channels) and the other kinds of fact side by side.
const EVERY_KIND_OF_FACT: &str = r#"# Every kind of fact the foreign files carry: private and shared regions,
# a device, an explicit interrupt, two windows for one partition, a
# sampling channel that notifies and a queuing one that does not, a
# watchdog and a monitor that is notified.
[system]
name = "foreign-facts"
board = "mps3-an536"

[[partition]]
name = "writer"
image = "demo-clock"
fault_policy = "restart"
stack_size = "2K"
exception_stack_size = 256
code = { size = "64K" }
data = { size = "16K" }
regions = [{ name = "log-book", size = "4K", memory = "ddr", access = "rw" }]
devices = ["uart4"]
interrupts = [64]

[partition.health]
watchdog = "1ms"

[[partition]]
name = "reader"
image = "demo-clock"
fault_policy = "halt"
code = { size = "32K" }
data = { size = "16K" }

[[shared]]
name = "mail-box"
size = "1K"
memory = "bram"
access = { writer = "rw", reader = "r" }

[[channel]]
name = "speed-log"
kind = "sampling"
writer = "writer"
readers = ["reader"]
message_size = 60
refresh = "1ms"
notify = true

[[channel]]
name = "acks"
kind = "queuing"
writer = "reader"
readers = ["writer"]
message_size = 8
depth = 4
memory = "ddr"

[monitor]
partition = "reader"
notify = true

[[schedule]]
major_frame = "10ms"
windows = [
    { partition = "writer", duration = "2ms" },
    { partition = "reader", duration = "3ms" },
    { partition = "writer", duration = "1ms" },
]
"#;

/// The demo first, then every other description in the tree, then
/// [`EVERY_KIND_OF_FACT`].
fn descriptions() -> Vec<PathBuf> {
    // Written once: tests run in parallel and read it.
    static EVERY_KIND: OnceLock<PathBuf> = OnceLock::new();
    let every_kind = EVERY_KIND.get_or_init(|| {
        let path = scratch("descriptions").join("every-kind-of-fact.toml");
        std::fs::write(&path, EVERY_KIND_OF_FACT).expect("a description");
        path
    });
    let mut found = vec![workspace().join("partitions/systems/demo.toml")];
    for directory in ["partitions/systems", "tests/systems"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join(directory))
            .expect("a systems directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml") && !path.ends_with("demo.toml"))
            .collect();
        files.sort();
        found.extend(files);
    }
    found.push(every_kind.clone());
    found
}

/// A fresh directory under cargo's temporary directory for tests, emptied
/// first (each test uses its own `what`).
fn scratch(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("foreign-{what}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A name as the scheme promises it: upper case, `-` as `_`.
fn upper(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// The stem the scheme promises for a memory region; `None` for a device.
fn promised_stem(region: &PartitionRegion) -> Option<String> {
    match region.kind {
        RegionKind::Code => Some("CODE".into()),
        RegionKind::Data => Some("DATA".into()),
        RegionKind::Private => Some(format!("REGION_{}", upper(&region.name))),
        RegionKind::Shared(_) => Some(format!("SHARED_{}", upper(&region.name))),
        RegionKind::Virtio(_) => Some(format!("VIRTIO_{}", upper(&region.name))),
        RegionKind::Device(_) => None,
    }
}

/// A define's value as the model predicts it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fact {
    /// An unsigned number (`U`).
    Number(u64),
    /// A 64-bit unsigned number (`ULL`).
    Wide(u64),
    /// A string literal.
    Text(String),
    /// A brace initialiser of numbers.
    List(Vec<u64>),
}

fn data_end(partition: &Partition) -> u64 {
    partition.data().span.base as u64 + partition.data().span.size as u64
}

fn stack_sizes(partition: &Partition) -> [(&'static str, u64); 6] {
    let exception = partition.exception_stack_size as u64;
    [
        ("sys", partition.stack_size as u64),
        ("svc", exception),
        ("abt", exception),
        ("und", exception),
        ("irq", exception),
        ("fiq", bulkhead_sysgen::validate::FIQ_STACK as u64),
    ]
}

/// Every define `partition.h` must hold for partition `index`, from the model.
fn promised_defines(system: &System, index: usize) -> BTreeMap<String, Fact> {
    let partition = &system.partitions[index];
    let board = &system.board;
    let mut facts = BTreeMap::new();
    let mut fact = |name: String, value: Fact| assert!(facts.insert(format!("BULKHEAD_{name}"), value).is_none());
    fact(format!("PARTITION_{}_H", upper(&partition.name)), Fact::Text(String::new()));
    fact("SYSTEM_NAME".into(), Fact::Text(system.name.clone()));
    fact("PARTITION_NAME".into(), Fact::Text(partition.name.clone()));
    fact("PARTITION_ID".into(), Fact::Number(index as u64));
    fact("PARTITION_COUNT".into(), Fact::Number(system.partitions.len() as u64));
    fact("CORE".into(), Fact::Number(partition.core as u64));
    for (id, other) in system.partitions.iter().enumerate() {
        fact(format!("PARTITION_{}_ID", upper(&other.name)), Fact::Number(id as u64));
    }
    fact("WATCHDOG_TICKS".into(), Fact::Wide(partition.health.watchdog));
    if let Some(monitor) = system.monitor {
        fact("MONITOR_ID".into(), Fact::Number(monitor.partition as u64));
        if let Some(sgi) = monitor.notify {
            fact("MONITOR_NOTIFY_SGI".into(), Fact::Number(sgi as u64));
        }
    }
    fact("TIMER_HZ".into(), Fact::Number(board.timer_hz as u64));
    fact("VIRTUAL_TIMER_INTID".into(), Fact::Number(VIRTUAL_TIMER));
    let schedule = system.schedules.iter().find(|s| s.core == partition.core).expect("the partition's schedule");
    fact("MAJOR_FRAME_TICKS".into(), Fact::Wide(schedule.major_frame));
    let windows: Vec<_> = schedule.windows.iter().filter(|w| w.partition == Some(index)).collect();
    fact("WINDOW_COUNT".into(), Fact::Number(windows.len() as u64));
    for (n, window) in windows.iter().enumerate() {
        fact(format!("WINDOW_{n}_OFFSET"), Fact::Wide(window.offset));
        fact(format!("WINDOW_{n}_DURATION"), Fact::Wide(window.duration));
    }
    for region in &partition.regions {
        match region.kind {
            RegionKind::Device(device) => {
                let device = &board.devices[device];
                let stem = format!("DEVICE_{}", upper(&device.name));
                fact(format!("{stem}_BASE"), Fact::Number(device.base as u64));
                fact(format!("{stem}_SIZE"), Fact::Number(device.size as u64));
                fact(format!("{stem}_INTERRUPT_COUNT"), Fact::Number(device.interrupts.len() as u64));
                for (n, intid) in device.interrupts.iter().enumerate() {
                    fact(format!("{stem}_INTERRUPT_{n}"), Fact::Number(*intid as u64));
                }
            }
            _ => {
                let stem = promised_stem(region).expect("memory");
                fact(format!("{stem}_BASE"), Fact::Number(region.span.base as u64));
                fact(format!("{stem}_SIZE"), Fact::Number(region.span.size as u64));
            }
        }
    }
    fact("STACK_TOP".into(), Fact::Number(data_end(partition)));
    for (mode, size) in stack_sizes(partition) {
        fact(format!("{}_STACK_SIZE", mode.to_uppercase()), Fact::Number(size));
    }
    fact("GICD_BASE".into(), Fact::Number(board.gic.distributor as u64));
    // Its own core's redistributor: one frame pair (RD + SGI, 64 KiB each)
    // per core, computed here from the board's base and stride.
    let own_redistributor =
        board.gic.redistributor as u64 + partition.core as u64 * board.gic.redistributor_stride as u64;
    fact("GICR_BASE".into(), Fact::Number(own_redistributor));
    let mut owned: Vec<u64> = partition.interrupts.iter().map(|i| *i as u64).collect();
    owned.push(VIRTUAL_TIMER);
    owned.sort_unstable();
    fact("INTERRUPT_COUNT".into(), Fact::Number(owned.len() as u64));
    fact("INTERRUPTS".into(), Fact::List(owned));
    for link in system.virtio.iter().filter(|l| l.partition == index) {
        let stem = format!("VIRTIO_{}", upper(&link.name));
        fact(format!("{stem}_REMOTE_BASE"), Fact::Wide(link.remote_base));
        fact(format!("{stem}_RESOURCE_TABLE_OFFSET"), Fact::Number(link.table as u64));
        for (n, vring) in link.vrings.iter().enumerate() {
            if let Some(offset) = vring.offset {
                fact(format!("{stem}_VRING{n}_OFFSET"), Fact::Number(offset as u64));
            }
            fact(format!("{stem}_VRING{n}_NUM"), Fact::Number(vring.num as u64));
            fact(format!("{stem}_VRING{n}_ALIGN"), Fact::Number(vring.align as u64));
        }
        fact(format!("{stem}_SERVICE_COUNT"), Fact::Number(link.services.len() as u64));
        for (n, service) in link.services.iter().enumerate() {
            fact(format!("{stem}_SERVICE_{n}_KIND"), Fact::Text(service.kind.name().into()));
            fact(format!("{stem}_SERVICE_{n}_NAME"), Fact::Text(service.name.clone()));
            fact(format!("{stem}_SERVICE_{n}_ADDRESS"), Fact::Number(service.address as u64));
        }
        let devices = &board.devices;
        fact(format!("{stem}_MAILBOX_DRIVER"), Fact::Text(link.mailbox.driver.name().into()));
        fact(format!("{stem}_MAILBOX_BASE"), Fact::Number(devices[link.mailbox.device].base as u64));
        fact(format!("{stem}_MAILBOX_SEND_BASE"), Fact::Number(devices[link.mailbox.send_device].base as u64));
        fact(format!("{stem}_MAILBOX_CHANNEL"), Fact::Number(link.mailbox.channel as u64));
        fact(format!("{stem}_MAILBOX_INTERRUPT"), Fact::Number(link.mailbox.interrupt as u64));
    }
    let used: Vec<_> = system
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.writer == index || c.readers.iter().any(|r| r.partition == index))
        .collect();
    fact("CHANNEL_COUNT".into(), Fact::Number(used.len() as u64));
    for (id, channel) in used {
        let stem = format!("CHANNEL_{}", upper(&channel.name));
        fact(format!("{stem}_ID"), Fact::Number(id as u64));
        fact(format!("{stem}_BASE"), Fact::Number(channel.window.base as u64));
        fact(format!("{stem}_SIZE"), Fact::Number(channel.size as u64));
        match channel.kind {
            ChannelKind::Sampling => {
                fact(format!("{stem}_SAMPLING"), Fact::Number(1));
                fact(format!("{stem}_REFRESH_TICKS"), Fact::Wide(channel.refresh.unwrap_or(0)));
            }
            ChannelKind::Queuing { depth } => {
                fact(format!("{stem}_QUEUING"), Fact::Number(1));
                fact(format!("{stem}_DEPTH"), Fact::Number(depth as u64));
            }
        }
        fact(format!("{stem}_MESSAGE_SIZE"), Fact::Number(channel.message_size as u64));
        fact(format!("{stem}_READERS"), Fact::Number(channel.readers.len() as u64));
        match channel.readers.iter().position(|r| r.partition == index) {
            None => fact(format!("{stem}_WRITER"), Fact::Number(1)),
            Some(position) => {
                fact(format!("{stem}_READER_INDEX"), Fact::Number(position as u64));
                if let Some(sgi) = channel.readers[position].notify {
                    fact(format!("{stem}_NOTIFY_INTID"), Fact::Number(sgi as u64));
                }
            }
        }
        fact(format!("{stem}_NOTIFIES"), Fact::Number(channel.notify as u64));
    }
    facts
}

fn parse_number(text: &str) -> Option<Fact> {
    let (digits, wide) = match text.strip_suffix("ULL") {
        Some(digits) => (digits, true),
        None => (text.strip_suffix('U')?, false),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if wide { Fact::Wide(value) } else { Fact::Number(value) })
}

/// The `#define`s of a header, parsed back into facts (the include guard,
/// which has no value, as empty text).
fn parse_defines(header: &str) -> BTreeMap<String, Fact> {
    let mut defines = BTreeMap::new();
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define ") else { continue };
        let rest = rest.split(" /*").next().expect("text before any comment");
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        if name.contains('(') {
            // A function-like macro (bulkhead.h's port fence and openers):
            // code, not a fact.
            continue;
        }
        let fact = if value.is_empty() {
            Fact::Text(String::new())
        } else if let Some(text) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Fact::Text(text.to_owned())
        } else if let Some(items) = value.strip_prefix("{ ").and_then(|v| v.strip_suffix(" }")) {
            Fact::List(
                items
                    .split(", ")
                    .map(|item| match parse_number(item) {
                        Some(Fact::Number(n)) => n,
                        other => panic!("`{item}` in `{name}` is not a U number: {other:?}"),
                    })
                    .collect(),
            )
        } else {
            parse_number(value).unwrap_or_else(|| panic!("`{name}` has value `{value}`, not a C unsigned literal"))
        };
        assert!(defines.insert(name.to_owned(), fact).is_none(), "`{name}` defined twice");
    }
    defines
}

/// Every `PROVIDE`d symbol `memory.ld` must hold, from the model.
fn promised_symbols(partition: &Partition) -> BTreeMap<String, u64> {
    let mut symbols = BTreeMap::new();
    for region in &partition.regions {
        let Some(stem) = promised_stem(region) else { continue };
        let symbol = format!("__bulkhead_{}", stem.to_lowercase());
        let (base, size) = (region.span.base as u64, region.span.size as u64);
        symbols.insert(format!("{symbol}_start"), base);
        symbols.insert(format!("{symbol}_end"), base + size);
        symbols.insert(format!("{symbol}_size"), size);
    }
    symbols.insert("__bulkhead_stack_top".into(), data_end(partition));
    for (mode, size) in stack_sizes(partition) {
        symbols.insert(format!("__bulkhead_{mode}_stack_size"), size);
    }
    symbols
}

/// The `MEMORY` regions `memory.ld` must declare: every region but devices,
/// with the names `memory.x` gives them.
fn promised_memory(partition: &Partition) -> BTreeMap<String, (u64, u64)> {
    let mut memory = BTreeMap::new();
    for region in &partition.regions {
        let Some(stem) = promised_stem(region) else { continue };
        let name =
            if matches!(region.kind, RegionKind::Code | RegionKind::Data) { format!("PARTITION_{stem}") } else { stem };
        memory.insert(name, (region.span.base as u64, region.span.size as u64));
    }
    memory
}

fn parse_hex(text: &str) -> u64 {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("`{text}` is not hexadecimal")),
        None => text.parse().unwrap_or_else(|_| panic!("`{text}` is not a number")),
    }
}

#[test]
fn partition_h_states_exactly_what_the_model_holds() {
    for path in descriptions() {
        let system = load_system(&path);
        for (index, partition) in system.partitions.iter().enumerate() {
            let header = foreign::partition_h(&system, index).expect("no name clash");
            let guard = format!("BULKHEAD_PARTITION_{}_H", upper(&partition.name));
            assert!(
                header.contains(&format!("#ifndef {guard}\n#define {guard}\n")),
                "{}: include guard",
                path.display()
            );
            assert!(header.trim_end().ends_with(&format!("#endif /* {guard} */")));
            assert!(!header.contains("*/ */") && header.matches("/*").count() == header.matches("*/").count());
            assert_eq!(
                parse_defines(&header),
                promised_defines(&system, index),
                "{}: partition `{}`'s partition.h",
                path.display(),
                partition.name
            );
        }
    }
}

#[test]
fn memory_ld_declares_the_regions_and_symbols_of_the_model() {
    for path in descriptions() {
        let system = load_system(&path);
        for (index, partition) in system.partitions.iter().enumerate() {
            let script = foreign::memory_ld(&system, index).expect("no name clash");
            let mut memory = BTreeMap::new();
            let mut symbols = BTreeMap::new();
            for line in script.lines().map(str::trim) {
                if let Some((name, rest)) = line.split_once(" : ORIGIN = ") {
                    let (origin, length) = rest.split_once(", LENGTH = ").expect("ORIGIN, LENGTH");
                    let length = length.split(" /*").next().expect("a length");
                    memory.insert(name.to_owned(), (parse_hex(origin), parse_hex(length)));
                } else if let Some(provide) = line.strip_prefix("PROVIDE(").and_then(|l| l.strip_suffix(");")) {
                    let (name, value) = provide.split_once(" = ").expect("name = value");
                    symbols.insert(name.to_owned(), parse_hex(value));
                }
            }
            let what = format!("{}: partition `{}`", path.display(), partition.name);
            assert_eq!(memory, promised_memory(partition), "{what}: MEMORY");
            assert_eq!(symbols, promised_symbols(partition), "{what}: PROVIDEd symbols");
            let memory_x = emit::partition_memory_x(&system, index);
            for name in promised_memory(partition).keys() {
                assert!(memory_x.contains(&format!("    {name} : ")), "{what}: memory.x names `{name}` too");
            }
        }
    }
}

#[test]
fn the_checked_in_bulkhead_h_is_the_rendered_one() {
    let path = workspace().join("kernel/abi/include/bulkhead.h");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == foreign::bulkhead_h(),
        "{} differs from what kernel/abi says: regenerate it with\n    \
         cargo run -p bulkhead-sysgen -- abi-header --out kernel/abi/include/bulkhead.h",
        path.display()
    );
}

#[test]
fn bulkhead_h_defines_every_value_and_wraps_every_call_of_the_abi() {
    let header = foreign::bulkhead_h();
    let defines = parse_defines(&header);
    let number = |name: &str| match defines.get(name) {
        Some(Fact::Number(value)) => *value,
        other => panic!("`{name}` is {other:?}, not a number"),
    };
    let snake = |variant: String| {
        let mut out = String::new();
        for (index, c) in variant.chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    };
    assert_eq!(number("BULKHEAD_ABI_VERSION"), bulkhead_abi::ABI_VERSION as u64);
    assert_eq!(number("BULKHEAD_HVC_IMMEDIATE"), bulkhead_abi::HVC_IMMEDIATE as u64);
    assert_eq!(number("BULKHEAD_CONSOLE_WRITE_MAX"), bulkhead_abi::CONSOLE_WRITE_MAX as u64);
    assert_eq!(number("BULKHEAD_OK"), bulkhead_abi::OK as u64);
    for error in Error::ALL {
        assert_eq!(number(&format!("BULKHEAD_ERROR_{}", snake(format!("{error:?}")).to_uppercase())), error as u64);
    }
    for kind in El1Exception::ALL {
        assert_eq!(number(&format!("BULKHEAD_EXCEPTION_{}", snake(format!("{kind:?}")).to_uppercase())), kind as u64);
    }
    for (register, name, _) in bulkhead_abi::entry::REGISTERS {
        assert_eq!(number(&format!("BULKHEAD_ENTRY_REG_{}", name.to_uppercase())), register as u64);
    }
    assert!(header.contains(&format!("\"hvc #{}\"", bulkhead_abi::HVC_IMMEDIATE)));
    for (name, value, _) in foreign::ports_h::layout_constants() {
        assert_eq!(number(&format!("BULKHEAD_PORTS_{name}")), u64::from(value), "{name}");
    }
    for (name, value, _) in foreign::ports_h::STATUS {
        assert_eq!(number(&format!("BULKHEAD_PORT_{name}")), u64::from(value), "{name}");
    }
    for call in Call::ALL {
        let name = snake(format!("{call:?}"));
        assert_eq!(number(&format!("BULKHEAD_CALL_{}", name.to_uppercase())), call as u64);
        let signature = call.signature();
        let mut parameters: Vec<String> = signature
            .arguments
            .iter()
            .map(|a| match a.kind {
                OperandKind::Word => format!("uint32_t {}", a.name),
                OperandKind::ReadBuffer => format!("const void *{}", a.name),
                OperandKind::WriteBuffer => format!("void *{}", a.name),
            })
            .collect();
        parameters.extend(signature.results.iter().map(|r| format!("uint32_t *{}", r.name)));
        let parameters = if parameters.is_empty() { "void".to_owned() } else { parameters.join(", ") };
        let declaration = if signature.returns {
            format!("static inline uint32_t bulkhead_{name}({parameters})")
        } else {
            format!("static inline __attribute__((noreturn)) void bulkhead_{name}({parameters})")
        };
        assert!(header.contains(&declaration), "bulkhead.h lacks `{declaration}`");
        for result in signature.results {
            assert!(header.contains(&format!("*{} = registers.r{};", result.name, result.register)), "{call:?}");
        }
    }
}

/// A clash in generated names is refused with both meanings named.
#[test]
fn a_name_given_twice_is_refused() {
    let mut system = load_system(&workspace().join("tests/systems/virtio.toml"));
    let link = system.virtio[0].clone();
    let island = link.partition;
    // A second link named `<first>-mailbox`, with its window among the
    // partition's regions as the generator would place it.
    let mut second = link.clone();
    second.name = format!("{}-mailbox", link.name);
    system.virtio.push(second.clone());
    let partition = &mut system.partitions[island];
    let mut window = partition.regions.iter().find(|r| r.name == link.name).expect("the first window").clone();
    window.name = second.name;
    window.kind = RegionKind::Virtio(system.virtio.len() - 1);
    partition.regions.push(window);
    let clash = foreign::partition_h(&system, island).expect_err("VIRTIO_<A>_MAILBOX_BASE given twice");
    let name = format!("BULKHEAD_VIRTIO_{}_MAILBOX_BASE", upper(&link.name));
    assert_eq!(clash.name, name);
    assert!(clash.first.contains(&format!("`{}-mailbox` window", link.name)), "{clash}");
    assert!(clash.second.contains(&format!("`{}` mailbox", link.name)), "{clash}");
    assert!(clash.to_string().contains("rename one of them"), "{clash}");
}

/// rustup's LLVM linker.
fn rust_lld() -> PathBuf {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc).args(["--print", "sysroot"]).output().expect("rustc --print sysroot");
    let sysroot = PathBuf::from(String::from_utf8(output.stdout).expect("a UTF-8 path").trim());
    let lib = sysroot.join("lib/rustlib");
    std::fs::read_dir(&lib)
        .expect("the sysroot's lib/rustlib")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin/rust-lld")))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("no rust-lld under {}: the pinned toolchain ships one", lib.display()))
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A relocatable ARM ELF object, written by hand so the link test needs no
/// assembler: a vector table, `_start` (`b .`), read-only data, `.data` and
/// `bss_size` bytes of `.bss`.
fn arm_object(bss_size: u32) -> Vec<u8> {
    const BRANCH_TO_SELF: [u8; 4] = 0xeafffffe_u32.to_le_bytes();
    struct Section {
        name: &'static str,
        kind: u32,
        flags: u32,
        bytes: Vec<u8>,
        size: u32,
        link: u32,
        info: u32,
        entry_size: u32,
    }
    let (progbits, nobits, symtab, strtab) = (1, 8, 2, 3);
    let (write, alloc, exec) = (1, 2, 4);
    let section = |name, kind, flags, bytes: Vec<u8>| Section {
        name,
        kind,
        flags,
        size: bytes.len() as u32,
        bytes,
        link: 0,
        info: 0,
        entry_size: 0,
    };
    let strings = b"\0_start\0$a\0$d\0".to_vec();
    let symbol = |name: u32, value: u32, info: u8, section: u16| {
        let mut entry = Vec::new();
        entry.extend(name.to_le_bytes());
        entry.extend(value.to_le_bytes());
        entry.extend(0u32.to_le_bytes());
        entry.push(info);
        entry.push(0);
        entry.extend(section.to_le_bytes());
        entry
    };
    // Sections 1 .vectors, 2 .text, 3 .rodata, 4 .data, 5 .bss.
    let (local_notype, global_func) = (0x00, 0x12);
    let mut symbols = symbol(0, 0, 0, 0);
    symbols.extend(symbol(8, 0, local_notype, 1)); // $a
    symbols.extend(symbol(8, 0, local_notype, 2)); // $a
    symbols.extend(symbol(11, 0, local_notype, 3)); // $d
    symbols.extend(symbol(11, 0, local_notype, 4)); // $d
    symbols.extend(symbol(1, 0, global_func, 2)); // _start
    let mut sections = vec![
        section("", 0, 0, Vec::new()),
        section(".vectors", progbits, alloc | exec, BRANCH_TO_SELF.repeat(8)),
        section(".text", progbits, alloc | exec, BRANCH_TO_SELF.to_vec()),
        section(".rodata", progbits, alloc, b"rodata\0\0".to_vec()),
        section(".data", progbits, alloc | write, 0x1234_5678_u32.to_le_bytes().repeat(3)),
        Section { size: bss_size, ..section(".bss", nobits, alloc | write, Vec::new()) },
        Section { link: 7, info: 5, entry_size: 16, ..section(".symtab", symtab, 0, symbols) },
        section(".strtab", strtab, 0, strings),
    ];
    let mut names = b"\0".to_vec();
    let mut name_offsets = Vec::new();
    for section in &sections {
        name_offsets.push(if section.name.is_empty() { 0 } else { names.len() as u32 });
        names.extend(section.name.as_bytes());
        names.push(0);
    }
    name_offsets.push(names.len() as u32);
    names.extend(b".shstrtab\0");
    sections.push(section(".shstrtab", strtab, 0, names));

    let mut file = vec![0u8; 52];
    let mut offsets = Vec::new();
    for section in &sections {
        while !file.len().is_multiple_of(4) {
            file.push(0);
        }
        offsets.push(file.len() as u32);
        file.extend(&section.bytes);
    }
    while !file.len().is_multiple_of(4) {
        file.push(0);
    }
    let section_headers = file.len() as u32;
    for (index, section) in sections.iter().enumerate() {
        let alignment: u32 = if section.flags & alloc != 0 || section.kind == symtab { 4 } else { 1 };
        for word in [
            name_offsets[index],
            section.kind,
            section.flags,
            0,
            if index == 0 { 0 } else { offsets[index] },
            section.size,
            section.link,
            section.info,
            if index == 0 { 0 } else { alignment },
            section.entry_size,
        ] {
            file.extend(word.to_le_bytes());
        }
    }
    let mut header = vec![0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    header.extend(1u16.to_le_bytes()); // ET_REL
    header.extend(40u16.to_le_bytes()); // EM_ARM
    header.extend(1u32.to_le_bytes());
    header.extend(0u32.to_le_bytes()); // entry
    header.extend(0u32.to_le_bytes()); // no program headers
    header.extend(section_headers.to_le_bytes());
    header.extend(0x0500_0400u32.to_le_bytes()); // EABI 5, hard-float calling convention
    header.extend(52u16.to_le_bytes());
    header.extend(0u16.to_le_bytes());
    header.extend(0u16.to_le_bytes());
    header.extend(40u16.to_le_bytes());
    header.extend((sections.len() as u16).to_le_bytes());
    header.extend((sections.len() as u16 - 1).to_le_bytes());
    file[..52].copy_from_slice(&header);
    file
}

/// Checks a partition linked with the generated files: the generator's
/// image check accepts it, `.data`/`.bss` and the stacks are where the model
/// says, and every `__bulkhead_*` symbol it resolved has the model's value.
fn check_linked(system: &System, index: usize, elf: &Path, linker: &str) {
    let partition = &system.partitions[index];
    let what = format!("partition `{}` of `{}` linked by {linker}", partition.name, system.name);
    let bytes = std::fs::read(elf).expect("the linked partition");
    let image = image::inspect(elf, &bytes, partition).unwrap_or_else(|problem| panic!("{what}: {problem}"));
    let file = object::File::parse(&bytes[..]).expect("an ELF file");
    let symbols: BTreeMap<String, u64> =
        file.symbols().filter_map(|s| Some((s.name().ok()?.to_owned(), s.address()))).collect();
    let symbol = |name: &str| *symbols.get(name).unwrap_or_else(|| panic!("{what}: no symbol `{name}`"));
    let code = partition.code().span;
    let data = partition.data().span;
    assert_eq!(image.entry as u64, symbol("_start"), "{what}: entry");
    let vectors = file.section_by_name(".vectors").unwrap_or_else(|| panic!("{what}: no .vectors"));
    assert!(
        vectors.address() == code.base as u64 && vectors.size() > 0,
        "{what}: the vector table opens the code region"
    );
    assert_eq!(image.data_start as u64, symbol("__data_start"), "{what}");
    assert_eq!(image.data_end as u64, symbol("__data_end"), "{what}");
    assert_eq!(image.data_load as u64, symbol("__data_load"), "{what}");
    assert_eq!(image.bss_start as u64, symbol("__bss_start"), "{what}");
    assert_eq!(image.bss_end as u64, symbol("__bss_end"), "{what}");
    assert!(image.data_end > image.data_start && image.bss_end > image.bss_start, "{what}: .data and .bss are used");
    assert!(code.contains(image.data_load as u64), "{what}: .data loads from the code region");
    assert_eq!(symbol("__svc_stack_top"), data_end(partition), "{what}: SVC sp at entry is the stack top");
    let mut bottom = data_end(partition);
    let sizes = stack_sizes(partition);
    for mode in STACKS_FROM_THE_TOP {
        let size = sizes.iter().find(|(m, _)| *m == mode).map(|(_, size)| size).expect("a size for every mode");
        assert_eq!(symbol(&format!("__{mode}_stack_top")), bottom, "{what}: {mode} stack top");
        bottom -= size;
        assert_eq!(symbol(&format!("__{mode}_stack_bottom")), bottom, "{what}: {mode} stack bottom");
    }
    assert!(symbol("__heap_start") >= image.bss_end as u64 && symbol("__heap_end") == bottom, "{what}: heap");
    assert!(data.contains(bottom), "{what}: stacks inside the data region");
    for (name, value) in promised_symbols(partition) {
        if let Some(linked) = symbols.get(&name) {
            assert_eq!(*linked, value, "{what}: `{name}`");
        }
    }
}

/// The arguments that make a linker resolve every symbol `memory.ld`
/// promises, so each one can be checked in the output.
fn undefined_symbols(partition: &Partition) -> Vec<String> {
    promised_symbols(partition).into_keys().flat_map(|name| ["-u".to_owned(), name]).collect()
}

#[test]
fn memory_ld_and_c_partition_ld_link_with_lld_and_gnu_ld() {
    let lld = rust_lld();
    let gnu_ld = have("arm-none-eabi-ld");
    if !gnu_ld {
        eprintln!("skipping the GNU ld half: arm-none-eabi-ld is not installed (apt-get install gcc-arm-none-eabi)");
    }
    let out = scratch("link");
    let object = out.join("guest.o");
    std::fs::write(&object, arm_object(64)).expect("the object");
    for path in descriptions() {
        let system = load_system(&path);
        let dir = out.join(&system.name);
        emit::write_partitions(&system, &dir).expect("generated files");
        for (index, partition) in system.partitions.iter().enumerate() {
            let generated = dir.join(&partition.name);
            let script = generated.join("c-partition.ld");
            let elf = generated.join("lld.elf");
            run(Command::new(&lld)
                .args(["-flavor", "gnu", "-L"])
                .arg(&generated)
                .arg("-T")
                .arg(&script)
                .args(undefined_symbols(partition))
                .arg(&object)
                .arg("-o")
                .arg(&elf));
            check_linked(&system, index, &elf, "rust-lld");
            if gnu_ld {
                let elf = generated.join("gnu.elf");
                // GNU ld reads a -T script where it stands: the -L that
                // finds its INCLUDE must come first.
                run(Command::new("arm-none-eabi-ld")
                    .arg("-L")
                    .arg(&generated)
                    .arg("-T")
                    .arg(&script)
                    .args(undefined_symbols(partition))
                    .arg(&object)
                    .arg("-o")
                    .arg(&elf));
                check_linked(&system, index, &elf, "GNU ld");
            }
        }
    }
}

#[test]
fn a_bss_that_runs_into_the_stacks_fails_the_link() {
    let system = load_system(&workspace().join("partitions/systems/demo.toml"));
    let dir = scratch("overflow");
    emit::write_partition(&system, 0, &dir).expect("generated files");
    let partition = &system.partitions[0];
    let stacks: u64 = stack_sizes(partition).iter().map(|(_, size)| size).sum();
    let object = dir.join("guest.o");
    let too_much = partition.data().span.size as u64 - stacks + 4;
    std::fs::write(&object, arm_object(too_much as u32)).expect("the object");
    let lld = rust_lld();
    let mut linkers = vec![Command::new(&lld)];
    linkers[0].args(["-flavor", "gnu"]);
    if have("arm-none-eabi-ld") {
        linkers.push(Command::new("arm-none-eabi-ld"));
    }
    for mut linker in linkers {
        let output = linker
            .arg("-L")
            .arg(&dir)
            .arg("-T")
            .arg(dir.join("c-partition.ld"))
            .arg(&object)
            .arg("-o")
            .arg(dir.join("too-much.elf"))
            .output()
            .expect("a linker");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{linker:?}: a .bss of {too_much} bytes should not link");
        assert!(stderr.contains("run into the stacks: grow the partition's data region"), "{linker:?}: {stderr}");
    }
}

/// `_Static_assert`s of every numeric fact the model gives `partition.h`,
/// so the compiler itself reads each macro back.
fn static_asserts(system: &System, index: usize) -> String {
    let mut checks = String::new();
    for (name, fact) in promised_defines(system, index) {
        match fact {
            Fact::Number(value) => checks.push_str(&format!("_Static_assert({name} == {value}U, \"{name}\");\n")),
            Fact::Wide(value) => {
                checks.push_str(&format!("_Static_assert({name} == {value}ULL && sizeof({name}) == 8, \"{name}\");\n"))
            }
            Fact::Text(text) if !name.ends_with("_H") => {
                checks.push_str(&format!("_Static_assert(sizeof({name}) == {}, \"{name}\");\n", text.len() + 1))
            }
            Fact::Text(_) => {}
            Fact::List(items) => checks.push_str(&format!(
                "static const uint32_t owned_interrupts[] = {name};\n\
                 _Static_assert(sizeof owned_interrupts / sizeof owned_interrupts[0] == {}, \"{name}\");\n",
                items.len()
            )),
        }
    }
    checks
}

/// Opens each of partition `index`'s channel ends with bulkhead.h's
/// open macros, by name, role and kind (any mismatch would not compile).
fn open_ports(system: &System, index: usize) -> String {
    let mut opens = String::from("static uint32_t open_ports(void)\n{\n    uint32_t status = 0U;\n");
    for channel in system.channels.iter() {
        let name = upper(&channel.name);
        let writer = channel.writer == index;
        if !writer && !channel.readers.iter().any(|r| r.partition == index) {
            continue;
        }
        let (kind, macro_) = match (channel.kind, writer) {
            (ChannelKind::Sampling, true) => ("bulkhead_sampling_writer_t", "BULKHEAD_SAMPLING_WRITER_OPEN"),
            (ChannelKind::Sampling, false) => ("bulkhead_sampling_reader_t", "BULKHEAD_SAMPLING_READER_OPEN"),
            (ChannelKind::Queuing { .. }, true) => ("bulkhead_queue_sender_t", "BULKHEAD_QUEUE_SENDER_OPEN"),
            (ChannelKind::Queuing { .. }, false) => ("bulkhead_queue_receiver_t", "BULKHEAD_QUEUE_RECEIVER_OPEN"),
        };
        opens.push_str(&format!(
            "    {{
        {kind} port;
        status |= {macro_}(&port, {name});
    }}
"
        ));
    }
    opens.push_str("    return status;\n}\n");
    opens
}

/// A C guest using both headers and the generic script's symbols.
fn c_guest(system: &System, index: usize) -> String {
    format!(
        "#include \"partition.h\"\n#include \"bulkhead.h\"\n\n{}\n\
         extern char __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[];\n\
         extern char __svc_stack_top[];\n\
         __attribute__((section(\".vectors\"), naked)) void vectors(void)\n\
         {{\n    __asm__(\"b _start\\n b .\\n b .\\n b .\\n b .\\n b .\\n b .\\n b .\");\n}}\n\
         volatile uint32_t initialised = 7U;\nuint32_t zeroed[4];\n\
         double table[4] = {{ 1.0, 2.0, 3.0, 4.0 }};\n{}\
         void _start(void)\n{{\n    static const char message[] = \"hello from \" BULKHEAD_PARTITION_NAME;\n    \
         uint32_t id = 0U, count = 0U, accepted = 0U;\n    \
         (void)bulkhead_partition_id(&id, &count, 0);\n    \
         zeroed[id & 3U] = initialised + (uint32_t)table[1] + owned_interrupts[0] + count;\n    \
         if ((uintptr_t)__svc_stack_top != BULKHEAD_STACK_TOP || (uintptr_t)__data_start != BULKHEAD_DATA_BASE) {{\n        \
         bulkhead_report_fault(BULKHEAD_EXCEPTION_PANIC, (uint32_t)(uintptr_t)__data_load, 0U);\n    }}\n    \
         (void)bulkhead_console_write(message, sizeof message - 1U, &accepted);\n    \
         (void)bulkhead_yield();\n    bulkhead_stop_self(accepted + open_ports());\n}}\n",
        static_asserts(system, index),
        open_ports(system, index)
    )
}

#[test]
fn a_c_guest_builds_with_gcc_against_the_generated_files() {
    if !have("arm-none-eabi-gcc") {
        eprintln!("skipping: arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)");
        return;
    }
    let lld = rust_lld();
    let out = scratch("gcc");
    for path in descriptions() {
        let system = load_system(&path);
        let dir = out.join(&system.name);
        emit::write_partitions(&system, &dir).expect("generated files");
        for (index, partition) in system.partitions.iter().enumerate() {
            let generated = dir.join(&partition.name);
            let source = generated.join("guest.c");
            std::fs::write(&source, c_guest(&system, index)).expect("the guest");
            let object = generated.join("guest.o");
            run(Command::new("arm-none-eabi-gcc")
                .args(GCC_FLAGS)
                .args(["-std=c11", "-c"])
                .arg("-I")
                .arg(&generated)
                .arg(&source)
                .arg("-o")
                .arg(&object));
            let script = generated.join("c-partition.ld");
            let elf = generated.join("gcc.elf");
            run(Command::new("arm-none-eabi-gcc")
                .args(GCC_FLAGS)
                .args(["-nostdlib", "-T"])
                .arg(&script)
                .arg("-L")
                .arg(&generated)
                .arg(&object)
                .arg("-o")
                .arg(&elf));
            check_linked(&system, index, &elf, "GNU ld (gcc)");
            let elf = generated.join("gcc-lld.elf");
            run(Command::new(&lld)
                .args(["-flavor", "gnu", "-T"])
                .arg(&script)
                .arg("-L")
                .arg(&generated)
                .arg(&object)
                .arg("-o")
                .arg(&elf));
            check_linked(&system, index, &elf, "rust-lld (gcc object)");
        }
    }
}

#[test]
fn bulkhead_h_compiles_as_c_and_cpp_in_a32_and_t32() {
    if !have("arm-none-eabi-gcc") {
        eprintln!("skipping: arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)");
        return;
    }
    let dir = scratch("bulkhead-h");
    std::fs::write(dir.join("bulkhead.h"), foreign::bulkhead_h()).expect("the header");
    let mut calls = String::new();
    for call in Call::ALL {
        let signature = call.signature();
        let mut name = String::new();
        for (index, c) in format!("{call:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        let mut arguments: Vec<String> = signature
            .arguments
            .iter()
            .map(|a| match a.kind {
                OperandKind::Word => format!("(uint32_t){}", a.register),
                OperandKind::ReadBuffer => "(const void *)buffer".to_owned(),
                OperandKind::WriteBuffer => "(void *)buffer".to_owned(),
            })
            .collect();
        arguments.extend(signature.results.iter().map(|r| format!("&results[{}]", r.register)));
        let invocation = format!("bulkhead_{name}({})", arguments.join(", "));
        if signature.returns {
            calls.push_str(&format!("    results[0] |= {invocation};\n"));
        } else {
            calls.push_str(&format!("    if (results[0] == {}U) {{\n        {invocation};\n    }}\n", call as u32));
        }
    }
    let source = format!(
        "#include \"bulkhead.h\"\nuint32_t results[4];\nstatic const char buffer[] = \"x\";\nvoid every_call(void);\n\
         void every_call(void)\n{{\n{calls}}}\n{PORT_CALLS}"
    );
    for (file, driver, standard) in
        [("every.c", "arm-none-eabi-gcc", "-std=c99"), ("every.cpp", "arm-none-eabi-g++", "-std=c++17")]
    {
        std::fs::write(dir.join(file), &source).expect("the source");
        for isa in ["-marm", "-mthumb"] {
            run(Command::new(driver)
                .args(GCC_FLAGS)
                .args([standard, "-pedantic", isa, "-c"])
                .arg("-I")
                .arg(&dir)
                .arg(dir.join(file))
                .arg("-o")
                .arg(dir.join(format!("{file}{isa}.o"))));
        }
    }
}

/// Every port function of `bulkhead.h`, called (for the compile test).
const PORT_CALLS: &str = "
static uint32_t port_window[256];
void every_port(void);
void every_port(void)
{
    bulkhead_sampling_writer_t writer;
    bulkhead_sampling_reader_t reader;
    bulkhead_queue_sender_t sender;
    bulkhead_queue_receiver_t receiver;
    bulkhead_sample_t sample = {0U, 0U, 0U};
    uint8_t out[8];
    uintptr_t window = (uintptr_t)port_window;
    results[0] |= bulkhead_sampling_writer_open(&writer, 0U, window, sizeof port_window, 8U);
    results[0] |= bulkhead_sampling_write_stamped(&writer, buffer, 1U, 5U, &results[1]);
    results[0] |= bulkhead_sampling_write(&writer, buffer, 1U, 0);
    results[0] |= bulkhead_sampling_writer_latest(&writer);
    results[0] |= bulkhead_sampling_notify(&writer);
    results[0] |= bulkhead_sampling_reader_open(&reader, 0U, window, sizeof port_window, 8U, 100U);
    results[0] |= bulkhead_sampling_read(&reader, out, sizeof out, &sample);
    results[0] |= bulkhead_sampling_reader_latest(&reader);
    results[0] |= bulkhead_sample_is_stale(&reader, &sample, bulkhead_system_ticks());
    results[0] |= bulkhead_queue_sender_open(&sender, 1U, window, sizeof port_window, 8U, 2U, 2U);
    results[0] |= bulkhead_queue_send(&sender, buffer, 1U, &results[2]);
    results[0] |= bulkhead_queue_sender_overflows(&sender, 1U);
    results[0] |= bulkhead_queue_notify(&sender);
    results[0] |= bulkhead_queue_receiver_open(&receiver, 1U, window, sizeof port_window, 8U, 2U, 1U);
    results[0] |= bulkhead_queue_peek(&receiver, out, sizeof out, &results[1], &results[2]);
    results[0] |= bulkhead_queue_skip(&receiver, &results[3]);
    results[0] |= bulkhead_queue_receive(&receiver, out, sizeof out, &results[1], &results[2]);
    results[0] |= bulkhead_queue_pending(&receiver);
    results[0] |= bulkhead_queue_overflows(&receiver);
}
";

/// `demo` is off unless the description says so (the tty's `crash` exists
/// only then), and the island's layout carries it and the buffer area.
#[test]
fn only_a_description_marked_demo_gives_the_island_crash() {
    let test = load_system(&workspace().join("tests/systems/virtio.toml"));
    let demo = load_system(&workspace().join("partitions/systems/amp.toml"));
    assert!(!test.virtio[0].demo, "tests/systems/virtio.toml is not a demo");
    assert!(demo.virtio[0].demo, "the AMP demo is");
    for (system, expected) in [(&test, "demo: false"), (&demo, "demo: true")] {
        let link = &system.virtio[0];
        let layout = emit::partition_layout_rs(system, link.partition);
        assert!(layout.contains(expected), "{layout}");
        assert!(layout.contains(&format!("pool: {:#x},", link.pool)), "{layout}");
    }
}
