#include "history.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/core/errors.h"

namespace acts {
using json = nlohmann::json;

std::string history_csv(const std::vector<EpochRecord>& h) {
  std::string out = "epoch,loss,acc,val_loss,val_acc,seconds\n";
  char row[256], val[64] = ",";  // a run without validation leaves its val fields empty (NaN)
  for (const EpochRecord& r : h) {
    if (!std::isnan(r.val_loss)) std::snprintf(val, sizeof val, "%.6f,%.6f", r.val_loss, r.val_acc);
    std::snprintf(row, sizeof row, "%d,%.6f,%.6f,%s,%.3f\n", r.epoch, r.loss, r.acc, val, r.seconds);
    out += row;
  }
  return out;
}

std::string history_json(const std::vector<EpochRecord>& h) {
  json a = json::array();
  for (const EpochRecord& r : h)
    a.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"acc", r.acc}, {"val_loss", r.val_loss},
                 {"val_acc", r.val_acc}, {"seconds", r.seconds}});
  return a.dump();
}

namespace {
// JSON has no NaN (nlohmann writes it as null): an epoch without validation comes back as NaN.
double or_nan(const json& v) { return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>(); }
}  // namespace

std::vector<EpochRecord> history_from_json(const std::string& text) {
  std::vector<EpochRecord> h;
  try {
    for (const json& r : json::parse(text))
      h.push_back({r.at("epoch"), r.at("loss"), r.at("acc"), or_nan(r.at("val_loss")), or_nan(r.at("val_acc")),
                   r.at("seconds")});
  } catch (const json::exception& e) {
    fail("checkpoint history is malformed (", e.what(), ")");
  }
  return h;
}

}  // namespace acts
