//! The UARTs a system gives its partitions, and how `cargo xtask run` shows
//! them: each captured from its first byte ([`Run::capture_uart`]), its
//! lines on standard output prefixed with its device name (`[uart4] ...`),
//! whole, in one sequence with the console's, and what you type sent to one
//! of them.
//!
//! A UART is a board device with a serial port number (`serial` in
//! `board.toml`). A per-core UART given to a partition is its core's
//! instance, with that instance's port ([`System::partition_serial`]). The
//! UARTs that carry a VIRTIO link's doorbells are not text: they are left
//! to `cargo xtask console`, and said so.

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
    /// The kernel consoles of scheduled cores after core 0: (core, serial
    /// port). Shown live, each line after `[core N]`.
    pub consoles: Vec<(u32, u8)>,
    /// Cores QEMU must run: one past the highest scheduled core.
    pub cores: u8,
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
        // Every scheduled core's kernel console (core 0's is port 0).
        let consoles: Vec<(u32, u8)> = (0..system.board.cores)
            .filter_map(|core| system.console_serial(core).map(|serial| (core, serial)))
            .collect();
        for (id, partition) in system.partitions.iter().enumerate() {
            for region in &partition.regions {
                let RegionKind::Device(index) = region.kind else { continue };
                let device = &devices[index];
                let Some(serial) = system.partition_serial(id, index) else { continue };
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
                if let Some((core, _)) = consoles.iter().find(|(_, console)| *console == serial) {
                    bail!(
                        "`{}` of partition `{}` is serial port {serial}, which a run reads as the kernel console of core {core}",
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
        let cores = system.schedules.iter().map(|s| s.core + 1).max().unwrap_or(1) as u8;
        let consoles = consoles.into_iter().filter(|(core, _)| *core != 0).collect();
        Ok(Uarts { shown, doorbells, input, consoles, cores })
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
        run = run.cores(self.cores);
        for (_, serial) in &self.consoles {
            run = run.capture_uart(*serial);
        }
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
            Source::Uart(serial) => match (self.device(serial), self.consoles.iter().find(|(_, s)| *s == serial)) {
                (Some(device), _) => format!("[{device}] {text}"),
                (None, Some((core, _))) => format!("[core {core}] {text}"),
                (None, None) => format!("[serial port {serial}] {text}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A per-core UART `lcl` (ports 6 and 7) given to `a` on core 0 and `b`
    /// on core 1: each sees its own core's instance.
    #[test]
    fn a_per_core_uart_is_its_partitions_cores_port() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let boards = std::env::temp_dir().join(format!("bulkhead-uarts-{}", std::process::id()));
        let board = std::fs::read_to_string(workspace.join("boards/mps3-an536/board.toml")).expect("board");
        std::fs::create_dir_all(boards.join("mps3-an536")).expect("boards directory");
        std::fs::write(
            boards.join("mps3-an536/board.toml"),
            format!(
                "{board}\n[[device]]\nname = \"lcl\"\nbase = 0xE7C1_0000\nsize = \"4K\"\nper_core = true\n\
                 serial = [6, 7]\ndescription = \"a per-core UART\"\n"
            ),
        )
        .expect("board");
        let partition = |name: &str| {
            format!(
                "[[partition]]\nname = \"{name}\"\nimage = \"demo-clock\"\nfault_policy = \"restart\"\n\
                 code = {{ size = \"64K\" }}\ndata = {{ size = \"32K\" }}\ndevices = [\"lcl\"]\n"
            )
        };
        let text = format!(
            "[system]\nname = \"t\"\nboard = \"mps3-an536\"\n{}{}\
             [[schedule]]\nmajor_frame = \"10ms\"\nwindows = [{{ partition = \"b\", duration = \"5ms\" }}]\n\
             [[schedule]]\ncore = 1\nmajor_frame = \"10ms\"\nwindows = [{{ partition = \"a\", duration = \"5ms\" }}]\n",
            partition("a"),
            partition("b")
        );
        let system = bulkhead_sysgen::validate::parse(Path::new("t.toml"), &text, &boards);
        let _ = std::fs::remove_dir_all(&boards);
        let system =
            system.unwrap_or_else(|problems| panic!("{:?}", problems.0.iter().map(|p| p.line()).collect::<Vec<_>>()));
        let uarts = Uarts::of(&system, Some(NO_INPUT)).expect("uarts");
        let shown: Vec<(u8, &str)> = uarts.shown.iter().map(|u| (u.serial, u.partition.as_str())).collect();
        assert_eq!(shown, [(6, "b"), (7, "a")]);
        assert_eq!((system.console_serial(0), system.console_serial(1)), (Some(0), Some(1)));
    }
}
