//! A partition's `memory.ld`: its `MEMORY` block and the `__bulkhead_*`
//! symbols a foreign runtime links against, in the subset of GNU ld script
//! syntax that LLVM lld accepts too (plain `MEMORY`, `PROVIDE` of constants,
//! C comments).
//!
//! Symbols, all absolute and `PROVIDE`d (defined only if referenced, and a
//! definition of the guest's own wins):
//!
//! - `__bulkhead_<stem>_start`, `_end` (one past the last byte) and `_size`
//!   for every memory region (stems: see [`super`]);
//! - `__bulkhead_stack_top`: the top of the data region, the SVC `sp` the
//!   kernel enters with;
//! - `__bulkhead_<mode>_stack_size` for `sys` (the main stack), `svc`, `abt`,
//!   `und`, `irq` and `fiq`, from the description.

use super::{NameClash, Names, comment_text, memory_region_name, region_origin, region_stem};
use crate::emit::header;
use crate::model::System;
use crate::units::human_size;
use crate::validate::FIQ_STACK;
use std::fmt::Write;

/// The `memory.ld` of partition `index`.
pub fn memory_ld(system: &System, index: usize) -> Result<String, NameClash> {
    let partition = &system.partitions[index];
    let mut names = Names::new("memory.ld");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* {} */",
        comment_text(&header(system, &format!("partition `{}`, for GNU ld and LLVM lld", partition.name)))
    );
    out.push_str(
        "/*\n * The partition's memory and the __bulkhead_* symbols, all PROVIDEd (defined when referenced;\n \
         * a definition of your own wins). Devices are not memory: their addresses are in partition.h.\n \
         * Use with c-partition.ld (next to this file) or INCLUDE it from a script of your own.\n */\n\n",
    );
    out.push_str("MEMORY\n{\n");
    for region in &partition.regions {
        let Some(name) = memory_region_name(region) else { continue };
        names.claim(&name, &format!("the MEMORY region of {}", region_origin(system, &partition.name, region)))?;
        let _ = writeln!(
            out,
            "    {name} : ORIGIN = {:#010x}, LENGTH = {:#x} /* {} */",
            region.span.base,
            region.span.size,
            comment_text(&format!(
                "{}, {}",
                human_size(region.span.size as u64),
                region_origin(system, &partition.name, region)
            ))
        );
    }
    out.push_str("}\n");

    let mut provide = |out: &mut String, name: String, value: String, what: &str| -> Result<(), NameClash> {
        names.claim(&name, what)?;
        let _ = writeln!(out, "PROVIDE({name} = {value});");
        Ok(())
    };
    for region in &partition.regions {
        let Some(stem) = region_stem(region) else { continue };
        let origin = region_origin(system, &partition.name, region);
        let _ = writeln!(out, "\n/* {} */", comment_text(&origin));
        let symbol = format!("__bulkhead_{}", stem.to_lowercase());
        let (base, size) = (region.span.base as u64, region.span.size as u64);
        provide(&mut out, format!("{symbol}_start"), format!("{base:#010x}"), &format!("the start of {origin}"))?;
        provide(&mut out, format!("{symbol}_end"), format!("{:#010x}", base + size), &format!("the end of {origin}"))?;
        provide(&mut out, format!("{symbol}_size"), format!("{size:#x}"), &format!("the size of {origin}"))?;
    }

    let data = partition.data().span;
    let _ = writeln!(
        out,
        "\n/* Stacks. The kernel enters the partition in SVC mode with sp at the top of the data region;\n \
         * the sizes are partition.{}.stack_size (sys, the main stack) and exception_stack_size (svc, abt,\n \
         * und, irq); fiq's is fixed (partitions get no FIQs). */",
        partition.name
    );
    provide(
        &mut out,
        "__bulkhead_stack_top".to_owned(),
        format!("{:#010x}", data.base as u64 + data.size as u64),
        "the top of the data region",
    )?;
    let exception = partition.exception_stack_size;
    for (mode, size) in [
        ("sys", partition.stack_size),
        ("svc", exception),
        ("abt", exception),
        ("und", exception),
        ("irq", exception),
        ("fiq", FIQ_STACK),
    ] {
        provide(
            &mut out,
            format!("__bulkhead_{mode}_stack_size"),
            size.to_string(),
            &format!("the {mode} stack size"),
        )?;
    }
    Ok(out)
}
