#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/identity.hpp"
#include "usbhop_config.h"

using namespace usbhop;
using namespace usbhop::identity;

namespace {

// A fresh directory under $TMPDIR, removed (with its files) at scope exit.
struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base ? base : "/tmp") + "/usbhop-identity-XXXXXX";
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

mode_t mode_of(const std::string& path) {
    struct stat st{};
    REQUIRE(stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a node ID survives to_string and parse, in either case and with spaces") {
    auto key = NodeKey::generate();
    REQUIRE(key);
    std::string text = key->id().to_string();
    CHECK(text.size() == kNodeIdLength);
    CHECK(key->id().short_string() == text.substr(0, 8));
    auto back = NodeId::parse(text);
    REQUIRE(back);
    CHECK(*back == key->id());
    std::string upper = text;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto up = NodeId::parse("  " + upper + "\n");
    REQUIRE(up);
    CHECK(*up == key->id());
    CHECK(key->id().valid());
    CHECK_FALSE(NodeId().valid());
}

TEST_CASE("every single-character substitution in a node ID is caught") {
    auto key = NodeKey::generate();
    REQUIRE(key);
    const std::string good = key->id().to_string();
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    int tried = 0;
    for (size_t i = 0; i < good.size(); ++i) {
        for (char c : alphabet) {
            if (c == good[i]) continue;
            std::string bad = good;
            bad[i] = c;
            auto r = NodeId::parse(bad);
            REQUIRE_FALSE(r);
            CHECK(r.error().message.find("typo?") != std::string::npos);
            ++tried;
        }
    }
    CHECK(tried == 56 * 31);
}

TEST_CASE("node ID parse errors say what is wrong") {
    const std::string good = NodeKey::generate()->id().to_string();
    const std::pair<std::string, std::string> cases[] = {
        {"", "characters, expected 56"},
        {good.substr(1), "55 characters"},
        {good + "a", "57 characters"},
        {good.substr(0, 10) + "1" + good.substr(11), "invalid character '1' at position 11"},
        {good.substr(0, 55) + "-", "invalid character '-'"},
        {good.substr(0, 5) + "0" + good.substr(6), "invalid character '0'"},
    };
    for (const auto& [text, expect] : cases) {
        auto r = NodeId::parse(text);
        REQUIRE_FALSE(r);
        INFO(r.error().message);
        CHECK(r.error().message.find(expect) != std::string::npos);
    }
}

TEST_CASE("a saved key loads back with the same node ID and public key") {
    TempDir dir;
    auto key = NodeKey::generate();
    REQUIRE(key);
    std::string path = dir.path + "/identity.key";
    REQUIRE(key->save(path));
    CHECK(mode_of(path) == 0600);
    auto back = NodeKey::load(path);
    REQUIRE(back);
    CHECK(back->id() == key->id());
    CHECK(back->public_key_pem() == key->public_key_pem());
    CHECK(key->public_key_pem().find("BEGIN PUBLIC KEY") != std::string::npos);
    CHECK(key->private_key_pem().find("BEGIN PRIVATE KEY") != std::string::npos);
}

TEST_CASE("load refuses a key file readable by group or others, like ssh") {
    TempDir dir;
    std::string path = dir.path + "/identity.key";
    REQUIRE(NodeKey::generate()->save(path));
    for (mode_t m : {0640, 0604, 0660, 0644}) {
        REQUIRE(chmod(path.c_str(), m) == 0);
        auto r = NodeKey::load(path);
        REQUIRE_FALSE(r);
        INFO(r.error().message);
        CHECK(r.error().message.find("is readable by others") != std::string::npos);
        CHECK(r.error().message.find("chmod 600 " + path) != std::string::npos);
    }
    REQUIRE(chmod(path.c_str(), 0400) == 0);
    CHECK(NodeKey::load(path));
}

TEST_CASE("load reports a missing or garbled file") {
    TempDir dir;
    auto missing = NodeKey::load(dir.path + "/nope.key");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("nope.key") != std::string::npos);
    std::string path = dir.path + "/bad.key";
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "hello\n", 6) == 6);
    close(fd);
    auto bad = NodeKey::load(path);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find(path) != std::string::npos);
}

TEST_CASE("load_or_create makes a 0700 directory and a 0600 file whatever the umask, then reuses them") {
    TempDir dir;
    std::string path = dir.path + "/a/b/identity.key";
    mode_t old = umask(0);
    auto created = NodeKey::load_or_create(path);
    umask(old);
    REQUIRE(created);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(dir.path + "/a/b") == 0700);
    CHECK(mode_of(dir.path + "/a") == 0700);
    auto again = NodeKey::load_or_create(path);
    REQUIRE(again);
    CHECK(again->id() == created->id());
    // No temporary files are left behind.
    CHECK(std::system(("test $(ls -A '" + dir.path + "/a/b' | wc -l) -eq 1").c_str()) == 0);
}

TEST_CASE("a signature verifies under its own key and nowhere else") {
    auto key = NodeKey::generate();
    auto other = NodeKey::generate();
    REQUIRE(key);
    REQUIRE(other);
    Bytes msg = to_bytes("register usbhop relay nonce 0123456789");
    auto sig = key->sign(msg);
    REQUIRE(sig);
    CHECK(sig->size() == kSignatureSize);
    CHECK(verify(key->id(), msg, *sig));
    CHECK_FALSE(verify(other->id(), msg, *sig));
    Bytes tampered = msg;
    tampered[0] ^= std::byte{1};
    CHECK_FALSE(verify(key->id(), tampered, *sig));
    Bytes bad_sig = *sig;
    bad_sig[10] ^= std::byte{0x80};
    CHECK_FALSE(verify(key->id(), msg, bad_sig));
    CHECK_FALSE(verify(key->id(), msg, ByteSpan(*sig).first(63)));
    CHECK_FALSE(verify(NodeId(), msg, *sig));
}

TEST_CASE("default identity path follows XDG_CONFIG_HOME for a normal user") {
    if (geteuid() == 0) {
        CHECK(default_identity_path() == USBHOP_ATTACH_STATEDIR "/identity.key");
        return;
    }
    const char* saved = std::getenv("XDG_CONFIG_HOME");
    std::string keep = saved ? saved : "";
    setenv("XDG_CONFIG_HOME", "/xdg/conf", 1);
    CHECK(default_identity_path() == "/xdg/conf/usbhop/identity.key");
    if (saved) setenv("XDG_CONFIG_HOME", keep.c_str(), 1); else unsetenv("XDG_CONFIG_HOME");
}
