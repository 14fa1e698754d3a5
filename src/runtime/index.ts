export type {
  AttentionOptions, Backend, PagedAttentionMeta, PagedAttentionOptions, Penalties, RotaryStyle, SamplingTensors, Segments,
} from "./backend.js";
export { download, downloadFloat32, downloadInt32, empty, fromHost, full, upload, zeros, type FromHostOptions } from "./creation.js";
export { cpuDevice, Device, getDevice, registerBackend, type DeviceKind } from "./device.js";
export { isFloatTensorDType, isTensorDType, TENSOR_DTYPES, type HostTransferArray, type TensorDType } from "./dtype.js";
export { Tensor, type Storage } from "./tensor.js";
export { loadNativeCpu, nativeCpuStatus, type NativeCpuAddon, type NativeCpuInfo, type NativeCpuIsa, type NativeCpuStatus } from "./native.js";
