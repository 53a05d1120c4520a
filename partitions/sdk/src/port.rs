//! Ports: this partition's ends of its channels (`[[channel]]` in the
//! system description).
//!
//! A channel's window is mapped read/write into its writer and read-only
//! into each reader; messages go straight through it, by `bulkhead-ports`'
//! lock-free protocols, without the kernel. Sampling messages are dated with
//! system time read from the physical counter (`CNTPCT`, which partitions
//! may read) minus the epoch, taken once when a sampling end is opened
//! ([`hypercall::system_epoch`]). The kernel is called only to take queued
//! messages ([`hypercall::queue_ack`], since a reader cannot store to the
//! window) and to notify readers ([`hypercall::port_notify`]).
//!
//! Open an end by the channel's name, as the description spells it:
//!
//! ```ignore
//! let speed = SamplingWriter::open("speed").expect("this partition writes `speed`");
//! speed.write(&reading.to_le_bytes())?;
//! ```
//!
//! `open` returns `None` when this partition has no such end (another
//! name, kind or role): the generated layout lists exactly its own.
//!
//! This module owns the SDK's one construction of a window from an address;
//! it never touches memory outside a window the layout lists for this
//! partition.

use crate::hypercall;
use crate::layout::{CHANNELS, Channel, ChannelKind, Role};
use bulkhead_abi::Error;
use bulkhead_abi::health::ErrorKind;
pub use bulkhead_ports::queuing::{ReceiveError, SendError};
pub use bulkhead_ports::sampling::{ReadError, WriteError};
use bulkhead_ports::{RawWindow, queuing, sampling};

/// This partition's end of channel `name` in role `role` and of kind
/// `queuing`, as a window.
fn find(name: &str, writer: bool, queuing: bool) -> Option<(&'static Channel, RawWindow)> {
    let channel = CHANNELS.iter().find(|channel| {
        channel.name == name
            && matches!(channel.role, Role::Writer) == writer
            && matches!(channel.kind, ChannelKind::Queuing { .. }) == queuing
    })?;
    #[allow(unsafe_code, reason = "the SDK's one window made from an address: the generated layout's own")]
    // SAFETY: the generated layout lists this window as mapped into this
    // partition (read/write for its writer, read-only for a reader, which
    // the protocols never store through) for the whole run; nothing else in
    // the partition is placed there, so no Rust reference aliases it.
    let window = unsafe { RawWindow::new(channel.base as *mut u8, channel.size) };
    Some((channel, window))
}

/// The depth of a queuing channel (1 for sampling, never used).
fn depth(channel: &Channel) -> u32 {
    match channel.kind {
        ChannelKind::Queuing { depth } => depth,
        ChannelKind::Sampling => 1,
    }
}

/// System time now, from the physical counter and the `epoch`.
fn system_now(epoch: u64) -> u64 {
    hypercall::physical_counter().wrapping_sub(epoch)
}

/// The writing end of a sampling channel.
pub struct SamplingWriter {
    channel: &'static Channel,
    writer: sampling::SamplingWriter<RawWindow>,
    /// The system's epoch (`SystemEpoch`), for dating messages.
    epoch: u64,
}

impl SamplingWriter {
    /// The end of channel `name`, if this partition writes that sampling
    /// channel.
    pub fn open(name: &str) -> Option<SamplingWriter> {
        let (channel, window) = find(name, true, false)?;
        let writer = sampling::SamplingWriter::new(window, channel.message_size).ok()?;
        Some(SamplingWriter { channel, writer, epoch: hypercall::system_epoch().ticks })
    }

    /// Publishes `payload` as the latest value, dated with system time.
    /// Returns its message number (1, 2, ...). Never waits for a reader.
    pub fn write(&self, payload: &[u8]) -> Result<u32, WriteError> {
        self.writer.write(payload, system_now(self.epoch))
    }

    /// Publishes `payload` dated `stamp` (system time ticks).
    pub fn write_stamped(&self, payload: &[u8], stamp: u64) -> Result<u32, WriteError> {
        self.writer.write(payload, stamp)
    }

    /// Raises the readers' notify interrupt.
    pub fn notify(&self) -> Result<(), Error> {
        hypercall::port_notify(self.channel.id)
    }

    /// The channel as the layout describes it.
    pub fn channel(&self) -> &'static Channel {
        self.channel
    }
}

/// A value read from a sampling channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Its number: 1 for the writer's first, counting up.
    pub number: u32,
    /// Bytes of it copied out.
    pub length: usize,
    /// System time it was written at, in ticks.
    pub stamp: u64,
    /// How long ago, in ticks, at the read.
    pub age: u64,
    /// Older than the channel's `refresh` (never, without one).
    pub stale: bool,
}

/// The reading end of a sampling channel.
pub struct SamplingReader {
    channel: &'static Channel,
    reader: sampling::SamplingReader<RawWindow>,
    /// The system's epoch (`SystemEpoch`), for the age of what it reads.
    epoch: u64,
}

impl SamplingReader {
    /// The end of channel `name`, if this partition reads that sampling
    /// channel.
    pub fn open(name: &str) -> Option<SamplingReader> {
        let (channel, window) = find(name, false, false)?;
        let reader = sampling::SamplingReader::new(window, channel.message_size).ok()?;
        Some(SamplingReader { channel, reader, epoch: hypercall::system_epoch().ticks })
    }

    /// Copies the latest complete value into `out`. Never a torn value:
    /// `Err(ReadError::Raced)` if the writer rewrote it during every try.
    pub fn read(&self, out: &mut [u8]) -> Result<Sample, ReadError> {
        let sample = self.reader.read(out)?;
        let now = system_now(self.epoch);
        let age = now.saturating_sub(sample.stamp);
        Ok(Sample {
            number: sample.number,
            length: sample.length as usize,
            stamp: sample.stamp,
            age,
            stale: sampling::is_stale(sample.stamp, now, self.channel.refresh_ticks),
        })
    }

    /// The channel as the layout describes it.
    pub fn channel(&self) -> &'static Channel {
        self.channel
    }
}

/// The writing end of a queuing channel.
pub struct QueueSender {
    channel: &'static Channel,
    sender: queuing::QueueSender<RawWindow>,
    /// The last send overflowed (and was reported to the health monitor).
    overflowing: core::cell::Cell<bool>,
}

impl QueueSender {
    /// The end of channel `name`, if this partition writes that queuing
    /// channel.
    pub fn open(name: &str) -> Option<QueueSender> {
        let (channel, window) = find(name, true, true)?;
        let sender = queuing::QueueSender::new(window, channel.message_size, depth(channel), channel.readers).ok()?;
        Some(QueueSender { channel, sender, overflowing: core::cell::Cell::new(false) })
    }

    /// Appends `payload` to every reader's queue. A reader whose queue is
    /// full misses it, and its overflow count goes up: `Err(Full)` names
    /// those readers; the others got it. Never waits.
    ///
    /// The first overflow of a run (after a send every reader took) is
    /// reported to the health monitor (`HealthReport`, error kind
    /// `port-overflow`), whose action for this partition applies: `log`
    /// (the default) returns the error here; `restart`, `halt` or `monitor`
    /// do not return.
    pub fn send(&self, payload: &[u8]) -> Result<(), SendError> {
        let result = self.sender.send(payload);
        let overflowed = matches!(result, Err(SendError::Full { .. }));
        if overflowed && !self.overflowing.get() {
            // Refused only if the layout and the kernel disagree on the
            // channel; the overflow itself is counted in the window anyway.
            let _ = hypercall::health_report(ErrorKind::PortOverflow, self.channel.id);
        }
        self.overflowing.set(overflowed);
        result
    }

    /// Raises the readers' notify interrupt.
    pub fn notify(&self) -> Result<(), Error> {
        hypercall::port_notify(self.channel.id)
    }

    /// Messages reader `reader` (its index in the channel's readers) missed
    /// because its queue was full.
    pub fn overflows(&self, reader: u32) -> u32 {
        self.sender.overflows(reader)
    }

    /// The channel as the layout describes it.
    pub fn channel(&self) -> &'static Channel {
        self.channel
    }
}

/// The reading end of a queuing channel.
pub struct QueueReceiver {
    channel: &'static Channel,
    receiver: queuing::QueueReceiver<RawWindow>,
}

/// Why [`QueueReceiver::receive`] returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeError {
    /// The protocol's answer (empty, corrupt, buffer too small).
    Receive(ReceiveError),
    /// The kernel refused the `QueueAck`.
    Kernel(Error),
}

impl QueueReceiver {
    /// The end of channel `name`, if this partition reads that queuing
    /// channel.
    pub fn open(name: &str) -> Option<QueueReceiver> {
        let (channel, window) = find(name, false, true)?;
        let Role::Reader { index } = channel.role else { return None };
        let receiver = queuing::QueueReceiver::new(window, channel.message_size, depth(channel), index).ok()?;
        Some(QueueReceiver { channel, receiver })
    }

    /// Takes the oldest message into `out`, returning its length: copies
    /// it, then tells the kernel it is taken (`QueueAck`).
    pub fn receive(&self, out: &mut [u8]) -> Result<usize, TakeError> {
        let received = self.receiver.receive(out).map_err(TakeError::Receive)?;
        hypercall::queue_ack(self.channel.id, received.consumed_after).map_err(TakeError::Kernel)?;
        Ok(received.length as usize)
    }

    /// Messages waiting.
    pub fn pending(&self) -> u32 {
        self.receiver.pending()
    }

    /// Messages this reader missed because its queue was full.
    pub fn overflows(&self) -> u32 {
        self.receiver.overflows()
    }

    /// The channel as the layout describes it.
    pub fn channel(&self) -> &'static Channel {
        self.channel
    }
}
