// Zarr stores and arrays, for the client (metadata) and the workers (chunks). A subpath of its
// own: it needs Node's filesystem and zarrita, which the rest of protocol (and the dashboard's
// browser code) does not.
export { LocalStore, normalizeStoreUrl, openZarrStore, registerZarrStore, type ZarrStore, type ZarrStoreFactory } from './stores.js';
export {
  compressorConfig,
  metadataKey,
  newArrayDoc,
  openArray,
  readArrayInfo,
  storePath,
  writeParentGroups,
  type BloscName,
  type ZarrArrayInfo,
  type ZarrCompressor,
  type ZarrFormat,
} from './arrays.js';
export { registerZarrCodecs, useZstd, type ZstdImpl } from './codecs.js';
export { withChunkScope } from './scope.js';
