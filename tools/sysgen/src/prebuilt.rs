//! Prebuilt partition images: running their `build` command, reading the ELF.
//!
//! A partition's `image = { elf = "PATH", build = "COMMAND" }` names an ELF
//! made by any toolchain. This module owns what happens to it before
//! [`crate::image::inspect`] checks it like any other image: the `build`
//! command runs with `sh -c` in the description's directory, after the
//! partition's generated files are written, with
//!
//! - `BULKHEAD_LAYOUT_DIR`: the absolute path of the directory holding the
//!   partition's generated files (`memory.x`, `layout.rs`, ...),
//! - `BULKHEAD_PARTITION`: the partition's name,
//!
//! and its output (stdout and stderr, interleaved) is shown only when it
//! fails; then the ELF is read from its path. Problems name the description,
//! the key (`partition.NAME.image.build` or `.elf`) and the reason.
//!
//! It must never look inside the ELF (that is [`crate::image`]) nor build a
//! crate image (that is `cargo xtask`'s job).

use crate::diag::Problem;
use crate::model::{ImageSource, Partition, System};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// A partition whose image is a prebuilt ELF.
#[derive(Clone, Copy, Debug)]
pub struct Prebuilt<'a> {
    /// The partition.
    pub partition: &'a Partition,
    /// The ELF file.
    pub path: &'a Path,
    /// The command that makes it.
    pub build: Option<&'a str>,
}

impl<'a> Prebuilt<'a> {
    /// `partition`'s prebuilt image, or `None` when its image is a crate.
    pub fn of(partition: &'a Partition) -> Option<Prebuilt<'a>> {
        match &partition.image {
            ImageSource::Crate(_) => None,
            ImageSource::Elf { path, build } => Some(Prebuilt { partition, path, build: build.as_deref() }),
        }
    }

    fn problem(&self, system: &System, field: &str, reason: String) -> Problem {
        Problem::new(&system.file, format!("partition.{}.image.{field}", self.partition.name), reason)
    }

    /// Runs the `build` command, if there is one, in `system`'s directory,
    /// telling it the partition's generated files are in `layout_dir`.
    pub fn build(&self, system: &System, layout_dir: &Path) -> Result<(), Problem> {
        let Some(command) = self.build else { return Ok(()) };
        let directory = system.directory();
        let fail = |reason: String| self.problem(system, "build", reason);
        let layout_dir = std::path::absolute(layout_dir)
            .map_err(|error| fail(format!("cannot name {}: {error}", layout_dir.display())))?;
        let (mut output, writer) = std::io::pipe().map_err(|error| fail(format!("cannot make a pipe: {error}")))?;
        let mut child = {
            let mut shell = Command::new("sh");
            shell
                .args(["-c", command])
                .current_dir(directory)
                .env("BULKHEAD_LAYOUT_DIR", &layout_dir)
                .env("BULKHEAD_PARTITION", &self.partition.name)
                .stdin(Stdio::null())
                .stdout(writer.try_clone().map_err(|error| fail(format!("cannot make a pipe: {error}")))?)
                .stderr(writer);
            shell.spawn().map_err(|error| fail(format!("cannot run `sh -c {command:?}`: {error}")))?
            // `shell` and its ends of the pipe are dropped here, so the
            // reading below ends when the command does.
        };
        let mut text = Vec::new();
        let read = output.read_to_end(&mut text);
        let status = child.wait().map_err(|error| fail(format!("`{command}` did not finish: {error}")))?;
        if status.success() {
            return Ok(());
        }
        let shown = match read {
            Ok(_) if text.is_empty() => "(it printed nothing)".to_owned(),
            Ok(_) => String::from_utf8_lossy(&text).trim_end().to_owned(),
            Err(error) => format!("(its output could not be read: {error})"),
        };
        Err(fail(format!(
            "`{command}` failed ({status}), run in {} with BULKHEAD_LAYOUT_DIR={}; its output:\n{shown}",
            directory.display(),
            layout_dir.display()
        )))
    }

    /// Reads the ELF file.
    pub fn read(&self, system: &System) -> Result<Vec<u8>, Problem> {
        std::fs::read(self.path).map_err(|error| {
            let after = match self.build {
                Some(command) => format!(" (after `{command}` ran and succeeded)"),
                None => String::new(),
            };
            self.problem(system, "elf", format!("cannot read {}{after}: {error}", self.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_elf::{TestElf, TestSegment};
    use std::fs;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory for one test's description and files.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let number = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("bulkhead-prebuilt-{}-{number}", std::process::id()));
            fs::create_dir_all(&path).expect("temporary directory");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Loads a one-partition system whose `image` is `image` (TOML), from a
    /// description in `directory`.
    fn system(directory: &Path, image: &str) -> System {
        let text = format!(
            "[system]\nname = \"t\"\nboard = \"mps3-an536\"\n\n[[partition]]\nname = \"guest\"\nimage = {image}\n\
             fault_policy = \"restart\"\ncode = {{ base = 0x0810_0000, size = \"64K\" }}\n\
             data = {{ base = 0x1002_0000, size = \"32K\" }}\n\n[[schedule]]\nmajor_frame = \"10ms\"\n\
             windows = [{{ partition = \"guest\", duration = \"5ms\" }}]\n"
        );
        let path = directory.join("system.toml");
        fs::write(&path, text).expect("temporary description");
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards");
        crate::load(&path, &boards).unwrap_or_else(|problems| panic!("rejected: {problems}"))
    }

    #[test]
    fn the_path_is_relative_to_the_description() {
        let directory = TempDir::new();
        let system = system(&directory.0, r#"{ elf = "out/guest.elf" }"#);
        let prebuilt = Prebuilt::of(&system.partitions[0]).expect("a prebuilt image");
        assert_eq!(prebuilt.path, directory.0.join("out/guest.elf"));
        assert_eq!(prebuilt.build, None);
    }

    #[test]
    fn the_build_runs_in_the_description_directory_and_is_told_the_layout() {
        let directory = TempDir::new();
        let system = system(
            &directory.0,
            r#"{ elf = "g.elf", build = "pwd > where; echo \"$BULKHEAD_LAYOUT_DIR $BULKHEAD_PARTITION\" > told" }"#,
        );
        let prebuilt = Prebuilt::of(&system.partitions[0]).expect("a prebuilt image");
        let layout = directory.0.join("layout");
        prebuilt.build(&system, &layout).unwrap_or_else(|problem| panic!("{problem}"));
        let where_ = fs::read_to_string(directory.0.join("where")).expect("the command wrote `where`");
        assert_eq!(
            Path::new(where_.trim()).canonicalize().ok(),
            directory.0.canonicalize().ok(),
            "the command ran in {where_}"
        );
        let told = fs::read_to_string(directory.0.join("told")).expect("the command wrote `told`");
        assert_eq!(told.trim(), format!("{} guest", layout.display()));
    }

    #[test]
    fn a_failing_build_is_reported_with_its_output() {
        let directory = TempDir::new();
        let system =
            system(&directory.0, r#"{ elf = "g.elf", build = "echo compiling; echo 'guest.c:3: error' >&2; exit 3" }"#);
        let prebuilt = Prebuilt::of(&system.partitions[0]).expect("a prebuilt image");
        let problem = prebuilt.build(&system, &directory.0).expect_err("the command fails");
        assert_eq!(problem.key, "partition.guest.image.build");
        assert_eq!(problem.file, system.file);
        assert!(problem.reason.contains("exit status: 3"), "{}", problem.reason);
        assert!(problem.reason.ends_with("its output:\ncompiling\nguest.c:3: error"), "{}", problem.reason);
    }

    #[test]
    fn a_missing_file_is_reported_at_its_key() {
        let directory = TempDir::new();
        let system = system(&directory.0, r#"{ elf = "never.elf", build = "true" }"#);
        let prebuilt = Prebuilt::of(&system.partitions[0]).expect("a prebuilt image");
        prebuilt.build(&system, &directory.0).unwrap_or_else(|problem| panic!("{problem}"));
        let problem = prebuilt.read(&system).expect_err("no file");
        assert_eq!(problem.key, "partition.guest.image.elf");
        assert!(
            problem
                .reason
                .starts_with(&format!("cannot read {} (after `true` ran", directory.0.join("never.elf").display())),
            "{}",
            problem.reason
        );
    }

    #[test]
    fn what_the_build_makes_is_checked_like_any_image() {
        let directory = TempDir::new();
        let elf = TestElf::new(0x0810_0000, vec![TestSegment::code(0x0810_0000, 0x100)]);
        fs::write(directory.0.join("made.elf"), elf.bytes()).expect("an ELF to copy");
        let system = system(
            &directory.0,
            r#"{ elf = "build/guest.elf", build = "mkdir -p build && cp made.elf build/guest.elf" }"#,
        );
        let partition = &system.partitions[0];
        let prebuilt = Prebuilt::of(partition).expect("a prebuilt image");
        prebuilt.build(&system, &directory.0).unwrap_or_else(|problem| panic!("{problem}"));
        let bytes = prebuilt.read(&system).unwrap_or_else(|problem| panic!("{problem}"));
        let image =
            crate::image::inspect(prebuilt.path, &bytes, partition).unwrap_or_else(|problem| panic!("{problem}"));
        assert_eq!((image.entry, image.flash_base, image.flash.len()), (0x0810_0000, 0x0810_0000, 0x100));
    }

    #[test]
    fn a_crate_image_is_not_prebuilt() {
        let directory = TempDir::new();
        let system = system(&directory.0, r#""demo-clock""#);
        assert!(Prebuilt::of(&system.partitions[0]).is_none());
    }
}
