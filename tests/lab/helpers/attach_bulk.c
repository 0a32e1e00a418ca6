// attach_bulk: drives the bulk loopback of attach_fake_server's device
// (1209:0001: OUT 0x02 is echoed on IN 0x81) from the client side, through
// usbfs and the kernel's vhci_hcd, so that the lab checks what a program on
// the client sees.
//
//   attach_bulk echo SIZE ROUNDS      write SIZE random bytes, read them back, compare; ROUNDS times
//   attach_bulk cancel                an IN with nothing to read is cancelled (unlink) and reports so;
//                                     then an echo still works
//   attach_bulk across FILE           an IN is submitted and left pending; FILE is created; once
//                                     FILE is removed (the test drops the connection meanwhile),
//                                     an OUT is written and the pending IN must complete with it
// Prints what it saw; exit 0 only when every check held.
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static libusb_context* ctx;
static libusb_device_handle* h;

static void die(const char* what, int rc) {
    printf("attach_bulk: FAIL: %s: %s\n", what, rc < 0 ? libusb_error_name(rc) : "check failed");
    exit(1);
}

static void open_device(void) {
    if (libusb_init(&ctx) != 0) die("libusb_init", -1);
    h = libusb_open_device_with_vid_pid(ctx, 0x1209, 0x0001);
    if (!h) die("open 1209:0001", LIBUSB_ERROR_NO_DEVICE);
    int rc = libusb_claim_interface(h, 0);
    if (rc != 0) die("claim interface 0", rc);
}

static void echo(int size, int rounds) {
    unsigned char* out = malloc(size);
    unsigned char* in = malloc(size);
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i < size; ++i) out[i] = (unsigned char)rand();
        int n = 0, rc = libusb_bulk_transfer(h, 0x02, out, size, &n, 5000);
        if (rc != 0 || n != size) die("bulk OUT", rc);
        int got = 0;
        while (got < size) {
            rc = libusb_bulk_transfer(h, 0x81, in + got, size - got, &n, 5000);
            if (rc != 0) die("bulk IN", rc);
            got += n;
        }
        if (memcmp(in, out, size) != 0) die("echoed bytes differ", 0);
    }
    printf("echo: %d x %d bytes came back intact\n", rounds, size);
    free(out);
    free(in);
}

static int done_status = -1;
static int done_length = 0;
static void LIBUSB_CALL on_done(struct libusb_transfer* t) {
    done_status = t->status;
    done_length = t->actual_length;
}

static void wait_done(int seconds) {
    for (int i = 0; i < seconds * 10 && done_status < 0; ++i) {
        struct timeval tv = {0, 100000};
        libusb_handle_events_timeout(ctx, &tv);
    }
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    open_device();
    if (!strcmp(argv[1], "echo")) {
        echo(argc > 2 ? atoi(argv[2]) : 4096, argc > 3 ? atoi(argv[3]) : 1);
    } else if (!strcmp(argv[1], "cancel")) {
        static unsigned char buf[512];
        struct libusb_transfer* t = libusb_alloc_transfer(0);
        libusb_fill_bulk_transfer(t, h, 0x81, buf, sizeof buf, on_done, NULL, 0);
        int rc = libusb_submit_transfer(t);
        if (rc != 0) die("submit IN", rc);
        wait_done(1);
        if (done_status >= 0) die("the IN completed with nothing to read", 0);
        rc = libusb_cancel_transfer(t);
        if (rc != 0) die("cancel", rc);
        wait_done(10);
        if (done_status != LIBUSB_TRANSFER_CANCELLED) die("the IN did not end cancelled", 0);
        printf("cancel: the pending IN was cancelled\n");
        libusb_free_transfer(t);
        echo(512, 4);
    } else if (!strcmp(argv[1], "across") && argc > 2) {
        static unsigned char buf[4096], pattern[4096];
        for (size_t i = 0; i < sizeof pattern; ++i) pattern[i] = (unsigned char)(i * 7 + 3);
        struct libusb_transfer* t = libusb_alloc_transfer(0);
        libusb_fill_bulk_transfer(t, h, 0x81, buf, sizeof buf, on_done, NULL, 0);
        int rc = libusb_submit_transfer(t);
        if (rc != 0) die("submit IN", rc);
        wait_done(1);
        FILE* f = fopen(argv[2], "w");
        if (f) fclose(f);
        printf("across: IN pending, waiting for %s to go\n", argv[2]);
        fflush(stdout);
        struct stat st;
        while (stat(argv[2], &st) == 0) {
            struct timeval tv = {0, 100000};
            libusb_handle_events_timeout(ctx, &tv);
        }
        if (done_status >= 0) die("the pending IN ended early", 0);
        int n = 0;
        rc = libusb_bulk_transfer(h, 0x02, pattern, sizeof pattern, &n, 20000);
        if (rc != 0 || n != (int)sizeof pattern) die("bulk OUT after the reconnect", rc);
        wait_done(20);
        if (done_status != LIBUSB_TRANSFER_COMPLETED || done_length != (int)sizeof pattern) die("the pending IN", 0);
        if (memcmp(buf, pattern, sizeof pattern) != 0) die("the IN's bytes differ", 0);
        printf("across: the IN submitted before the reconnect got the %d bytes written after it\n", done_length);
        libusb_free_transfer(t);
        echo(4096, 8);
    } else {
        return 2;
    }
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    return 0;
}
