//! Checks on the built kernel image that no unit test can make.

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::path::Path;

/// Functions allowed to touch FP/SIMD registers: the context switch, which
/// saves and restores them, and the runtime's reset code, which enables the
/// FPU before any partition exists.
const FPU_ALLOWED: [&str; 3] = ["bulkhead_save_vfp", "bulkhead_restore_vfp", "_default_start"];

/// Whether a 32-bit A32 word is a VFP or Advanced SIMD instruction.
///
/// VFP data processing, transfers and loads/stores use coprocessors 10 and
/// 11 (bits 11:9 = 0b101) in the 0b110x/0b1110 coprocessor space; Advanced
/// SIMD uses the unconditional 0b1111_001x (data processing) and 0b1111_0100
/// with bit 20 clear (element and structure loads/stores) spaces.
pub fn is_fpu_instruction(word: u32) -> bool {
    let cond = word >> 28;
    let coprocessor_space = (word >> 25) & 0b111 == 0b110 || (word >> 24) & 0b1111 == 0b1110;
    let vfp = cond != 0b1111 && coprocessor_space && (word >> 9) & 0b111 == 0b101;
    let simd_data = word >> 25 == 0b1111_001;
    let simd_memory = word >> 24 == 0b1111_0100 && word & (1 << 20) == 0;
    vfp || simd_data || simd_memory
}

/// Fails if kernel code outside [`FPU_ALLOWED`] contains an FP/SIMD
/// instruction: the kernel must never disturb a partition's FP registers
/// between saving and restoring them, and must work with FPEXC.EN clear.
pub fn kernel_uses_no_fpu(kernel: &Path) -> Result<()> {
    let bytes = std::fs::read(kernel).with_context(|| format!("reading {}", kernel.display()))?;
    let file = object::File::parse(&*bytes)?;
    let text = file.section_by_name(".text").context("kernel has no .text")?;
    let data = text.data()?;
    let mut functions: Vec<(u64, u64, String)> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .map(|s| (s.address() & !1, s.size(), s.name().unwrap_or("?").to_owned()))
        .collect();
    functions.sort();
    let mut offenders = Vec::new();
    for (address, size, name) in functions {
        if FPU_ALLOWED.contains(&name.as_str()) || address < text.address() || address + size > text.address() + text.size() {
            continue;
        }
        let start = (address - text.address()) as usize;
        let body = &data[start..start + size as usize];
        // Literal pools live inside functions; a literal that happens to decode
        // as an FP instruction would be a false alarm, so report with the
        // function name for a human to look at rather than guessing.
        if let Some(offset) = body.chunks_exact(4).position(|w| is_fpu_instruction(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))) {
            offenders.push(format!("{name} (+{:#x})", offset * 4));
        }
    }
    if !offenders.is_empty() {
        bail!("kernel code uses FP/SIMD registers outside the context switch: {}", offenders.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_fpu_instructions() {
        assert!(is_fpu_instruction(0xeca0_0b20)); // vstmia r0!, {d0-d15}
        assert!(is_fpu_instruction(0xece0_0b20)); // vstmia r0!, {d16-d31}
        assert!(is_fpu_instruction(0xeee8_1a10)); // vmsr fpexc, r1
        assert!(is_fpu_instruction(0xf2c0_0050)); // vmov.i32 q8, #0
        assert!(is_fpu_instruction(0xf440_0acd)); // vst1.64 {d16-d17}, [r0]!
        assert!(!is_fpu_instruction(0xe92d_4ff0)); // push {r4-r11, lr}
        assert!(!is_fpu_instruction(0xee1c_0f30)); // mrc p15, 0, r0, c12, c0, 1
        assert!(!is_fpu_instruction(0xec51_0f0e)); // mrrc p15, 0, r0, r1, c14
        assert!(!is_fpu_instruction(0xe320_f003)); // wfi
    }
}
