//! The UARTs a system gives its partitions, and how `cargo xtask run` shows
//! them: each captured from its first byte ([`Run::capture_uart`]), its
//! lines on standard output prefixed with its device name (`[uart4] ...`),
//! whole, in one sequence with the console's, and what you type sent to one
//! of them.
//!
//! A UART is a board device with a serial port number (`serial` in
//! `board.toml`). The UARTs that carry a VIRTIO link's doorbells are not
//! text: they are left to `cargo xtask console`, and said so.

use crate::qemu::{Run, Source};
use anyhow::{Result, bail};
use bulkhead_sysgen::System;
use bulkhead_sysgen::model::RegionKind;

/// A UART given to a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionUart {
    /// The board device (`uart4`).
    pub device: String,
    /// Its serial port number.
    pub serial: u8,
    /// The partition it is given to.
    pub partition: String,
}

/// The partition UARTs of a system, as `cargo xtask run` connects them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uarts {
    /// Shown, in serial port order.
    pub shown: Vec<PartitionUart>,
    /// Not shown because they carry a VIRTIO link's doorbells: (device,
    /// link).
    pub doorbells: Vec<(String, String)>,
    /// The index in `shown` of the one typing goes to.
    pub input: Option<usize>,
}

/// What `--input` takes for "no UART".
pub const NO_INPUT: &str = "none";

impl Uarts {
    /// The UARTs `system` gives its partitions, with typing going to
    /// `input`: a device name, [`NO_INPUT`], or by default `uart2` when a
    /// partition has it (the demo's echo), else the first UART shown, else
    /// none. Refuses an `input` that is none of these, listing the choices.
    pub fn of(system: &System, input: Option<&str>) -> Result<Uarts> {
        let devices = &system.board.devices;
        let mut shown: Vec<PartitionUart> = Vec::new();
        let mut doorbells = Vec::new();
        for partition in &system.partitions {
            for region in &partition.regions {
                let RegionKind::Device(index) = region.kind else { continue };
                let device = &devices[index];
                let Some(serial) = device.serial else { continue };
                let links: Vec<&str> = system
                    .virtio
                    .iter()
                    .filter(|link| link.mailbox.device == index || link.mailbox.send_device == index)
                    .map(|link| link.name.as_str())
                    .collect();
                if let Some(link) = links.first() {
                    doorbells.push((device.name.clone(), (*link).to_owned()));
                    continue;
                }
                if serial == 0 {
                    bail!(
                        "`{}` of partition `{}` is serial port 0, which a run reads as the kernel console",
                        device.name,
                        partition.name
                    );
                }
                if let Some(other) = shown.iter().find(|u| u.serial == serial) {
                    bail!("`{}` and `{}` are both serial port {serial}", other.device, device.name);
                }
                shown.push(PartitionUart { device: device.name.clone(), serial, partition: partition.name.clone() });
            }
        }
        shown.sort_by_key(|uart| uart.serial);
        let position = |name: &str| shown.iter().position(|uart| uart.device == name);
        let input = match input {
            None => position("uart2").or(if shown.is_empty() { None } else { Some(0) }),
            Some(NO_INPUT) => None,
            Some(name) => match position(name) {
                Some(index) => Some(index),
                None => {
                    let choices: Vec<&str> = shown.iter().map(|uart| uart.device.as_str()).chain([NO_INPUT]).collect();
                    let why = match doorbells.iter().find(|(device, _)| device == name) {
                        Some((_, link)) => format!(
                            "`{name}` carries the doorbells of VIRTIO link `{link}` (talk to the link with \
                             `cargo xtask console`)"
                        ),
                        None => format!("`{name}` is not a UART of a partition of system `{}`", system.name),
                    };
                    bail!("--input {name}: {why}; choose one of: {}", choices.join(", "));
                }
            },
        };
        Ok(Uarts { shown, doorbells, input })
    }

    /// The one line `cargo xtask run` says at start: which UARTs are shown,
    /// which one typing goes to, which are not shown and why.
    pub fn announcement(&self) -> String {
        let mut text = if self.shown.is_empty() {
            "no partition UART to show: only the kernel console is shown".to_owned()
        } else {
            let shown: Vec<String> =
                self.shown.iter().map(|uart| format!("{} (partition `{}`)", uart.device, uart.partition)).collect();
            let input = match self.input {
                Some(index) => format!("what you type goes to {}", self.shown[index].device),
                None => "what you type goes nowhere".to_owned(),
            };
            format!(
                "partition UARTs shown, each line after its name in brackets: {}; {input} (choose with --input {})",
                shown.join(", "),
                self.shown.iter().map(|uart| uart.device.as_str()).chain([NO_INPUT]).collect::<Vec<_>>().join("|")
            )
        };
        for (device, link) in &self.doorbells {
            text.push_str(&format!(
                "; {device} is not shown: it carries the doorbells of VIRTIO link `{link}` (see `cargo xtask console`)"
            ));
        }
        text
    }

    /// `run` with every shown UART captured and typing sent to the chosen
    /// one.
    pub fn connect(&self, mut run: Run) -> Run {
        for uart in &self.shown {
            run = run.capture_uart(uart.serial);
        }
        if let Some(index) = self.input {
            run = run.input_uart(self.shown[index].serial);
        }
        run
    }

    /// The device name of a shown UART's serial port.
    pub fn device(&self, serial: u8) -> Option<&str> {
        self.shown.iter().find(|uart| uart.serial == serial).map(|uart| uart.device.as_str())
    }

    /// A line of the run as `cargo xtask run` prints it: the console's as
    /// it is, a UART's after its device name in brackets.
    pub fn line(&self, source: Source, text: &str) -> String {
        match source {
            Source::Console => text.to_owned(),
            Source::Uart(serial) => match self.device(serial) {
                Some(device) => format!("[{device}] {text}"),
                None => format!("[serial port {serial}] {text}"),
            },
        }
    }
}
