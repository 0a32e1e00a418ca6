// usbhop: share USB devices over QUIC. Dispatches to cli/.
#include <cstdio>

int main() {
    std::puts("usbhop: under construction");
    return 0;
}
