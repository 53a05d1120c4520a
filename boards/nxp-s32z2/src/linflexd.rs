//! LINFlexD in UART mode: 8 data bits, no parity, one stop bit, FIFO mode.
//!
//! Set-up (RM, "UART mode initialisation"), which [`Linflexd::init`]
//! follows and the register model in the tests enforces:
//!
//! 1. `LINCR1 = MME | INIT` (leaves sleep mode, requests init mode), then
//!    wait until `LINSR.LINS` reads init mode (bounded: [`INIT_POLLS`]).
//! 2. `UARTCR = UART` alone: UART mode must be selected before any other
//!    `UARTCR` field is written.
//! 3. The rate: `LINIBRR` = integer and `LINFBRR` = sixteenths of
//!    `clock / (16 * baud)` (16x oversampling, `UARTCR.ROSE` clear).
//! 4. `UARTPTO` (receiver preset timeout) = 0xF.
//! 5. `UARTCR = UART | WL0 | PC0 | PC1 | TXEN | RXEN | TFBM | RFBM`
//!    (8 bits, parity off, both directions, both FIFOs).
//! 6. `LINCR1.INIT = 0`: normal mode.
//!
//! Transmit: in FIFO mode `UARTSR.DTFTFF` means "transmit FIFO full"; a
//! byte is a byte store to `BDRL` when it is clear.

use bulkhead_console::{Console, MmioFrame, Registers};

/// Register offsets.
pub mod reg {
    /// LIN control 1: `INIT`, `SLEEP`, `MME`.
    pub const LINCR1: usize = 0x00;
    /// LIN status: `LINS` (the mode) in bits 15:12.
    pub const LINSR: usize = 0x08;
    /// UART mode control.
    pub const UARTCR: usize = 0x10;
    /// UART mode status.
    pub const UARTSR: usize = 0x14;
    /// Fractional baud rate divider (4 bits).
    pub const LINFBRR: usize = 0x24;
    /// Integer baud rate divider (20 bits).
    pub const LINIBRR: usize = 0x28;
    /// Buffer data register least significant: transmit data.
    pub const BDRL: usize = 0x38;
    /// UART preset timeout.
    pub const UARTPTO: usize = 0x50;
}

/// `LINCR1.INIT`: request init mode.
pub const LINCR1_INIT: u32 = 1 << 0;
/// `LINCR1.SLEEP`: request sleep mode (set out of reset).
pub const LINCR1_SLEEP: u32 = 1 << 1;
/// `LINCR1.MME`: master mode.
pub const LINCR1_MME: u32 = 1 << 4;
/// `LINSR.LINS` field.
pub const LINSR_LINS_MASK: u32 = 0xF << 12;
/// `LINSR.LINS` = init mode.
pub const LINSR_LINS_INIT: u32 = 0x1 << 12;
/// `UARTCR.UART`: UART mode.
pub const UARTCR_UART: u32 = 1 << 0;
/// `UARTCR.WL0`: 8-bit words (with `WL1` clear).
pub const UARTCR_WL0: u32 = 1 << 1;
/// `UARTCR.PC0`.
pub const UARTCR_PC0: u32 = 1 << 3;
/// `UARTCR.TXEN`: transmitter on.
pub const UARTCR_TXEN: u32 = 1 << 4;
/// `UARTCR.RXEN`: receiver on.
pub const UARTCR_RXEN: u32 = 1 << 5;
/// `UARTCR.PC1`.
pub const UARTCR_PC1: u32 = 1 << 6;
/// `UARTCR.TFBM`: transmit FIFO mode.
pub const UARTCR_TFBM: u32 = 1 << 8;
/// `UARTCR.RFBM`: receive FIFO mode.
pub const UARTCR_RFBM: u32 = 1 << 9;
/// `UARTCR.ROSE`: reduced oversampling (left clear: 16x).
pub const UARTCR_ROSE: u32 = 1 << 23;
/// `UARTSR.DTFTFF`: in FIFO mode, the transmit FIFO is full.
pub const UARTSR_DTFTFF: u32 = 1 << 1;
/// The `UARTCR` value of step 5.
pub const UARTCR_8N1_FIFO: u32 =
    UARTCR_UART | UARTCR_WL0 | UARTCR_PC0 | UARTCR_PC1 | UARTCR_TXEN | UARTCR_RXEN | UARTCR_TFBM | UARTCR_RFBM;
/// Reads of `LINSR` before init mode counts as not entered.
pub const INIT_POLLS: u32 = 10_000;
/// Polls of a full FIFO before a blocking write gives up a byte.
pub const WRITE_POLLS: u32 = 1_000_000;

/// `(LINIBRR, LINFBRR)` for `baud` from a `clock` Hz module clock at 16x
/// oversampling: the integer and the truncated sixteenths of
/// `clock / (16 * baud)`. `None` if the rate cannot be made (zero, or a
/// divider outside `LINIBRR`'s 20 bits or below 1).
pub const fn dividers(clock: u32, baud: u32) -> Option<(u32, u32)> {
    let divisor = match (baud as u64).checked_mul(16) {
        Some(d) if d != 0 => d,
        _ => return None,
    };
    let integer = clock as u64 / divisor;
    let fraction = (clock as u64 % divisor) * 16 / divisor;
    if integer == 0 || integer >= 1 << 20 { None } else { Some((integer as u32, fraction as u32)) }
}

/// Why set-up failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// `clock` and `baud` give no valid divider.
    BadRate,
    /// `LINSR` never reported init mode (no clock, held in reset, or not a
    /// LINFlexD).
    NoInitMode,
}

/// A LINFlexD in UART mode.
#[derive(Debug)]
pub struct Linflexd<R> {
    regs: R,
    /// Set up successfully: bytes are refused before.
    ready: bool,
}

impl<R: Registers> Linflexd<R> {
    /// The UART behind `regs`, not yet set up.
    pub const fn new(regs: R) -> Self {
        Linflexd { regs, ready: false }
    }

    /// Sets the UART up for `baud` from a `clock` Hz module clock (steps 1
    /// to 6 above). Bounded: gives up after [`INIT_POLLS`] status reads.
    pub fn init(&mut self, clock: u32, baud: u32) -> Result<(), InitError> {
        let (integer, fraction) = dividers(clock, baud).ok_or(InitError::BadRate)?;
        self.regs.write(reg::LINCR1, LINCR1_MME | LINCR1_INIT);
        let mut polls = INIT_POLLS;
        while self.regs.read(reg::LINSR) & LINSR_LINS_MASK != LINSR_LINS_INIT {
            polls -= 1;
            if polls == 0 {
                return Err(InitError::NoInitMode);
            }
        }
        self.regs.write(reg::UARTCR, UARTCR_UART);
        self.regs.write(reg::LINIBRR, integer);
        self.regs.write(reg::LINFBRR, fraction);
        self.regs.write(reg::UARTPTO, 0xF);
        self.regs.write(reg::UARTCR, UARTCR_8N1_FIFO);
        let lincr1 = self.regs.read(reg::LINCR1);
        self.regs.write(reg::LINCR1, lincr1 & !LINCR1_INIT);
        self.ready = true;
        Ok(())
    }

    /// Queues `byte` if the UART is set up and its transmit FIFO has room;
    /// `false` otherwise.
    #[inline]
    pub fn try_write_byte(&mut self, byte: u8) -> bool {
        if !self.ready || self.regs.read(reg::UARTSR) & UARTSR_DTFTFF != 0 {
            return false;
        }
        self.regs.write_u8(reg::BDRL, byte);
        true
    }

    /// The registers (for tests and diagnostics).
    pub fn registers(&mut self) -> &mut R {
        &mut self.regs
    }
}

/// The FIFO stayed full for [`WRITE_POLLS`] polls: the line is stalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stalled;

impl embedded_io::Error for Stalled {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::TimedOut
    }
}

impl<R> embedded_io::ErrorType for Linflexd<R> {
    type Error = Stalled;
}

impl<R: Registers> embedded_io::Write for Linflexd<R> {
    /// Writes at least one byte, waiting (bounded) for FIFO room for the
    /// first and taking the rest only while the FIFO has room.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Stalled> {
        let Some((&first, rest)) = buf.split_first() else { return Ok(0) };
        let mut polls = WRITE_POLLS;
        while !self.try_write_byte(first) {
            polls -= 1;
            if polls == 0 {
                return Err(Stalled);
            }
        }
        Ok(1 + rest.iter().take_while(|&&byte| self.try_write_byte(byte)).count())
    }

    fn flush(&mut self) -> Result<(), Stalled> {
        // Bytes in the FIFO leave on their own; nothing to push.
        Ok(())
    }
}

/// The kernel console on a LINFlexD: [`Linflexd`] on an [`MmioFrame`] at
/// `CLOCK_HZ` module clock and `BAUD` (the board's `console_clock_hz` and
/// `console_baud`).
#[derive(Debug)]
pub struct LinflexdConsole<const CLOCK_HZ: u32, const BAUD: u32> {
    uart: Linflexd<MmioFrame>,
}

impl<const CLOCK_HZ: u32, const BAUD: u32> Console for LinflexdConsole<CLOCK_HZ, BAUD> {
    unsafe fn at(base: usize) -> Self {
        // SAFETY: forwarded from the caller (`Console::at`'s contract).
        LinflexdConsole { uart: Linflexd::new(unsafe { MmioFrame::new(base) }) }
    }

    fn init(&mut self) -> bool {
        self.uart.init(CLOCK_HZ, BAUD).is_ok()
    }

    #[inline]
    fn try_write_byte(&mut self, byte: u8) -> bool {
        self.uart.try_write_byte(byte)
    }
}
