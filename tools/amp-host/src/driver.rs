//! An rpmsg driver over a shared window, as Linux's `virtio_rpmsg_bus`
//! (with remoteproc underneath) drives a device.
//!
//! Attach: read the resource table (version 1, a vdev entry of type 3 and
//! id 7 with two vrings), reset the status, set ACKNOWLEDGE and DRIVER, take
//! the offered features that it knows (`VIRTIO_RPMSG_F_NS`), place any ring
//! whose address is `FW_RSC_ADDR_ANY` and write the address back, allocate
//! `2 * min(num, 256)` buffers of 512 bytes, post the first half on vring 0
//! (device-writable: the device's messages arrive there), keep the second
//! half for sending on vring 1, and set DRIVER_OK. The caller then rings.

use bulkhead_virtio::resource_table::{self, ADDR_ANY, RSC_VDEV, VIRTIO_ID_RPMSG, field, status};
use bulkhead_virtio::rpmsg::{self, BUFFER_SIZE, HEADER_SIZE, Header, MAX_PAYLOAD, NS_ADDR};
use bulkhead_virtio::vring::{DESC_F_WRITE, DESCRIPTOR_SIZE, Vring};
use bulkhead_virtio::window::Window;
use std::collections::BTreeMap;

use crate::LinkConfig;

/// The status a driver writes when it is ready, after the steps before it.
pub const READY: u8 = status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK;

/// Whose driver this one behaves as. The differences are the ones a device
/// can see through the window and the doorbell; each is cited to its source
/// in `docs/virtio-link.md`, "Driver personalities".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Personality {
    /// This project's own driver: status 0, ACKNOWLEDGE | DRIVER, DRIVER_OK;
    /// sends a batch and rings once; reuses the last buffer returned first;
    /// resets with status 0 and a ring.
    #[default]
    Bulkhead,
    /// Linux's `virtio_rpmsg_bus` over remoteproc (6.12): status 0 and
    /// ACKNOWLEDGE at registration, then DRIVER, then DRIVER_OK and a kick;
    /// kicks after every message it sends; sends from each fresh buffer in
    /// turn, then recycles them in the order the device returned them,
    /// ignoring the used length; resets with status 0 and no kick.
    Linux,
    /// OpenAMP's host (`rpmsg_virtio.c`, `virtqueue.c`): writes DRIVER_OK
    /// alone and never 0; kicks after every message it sends; recycles a
    /// returned buffer before taking a fresh one and takes its size from
    /// the used length; posts every transmit descriptor at the full buffer
    /// size; never resets: a new host zeroes the rings and writes DRIVER_OK.
    OpenAmp,
}

impl Personality {
    /// Every personality.
    pub const ALL: [Personality; 3] = [Personality::Bulkhead, Personality::Linux, Personality::OpenAmp];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Personality::Bulkhead => "bulkhead",
            Personality::Linux => "linux",
            Personality::OpenAmp => "openamp",
        }
    }

    /// The personality called `name`.
    pub fn from_name(name: &str) -> Option<Personality> {
        Personality::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether it rings after each message it sends (Linux's
    /// `rpmsg_send_offchannel_raw`, OpenAMP's
    /// `rpmsg_virtio_send_offchannel_nocopy`) rather than once per batch.
    pub fn kicks_every_send(self) -> bool {
        self != Personality::Bulkhead
    }

    /// Whether its reset writes status 0 and rings (ours), writes 0 without
    /// a ring (Linux), or writes nothing (OpenAMP never resets).
    pub fn reset_rings(self) -> bool {
        self == Personality::Bulkhead
    }
}

/// Why the driver cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// The resource table is not what remoteproc expects.
    BadTable(String),
    /// Not enough room in the window.
    NoRoom,
    /// No free buffer to send from.
    NoBuffer,
    /// Payload over 496 bytes.
    TooLong,
    /// The device set NEEDS_RESET.
    NeedsReset,
    /// The window could not be accessed (a bug in the layout).
    Window,
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::BadTable(why) => write!(f, "bad resource table: {why}"),
            DriverError::NoRoom => write!(f, "the window has no room for the rings and buffers"),
            DriverError::NoBuffer => write!(f, "no free transmit buffer"),
            DriverError::TooLong => write!(f, "payload over {MAX_PAYLOAD} bytes"),
            DriverError::NeedsReset => write!(f, "the device needs a reset"),
            DriverError::Window => write!(f, "shared window access outside the window"),
        }
    }
}

impl std::error::Error for DriverError {}

/// Something the device sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A name service message.
    Announcement {
        /// Service name.
        name: String,
        /// Its address on the device.
        address: u32,
        /// `NS_CREATE` or `NS_DESTROY`.
        flags: u32,
    },
    /// A message for one of our endpoints.
    Message {
        /// Sender (device endpoint).
        src: u32,
        /// Receiver (our endpoint).
        dst: u32,
        /// Payload.
        payload: Vec<u8>,
    },
}

/// Where the rings and buffers went.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// vring 0 and 1.
    pub rings: [Vring; 2],
    /// Window offset of the first buffer.
    pub buffers: u32,
    /// Buffers posted on vring 0.
    pub rx_count: u16,
    /// Buffers for sending on vring 1.
    pub tx_count: u16,
}

/// One side of a ring as the driver keeps it.
#[derive(Clone, Copy, Debug, Default)]
struct DriverRing {
    avail_idx: u16,
    last_used: u16,
}

/// The rpmsg driver.
pub struct Driver<W: Window> {
    window: W,
    config: LinkConfig,
    placement: Placement,
    rx: DriverRing,
    tx: DriverRing,
    tx_free: Vec<u16>,
    /// Transmit buffers never used yet: Linux's `last_sbuf`, OpenAMP's
    /// shared-memory pool cursor.
    tx_fresh: u16,
    personality: Personality,
    /// Services the device announced: name to address.
    pub services: BTreeMap<String, u32>,
}

fn w<T>(value: Option<T>) -> Result<T, DriverError> {
    value.ok_or(DriverError::Window)
}

impl<W: Window> Driver<W> {
    /// Attaches to the device behind `window`: the whole handshake up to
    /// DRIVER_OK. Ring the device afterwards.
    pub fn attach(window: W, config: LinkConfig) -> Result<Driver<W>, DriverError> {
        Driver::attach_with(window, config, |_, _| Ok(()))
    }

    /// [`Driver::attach`], calling `before_ready(window, table)` just before
    /// DRIVER_OK (for hostile tests).
    pub fn attach_with(
        window: W,
        config: LinkConfig,
        before_ready: impl FnOnce(&mut W, u32) -> Result<(), DriverError>,
    ) -> Result<Driver<W>, DriverError> {
        Driver::attach_custom(window, config, before_ready, READY)
    }

    /// Attaches as OpenAMP's driver does (`rproc_virtio_create_vdev`,
    /// `rpmsg_init_vdev_with_config`): no reset and no ACKNOWLEDGE or
    /// DRIVER, the features written, the rings zeroed and the receive
    /// buffers posted, then DRIVER_OK alone. Over a link another driver
    /// left running, this is how an OpenAMP host restarts.
    pub fn attach_openamp(window: W, config: LinkConfig) -> Result<Driver<W>, DriverError> {
        Driver::attach_as(window, config, Personality::OpenAmp)
    }

    /// Attaches as `personality`'s driver does (ring the device afterwards:
    /// Linux's `rpmsg_probe` notifies vring 0 right after DRIVER_OK; the
    /// others leave it to the caller).
    pub fn attach_as(window: W, config: LinkConfig, personality: Personality) -> Result<Driver<W>, DriverError> {
        let steps: &[u8] = match personality {
            Personality::Bulkhead => &[0, status::ACKNOWLEDGE | status::DRIVER],
            // `register_virtio_device` resets and acknowledges; a driver
            // bound again after `virtio_dev_remove` (which leaves
            // ACKNOWLEDGE) starts at `virtio_dev_probe`: DRIVER only.
            Personality::Linux => {
                let now = w(window.read_u8(config.table + field::STATUS))?;
                if now == status::ACKNOWLEDGE {
                    &[status::ACKNOWLEDGE | status::DRIVER]
                } else {
                    &[0, status::ACKNOWLEDGE, status::ACKNOWLEDGE | status::DRIVER]
                }
            }
            Personality::OpenAmp => &[],
        };
        let ready = if personality == Personality::OpenAmp { status::DRIVER_OK } else { READY };
        Driver::attach_inner(window, config, |_, _| Ok(()), steps, ready, personality)
    }

    /// Which driver this one behaves as.
    pub fn personality(&self) -> Personality {
        self.personality
    }

    /// [`Driver::attach_with`], ending with status `ready` instead of
    /// [`READY`] (for hostile tests of the status sequence; `DRIVER_OK`
    /// alone attaches the OpenAMP way, see [`Driver::attach_openamp`]).
    pub fn attach_custom(
        window: W,
        config: LinkConfig,
        before_ready: impl FnOnce(&mut W, u32) -> Result<(), DriverError>,
        ready: u8,
    ) -> Result<Driver<W>, DriverError> {
        let steps: &[u8] = if ready == status::DRIVER_OK { &[] } else { &[0, status::ACKNOWLEDGE | status::DRIVER] };
        let personality = if ready == status::DRIVER_OK { Personality::OpenAmp } else { Personality::Bulkhead };
        Driver::attach_inner(window, config, before_ready, steps, ready, personality)
    }

    fn attach_inner(
        mut window: W,
        config: LinkConfig,
        before_ready: impl FnOnce(&mut W, u32) -> Result<(), DriverError>,
        steps: &[u8],
        ready: u8,
        personality: Personality,
    ) -> Result<Driver<W>, DriverError> {
        let t = config.table;
        let bad = |why: String| Err(DriverError::BadTable(why));
        let version = w(window.read_u32(t))?;
        let entries = w(window.read_u32(t + 4))?;
        if version != resource_table::VERSION || entries == 0 {
            return bad(format!("version {version} with {entries} entries"));
        }
        let entry = w(window.read_u32(t + 16))?;
        if entry != resource_table::VDEV {
            return bad(format!("first entry at offset {entry}, expected the vdev at {}", resource_table::VDEV));
        }
        let (kind, id, vrings) = (
            w(window.read_u32(t + field::TYPE))?,
            w(window.read_u32(t + field::ID))?,
            w(window.read_u8(t + field::NUM_VRINGS))?,
        );
        if kind != RSC_VDEV || id != VIRTIO_ID_RPMSG || vrings != 2 {
            return bad(format!("entry type {kind} id {id} with {vrings} vrings; expected an rpmsg vdev (3, 7, 2)"));
        }
        // Reset, then acknowledge, as the personality does; OpenAMP's way
        // writes neither (its driver writes only DRIVER_OK, at the end).
        for &step in steps {
            w(window.write_u8(t + field::STATUS, step))?;
            window.barrier();
        }
        let offered = w(window.read_u32(t + field::DEVICE_FEATURES))?;
        w(window.write_u32(t + field::DRIVER_FEATURES, offered & rpmsg::F_NS))?;

        // Rings: where the device put them, or in the pool.
        let mut next_free = config.pool;
        let mut rings = [Vring { desc: 0, avail: 0, used: 0, num: 0 }; 2];
        for (n, ring) in (0u32..).zip(rings.iter_mut()) {
            let da = w(window.read_u32(t + field::vring_da(n)))?;
            let align = w(window.read_u32(t + field::vring_align(n)))?;
            let num = w(window.read_u32(t + field::vring_num(n)))?;
            let num = u16::try_from(num).map_err(|_| DriverError::BadTable(format!("vring {n} has {num} entries")))?;
            let offset = if da == ADDR_ANY {
                let offset = next_free.div_ceil(align.max(1)) * align.max(1);
                let size = Vring::size(num, align)
                    .ok_or(DriverError::BadTable(format!("vring {n}: num {num} align {align}")))?;
                next_free = offset.checked_add(size).ok_or(DriverError::NoRoom)?;
                w(window.write_u32(t + field::vring_da(n), config.local_base + offset))?;
                offset
            } else {
                da.checked_sub(config.local_base)
                    .ok_or(DriverError::BadTable(format!("vring {n} at {da:#x}, outside the window")))?
            };
            *ring = Vring::at(offset, num, align, config.size)
                .ok_or(DriverError::BadTable(format!("vring {n} at offset {offset:#x} does not fit")))?;
            // A ring this driver (or an earlier one) placed in the pool
            // keeps its place after a reset: the buffers go after it.
            if ring.desc >= config.pool {
                next_free = next_free.max(ring.end());
            }
            // A fresh ring: zero it (Linux allocates it zeroed).
            for byte in (ring.desc..ring.end()).step_by(2) {
                w(window.write_u16(byte, 0))?;
            }
        }
        // Buffers: half for receiving, half for sending.
        let buffers = next_free.div_ceil(64) * 64;
        let per_direction = rings[0].num.min(rings[1].num).min(256);
        let total = 2 * per_direction as u32 * BUFFER_SIZE as u32;
        if buffers.checked_add(total).is_none_or(|end| end > config.size) {
            return Err(DriverError::NoRoom);
        }
        let placement = Placement { rings, buffers, rx_count: per_direction, tx_count: per_direction };
        let mut driver = Driver {
            window,
            config,
            placement,
            rx: DriverRing::default(),
            tx: DriverRing::default(),
            tx_free: (0..per_direction).rev().collect(),
            tx_fresh: 0,
            personality,
            services: BTreeMap::new(),
        };
        for index in 0..per_direction {
            driver.post_rx(index)?;
        }
        before_ready(&mut driver.window, t)?;
        driver.window.barrier();
        w(driver.window.write_u8(t + field::STATUS, ready))?;
        driver.window.barrier();
        Ok(driver)
    }

    /// Where things went.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The window, for hostile tests.
    pub fn window_mut(&mut self) -> &mut W {
        &mut self.window
    }

    /// Gives the window back (to attach again after a reset).
    pub fn into_window(self) -> W {
        self.window
    }

    /// The device status byte.
    pub fn status(&self) -> Result<u8, DriverError> {
        w(self.window.read_u8(self.config.table + field::STATUS))
    }

    /// Resets the device (status 0), as Linux's remoteproc does. Ring it if
    /// you like and attach again at once: the island takes the new
    /// handshake whether it saw the 0, a later step, or only the rings
    /// zeroed under DRIVER_OK (see `docs/virtio-link.md`, "Re-attachment").
    ///
    /// As the personality does: ours writes 0; Linux's `rpmsg_remove`
    /// writes 0 (`virtio_reset_device`, `rproc_virtio_reset`) and then
    /// `virtio_dev_remove` ACKNOWLEDGE; OpenAMP writes nothing
    /// (`rpmsg_deinit_vdev` only forgets its queues).
    pub fn reset(&mut self) -> Result<(), DriverError> {
        let steps: &[u8] = match self.personality {
            Personality::Bulkhead => &[0],
            Personality::Linux => &[0, status::ACKNOWLEDGE],
            Personality::OpenAmp => &[],
        };
        for &step in steps {
            w(self.window.write_u8(self.config.table + field::STATUS, step))?;
            self.window.barrier();
        }
        Ok(())
    }

    fn buffer_offset(&self, index: u16) -> u32 {
        self.placement.buffers + index as u32 * BUFFER_SIZE as u32
    }

    fn remote(&self, offset: u32) -> u64 {
        self.config.remote_base + offset as u64
    }

    fn write_descriptor(
        &mut self,
        ring: Vring,
        index: u16,
        offset: u32,
        len: u32,
        flags: u16,
    ) -> Result<(), DriverError> {
        let at = ring.desc + DESCRIPTOR_SIZE * index as u32;
        let address = self.remote(offset);
        w(self.window.write_u32(at, address as u32))?;
        w(self.window.write_u32(at + 4, (address >> 32) as u32))?;
        w(self.window.write_u32(at + 8, len))?;
        w(self.window.write_u16(at + 12, flags))?;
        w(self.window.write_u16(at + 14, 0))
    }

    /// Publishes descriptor `head` on `ring`'s available ring.
    fn publish(&mut self, ring: Vring, which: usize, head: u16) -> Result<(), DriverError> {
        let state = if which == 0 { &mut self.rx } else { &mut self.tx };
        let slot = ring.avail + 4 + 2 * (state.avail_idx % ring.num) as u32;
        state.avail_idx = state.avail_idx.wrapping_add(1);
        let idx = state.avail_idx;
        w(self.window.write_u16(slot, head))?;
        self.window.barrier();
        w(self.window.write_u16(ring.avail + 2, idx))?;
        self.window.barrier();
        Ok(())
    }

    /// Posts receive buffer `index` (descriptor `index` of vring 0).
    fn post_rx(&mut self, index: u16) -> Result<(), DriverError> {
        let ring = self.placement.rings[0];
        let offset = self.buffer_offset(index);
        self.write_descriptor(ring, index, offset, BUFFER_SIZE as u32, DESC_F_WRITE)?;
        self.publish(ring, 0, index)
    }

    /// Takes back transmit buffers the device used.
    fn reclaim_tx(&mut self) -> Result<(), DriverError> {
        let ring = self.placement.rings[1];
        let used = w(self.window.read_u16(ring.used + 2))?;
        self.window.barrier();
        while self.tx.last_used != used {
            let slot = ring.used + 4 + 8 * (self.tx.last_used % ring.num) as u32;
            let id = w(self.window.read_u32(slot))?;
            self.tx.last_used = self.tx.last_used.wrapping_add(1);
            if let Ok(id) = u16::try_from(id)
                && id < self.placement.tx_count
                && !self.tx_free.contains(&id)
            {
                self.tx_free.push(id);
            }
        }
        Ok(())
    }

    /// The next element of vring 1's used ring not yet taken: `(id, len)`
    /// (Linux's and OpenAMP's `virtqueue_get_buf(fer)`, one at a time).
    fn next_used_tx(&mut self) -> Result<Option<(u16, u32)>, DriverError> {
        let ring = self.placement.rings[1];
        loop {
            let used = w(self.window.read_u16(ring.used + 2))?;
            self.window.barrier();
            if self.tx.last_used == used {
                return Ok(None);
            }
            let slot = ring.used + 4 + 8 * (self.tx.last_used % ring.num) as u32;
            let id = w(self.window.read_u32(slot))?;
            let len = w(self.window.read_u32(slot + 4))?;
            self.tx.last_used = self.tx.last_used.wrapping_add(1);
            if let Ok(id) = u16::try_from(id)
                && id < self.placement.tx_count
            {
                return Ok(Some((id, len)));
            }
        }
    }

    /// A transmit buffer as the personality picks it, and the size it
    /// believes the buffer has (header included).
    fn take_tx(&mut self) -> Result<(u16, u32), DriverError> {
        let fresh = |driver: &mut Driver<W>| {
            (driver.tx_fresh < driver.placement.tx_count).then(|| {
                driver.tx_fresh += 1;
                (driver.tx_fresh - 1, BUFFER_SIZE as u32)
            })
        };
        let taken = match self.personality {
            Personality::Bulkhead => {
                self.reclaim_tx()?;
                self.tx_free.pop().map(|index| (index, BUFFER_SIZE as u32))
            }
            // `get_a_tx_buf`: the next never-used buffer, else a used one
            // (`virtqueue_get_buf`, whose length it ignores).
            Personality::Linux => match fresh(self) {
                Some(taken) => Some(taken),
                None => self.next_used_tx()?.map(|(index, _)| (index, BUFFER_SIZE as u32)),
            },
            // `rpmsg_virtio_get_tx_buffer`: a used one first, sized by its
            // used length; else one from the pool, of `h2r_buf_size`.
            Personality::OpenAmp => match self.next_used_tx()? {
                Some(taken) => Some(taken),
                None => fresh(self),
            },
        };
        taken.ok_or(DriverError::NoBuffer)
    }

    /// Free transmit buffers.
    pub fn free_tx(&mut self) -> usize {
        match self.personality {
            Personality::Bulkhead => {
                let _ = self.reclaim_tx();
                self.tx_free.len()
            }
            Personality::Linux | Personality::OpenAmp => {
                let ring = self.placement.rings[1];
                let used = self.window.read_u16(ring.used + 2).unwrap_or(self.tx.last_used);
                let returned = used.wrapping_sub(self.tx.last_used).min(self.placement.tx_count);
                (self.placement.tx_count - self.tx_fresh + returned) as usize
            }
        }
    }

    /// Sends `payload` from our endpoint `src` to device endpoint `dst`.
    /// Ring the device afterwards (once for a batch).
    ///
    /// OpenAMP's host (`rpmsg_virtio_send_offchannel_raw`) cuts the payload
    /// to the size it believes the buffer has, `used length - 16` compared
    /// as signed: a buffer returned with used length 0 gives a header
    /// length of `0xFFF0` and nothing copied. It posts the descriptor at the
    /// full `h2r_buf_size` (`rpmsg_virtio_send_offchannel_nocopy`), not at
    /// the message's length as Linux does.
    pub fn send(&mut self, src: u32, dst: u32, payload: &[u8]) -> Result<(), DriverError> {
        if self.personality != Personality::OpenAmp {
            return self.send_raw(&Header { src, dst, len: payload.len() as u16, flags: 0 }, payload, None);
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(DriverError::TooLong);
        }
        // `rpmsg_virtio_get_tx_payload_buffer` refuses only without DRIVER_OK.
        if self.status()? & status::DRIVER_OK == 0 {
            return Err(DriverError::NeedsReset);
        }
        let (index, size) = self.take_tx()?;
        let capacity = size.wrapping_sub(HEADER_SIZE as u32) as i32;
        let len = (payload.len() as i32).min(capacity);
        let copied = &payload[..len.clamp(0, payload.len() as i32) as usize];
        self.post_tx(index, &Header { src, dst, len: len as u16, flags: 0 }, copied, BUFFER_SIZE as u32)
    }

    fn post_tx(&mut self, index: u16, header: &Header, payload: &[u8], len: u32) -> Result<(), DriverError> {
        let buffer = self.placement.rx_count + index;
        let offset = self.buffer_offset(buffer);
        w(self.window.write_bytes(offset, &header.to_bytes()))?;
        w(self.window.write_bytes(offset + HEADER_SIZE as u32, payload))?;
        let ring = self.placement.rings[1];
        self.write_descriptor(ring, index, offset, len, 0)?;
        self.publish(ring, 1, index)
    }

    /// Sends a message with the header as given (which may lie about the
    /// length) and, if given, a descriptor length other than the message's.
    pub fn send_raw(
        &mut self,
        header: &Header,
        payload: &[u8],
        descriptor_len: Option<u32>,
    ) -> Result<(), DriverError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(DriverError::TooLong);
        }
        if self.status()? & status::NEEDS_RESET != 0 {
            return Err(DriverError::NeedsReset);
        }
        let (index, _) = self.take_tx()?;
        let len = descriptor_len.unwrap_or((HEADER_SIZE + payload.len()) as u32);
        self.post_tx(index, header, payload, len)
    }

    /// Everything the device sent since the last call; the buffers go back
    /// to the device. Ring it afterwards if anything came.
    pub fn receive(&mut self) -> Result<Vec<Received>, DriverError> {
        let ring = self.placement.rings[0];
        let used = w(self.window.read_u16(ring.used + 2))?;
        self.window.barrier();
        let mut received = Vec::new();
        while self.rx.last_used != used {
            let slot = ring.used + 4 + 8 * (self.rx.last_used % ring.num) as u32;
            let id = w(self.window.read_u32(slot))?;
            let len = w(self.window.read_u32(slot + 4))?;
            self.rx.last_used = self.rx.last_used.wrapping_add(1);
            let Ok(id) = u16::try_from(id) else { continue };
            if id >= self.placement.rx_count {
                continue;
            }
            let mut bytes = vec![0u8; len.min(BUFFER_SIZE as u32) as usize];
            w(self.window.read_bytes(self.buffer_offset(id), &mut bytes))?;
            if let Ok(header) = Header::parse(&bytes, len) {
                let payload = bytes[HEADER_SIZE..HEADER_SIZE + header.len as usize].to_vec();
                if header.dst == NS_ADDR {
                    if let Some((name, address, flags)) = rpmsg::parse_name_service(&payload) {
                        let name = String::from_utf8_lossy(name).into_owned();
                        if flags == rpmsg::NS_CREATE {
                            self.services.insert(name.clone(), address);
                        } else {
                            self.services.remove(&name);
                        }
                        received.push(Received::Announcement { name, address, flags });
                    }
                } else {
                    received.push(Received::Message { src: header.src, dst: header.dst, payload });
                }
            }
            self.post_rx(id)?;
        }
        Ok(received)
    }
}
