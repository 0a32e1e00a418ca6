// Shared pieces of the quic/ integration tests: node keys, a server and a
// client endpoint on one loop over loopback, a captured stderr to check the
// one-line reasons, and streams of reproducible bytes with their hash.
#pragma once

#include <doctest/doctest.h>
#include <gnutls/crypto.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <cstring>
#include <memory>
#include <string>

#include "identity/identity.hpp"
#include "loop/loop.hpp"
#include "loop/udp.hpp"
#include "quic/endpoint.hpp"
#include "util/log.hpp"

namespace usbhop::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Full size normally; a sixteenth under sanitizers, said out loud.
inline uint64_t scaled(uint64_t bytes, const char* what) {
    if (!kSanitized) return bytes;
    MESSAGE("sanitizer build: " << std::string(what) << " scaled down from " << bytes << " to " << bytes / 16 << " bytes");
    return bytes / 16;
}

inline identity::NodeKey make_key() {
    auto k = identity::NodeKey::generate();
    REQUIRE(k);
    return std::move(*k);
}

inline loop::SocketAddress addr(const char* text) {
    auto a = loop::SocketAddress::parse(text);
    REQUIRE(a);
    return *a;
}

// Redirects stderr (where usbhop::log writes) into a file while alive.
class StderrCapture {
public:
    StderrCapture() {
        fflush(stderr);
        saved_ = dup(2);
        file_ = tmpfile();
        dup2(fileno(file_), 2);
    }
    ~StderrCapture() { text(); fclose(file_); }
    // Everything captured so far; stops capturing and echoes it to the real stderr.
    std::string text() {
        if (saved_ >= 0) {
            fflush(stderr);
            dup2(saved_, 2);
            close(saved_);
            saved_ = -1;
            std::string out;
            rewind(file_);
            char buf[4096];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
            text_ = out;
            fputs(out.c_str(), stderr);
        }
        return text_;
    }

private:
    int saved_ = -1;
    FILE* file_ = nullptr;
    std::string text_;
};

// Reproducible bytes: a xorshift stream per seed.
class Pattern {
public:
    explicit Pattern(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    void fill(std::byte* out, size_t n) {
        for (size_t i = 0; i < n; i += 8) {
            state_ ^= state_ << 13;
            state_ ^= state_ >> 7;
            state_ ^= state_ << 17;
            size_t k = std::min<size_t>(8, n - i);
            std::memcpy(out + i, &state_, k);
        }
    }

private:
    uint64_t state_;
};

class Sha256 {
public:
    Sha256() { gnutls_hash_init(&h_, GNUTLS_DIG_SHA256); }
    ~Sha256() { gnutls_hash_deinit(h_, nullptr); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(ByteSpan b) { gnutls_hash(h_, b.data(), b.size()); }
    std::string hex() {
        unsigned char out[32];
        gnutls_hash_output(h_, out);
        return to_hex({reinterpret_cast<const std::byte*>(out), sizeof out});
    }

private:
    gnutls_hash_hd_t h_;
};

// A server and a client endpoint on one loop, each with its own key.
struct Pair {
    loop::Loop loop;
    identity::NodeKey server_key = make_key();
    identity::NodeKey client_key = make_key();
    std::unique_ptr<quic::Endpoint> server;
    std::unique_ptr<quic::Endpoint> client;
    quic::Connection* accepted = nullptr;   // server side of the last connection
    quic::Handlers server_handlers;         // given to every accepted connection

    explicit Pair(quic::Config server_cfg = {}, quic::Config client_cfg = {}, const char* bind = "127.0.0.1:0") {
        auto s = quic::Endpoint::create(loop, server_key, addr(bind), server_cfg);
        REQUIRE(s);
        server = std::move(*s);
        auto c = quic::Endpoint::create(loop, client_key, addr(bind), client_cfg);
        REQUIRE(c);
        client = std::move(*c);
        server->listen([this](const identity::NodeId& id) { return id == client_key.id(); },
                       [this](quic::Connection& conn) {
                           accepted = &conn;
                           conn.set_handlers(server_handlers);
                       });
    }
    ~Pair() {
        client.reset();
        server.reset();
    }

    bool run_until(const std::function<bool()>& pred, Nanos timeout = 10 * kSecond) {
        return loop.run_until(pred, timeout);
    }
};

}  // namespace usbhop::test

namespace usbhop::test {

// Writes `total` reproducible bytes on one stream, then FIN, as fast as the
// stream takes them: write() until it takes less, then wait for on_writable.
struct StreamSender {
    quic::Connection* conn;
    int64_t id;
    uint64_t total;
    uint64_t generated = 0;
    uint64_t taken = 0;
    Pattern pattern;
    Sha256 hash;
    Bytes chunk = Bytes(256 * 1024);
    size_t chunk_len = 0, chunk_off = 0;
    bool done = false;

    StreamSender(quic::Connection* c, int64_t stream, uint64_t bytes, uint64_t seed)
        : conn(c), id(stream), total(bytes), pattern(seed) {}

    void pump() {
        while (!done) {
            if (chunk_off == chunk_len) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - generated));
                pattern.fill(chunk.data(), n);
                hash.update(ByteSpan(chunk).first(n));
                generated += n;
                chunk_len = n;
                chunk_off = 0;
            }
            bool last = generated == total;
            size_t want = chunk_len - chunk_off;
            size_t took = conn->write(id, ByteSpan(chunk).subspan(chunk_off, want), last);
            chunk_off += took;
            taken += took;
            if (took < want || (want == 0 && !last)) return;
            if (last && chunk_off == chunk_len) done = true;
        }
    }
};

// Collects what arrives per stream: byte count, hash, whether FIN came.
struct Received {
    uint64_t bytes = 0;
    bool fin = false;
    std::unique_ptr<Sha256> hash = std::make_unique<Sha256>();
    std::string digest;
    void add(ByteSpan data, bool end) {
        bytes += data.size();
        hash->update(data);
        if (end) {
            fin = true;
            digest = hash->hex();
        }
    }
};

}  // namespace usbhop::test
