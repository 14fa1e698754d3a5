// The device this process runs on and its one stream. Every launcher enqueues on that stream, so work runs in the
// order JavaScript called the kernels and memory freed to the caching allocator is reusable at once (a later user
// is ordered after every earlier reader on the same stream).
#include <mutex>

#include "iris_cuda.h"

namespace iris {

namespace {
int deviceIndex = -1;
cudaStream_t deviceStream = nullptr;
int smCount = 0;
std::mutex initMutex;
}  // namespace

size_t dtypeBytes(int dtype) {
  return dtype == kF8E4M3 ? 1 : dtype == kBF16 || dtype == kF16 ? 2 : 4;
}

std::string cudaStatus(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return "";
  return std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

std::string launchStatus(const char* kernel) {
  return cudaStatus(cudaGetLastError(), kernel);
}

std::string initDevice(int index) {
  std::lock_guard<std::mutex> lock(initMutex);
  if (deviceIndex >= 0) {
    if (index == deviceIndex) return "";
    return "this process already runs on cuda:" + std::to_string(deviceIndex) + "; one device per process";
  }
  int count = 0;
  std::string status = cudaStatus(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (!status.empty()) return status;
  if (index < 0 || index >= count) {
    return "cuda:" + std::to_string(index) + " does not exist (" + std::to_string(count) + " devices)";
  }
  status = cudaStatus(cudaSetDevice(index), "cudaSetDevice");
  if (!status.empty()) return status;
  status = cudaStatus(cudaStreamCreateWithFlags(&deviceStream, cudaStreamNonBlocking), "cudaStreamCreate");
  if (!status.empty()) return status;
  status = cudaStatus(cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount, index), "cudaDeviceGetAttribute");
  if (!status.empty()) return status;
  deviceIndex = index;
  return "";
}

int currentDevice() {
  return deviceIndex;
}

cudaStream_t stream() {
  return deviceStream;
}

int multiprocessorCount() {
  return smCount;
}

int computeCapability() {
  static const int capability = [] {
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, currentDevice()) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, currentDevice()) != cudaSuccess) {
      return 0;
    }
    return major * 10 + minor;
  }();
  return capability;
}

bool dependentLaunchSupported() { return computeCapability() >= 90; }

size_t sharedBytesPerBlockLimit() {
  static const size_t limit = [] {
    int bytes = 0;
    if (cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, currentDevice()) != cudaSuccess) {
      cudaGetLastError();  // not left for the next launch's status
      return size_t(48) << 10;
    }
    return size_t(bytes);
  }();
  return limit;
}

std::string allowSharedBytes(const void* kernel, size_t bytes, const char* what) {
  std::string status = cudaStatus(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
                                  (std::string(what) + ": shared memory limit").c_str());
  if (!status.empty()) return status;
  return cudaStatus(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, int(cudaSharedmemCarveoutMaxShared)),
                    (std::string(what) + ": carveout").c_str());
}

}  // namespace iris
