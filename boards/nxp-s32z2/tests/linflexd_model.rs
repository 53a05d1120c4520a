//! The LINFlexD driver against a model of the device that enforces the
//! reference manual's rules: `UARTCR` and the rate dividers are written in
//! init mode only, UART mode is selected alone before the other `UARTCR`
//! fields, bytes are byte stores to `BDRL` in normal mode with the
//! transmitter on and room in the 4-byte FIFO. Every rule the model checks
//! is also broken on purpose below, to show the model catches it.

use bulkhead_console::Registers;
use embedded_io::Write;
use nxp_s32z2::linflexd::*;
use proptest::prelude::*;
use std::collections::VecDeque;

/// Transmit FIFO depth (RM: 4 bytes in UART FIFO mode).
const FIFO_DEPTH: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sleep,
    Init,
    Normal,
}

#[derive(Debug)]
struct Model {
    lincr1: u32,
    mode: Mode,
    /// `LINSR` reads, after an init request, before init mode shows
    /// (`None`: never).
    init_delay: Option<u32>,
    pending_init: Option<u32>,
    uartcr: u32,
    ibrr: u32,
    fbrr: u32,
    pto: u32,
    fifo: VecDeque<u8>,
    sent: Vec<u8>,
    /// Bytes the line sends per `UARTSR` read (0: a stalled line).
    drain_per_status_read: usize,
    violations: Vec<String>,
    writes: Vec<(usize, u32)>,
}

impl Model {
    fn new() -> Model {
        Model {
            lincr1: 0x82, // reset: SLEEP and reserved bit 7
            mode: Mode::Sleep,
            init_delay: Some(3),
            pending_init: None,
            uartcr: 0,
            ibrr: 0,
            fbrr: 0,
            pto: 0,
            fifo: VecDeque::new(),
            sent: Vec::new(),
            drain_per_status_read: 0,
            violations: Vec::new(),
            writes: Vec::new(),
        }
    }

    fn drain(&mut self, count: usize) {
        for _ in 0..count {
            if let Some(byte) = self.fifo.pop_front() {
                self.sent.push(byte);
            }
        }
    }

    fn violate(&mut self, what: &str) {
        self.violations.push(what.to_owned());
    }
}

impl Registers for Model {
    fn read(&mut self, offset: usize) -> u32 {
        match offset {
            reg::LINCR1 => self.lincr1,
            reg::LINSR => {
                if let Some(left) = self.pending_init {
                    if left == 0 {
                        self.mode = Mode::Init;
                        self.pending_init = None;
                    } else {
                        self.pending_init = Some(left - 1);
                    }
                }
                match self.mode {
                    Mode::Sleep => 0,
                    Mode::Init => LINSR_LINS_INIT,
                    Mode::Normal => 0x2 << 12,
                }
            }
            reg::UARTCR => self.uartcr,
            reg::UARTSR => {
                let count = self.drain_per_status_read;
                self.drain(count);
                if self.fifo.len() >= FIFO_DEPTH { UARTSR_DTFTFF } else { 0 }
            }
            _ => {
                self.violate(&format!("read of unexpected register {offset:#x}"));
                0
            }
        }
    }

    fn write(&mut self, offset: usize, value: u32) {
        self.writes.push((offset, value));
        let in_init = self.mode == Mode::Init;
        match offset {
            reg::LINCR1 => {
                self.lincr1 = value;
                if value & LINCR1_INIT != 0 {
                    if value & LINCR1_SLEEP != 0 {
                        self.violate("init requested with SLEEP still set");
                    }
                    if self.mode != Mode::Init {
                        self.pending_init = self.init_delay;
                    }
                } else if in_init {
                    if self.uartcr & UARTCR_UART == 0 {
                        self.violate("left init mode without UART mode");
                    }
                    self.mode = Mode::Normal;
                }
            }
            reg::UARTCR => {
                if !in_init {
                    self.violate("UARTCR written outside init mode");
                }
                if self.uartcr & UARTCR_UART == 0 && value != UARTCR_UART {
                    self.violate("UARTCR fields written before UART mode was selected alone");
                }
                self.uartcr = value;
            }
            reg::LINIBRR | reg::LINFBRR => {
                if !in_init {
                    self.violate("baud divider written outside init mode");
                }
                if self.uartcr & UARTCR_UART == 0 {
                    self.violate("baud divider written before UART mode");
                }
                if offset == reg::LINIBRR {
                    self.ibrr = value;
                } else {
                    if value > 0xF {
                        self.violate("LINFBRR holds 4 bits");
                    }
                    self.fbrr = value;
                }
            }
            reg::UARTPTO => {
                if !in_init {
                    self.violate("UARTPTO written outside init mode");
                }
                self.pto = value;
            }
            reg::BDRL => self.violate("32-bit store to BDRL (sends a word, not a byte)"),
            _ => self.violate(&format!("write of unexpected register {offset:#x}")),
        }
    }

    fn write_u8(&mut self, offset: usize, value: u8) {
        self.writes.push((offset, value as u32));
        if offset != reg::BDRL {
            self.violate(&format!("byte store to {offset:#x}"));
            return;
        }
        if self.mode != Mode::Normal {
            self.violate("byte sent outside normal mode");
        }
        if self.uartcr & UARTCR_TXEN == 0 || self.uartcr & UARTCR_TFBM == 0 {
            self.violate("byte sent without the transmitter in FIFO mode");
        }
        if self.fifo.len() >= FIFO_DEPTH {
            self.violate("byte stored into a full FIFO");
            return;
        }
        self.fifo.push_back(value);
    }
}

fn ready(clock: u32, baud: u32) -> Linflexd<Model> {
    let mut uart = Linflexd::new(Model::new());
    assert_eq!(uart.init(clock, baud), Ok(()));
    uart
}

#[test]
fn set_up_follows_the_reference_sequence() {
    let mut uart = ready(80_000_000, 115_200);
    let model = uart.registers();
    assert_eq!(model.violations, Vec::<String>::new());
    // 80 MHz / (16 * 115200) = 43.40: 43 and 6/16.
    assert_eq!((model.ibrr, model.fbrr), (43, 6));
    assert_eq!(model.uartcr, UARTCR_8N1_FIFO);
    assert_eq!(model.uartcr & UARTCR_ROSE, 0, "16x oversampling");
    assert_eq!(model.pto, 0xF);
    assert_eq!(model.mode, Mode::Normal);
    let order: Vec<usize> = model.writes.iter().map(|(offset, _)| *offset).collect();
    assert_eq!(order, [reg::LINCR1, reg::UARTCR, reg::LINIBRR, reg::LINFBRR, reg::UARTPTO, reg::UARTCR, reg::LINCR1]);
    assert_eq!(model.writes[0].1, LINCR1_MME | LINCR1_INIT, "leaves sleep mode as it requests init");
    assert_eq!(model.writes[1].1, UARTCR_UART, "UART mode alone first");
    assert_eq!(model.writes[6].1 & LINCR1_INIT, 0);
}

#[test]
fn a_device_that_never_enters_init_mode_is_given_up_in_bounded_time() {
    let mut model = Model::new();
    model.init_delay = None;
    let mut uart = Linflexd::new(model);
    assert_eq!(uart.init(80_000_000, 115_200), Err(InitError::NoInitMode));
    let model = uart.registers();
    assert_eq!(model.writes, [(reg::LINCR1, LINCR1_MME | LINCR1_INIT)], "nothing else is written");
    assert!(!uart.try_write_byte(b'x'), "a UART that is not set up takes no byte");
    assert!(uart.registers().violations.is_empty(), "{:?}", uart.registers().violations);
}

#[test]
fn an_impossible_rate_is_refused_before_touching_the_device() {
    for (clock, baud) in [(80_000_000, 0), (1_000, 115_200), (u32::MAX, 1)] {
        let mut uart = Linflexd::new(Model::new());
        assert_eq!(uart.init(clock, baud), Err(InitError::BadRate), "{clock} Hz, {baud} baud");
        assert!(uart.registers().writes.is_empty());
    }
}

#[test]
fn bytes_go_out_in_order_and_a_full_fifo_refuses_without_waiting() {
    let mut uart = ready(80_000_000, 115_200);
    let message = b"@boot system=demo\n";
    let mut at = 0;
    let mut refusals = 0;
    while at < message.len() {
        if uart.try_write_byte(message[at]) {
            at += 1;
        } else {
            refusals += 1;
            assert_eq!(uart.registers().fifo.len(), FIFO_DEPTH, "refused only when full");
            uart.registers().drain(1);
        }
    }
    let model = uart.registers();
    model.drain(FIFO_DEPTH);
    assert_eq!(model.sent, message);
    assert!(refusals > 0, "the FIFO filled at least once");
    assert_eq!(model.violations, Vec::<String>::new());
}

#[test]
fn embedded_io_write_all_sends_everything_through_a_slow_line() {
    let mut uart = ready(40_000_000, 921_600);
    uart.registers().drain_per_status_read = 1;
    let text: Vec<u8> = (0..200u8).collect();
    uart.write_all(&text).expect("the line drains");
    uart.flush().expect("flush");
    uart.registers().drain(FIFO_DEPTH);
    assert_eq!(uart.registers().sent, text);
    assert_eq!(uart.registers().violations, Vec::<String>::new());
}

#[test]
fn a_stalled_line_is_an_error_not_a_hang() {
    let mut uart = ready(80_000_000, 115_200);
    assert_eq!(uart.write(b"abcd"), Ok(4));
    assert_eq!(uart.write(b"e"), Err(Stalled));
    assert_eq!(embedded_io::Error::kind(&Stalled), embedded_io::ErrorKind::TimedOut);
}

/// The model is not a mirror of the driver: each rule fails when broken.
#[test]
fn the_model_catches_each_broken_rule() {
    type Broken = fn(&mut Model);
    let cases: [(&str, Broken); 6] = [
        ("UARTCR written outside init mode", |m| m.write(reg::UARTCR, UARTCR_UART)),
        ("UARTCR fields written before UART mode was selected alone", |m| {
            m.write(reg::LINCR1, LINCR1_INIT);
            while m.read(reg::LINSR) != LINSR_LINS_INIT {}
            m.write(reg::UARTCR, UARTCR_8N1_FIFO);
        }),
        ("baud divider written outside init mode", |m| m.write(reg::LINIBRR, 43)),
        ("init requested with SLEEP still set", |m| m.write(reg::LINCR1, LINCR1_INIT | LINCR1_SLEEP)),
        ("byte sent outside normal mode", |m| m.write_u8(reg::BDRL, b'x')),
        ("32-bit store to BDRL", |m| m.write(reg::BDRL, b'x' as u32)),
    ];
    for (rule, broken) in cases {
        let mut model = Model::new();
        broken(&mut model);
        assert!(model.violations.iter().any(|v| v.contains(rule)), "`{rule}` not caught: {:?}", model.violations);
    }
    let mut full = ready(80_000_000, 115_200);
    for byte in 0..FIFO_DEPTH as u8 {
        full.registers().write_u8(reg::BDRL, byte);
    }
    full.registers().write_u8(reg::BDRL, 9);
    assert!(full.registers().violations.iter().any(|v| v.contains("full FIFO")));
}

proptest! {
    /// The dividers give `clock / baud` in sixteenths exactly (truncated),
    /// within the registers' widths, or are refused.
    #[test]
    fn dividers_are_the_rate_in_sixteenths(clock in 1u32.., baud in 1u32..10_000_000) {
        match dividers(clock, baud) {
            Some((integer, fraction)) => {
                prop_assert!(fraction < 16);
                prop_assert!((1..1 << 20).contains(&integer));
                prop_assert_eq!(integer as u64 * 16 + fraction as u64, clock as u64 / baud as u64);
            }
            None => {
                let integer = clock as u64 / (16 * baud as u64);
                prop_assert!(integer == 0 || integer >= 1 << 20);
            }
        }
    }
}
