//! The board file: the chip's facts, checked before any system uses them.
//!
//! Owns the checks of `boards/<board>/board.toml` and their messages:
//! memories (64-byte aligned, below 4 GiB), device frames (aligned, unique
//! names, serial ports: unique, a list only for a per-core device and then
//! one per core), the GIC frames, the kernel's default regions and console, and the
//! EL2 MPU regions the kernel keeps. Problems are reported against the board
//! file, with a checker of its own.
//!
//! It must never look at a system description: what a system chooses (its
//! `[kernel]` overrides, which devices its partitions get) is checked by the
//! modules of those sections, against the [`Board`] this one returns.

use super::{Checker, to_u32};
use crate::diag::Problems;
use crate::model::*;
use crate::raw::{self, MemoryKind};
use bulkhead_kernel_core::board_check::SAVED_EL1_MPU_REGIONS;
use bulkhead_kernel_core::tables::KERNEL_REGION_SLOTS;
use bulkhead_kernel_core::vgic::REDISTRIBUTOR_STRIDE;
use bulkhead_mpu::GRANULE;
use std::path::Path;
use toml::Spanned;

/// Most cores one kernel image runs on: `MPIDR.Aff0` 0..15, the cores a
/// GICv3 SGI's target list can name (a Cortex-R52 cluster has at most 4).
const MAX_CLUSTER_CORES: u32 = 16;

/// The board's kernel defaults, kept for the system's `[kernel]` overrides.
pub(super) struct BoardKernelDefaults {
    /// The kernel's code region.
    pub code: Span,
    /// The kernel's data region.
    pub data: Span,
    /// The kernel's stack per core.
    pub stack_size: u32,
    /// The console device (index into [`Board::devices`]).
    pub console: usize,
    /// Its driver.
    pub console_driver: ConsoleDriver,
    /// Interrupt ids the kernel keeps.
    pub interrupts: Vec<u32>,
}

/// Reads and validates a board description.
pub(super) fn load(path: &Path, text: &str) -> Result<(Board, BoardKernelDefaults), Problems> {
    let mut checker = Checker::new(path, text);
    let Some(file) = checker.parse::<raw::BoardFile>(text) else {
        return Err(checker.problems);
    };
    let mut memories = Vec::new();
    for memory in &file.memory {
        let name = memory.get_ref().name.get_ref().clone();
        let base = *memory.get_ref().base.get_ref();
        let size = memory.get_ref().size.get_ref().0;
        if base % GRANULE as u64 != 0 || size % GRANULE as u64 != 0 || size == 0 || base + size > 1 << 32 {
            checker.at(
                format!("memory.{name}"),
                memory,
                "a memory must be a non-empty, 64-byte aligned range below 4 GiB",
            );
        }
        memories.push(Memory { name, base, size, flash: memory.get_ref().kind == MemoryKind::Flash });
    }
    let cores = *file.board.cores.get_ref();
    if !(1..=MAX_CLUSTER_CORES).contains(&cores) {
        checker.at(
            "board.cores",
            &file.board.cores,
            format!(
                "a kernel image runs on 1 to {MAX_CLUSTER_CORES} cores of one cluster (MPIDR.Aff0; a GICv3 SGI \
                 target list names 16), not {cores}"
            ),
        );
    }
    let cluster_affinity = match &file.board.cluster {
        None => 0,
        Some(cluster) if *cluster.get_ref() <= 0xFFFF => *cluster.get_ref() << 8,
        Some(cluster) => {
            checker.at(
                "board.cluster",
                cluster,
                format!("the cluster is MPIDR's Aff2.Aff1 (0..=0xffff), not {:#x}", cluster.get_ref()),
            );
            0
        }
    };
    let mut devices: Vec<Device> = Vec::new();
    for device in &file.device {
        let raw = device.get_ref();
        let name = raw.name.get_ref().clone();
        let (Some(base), Some(size)) = (to_u32(*raw.base.get_ref()), to_u32(raw.size.get_ref().0)) else {
            checker.at(format!("device.{name}"), device, "device frame beyond 4 GiB");
            continue;
        };
        if base % GRANULE != 0 || size % GRANULE != 0 || size == 0 {
            checker.at(format!("device.{name}"), device, "a device frame must be a non-empty, 64-byte aligned range");
        }
        for intid in &raw.edge_triggered {
            if *intid.get_ref() < 32 || !raw.interrupts.contains(intid.get_ref()) {
                checker.at(
                    format!("device.{name}.edge_triggered"),
                    intid,
                    format!("interrupt {} is not one of this device's SPIs (`interrupts`, 32 and up)", intid.get_ref()),
                );
            }
        }
        if devices.iter().any(|d| d.name == name) {
            checker.at(format!("device.{name}.name"), &raw.name, "device name used twice");
        }
        let ports = raw.serial.as_ref().map_or_else(Vec::new, |serial| serial.get_ref().ports());
        if let Some(serial) = &raw.serial {
            let key = format!("device.{name}.serial");
            let mut used: Vec<(u8, &str)> = Vec::new();
            for device in &devices {
                let other = if device.core_serials.is_empty() {
                    device.serial.into_iter().collect()
                } else {
                    device.core_serials.clone()
                };
                used.extend(other.into_iter().map(|port| (port, device.name.as_str())));
            }
            if let Some((_, other)) = used.iter().find(|(port, _)| ports.contains(port)) {
                checker.at(&key, serial, format!("serial port used by `{other}` too"));
            } else if let raw::Serial::PerCore(list) = serial.get_ref() {
                if !raw.per_core {
                    checker.at(&key, serial, "a list of serial ports is for a `per_core` device, one port per core");
                } else if list.len() != cores as usize {
                    checker.at(
                        &key,
                        serial,
                        format!("lists {} serial ports but the board has {cores} cores: one port per core", list.len()),
                    );
                } else if (1..list.len()).any(|i| list[..i].contains(&list[i])) {
                    checker.at(&key, serial, "each core's instance needs a serial port of its own");
                }
            }
        }
        devices.push(Device {
            name,
            base,
            size,
            interrupts: raw.interrupts.clone(),
            edge_triggered: raw.edge_triggered.iter().map(|intid| *intid.get_ref()).collect(),
            description: raw.description.clone(),
            chip_wide: raw.chip_wide.clone(),
            per_core: raw.per_core,
            serial: ports.first().copied(),
            core_serials: match raw.serial.as_ref().map(|serial| serial.get_ref()) {
                Some(raw::Serial::PerCore(list)) if raw.per_core => list.clone(),
                _ => Vec::new(),
            },
        });
    }
    let gic = &file.gic;
    if gic.redistributor_stride.get_ref().0 != REDISTRIBUTOR_STRIDE as u64 {
        checker.at(
            "gic.redistributor_stride",
            &gic.redistributor_stride,
            "the kernel supports a GICv3 without virtual LPIs only: 128K per redistributor (an RD and an SGI frame)",
        );
    }
    let distributor = *gic.distributor.get_ref();
    let redistributor_end = *gic.redistributor.get_ref() + gic.redistributor_stride.get_ref().0 * cores as u64;
    let region_base = distributor.min(*gic.redistributor.get_ref());
    let region_end = (distributor + gic.distributor_size.get_ref().0).max(redistributor_end);
    let gic_model = Gic {
        distributor: distributor as u32,
        redistributor: *gic.redistributor.get_ref() as u32,
        redistributor_stride: gic.redistributor_stride.get_ref().0 as u32,
        interrupts: *gic.interrupts.get_ref(),
        region_base: region_base as u32,
        region_size: (region_end - region_base) as u32,
    };
    let console_name = file.kernel.console.get_ref();
    let console = match devices.iter().position(|d| &d.name == console_name) {
        Some(index) => index,
        None => {
            checker.at("kernel.console", &file.kernel.console, format!("no device `{console_name}`"));
            0
        }
    };
    let board = Board {
        name: file.board.name.get_ref().clone(),
        file: path.to_owned(),
        cores,
        cluster_affinity,
        timer_hz: *file.board.timer_hz.get_ref(),
        el2_mpu_regions: *file.board.el2_mpu_regions.get_ref(),
        el1_mpu_regions: *file.board.el1_mpu_regions.get_ref(),
        fpu_d32: file.board.fpu_d32,
        memories,
        devices,
        gic: gic_model,
    };
    if board.el1_mpu_regions > SAVED_EL1_MPU_REGIONS {
        checker.at(
            "board.el1_mpu_regions",
            &file.board.el1_mpu_regions,
            format!("the context switch saves {SAVED_EL1_MPU_REGIONS} EL1 MPU regions; a part with more is not supported yet"),
        );
    }
    if board.el2_mpu_regions > 32 {
        checker.at("board.el2_mpu_regions", &file.board.el2_mpu_regions, "PMSAv8-32 has at most 32 EL2 MPU regions");
    }
    if board.el2_mpu_regions as usize <= KERNEL_REGION_SLOTS {
        checker.at("board.el2_mpu_regions", &file.board.el2_mpu_regions, "the kernel alone needs 4 EL2 MPU regions");
    }
    let mut span_of = |key: &str, placement: &Spanned<raw::Placement>| -> Span {
        let raw = placement.get_ref();
        match (raw.base.as_ref().and_then(|b| to_u32(*b.get_ref())), to_u32(raw.size.get_ref().0)) {
            (Some(base), Some(size)) if size > 0 => Span { base, size },
            _ => {
                checker.at(key, placement, "the kernel's regions need a fixed base and a size below 4 GiB");
                Span { base: 0, size: GRANULE }
            }
        }
    };
    let code = span_of("kernel.code", &file.kernel.code);
    let data = span_of("kernel.data", &file.kernel.data);
    let console_driver = console_driver(&mut checker, &file.kernel);
    let defaults = BoardKernelDefaults {
        code,
        data,
        stack_size: file.kernel.stack_size.get_ref().0 as u32,
        console,
        console_driver,
        interrupts: file.kernel.interrupts.iter().map(|i| *i.get_ref()).collect(),
    };
    checker.problems.into_result()?;
    Ok((board, defaults))
}

/// `[kernel] console_driver` and the parameters it needs.
fn console_driver(checker: &mut Checker, kernel: &raw::BoardKernel) -> ConsoleDriver {
    match kernel.console_driver.get_ref().as_str() {
        "cmsdk-uart" => {
            for (key, value) in [("console_clock_hz", &kernel.console_clock_hz), ("console_baud", &kernel.console_baud)]
            {
                if let Some(value) = value {
                    checker.at(format!("kernel.{key}"), value, "only the `nxp-linflexd` console driver takes it");
                }
            }
            ConsoleDriver::CmsdkUart
        }
        "nxp-linflexd" => {
            let (Some(clock), Some(baud_key)) = (&kernel.console_clock_hz, &kernel.console_baud) else {
                checker.at(
                    "kernel.console_driver",
                    &kernel.console_driver,
                    "`nxp-linflexd` needs `console_clock_hz` (the LINFlexD module clock) and `console_baud`",
                );
                return ConsoleDriver::CmsdkUart;
            };
            let (clock_hz, baud) = (*clock.get_ref(), *baud_key.get_ref());
            if nxp_s32z2::linflexd::dividers(clock_hz, baud).is_none() {
                checker.at(
                    "kernel.console_baud",
                    baud_key,
                    format!("{baud} baud cannot be made from {clock_hz} Hz (LINIBRR = clock / (16 * baud) must be 1 to 2^20 - 1)"),
                );
            }
            ConsoleDriver::NxpLinflexd { clock_hz, baud }
        }
        other => {
            checker.at(
                "kernel.console_driver",
                &kernel.console_driver,
                format!("unknown console driver `{other}`: one of `cmsdk-uart`, `nxp-linflexd`"),
            );
            ConsoleDriver::CmsdkUart
        }
    }
}
