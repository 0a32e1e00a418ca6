#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "usb/storage_guard.hpp"

using namespace usbhop::usb;
namespace fs = std::filesystem;

TEST_CASE("mountinfo gives each mount's device number and unescaped mount point") {
    const char* text =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "36 22 8:17 / /mnt/usb\\040stick rw,nosuid - vfat /dev/sdb1 rw\n"
        "broken line\n"
        "40 22 0:5 / /dev rw - devtmpfs udev rw\n";
    auto mounts = parse_mountinfo(text);
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0].device == "8:1");
    CHECK(mounts[0].mount_point == "/");
    CHECK(mounts[1].device == "8:17");
    CHECK(mounts[1].mount_point == "/mnt/usb stick");
    CHECK(mounts[2].device == "0:5");
}

TEST_CASE("/proc/swaps gives the swap devices, without its header") {
    auto swaps = parse_swaps(
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/sdb2                               partition\t1048572\t\t0\t\t-2\n");
    REQUIRE(swaps.size() == 1);
    CHECK(swaps[0] == "/dev/sdb2");
    CHECK(parse_swaps("Filename Type Size Used Priority\n").empty());
}

TEST_CASE("use of a device's block devices is described for the user") {
    std::vector<BlockDevice> blocks = {{"sdb", "8:16", false}, {"sdb1", "8:17", false}, {"sdb2", "8:18", false}};
    std::vector<Mount> mounts = {{"8:1", "/"}, {"8:17", "/mnt/usb"}};
    CHECK(describe_use(blocks, mounts, {}) == "/dev/sdb1 is mounted on /mnt/usb");
    CHECK(describe_use(blocks, {{"8:1", "/"}}, {}).empty());
    CHECK(describe_use(blocks, {}, {"/dev/sdb2"}) == "/dev/sdb2 is in use as swap");
    blocks[0].held = true;
    CHECK(describe_use(blocks, {}, {}) == "/dev/sdb is held by device-mapper or md");
}

TEST_CASE("block devices are found deep below a USB device in sysfs, partitions included") {
    char tmpl[] = "/tmp/usbhop-sysfs-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    fs::path root = tmpl;
    fs::path disk = root / "1-1/1-1:1.0/host0/target0:0:0/0:0:0:0/block/sdb";
    fs::create_directories(disk / "sdb1");
    fs::create_directories(disk / "holders");
    fs::create_directories(disk / "queue");  // not a partition
    fs::create_directories(disk / "sdb1/holders");
    std::ofstream(disk / "dev") << "8:16\n";
    std::ofstream(disk / "sdb1/dev") << "8:17\n";
    std::ofstream(disk / "sdb1/partition") << "1\n";
    fs::create_directories(root / "1-2/1-2:1.0");

    auto blocks = block_devices_of((root / "1-1").string());
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[0].name == "sdb");
    CHECK(blocks[0].number == "8:16");
    CHECK_FALSE(blocks[0].held);
    CHECK(blocks[1].name == "sdb1");
    CHECK(blocks[1].number == "8:17");
    CHECK(block_devices_of((root / "1-2").string()).empty());
    CHECK(block_devices_of((root / "9-9").string()).empty());
    CHECK(check_storage_unused("1-2", root.string()));

    fs::create_directories(disk / "holders/dm-0");
    CHECK(block_devices_of((root / "1-1").string())[0].held);
    auto refused = check_storage_unused("1-1", root.string());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("1-1: refusing") == 0);
    CHECK(refused.error().message.find("force") != std::string::npos);
    fs::remove_all(root);
}
