// The AEAD a connection asks for, chosen for the CPU it runs on.
//
// AES-128-GCM is the fastest choice where the CPU has AES and carry-less
// multiply instructions (x86 AES-NI + PCLMULQDQ, ARMv8 AES + PMULL), and the
// slowest where it has not: a Raspberry Pi 4's Cortex-A72 lacks the ARMv8
// crypto extensions, and ChaCha20-Poly1305 runs about three times as fast
// there. Each end lists its choice first; a server without AES instructions
// also insists on its own order (%SERVER_PRECEDENCE), and one with them
// follows the client's. So ChaCha20 is chosen when either end lacks AES
// instructions, AES-128-GCM when both have them (docs/architecture.md,
// "Transport").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace usbhop::quic {

enum class Cipher { aes_128_gcm, chacha20_poly1305 };

// Whether this CPU has the AES and carry-less multiply instructions.
bool cpu_has_aes();

// "aes" or "chacha" (USBHOP_CIPHER, for tests and measurements).
Result<Cipher> parse_cipher(std::string_view text);

// The choice for this process: USBHOP_CIPHER when set (an invalid value is an
// error), else by cpu_has_aes(). Read once.
Result<Cipher> preferred_cipher();

// Pure: GnuTLS priority string for one end of a connection (TLS 1.3 only,
// raw public keys only, the three AEADs with `first` in front).
std::string tls_priority(bool server, Cipher first);

// GnuTLS's name of a negotiated cipher ("AES-128-GCM") in the form status
// and logs use ("aes-128-gcm"); empty stays empty.
std::string cipher_label(std::string_view gnutls_name);

}  // namespace usbhop::quic
