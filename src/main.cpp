// usbhop: share USB devices over QUIC. Everything is in cli/; this only turns
// an escaped exception (a bug, or a start-up failure) into a message and exit 1.
#include <cstdio>
#include <exception>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
    try {
        return usbhop::cli::main(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "usbhop: fatal: %s\n", e.what());
        return 1;
    }
}
