// Keras model JSON: Keras 2.0.8, 2.2 and 3 layouts parse to the tutorial's model; anything
// unsupported is refused with an error naming it.
#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/core/graph.h"
#include "runtime/core/model_spec.h"

using namespace acts;

namespace {
std::string error_of(const std::string& json) {
  try {
    parse_keras_json(json, "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ModelSpec, RoundTripsThroughKerasJson) {
  Graph g(tutorial_model());
  Graph back(parse_keras_json(to_keras_json(g.spec())));
  EXPECT_EQ(back.summary(), g.summary());
}

TEST(ModelSpec, ParsesKeras2_0_8Layout) {
  const char* j = R"({"class_name": "Sequential", "keras_version": "2.0.8", "config": [
    {"class_name": "Conv2D", "config": {"name": "conv2d_1", "batch_input_shape": [null, 150, 150, 3],
     "filters": 32, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
     "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu", "use_bias": true}},
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "pool_size": [2, 2], "padding": "valid", "strides": [2, 2]}},
    {"class_name": "Flatten", "config": {"name": "flatten_1"}},
    {"class_name": "Dropout", "config": {"name": "dropout_1", "rate": 0.5}},
    {"class_name": "Dense", "config": {"name": "dense_1", "units": 1, "activation": "sigmoid", "use_bias": true}}]})";
  Graph g(parse_keras_json(j));
  EXPECT_EQ(g.nodes().size(), 5u);
  EXPECT_EQ(g.node("max_pooling2d_1").out_shape, (std::vector<int>{74, 74, 32}));
  EXPECT_FLOAT_EQ(g.node("dropout_1").spec.rate, 0.5f);
  EXPECT_EQ(g.param_count(), 896u + 74 * 74 * 32 + 1);
}

TEST(ModelSpec, ParsesKeras3Layout) {
  const char* j = R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 32, 32, 3], "name": "input_layer"}},
    {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv2d", "filters": 4, "kernel_size": [3, 3],
     "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
     "activation": "relu", "use_bias": true}},
    {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten"}},
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
  Graph g(parse_keras_json(j));
  EXPECT_EQ(g.nodes()[0].spec.name, "conv2d");  // names from the JSON win
  EXPECT_EQ(g.node("flatten").out_shape, (std::vector<int>{30 * 30 * 4}));
}

// A Sequential model built with model.build((None, 20, 20, 3)) names its input only in the
// model's build_input_shape; a trainable: false layer is kept as such (Keras' flag).
TEST(ModelSpec, TakesTheInputShapeOfABuiltModelAndTheTrainableFlag) {
  const char* j = R"({"class_name": "Sequential", "config": {"name": "sequential",
    "build_input_shape": [null, 20, 20, 3], "layers": [
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2, "kernel_size": [3, 3], "trainable": false,
     "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}]}})";
  const ModelSpec m = parse_keras_json(j);
  EXPECT_EQ(m.height, 20);
  EXPECT_EQ(m.channels, 3);
  EXPECT_FALSE(is_trainable(m.layers[0]));
  EXPECT_TRUE(is_trainable(m.layers[2]));
  const Graph g(m);
  EXPECT_NE(g.summary().find("Non-trainable params: 56"), std::string::npos) << g.summary();
  EXPECT_FALSE(is_trainable(parse_keras_json(to_keras_json(m)).layers[0])) << "written back as trainable: false";
}

TEST(ModelSpec, RefusesUnsupportedWithTheReason) {
  const std::string head = R"({"class_name": "Sequential", "config": [{"class_name": ")";
  const std::string in = R"("batch_input_shape": [null, 8, 8, 3], )";
  EXPECT_NE(error_of(head + R"(Conv2D", "config": {"name": "c", )" + in +
                     R"("filters": 2, "kernel_size": 3, "padding": "causal"}}]})").find("padding"), std::string::npos);
  EXPECT_NE(error_of(head + R"(Conv2D", "config": {"name": "c", )" + in +
                     R"("filters": 2, "kernel_size": 3, "strides": [1, 2]}}]})").find("strides"), std::string::npos);
  EXPECT_NE(error_of(head + R"(Conv2D", "config": {"name": "c", )" + in +
                     R"("filters": 2, "kernel_size": 3, "activation": "elu"}}]})").find("elu"), std::string::npos);
  EXPECT_NE(error_of(head + R"(LayerNormalization", "config": {"name": "ln", )" + in + "\"axis\": -1}}]}")
                .find("LayerNormalization"), std::string::npos);
  EXPECT_NE(error_of(R"({"class_name": "Graph", "config": {}})").find("Sequential"), std::string::npos);
  EXPECT_NE(error_of(R"({"class_name": "Model", "config": {}})").find("has no layers"), std::string::npos);
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
}

TEST(ModelSpec, RefusesAModelThatIsNotABinaryClassifier) {
  ModelSpec m = tutorial_model();
  m.layers.back().activation = Act::Relu;
  EXPECT_THROW(Graph{m}, Error);
}

TEST(ModelSpec, ShippedTutorialJsonIsTheBuiltInModel) {
  const ModelSpec m = load_keras_json(std::string(ACTS_TEST_DATA) + "/../../models/tutorial.json");
  EXPECT_EQ(Graph(m).summary(), Graph(tutorial_model()).summary());
}

namespace {
// A one-layer model whose Dense layer has this name and unit count (JSON text as given).
std::string dense_model(const std::string& name_json, const std::string& units = "1") {
  return R"({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": )" + name_json +
         R"(, "batch_input_shape": [null, 8, 8, 3], "units": )" + units + R"(, "activation": "sigmoid"}}]})";
}
}  // namespace

// Layer names become file names (dump_acts' NAME.npy, NAME.png): a name that could leave the
// output folder, or that Keras itself would refuse, is refused where the model is read.
TEST(ModelSpec, LayerNamesFollowKerasRules) {
  for (const std::string bad : {"../../pwned_layer", "a/b", "/etc/passwd", "..", ".", "_x", "-x", "a b", "a\\\\b",
                                "caf\u00e9", ""}) {
    if (bad.empty()) continue;  // an empty name is Keras 2.0.8's "give me the default name"
    const std::string e = error_of(dense_model("\"" + bad + "\""));
    EXPECT_NE(e.find("m.json: layer "), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("is not a valid layer name"), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("letters, digits"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_NE(error_of(dense_model("3")).find("name must be a string"), std::string::npos);
  for (const std::string good : {"dense_1", "block1_conv1", "Dense.2", "a-b>c", "0x", ".hidden"})
    EXPECT_EQ(error_of(dense_model("\"" + good + "\"")), "") << good;
}

// Sizes beyond an int were read as negative and reported as "sizes must be positive".
TEST(ModelSpec, SizesTooLargeSayToolarge) {
  std::string e = error_of(dense_model("\"dense_1\"", "2147483648"));
  EXPECT_EQ(e, "m.json: layer dense_1 (Dense): units 2147483648 is too large (at most 2147483647)") << e;
  e = error_of(dense_model("\"dense_1\"", "0"));
  EXPECT_EQ(e, "m.json: layer dense_1 (Dense): units 0 must be positive") << e;
  e = error_of(dense_model("\"dense_1\"", "1.5"));
  EXPECT_EQ(e, "m.json: layer dense_1 (Dense): units 1.5 must be a whole number") << e;
  const std::string conv = R"({"class_name": "Sequential", "config": [{"class_name": "Conv2D", "config": {"name":
    "c", "batch_input_shape": [null, 8, 8, 3], "filters": 99999999999, "kernel_size": 3}}]})";
  e = error_of(conv);
  EXPECT_EQ(e, "m.json: layer c (Conv2D): filters 99999999999 is too large (at most 2147483647)") << e;
  const std::string shape = R"({"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name":
    "d", "batch_input_shape": [null, 4294967304, 8, 3], "units": 1}}]})";
  e = error_of(shape);
  EXPECT_NE(e.find("batch_input_shape [null,4294967304,8,3]: height 4294967304 is too large"), std::string::npos)
      << e;
}

// Found by fuzzing (tests/fuzz/regressions/model_json): a class_name that is not a string made
// nlohmann's type_error escape instead of acts::Error.
TEST(ModelSpec, ClassNameOfAnotherTypeIsRefused) {
  std::string e;
  try {
    parse_keras_json(R"({"class_name": [{"units": 3}], "config": []})", "m.json");
  } catch (const Error& err) {
    e = err.what();
  } catch (const std::exception& other) {
    e = std::string("not an acts::Error: ") + other.what();
  }
  EXPECT_NE(e.find("m.json: only Keras Sequential models and single-chain Functional models are supported"),
            std::string::npos)
      << e;
}

// A Functional model that is one chain (the book's second edition builds its model so) parses to
// the same layers as its Sequential twin, from Keras 3's and Keras 2's inbound_nodes alike; a
// branch, a skip connection or a second input is refused naming the layer.
TEST(ModelSpec, SingleChainFunctionalModelsParseAndOthersAreRefused) {
  // Keras 3: inbound_nodes [{"args": [{"config": {"keras_history": [name, 0, 0]}}]}].
  const std::string keras3 = R"({"class_name": "Functional", "config": {"name": "f",
    "input_layers": ["in", 0, 0], "output_layers": ["out", 0, 0], "layers": [
    {"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
     "config": {"name": "in", "batch_shape": [null, 12, 12, 3]}},
    {"class_name": "Rescaling", "name": "r", "config": {"name": "r", "scale": 0.5},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}]}]},
    {"class_name": "Conv2D", "name": "c", "config": {"name": "c", "filters": 2, "kernel_size": 3, "activation": "relu"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["r", 0, 0]}}]}]},
    {"class_name": "Flatten", "name": "f", "config": {"name": "f"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["c", 0, 0]}}]}]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1, "activation": "sigmoid"},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [X]}}]}]}]}})";
  auto with_dense_input = [&](const std::string& x) {
    std::string t = keras3;
    t.replace(t.find("[X]"), 3, x);
    return t;
  };
  const Graph g(parse_keras_json(with_dense_input(R"(["f", 0, 0])"), "f.json"));
  EXPECT_EQ(g.layer_names(), "r, c, f, out");
  EXPECT_EQ(g.node("out").in_shape, (std::vector<int>{10 * 10 * 2}));

  // Keras 2: inbound_nodes [[[name, 0, 0, {}]]], input_layers [[name, 0, 0]].
  const std::string keras2 = R"({"class_name": "Model", "config": {"name": "f",
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]], "layers": [
    {"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
     "config": {"name": "in", "batch_input_shape": [null, 12, 12, 3]}},
    {"class_name": "Conv2D", "name": "c", "config": {"name": "c", "filters": 2, "kernel_size": 3, "activation": "relu"},
     "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"class_name": "Flatten", "name": "f", "config": {"name": "f"}, "inbound_nodes": [[["c", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1, "activation": "sigmoid"},
     "inbound_nodes": [[["f", 0, 0, {}]]]}]}})";
  EXPECT_EQ(Graph(parse_keras_json(keras2, "f.json")).layer_names(), "c, f, out");

  auto refusal = [](const std::string& j) {
    try {
      parse_keras_json(j, "f.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  // A skip connection: the Dense fed by the Rescaling, not the Flatten before it.
  EXPECT_EQ(refusal(with_dense_input(R"(["r", 0, 0])")),
            "f.json: layer out takes [\"r\"], not only the layer before it (f); only single-chain Functional models "
            "are supported (one input, each layer fed by the one before)");
  std::string two = with_dense_input(R"(["f", 0, 0])");
  two.replace(two.find(R"("input_layers": ["in", 0, 0])"), 28, R"("input_layers": [["in", 0, 0], ["in2", 0, 0]])");
  EXPECT_EQ(refusal(two), "f.json: a Functional model with 2 inputs and 1 outputs; only single-chain models (one "
                          "input, one output, each layer fed by the one before) are supported");
}

// Found by fuzzing: sizes beyond int were converted to int (undefined behaviour) and went on.
TEST(ModelSpec, SizesBeyondIntAreRefused) {
  const std::string head = R"({"class_name": "Sequential", "config": [{"class_name": "Conv2D", "config": {"name": "c", )";
  EXPECT_NE(error_of(head + R"("batch_input_shape": [null, 8, 8, 3], "filters": 1e30, "kernel_size": 3}}]})")
                .find("filters 1e+30 is too large (at most 2147483647)"), std::string::npos);
  EXPECT_NE(error_of(head + R"("batch_input_shape": [null, 8, 8, 3], "filters": 2, "kernel_size": [4e9, 4e9]}}]})")
                .find("kernel_size"), std::string::npos);
  EXPECT_NE(error_of(head + R"("batch_input_shape": [null, 3000000000, 8, 3], "filters": 2, "kernel_size": 3}}]})")
                .find("batch_input_shape [null,3000000000,8,3]: height 3000000000 is too large"), std::string::npos);
  EXPECT_NE(error_of(head + R"("batch_input_shape": [null, 8.5, 8, 3], "filters": 2, "kernel_size": 3}}]})")
                .find("height 8.5 must be a whole number"), std::string::npos);
}
