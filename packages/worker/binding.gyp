{
  "targets": [
    {
      "target_name": "tessera_native",
      "sources": ["native/gemm.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"]
    }
  ]
}
