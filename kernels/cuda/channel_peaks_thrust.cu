// The per-image channel peaks of channel_peaks.cuh once more, written as a Thrust segmented
// reduction (reduce_by_key): one segment per (image, channel), its positions walked in order, the
// maximum kept with its first position. The same answer as the hand-written kernel; which is
// faster is for the GPU machine to say (the device script's bench rows peaks_kernel and
// peaks_thrust). The walk reads a channel's positions `channels` floats apart, where the kernel
// reads a warp's 32 channels side by side.
// In the emulated suites Thrust's host back end (THRUST_DEVICE_SYSTEM_CPP) runs these same
// algorithm calls: that checks the algorithm and its functors, not Thrust's CUDA kernels.
#include <thrust/device_ptr.h>
#include <thrust/execution_policy.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/discard_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/iterator/zip_iterator.h>
#include <thrust/reduce.h>
#include <thrust/tuple.h>

#include <cmath>

#include "channel_peaks.cuh"

namespace acts::gpu {
namespace {

using Peak = thrust::tuple<float, int>;  // value, position

// Element t of the walk: segment t / positions = image * channels + channel, position t % positions.
struct SegmentOf {
  size_t positions;
  __host__ __device__ size_t operator()(size_t t) const { return t / positions; }
};

struct ValueAt {
  const float* x;
  size_t positions;
  int channels;
  __host__ __device__ Peak operator()(size_t t) const {
    const size_t seg = t / positions, p = t % positions;
    const size_t image = seg / size_t(channels), c = seg % size_t(channels);
    const float v = x[(image * positions + p) * size_t(channels) + c];
    return Peak(v == v ? v : -INFINITY, int(p));  // a NaN is never a peak, as on the CPU
  }
};

// The larger value; on a tie the earlier position (the CPU's first-position rule). Associative,
// so Thrust may combine the positions in any grouping.
struct FirstMax {
  __host__ __device__ Peak operator()(const Peak& a, const Peak& b) const {
    const float va = thrust::get<0>(a), vb = thrust::get<0>(b);
    return (vb > va || (vb == va && thrust::get<1>(b) < thrust::get<1>(a))) ? b : a;
  }
};

}  // namespace

void channel_peaks_thrust(const float* x, int n, size_t positions, int channels, float* peak, int* where,
                          cudaStream_t stream) {
  if (n <= 0 || positions == 0 || channels <= 0) return;
  const size_t total = size_t(n) * size_t(channels) * positions;
  const thrust::counting_iterator<size_t> t0(0);
  const auto keys = thrust::make_transform_iterator(t0, SegmentOf{positions});
  const auto values = thrust::make_transform_iterator(t0, ValueAt{x, positions, channels});
  const auto out = thrust::make_zip_iterator(thrust::make_tuple(thrust::device_pointer_cast(peak),
                                                                thrust::device_pointer_cast(where)));
#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
  const auto policy = thrust::cuda::par.on(stream);
#else
  (void)stream;
  const auto policy = thrust::device;  // the emulated suites: Thrust's host back end
#endif
  // Thrust checks its own launches and throws thrust::system_error naming the failed call.
  thrust::reduce_by_key(policy, keys, keys + total, values, thrust::make_discard_iterator(), out,
                        thrust::equal_to<size_t>(), FirstMax());
}

}  // namespace acts::gpu
