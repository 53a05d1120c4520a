//! The QEMU side: the exported plugin entry points and the callbacks.
//!
//! Every instruction QEMU translates gets an execution callback whose user
//! data encodes (not points to) what the plugin needs to know about it: its
//! address, whether it is watched, and the bitmask of watched ranges holding
//! it. Nothing is allocated per translation, so retranslating or flushing
//! the code cache leaks nothing.
//!
//! The callback for vCPU 0 runs on one thread at a time (a vCPU never runs on
//! two threads at once), so the counters use relaxed loads and stores, not
//! read-modify-write atomics; the atomics only make the statics shareable.

use crate::ALL_VCPUS;
use std::collections::HashSet;
use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use crate::{Config, Event, MAX_RANGES, events_at};

/// Declarations from QEMU 10.0's `include/qemu/qemu-plugin.h`, for the
/// calls this plugin makes. QEMU defines these symbols; the dynamic linker
/// binds them when QEMU loads the plugin.
mod qemu {
    use std::ffi::{c_char, c_int, c_uint, c_void};
    use std::marker::{PhantomData, PhantomPinned};

    /// `QEMU_PLUGIN_VERSION` of the header these declarations follow. QEMU
    /// 10.0 loads plugins declaring `QEMU_PLUGIN_MIN_VERSION` (2) up to this.
    pub const PLUGIN_VERSION: c_int = 4;

    /// `qemu_plugin_id_t`.
    pub type PluginId = u64;

    /// `qemu_info_t`, with its nested `version` struct and its `system` union
    /// (whose only member is a struct of two ints) flattened: same layout.
    #[repr(C)]
    pub struct Info {
        pub target_name: *const c_char,
        pub version_min: c_int,
        pub version_cur: c_int,
        pub system_emulation: bool,
        pub smp_vcpus: c_int,
        pub max_vcpus: c_int,
    }

    /// `struct qemu_plugin_tb` (opaque).
    #[repr(C)]
    pub struct Tb {
        _data: [u8; 0],
        _marker: PhantomData<(*mut u8, PhantomPinned)>,
    }

    /// `struct qemu_plugin_insn` (opaque).
    #[repr(C)]
    pub struct Insn {
        _data: [u8; 0],
        _marker: PhantomData<(*mut u8, PhantomPinned)>,
    }

    /// `QEMU_PLUGIN_CB_NO_REGS` of `enum qemu_plugin_cb_flags` (a C enum,
    /// passed as an `unsigned int`).
    pub const CB_NO_REGS: c_uint = 0;

    /// `qemu_plugin_vcpu_tb_trans_cb_t`.
    pub type TbTransCb = extern "C" fn(id: PluginId, tb: *mut Tb);
    /// `qemu_plugin_vcpu_udata_cb_t`.
    pub type VcpuUdataCb = extern "C" fn(vcpu_index: c_uint, userdata: *mut c_void);
    /// `qemu_plugin_udata_cb_t`.
    pub type UdataCb = extern "C" fn(id: PluginId, userdata: *mut c_void);

    unsafe extern "C" {
        pub fn qemu_plugin_register_vcpu_tb_trans_cb(id: PluginId, cb: TbTransCb);
        pub fn qemu_plugin_register_vcpu_insn_exec_cb(
            insn: *mut Insn,
            cb: VcpuUdataCb,
            flags: c_uint,
            userdata: *mut c_void,
        );
        pub fn qemu_plugin_tb_n_insns(tb: *const Tb) -> usize;
        pub fn qemu_plugin_tb_get_insn(tb: *const Tb, idx: usize) -> *mut Insn;
        pub fn qemu_plugin_insn_vaddr(insn: *const Insn) -> u64;
        pub fn qemu_plugin_register_atexit_cb(id: PluginId, cb: UdataCb, userdata: *mut c_void);
        pub fn qemu_plugin_outs(string: *const c_char);
    }
}

/// The API version this plugin declares (QEMU reads this symbol before
/// calling [`qemu_plugin_install`]).
#[unsafe(no_mangle)]
pub static qemu_plugin_version: c_int = qemu::PLUGIN_VERSION;

/// Everything fixed at install time.
struct Plugin {
    config: Config,
    pcs: HashSet<u32>,
    out: Mutex<Output>,
    /// Executions per halfword of the `profile=` range (empty without one).
    profile: Vec<AtomicU64>,
}

struct Output {
    writer: BufWriter<File>,
    events: u64,
    /// The first write error; later events are dropped.
    error: Option<std::io::Error>,
}

static PLUGIN: OnceLock<Plugin> = OnceLock::new();
/// Instructions executed on the tracked vCPU so far.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Range bitmask of the last instruction executed on vCPU 0.
static INSIDE: AtomicU32 = AtomicU32::new(0);
/// Instructions executed on other vCPUs (reported at exit only).
static OTHERS: AtomicU64 = AtomicU64::new(0);
/// The `profile=` range (empty when none).
static PROFILE_START: AtomicU32 = AtomicU32::new(0);
static PROFILE_END: AtomicU32 = AtomicU32::new(0);
/// The tracked vCPU (`vcpu=`).
static TRACKED: AtomicU32 = AtomicU32::new(0);

// The user data packs the address into bits 32..64, so it needs 64-bit
// pointers; `MAX_RANGES` range bits plus the watched bit fill bits 0..32.
const _: () = assert!(usize::BITS == 64 && MAX_RANGES < 32);
const WATCHED: u64 = 1 << 31;

fn tag(addr: u32, watched: bool, mask: u32) -> *mut c_void {
    let tag = u64::from(addr) << 32 | if watched { WATCHED } else { 0 } | u64::from(mask);
    std::ptr::without_provenance_mut(tag as usize)
}

/// Entry point: parses the arguments, opens the output file and registers
/// the translation and exit callbacks. Returns non-zero (QEMU then refuses
/// to start) on any problem, after saying why on stderr.
///
/// # Safety
///
/// Only QEMU calls this, once, with `info` valid for the call and `argv`
/// holding `argc` valid C strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qemu_plugin_install(
    id: qemu::PluginId,
    info: *const qemu::Info,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    match install(id, info, argc, argv) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bulkhead-insn-plugin: {e}");
            1
        }
    }
}

fn install(id: qemu::PluginId, info: *const qemu::Info, argc: c_int, argv: *const *const c_char) -> Result<(), String> {
    // SAFETY: QEMU passes a `qemu_info_t` valid for the duration of the
    // install call, and `target_name` is a C string within it.
    let target = unsafe { CStr::from_ptr((*info).target_name) };
    if target.to_bytes() != b"arm" {
        return Err(format!("supports the 32-bit arm target only, not {}", target.to_string_lossy()));
    }
    let argc = usize::try_from(argc).map_err(|_| "negative argc")?;
    let args = (0..argc)
        .map(|i| {
            // SAFETY: QEMU passes `argc` valid C strings in `argv`, which
            // stay valid for the plugin's lifetime.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            arg.to_str().map_err(|_| format!("argument {} is not UTF-8", arg.to_string_lossy()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = Config::parse(args)?;
    let file = File::create(&config.out).map_err(|e| format!("cannot create {}: {e}", config.out.display()))?;
    let halfwords = config.profile.as_ref().map_or(0, |range| (range.end - range.start) as usize / 2);
    let profile = (0..halfwords).map(|_| AtomicU64::new(0)).collect();
    let plugin = Plugin {
        pcs: config.pcs.iter().copied().collect(),
        config,
        out: Mutex::new(Output { writer: BufWriter::with_capacity(1 << 16, file), events: 0, error: None }),
        profile,
    };
    if let Some(range) = &plugin.config.profile {
        PROFILE_START.store(range.start, Relaxed);
        PROFILE_END.store(range.end, Relaxed);
    }
    TRACKED.store(plugin.config.vcpu, Relaxed);
    PLUGIN.set(plugin).map_err(|_| "loaded twice in one QEMU; load it once")?;
    // SAFETY: `id` is the id QEMU gave this plugin; the callbacks have the
    // C signatures QEMU expects and live as long as the library.
    unsafe {
        qemu::qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
        qemu::qemu_plugin_register_atexit_cb(id, on_exit, std::ptr::null_mut());
    }
    Ok(())
}

/// Translation: register an execution callback on every instruction.
extern "C" fn on_translate(_id: qemu::PluginId, tb: *mut qemu::Tb) {
    let Some(plugin) = PLUGIN.get() else { return };
    // SAFETY: `tb` is valid during this translation callback.
    let n = unsafe { qemu::qemu_plugin_tb_n_insns(tb) };
    for i in 0..n {
        // SAFETY: `tb` is valid during this callback and `i` is below its
        // instruction count; the handle is used only within the callback.
        let insn = unsafe { qemu::qemu_plugin_tb_get_insn(tb, i) };
        // SAFETY: `insn` is a live handle from `qemu_plugin_tb_get_insn`.
        let vaddr = unsafe { qemu::qemu_plugin_insn_vaddr(insn) };
        // The target is 32-bit arm (checked at install): addresses fit.
        let addr = vaddr as u32;
        let data = tag(addr, plugin.pcs.contains(&addr), plugin.config.range_mask(addr));
        // SAFETY: `insn` is a live handle; `on_insn` has the C signature of
        // `qemu_plugin_vcpu_udata_cb_t`, reads no registers and treats the
        // user data as a plain integer.
        unsafe {
            qemu::qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, qemu::CB_NO_REGS, data);
        }
    }
}

/// Execution of one instruction, before it runs.
extern "C" fn on_insn(vcpu_index: c_uint, userdata: *mut c_void) {
    let tracked = TRACKED.load(Relaxed);
    if vcpu_index != tracked && tracked != ALL_VCPUS {
        OTHERS.fetch_add(1, Relaxed);
        return;
    }
    let tag = userdata.addr() as u64;
    let mask = tag as u32 & !(WATCHED as u32);
    let count = COUNT.load(Relaxed);
    let addr = (tag >> 32) as u32;
    let start = PROFILE_START.load(Relaxed);
    if addr >= start && addr < PROFILE_END.load(Relaxed) {
        profile_hit(addr - start);
    }
    if tag & WATCHED != 0 || mask != INSIDE.load(Relaxed) {
        record(count, (tag >> 32) as u32, mask, tag & WATCHED != 0);
    }
    COUNT.store(count + 1, Relaxed);
}

#[cold]
#[inline(never)]
fn profile_hit(offset: u32) {
    if let Some(counter) = PLUGIN.get().and_then(|p| p.profile.get(offset as usize / 2)) {
        counter.fetch_add(1, Relaxed);
    }
}

#[cold]
#[inline(never)]
fn record(count: u64, addr: u32, mask: u32, watched: bool) {
    let before = INSIDE.swap(mask, Relaxed);
    let Some(plugin) = PLUGIN.get() else { return };
    let mut out = plugin.out.lock().unwrap_or_else(|p| p.into_inner());
    let out = &mut *out;
    events_at(count, addr, before, mask, watched, |event: Event| {
        if out.error.is_none() {
            match writeln!(out.writer, "{event}") {
                Ok(()) => out.events += 1,
                Err(e) => out.error = Some(e),
            }
        }
    });
}

/// QEMU is exiting: flush the events and log a summary.
extern "C" fn on_exit(_id: qemu::PluginId, _userdata: *mut c_void) {
    let Some(plugin) = PLUGIN.get() else { return };
    let mut out = plugin.out.lock().unwrap_or_else(|p| p.into_inner());
    let flushed = out.writer.flush();
    let path = plugin.config.out.display();
    if let Some(e) = out.error.take().map(Err).unwrap_or(flushed).err() {
        eprintln!("bulkhead-insn-plugin: writing {path} failed, events are missing: {e}");
    }
    if let Some(range) = &plugin.config.profile {
        let mut text = String::new();
        for (index, counter) in plugin.profile.iter().enumerate() {
            let hits = counter.load(Relaxed);
            if hits != 0 {
                text.push_str(&format!("{:#010x} {hits}\n", range.start as usize + 2 * index));
            }
        }
        let profile_path = format!("{path}.profile");
        if let Err(e) = std::fs::write(&profile_path, text) {
            eprintln!("bulkhead-insn-plugin: writing {profile_path} failed: {e}");
        }
    }
    let summary = format!(
        "bulkhead-insn-plugin: {} instructions on vCPU {}, {} on other vCPUs; {} events in {path}\n",
        COUNT.load(Relaxed),
        TRACKED.load(Relaxed),
        OTHERS.load(Relaxed),
        out.events,
    );
    if let Ok(summary) = CString::new(summary) {
        // SAFETY: `summary` is a valid C string that outlives the call.
        unsafe { qemu::qemu_plugin_outs(summary.as_ptr()) };
    }
}
