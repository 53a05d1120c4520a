/*
 * Cortex-R52 (Armv8-R AArch32) system registers demo-c uses, as inline
 * functions. Nothing here is Bulkhead-specific: the same code runs on bare
 * metal.
 */
#ifndef DEMO_C_ARCH_H
#define DEMO_C_ARCH_H

#include <stdint.h>

#define SYSREG32(name, op1, crn, crm, op2)                                                       \
    static inline uint32_t read_##name(void) {                                                   \
        uint32_t value;                                                                           \
        __asm__ volatile("mrc p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 : "=r"(value));      \
        return value;                                                                             \
    }                                                                                             \
    static inline void write_##name(uint32_t value) {                                            \
        __asm__ volatile("mcr p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 ::"r"(value) : "memory"); \
    }

SYSREG32(sctlr, 0, c1, c0, 0)
SYSREG32(dfsr, 0, c5, c0, 0)
SYSREG32(ifsr, 0, c5, c0, 1)
SYSREG32(dfar, 0, c6, c0, 0)
SYSREG32(ifar, 0, c6, c0, 2)
SYSREG32(mair0, 0, c10, c2, 0)
SYSREG32(prselr, 0, c6, c2, 1)
SYSREG32(prbar, 0, c6, c3, 0)
SYSREG32(prlar, 0, c6, c3, 1)
SYSREG32(mpuir, 0, c0, c0, 4)
SYSREG32(cntfrq, 0, c14, c0, 0)
SYSREG32(cntv_ctl, 0, c14, c3, 1)
/* GICv3 CPU interface (reached as the virtual one under Bulkhead). */
SYSREG32(icc_pmr, 0, c4, c6, 0)
SYSREG32(icc_iar1, 0, c12, c12, 0)
SYSREG32(icc_eoir1, 0, c12, c12, 1)
SYSREG32(icc_bpr1, 0, c12, c12, 3)
SYSREG32(icc_ctlr, 0, c12, c12, 4)
SYSREG32(icc_sre, 0, c12, c12, 5)
SYSREG32(icc_igrpen1, 0, c12, c12, 7)

static inline uint64_t read_cntvct(void) {
    uint32_t low, high;
    __asm__ volatile("isb\n\tmrrc p15, 1, %0, %1, c14" : "=r"(low), "=r"(high));
    return ((uint64_t)high << 32) | low;
}

static inline void write_cntv_cval(uint64_t value) {
    __asm__ volatile("mcrr p15, 3, %0, %1, c14" ::"r"((uint32_t)value), "r"((uint32_t)(value >> 32)) : "memory");
}

static inline void isb(void) { __asm__ volatile("isb" ::: "memory"); }
static inline void dsb(void) { __asm__ volatile("dsb sy" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void enable_irq(void) { __asm__ volatile("cpsie i" ::: "memory"); }
static inline void disable_irq(void) { __asm__ volatile("cpsid i" ::: "memory"); }

static inline void mmio_write32(uintptr_t address, uint32_t value) {
    *(volatile uint32_t *)address = value;
}
static inline uint32_t mmio_read32(uintptr_t address) { return *(volatile uint32_t *)address; }
static inline void mmio_write8(uintptr_t address, uint8_t value) { *(volatile uint8_t *)address = value; }

#endif
