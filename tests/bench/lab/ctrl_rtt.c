/* ctrl_rtt: control transfer round trip of one device, for the lab benchmark.
 *
 *   ctrl_rtt BUS:DEV [COUNT=1000]
 *
 * Sends COUNT synchronous GET_DESCRIPTOR(DEVICE) requests (USB 2.0 §9.4.3)
 * and prints "p50_ms=<x> p99_ms=<y> n=<COUNT>". */
#include <stdlib.h>
#include <time.h>

#include "usb_open.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ctrl_rtt BUS:DEV [COUNT]\n");
        return 64;
    }
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    if (count < 1) count = 1;
    libusb_context *ctx;
    if (libusb_init(&ctx) != 0) return 1;
    libusb_device_handle *h = open_by_address(ctx, argv[1]);
    if (!h) return 1;
    double *ms = calloc((size_t)count, sizeof *ms);
    unsigned char buf[18];
    for (int i = 0; i < count; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
                                         LIBUSB_DT_DEVICE << 8, 0, buf, sizeof buf, 5000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc != (int)sizeof buf) {
            fprintf(stderr, "ctrl_rtt: GET_DESCRIPTOR %d of %d: %s\n", i + 1, count,
                    rc < 0 ? libusb_strerror(rc) : "short answer");
            return 1;
        }
        ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    }
    qsort(ms, (size_t)count, sizeof *ms, cmp_double);
    printf("p50_ms=%.3f p99_ms=%.3f n=%d\n", ms[count / 2], ms[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1],
           count);
    free(ms);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
