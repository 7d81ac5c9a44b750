#include "runtime/core/head.h"

#include <sstream>

namespace acts {

namespace {

std::string where(const Node& last) {
  return "the last layer " + last.spec.name + " (" + layer_type_name(last.spec.type) + ", output " +
         keras_shape(last.out_shape) + ")";
}

// A --class-mode the model's head cannot train with: a usage error, exit 2 in the apps (errors.h).
// Class folders that do not fit the head are a data error (acts::Error, exit 1), as any bad folder.
template <typename... A>
[[noreturn]] void refuse(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  throw BadFile(os.str());
}

}  // namespace

HeadKind head_kind(const Graph& g) {
  const Node& last = g.nodes().back();
  const LayerSpec& s = last.spec;
  const bool dense = s.type == LayerType::Dense;
  if (dense && s.units == 1 && s.activation == Act::Sigmoid) return HeadKind::kSigmoid;
  if (dense && s.units >= 2 && s.activation == Act::Softmax) return HeadKind::kSoftmax;
  if (dense && s.activation == Act::Softmax)
    fail("model: ", where(last), " is a softmax over 1 unit, which is always 1; use Dense(1, activation='sigmoid') "
         "for two classes or Dense(N, activation='softmax') for N classes");
  if (dense && s.activation == Act::Sigmoid)
    fail("model: ", where(last), " has ", s.units, " sigmoid units (multi-label), which this trainer does not "
         "support; use Dense(", s.units, ", activation='softmax') for ", s.units,
         " classes, or Dense(1, activation='sigmoid') for two");
  fail("model: ", where(last), " must be Dense(1, activation='sigmoid') for binary cross-entropy or "
       "Dense(N, activation='softmax') for categorical cross-entropy over N classes");
}

int head_classes(const Graph& g) { return head_kind(g) == HeadKind::kSigmoid ? 2 : g.nodes().back().spec.units; }

const char* class_mode_name(ClassMode m) {
  switch (m) {
    case ClassMode::kBinary: return "binary";
    case ClassMode::kCategorical: return "categorical";
    case ClassMode::kSparse: return "sparse";
  }
  return "?";
}

ClassMode parse_class_mode(const std::string& s, const std::string& flag) {
  for (ClassMode m : {ClassMode::kBinary, ClassMode::kCategorical, ClassMode::kSparse})
    if (s == class_mode_name(m)) return m;
  throw BadRequest(flag + " " + s + ": not a class mode; use binary, categorical or sparse");
}

bool class_mode_of_loss(const std::string& keras_loss, ClassMode* mode) {
  for (ClassMode m : {ClassMode::kBinary, ClassMode::kCategorical, ClassMode::kSparse})
    if (keras_loss == loss_name(m)) {
      *mode = m;
      return true;
    }
  return false;
}

ClassMode default_class_mode(const Graph& g) {
  return head_kind(g) == HeadKind::kSigmoid ? ClassMode::kBinary : ClassMode::kCategorical;
}

void check_class_mode(const Graph& g, ClassMode mode, size_t classes, const std::string& data) {
  const Node& last = g.nodes().back();
  const HeadKind head = head_kind(g);
  const std::string flag = std::string("--class-mode ") + class_mode_name(mode);
  const std::string folders =
      data + ": " + std::to_string(classes) + " class folder" + (classes == 1 ? "" : "s");
  if (mode == ClassMode::kBinary) {
    if (head != HeadKind::kSigmoid)
      refuse(flag, ": ", where(last), " is a softmax; binary cross-entropy needs Dense(1, activation='sigmoid'); "
             "use --class-mode categorical or sparse");
    if (classes != 2)
      fail(folders, ", but ", where(last), " scores 2 classes (binary); give the data 2 class folders, or end the "
             "model with Dense(", classes, ", activation='softmax')");
    return;
  }
  if (head != HeadKind::kSoftmax)
    refuse(flag, ": ", where(last), " is one sigmoid unit; ", loss_name(mode), " needs Dense(", classes,
           ", activation='softmax'); or use --class-mode binary with 2 class folders");
  if (size_t(last.spec.units) != classes)
    fail(folders, ", but ", where(last), " scores ", last.spec.units, " classes; end the model with Dense(", classes,
           ", activation='softmax'), or give the data ", last.spec.units, " class folders");
}

const char* loss_name(ClassMode m) {
  switch (m) {
    case ClassMode::kBinary: return "binary_crossentropy";
    case ClassMode::kCategorical: return "categorical_crossentropy";
    case ClassMode::kSparse: return "sparse_categorical_crossentropy";
  }
  return "?";
}

const char* accuracy_name(ClassMode m) {
  switch (m) {
    case ClassMode::kBinary: return "binary_accuracy";
    case ClassMode::kCategorical: return "categorical_accuracy";
    case ClassMode::kSparse: return "sparse_categorical_accuracy";
  }
  return "?";
}

}  // namespace acts
