// The model's head and the loss it implies, as Keras' classifiers pair them: Dense(1, sigmoid)
// with binary cross-entropy (flow_from_directory's class_mode "binary": two class folders), or
// Dense(N, softmax), N >= 2, with categorical cross-entropy (class_mode "categorical": one-hot
// labels; "sparse": integer labels). Labels are one class index per image either way; for a
// softmax head both losses are the same function of that index, and only their names differ.
#pragma once
#include <string>

#include "runtime/core/graph.h"

namespace acts {

enum class HeadKind { kSigmoid, kSoftmax };
enum class ClassMode { kBinary, kCategorical, kSparse };

// Throws acts::Error naming the last layer, its output shape and the head to use when the last
// layer is neither Dense(1, sigmoid) nor Dense(N >= 2, softmax).
HeadKind head_kind(const Graph& g);
// The number of classes the head scores: 2 for a sigmoid head, N for a softmax head.
int head_classes(const Graph& g);

const char* class_mode_name(ClassMode m);  // "binary", "categorical", "sparse"
// "binary"|"categorical"|"sparse"; throws BadRequest naming `flag` otherwise.
ClassMode parse_class_mode(const std::string& s, const std::string& flag);
// The class mode a head trains with when none is asked for: binary for a sigmoid head,
// categorical for a softmax head (flow_from_directory's default class_mode).
ClassMode default_class_mode(const Graph& g);
// Checks that `mode` and `classes` class folders fit the head; throws (one line: the layer, its
// output shape, what to use) acts::BadFile for a mode the head cannot train with, acts::Error for
// a number of class folders it does not score (a data error, as any bad folder). `data` names them.
void check_class_mode(const Graph& g, ClassMode mode, size_t classes, const std::string& data);
// The class mode of a Keras loss name (loss_name()'s three); false for any other loss.
bool class_mode_of_loss(const std::string& keras_loss, ClassMode* mode);
// Keras' loss and accuracy names for the mode: "binary_crossentropy"/"binary_accuracy", ...
const char* loss_name(ClassMode m);
const char* accuracy_name(ClassMode m);

}  // namespace acts
