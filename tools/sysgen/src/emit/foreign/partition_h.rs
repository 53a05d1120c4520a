//! A partition's `partition.h`: what the Rust SDK's generated `layout.rs`
//! tells a Rust partition about itself, as C macros.
//!
//! Every macro is `BULKHEAD_<WHAT>`, with description names turned into
//! identifiers by [`super::c_identifier`]; every value carries a comment
//! naming where in the description or the board it comes from. Numbers are
//! unsigned: `U`, or `ULL` for the quantities the generator holds as 64-bit
//! (tick counts, a VIRTIO window's remote address).

use super::{NameClash, Names, c_identifier, comment_text, region_origin, region_stem};
use crate::emit::{header, owned_interrupts};
use crate::model::{ChannelKind, RegionKind, System, VringPlacement};
use crate::units::human_size;
use crate::validate::FIQ_STACK;
use std::fmt::Write;

/// A value as C spells it.
enum Value {
    /// An address: `0x08020000U` (64-bit only for the end of memory that
    /// reaches the top of the address space).
    Address(u64),
    /// A size in bytes: `0x10000U` (with the size for people in the comment).
    Size(u32),
    /// An offset in bytes: `0x1000U`.
    Offset(u32),
    /// A count or id: `5U`.
    Number(u32),
    /// A 64-bit quantity: `625000ULL`.
    Wide(u64),
    /// A string literal.
    Text(String),
}

impl Value {
    fn c(&self) -> String {
        match self {
            Value::Address(address) => format!("{address:#010x}U"),
            Value::Size(size) | Value::Offset(size) => format!("{size:#x}U"),
            Value::Number(number) => format!("{number}U"),
            Value::Wide(number) => format!("{number}ULL"),
            Value::Text(text) => c_string(text),
        }
    }
}

/// `text` as a C string literal.
fn c_string(text: &str) -> String {
    let mut literal = String::from("\"");
    for byte in text.bytes() {
        match byte {
            b'"' | b'\\' => {
                literal.push('\\');
                literal.push(byte as char);
            }
            0x20..=0x7e => literal.push(byte as char),
            _ => {
                let _ = write!(literal, "\\{byte:03o}");
            }
        }
    }
    literal.push('"');
    literal
}

/// The header being written, with the names it has defined.
struct Header {
    out: String,
    names: Names,
}

impl Header {
    fn section(&mut self, title: &str) {
        let _ = writeln!(self.out, "\n/* {} */", comment_text(title));
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "/* {} */", comment_text(text));
    }

    /// `#define BULKHEAD_<name> value /* origin */`.
    fn define(&mut self, name: &str, value: Value, origin: &str) -> Result<(), NameClash> {
        let name = format!("BULKHEAD_{name}");
        self.names.claim(&name, origin)?;
        let origin = match value {
            Value::Size(size) => format!("{}: {origin}", human_size(size as u64)),
            _ => origin.to_owned(),
        };
        let _ = writeln!(self.out, "#define {name} {} /* {} */", value.c(), comment_text(&origin));
        Ok(())
    }
}

/// The `partition.h` of partition `index`.
pub fn partition_h(system: &System, index: usize) -> Result<String, NameClash> {
    let partition = &system.partitions[index];
    let pname = &partition.name;
    let board = &system.board;
    let file = system.file.file_name().map_or_else(|| system.file.display().to_string(), |f| f.display().to_string());
    let guard = format!("BULKHEAD_PARTITION_{}_H", c_identifier(pname));
    let mut h = Header { out: String::new(), names: Names::new("partition.h") };
    h.names.claim(&guard, "the include guard")?;
    let _ = writeln!(h.out, "/* {} */", comment_text(&header(system, &format!("partition `{pname}`, for C"))));
    let _ = writeln!(
        h.out,
        "/*\n * Partition `{pname}` of system `{}` as C sees it: the facts the Rust SDK's layout.rs holds.\n \
         * Names are BULKHEAD_<WHAT>, description names upper-cased with every other character as '_'.\n \
         * Values are unsigned: U, or ULL for 64-bit quantities (tick counts, remote addresses).\n \
         * The hypercall ABI is in bulkhead.h; the linker's view of the same memory in memory.ld.\n */\n\
         #ifndef {guard}\n#define {guard}",
        comment_text(&system.name)
    );

    h.section("Identity");
    h.define("SYSTEM_NAME", Value::Text(system.name.clone()), "[system] name")?;
    h.define("PARTITION_NAME", Value::Text(pname.clone()), "[[partition]] name")?;
    h.define(
        "PARTITION_ID",
        Value::Number(index as u32),
        &format!(
            "the partition's index among the [[partition]]s of {file}, numbered core by core: r0 at entry, r1 of PartitionId"
        ),
    )?;
    h.define(
        "PARTITION_COUNT",
        Value::Number(system.partitions.len() as u32),
        &format!("the [[partition]]s of {file}: r2 of PartitionId"),
    )?;
    h.define(
        "CORE",
        Value::Number(partition.core),
        &format!("partition.{pname}.core, or the core of the [[schedule]] its windows are in"),
    )?;
    for (id, other) in system.partitions.iter().enumerate() {
        h.define(
            &format!("PARTITION_{}_ID", c_identifier(&other.name)),
            Value::Number(id as u32),
            &format!("partition `{}`'s id: r1 of PartitionControl", other.name),
        )?;
    }

    h.section("Health monitor");
    h.define(
        "WATCHDOG_TICKS",
        Value::Wide(partition.health.watchdog),
        &format!("partition.{pname}.health.watchdog, in ticks of partition time; 0: no watchdog"),
    )?;
    match system.monitor {
        Some(monitor) => {
            h.define(
                "MONITOR_ID",
                Value::Number(monitor.partition as u32),
                &format!("[monitor] partition: `{}`", system.partitions[monitor.partition].name),
            )?;
            match monitor.notify {
                Some(sgi) => h.define(
                    "MONITOR_NOTIFY_SGI",
                    Value::Number(sgi),
                    "[monitor] notify: the SGI raised in the monitor when a partition's action is monitor",
                )?,
                None => h.note("[monitor] notify is false, so no BULKHEAD_MONITOR_NOTIFY_SGI"),
            }
        }
        None => h.note("no [monitor], so no BULKHEAD_MONITOR_ID"),
    }

    h.section("Time, in counter ticks");
    h.define(
        "TIMER_HZ",
        Value::Number(board.timer_hz),
        &format!("board `{}` timer_hz: CNTFRQ, counter ticks per second", board.name),
    )?;
    h.define(
        "VIRTUAL_TIMER_INTID",
        Value::Number(bulkhead_kernel_core::vgic::VIRTUAL_TIMER as u32),
        "the virtual timer PPI, which every partition owns: its CNTVCT is partition time",
    )?;
    let schedule = system.schedule(partition.core);
    h.define(
        "MAJOR_FRAME_TICKS",
        Value::Wide(schedule.map_or(0, |s| s.major_frame)),
        &format!("major_frame of the [[schedule]] of core {}", partition.core),
    )?;
    let windows: Vec<_> = schedule
        .iter()
        .flat_map(|s| s.windows.iter().enumerate())
        .filter(|(_, w)| w.partition == Some(index))
        .collect();
    h.define("WINDOW_COUNT", Value::Number(windows.len() as u32), "this partition's windows in each major frame")?;
    for (n, (position, window)) in windows.iter().enumerate() {
        let origin = format!("windows[{position}] of the [[schedule]] of core {}", partition.core);
        h.define(&format!("WINDOW_{n}_OFFSET"), Value::Wide(window.offset), &format!("{origin}: start in the frame"))?;
        h.define(&format!("WINDOW_{n}_DURATION"), Value::Wide(window.duration), &format!("{origin}: length"))?;
    }

    h.section("Memory: code, data, private regions, shared regions (channel windows among them), VIRTIO windows");
    for region in &partition.regions {
        let Some(stem) = region_stem(region) else { continue };
        let origin = region_origin(system, pname, region);
        h.define(&format!("{stem}_BASE"), Value::Address(region.span.base as u64), &origin)?;
        h.define(&format!("{stem}_SIZE"), Value::Size(region.span.size), &origin)?;
    }

    h.section("Stacks: the kernel enters in SVC mode with sp at BULKHEAD_STACK_TOP");
    let data = partition.data().span;
    h.define(
        "STACK_TOP",
        Value::Address(data.base as u64 + data.size as u64),
        &format!("the end of partition `{pname}`'s data region"),
    )?;
    let exception = partition.exception_stack_size;
    let stacks = [
        ("SYS", partition.stack_size, format!("partition.{pname}.stack_size: the main (System mode) stack")),
        ("SVC", exception, format!("partition.{pname}.exception_stack_size")),
        ("ABT", exception, format!("partition.{pname}.exception_stack_size")),
        ("UND", exception, format!("partition.{pname}.exception_stack_size")),
        ("IRQ", exception, format!("partition.{pname}.exception_stack_size")),
        ("FIQ", FIQ_STACK, "fixed: partitions get no FIQs".to_owned()),
    ];
    for (mode, size, origin) in stacks {
        h.define(&format!("{mode}_STACK_SIZE"), Value::Number(size), &origin)?;
    }

    h.section("GIC, as the partition sees it (emulated by the kernel)");
    h.define(
        "GICD_BASE",
        Value::Address(board.gic.distributor as u64),
        &format!("board `{}` [gic] distributor", board.name),
    )?;
    h.define(
        "GICR_BASE",
        Value::Address(board.gic.redistributor_of(partition.core) as u64),
        &if partition.core == 0 {
            format!("board `{}` [gic] redistributor", board.name)
        } else {
            format!(
                "board `{}` [gic] redistributor + {} * redistributor_stride: core {}'s",
                board.name, partition.core, partition.core
            )
        },
    )?;

    h.section("Devices (interrupts as GIC INTIDs, as the partition sees them: the board's)");
    let mut devices = 0;
    for region in &partition.regions {
        let RegionKind::Device(device_index) = region.kind else { continue };
        devices += 1;
        let device = &board.devices[device_index];
        let stem = format!("DEVICE_{}", c_identifier(&device.name));
        let origin = format!("board `{}` device `{}`, in partition.{pname}.devices", board.name, device.name);
        h.define(&format!("{stem}_BASE"), Value::Address(device.base as u64), &origin)?;
        h.define(&format!("{stem}_SIZE"), Value::Size(device.size), &origin)?;
        h.define(
            &format!("{stem}_INTERRUPT_COUNT"),
            Value::Number(device.interrupts.len() as u32),
            &format!("board `{}` device `{}` interrupts", board.name, device.name),
        )?;
        for (n, intid) in device.interrupts.iter().enumerate() {
            h.define(
                &format!("{stem}_INTERRUPT_{n}"),
                Value::Number(*intid),
                &format!("board `{}` device `{}` interrupts[{n}]", board.name, device.name),
            )?;
        }
    }
    if devices == 0 {
        h.note("none");
    }

    h.section("Interrupts the partition owns: its devices', its own, its virtual timer; sorted");
    let owned = owned_interrupts(partition);
    h.define("INTERRUPT_COUNT", Value::Number(owned.len() as u32), "owned interrupts, the virtual timer included")?;
    let list: Vec<String> = owned.iter().map(|intid| Value::Number(*intid).c()).collect();
    h.names.claim("BULKHEAD_INTERRUPTS", "the owned interrupts")?;
    let _ = writeln!(
        h.out,
        "#define BULKHEAD_INTERRUPTS {{ {} }} /* an initialiser: partition.{pname}.interrupts, its devices' and {} */",
        list.join(", "),
        bulkhead_kernel_core::vgic::VIRTUAL_TIMER
    );

    h.section("VIRTIO links the partition is the device of (windows: VIRTIO_<NAME>_BASE/SIZE above)");
    let mut links = 0;
    for link in system.virtio.iter().filter(|l| l.partition == index) {
        links += 1;
        let stem = format!("VIRTIO_{}", c_identifier(&link.name));
        let origin = format!("[[virtio]] `{}`", link.name);
        h.define(
            &format!("{stem}_REMOTE_BASE"),
            Value::Wide(link.remote_base),
            &format!("{origin} window.remote_base: the window's first byte as the driver sees it"),
        )?;
        h.define(
            &format!("{stem}_RESOURCE_TABLE_OFFSET"),
            Value::Offset(link.table),
            &format!("{origin}: the resource table's offset in the window"),
        )?;
        for (n, vring) in link.vrings.iter().enumerate() {
            define_vring(&mut h, &stem, &origin, n, vring)?;
        }
        h.define(
            &format!("{stem}_SERVICE_COUNT"),
            Value::Number(link.services.len() as u32),
            &format!("{origin} services"),
        )?;
        for (n, service) in link.services.iter().enumerate() {
            let what = format!("{origin} services[{n}]");
            h.define(&format!("{stem}_SERVICE_{n}_KIND"), Value::Text(service.kind.name().to_owned()), &what)?;
            h.define(&format!("{stem}_SERVICE_{n}_NAME"), Value::Text(service.name.clone()), &what)?;
            h.define(&format!("{stem}_SERVICE_{n}_ADDRESS"), Value::Number(service.address), &what)?;
        }
        let mailbox = &link.mailbox;
        let device = &board.devices[mailbox.device];
        let send_device = &board.devices[mailbox.send_device];
        let what = format!("{origin} mailbox");
        h.define(&format!("{stem}_MAILBOX_DRIVER"), Value::Text(mailbox.driver.name().to_owned()), &what)?;
        h.define(
            &format!("{stem}_MAILBOX_BASE"),
            Value::Address(device.base as u64),
            &format!("{what}: device `{}`, which rings the partition", device.name),
        )?;
        h.define(
            &format!("{stem}_MAILBOX_SEND_BASE"),
            Value::Address(send_device.base as u64),
            &format!("{what}: device `{}`, through which the partition rings the driver", send_device.name),
        )?;
        h.define(&format!("{stem}_MAILBOX_CHANNEL"), Value::Number(mailbox.channel), &what)?;
        h.define(
            &format!("{stem}_MAILBOX_INTERRUPT"),
            Value::Number(mailbox.interrupt),
            &format!("{what}: the interrupt that rings the partition"),
        )?;
    }
    if links == 0 {
        h.note("none");
    }

    define_channels(&mut h, system, index)?;

    let _ = writeln!(h.out, "\n#endif /* {guard} */");
    Ok(h.out)
}

fn define_vring(h: &mut Header, stem: &str, origin: &str, n: usize, vring: &VringPlacement) -> Result<(), NameClash> {
    let direction = if n == 0 { "device to driver" } else { "driver to device" };
    let what = format!("{origin} vring {n} ({direction})");
    match vring.offset {
        Some(offset) => h.define(
            &format!("{stem}_VRING{n}_OFFSET"),
            Value::Offset(offset),
            &format!("{what}: offset in the window"),
        )?,
        None => h.note(&format!("{what}: placed by the driver, so no {stem}_VRING{n}_OFFSET")),
    }
    h.define(&format!("{stem}_VRING{n}_NUM"), Value::Number(vring.num as u32), &format!("{what}: entries"))?;
    h.define(&format!("{stem}_VRING{n}_ALIGN"), Value::Size(vring.align), &format!("{what}: alignment"))
}

/// The channels partition `index` writes or reads.
fn define_channels(h: &mut Header, system: &System, index: usize) -> Result<(), NameClash> {
    h.section(
        "Channels the partition writes or reads (windows: SHARED_<NAME>_BASE/SIZE above; their layout is \
         bulkhead_ports::layout's for this geometry)",
    );
    let used: Vec<_> = system
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.writer == index || c.readers.iter().any(|r| r.partition == index))
        .collect();
    h.define("CHANNEL_COUNT", Value::Number(used.len() as u32), "the [[channel]]s this partition writes or reads")?;
    for (id, channel) in used {
        let stem = format!("CHANNEL_{}", c_identifier(&channel.name));
        let origin = format!("[[channel]] `{}`", channel.name);
        h.define(
            &format!("{stem}_ID"),
            Value::Number(id as u32),
            &format!("{origin}: its handle in the hypercalls, its position among the [[channel]]s"),
        )?;
        h.define(
            &format!("{stem}_BASE"),
            Value::Address(channel.window.base as u64),
            &format!("{origin}: the window's first byte"),
        )?;
        h.define(
            &format!("{stem}_SIZE"),
            Value::Size(channel.size),
            &format!("{origin}: the bytes of the window the protocol uses"),
        )?;
        match channel.kind {
            ChannelKind::Sampling => {
                h.define(&format!("{stem}_SAMPLING"), Value::Number(1), &format!("{origin} kind"))?;
                h.define(
                    &format!("{stem}_REFRESH_TICKS"),
                    Value::Wide(channel.refresh.unwrap_or(0)),
                    &format!("{origin} refresh: a message older than this is stale; 0: none given"),
                )?;
            }
            ChannelKind::Queuing { depth } => {
                h.define(&format!("{stem}_QUEUING"), Value::Number(1), &format!("{origin} kind"))?;
                h.define(
                    &format!("{stem}_DEPTH"),
                    Value::Number(depth),
                    &format!("{origin} depth: messages each reader's queue holds"),
                )?;
            }
        }
        h.define(
            &format!("{stem}_MESSAGE_SIZE"),
            Value::Number(channel.message_size),
            &format!("{origin} message_size: the largest message in bytes"),
        )?;
        h.define(
            &format!("{stem}_READERS"),
            Value::Number(channel.readers.len() as u32),
            &format!("{origin} readers: how many"),
        )?;
        match channel.readers.iter().position(|r| r.partition == index) {
            None => h.define(
                &format!("{stem}_WRITER"),
                Value::Number(1),
                &format!("{origin} writer: this partition, which maps the window read/write"),
            )?,
            Some(position) => h.define(
                &format!("{stem}_READER_INDEX"),
                Value::Number(position as u32),
                &format!("{origin} readers[{position}]: this partition, which maps the window read-only"),
            )?,
        }
        h.define(
            &format!("{stem}_NOTIFIES"),
            Value::Number(channel.notify as u32),
            &format!("{origin} notify: 1 when the writer's PortNotify interrupts the readers"),
        )?;
        if let Some(sgi) = channel.readers.iter().find(|r| r.partition == index).and_then(|r| r.notify) {
            h.define(
                &format!("{stem}_NOTIFY_INTID"),
                Value::Number(sgi),
                &format!("{origin} notify: the SGI PortNotify raises in this partition"),
            )?;
        }
    }
    Ok(())
}
