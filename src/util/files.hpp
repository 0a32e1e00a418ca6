// util/files: the one way usbhop reads and writes its own files (keys,
// config, authorized_keys, the status files under /run/usbhop).
//
// read_file never blocks and never trusts what it did not expect: it opens
// with O_NOFOLLOW|O_NONBLOCK (a symlink, FIFO or device is refused at once,
// not waited on), takes regular files only, at most `max_size` bytes, and by
// default only a file owned by the effective user or root that sits in a
// directory no other user can write to (a sticky directory owned by us or
// root, like /tmp, is fine: nobody else can replace a file there).
//
// write_file_atomically writes a fresh temp file with a random name
// (O_CREAT|O_EXCL|O_NOFOLLOW, so nothing planted in its place is followed or
// reused), fsyncs it, renames it into place and fsyncs the directory: after
// it returns, the new contents survive a crash, and a reader sees the old
// file or the new one, never a mix.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace usbhop {

inline constexpr size_t kMaxFileSize = size_t{1} << 20;  // 1 MiB: far above any key, config or status file

// The status files usbhop serve and attach publish under /run/usbhop: they
// list peers' node IDs and addresses, so only the owner and the directory's
// group (usbhop: tmpfiles.d makes /run/usbhop set-group-ID) may read them.
inline constexpr mode_t kStatusFileMode = 0640;

struct ReadPolicy {
    size_t max_size = kMaxFileSize;
    // The file must be owned by the effective user or root, in a directory
    // only they can write to. false for files other usbhop processes publish
    // for anyone to read (status files), where only the kind and size count.
    bool trusted_owner = true;
    // Refuse a file that group or others may access at all (private keys).
    bool private_only = false;
};

// The whole file. Errors name the path and say what to do; a missing file
// is an error with code -ENOENT, so callers can treat it as "not there".
Result<std::string> read_file(const std::string& path, const ReadPolicy& policy = {});

enum class WriteMode {
    replace,      // rename() over whatever is there
    create_only,  // link(): fails with -EEXIST if the file appeared meanwhile
};

// Writes bytes to path with permission bits `mode` (whatever the umask).
Result<void> write_file_atomically(const std::string& path, std::string_view bytes, mode_t mode,
                                   WriteMode how = WriteMode::replace);

// "/a/b/c" -> "/a/b"; "c" -> "."; "/c" -> "/".
std::string parent_directory(const std::string& path);

}  // namespace usbhop
