//! `bulkhead.h`, the hypercall ABI for C, checked against the ABI crate,
//! never against a copy of the output: every value and call of
//! `bulkhead-abi` is in it, it compiles with `arm-none-eabi-gcc` when that is
//! installed (A32 and T32, C and C++, `-O2 -Wall -Wextra -Werror`; without
//! it the test says why it skipped), and the checked-in
//! `kernel/abi/include/bulkhead.h` equals the rendered one.

use bulkhead_abi::{Call, El1Exception, Error, OperandKind};
use bulkhead_sysgen::emit::foreign;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The flags a C guest for the AN536's Cortex-R52 (with its 32 D registers
/// and Advanced SIMD) is built with.
const GCC_FLAGS: &[&str] = &[
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-mcpu=cortex-r52",
    "-mfloat-abi=hard",
    "-mfpu=neon-fp-armv8",
    "-ffreestanding",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory under cargo's temporary directory for tests, emptied
/// first (each test uses its own `what`).
fn scratch(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("foreign-{what}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A define's value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fact {
    /// An unsigned number (`U`).
    Number(u64),
    /// A 64-bit unsigned number (`ULL`).
    Wide(u64),
    /// A string literal.
    Text(String),
    /// A brace initialiser of numbers.
    List(Vec<u64>),
}

fn parse_number(text: &str) -> Option<Fact> {
    let (digits, wide) = match text.strip_suffix("ULL") {
        Some(digits) => (digits, true),
        None => (text.strip_suffix('U')?, false),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if wide { Fact::Wide(value) } else { Fact::Number(value) })
}

/// The `#define`s of a header, parsed back into facts (the include guard,
/// which has no value, as empty text).
fn parse_defines(header: &str) -> BTreeMap<String, Fact> {
    let mut defines = BTreeMap::new();
    for line in header.lines() {
        let Some(rest) = line.strip_prefix("#define ") else { continue };
        let rest = rest.split(" /*").next().expect("text before any comment");
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let fact = if value.is_empty() {
            Fact::Text(String::new())
        } else if let Some(text) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Fact::Text(text.to_owned())
        } else if let Some(items) = value.strip_prefix("{ ").and_then(|v| v.strip_suffix(" }")) {
            Fact::List(
                items
                    .split(", ")
                    .map(|item| match parse_number(item) {
                        Some(Fact::Number(n)) => n,
                        other => panic!("`{item}` in `{name}` is not a U number: {other:?}"),
                    })
                    .collect(),
            )
        } else {
            parse_number(value).unwrap_or_else(|| panic!("`{name}` has value `{value}`, not a C unsigned literal"))
        };
        assert!(defines.insert(name.to_owned(), fact).is_none(), "`{name}` defined twice");
    }
    defines
}

#[test]
fn the_checked_in_bulkhead_h_is_the_rendered_one() {
    let path = workspace().join("kernel/abi/include/bulkhead.h");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == foreign::bulkhead_h(),
        "{} differs from what kernel/abi says: regenerate it with\n    \
         cargo run -p bulkhead-sysgen -- abi-header --out kernel/abi/include/bulkhead.h",
        path.display()
    );
}

#[test]
fn bulkhead_h_defines_every_value_and_wraps_every_call_of_the_abi() {
    let header = foreign::bulkhead_h();
    let defines = parse_defines(&header);
    let number = |name: &str| match defines.get(name) {
        Some(Fact::Number(value)) => *value,
        other => panic!("`{name}` is {other:?}, not a number"),
    };
    let snake = |variant: String| {
        let mut out = String::new();
        for (index, c) in variant.chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    };
    assert_eq!(number("BULKHEAD_ABI_VERSION"), bulkhead_abi::ABI_VERSION as u64);
    assert_eq!(number("BULKHEAD_HVC_IMMEDIATE"), bulkhead_abi::HVC_IMMEDIATE as u64);
    assert_eq!(number("BULKHEAD_CONSOLE_WRITE_MAX"), bulkhead_abi::CONSOLE_WRITE_MAX as u64);
    assert_eq!(number("BULKHEAD_OK"), bulkhead_abi::OK as u64);
    for error in Error::ALL {
        assert_eq!(number(&format!("BULKHEAD_ERROR_{}", snake(format!("{error:?}")).to_uppercase())), error as u64);
    }
    for kind in El1Exception::ALL {
        assert_eq!(number(&format!("BULKHEAD_EXCEPTION_{}", snake(format!("{kind:?}")).to_uppercase())), kind as u64);
    }
    for (register, name, _) in bulkhead_abi::entry::REGISTERS {
        assert_eq!(number(&format!("BULKHEAD_ENTRY_REG_{}", name.to_uppercase())), register as u64);
    }
    assert!(header.contains(&format!("\"hvc #{}\"", bulkhead_abi::HVC_IMMEDIATE)));
    for call in Call::ALL {
        let name = snake(format!("{call:?}"));
        assert_eq!(number(&format!("BULKHEAD_CALL_{}", name.to_uppercase())), call as u64);
        let signature = call.signature();
        let mut parameters: Vec<String> = signature
            .arguments
            .iter()
            .map(|a| match a.kind {
                OperandKind::Word => format!("uint32_t {}", a.name),
                OperandKind::ReadBuffer => format!("const void *{}", a.name),
            })
            .collect();
        parameters.extend(signature.results.iter().map(|r| format!("uint32_t *{}", r.name)));
        let parameters = if parameters.is_empty() { "void".to_owned() } else { parameters.join(", ") };
        let declaration = if signature.returns {
            format!("static inline uint32_t bulkhead_{name}({parameters})")
        } else {
            format!("static inline __attribute__((noreturn)) void bulkhead_{name}({parameters})")
        };
        assert!(header.contains(&declaration), "bulkhead.h lacks `{declaration}`");
        for result in signature.results {
            assert!(header.contains(&format!("*{} = registers.r{};", result.name, result.register)), "{call:?}");
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bulkhead_h_compiles_as_c_and_cpp_in_a32_and_t32() {
    if !have("arm-none-eabi-gcc") {
        eprintln!("skipping: arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)");
        return;
    }
    let dir = scratch("bulkhead-h");
    std::fs::write(dir.join("bulkhead.h"), foreign::bulkhead_h()).expect("the header");
    let mut calls = String::new();
    for call in Call::ALL {
        let signature = call.signature();
        let mut name = String::new();
        for (index, c) in format!("{call:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        let mut arguments: Vec<String> = signature
            .arguments
            .iter()
            .map(|a| match a.kind {
                OperandKind::Word => format!("(uint32_t){}", a.register),
                OperandKind::ReadBuffer => "(const void *)buffer".to_owned(),
            })
            .collect();
        arguments.extend(signature.results.iter().map(|r| format!("&results[{}]", r.register)));
        let invocation = format!("bulkhead_{name}({})", arguments.join(", "));
        if signature.returns {
            calls.push_str(&format!("    results[0] |= {invocation};\n"));
        } else {
            calls.push_str(&format!("    if (results[0] == {}U) {{\n        {invocation};\n    }}\n", call as u32));
        }
    }
    let source = format!(
        "#include \"bulkhead.h\"\nuint32_t results[4];\nstatic const char buffer[] = \"x\";\nvoid every_call(void);\n\
         void every_call(void)\n{{\n{calls}}}\n"
    );
    for (file, driver, standard) in
        [("every.c", "arm-none-eabi-gcc", "-std=c99"), ("every.cpp", "arm-none-eabi-g++", "-std=c++17")]
    {
        std::fs::write(dir.join(file), &source).expect("the source");
        for isa in ["-marm", "-mthumb"] {
            run(Command::new(driver)
                .args(GCC_FLAGS)
                .args([standard, "-pedantic", isa, "-c"])
                .arg("-I")
                .arg(&dir)
                .arg(dir.join(file))
                .arg("-o")
                .arg(dir.join(format!("{file}{isa}.o"))));
        }
    }
}
