/* Opening one USB device by bus and device number (lsusb -s BUS:DEV), shared
 * by the lab's benchmark programs. Several devices in the lab share a
 * vendor:product (the gadget and its import), so the address is the key. */
#pragma once
#include <libusb.h>
#include <stdio.h>

static libusb_device_handle *open_by_address(libusb_context *ctx, const char *bus_dev) {
    unsigned bus, addr;
    if (sscanf(bus_dev, "%u:%u", &bus, &addr) != 2) {
        fprintf(stderr, "bad device address '%s' (want BUS:DEV, as lsusb -s)\n", bus_dev);
        return NULL;
    }
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    libusb_device_handle *h = NULL;
    for (ssize_t i = 0; i < n; i++) {
        if (libusb_get_bus_number(list[i]) != bus || libusb_get_device_address(list[i]) != addr) continue;
        int rc = libusb_open(list[i], &h);
        if (rc != 0) fprintf(stderr, "opening %s: %s\n", bus_dev, libusb_strerror(rc));
        break;
    }
    if (n >= 0) libusb_free_device_list(list, 1);
    if (!h) fprintf(stderr, "no usable USB device at %s\n", bus_dev);
    return h;
}
