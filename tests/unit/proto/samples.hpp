// One filled-in example of every usbhop message, shared by the unit tests and
// the fuzz corpus generator (tests/fuzz/make_corpus.cpp).
#pragma once

#include <vector>

#include "proto/messages.hpp"

namespace usbhop::test {

inline Bytes bytes_of(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v) b.push_back(static_cast<std::byte>(x));
    return b;
}

// A mass-storage gadget: device descriptor and its one configuration
// (one interface, bulk IN 0x81 and bulk OUT 0x02).
inline proto::DeviceInfo sample_device() {
    proto::DeviceInfo d;
    d.device_id = (1 << 16) | 3;
    d.busnum = 1;
    d.devnum = 3;
    d.speed = proto::Speed::kHigh;
    d.active_config = 1;
    d.state = proto::DeviceState::kInUse;
    d.bus_path = "1-1.2";
    d.share = "flash";
    d.holder = "k3x7q2ab";
    d.manufacturer = "Linux Foundation";
    d.product = "Mass Storage Gadget";
    d.serial = "4C530001";
    d.device_descriptor = bytes_of(
        {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x25, 0x05, 0xa5, 0xa4, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01});
    d.configurations = {
        bytes_of({0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32, 0x09, 0x04, 0x00, 0x00, 0x02, 0x08, 0x06,
                  0x50, 0x00, 0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00, 0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00})};
    return d;
}

inline std::vector<proto::Message> sample_messages() {
    using namespace proto;
    Hello hello;
    hello.capabilities = kCapsThisBuild;
    hello.resume_token[0] = std::byte{0xaa};
    hello.software = "usbhop 0.1.0";
    HelloAck ack;
    ack.version = 1;
    ack.capabilities = kCapResume | kCapIso;
    ack.session_token[15] = std::byte{0x55};
    ack.resumed = true;
    ack.grace_ms = 30000;
    ack.software = "usbhop 0.1.0";
    DeviceInfo free_dev = sample_device();
    free_dev.state = DeviceState::kAvailable;
    free_dev.holder.clear();
    free_dev.device_id = (1 << 16) | 4;

    Submit control;
    control.seqnum = 1;
    control.endpoint = 0x80;
    control.type = TransferType::kControl;
    control.length = 18;
    control.setup = {std::byte{0x80}, std::byte{0x06}, std::byte{0x00}, std::byte{0x01},
                     std::byte{0x00}, std::byte{0x00}, std::byte{0x12}, std::byte{0x00}};
    Submit bulk_out;
    bulk_out.seqnum = 2;
    bulk_out.endpoint = 0x02;
    bulk_out.flags = kSubmitZeroPacket;
    bulk_out.length = 4;
    bulk_out.data = bytes_of({0xde, 0xad, 0xbe, 0xef});
    Submit iso_in;
    iso_in.seqnum = 3;
    iso_in.endpoint = 0x83;
    iso_in.type = TransferType::kIso;
    iso_in.flags = kSubmitIsoAsap;
    iso_in.length = 384;
    iso_in.interval = 1;
    iso_in.iso_packets = {192, 192};

    Complete bulk_done;
    bulk_done.seqnum = 2;
    bulk_done.actual_length = 4;
    Complete in_done;
    in_done.seqnum = 1;
    in_done.actual_length = 18;
    in_done.data = sample_device().device_descriptor;
    Complete iso_done;
    iso_done.seqnum = 3;
    iso_done.actual_length = 3;
    iso_done.iso_packets = {{UrbStatus::kOk, 2}, {UrbStatus::kIsoMissed, 1}};
    iso_done.data = bytes_of({0xaa, 0xbb, 0xcc});
    Complete stalled;
    stalled.seqnum = 9;
    stalled.status = UrbStatus::kStall;

    return {
        hello,
        ack,
        ErrorMsg{Reason::kProtocol, true, 7, "Submit on the control stream"},
        Ping{0x0102030405060708},
        Pong{0x0102030405060708},
        ListDevices{true},
        DeviceList{true, {sample_device(), free_dev}},
        DeviceList{false, {}},
        DeviceArrived{sample_device()},
        DeviceLeft{(1 << 16) | 3},
        DeviceChanged{free_dev},
        Attach{(1 << 16) | 3},
        AttachOk{(1 << 16) | 3, 1},
        AttachError{(1 << 16) | 3, Reason::kInUse, "k3x7q2ab", "in use by k3x7q2ab"},
        Detach{1},
        Detached{1, Reason::kGone, "device unplugged"},
        Resume{1, {{5, 3}, {12, 1}}},
        ResumeOk{1, {{7, 1}, {12, 1}}},
        Bind{1, 0x81, TransferType::kBulk},
        Bind{1, 0x00, TransferType::kControl},
        control,
        bulk_out,
        iso_in,
        bulk_done,
        in_done,
        iso_done,
        stalled,
        Unlink{5},
        UnlinkResult{5, UnlinkOutcome::kCancelled},
        UnlinkResult{6, UnlinkOutcome::kCompleted},
        Ack{{{1, 3}, {7, 1}}},
    };
}

}  // namespace usbhop::test
