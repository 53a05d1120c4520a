/*
 * Host harness for tools/sysgen/tests/c_ports.rs: runs bulkhead.h's port functions on windows the
 * Rust test sends, one command a line on stdin, one answer a line on stdout. Numbers are decimal,
 * byte strings hex ("-" when empty). Every answer that may change the window ends with it, so the
 * test compares the C side's stores with the Rust crate's, byte for byte.
 *
 * The hypercalls (QueueAck, PortNotify, SystemTime) go to bulkhead_hvc() below, which records the
 * last call and answers what the command said.
 */
#define BULKHEAD_HVC_EXTERN 1
#include "bulkhead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_WORDS (1U << 18)
static uint32_t window[WINDOW_WORDS];
static uint8_t payload[1U << 17];
static uint8_t out[1U << 17];

static uint32_t hvc_status;
static uint32_t hvc_r1, hvc_r2;
static uint32_t last_call = 0xFFFFFFFFU, last_argument1, last_argument2;

bulkhead_registers_t bulkhead_hvc(uint32_t call, uint32_t argument1, uint32_t argument2, uint32_t argument3)
{
    bulkhead_registers_t registers;
    (void)argument3;
    last_call = call;
    last_argument1 = argument1;
    last_argument2 = argument2;
    registers.r0 = hvc_status;
    registers.r1 = hvc_r1;
    registers.r2 = hvc_r2;
    registers.r3 = 0U;
    return registers;
}

static char *next_token(void)
{
    char *token = strtok(NULL, " \n");
    if (token == NULL) {
        fprintf(stderr, "harness: missing argument\n");
        exit(2);
    }
    return token;
}

static uint64_t number(void)
{
    return strtoull(next_token(), NULL, 0);
}

static uint32_t word(void)
{
    return (uint32_t)number();
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    fprintf(stderr, "harness: bad hex digit %c\n", c);
    exit(2);
}

/* Hex into `to`, returning the length. */
static uint32_t bytes(uint8_t *to, size_t room)
{
    const char *text = next_token();
    size_t length;
    size_t at;
    if (strcmp(text, "-") == 0) {
        return 0U;
    }
    length = strlen(text) / 2U;
    if (length > room) {
        fprintf(stderr, "harness: too many bytes\n");
        exit(2);
    }
    for (at = 0; at < length; at++) {
        to[at] = (uint8_t)(nibble(text[2 * at]) << 4 | nibble(text[2 * at + 1]));
    }
    return (uint32_t)length;
}

static void print_bytes(const uint8_t *from, uint32_t length)
{
    uint32_t at;
    if (length == 0U) {
        printf(" -");
        return;
    }
    printf(" ");
    for (at = 0; at < length; at++) {
        printf("%02x", from[at]);
    }
}

/* The window: its size, then its bytes. */
static uint32_t load_window(void)
{
    uint32_t size = word();
    uint32_t length;
    memset(window, 0xA5, sizeof window);
    length = bytes((uint8_t *)window, sizeof window);
    if (length != size) {
        fprintf(stderr, "harness: window of %u bytes, %u given\n", size, length);
        exit(2);
    }
    return size;
}

/* The window's bytes, and whether the bytes after it were left alone. */
static void print_window(uint32_t size)
{
    const uint8_t *bytes_of = (const uint8_t *)window;
    uint32_t at;
    print_bytes(bytes_of, size);
    for (at = size; at < size + 64U && at < sizeof window; at++) {
        if (bytes_of[at] != 0xA5U) {
            printf(" OUTSIDE-THE-WINDOW-AT-%u", at);
            break;
        }
    }
}

int main(void)
{
    static char line[1U << 20];
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *op = strtok(line, " \n");
        if (op == NULL) {
            continue;
        }
        if (strcmp(op, "geometry") == 0) {
            uint32_t message_size = word();
            uint32_t depth = word();
            uint32_t readers = word();
            printf("%u %u %u %u %u %u", bulkhead_sampling_slot_stride(message_size),
                   bulkhead_sampling_window_size(message_size), bulkhead_queue_slot_stride(message_size),
                   bulkhead_queue_ring_stride(message_size, depth),
                   bulkhead_queuing_window_size(message_size, depth, readers), bulkhead_queue_count_max(depth));
        } else if (strcmp(op, "stale") == 0) {
            uint64_t stamp = number();
            uint64_t now = number();
            uint64_t refresh = number();
            printf("%u", bulkhead_sampling_is_stale(stamp, now, refresh));
        } else if (strcmp(op, "swrite") == 0) {
            /* swrite MESSAGE_SIZE STAMP|now PAYLOAD SIZE WINDOW */
            bulkhead_sampling_writer_t port;
            uint32_t message_size = word();
            const char *stamp_text = next_token();
            uint32_t length = bytes(payload, sizeof payload);
            uint32_t size = load_window();
            uint32_t number_written = 0U;
            uint32_t status = bulkhead_sampling_writer_open(&port, 5U, (uintptr_t)window, size, message_size);
            if (status == BULKHEAD_PORT_OK) {
                if (strcmp(stamp_text, "now") == 0) {
                    hvc_status = BULKHEAD_OK;
                    hvc_r1 = 0x55667788U;
                    hvc_r2 = 0x11223344U;
                    status = bulkhead_sampling_write(&port, payload, length, &number_written);
                } else {
                    status = bulkhead_sampling_write_stamped(&port, payload, length, strtoull(stamp_text, NULL, 0),
                                                             &number_written);
                }
            }
            printf("%u %u %u", status, number_written, bulkhead_sampling_writer_latest(&port));
            print_window(size);
        } else if (strcmp(op, "sread") == 0) {
            /* sread MESSAGE_SIZE CAPACITY SIZE WINDOW */
            bulkhead_sampling_reader_t port;
            bulkhead_sample_t sample = {0U, 0U, 0U};
            uint32_t message_size = word();
            uint32_t capacity = word();
            uint32_t size = load_window();
            uint32_t status = bulkhead_sampling_reader_open(&port, 5U, (uintptr_t)window, size, message_size, 0U);
            if (status == BULKHEAD_PORT_OK) {
                status = bulkhead_sampling_read(&port, out, capacity, &sample);
            }
            printf("%u %u %u %llu %u", status, sample.number, sample.length, (unsigned long long)sample.stamp,
                   bulkhead_sampling_reader_latest(&port));
            print_bytes(out, status == BULKHEAD_PORT_OK ? sample.length : 0U);
            print_window(size);
        } else if (strcmp(op, "qsend") == 0) {
            /* qsend MESSAGE_SIZE DEPTH READERS PAYLOAD SIZE WINDOW */
            bulkhead_queue_sender_t port;
            uint32_t message_size = word();
            uint32_t depth = word();
            uint32_t readers = word();
            uint32_t length = bytes(payload, sizeof payload);
            uint32_t size = load_window();
            uint32_t full = 0U;
            uint32_t reader;
            uint32_t status =
                bulkhead_queue_sender_open(&port, 6U, (uintptr_t)window, size, message_size, depth, readers);
            if (status == BULKHEAD_PORT_OK) {
                status = bulkhead_queue_send(&port, payload, length, &full);
            }
            printf("%u %u", status, full);
            for (reader = 0U; reader <= readers && reader < BULKHEAD_PORTS_MAX_READERS; reader++) {
                printf(" %u", bulkhead_queue_sender_overflows(&port, reader));
            }
            print_window(size);
        } else if (strcmp(op, "qpeek") == 0 || strcmp(op, "qreceive") == 0) {
            /* qpeek|qreceive MESSAGE_SIZE DEPTH READER CAPACITY ACK_STATUS SIZE WINDOW */
            bulkhead_queue_receiver_t port;
            int receive = strcmp(op, "qreceive") == 0;
            uint32_t message_size = word();
            uint32_t depth = word();
            uint32_t reader = word();
            uint32_t capacity = word();
            uint32_t ack_status = word();
            uint32_t size = load_window();
            uint32_t length = 0U;
            uint32_t after = 0U;
            uint32_t kernel_error = 0U;
            uint32_t skip_status = 0U;
            uint32_t skip_after = 0U;
            uint32_t pending = 0U;
            uint32_t overflows = 0U;
            uint32_t status =
                bulkhead_queue_receiver_open(&port, 7U, (uintptr_t)window, size, message_size, depth, reader);
            last_call = 0xFFFFFFFFU;
            last_argument1 = last_argument2 = 0U;
            if (status == BULKHEAD_PORT_OK) {
                skip_status = bulkhead_queue_skip(&port, &skip_after);
                pending = bulkhead_queue_pending(&port);
                overflows = bulkhead_queue_overflows(&port);
                if (receive) {
                    hvc_status = ack_status;
                    status = bulkhead_queue_receive(&port, out, capacity, &length, &kernel_error);
                } else {
                    status = bulkhead_queue_peek(&port, out, capacity, &length, &after);
                }
            }
            printf("%u %u %u %u %u %u %u %u %u %u %u", status, length, after, kernel_error, skip_status, skip_after,
                   pending, overflows, last_call, last_argument1, last_argument2);
            print_bytes(out, status == BULKHEAD_PORT_OK ? length : 0U);
            print_window(size);
        } else if (strcmp(op, "notify") == 0) {
            bulkhead_sampling_writer_t sampling;
            bulkhead_queue_sender_t queue;
            uint32_t first;
            uint32_t second;
            hvc_status = BULKHEAD_ERROR_DENIED;
            (void)bulkhead_sampling_writer_open(&sampling, 9U, (uintptr_t)window, 4096U, 8U);
            first = bulkhead_sampling_notify(&sampling);
            printf("%u %u %u ", first, last_call, last_argument1);
            (void)bulkhead_queue_sender_open(&queue, 10U, (uintptr_t)window, 4096U, 8U, 2U, 1U);
            second = bulkhead_queue_notify(&queue);
            printf("%u %u %u", second, last_call, last_argument1);
        } else if (strcmp(op, "closed") == 0) {
            /* Every call on a port whose open failed. */
            bulkhead_sampling_writer_t writer;
            bulkhead_sampling_reader_t reader;
            bulkhead_queue_sender_t sender;
            bulkhead_queue_receiver_t receiver;
            uint32_t after = 0U;
            uint32_t full = 0U;
            (void)bulkhead_sampling_writer_open(&writer, 0U, (uintptr_t)window, 0U, 8U);
            (void)bulkhead_sampling_reader_open(&reader, 0U, (uintptr_t)window, 0U, 8U, 0U);
            (void)bulkhead_queue_sender_open(&sender, 0U, (uintptr_t)window, 0U, 8U, 2U, 1U);
            (void)bulkhead_queue_receiver_open(&receiver, 0U, (uintptr_t)window, 0U, 8U, 2U, 0U);
            printf("%u %u %u %u %u %u %u", bulkhead_sampling_write_stamped(&writer, payload, 1U, 0U, NULL),
                   bulkhead_sampling_read(&reader, out, 8U, NULL), bulkhead_queue_send(&sender, payload, 1U, &full),
                   bulkhead_queue_peek(&receiver, out, 8U, NULL, &after), bulkhead_queue_skip(&receiver, &after),
                   bulkhead_queue_pending(&receiver), bulkhead_queue_overflows(&receiver));
        } else if (strcmp(op, "open") == 0) {
            /* open MESSAGE_SIZE DEPTH READERS READER SIZE: the four opens' answers */
            bulkhead_sampling_writer_t writer;
            bulkhead_sampling_reader_t reader_port;
            bulkhead_queue_sender_t sender;
            bulkhead_queue_receiver_t receiver;
            uint32_t message_size = word();
            uint32_t depth = word();
            uint32_t readers = word();
            uint32_t reader = word();
            uint32_t size = word();
            printf("%u %u %u %u", bulkhead_sampling_writer_open(&writer, 0U, (uintptr_t)window, size, message_size),
                   bulkhead_sampling_reader_open(&reader_port, 0U, (uintptr_t)window, size, message_size, 0U),
                   bulkhead_queue_sender_open(&sender, 0U, (uintptr_t)window, size, message_size, depth, readers),
                   bulkhead_queue_receiver_open(&receiver, 0U, (uintptr_t)window, size, message_size, depth, reader));
        } else {
            fprintf(stderr, "harness: unknown command %s\n", op);
            return 2;
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
