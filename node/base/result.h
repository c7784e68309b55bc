// Errors as values: `status` (success, or an error) and `result<T>` (a
// value, or an error), both [[nodiscard]], so an ignored failure is a
// compiler warning and, in the project's own builds, an error.
//
// An error is a sentence for the operator: what failed, where, and why
// ("segment-00000003.log offset 8192: bad checksum"). Programmer errors are
// not values; they hit RC_ASSERT (assert.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "node/base/assert.h"

namespace ringchain::base {

// An operating error: the sentence that explains it.
class error {
 public:
  // An error with this sentence; prefer fail(), which asserts that the sentence
  // is not empty.
  explicit error(std::string message) : message_(std::move(message)) {}
  // The sentence; never empty.
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// Makes an error; reads as `return base::fail("cannot open " + path);`.
inline error fail(std::string message) {
  RC_ASSERT_MSG(!message.empty(), "an error needs a sentence");
  return error(std::move(message));
}

// Success, or an error.
class [[nodiscard]] status {
 public:
  // Success.
  status() = default;
  // Failure (implicit, so `return base::fail(...)` works).
  status(error e) : error_(std::move(e.message())) {}  // NOLINT(google-explicit-constructor)

  // Whether this is success.
  bool ok() const { return error_.empty(); }
  // The error's sentence; empty on success.
  const std::string& message() const { return error_; }
  // A status whose message is prefixed with `context: ` (unchanged when ok).
  status with_context(const std::string& context) const {
    return ok() ? status{} : status(error(context + ": " + error_));
  }

 private:
  std::string error_;
};

// A value of type T, or an error.
template <class T>
class [[nodiscard]] result {
 public:
  // A result holding `value` (implicit, so `return value;` works).
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  // A result holding an error (implicit, so `return base::fail(...)` works).
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  // Whether a value is held.
  bool ok() const { return v_.index() == 0; }
  // The value; asserts that there is one.
  T& value() & {
    RC_ASSERT_MSG(ok(), "result holds an error");
    return std::get<0>(v_);
  }
  // The value, read-only; asserts that there is one.
  const T& value() const& {
    RC_ASSERT_MSG(ok(), "result holds an error");
    return std::get<0>(v_);
  }
  // The value, moved out of a temporary result; asserts that there is one.
  T&& value() && {
    RC_ASSERT_MSG(ok(), "result holds an error");
    return std::get<0>(std::move(v_));
  }
  // Member access to the value; asserts that there is one.
  T* operator->() { return &value(); }
  // Member access to the value, read-only; asserts that there is one.
  const T* operator->() const { return &value(); }
  // The value; asserts that there is one.
  T& operator*() & { return value(); }
  // The value, read-only; asserts that there is one.
  const T& operator*() const& { return value(); }
  // The error's sentence; empty when there is a value.
  const std::string& message() const {
    static const std::string none;
    return ok() ? none : std::get<1>(v_).message();
  }
  // The outcome without the value.
  status to_status() const { return ok() ? status{} : status(std::get<1>(v_)); }

 private:
  std::variant<T, error> v_;
};

}  // namespace ringchain::base
