/* hotplug_watch: print libusb hot-plug events, for lab scenarios.
 *
 *   hotplug_watch [-d VID:PID] [-n COUNT] [-t SECONDS]
 *
 * Registers a libusb hot-plug callback (no enumeration of what is already
 * there), prints "ready" once it is armed, then one line per event:
 * "ARRIVED vvvv:pppp B-D" or "LEFT vvvv:pppp B-D". Exits 0 after COUNT events
 * (default: run until the timeout), 2 when the timeout (default 60 s) passes
 * first, 1 when libusb cannot do hot-plug here (no udev?). */
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int events_left = -1;

static int on_event(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *user) {
    (void)ctx;
    (void)user;
    struct libusb_device_descriptor d;
    if (libusb_get_device_descriptor(dev, &d) != 0) memset(&d, 0, sizeof d);
    printf("%s %04x:%04x %u-%u\n", event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? "ARRIVED" : "LEFT",
           d.idVendor, d.idProduct, libusb_get_bus_number(dev), libusb_get_device_address(dev));
    fflush(stdout);
    if (events_left > 0) events_left--;
    return 0;
}

int main(int argc, char **argv) {
    int vid = LIBUSB_HOTPLUG_MATCH_ANY, pid = LIBUSB_HOTPLUG_MATCH_ANY, timeout_s = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-d") && sscanf(argv[i + 1], "%x:%x", &vid, &pid) == 2) continue;
        if (!strcmp(argv[i], "-n")) { events_left = atoi(argv[i + 1]); continue; }
        if (!strcmp(argv[i], "-t")) { timeout_s = atoi(argv[i + 1]); continue; }
        fprintf(stderr, "usage: hotplug_watch [-d VID:PID] [-n COUNT] [-t SECONDS]\n");
        return 64;
    }
    libusb_context *ctx;
    int rc = libusb_init(&ctx);
    if (rc != 0) {
        fprintf(stderr, "hotplug_watch: libusb_init: %s\n", libusb_strerror(rc));
        return 1;
    }
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        fprintf(stderr, "hotplug_watch: this libusb has no hot-plug support\n");
        return 1;
    }
    libusb_hotplug_callback_handle handle;
    rc = libusb_hotplug_register_callback(
        ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, vid, pid,
        LIBUSB_HOTPLUG_MATCH_ANY, on_event, NULL, &handle);
    if (rc != 0) {
        fprintf(stderr, "hotplug_watch: registering the callback: %s\n", libusb_strerror(rc));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    time_t end = time(NULL) + timeout_s;
    while (events_left != 0) {
        if (time(NULL) >= end) {
            fprintf(stderr, "hotplug_watch: timed out after %d s\n", timeout_s);
            return 2;
        }
        struct timeval tv = {0, 200000};
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    libusb_hotplug_deregister_callback(ctx, handle);
    libusb_exit(ctx);
    return 0;
}
