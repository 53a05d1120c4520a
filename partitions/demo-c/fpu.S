/*
 * uint32_t fpu_hold_pattern(uint32_t seed, uint64_t until)
 *
 * Loads a pattern derived from `seed` into all 32 D registers, spins until
 * the virtual counter reaches `until` (partition time, which runs only in
 * this partition's windows: a spin longer than a window spans a switch to
 * another partition, and ticks), then returns how many D registers no
 * longer hold their pattern (counted per 32-bit half). d8-d15 are callee-saved and restored.
 */
    .syntax unified
    .arch armv8-r
    .fpu neon-fp-armv8
    .arm
    .text
    .global fpu_hold_pattern
    .type fpu_hold_pattern, %function
fpu_hold_pattern:
    push    {r4-r7, lr}
    vpush   {d8-d15}
    /* d<k> = (seed + k) : (~seed + 3k) */
    mvn     r4, r0
    .irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    add     r5, r0, #\k
    add     r6, r4, #(3 * \k)
    vmov    d\k, r5, r6
    .endr
1:  isb
    mrrc    p15, 1, r5, r6, c14         /* CNTVCT */
    cmp     r5, r2
    sbcs    r7, r6, r3
    blo     1b
    mov     r7, #0
    .irp k, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    vmov    r5, r6, d\k
    add     r1, r0, #\k
    cmp     r5, r1
    addne   r7, r7, #1
    add     r1, r4, #(3 * \k)
    cmp     r6, r1
    addne   r7, r7, #1
    .endr
    mov     r0, r7
    vpop    {d8-d15}
    pop     {r4-r7, pc}
    .size fpu_hold_pattern, . - fpu_hold_pattern
