// Stub of cuDNN for the kernel emulator (../cuda_emu.h): handles only, so CudaContext (the
// kernel tests' fixture) can be built; no cuDNN operation is emulated.
#pragma once
#include "cuda_runtime_api.h"

enum cudnnStatus_t { CUDNN_STATUS_SUCCESS = 0 };
struct cudnnContext {};
using cudnnHandle_t = cudnnContext*;
inline const char* cudnnGetErrorString(cudnnStatus_t) { return "emulator"; }
inline size_t cudnnGetVersion() { return 0; }
inline cudnnStatus_t cudnnCreate(cudnnHandle_t* h) { return *h = new cudnnContext, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { return delete h, CUDNN_STATUS_SUCCESS; }
inline cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t) { return CUDNN_STATUS_SUCCESS; }
