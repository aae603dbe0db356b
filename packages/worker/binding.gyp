{
  # blas: 1 where pkg-config finds Debian's OpenBLAS and LAPACKE (libopenblas-dev, liblapacke-dev);
  # then tessera_blas is built beside tessera_native. `node-gyp rebuild -- -Dblas=0` leaves it out.
  # zstd: 1 where pkg-config finds Debian's libzstd-dev; then tessera_zstd (the Zarr codec) is built.
  # fftw: 1 where pkg-config finds Debian's libfftw3-dev (double and float); then tessera_fftw is built.
  "variables": {
    "blas%": "<!(pkg-config --exists openblas lapacke 2>/dev/null && echo 1 || echo 0)",
    "zstd%": "<!(pkg-config --exists libzstd 2>/dev/null && echo 1 || echo 0)",
    "fftw%": "<!(pkg-config --exists fftw3 fftw3f 2>/dev/null && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "tessera_native",
      "sources": ["native/gemm.cc", "native/sort.cc", "native/affinity.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"]
    }
  ],
  "conditions": [
    [
      "blas==1",
      {
        "targets": [
          {
            "target_name": "tessera_blas",
            "sources": ["native/blas.cc", "native/lapack.cc"],
            "cflags_cc": ["-O2", "-std=c++17", "<!@(pkg-config --cflags openblas lapacke)"],
            "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
            "libraries": ["<!@(pkg-config --libs openblas lapacke)"]
          }
        ]
      }
    ],
    [
      "zstd==1",
      {
        "targets": [
          {
            "target_name": "tessera_zstd",
            "sources": ["native/zstd.cc"],
            "cflags_cc": ["-O2", "-std=c++17", "<!@(pkg-config --cflags libzstd)"],
            "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
            "libraries": ["<!@(pkg-config --libs libzstd)"]
          }
        ]
      }
    ],
    [
      "fftw==1",
      {
        "targets": [
          {
            "target_name": "tessera_fftw",
            "sources": ["native/fftw.cc"],
            "cflags_cc": ["-O2", "-std=c++17", "<!@(pkg-config --cflags fftw3 fftw3f)"],
            "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
            "libraries": ["<!@(pkg-config --libs fftw3 fftw3f)"]
          }
        ]
      }
    ]
  ]
}
