#include "runtime/ops/keras_config.h"

#include <climits>
#include <cmath>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace acts {
using json = nlohmann::json;

// The range is checked before any conversion to int: converting an out-of-range number is
// undefined behaviour (2^31 units came out negative; fuzzing found 1e30 filters going on).
int KerasConfig::positive_int(const json& v, const std::string& what) const {
  double d = 0;
  if (v.is_number_unsigned())
    d = double(v.get<uint64_t>());
  else if (v.is_number_integer())
    d = double(v.get<int64_t>());
  else if (v.is_number_float())
    d = v.get<double>();
  if (!v.is_number() || std::trunc(d) != d) bad(what, " ", v.dump(), " must be a whole number");
  if (d > INT_MAX) bad(what, " ", v.dump(), " is too large (at most ", INT_MAX, ")");
  if (d < 1) bad(what, " ", v.dump(), " must be positive");
  return int(d);
}

int KerasConfig::square(const json& v, const char* what) const {
  if (v.is_number()) return positive_int(v, what);
  if (v.is_array() && v.size() == 2 && v[0] == v[1]) return positive_int(v[0], what);
  bad(what, " ", v.dump(), " is not supported (only square sizes)");
}

void KerasConfig::expect(const json& cfg, const char* key, const json& want) const {
  if (!cfg.contains(key) || cfg[key].is_null()) return;
  if (cfg[key] != want) bad(key, "=", cfg[key].dump(), " is not supported (only ", want.dump(), ")");
}

Act KerasConfig::activation(const json& v) const {
  std::string s;
  if (v.is_null()) return Act::Linear;
  if (v.is_string()) s = v.get<std::string>();
  else if (v.is_object() && v.contains("config") && v["config"].contains("name")) s = v["config"]["name"];  // Keras 3 serialised fn
  else bad("activation must be a name");
  if (s == "linear" || s.empty()) return Act::Linear;
  if (s == "relu") return Act::Relu;
  if (s == "sigmoid") return Act::Sigmoid;
  if (s == "tanh") return Act::Tanh;
  if (s == "softmax") return Act::Softmax;
  bad("activation '", s, "' is not supported (supported: relu, sigmoid, tanh, softmax, linear)");
}

}  // namespace acts
