/* bulk_bench: bulk throughput of one device with many transfers in flight,
 * for the lab benchmark (a SourceSink gadget: it sources IN data and sinks
 * OUT data as fast as the bus allows).
 *
 *   bulk_bench BUS:DEV in|out [MIB=256] [QUEUE=8] [KIB=64]
 *
 * Claims interface 0, keeps QUEUE async transfers of KIB KiB in flight on its
 * first bulk IN (or OUT) endpoint until MIB MiB have moved, and prints
 * "MBps=<x> bytes=<n> seconds=<s>" (MB = 10^6 bytes); from 32 MiB on also
 * "first16_MBps=<x> last16_MBps=<y>", the first and the last 16 MiB of the
 * same run, so that a rate that falls with volume shows within one run
 * (issue 13). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "usb_open.h"

static long long remaining_to_submit, done_bytes, total_bytes;
static int in_flight, failed;
/* When the first 16 MiB were done, and when the last 16 MiB began (and the
 * bytes done at each of those completions). */
#define CHUNK (16LL * 1024 * 1024)
static struct timespec first_end, last_start;
static long long first_bytes, last_base;
static int have_first, have_last;

static double seconds_between(struct timespec a, struct timespec b) {
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void on_done(struct libusb_transfer *t) {
    in_flight--;
    if (t->status != LIBUSB_TRANSFER_COMPLETED) {
        fprintf(stderr, "bulk_bench: transfer ended with status %d\n", t->status);
        failed = 1;
        return;
    }
    done_bytes += t->actual_length;
    if (!have_first && done_bytes >= CHUNK) {
        clock_gettime(CLOCK_MONOTONIC, &first_end);
        first_bytes = done_bytes;
        have_first = 1;
    }
    if (!have_last && done_bytes >= total_bytes - CHUNK) {
        clock_gettime(CLOCK_MONOTONIC, &last_start);
        last_base = done_bytes;
        have_last = 1;
    }
    if (remaining_to_submit > 0 && !failed) {
        remaining_to_submit -= t->length;
        if (libusb_submit_transfer(t) == 0)
            in_flight++;
        else
            failed = 1;
    }
}

static int find_bulk_endpoint(libusb_device_handle *h, int want_in) {
    struct libusb_config_descriptor *cfg;
    if (libusb_get_active_config_descriptor(libusb_get_device(h), &cfg) != 0) return -1;
    int ep = -1;
    const struct libusb_interface_descriptor *alt = &cfg->interface[0].altsetting[0];
    for (int i = 0; i < alt->bNumEndpoints && ep < 0; i++) {
        const struct libusb_endpoint_descriptor *e = &alt->endpoint[i];
        if ((e->bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_BULK &&
            !!(e->bEndpointAddress & LIBUSB_ENDPOINT_IN) == want_in)
            ep = e->bEndpointAddress;
    }
    libusb_free_config_descriptor(cfg);
    return ep;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[2], "in") && strcmp(argv[2], "out"))) {
        fprintf(stderr, "usage: bulk_bench BUS:DEV in|out [MIB] [QUEUE] [KIB]\n");
        return 64;
    }
    int want_in = !strcmp(argv[2], "in");
    long long mib = argc > 3 ? atoll(argv[3]) : 256;
    int queue = argc > 4 ? atoi(argv[4]) : 8;
    int len = (argc > 5 ? atoi(argv[5]) : 64) * 1024;
    libusb_context *ctx;
    if (libusb_init(&ctx) != 0) return 1;
    libusb_device_handle *h = open_by_address(ctx, argv[1]);
    if (!h) return 1;
    libusb_set_auto_detach_kernel_driver(h, 1);
    int rc = libusb_claim_interface(h, 0);
    if (rc != 0) {
        fprintf(stderr, "bulk_bench: claiming interface 0: %s\n", libusb_strerror(rc));
        return 1;
    }
    int ep = find_bulk_endpoint(h, want_in);
    if (ep < 0) {
        fprintf(stderr, "bulk_bench: interface 0 has no bulk %s endpoint\n", argv[2]);
        return 1;
    }
    remaining_to_submit = total_bytes = mib * 1024 * 1024;
    struct libusb_transfer **xfers = calloc((size_t)queue, sizeof *xfers);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < queue && remaining_to_submit > 0; i++) {
        unsigned char *buf = calloc(1, (size_t)len);
        xfers[i] = libusb_alloc_transfer(0);
        libusb_fill_bulk_transfer(xfers[i], h, (unsigned char)ep, buf, len, on_done, NULL, 0);
        rc = libusb_submit_transfer(xfers[i]);
        if (rc != 0) {
            fprintf(stderr, "bulk_bench: submit: %s\n", libusb_strerror(rc));
            return 1;
        }
        in_flight++;
        remaining_to_submit -= len;
    }
    while (in_flight > 0) libusb_handle_events(ctx);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (failed) return 1;
    double s = seconds_between(t0, t1);
    printf("MBps=%.1f bytes=%lld seconds=%.3f", (double)done_bytes / s / 1e6, done_bytes, s);
    if (total_bytes >= 2 * CHUNK && have_first && have_last)
        printf(" first16_MBps=%.1f last16_MBps=%.1f", (double)first_bytes / seconds_between(t0, first_end) / 1e6,
               (double)(done_bytes - last_base) / seconds_between(last_start, t1) / 1e6);
    printf("\n");
    for (int i = 0; i < queue; i++) {
        if (!xfers[i]) continue;
        free(xfers[i]->buffer);
        libusb_free_transfer(xfers[i]);
    }
    free(xfers);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
