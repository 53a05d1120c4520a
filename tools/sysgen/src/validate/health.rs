//! The health monitor: each partition's `fault_policy` and
//! `[partition.health]`, and the `[monitor]`.
//!
//! Owns the checks of those keys and their messages: error kinds and
//! actions by their ABI names (`bulkhead_abi::health`), `log` only for the
//! kinds a partition can go on after, `monitor` only with a `[monitor]` and
//! never in the monitor itself, the restart limit (1 to
//! [`MAX_RESTART_LIMIT`] restarts in at least one frame, then `halt` or
//! `monitor`), a watchdog of a whole, non-zero number of timer ticks, and
//! the `[monitor]`'s partition (known). It builds each partition's
//! [`HealthDesc`] (what [`HealthDesc::check`] accepts, by construction) and
//! the model's [`Monitor`].
//!
//! Defaults: `fault_policy` (`halt` or `restart`) is the action of every
//! kind a partition cannot go on after and of `watchdog`; `port-overflow`
//! logs; the restart limit's action is `halt` ([`HealthDesc::uniform`]).
//!
//! The monitor's notify SGI ([`assign_monitor_sgi`]) is numbered after the
//! notify SGIs of the channels it reads (`channels` numbers those first), so
//! the two never collide; it counts among its 16.
//!
//! It must never decide what a restart clears (the emitter derives that
//! from the regions and the image) nor give an SGI to any partition but the
//! monitor.

use super::{Checker, PartitionNames, suggest};
use crate::model::*;
use crate::raw::{self, FaultPolicy};
use bulkhead_kernel_core::health::MAX_RESTART_LIMIT;
use bulkhead_kernel_core::schedule::ticks_from_nanos;
use bulkhead_kernel_core::tables::{ErrorKind, HealthAction, HealthDesc, RestartLimit};
use toml::Spanned;

/// SGIs a partition has: 0 to 15.
const SGIS: u32 = bulkhead_kernel_core::vgic::FIRST_PPI as u32;

/// Every action, in number order.
const ACTIONS: [HealthAction; 5] =
    [HealthAction::Log, HealthAction::Restart, HealthAction::RestartCold, HealthAction::Halt, HealthAction::Monitor];

/// `a, b or c`.
fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The kinds `actions` may name: all but `restart-limit` (that one is
/// `restart_limit.then`).
fn action_kinds() -> impl Iterator<Item = ErrorKind> {
    ErrorKind::ALL.into_iter().filter(|kind| *kind != ErrorKind::RestartLimit)
}

/// The `[monitor]` as written, its partition resolved (in file order).
pub(super) struct WrittenMonitor {
    /// The partition, if it is known.
    pub partition: Option<usize>,
    /// `notify = true`.
    pub notify: bool,
}

/// Resolves the `[monitor]`'s partition; `None` without a `[monitor]`.
pub(super) fn monitor(checker: &mut Checker, file: &raw::SystemFile, names: &PartitionNames) -> Option<WrittenMonitor> {
    let monitor = file.monitor.as_ref()?.get_ref();
    let partition = names.resolve(checker, "monitor.partition".to_owned(), &monitor.partition);
    Some(WrittenMonitor { partition, notify: monitor.notify.as_ref().is_some_and(|n| *n.get_ref()) })
}

/// Gives the monitor its notify SGI, when it asks for one: the first after
/// those of the channels it reads with `notify` (`notify` holds each
/// partition's, in file order). Returns the SGI.
pub(super) fn assign_monitor_sgi(
    checker: &mut Checker,
    file: &raw::SystemFile,
    monitor: Option<&WrittenMonitor>,
    notify: &mut [Vec<u32>],
) -> Option<u32> {
    let monitor = monitor.filter(|m| m.notify)?;
    let partition = monitor.partition?;
    let taken = &mut notify[partition];
    let sgi = taken.len() as u32;
    if sgi >= SGIS {
        let written = file.monitor.as_ref().expect("a [monitor]").get_ref();
        let at = written.notify.as_ref().expect("notify is set");
        checker.at(
            "monitor.notify",
            at,
            format!(
                "partition `{}` reads {sgi} channels with `notify = true`, which take all {SGIS} of its SGIs (0 to \
                 {}): none is left for the monitor's notify",
                written.partition.get_ref(),
                SGIS - 1
            ),
        );
        return None;
    }
    taken.push(sgi);
    Some(sgi)
}

/// The model's monitor, once its SGI is known.
pub(super) fn build_monitor(monitor: Option<&WrittenMonitor>, sgi: Option<u32>) -> Option<Monitor> {
    let partition = monitor?.partition?;
    Some(Monitor { partition, notify: sgi })
}

/// What a check of an action needs to know about where it is.
struct Place<'a> {
    /// The partition's name.
    pname: &'a str,
    /// Whether the system has a `[monitor]`.
    has_monitor: bool,
    /// Whether this partition is the monitor.
    is_monitor: bool,
}

/// Parses an action; reports an unknown one at `key`.
fn parse_action(checker: &mut Checker, key: &str, value: &Spanned<String>) -> Option<HealthAction> {
    let written = value.get_ref();
    if let Some(action) = ACTIONS.into_iter().find(|action| action.name() == written) {
        return Some(action);
    }
    let names: Vec<&str> = ACTIONS.iter().map(|a| a.name()).collect();
    checker.at(
        key,
        value,
        format!("`{written}` is not an action (write {}){}", either(&names), suggest(written, names.iter().copied())),
    );
    None
}

/// Whether `action` may be the monitor-related action it is at `key`;
/// reports why not.
fn monitor_allowed(checker: &mut Checker, key: &str, value: &Spanned<String>, place: &Place) -> bool {
    if !place.has_monitor {
        checker.at(
            key,
            value,
            "`monitor` suspends the partition and tells the monitor partition, but the system has no [monitor]",
        );
        return false;
    }
    if place.is_monitor {
        checker.at(
            key,
            value,
            format!(
                "partition `{}` is the [monitor]: suspended, it would wait for itself; write restart, restart-cold \
                 or halt",
                place.pname
            ),
        );
        return false;
    }
    true
}

/// The action for `kind` written at `key`, if it is a valid one.
fn kind_action(
    checker: &mut Checker,
    key: &str,
    kind: ErrorKind,
    value: &Spanned<String>,
    place: &Place,
) -> Option<HealthAction> {
    let action = parse_action(checker, key, value)?;
    match action {
        HealthAction::Log if !kind.can_continue() => {
            let continuing: Vec<&str> = action_kinds().filter(|k| k.can_continue()).map(ErrorKind::name).collect();
            checker.at(
                key,
                value,
                format!(
                    "`log` lets the partition go on, and after a `{}` error it cannot: write restart, restart-cold, \
                     halt or monitor (only {} may log)",
                    kind.name(),
                    either(&continuing)
                ),
            );
            None
        }
        HealthAction::Monitor if !monitor_allowed(checker, key, value, place) => None,
        _ => Some(action),
    }
}

/// The error kind `actions` names at `key`.
fn parse_kind(checker: &mut Checker, key: &str, value: &Spanned<String>) -> Option<ErrorKind> {
    let written = value.get_ref();
    if let Some(kind) = action_kinds().find(|kind| kind.name() == written) {
        return Some(kind);
    }
    let names: Vec<&str> = action_kinds().map(ErrorKind::name).collect();
    let reason = if written == ErrorKind::RestartLimit.name() {
        "the restart-limit action is `then` of `restart_limit = { restarts, frames, then }` (halt or monitor)"
            .to_owned()
    } else {
        format!(
            "`{written}` is not an error kind (write {}){}",
            either(&names),
            suggest(written, names.iter().copied())
        )
    };
    checker.at(key, value, reason);
    None
}

/// Every partition's health configuration, in file order. `monitor` is the
/// `[monitor]` as written (its partition in file order).
pub(super) fn build(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    monitor: Option<&WrittenMonitor>,
) -> Vec<HealthDesc> {
    let mut descs = Vec::new();
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref();
        let default = match raw.fault_policy.get_ref() {
            FaultPolicy::Halt => HealthAction::Halt,
            FaultPolicy::Restart => HealthAction::Restart,
        };
        let mut desc = HealthDesc::uniform(default);
        if let Some(health) = &raw.health {
            let place = Place {
                pname,
                has_monitor: monitor.is_some(),
                is_monitor: monitor.is_some_and(|m| m.partition == Some(index)),
            };
            configure(checker, board, &format!("partition.{pname}.health"), health.get_ref(), &place, &mut desc);
        }
        debug_assert!(desc.check(monitor.is_some()) || !checker.problems.is_empty());
        descs.push(desc);
    }
    descs
}

/// Applies `[partition.health]` (at `key`) to `desc`.
fn configure(
    checker: &mut Checker,
    board: &Board,
    key: &str,
    health: &raw::Health,
    place: &Place,
    desc: &mut HealthDesc,
) {
    if let Some(actions) = &health.actions {
        for (kind, action) in actions.get_ref() {
            let at = format!("{key}.actions.{}", kind.get_ref());
            let Some(kind) = parse_kind(checker, &at, kind) else { continue };
            if let Some(action) = kind_action(checker, &at, kind, action, place) {
                desc.actions[kind as usize] = action;
            }
        }
    }
    if let Some(watchdog) = &health.watchdog {
        let hz = board.timer_hz;
        let nanos = watchdog.get_ref().0;
        let at = format!("{key}.watchdog");
        match ticks_from_nanos(nanos, hz) {
            Some(0) => checker.at(at, watchdog, "a watchdog of 0 would expire at once: leave `watchdog` out for none"),
            Some(ticks) => desc.watchdog = ticks,
            None => checker.at(
                at,
                watchdog,
                format!("{nanos} ns is not a whole, non-zero number of timer ticks at {hz} Hz"),
            ),
        }
    }
    if let Some(limit) = &health.restart_limit {
        let limit = limit.get_ref();
        let at = format!("{key}.restart_limit");
        let restarts = *limit.restarts.get_ref();
        let frames = *limit.frames.get_ref();
        let mut ok = true;
        if !(1..=MAX_RESTART_LIMIT as i64).contains(&restarts) {
            checker.at(
                format!("{at}.restarts"),
                &limit.restarts,
                format!(
                    "restarts {restarts} is not 1 to {MAX_RESTART_LIMIT} (the kernel keeps the frames of a partition's \
                     last {MAX_RESTART_LIMIT} restarts)"
                ),
            );
            ok = false;
        }
        if !(1..=u32::MAX as i64).contains(&frames) {
            checker.at(
                format!("{at}.frames"),
                &limit.frames,
                format!("frames {frames} is not 1 to {}: the major frames the restarts are counted in", u32::MAX),
            );
            ok = false;
        }
        if let Some(then) = &limit.then {
            let then_key = format!("{at}.then");
            match parse_action(checker, &then_key, then) {
                // Reported by `monitor_allowed`.
                Some(HealthAction::Monitor) if !monitor_allowed(checker, &then_key, then, place) => {}
                Some(action @ (HealthAction::Halt | HealthAction::Monitor)) => {
                    desc.actions[ErrorKind::RestartLimit as usize] = action;
                }
                Some(other) => checker.at(
                    then_key,
                    then,
                    format!(
                        "`{}` is not an action at the restart limit, where restarting is what was refused: write halt \
                         or monitor",
                        other.name()
                    ),
                ),
                None => {}
            }
        }
        if ok {
            desc.restart_limit = Some(RestartLimit { restarts: restarts as u8, frames: frames as u32 });
        }
    }
}
