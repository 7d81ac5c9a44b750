#include "runtime/core/checkpoint.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/core/atomic_file.h"
#include "runtime/core/crc32.h"
#include "runtime/core/errors.h"

namespace acts {
using json = nlohmann::json;

namespace {

// The header as the version-2 checksum sees it: canonical JSON (keys sorted, no spaces, as
// nlohmann writes it) without the crc32 field itself.
std::string checksummed_header(json h) {
  h["__metadata__"].erase("crc32");
  return h.dump();
}

// What to do about a damaged checkpoint: another one of its run, and the command that takes it.
// --resume has no flag to pick one (it reads last.safetensors), so a copy stands in for that.
std::string damaged_fix(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const std::string name = p.filename().string();
  const std::string other = name == "best.safetensors" ? "final.safetensors" : "best.safetensors";
  std::string fix = "); use another checkpoint of its run (dump_acts --model " + dir + "/" + other + ")";
  if (name == "last.safetensors")
    fix +=
        ", or train on from the best epoch: cp " + dir + "/best.safetensors " + path + " && train_gpu --resume " + dir;
  return fix + ", or train again";
}

// A JSON library message without its "[json.exception.type_error.302] " prefix.
std::string json_reason(const json::exception& e) {
  const std::string m = e.what();
  const size_t end = m.find("] ");
  return m.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? m.substr(end + 2) : m;
}

// parse_checkpoint's phases, in the order it runs them. Each refuses what it finds wrong with one
// line naming the file; the ones that read the header run inside parse_checkpoint's try, which
// turns a JSON library exception into "malformed header".

// The file being parsed, and the start and the end every "damaged checkpoint" message shares.
struct CheckpointFile {
  const std::string& path;
  std::string damaged;         // "PATH: damaged checkpoint ("
  std::string fix;             // damaged_fix(path)
  const char* data = nullptr;  // the tensor data, right after the header
  size_t data_bytes = 0;
};

// The header's length, from the 8 little-endian bytes that start a safetensors file.
uint64_t header_length(const std::string& bytes, const CheckpointFile& f) {
  if (bytes.size() < 8) fail(f.damaged, "only ", bytes.size(), " bytes", f.fix);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  if (n > bytes.size() - 8) {
    // A safetensors header is JSON right after its 8-byte length: without that '{' this was never
    // one (a model JSON, a photo, a text file), and "damaged" would send the user the wrong way.
    if (bytes.size() > 8 && bytes[8] != '{') {
      const char* what = bytes[0] == '{' ? "it is JSON text: a Keras model JSON has no trained weights; train it "
                                           "with train_gpu --model FILE and pass the run folder"
                                         : "pass a .safetensors file written by train_gpu, or its run folder";
      fail(f.path, ": not a safetensors checkpoint; ", what);
    }
    fail(f.damaged, "header length ", n, " exceeds the file", f.fix);
  }
  return n;
}

// The header as JSON, refused unless its metadata says it is one of ours (any safetensors file
// parses this far; only ours has format=acts-checkpoint).
json parse_header(const std::string& text, const CheckpointFile& f) {
  json h;
  try {
    h = json::parse(text);
  } catch (const json::exception&) {
    fail(f.damaged, "header is not JSON", f.fix);
  }
  // value(key, json()) never throws, whatever type the member has.
  if (!h.is_object() || !h["__metadata__"].is_object() ||
      h["__metadata__"].value("format", json()) != "acts-checkpoint")
    fail(f.path, ": not a checkpoint of this project (a safetensors file without format=acts-checkpoint metadata)");
  return h;
}

// The format version, refused unless this build reads it (1 or kCheckpointVersion).
std::string supported_version(const json& meta, const std::string& path) {
  const std::string version = meta.value("version", "");
  if (version != "1" && version != std::to_string(kCheckpointVersion))
    fail(path, ": checkpoint format version ", version.empty() ? "(none)" : version,
         " is not supported (this build reads 1 and ", kCheckpointVersion, ")");
  return version;
}

// The stored CRC-32, checked here for version 2 (the header and the data) before anything in the
// header is believed; version 1's covers the tensors only, so verify_data_checksum checks it once
// they are read.
std::string verify_header_checksum(const json& h, const std::string& version, const CheckpointFile& f) {
  const std::string stored_crc = h.at("__metadata__").value("crc32", "");
  if (stored_crc.empty()) fail(f.damaged, "no crc32 field in the metadata", f.fix);
  const std::string covered = checksummed_header(h);
  if (version != "1" &&
      stored_crc != std::to_string(crc32(f.data, f.data_bytes, crc32(covered.data(), covered.size()))))
    fail(f.damaged, "checksum mismatch: the metadata or the tensor data was altered or truncated", f.fix);
  return stored_crc;
}

// Copies the tensors named prefix + each parameter's name into out, in the graph's parameter
// order, after checking each one's entry; false if one is missing (the optimizer state may be).
bool read_named_tensors(const json& h, const Graph& g, const std::string& prefix, const CheckpointFile& f,
                        std::vector<float>& out) {
  out.resize(g.param_count());
  for (const ParamRef& p : g.params()) {
    const std::string name = prefix + p.name;
    if (!h.contains(name)) return false;
    const json& t = h[name];
    const json& off = t.at("data_offsets");  // [begin, end) as unsigned integers, checked before use
    if (t.at("dtype") != "F32" || t.at("shape") != json(p.shape) || !off.is_array() || off.size() != 2 ||
        !off[0].is_number_unsigned() || !off[1].is_number_unsigned() || off[0] > off[1] ||
        off[1].get<uint64_t>() - off[0].get<uint64_t>() != 4 * p.size || off[1].get<uint64_t>() > f.data_bytes)
      fail(f.damaged, "tensor ", name, " has the wrong type, shape or offsets", f.fix);
    const size_t b = off[0];
    std::memcpy(out.data() + p.offset, f.data + b, 4 * p.size);
  }
  return true;
}

// The optimizer state's tensor name prefixes, one per slot, by the metadata's "optimizer" (absent
// in files from before Adam: RMSprop's one accumulator per parameter).
std::vector<std::string> opt_prefixes(const Checkpoint& c, const std::string& path) {
  const auto it = c.meta.find("optimizer");
  if (it == c.meta.end() || it->second == "rmsprop") return {"optimizer/"};
  if (it->second == "adam") return {"optimizer/m/", "optimizer/v/"};
  fail(path, ": optimizer '", it->second, "' is not one this build knows (rmsprop, adam); resume it with the build "
       "that wrote it, or start a new run");
}

// The parameters (all of them, or the file is damaged) and the optimizer state (if all of it is there).
void read_tensors(const json& h, const Graph& g, const CheckpointFile& f, Checkpoint& c) {
  // The header's model decides how much is read: refuse one the data cannot hold before
  // allocating for it (a damaged model JSON could ask for terabytes).
  if (g.param_count() > f.data_bytes / 4)
    fail(f.damaged, "the model in the header has ", g.param_count(), " parameters but the file holds ", f.data_bytes,
         " bytes of tensor data", f.fix);
  if (!read_named_tensors(h, g, "", f, c.params)) fail(f.damaged, "a parameter tensor is missing", f.fix);
  c.opt_state.clear();
  std::vector<float> slot;
  for (const std::string& prefix : opt_prefixes(c, f.path)) {
    if (!read_named_tensors(h, g, prefix, f, slot)) {
      c.opt_state.clear();
      return;
    }
    c.opt_state.insert(c.opt_state.end(), slot.begin(), slot.end());
  }
}

// Version 1's CRC-32: the tensor data only, in the file's order.
void verify_data_checksum(const Checkpoint& c, const std::string& stored_crc, const CheckpointFile& f) {
  uint32_t crc = crc32(c.params.data(), 4 * c.params.size());
  if (!c.opt_state.empty()) crc = crc32(c.opt_state.data(), 4 * c.opt_state.size(), crc);
  if (std::to_string(crc) != stored_crc)
    fail(f.damaged, "checksum mismatch: the tensor data was altered or truncated", f.fix);
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  const Graph g(c.model);
  const std::vector<std::string> prefixes = opt_prefixes(c, path);
  if (c.params.size() != g.param_count() ||
      (!c.opt_state.empty() && c.opt_state.size() != prefixes.size() * g.param_count()))
    fail(path, ": internal error: checkpoint tensors do not match the model");
  json h = json::object();
  size_t at = 0;
  auto add = [&](const std::string& name, const ParamRef& p) {
    h[name] = {{"dtype", "F32"}, {"shape", p.shape}, {"data_offsets", {at, at + 4 * p.size}}};
    at += 4 * p.size;
  };
  for (const ParamRef& p : g.params()) add(p.name, p);
  if (!c.opt_state.empty())  // slot after slot, as opt_state holds them
    for (const std::string& prefix : prefixes)
      for (const ParamRef& p : g.params()) add(prefix + p.name, p);
  json meta = json::object();
  for (const auto& [k, v] : c.meta) meta[k] = v;
  meta["format"] = "acts-checkpoint";
  meta["version"] = std::to_string(kCheckpointVersion);
  meta["model_json"] = to_keras_json(g.spec());
  h["__metadata__"] = meta;
  const std::string covered = checksummed_header(h);
  uint32_t crc = crc32(covered.data(), covered.size());
  crc = crc32(c.params.data(), 4 * c.params.size(), crc);
  if (!c.opt_state.empty()) crc = crc32(c.opt_state.data(), 4 * c.opt_state.size(), crc);
  h["__metadata__"]["crc32"] = std::to_string(crc);
  std::string hs = h.dump();
  hs += std::string((8 - hs.size() % 8) % 8, ' ');  // safetensors pads the header to 8 bytes
  const uint64_t n = hs.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = (n >> (8 * i)) & 0xff;
  AtomicFile f(path);
  f.write(len, 8);
  f.write(hs);
  f.write(c.params.data(), 4 * c.params.size());
  if (!c.opt_state.empty()) f.write(c.opt_state.data(), 4 * c.opt_state.size());
  f.commit();
}

Checkpoint load_checkpoint(const std::string& path) {
  return parse_checkpoint(read_file(path, "pass a .safetensors file written by train_gpu, or its run folder"), path);
}

Checkpoint parse_checkpoint(const std::string& bytes, const std::string& path) {
  CheckpointFile f{path, path + ": damaged checkpoint (", damaged_fix(path)};
  const uint64_t n = header_length(bytes, f);
  f.data = bytes.data() + 8 + n;
  f.data_bytes = bytes.size() - 8 - n;
  json h = parse_header(bytes.substr(8, n), f);
  const json& meta = h["__metadata__"];
  Checkpoint c;
  try {
    const std::string version = supported_version(meta, path);
    const std::string stored_crc = verify_header_checksum(h, version, f);
    c.model = parse_keras_json(meta.at("model_json").get<std::string>(), path + " (model_json)");
    for (const auto& [k, v] : meta.items())
      if (k != "format" && k != "version" && k != "model_json" && k != "crc32") c.meta[k] = v.get<std::string>();
    read_tensors(h, Graph(c.model), f, c);
    if (version == "1") verify_data_checksum(c, stored_crc, f);
  } catch (const json::exception& e) {
    fail(f.damaged, "malformed header: ", json_reason(e), f.fix);
  } catch (const std::invalid_argument&) {  // std::stoi
    fail(f.damaged, "malformed version", f.fix);
  } catch (const std::out_of_range&) {
    fail(f.damaged, "malformed version", f.fix);
  }
  return c;
}

namespace {
[[noreturn]] void bad_state(const std::string& path, const std::string& key, const std::string& what) {
  fail(path, ": training state '", key, "' is ", what, "; the file was damaged or edited and cannot be resumed (put "
       "an intact copy back, or start a new run)");
}
}  // namespace

const std::string& meta_text(const Checkpoint& c, const std::string& key, const std::string& path) {
  const auto it = c.meta.find(key);
  if (it == c.meta.end()) bad_state(path, key, "missing");
  return it->second;
}

long long meta_int(const Checkpoint& c, const std::string& key, const std::string& path, long long lo, long long hi) {
  const std::string& s = meta_text(c, key, path);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
    bad_state(path, key, "'" + s + "', not a number");
  if (errno == ERANGE || v < lo || v > hi)
    bad_state(path, key, s + ", not from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

double meta_real(const Checkpoint& c, const std::string& key, const std::string& path, double lo, double hi) {
  const std::string& s = meta_text(c, key, path);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) || std::isspace(static_cast<unsigned char>(s[0])))
    bad_state(path, key, "'" + s + "', not a number");
  if (v < lo || v > hi) {
    std::ostringstream range;
    range << s << ", not from " << lo << " to " << hi;
    bad_state(path, key, range.str());
  }
  return v;
}

void check_same_architecture(const Checkpoint& c, const Graph& g, const std::string& path) {
  const Graph cg(c.model);
  bool same = cg.nodes().size() == g.nodes().size() && cg.param_count() == g.param_count() &&
              cg.input_shape() == g.input_shape();
  for (size_t i = 0; same && i < g.nodes().size(); ++i)
    same = cg.nodes()[i].spec.type == g.nodes()[i].spec.type && cg.nodes()[i].out_shape == g.nodes()[i].out_shape &&
           cg.nodes()[i].spec.name == g.nodes()[i].spec.name;
  if (!same)
    fail(path, ": checkpoint is for another architecture (", cg.param_count(), " parameters, input ",
         keras_shape(cg.input_shape()), ") than this model (", g.param_count(), " parameters, input ",
         keras_shape(g.input_shape()), "); pass the matching --model/--image-size or another checkpoint");
}

}  // namespace acts
