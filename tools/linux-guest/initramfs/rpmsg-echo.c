// SPDX-License-Identifier: GPL-2.0
/*
 * rpmsg-echo: echoes messages through Linux's rpmsg_char, the way an
 * application on the Cortex-A talks to an rpmsg service without a driver
 * of its own: RPMSG_CREATE_EPT_IOCTL on /dev/rpmsg_ctrlN makes an endpoint
 * /dev/rpmsgM bound to the remote address; each write() is one message,
 * each read() one reply.
 *
 *   rpmsg-echo CTRL DST COUNT [SIZE]
 *
 * Sends COUNT messages to remote address DST, each of SIZE bytes (default:
 * 1 + i % 496, every size in turn) with a pattern that depends on i, and
 * checks that every reply is the same bytes. Prints one line:
 *   @echo ok count=N bytes=B elapsed_us=U per_message_us=P
 * or
 *   @echo FAIL message I: WHY
 * and exits 0 or 1. Waits at most 20 s (wall clock) for each reply.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rpmsg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 496
#define REPLY_TIMEOUT_MS 20000

static int fail(long i, const char *why)
{
	printf("@echo FAIL message %ld: %s\n", i, why);
	fflush(stdout);
	return 1;
}

/* Marks which /dev/rpmsgN exist. */
static void scan(unsigned char seen[256])
{
	DIR *dev = opendir("/dev");
	struct dirent *entry;
	unsigned n;

	memset(seen, 0, 256);
	if (!dev)
		return;
	while ((entry = readdir(dev)))
		if (sscanf(entry->d_name, "rpmsg%u", &n) == 1 && n < 256 && strncmp(entry->d_name, "rpmsg_", 6))
			seen[n] = 1;
	closedir(dev);
}

static long long micros(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct rpmsg_endpoint_info info = { .src = 0xffffffff };
	unsigned char before[256], after[256], sent[MAX_PAYLOAD], back[512];
	char path[32];
	long count, i, size = 0, bytes = 0;
	long long start, elapsed;
	int ctrl, ept = -1, n;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: rpmsg-echo CTRL DST COUNT [SIZE]\n");
		return 2;
	}
	info.dst = strtoul(argv[2], NULL, 0);
	count = strtol(argv[3], NULL, 0);
	if (argc == 5)
		size = strtol(argv[4], NULL, 0);
	if (size < 0 || size > MAX_PAYLOAD)
		return fail(-1, "SIZE must be 0..496");
	snprintf(info.name, sizeof(info.name), "bulkhead-echo");

	ctrl = open(argv[1], O_RDWR);
	if (ctrl < 0)
		return fail(-1, strerror(errno));
	scan(before);
	if (ioctl(ctrl, RPMSG_CREATE_EPT_IOCTL, &info) < 0)
		return fail(-1, strerror(errno));
	/* The endpoint's device node appears as /dev/rpmsgN (devtmpfs). */
	for (int tries = 0; tries < 200 && ept < 0; tries++) {
		scan(after);
		for (n = 0; n < 256; n++)
			if (after[n] && !before[n])
				break;
		if (n < 256) {
			snprintf(path, sizeof(path), "/dev/rpmsg%d", n);
			ept = open(path, O_RDWR);
		}
		if (ept < 0)
			usleep(10000);
	}
	if (ept < 0)
		return fail(-1, "no /dev/rpmsgN appeared for the new endpoint");

	start = micros();
	for (i = 0; i < count; i++) {
		long len = size ? size : 1 + i % MAX_PAYLOAD;
		struct pollfd pfd = { .fd = ept, .events = POLLIN };
		ssize_t got;

		for (long b = 0; b < len; b++)
			sent[b] = (unsigned char)(b * 7 + i * 13);
		if (write(ept, sent, len) != len)
			return fail(i, strerror(errno));
		n = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		if (n == 0)
			return fail(i, "no reply within 20 s");
		if (n < 0)
			return fail(i, strerror(errno));
		got = read(ept, back, sizeof(back));
		if (got < 0)
			return fail(i, strerror(errno));
		if (got != len) {
			char why[64];

			snprintf(why, sizeof(why), "sent %ld bytes, %zd came back", len, got);
			return fail(i, why);
		}
		if (memcmp(sent, back, len))
			return fail(i, "the reply differs from the message");
		bytes += len;
	}
	elapsed = micros() - start;
	if (ioctl(ept, RPMSG_DESTROY_EPT_IOCTL) < 0)
		return fail(count, strerror(errno));
	close(ept);
	close(ctrl);
	printf("@echo ok count=%ld bytes=%ld elapsed_us=%lld per_message_us=%lld\n", count, bytes, elapsed,
	       count ? elapsed / count : 0);
	return 0;
}
