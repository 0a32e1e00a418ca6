// The cipher each end asks for (quic/cipher.hpp). Which one a real connection
// gets is the integration test 'status' (both orders of preference).
#include <doctest/doctest.h>

#include <gnutls/gnutls.h>

#include <string>
#include <vector>

#include "quic/cipher.hpp"

using namespace usbhop;
using quic::Cipher;

namespace {

// The cipher list of a priority string, as GnuTLS reads it.
std::vector<std::string> ciphers_of(const std::string& priority) {
    gnutls_priority_t p;
    const char* err = nullptr;
    REQUIRE(gnutls_priority_init(&p, priority.c_str(), &err) == GNUTLS_E_SUCCESS);
    const unsigned* list = nullptr;
    int n = gnutls_priority_cipher_list(p, &list);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(gnutls_cipher_get_name(static_cast<gnutls_cipher_algorithm_t>(list[i])));
    gnutls_priority_deinit(p);
    return out;
}

}  // namespace

TEST_CASE("each end lists the cipher it prefers first, and GnuTLS reads the string") {
    using V = std::vector<std::string>;
    CHECK(ciphers_of(quic::tls_priority(false, Cipher::aes_128_gcm)) == V{"AES-128-GCM", "CHACHA20-POLY1305", "AES-256-GCM"});
    CHECK(ciphers_of(quic::tls_priority(true, Cipher::aes_128_gcm)) == V{"AES-128-GCM", "CHACHA20-POLY1305", "AES-256-GCM"});
    CHECK(ciphers_of(quic::tls_priority(false, Cipher::chacha20_poly1305)) ==
          V{"CHACHA20-POLY1305", "AES-128-GCM", "AES-256-GCM"});
    CHECK(ciphers_of(quic::tls_priority(true, Cipher::chacha20_poly1305)) ==
          V{"CHACHA20-POLY1305", "AES-128-GCM", "AES-256-GCM"});
}

TEST_CASE("only a server without AES instructions overrides the client's order") {
    auto has = [](const std::string& s, const char* what) { return s.find(what) != std::string::npos; };
    CHECK(has(quic::tls_priority(true, Cipher::chacha20_poly1305), "%SERVER_PRECEDENCE"));
    CHECK_FALSE(has(quic::tls_priority(true, Cipher::aes_128_gcm), "%SERVER_PRECEDENCE"));
    CHECK_FALSE(has(quic::tls_priority(false, Cipher::chacha20_poly1305), "%SERVER_PRECEDENCE"));
    for (bool server : {false, true})
        for (Cipher c : {Cipher::aes_128_gcm, Cipher::chacha20_poly1305}) {
            std::string p = quic::tls_priority(server, c);
            CHECK(has(p, "+VERS-TLS1.3"));
            CHECK(has(p, "-CTYPE-SRV-X509"));
        }
}

TEST_CASE("USBHOP_CIPHER takes aes or chacha, nothing else") {
    CHECK(*quic::parse_cipher("aes") == Cipher::aes_128_gcm);
    CHECK(*quic::parse_cipher("chacha") == Cipher::chacha20_poly1305);
    for (const char* bad : {"", "AES", "chacha20", "aes-256-gcm"}) {
        auto r = quic::parse_cipher(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().message == "USBHOP_CIPHER is 'aes' or 'chacha', not '" + std::string(bad) + "'");
    }
}

TEST_CASE("status shows GnuTLS's cipher names in lower case") {
    CHECK(quic::cipher_label("AES-128-GCM") == "aes-128-gcm");
    CHECK(quic::cipher_label("CHACHA20-POLY1305") == "chacha20-poly1305");
    CHECK(quic::cipher_label("") == "");
}
