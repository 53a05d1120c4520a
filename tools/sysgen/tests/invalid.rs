//! Every rejection rule of the generator, one mistake at a time.
//!
//! `tests/invalid/*.toml` (at the workspace root) are system descriptions with
//! exactly one mistake each. Each starts with the problem it must produce:
//!
//! ```text
//! # expect-key: partition.b.data.base
//! # expect-reason: overlaps `partition.a.data` (0x10010000..0x10018000); ...
//! ```
//!
//! The load must fail with exactly that one problem: the key equal, the reason
//! containing the expected text, the file named. Rules that need a board other
//! than mps3-an536 are tested below with a board written to a temporary
//! directory. A property test checks that layouts the generator accepts are
//! placed correctly.

use bulkhead_sysgen::model::{RegionKind, Span, System};
use bulkhead_sysgen::{Problem, load};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Fewer files than this means the directory went missing or was emptied.
const MIN_INVALID_FILES: usize = 20;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn boards() -> PathBuf {
    workspace().join("boards")
}

fn lines(problems: &[Problem]) -> String {
    problems.iter().map(|problem| format!("\n    {}", problem.line())).collect()
}

/// The `# expect-key:` and `# expect-reason:` of the header comments.
fn expectations(path: &Path, text: &str) -> Result<(String, String), String> {
    let header = text.lines().take_while(|line| line.starts_with('#'));
    let (mut key, mut reason) = (None, None);
    for line in header {
        if let Some(value) = line.strip_prefix("# expect-key:") {
            key = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("# expect-reason:") {
            reason = Some(value.trim().to_owned());
        }
    }
    match (key, reason) {
        (Some(key), Some(reason)) if !key.is_empty() && !reason.is_empty() => Ok((key, reason)),
        _ => Err(format!(
            "{}: the file must start with `# expect-key: KEY` and `# expect-reason: TEXT` comment lines",
            path.display()
        )),
    }
}

/// Checks one invalid description; `Err` says what went wrong.
fn check_invalid(path: &Path, boards: &Path) -> Result<(), String> {
    let name = path.file_name().expect("a file");
    let text = fs::read_to_string(path).map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
    let (key, reason) = expectations(path, &text)?;
    let problems = match load(path, boards) {
        Ok(_) => return Err(format!("{}: accepted, expected `{key}`: {reason}", name.display())),
        Err(problems) => problems.0,
    };
    let [problem] = problems.as_slice() else {
        return Err(format!(
            "{}: expected exactly one problem (`{key}`: {reason}), got {}:{}",
            name.display(),
            problems.len(),
            lines(&problems)
        ));
    };
    if problem.key != key || !problem.reason.contains(&reason) || !problem.file.ends_with(name) {
        return Err(format!(
            "{}: expected `{key}` with a reason containing \"{reason}\" in this file, got:{}",
            name.display(),
            lines(&problems)
        ));
    }
    Ok(())
}

#[test]
fn invalid_descriptions_are_rejected_with_one_precise_problem() {
    let directory = workspace().join("tests/invalid");
    let entries = fs::read_dir(&directory).unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    files.sort();
    let failures: Vec<String> = files.iter().filter_map(|path| check_invalid(path, &boards()).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} invalid descriptions failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(
        files.len() >= MIN_INVALID_FILES,
        "only {} descriptions in {}; expected at least {MIN_INVALID_FILES}",
        files.len(),
        directory.display()
    );
}

#[test]
fn a_file_without_the_header_is_reported_by_name() {
    let path = Path::new("tests/invalid/no-header.toml");
    let error = expectations(path, "[system]\nname = \"t\"\n").unwrap_err();
    assert!(error.contains("no-header.toml") && error.contains("expect-key"), "{error}");
    let error = expectations(path, "# expect-key: system\n\n# expect-reason: late\n").unwrap_err();
    assert!(error.contains("no-header.toml"), "{error}");
}

/// Each board's own systems (`boards/*/systems/*.toml`) pass every check on
/// that board; at least the S32Z2's demo exists, with its console shared.
#[test]
fn every_boards_own_systems_are_accepted() {
    let mut checked = Vec::new();
    for board in fs::read_dir(boards()).expect("boards/") {
        let systems = board.expect("an entry").path().join("systems");
        let Ok(entries) = fs::read_dir(&systems) else { continue };
        for entry in entries {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let system = load(&path, &boards())
                    .unwrap_or_else(|problems| panic!("{} rejected:{}", path.display(), lines(&problems.0)));
                checked.push((system.board.name.clone(), system.console_shared()));
            }
        }
    }
    assert!(checked.contains(&("s32z2-rtu0".to_owned(), true)), "{checked:?}");
}

#[test]
fn the_demo_is_accepted() {
    let demo = workspace().join("partitions/systems/demo.toml");
    if let Err(problems) = load(&demo, &boards()) {
        panic!("{} rejected:{}", demo.display(), lines(&problems.0));
    }
}

/// A fresh path under the temporary directory.
fn temp_path(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("bulkhead-sysgen-{}-{number}-{what}", std::process::id()))
}

/// Writes `[system]` for `board` followed by `body` to a fresh file in
/// `directory` and loads it against the boards in `boards`.
fn load_text(directory: &Path, boards: &Path, board: &str, body: &str) -> (PathBuf, Result<System, Vec<Problem>>) {
    let path = directory.join(temp_path("system.toml").file_name().expect("a file name"));
    fs::write(&path, format!("[system]\nname = \"t\"\nboard = \"{board}\"\n{body}")).expect("temporary system");
    let result = load(&path, boards).map_err(|problems| problems.0);
    (path, result)
}

/// A boards directory holding `test-board`: mps3-an536 changed by `edit`.
struct TempBoards(PathBuf);

impl TempBoards {
    fn with(edit: impl FnOnce(String) -> String) -> TempBoards {
        let root = temp_path("boards");
        let board = fs::read_to_string(boards().join("mps3-an536/board.toml")).expect("mps3-an536 board");
        let board = edit(board.replace("name = \"mps3-an536\"", "name = \"test-board\""));
        fs::create_dir_all(root.join("test-board")).expect("temporary boards directory");
        fs::write(root.join("test-board/board.toml"), board).expect("temporary board");
        TempBoards(root)
    }

    /// mps3-an536 with `devices` (TOML text) added.
    fn new(devices: &str) -> TempBoards {
        TempBoards::with(|board| format!("{board}\n{devices}"))
    }

    /// Loads a system made of `body` (everything after `[system]`) on this board.
    fn load(&self, body: &str) -> (PathBuf, Result<System, Vec<Problem>>) {
        load_text(&self.0, &self.0, "test-board", body)
    }
}

impl Drop for TempBoards {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const ONE_PARTITION: &str = r#"
[[partition]]
name = "a"
image = "demo-clock"
fault_policy = "restart"
code = { size = "64K" }
data = { size = "32K" }
"#;

const ONE_WINDOW: &str = r#"
[[schedule]]
major_frame = "10ms"
windows = [{ partition = "a", duration = "5ms" }]
"#;

fn one_problem(path: &Path, result: Result<System, Vec<Problem>>) -> Problem {
    match result {
        Ok(_) => panic!("{}: accepted", path.display()),
        Err(problems) => match <[Problem; 1]>::try_from(problems) {
            Ok([problem]) => problem,
            Err(problems) => panic!("{}: expected one problem, got:{}", path.display(), lines(&problems)),
        },
    }
}

/// mps3-an536 has no device inside a memory, so the rules about device frames
/// on top of memory regions need a board that has one.
#[test]
fn a_region_on_a_device_frame_is_rejected() {
    let boards = TempBoards::new(
        "[[device]]\nname = \"ddr-ctl\"\nbase = 0x2FF0_0000\nsize = \"4K\"\ndescription = \"a device inside ddr\"\n",
    );
    let regions = "regions = [{ name = \"window\", base = 0x2FF0_0800, size = \"4K\", access = \"rw\" }]\n";
    let (path, result) = boards.load(&format!("{ONE_PARTITION}{regions}{ONE_WINDOW}"));
    let problem = one_problem(&path, result);
    assert_eq!(problem.key, "partition.a.regions.window", "{}", problem.line());
    assert!(problem.reason.contains("overlaps device `ddr-ctl` at 0x2ff00000"), "{}", problem.line());
    assert!(problem.file.ends_with(path.file_name().unwrap()), "{}", problem.line());

    // Automatic placement steps around the same frame: 255 MiB + 64 KiB would
    // fit in ddr without it.
    let regions = "regions = [{ name = \"big\", memory = \"ddr\", size = \"261184K\", access = \"rw\" }]\n";
    let (path, result) = boards.load(&format!("{ONE_PARTITION}{regions}{ONE_WINDOW}"));
    let problem = one_problem(&path, result);
    assert_eq!(problem.key, "partition.a.regions.big.size", "{}", problem.line());
    assert!(problem.reason.contains("no room for 261184 KiB in memory `ddr`"), "{}", problem.line());
    // With ddr below the frame taken, the next free byte is just after it.
    let regions = "regions = [\n\
                   { name = \"below\", base = 0x2000_0000, size = \"255M\", access = \"rw\" },\n\
                   { name = \"after\", memory = \"ddr\", size = \"4K\", access = \"rw\" },\n]\n";
    let (path, result) = boards.load(&format!("{ONE_PARTITION}{regions}{ONE_WINDOW}"));
    let system = result.unwrap_or_else(|problems| panic!("{}: rejected:{}", path.display(), lines(&problems)));
    let after = system.partitions[0].regions.iter().find(|r| r.name == "after").expect("region `after`");
    assert_eq!(after.span, Span { base: 0x2FF0_1000, size: 4096 });
}

#[test]
fn overlapping_device_frames_given_to_one_partition_are_rejected() {
    let boards = TempBoards::new(
        "[[device]]\nname = \"alias\"\nbase = 0xE020_5800\nsize = \"4K\"\ndescription = \"overlaps uart2\"\n",
    );
    let devices = "devices = [\"uart2\", \"alias\"]\n";
    let (path, result) = boards.load(&format!("{ONE_PARTITION}{devices}{ONE_WINDOW}"));
    let problem = one_problem(&path, result);
    assert_eq!(problem.key, "partition.a.devices", "{}", problem.line());
    assert!(problem.reason.contains("device `alias` overlaps its own device `uart2`"), "{}", problem.line());
}

/// A per-core UART besides the console (mps3-an536's only per-core device,
/// uart0, is the kernel's console, which no partition may have).
const PER_CORE_UART: &str = "[[device]]\nname = \"lcl\"\nbase = 0xE7C1_0000\nsize = \"4K\"\ninterrupts = [19]\n\
                             per_core = true\nserial = [6, 7]\ndescription = \"a per-core UART\"\n";

/// Partitions `a` and `b` given `lcl`, `b` on `b_core` (with its own
/// schedule when that is core 1).
fn per_core_system(b_core: u32) -> String {
    let b = "\n[[partition]]\nname = \"b\"\nimage = \"demo-counter\"\nfault_policy = \"restart\"\n\
             code = { size = \"64K\" }\ndata = { size = \"32K\" }\ndevices = [\"lcl\"]\n";
    let schedules = if b_core == 0 {
        "\n[[schedule]]\nmajor_frame = \"10ms\"\nwindows = [{ partition = \"a\", duration = \"5ms\" }, \
         { partition = \"b\", duration = \"5ms\" }]\n"
            .to_owned()
    } else {
        format!(
            "{ONE_WINDOW}\n[[schedule]]\ncore = {b_core}\nmajor_frame = \"10ms\"\n\
             windows = [{{ partition = \"b\", duration = \"5ms\" }}]\n"
        )
    };
    format!("{ONE_PARTITION}devices = [\"lcl\"]\n{b}{schedules}")
}

#[test]
fn a_per_core_device_has_one_owner_on_each_core() {
    let boards = TempBoards::new(PER_CORE_UART);
    // Once per core: each partition has its own core's instance, with that
    // instance's serial port, and its own core's PPI.
    let (path, result) = boards.load(&per_core_system(1));
    let system = result.unwrap_or_else(|problems| panic!("{}: rejected:{}", path.display(), lines(&problems)));
    let lcl = system.board.devices.iter().position(|d| d.name == "lcl").expect("lcl");
    let serials: Vec<(String, u32, Option<u8>)> = (0..2)
        .map(|p| (system.partitions[p].name.clone(), system.partitions[p].core, system.partition_serial(p, lcl)))
        .collect();
    assert_eq!(serials, [("a".to_owned(), 0, Some(6)), ("b".to_owned(), 1, Some(7))]);
    assert!(system.partitions.iter().all(|p| p.interrupts == [19]));

    // Twice on one core.
    let (path, result) = boards.load(&per_core_system(0));
    let problem = one_problem(&path, result);
    assert_eq!(problem.key, "partition.b.devices", "{}", problem.line());
    assert!(
        problem.reason.contains(
            "`lcl` of core 0 is already given to partition `a`; a per-core device has one owner on each core"
        ),
        "{}",
        problem.line()
    );
}

#[test]
fn a_per_core_serial_port_list_is_one_port_per_core_of_a_per_core_device() {
    let cases = [
        (PER_CORE_UART.replace("serial = [6, 7]", "serial = [6]"), "lists 1 serial ports but the board has 2 cores"),
        (
            PER_CORE_UART.replace("serial = [6, 7]", "serial = [6, 6]"),
            "each core's instance needs a serial port of its own",
        ),
        (
            PER_CORE_UART.replace("per_core = true\n", ""),
            "a list of serial ports is for a `per_core` device, one port per core",
        ),
        (PER_CORE_UART.replace("serial = [6, 7]", "serial = [6, 1]"), "serial port used by `uart0` too"),
    ];
    for (device, reason) in cases {
        let boards = TempBoards::new(&device);
        let (path, result) = boards.load(&format!("{ONE_PARTITION}{ONE_WINDOW}"));
        let problem = one_problem(&path, result);
        assert!(
            problem.key == "device.lcl.serial"
                && problem.reason.contains(reason)
                && problem.file.ends_with("board.toml"),
            "expected `device.lcl.serial`: {reason}, got {}",
            problem.line()
        );
    }
}

/// Board rules: each edit of mps3-an536 makes exactly one problem, reported
/// against the board file (or, for the last, against the system that needs
/// what the board lacks).
#[test]
fn invalid_boards_are_rejected() {
    let replace = |from: &'static str, to: &'static str| {
        move |board: String| {
            assert!(board.contains(from), "mps3-an536 board.toml no longer has `{from}`");
            board.replacen(from, to, 1)
        }
    };
    let append = |text: &'static str| move |board: String| format!("{board}\n{text}");
    type Edit = Box<dyn FnOnce(String) -> String>;
    // (edit, file the problem is in, key, reason)
    let cases: Vec<(Edit, &str, &str, &str)> = vec![
        (
            Box::new(append("[[memory]]\nname = \"odd\"\nbase = 0x3000_0020\nsize = \"4K\"\nkind = \"ram\"\n")),
            "board.toml",
            "memory.odd",
            "a memory must be a non-empty, 64-byte aligned range below 4 GiB",
        ),
        (
            Box::new(append("[[device]]\nname = \"far\"\nbase = 0x1_0000_0000\nsize = \"4K\"\ndescription = \"\"\n")),
            "board.toml",
            "device.far",
            "device frame beyond 4 GiB",
        ),
        (
            Box::new(append("[[device]]\nname = \"odd\"\nbase = 0xE030_0020\nsize = \"4K\"\ndescription = \"\"\n")),
            "board.toml",
            "device.odd",
            "a device frame must be a non-empty, 64-byte aligned range",
        ),
        (
            Box::new(append("[[device]]\nname = \"uart2\"\nbase = 0xE030_0000\nsize = \"4K\"\ndescription = \"\"\n")),
            "board.toml",
            "device.uart2.name",
            "device name used twice",
        ),
        (
            Box::new(append(
                "[[device]]\nname = \"uart9\"\nbase = 0xE030_0000\nsize = \"4K\"\nserial = 4\ndescription = \"\"\n",
            )),
            "board.toml",
            "device.uart9.serial",
            "serial port used by `uart4` too",
        ),
        (
            Box::new(replace("console = \"uart0\"", "console = \"uart9\"")),
            "board.toml",
            "kernel.console",
            "no device `uart9`",
        ),
        (
            Box::new(replace("el2_mpu_regions = 16", "el2_mpu_regions = 4")),
            "board.toml",
            "board.el2_mpu_regions",
            "the kernel alone needs 4 EL2 MPU regions",
        ),
        (
            Box::new(replace("el1_mpu_regions = 16", "el1_mpu_regions = 24")),
            "board.toml",
            "board.el1_mpu_regions",
            "the context switch saves 16 EL1 MPU regions",
        ),
        (
            Box::new(replace("el2_mpu_regions = 16", "el2_mpu_regions = 40")),
            "board.toml",
            "board.el2_mpu_regions",
            "at most 32 EL2 MPU regions",
        ),
        (
            Box::new(replace("code = { base = 0x0800_0000, size", "code = { size")),
            "board.toml",
            "kernel.code",
            "the kernel's regions need a fixed base and a size below 4 GiB",
        ),
        (
            Box::new(append(
                "[[device]]\nname = \"pulse\"\nbase = 0xE030_0000\nsize = \"4K\"\ninterrupts = [90]\nedge_triggered = [91]\ndescription = \"\"\n",
            )),
            "board.toml",
            "device.pulse.edge_triggered",
            "interrupt 91 is not one of this device's SPIs",
        ),
        (
            Box::new(replace("console_driver = \"cmsdk-uart\"", "console_driver = \"pl011\"")),
            "board.toml",
            "kernel.console_driver",
            "unknown console driver `pl011`: one of `cmsdk-uart`, `nxp-linflexd`",
        ),
        (
            Box::new(replace("console_driver = \"cmsdk-uart\"", "console_driver = \"nxp-linflexd\"")),
            "board.toml",
            "kernel.console_driver",
            "`nxp-linflexd` needs `console_clock_hz` (the LINFlexD module clock) and `console_baud`",
        ),
        (
            Box::new(replace(
                "console_driver = \"cmsdk-uart\"",
                "console_driver = \"nxp-linflexd\"\nconsole_clock_hz = 1_000_000\nconsole_baud = 115_200",
            )),
            "board.toml",
            "kernel.console_baud",
            "115200 baud cannot be made from 1000000 Hz",
        ),
        (
            Box::new(replace(
                "console_driver = \"cmsdk-uart\"",
                "console_driver = \"cmsdk-uart\"\nconsole_baud = 115_200",
            )),
            "board.toml",
            "kernel.console_baud",
            "only the `nxp-linflexd` console driver takes it",
        ),
        (
            Box::new(replace("cluster = 0 ", "cluster = 0x1_0000 ")),
            "board.toml",
            "board.cluster",
            "the cluster is MPIDR's Aff2.Aff1 (0..=0xffff), not 0x10000",
        ),
        (
            Box::new(replace("redistributor_stride = \"128K\"", "redistributor_stride = \"256K\"")),
            "board.toml",
            "gic.redistributor_stride",
            "128K per redistributor",
        ),
        (
            Box::new(replace("kind = \"flash\"", "kind = \"ram\"")),
            "system",
            "partition.a.code",
            "board `test-board` has no flash memory",
        ),
    ];
    for (edit, file, key, reason) in cases {
        let boards = TempBoards::with(edit);
        let (path, result) = boards.load(&format!("{ONE_PARTITION}{ONE_WINDOW}"));
        let problem = one_problem(&path, result);
        let expected_file = if file == "system" { path.file_name().expect("a file name") } else { file.as_ref() };
        assert!(
            problem.key == key && problem.reason.contains(reason) && problem.file.ends_with(expected_file),
            "expected `{key}`: {reason} in {file}, got {}",
            problem.line()
        );
    }
}

/// A device's edge-triggered SPIs reach the kernel's boot configuration
/// when a partition owns them, and only then.
#[test]
fn edge_triggered_spis_of_given_devices_are_listed() {
    let boards = TempBoards::new(
        "[[device]]\nname = \"pulse\"\nbase = 0xE030_0000\nsize = \"4K\"\ninterrupts = [91, 90]\nedge_triggered = [91]\ndescription = \"\"\n\
         [[device]]\nname = \"other\"\nbase = 0xE030_1000\nsize = \"4K\"\ninterrupts = [92]\nedge_triggered = [92]\ndescription = \"\"\n",
    );
    let (path, result) = boards.load(&format!("{ONE_PARTITION}devices = [\"pulse\"]\n{ONE_WINDOW}"));
    let system = result.unwrap_or_else(|problems| panic!("{}: rejected:{}", path.display(), lines(&problems)));
    assert_eq!(system.edge_spis(), [91], "92 is nobody's, 90 is level");
}

/// A core count a cluster cannot have: 0, or more than a GICv3 SGI target
/// list names (other rules, such as one serial port per core, then
/// complain too; the core count must be among the problems).
#[test]
fn a_board_core_count_beyond_one_cluster_is_rejected() {
    for cores in ["0", "17"] {
        let boards = TempBoards::with(|board| board.replacen("cores = 2\n", &format!("cores = {cores}\n"), 1));
        let (path, result) = boards.load(&format!("{ONE_PARTITION}{ONE_WINDOW}"));
        let problems = result.err().unwrap_or_else(|| panic!("{}: accepted with {cores} cores", path.display()));
        assert!(
            problems.iter().any(|p| p.key == "board.cores"
                && p.reason.contains("1 to 16 cores of one cluster")
                && p.file.ends_with("board.toml")),
            "{cores} cores:{}",
            lines(&problems)
        );
    }
}

/// An empty schedule also leaves its partitions without a window: two true
/// problems, so this rule cannot have a one-problem file.
#[test]
fn an_empty_schedule_is_rejected() {
    let directory = std::env::temp_dir();
    let body = format!("{ONE_PARTITION}\n[[schedule]]\nmajor_frame = \"10ms\"\nwindows = []\n");
    let (path, result) = load_text(&directory, &boards(), "mps3-an536", &body);
    let _ = fs::remove_file(&path);
    let problems = result.err().unwrap_or_else(|| panic!("{}: accepted", path.display()));
    let found: Vec<(&str, &str)> = problems.iter().map(|p| (p.key.as_str(), p.reason.as_str())).collect();
    assert_eq!(
        found,
        [
            ("partition.a", "partition `a` has no window in any schedule"),
            ("schedule[0].windows", "a schedule needs at least one window")
        ],
        "{}",
        lines(&problems)
    );
}

// Random valid layouts.

/// Devices mps3-an536 lets partitions have: all but the console and the
/// chip-wide watchdog.
const DEVICES: [&str; 5] = ["uart2", "uart3", "uart4", "uart5", "dualtimer"];

#[derive(Clone, Debug)]
struct ExtraRegion {
    size: u64,
    access: &'static str,
    memory: Option<&'static str>,
    memory_type: Option<&'static str>,
}

#[derive(Clone, Debug)]
struct PartitionSpec {
    code_size: u64,
    code_fixed: bool,
    data_size: u64,
    data_fixed: bool,
    data_memory: Option<&'static str>,
    regions: Vec<ExtraRegion>,
}

#[derive(Clone, Debug)]
struct Layout {
    partitions: Vec<PartitionSpec>,
    /// Owner of each of [`DEVICES`], if any (index modulo the partition count).
    device_owners: Vec<Option<usize>>,
    /// Size of a `[[shared]]` region and each partition's access to it.
    shared: Option<(u64, Vec<Option<&'static str>>)>,
}

/// Fixed code bases: 512 KiB slots in the upper half of qspi.
fn fixed_code_base(index: usize) -> u64 {
    0x0840_0000 + index as u64 * 0x8_0000
}

/// Fixed data bases: 1 MiB slots at the start of ddr.
fn fixed_data_base(index: usize) -> u64 {
    0x2000_0000 + index as u64 * 0x10_0000
}

fn granules(range: std::ops::RangeInclusive<u64>) -> impl Strategy<Value = u64> {
    range.prop_map(|count| count * 64)
}

fn extra_region() -> impl Strategy<Value = ExtraRegion> {
    (
        granules(1..=64),
        prop::sample::select(vec!["r", "rw", "rx", "rwx"]),
        prop::option::of(prop::sample::select(vec!["bram", "ddr"])),
        prop::option::of(prop::sample::select(vec!["normal", "non-cacheable"])),
    )
        .prop_map(|(size, access, memory, memory_type)| ExtraRegion { size, access, memory, memory_type })
}

fn partition_spec() -> impl Strategy<Value = PartitionSpec> {
    (
        granules(1..=4096),
        any::<bool>(),
        // At least the default stacks (6208 bytes), at most 32 KiB.
        granules(97..=512),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["bram", "ddr"])),
        prop::collection::vec(extra_region(), 0..=3),
    )
        .prop_map(|(code_size, code_fixed, data_size, data_fixed, data_memory, regions)| PartitionSpec {
            code_size,
            code_fixed,
            data_size,
            data_fixed,
            data_memory,
            regions,
        })
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(partition_spec(), 1..6),
        prop::collection::vec(prop::option::of(0usize..6), DEVICES.len()),
        prop::option::of((
            granules(1..=64),
            prop::collection::vec(prop::option::of(prop::sample::select(vec!["r", "rw"])), 6),
        )),
    )
        .prop_map(|(partitions, device_owners, shared)| Layout { partitions, device_owners, shared })
}

fn to_toml(layout: &Layout) -> String {
    let count = layout.partitions.len();
    let mut text = String::from("[system]\nname = \"random\"\nboard = \"mps3-an536\"\n");
    for (index, spec) in layout.partitions.iter().enumerate() {
        let _ =
            write!(text, "\n[[partition]]\nname = \"p{index}\"\nimage = \"demo-clock\"\nfault_policy = \"restart\"\n");
        let code_base = if spec.code_fixed { format!("base = {:#x}, ", fixed_code_base(index)) } else { String::new() };
        let _ = writeln!(text, "code = {{ {code_base}size = {} }}", spec.code_size);
        let data_base = if spec.data_fixed { format!("base = {:#x}, ", fixed_data_base(index)) } else { String::new() };
        let data_memory = match (spec.data_fixed, spec.data_memory) {
            (false, Some(memory)) => format!(", memory = \"{memory}\""),
            _ => String::new(),
        };
        let _ = writeln!(text, "data = {{ {data_base}size = {}{data_memory} }}", spec.data_size);
        text.push_str("regions = [\n");
        for (number, region) in spec.regions.iter().enumerate() {
            let _ = write!(text, "    {{ name = \"r{number}\", size = {}, access = \"{}\"", region.size, region.access);
            if let Some(memory) = region.memory {
                let _ = write!(text, ", memory = \"{memory}\"");
            }
            if let Some(memory_type) = region.memory_type {
                let _ = write!(text, ", memory_type = \"{memory_type}\"");
            }
            text.push_str(" },\n");
        }
        text.push_str("]\n");
        let devices: Vec<String> = DEVICES
            .iter()
            .zip(&layout.device_owners)
            .filter(|(_, owner)| owner.is_some_and(|owner| owner % count == index))
            .map(|(device, _)| format!("\"{device}\""))
            .collect();
        let _ = writeln!(text, "devices = [{}]", devices.join(", "));
    }
    if let Some((size, accesses)) = &layout.shared {
        let access: Vec<String> = accesses
            .iter()
            .take(count)
            .enumerate()
            .filter_map(|(index, access)| access.map(|access| format!("p{index} = \"{access}\"")))
            .collect();
        if !access.is_empty() {
            let _ =
                write!(text, "\n[[shared]]\nname = \"buffer\"\nsize = {size}\naccess = {{ {} }}\n", access.join(", "));
        }
    }
    text.push_str("\n[[schedule]]\nmajor_frame = \"10ms\"\nwindows = [\n");
    for index in 0..count {
        let _ = writeln!(text, "    {{ partition = \"p{index}\", duration = \"1ms\" }},");
    }
    text.push_str("]\n");
    text
}

/// Sorted, with touching and overlapping intervals joined; `(first, last)` inclusive.
fn merged(mut intervals: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    intervals.sort();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (first, last) in intervals {
        match out.last_mut() {
            Some(previous) if first <= previous.1 + 1 => previous.1 = previous.1.max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

fn interval(span: &Span) -> (u64, u64) {
    (span.base as u64, span.limit() as u64)
}

fn disjoint(a: (u64, u64), b: (u64, u64)) -> bool {
    a.1 < b.0 || b.1 < a.0
}

/// Everything a placed system must satisfy; `Err` says what does not.
fn check_layout(layout: &Layout, system: &System) -> Result<(), String> {
    let board = &system.board;
    let budget = board.el2_mpu_regions as usize - system.kernel.mpu_regions.len();
    let kernel: Vec<(u64, u64)> = system.kernel.mpu_regions.iter().map(|r| (r.base as u64, r.limit as u64)).collect();
    if system.partitions.len() != layout.partitions.len() {
        return Err(format!("{} partitions placed, {} described", system.partitions.len(), layout.partitions.len()));
    }
    for (index, (partition, spec)) in system.partitions.iter().zip(&layout.partitions).enumerate() {
        let name = &partition.name;
        if partition.code().span.size as u64 != spec.code_size || partition.data().span.size as u64 != spec.data_size {
            return Err(format!("{name}: code or data size changed"));
        }
        if spec.code_fixed && partition.code().span.base as u64 != fixed_code_base(index) {
            return Err(format!("{name}: fixed code base moved"));
        }
        if spec.data_fixed && partition.data().span.base as u64 != fixed_data_base(index) {
            return Err(format!("{name}: fixed data base moved"));
        }
        for region in &partition.regions {
            let span = region.span;
            let what = format!("{name}.{} {:#010x}+{:#x}", region.name, span.base, span.size);
            if span.base % 64 != 0 || span.size % 64 != 0 || span.size == 0 {
                return Err(format!("{what}: not 64-byte granular"));
            }
            if let RegionKind::Device(device) = region.kind {
                let device = &board.devices[device];
                if (span.base, span.size) != (device.base, device.size) {
                    return Err(format!("{what}: not the frame of `{}`", device.name));
                }
            } else {
                let end = span.base as u64 + span.size as u64;
                let Some(memory) = board.memories.iter().find(|m| m.base <= span.base as u64 && end <= m.base + m.size)
                else {
                    return Err(format!("{what}: not inside a board memory"));
                };
                if (region.kind == RegionKind::Code) != memory.flash {
                    return Err(format!("{what}: in `{}`", memory.name));
                }
            }
            if let Some(kernel) = kernel.iter().find(|k| !disjoint(**k, interval(&span))) {
                return Err(format!("{what}: overlaps the kernel's {kernel:#x?}"));
            }
            for other in system.partitions.iter().filter(|other| other.name != *name) {
                for theirs in &other.regions {
                    let same_shared = matches!((&region.kind, &theirs.kind), (RegionKind::Shared(a), RegionKind::Shared(b)) if a == b);
                    if !same_shared && !disjoint(interval(&span), interval(&theirs.span)) {
                        return Err(format!("{what}: overlaps {}.{}", other.name, theirs.name));
                    }
                }
            }
        }
        for (number, region) in partition.regions.iter().enumerate() {
            if let Some(other) =
                partition.regions[number + 1..].iter().find(|o| !disjoint(interval(&region.span), interval(&o.span)))
            {
                return Err(format!("{name}: `{}` overlaps its own `{}`", region.name, other.name));
            }
        }
        let mpu: Vec<(u64, u64)> = partition.mpu_regions.iter().map(|r| (r.base as u64, r.limit as u64)).collect();
        if mpu.len() > budget {
            return Err(format!("{name}: {} MPU regions, budget {budget}", mpu.len()));
        }
        for (number, first) in mpu.iter().enumerate() {
            if mpu[number + 1..].iter().any(|second| !disjoint(*first, *second)) {
                return Err(format!("{name}: MPU regions overlap: {mpu:#x?}"));
            }
        }
        let bytes = merged(partition.regions.iter().map(|r| interval(&r.span)).collect());
        if merged(mpu.clone()) != bytes {
            return Err(format!("{name}: MPU regions {mpu:#x?} do not cover exactly {bytes:#x?}"));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn valid_layouts_are_placed_correctly(layout in layout()) {
        let text = to_toml(&layout);
        let path = temp_path("layout.toml");
        fs::write(&path, &text).expect("temporary description");
        let result = load(&path, &boards());
        let _ = fs::remove_file(&path);
        let system = match result {
            Ok(system) => system,
            Err(problems) => return Err(TestCaseError::fail(format!("rejected:{}\n{text}", lines(&problems.0)))),
        };
        if let Err(error) = check_layout(&layout, &system) {
            return Err(TestCaseError::fail(format!("{error}\n{text}")));
        }
    }
}
