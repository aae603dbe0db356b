// Builds the native kernels (native/*.cc, binding.gyp) with node-gyp when they are missing or
// older than their sources: tessera_native (our GEMM) always, tessera_blas (OpenBLAS and LAPACKE)
// where pkg-config finds them, tessera_zstd (libzstd, for Zarr chunks) where it finds libzstd,
// tessera_fftw (FFTW 3, double and float) where it finds fftw3 and fftw3f.
// Without a C++ toolchain the build fails with a warning and the worker runs the WebAssembly
// kernels instead; TESSERA_NATIVE_REQUIRED=1 makes that an error.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build/Release/tessera_native.node');
const blasAddon = join(root, 'build/Release/tessera_blas.node');
const blasFound = spawnSync('pkg-config', ['--exists', 'openblas', 'lapacke']).status === 0;
const zstdAddon = join(root, 'build/Release/tessera_zstd.node');
const zstdFound = spawnSync('pkg-config', ['--exists', 'libzstd']).status === 0;
const fftwAddon = join(root, 'build/Release/tessera_fftw.node');
const fftwFound = spawnSync('pkg-config', ['--exists', 'fftw3', 'fftw3f']).status === 0;
const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f))];
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const fresh = (f) => existsSync(f) && statSync(f).mtimeMs >= newest;
if (fresh(addon) && (!blasFound || fresh(blasAddon)) && (!zstdFound || fresh(zstdAddon)) && (!fftwFound || fresh(fftwAddon))) process.exit(0);

// npm hands its bundled node-gyp to scripts; a global one will do otherwise.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status === 0) {
  if (!blasFound) console.error('tessera: OpenBLAS/LAPACKE not found (pkg-config openblas lapacke): the worker uses its own GEMM');
  if (!zstdFound) console.error('tessera: libzstd not found (pkg-config libzstd): Zarr chunks use the WebAssembly zstd');
  if (!fftwFound) console.error('tessera: FFTW not found (pkg-config fftw3 fftw3f): FFTs use the TypeScript kernels');
  process.exit(0);
}
const why = r.error ? r.error.message : `node-gyp exited with ${r.status}`;
console.error(`tessera: the native kernels were not built (${why}); the worker uses its WebAssembly kernels`);
process.exit(process.env.TESSERA_NATIVE_REQUIRED === '1' ? 1 : 0);
