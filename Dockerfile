# syntax=docker/dockerfile:1
# One image for every Tessera process (scheduler, worker, dashboard, local, submit, status):
# built once in `build`, copied without dev dependencies or sources into a slim runtime that
# runs as the unprivileged `node` user. `gpu` adds the Vulkan loader for GPU workers.
#
#   docker build -t tessera .                  # the runtime image (last stage)
#   docker build --target gpu -t tessera:gpu .
#   docker run --rm tessera status --scheduler http://host:8786

FROM node:20-bookworm-slim AS build
WORKDIR /app
# A C++ toolchain for the worker's native kernels (node-gyp), and OpenBLAS and LAPACKE to link the
# BLAS addon against, libzstd the zstd one and FFTW the FFT one (found by pkg-config); the runtime
# image gets the built addons and the libraries.
RUN apt-get update \
  && apt-get install -y --no-install-recommends g++ make python3 pkg-config libopenblas-dev liblapacke-dev libzstd-dev libfftw3-dev \
  && rm -rf /var/lib/apt/lists/*
# Manifests first: the dependency layer is reused until a package.json or the lock changes.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/worker/package.json packages/worker/
COPY packages/scheduler/package.json packages/scheduler/
COPY packages/local/package.json packages/local/
COPY packages/client/package.json packages/client/
COPY packages/dashboard/package.json packages/dashboard/
COPY packages/cli/package.json packages/cli/
COPY packages/cli/bin packages/cli/bin
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages packages
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS base
ENV NODE_ENV=production
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends libopenblas0-pthread liblapacke libzstd1 libfftw3-double3 libfftw3-single3 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/protocol/package.json packages/protocol/
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/worker/package.json packages/worker/
COPY --from=build /app/packages/worker/dist packages/worker/dist
COPY --from=build /app/packages/worker/wasm packages/worker/wasm
COPY --from=build /app/packages/worker/build/Release/tessera_native.node /app/packages/worker/build/Release/tessera_blas.node /app/packages/worker/build/Release/tessera_zstd.node /app/packages/worker/build/Release/tessera_fftw.node packages/worker/build/Release/
COPY --from=build /app/packages/scheduler/package.json packages/scheduler/
COPY --from=build /app/packages/scheduler/dist packages/scheduler/dist
COPY --from=build /app/packages/local/package.json packages/local/
COPY --from=build /app/packages/local/dist packages/local/dist
COPY --from=build /app/packages/client/package.json packages/client/
COPY --from=build /app/packages/client/dist packages/client/dist
COPY --from=build /app/packages/dashboard/package.json packages/dashboard/
COPY --from=build /app/packages/dashboard/dist packages/dashboard/dist
COPY --from=build /app/packages/dashboard/public packages/dashboard/public
COPY --from=build /app/packages/cli/package.json packages/cli/
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY --from=build /app/packages/cli/bin packages/cli/bin
# Scheduler API, dashboard, worker peer server (a worker's /health and /metrics too).
EXPOSE 8786 8787 8790
ENTRYPOINT ["node", "/app/packages/cli/bin/tessera.mjs"]
CMD ["--help"]

FROM base AS gpu
# The Vulkan loader and Mesa's drivers; on NVIDIA hosts the container toolkit mounts the driver's
# own ICD (NVIDIA_DRIVER_CAPABILITIES must include graphics).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers \
  && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
USER node

FROM base AS runtime
USER node
