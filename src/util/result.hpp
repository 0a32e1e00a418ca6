// usbhop::Result<T> — the value-or-error type for expected failures.
//
// Network input, config files and the kernel can all be wrong; those failures
// travel as values carrying a message a user can read. Exceptions are kept for
// bugs and start-up failures in main(). (std::expected is C++23; g++ 12 lacks it.)
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace usbhop {

struct Error {
    std::string message;
    int code = 0;  // optional errno-style detail (negative), 0 when none
};

inline Error make_error(std::string message, int code = 0) { return Error{std::move(message), code}; }

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!ok()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { assert(!ok_); return err_; }

private:
    Error err_;
    bool ok_ = true;
};

}  // namespace usbhop
