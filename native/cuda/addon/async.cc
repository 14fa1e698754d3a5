// The two calls that wait, as Promises: download (an event on the stream, then the copy out of the pinned buffer)
// and synchronize (the stream drained). The waiting runs on a libuv worker thread, so the JavaScript thread keeps
// running (it can enqueue the next step while this one finishes).
#include "napi_util.h"

namespace iris::napi {

namespace {

struct Job {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  napi_ref target = nullptr;  // the output array, kept alive until the copy into it is done
  void* dst = nullptr;
  int dtype = kF32;
  size_t count = 0;
  bool download = false;
  DownloadTicket ticket;
  std::string status;
};

void execute(napi_env, void* data) {
  Job* job = static_cast<Job*>(data);
  if (job->download) {
    job->status = finishDownload(&job->ticket, job->dst, job->dtype, job->count);
  } else {
    job->status = cudaStatus(cudaSetDevice(currentDevice()), "cudaSetDevice");
    if (job->status.empty()) job->status = cudaStatus(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
}

void complete(napi_env env, napi_status, void* data) {
  Job* job = static_cast<Job*>(data);
  if (job->status.empty()) {
    napi_resolve_deferred(env, job->deferred, undefinedValue(env));
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, job->status.c_str(), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  if (job->target != nullptr) napi_delete_reference(env, job->target);
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value queue(napi_env env, Job* job, const char* name) {
  napi_value promise, resource;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, nullptr, resource, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

}  // namespace

// download(ptr, bytes, dtype, out): out is a Float32Array (F32, BF16, F16 widen) or Int32Array of the elements.
napi_value DownloadEntry(napi_env env, napi_callback_info info) {
  double a[4];
  napi_value raw[4];
  if (!numbers(env, info, 4, a, raw)) return fail(env, "download(ptr, bytes, dtype, out)");
  bool isTyped = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, raw[3], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, raw[3], &type, &length, &data, nullptr, nullptr) != napi_ok) {
    return fail(env, "download: out must be a Float32Array or Int32Array");
  }
  Job* job = new Job();
  job->download = true;
  job->dst = data;
  job->dtype = int(a[2]);
  job->count = length;
  const size_t bytes = sz(a[1]);
  if (length * dtypeBytes(job->dtype) != bytes) {
    delete job;
    return fail(env, "download: out has " + std::to_string(length) + " elements, the source " + std::to_string(bytes) + " bytes");
  }
  std::string status = beginDownload(ptr(a[0]), bytes, &job->ticket);
  if (!status.empty()) {
    delete job;
    return fail(env, status);
  }
  napi_create_reference(env, raw[3], 1, &job->target);
  return queue(env, job, "iris.cuda.download");
}

napi_value SynchronizeEntry(napi_env env, napi_callback_info) {
  return queue(env, new Job(), "iris.cuda.synchronize");
}

}  // namespace iris::napi
