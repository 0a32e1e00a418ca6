#include "quic/cipher.hpp"

#include <cctype>
#include <cstdlib>

#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace usbhop::quic {

bool cpu_has_aes() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#elif defined(__aarch64__)
    unsigned long caps = getauxval(AT_HWCAP);
    return (caps & HWCAP_AES) && (caps & HWCAP_PMULL);
#else
    return false;
#endif
}

Result<Cipher> parse_cipher(std::string_view text) {
    if (text == "aes") return Cipher::aes_128_gcm;
    if (text == "chacha") return Cipher::chacha20_poly1305;
    return make_error("USBHOP_CIPHER is 'aes' or 'chacha', not '" + std::string(text) + "'");
}

Result<Cipher> preferred_cipher() {
    static const Result<Cipher> choice = []() -> Result<Cipher> {
        const char* env = std::getenv("USBHOP_CIPHER");
        if (env && *env) return parse_cipher(env);
        return cpu_has_aes() ? Cipher::aes_128_gcm : Cipher::chacha20_poly1305;
    }();
    return choice;
}

std::string tls_priority(bool server, Cipher first) {
    // AES-128-GCM rather than NORMAL's AES-256-GCM: 10 rounds instead of 14,
    // and TLS 1.3's mandatory suite. AES-256-GCM stays last for peers that
    // offer nothing else.
    bool chacha = first == Cipher::chacha20_poly1305;
    std::string p = "%DISABLE_TLS13_COMPAT_MODE:";
    if (server && chacha) p += "%SERVER_PRECEDENCE:";
    p += "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:";
    p += chacha ? "+CHACHA20-POLY1305:+AES-128-GCM:" : "+AES-128-GCM:+CHACHA20-POLY1305:";
    p += "+AES-256-GCM:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK:-CTYPE-CLI-X509:-CTYPE-SRV-X509";
    return p;
}

std::string cipher_label(std::string_view gnutls_name) {
    std::string s(gnutls_name);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace usbhop::quic
