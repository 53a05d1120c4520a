//! Devices and interrupts given to partitions.
//!
//! Owns the checks of a partition's `devices` and `interrupts` and their
//! messages: a device exists on the board, is not the kernel's console, is
//! not `chip_wide`, and has one owner (a `per_core` device: one on each
//! core, each owning its core's instance); an interrupt exists, is not an
//! SGI, the virtual timer or one the kernel keeps, and has one owner (a
//! PPI: one on each core, each owning its core's); a partition owns at
//! most [`MAX_OWNED_INTERRUPTS`], counting the notify SGIs `channels` gave
//! it. Those SGIs are virtual only (the kernel raises them in the one
//! partition): they have no owner to check, and every partition's SGIs are
//! numbered from 0. It also reports device frames that
//! overlap each other within a partition, and memory regions placed on a
//! device frame.
//!
//! It must never place memory (automatic placement steps around device
//! frames in `placement`), and never give a partition a device frame as
//! anything but device memory, read/write, never executable.

use super::placement::Request;
use super::{Checker, PartitionNames, suggest};
use crate::model::*;
use crate::raw;
use bulkhead_mpu::{MemoryType, Shareability};
use std::collections::{BTreeMap, HashMap};

/// Interrupt ids below this are SGIs.
const FIRST_PPI: u32 = 16;
/// The virtual timer PPI every partition owns through its own timer.
const VIRTUAL_TIMER_INTID: u32 = bulkhead_kernel_core::vgic::VIRTUAL_TIMER as u32;
/// Interrupts one partition may own, the virtual timer included.
const MAX_OWNED_INTERRUPTS: usize = bulkhead_kernel_core::vgic::MAX_OWNED;

/// Interrupt ids below this are SGIs and PPIs: each core has its own.
const FIRST_SPI: u32 = bulkhead_kernel_core::vgic::FIRST_SPI as u32;

/// Who has been given each device and interrupt so far.
#[derive(Default)]
pub(super) struct Owners {
    /// (device index, core for a per-core device's instance) to (partition
    /// index, its core).
    devices: HashMap<(usize, Option<u32>), (usize, u32)>,
    /// (interrupt id, core for an SGI or PPI) to (partition index, its core).
    interrupts: BTreeMap<(u32, Option<u32>), (usize, u32)>,
}

/// What a partition is given.
pub(super) struct Given {
    /// A device region per device, in the order listed.
    pub regions: Vec<PartitionRegion>,
    /// Its devices' interrupts, those it lists and its channels' notify
    /// SGIs.
    pub interrupts: Vec<u32>,
}

/// Gives partition `index` (`raw`), which runs on `core`, its devices and
/// interrupts, and the notify SGIs of the channels it reads (`notify`).
#[allow(clippy::too_many_arguments)]
pub(super) fn give(
    checker: &mut Checker,
    board: &Board,
    kernel: &Kernel,
    names: &PartitionNames,
    index: usize,
    core: u32,
    raw: &raw::Partition,
    notify: &[u32],
    owners: &mut Owners,
) -> Given {
    let pname = raw.name.get_ref();
    let device_names: Vec<&str> = board.devices.iter().map(|d| d.name.as_str()).collect();
    let mut regions = Vec::new();
    let mut interrupts = Vec::new();
    for device in &raw.devices {
        let dname = device.get_ref();
        let key = format!("partition.{pname}.devices");
        let Some(device_index) = board.devices.iter().position(|d| &d.name == dname) else {
            let reason = format!(
                "board `{}` has no device `{dname}`{}",
                board.name,
                suggest(dname, device_names.iter().copied())
            );
            checker.at(key, device, reason);
            continue;
        };
        let per_core = board.devices[device_index].per_core;
        if device_index == kernel.console {
            // Every core that runs a schedule (as the partition's does) logs
            // on its own instance of a per-core console.
            let whose = if per_core {
                format!(" (core {core}'s own `{dname}` is core {core}'s kernel console)")
            } else {
                String::new()
            };
            checker.at(
                key,
                device,
                format!("`{dname}` is the kernel's console and cannot be given to a partition{whose}"),
            );
            continue;
        }
        if let Some(effect) = &board.devices[device_index].chip_wide {
            checker.at(
                key,
                device,
                format!(
                    "`{dname}` acts on the whole chip ({effect}); board `{}` marks it `chip_wide` in {}, \
                     so no partition may have it: whatever a partition does must leave the kernel and \
                     every other partition running",
                    board.name,
                    board.file.display()
                ),
            );
            continue;
        }
        let instance = (device_index, per_core.then_some(core));
        if let Some(&(owner, _)) = owners.devices.get(&instance) {
            let reason = if owner == index {
                format!("`{dname}` is listed twice")
            } else if per_core {
                format!(
                    "`{dname}` of core {core} is already given to partition `{}`; a per-core device has one owner \
                     on each core",
                    names.declared[owner]
                )
            } else {
                format!("`{dname}` is already given to partition `{}`; a device has one owner", names.declared[owner])
            };
            checker.at(key, device, reason);
            continue;
        }
        owners.devices.insert(instance, (index, core));
        let board_device = &board.devices[device_index];
        interrupts.extend(board_device.interrupts.iter().copied());
        regions.push(PartitionRegion {
            name: dname.clone(),
            kind: RegionKind::Device(device_index),
            span: Span { base: board_device.base, size: board_device.size },
            access: Access { read: true, write: true, execute: false },
            memory_type: MemoryType::Device,
            shareability: Shareability::NonShareable,
            noinit: false,
        });
    }
    for interrupt in &raw.interrupts {
        let intid = *interrupt.get_ref();
        let key = format!("partition.{pname}.interrupts");
        let reason = if intid >= board.gic.interrupts {
            Some(format!("interrupt {intid} does not exist (the GIC has {})", board.gic.interrupts))
        } else if intid < FIRST_PPI {
            Some(format!("interrupt {intid} is an SGI; SGIs are the kernel's"))
        } else if intid == VIRTUAL_TIMER_INTID {
            Some("interrupt 27 is the virtual timer, which every partition has its own of".to_owned())
        } else if kernel.interrupts.contains(&intid) {
            Some(format!("interrupt {intid} is kept by the kernel"))
        } else if interrupts.contains(&intid) {
            Some(format!("interrupt {intid} is listed twice (or comes with one of its devices)"))
        } else {
            None
        };
        match reason {
            Some(reason) => checker.at(key, interrupt, reason),
            None => interrupts.push(intid),
        }
    }
    // Each partition also owns its virtual timer, and an SGI per channel
    // that notifies it.
    let owned = interrupts.len() + notify.len() + 1;
    if owned > MAX_OWNED_INTERRUPTS {
        let with = if notify.is_empty() {
            "its devices' and its virtual timer"
        } else {
            "its devices', its channels' notify SGIs and its virtual timer"
        };
        checker.at(
            format!("partition.{pname}.interrupts"),
            &raw.name,
            format!("owns {owned} interrupts with {with}; a partition may own at most {MAX_OWNED_INTERRUPTS}"),
        );
    }
    for &intid in &interrupts {
        // Each core has its own SGIs and PPIs; an SPI is the chip's.
        let instance = (intid, (intid < FIRST_SPI).then_some(core));
        if let Some(&(owner, owner_core)) = owners.interrupts.get(&instance) {
            if owner != index {
                let reason = if owner_core != core {
                    format!(
                        "interrupt {intid} is already given to partition `{}` on core {owner_core}; an SPI has one \
                         owner, on one core",
                        names.declared[owner]
                    )
                } else {
                    format!(
                        "interrupt {intid} is already given to partition `{}`; an interrupt has one owner",
                        names.declared[owner]
                    )
                };
                checker.at(format!("partition.{pname}.interrupts"), &raw.name, reason);
            }
        } else {
            owners.interrupts.insert(instance, (index, core));
        }
    }
    interrupts.extend(notify);
    Given { regions, interrupts }
}

/// Overlaps inside the partition's own set between device frames. Overlaps
/// involving memory regions are reported once already: among placed regions
/// by `placement`, with device frames by [`check_memory_clear_of_devices`].
pub(super) fn check_own_frames_apart(
    checker: &mut Checker,
    pname: &str,
    raw: &raw::Partition,
    regions: &[PartitionRegion],
) {
    for (a, first) in regions.iter().enumerate() {
        for second in &regions[a + 1..] {
            if first.span.overlaps(&second.span)
                && matches!((&first.kind, &second.kind), (RegionKind::Device(_), RegionKind::Device(_)))
            {
                checker.at(
                    format!("partition.{pname}.devices"),
                    &raw.name,
                    format!("device `{}` overlaps its own device `{}`", second.name, first.name),
                );
            }
        }
    }
}

/// Devices versus memory regions anyone placed.
pub(super) fn check_memory_clear_of_devices(
    checker: &mut Checker,
    board: &Board,
    requests: &[Request],
    placed: &[Option<Span>],
) {
    for (request, span) in requests.iter().zip(placed) {
        let Some(span) = span else { continue };
        for device in &board.devices {
            let frame = Span { base: device.base, size: device.size };
            if span.overlaps(&frame) {
                checker.problem(
                    request.key.clone(),
                    format!("overlaps device `{}` at {:#010x}", device.name, device.base),
                    Some(request.span.clone()),
                );
            }
        }
    }
}
