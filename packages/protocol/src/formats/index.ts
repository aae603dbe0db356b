// Files other than Zarr that the workers read and write: HDF5 / NetCDF4 (h5wasm), Parquet
// (parquet-wasm) and Arrow IPC (apache-arrow). A subpath of its own, as zarr is: it needs Node's
// filesystem and WebAssembly libraries that the rest of protocol does not load.
export { hdf5Dtype, readHdf5Info, readHdf5Into, type Hdf5DatasetInfo } from './hdf5.js';
export { prepareParquetDir, readParquetColumn, readParquetInfo, writeParquetFile, type ParquetFileInfo, type ParquetInfo } from './parquet.js';
export { readArrowIpcColumn, readArrowIpcInfo, type ArrowIpcInfo } from './arrow-ipc.js';
export { arrowDtype } from './columns.js';
