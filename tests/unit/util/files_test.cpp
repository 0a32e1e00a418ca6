#include <doctest/doctest.h>

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "util/files.hpp"

using namespace usbhop;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base ? base : "/tmp") + "/usbhop-files-XXXXXX";
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

size_t entries(const std::string& dir) {
    size_t n = 0;
    DIR* d = ::opendir(dir.c_str());
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
}

bool mentions(const Result<std::string>& r, const std::string& text) {
    INFO(r.error().message);
    return r.error().message.find(text) != std::string::npos;
}

// Every refusal comes at once: nothing waits for a writer or reads forever.
template <typename F>
auto quickly(F f) {
    auto start = std::chrono::steady_clock::now();
    auto r = f();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    return r;
}

}  // namespace

TEST_CASE("read_file returns a regular file's bytes, and -ENOENT for a missing one") {
    TempDir dir;
    write(dir.path + "/a", std::string("x\0y\n", 4));
    auto r = read_file(dir.path + "/a");
    REQUIRE(r);
    CHECK(*r == std::string("x\0y\n", 4));
    auto missing = read_file(dir.path + "/none");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == -ENOENT);
    CHECK(mentions(missing, dir.path + "/none"));
}

TEST_CASE("read_file refuses a FIFO, a device, a directory and a symlink at once, naming the file") {
    TempDir dir;
    std::string fifo = dir.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto r = quickly([&] { return read_file(fifo); });
    REQUIRE_FALSE(r);
    CHECK(mentions(r, fifo + ": it is a FIFO, not a regular file"));

    auto zero = quickly([] { return read_file("/dev/zero"); });
    REQUIRE_FALSE(zero);
    CHECK(mentions(zero, "/dev/zero: it is a character device"));

    auto d = read_file(dir.path);
    REQUIRE_FALSE(d);
    CHECK(mentions(d, "it is a directory"));

    write(dir.path + "/real", "secret");
    REQUIRE(::symlink((dir.path + "/real").c_str(), (dir.path + "/link").c_str()) == 0);
    auto link = read_file(dir.path + "/link");
    REQUIRE_FALSE(link);
    CHECK(mentions(link, dir.path + "/link: it is a symbolic link"));
}

TEST_CASE("read_file refuses a file larger than its limit, 1 MiB by default") {
    TempDir dir;
    write(dir.path + "/big", std::string(kMaxFileSize + 1, 'a'));
    write(dir.path + "/max", std::string(kMaxFileSize, 'a'));
    auto big = read_file(dir.path + "/big");
    REQUIRE_FALSE(big);
    CHECK(mentions(big, "larger than 1048576 bytes"));
    CHECK(read_file(dir.path + "/max"));
    CHECK_FALSE(read_file(dir.path + "/max", {.max_size = 100}));
}

TEST_CASE("read_file refuses a file another user owns, unless told to trust any owner") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: needs root to give a file to nobody");
        return;
    }
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody);
    TempDir dir;
    std::string path = dir.path + "/planted";
    write(path, "key");
    REQUIRE(::chown(path.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    auto r = read_file(path);
    REQUIRE_FALSE(r);
    CHECK(mentions(r, path + ": it is owned by nobody (uid " + std::to_string(nobody->pw_uid) + "), not by root"));
    CHECK(read_file(path, {.trusted_owner = false}));
}

TEST_CASE("read_file refuses a file in a directory others can write, unless it is sticky and ours") {
    TempDir dir;
    std::string open_dir = dir.path + "/open";
    REQUIRE(::mkdir(open_dir.c_str(), 0700) == 0);
    write(open_dir + "/f", "x");
    for (mode_t m : {0777, 0770, 0702}) {
        REQUIRE(::chmod(open_dir.c_str(), m) == 0);
        auto r = read_file(open_dir + "/f");
        REQUIRE_FALSE(r);
        CHECK(mentions(r, "its directory " + open_dir));
        CHECK(read_file(open_dir + "/f", {.trusted_owner = false}));
    }
    REQUIRE(::chmod(open_dir.c_str(), 01777) == 0);  // like /tmp
    CHECK(read_file(open_dir + "/f"));
    if (::geteuid() == 0) {
        const passwd* nobody = ::getpwnam("nobody");
        REQUIRE(nobody);
        REQUIRE(::chown(open_dir.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);  // sticky, but nobody's
        CHECK_FALSE(read_file(open_dir + "/f"));
    }
}

TEST_CASE("read_file with private_only refuses a file group or others may read") {
    TempDir dir;
    std::string path = dir.path + "/key";
    write(path, "k");
    REQUIRE(::chmod(path.c_str(), 0640) == 0);
    auto r = read_file(path, {.private_only = true});
    REQUIRE_FALSE(r);
    CHECK(mentions(r, "is readable by others (mode 0640); chmod 600 " + path));
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    CHECK(read_file(path, {.private_only = true}));
}

TEST_CASE("write_file_atomically replaces the file with the mode asked for, whatever the umask, and leaves no temp") {
    TempDir dir;
    std::string path = dir.path + "/state";
    mode_t old = ::umask(0077);
    REQUIRE(write_file_atomically(path, "one\n", 0640));
    REQUIRE(write_file_atomically(path, "two\n", 0640));
    ::umask(old);
    CHECK(*read_file(path) == "two\n");
    CHECK(mode_of(path) == 0640);
    CHECK(entries(dir.path) == 1);
}

TEST_CASE("write_file_atomically never writes through a planted symlink or temp file") {
    TempDir dir;
    std::string victim = dir.path + "/victim";
    write(victim, "precious");
    std::string path = dir.path + "/status";
    REQUIRE(::symlink(victim.c_str(), path.c_str()) == 0);
    // The old fixed temp names, planted as links to the victim:
    REQUIRE(::symlink(victim.c_str(), (path + ".tmp").c_str()) == 0);
    REQUIRE(write_file_atomically(path, "new", 0600));
    CHECK(*read_file(victim) == "precious");
    CHECK(*read_file(path) == "new");  // the link itself was replaced
}

TEST_CASE("write_file_atomically create_only keeps a file that is already there") {
    TempDir dir;
    std::string path = dir.path + "/key";
    REQUIRE(write_file_atomically(path, "first", 0600, WriteMode::create_only));
    auto again = write_file_atomically(path, "second", 0600, WriteMode::create_only);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == -EEXIST);
    CHECK(*read_file(path) == "first");
    CHECK(entries(dir.path) == 1);
}

TEST_CASE("parent_directory") {
    CHECK(parent_directory("/a/b/c") == "/a/b");
    CHECK(parent_directory("c") == ".");
    CHECK(parent_directory("/c") == "/");
}
