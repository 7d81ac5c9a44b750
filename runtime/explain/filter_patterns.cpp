// Filter patterns by gradient ascent on the input, the book's §5.4.2 loop; see filter_patterns.h.
#include "runtime/explain/filter_patterns.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/core/errors.h"

namespace acts {
namespace {

// splitmix64's finaliser: a bijection of 64-bit words that mixes every input bit into every output bit.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The book's np.random.random(shape) * 20 + 128 for one filter; see FilterPatternRequest::seed.
void start_noise(uint64_t seed, int filter, size_t size, float* out) {
  const uint64_t s = mix64(seed);
  for (size_t k = 0; k < size; ++k) {
    const double u = double(mix64(s ^ (uint64_t(uint32_t(filter)) << 32 | uint64_t(k))) >> 40) / 16777216.0;
    out[k] = float(128.0 + 20.0 * u);
  }
}

std::string num(float v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

const Node& pattern_layer(const Graph& g, const std::string& layer) {
  const int i = g.find(layer);
  if (i < 0) throw BadRequest("no layer named '" + layer + "' for filter patterns; valid layers: " + g.layer_names());
  const Node& nd = g.nodes()[size_t(i)];
  if (nd.out_shape.size() != 3)
    throw BadRequest("layer " + layer + " outputs " + keras_shape(nd.out_shape) +
                     ", not (height, width, channels): filter patterns need a convolution or pooling layer");
  return nd;
}

void check_request(const FilterPatternRequest& r) {
  if (r.steps < 0)
    throw BadRequest("filter patterns: steps " + std::to_string(r.steps) + " is negative; give 0 or more");
  if (!std::isfinite(r.step)) throw BadRequest("filter patterns: the step size must be a finite number of pixels");
  if (!std::isfinite(r.rescale) || !(r.rescale > 0))
    throw BadRequest(
        "filter patterns: rescale " + num(r.rescale) +
        " must be a positive finite number (1/255 for 0-255 pixels, 1 for a model with its own Rescaling)");
}

// loss_i = mean over positions of channel filter_i of image i's activation (n, positions, channels).
void channel_means(const std::vector<float>& act, int n, size_t positions, size_t channels, const int* filters,
                   float* out) {
  for (int i = 0; i < n; ++i) {
    const float* a = act.data() + size_t(i) * positions * channels + size_t(filters[i]);
    double s = 0;
    for (size_t p = 0; p < positions; ++p) s += a[p * channels];
    out[i] = float(s / double(positions));
  }
}

}  // namespace

std::vector<float> deprocess_patterns(const std::vector<float>& pixels, int count, size_t image_size) {
  if (count < 0 || pixels.size() != size_t(count) * image_size)
    fail("deprocess_patterns(): ", pixels.size(), " values for ", count, " images of ", image_size);
  std::vector<float> out(pixels.size());
  for (int i = 0; i < count; ++i) {
    const float* x = pixels.data() + size_t(i) * image_size;
    float* y = out.data() + size_t(i) * image_size;
    double mean = 0, var = 0;
    for (size_t k = 0; k < image_size; ++k) mean += x[k];
    mean /= double(image_size);
    for (size_t k = 0; k < image_size; ++k) var += (x[k] - mean) * (x[k] - mean);
    const double scale = 0.1 / (std::sqrt(var / double(image_size)) + 1e-5);
    for (size_t k = 0; k < image_size; ++k) y[k] = float(std::clamp((x[k] - mean) * scale + 0.5, 0.0, 1.0));
  }
  return out;
}

FilterPatterns compute_filter_patterns(Backend& be, const FilterPatternRequest& r) {
  const Graph& g = be.graph();
  const Node& nd = pattern_layer(g, r.layer);
  check_request(r);
  const int channels = nd.out_shape.back();
  const size_t positions = nd.out_size / size_t(channels);
  std::vector<int> filters = r.filters;
  if (filters.empty())
    for (int f = 0; f < channels; ++f) filters.push_back(f);
  for (int f : filters)
    if (f < 0 || f >= channels)
      throw BadRequest("filter " + std::to_string(f) + " is out of range for layer " + r.layer + " (" +
                       std::to_string(channels) + " filters: 0 to " + std::to_string(channels - 1) + ")");
  const size_t image = g.input_size();
  const size_t count = filters.size();
  if (!r.start.empty() && r.start.size() != image && r.start.size() != count * image)
    throw BadRequest("filter patterns: the starting pixels hold " + std::to_string(r.start.size()) +
                     " values; give one image of " + std::to_string(image) + " (h, w, c) or one per filter (" +
                     std::to_string(count * image) + ")");

  FilterPatterns out;
  out.count = int(count);
  out.h = g.spec().height;
  out.w = g.spec().width;
  out.c = g.spec().channels;
  out.filters = filters;
  out.losses.resize(count);
  std::vector<float> pixels(count * image);  // (count, h, w, c), 0-255 scale
  if (r.loss_history) out.history.resize(count * (size_t(r.steps) + 1));

  const int max_batch = std::max(1, be.options().max_batch);
  std::vector<float> input, act;
  std::vector<std::vector<float>> grad;
  for (size_t first = 0; first < count; first += size_t(max_batch)) {
    const int n = int(std::min(count - first, size_t(max_batch)));
    float* img = pixels.data() + first * image;  // this batch's (n, h, w, c) pixels, ascended in place
    for (int i = 0; i < n; ++i) {
      float* x = img + size_t(i) * image;
      if (r.start.size() == image)
        std::copy(r.start.begin(), r.start.end(), x);
      else if (!r.start.empty())
        std::copy_n(r.start.begin() + std::ptrdiff_t((first + size_t(i)) * image), image, x);
      else
        start_noise(r.seed, filters[first + size_t(i)], image, x);
    }
    Objective o;
    o.layer = r.layer;
    o.kind = Objective::Kind::kChannelMean;
    o.pre_activation = false;  // Keras' layer.output: after the layer's activation
    o.target.assign(filters.begin() + std::ptrdiff_t(first), filters.begin() + std::ptrdiff_t(first) + n);
    // The model's input for the current pixels: pixels x rescale, as the data pipeline feeds it.
    auto run_forward = [&] {
      input.resize(size_t(n) * image);
      for (size_t k = 0; k < input.size(); ++k) input[k] = img[k] * r.rescale;
      Batch b;
      b.n = n;
      b.inputs = input.data();
      be.forward(b, false);
    };
    auto record = [&](int after) {  // the loss of the current pixels into the history
      be.activation(r.layer, act);
      std::vector<float> l(static_cast<size_t>(n));
      channel_means(act, n, positions, size_t(channels), o.target.data(), l.data());
      for (int i = 0; i < n; ++i)
        out.history[(first + size_t(i)) * (size_t(r.steps) + 1) + size_t(after)] = l[size_t(i)];
    };
    for (int s = 0; s < r.steps; ++s) {
      run_forward();
      if (r.loss_history) record(s);
      be.gradient(o, {""}, grad);  // d loss_i / d input_i, (n, h, w, c)
      const std::vector<float>& d = grad[0];
      for (int i = 0; i < n; ++i) {
        // d loss / d pixel = rescale x d loss / d input; the book's grads / (sqrt(mean(grads^2)) + 1e-5).
        const float* gi = d.data() + size_t(i) * image;
        double sq = 0;
        for (size_t k = 0; k < image; ++k) {
          const double gp = double(gi[k]) * r.rescale;
          sq += gp * gp;
        }
        const float factor = float(double(r.step) * r.rescale / (std::sqrt(sq / double(image)) + 1e-5));
        float* x = img + size_t(i) * image;
        for (size_t k = 0; k < image; ++k) x[k] += gi[k] * factor;
      }
    }
    run_forward();  // the final pixels' loss
    if (r.loss_history) record(r.steps);
    be.activation(r.layer, act);
    channel_means(act, n, positions, size_t(channels), o.target.data(), out.losses.data() + first);
  }
  out.images = deprocess_patterns(pixels, out.count, image);
  if (r.keep_pixels) out.pixels = std::move(pixels);
  return out;
}

FilterGrid filter_grid(const FilterPatterns& p, int cols, int margin) {
  if (cols < 1) throw BadRequest("filter grid: " + std::to_string(cols) + " columns; give 1 or more");
  if (margin < 0) throw BadRequest("filter grid: margin " + std::to_string(margin) + " is negative; give 0 or more");
  FilterGrid grid;
  if (p.count <= 0) return grid;
  if (p.h <= 0 || p.w <= 0 || p.c <= 0 || p.images.size() != size_t(p.count) * size_t(p.h) * size_t(p.w) * size_t(p.c))
    fail("filter_grid(): ", p.images.size(), " values for ", p.count, " images of ", p.h, "x", p.w, "x", p.c);
  cols = std::min(cols, p.count);
  const int rows = (p.count + cols - 1) / cols;
  grid.cols = cols * p.w + (cols - 1) * margin;
  grid.rows = rows * p.h + (rows - 1) * margin;
  const size_t c = size_t(p.c);
  grid.pixels.assign(size_t(grid.rows) * size_t(grid.cols) * c, 0);  // black between the images
  for (int k = 0; k < p.count; ++k) {
    const int top = (k / cols) * (p.h + margin), left = (k % cols) * (p.w + margin);
    const float* src = p.images.data() + size_t(k) * size_t(p.h) * size_t(p.w) * c;
    for (int y = 0; y < p.h; ++y) {
      uint8_t* dst = grid.pixels.data() + (size_t(top + y) * size_t(grid.cols) + size_t(left)) * c;
      for (size_t v = 0; v < size_t(p.w) * c; ++v)
        dst[v] = uint8_t(std::clamp(src[size_t(y) * size_t(p.w) * c + v] * 255.f, 0.f, 255.f));  // truncated, as astype
    }
  }
  return grid;
}

}  // namespace acts
