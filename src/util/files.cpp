#include "util/files.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/unique_fd.hpp"

namespace usbhop {

namespace {

Error errno_error(const std::string& what, const std::string& path, int err) {
    return make_error("cannot " + what + " " + path + ": " + std::strerror(err), -err);
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

// "usbhop (uid 998)", or "uid 998" for a uid without a name.
std::string user_text(uid_t uid) {
    passwd pw;
    passwd* found = nullptr;
    char buf[1024];
    if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
        return std::string(pw.pw_name) + " (uid " + std::to_string(uid) + ")";
    return "uid " + std::to_string(uid);
}

bool trusted_uid(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// Another user who can write to the directory can swap the file for theirs,
// unless the directory is sticky and ours (or root's).
Result<void> check_directory(const std::string& path) {
    std::string dir = parent_directory(path);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return errno_error("check the directory of", path, errno);
    bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    bool safe_sticky = (st.st_mode & S_ISVTX) != 0 && trusted_uid(st.st_uid);
    if (others_write && !safe_sticky)
        return make_error("refusing " + path + ": its directory " + dir + " (owner uid " + std::to_string(st.st_uid) +
                              ", mode " + octal_mode(st.st_mode) +
                              ") can be written by other users, who could replace the file; keep it in a "
                              "directory only you or root can write to",
                          -EPERM);
    return {};
}

Result<void> write_all(int fd, std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(std::strerror(errno), -errno);
        done += static_cast<size_t>(n);
    }
    return {};
}

std::string random_suffix() {
    unsigned char rnd[8] = {};
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = ::getrandom(rnd + got, sizeof rnd - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // O_EXCL still keeps a guessed name from being reused
        got += static_cast<size_t>(n);
    }
    std::string out;
    char hex[3];
    for (unsigned char c : rnd) {
        std::snprintf(hex, sizeof hex, "%02x", c);
        out += hex;
    }
    return out;
}

}  // namespace

std::string parent_directory(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

Result<std::string> read_file(const std::string& path, const ReadPolicy& policy) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        int err = errno;
        if (err == ELOOP)
            return make_error("refusing " + path +
                                  ": it is a symbolic link (usbhop does not follow links to its own files; "
                                  "name the file itself)",
                              -ELOOP);
        return errno_error("read", path, err);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return errno_error("stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return make_error("refusing " + path + ": it is " + kind_of(st.st_mode) + ", not a regular file", -EINVAL);
    if (policy.trusted_owner) {
        if (!trusted_uid(st.st_uid)) {
            std::string trusted = ::geteuid() == 0 ? "root" : "you (" + user_text(::geteuid()) + ") or root";
            return make_error("refusing " + path + ": it is owned by " + user_text(st.st_uid) + ", not by " + trusted +
                                  "; another user could have planted it (chown it if you trust it, or use a file "
                                  "of your own)",
                              -EPERM);
        }
        if (auto dir = check_directory(path); !dir) return dir.error();
    }
    if (policy.private_only && (st.st_mode & 077) != 0)
        return make_error(path + " is readable by others (mode " + octal_mode(st.st_mode) + "); chmod 600 " + path,
                          -EPERM);
    auto too_large = [&] {
        return make_error("refusing " + path + ": it is larger than " + std::to_string(policy.max_size) + " bytes",
                          -EFBIG);
    };
    if (static_cast<uintmax_t>(st.st_size) > policy.max_size) return too_large();
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("read", path, errno);
        if (n == 0) return text;
        if (text.size() + static_cast<size_t>(n) > policy.max_size) return too_large();  // grew while we read
        text.append(buf, static_cast<size_t>(n));
    }
}

Result<void> write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode, WriteMode how) {
    const std::string tmp = path + ".tmp-" + random_suffix();
    auto fail = [&](const std::string& what, int err) {
        ::unlink(tmp.c_str());
        return errno_error(what, path, err);
    };
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777));
        if (!fd) return errno_error("create a temporary file for", path, errno);
        if (::fchmod(fd.get(), mode & 07777) != 0) return fail("set the mode of", errno);  // umask-proof
        if (auto w = write_all(fd.get(), bytes); !w) return fail("write", -w.error().code);
        if (::fsync(fd.get()) != 0) return fail("sync", errno);
    }
    if (how == WriteMode::create_only) {
        // link() rather than rename(): if another process created the file in
        // the meantime, theirs stays.
        int rc = ::link(tmp.c_str(), path.c_str());
        int err = errno;
        ::unlink(tmp.c_str());
        if (rc != 0) return errno_error("create", path, err);
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return fail("write", errno);
    }
    // The rename itself lives in the directory: sync it too.
    UniqueFd dir(::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) (void)::fsync(dir.get());
    return {};
}

}  // namespace usbhop
