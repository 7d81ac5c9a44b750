// Reading one layer's Keras config: the checks and conversions every op's parse() shares, with
// the messages users see ("model.json: layer conv2d_1 (Conv2D): strides other than 1 are not
// supported").
#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/core/errors.h"
#include "runtime/core/model_spec.h"

namespace acts {

struct KerasConfig {
  const std::string& origin;  // the file, for messages
  std::string layer;          // "conv2d_1 (Conv2D)"
  template <typename... A>
  [[noreturn]] void bad(const A&... a) const {
    fail(origin, ": layer ", layer.empty() ? std::string("?") : layer, ": ", a...);
  }

  // A size of at least 1 that fits an int (Keras writes sizes as integers; 150.0 is accepted too).
  int positive_int(const nlohmann::json& v, const std::string& what) const;
  // A square size: 3 or [3, 3].
  int square(const nlohmann::json& v, const char* what) const;
  // `key`, when present and not null, must equal `want`.
  void expect(const nlohmann::json& config, const char* key, const nlohmann::json& want) const;
  // An activation: a name, null (linear) or Keras 3's serialised function.
  Act activation(const nlohmann::json& v) const;
};

}  // namespace acts
