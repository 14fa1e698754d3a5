export { PADDING_PAGE, PageAllocator } from "./page-allocator.js";
export type { PageAllocatorOptions } from "./page-allocator.js";
export { TokenTable } from "./token-table.js";
export type { InsertResult, PrefixCache, PrefixCacheSizeInfo, PrefixHandle, PrefixMatch } from "./prefix-cache.js";
export { RadixCache } from "./radix-cache.js";
export { NoCache } from "./no-cache.js";
