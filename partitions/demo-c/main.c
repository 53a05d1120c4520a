/*
 * demo-c: a bare-metal C guest, built by GCC at -O2 with no special flags,
 * the way a third-party RTOS port is: its own start-up (start.S), its own
 * EL1 MPU set-up, the GIC driven through its system registers and its
 * distributor/redistributor MMIO, a periodic tick on the virtual timer, a
 * small cooperative scheduler running activities at different rates, and
 * output on a UART of its own.
 *
 * What it reports, on its UART, is what tests/system/tests/c_guest.rs
 * checks:
 *
 *   demo-c report ticks=T fast=F medium=M slow=S fpu-checks=C fpu-errors=E elapsed=N
 *
 * every REPORT_TICKS ticks: each activity's run count (they must be exactly
 * T / period), the partition time since the first tick in counter ticks
 * (the tick is periodic in partition time, so N / TICK_COUNTS is T), and the
 * checks that all 32 D registers survived the partition switches the check
 * spans.
 *
 * The only Bulkhead-specific inputs are partition.h (addresses, interrupt
 * ids, timer frequency) and bulkhead.h (the hypercalls), both generated.
 */

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "bulkhead.h"
#include "partition.h"

/* The UART it prints on: one of its devices, chosen by the Makefile. */
#ifndef DEMO_C_UART
#define DEMO_C_UART BULKHEAD_DEVICE_UART4_BASE
#endif

/* The tick: 1 kHz of partition time. */
#define TICK_HZ 1000U
#define TICK_COUNTS (BULKHEAD_TIMER_HZ / TICK_HZ)
#define TICK_PRIORITY 0x80U
/* Activities, in ticks. */
#define FAST_PERIOD 1U
#define MEDIUM_PERIOD 3U
#define SLOW_PERIOD 7U
#define REPORT_TICKS 50U

/* ---- UART (CMSDK APB UART), polled transmit ---------------------------- */

#define UART_DATA 0x00U
#define UART_STATE 0x04U
#define UART_CTRL 0x08U
#define UART_BAUDDIV 0x10U
#define UART_STATE_TX_FULL 1U
#define UART_CTRL_TX_ENABLE 1U

static void uart_init(void)
{
    mmio_write32(DEMO_C_UART + UART_BAUDDIV, 16);
    mmio_write32(DEMO_C_UART + UART_CTRL, UART_CTRL_TX_ENABLE);
}

static void uart_putc(char c)
{
    while (mmio_read32(DEMO_C_UART + UART_STATE) & UART_STATE_TX_FULL) {
    }
    mmio_write32(DEMO_C_UART + UART_DATA, (uint8_t)c);
}

static void uart_puts(const char *text)
{
    while (*text) {
        uart_putc(*text++);
    }
}

static void uart_put_unsigned(uint64_t value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0) {
        uart_putc(digits[--n]);
    }
}

static void uart_field(const char *name, uint64_t value)
{
    uart_putc(' ');
    uart_puts(name);
    uart_putc('=');
    uart_put_unsigned(value);
}

/* ---- Kernel console, through the hypercall ABI -------------------------- */

static void console_line(const char *text)
{
    size_t length = 0;
    while (text[length]) {
        length++;
    }
    while (length > 0) {
        uint32_t chunk = length > BULKHEAD_CONSOLE_WRITE_MAX ? BULKHEAD_CONSOLE_WRITE_MAX : (uint32_t)length;
        uint32_t accepted = 0;
        if (bulkhead_console_write(text, chunk, &accepted) != BULKHEAD_OK || accepted == 0) {
            return;
        }
        text += accepted;
        length -= accepted;
    }
}

/* ---- EL1 MPU --------------------------------------------------------- */

/* MAIR0 attributes: 0 normal write-back, 1 device-nGnRE. */
#define ATTR_NORMAL 0U
#define ATTR_DEVICE 1U
/* PRBAR: SH[4:3], AP[2:1] (01 = EL1 read/write, 11 = EL1 read-only), XN[0]. */
#define PRBAR_RW 0x2U
#define PRBAR_RO 0x6U
#define PRBAR_XN 0x1U
#define PRBAR_OUTER_SHAREABLE (0x2U << 3)

struct mpu_region {
    uint32_t base;
    uint32_t size;
    uint32_t flags;
    uint32_t attribute;
};

static const struct mpu_region regions[] = {
    {BULKHEAD_CODE_BASE, BULKHEAD_CODE_SIZE, PRBAR_RO, ATTR_NORMAL},
    {BULKHEAD_DATA_BASE, BULKHEAD_DATA_SIZE, PRBAR_RW | PRBAR_XN, ATTR_NORMAL},
    {DEMO_C_UART, 0x1000U, PRBAR_RW | PRBAR_XN | PRBAR_OUTER_SHAREABLE, ATTR_DEVICE},
    {BULKHEAD_GICD_BASE, 0x10000U, PRBAR_RW | PRBAR_XN | PRBAR_OUTER_SHAREABLE, ATTR_DEVICE},
    {BULKHEAD_GICR_BASE, 0x20000U, PRBAR_RW | PRBAR_XN | PRBAR_OUTER_SHAREABLE, ATTR_DEVICE},
};

/* Called from start.S before main: the guest's own EL1 MPU, then caches.
 * Nothing else is mapped: a stray pointer faults at EL1 in this guest,
 * before the EL2 MPU would stop it. */
void mpu_enable(void)
{
    write_mair0(0xFFU | (0x04U << 8));
    for (uint32_t n = 0; n < sizeof regions / sizeof regions[0]; n++) {
        const struct mpu_region *region = &regions[n];
        write_prselr(n);
        isb();
        write_prbar((region->base & ~0x3FU) | region->flags);
        write_prlar(((region->base + region->size - 1) & ~0x3FU) | (region->attribute << 1) | 1U);
    }
    dsb();
    isb();
    /* SCTLR: M (MPU), C (data cache), I (instruction cache). */
    write_sctlr(read_sctlr() | (1U << 0) | (1U << 2) | (1U << 12));
    isb();
}

/* ---- GIC --------------------------------------------------------------- */

#define GICD_CTLR 0x0000U
#define GICD_TYPER 0x0004U
#define GICD_PIDR2 0xFFE8U
#define GICR_WAKER 0x0014U
#define GICR_SGI 0x10000U
#define GICR_IGROUPR0 (GICR_SGI + 0x0080U)
#define GICR_ISENABLER0 (GICR_SGI + 0x0100U)
#define GICR_ICPENDR0 (GICR_SGI + 0x0280U)
#define GICR_IPRIORITYR (GICR_SGI + 0x0400U)

static uint32_t gic_architecture;

static void gic_init(void)
{
    /* Which GIC: PIDR2.ArchRev (3 for GICv3). */
    gic_architecture = (mmio_read32(BULKHEAD_GICD_BASE + GICD_PIDR2) >> 4) & 0xFU;
    /* Affinity routing is fixed on; enable group 1. */
    mmio_write32(BULKHEAD_GICD_BASE + GICD_CTLR, mmio_read32(BULKHEAD_GICD_BASE + GICD_CTLR) | 0x2U);
    /* Wake the redistributor: ProcessorSleep off, wait for ChildrenAsleep. */
    mmio_write32(BULKHEAD_GICR_BASE + GICR_WAKER, mmio_read32(BULKHEAD_GICR_BASE + GICR_WAKER) & ~0x2U);
    while (mmio_read32(BULKHEAD_GICR_BASE + GICR_WAKER) & 0x4U) {
    }
    /* The CPU interface through its system registers. */
    write_icc_sre(read_icc_sre() | 1U);
    isb();
    write_icc_pmr(0xFFU);
    write_icc_bpr1(0);
    write_icc_igrpen1(1);
    isb();
}

static void gic_enable_ppi(uint32_t intid, uint8_t priority)
{
    /* Group 1 (non-secure IRQ): at reset everything is group 0, which
     * would be signalled as FIQ. */
    mmio_write32(BULKHEAD_GICR_BASE + GICR_IGROUPR0, mmio_read32(BULKHEAD_GICR_BASE + GICR_IGROUPR0) | (1U << intid));
    mmio_write8(BULKHEAD_GICR_BASE + GICR_IPRIORITYR + intid, priority);
    mmio_write32(BULKHEAD_GICR_BASE + GICR_ICPENDR0, 1U << intid);
    mmio_write32(BULKHEAD_GICR_BASE + GICR_ISENABLER0, 1U << intid);
}

/* ---- The tick and the activities ------------------------------------- */

static volatile uint32_t ticks;
static uint64_t first_deadline;
static volatile uint32_t spurious;

static void tick_arm(uint32_t n)
{
    write_cntv_cval(first_deadline + (uint64_t)n * TICK_COUNTS);
}

void irq_handler(void)
{
    uint32_t intid = read_icc_iar1() & 0xFFFFFFU;
    if (intid == BULKHEAD_VIRTUAL_TIMER_INTID) {
        uint32_t now = ticks + 1;
        ticks = now;
        /* The next deadline from the first, not from now: no drift. */
        tick_arm(now);
    } else if (intid >= 1020) {
        spurious++;
        return;
    }
    write_icc_eoir1(intid);
}

/* A digital filter in double precision: GCC allocates D registers for it. */
static double filter_state[4];
static double filter_step(double input)
{
    static const double coefficients[4] = {0.4, 0.3, 0.2, 0.1};
    double output = 0.0;
    for (int n = 3; n > 0; n--) {
        filter_state[n] = filter_state[n - 1];
    }
    filter_state[0] = input;
    for (int n = 0; n < 4; n++) {
        output += coefficients[n] * filter_state[n];
    }
    return output;
}

struct activity {
    const char *name;
    uint32_t period;
    uint32_t due;
    uint32_t runs;
};

static struct activity activities[] = {
    {"fast", FAST_PERIOD, FAST_PERIOD, 0},
    {"medium", MEDIUM_PERIOD, MEDIUM_PERIOD, 0},
    {"slow", SLOW_PERIOD, SLOW_PERIOD, 0},
};
static volatile double filtered;

static void run_activity(struct activity *activity)
{
    activity->runs++;
    filtered = filter_step((double)activity->runs * (double)activity->period);
}

/*
 * All 32 D registers hold a pattern across a spin longer than this
 * partition's window, so at least one switch to another partition (and
 * ticks) happen in between; any register that changed is an error. Written
 * in assembly: the compiler must not touch D registers in the loop.
 */
static uint32_t fpu_errors;
static uint32_t fpu_checks;

extern uint32_t fpu_hold_pattern(uint32_t seed, uint64_t until);

static void fpu_check(void)
{
    uint64_t window = BULKHEAD_WINDOW_0_DURATION;
    uint32_t changed = fpu_hold_pattern(0x9E3779B9U * (fpu_checks + 1), read_cntvct() + window + window / 2);
    fpu_checks++;
    fpu_errors += changed;
}

/* Faults this guest cannot handle go to the kernel's fault policy. */
void fatal_exception(uint32_t kind, uint32_t address)
{
    uint32_t status = kind == BULKHEAD_EXCEPTION_PREFETCH_ABORT ? read_ifsr() : read_dfsr();
    bulkhead_report_fault(kind, address, status);
}

int main(uint32_t partition_id, uint32_t restarts, uint32_t abi_version)
{
    (void)partition_id;
    (void)restarts;
    uart_init();
    if (abi_version != BULKHEAD_ABI_VERSION) {
        console_line("demo-c: unexpected ABI version\n");
    }
    gic_init();
    uart_puts("demo-c: ");
    uart_puts(BULKHEAD_PARTITION_NAME);
    uart_field("gic-arch", gic_architecture);
    uart_field("timer-hz", BULKHEAD_TIMER_HZ);
    uart_puts("\n");
    console_line("demo-c: C guest running, reports on its own UART\n");

    first_deadline = read_cntvct() + TICK_COUNTS;
    uint64_t start = first_deadline - TICK_COUNTS;
    tick_arm(0);
    write_cntv_ctl(1);
    gic_enable_ppi(BULKHEAD_VIRTUAL_TIMER_INTID, TICK_PRIORITY);
    enable_irq();

    uint32_t next_report = REPORT_TICKS;
    uint32_t next_fpu_check = 20;
    for (;;) {
        uint32_t now = ticks;
        for (uint32_t n = 0; n < sizeof activities / sizeof activities[0]; n++) {
            while (activities[n].due <= now) {
                run_activity(&activities[n]);
                activities[n].due += activities[n].period;
            }
        }
        if (now >= next_report) {
            /* Counts as of tick `now`: every activity has run for it. */
            uart_puts("demo-c report");
            uart_field("ticks", now);
            for (uint32_t n = 0; n < sizeof activities / sizeof activities[0]; n++) {
                uart_field(activities[n].name, activities[n].runs);
            }
            uart_field("fpu-checks", fpu_checks);
            uart_field("fpu-errors", fpu_errors);
            uart_field("elapsed", read_cntvct() - start);
            uart_field("spurious", spurious);
            uart_puts("\n");
            next_report += REPORT_TICKS;
        }
        if (now >= next_fpu_check) {
            fpu_check();
            next_fpu_check = ticks + 20;
        } else {
            wfi();
        }
    }
}
