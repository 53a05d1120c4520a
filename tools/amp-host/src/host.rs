//! The host's side of a running link: a driver and its doorbell, with the
//! loops every user of the link needs (wait for the services, exchange
//! messages in batches, talk to the tty, reset).

use anyhow::{Context, Result, bail};
use bulkhead_virtio::window::Window;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use crate::LinkConfig;
use crate::driver::{Driver, Personality, Received};
use crate::link::{Doorbell, SocketDoorbell};

/// Our endpoint address.
pub const ME: u32 = 1024;
/// The tty service's name.
pub const TTY: &str = "rpmsg-tty";
/// The echo service's name.
pub const ECHO: &str = "rpmsg-client-sample";

/// A driver and its doorbell. It rings as its driver's [`Personality`]
/// does: after each message sent (Linux, OpenAMP) or once per batch (ours);
/// once after each batch of messages received, as every driver does.
pub struct Host<W: Window, D: Doorbell = SocketDoorbell> {
    driver: Option<Driver<W>>,
    /// The doorbell.
    pub doorbell: D,
    config: LinkConfig,
    /// How long to wait for the island at most, per step (real time).
    pub patience: Duration,
}

impl<W: Window, D: Doorbell> Host<W, D> {
    /// Attaches over `window` as this project's driver, rings, and waits for
    /// the island to announce its services.
    pub fn attach(window: W, config: LinkConfig, doorbell: D) -> Result<Host<W, D>> {
        Host::attach_as(window, config, doorbell, Personality::Bulkhead)
    }

    /// [`Host::attach`] as `personality`'s driver. Every personality rings
    /// after DRIVER_OK: Linux's `rpmsg_probe` notifies vring 0; OpenAMP's
    /// library does not, and its platform glue (or its first send) must.
    pub fn attach_as(window: W, config: LinkConfig, doorbell: D, personality: Personality) -> Result<Host<W, D>> {
        let driver = Driver::attach_as(window, config.clone(), personality).map_err(anyhow::Error::msg)?;
        let mut host = Host { driver: Some(driver), doorbell, config, patience: Duration::from_secs(60) };
        host.doorbell.ring()?;
        host.wait_for_services()?;
        Ok(host)
    }

    /// The driver's personality.
    pub fn personality(&self) -> Personality {
        self.driver.as_ref().map_or(Personality::Bulkhead, |d| d.personality())
    }

    /// The driver.
    pub fn driver(&mut self) -> &mut Driver<W> {
        self.driver.as_mut().expect("a Host always holds a driver between calls")
    }

    /// The link's configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Waits until the island announced all its services (since the last
    /// attach).
    pub fn wait_for_services(&mut self) -> Result<()> {
        let count = self.config.services;
        let deadline = Instant::now() + self.patience;
        let mut announced = 0;
        while announced < count {
            if Instant::now() > deadline {
                bail!("the island announced {announced} of {count} services");
            }
            self.doorbell.wait(Duration::from_millis(50))?;
            let received = self.driver().receive().map_err(anyhow::Error::msg)?;
            announced += received.iter().filter(|r| matches!(r, Received::Announcement { .. })).count();
            if !received.is_empty() {
                self.doorbell.ring()?;
            }
        }
        Ok(())
    }

    /// The address of an announced service.
    pub fn service(&mut self, name: &str) -> Result<u32> {
        self.driver().services.get(name).copied().with_context(|| format!("the island announced no `{name}`"))
    }

    /// Sends every payload to `endpoint`, in batches as buffers allow, and
    /// returns the replies (messages to us) in order.
    pub fn exchange(&mut self, endpoint: u32, payloads: &[Vec<u8>]) -> Result<Vec<Vec<u8>>> {
        let mut replies = Vec::new();
        let mut next = 0;
        let mut deadline = Instant::now() + self.patience;
        while replies.len() < payloads.len() {
            if Instant::now() > deadline {
                bail!("{} of {} replies came", replies.len(), payloads.len());
            }
            let mut sent = false;
            let every = self.personality().kicks_every_send();
            while next < payloads.len() && self.driver().free_tx() > 0 {
                self.driver().send(ME, endpoint, &payloads[next]).map_err(anyhow::Error::msg)?;
                next += 1;
                sent = true;
                if every {
                    self.doorbell.ring()?;
                }
            }
            if sent && !every {
                self.doorbell.ring()?;
            }
            self.doorbell.wait(Duration::from_millis(20))?;
            let received = self.driver().receive().map_err(anyhow::Error::msg)?;
            if !received.is_empty() {
                self.doorbell.ring()?;
                deadline = Instant::now() + self.patience;
            }
            replies.extend(received.into_iter().filter_map(|item| match item {
                Received::Message { dst: ME, payload, .. } => Some(payload),
                _ => None,
            }));
        }
        Ok(replies)
    }

    /// Sends a line to the tty and returns the answer.
    pub fn tty(&mut self, line: &str) -> Result<String> {
        let tty = self.service(TTY)?;
        let reply = self.exchange(tty, &[format!("{line}\n").into_bytes()])?;
        Ok(String::from_utf8_lossy(&reply[0]).into_owned())
    }

    /// Resets the link as the personality does ([`Driver::reset`]; ours
    /// rings afterwards, Linux's and OpenAMP's do not), with no wait for the
    /// island: it takes the next handshake however much of the reset it
    /// saw. Returns the window for a new attach (or a hostile one).
    pub fn reset(&mut self) -> Result<W> {
        let mut driver = self.driver.take().expect("attached");
        driver.reset().map_err(anyhow::Error::msg)?;
        if driver.personality().reset_rings() {
            self.doorbell.ring()?;
        }
        Ok(driver.into_window())
    }

    /// The driver dies in the middle of a message: it posts `payload` to
    /// `endpoint` and is killed before it rings (Linux's
    /// `virtqueue_add_outbuf` done, `virtqueue_kick` not). Returns the
    /// window as it left it, for a new driver.
    pub fn die_mid_message(&mut self, endpoint: u32, payload: &[u8]) -> Result<W> {
        self.driver().send(ME, endpoint, payload).map_err(anyhow::Error::msg)?;
        Ok(self.abandon())
    }

    /// The driver dies: the window as it left it, nothing written (for a
    /// new driver to start over it).
    pub fn abandon(&mut self) -> W {
        self.driver.take().expect("attached").into_window()
    }

    /// Attaches again after [`Host::reset`] (or a death), as this project's
    /// driver, and waits for the services.
    pub fn reattach(&mut self, window: W) -> Result<()> {
        self.reattach_as(window, Personality::Bulkhead)
    }

    /// [`Host::reattach`] as `personality`'s driver.
    pub fn reattach_as(&mut self, window: W, personality: Personality) -> Result<()> {
        self.install(Driver::attach_as(window, self.config.clone(), personality).map_err(anyhow::Error::msg)?);
        self.doorbell.ring()?;
        self.wait_for_services()
    }

    /// Puts a driver attached some other way (a hostile one) in place.
    pub fn install(&mut self, driver: Driver<W>) {
        self.driver = Some(driver);
    }
}

/// Echoes `count` messages of 1..496 bytes through the echo service,
/// checks every byte, and reports the rate (wall clock: it says more about
/// the simulation than about the island).
pub fn echo<W: Window, D: Doorbell>(host: &mut Host<W, D>, count: usize) -> Result<String> {
    let echo = host.service(ECHO)?;
    let payloads: Vec<Vec<u8>> =
        (0..count).map(|n| (0..1 + n % 496).map(|i| (i * 7 + n * 13) as u8).collect()).collect();
    let started = Instant::now();
    let replies = host.exchange(echo, &payloads)?;
    let elapsed = started.elapsed();
    if let Some(n) = payloads.iter().zip(&replies).position(|(sent, back)| sent != back) {
        bail!("message {n} came back different");
    }
    Ok(format!(
        "{count} messages of 1 to 496 bytes echoed and checked in {:.2} s ({:.0} messages/s of wall-clock time)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    ))
}

/// An interactive console: lines from `input` to the island's tty, its
/// answers to `output`; `between` runs after each line (to show what the
/// island logged).
pub fn console<W: Window, D: Doorbell>(
    host: &mut Host<W, D>,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    between: &mut dyn FnMut(),
) -> Result<()> {
    let tty = host.service(TTY)?;
    writeln!(output, "connected to the island's {TTY} (endpoint {tty}); type help, Ctrl-D to leave")?;
    host.patience = Duration::from_secs(5);
    let mut line = String::new();
    loop {
        write!(output, "island> ")?;
        output.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(output)?;
            return Ok(());
        }
        // A restarted island announces its services again: take those in.
        let _ = host.driver().receive();
        match host.tty(line.trim_end()) {
            Ok(answer) => write!(output, "{}", answer.replace("\r\n", "\n"))?,
            Err(error) => writeln!(output, "(no answer: {error})")?,
        }
        output.flush()?;
        between();
    }
}

/// Plays hostile `case` against the island, then checks it refused (NEEDS_RESET
/// for a case that breaks the link), resets, and checks an echo gets
/// through again. Returns what happened, for people.
pub fn hostile<W: Window, D: Doorbell>(host: &mut Host<W, D>, case: crate::hostile::Case) -> Result<String> {
    use bulkhead_virtio::resource_table::status;
    let echo = host.service(ECHO)?;
    if case.at_handshake() {
        let window = host.reset()?;
        let config = host.config().clone();
        let driver =
            Driver::attach_custom(window, config, |window, table| case.tamper_handshake(window, table), case.ready())
                .map_err(anyhow::Error::msg)?;
        host.install(driver);
    } else {
        case.apply(host.driver(), echo).map_err(anyhow::Error::msg)?;
    }
    host.doorbell.ring()?;
    let refused = if case.breaks_link() {
        let deadline = Instant::now() + host.patience;
        while host.driver().status().map_err(anyhow::Error::msg)? & status::NEEDS_RESET == 0 {
            if Instant::now() > deadline {
                bail!("{}: the island did not set NEEDS_RESET", case.reason());
            }
            host.doorbell.wait(Duration::from_millis(10))?;
        }
        let window = host.reset()?;
        host.reattach(window)?;
        "refused (NEEDS_RESET), link reset"
    } else {
        let _ = host.driver().receive();
        "message dropped, link up"
    };
    let probe = b"still answering".to_vec();
    let echo = host.service(ECHO)?;
    if host.exchange(echo, std::slice::from_ref(&probe))? != [probe] {
        bail!("{}: the echo after recovery differs", case.reason());
    }
    Ok(format!("{refused}, echo answers again"))
}

/// The race mode: `rounds` echoes of 16 bytes with exactly one transmit
/// buffer in flight, while `flipper` (a second thread with its own view of
/// the window) rewrites `field` of that message between its honest value
/// and a bad one for as long as the island works on it. Every round must
/// come back echoed intact or refused (dropped, or the link taken down,
/// then reset here); the report counts each, and any empty or other echo.
pub fn race<W: Window, D: Doorbell>(
    host: &mut Host<W, D>,
    flipper: &crate::hostile::Flipper,
    field: crate::hostile::RaceField,
    rounds: u32,
) -> Result<crate::hostile::RaceReport> {
    use bulkhead_virtio::resource_table::status;
    let mut report = crate::hostile::RaceReport::default();
    let payload = b"sixteen bytes ok".to_vec();
    for round in 0..rounds {
        let echo = host.service(ECHO)?;
        let tx_count = host.driver().placement().tx_count as usize;
        host.driver().send(ME, echo, &payload).map_err(anyhow::Error::msg)?;
        let (offset, width, values) = crate::hostile::race_target(host.driver(), field).map_err(anyhow::Error::msg)?;
        flipper.arm(offset, width, values);
        host.doorbell.ring()?;
        let deadline = Instant::now() + host.patience;
        let mut replies = Vec::new();
        let mut broken = false;
        loop {
            host.doorbell.wait(Duration::from_millis(10))?;
            let received = host.driver().receive().map_err(anyhow::Error::msg)?;
            replies.extend(received.into_iter().filter_map(|item| match item {
                Received::Message { dst: ME, payload, .. } => Some(payload),
                _ => None,
            }));
            if host.driver().status().map_err(anyhow::Error::msg)? & status::NEEDS_RESET != 0 {
                broken = true;
                break;
            }
            if !replies.is_empty() || host.driver().free_tx() == tx_count {
                break;
            }
            if Instant::now() > deadline {
                flipper.disarm();
                bail!("round {round}: the island neither answered nor returned the buffer");
            }
        }
        flipper.disarm();
        if !broken && replies.is_empty() {
            // The buffer came back; an echo, if any, comes with the same ring.
            host.doorbell.wait(Duration::from_millis(20))?;
            let received = host.driver().receive().map_err(anyhow::Error::msg)?;
            replies.extend(received.into_iter().filter_map(|item| match item {
                Received::Message { dst: ME, payload, .. } => Some(payload),
                _ => None,
            }));
        }
        let window = host.driver().window_mut();
        let _ =
            if width == 2 { window.write_u16(offset, values[0] as u16) } else { window.write_u32(offset, values[0]) };
        report.rounds += 1;
        match replies.as_slice() {
            [] => report.refused += 1,
            [reply] if *reply == payload => report.echoed += 1,
            [reply] if reply.is_empty() => report.empty += 1,
            _ => report.wrong += 1,
        }
        if broken {
            let window = host.reset()?;
            host.reattach(window)?;
        } else if !replies.is_empty() {
            host.doorbell.ring()?;
        }
    }
    Ok(report)
}
